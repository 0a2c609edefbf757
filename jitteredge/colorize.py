"""Field -> colours: hue for the blur orientation, brightness for its length.

Orientation is sign-free (M and -M blur alike), so the hue turns once per 180 degrees of direction:
hue_deg = 2 * atan2(V, U) mod 360. Brightness is |M| / max_px, clipped to 1. The Android demo's
Overlay.java implements the same formula; golden vectors keep them equal.
"""

from __future__ import annotations

import numpy as np


def hsv_to_rgb(hue_deg: np.ndarray, sat: np.ndarray, val: np.ndarray) -> np.ndarray:
    """Vectorised HSV -> float RGB in [0, 1] (the textbook sextant formula)."""
    h = (np.asarray(hue_deg, dtype=np.float64) % 360.0) / 60.0
    c = val * sat
    x = c * (1.0 - np.abs(h % 2.0 - 1.0))
    m = val - c
    sextant = np.floor(h).astype(np.int64) % 6
    zeros = np.zeros_like(c)
    r = np.choose(sextant, [c, x, zeros, zeros, x, c])
    g = np.choose(sextant, [x, c, c, x, zeros, zeros])
    b = np.choose(sextant, [zeros, zeros, x, c, c, x])
    return np.stack([r + m, g + m, b + m], axis=-1)


def field_to_rgb(field: np.ndarray, max_px: float = 10.0) -> np.ndarray:
    """float (H, W, 2) field in pixels -> uint8 (H, W, 3) RGB colour map."""
    u = field[..., 0].astype(np.float64)
    v = field[..., 1].astype(np.float64)
    hue = np.degrees(2.0 * np.arctan2(v, u)) % 360.0
    val = np.clip(np.hypot(u, v) / max_px, 0.0, 1.0)
    rgb = hsv_to_rgb(hue, np.ones_like(val), val)
    return np.floor(rgb * 255.0 + 0.5).astype(np.uint8)


def overlay(photo_rgb: np.ndarray, field: np.ndarray, max_px: float = 10.0, strength: float = 0.7) -> np.ndarray:
    """Blend the colour map over a photo, more opaque where the blur is longer."""
    colours = field_to_rgb(field, max_px).astype(np.float64)
    alpha = strength * np.clip(np.hypot(field[..., 0], field[..., 1]) / max_px, 0.0, 1.0)[..., None]
    out = photo_rgb.astype(np.float64) * (1.0 - alpha) + colours * alpha
    return np.floor(out + 0.5).astype(np.uint8)
