"""TensorRT backend: a serialized engine (.engine, .plan) with its metadata JSON beside it.

``model.engine.json`` (written by jitteredge export / build_engine.py) holds the ONNX's "jitteredge"
metadata plus how the engine was built; the engine bytes are TensorRT's own, nothing prepended.
I/O lives in torch CUDA tensors; inputs of any (N, 3, H, W) inside the engine's optimisation profile
are accepted (set_input_shape), and inference runs with execute_async_v3 on a CUDA stream.
Works with TensorRT 10.x and 11.x (named I/O tensors; the binding API of 8.x is gone).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from jitteredge.errors import JitterEdgeError
from jitteredge.fieldcode import CODE_SCALE_PX
from jitteredge.preprocess import DEFAULT_LONG_SIDE
from jitteredge.runners import Runner


def engine_json_path(path: str | Path) -> Path:
    p = Path(path)
    return p.with_name(p.name + ".json")


def read_engine_metadata(path: str | Path) -> dict:
    """The JSON beside an engine; JitterEdgeError when missing or not ours."""
    meta_path = engine_json_path(path)
    if not meta_path.is_file():
        raise JitterEdgeError(f"{path}: no {meta_path.name} beside the engine (its metadata); "
                              "build engines with 'jitteredge export --format engine' or export/build_engine.py")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise JitterEdgeError(f"{meta_path}: not valid JSON") from None
    if not isinstance(meta, dict) or "model_config" not in meta:
        raise JitterEdgeError(f"{meta_path}: not jitteredge engine metadata (no model_config)")
    return meta


class TensorRTRunner(Runner):
    """TensorRT inference on a CUDA device.

    Args:
        path: .engine / .plan file, with ``<path>.json`` beside it.
        device: CUDA device, e.g. "cuda" or "cuda:1".
    """

    def __init__(self, path: str | Path, threads: int | None = None, device: str = "cuda"):
        super().__init__()
        self.path = Path(path)
        self.device = device if str(device).startswith("cuda") else "cuda"
        self.name = f"tensorrt:{self.path.name}"
        self.engine = None
        self.context = None
        self.input_name = ""
        self.output_name = ""

    def activate_impl(self) -> None:
        if not self.path.is_file():
            raise JitterEdgeError(f"{self.path}: no such engine")
        meta = read_engine_metadata(self.path)
        try:
            import tensorrt as trt
        except ImportError:
            raise JitterEdgeError(f"{self.path}: TensorRT engines need the tensorrt Python package "
                                  "(JetPack or NVIDIA's wheels); it does not import here") from None
        import torch

        if not torch.cuda.is_available():
            raise JitterEdgeError(f"{self.path}: TensorRT needs a CUDA device and torch sees none")
        self._torch = torch
        self._trt = trt
        logger = trt.Logger(trt.Logger.WARNING)
        self._runtime = trt.Runtime(logger)
        engine = self._runtime.deserialize_cuda_engine(self.path.read_bytes())
        if engine is None:
            raise JitterEdgeError(f"{self.path}: TensorRT {trt.__version__} cannot load this engine "
                                  "(built by another TensorRT version or for another GPU? rebuild it on this machine)")
        names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
        inputs = [n for n in names if engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        outputs = [n for n in names if engine.get_tensor_mode(n) == trt.TensorIOMode.OUTPUT]
        if len(inputs) != 1 or len(outputs) != 1:
            raise JitterEdgeError(f"{self.path}: expected one input and one output, found {inputs} -> {outputs}")
        self.input_name, self.output_name = inputs[0], outputs[0]
        for name in (self.input_name, self.output_name):
            if engine.get_tensor_dtype(name) != trt.DataType.FLOAT:
                raise JitterEdgeError(f"{self.path}: tensor '{name}' is {engine.get_tensor_dtype(name)}, expected float32")
        shape = tuple(engine.get_tensor_shape(self.input_name))
        self._fixed_hw = None if min(shape[2:]) < 0 else (int(shape[2]), int(shape[3]))
        self.engine = engine
        self.context = engine.create_execution_context()
        self._stream = torch.cuda.Stream(device=self.device)
        self.precision = str(meta.get("precision") or "fp32")
        self.meta.update(meta)
        self.meta.update({
            "code_scale_px": float(meta.get("code_scale_px", CODE_SCALE_PX)),
            "working_long_side": int(meta.get("working_long_side") or DEFAULT_LONG_SIDE),
            "source": str(self.path),
            "backend": "tensorrt",
            "tensorrt_version": trt.__version__,
        })

    def infer_impl(self, x: np.ndarray) -> np.ndarray:
        torch = self._torch
        if not self.context.set_input_shape(self.input_name, tuple(x.shape)):
            raise ValueError(f"{self.name}: input shape {tuple(x.shape)} is outside the engine's optimisation profile")
        out_shape = tuple(self.context.get_tensor_shape(self.output_name))
        with torch.cuda.stream(self._stream):
            x_dev = torch.from_numpy(x).to(self.device, non_blocking=False).contiguous()
            y_dev = torch.empty(out_shape, dtype=torch.float32, device=self.device)
            self.context.set_tensor_address(self.input_name, x_dev.data_ptr())
            self.context.set_tensor_address(self.output_name, y_dev.data_ptr())
            if not self.context.execute_async_v3(self._stream.cuda_stream):
                raise RuntimeError(f"{self.name}: TensorRT execution failed")
        self._stream.synchronize()
        return y_dev.cpu().numpy()

    def deactivate_impl(self) -> None:
        self.context = None
        self.engine = None
        self._runtime = None
