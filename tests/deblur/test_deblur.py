"""deblur(): unshaken and flat pixels unchanged to the bit, a blurred texture restored, tiles, dtypes, bad input."""

import dataclasses

import numpy as np
import pytest

from jitteredge.deblurring import DeblurSettings, deblur
from jitteredge.deblurring import tone
from jitteredge.deblurring.restore import changed_mask, plan_tiles
from jitteredge.synth.blur import apply_field

GAMMA = DeblurSettings().gamma


@pytest.fixture
def rng():
    return np.random.default_rng(7)


def texture(rng, h, w):
    """A sharp uint8 texture: random blocks of 3 px (edges a blur visibly softens)."""
    small = rng.integers(30, 220, size=(h // 3 + 1, w // 3 + 1, 3)).astype(np.uint8)
    return np.repeat(np.repeat(small, 3, axis=0), 3, axis=1)[:h, :w].copy()


def shaken(sharp, u, v):
    """Blur in linear light with a constant field, as a camera does; returns (photo, field)."""
    field = np.zeros(sharp.shape[:2] + (2,), np.float32)
    field[...] = (u, v)
    return tone.to_stored(apply_field(tone.to_linear(sharp, GAMMA), field), GAMMA, np.uint8), field


def psnr(a, b):
    return 10 * np.log10(255.0 ** 2 / np.mean((a.astype(np.float64) - b) ** 2))


def test_a_blurred_texture_comes_back_sharper(rng):
    sharp = texture(rng, 40, 44)
    photo, field = shaken(sharp, 6.0, 2.0)
    out = deblur(photo, field, DeblurSettings(method="hyper-laplacian", iterations=12))
    assert out.dtype == np.uint8 and out.shape == photo.shape
    assert psnr(sharp, out) > psnr(sharp, photo) + 2.0
    stronger = deblur(photo, field, DeblurSettings(method="hyper-laplacian", iterations=12, strength=4.0))  # noise-free: a weaker prior helps
    assert psnr(sharp, stronger) > psnr(sharp, out)


def test_rl_tv_the_default_also_restores(rng):
    assert DeblurSettings().method == "rl-tv"
    sharp = texture(rng, 36, 36)
    photo, field = shaken(sharp, 0.0, 5.0)
    out = deblur(photo, field, DeblurSettings(iterations=12))
    assert psnr(sharp, out) > psnr(sharp, photo) + 1.0


def test_short_blurs_and_flat_areas_are_unchanged_to_the_bit(rng):
    photo = texture(rng, 40, 40)
    photo[:, 20:] = 128  # a flat half: no evidence there
    field = np.zeros((40, 40, 2), np.float32)
    field[:20, :, 0] = 1.9  # under the shaken threshold (2 px)
    field[20:, :, 0] = 7.0  # shaken, on texture and on the flat half
    out = deblur(photo, field)
    changed = changed_mask(field, np.ones((40, 40), bool), 2.0)
    assert not changed[:20].any()
    np.testing.assert_array_equal(out[:20], photo[:20])  # short blur
    np.testing.assert_array_equal(out[24:, 26:], photo[24:, 26:])  # flat, far from texture
    assert (out[24:, :14] != photo[24:, :14]).any()  # shaken texture is restored


def test_zero_field_and_zero_iterations_return_the_photo(rng):
    photo = texture(rng, 20, 24)
    np.testing.assert_array_equal(deblur(photo, np.zeros((20, 24, 2), np.float32)), photo)
    field = np.full((20, 24, 2), 5.0, np.float32)
    np.testing.assert_array_equal(deblur(photo, field, DeblurSettings(iterations=0)), photo)


def test_sixteen_bits_in_sixteen_bits_out(rng):
    sharp = texture(rng, 30, 30).astype(np.uint16) * 257
    photo16 = tone.to_stored(apply_field(tone.to_linear(sharp, GAMMA), np.full((30, 30, 2), 4.0, np.float32)),
                             GAMMA, np.uint16)
    out = deblur(photo16, np.full((30, 30, 2), 4.0, np.float32), DeblurSettings(iterations=6))
    assert out.dtype == np.uint16 and out.shape == photo16.shape
    assert np.abs(out.astype(np.int64) - photo16).max() > 257  # changed by more than one 8-bit level


def test_tiles_cover_the_changed_pixels_and_agree_with_one_tile(rng):
    sharp = texture(rng, 70, 90)
    photo, field = shaken(sharp, 4.0, -3.0)
    changed = np.ones((70, 90), bool)
    tiles = plan_tiles(changed, field, 32, 8)
    covered = np.zeros((70, 90), int)
    for t in tiles:
        covered[t.core] += 1
        assert t.ext[0].start <= t.core[0].start and t.ext[1].stop >= t.core[1].stop
    assert (covered == 1).all()
    cfg = DeblurSettings(method="hyper-laplacian", iterations=8)
    one = deblur(photo, field, cfg)
    tiled = deblur(photo, field, dataclasses.replace(cfg, tile_px=32))
    # the margins keep the seams small: the tiled result is within a few levels of the single tile's
    assert np.abs(one.astype(int) - tiled).mean() < 2.0
    assert psnr(sharp, tiled) > psnr(sharp, photo) + 2.0


def test_clipped_pixels_do_not_ring(rng):
    sharp = texture(rng, 40, 40)
    sharp[12:28, 12:28] = 255  # a clipped light
    photo, field = shaken(sharp, 6.0, 0.0)
    out = deblur(photo, field, DeblurSettings(iterations=12))
    assert psnr(sharp, out) > psnr(sharp, photo)


@pytest.mark.parametrize("image,field,match", [
    (np.zeros((8, 8, 3), np.float32), np.zeros((8, 8, 2), np.float32), "uint8 or uint16"),
    (np.zeros((8, 8), np.uint8), np.zeros((8, 8, 2), np.float32), r"\(H, W, 3\)"),
    (np.zeros((8, 8, 3), np.uint8), np.zeros((8, 9, 2), np.float32), "field must have shape"),
    (np.zeros((8, 8, 3), np.uint8), np.full((8, 8, 2), np.nan, np.float32), "NaN"),
])
def test_bad_input_raises_a_clear_value_error(image, field, match):
    with pytest.raises(ValueError, match=match):
        deblur(image, field)


@pytest.mark.parametrize("change", [{"method": "wiener"}, {"iterations": -1}, {"strength": 0.0}, {"tile_px": 8}])
def test_bad_settings_are_refused(change):
    with pytest.raises(ValueError):
        deblur(np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8, 2), np.float32), DeblurSettings(**change))


