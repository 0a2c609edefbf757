"""Synthesis: jitter fields (fields.py), Numba blur kernels (blur.py), realism (degrade.py, paths.py),
photo sources (sources.py) and whole training samples (sample.py)."""

from jitteredge.synth.fields import PRESETS, JitterParams, JitterRanges, jitter_field, random_field, random_params

__all__ = ["PRESETS", "JitterParams", "JitterRanges", "jitter_field", "random_field", "random_params"]
