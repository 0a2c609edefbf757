"""Curved camera paths: random-walk camera trajectories and the blur they make (Boracchi & Foi 2012).

Real shake is rarely a straight line. A trajectory here is a random walk with inertia of the camera
state (Tx, Ty, Tz, Rz) over K time steps, scaled to a preset's ranges. At time k the camera model of
``jitteredge.synth.fields.jitter_field`` gives every pixel its displacement D_k(p); pixel p of the
blurred image is the time average of the sharp image along its polyline p + D_k(p) - mean(D(p)),
traversed at constant speed within each step, sampled bilinearly with borders reflected about the
edge pixels (as ``apply_field``: cv2.BORDER_REFLECT_101).

Label. The network learns straight segments (U, V). A curved path is labelled per pixel by its
principal direction e1 (eigenvector of the largest eigenvalue lambda1 of the 2x2 covariance of the
path points) and the equivalent straight length L = sqrt(12 * lambda1), so (U, V) = L * e1, oriented
along the path's overall travel (end minus start). The covariance is that of the continuous
piecewise-linear path, so for a straight segment of length L traversed uniformly it is exactly
L^2 / 12 along the segment, and the label equals the straight field: a straight trajectory from
-M/2 to +M/2 is labelled M and blurred like ``apply_field`` with M.

Speed. D_k(p) is linear in (t_tx, t_ty, t_tz, 2 tan(omega / 2)) once the ramps and centres are fixed,
so D_k = sum_m c[k, m] B_m with four basis fields B_m = jitter_field(unit parameter m); the Numba kernel
evaluates them in closed form at each pixel, forms its polyline, and blurs and labels in one pass
(``CameraTrajectory.basis`` and ``path_label`` are the jitter_field-based references it is tested against).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from jitteredge.synth.fields import JitterParams, JitterRanges, jitter_field, resolve_ranges, zoom_power

try:  # the kernel decorators; NUMBA_DISABLE_JIT=1 makes them plain Python for coverage
    from numba import njit
except ImportError:  # pragma: no cover - numba is a dependency
    def njit(*args, **kwargs):
        return (lambda f: f) if not args or not callable(args[0]) else args[0]

# Serial kernels: a sample is small, and samples are made in parallel processes (DataLoader workers,
# ``jitteredge synth --workers``), where a threaded kernel would only oversubscribe the cores.
from jitteredge.synth.jit import SERIAL_KERNEL as _JIT  # noqa: E402 (the one set of Numba flags)

STATE_NAMES = ("t_tx", "t_ty", "t_tz", "omega")  # camera state per time step


@dataclass(frozen=True)
class TrajectoryConfig:
    """Random walk with inertia (after Boracchi & Foi 2012, 'Modeling the performance of image
    restoration from motion blur'), in normalised state units; every draw is per trajectory."""

    steps: int = 12  # K time steps (polyline vertices per pixel; cost grows with K)
    anxiety_max: float = 0.3  # how nervous the hand is: scales the random and the restoring terms
    gaussian_max: float = 3.0  # size of the random velocity kicks (times anxiety)
    centripetal_max: float = 0.7  # pull back towards the start (times anxiety): keeps paths compact
    big_shake_max: float = 0.2  # chance per step (times anxiety) of an abrupt turn-around
    samples_per_px: float = 1.0  # blur samples per pixel along the fastest segment (equal time steps)
    pause_prob: float = 0.0  # chance per step that the hand holds still (the blur piles up at one point)
    jerk_prob: float = 0.0  # chance per step of a jerk: that step is 2-5 times faster than the others


@dataclass(frozen=True)
class CameraTrajectory:
    """A camera trajectory: K states plus the fixed ramps and centres of the camera model.

    ``states`` is float64 (K, 4) of (t_tx px, t_ty px, t_tz, omega rad) per time step, with the
    meaning of the ``JitterParams`` attributes of the same names. Ramps are relative (as
    ``JitterRanges.ramp``): r_tx = t_tx * ramp_x / width at time k.
    """

    states: np.ndarray
    ramp_x: float = 0.0
    ramp_y: float = 0.0
    i_tz: float = 0.0
    j_tz: float = 0.0
    i_rz: float = 0.0
    j_rz: float = 0.0
    zeta: float = 0.5

    @property
    def steps(self) -> int:
        return int(self.states.shape[0])

    def params(self, k: int, height: int, width: int) -> JitterParams:
        """The camera displacement at time step k as JitterParams (jitter_field of it is D_k)."""
        t_tx, t_ty, t_tz, omega = (float(v) for v in self.states[k])
        ci, cj = (width - 1) / 2.0, (height - 1) / 2.0
        return JitterParams(t_tx=t_tx, r_tx=t_tx * self.ramp_x / width, i_tx=ci,
                            t_ty=t_ty, r_ty=t_ty * self.ramp_y / height, j_ty=cj,
                            t_tz=t_tz, i_tz=self.i_tz, j_tz=self.j_tz, zeta=self.zeta,
                            omega=omega, i_rz=self.i_rz, j_rz=self.j_rz)

    def displacements(self, height: int, width: int) -> np.ndarray:
        """D_k(p) for every step: float32 (K, H, W, 2) in pixels (jitter_field per step; slow, for checks)."""
        return np.stack([jitter_field(height, width, self.params(k, height, width)) for k in range(self.steps)])

    def coefficients(self) -> np.ndarray:
        """float32 (K, 4): weights of the basis fields per step (t_tx, t_ty, t_tz, 2 tan(omega / 2))."""
        c = np.array(self.states, dtype=np.float64, copy=True)
        c[:, 3] = 2.0 * np.tan(c[:, 3] / 2.0)
        return c.astype(np.float32)

    def basis(self, height: int, width: int) -> np.ndarray:
        """float32 (4, H, W, 2): the fields of a unit of each coefficient (see ``coefficients``)."""
        ci, cj = (width - 1) / 2.0, (height - 1) / 2.0
        unit_omega = 2.0 * math.atan(0.5)  # 2 tan(omega / 2) = 1
        units = (
            JitterParams(t_tx=1.0, r_tx=self.ramp_x / width, i_tx=ci),
            JitterParams(t_ty=1.0, r_ty=self.ramp_y / height, j_ty=cj),
            JitterParams(t_tz=1.0, i_tz=self.i_tz, j_tz=self.j_tz, zeta=self.zeta),
            JitterParams(omega=unit_omega, i_rz=self.i_rz, j_rz=self.j_rz),
        )
        return np.stack([jitter_field(height, width, p) for p in units])

    def geometry(self, height: int, width: int) -> np.ndarray:
        """float64 (9,): (ramp_x / W, ci, ramp_y / H, cj, i_tz, j_tz, zeta, i_rz, j_rz) for the kernel."""
        return np.array([self.ramp_x / width, (width - 1) / 2.0, self.ramp_y / height, (height - 1) / 2.0,
                         self.i_tz, self.j_tz, self.zeta, self.i_rz, self.j_rz], dtype=np.float64)

    def basis_bounds(self, height: int, width: int) -> np.ndarray:
        """float64 (4,): an upper bound of max |component| of each basis field over the image."""
        ci, cj = (width - 1) / 2.0, (height - 1) / 2.0
        xs = np.array([0.0, width - 1.0])
        ys = np.array([0.0, height - 1.0])
        tz = max(math.hypot(x - self.i_tz, y - self.j_tz) ** (1.0 + self.zeta) for x in xs for y in ys)
        rz = max(abs(ys - self.j_rz).max(), abs(xs - self.i_rz).max())
        return np.array([1.0 + abs(self.ramp_x) * max(abs(xs - ci)) / width,
                         1.0 + abs(self.ramp_y) * max(abs(ys - cj)) / height, tz, rz])

    def to_dict(self) -> dict:
        return {"states": np.asarray(self.states).round(6).tolist(), "ramp_x": self.ramp_x, "ramp_y": self.ramp_y,
                "i_tz": self.i_tz, "j_tz": self.j_tz, "i_rz": self.i_rz, "j_rz": self.j_rz, "zeta": self.zeta}


def straight_trajectory(params: JitterParams, height: int, width: int, steps: int = 2) -> CameraTrajectory:
    """The trajectory that moves uniformly from -M/2 to +M/2 for the straight field M = jitter_field(params).

    Only the linear parts are exact (rotation enters through 2 tan(omega / 2)); ramps are taken from
    ``params`` relative to the image centre, as ``random_params`` makes them.
    """
    s = np.linspace(-0.5, 0.5, max(2, int(steps)))[:, None]
    k_half = np.array([params.t_tx, params.t_ty, params.t_tz, 2.0 * math.tan(params.omega / 2.0)])
    coef = s * k_half[None, :]
    states = coef.copy()
    states[:, 3] = 2.0 * np.arctan(coef[:, 3] / 2.0)
    ci, cj = (width - 1) / 2.0, (height - 1) / 2.0
    # field U = t_tx + r_tx (i - i_tx); with i_tx = ci this is t_tx (1 + ramp_x (i - ci) / width)
    if not (abs(params.i_tx - ci) < 1e-9 or params.r_tx == 0.0) or not (abs(params.j_ty - cj) < 1e-9 or params.r_ty == 0.0):
        raise ValueError("straight_trajectory needs ramps centred on the image (as random_params draws them)")
    ramp_x = params.r_tx * width / params.t_tx if params.t_tx else 0.0
    ramp_y = params.r_ty * height / params.t_ty if params.t_ty else 0.0
    return CameraTrajectory(states=states, ramp_x=ramp_x, ramp_y=ramp_y, i_tz=params.i_tz, j_tz=params.j_tz,
                            i_rz=params.i_rz, j_rz=params.j_rz, zeta=params.zeta)


def random_walk(rng: np.random.Generator, config: TrajectoryConfig = TrajectoryConfig(), dims: int = 4) -> np.ndarray:
    """A random walk with inertia, float64 (K, dims), starting at 0, each dimension's extent normalised to 1.

    As Boracchi & Foi: the velocity keeps its speed, and each step adds a Gaussian kick and a pull
    back towards the start (both times the hand's anxiety), and now and then an abrupt turn-around.
    """
    k = max(2, int(config.steps))
    anxiety = rng.uniform(0.0, config.anxiety_max)
    gaussian = rng.uniform(0.0, config.gaussian_max)
    centripetal = rng.uniform(0.0, config.centripetal_max)
    big_shake = rng.uniform(0.0, config.big_shake_max)
    speed = 1.0 / (k - 1)
    v = rng.standard_normal(dims)
    v *= speed / max(np.linalg.norm(v), 1e-12)
    x = np.zeros((k, dims))
    for t in range(k - 1):
        turn = np.zeros(dims)
        if rng.uniform() < big_shake * anxiety:  # abrupt turn: reverse, slightly off-axis
            turn = -2.0 * v + 0.5 * speed * rng.standard_normal(dims)
        dv = turn + anxiety * (gaussian * rng.standard_normal(dims) - centripetal * x[t]) * speed
        v = v + dv
        v *= speed / max(np.linalg.norm(v), 1e-12)
        step = v
        # drawn only when enabled, so that a config without them keeps its random stream
        if config.pause_prob > 0 and rng.uniform() < config.pause_prob:
            step = 0.05 * v
        elif config.jerk_prob > 0 and rng.uniform() < config.jerk_prob:
            step = rng.uniform(2.0, 5.0) * v
        x[t + 1] = x[t] + step
    extent = x.max(axis=0) - x.min(axis=0)
    return x / np.where(extent > 0, extent, 1.0)


def random_trajectory(height: int, width: int, rng: np.random.Generator, preset: str | JitterRanges = "strong",
                      config: TrajectoryConfig = TrajectoryConfig(), scale: float = 1.0) -> CameraTrajectory:
    """A random curved camera trajectory sized like the preset's straight fields.

    The (Tx, Ty) walk keeps its shape; its larger extent is drawn uniform in [0, shift_px], as the
    straight field's shift per axis. Zoom and rotation extents are drawn in [0, zoom] and
    [0, rotation_rad]. Ramps and centres are drawn as ``random_params`` draws them. Everything is
    then multiplied by ``scale`` (the per-sample blur scale).
    """
    r = resolve_ranges(preset)
    walk = random_walk(rng, config, dims=4)
    walk -= walk.mean(axis=0)
    xy = walk[:, :2]
    xy_extent = float((xy.max(axis=0) - xy.min(axis=0)).max())
    states = np.empty_like(walk)
    states[:, :2] = xy * (rng.uniform(0.0, r.shift_px) / max(xy_extent, 1e-12))
    states[:, 2] = walk[:, 2] * rng.uniform(0.0, r.zoom)
    states[:, 3] = walk[:, 3] * rng.uniform(0.0, r.rotation_rad)
    states *= float(scale)
    ci, cj = (width - 1) / 2.0, (height - 1) / 2.0

    def sym(m: float) -> float:
        return float(rng.uniform(-m, m))

    return CameraTrajectory(states=states, ramp_x=sym(r.ramp), ramp_y=sym(r.ramp),
                            i_tz=ci + sym(r.centre_shift_px), j_tz=cj + sym(r.centre_shift_px),
                            i_rz=ci + sym(r.centre_shift_px), j_rz=cj + sym(r.centre_shift_px), zeta=r.zeta)


# ----------------------------------------------------------------------------- kernels

@njit(**_JIT)
def _path_blur_kernel(padded, pad, geometry, coef, coef_mean, coef_cov, samples_per_px, out, label):
    """Blur along per-pixel polylines and label them (see the module docstring). No validation.

    padded: (H + 2 pad, W + 2 pad, 3) f32 C-contiguous, borders reflected, wide enough for every path.
    geometry: f64 (9,) = (ramp_x / W, ci, ramp_y / H, cj, i_tz, j_tz, zeta, i_rz, j_rz).
    coef: (K, 4) f64 basis weights per step (t_tx, t_ty, t_tz, 2 tan(omega / 2)).
    coef_mean, coef_cov: (4,), (4, 4) f64 mean and covariance of the continuous coefficient path
        (``_path_moments``): the pixel's path mean and covariance are linear maps of them.
    out: (H, W, 3) f32; label: (H, W, 2) f32.

    The four basis fields are evaluated in closed form at each pixel (they are jitter_field of the
    unit parameters: CameraTrajectory.basis), giving vertex k: D_k(p) = sum_m coef[k, m] B_m(p).
    The time average is sampled at N equal steps of time, N = ceil(longest segment's max(|dx|, |dy|)
    * (K - 1) * samples_per_px): at most 1 / samples_per_px px apart on every segment, and no
    per-segment minimum, so a short path costs a few samples whatever K is.
    """
    h, w = label.shape[0], label.shape[1]
    row = padded.shape[1] * 3  # flat stride of one padded row
    flat = padded.reshape(-1)
    k_steps = coef.shape[0]
    rx, ci, ry, cj, i_tz, j_tz, zeta, i_rz, j_rz = (geometry[0], geometry[1], geometry[2], geometry[3],
                                                     geometry[4], geometry[5], geometry[6], geometry[7], geometry[8])
    px = np.empty(k_steps, np.float64)
    py = np.empty(k_steps, np.float64)
    for y in range(h):
        for x in range(w):
            # basis fields at (x, y)
            b0u = 1.0 + rx * (x - ci)
            b1v = 1.0 + ry * (y - cj)
            di = x - i_tz
            dj = y - j_tz
            d = math.sqrt(di * di + dj * dj)
            radial = zoom_power(d, zeta)
            b2u = radial * di
            b2v = radial * dj
            b3u = y - j_rz
            b3v = i_rz - x
            longest = 0.0
            for k in range(k_steps):
                px[k] = coef[k, 0] * b0u + coef[k, 2] * b2u + coef[k, 3] * b3u
                py[k] = coef[k, 1] * b1v + coef[k, 2] * b2v + coef[k, 3] * b3v
                if k > 0:
                    longest = max(longest, abs(px[k] - px[k - 1]), abs(py[k] - py[k - 1]))
            # mean and covariance of the continuous path: linear maps of the coefficient path's moments
            # (u = a . bu, v = a . bv with bu = (b0u, 0, b2u, b3u), bv = (0, b1v, b2v, b3v))
            mx = coef_mean[0] * b0u + coef_mean[2] * b2u + coef_mean[3] * b3u
            my = coef_mean[1] * b1v + coef_mean[2] * b2v + coef_mean[3] * b3v
            cxx = (b0u * (coef_cov[0, 0] * b0u + 2.0 * (coef_cov[0, 2] * b2u + coef_cov[0, 3] * b3u))
                   + b2u * (coef_cov[2, 2] * b2u + 2.0 * coef_cov[2, 3] * b3u) + coef_cov[3, 3] * b3u * b3u)
            cyy = (b1v * (coef_cov[1, 1] * b1v + 2.0 * (coef_cov[1, 2] * b2v + coef_cov[1, 3] * b3v))
                   + b2v * (coef_cov[2, 2] * b2v + 2.0 * coef_cov[2, 3] * b3v) + coef_cov[3, 3] * b3v * b3v)
            cxy = (b0u * (coef_cov[0, 1] * b1v + coef_cov[0, 2] * b2v + coef_cov[0, 3] * b3v)
                   + b2u * (coef_cov[2, 1] * b1v + coef_cov[2, 2] * b2v + coef_cov[2, 3] * b3v)
                   + b3u * (coef_cov[3, 1] * b1v + coef_cov[3, 2] * b2v + coef_cov[3, 3] * b3v))
            half_tr = 0.5 * (cxx + cyy)
            disc = math.sqrt(max(0.0, 0.25 * (cxx - cyy) * (cxx - cyy) + cxy * cxy))
            lam1 = max(0.0, half_tr + disc)
            if cxx >= cyy:
                ex = lam1 - cyy
                ey = cxy
            else:
                ex = cxy
                ey = lam1 - cxx
            norm = math.sqrt(ex * ex + ey * ey)
            if norm > 0.0:
                ex /= norm
                ey /= norm
            else:
                ex = 1.0
                ey = 0.0
            travel = ex * (px[k_steps - 1] - px[0]) + ey * (py[k_steps - 1] - py[0])
            if travel < 0.0 or (travel == 0.0 and (ex < 0.0 or (ex == 0.0 and ey < 0.0))):
                ex = -ex
                ey = -ey
            length = math.sqrt(12.0 * lam1)
            label[y, x, 0] = length * ex
            label[y, x, 1] = length * ey

            # blur: time average of the (padded) image along the centred path, N equal time steps
            n = int(math.ceil(longest * (k_steps - 1) * samples_per_px))
            if n < 1:
                n = 1
            dt = (k_steps - 1) / n
            ox = x + pad - mx
            oy = y + pad - my
            s0 = np.float32(0.0)
            s1 = np.float32(0.0)
            s2 = np.float32(0.0)
            for q in range(n):
                t = (q + 0.5) * dt
                k = int(t)
                f = t - k
                sx = ox + px[k] + f * (px[k + 1] - px[k])
                sy = oy + py[k] + f * (py[k + 1] - py[k])
                xf = math.floor(sx)
                yf = math.floor(sy)
                fx = np.float32(sx - xf)
                fy = np.float32(sy - yf)
                w11 = fx * fy
                w10 = fx - w11
                w01 = fy - w11
                w00 = np.float32(1.0) - fx - w01
                i00 = np.uint64(int(yf) * row + int(xf) * 3)  # unsigned: no wraparound checks
                i01 = i00 + np.uint64(3)
                i10 = i00 + np.uint64(row)
                i11 = i10 + np.uint64(3)
                s0 += w00 * flat[i00] + w10 * flat[i01] + w01 * flat[i10] + w11 * flat[i11]
                s1 += (w00 * flat[i00 + np.uint64(1)] + w10 * flat[i01 + np.uint64(1)]
                       + w01 * flat[i10 + np.uint64(1)] + w11 * flat[i11 + np.uint64(1)])
                s2 += (w00 * flat[i00 + np.uint64(2)] + w10 * flat[i01 + np.uint64(2)]
                       + w01 * flat[i10 + np.uint64(2)] + w11 * flat[i11 + np.uint64(2)])
            inv = np.float32(1.0 / n)
            out[y, x, 0] = s0 * inv
            out[y, x, 1] = s1 * inv
            out[y, x, 2] = s2 * inv


def _path_moments(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (D,) and covariance (D, D) of the piecewise-linear path through ``points`` (K, D),
    traversed in equal time per segment: per segment a -> b, E[x] = (a + b) / 2 and
    E[x x^T] = (a a^T + b b^T) / 3 + (a b^T + b a^T) / 6. A uniform segment of length L has variance L^2 / 12."""
    a, b = points[:-1].astype(np.float64), points[1:].astype(np.float64)
    mean = 0.5 * (a + b).mean(axis=0)
    second = (np.einsum("ki,kj->ij", a, a) + np.einsum("ki,kj->ij", b, b)) / 3.0
    cross = np.einsum("ki,kj->ij", a, b)
    second = (second + (cross + cross.T) / 6.0) / len(a)
    return mean, second - np.outer(mean, mean)


def _reflect_pad(image: np.ndarray, pad: int) -> np.ndarray:
    """(H, W, C) float32 -> (H + 2 pad, W + 2 pad, C), reflected about the edge pixels (BORDER_REFLECT_101)."""
    h, w = image.shape[:2]
    if pad < min(h, w):
        return cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REFLECT_101).reshape(h + 2 * pad, w + 2 * pad, -1)
    if min(h, w) == 1:
        return np.pad(image, ((pad, pad), (pad, pad), (0, 0)), mode="edge")
    return np.pad(image, ((pad, pad), (pad, pad), (0, 0)), mode="reflect")  # numpy folds repeatedly


_LANES = 3  # channels per kernel pass


def apply_trajectory(image: np.ndarray, trajectory: CameraTrajectory,
                     samples_per_px: float = TrajectoryConfig.samples_per_px) -> tuple[np.ndarray, np.ndarray]:
    """Blur an image along a camera trajectory and label it.

    Args:
        image: float32 or uint8, (H, W) or (H, W, C). Blur in linear light for realism.
        trajectory: K >= 2 steps.
        samples_per_px: blur samples per pixel along the fastest segment (samples are equal time steps).

    Returns:
        (blurred image of the same shape and dtype (uint8 is rounded), label float32 (H, W, 2):
        per-pixel equivalent straight field (U, V) in pixels, see the module docstring).
    """
    if image.ndim not in (2, 3):
        raise ValueError(f"image must be (H, W) or (H, W, C), got shape {image.shape}")
    if trajectory.steps < 2:
        raise ValueError("a trajectory needs at least 2 time steps")
    if not samples_per_px > 0:
        raise ValueError(f"samples_per_px must be positive, got {samples_per_px}")
    h, w = image.shape[:2]
    src = image.astype(np.float32, copy=False)
    src = src if src.ndim == 3 else src[..., None]
    channels = src.shape[2]
    coef = np.ascontiguousarray(trajectory.coefficients(), dtype=np.float64)
    geometry = trajectory.geometry(h, w)
    coef_mean, coef_cov = _path_moments(coef)
    # every vertex is within max|D| of its pixel, and so is the path mean: 2 max|D| plus the bilinear
    # neighbour. max|B_m| over the image is reached at a corner (the fields are monotone in each axis).
    reach = float(np.abs(coef).max(axis=0) @ trajectory.basis_bounds(h, w))
    if not math.isfinite(reach) or reach > 8.0 * max(h, w) + 64.0:
        raise ValueError(f"trajectory reaches {reach:.0f} px, far beyond the {w}x{h} image")
    pad = int(math.ceil(2.0 * reach)) + 2
    label = np.empty((h, w, 2), np.float32)
    out = np.empty((h, w, channels), np.float32)
    lanes = np.empty((h, w, _LANES), np.float32)
    for c0 in range(0, channels, _LANES):
        n = min(_LANES, channels - c0)
        group = src[..., c0: c0 + n]
        if n < _LANES:
            group = np.concatenate([group, np.zeros((h, w, _LANES - n), np.float32)], axis=2)
        padded = np.ascontiguousarray(_reflect_pad(np.ascontiguousarray(group), pad))
        _path_blur_kernel(padded, pad, geometry, coef, coef_mean, coef_cov, np.float64(samples_per_px), lanes, label)
        out[..., c0: c0 + n] = lanes[..., :n]
    out = out.reshape(image.shape)
    if image.dtype == np.uint8:
        out = np.clip(np.rint(out), 0, 255).astype(np.uint8)
    return out, label


def path_label(trajectory: CameraTrajectory, height: int, width: int) -> np.ndarray:
    """The per-pixel label alone, float32 (H, W, 2), computed in NumPy from ``displacements``.

    Slow reference of the kernel's label (principal direction times sqrt(12 lambda1) of the
    continuous path's covariance, oriented along end minus start).
    """
    d = trajectory.displacements(height, width).astype(np.float64)  # (K, H, W, 2)
    a, b = d[:-1], d[1:]
    mean = 0.5 * (a + b).mean(axis=0)
    second = ((a[..., :, None] * a[..., None, :] + b[..., :, None] * b[..., None, :]) / 3.0
              + (a[..., :, None] * b[..., None, :] + b[..., :, None] * a[..., None, :]) / 6.0).mean(axis=0)
    cov = second - mean[..., :, None] * mean[..., None, :]
    vals, vecs = np.linalg.eigh(cov)
    e1 = vecs[..., :, 1]
    travel = np.sum(e1 * (d[-1] - d[0]), axis=-1)
    e1 = np.where((travel < 0)[..., None], -e1, e1)
    return (np.sqrt(12.0 * np.maximum(vals[..., 1], 0.0))[..., None] * e1).astype(np.float32)
