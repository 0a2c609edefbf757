from dataclasses import replace

import numpy as np
import pytest

from jitteredge.synth.degrade import decode_tone
from jitteredge.synth.paths import TrajectoryConfig
from jitteredge.synth.sample import KINDS, SampleConfig, choose_kind, crop_photo, make_sample, measure_sample_throughput
from jitteredge.synth.sources import DeadLeavesConfig, dead_leaves

ONLY = {k: {f"{o}_fraction": float(o == k) for o in ("shake", "curved", "sharp", "defocus")}
        for k in ("shake", "curved", "sharp", "defocus")}
BASE = SampleConfig(size_px=40, subject_fraction=0.0, trajectory=TrajectoryConfig(steps=8))
# no realism at all: the sample is the cropped photo through the tone curve and back
CLEAN = replace(BASE, noise=False, jpeg=False, highlight_prob=0.0, point_lights_prob=0.0, zoom=(1.0, 1.0),
                hflip_prob=0.0, vflip_prob=0.0)


@pytest.fixture(scope="module")
def photo():
    return dead_leaves(np.random.default_rng(5), DeadLeavesConfig(size_px=64, shapes=120, max_radius_px=30.0))


def _needs_blur(kind):
    if kind in ("shake", "subject"):
        pytest.importorskip("jitteredge.synth.blur")


@pytest.mark.parametrize("kind", ["shake", "curved", "sharp", "defocus"])
def test_each_kind_has_the_contract_shapes_and_is_seeded(photo, kind):
    _needs_blur(kind)
    cfg = replace(BASE, **ONLY[kind])
    a = make_sample(photo, np.random.default_rng(1), cfg)
    b = make_sample(photo, np.random.default_rng(1), cfg)
    c = make_sample(photo, np.random.default_rng(2), cfg)
    assert a.kind == kind
    assert a.image.shape == (40, 40, 3) and a.image.dtype == np.uint8
    assert a.field.shape == (40, 40, 2) and a.field.dtype == np.float32
    np.testing.assert_array_equal(a.image, b.image)
    np.testing.assert_array_equal(a.field, b.field)
    assert a.params == b.params
    assert not np.array_equal(a.image, c.image)
    if kind in ("sharp", "defocus"):
        assert not a.field.any()


def test_clean_sharp_sample_is_the_photo(photo):
    cfg = replace(CLEAN, **ONLY["sharp"])
    sample = make_sample(photo, np.random.default_rng(3), cfg)
    x0, y0 = sample.params["crop_xy"]
    np.testing.assert_array_equal(sample.image, photo[y0: y0 + 40, x0: x0 + 40])


def test_sharp_samples_are_still_degraded(photo):
    cfg = replace(BASE, **ONLY["sharp"], zoom=(1.0, 1.0), hflip_prob=0.0, vflip_prob=0.0, noise_shot=(1e-3, 1e-3), jpeg_prob=1.0)
    sample = make_sample(photo, np.random.default_rng(3), cfg)
    x0, y0 = sample.params["crop_xy"]
    diff = np.abs(sample.image.astype(int) - photo[y0: y0 + 40, x0: x0 + 40])
    assert diff.mean() > 1.0 and "jpeg_quality" in sample.params and "noise_shot" in sample.params


def test_shaken_sample_is_blurred_along_its_field(photo):
    _needs_blur("shake")
    cfg = replace(CLEAN, **ONLY["shake"], blur_scale=(1.0, 1.0), mild_fraction=0.0)
    sample = make_sample(photo, np.random.default_rng(4), cfg)
    sharp = make_sample(photo, np.random.default_rng(4), replace(cfg, **ONLY["sharp"]))
    assert np.hypot(sample.field[..., 0], sample.field[..., 1]).mean() > 1.0
    grad = lambda im: np.abs(np.diff(im.astype(float), axis=1)).mean()  # noqa: E731
    assert grad(sample.image) < 0.8 * grad(sharp.image)


def test_blur_scale_zero_gives_zero_fields(photo):
    for kind in ("curved", "shake"):
        _needs_blur(kind)
        sample = make_sample(photo, np.random.default_rng(5), replace(BASE, **ONLY[kind], blur_scale=(0.0, 0.0)))
        assert not sample.field.any()


def test_curved_sample_is_labelled_and_blurred(photo):
    cfg = replace(CLEAN, **ONLY["curved"], blur_scale=(1.0, 1.0), mild_fraction=0.0)
    sample = make_sample(photo, np.random.default_rng(6), cfg)
    assert sample.kind == "curved" and "trajectory" in sample.params
    assert np.hypot(sample.field[..., 0], sample.field[..., 1]).max() > 2.0


def test_subject_motion_moves_only_a_region(photo):
    cfg = replace(CLEAN, **ONLY["curved"], subject_fraction=1.0, blur_scale=(1.0, 1.0), mild_fraction=0.0)
    sample = make_sample(photo, np.random.default_rng(8), cfg)
    assert sample.kind == "subject" and sample.params["motion"] == "curved"
    length = np.hypot(sample.field[..., 0], sample.field[..., 1])
    assert (length == 0).mean() > 0.1 and (length > 1).mean() > 0.05


