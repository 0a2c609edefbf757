"""synth.lanes: the blur kernel's 4-lane sums against the same sums written out in NumPy (float64).

Each sum is called through an njit function, as the kernel calls it; with NUMBA_DISABLE_JIT=1 this
checks the plain-Python versions instead.
"""

import numpy as np
import pytest
from numba import njit

from jitteredge.synth import lanes

FIX = lanes.FIX_ONE
W, H = 23, 19  # a padded image of H x W pixels, 3 channels, flat with one float of slack
SX, SY = 3, 3 * W


@pytest.fixture
def p():
    rng = np.random.default_rng(7)
    flat = np.empty(H * W * 3 + 1, np.float32)
    flat[:-1] = rng.uniform(0, 255, H * W * 3)
    flat[-1] = np.nan  # the slack lane must never reach a result
    return flat


def pixel(p, row, col):
    return p[(row * W + col) * 3:(row * W + col) * 3 + 3].astype(np.float64)


@njit
def _column_sum(p, i_maj, smaj, smin, b_fix, m_fix, n):
    return lanes.column_sum(p, i_maj, smaj, smin, b_fix, m_fix, n)


@njit
def _kink_sum(p, j0, dj, smaj, smin, a_fix, d_fix, n, am6):
    return lanes.kink_sum(p, j0, dj, smaj, smin, a_fix, d_fix, n, am6)


@njit
def _cell_sum(p, b00, smaj, smin, w00, w10, w01, w11):
    return lanes.cell_sum(p, b00, smaj, smin, w00, w10, w01, w11)


@pytest.mark.parametrize("b_start,slope,n", [(3.25, 0.37, 9), (14.9, -0.81, 12), (6.0, 0.0, 5), (8.5, 1.0, 7)])
def test_column_sum_adds_the_columns_linear_interpolations(p, b_start, slope, n):
    expected = np.zeros(3)
    for j in range(n):  # columns 2 .. 2 + n - 1 along a row-major walk (minor axis: rows)
        b = b_start + slope * j
        r, f = int(np.floor(b)), b - np.floor(b)
        expected += (1 - f) * pixel(p, r, 2 + j) + f * pixel(p, r + 1, 2 + j)
    got = _column_sum(p, 2 * SX, SX, SY, np.int64(b_start * FIX), np.int64(slope * FIX), n)
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_column_sum_walks_rows_when_the_major_axis_is_vertical(p):
    expected = np.zeros(3)
    for j in range(6):  # rows 4 .. 9, minor axis: columns from 5.6 down by 0.45 per row
        b = 5.6 - 0.45 * j
        c, f = int(np.floor(b)), b - np.floor(b)
        expected += (1 - f) * pixel(p, 4 + j, c) + f * pixel(p, 4 + j, c + 1)
    got = _column_sum(p, 4 * SY, SY, SX, np.int64(5.6 * FIX), np.int64(-0.45 * FIX), 6)
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_nothing_to_sum_is_zero(p):
    assert _column_sum(p, 0, SX, SY, np.int64(FIX), np.int64(0), 0) == (0.0, 0.0, 0.0)
    assert _kink_sum(p, 0, SY, SX, SY, np.int64(FIX), np.int64(FIX), 0, np.float32(0.1)) == (0.0, 0.0, 0.0)


@pytest.mark.parametrize("step", [1, -1])
def test_kink_sum_adds_the_second_differences_at_each_crossing(p, step):
    a_first, spacing, n, am6 = 3.3, 2.6, 4, np.float32(0.06)
    line = 9  # the first row line crossed; the next ones step by `step`
    expected = np.zeros(3)
    for i in range(n):
        a = a_first + i * spacing
        k, sigma = int(np.floor(a)), a - np.floor(a)
        b_c = line + i * step
        for col, weight in ((k, (1 - sigma) ** 3), (k + 1, sigma ** 3)):
            q = pixel(p, b_c - 1, col) - 2 * pixel(p, b_c, col) + pixel(p, b_c + 1, col)
            expected += float(am6) * weight * q
    got = _kink_sum(p, (line - 1) * SY, step * SY, SX, SY, np.int64(a_first * FIX), np.int64(spacing * FIX), n, am6)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-3)


def test_cell_sum(p):
    w = np.float32([0.1, 0.2, 0.3, 0.4])
    expected = (w[0] * pixel(p, 5, 7) + w[1] * pixel(p, 5, 8) + w[2] * pixel(p, 6, 7) + w[3] * pixel(p, 6, 8))
    got = _cell_sum(p, (5 * W + 7) * 3, SX, SY, w[0], w[1], w[2], w[3])
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_the_last_pixel_is_read_without_its_slack(p):
    last = (H * W - 1) * 3
    got = _cell_sum(p, last - SX - SY, SX, SY, np.float32(0), np.float32(0), np.float32(0), np.float32(1))
    np.testing.assert_allclose(got, pixel(p, H - 1, W - 1), rtol=1e-6)
    assert np.isfinite(got).all()


def test_arguments_of_other_types_fail_typing(p):
    import numba
    from numba.core.errors import TypingError

    if numba.config.DISABLE_JIT:
        pytest.skip("the sums run as plain Python (NUMBA_DISABLE_JIT=1): nothing is typed")

    with pytest.raises(TypingError):  # float64 weights: the IR multiplies float32 lanes
        _cell_sum(p, 0, SX, SY, 0.1, 0.2, 0.3, 0.4)
