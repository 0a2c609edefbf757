"""Slow, obvious NumPy version of ``apply_field``: the reference its kernel is tested and timed against.

The mean along each segment is taken by the midpoint rule: ``n`` bilinear samples at the centres of
``n`` equal parts of the segment, the same ``n`` for every pixel, ``n = ceil(samples_per_px *
longest |M|)``. The bilinear image along a segment is piecewise quadratic with kinks at the pixel
grid lines, so the error falls as 1 / samples_per_px^2: at the default 16 samples per pixel it is
below 1e-4 of the image's contrast. Borders are reflected as ``cv2.BORDER_REFLECT_101``.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["apply_field_reference", "bilinear_reflect101"]


def _reflect101(i: np.ndarray, n: int) -> np.ndarray:
    """Integer indices folded into [0, n) by reflection about the edge pixels (n >= 2)."""
    period = 2 * (n - 1)
    i = np.mod(i, period)
    return np.where(i >= n, period - i, i)


def bilinear_reflect101(img: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Bilinear samples of img (H, W, C) at float positions x (columns), y (rows) of any shape S.

    Returns:
        float64 array of shape S + (C,).
    """
    h, w = img.shape[:2]
    x0 = np.floor(x)
    y0 = np.floor(y)
    fx = (x - x0)[..., None]
    fy = (y - y0)[..., None]
    x0 = x0.astype(np.int64)
    y0 = y0.astype(np.int64)
    c0, c1 = _reflect101(x0, w), _reflect101(x0 + 1, w)
    r0, r1 = _reflect101(y0, h), _reflect101(y0 + 1, h)
    top = img[r0, c0] * (1.0 - fx) + img[r0, c1] * fx
    bottom = img[r1, c0] * (1.0 - fx) + img[r1, c1] * fx
    return top * (1.0 - fy) + bottom * fy


def apply_field_reference(image: np.ndarray, field: np.ndarray, samples_per_px: float = 16.0) -> np.ndarray:
    """Midpoint-rule line blur, same contract as ``jitteredge.synth.blur.apply_field``.

    Args:
        image: uint8 or float32 (H, W) or (H, W, C), H, W >= 2.
        field: (H, W, 2) jitter field (U, V) in pixels.
        samples_per_px: samples per pixel of the longest segment.

    Returns:
        Same shape and dtype as ``image`` (uint8 rounded and clipped).
    """
    img = np.asarray(image, dtype=np.float64)
    img3 = img[:, :, None] if img.ndim == 2 else img
    h, w = img3.shape[:2]
    u = field[..., 0].astype(np.float64)
    v = field[..., 1].astype(np.float64)
    n = max(1, math.ceil(samples_per_px * float(np.hypot(u, v).max())))
    rows, cols = np.mgrid[0:h, 0:w].astype(np.float64)
    acc = np.zeros(img3.shape, np.float64)
    for k in range(n):
        t = (k + 0.5) / n - 0.5  # centre of the k-th of n equal parts of [-1/2, 1/2]
        acc += bilinear_reflect101(img3, cols + t * u, rows + t * v)
    out = (acc / n).reshape(np.shape(image))
    if np.asarray(image).dtype == np.uint8:
        return np.clip(np.rint(out), 0, 255).astype(np.uint8)
    return out.astype(np.float32)
