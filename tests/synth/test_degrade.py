import cv2
import numpy as np
import pytest

from jitteredge.synth import degrade


@pytest.fixture
def rng():
    return np.random.default_rng(7)


@pytest.mark.parametrize("gamma", [1.8, 2.2, 2.6])
def test_tone_curve_round_trip_is_exact_for_every_level(gamma):
    levels = np.arange(256, dtype=np.uint8).reshape(16, 16, 1)
    linear = degrade.decode_tone(levels, gamma)
    assert linear.dtype == np.float32
    assert linear.min() == 0.0 and linear.max() == 1.0
    assert np.all(np.diff(linear.ravel()) > 0)  # monotone
    np.testing.assert_array_equal(degrade.encode_tone(linear, gamma), levels)


def test_decode_tone_is_linear_light():
    # mid grey (128) is far darker than half in linear light for gamma 2.2
    assert degrade.decode_tone(np.array([128], np.uint8), 2.2)[0] == pytest.approx((128 / 255) ** 2.2, rel=1e-5)


def test_encode_tone_clips_lights(rng):
    linear = np.array([[[-0.5, 0.0, 3.0]]], np.float32)
    np.testing.assert_array_equal(degrade.encode_tone(linear, 2.2), [[[0, 0, 255]]])


def test_boost_highlights_lifts_only_lights():
    x = np.array([0.2, 0.85, 0.925, 1.0], np.float32)
    out = degrade.boost_highlights(x.copy(), threshold=0.85, gain=4.0)
    np.testing.assert_allclose(out, [0.2, 0.85, 0.925 + 2.0, 5.0], rtol=1e-6)
    np.testing.assert_array_equal(degrade.boost_highlights(x.copy(), 0.85, 0.0), x)


def test_decode_boost_matches_the_two_steps(rng):
    rgb = rng.integers(0, 256, (9, 11, 3), dtype=np.uint8)
    expected = degrade.boost_highlights(degrade.decode_tone(rgb, 2.4), 0.8, 3.0)
    np.testing.assert_allclose(degrade.decode_boost(rgb, 2.4, 0.8, 3.0), expected, rtol=1e-6)
    np.testing.assert_array_equal(degrade.decode_boost(rgb, 2.4), degrade.decode_tone(rgb, 2.4))


def test_noise_encode_without_noise_is_encode_tone(rng):
    linear = rng.uniform(-0.1, 1.2, (10, 13, 3)).astype(np.float32)
    expected = degrade.encode_tone(linear.copy(), 2.0)
    np.testing.assert_array_equal(degrade.noise_encode(linear, 2.0), expected)


def test_sensor_noise_variance_follows_the_signal(rng):
    shot, read = 4e-3, 1e-4
    for level in (0.05, 0.5):
        x = np.full((64, 64, 3), level, np.float32)
        noisy = degrade.add_sensor_noise(x, rng, shot, read)
        assert noisy.mean() == pytest.approx(level, abs=3e-3)
        assert noisy.var() == pytest.approx(shot * level + read, rel=0.1)


def test_noise_encode_adds_the_same_noise_as_add_sensor_noise(rng):
    linear = rng.uniform(0.1, 0.9, (8, 8, 3)).astype(np.float32)
    noise = rng.standard_normal(linear.size, dtype=np.float32)
    expected = linear + np.sqrt(2e-3 * linear + 1e-5) * noise.reshape(linear.shape)
    np.testing.assert_array_equal(degrade.noise_encode(linear, 2.2, noise, 2e-3, 1e-5),
                                  degrade.encode_tone(expected.astype(np.float32), 2.2))


def test_standard_normal_pool_is_seeded_and_normal():
    a = degrade.standard_normal_pool(np.random.default_rng(1), 50_000)
    b = degrade.standard_normal_pool(np.random.default_rng(1), 50_000)
    c = degrade.standard_normal_pool(np.random.default_rng(2), 50_000)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert abs(a.mean()) < 0.02 and a.std() == pytest.approx(1.0, abs=0.02)


def test_jpeg_roundtrip_loses_more_at_low_quality(rng):
    img = cv2.GaussianBlur(rng.integers(0, 256, (48, 48, 3), dtype=np.uint8), (0, 0), 1.0)
    hi, lo = degrade.jpeg_roundtrip(img, 95), degrade.jpeg_roundtrip(img, 20)
    assert hi.shape == img.shape and hi.dtype == np.uint8
    err = lambda x: np.abs(x.astype(int) - img).mean()  # noqa: E731
    assert err(hi) < err(lo)


def test_jpeg_roundtrip_keeps_colour_order():
    red = np.zeros((16, 16, 3), np.uint8)
    red[..., 0] = 200
    out = degrade.jpeg_roundtrip(red, 90)
    assert out[..., 0].mean() > 180 and out[..., 2].mean() < 20


def test_box_downsample_averages_boxes():
    img = np.arange(7 * 9, dtype=np.float32).reshape(7, 9)
    out = degrade.box_downsample(img, 3)
    assert out.shape == (2, 3)
    assert out[1, 2] == pytest.approx(img[3:6, 6:9].mean())
    assert degrade.box_downsample(img, 1) is img
    with pytest.raises(ValueError):
        degrade.box_downsample(img, 0)


