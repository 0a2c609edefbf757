"""Numba kernels of the deconvolution: the per-pixel arithmetic of a Richardson-Lucy-TV iteration and the
bookkeeping around the blur and its adjoint, fused, parallel over rows, writing into buffers given.

Pure kernels, no validation (``tile_operator.TileOperator`` and ``solver.rl_tv`` own shapes and
buffers). Images are float32 (H, W, 3); a "padded" image is the flat float32 buffer the blur kernel
reads: (H + 2 pad) (W + 2 pad) 3 values with reflected borders (``BORDER_REFLECT_101``) and one float
of slack. No fast-math: every operation is done in float32 in the order of the NumPy formulation
(``solver_reference.rl_tv_reference``), so both give the same numbers.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from jitteredge.synth.blur import _reflect101

_KERNEL = dict(parallel=True, nogil=True, cache=True)


@njit(inline="always")
def _block(chunk, n_chunks, n):
    """Rows [start, stop) of one of n_chunks contiguous blocks of n rows."""
    return chunk * n // n_chunks, (chunk + 1) * n // n_chunks


@njit(**_KERNEL)
def fill_border(padded, H, W, pad):
    """Write the border of ``padded`` (flat, (H + 2 pad) (W + 2 pad) 3 + slack) from its interior, reflected
    about the edge pixels as ``cv2.BORDER_REFLECT_101`` (also for borders wider than the image)."""
    Hp = H + 2 * pad
    Wp = W + 2 * pad
    for ip in prange(Hp):
        si = _reflect101(ip - pad, H) + pad
        inside = pad <= ip < pad + H
        for jp in range(Wp):
            if inside and pad <= jp < pad + W:
                continue
            sj = _reflect101(jp - pad, W) + pad
            o = (ip * Wp + jp) * 3
            s = (si * Wp + sj) * 3
            padded[o] = padded[s]
            padded[o + 1] = padded[s + 1]
            padded[o + 2] = padded[s + 2]


@njit(**_KERNEL)
def set_interior(padded, H, W, pad, x):
    """padded's interior = x (H, W, 3); the border is left as it is (``fill_border``)."""
    Wp = W + 2 * pad
    for r in prange(H):
        o = ((r + pad) * Wp + pad) * 3
        for c in range(W):
            for ch in range(3):
                padded[o + c * 3 + ch] = x[r, c, ch]


@njit(**_KERNEL)
def get_interior(padded, H, W, pad, out):
    """out (H, W, 3) = padded's interior."""
    Wp = W + 2 * pad
    for r in prange(H):
        o = ((r + pad) * Wp + pad) * 3
        for c in range(W):
            for ch in range(3):
                out[r, c, ch] = padded[o + c * 3 + ch]


@njit(**_KERNEL)
def fold_and_clear(bufs, W, pad, row_start, row_src, col_start, col_src, out):
    """out (H, W, 3) = the per-thread scatter buffers summed and folded back across the reflected
    borders; the buffers are zeroed for the next scatter.

    The sums are taken in the order of ``adjoint._fold_columns`` then ``adjoint._fold_rows`` (threads,
    then padded columns, then padded rows, each ascending), in one pass: output row i gathers the padded
    rows ``row_src[row_start[i]:row_start[i + 1]]`` (those that reflect onto it), output column j the
    padded columns ``col_src[col_start[j]:col_start[j + 1]]``. A padded row reflects onto one output row
    only, so the thread that read it clears it.

    Args:
        bufs: float32 (T, (H + 2 pad) (W + 2 pad) 3), the scatter kernel's per-thread buffers.
        W, pad: tile width and border (px).
        row_start, row_src: int64 (H + 1), (H + 2 pad): padded rows grouped by the row they reflect onto.
        col_start, col_src: int64 (W + 1), (W + 2 pad): the same for columns.
        out: float32 (H, W, 3), written.
    """
    H = out.shape[0]
    T = bufs.shape[0]
    Wp = W + 2 * pad
    for i in prange(H):
        for j in range(W):
            for ch in range(3):
                out[i, j, ch] = 0.0
        for a in range(row_start[i], row_start[i + 1]):
            ip = row_src[a]
            for j in range(W):
                for ch in range(3):
                    s_row = np.float32(0.0)
                    for b in range(col_start[j], col_start[j + 1]):
                        o = (ip * Wp + col_src[b]) * 3 + ch
                        s = np.float32(0.0)
                        for t in range(T):
                            s += bufs[t, o]
                        s_row += s
                    out[i, j, ch] += s_row
            for t in range(T):
                for k in range(ip * Wp * 3, (ip + 1) * Wp * 3):
                    bufs[t, k] = 0.0


