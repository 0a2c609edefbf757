"""analyze: per-image results, bad inputs that do not stop a batch, the jitter picture, the cepstral baseline."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from jitteredge.analyze import AnalyzeConfig, analyze_image, iter_analyze
from jitteredge.baselines import CepstrumConfig, estimate_field
from jitteredge.errors import JitterEdgeError
from jitteredge.runners import open_runner
from jitteredge.verdict import Verdict
from jitteredge.viz import color_wheel, draw_jitter


def write(path, img):
    assert cv2.imwrite(str(path), img)
    return path


def test_analyze_image_field_has_input_shape(checkpoint, tmp_path):
    img = np.random.default_rng(0).integers(0, 256, (37, 53, 3), dtype=np.uint8)
    path = write(tmp_path / "a.png", img)
    with open_runner(checkpoint) as runner:
        field, verdict = analyze_image(runner, path, long_side=32)
    assert field.shape == (37, 53, 2) and field.dtype == np.float32
    assert isinstance(verdict, Verdict) and verdict.path == str(path)
    assert 0.0 <= verdict.score <= 1.0 and 0.0 <= verdict.direction_deg < 180.0


def test_batch_goes_on_past_bad_inputs(checkpoint, tmp_path):
    rng = np.random.default_rng(1)
    good = write(tmp_path / "good.jpg", rng.integers(0, 256, (40, 30, 3), dtype=np.uint8))
    gray16 = write(tmp_path / "gray16.png", rng.integers(0, 65536, (24, 32), dtype=np.uint16))
    rgba = write(tmp_path / "rgba.png", rng.integers(0, 256, (20, 20, 4), dtype=np.uint8))
    tiny = write(tmp_path / "tiny.png", rng.integers(0, 256, (8, 40, 3), dtype=np.uint8))
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(good.read_bytes()[:40])
    empty = tmp_path / "empty_folder"
    empty.mkdir()
    cfg = AnalyzeConfig(model=str(checkpoint), out_dir=str(tmp_path / "out"), write=("full-field", "picture"))
    inputs = [good, gray16, rgba, tiny, corrupt, empty, tmp_path / "missing.png"]
    results = {r.path: r for r in iter_analyze(cfg, inputs)}
    assert len(results) == 7
    for ok in (good, gray16, rgba):
        r = results[str(ok)]
        assert r.error is None and r.verdict is not None
        assert np.load(r.outputs["full-field"]).shape[:2] == cv2.imread(str(ok), cv2.IMREAD_UNCHANGED).shape[:2]
    assert "too small" in results[str(tiny)].error
    assert "corrupt.jpg" in results[str(corrupt)].error
    assert "no images" in results[str(empty)].error
    assert "no such file" in results[str(tmp_path / "missing.png")].error
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        f"{s}.{k}" for s in ("good", "gray16", "rgba") for k in ("flow.npy", "jitter.png"))


def test_same_stem_twice_gets_two_outputs(checkpoint, tmp_path):
    rng = np.random.default_rng(2)
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        write(tmp_path / sub / "x.png", rng.integers(0, 256, (16, 16, 3), dtype=np.uint8))
    cfg = AnalyzeConfig(model=str(checkpoint), out_dir=str(tmp_path / "out"))
    results = list(iter_analyze(cfg, [tmp_path / "a", tmp_path / "b"]))
    assert [Path(r.outputs["field"]).name for r in results] == ["x.field.npz", "x-2.field.npz"]


def test_model_problem_raises_at_once(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"nope")
    img = write(tmp_path / "a.png", np.zeros((16, 16, 3), np.uint8))
    with pytest.raises(JitterEdgeError, match="bad.pt"):
        list(iter_analyze(AnalyzeConfig(model=str(bad), out_dir=str(tmp_path)), [img]))


def test_jitter_picture_draws_the_field():
    photo = np.full((48, 64, 3), 128, np.uint8)
    field = np.zeros((48, 64, 2), np.float32)
    still = draw_jitter(photo, field, None, max_px=10)
    field[...] = (6.0, 3.0)
    shaken = draw_jitter(photo, field, Verdict("p", True, 0.9, 1.0, 6.7, 26.6), max_px=10)
    assert shaken.shape == still.shape and shaken.shape[1] == 64 and shaken.shape[0] > 48 and shaken.dtype == np.uint8
    assert np.array_equal(still[:48], photo)  # no blur: the photo shows through untouched
    assert np.abs(shaken[:48].astype(int) - photo).mean() > 5
    # The same field with the opposite sign draws the same picture: orientation is sign-free.
    flipped = draw_jitter(photo, -field, Verdict("p", True, 0.9, 1.0, 6.7, 26.6), max_px=10)
    assert np.abs(flipped.astype(int) - shaken).max() <= 64 and np.abs(flipped.astype(int) - shaken).mean() < 0.5


def test_jitter_picture_greys_flat_areas_and_draws_no_field_there():
    photo = np.random.default_rng(3).integers(0, 256, (48, 64, 3)).astype(np.uint8)
    field = np.full((48, 64, 2), (6.0, 3.0), np.float32)
    evidence = np.zeros((24, 32), bool)  # at working size (half the photo's)
    evidence[:, :16] = True
    with_mask = draw_jitter(photo, field, None, max_px=10, evidence=evidence)
    without = draw_jitter(photo, field, None, max_px=10)
    flat_zero = draw_jitter(photo, np.zeros_like(field), None, max_px=10, evidence=evidence)
    # Left half (evidence): as drawn without a mask. Right half (flat): the field is not drawn, so
    # the picture there is the same whatever the field says; it is the photo greyed. (The mask's edge,
    # x = 32, fades over a few pixels either side.)
    np.testing.assert_array_equal(with_mask[:48, :20], without[:48, :20])
    np.testing.assert_array_equal(with_mask[:48, 44:], flat_zero[:48, 44:])
    grey = with_mask[:48, 44:].astype(int)
    assert np.abs(grey - photo[:, 44:]).mean() > 10
    assert np.abs(grey - grey.mean(axis=-1, keepdims=True)).mean() < 0.5 * np.abs(
        photo[:, 44:].astype(int) - photo[:, 44:].mean(axis=-1, keepdims=True)).mean()  # less colour


def test_the_photo_under_the_overlay_is_desaturated():
    """A magenta photo with no blur: its own colour must not read as the overlay's hue."""
    photo = np.zeros((48, 64, 3), np.uint8)
    photo[...] = (230, 40, 220)
    picture = draw_jitter(photo, np.zeros((48, 64, 2), np.float32), None, max_px=10)[:48].astype(int)
    chroma = picture.max(axis=-1) - picture.min(axis=-1)
    assert chroma.max() < 0.3 * (230 - 40)


