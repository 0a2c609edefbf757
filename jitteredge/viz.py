"""The jitter picture: a photo with its field drawn over it, for a person to look at.

Colour (jitteredge.colorize.overlay): hue = blur orientation, brightness and opacity = blur length.
Over it, a grid of short line segments centred on their grid points: segments rather than arrows
because M and -M blur alike (METHOD.md section 1), each as long as the local blur relative to the
colour scale. The photo underneath is mostly desaturated, so that only the overlay's hue reads as
colour. Flat areas, where the photo cannot show blur and the verdict does not look
(jitteredge.evidence), fade to grey (a smoothed mask: no blocks), without colour or segments. A
banner below holds the colour-wheel legend, the verdict and, for a reduced picture, its scale.
"""

from __future__ import annotations

import cv2
import numpy as np

from jitteredge.colorize import field_to_rgb, overlay
from jitteredge.verdict import Verdict

DISPLAY_LONG_SIDE = 1600  # px; larger photos are drawn reduced (the picture is for looking at)
GRID_CELLS = 24  # segments along the long side
MIN_SEGMENT_CELL = 0.25  # segments shorter than this share of the grid spacing are left out (sharp areas stay clean)
PHOTO_COLOUR = 0.2  # share of the photo's own colour kept under the overlay (the rest is its grey level)


def color_wheel(diameter_px: int, max_px: float = 10.0) -> tuple[np.ndarray, np.ndarray]:
    """The legend: colour of a blur of each orientation (angle) and length (radius).

    Returns:
        (uint8 (D, D, 3) RGB wheel, bool (D, D) mask of the disc).
    """
    r = (diameter_px - 1) / 2.0
    yy, xx = np.mgrid[0:diameter_px, 0:diameter_px].astype(np.float64)
    dx, dy = (xx - r) / r, (yy - r) / r  # y down, like the image
    field = np.stack([dx, dy], axis=-1) * max_px
    return field_to_rgb(field, max_px), np.hypot(dx, dy) <= 1.0


