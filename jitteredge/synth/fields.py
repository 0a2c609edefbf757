"""Camera motion -> per-pixel jitter field M = M_Tx + M_Ty + M_Tz + M_Rz (patent claim 1, [0043]-[0064]).

A field is a float32 array of shape (H, W, 2) holding (U, V) in pixels: U along x (column index i),
V along y (row index j). The blur at a pixel is a straight segment of that direction and length.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields as dataclass_fields

import numpy as np
from numba import njit


@dataclass(frozen=True)
class JitterParams:
    """One camera motion, one attribute per patent symbol. Lengths in pixels, angles in radians."""

    t_tx: float = 0.0  # shift along x (px) at column i_tx
    r_tx: float = 0.0  # 'acceleration' along x: change of U per column (px/px)
    i_tx: float = 0.0  # column around which the x shift is ramped
    t_ty: float = 0.0  # shift along y (px) at row j_ty
    r_ty: float = 0.0  # change of V per row (px/px)
    j_ty: float = 0.0  # row around which the y shift is ramped
    t_tz: float = 0.0  # zoom strength: |M_Tz| = t_tz * d ** (1 + zeta)
    i_tz: float = 0.0  # zoom centre P_Tz, column
    j_tz: float = 0.0  # zoom centre P_Tz, row
    zeta: float = 0.5  # zoom exponent (Gong's code: 0.5, so |M_Tz| grows as d ** 1.5)
    omega: float = 0.0  # in-plane rotation angle (rad): |M_Rz| = 2 d tan(omega / 2)
    i_rz: float = 0.0  # rotation centre P_Rz, column
    j_rz: float = 0.0  # rotation centre P_Rz, row


@dataclass(frozen=True)
class JitterRanges:
    """Maxima of the uniform draws in [-max, +max] (Gong's released synthesis code)."""

    shift_px: float = 27.0  # x and y shift t
    ramp: float = 0.3  # relative ramp a: U runs from t(1 - a/2) to t(1 + a/2) across the image
    zoom: float = 5e-3  # t_tz
    centre_shift_px: float = 15.0  # zoom and rotation centres around the image centre
    rotation_rad: float = math.pi / 70  # omega
    zeta: float = 0.5  # not drawn


PRESETS: dict[str, JitterRanges] = {
    "strong": JitterRanges(),
    "mild": JitterRanges(shift_px=19.0, ramp=0.25, zoom=2e-3, centre_shift_px=5.0, rotation_rad=math.pi / 120),
}


def resolve_ranges(preset: str | JitterRanges) -> JitterRanges:
    """Look up a preset name ('strong', 'mild') or pass user ranges through."""
    if isinstance(preset, JitterRanges):
        return preset
    try:
        return PRESETS[preset]
    except KeyError:
        raise ValueError(f"unknown jitter preset {preset!r}; choose from {sorted(PRESETS)}") from None


def jitter_field(height: int, width: int, params: JitterParams) -> np.ndarray:
    """Evaluate M = M_Tx + M_Ty + M_Tz + M_Rz on an (height, width) grid.

    Returns:
        float32 (height, width, 2) array of (U, V) in pixels.
    """
    if height < 1 or width < 1:
        raise ValueError(f"field size must be positive, got {height}x{width}")
    p = params
    out = np.empty((height, width, 2), dtype=np.float32)
    _field_kernel(out, float(p.i_tx), float(p.r_tx), float(p.t_tx), float(p.j_ty), float(p.r_ty), float(p.t_ty),
                  float(p.i_tz), float(p.j_tz), float(p.t_tz), float(p.zeta), 2.0 * math.tan(p.omega / 2.0),
                  float(p.i_rz), float(p.j_rz))
    return out


@njit(inline="always")
def zoom_power(d, zeta):
    """d ** zeta for the zoom part M_Tz (d >= 0): sqrt for Gong's zeta = 0.5 (about 10x faster than
    pow), and 0 ** zeta = 0 for zeta > 0, 1 otherwise. Shared by the straight and curved kernels."""
    if zeta == 0.5:
        return math.sqrt(d)
    if d > 0.0:
        return d ** zeta
    return 0.0 if zeta > 0.0 else 1.0


@njit(cache=True, nogil=True)
def _field_kernel(out, i_tx, r_tx, t_tx, j_ty, r_ty, t_ty, i_tz, j_tz, t_tz, zeta, k_rot, i_rz, j_rz):
    """Write M into out (H, W, 2) float32, in float64 per pixel: one pass, no temporary planes."""
    for j in range(out.shape[0]):
        dj = j - j_tz
        for i in range(out.shape[1]):
            # M_Tx and M_Ty: ramped shifts.
            u = (i - i_tx) * r_tx + t_tx
            v = (j - j_ty) * r_ty + t_ty
            # M_Tz: radial, t d^zeta times the offset from P_Tz.
            di = i - i_tz
            d = math.sqrt(di * di + dj * dj)
            radial = t_tz * zoom_power(d, zeta)
            u += radial * di
            v += radial * dj
            # M_Rz: s (cos(theta - pi/2), sin(theta - pi/2)) with s = 2 d tan(omega/2) reduces to
            # 2 tan(omega/2) (dj, -di): perpendicular to the radius from P_Rz.
            out[j, i, 0] = u + k_rot * (j - j_rz)
            out[j, i, 1] = v - k_rot * (i - i_rz)


def random_params(height: int, width: int, rng: np.random.Generator, preset: str | JitterRanges = "strong") -> JitterParams:
    """Draw one camera motion from a preset's ranges, every parameter uniform in [-max, +max]."""
    r = resolve_ranges(preset)
    ci, cj = (width - 1) / 2.0, (height - 1) / 2.0

    def sym(m: float) -> float:
        return float(rng.uniform(-m, m))

    t_tx, t_ty = sym(r.shift_px), sym(r.shift_px)
    return JitterParams(
        t_tx=t_tx, r_tx=t_tx * sym(r.ramp) / width, i_tx=ci,
        t_ty=t_ty, r_ty=t_ty * sym(r.ramp) / height, j_ty=cj,
        t_tz=sym(r.zoom), i_tz=ci + sym(r.centre_shift_px), j_tz=cj + sym(r.centre_shift_px), zeta=r.zeta,
        omega=sym(r.rotation_rad), i_rz=ci + sym(r.centre_shift_px), j_rz=cj + sym(r.centre_shift_px),
    )


def random_field(height: int, width: int, rng: np.random.Generator, preset: str | JitterRanges = "strong") -> np.ndarray:
    """A random jitter field (float32 (H, W, 2), pixels); deterministic for a seeded ``rng``."""
    return jitter_field(height, width, random_params(height, width, rng, preset))


def params_to_dict(params: JitterParams) -> dict[str, float]:
    return {f.name: float(getattr(params, f.name)) for f in dataclass_fields(params)}
