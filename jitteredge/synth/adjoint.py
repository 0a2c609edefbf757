"""The exact adjoint of ``apply_field`` (METHOD.md section 2): scatter along each pixel's segment.

``apply_field`` is linear in the image: blurred pixel p = sum over pixels q of W[p, q] image[q], where
W[p, .] is the exact mean of the bilinear hat functions along p's segment [p - M(p)/2, p + M(p)/2],
with borders reflected (``BORDER_REFLECT_101``). Its adjoint (transpose) sends an image y to

    (A^T y)[q] = sum over p of W[p, q] y[p],

i.e. every pixel p spreads y[p] over the pixels its segment passes, with the same weights the forward
kernel gathers with. Non-blind deconvolution needs both (gradient and Richardson-Lucy steps).

How (per pixel, ``_scatter_kernel``): the forward kernel's walk, transposed step by step. Its two
partial end strips are cut at the (at most one) row line they cross, and each piece inside one bilinear
cell spreads its closed-form weights (``blur._piece``'s, with the end columns' extra terms) over the
cell's four pixels; its interior columns at weight 1 spread over the two pixels around the segment
(row and fraction in 32.32 fixed point, as ``lanes.column_sum``); its row-line kink corrections spread
over three pixels of each of two columns (as ``lanes.kink_sum``). Everything is scaled by 1 / |M_a|.
The weights are the forward kernel's, computed the same way, so the two agree to float32 rounding
(``tests/synth/test_adjoint.py`` checks the adjoint identity <A x, y> = <x, A^T y> and the dense
transpose). Work per pixel: about |U| + |V| scatters of two or three pixels; one thread spends about
2.5x the forward kernel's time (scattered writes, no SIMD lanes).

Threads scatter into private padded buffers (rows dealt round-robin), which are then summed and
folded back across the reflected borders (a padded pixel adds to the pixel it mirrors).
"""

from __future__ import annotations

import numba as nb
import numpy as np
from numba import njit, prange

from jitteredge.synth.blur import _check, _pad_for, _reflect101
from jitteredge.synth.lanes import FIX_ONE

__all__ = ["apply_field_adjoint"]

_FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}  # as blur.py: no nnan/ninf


@njit(inline="always")
def _add3(buf, o, w, y_0, y_1, y_2):
    buf[o] += w * y_0
    buf[o + 1] += w * y_1
    buf[o + 2] += w * y_2


@njit(inline="always")
def _scatter_piece_e(buf, o00, smaj, smin, x0, x1, y0, y1, dt, e00, e10, e01, e11, y_0, y_1, y_2):
    """``blur._piece`` transposed: the cell's four weights (piece mean times dt, plus the extra e
    terms of the full strips) times the values y_0..y_2, added to the cell's four pixels."""
    mx = 0.5 * (x0 + x1)
    my = 0.5 * (y0 + y1)
    mxy = (2.0 * x0 * y0 + x0 * y1 + x1 * y0 + 2.0 * x1 * y1) * (1.0 / 6.0)
    _add3(buf, o00, np.float32((1.0 - mx - my + mxy) * dt + e00), y_0, y_1, y_2)
    _add3(buf, o00 + smaj, np.float32((mx - mxy) * dt + e10), y_0, y_1, y_2)
    _add3(buf, o00 + smin, np.float32((my - mxy) * dt + e01), y_0, y_1, y_2)
    _add3(buf, o00 + smaj + smin, np.float32(mxy * dt + e11), y_0, y_1, y_2)


@njit(inline="always")
def _scatter_strip(buf, smaj, smin, k, a_s, a_e, a0, b0, m, inv_m, lead0, lead1, trail0, trail1, y_0, y_1, y_2):
    """``blur._strip`` transposed (same split at the row line crossed, same extra weights)."""
    b_s = b0 + m * (a_s - a0)
    b_e = b0 + m * (a_e - a0)
    r_s = int(b_s)
    r_e = int(b_e)
    if r_s == r_e:
        _scatter_piece_e(buf, k * smaj + r_s * smin, smaj, smin, a_s - k, a_e - k, b_s - r_s, b_e - r_s, a_e - a_s,
                         lead0, trail0, lead1, trail1, y_0, y_1, y_2)
        return
    b_c = max(r_s, r_e)
    a_c = a_s + (b_c - b_s) * inv_m
    _scatter_piece_e(buf, k * smaj + r_s * smin, smaj, smin, a_s - k, a_c - k, b_s - r_s, b_c - r_s, a_c - a_s,
                     lead0, 0.0, lead1, 0.0, y_0, y_1, y_2)
    _scatter_piece_e(buf, k * smaj + r_e * smin, smaj, smin, a_c - k, a_e - k, b_c - r_e, b_e - r_e, a_e - a_c,
                     0.0, trail0, 0.0, trail1, y_0, y_1, y_2)


