"""`jitteredge deblur` end to end on tiny photos: files written, a bad photo costs one line, exit status."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from jitteredge import cli


@pytest.fixture(autouse=True)
def deblur_verb_only(monkeypatch):
    monkeypatch.setattr(cli, "COMMANDS", ("deblur",))


@pytest.fixture()
def photos(tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / "photos"
    folder.mkdir()
    cv2.imwrite(str(folder / "one.jpg"), rng.integers(0, 256, (40, 48, 3), dtype=np.uint8))
    (folder / "broken.png").write_bytes(b"not a png")
    return folder


def test_batch_goes_on_after_a_bad_photo(checkpoint, photos, tmp_path, capsys):
    out = tmp_path / "out"
    rc = cli.main(["deblur", str(photos), "--model", str(checkpoint), "--out", str(out), "--iterations", "2",
                   "--no-progress"])
    captured = capsys.readouterr()
    assert rc == 1
    assert [line for line in captured.err.splitlines() if "broken.png" in line] == [
        line for line in captured.err.splitlines() if line.strip()]  # one line, about the bad photo only
    assert "Traceback" not in captured.err
    restored = cv2.imread(str(out / "one.deblurred.png"))
    assert restored.shape == (40, 48, 3)
    assert cv2.imread(str(out / "one.deblur.png")).shape[1] > 3 * 48  # before | after | field
    meta = json.loads((out / "one.deblur.json").read_text())
    assert meta["settings"]["iterations"] == 2 and meta["bits"] == 8
    assert not list(out.glob(".*.tmp*"))  # no temporary file left


def test_given_field_sixteen_bit_photo(tmp_path, capsys):
    rng = np.random.default_rng(1)
    small = rng.integers(0, 65536, (12, 12, 3), dtype=np.uint16)
    photo = np.repeat(np.repeat(small, 3, axis=0), 3, axis=1)
    cv2.imwrite(str(tmp_path / "p.png"), photo)
    field = np.full((36, 36, 2), 5.0, np.float32)
    np.save(tmp_path / "p.flow.npy", field)
    out = tmp_path / "out"
    rc = cli.main(["deblur", str(tmp_path / "p.png"), "--field", str(tmp_path / "p.flow.npy"), "--out", str(out),
                   "--iterations", "3", "--no-progress"])
    assert rc == 0, capsys.readouterr().err
    restored = cv2.imread(str(out / "p.deblurred.png"), cv2.IMREAD_UNCHANGED)
    assert restored.dtype == np.uint16 and restored.shape == (36, 36, 3)
    assert (restored != photo).any()


def test_field_of_the_wrong_size_is_one_line(tmp_path, capsys):
    cv2.imwrite(str(tmp_path / "p.png"), np.zeros((20, 20, 3), np.uint8))
    np.save(tmp_path / "f.npy", np.zeros((10, 10, 2), np.float32))
    rc = cli.main(["deblur", str(tmp_path / "p.png"), "--field", str(tmp_path / "f.npy"), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 1 and "f.npy" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_bad_settings_stop_before_any_work(tmp_path, capsys):
    cv2.imwrite(str(tmp_path / "p.png"), np.zeros((20, 20, 3), np.uint8))
    rc = cli.main(["deblur", str(tmp_path / "p.png"), "--strength", "0", "--out", str(tmp_path / "o")])
    assert rc == 2 and "strength" in capsys.readouterr().err


@pytest.mark.parametrize("long_side", ["0", "-5", "15"])
def test_too_small_long_side_is_refused(tmp_path, capsys, long_side):
    cv2.imwrite(str(tmp_path / "p.png"), np.zeros((20, 20, 3), np.uint8))
    out = tmp_path / "o"
    rc = cli.main(["deblur", str(tmp_path / "p.png"), "--long-side", long_side, "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and "--long-side" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()  # refused before any work


def test_a_broken_refiner_stops_the_batch_in_one_line(tmp_path, capsys):
    cv2.imwrite(str(tmp_path / "p.png"), np.zeros((20, 20, 3), np.uint8))
    (tmp_path / "r.pt").write_bytes(b"not weights")
    out = tmp_path / "o"
    rc = cli.main(["deblur", str(tmp_path / "p.png"), "--refiner", str(tmp_path / "r.pt"), "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and "r.pt" in err and "refiner" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and not out.exists()


def test_no_refine_is_deconvolution_only_and_says_so(tmp_path, capsys):
    rng = np.random.default_rng(2)
    photo = np.repeat(np.repeat(rng.integers(0, 256, (10, 12, 3), dtype=np.uint8), 3, axis=0), 3, axis=1)
    cv2.imwrite(str(tmp_path / "p.png"), photo)
    np.save(tmp_path / "f.npy", np.full((30, 36, 2), 5.0, np.float32))
    results = {}
    for flag in ([], ["--no-refine"]):
        out = tmp_path / ("plain" if flag else "refined")
        rc = cli.main(["deblur", str(tmp_path / "p.png"), "--field", str(tmp_path / "f.npy"), "--out", str(out),
                       "--iterations", "3", "--no-progress", *flag])
        assert rc == 0, capsys.readouterr().err
        assert json.loads((out / "p.deblur.json").read_text())["settings"]["refine"] is not bool(flag)
        results[bool(flag)] = cv2.imread(str(out / "p.deblurred.png"))
    assert not np.array_equal(results[True], results[False])
