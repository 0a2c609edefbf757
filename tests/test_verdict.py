"""Image-level verdicts from a field: threshold, score, blur length and direction, burst order."""

from __future__ import annotations

import numpy as np
import pytest

from jitteredge.verdict import Verdict, judge_field, sharpness_order_key


def _constant(u: float, v: float, shape=(20, 30)) -> np.ndarray:
    field = np.zeros(shape + (2,), np.float32)
    field[..., 0], field[..., 1] = u, v
    return field


def test_constant_shake_reads_its_length_and_direction():
    verdict = judge_field(_constant(3.0, 3.0), input_scale=2.0, path="p.jpg")
    assert verdict.shaken and verdict.score == 1.0 and verdict.shaken_fraction == 1.0
    assert verdict.blur_px == pytest.approx(2.0 * np.hypot(3.0, 3.0), abs=1e-3)  # in input pixels
    assert verdict.direction_deg == pytest.approx(45.0, abs=1e-2)
    assert judge_field(_constant(-3.0, -3.0)).direction_deg == pytest.approx(45.0, abs=1e-2)  # M and -M alike


def test_short_or_local_blur_is_not_shaken():
    assert not judge_field(_constant(0.0, 1.9)).shaken
    field = _constant(0.0, 0.0)
    field[:1, :20] = (8.0, 0.0)  # 20 of 600 pixels (3.3%): under the 5% area that decides
    verdict = judge_field(field)
    assert not verdict.shaken and verdict.shaken_fraction == pytest.approx(20 / 600, abs=1e-4)
    field[:2, :30] = (8.0, 0.0)  # 10%: shaken where it shook
    assert judge_field(field).shaken


def test_score_is_half_at_the_threshold():
    assert judge_field(_constant(2.0, 0.0)).score == pytest.approx(0.5)
    assert judge_field(_constant(1.0, 0.0)).score == pytest.approx(0.25)


def _verdict(fraction: float, blur_px: float, score: float) -> Verdict:
    return Verdict(path="", shaken=score >= 0.5, score=score, shaken_fraction=fraction, blur_px=blur_px, direction_deg=0.0)


def test_burst_order_ranks_saturated_scores_by_blur_extent():
    frames = {
        "wide long blur": _verdict(1.0, 14.0, 1.0),
        "sharp": _verdict(0.0, 0.0, 0.1),
        "nearly sharp": _verdict(0.0, 0.0, 0.4),
        "wide short blur": _verdict(1.0, 3.0, 1.0),
        "small long blur": _verdict(0.1, 14.0, 1.0),
    }
    order = sorted(frames, key=lambda k: sharpness_order_key(frames[k]))
    assert order == ["sharp", "nearly sharp", "small long blur", "wide short blur", "wide long blur"]
