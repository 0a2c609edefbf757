"""Validation: how good a model is, measured one way wherever it is measured.

- real photos (``real``, ``manifest``, ``rates``, ``real_report``): a manifest of labelled photos,
  scored through the same runners and verdict as ``jitteredge analyze``, with two baselines;
  ``score_real`` is the entry point for scripts (e.g. choosing between checkpoints).
"""

from jitteredge.validation.manifest import LABELS, Photo, read_manifest
from jitteredge.validation.real import score_real

__all__ = ["LABELS", "Photo", "read_manifest", "score_real"]
