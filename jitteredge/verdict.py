"""From a per-pixel field to an image-level verdict: shaken or not, how far, which way.

A pixel is shaken when its blur is longer than SHAKEN_PX and the photo has the local contrast to show
it (jitteredge.evidence); the photo is shaken when more than 5% of its pixels are.

The Android demo (android_demo/.../Verdict.java) mirrors this file line for line; golden vectors
written by tests keep the two in step.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

SHAKEN_PX = 2.0  # a pixel counts as shaken when its blur is longer than this (working-resolution px)
AREA_QUANTILE = 0.95  # the image is shaken when more than 5% of its pixels are


@dataclass
class Verdict:
    path: str
    shaken: bool  # score >= 0.5, i.e. more than (1 - AREA_QUANTILE) of the pixels are shaken (where seen)
    score: float  # 0-1, higher = more shake; 0.5 where the AREA_QUANTILE blur equals SHAKEN_PX
    shaken_fraction: float  # share of pixels with blur > SHAKEN_PX (working resolution)
    blur_px: float  # median blur length over shaken pixels, in input-image pixels (0 if none)
    direction_deg: float  # dominant blur orientation in [0, 180), image x axis, y down; 0 if none
    seen_fraction: float = 1.0  # share of pixels with the contrast to show blur (jitteredge.evidence); a
    #                             photo that shows little (a white wall, a clear sky) is "sharp" on little

    def to_dict(self) -> dict:
        """Every field as computed (0.0 blur and direction when no pixel is shaken): what the Android
        demo's Verdict mirrors and the golden vectors hold."""
        return asdict(self)

    @property
    def any_shaken(self) -> bool:
        """Is any pixel shaken? Without one, blur_px and direction_deg are undefined (held as 0.0)."""
        return self.blur_px > 0.0

    def to_report(self) -> dict:
        """The verdict as reported to a user (analyze --json): blur_px and direction_deg are None
        (JSON null) when no pixel is shaken, since a median or an orientation of nothing is undefined."""
        d = asdict(self)
        if not self.any_shaken:
            d["blur_px"] = d["direction_deg"] = None
        return d

    def summary(self) -> str:
        """One line for a person: the state, the score, and the blur said as what it is, a median over
        the shaken pixels only (a sharp photo can have a few long-blurred pixels)."""
        state = "SHAKEN" if self.shaken else "sharp "
        if self.any_shaken:
            blur = (f"{100 * self.shaken_fraction:.1f}% shaken, median blur {self.blur_px:.1f} px "
                    f"at {self.direction_deg:.0f} deg there")
        else:
            blur = f"no pixel blurred over {SHAKEN_PX:g} working px"
        return f"{state} score {self.score:.2f}  {blur}  seen {100 * self.seen_fraction:.0f}%"


def judge_field(field: np.ndarray, input_scale: float = 1.0, path: str = "", shaken_px: float = SHAKEN_PX,
                evidence: np.ndarray | None = None) -> Verdict:
    """Judge a field measured at working resolution.

    Args:
        field: float32 (H, W, 2) field in working-resolution pixels.
        input_scale: input pixels per working pixel (>= 1 when the photo was reduced).
        path: the image the field belongs to.
        shaken_px: per-pixel threshold in working pixels.
        evidence: boolean (H, W) mask of the pixels where blur could be seen
            (jitteredge.evidence.blur_evidence of the working photo); elsewhere the field is read
            as no blur. None: every pixel counts.
    """
    u = field[..., 0].astype(np.float64).ravel()
    v = field[..., 1].astype(np.float64).ravel()
    mag = np.hypot(u, v)
    if mag.size == 0:
        raise ValueError("empty field")
    seen_fraction = 1.0
    if evidence is not None:
        if evidence.shape != field.shape[:2]:
            raise ValueError(f"evidence mask {evidence.shape} does not match the field {field.shape[:2]}")
        mag = np.where(evidence.ravel(), mag, 0.0)  # a flat area shows no blur: no shake seen there
        seen_fraction = float(np.count_nonzero(evidence)) / evidence.size
    shaken_mask = mag > shaken_px
    shaken_fraction = float(shaken_mask.mean())
    q = float(np.quantile(mag, AREA_QUANTILE))
    score = min(1.0, q / (2.0 * shaken_px))
    if shaken_mask.any():
        blur_px = float(np.median(mag[shaken_mask])) * input_scale
        su, sv, sm = u[shaken_mask], v[shaken_mask], mag[shaken_mask]
        # Mean of the doubled angle weighted by length: sign-invariant.
        c = float(np.sum((su * su - sv * sv) / sm))
        s = float(np.sum(2.0 * su * sv / sm))
        direction_deg = (math.degrees(0.5 * math.atan2(s, c))) % 180.0
    else:
        blur_px, direction_deg = 0.0, 0.0
    return Verdict(path=path, shaken=score >= 0.5, score=round(score, 4), shaken_fraction=round(shaken_fraction, 4),
                   blur_px=round(blur_px, 3), direction_deg=round(direction_deg, 2),
                   seen_fraction=round(seen_fraction, 4))


def sharpness_order_key(verdict: Verdict) -> tuple[float, float]:
    """Sort key that puts the sharpest photo of a burst first (smaller = sharper).

    The score saturates at 1 for every clearly shaken frame, so it cannot rank those; the primary
    key is the expected blur over the whole image, shaken_fraction x blur_px (input pixels), which
    keeps growing with both the shaken area and the blur length. Frames with no shaken pixel tie
    at 0 and are ordered by their score (the 95% blur quantile), which still tells them apart.
    """
    return (verdict.shaken_fraction * verdict.blur_px, verdict.score)
