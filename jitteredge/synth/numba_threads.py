"""Numba threading layer choice, made before any parallel kernel of jitteredge runs."""

from __future__ import annotations


def prefer_fork_safe_numba() -> None:
    """Choose a fork-safe Numba threading layer unless the user chose one (NUMBA_THREADING_LAYER).

    Samples are made in forked processes (DataLoader workers, ``jitteredge synth --workers``); a forked
    child aborts if its parent already ran a parallel Numba kernel on the GNU OpenMP layer. 'forksafe'
    picks tbb, a non-GNU OpenMP or Numba's own workqueue. No effect once a parallel kernel has run.
    """
    import os

    if os.environ.get("NUMBA_THREADING_LAYER"):
        return
    try:
        import numba
    except ImportError:  # pragma: no cover - numba is a dependency
        return
    if numba.config.THREADING_LAYER == "default":
        numba.config.THREADING_LAYER = "forksafe"
