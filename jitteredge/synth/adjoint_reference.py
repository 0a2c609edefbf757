"""Slow, obvious NumPy version of ``apply_field_adjoint``: the reference its kernel is tested against.

The transpose of ``blur_reference.apply_field_reference``: each pixel's segment is sampled by the
midpoint rule (``n`` points, the same for every pixel), and each sample adds y[p] / n times its four
bilinear weights to the pixels around it, folded back across the reflected borders
(``cv2.BORDER_REFLECT_101``). Its error against the exact adjoint falls as 1 / samples_per_px^2.
"""

from __future__ import annotations

import math

import numpy as np

from jitteredge.synth.blur_reference import _reflect101

__all__ = ["apply_field_adjoint_reference"]


def apply_field_adjoint_reference(image: np.ndarray, field: np.ndarray, samples_per_px: float = 16.0) -> np.ndarray:
    """Midpoint-rule scatter, same contract as ``jitteredge.synth.adjoint.apply_field_adjoint``.

    Args:
        image: float32 (H, W) or (H, W, C), H, W >= 2.
        field: (H, W, 2) jitter field (U, V) in pixels.
        samples_per_px: samples per pixel of the longest segment.

    Returns:
        float32 array of the image's shape.
    """
    y = np.asarray(image, dtype=np.float64)
    y3 = y[:, :, None] if y.ndim == 2 else y
    h, w, c = y3.shape
    u = field[..., 0].astype(np.float64)
    v = field[..., 1].astype(np.float64)
    n = max(1, math.ceil(samples_per_px * float(np.hypot(u, v).max())))
    rows, cols = np.mgrid[0:h, 0:w].astype(np.float64)
    acc = np.zeros((h * w, c), np.float64)
    share = y3.reshape(-1, c) / n
    for k in range(n):
        t = (k + 0.5) / n - 0.5
        x, yy = (cols + t * u).ravel(), (rows + t * v).ravel()
        x0, y0 = np.floor(x), np.floor(yy)
        fx, fy = (x - x0)[:, None], (yy - y0)[:, None]
        x0, y0 = x0.astype(np.int64), y0.astype(np.int64)
        for dy, wy in ((0, 1.0 - fy), (1, fy)):
            for dx, wx in ((0, 1.0 - fx), (1, fx)):
                target = _reflect101(y0 + dy, h) * w + _reflect101(x0 + dx, w)
                np.add.at(acc, target, share * wx * wy)
    return acc.reshape(np.shape(image)).astype(np.float32)
