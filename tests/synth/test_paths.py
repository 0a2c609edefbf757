import math

import numpy as np
import pytest

from jitteredge.synth.fields import JitterParams, jitter_field, random_params
from jitteredge.synth.paths import (CameraTrajectory, TrajectoryConfig, apply_trajectory, path_label, random_trajectory,
                                    random_walk, straight_trajectory)


def _reflect(i: int, n: int) -> int:
    """Reflection about the edge pixels (cv2.BORDER_REFLECT_101)."""
    while i < 0 or i >= n:
        i = -i if i < 0 else 2 * (n - 1) - i
    return i


def naive_path_blur(img: np.ndarray, traj: CameraTrajectory, samples_per_px: float = 1.0) -> np.ndarray:
    """Obvious per-pixel loop: the mean of the image at N equal time steps along p + D(t) - mean(D),
    displacements from jitter_field, N = ceil(longest segment step (max |dx|, |dy|) * (K - 1) * spp)."""
    h, w, c = img.shape
    d = traj.displacements(h, w).astype(np.float64)
    k = d.shape[0]
    out = np.zeros((h, w, c))
    for y in range(h):
        for x in range(w):
            pts = d[:, y, x]
            mean = 0.5 * (pts[:-1] + pts[1:]).mean(axis=0)
            n = max(1, math.ceil(np.abs(np.diff(pts, axis=0)).max() * (k - 1) * samples_per_px))
            for q in range(n):
                t = (q + 0.5) * (k - 1) / n
                s = int(t)
                sx, sy = np.array([x, y]) + pts[s] + (t - s) * (pts[s + 1] - pts[s]) - mean
                x0, y0 = math.floor(sx), math.floor(sy)
                fx, fy = sx - x0, sy - y0
                for yy, xx, wgt in ((y0, x0, (1 - fx) * (1 - fy)), (y0, x0 + 1, fx * (1 - fy)),
                                    (y0 + 1, x0, (1 - fx) * fy), (y0 + 1, x0 + 1, fx * fy)):
                    out[y, x] += wgt / n * img[_reflect(yy, h), _reflect(xx, w)]
    return out


@pytest.fixture
def rng():
    return np.random.default_rng(11)


def test_basis_reproduces_jitter_field_per_step(rng):
    traj = random_trajectory(20, 24, rng)
    d = traj.displacements(20, 24)
    recon = np.einsum("km,mhwc->khwc", traj.coefficients().astype(np.float64), traj.basis(20, 24).astype(np.float64))
    np.testing.assert_allclose(recon, d, atol=1e-4)


def test_straight_trajectory_gets_the_straight_label(rng):
    h, w = 24, 30
    params = random_params(h, w, rng, "strong")
    field = jitter_field(h, w, params)
    for steps in (2, 7):
        traj = straight_trajectory(params, h, w, steps=steps)
        _, label = apply_trajectory(np.zeros((h, w, 3), np.float32), traj)
        np.testing.assert_allclose(label, field, atol=1e-3 * np.abs(field).max())
    np.testing.assert_allclose(path_label(straight_trajectory(params, h, w, 4), h, w), field, atol=1e-3 * np.abs(field).max())


def test_straight_trajectory_blurs_like_apply_field(rng):
    blur = pytest.importorskip("jitteredge.synth.blur")
    h, w = 40, 48
    img = np.zeros((h, w, 3), np.float32)
    img[::6] = 1.0  # stripes and a square: structure at every orientation
    img[10:25, 15:30, 1] = 0.7
    params = JitterParams(t_tx=5.0, t_ty=-3.0, omega=0.02, i_rz=20.0, j_rz=25.0)
    ours, label = apply_trajectory(img, straight_trajectory(params, h, w, steps=5))
    theirs = blur.apply_field(img, jitter_field(h, w, params))
    inner = (slice(8, -8), slice(8, -8))
    assert np.abs(ours[inner] - theirs[inner]).mean() < 0.02
    assert np.abs(ours[inner] - img[inner]).mean() > 0.1  # it did blur


def test_kernel_matches_naive_reference(rng):
    img = rng.uniform(size=(9, 11, 2)).astype(np.float32)
    traj = random_trajectory(9, 11, rng, "strong", TrajectoryConfig(steps=5), scale=0.3)
    out, label = apply_trajectory(img, traj)
    np.testing.assert_allclose(out, naive_path_blur(img, traj), atol=1e-4)
    np.testing.assert_allclose(label, path_label(traj, 9, 11), atol=1e-3)


