"""Stored photo values <-> linear light, through a power response curve (blur adds light, not pixel values)."""

from __future__ import annotations

import numpy as np


def white_level(dtype: np.dtype) -> float:
    """The stored value of white: 255 for uint8, 65535 for uint16."""
    return float(np.iinfo(dtype).max)


def to_linear(stored: np.ndarray, gamma: float) -> np.ndarray:
    """uint8 or uint16 (H, W, C) -> float32 linear light in [0, 1]: (v / white) ** gamma."""
    x = stored.astype(np.float32) * np.float32(1.0 / white_level(stored.dtype))
    return np.power(x, np.float32(gamma), dtype=np.float32)


def to_stored(linear: np.ndarray, gamma: float, dtype: np.dtype) -> np.ndarray:
    """float32 linear light -> ``dtype`` (uint8 or uint16), clipped to [0, 1] and rounded to nearest."""
    x = np.power(np.clip(linear, 0.0, 1.0), np.float32(1.0 / gamma), dtype=np.float32)
    return np.rint(x * np.float32(white_level(dtype))).astype(dtype)