def _draw_segments(canvas: np.ndarray, field_disp: np.ndarray, max_px: float, cells: int) -> None:
    """Centred segments over ``canvas`` (in place); ``field_disp`` is at canvas size, input pixels."""
    h, w = canvas.shape[:2]
    spacing = max(8.0, max(h, w) / cells)
    half_max = 0.45 * spacing
    thick = max(1, int(round(spacing / 24)))
    for cy in np.arange(spacing / 2, h, spacing):
        for cx in np.arange(spacing / 2, w, spacing):
            u, v = field_disp[int(cy), int(cx)]
            length = float(np.hypot(u, v))
            half = half_max * min(1.0, length / max_px)
            if 2 * half < max(2.0, MIN_SEGMENT_CELL * spacing):
                continue
            du, dv = u / length * half, v / length * half
            p0 = (int(round((cx - du) * 16)), int(round((cy - dv) * 16)))  # 4 fractional bits
            p1 = (int(round((cx + du) * 16)), int(round((cy + dv) * 16)))
            cv2.line(canvas, p0, p1, (0, 0, 0), thick + 1 + thick // 2, cv2.LINE_AA, shift=4)
            cv2.line(canvas, p0, p1, (255, 255, 255), thick, cv2.LINE_AA, shift=4)


def verdict_text(verdict: Verdict) -> str:
    return verdict.summary()


def display_size(height: int, width: int, display_long_side: int = DISPLAY_LONG_SIDE) -> tuple[int, int]:
    """(h, w) of the picture of a (height, width) photo: reduced to ``display_long_side``, never enlarged."""
    scale = min(1.0, display_long_side / max(height, width))
    return max(1, round(height * scale)), max(1, round(width * scale))


def legend_lines(max_px: float, photo_hw: tuple[int, int], picture_hw: tuple[int, int], flat: bool) -> list[str]:
    """The banner's legend: what colour, brightness and lines mean, and the picture's scale."""
    legend = f"colour: blur orientation; brightness, line: length up to {max_px:.0f} photo px"
    if flat:
        legend += "; grey: flat, not judged"
    lines = [legend]
    if tuple(picture_hw) != tuple(photo_hw):
        h0, w0 = photo_hw
        lines.append(f"drawn at {100 * picture_hw[1] / w0:.0f}% ({picture_hw[1]}x{picture_hw[0]}) "
                     f"of the {w0}x{h0} photo; lengths in the photo's pixels")
    return lines


def _soft_mask(evidence: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """float32 (h, w) weight in [0, 1] of the evidence mask at picture size: bilinear, then blurred
    over about one mask cell, so flat areas fade in instead of showing the mask's blocks."""
    h, w = hw
    weight = cv2.resize(evidence.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    cell = max(h / evidence.shape[0], w / evidence.shape[1])
    sigma = max(1.0, 1.5 * cell)
    return np.clip(cv2.GaussianBlur(weight, (0, 0), sigma), 0.0, 1.0)


def _muted(photo: np.ndarray) -> np.ndarray:
    """The photo with most of its colour taken out, so that only the overlay's hue reads as colour
    (magenta flowers must not look like a magenta blur)."""
    grey = cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY)[..., None].astype(np.float32)
    return np.clip(PHOTO_COLOUR * photo.astype(np.float32) + (1.0 - PHOTO_COLOUR) * grey + 0.5, 0, 255).astype(np.uint8)


def draw_jitter(photo_rgb: np.ndarray, field_px: np.ndarray, verdict: Verdict | None = None, max_px: float = 10.0,
                display_long_side: int = DISPLAY_LONG_SIDE, cells: int = GRID_CELLS,
                evidence: np.ndarray | None = None) -> np.ndarray:
    """Draw a field over its photo.

    Args:
        photo_rgb: uint8 (H, W, 3) RGB.
        field_px: float32 field in the photo's pixels, (H, W, 2) or at any other size (it is sampled to
            the picture; pass it at the picture's size, ``display_size``, to skip the resampling).
        verdict: printed in the banner when given.
        max_px: blur length (field units) drawn at full colour and full segment length.
        display_long_side: the picture's long side at most, in pixels; the banner says the scale.
        cells: grid segments along the long side.
        evidence: bool mask (any size, e.g. working resolution) of the pixels where the photo can show
            blur; the others fade to grey and carry no colour or segment. None: draw everything.

    Returns:
        uint8 (h + banner, w, 3) RGB picture; the photo under the overlay is mostly desaturated.
    """
    h0, w0 = photo_rgb.shape[:2]
    h, w = display_size(h0, w0, display_long_side)
    photo = photo_rgb if (h, w) == (h0, w0) else cv2.resize(photo_rgb, (w, h), interpolation=cv2.INTER_AREA)
    photo = _muted(photo)
    # Nearest sampling never averages M with -M; the field is smooth, so nothing is lost at display size.
    field = field_px if field_px.shape[:2] == (h, w) else cv2.resize(
        np.ascontiguousarray(field_px, dtype=np.float32), (w, h), interpolation=cv2.INTER_NEAREST)
    seen = None
    if evidence is not None:
        seen = _soft_mask(evidence, (h, w))
        field = field * seen[..., None]  # colour and segments fade out towards flat areas
    canvas = np.ascontiguousarray(overlay(photo, field, max_px))
    if seen is not None and (seen < 1.0).any():
        flat = (1.0 - seen)[..., None]
        grey = canvas.mean(axis=-1, keepdims=True)
        greyed = 0.35 * canvas + 0.65 * (0.6 * grey + 40.0)
        canvas = (canvas * (1.0 - flat) + greyed * flat + 0.5).astype(np.uint8)
    _draw_segments(canvas, field, max_px, cells)

    # Banner: wheel legend at the left, verdict, legend and scale text beside it.
    lines = [verdict_text(verdict) if verdict else ""] + legend_lines(max_px, (h0, w0), (h, w), seen is not None)
    font = cv2.FONT_HERSHEY_SIMPLEX
    font_scale = max(0.35, min(0.8, w / 900))
    line_h = int(round(28 * font_scale)) + 4
    banner_h = max(len(lines) * line_h + 8, 40)
    d = min(banner_h - 8, 2 * line_h)
    banner = np.full((banner_h, w, 3), 24, np.uint8)
    wheel, disc = color_wheel(d, max_px)
    x0 = 4
    if w >= d + 8:
        region = banner[4:4 + d, x0:x0 + d]
        region[disc] = wheel[disc]
        x0 += d + 8
    for k, text in enumerate(lines):
        if text:
            cv2.putText(banner, text, (x0, 4 + line_h * (k + 1) - 6), font, font_scale, (240, 240, 240), 1, cv2.LINE_AA)
    return np.concatenate([canvas, banner], axis=0)
