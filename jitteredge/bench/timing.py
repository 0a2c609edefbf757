"""Host-side timing: call a function after warm-up, read the wall clock per call, and reduce the
times to the latency percentiles a row reports. GPU timing with CUDA events is in bench.cuda."""

from __future__ import annotations

import time
from typing import Callable

import numpy as np


def latency_stats(seconds: np.ndarray | list[float]) -> dict[str, float]:
    """Per-call times (s) -> p50/p90/p99/mean/min in ms (numpy's linear percentiles)."""
    ms = np.asarray(seconds, dtype=np.float64) * 1000.0
    if ms.size == 0:
        raise ValueError("no timings")
    p50, p90, p99 = np.percentile(ms, [50, 90, 99])
    return {"latency_p50_ms": round(float(p50), 4), "latency_p90_ms": round(float(p90), 4),
            "latency_p99_ms": round(float(p99), 4), "latency_mean_ms": round(float(ms.mean()), 4),
            "latency_min_ms": round(float(ms.min()), 4)}


def time_calls(fn: Callable[[], object], runs: int, warmup: int) -> np.ndarray:
    """Seconds per call of ``fn`` (wall clock, perf_counter) after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    out = np.empty(runs, dtype=np.float64)
    for i in range(runs):
        t0 = time.perf_counter()
        fn()
        out[i] = time.perf_counter() - t0
    return out
