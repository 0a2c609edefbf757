"""Synthesis speed: training samples per second (field + blur + realism) on one thread.

The figure goes into the end-of-run summary next to the model ratios; the blur kernel has its own
module (test_synth_blur.py).
"""

from __future__ import annotations

import pytest

SIZE_PX = 256
SAMPLES = 24  # enough to average over the four kinds; the first of each kind (JIT) is not timed


def test_sample_throughput(benchmark, record_ratio):
    sample = pytest.importorskip("jitteredge.synth.sample")
    measure = getattr(sample, "measure_sample_throughput", None)
    if measure is None:
        pytest.skip("jitteredge.synth.sample.measure_sample_throughput not available")
    try:
        result = benchmark.pedantic(measure, kwargs={"size": SIZE_PX, "n": SAMPLES, "threads": 1},
                                    rounds=1, iterations=1)
    except ImportError as exc:  # a synthesis stage not installed yet
        pytest.skip(f"synthesis unavailable: {exc}")
    assert result["samples_per_s"] > 0
    record_ratio(f"synthesis samples/s ({SIZE_PX} px, 1 thread)", result["samples_per_s"],
                 note=f"{result.get('ms_per_sample', float('nan')):.1f} ms/sample, source {result.get('source')}")
