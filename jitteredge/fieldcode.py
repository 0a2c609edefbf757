"""Sign-invariant encoding of jitter fields, and the metrics that respect the sign ambiguity.

(U, V) and (-U, -V) blur an image the same way (METHOD.md section 1), so the network cannot and
should not tell them apart. It predicts the doubled-angle code

    c = (|M| cos 2phi, |M| sin 2phi) / code_scale_px = ((U^2 - V^2) / |M|, 2 U V / |M|) / code_scale_px

which is the same for M and -M, continuous everywhere (it goes to 0 with |M|) and keeps the length:
|c| * code_scale_px = |M|. Decoding picks the representative with U >= 0, as Gong's labels do.
"""

from __future__ import annotations

import numpy as np

CODE_SCALE_PX = 8.0  # network outputs are the code divided by this, so they stay near unit range


def encode_field(field: np.ndarray, code_scale_px: float = CODE_SCALE_PX) -> np.ndarray:
    """(..., 2) field (U, V) in pixels -> (..., 2) float32 doubled-angle code."""
    u = field[..., 0].astype(np.float64)
    v = field[..., 1].astype(np.float64)
    r = np.hypot(u, v)
    safe = np.where(r > 0, r, 1.0)
    out = np.empty(field.shape, dtype=np.float32)
    out[..., 0] = (u * u - v * v) / safe / code_scale_px
    out[..., 1] = 2.0 * u * v / safe / code_scale_px
    return out


def decode_field(code: np.ndarray, code_scale_px: float = CODE_SCALE_PX) -> np.ndarray:
    """(..., 2) code -> (..., 2) float32 field (U, V) in pixels with U >= 0.

    Half-angle formulas instead of arctan2 and cos/sin, in float32 and in place, because analyze
    decodes at the photo's full size (a 12 MP field: under 1 s instead of 2 s). With
    (a, b) = r (cos 2phi, sin 2phi) and phi in (-pi/2, pi/2], the larger of cos(phi), |sin(phi)|
    is a square root of (1 + |cos 2phi|) / 2, free of cancellation; the other follows from
    |sin 2phi| = 2 |sin phi| cos phi. Agrees with the arctan2 form to float32 rounding.
    """
    import cv2

    if code.size == 0:
        return np.zeros(code.shape, np.float32)
    scale = np.float32(code_scale_px)
    a = np.ascontiguousarray(code[..., 0], dtype=np.float32).reshape(-1)
    b = np.ascontiguousarray(code[..., 1], dtype=np.float32).reshape(-1)
    r = np.hypot(a, b)  # not cv2.magnitude: its SIMD body and scalar tail round differently
    r *= scale
    safe_r = np.maximum(r, np.float32(1e-30))  # r = 0 decodes to (0, 0) either way
    big = np.abs(a) * scale
    big += safe_r
    big /= safe_r
    big *= np.float32(0.5)
    np.sqrt(big, out=big)  # cos(phi) where a >= 0, else |sin(phi)|: >= 1/sqrt(2)
    small = np.abs(b) * scale
    small /= safe_r
    small /= big
    small *= np.float32(0.5)  # the other one
    horizontal = a >= 0  # |phi| <= pi/4
    cos_phi = np.where(horizontal, big, small)
    sin_phi = np.where(horizontal, small, big)
    np.copysign(sin_phi, b, out=sin_phi)  # b = -0.0 gives phi = -pi/2, as arctan2 does
    cos_phi *= r
    sin_phi *= r
    return cv2.merge([cos_phi, sin_phi]).reshape(code.shape)


def endpoint_error(pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Per-pixel sign-invariant endpoint error min(|p - f|, |p + f|) (METHOD.md section 1), pixels."""
    pred = pred.astype(np.float64)
    truth = truth.astype(np.float64)
    minus = np.linalg.norm(pred - truth, axis=-1)
    plus = np.linalg.norm(pred + truth, axis=-1)
    return np.minimum(minus, plus)


def gong_mse(pred: np.ndarray, truth: np.ndarray) -> float:
    """Gong-style mean squared error after folding both fields to U >= 0 (pixels^2)."""
    return float(np.mean(np.sum((fold_sign(pred) - fold_sign(truth)) ** 2, axis=-1)))


def fold_sign(field: np.ndarray) -> np.ndarray:
    """Flip vectors with U < 0 (or U == 0 and V < 0) so every vector has U >= 0, as Gong's labels."""
    flip = (field[..., 0] < 0) | ((field[..., 0] == 0) & (field[..., 1] < 0))
    return np.where(flip[..., None], -field, field)


def magnitude(field: np.ndarray) -> np.ndarray:
    return np.hypot(field[..., 0], field[..., 1])