def test_defocus_sample_is_soft_but_unshaken(photo):
    cfg = replace(CLEAN, **ONLY["defocus"], defocus_radius_px=(4.0, 4.0), defocus_full_fraction=1.0)
    sample = make_sample(photo, np.random.default_rng(9), cfg)
    x0, y0 = sample.params["crop_xy"]
    sharp = photo[y0: y0 + 40, x0: x0 + 40]
    grad = lambda im: np.abs(np.diff(im.astype(float), axis=0)).mean()  # noqa: E731
    assert grad(sample.image) < 0.7 * grad(sharp)
    assert not sample.field.any()


def test_small_photos_are_reflect_padded_never_enlarged():
    tiny = np.random.default_rng(0).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    crop, info = crop_photo(tiny, np.random.default_rng(0), CLEAN)
    assert crop.shape == (40, 40, 3)
    np.testing.assert_array_equal(crop[10:30, 5:35], tiny)  # the photo itself sits in the middle
    assert info["crop_side_px"] == 40


def test_zoom_reduces_and_flips_flip(photo):
    crop, info = crop_photo(photo, np.random.default_rng(0), replace(CLEAN, zoom=(0.5, 0.7), hflip_prob=1.0))
    assert crop.shape == (40, 40, 3) and 40 < info["crop_side_px"] <= 64 and info["hflip"]


def test_downsample_option_box_reduces_the_source(photo):
    cfg = replace(CLEAN, **ONLY["sharp"], downsample=2, size_px=32)
    sample = make_sample(photo, np.random.default_rng(0), cfg)
    half = photo.reshape(32, 2, 32, 2, 3).mean(axis=(1, 3))
    assert np.abs(sample.image.astype(float) - half).max() <= 1.0


def test_choose_kind_follows_the_mixture():
    rng = np.random.default_rng(0)
    kinds = [choose_kind(rng, SampleConfig()) for _ in range(4000)]
    shares = {k: kinds.count(k) / len(kinds) for k in set(kinds)}
    assert shares == pytest.approx({"shake": 0.45, "curved": 0.20, "sharp": 0.15, "defocus": 0.20}, abs=0.03)
    with pytest.raises(ValueError):
        choose_kind(rng, SampleConfig(shake_fraction=0, curved_fraction=0, sharp_fraction=0, defocus_fraction=0))


def test_lights_saturate_into_streaks(photo):
    """A boosted lamp stays white (clipped) along its streak instead of fading to grey."""
    img = np.full((48, 48, 3), 40, np.uint8)
    img[24, 24] = 255
    cfg = replace(CLEAN, **ONLY["curved"], size_px=48, blur_scale=(0.5, 0.5), mild_fraction=0.0, highlight_prob=1.0,
                  highlight_gain=(60.0, 60.0), trajectory=TrajectoryConfig(steps=2))
    sample = make_sample(img, np.random.default_rng(1), cfg)
    assert (sample.image == 255).all(axis=2).sum() >= 3
    no_boost = make_sample(img, np.random.default_rng(1), replace(cfg, highlight_prob=0.0))
    assert (no_boost.image == 255).all(axis=2).sum() < (sample.image == 255).all(axis=2).sum()


def test_gamma_is_applied_in_linear_light():
    """Blurring a black/white edge in linear light gives a brighter middle than blurring the stored values."""
    img = np.zeros((40, 40, 3), np.uint8)
    img[:, 20:] = 255
    cfg = replace(CLEAN, **ONLY["defocus"], gamma=(2.2, 2.2), defocus_radius_px=(6.0, 6.0), defocus_full_fraction=1.0)
    sample = make_sample(img, np.random.default_rng(0), cfg)
    middle = sample.image[:, 19:21].mean()
    assert middle > 150  # a gamma-space blur would give about 128
    assert decode_tone(np.array([middle.round()], np.uint8), 2.2)[0] == pytest.approx(0.5, abs=0.15)


def test_config_round_trip_and_validation():
    cfg = SampleConfig(size_px=64, gamma=(2.0, 2.4), trajectory=TrajectoryConfig(steps=9))
    assert SampleConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="unknown"):
        SampleConfig.from_dict({"blurriness": 3})
    assert set(KINDS) == {"shake", "curved", "subject", "sharp", "defocus"}


def test_measure_sample_throughput_reports():
    pytest.importorskip("jitteredge.synth.blur")
    result = measure_sample_throughput(size=32, n=6, source="procedural")
    assert result["n"] == 6 and result["samples_per_s"] > 0 and result["threads"] == 1
    assert sum(v["count"] for v in result["kinds"].values()) == 6


def test_rejects_non_rgb_input():
    with pytest.raises(ValueError):
        make_sample(np.zeros((40, 40), np.uint8), np.random.default_rng(0), BASE)


