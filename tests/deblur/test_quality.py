"""The deblur quality comparison: its photo source (the validation photos, never training's), its figures
(PSNR, SSIM against a pixel-by-pixel reference) and its baselines (unsharp mask, uniform kernel)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from jitteredge.deblurring import quality
from jitteredge.deblurring.quality import _open_source
from jitteredge.errors import JitterEdgeError
from jitteredge.synth.sources import open_source
from jitteredge.validation.synthetic import PROCEDURAL_FAMILY


def test_procedural_photos_are_the_validation_family_not_trainings():
    source, name = _open_source("procedural", seed=0)
    assert name == "procedural"
    photo = source.load(0)
    np.testing.assert_array_equal(photo, open_source("procedural", seed=PROCEDURAL_FAMILY).load(0))
    assert not np.array_equal(photo, open_source("procedural", seed=0).load(0))  # training draws family 0


def test_missing_bsds500_falls_back_to_validation_procedural(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("JITTEREDGE_BSDS500", str(tmp_path / "absent"))
    source, name = _open_source("bsds500:test", seed=0)
    assert name == "procedural" and "procedural" in capsys.readouterr().err
    np.testing.assert_array_equal(source.load(0), open_source("procedural", seed=PROCEDURAL_FAMILY).load(0))


def test_a_missing_folder_is_an_error_not_a_fallback(tmp_path):
    with pytest.raises(JitterEdgeError):
        _open_source(str(tmp_path / "no_such_folder"), seed=0)


# --- the figures and the baselines of the comparison -------------------------------------------------


@pytest.fixture
def rng():
    return np.random.default_rng(3)


def test_psnr_of_a_known_error(rng):
    truth = rng.integers(10, 240, (9, 13, 3), dtype=np.uint8)
    assert quality.psnr(truth, truth) == float("inf")
    shifted = truth + np.uint8(5)  # every value 5 off: MSE 25
    assert quality.psnr(truth, shifted) == pytest.approx(10 * np.log10(255.0 ** 2 / 25.0), abs=1e-12)
    assert quality.psnr(shifted, truth) == quality.psnr(truth, shifted)
    # uint8 inputs are compared as numbers, not with uint8 wrap-around: 250 against 5 is 245 off
    assert quality.psnr(np.full((4, 4, 3), 250, np.uint8), np.full((4, 4, 3), 5, np.uint8)) == \
        pytest.approx(10 * np.log10(255.0 ** 2 / 245.0 ** 2), abs=1e-12)


def _naive_ssim(truth, image):
    """Wang et al. 2004 pixel by pixel: an 11 x 11 Gaussian window (sigma 1.5) over a reflected
    border (OpenCV's default, BORDER_REFLECT_101 = numpy's "reflect"), K1 0.01, K2 0.03, range 255."""
    a = cv2.cvtColor(truth, cv2.COLOR_RGB2GRAY).astype(np.float64)
    b = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float64)
    x = np.arange(-5, 6, dtype=np.float64)
    g = np.exp(-x ** 2 / (2 * 1.5 ** 2))
    w = np.outer(g, g) / np.outer(g, g).sum()
    pa, pb = np.pad(a, 5, mode="reflect"), np.pad(b, 5, mode="reflect")
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    total = 0.0
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            wa, wb = pa[i:i + 11, j:j + 11], pb[i:i + 11, j:j + 11]
            ma, mb = (w * wa).sum(), (w * wb).sum()
            va, vb = (w * (wa - ma) ** 2).sum(), (w * (wb - mb) ** 2).sum()
            cov = (w * (wa - ma) * (wb - mb)).sum()
            total += ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma ** 2 + mb ** 2 + c1) * (va + vb + c2))
    return total / a.size


def test_ssim_is_wangs_mean_ssim_of_the_grey_levels(rng):
    truth = rng.integers(0, 256, (17, 23, 3), dtype=np.uint8)
    noisy = np.clip(truth + rng.normal(0, 20, truth.shape), 0, 255).astype(np.uint8)
    assert quality.ssim(truth, noisy) == pytest.approx(_naive_ssim(truth, noisy), abs=1e-9)
    assert quality.ssim(truth, truth) == pytest.approx(1.0, abs=1e-12)
    assert quality.ssim(noisy, truth) == pytest.approx(quality.ssim(truth, noisy), abs=1e-12)
    noisier = np.clip(truth + rng.normal(0, 60, truth.shape), 0, 255).astype(np.uint8)
    assert quality.ssim(truth, noisier) < quality.ssim(truth, noisy) < 1.0


def test_unsharp_mask_leaves_flat_areas_and_steepens_an_edge():
    flat = np.full((12, 15, 3), 77, np.uint8)
    np.testing.assert_array_equal(quality.unsharp_mask(flat), flat)
    step = np.full((12, 24, 3), 100, np.uint8)
    step[:, 12:] = 160
    out = quality.unsharp_mask(step)
    assert out.dtype == np.uint8 and out.shape == step.shape
    row = out[6, :, 0].astype(int)
    assert row[11] < 100 and row[12] > 160  # over- and undershoot at the edge (photo + 1.0 x detail)
    assert row[0] == 100 and row[-1] == 160  # far from it, the photo
    assert row[11] - 100 == -(row[12] - 160)  # symmetric about the mid level
    bright = np.full((12, 24, 3), 250, np.uint8)
    bright[:, :12] = 5
    assert quality.unsharp_mask(bright).min() == 0 and quality.unsharp_mask(bright).max() == 255  # clipped


def test_uniform_field_is_the_median_blur_whatever_the_signs():
    field = np.zeros((6, 8, 2), np.float32)
    field[...] = (3.0, 1.0)
    field[::2] *= -1  # (U, V) and (-U, -V) are the same blur
    out = quality.uniform_field(field)
    assert out.shape == field.shape and out.dtype == np.float32
    assert np.allclose(np.abs(out), (3.0, 1.0)) and np.all(out == out[0, 0])
    np.testing.assert_array_equal(quality.uniform_field(np.zeros((5, 7, 2), np.float32)), 0.0)


def test_uniform_field_of_a_near_vertical_blur_keeps_its_length():
    """Folding to U >= 0 splits a near-vertical blur into V = +5 and V = -5; the median of those is 0.
    The fold is about the field's dominant direction instead, so the kernel stays 5 px long."""
    field = np.zeros((6, 8, 2), np.float32)
    field[..., 1] = 5.0
    field[..., 0] = 0.1
    field[::2] *= -1  # the same blur, signs alternating
    field[:, ::2, 0] *= -1  # and U on both sides of zero
    k = quality.uniform_field(field)[0, 0]
    assert np.hypot(*k) == pytest.approx(np.hypot(0.1, 5.0), abs=0.15) and abs(k[1]) == pytest.approx(5.0)


def test_the_table_and_the_picture():
    report = {"model": "m.pt", "n": 2, "source": "procedural", "seed": 0, "size_px": 32, "full_scale": True,
              "settings": {"method": "rl-tv", "iterations": 5}, "seconds": 1.5,
              "groups": {"strong": {"blurred": {"psnr_db": 20.0, "gain_db": 0.0, "ssim": 0.5},
                                    "true field": {"psnr_db": 23.25, "gain_db": 3.25, "ssim": 0.75}}}}
    lines = quality.markdown_table(report).splitlines()
    assert lines[-2:] == ["| strong | blurred | 20.00 | +0.00 | 0.5000 |", "| strong | true field | 23.25 | +3.25 | 0.7500 |"]
    truth = np.full((20, 24, 3), 128, np.uint8)
    results = {m: truth for m in quality.METHODS}
    picture = quality.samples_picture([("strong", type("T", (), {"truth": truth})(), results)] * 2)
    n = 1 + len(quality.METHODS)  # the truth, then each method, with a 4 px gap between them
    assert picture.shape == (2 * (20 + 18) + 4, n * 24 + (n - 1) * 4, 3)
