"""The evidence mask: where a photo has the local contrast to show blur, and the verdict it feeds."""

from __future__ import annotations

import numpy as np
import pytest

from jitteredge.evidence import blur_evidence
from jitteredge.verdict import judge_field


def _local_std(rgb: np.ndarray, radius: int) -> np.ndarray:
    """Standard deviation of (R + 2G + B) / 4 over each clipped window, the slow and obvious way."""
    r, gr, b = (rgb[..., k].astype(np.float64) for k in range(3))
    g = (r + 2.0 * gr + b) / 4.0
    h, w = g.shape
    out = np.empty((h, w))
    for y in range(h):
        for x in range(w):
            out[y, x] = g[max(0, y - radius):y + radius + 1, max(0, x - radius):x + radius + 1].std()
    return out


@pytest.mark.parametrize("shape, radius, min_std", [((23, 31), 4, 5), ((9, 40), 2, 3), ((3, 3), 4, 5)])
def test_mask_is_the_local_standard_deviation_over_the_threshold(shape, radius, min_std):
    rng = np.random.default_rng(sum(shape))
    amplitude = np.linspace(0.0, 3.0 * min_std, shape[1])[None, :, None]  # flat on the left, busy on the right
    rgb = np.clip(120 + rng.normal(0, 1, shape + (1,)) * amplitude, 0, 255).repeat(3, axis=2).astype(np.uint8)
    std = _local_std(rgb, radius)
    mask = blur_evidence(rgb, radius, min_std)
    clear = np.abs(std - min_std) > 1e-9  # ties are decided by the integer test, not by float rounding
    assert clear.mean() > 0.9
    if min(shape) > 2 * radius:
        assert 0.1 < mask.mean() < 0.9  # both answers occur
    np.testing.assert_array_equal(mask[clear], (std > min_std)[clear])


def test_flat_and_textured_areas():
    rgb = np.full((40, 60, 3), 128, np.uint8)
    rgb[:, 40:] = np.random.default_rng(0).integers(0, 256, (40, 20, 3))
    mask = blur_evidence(rgb)
    assert not mask[:, :30].any()  # more than a window away from the texture: nothing to see
    assert mask[:, 40:].all()


def test_shaken_texture_keeps_its_evidence():
    """Blur lowers local contrast, but a 20 px shake of 1/f noise keeps evidence over far more than the
    5% of the area the verdict needs; a short one keeps nearly all of it."""
    from jitteredge.synth.blur import apply_field
    from jitteredge.synth.speed import pink_noise_image

    image = pink_noise_image(96, np.random.default_rng(1))
    field = np.zeros((96, 96, 2), np.float32)
    shares = []
    for length in (0.0, 6.0, 20.0):
        field[..., 0], field[..., 1] = 0.8 * length, 0.6 * length
        blurred = np.clip(apply_field(image, field), 0, 255).astype(np.uint8)
        shares.append(blur_evidence(blurred).mean())
    assert shares[0] > 0.99 and shares[1] > 0.85 and shares[2] > 0.25
    assert shares[0] > shares[1] > shares[2]


def test_verdict_ignores_blur_read_in_flat_areas():
    field = np.zeros((40, 60, 2), np.float32)
    field[:, :30] = (5.0, 0.0)  # the network reads 5 px over the left half
    sky = np.full((40, 60, 3), 200, np.uint8)  # ... of a clear sky
    textured = np.random.default_rng(2).integers(0, 256, (40, 60, 3)).astype(np.uint8)
    assert judge_field(field).shaken
    assert judge_field(field, evidence=blur_evidence(textured)).shaken
    verdict = judge_field(field, evidence=blur_evidence(sky))
    assert not verdict.shaken and verdict.shaken_fraction == 0.0 and verdict.score == 0.0
    assert verdict.seen_fraction == 0.0  # ... and it says it saw nothing
    half = blur_evidence(np.concatenate([sky[:, :30], textured[:, 30:]], axis=1))
    assert judge_field(field, evidence=half).seen_fraction == round(float(half.mean()), 4)
    assert judge_field(field).seen_fraction == 1.0
    with pytest.raises(ValueError, match="evidence mask"):
        judge_field(field, evidence=np.ones((4, 4), bool))


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="uint8"):
        blur_evidence(np.zeros((4, 4, 3), np.float32))
    with pytest.raises(ValueError, match="uint8"):
        blur_evidence(np.zeros((4, 4), np.uint8))
    with pytest.raises(ValueError, match=">= 0"):
        blur_evidence(np.zeros((4, 4, 3), np.uint8), radius=-1)