@njit(parallel=True, nogil=True, cache=True, fastmath=_FASTMATH)
def _scatter_kernel(y, field, pad, bufs):
    """bufs[t] += the scatter of the rows r = t, t + T, ... of y (H, W, 3) along their segments.

    The forward kernel's walk, transposed step by step: its two end strips (``_scatter_strip``), its
    interior columns at weight 1 (two pixels each, the row and fraction in 32.32 fixed point, as
    ``lanes.column_sum``) and its row-line kink corrections (three pixels per column, as
    ``lanes.kink_sum``), each scaled by 1 / |M_a|.

    Args:
        y: float32 (H, W, 3) values to spread.
        field: float32 (H, W, 2) jitter field (U, V) in pixels.
        pad: border (px) of the padded buffers, at least ``blur.reflect_pad_px(field)``.
        bufs: float32 (T, (H + 2 pad) (W + 2 pad) 3), zeroed; thread t writes bufs[t] only.
    """
    H, W = field.shape[0], field.shape[1]
    n_chunks = bufs.shape[0]
    Wp = W + 2 * pad
    sx = 3
    sy = Wp * 3
    fraction = np.int64(0xFFFFFFFF)
    for chunk in prange(n_chunks):
        buf = bufs[chunk]
        for r in range(chunk, H, n_chunks):
            for c in range(W):
                # the forward kernel's geometry (blur._row_geometry), in float64 from the float32 field
                U = np.float64(field[r, c, 0])
                V = np.float64(field[r, c, 1])
                xm = abs(U) >= abs(V)
                lead = U if xm else V
                other = V if xm else U
                du = abs(lead)
                if du < 1e-6:  # no blur: the pixel itself (as the forward kernel)
                    o = (r + pad) * sy + (c + pad) * sx
                    buf[o] += y[r, c, 0]
                    buf[o + 1] += y[r, c, 1]
                    buf[o + 2] += y[r, c, 2]
                    continue
                inv = np.float32(1.0 / du)
                y_0 = y[r, c, 0] * inv
                y_1 = y[r, c, 1] * inv
                y_2 = y[r, c, 2] * inv
                dv = other if lead >= 0.0 else -other
                pa = np.float64((c if xm else r) + pad)
                pb = np.float64((r if xm else c) + pad)
                smaj = sx if xm else sy
                smin = sy if xm else sx
                m = dv / du
                inv_m = du / dv if dv != 0.0 else 0.0
                am6 = np.float32(abs(m) / 6.0)
                a0 = pa - 0.5 * du
                a1 = pa + 0.5 * du
                b0 = pb - 0.5 * dv
                kf = int(a0)
                kl = int(a1)
                b_first = b0 + m * (kf + 1 - a0)
                b_last = b0 + m * (kl - a0)
                full = kl > kf + 1
                r_first = int(b_first)
                r_last = int(b_last)
                f_first = b_first - r_first
                f_last = b_last - r_last
                m6 = m * (1.0 / 6.0)
                left0 = -0.5 * (1.0 - f_first) - m6 if full else 0.0
                left1 = -0.5 * f_first + m6 if full else 0.0
                right0 = -0.5 * (1.0 - f_last) + m6 if full else 0.0
                right1 = -0.5 * f_last - m6 if full else 0.0
                if kf == kl:
                    _scatter_strip(buf, smaj, smin, kf, a0, a1, a0, b0, m, inv_m, 0.0, 0.0, 0.0, 0.0, y_0, y_1, y_2)
                else:
                    _scatter_strip(buf, smaj, smin, kf, a0, kf + 1.0, a0, b0, m, inv_m, 0.0, 0.0, left0, left1,
                                   y_0, y_1, y_2)
                    _scatter_strip(buf, smaj, smin, kl, np.float64(kl), a1, a0, b0, m, inv_m, right0, right1, 0.0, 0.0,
                                   y_0, y_1, y_2)
                if full:
                    # columns kf+1 .. kl at weight 1, linear between the two rows around b (lanes.column_sum)
                    b_fix = np.int64(b_first * FIX_ONE)
                    m_fix = np.int64(m * FIX_ONE)
                    i_maj = (kf + 1) * smaj
                    for _ in range(kl - kf):
                        i0 = (b_fix >> 32) * smin + i_maj
                        f = np.float32(np.float32(b_fix & fraction) * np.float32(1.0 / FIX_ONE))
                        g = np.float32(1.0) - f
                        _add3(buf, i0, g, y_0, y_1, y_2)
                        _add3(buf, i0 + smin, f, y_0, y_1, y_2)
                        b_fix += m_fix
                        i_maj += smaj
                    if r_last != r_first:
                        # each row line crossed: |m|/6 (q_k (1 - sigma)^3 + q_k1 sigma^3) (lanes.kink_sum)
                        step = 1 if r_last > r_first else -1
                        b_c = r_first + 1 if step > 0 else r_first
                        a_c = a0 + (b_c - b0) * inv_m
                        spacing = min(abs(inv_m), 1e9)
                        j0 = (b_c - 1) * smin
                        a_fix = np.int64(a_c * FIX_ONE)
                        d_fix = np.int64(spacing * FIX_ONE)
                        for _ in range(abs(r_last - r_first)):
                            k = a_fix >> 32
                            sigma = np.float32(np.float32(a_fix & fraction) * np.float32(1.0 / FIX_ONE))
                            jk = j0 + k * smaj
                            w0 = am6 * (np.float32(1.0) - sigma) ** 3
                            w1 = am6 * sigma ** 3
                            _add3(buf, jk, w0, y_0, y_1, y_2)
                            _add3(buf, jk + smin, np.float32(-2.0) * w0, y_0, y_1, y_2)
                            _add3(buf, jk + 2 * smin, w0, y_0, y_1, y_2)
                            _add3(buf, jk + smaj, w1, y_0, y_1, y_2)
                            _add3(buf, jk + smaj + smin, np.float32(-2.0) * w1, y_0, y_1, y_2)
                            _add3(buf, jk + smaj + 2 * smin, w1, y_0, y_1, y_2)
                            a_fix += d_fix
                            j0 += step * smin


