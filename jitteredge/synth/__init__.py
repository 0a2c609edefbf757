"""Synthesis: jitter fields (fields.py), Numba blur kernels (blur.py), realism (degrade.py, paths.py),
photo sources (sources.py) and whole training samples (sample.py)."""

from jitteredge.synth.numba_threads import prefer_fork_safe_numba

prefer_fork_safe_numba()  # before any kernel runs: samples are also made in forked processes

from jitteredge.synth.fields import PRESETS, JitterParams, JitterRanges, jitter_field, random_field, random_params
from jitteredge.synth.paths import CameraTrajectory, TrajectoryConfig, apply_trajectory, random_trajectory
from jitteredge.synth.sample import KINDS, Sample, SampleConfig, make_sample, measure_sample_throughput
from jitteredge.synth.sources import DeadLeavesConfig, FolderSource, ProceduralSource, open_source

# Names whose modules import Numba load on first use, so that `import jitteredge.synth` stays fast.
_LAZY = {"apply_field": "jitteredge.synth.blur"}

__all__ = [
    "PRESETS", "JitterParams", "JitterRanges", "jitter_field", "random_field", "random_params",
    "apply_field",
    "CameraTrajectory", "TrajectoryConfig", "apply_trajectory", "random_trajectory",
    "KINDS", "Sample", "SampleConfig", "make_sample", "measure_sample_throughput",
    "DeadLeavesConfig", "FolderSource", "ProceduralSource", "open_source",
]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
