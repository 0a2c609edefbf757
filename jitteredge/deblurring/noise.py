"""How noisy a photo is: the standard deviation of its sensor noise, from the photo alone.

After a power tone curve of exponent gamma ~ 2, shot noise (variance proportional to the light) is
close to uniform in stored values (the curve is nearly the variance-stabilising square root), so one
number describes a photo's noise in the space where PSNR is measured and denoisers work.

The estimate is Immerkaer's (1996): the photo filtered by the 3 x 3 mask
N = [[1, -2, 1], [-2, 4, -2], [1, -2, 1]] (the difference of two Laplacians, which cancels locally
linear content), whose response to white noise of std sigma has std 6 sigma. Edges and texture give
large responses, so instead of Immerkaer's mean of |N * I| the mean of its lower half is used (the
half that a clean image's structure reaches least): for Gaussian noise that is a fixed multiple of
sigma (``_LOWER_HALF_MEAN``), and unlike a median it is not stepped by 8-bit rounding. Pixels next
to clipped ones (0 or white in an integer photo) are left out: a clipped area has no noise and would
pull the estimate down (a photo half blown out reads a tenth of its noise otherwise).

Measured on deblurring's synthetic samples (BSDS500 val/, 8 per group, the noise alone as the
difference from the same sample drawn without noise): without JPEG the estimate is the noise's std
within a few percent on shaken photos (median ratio 0.99-1.00; 1.13 on sharp ones, whose texture
reaches the high-pass); after JPEG (quality 55-95) it reads a quarter of it (median ratio 0.19-0.28),
because JPEG removes the finest frequencies the high-pass looks at, while the coarser noise it
leaves is still there.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

_HIGH_PASS = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
_HIGH_PASS_GAIN = 6.0  # |N|_2 = sqrt(1 + 4 + 1 + 4 + 16 + 4 + 1 + 4 + 1)
_Q = 0.6744897501960817  # median of |Z|, Z ~ N(0, 1)
# E[|Z| ; |Z| < q] / P(|Z| < q) = 2 (phi(0) - phi(q)) / 0.5: the mean of the lower half of |Z|
_LOWER_HALF_MEAN = 2.0 * (1.0 - math.exp(-_Q * _Q / 2.0)) / math.sqrt(2.0 * math.pi) / 0.5


def noise_sigma(image: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Noise standard deviation of a photo, in its own units (0-255 levels for uint8).

    Args:
        image: (H, W) or (H, W, C) array, H, W >= 3; channels are pooled. Integer photos: pixels
            whose 3 x 3 neighbourhood holds the dtype's minimum or maximum (clipped) are not counted.
        mask: optional bool (H, W): only pixels whose whole 3 x 3 neighbourhood is in the mask count.

    Returns:
        sigma >= 0 (0 for a constant image or when no pixel counts).

    Raises:
        ValueError: a shape other than (H, W) or (H, W, C) with H, W >= 3, or a mask of another size.
    """
    a = np.asarray(image)
    if a.ndim not in (2, 3) or min(a.shape[:2]) < 3:
        raise ValueError(f"image must be (H, W) or (H, W, C) with H, W >= 3, got shape {a.shape}")
    usable = np.ones(a.shape[:2], bool) if mask is None else np.asarray(mask, bool)
    if usable.shape != a.shape[:2]:
        raise ValueError(f"mask must have shape {a.shape[:2]}, got {usable.shape}")
    if np.issubdtype(a.dtype, np.integer):
        info = np.iinfo(a.dtype)
        clipped = (a == info.min) | (a == info.max)
        usable = usable & ~(clipped.any(axis=2) if clipped.ndim == 3 else clipped)
    usable = cv2.erode(usable.astype(np.uint8), np.ones((3, 3), np.uint8), borderType=cv2.BORDER_CONSTANT,
                       borderValue=0) > 0  # the filter reads the neighbours; the outer ring is reflected
    r = np.abs(cv2.filter2D(a.astype(np.float32), -1, _HIGH_PASS, borderType=cv2.BORDER_REFLECT_101))[usable]
    r = r.reshape(-1)
    if r.size == 0:
        return 0.0
    half = max(1, r.size // 2)
    lower = np.partition(r, half - 1)[:half]
    return float(lower.mean(dtype=np.float64)) / (_LOWER_HALF_MEAN * _HIGH_PASS_GAIN)