def test_zero_trajectory_is_identity(rng):
    img = rng.uniform(size=(10, 12, 3)).astype(np.float32)
    traj = CameraTrajectory(states=np.zeros((6, 4)))
    out, label = apply_trajectory(img, traj)
    np.testing.assert_allclose(out, img, atol=1e-6)
    assert not label.any()


def test_label_length_is_exact_for_a_segment_and_shorter_for_a_curve():
    # pure x shift of 10 px traversed uniformly: sqrt(12 * var) = 10
    line = CameraTrajectory(states=np.array([[-5.0, 0, 0, 0], [0.0, 0, 0, 0], [5.0, 0, 0, 0]]))
    _, label = apply_trajectory(np.zeros((8, 8), np.float32), line)
    np.testing.assert_allclose(label[..., 0], 10.0, rtol=1e-5)
    np.testing.assert_allclose(label[..., 1], 0.0, atol=1e-5)
    # an L-shaped path: principal direction between the legs, length below the path length 20
    corner = CameraTrajectory(states=np.array([[0.0, 0, 0, 0], [10.0, 0, 0, 0], [10.0, 10.0, 0, 0]]))
    _, label = apply_trajectory(np.zeros((8, 8), np.float32), corner)
    u, v = label[4, 4]
    assert u > 0 and v > 0 and abs(u - v) < 1e-3  # diagonal, oriented along end - start
    assert 10.0 < math.hypot(u, v) < 20.0


def test_apply_trajectory_keeps_shape_and_dtype(rng):
    traj = random_trajectory(16, 20, rng, "mild", scale=0.5)
    gray = rng.integers(0, 256, (16, 20), dtype=np.uint8)
    out, label = apply_trajectory(gray, traj)
    assert out.shape == gray.shape and out.dtype == np.uint8 and label.shape == (16, 20, 2)
    with pytest.raises(ValueError):
        apply_trajectory(gray, CameraTrajectory(states=np.zeros((1, 4))))


def test_random_walk_is_seeded_and_normalised():
    a = random_walk(np.random.default_rng(3), TrajectoryConfig(steps=12))
    b = random_walk(np.random.default_rng(3), TrajectoryConfig(steps=12))
    np.testing.assert_array_equal(a, b)
    assert a.shape == (12, 4)
    np.testing.assert_array_equal(a[0], 0.0)
    np.testing.assert_allclose(a.max(axis=0) - a.min(axis=0), 1.0)


def test_random_trajectory_respects_the_preset_and_scale(rng):
    for _ in range(20):
        traj = random_trajectory(32, 32, rng, "mild", scale=0.5)
        extent = traj.states.max(axis=0) - traj.states.min(axis=0)
        assert extent[:2].max() <= 0.5 * 19.0 + 1e-9
        assert extent[3] <= 0.5 * math.pi / 120 + 1e-12
    with pytest.raises(ValueError):
        random_trajectory(8, 8, rng, "wobbly")


def test_curved_paths_are_not_straight(rng):
    """Many random walks bend: their equivalent straight length is well below their path length."""
    bent = 0
    for _ in range(40):
        traj = random_trajectory(8, 8, rng, "strong")
        d = traj.displacements(8, 8)[:, 4, 4]
        path_len = np.linalg.norm(np.diff(d, axis=0), axis=1).sum()
        _, label = apply_trajectory(np.zeros((8, 8), np.float32), traj)
        # the spread of any path fits in its length: variance <= (length / 2)^2, so L <= sqrt(3) length
        assert np.linalg.norm(label[4, 4]) <= math.sqrt(3) * path_len * (1 + 1e-4)
        bent += np.linalg.norm(label[4, 4]) < 0.9 * path_len
    assert 10 <= bent <= 35  # curved ones and nearly straight ones


def test_pauses_and_jerks_make_uneven_steps_and_are_off_by_default():
    plain = random_walk(np.random.default_rng(7), TrajectoryConfig(steps=16))
    steps = np.linalg.norm(np.diff(plain, axis=0), axis=1)
    assert steps.max() / steps.min() < 3  # the plain walk: constant speed (before each axis is normalised)
    paused = random_walk(np.random.default_rng(7), TrajectoryConfig(steps=16, pause_prob=1.0))
    jerky = random_walk(np.random.default_rng(7), TrajectoryConfig(steps=16, pause_prob=0.3, jerk_prob=0.5))
    jerky_steps = np.linalg.norm(np.diff(jerky, axis=0), axis=1)
    assert jerky_steps.max() / jerky_steps.min() > 10  # a pause beside a jerk
    assert np.isfinite(paused).all() and np.abs(paused).max() <= 1.0 + 1e-9
    assert TrajectoryConfig().pause_prob == 0.0 and TrajectoryConfig().jerk_prob == 0.0
