"""The exact adjoint of ``apply_field`` (METHOD.md section 2): scatter along each pixel's segment.

``apply_field`` is linear in the image: blurred pixel p = sum over pixels q of W[p, q] image[q], where
W[p, .] is the exact mean of the bilinear hat functions along p's segment [p - M(p)/2, p + M(p)/2],
with borders reflected (``BORDER_REFLECT_101``). Its adjoint (transpose) sends an image y to

    (A^T y)[q] = sum over p of W[p, q] y[p],

i.e. every pixel p spreads y[p] over the pixels its segment passes, with the same weights the forward
kernel gathers with. Non-blind deconvolution needs both (gradient and Richardson-Lucy steps).

How (per pixel, ``_scatter_kernel``): the segment is cut at the grid lines of its major axis into
strips of at most one pixel, and each strip at the (at most one) row line of the minor axis it
crosses, exactly as the forward kernel's end pieces (``blur._strip``); on each piece inside one
bilinear cell the exact mean of the four hat functions along the line is closed form (``blur._piece``'s
weights), and the piece's length / |M| times those four weights times y[p] is added to the four
pixels of the cell. The forward kernel gets the same integrals by telescoping the interior strips;
both are exact, so they agree to float32 rounding (``tests/synth/test_adjoint.py`` checks the adjoint
identity <A x, y> = <x, A^T y>). Work per pixel: about |U| + |V| pieces of four scatters.

Threads scatter into private padded buffers (rows dealt round-robin), which are then summed and
folded back across the reflected borders (a padded pixel adds to the pixel it mirrors).
"""

from __future__ import annotations

import numba as nb
import numpy as np
from numba import njit, prange

from jitteredge.synth.blur import _check, _pad_for, _reflect101

__all__ = ["apply_field_adjoint"]

_FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}  # as blur.py: no nnan/ninf


@njit(inline="always")
def _add3(buf, o, w, y_0, y_1, y_2):
    buf[o] += w * y_0
    buf[o + 1] += w * y_1
    buf[o + 2] += w * y_2


@njit(inline="always")
def _scatter_piece(buf, o00, smaj, smin, x0, x1, y0, y1, wgt, y_0, y_1, y_2):
    """Add wgt * (mean of the bilinear cell's hat functions along the line (x0, y0)-(x1, y1), local
    coordinates, x along the major axis) times the values y_0..y_2 to the cell's four pixels."""
    mx = 0.5 * (x0 + x1)
    my = 0.5 * (y0 + y1)
    mxy = (2.0 * x0 * y0 + x0 * y1 + x1 * y0 + 2.0 * x1 * y1) * (1.0 / 6.0)
    w11 = np.float32(mxy * wgt)
    w10 = np.float32((mx - mxy) * wgt)
    w01 = np.float32((my - mxy) * wgt)
    w00 = np.float32((1.0 - mx - my + mxy) * wgt)
    _add3(buf, o00, w00, y_0, y_1, y_2)
    _add3(buf, o00 + smaj, w10, y_0, y_1, y_2)
    _add3(buf, o00 + smin, w01, y_0, y_1, y_2)
    _add3(buf, o00 + smaj + smin, w11, y_0, y_1, y_2)


@njit(parallel=True, nogil=True, cache=True, fastmath=_FASTMATH)
def _scatter_kernel(y, field, pad, bufs):
    """bufs[t] += the scatter of the rows r = t, t + T, ... of y (H, W, 3) along their segments.

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
    for chunk in prange(n_chunks):
        buf = bufs[chunk]
        for r in range(chunk, H, n_chunks):
            for c in range(W):
                y_0 = y[r, c, 0]
                y_1 = y[r, c, 1]
                y_2 = y[r, c, 2]
                # the forward kernel's geometry (blur._row_geometry), in float64 from the float32 field
                U = np.float64(field[r, c, 0])
                V = np.float64(field[r, c, 1])
                xm = abs(U) >= abs(V)
                lead = U if xm else V
                other = V if xm else U
                du = abs(lead)
                if du < 1e-6:  # no blur: the pixel itself (as the forward kernel)
                    o = (r + pad) * sy + (c + pad) * sx
                    buf[o] += y_0
                    buf[o + 1] += y_1
                    buf[o + 2] += y_2
                    continue
                dv = other if lead >= 0.0 else -other
                pa = np.float64((c if xm else r) + pad)
                pb = np.float64((r if xm else c) + pad)
                smaj = sx if xm else sy
                smin = sy if xm else sx
                m = dv / du
                inv_m = du / dv if dv != 0.0 else 0.0
                a0 = pa - 0.5 * du
                a1 = pa + 0.5 * du
                b0 = pb - 0.5 * dv
                scale = 1.0 / du
                kf = int(a0)
                kl = int(a1)
                for k in range(kf, kl + 1):
                    a_s = a0 if k == kf else np.float64(k)
                    a_e = a1 if k == kl else k + 1.0
                    if a_e <= a_s:
                        continue
                    b_s = b0 + m * (a_s - a0)
                    b_e = b0 + m * (a_e - a0)
                    r_s = int(b_s)
                    r_e = int(b_e)
                    if r_s == r_e:
                        _scatter_piece(buf, k * smaj + r_s * smin, smaj, smin, a_s - k, a_e - k, b_s - r_s,
                                       b_e - r_s, (a_e - a_s) * scale, y_0, y_1, y_2)
                    else:
                        b_c = max(r_s, r_e)  # the row line crossed
                        a_c = a_s + (b_c - b_s) * inv_m
                        _scatter_piece(buf, k * smaj + r_s * smin, smaj, smin, a_s - k, a_c - k, b_s - r_s,
                                       b_c - r_s, (a_c - a_s) * scale, y_0, y_1, y_2)
                        _scatter_piece(buf, k * smaj + r_e * smin, smaj, smin, a_c - k, a_e - k, b_c - r_e,
                                       b_e - r_e, (a_e - a_c) * scale, y_0, y_1, y_2)


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
