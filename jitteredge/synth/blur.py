"""Apply a jitter field (METHOD.md section 2): the exact line integral of the bilinear image.

Each output pixel p is the mean of the sharp image along its blur segment [p - M(p)/2, p + M(p)/2],
where the sharp image is the bilinear interpolant of its pixels, extended past the borders by
reflection about the edge pixels (OpenCV's ``BORDER_REFLECT_101``, NumPy's ``mode="reflect"``:
``... c b | a b c d | c b ...``). The integral is computed exactly (to float32 rounding), not sampled.

How (per pixel, ``_blur_kernel``): walk the segment along its major axis a (x if |U| >= |V|, else y);
the minor coordinate is b(a) = b0 + m (a - a0) with |m| <= 1. The grid lines a = k cut it into unit
strips. On a strip [k, k+1] that stays inside one cell row r, the image along the segment is a
quadratic in a and

    integral over [k, k+1] = (v_k + v_{k+1}) / 2 + m (d_k - d_{k+1}) / 6,

where v_k is the linear interpolation of grid column k at height b(k) (two pixels) and
d_k = I[r + 1, k] - I[r, k] its slope. Summed over all full strips the slope terms telescope to the
two end columns, so the interior costs one two-pixel interpolation per unit of length: the work of
the trapezoidal rule, which this corrects to exactness. A strip that crosses a row line b_c (at most
one, as |m| <= 1) at the fraction sigma of its length is made exact by adding

    |m| / 6 * (q_k (1 - sigma)^3 + q_{k+1} sigma^3),

q being the second difference of the column across the row line (I[b_c + 1] - 2 I[b_c] + I[b_c - 1]):
the kink of the bilinear surface there. So the walk is two loops without branches: one over the
columns of the full strips at weight 1 (``lanes.column_sum``, b walked in 32.32 fixed point, so that
each column's cell row and fraction come from integer ops), one over the row lines crossed
(``lanes.kink_sum``; crossings lie 1/|m| apart along a). The two partial strips at the segment's
ends are integrated by the closed form of a bilinear cell along a line piece (``_piece``); the end
columns' half weights and slope terms fall on pixels of those cells and are added to their weights.
Work per pixel follows its own blur: about max(|U|, |V|) column interpolations + min(|U|, |V|)
corrections, each on the three channels at once in one SIMD register (``synth/lanes.py``).
Accuracy is float32 rounding (about 1e-6 of the image range); ``blur_reference.py`` checks it.

Images are float32 inside; channels go through the kernel three at a time (gray and 2-channel
images are padded to three lanes with zeros).
"""

from __future__ import annotations

import math

import cv2
import numba as nb
import numpy as np
from numba import njit, prange

from jitteredge.synth.lanes import FIX_ONE, cell_sum, column_sum, kink_sum

__all__ = ["apply_field", "reflect_pad_px", "MAX_BLUR_FACTOR"]

# Fast-math without nnan/ninf (as STUMPY does) so NaN checks stay valid in any caller.
from jitteredge.synth.jit import FASTMATH as _FASTMATH  # noqa: E402 (the one set of Numba flags)
_LANES = 3  # channels per kernel pass: RGB in one pass, more channels in groups of three
# Longest field component accepted, as a multiple of the longer image side (plus 64 px): longer blurs
# would only average the periodic reflection of the image, and the padded copy would grow quadratically.
MAX_BLUR_FACTOR = 4.0

_f32 = np.float32


def reflect_pad_px(field: np.ndarray) -> int:
    """Border (px) the padded image needs so that every segment and its bilinear neighbours fit."""
    return _pad_for(_longest_component(field))


def _longest_component(field: np.ndarray) -> float:
    """max |field| without a temporary array (NaN if the field holds one, inf if infinite)."""
    return max(float(field.max()), -float(field.min())) if field.size else 0.0


def _pad_for(longest: float) -> int:
    return int(math.ceil(longest / 2.0)) + 2


