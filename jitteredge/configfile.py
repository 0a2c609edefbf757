"""`--config FILE` for every verb: a YAML or JSON mapping of a stage's config fields."""

from __future__ import annotations

import json
from pathlib import Path

from jitteredge.errors import JitterEdgeError, first_line


def read_config_file(path: str | Path, what: str = "settings") -> dict:
    """Read a YAML (.yaml/.yml, needs pyyaml) or JSON (.json) mapping; JitterEdgeError on any problem."""
    p = Path(path)
    if not p.is_file():
        raise JitterEdgeError(f"{p}: no such config file")
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise JitterEdgeError(f"{p}: cannot read it as a text file ({type(exc).__name__})") from None
    try:
        if p.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except ImportError:
        raise JitterEdgeError(f"{p}: reading YAML needs pyyaml, or use a .json file") from None
    except Exception as exc:  # json.JSONDecodeError, yaml.YAMLError
        first = first_line(exc)
        raise JitterEdgeError(f"{p}: not valid {p.suffix.lstrip('.').upper() or 'YAML'} ({first})") from None
    if data is None:  # an empty file
        data = {}
    if not isinstance(data, dict):
        raise JitterEdgeError(f"{p}: expected a mapping of {what}")
    return data


def _matches(value, kind: str) -> bool:
    """Does a value read from a config file fit the field annotation ``kind`` (a string such as
    "int", "float | None", "tuple[int, int]", "tuple[str, ...]")?"""
    kind = kind.strip()
    if kind.endswith("| None"):
        return value is None or _matches(value, kind[: -len("| None")])
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "float":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "str":
        return isinstance(value, str)
    if kind.startswith("tuple[") and kind.endswith("]"):
        if not isinstance(value, (list, tuple)):
            return False
        inner = kind[len("tuple["):-1]
        if inner.endswith(", ..."):
            element = inner[: -len(", ...")]
            return all(_matches(v, element) for v in value)
        parts = [p.strip() for p in inner.split(",")]
        return len(parts) == len(value) and all(_matches(v, p) for v, p in zip(value, parts))
    return True  # a type this check does not know: left to the stage's own validation


def check_types(config_class, values: dict, where: str) -> None:
    """Refuse, with one line naming the key, a config file value of the wrong type for its field."""
    import dataclasses

    kinds = {f.name: str(f.type) for f in dataclasses.fields(config_class)}
    for key, value in values.items():
        if key in kinds and not _matches(value, kinds[key]):
            raise JitterEdgeError(f"{where}: {key} must be {kinds[key]}, got {value!r}")
