"""Shipped weights by name: the one place that maps model names to files.

``edge_default.pt`` is the `edge` network trained by ``jitteredge train``; ``edge_default.json``
beside it records how (command, data, steps, hardware, wall time) and its validation metrics.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

from jitteredge.errors import JitterEdgeError

WEIGHTS_DIR = Path(__file__).resolve().parent

# name -> file in this folder
REGISTRY: dict[str, str] = {
    "default": "edge_default.pt",
    "edge-default": "edge_default.pt",
}


def resolve_model(name_or_path: str | os.PathLike = "default", suffixes: Iterable[str] | None = None) -> Path:
    """The one way from a model name or path to a model file (analyze, eval, bench, export, train).

    Args:
        name_or_path: a registered name ("default", "edge-default") or a path.
        suffixes: the file types the caller reads (e.g. jitteredge.runners.MODEL_SUFFIXES); None: any.

    Raises:
        JitterEdgeError: unknown name that is not a file either, a folder, a suffix the caller does not
            read, or a registered file that is missing (e.g. an install without the shipped weights).
    """
    text = os.fspath(name_or_path)
    if text in REGISTRY:
        path = WEIGHTS_DIR / REGISTRY[text]
        if not path.is_file():
            raise JitterEdgeError(f"{path}: shipped model {text!r} is missing from this install; "
                                  "train one with `jitteredge train` and pass its path")
    else:
        path = Path(text).expanduser()
        if not path.exists():
            names = ", ".join(sorted(REGISTRY))
            raise JitterEdgeError(f"{path}: no such model file (registered names: {names})")
        if path.is_dir():
            raise JitterEdgeError(f"{path}: is a folder, not a model file")
    if suffixes is not None:
        allowed = tuple(suffixes)
        if path.suffix.lower() not in allowed:
            raise JitterEdgeError(f"{path}: unknown model type '{path.suffix}' here (expected one of {', '.join(allowed)})")
    return path


def model_card(name_or_path: str | os.PathLike = "default") -> dict:
    """The JSON card beside a model file (same name, .json), or {} when there is none."""
    card = resolve_model(name_or_path).with_suffix(".json")
    if not card.is_file():
        return {}
    try:
        return json.loads(card.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise JitterEdgeError(f"{card}: not valid JSON ({exc.msg})") from None