def test_settings_round_trip_and_refuse_unknown_keys():
    s = DeblurSettings(iterations=7, strength=1.5)
    assert DeblurSettings.from_dict(s.to_dict()) == s
    with pytest.raises(ValueError, match="unknown"):
        DeblurSettings.from_dict({"iterations": 3, "colour": "red"})


def test_library_entry_point():
    import jitteredge

    assert jitteredge.deblur is deblur


def test_restored_pixels_stay_within_the_photos_local_range():
    """An overshoot past every observed value within half the longest blur is clipped to that range;
    values inside it, and tiles without blur, are left alone."""
    from jitteredge.deblurring.restore import clamp_to_local_range

    stored = np.full((12, 12, 3), 100, np.uint8)
    stored[:, 6:] = 200  # a vertical edge
    field = np.zeros((12, 12, 2), np.float32)
    field[..., 0] = 4.0  # horizontal blur of 4 px: a window of 2 px either side
    restored = stored[2:10, 2:10].copy()
    restored[:, 0] = 40  # a dark halo beside the edge, 3 px from it: below every value near it
    restored[:, 5] = 255  # a bright overshoot next to the edge
    restored[:, 3] = 150  # a value inside the local range (100-200 across the edge)
    out = clamp_to_local_range(restored, stored, field, (2, 2))
    assert (out[:, 0] == 100).all() and (out[:, 5] == 200).all() and (out[:, 3] == 150).all()
    assert clamp_to_local_range(restored, stored, np.zeros_like(field), (2, 2)) is restored


def test_the_local_range_guard_can_be_turned_off(rng):
    sharp = texture(rng, 48, 48)
    photo, field = shaken(sharp, 7.0, 3.0)
    guarded = deblur(photo, field)
    free = deblur(photo, field, DeblurSettings(local_range=False))
    assert not np.array_equal(guarded, free)
    assert DeblurSettings.from_dict(DeblurSettings(local_range=False).to_dict()).local_range is False
