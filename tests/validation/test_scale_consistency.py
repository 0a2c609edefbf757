"""`jitteredge eval --real --long-sides`: one row per long side, the ratios a known reader gives, the
photos never enlarged, files written, bad sides refused in one line."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from jitteredge import cli
from jitteredge.fieldcode import encode_field
from jitteredge.infer import VERDICT_LONG_SIDE
from jitteredge.preprocess import MEAN, STD
from jitteredge.runners import Runner
from jitteredge.validation.scale import check_sides, markdown_table, reference_side, scale_consistency

PHOTO_W, PHOTO_H = 640, 480  # every side below keeps the working width a multiple of 16: no padding across


class PhotoPxRunner(Runner):
    """Reads a horizontal blur of (blue value) / 10 photo pixels, whatever the working size (a
    scale-consistent model), or at most ``max_working_px`` working pixels of it (one that reads long
    blurs short at large sizes)."""

    name = "photo-px-runner"

    def __init__(self, max_working_px: float = np.inf):
        super().__init__()
        self.max_working_px = max_working_px

    def activate_impl(self):
        pass

    def infer_impl(self, x):
        blue = np.rint((x[:, 2, 0, 0] * STD + MEAN) * 255.0)
        scale = PHOTO_W / x.shape[3]  # photo pixels per working pixel
        out = np.empty((x.shape[0], 2) + x.shape[2:], np.float32)
        for k, b in enumerate(blue):
            field = np.zeros(x.shape[2:] + (2,), np.float32)
            field[..., 0] = min(b / 10.0 / scale, self.max_working_px)
            out[k] = encode_field(field).transpose(2, 0, 1)
        return out


def write_photo(path, blur_photo_px, seed, hw=(PHOTO_H, PHOTO_W)):
    """Textured red and green (every pixel shows blur), blue constant at 10 x the blur to read."""
    rgb = np.random.default_rng(seed).integers(0, 256, hw + (3,)).astype(np.uint8)
    rgb[..., 2] = int(round(10 * blur_photo_px))
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))


ROWS = [("a/s1.png", "shake", 8.0), ("a/s2.png", "shake", 12.0), ("a/n1.png", "sharp", 0.0),
        ("b/d1.png", "defocus", 0.0)]


@pytest.fixture
def manifest(write_manifest):
    return write_manifest(ROWS, write_photo, ["a/missing.png,shake,"])


def test_sides_are_checked_and_the_reference_is_512_when_asked():
    assert check_sides([384, 512, 384, 1024]) == [384, 512, 1024]
    assert reference_side([384, 512, 1024]) == VERDICT_LONG_SIDE
    assert reference_side([1024, 384]) == 1024
    for bad in ([0], [8, 512], []):
        with pytest.raises(Exception, match="--long-sides"):
            check_sides(bad)


def test_a_scale_consistent_reader_gives_ratios_of_one(manifest):
    lines = []
    with PhotoPxRunner() as runner:
        r = scale_consistency(runner, manifest, [384, 512, 1024], progress=False, report=lines.append)
    assert [s["long_side"] for s in r["by_side"]] == [384, 512, 1024] and r["reference_side"] == 512
    assert r["n"] == 4 and r["n_skipped"] == 1 and any("missing.png" in line for line in lines)
    # 640 px photos: reduced to 384 and 512, analysed at their own 640 for 1024
    assert [s["n_reduced"] for s in r["by_side"]] == [4, 4, 0]
    assert [s["working_long_side_median"] for s in r["by_side"]] == [384, 512, 640]
    for s in r["by_side"]:
        for reading in ("verdict", "working"):
            m = s[reading]
            assert (m["same_shake"], m["same_sharp"], m["same_defocus"]) == (1.0, 1.0, 1.0)
            assert m["auc"] == 1.0 and m["recall"] == 1.0 and m["n_blur_ratio"] == 2
            assert m["blur_ratio_median"] == pytest.approx(1.0, abs=0.01)
    photo = r["photos"][1]["sides"]
    assert [photo[s]["verdict"]["blur_px"] for s in ("384", "512", "1024")] == pytest.approx([12.0] * 3, abs=0.05)


def test_a_reader_that_saturates_moves_only_the_working_reading(manifest):
    # at most 7 working px: 8 and 12 photo px read as 6.4 / 7 working px at 512 (8 / 8.75 photo px)
    # and 7 at the photo's own 640 (7 photo px); the verdict above 512 is judged at 512
    with PhotoPxRunner(max_working_px=7.0) as runner:
        r = scale_consistency(runner, manifest, [512, 1024], progress=False, report=lambda line: None)
    at_1024 = r["by_side"][1]
    assert at_1024["verdict"]["blur_ratio_median"] == pytest.approx(1.0, abs=0.01)
    expected = np.median([7.0 / 8.0, 7.0 / 8.75])
    assert at_1024["working"]["blur_ratio_median"] == pytest.approx(expected, abs=0.01)
    assert at_1024["working"]["same_shake"] == 1.0  # still read shaken, only shorter
    table = markdown_table(r)
    assert table.count("| 512 (reference) |") == 2 and table.count("| 1024 |") == 2


@pytest.fixture
def tiny_manifest(write_manifest):
    return write_manifest(ROWS, lambda path, blur, seed: write_photo(path, blur, seed, hw=(48, 64)))


def test_the_cli_prints_a_row_per_side_and_writes_both_files(checkpoint, tiny_manifest, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cli, "COMMANDS", ("eval",))
    out = tmp_path / "out"
    rc = cli.main(["eval", "--model", str(checkpoint), "--real", str(tiny_manifest), "--long-sides", "32", "64", "128",
                   "--out", str(out)])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert "| 32 (reference) | 4/4 | 32 |" in captured.out and "| 128 | 0/4 | 64 |" in captured.out
    report = json.loads((out / "scale.json").read_text())
    assert [s["long_side"] for s in report["by_side"]] == [32, 64, 128]
    assert (out / "scale.md").read_text() == captured.out
    # 64 px photos are not enlarged to 128: the same analysis, the same readings
    assert report["by_side"][2]["verdict"] == {**report["by_side"][1]["verdict"]}


@pytest.mark.parametrize("bad, word", [(["--long-sides", "0", "512"], "--long-sides 0"),
                                       (["--long-sides", "8"], "--long-sides 8"),
                                       (["--long-sides", "512", "--long-side", "512"], "not both")])
def test_bad_sides_are_one_line_and_exit_2(checkpoint, tiny_manifest, tmp_path, capsys, monkeypatch, bad, word):
    monkeypatch.setattr(cli, "COMMANDS", ("eval",))
    out = tmp_path / "out"
    rc = cli.main(["eval", "--model", str(checkpoint), "--real", str(tiny_manifest), "--out", str(out), *bad])
    captured = capsys.readouterr()
    assert rc == 2 and word in captured.err and len(captured.err.strip().splitlines()) == 1
    assert captured.out == "" and not out.exists()


def test_long_sides_needs_real_and_a_bad_manifest_is_one_line(checkpoint, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cli, "COMMANDS", ("eval",))
    rc = cli.main(["eval", "--model", str(checkpoint), "--long-sides", "512", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 2 and "needs --real" in err and len(err.strip().splitlines()) == 1
    (tmp_path / "bad.csv").write_text("file,kind\nx.png,shake\n")
    rc = cli.main(["eval", "--model", str(checkpoint), "--real", str(tmp_path / "bad.csv"), "--long-sides", "512",
                   "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 2 and "'path' and 'label'" in err and len(err.strip().splitlines()) == 1
