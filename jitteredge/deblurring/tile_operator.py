"""The blur A of one tile's jitter field and its adjoint A^T, with their buffers allocated once per tile.

``apply_field`` and ``apply_field_adjoint`` allocate their padded copies and per-thread scatter buffers
and check the field on every call, and do part of their bookkeeping on one thread (the padded copy,
clearing the buffers, copying the result). An iterative solver applies both to the same field tens of
times, so ``TileOperator`` checks the field once, keeps the buffers, and runs the same Numba kernels
(``synth.blur._blur_kernel``, ``synth.adjoint._scatter_kernel``) with the rest fused and parallel
(``deblurring.kernels``). The numbers are those of ``apply_field`` / ``apply_field_adjoint`` (the same
kernels on the same values, summed in the same order; ``tests/deblur/test_solver_kernels.py``).
"""

from __future__ import annotations

import numba as nb
import numpy as np

from jitteredge.deblurring import kernels
from jitteredge.synth.adjoint import _scatter_kernel
from jitteredge.synth.blur import _blur_kernel, _check, _pad_for


def _reflection_groups(n: int, pad: int) -> tuple[np.ndarray, np.ndarray]:
    """(start int64 (n + 1), src int64 (n + 2 pad)): the padded indices that reflect onto each index,
    ascending within each group (the order ``adjoint``'s fold sums them in)."""
    period = 2 * (n - 1)  # blur._reflect101 on the whole range at once
    target = (np.arange(n + 2 * pad, dtype=np.int64) - pad) % period
    target = np.where(target >= n, period - target, target)
    src = np.argsort(target, kind="stable").astype(np.int64)
    start = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(target, minlength=n), out=start[1:])
    return start, src


class TileOperator:
    """A and A^T for one field, on ``numba.get_num_threads()`` threads (read when made).

    Memory: two padded float32 RGB copies of the tile (one for the blur's input, one spare for a
    solver's double buffering, ``new_padded``) and one padded scatter buffer per thread.

    Args:
        field: (H, W, 2) jitter field (U, V) in pixels, H, W >= 2 (checked as ``apply_field`` does).
    """

    def __init__(self, field: np.ndarray):
        if not isinstance(field, np.ndarray) or field.ndim != 3:
            raise ValueError(f"field must be an (H, W, 2) numpy array, got {getattr(field, 'shape', type(field).__name__)}")
        h, w = field.shape[:2]
        self.field, longest = _check(np.empty((h, w, 3), np.float32), field)
        self.shape = (h, w, 3)
        self.pad = _pad_for(longest)
        self.threads = nb.get_num_threads()
        self._n_padded = (h + 2 * self.pad) * (w + 2 * self.pad) * 3
        self._input = self.new_padded()
        self._bufs = np.zeros((self.threads, self._n_padded), np.float32)
        self._rows = _reflection_groups(h, self.pad)
        self._cols = _reflection_groups(w, self.pad)

    def new_padded(self) -> np.ndarray:
        """A flat float32 buffer for a padded tile (contents undefined but for the slack float, 0)."""
        flat = np.empty(self._n_padded + 1, np.float32)  # one float of slack: the kernel loads 4 lanes a pixel
        flat[self._n_padded] = 0.0
        return flat

    def set_padded(self, x: np.ndarray, padded: np.ndarray) -> None:
        """padded = x (float32 (H, W, 3)) with its reflected border."""
        h, w, _ = self.shape
        kernels.set_interior(padded, h, w, self.pad, x)
        kernels.fill_border(padded, h, w, self.pad)

    def interior(self, padded: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """The tile (float32 (H, W, 3)) inside a padded buffer."""
        h, w, _ = self.shape
        out = np.empty(self.shape, np.float32) if out is None else out
        kernels.get_interior(padded, h, w, self.pad, out)
        return out

    def blur_padded(self, padded: np.ndarray, out: np.ndarray) -> np.ndarray:
        """out (float32 (H, W, 3)) = A x, x given padded with its border filled (``set_padded``)."""
        _blur_kernel(padded, self.pad, self.field, out, self.threads)
        return out

    def blur(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """A x: ``apply_field(x, field)`` for a float32 (H, W, 3) x."""
        self.set_padded(self._check_image(x), self._input)
        return self.blur_padded(self._input, np.empty(self.shape, np.float32) if out is None else out)

    def adjoint(self, y: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """A^T y: ``apply_field_adjoint(y, field)`` for a float32 (H, W, 3) y."""
        out = np.empty(self.shape, np.float32) if out is None else out
        _scatter_kernel(self._check_image(y), self.field, self.pad, self._bufs)
        kernels.fold_and_clear(self._bufs, self.shape[1], self.pad, *self._rows, *self._cols, out)
        return out

    def _check_image(self, x: np.ndarray) -> np.ndarray:
        if not isinstance(x, np.ndarray) or x.dtype != np.float32 or x.shape != self.shape:
            raise ValueError(f"expected a float32 {self.shape} tile, got {getattr(x, 'dtype', type(x).__name__)} "
                             f"{getattr(x, 'shape', '')}")
        return x if x.flags.c_contiguous else np.ascontiguousarray(x)