def test_grain_option_adds_grain_and_is_off_by_default(photo):
    cfg = replace(CLEAN, **ONLY["sharp"])
    plain = make_sample(photo, np.random.default_rng(4), cfg)
    grainy = make_sample(photo, np.random.default_rng(4), replace(cfg, grain_fraction=1.0, grain_std=(6.0, 6.0)))
    assert "grain_std" not in plain.params and grainy.params["grain_std"] == 6.0
    assert plain.params["crop_xy"] == grainy.params["crop_xy"]  # the same photo, only grain added
    assert np.abs(grainy.image.astype(int) - plain.image).mean() > 2.0
    assert SampleConfig().grain_fraction == 0.0


def test_low_light_darkens_streaks_lamps_and_amplifies_noise(photo):
    cfg = replace(BASE, **ONLY["shake"], jpeg=False, highlight_prob=0.0, point_lights_prob=0.0, blur_scale=(1.0, 1.0))
    plain = make_sample(photo, np.random.default_rng(6), cfg)
    dark = make_sample(photo, np.random.default_rng(6), replace(cfg, low_light_fraction=1.0, low_light_lamps=(6, 7),
                                                                 low_light_recovery=(0.2, 0.2)))
    assert "low_light_gain" not in plain.params and dark.params["low_light_lamps"] == 6
    assert dark.params["low_light_gain"] == pytest.approx(0.2 / dark.params["low_light_exposure"], rel=1e-3)
    # the lamps are drawn along the shake into clipped streaks: many more white pixels than lamps
    assert (dark.image.min(axis=2) == 255).sum() > 6 * 9
    # darker overall (the gain restores only a fifth of the light), and noisier in flat areas
    assert dark.image.mean() < plain.image.mean()
    assert np.hypot(dark.field[..., 0], dark.field[..., 1]).min() > 2.0  # still labelled by its motion
    assert SampleConfig().low_light_fraction == 0.0


def test_low_light_sharp_lamps_stay_points(photo):
    cfg = replace(CLEAN, **ONLY["sharp"], low_light_fraction=1.0, low_light_lamps=(5, 6))
    sample = make_sample(photo, np.random.default_rng(2), cfg)
    white = sample.image.min(axis=2) == 255
    assert 0 < white.sum() <= 5 * 9 and not sample.field.any()


def test_layered_portrait_keeps_a_sharp_subject_over_a_defocused_background(photo):
    cfg = replace(CLEAN, **ONLY["defocus"], portrait_fraction=1.0, portrait_radius_px=(6.0, 6.0))
    sample = make_sample(photo, np.random.default_rng(3), cfg)
    assert sample.params["defocus_portrait"] and not sample.field.any()
    from jitteredge.synth.degrade import layered_portrait

    rng = np.random.default_rng(0)
    subject = rng.uniform(0, 1, (48, 48, 3)).astype(np.float32)
    background = rng.uniform(0, 1, (48, 48, 3)).astype(np.float32)
    out, mask = layered_portrait(subject, background, np.random.default_rng(1), 6.0)
    inside, outside = mask > 0.99, mask < 0.01
    assert inside.any() and outside.any()
    np.testing.assert_allclose(out[inside], subject[inside], atol=0.02)  # the subject stays sharp
    grad = lambda im, m: np.abs(np.diff(im, axis=1))[m[:, 1:]].mean()  # noqa: E731
    assert grad(out, outside) < 0.3 * grad(background, outside)  # the background is blurred


def test_sample_overrides_from_plain_values():
    from jitteredge.synth.sample import coerce_sample_overrides

    kw = coerce_sample_overrides({"blur_scale": [0, 1.5], "trajectory": {"jerk_prob": 0.2}, "low_light_fraction": 0.3})
    cfg = SampleConfig(**kw)
    assert cfg.blur_scale == (0, 1.5) and cfg.trajectory.jerk_prob == 0.2 and cfg.trajectory.steps == 12
    with pytest.raises(ValueError, match="unknown sample setting 'nope'"):
        coerce_sample_overrides({"nope": 1})
    with pytest.raises(ValueError, match="trajectory setting"):
        coerce_sample_overrides({"trajectory": {"nope": 1}})


@pytest.mark.parametrize("overrides, message", [
    ({"blur_scale": "abc"}, "blur_scale must be tuple"),
    ({"blur_scale": [0, 1, 2]}, "blur_scale must be tuple"),
    ({"low_light_fraction": 2}, "low_light_fraction must be in \\[0, 1\\]"),
    ({"trajectory": {"jerk_prob": -0.1}}, "jerk_prob must be in \\[0, 1\\]"),
    ({"trajectory": 3}, "expected a table"),
    ({"jpeg": "yes"}, "jpeg must be bool"),
])
def test_sample_overrides_refuse_wrong_values_in_one_line(overrides, message):
    from jitteredge.synth.sample import coerce_sample_overrides

    with pytest.raises(ValueError, match=message):
        coerce_sample_overrides(overrides)
