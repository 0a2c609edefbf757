"""PyTorch backend: a jitteredge checkpoint (.pt) run eagerly on the CPU or a CUDA device.

Checkpoint format (torch.save of a dict): {"format": "jitteredge-checkpoint", "version": 1,
"model": state_dict, "model_config": ModelConfig.to_dict(), "train_config": ..., "step": int,
"metrics": {...}, "jitteredge_version": str}, read in one place: jitteredge.checkpoint.load_checkpoint.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from jitteredge.errors import JitterEdgeError, first_line
from jitteredge.fieldcode import CODE_SCALE_PX
from jitteredge.runners import Runner


def _plain(value: Any) -> Any:
    """Checkpoint entries -> JSON-friendly values for ``meta`` (tensors and tuples flattened)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "tolist"):
        return value.tolist()
    return value


class TorchRunner(Runner):
    """Eager PyTorch inference on a checkpoint.

    Args:
        path: .pt checkpoint.
        threads: intra-op CPU threads (None: torch's default).
        device: "cpu" or "cuda[:k]".
    """

    def __init__(self, path: str | Path, threads: int | None = None, device: str = "cpu"):
        super().__init__()
        self.path = Path(path)
        self.threads = threads
        self.device = device
        self.name = f"torch:{self.path.name}"
        self.precision = "fp32"
        self.model = None

    def activate_impl(self) -> None:
        import torch

        if self.threads:
            torch.set_num_threads(int(self.threads))
        if self.device != "cpu" and not torch.cuda.is_available():
            raise JitterEdgeError(f"{self.path}: device {self.device!r} asked for, but torch sees no CUDA device")
        from jitteredge.checkpoint import load_checkpoint

        try:
            model, payload = load_checkpoint(self.path, device=self.device)
        except JitterEdgeError:
            raise
        except Exception as exc:  # torch.load on arbitrary bytes can fail in many ways (IndexError, ...)
            first = first_line(exc)
            raise JitterEdgeError(f"{self.path}: not a jitteredge checkpoint (cannot load: {first[:120]})") from None
        config = model.config
        # channels_last (NHWC) takes oneDNN's fast convolution and pooling paths: about 3x faster on CPU.
        self.model = model.to(memory_format=torch.channels_last)
        train_config = payload.get("train_config") or {}
        long_side = payload.get("working_long_side") or (train_config.get("working_long_side")
                                                          if isinstance(train_config, dict) else None)
        self.meta.update({
            "model_config": _plain(config.to_dict()),  # JSON-like, as in ONNX metadata
            "code_scale_px": float(payload.get("code_scale_px", CODE_SCALE_PX)),
            "source": str(self.path),
            "backend": "torch",
            "device": self.device,
            "step": payload.get("step"),
            "metrics": _plain(payload.get("metrics") or {}),
            "jitteredge_version": payload.get("jitteredge_version"),
        })
        if long_side:
            self.meta["working_long_side"] = int(long_side)

    def infer_impl(self, x: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            # predict_code: the (N, 2, H, W) code whatever the head (softmax expectation for "classes").
            x_t = torch.from_numpy(x).to(self.device).contiguous(memory_format=torch.channels_last)
            y = self.model.predict_code(x_t)
        return y.float().cpu().numpy()

    def deactivate_impl(self) -> None:
        self.model = None