@njit(nogil=True, cache=True)
def _reflect101(i, n):
    """Index i folded into [0, n) by reflection about the edge pixels (n >= 2): -1 -> 1, n -> n - 2."""
    period = 2 * (n - 1)
    i = i % period  # Python semantics: non-negative
    if i >= n:
        i = period - i
    return i


@njit(parallel=True, nogil=True, cache=True)
def _pad_lanes(img, c0, pad, out):
    """Copy channels c0 .. c0 + 2 of img (H, W, C), any real dtype, into out (H + 2 pad, W + 2 pad, 3)
    float32 with reflected borders; lanes past the last channel are zero."""
    H, W, C = img.shape
    Hp, Wp, L = out.shape
    n = min(L, C - c0)
    cols = np.empty(Wp, np.int64)
    for j in range(Wp):
        cols[j] = _reflect101(j - pad, W)
    for i in prange(Hp):
        si = _reflect101(i - pad, H)
        for j in range(Wp):
            sj = cols[j]
            for lane in range(n):
                out[i, j, lane] = img[si, sj, c0 + lane]
            for lane in range(n, L):
                out[i, j, lane] = 0.0


@njit(inline="always")
def _piece(p, smaj, smin, k, r, x0, x1, y0, y1, dt, e00, e10, e01, e11, s0, s1, s2):
    """Add dt * (mean of the bilinear cell (k, r) along the line from (x0, y0) to (x1, y1)), and e00 ..
    e11 times the cell's four pixels (terms of the full strips that fall on this cell's pixels).

    Coordinates are local to the cell (0..1, x along the major axis). Along a line the cell's
    c00 (1-x)(1-y) + c10 x (1-y) + c01 (1-x) y + c11 x y has the exact mean given by
    mean(x) = (x0 + x1) / 2, mean(y) = (y0 + y1) / 2, mean(x y) = (2 x0 y0 + x0 y1 + x1 y0 + 2 x1 y1) / 6.
    """
    mx = 0.5 * (x0 + x1)
    my = 0.5 * (y0 + y1)
    mxy = (2.0 * x0 * y0 + x0 * y1 + x1 * y0 + 2.0 * x1 * y1) * (1.0 / 6.0)
    w11 = _f32(mxy * dt + e11)
    w10 = _f32((mx - mxy) * dt + e10)
    w01 = _f32((my - mxy) * dt + e01)
    w00 = _f32((1.0 - mx - my + mxy) * dt + e00)
    c0, c1, c2 = cell_sum(p, k * smaj + r * smin, smaj, smin, w00, w10, w01, w11)
    s0 += c0
    s1 += c1
    s2 += c2
    return s0, s1, s2


@njit(inline="always")
def _strip(p, smaj, smin, k, a_s, a_e, a0, b0, m, inv_m, lead0, lead1, trail0, trail1, s0, s1, s2):
    """Add the exact integral over the part [a_s, a_e] of strip [k, k+1] (split at a row crossing),
    and lead0, lead1 times the pixels of the cell row at a_s in grid column k (rows r, r + 1), trail0,
    trail1 those at a_e in grid column k + 1."""
    b_s = b0 + m * (a_s - a0)
    b_e = b0 + m * (a_e - a0)
    r_s = int(b_s)  # coordinates in the padded image are >= 1: int() is floor()
    r_e = int(b_e)
    if r_s == r_e:
        return _piece(p, smaj, smin, k, r_s, a_s - k, a_e - k, b_s - r_s, b_e - r_s, a_e - a_s,
                      lead0, trail0, lead1, trail1, s0, s1, s2)
    b_c = max(r_s, r_e)  # the row line crossed
    a_c = a_s + (b_c - b_s) * inv_m
    s0, s1, s2 = _piece(p, smaj, smin, k, r_s, a_s - k, a_c - k, b_s - r_s, b_c - r_s, a_c - a_s,
                        lead0, 0.0, lead1, 0.0, s0, s1, s2)
    return _piece(p, smaj, smin, k, r_e, a_c - k, a_e - k, b_c - r_e, b_e - r_e, a_e - a_c,
                  0.0, trail0, 0.0, trail1, s0, s1, s2)


