"""Non-blind, spatially varying deconvolution of one linear-light tile with its jitter field.

The blur is ``apply_field`` (A: each pixel the mean of the sharp image along its segment) and its
exact adjoint ``apply_field_adjoint`` (A^T). Pixels clipped in the photo are left out of the data
term through a 0/1 weight M (Whyte et al. 2014: a clipped pixel says "at least this bright", not
"this bright", and fitting it rings).

* ``hyper_laplacian``: minimise 1/2 |M (A x - y)|^2 + lambda sum |grad x|^alpha with alpha < 1 (the
  heavy-tailed gradient prior of natural images, Levin et al. 2007, Krishnan & Fergus 2009).
  Krishnan & Fergus split it with an FFT for one uniform kernel; a per-pixel kernel has no FFT, so the
  prior is reweighted (IRLS: |t|^alpha ~ w t^2 with w = alpha (t^2 + eps^2)^(alpha/2 - 1) at the
  current x) and each weighted least-squares problem is solved by conjugate gradients on
  (A^T M A + lambda D^T W D) x = A^T M y, warm-started from the previous x.
* ``rl_tv``: Richardson-Lucy with total variation (Dey et al. 2006), the Poisson maximum-likelihood
  step x <- x A^T(y / A x) / (A^T 1 - lambda div(grad x / |grad x|)); clipped pixels get the neutral
  ratio 1.

Both count ``iterations`` in operator applications (one A and one A^T each), the cost that matters.
Both apply A and A^T through a ``TileOperator`` (buffers allocated once per tile); ``rl_tv`` also does
the rest of its iteration in parallel Numba kernels (``kernels``), the hyper-Laplacian's CG vector
updates stay in NumPy.
"""

from __future__ import annotations

import numpy as np

from jitteredge.deblurring import kernels
from jitteredge.deblurring.tile_operator import TileOperator

_EPS_GRAD = 0.01  # linear-light gradient below which the prior is quadratic (IRLS smoothing)
_EPS_GRAD2 = np.float32(_EPS_GRAD * _EPS_GRAD)
_FLOOR = np.float32(1e-4)  # Richardson-Lucy: smallest predicted value (keeps ratios finite)
_MIN_DENOMINATOR = np.float32(0.05)  # Richardson-Lucy-TV: smallest denominator (where the TV term outweighs A^T 1)


def gradients(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Forward differences along x (columns) and y (rows), zero on the last column / row."""
    gx = np.zeros_like(x)
    gy = np.zeros_like(x)
    np.subtract(x[:, 1:], x[:, :-1], out=gx[:, :-1])
    np.subtract(x[1:], x[:-1], out=gy[:-1])
    return gx, gy


def gradients_adjoint(px: np.ndarray, py: np.ndarray) -> np.ndarray:
    """D^T (px, py): the adjoint of ``gradients`` (minus the divergence)."""
    out = np.zeros_like(px)
    out[:, :-1] -= px[:, :-1]
    out[:, 1:] += px[:, :-1]
    out[:-1] -= py[:-1]
    out[1:] += py[:-1]
    return out


def _normal(v: np.ndarray, op: TileOperator, mask: np.ndarray, lam: float, wx: np.ndarray, wy: np.ndarray) -> np.ndarray:
    """(A^T M A + lam D^T W D) v."""
    blurred = op.blur(v)
    blurred *= mask
    out = op.adjoint(blurred)
    gx, gy = gradients(v)
    gx *= wx
    gy *= wy
    out += np.float32(lam) * gradients_adjoint(gx, gy)
    return out


def _irls_weights(x: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    gx, gy = gradients(x)
    e = np.float32(_EPS_GRAD * _EPS_GRAD)
    p = np.float32(alpha / 2.0 - 1.0)
    a = np.float32(alpha)
    return a * np.power(gx * gx + e, p), a * np.power(gy * gy + e, p)


def hyper_laplacian(y: np.ndarray, field: np.ndarray, mask: np.ndarray, iterations: int, lam: float,
                    alpha: float = 0.8, reweight_every: int = 6, step=None) -> np.ndarray:
    """Restore a linear tile by reweighted CG (see the module docstring).

    Args:
        y: float32 (h, w, 3) observed linear light.
        field: float32 (h, w, 2) jitter field in pixels.
        mask: float32 (h, w, 3) data weight (0 where clipped, else 1).
        iterations: CG steps in all; lam, alpha: prior weight and exponent; reweight_every: CG steps
            per weighting of the prior.
        step: called with no argument after each operator application (progress).

    Returns:
        float32 (h, w, 3) estimate (not clipped).
    """
    op = TileOperator(field)  # A and A^T with their buffers, for all the steps
    x = y.copy()
    rhs = op.adjoint(np.ascontiguousarray(y * mask))
    done = 0
    while done < iterations:
        np.maximum(x, 0.0, out=x)  # light is not negative: project between the CG cycles
        wx, wy = _irls_weights(x, alpha)
        r = rhs - _normal(x, op, mask, lam, wx, wy)
        p = r.copy()
        rr = float(np.vdot(r, r))
        for _ in range(min(reweight_every, iterations - done)):
            if rr <= 0.0:
                break
            q = _normal(p, op, mask, lam, wx, wy)
            pq = float(np.vdot(p, q))
            if pq <= 0.0:
                break
            a = np.float32(rr / pq)
            x += a * p
            r -= a * q
            rr_new = float(np.vdot(r, r))
            p *= np.float32(rr_new / rr)
            p += r
            rr = rr_new
            done += 1
            if step is not None:
                step()
        else:
            continue
        break  # converged (or broke down) before the budget
    return x


def rl_tv(y: np.ndarray, field: np.ndarray, mask: np.ndarray, iterations: int, lam: float, step=None) -> np.ndarray:
    """Restore a linear tile by Richardson-Lucy with total variation (see the module docstring);
    arguments as ``hyper_laplacian``.

    Every step runs in parallel Numba kernels on buffers allocated once (``kernels``,
    ``TileOperator``): the estimate lives in two padded buffers used in turn (the update reads the old
    one's neighbours), the ratio overwrites the prediction. Same numbers as the NumPy formulation
    ``solver_reference.rl_tv_reference``.
    """
    h, w = y.shape[:2]
    op = TileOperator(field)
    y = np.ascontiguousarray(y, dtype=np.float32)
    mask = np.ascontiguousarray(mask, dtype=np.float32)
    x_now, x_next = op.new_padded(), op.new_padded()
    op.set_padded(np.maximum(y, _FLOOR), x_now)
    norm = op.adjoint(np.ones_like(y))
    ratio = np.empty_like(y)
    back = np.empty_like(y)
    scratch = np.zeros((op.threads, 3, 3 * w + 3), np.float32)
    lam32 = np.float32(lam)
    for _ in range(iterations):
        op.blur_padded(x_now, ratio)
        kernels.rl_ratio(y, mask, ratio, _FLOOR, ratio)
        op.adjoint(ratio, back)
        kernels.rl_tv_update(x_now, h, w, op.pad, back, norm, lam32, _EPS_GRAD2, _MIN_DENOMINATOR, scratch, x_next)
        kernels.fill_border(x_next, h, w, op.pad)
        x_now, x_next = x_next, x_now
        if step is not None:
            step()
    return op.interior(x_now)
