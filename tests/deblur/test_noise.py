"""noise_sigma: recovers a known noise level on images with edges, clipping and odd shapes."""

import numpy as np
import pytest

from jitteredge.deblurring.noise import noise_sigma


def _scene(h=61, w=67):
    """A smooth ramp with a strong step edge and a bright disc: structure the estimate must ignore."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = 60 + 0.8 * xx + 0.3 * yy + 70 * (xx > w / 2)
    base += 40 * (((yy - h / 3) ** 2 + (xx - w / 4) ** 2) < 100)
    return np.repeat(base[..., None], 3, axis=2)


@pytest.mark.parametrize("sigma", [1.0, 3.0, 8.0])
def test_recovers_known_sigma_float(sigma):
    rng = np.random.default_rng(0)
    img = _scene() + sigma * rng.standard_normal((61, 67, 3)).astype(np.float32)
    assert noise_sigma(img) == pytest.approx(sigma, rel=0.1)


@pytest.mark.parametrize("sigma", [2.0, 6.0])
def test_recovers_known_sigma_uint8_half_blown_out(sigma):
    # half the photo clipped at white carries no noise; it must not pull the estimate down
    rng = np.random.default_rng(1)
    img = _scene() + sigma * rng.standard_normal((61, 67, 3)).astype(np.float32)
    img[:, :30] = 300.0
    photo = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    assert noise_sigma(photo) == pytest.approx(sigma, rel=0.12)


def test_grey_image_and_mask():
    rng = np.random.default_rng(2)
    img = _scene()[..., 0] + 4.0 * rng.standard_normal((61, 67)).astype(np.float32)
    img[:20] = _scene()[:20, :, 0]  # a noise-free band, masked out
    mask = np.ones(img.shape, bool)
    mask[:22] = False
    assert noise_sigma(img, mask) == pytest.approx(4.0, rel=0.1)
    assert noise_sigma(img) < 3.5  # without the mask the clean band lowers it (the mask matters)


def test_clean_empty_and_bad_input():
    assert noise_sigma(np.full((9, 9, 3), 128, np.uint8)) == 0.0
    assert noise_sigma(np.zeros((9, 9), np.float32), np.zeros((9, 9), bool)) == 0.0
    with pytest.raises(ValueError):
        noise_sigma(np.zeros((2, 9), np.float32))
    with pytest.raises(ValueError):
        noise_sigma(np.zeros((9, 9), np.float32), np.ones((8, 9), bool))
