"""The fused Richardson-Lucy-TV (deblurring.kernels, TileOperator) against the NumPy formulation and the synth operators."""

import numba
import numpy as np
import pytest

from jitteredge.deblurring import kernels, solver
from jitteredge.deblurring.solver_reference import rl_tv_reference
from jitteredge.deblurring.tile_operator import TileOperator
from jitteredge.synth.adjoint import apply_field_adjoint
from jitteredge.synth.blur import apply_field
from jitteredge.synth.fields import random_field

# float32 round-off over a few iterations (the two agree to the bit with the same thread count; the
# tolerance only leaves room for a compiler that orders a sum differently)
RTOL, ATOL = 1e-5, 1e-7


@pytest.fixture
def rng():
    return np.random.default_rng(2024)


def tile(rng, h, w, scale=0.5):
    """(y, field, mask): a linear-light tile, a strong field with zero and axis-aligned vectors, clipped pixels."""
    y = rng.uniform(0.0, 1.0, (h, w, 3)).astype(np.float32)
    field = random_field(h, w, rng, "strong") * np.float32(scale)
    field[1:3, 1:3] = 0.0
    field[4, 4] = (0.0, -5.0)
    field[5, 2] = (3.0, 3.0)
    mask = np.ones_like(y)
    mask[rng.uniform(size=(h, w)) < 0.05] = 0.0
    return y, field, mask


@pytest.mark.parametrize("shape", [(23, 31), (40, 17)])
def test_tile_operator_equals_apply_field_and_its_adjoint(rng, shape):
    y, field, _ = tile(rng, *shape)
    op = TileOperator(field)
    np.testing.assert_array_equal(op.blur(y), apply_field(y, field))
    np.testing.assert_array_equal(op.adjoint(y), apply_field_adjoint(y, field))
    np.testing.assert_array_equal(op.adjoint(y), apply_field_adjoint(y, field))  # the buffers were cleared


def test_tile_operator_with_a_border_wider_than_the_tile(rng):
    y = rng.uniform(size=(6, 9, 3)).astype(np.float32)
    field = np.zeros((6, 9, 2), np.float32)
    field[...] = (25.0, -13.0)
    field[2, 3] = 0.0
    op = TileOperator(field)
    assert op.pad > 9
    np.testing.assert_array_equal(op.blur(y), apply_field(y, field))
    np.testing.assert_array_equal(op.adjoint(y), apply_field_adjoint(y, field))


def test_tile_operator_refuses_bad_input(rng):
    with pytest.raises(ValueError, match="field"):
        TileOperator(np.zeros((5, 5), np.float32))
    with pytest.raises(ValueError, match="NaN"):
        TileOperator(np.full((5, 5, 2), np.nan, np.float32))
    op = TileOperator(np.ones((5, 6, 2), np.float32))
    with pytest.raises(ValueError, match="float32"):
        op.blur(np.zeros((5, 6, 3), np.float64))
    with pytest.raises(ValueError, match=r"\(5, 6, 3\)"):
        op.adjoint(np.zeros((6, 5, 3), np.float32))


@pytest.mark.parametrize("lam", [0.0, 0.01, 0.3])
@pytest.mark.parametrize("shape", [(29, 37), (48, 21)])
def test_fused_rl_tv_equals_the_numpy_formulation(rng, shape, lam):
    y, field, mask = tile(rng, *shape)
    expected = rl_tv_reference(y, field, mask, 5, lam)
    got = solver.rl_tv(y, field, mask, 5, lam)
    assert got.dtype == np.float32 and got.shape == y.shape
    assert not np.array_equal(expected, np.maximum(y, 1e-4))  # the iterations did move the estimate
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL)


def test_rl_tv_reports_each_iteration_and_zero_iterations_is_the_floored_input(rng):
    y, field, mask = tile(rng, 12, 14)
    calls = []
    solver.rl_tv(y, field, mask, 4, 0.01, step=lambda: calls.append(1))
    assert len(calls) == 4
    np.testing.assert_array_equal(solver.rl_tv(y, field, mask, 0, 0.01), np.maximum(y, np.float32(1e-4)))


def test_tv_update_does_not_depend_on_how_rows_are_split(rng):
    """Row blocks carry the TV term's row above across their edges: 1, 2 or 7 blocks give the same bits."""
    y, field, _ = tile(rng, 19, 13)
    op = TileOperator(field)
    xp = op.new_padded()
    op.set_padded(y + np.float32(0.1), xp)
    back = rng.uniform(0.5, 1.5, y.shape).astype(np.float32)
    norm = rng.uniform(0.8, 1.2, y.shape).astype(np.float32)
    results = []
    for blocks in (1, 2, 7):
        out = op.new_padded()
        scratch = np.zeros((blocks, 3, 3 * 13 + 3), np.float32)
        kernels.rl_tv_update(xp, 19, 13, op.pad, back, norm, np.float32(0.2), np.float32(1e-4), np.float32(0.05),
                             scratch, out)
        results.append(op.interior(out))
    np.testing.assert_array_equal(results[0], results[1])
    np.testing.assert_array_equal(results[0], results[2])


def test_rl_tv_on_one_thread_agrees_with_all_threads(rng):
    y, field, mask = tile(rng, 26, 30)
    all_threads = solver.rl_tv(y, field, mask, 4, 0.01)
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        one = solver.rl_tv(y, field, mask, 4, 0.01)
    finally:
        numba.set_num_threads(before)
    np.testing.assert_allclose(one, all_threads, rtol=RTOL, atol=ATOL)
