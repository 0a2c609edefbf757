"""Where a photo can show blur at all: pixels with enough local contrast.

A flat area (clear sky, sand, a wall, a smooth out-of-focus background) looks the same sharp or
shaken, so whatever the network reads there is a guess: under the squared loss it drifts towards the
average blur of training, and that is where sharp photos were called shaken. The verdict counts a
pixel as shaken only where the photo has evidence: the grey level varies by more than
``EVIDENCE_MIN_STD`` within the ``2 * EVIDENCE_RADIUS + 1`` square around it. Blur lowers local
contrast but leaves most of it at this scale: on synthetic shake about 80% of the truly shaken pixels
keep their evidence.

The test is in exact integer arithmetic (grey = R + 2G + B, window sums of it and of its square), so
the Android demo's Java copy (android_demo/.../Evidence.java) gives the same mask bit for bit.
"""

from __future__ import annotations

import cv2
import numpy as np

EVIDENCE_RADIUS = 4  # px at working resolution: a 9 x 9 window, clipped at the image border
EVIDENCE_MIN_STD = 5  # grey levels (0-255): the local standard deviation needed to see blur

__all__ = ["EVIDENCE_MIN_STD", "EVIDENCE_RADIUS", "blur_evidence"]


def _window_sums(a: np.ndarray, radius: int) -> np.ndarray:
    """int64 sums of ``a`` over the (2 radius + 1)^2 window around each pixel, clipped at the border.

    OpenCV's box filter runs in float64 here: every partial sum is an integer far below 2^53, so it
    is exact.
    """
    k = 2 * radius + 1
    sums = cv2.boxFilter(a.astype(np.float64), -1, (k, k), normalize=False, borderType=cv2.BORDER_CONSTANT)
    return np.rint(sums).astype(np.int64)


def _clipped_counts(length: int, radius: int) -> np.ndarray:
    """int64 (length,): how many of the 2 radius + 1 positions around each index lie inside [0, length)."""
    i = np.arange(length, dtype=np.int64)
    return np.minimum(i + radius + 1, length) - np.maximum(i - radius, 0)


def blur_evidence(rgb: np.ndarray, radius: int = EVIDENCE_RADIUS, min_std: int = EVIDENCE_MIN_STD) -> np.ndarray:
    """Boolean (H, W) mask of the pixels where blur could be seen.

    Args:
        rgb: uint8 (H, W, 3) photo at working resolution (the size the field was measured at).
        radius: half side of the square window (px); the window is clipped at the image border.
        min_std: local standard deviation of the grey level (0-255) a pixel needs.

    The grey level is g = R + 2G + B (4x the 0-255 scale), and a window of n pixels with sums
    S1 = sum g, S2 = sum g^2 passes when n S2 - S1^2 > (4 min_std n)^2, i.e. when its standard
    deviation exceeds min_std grey levels: integers throughout, no rounding.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"blur_evidence needs uint8 (H, W, 3) RGB, got {rgb.dtype} {rgb.shape}")
    if int(radius) < 0 or int(min_std) < 0:
        raise ValueError(f"radius and min_std must be >= 0, got {radius} and {min_std}")
    radius = int(radius)
    g = rgb[..., 0].astype(np.int64) + 2 * rgb[..., 1].astype(np.int64) + rgb[..., 2].astype(np.int64)
    h, w = g.shape
    n = np.outer(_clipped_counts(h, radius), _clipped_counts(w, radius))  # pixels in each clipped window
    s1 = _window_sums(g, radius)
    s2 = _window_sums(g * g, radius)
    limit = 4 * int(min_std) * n
    return n * s2 - s1 * s1 > limit * limit
