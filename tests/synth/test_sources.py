from pathlib import Path

import cv2
import numpy as np
import pytest

from jitteredge.errors import JitterEdgeError
from jitteredge.synth.sources import (BSDS500_ENV, DeadLeavesConfig, FolderSource, ProceduralSource, bsds500_folder,
                                      dead_leaves, open_source)

SMALL = DeadLeavesConfig(size_px=48, shapes=60, background_leaves=4, max_radius_px=20.0)
BSDS = Path(__file__).resolve().parents[3] / "shared" / "data" / "bsds500"


def test_procedural_is_deterministic_per_index():
    src = ProceduralSource(length=5, seed=3, config=SMALL)
    a, b = src.load(2), src.load(2, np.random.default_rng(99))  # rng does not matter
    np.testing.assert_array_equal(a, b)
    assert a.shape == (48, 48, 3) and a.dtype == np.uint8
    assert not np.array_equal(a, src.load(3))
    assert not np.array_equal(a, ProceduralSource(length=5, seed=4, config=SMALL).load(2))
    assert len(src) == 5 and src.name(2) == "procedural:3:2"
    with pytest.raises(IndexError):
        src.load(5)


def test_dead_leaves_have_edges_colours_and_texture():
    img = dead_leaves(np.random.default_rng(0), DeadLeavesConfig(size_px=64)).astype(np.float32)
    gy, gx = np.gradient(img.mean(axis=2))
    mag = np.hypot(gx, gy)
    assert (mag > 20).mean() > 0.02  # plenty of edges
    angles = np.degrees(np.arctan2(gy, gx))[mag > 20] % 180
    assert np.histogram(angles, bins=6, range=(0, 180))[0].min() > 0  # at every orientation
    assert len(np.unique(img.reshape(-1, 3), axis=0)) > 200  # colours and textures, not a few flat patches


def test_open_source_procedural():
    src = open_source("procedural", seed=1, length=7)
    assert isinstance(src, ProceduralSource) and len(src) == 7
    assert open_source(src) is src


def _write(path: Path, img: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), img)
    return path


def test_folder_source_reads_every_format_recursively(tmp_path):
    rng = np.random.default_rng(0)
    _write(tmp_path / "a.png", rng.integers(0, 256, (20, 24, 3), dtype=np.uint8))
    _write(tmp_path / "sub" / "b.jpg", rng.integers(0, 256, (20, 24), dtype=np.uint8))  # gray
    _write(tmp_path / "sub" / "deeper" / "c.png", rng.integers(0, 65536, (20, 24), dtype=np.uint16))  # 16-bit
    _write(tmp_path / "d.png", rng.integers(0, 256, (20, 24, 4), dtype=np.uint8))  # RGBA
    (tmp_path / "notes.txt").write_text("not an image")
    src = open_source(tmp_path)
    assert isinstance(src, FolderSource) and len(src) == 4
    for i in range(len(src)):
        img = src.load(i)
        assert img.shape == (20, 24, 3) and img.dtype == np.uint8
    assert src.load(0) is src.load(0)  # cached


def test_folder_source_errors(tmp_path):
    with pytest.raises(JitterEdgeError, match="no such folder"):
        open_source(tmp_path / "missing")
    with pytest.raises(JitterEdgeError, match="no images"):
        open_source(tmp_path)
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    src = open_source(tmp_path)
    with pytest.raises(JitterEdgeError, match="broken.jpg"):
        src.load(0)


def test_bsds500_from_env(tmp_path, monkeypatch):
    _write(tmp_path / "val" / "1.jpg", np.zeros((20, 20, 3), np.uint8))
    monkeypatch.setenv(BSDS500_ENV, str(tmp_path))
    assert bsds500_folder("val") == tmp_path / "val"
    assert len(open_source("bsds500:val")) == 1
    with pytest.raises(JitterEdgeError, match=BSDS500_ENV):
        open_source("bsds500")  # no train split there
    with pytest.raises(JitterEdgeError, match="unknown split"):
        open_source("bsds500:holdout")


@pytest.mark.skipif(not (BSDS / "train").is_dir(), reason="BSDS500 not present")
def test_bsds500_default_location(monkeypatch):
    monkeypatch.delenv(BSDS500_ENV, raising=False)
    src = open_source("bsds500")
    assert len(src) >= 100
    assert min(src.load(0).shape[:2]) >= 256


def test_folder_source_follows_linked_folders_once(tmp_path):
    import cv2

    photos = tmp_path / "photos"
    photos.mkdir()
    cv2.imwrite(str(photos / "a.png"), np.full((40, 40, 3), 128, np.uint8))
    mix = tmp_path / "mix"
    mix.mkdir()
    (mix / "one").symlink_to(photos, target_is_directory=True)
    (photos / "loop").symlink_to(mix, target_is_directory=True)  # a cycle must not hang the walk
    src = FolderSource(mix)
    assert [p.name for p in src.paths] == ["a.png"]