@njit(**_KERNEL)
def rl_ratio(y, mask, predicted, floor, out):
    """out = y / max(predicted, floor) where mask > 0, else 1 (the Richardson-Lucy ratio; clipped
    pixels neutral). All float32 (H, W, 3); out may be predicted."""
    H, W = y.shape[0], y.shape[1]
    one = np.float32(1.0)
    for r in prange(H):
        for c in range(W):
            for ch in range(3):
                p = predicted[r, c, ch]
                if p < floor:
                    p = floor
                out[r, c, ch] = y[r, c, ch] / p if mask[r, c, ch] > 0 else one


@njit(inline="always")
def _row_normals(xp, o, o_next, n, has_next, eps2, px, py):
    """Unit-ish gradient (gx, gy) / sqrt(gx^2 + gy^2 + eps2) of one padded row (flat offset o of its
    first interior value, n = 3 W values), forward differences, zero past the last column / row."""
    zero = np.float32(0.0)
    for k in range(n):  # two branch-free passes (they vectorise): gx, then the normalised pair
        px[3 + k] = xp[o + k + 3] - xp[o + k] if k < n - 3 else zero
    if has_next:
        for k in range(n):
            gx = px[3 + k]
            gy = xp[o_next + k] - xp[o + k]
            length = np.sqrt(gx * gx + gy * gy + eps2)
            px[3 + k] = gx / length
            py[k] = gy / length
    else:
        for k in range(n):
            gx = px[3 + k]
            length = np.sqrt(gx * gx + zero * zero + eps2)
            px[3 + k] = gx / length
            py[k] = zero / length


@njit(**_KERNEL)
def rl_tv_update(xp, H, W, pad, back, norm, lam, eps2, min_den, scratch, out):
    """One Richardson-Lucy-TV update (Dey et al. 2006), into another padded buffer:

        x' = x A^T(ratio) / max(A^T 1 + lam D^T (grad x / sqrt(|grad x|^2 + eps2)), min_den)

    with D the forward differences (``solver.gradients``) and D^T their adjoint (minus the divergence).

    Args:
        xp: padded x (flat float32, see the module docstring); its border is not read.
        H, W, pad: tile size and border (px).
        back: float32 (H, W, 3) A^T(ratio). norm: float32 (H, W, 3) A^T 1.
        lam, eps2, min_den: float32 TV weight (0: plain Richardson-Lucy), gradient smoothing squared,
            smallest denominator.
        scratch: float32 (T, 3, 3 W + 3) per-block row buffers (any T >= 1: rows go in T blocks).
        out: padded x' (flat float32, another buffer than xp); its interior is written.
    """
    Wp = W + 2 * pad
    n = 3 * W
    n_chunks = scratch.shape[0]
    back_flat = back.reshape(-1)
    norm_flat = norm.reshape(-1)
    for chunk in prange(n_chunks):
        px = scratch[chunk, 0]  # px[3 + k]: row r; px[0:3] = 0 (no column left of the first)
        py = scratch[chunk, 1]  # py[k]: row r
        py_up = scratch[chunk, 2]  # py[k]: row r - 1 (0 above the first row)
        r0, r1 = _block(chunk, n_chunks, H)
        for k in range(3):
            px[k] = 0.0
        for k in range(n):
            py_up[k] = 0.0
        if lam > 0 and r0 > 0 and r0 < r1:
            o = ((r0 - 1 + pad) * Wp + pad) * 3
            _row_normals(xp, o, o + Wp * 3, n, True, eps2, px, py_up)
        for r in range(r0, r1):
            o = ((r + pad) * Wp + pad) * 3
            b = r * n
            if lam > 0:
                _row_normals(xp, o, o + Wp * 3, n, r < H - 1, eps2, px, py)
                for k in range(n):
                    # D^T in solver.gradients_adjoint's order: -px, +px left, -py, +py above
                    d = np.float32(0.0) - px[3 + k]
                    d += px[k]
                    d -= py[k]
                    d += py_up[k]
                    den = norm_flat[b + k] + lam * d
                    if den < min_den:
                        den = min_den
                    out[o + k] = xp[o + k] * back_flat[b + k] / den
                for k in range(n):
                    py_up[k] = py[k]
            else:
                for k in range(n):
                    den = norm_flat[b + k]
                    if den < min_den:
                        den = min_den
                    out[o + k] = xp[o + k] * back_flat[b + k] / den