@njit(inline="always")
def _row_geometry(field, r, pad, du, dv, pa, pb, m, inv_m, x_major):
    """Each pixel of row r: its major axis a (x if |U| >= |V|, else y) and minor axis b, oriented so
    that a increases along the segment: the lengths du = |M_a| and dv, the centre (pa, pb) in the
    padded image, the slope m = dv / du and 1 / m (0 when dv = 0). A loop of selects and divisions
    that the compiler vectorises, out of the way of the per-pixel walk that follows."""
    for c in range(field.shape[1]):
        U = np.float64(field[r, c, 0])
        V = np.float64(field[r, c, 1])
        xm = abs(U) >= abs(V)
        lead = U if xm else V
        other = V if xm else U
        length = abs(lead)
        rise = other if lead >= 0.0 else -other
        x_major[c] = xm
        du[c] = length
        dv[c] = rise
        pa[c] = np.float64((c if xm else r) + pad)
        pb[c] = np.float64((r if xm else c) + pad)
        m[c] = rise / length if length > 0.0 else 0.0
        inv_m[c] = length / rise if rise != 0.0 else 0.0


@njit(parallel=True, nogil=True, cache=True, fastmath=_FASTMATH)
def _blur_kernel(p, pad, field, out, n_chunks):
    """Line-integral blur, no validation (see the module docstring for the method).

    Args:
        p: float32 (H + 2 pad) (W + 2 pad) 3 + 1: the (H + 2 pad, W + 2 pad, 3) image with reflected
            borders, flat, and one float of slack (``lanes`` loads four floats a pixel).
        pad: border width (px), at least ``reflect_pad_px(field)``.
        field: float32 (H, W, 2) jitter field (U, V) in pixels.
        out: float32 (H, W, 3), written.
        n_chunks: rows are dealt round-robin to this many parallel chunks (the thread count; read
            outside because ``numba.get_num_threads()`` inside a kernel prevents caching it).
    """
    H, W = field.shape[0], field.shape[1]
    Wp = W + 2 * pad
    sx = 3  # flat stride of one column
    sy = Wp * 3  # flat stride of one row
    # Rows are dealt round-robin so that every thread gets long and short blurs alike.
    for chunk in prange(n_chunks):
        geometry = np.empty((6, W), np.float64)  # one row's du, dv, pa, pb, m, 1/m
        x_major = np.empty(W, np.bool_)
        for r in range(chunk, H, n_chunks):
            _row_geometry(field, r, pad, geometry[0], geometry[1], geometry[2], geometry[3], geometry[4],
                          geometry[5], x_major)
            for c in range(W):
                du = geometry[0, c]
                dv = geometry[1, c]
                pa = geometry[2, c]
                pb = geometry[3, c]
                smaj = sx if x_major[c] else sy
                smin = sy if x_major[c] else sx
                if du < 1e-6:  # no blur (or shorter than float32 can tell apart): the pixel itself
                    o = (r + pad) * sy + (c + pad) * sx
                    out[r, c, 0] = p[o]
                    out[r, c, 1] = p[o + 1]
                    out[r, c, 2] = p[o + 2]
                    continue
                m = geometry[4, c]
                am6 = _f32(abs(m) / 6.0)
                inv_m = geometry[5, c]
                a0 = pa - 0.5 * du
                a1 = pa + 0.5 * du
                b0 = pb - 0.5 * dv
                kf = int(a0)
                kl = int(a1)
                s0 = _f32(0.0)
                s1 = _f32(0.0)
                s2 = _f32(0.0)
                # Full strips between grid columns kf+1 .. kl (when kl > kf + 1). (1) The strip formula
                # summed as if no strip crossed a row: inner columns weigh 1, the end ones 1/2, slopes
                # telescope to m/6 (d_first - d_last). The end columns' terms beyond weight 1 fall on
                # pixels of the cells of the partial strips next to them: they ride on those weights.
                # (Assigned on every path: a name assigned in one branch and read under another
                # condition read garbage in Numba's parallel lowering.)
                b_first = b0 + m * (kf + 1 - a0)
                b_last = b0 + m * (kl - a0)
                full = kl > kf + 1
                r_first = int(b_first)
                r_last = int(b_last)
                f_first = b_first - r_first
                f_last = b_last - r_last
                m6 = m * (1.0 / 6.0)
                left0 = -0.5 * (1.0 - f_first) - m6 if full else 0.0  # -v/2 + m/6 d at column kf+1
                left1 = -0.5 * f_first + m6 if full else 0.0
                right0 = -0.5 * (1.0 - f_last) + m6 if full else 0.0  # -v/2 - m/6 d at column kl
                right1 = -0.5 * f_last - m6 if full else 0.0
                if kf == kl:  # shorter than one strip
                    s0, s1, s2 = _strip(p, smaj, smin, kf, a0, a1, a0, b0, m, inv_m, 0.0, 0.0, 0.0, 0.0, s0, s1, s2)
                else:
                    s0, s1, s2 = _strip(p, smaj, smin, kf, a0, kf + 1.0, a0, b0, m, inv_m, 0.0, 0.0, left0, left1,
                                        s0, s1, s2)
                    s0, s1, s2 = _strip(p, smaj, smin, kl, np.float64(kl), a1, a0, b0, m, inv_m, right0, right1,
                                        0.0, 0.0, s0, s1, s2)
                if kl > kf + 1:
                    # (2) The columns kf+1 .. kl at weight 1: one pass, b in fixed point.
                    # (3) Each row line b_c crossed inside strip [k, k+1], at sigma in 0..1 along it,
                    # bends columns k and k+1 (second differences q_k, q_k1 at row b_c); adding
                    # |m|/6 (q_k (1 - sigma)^3 + q_k1 sigma^3) makes that strip exact. Crossings are
                    # 1/|m| apart along the major axis.
                    c0, c1, c2 = column_sum(p, (kf + 1) * smaj, smaj, smin, np.int64(b_first * FIX_ONE),
                                            np.int64(m * FIX_ONE), kl - kf)
                    s0 += c0
                    s1 += c1
                    s2 += c2
                    if r_last != r_first:
                        step = 1 if r_last > r_first else -1
                        b_c = r_first + 1 if step > 0 else r_first  # the first row line crossed
                        a_c = a0 + (b_c - b0) * inv_m
                        spacing = min(abs(inv_m), 1e9)  # a lone crossing may lie on a near-flat segment
                        c0, c1, c2 = kink_sum(p, (b_c - 1) * smin, step * smin, smaj, smin, np.int64(a_c * FIX_ONE),
                                              np.int64(spacing * FIX_ONE), abs(r_last - r_first), am6)
                        s0 += c0
                        s1 += c1
                        s2 += c2
                inv = _f32(1.0 / du)
                out[r, c, 0] = s0 * inv
                out[r, c, 1] = s1 * inv
                out[r, c, 2] = s2 * inv


