"""The doubled-angle field code: decode inverts encode up to the sign of M, at any shape."""

from __future__ import annotations

import numpy as np
import pytest

from jitteredge.fieldcode import decode_field, encode_field, endpoint_error


def _decode_by_angles(code: np.ndarray, scale: float = 8.0) -> np.ndarray:
    """The textbook form: r and half the angle of the code, in float64."""
    a, b = code[..., 0].astype(np.float64) * scale, code[..., 1].astype(np.float64) * scale
    phi = 0.5 * np.arctan2(b, a)
    return np.stack([np.hypot(a, b) * np.cos(phi), np.hypot(a, b) * np.sin(phi)], axis=-1)


def test_decode_matches_the_angle_form_to_float32_rounding():
    code = np.random.default_rng(0).normal(size=(64, 48, 2)).astype(np.float32)
    code[0, :8] = [[0, 0], [-1, 0], [-1, -0.0], [1, 0], [0, 1], [0, -1], [-1, 1e-9], [1e-3, -1e-3]]
    got = decode_field(code)
    assert got.dtype == np.float32 and got.shape == code.shape
    want = _decode_by_angles(code)
    r = np.hypot(want[..., 0], want[..., 1])
    assert np.all(np.abs(got - want).max(axis=-1) <= 1e-6 * r + 1e-6)
    assert np.all(got[..., 0] >= 0)  # the U >= 0 representative


@pytest.mark.parametrize("shape", [(5,), (2, 3), (2, 3, 4)])
def test_decode_round_trips_any_shape(shape):
    field = np.random.default_rng(1).uniform(-30, 30, size=shape + (2,)).astype(np.float32)
    back = decode_field(encode_field(field))
    assert back.shape == field.shape
    assert endpoint_error(back, field).max() < 1e-4  # M or -M, to rounding


def test_decode_of_nothing_and_of_zero():
    assert decode_field(np.zeros((0, 2), np.float32)).shape == (0, 2)
    assert not decode_field(np.zeros((3, 3, 2), np.float32)).any()