@njit(parallel=True, nogil=True, cache=True)
def _fold_columns(bufs, H, W, pad, out_rows):
    """out_rows (H + 2 pad, W, 3) = the thread buffers summed, each padded column added to the column
    it mirrors (BORDER_REFLECT_101)."""
    T = bufs.shape[0]
    Hp = H + 2 * pad
    Wp = W + 2 * pad
    for i in prange(Hp):
        for j in range(W):
            for ch in range(3):
                out_rows[i, j, ch] = 0.0
        for jp in range(Wp):
            j = _reflect101(jp - pad, W)
            o = (i * Wp + jp) * 3
            for ch in range(3):
                s = np.float32(0.0)
                for t in range(T):
                    s += bufs[t, o + ch]
                out_rows[i, j, ch] += s


@njit(parallel=True, nogil=True, cache=True)
def _fold_rows(rows, H, pad, out):
    """out (H, W, 3) = rows (H + 2 pad, W, 3) with each padded row added to the row it mirrors."""
    Hp = H + 2 * pad
    W = rows.shape[1]
    for j in prange(W):
        for i in range(H):
            for ch in range(3):
                out[i, j, ch] = 0.0
        for ip in range(Hp):
            i = _reflect101(ip - pad, H)
            for ch in range(3):
                out[i, j, ch] += rows[ip, j, ch]


def apply_field_adjoint(image: np.ndarray, field: np.ndarray) -> np.ndarray:
    """The adjoint (transpose) of ``apply_field`` with the same field: spread each pixel along its segment.

    For every x, y of matching shapes, <apply_field(x, field), y> = <x, apply_field_adjoint(y, field)>
    (to float32 rounding). A zero vector leaves the pixel unchanged; a pixel's value is spread with the
    weights its blurred value was gathered with, so the result of a constant image is not constant
    where the field varies (its sum is kept: the weights of each pixel sum to one).

    Args:
        image: float32 (H, W) or (H, W, C), H, W >= 2.
        field: (H, W, 2) jitter field (U, V) in pixels, as for ``apply_field``.

    Returns:
        float32 array of the image's shape.

    Raises:
        ValueError: as ``apply_field`` (uint8 images are refused: the adjoint of a blur is not a photo).
    """
    if isinstance(image, np.ndarray) and image.dtype != np.float32:
        raise ValueError(f"image dtype must be float32, got {image.dtype}")
    field, longest = _check(image, field)
    h, w = image.shape[:2]
    img3 = image[:, :, None] if image.ndim == 2 else image
    channels = img3.shape[2]
    pad = _pad_for(longest)
    n_threads = nb.get_num_threads()
    n_padded = (h + 2 * pad) * (w + 2 * pad) * 3
    bufs = np.empty((n_threads, n_padded), np.float32)
    rows = np.empty((h + 2 * pad, w, 3), np.float32)
    lanes_out = np.empty((h, w, 3), np.float32)
    result = np.empty((h, w, channels), np.float32)
    for c0 in range(0, channels, 3):
        n = min(3, channels - c0)
        if n == 3:
            y3 = np.ascontiguousarray(img3[:, :, c0:c0 + 3])
        else:
            y3 = np.zeros((h, w, 3), np.float32)
            y3[:, :, :n] = img3[:, :, c0:c0 + n]
        bufs[...] = 0.0
        _scatter_kernel(y3, field, pad, bufs)
        _fold_columns(bufs, h, w, pad, rows)
        _fold_rows(rows, h, pad, lanes_out)
        result[:, :, c0:c0 + n] = lanes_out[:, :, :n]
    return result.reshape(image.shape)
