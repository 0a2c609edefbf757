"""Jitter field components (patent claim 1, [0043]-[0064]) against values computed by hand."""

import math

import numpy as np
import pytest

from jitteredge.synth.fields import PRESETS, JitterParams, JitterRanges, jitter_field, random_field, random_params


def test_zero_params_give_zero_field():
    f = jitter_field(5, 7, JitterParams())
    assert f.shape == (5, 7, 2) and f.dtype == np.float32
    assert not f.any()


def test_x_ramp_is_linear_in_columns_and_constant_in_rows():
    # U = (i - i_tx) r_tx + t_tx, V = 0
    f = jitter_field(4, 6, JitterParams(t_tx=3.0, r_tx=0.5, i_tx=2.0))
    expected_u = (np.arange(6) - 2.0) * 0.5 + 3.0  # [2, 2.5, 3, 3.5, 4, 4.5]
    np.testing.assert_allclose(f[..., 0], np.broadcast_to(expected_u, (4, 6)), atol=1e-6)
    assert not f[..., 1].any()
    assert f[0, 2, 0] == pytest.approx(3.0)  # the shift itself at the ramp's centre column


def test_y_ramp_is_linear_in_rows_and_constant_in_columns():
    f = jitter_field(5, 3, JitterParams(t_ty=-2.0, r_ty=0.25, j_ty=1.0))
    expected_v = (np.arange(5) - 1.0) * 0.25 - 2.0
    np.testing.assert_allclose(f[..., 1], np.broadcast_to(expected_v[:, None], (5, 3)), atol=1e-6)
    assert not f[..., 0].any()


def test_zoom_is_radial_with_magnitude_t_d_to_the_1_plus_zeta():
    p = JitterParams(t_tz=0.01, i_tz=4.0, j_tz=3.0, zeta=0.5)
    f = jitter_field(9, 11, p).astype(np.float64)
    j, i = np.mgrid[0:9, 0:11]
    di, dj = i - 4.0, j - 3.0
    d = np.hypot(di, dj)
    np.testing.assert_allclose(np.hypot(f[..., 0], f[..., 1]), 0.01 * d ** 1.5, rtol=1e-5, atol=1e-6)
    # radial: parallel to (di, dj), pointing outwards for t > 0
    cross = f[..., 0] * dj - f[..., 1] * di
    dot = f[..., 0] * di + f[..., 1] * dj
    np.testing.assert_allclose(cross, 0.0, atol=1e-5)
    assert (dot[d > 0] > 0).all()
    # one point by hand: (i, j) = (10, 3): d = 6, |M| = 0.01 * 6 ** 1.5, along +x
    assert f[3, 10, 0] == pytest.approx(0.01 * 6 ** 1.5, rel=1e-5)
    assert f[3, 10, 1] == pytest.approx(0.0, abs=1e-6)


def test_rotation_is_perpendicular_to_radius_with_magnitude_2_d_tan_half_omega():
    omega = math.pi / 70
    p = JitterParams(omega=omega, i_rz=5.0, j_rz=4.0)
    f = jitter_field(10, 12, p).astype(np.float64)
    j, i = np.mgrid[0:10, 0:12]
    di, dj = i - 5.0, j - 4.0
    d = np.hypot(di, dj)
    np.testing.assert_allclose(np.hypot(f[..., 0], f[..., 1]), 2.0 * d * math.tan(omega / 2.0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(f[..., 0] * di + f[..., 1] * dj, 0.0, atol=1e-5)  # perpendicular
    assert not f[4, 5].any()  # the centre does not move
    # theta = 0 (point to the right of the centre): M = s (cos(-pi/2), sin(-pi/2)) = (0, -s)
    s = 2.0 * 3.0 * math.tan(omega / 2.0)
    np.testing.assert_allclose(f[4, 8], [0.0, -s], atol=1e-6)


def test_the_field_is_the_sum_of_its_parts():
    parts = [
        JitterParams(t_tx=2.0, r_tx=0.1, i_tx=3.0),
        JitterParams(t_ty=-1.5, r_ty=-0.2, j_ty=2.0),
        JitterParams(t_tz=0.003, i_tz=6.0, j_tz=5.0),
        JitterParams(omega=0.04, i_rz=2.0, j_rz=7.0),
    ]
    whole = JitterParams(t_tx=2.0, r_tx=0.1, i_tx=3.0, t_ty=-1.5, r_ty=-0.2, j_ty=2.0,
                         t_tz=0.003, i_tz=6.0, j_tz=5.0, omega=0.04, i_rz=2.0, j_rz=7.0)
    total = sum(jitter_field(8, 13, p).astype(np.float64) for p in parts)
    np.testing.assert_allclose(jitter_field(8, 13, whole), total, atol=1e-5)


def test_random_field_is_deterministic_under_a_seed():
    a = random_field(12, 16, np.random.default_rng(7), "strong")
    b = random_field(12, 16, np.random.default_rng(7), "strong")
    c = random_field(12, 16, np.random.default_rng(8), "strong")
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("preset", ["strong", "mild"])
def test_random_params_stay_within_the_preset_ranges(preset):
    r = PRESETS[preset]
    h, w = 40, 60
    ci, cj = (w - 1) / 2.0, (h - 1) / 2.0
    rng = np.random.default_rng(3)
    for _ in range(200):
        p = random_params(h, w, rng, preset)
        assert abs(p.t_tx) <= r.shift_px and abs(p.t_ty) <= r.shift_px
        assert abs(p.r_tx * w) <= abs(p.t_tx) * r.ramp + 1e-12  # r = t a / width, |a| <= ramp
        assert abs(p.r_ty * h) <= abs(p.t_ty) * r.ramp + 1e-12
        assert abs(p.t_tz) <= r.zoom and abs(p.omega) <= r.rotation_rad
        for i_c, j_c in ((p.i_tz, p.j_tz), (p.i_rz, p.j_rz)):
            assert abs(i_c - ci) <= r.centre_shift_px and abs(j_c - cj) <= r.centre_shift_px
        assert p.zeta == r.zeta


def test_user_ranges_and_unknown_preset():
    zero = JitterRanges(shift_px=0.0, ramp=0.0, zoom=0.0, centre_shift_px=0.0, rotation_rad=0.0)
    assert not random_field(6, 6, np.random.default_rng(0), zero).any()
    with pytest.raises(ValueError, match="unknown jitter preset"):
        random_field(6, 6, np.random.default_rng(0), "wobbly")
