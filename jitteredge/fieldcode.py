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
    """(..., 2) code -> (..., 2) float32 field (U, V) in pixels with U >= 0."""
    a = code[..., 0].astype(np.float64) * code_scale_px
    b = code[..., 1].astype(np.float64) * code_scale_px
    r = np.hypot(a, b)
    phi = 0.5 * np.arctan2(b, a)  # in (-pi/2, pi/2], so cos(phi) >= 0
    out = np.empty(code.shape, dtype=np.float32)
    out[..., 0] = r * np.cos(phi)
    out[..., 1] = r * np.sin(phi)
    return out


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
