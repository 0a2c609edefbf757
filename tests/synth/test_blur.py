"""apply_field: identity, line-kernel filter2D, the NumPy reference, dtypes and shapes, bad input.

Tiny images only: this file also runs with NUMBA_DISABLE_JIT=1 (kernels as plain Python).
"""

import cv2
import numpy as np
import pytest

from jitteredge.synth.blur import MAX_BLUR_FACTOR, apply_field
from jitteredge.synth.blur_reference import apply_field_reference
from jitteredge.synth.fields import JitterParams, jitter_field, random_field

ATOL = 2e-4  # float32 kernel vs float64 midpoint reference, for images in 0..1


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def constant_field(h, w, u, v):
    f = np.empty((h, w, 2), np.float32)
    f[..., 0], f[..., 1] = u, v
    return f


def line_kernel(u, v, samples=20001):
    """Correlation kernel of the bilinear line blur for a constant (u, v), built by dense sampling:
    each sample spreads its bilinear weights over its four neighbours."""
    rx, ry = int(np.ceil(abs(u) / 2)) + 1, int(np.ceil(abs(v) / 2)) + 1
    k = np.zeros((2 * ry + 1, 2 * rx + 1), np.float64)
    t = (np.arange(samples) + 0.5) / samples - 0.5
    x, y = t * u + rx, t * v + ry
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    fx, fy = x - x0, y - y0
    for dy, wy in ((0, 1 - fy), (1, fy)):
        for dx, wx in ((0, 1 - fx), (1, fx)):
            np.add.at(k, (y0 + dy, x0 + dx), wx * wy)
    return k / samples


def test_zero_field_is_the_identity(rng):
    img = rng.uniform(size=(9, 12, 3)).astype(np.float32)
    np.testing.assert_array_equal(apply_field(img, np.zeros((9, 12, 2), np.float32)), img)
    img8 = rng.integers(0, 256, size=(7, 5), dtype=np.uint8)
    np.testing.assert_array_equal(apply_field(img8, np.zeros((7, 5, 2), np.float32)), img8)


@pytest.mark.parametrize("u,v", [(3.7, -1.3), (0.6, 2.9), (-4.0, 4.0), (5.0, 0.0)])
def test_constant_field_matches_filter2d_with_the_line_kernel(rng, u, v):
    img = rng.uniform(size=(23, 26, 3)).astype(np.float32)
    k = line_kernel(u, v)
    assert k.sum() == pytest.approx(1.0)
    expected = cv2.filter2D(img, -1, k.astype(np.float32), borderType=cv2.BORDER_REFLECT_101)
    out = apply_field(img, constant_field(23, 26, u, v))
    inner = (slice(4, -4), slice(4, -4))
    np.testing.assert_allclose(out[inner], expected[inner], atol=ATOL)
    # the border is reflected the same way (BORDER_REFLECT_101) as long as the kernel fits the image
    np.testing.assert_allclose(out, expected, atol=ATOL)


@pytest.mark.parametrize("shape", [(16, 20, 3), (17, 9), (13, 15, 5), (11, 7, 2), (2, 2, 3), (3, 2)])
def test_kernel_matches_numpy_reference(rng, shape):
    img = rng.uniform(size=shape).astype(np.float32)
    h, w = shape[:2]
    field = (rng.standard_normal((h, w, 2)) * 3.0).astype(np.float32)
    # the awkward cases: integer ends, slope exactly +-1, axis-aligned, sub-pixel, zero
    special = [(2.0, 0.0), (0.0, -3.0), (2.0, 2.0), (-3.0, 3.0), (0.3, -0.2), (0.0, 0.0), (1.0, 0.5), (4.0, -1.0)]
    for n, vec in enumerate(special[: h * w]):
        field[n % h, (n * 3) % w] = vec
    np.testing.assert_allclose(apply_field(img, field), apply_field_reference(img, field, samples_per_px=64), atol=ATOL)


def test_kernel_matches_numpy_reference_on_a_jitter_field(rng):
    img = rng.uniform(size=(24, 31, 3)).astype(np.float32)
    field = random_field(24, 31, np.random.default_rng(5), "strong")
    assert np.abs(field).max() > 10  # long blurs, reaching far past the borders
    np.testing.assert_allclose(apply_field(img, field), apply_field_reference(img, field, samples_per_px=32), atol=ATOL)


def test_sign_of_the_field_does_not_matter(rng):
    img = rng.uniform(size=(10, 13, 3)).astype(np.float32)
    field = (rng.standard_normal((10, 13, 2)) * 4.0).astype(np.float32)
    np.testing.assert_allclose(apply_field(img, field), apply_field(img, -field), atol=1e-5)


def test_linear_image_is_unchanged_inside(rng):
    # the mean of a linear function over a centred segment is its value at the centre
    h, w = 20, 22
    rows, cols = np.mgrid[0:h, 0:w]
    img = (0.3 * cols - 0.2 * rows + 1.0).astype(np.float32)
    field = jitter_field(h, w, JitterParams(t_tx=4.0, t_ty=-3.0, omega=0.05, i_rz=10.0, j_rz=9.0))
    out = apply_field(img, field)
    inner = (slice(5, -5), slice(5, -5))
    np.testing.assert_allclose(out[inner], img[inner], atol=1e-4)
    assert np.abs(out - img).max() > 0.05  # near the borders the reflection bends the ramp


