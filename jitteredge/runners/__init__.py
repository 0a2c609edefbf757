"""One runner per backend behind one interface (after Polygraphy's runners).

Every runner is a context manager: entering loads the model (session, engine), leaving frees it.
Inside, ``predict(x)`` maps a float32 (N, 3, H, W) network input (jitteredge.preprocess.normalize)
to the float32 (N, 2, H, W) doubled-angle field code (jitteredge.fieldcode). ``analyze``, ``eval``
and ``bench`` talk to every artifact through this interface only, so a .pt checkpoint, an ONNX
model and a TensorRT engine are checked by the same code.

Backends: torch_runner.TorchRunner (.pt), onnx_runner.OnnxRunner (.onnx, .ort),
tensorrt_runner.TensorRTRunner (.engine, .plan). Open one by name or path with ``open_runner``
(here; jitteredge.infer re-exports it): the file suffix picks the backend.
"""

from __future__ import annotations

import abc
import os
from typing import Any

import numpy as np

from jitteredge.errors import JitterEdgeError
from jitteredge.fieldcode import CODE_SCALE_PX
from jitteredge.preprocess import DEFAULT_LONG_SIDE

# file suffix -> backend
TORCH_SUFFIXES = (".pt", ".pth")
ONNX_SUFFIXES = (".onnx", ".ort")
TENSORRT_SUFFIXES = (".engine", ".plan")
MODEL_SUFFIXES = TORCH_SUFFIXES + ONNX_SUFFIXES + TENSORRT_SUFFIXES
DEFAULT_MODEL = "default"  # registry name of the shipped weights (jitteredge.weights)


class Runner(abc.ABC):
    """Base class: subclasses set ``name``, ``precision``, ``meta`` and implement the three hooks.

    Attributes:
        name: backend and artifact, e.g. "onnxruntime:model.onnx".
        precision: "fp32", "fp16", "int8", ...
        meta: dict with at least ``model_config`` (ModelConfig.to_dict()), ``code_scale_px`` (float,
            pixels per code unit) and ``working_long_side`` (int, the long side the model was made for).
    """

    name: str = "runner"
    precision: str = "fp32"

    def __init__(self) -> None:
        self.meta: dict[str, Any] = {"code_scale_px": CODE_SCALE_PX, "working_long_side": DEFAULT_LONG_SIDE}
        self.is_active = False
        self._fixed_hw: tuple[int, int] | None = None  # set by activate_impl for static-shape artifacts

    # -- hooks -----------------------------------------------------------------------------------
    @abc.abstractmethod
    def activate_impl(self) -> None:
        """Load the model; fill ``self.meta``."""

    @abc.abstractmethod
    def infer_impl(self, x: np.ndarray) -> np.ndarray:
        """float32 (N, 3, H, W) -> float32 (N, 2, H, W); input already validated."""

    def deactivate_impl(self) -> None:
        """Free the model (default: nothing to free)."""

    # -- public ----------------------------------------------------------------------------------
    @property
    def code_scale_px(self) -> float:
        return float(self.meta.get("code_scale_px", CODE_SCALE_PX))

    @property
    def working_long_side(self) -> int:
        return int(self.meta.get("working_long_side") or DEFAULT_LONG_SIDE)

    @property
    def fixed_hw(self) -> tuple[int, int] | None:
        """(H, W) when the artifact only accepts one input size (static export), else None."""
        return self._fixed_hw

    def activate(self) -> "Runner":
        if not self.is_active:
            self.activate_impl()
            self.is_active = True
        return self

    def deactivate(self) -> None:
        if self.is_active:
            self.deactivate_impl()
            self.is_active = False

    def __enter__(self) -> "Runner":
        return self.activate()

    def __exit__(self, *exc: object) -> None:
        self.deactivate()

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Run the network.

        Args:
            x: float32 (N, 3, H, W) normalised RGB, H and W multiples of 16.

        Returns:
            float32 (N, 2, H, W) field code (multiply by ``code_scale_px`` for pixels after decoding).
        """
        if not self.is_active:
            raise RuntimeError(f"{self.name}: use the runner inside a 'with' block (or call activate())")
        x = np.ascontiguousarray(x, dtype=np.float32)
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"{self.name}: expected (N, 3, H, W) input, got {x.shape}")
        if self._fixed_hw is not None and tuple(x.shape[2:]) != self._fixed_hw:
            raise ValueError(f"{self.name}: built for {self._fixed_hw[0]}x{self._fixed_hw[1]} input, got "
                             f"{x.shape[2]}x{x.shape[3]}")
        out = self.infer_impl(x)
        return np.ascontiguousarray(out, dtype=np.float32)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} {self.precision}>"


def open_runner(model: str | os.PathLike = DEFAULT_MODEL, threads: int | None = None, device: str = "cpu") -> Runner:
    """A runner for ``model``; use it as ``with open_runner(...) as runner:``.

    Args:
        model: registry name ("default") or path to .pt / .onnx / .ort / .engine / .plan
            (jitteredge.weights.resolve_model).
        threads: CPU threads for inference (None: the backend's default).
        device: "cpu" or "cuda" (TensorRT always runs on CUDA).
    """
    from jitteredge.weights import resolve_model

    path = resolve_model(model, MODEL_SUFFIXES)
    suffix = path.suffix.lower()
    if suffix in TORCH_SUFFIXES:
        from jitteredge.runners.torch_runner import TorchRunner

        return TorchRunner(path, threads=threads, device=device)
    if suffix in ONNX_SUFFIXES:
        from jitteredge.runners.onnx_runner import OnnxRunner

        return OnnxRunner(path, threads=threads, device=device)
    try:
        from jitteredge.runners.tensorrt_runner import TensorRTRunner
    except ImportError as exc:
        raise JitterEdgeError(f"{path}: this install has no TensorRT runner ({exc})") from None
    return TensorRTRunner(path, threads=threads, device=device)  # runs on CUDA whatever ``device`` says


__all__ = ["DEFAULT_MODEL", "MODEL_SUFFIXES", "ONNX_SUFFIXES", "TENSORRT_SUFFIXES", "TORCH_SUFFIXES", "Runner",
           "open_runner"]
