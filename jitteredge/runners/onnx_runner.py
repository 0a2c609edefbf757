"""ONNX Runtime backend: an exported model (.onnx, or ORT format .ort) on the CPU execution provider.

The export writes one ``metadata_props`` entry, key "jitteredge", holding JSON:
{model_config, code_scale_px, input: {mean, std, layout: "NCHW", color: "RGB"}, working_long_side,
version, precision}. A model without it is refused: its input convention and output units are
unknown, so its numbers would mean nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from jitteredge.errors import JitterEdgeError, first_line
from jitteredge.fieldcode import CODE_SCALE_PX
from jitteredge.preprocess import DEFAULT_LONG_SIDE, MEAN, STD
from jitteredge.runners import Runner

METADATA_KEY = "jitteredge"


def _check_input_convention(path: Path, meta: dict) -> None:
    """Refuse a model that expects a different normalisation or layout than preprocess makes."""
    spec = meta.get("input") or {}
    if not isinstance(spec, dict):
        raise JitterEdgeError(f"{path}: 'input' in the jitteredge metadata must be an object")
    mean, std = spec.get("mean", MEAN), spec.get("std", STD)
    layout, color = spec.get("layout", "NCHW"), spec.get("color", "RGB")
    if layout != "NCHW" or color != "RGB":
        raise JitterEdgeError(f"{path}: expects {layout} {color} input; jitteredge feeds NCHW RGB")
    for got, want, what in ((mean, MEAN, "mean"), (std, STD, "std")):
        values = np.atleast_1d(np.asarray(got, dtype=np.float64))
        if not np.allclose(values, want):
            raise JitterEdgeError(f"{path}: input {what} {got} differs from jitteredge's {want}")


class OnnxRunner(Runner):
    """ONNX Runtime inference.

    Args:
        path: .onnx or .ort model carrying the "jitteredge" metadata entry.
        threads: intra-op threads (None: ONNX Runtime's default, one per core).
        device: "cpu", or "cuda" to prefer the CUDA execution provider when installed.
    """

    def __init__(self, path: str | Path, threads: int | None = None, device: str = "cpu"):
        super().__init__()
        self.path = Path(path)
        self.threads = threads
        self.device = device
        self.name = f"onnxruntime:{self.path.name}"
        self.session = None
        self.input_name = ""
        self.output_name = ""

    def activate_impl(self) -> None:
        import onnxruntime as ort

        if not self.path.is_file():
            raise JitterEdgeError(f"{self.path}: no such model")
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if self.threads:
            options.intra_op_num_threads = int(self.threads)
            options.inter_op_num_threads = 1
        options.log_severity_level = 3  # warnings about unused initialisers etc. are not for users
        providers = ["CPUExecutionProvider"]
        if self.device.startswith("cuda") and "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        try:
            session = ort.InferenceSession(str(self.path), sess_options=options, providers=providers)
        except Exception as exc:  # onnxruntime raises its own (non-exported) exception classes
            first = first_line(exc)
            raise JitterEdgeError(f"{self.path}: ONNX Runtime cannot load it ({first[:160]})") from None

        custom = session.get_modelmeta().custom_metadata_map or {}
        if METADATA_KEY not in custom:
            raise JitterEdgeError(f"{self.path}: not a jitteredge model (no '{METADATA_KEY}' metadata entry; "
                                  "export it with 'jitteredge export')")
        try:
            meta = json.loads(custom[METADATA_KEY])
        except json.JSONDecodeError as exc:
            raise JitterEdgeError(f"{self.path}: the '{METADATA_KEY}' metadata entry is not JSON ({exc.msg})") from None
        if not isinstance(meta, dict):
            raise JitterEdgeError(f"{self.path}: the '{METADATA_KEY}' metadata entry must be a JSON object")
        _check_input_convention(self.path, meta)

        inputs, outputs = session.get_inputs(), session.get_outputs()
        if len(inputs) != 1 or len(outputs) < 1:
            raise JitterEdgeError(f"{self.path}: expected one input and one output, found "
                                  f"{len(inputs)} and {len(outputs)}")
        shape = inputs[0].shape
        if len(shape) != 4:
            raise JitterEdgeError(f"{self.path}: input '{inputs[0].name}' has shape {shape}, expected (N, 3, H, W)")
        h, w = shape[2], shape[3]
        self._fixed_hw = (h, w) if isinstance(h, int) and isinstance(w, int) else None
        self.session = session
        self.input_name = inputs[0].name
        self.output_name = outputs[0].name
        self.precision = str(meta.get("precision") or "fp32")
        self.meta.update(meta)
        self.meta.update({
            "code_scale_px": float(meta.get("code_scale_px", CODE_SCALE_PX)),
            "source": str(self.path),
            "backend": "onnxruntime",
            "providers": session.get_providers(),
            "working_long_side": int(meta.get("working_long_side") or DEFAULT_LONG_SIDE),
        })

    def infer_impl(self, x: np.ndarray) -> np.ndarray:
        (out,) = self.session.run([self.output_name], {self.input_name: x})
        return out

    def deactivate_impl(self) -> None:
        self.session = None
