"""The checkpoint file: weights + model config + training config + step + metrics, written atomically.

Format (a dict saved with torch.save, readable with ``torch.load(weights_only=True)``)::

    {"format": "jitteredge-checkpoint", "version": 1,
     "model": state_dict, "model_config": ModelConfig.to_dict(), "train_config": dict,
     "step": int, "metrics": dict, "jitteredge_version": str,
     # only in training checkpoints, for --resume:
     "optimizer": ..., "scaler": ..., "rng": {...}, "best_score": float}

Only plain types and tensors go in, so loading never unpickles arbitrary objects.
"""

from __future__ import annotations

import os
from pathlib import Path

from jitteredge import __version__
from jitteredge.errors import JitterEdgeError, first_line
from jitteredge.fileio import atomic_path

FORMAT = "jitteredge-checkpoint"
VERSION = 1
RESUME_KEYS = ("optimizer", "scaler", "rng", "best_score", "ema")  # dropped by strip_for_release


def inference_weights(payload: dict) -> dict:
    """The weights to run: a training checkpoint's moving average (``ema``, what its validation metrics
    were measured on) when it has one, else ``model``."""
    ema = payload.get("ema")
    if not ema:
        return payload["model"]
    prefix = "module."  # torch.optim.swa_utils.AveragedModel holds the averaged network under .module
    return {k[len(prefix):]: v for k, v in ema.items() if k.startswith(prefix)}


def make_payload(model, train_config: dict, step: int, metrics: dict, **extra) -> dict:
    """Build the checkpoint dict for ``model`` (a JitterNet, or DDP-wrapped)."""
    net = getattr(model, "module", model)
    return {
        "format": FORMAT,
        "version": VERSION,
        "model": {k: v.detach().cpu() for k, v in net.state_dict().items()},
        "model_config": net.config.to_dict(),
        "train_config": dict(train_config),
        "step": int(step),
        "metrics": dict(metrics),
        "jitteredge_version": __version__,
        **extra,
    }


def save_checkpoint(path: str | os.PathLike, payload: dict) -> Path:
    """torch.save ``payload`` to ``path`` atomically: a reader (or a kill -9) never sees half a file."""
    import torch

    final = Path(path)
    with atomic_path(final) as tmp:
        torch.save(payload, tmp)
    return final


def read_payload(path: str | os.PathLike) -> dict:
    """Load and validate a checkpoint dict without building the model. Raises JitterEdgeError."""
    import pickle

    import torch

    p = Path(path)
    if not p.exists():
        raise JitterEdgeError(f"{p}: no such checkpoint")
    if p.is_dir():
        raise JitterEdgeError(f"{p}: is a folder, not a checkpoint")
    try:
        payload = torch.load(p, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError, AttributeError, TypeError,
            IndexError, KeyError) as exc:  # what torch.load raises on files that are not its own
        raise JitterEdgeError(f"{p}: not a jitteredge checkpoint (not a PyTorch file, or damaged: {type(exc).__name__})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise JitterEdgeError(f"{p}: not a jitteredge checkpoint (a bare state_dict or another program's file)")
    if payload.get("version") != VERSION:
        raise JitterEdgeError(f"{p}: checkpoint version {payload.get('version')!r}; this jitteredge reads version {VERSION}")
    for key in ("model", "model_config", "step"):
        if key not in payload:
            raise JitterEdgeError(f"{p}: checkpoint lacks {key!r}")
    return payload


def load_checkpoint(path: str | os.PathLike, device: str = "cpu"):
    """Rebuild the model stored in a checkpoint.

    Returns:
        (JitterNet in eval mode on ``device``, payload dict).
    Raises:
        JitterEdgeError: missing file, random bytes, a plain state_dict, or weights that do not fit.
    """
    from jitteredge.model import ModelConfig, build_model

    payload = read_payload(path)
    try:
        config = ModelConfig.from_dict(payload["model_config"])
        model = build_model(config)
        model.load_state_dict(inference_weights(payload))
    except (ValueError, TypeError, RuntimeError, KeyError) as exc:
        first = first_line(exc)
        raise JitterEdgeError(f"{path}: checkpoint does not fit its model config ({first[:160]})") from None
    return model.to(device).eval(), payload


def strip_for_release(payload: dict, half: bool = False) -> dict:
    """Drop the resume-only state (optimizer, RNG, scaler, the raw weights of an averaged run: the
    average is what ships); optionally store float weights as fp16."""
    import torch

    out = {k: v for k, v in payload.items() if k not in RESUME_KEYS}
    out["model"] = inference_weights(payload)
    if half:
        out["model"] = {k: (v.half() if torch.is_floating_point(v) else v) for k, v in out["model"].items()}
    return out


def release(src: str | os.PathLike, dst: str | os.PathLike, card: dict | None = None, half: bool = False) -> Path:
    """Write a shippable copy of checkpoint ``src`` at ``dst`` (resume state dropped) and, beside it,
    ``dst`` with suffix .json: ``card`` plus the step, configs and validation metrics from the file.

    Returns:
        the written .pt path.
    """
    import json

    from jitteredge.fileio import write_bytes_atomic

    payload = read_payload(src)
    save_checkpoint(dst, strip_for_release(payload, half=half))
    info = {
        "file": Path(dst).name,
        "format": FORMAT,
        "weights": "fp16" if half else "fp32",
        "step": payload["step"],
        "model_config": payload["model_config"],
        "train_config": payload.get("train_config", {}),
        "metrics": payload.get("metrics", {}),
        "jitteredge_version": payload.get("jitteredge_version"),
        **(card or {}),
    }
    text = json.dumps(_finite_or_none(info), indent=2) + "\n"
    write_bytes_atomic(Path(dst).with_suffix(".json"), text.encode())
    return Path(dst)


def _finite_or_none(obj):
    """NaN and infinities -> None (JSON has no NaN); tensors and tuples -> plain lists."""
    import math

    if hasattr(obj, "tolist"):
        obj = obj.tolist()
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _finite_or_none(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite_or_none(v) for v in obj]
    return obj