def _pad_into(img3: np.ndarray, c0: int, pad: int, padded: np.ndarray) -> None:
    """Write channels c0 .. c0 + 2 of img3 into padded with reflected borders (see ``_pad_lanes``)."""
    if img3.dtype == np.float32 and img3.shape[2] == _LANES:
        # OpenCV's copy is several times faster than the generic kernel and reflects the same way,
        # also for borders wider than the image.
        done = cv2.copyMakeBorder(img3, pad, pad, pad, pad, cv2.BORDER_REFLECT_101, dst=padded)
        if not np.shares_memory(done, padded):  # pragma: no cover - OpenCV reallocated
            padded[...] = done
        return
    _pad_lanes(img3, c0, pad, padded)


def _check(image: np.ndarray, field: np.ndarray) -> tuple[np.ndarray, float]:
    """Validate the inputs; return the field as C-contiguous float32 (H, W, 2) and max |field|."""
    if not isinstance(image, np.ndarray):
        raise ValueError(f"image must be a numpy array, got {type(image).__name__}")
    if image.dtype not in (np.uint8, np.float32):
        raise ValueError(f"image dtype must be uint8 or float32, got {image.dtype}")
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] < 1):
        raise ValueError(f"image must be (H, W) or (H, W, C), got shape {image.shape}")
    h, w = image.shape[:2]
    if h < 2 or w < 2:
        raise ValueError(f"image must be at least 2x2 pixels to reflect its borders, got {h}x{w}")
    field = np.asarray(field)
    if field.shape != (h, w, 2):
        raise ValueError(f"field must have shape (H, W, 2) = {(h, w, 2)} to match the image, got {field.shape}")
    if not np.issubdtype(field.dtype, np.floating) and not np.issubdtype(field.dtype, np.integer):
        raise ValueError(f"field must be numeric, got dtype {field.dtype}")
    field = np.ascontiguousarray(field, dtype=np.float32)
    if not field.flags.writeable:  # a read-only array would compile a second copy of the kernel
        field = field.copy()
    longest = _longest_component(field)  # one pass for both checks: NaN and inf reach the max
    if not math.isfinite(longest):
        raise ValueError("field contains NaN or infinite values")
    limit = MAX_BLUR_FACTOR * max(h, w) + 64.0
    if longest > limit:
        raise ValueError(f"field component of {longest:.1f} px is longer than the {limit:.0f} px allowed "
                         f"for a {h}x{w} image ({MAX_BLUR_FACTOR:g} x the longer side + 64)")
    return field, longest