def test_vanishing_vectors_leave_the_pixel(rng):
    img = rng.uniform(size=(5, 6, 3)).astype(np.float32)
    field = np.zeros((5, 6, 2), np.float32)
    field[1, 2] = [1e-40, 0.0]  # subnormal
    field[3, 4] = [-1e-30, 1e-31]
    field[2, 2] = [1e-5, -1e-5]
    out = apply_field(img, field)
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out, img, atol=1e-5)


def test_constant_image_stays_constant(rng):
    img = np.full((9, 8, 3), 0.75, np.float32)
    out = apply_field(img, (rng.standard_normal((9, 8, 2)) * 6.0).astype(np.float32))
    np.testing.assert_allclose(out, 0.75, atol=1e-6)


def test_uint8_is_blurred_in_float_then_rounded(rng):
    img8 = rng.integers(0, 256, size=(12, 11, 3), dtype=np.uint8)
    field = (rng.standard_normal((12, 11, 2)) * 3.0).astype(np.float32)
    out = apply_field(img8, field)
    assert out.dtype == np.uint8 and out.shape == img8.shape
    as_float = apply_field(img8.astype(np.float32), field)
    np.testing.assert_array_equal(out, np.clip(np.rint(as_float), 0, 255).astype(np.uint8))
    assert (out != img8).any()


@pytest.mark.parametrize("shape,dtype", [((5, 7), np.float32), ((5, 7), np.uint8), ((6, 3, 3), np.uint8),
                                         ((7, 5, 4), np.float32), ((2, 2), np.float32), ((9, 4, 1), np.uint8)])
def test_output_keeps_shape_and_dtype(rng, shape, dtype):
    img = (rng.uniform(size=shape) * 255).astype(dtype)
    out = apply_field(img, (rng.standard_normal(shape[:2] + (2,)) * 2).astype(np.float32))
    assert out.shape == img.shape and out.dtype == img.dtype


def test_gray_equals_each_colour_channel(rng):
    img = rng.uniform(size=(8, 10, 3)).astype(np.float32)
    field = (rng.standard_normal((8, 10, 2)) * 3).astype(np.float32)
    out = apply_field(img, field)
    for c in range(3):
        np.testing.assert_allclose(apply_field(np.ascontiguousarray(img[..., c]), field), out[..., c], atol=1e-6)


def test_non_contiguous_inputs(rng):
    big = rng.uniform(size=(12, 16, 3)).astype(np.float32)
    img = big[::2, ::2]  # strided view
    field = (rng.standard_normal((6, 8, 2)) * 2).astype(np.float64)  # float64 field is accepted
    np.testing.assert_allclose(apply_field(img, field), apply_field(np.ascontiguousarray(img), field.astype(np.float32)), atol=0)


def test_field_longer_than_the_image_reflects_repeatedly(rng):
    img = rng.uniform(size=(3, 4, 3)).astype(np.float32)
    field = constant_field(3, 4, 11.0, -7.5)
    np.testing.assert_allclose(apply_field(img, field), apply_field_reference(img, field, samples_per_px=64), atol=ATOL)


@pytest.mark.parametrize("image,field,match", [
    (np.zeros((4, 5, 3), np.float32), np.zeros((4, 5), np.float32), r"field must have shape \(H, W, 2\)"),
    (np.zeros((4, 5, 3), np.float32), np.zeros((5, 4, 2), np.float32), r"field must have shape"),
    (np.zeros((1, 1, 3), np.float32), np.zeros((1, 1, 2), np.float32), r"at least 2x2"),
    (np.zeros((1, 5), np.uint8), np.zeros((1, 5, 2), np.float32), r"at least 2x2"),
    (np.zeros((4, 5), np.float64), np.zeros((4, 5, 2), np.float32), r"dtype must be uint8 or float32"),
    (np.zeros((4, 5, 3, 1), np.float32), np.zeros((4, 5, 2), np.float32), r"\(H, W\) or \(H, W, C\)"),
    ([[0.0, 1.0], [1.0, 0.0]], np.zeros((2, 2, 2), np.float32), r"numpy array"),
])
def test_bad_input_raises_a_clear_value_error(image, field, match):
    with pytest.raises(ValueError, match=match):
        apply_field(image, field)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_field_raises(bad):
    field = np.zeros((4, 5, 2), np.float32)
    field[2, 3, 1] = bad
    with pytest.raises(ValueError, match="NaN or infinite"):
        apply_field(np.zeros((4, 5, 3), np.float32), field)


def test_absurdly_long_field_raises():
    too_long = MAX_BLUR_FACTOR * 6 + 64 + 1
    with pytest.raises(ValueError, match="longer than"):
        apply_field(np.zeros((4, 6, 3), np.float32), constant_field(4, 6, too_long, 0.0))


@pytest.mark.parametrize("v", [1e-12, -3e-9, 0.02])
def test_near_flat_segments_that_cross_one_row_line(rng, v):
    # Each segment starts a hair above a row line and ends a hair below it (or the reverse): one
    # crossing, at a spacing of 1/|m| far beyond the image, which the kernel's fixed point must survive.
    img = rng.uniform(size=(12, 30, 3)).astype(np.float32)
    field = constant_field(12, 30, 9.0, v)
    field[::2] *= -1.0  # both orientations of the same segment
    out = apply_field(img, field)
    np.testing.assert_allclose(out, apply_field_reference(img, field, samples_per_px=64), atol=ATOL)
    np.testing.assert_allclose(out, apply_field(img, constant_field(12, 30, 9.0, 0.0)), atol=10 * abs(v) + ATOL)