def test_disk_kernel():
    assert degrade.disk_kernel(0).shape == (3, 3) and degrade.disk_kernel(0)[1, 1] == pytest.approx(1.0)
    k = degrade.disk_kernel(3.0)
    assert k.sum() == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_allclose(k, k.T, atol=1e-7)
    np.testing.assert_allclose(k, k[::-1, ::-1], atol=1e-7)
    c = k.shape[0] // 2
    assert k[c, c] == k[c, c + 2] > 0  # flat inside, unlike a Gaussian
    assert k[0, 0] == 0.0  # corners outside the disk


def test_disk_blur_reduced_scale_matches_direct(rng):
    img = cv2.GaussianBlur(rng.uniform(size=(64, 64, 3)).astype(np.float32), (0, 0), 1.5)
    direct = cv2.filter2D(img, -1, degrade.disk_kernel(7.0), borderType=cv2.BORDER_REFLECT)
    assert np.abs(degrade.disk_blur(img, 7.0) - direct).mean() < 0.01


def test_defocus_turns_a_light_into_a_disk():
    img = np.zeros((41, 41, 1), np.float32)
    img[20, 20] = 100.0
    out = degrade.defocus(img, np.full((41, 41), 3.0, np.float32), levels=3)[..., 0]
    assert out.sum() == pytest.approx(100.0, rel=1e-4)
    assert out[20, 22] == pytest.approx(out[20, 20], rel=1e-5)  # flat top
    assert out[20, 25] == 0.0 and out[25, 20] == 0.0  # sharp rim
    wide = degrade.defocus(img, np.full((41, 41), 8.0, np.float32), levels=3)[..., 0]  # reduced-scale path
    assert wide.sum() == pytest.approx(100.0, rel=0.02)
    assert wide[20, 24] > 0.7 * wide[20, 20] and wide[20, 31] < 0.05 * wide[20, 20]


def test_defocus_zero_radius_is_identity_and_varies_in_space(rng):
    img = rng.uniform(size=(32, 32, 3)).astype(np.float32)
    np.testing.assert_array_equal(degrade.defocus(img, np.zeros((32, 32), np.float32)), img)
    radius = np.zeros((32, 32), np.float32)
    radius[:, 16:] = 3.0
    out = degrade.defocus(img, radius, levels=4)
    np.testing.assert_allclose(out[:, :16], img[:, :16], atol=1e-6)
    assert out[:, 20:].std() < 0.6 * img[:, 20:].std()


def test_portrait_radius_map(rng):
    r = degrade.portrait_radius_map(48, 40, rng, 6.0)
    assert r.shape == (48, 40) and r.dtype == np.float32
    assert r.min() == 0.0 and 3.0 < r.max() <= 6.0
    assert (r == 0).mean() > 0.02  # a sharp subject
    full = degrade.portrait_radius_map(48, 40, rng, 6.0, full_frame=True)
    assert full.min() >= 3.0 - 1e-5 and full.max() <= 6.0 + 1e-5


def test_decode_area_is_pixel_area_averaging_in_linear_light(rng):
    img = rng.integers(0, 256, (37, 45, 3), dtype=np.uint8)
    out = degrade.decode_area(img, (20, 24), gamma=1.0)
    expected = cv2.resize(img.astype(np.float32) / 255.0, (24, 20), interpolation=cv2.INTER_AREA)
    np.testing.assert_allclose(out, expected, atol=1e-5)
    # with a response curve the average is taken after linearising (brighter than averaging codes)
    checker = np.zeros((8, 8, 3), np.uint8)
    checker[::2, ::2] = checker[1::2, 1::2] = 255
    assert degrade.decode_area(checker, (4, 4), gamma=2.2) == pytest.approx(0.5)
    np.testing.assert_array_equal(degrade.decode_area(img, (37, 45), 2.2), degrade.decode_tone(img, 2.2))
    with pytest.raises(ValueError):
        degrade.decode_area(img, (40, 45), 2.2)


@pytest.mark.parametrize("sigma_px", [0.0, 1.5])
def test_grain_has_its_strength_and_clump_size(rng, sigma_px):
    flat = np.full((96, 128, 3), 128, np.uint8)
    out = degrade.add_grain(flat, rng, std_levels=4.0, sigma_px=sigma_px)
    assert out.shape == flat.shape and out.dtype == np.uint8
    noise = out.astype(np.float64) - 128.0
    assert noise.std() == pytest.approx(4.0, rel=0.1)
    np.testing.assert_array_equal(noise[..., 0], noise[..., 2])  # luminance grain: every channel alike
    g = noise[..., 0]
    neighbour = np.corrcoef(g[:, :-1].ravel(), g[:, 1:].ravel())[0, 1]
    assert (neighbour > 0.6) if sigma_px else (abs(neighbour) < 0.1)  # clumps, or white noise