def apply_field(image: np.ndarray, field: np.ndarray) -> np.ndarray:
    """Blur an image with a per-pixel jitter field (METHOD.md section 2).

    Each output pixel is the exact mean of the bilinearly interpolated image along the segment
    [p - M(p)/2, p + M(p)/2], borders reflected as ``cv2.BORDER_REFLECT_101``. (U, V) and (-U, -V)
    give the same result; a zero vector leaves the pixel unchanged. Runs on
    ``numba.get_num_threads()`` threads (``numba.set_num_threads`` to change) and releases the GIL.

    Args:
        image: uint8 or float32, (H, W) gray or (H, W, C), H, W >= 2. Any value range.
        field: (H, W, 2) jitter field (U, V) in pixels, U along columns, V along rows; finite.

    Returns:
        The blurred image, same shape and dtype. uint8 is computed in float32, then rounded to
        nearest and clipped to 0..255.

    Raises:
        ValueError: wrong image dtype or shape, image smaller than 2x2, field of the wrong shape,
            NaN or infinite field values, or a field component longer than
            ``MAX_BLUR_FACTOR`` x the longer image side + 64 px.
    """
    field, longest = _check(image, field)
    h, w = image.shape[:2]
    img3 = image[:, :, None] if image.ndim == 2 else image
    channels = img3.shape[2]
    pad = _pad_for(longest)
    n_padded = (h + 2 * pad) * (w + 2 * pad) * _LANES
    flat = np.empty(n_padded + 1, np.float32)  # one float of slack: the kernel loads 4 lanes a pixel
    flat[n_padded] = 0.0
    padded = flat[:n_padded].reshape(h + 2 * pad, w + 2 * pad, _LANES)
    result = np.empty((h, w, channels), np.float32)
    direct = channels == _LANES  # the kernel writes straight into the result
    lanes_out = result if direct else np.empty((h, w, _LANES), np.float32)
    for c0 in range(0, channels, _LANES):
        _pad_into(img3, c0, pad, padded)
        _blur_kernel(flat, pad, field, lanes_out, nb.get_num_threads())
        if not direct:
            n = min(_LANES, channels - c0)
            result[:, :, c0:c0 + n] = lanes_out[:, :, :n]
    if image.dtype == np.uint8:
        result = np.clip(np.rint(result), 0, 255).astype(np.uint8)
    return result.reshape(image.shape)
