"""apply_field_adjoint: the adjoint identity with apply_field, the dense transpose, the NumPy reference."""

import numpy as np
import pytest

from jitteredge.synth.adjoint import apply_field_adjoint
from jitteredge.synth.adjoint_reference import apply_field_adjoint_reference
from jitteredge.synth.blur import apply_field
from jitteredge.synth.fields import random_field

IDENTITY_RTOL = 1e-5  # <A x, y> against <x, A^T y>, relative
ATOL = 2e-4  # exact float32 kernel vs the float64 midpoint reference, values in 0..1


@pytest.fixture
def rng():
    return np.random.default_rng(4321)


def awkward_field(h, w, rng, scale=0.5):
    """A strong jitter field with the cases a walk can get wrong: zero vectors, 45-degree diagonals,
    axis-aligned and sub-pixel vectors, a segment longer than the image."""
    f = random_field(h, w, rng, "strong") * np.float32(scale)
    f[1:3, 1:3] = 0.0
    f[4, 4] = (3.0, 3.0)
    f[5, 5] = (-2.0, 2.0)
    f[6, 6] = (0.3, 0.0)
    f[7, 7] = (0.0, -5.0)
    f[8, 2] = (2.0 * w, 0.7)
    return f


@pytest.mark.parametrize("shape", [(23, 31, 3), (19, 17), (16, 21, 5)])
def test_adjoint_identity(rng, shape):
    x = rng.uniform(size=shape).astype(np.float32)
    y = rng.uniform(size=shape).astype(np.float32)
    f = awkward_field(shape[0], shape[1], rng)
    lhs = float(np.sum(apply_field(x, f).astype(np.float64) * y))
    rhs = float(np.sum(x.astype(np.float64) * apply_field_adjoint(y, f)))
    assert abs(lhs - rhs) <= IDENTITY_RTOL * abs(lhs)


def test_equals_the_transpose_of_the_forward_matrix(rng):
    h, w = 9, 11
    f = (rng.normal(size=(h, w, 2)) * 4).astype(np.float32)
    matrix = np.zeros((h * w, h * w))
    for q in range(h * w):
        e = np.zeros((h, w), np.float32)
        e.flat[q] = 1.0
        matrix[:, q] = apply_field(e, f).ravel()
    y = rng.uniform(size=(h, w)).astype(np.float32)
    np.testing.assert_allclose(apply_field_adjoint(y, f).ravel(), matrix.T @ y.ravel(), atol=1e-5)


def test_matches_numpy_reference(rng):
    y = rng.uniform(size=(14, 18, 3)).astype(np.float32)
    f = awkward_field(14, 18, rng, scale=0.25)
    f[8, 2] = (6.0, 0.7)  # keep the reference's sample count small
    np.testing.assert_allclose(apply_field_adjoint(y, f), apply_field_adjoint_reference(y, f), atol=ATOL)


def test_zero_field_is_the_identity(rng):
    y = rng.uniform(size=(8, 9, 3)).astype(np.float32)
    np.testing.assert_array_equal(apply_field_adjoint(y, np.zeros((8, 9, 2), np.float32)), y)


def test_total_is_kept(rng):
    """Each pixel spreads its value with weights that sum to one."""
    y = rng.uniform(size=(20, 24, 3)).astype(np.float32)
    f = awkward_field(20, 24, rng)
    np.testing.assert_allclose(apply_field_adjoint(y, f).sum(axis=(0, 1)), y.sum(axis=(0, 1)), rtol=1e-5)


def test_uint8_is_refused():
    with pytest.raises(ValueError, match="float32"):
        apply_field_adjoint(np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4, 2), np.float32))
