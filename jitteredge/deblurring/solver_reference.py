"""Plain NumPy Richardson-Lucy-TV: the formulation ``solver.rl_tv``'s fused kernels are tested against.

One whole-tile NumPy expression per step of the update (ratio, gradients, TV term, division), with
``apply_field`` and ``apply_field_adjoint`` as the operators: slower (temporaries, one thread between
the kernels), obvious, and the same numbers as the fused version to float32 rounding.
"""

from __future__ import annotations

import numpy as np

from jitteredge.deblurring.solver import _EPS_GRAD, _FLOOR, _MIN_DENOMINATOR, gradients, gradients_adjoint
from jitteredge.synth.adjoint import apply_field_adjoint
from jitteredge.synth.blur import apply_field

__all__ = ["rl_tv_reference"]


def rl_tv_reference(y: np.ndarray, field: np.ndarray, mask: np.ndarray, iterations: int, lam: float) -> np.ndarray:
    """``solver.rl_tv`` in NumPy: x <- x A^T(y / A x) / (A^T 1 - lam div(grad x / |grad x|)).

    Args:
        y: float32 (h, w, 3) observed linear light; field: float32 (h, w, 2) jitter field in pixels;
        mask: float32 (h, w, 3) data weight (0 where clipped); iterations: RL steps; lam: TV weight.

    Returns:
        float32 (h, w, 3) estimate.
    """
    x = np.maximum(y, _FLOOR)
    norm = apply_field_adjoint(np.ones_like(y), field)
    for _ in range(iterations):
        predicted = np.maximum(apply_field(x, field), _FLOOR)
        ratio = np.where(mask > 0, y / predicted, np.float32(1.0)).astype(np.float32)
        back = apply_field_adjoint(ratio, field)
        denominator = norm
        if lam > 0:
            gx, gy = gradients(x)
            length = np.sqrt(gx * gx + gy * gy + np.float32(_EPS_GRAD * _EPS_GRAD))
            denominator = norm + np.float32(lam) * gradients_adjoint(gx / length, gy / length)
        x = x * back / np.maximum(denominator, _MIN_DENOMINATOR)
    return x