def test_flat_area_edges_fade_without_blocks():
    """The evidence mask is coarse (working resolution): its edge in the picture is a gradual fade."""
    photo = np.full((64, 64, 3), 20, np.uint8)  # a dark photo, where greyed blocks showed most
    evidence = np.zeros((8, 8), bool)
    evidence[:, :4] = True
    row = draw_jitter(photo, np.zeros((64, 64, 2), np.float32), None, evidence=evidence)[32, :, 0].astype(int)
    step = abs(row[-1] - row[0])
    assert step > 10  # flat areas are greyed
    assert np.abs(np.diff(row)).max() <= 0.35 * step  # but not as one hard step
    assert len(np.unique(row)) >= 5


def test_reduced_picture_says_its_scale():
    from jitteredge.viz import legend_lines

    lines = legend_lines(10.0, (1536, 2048), (1200, 1600), flat=False)
    assert any("78%" in line and "2048x1536" in line for line in lines)
    assert len(legend_lines(10.0, (48, 64), (48, 64), flat=False)) == 1  # full size: nothing to say


def test_large_photo_is_drawn_reduced():
    picture = draw_jitter(np.zeros((300, 400, 3), np.uint8), np.ones((300, 400, 2), np.float32), display_long_side=200)
    assert picture.shape[1] == 200 and picture.shape[0] > 150


