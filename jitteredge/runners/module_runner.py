"""A model still in memory (e.g. during training) behind the runner interface, so that it is
validated by the same code as a saved artifact (jitteredge.validation)."""

from __future__ import annotations

import numpy as np

from jitteredge.fieldcode import CODE_SCALE_PX
from jitteredge.runners import Runner


class ModuleRunner(Runner):
    """Eager inference on a JitterNet (or a DDP wrapper of one) as it is now.

    Args:
        model: the network; put in eval mode while active, its previous mode restored after.
        device: torch device its parameters live on.
        amp_dtype: autocast dtype (torch.bfloat16, torch.float16) or None for fp32.
        channels_last: feed NHWC inputs (what the network was trained on).
        working_long_side: the long side photos are reduced to (None: the runner default).
    """

    def __init__(self, model, device="cpu", amp_dtype=None, channels_last: bool = True,
                 working_long_side: int | None = None):
        super().__init__()
        self.net = getattr(model, "module", model)
        self.device = device
        self.amp_dtype = amp_dtype
        self.channels_last = channels_last
        self.name = f"module:{type(self.net).__name__}"
        self.precision = {None: "fp32"}.get(amp_dtype, str(amp_dtype).replace("torch.", ""))
        self.meta.update({"code_scale_px": CODE_SCALE_PX, "model_config": self.net.config.to_dict()})
        if working_long_side:
            self.meta["working_long_side"] = int(working_long_side)
        self._was_training = False

    def activate_impl(self) -> None:
        self._was_training = self.net.training
        self.net.eval()

    def deactivate_impl(self) -> None:
        if self._was_training:
            self.net.train()

    def infer_impl(self, x: np.ndarray) -> np.ndarray:
        import torch

        device = torch.device(self.device)
        fmt = torch.channels_last if self.channels_last else torch.contiguous_format
        with torch.inference_mode():
            x_t = torch.from_numpy(x).to(device).contiguous(memory_format=fmt)
            with torch.autocast(device_type=device.type, dtype=self.amp_dtype, enabled=self.amp_dtype is not None):
                y = self.net(x_t)
            code = self.net.to_code(y.float())
        return code.float().cpu().numpy()
