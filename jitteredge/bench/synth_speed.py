"""Synthesis speed rows (--synth): run each jitteredge.synth speed measurement and keep its
figures as JSON-safe values; a measurement that is not installed becomes an unavailable row."""

from __future__ import annotations

import numpy as np

from jitteredge.bench.reasons import first_line
from jitteredge.bench.rows import ERROR, RAN, UNAVAILABLE


SYNTH_MEASURES = (("synth-blur", "jitteredge.synth.speed", "measure_blur_speed"),
                  ("synth-sample", "jitteredge.synth.sample", "measure_sample_throughput"))


def synth_rows(measures=SYNTH_MEASURES) -> list[dict]:
    """Call each synthesis speed measurement; an absent one becomes an "unavailable" row."""
    out = []
    for name, module_name, func_name in measures:
        row = {"kind": "synth", "name": name, "status": UNAVAILABLE, "reason": "", "metrics": {}}
        try:
            module = __import__(module_name, fromlist=[func_name])
            func = getattr(module, func_name)
        except (ImportError, AttributeError) as exc:
            row["reason"] = f"{module_name}.{func_name} not available ({first_line(exc)})"
            out.append(row)
            continue
        try:
            metrics = func()
            row.update(status=RAN, metrics=_json_safe(dict(metrics)))
        except Exception as exc:  # one failing measurement must not lose the others
            row.update(status=ERROR, reason=f"{type(exc).__name__}: {first_line(exc)}")
        out.append(row)
    return out


def _json_safe(value):
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, (np.generic,)):
        return value.item()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)
