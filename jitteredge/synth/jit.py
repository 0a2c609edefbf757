"""The Numba flags of every synthesis kernel, in one place (blur.py, paths.py, degrade.py import them)."""

from __future__ import annotations

# Fast-math without nnan/ninf (as STUMPY does), so that NaN and inf checks stay valid in any caller.
FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}

# Serial kernels: a sample is small, and samples are made in parallel processes (DataLoader workers,
# ``jitteredge synth --workers``), where a threaded kernel would only oversubscribe the cores. Cached
# on disk, and releasing the GIL for callers on threads.
SERIAL_KERNEL = dict(fastmath=FASTMATH, cache=True, nogil=True)