def test_colour_wheel_is_sign_free():
    wheel, disc = color_wheel(31)
    assert disc[15, 15] and not disc[0, 0]
    np.testing.assert_array_equal(wheel[disc], wheel[::-1, ::-1][disc])  # (x, y) and (-x, -y) alike


def line_kernel(length_px: float, angle_rad: float) -> np.ndarray:
    """Normalised straight-line kernel, drawn at 8x and reduced (anti-aliased)."""
    size = int(math.ceil(length_px)) + 3 | 1
    big = np.zeros((size * 8, size * 8), np.float32)
    c, dx, dy = size * 4, math.cos(angle_rad) * length_px * 4, math.sin(angle_rad) * length_px * 4
    cv2.line(big, (int(c - dx), int(c - dy)), (int(c + dx), int(c + dy)), 1.0, 8)
    k = cv2.resize(big, (size, size), interpolation=cv2.INTER_AREA)
    return k / k.sum()


@pytest.mark.parametrize("length_px,angle_deg", [(9.0, 30.0), (14.0, 115.0), (6.0, 70.0)])
def test_cepstrum_recovers_a_constant_straight_blur(length_px, angle_deg):
    rng = np.random.default_rng(3)
    texture = cv2.GaussianBlur(rng.uniform(0, 255, (160, 192)).astype(np.float32), (0, 0), 1.0)
    texture = cv2.normalize(texture, None, 0, 255, cv2.NORM_MINMAX)
    blurred = cv2.filter2D(texture, -1, line_kernel(length_px, math.radians(angle_deg)), borderType=cv2.BORDER_REFLECT)
    image = np.clip(blurred + rng.normal(0, 1.0, blurred.shape), 0, 255).astype(np.uint8)
    field = estimate_field(image)
    assert field.shape == (160, 192, 2)
    angle = np.degrees(np.arctan2(field[..., 1], field[..., 0])) % 180.0
    err = np.abs((angle - angle_deg + 90.0) % 180.0 - 90.0)
    assert np.median(err) < 15.0
    assert abs(np.median(np.hypot(field[..., 0], field[..., 1])) - length_px) < 2.5


def test_cepstrum_small_image_and_gray():
    img = np.random.default_rng(4).integers(0, 256, (20, 33), dtype=np.uint8)
    field = estimate_field(img, CepstrumConfig(tile_px=96))
    assert field.shape == (20, 33, 2) and np.isfinite(field).all()


def test_cepstrum_leaves_a_sharp_jpeg_alone():
    """JPEG's 8x8 block grid and plain texture must not read as blur."""
    rng = np.random.default_rng(5)
    texture = cv2.GaussianBlur(rng.uniform(0, 255, (160, 192, 3)).astype(np.float32), (0, 0), 1.2)
    texture = cv2.normalize(texture, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", texture, [cv2.IMWRITE_JPEG_QUALITY, 70])
    image = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    field = estimate_field(image)
    assert (np.hypot(field[..., 0], field[..., 1]) > 2.0).mean() < 0.2


def test_folder_expansion_skips_the_output_folder(checkpoint, tmp_path):
    write(tmp_path / "a.png", np.random.default_rng(6).integers(0, 256, (16, 16, 3), dtype=np.uint8))
    cfg = AnalyzeConfig(model=str(checkpoint), out_dir=str(tmp_path / "out"))
    first = [r.path for r in iter_analyze(cfg, [tmp_path])]
    second = [r.path for r in iter_analyze(cfg, [tmp_path])]  # out/a.jitter.png now exists below tmp_path
    assert first == second == [str(tmp_path / "a.png")]
