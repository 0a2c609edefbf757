"""`--config FILE` for every verb: a YAML or JSON mapping of a stage's config fields."""

from __future__ import annotations

import json
from pathlib import Path

from jitteredge.errors import JitterEdgeError


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
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise JitterEdgeError(f"{p}: not valid {p.suffix.lstrip('.').upper() or 'YAML'} ({first})") from None
    if data is None:  # an empty file
        data = {}
    if not isinstance(data, dict):
        raise JitterEdgeError(f"{p}: expected a mapping of {what}")
    return data
