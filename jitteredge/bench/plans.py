"""Which rows to measure: the --backends names, one Plan per backend variant (torch-cuda and its two
precisions), and whether each plan's libraries and device are present here."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jitteredge.bench.cuda import cuda_reason
from jitteredge.bench.reasons import import_reason
from jitteredge.bench.rows import BACKENDS, parse_backends  # noqa: F401 (parse_backends: re-exported)
from jitteredge.errors import JitterEdgeError


@dataclass
class Plan:
    """One backend variant: how to open it and what its rows say."""

    backend: str
    precision: str
    device: str
    artifact_kind: str | None  # Artifacts key, or None for the .pt checkpoint
    per_thread: bool = True  # one row per --threads value (CPU backends)


def plans_for(backends: tuple[str, ...]) -> list[Plan]:
    out = []
    for b in backends:
        if b == "torch-cpu":
            out.append(Plan(b, "fp32", "cpu", None))
        elif b == "torch-cuda":
            out.append(Plan(b, "fp32", "cuda", None, per_thread=False))
            out.append(Plan(b, "fp16", "cuda", None, per_thread=False))
        elif b == "onnx-fp32":
            out.append(Plan(b, "fp32", "cpu", "onnx"))
        elif b == "onnx-int8":
            out.append(Plan(b, "int8", "cpu", "int8"))
        elif b == "ort":
            out.append(Plan(b, "int8", "cpu", "ort"))
        elif b == "tensorrt":
            out.append(Plan(b, "fp16", "cuda", "engine", per_thread=False))
        else:
            raise JitterEdgeError(f"unknown backend {b!r}; choose from {', '.join(BACKENDS)}")
    return out


def check_availability(plan: Plan, model_path: Path | None) -> str | None:
    """None when the plan's libraries and device are present, else the reason."""
    if plan.backend in ("torch-cpu", "torch-cuda"):
        reason = import_reason("torch")
        if reason:
            return f"torch {reason}"
        if plan.device == "cuda":
            reason = cuda_reason()
            if reason:
                return reason
        if model_path is None or model_path.suffix.lower() not in (".pt", ".pth"):
            return f"needs a .pt checkpoint (model is {model_path.name if model_path else 'not given'})"
        return None
    if plan.backend == "tensorrt":
        reason = import_reason("tensorrt")
        if reason:
            return reason
        return cuda_reason()
    reason = import_reason("onnxruntime")
    return f"onnxruntime {reason}" if reason else None
