import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from jitteredge.cli import main

# curved, sharp and defocus only, so these tests do not depend on the straight-blur kernel
FAST = ["--size", "24", "--mixture", "curved=0.5,sharp=0.25,defocus=0.25", "--no-progress"]


def _synth(capsys, *args):
    code = main(["synth", *args])
    out, err = capsys.readouterr()
    return code, out, err


def _samples(folder: Path) -> list[str]:
    return sorted(p.name[: -len(".png")] for p in folder.glob("*.png"))


def test_procedural_run_writes_samples_manifest_and_summary(tmp_path, capsys):
    out_dir = tmp_path / "ds"
    code, out, err = _synth(capsys, "procedural", "--out", str(out_dir), "--limit", "2", "--per-image", "3", *FAST)
    assert code == 0, err
    ids = _samples(out_dir)
    assert ids == [f"{i:06d}-{k:03d}" for i in range(2) for k in range(3)]
    for sid in ids:
        img = cv2.imread(str(out_dir / f"{sid}.png"))
        field = np.load(out_dir / f"{sid}.flow.npy")
        assert img.shape == (24, 24, 3) and field.shape == (24, 24, 2) and field.dtype == np.float32
    lines = [json.loads(x) for x in (out_dir / "manifest.jsonl").read_text().splitlines()]
    assert [e["id"] for e in lines] == ids
    assert {"id", "source", "kind", "params", "seed"} <= set(lines[0])
    meta = json.loads((out_dir / "manifest.json").read_text())
    assert meta["samples"] == 6 and meta["settings"]["sample"]["size_px"] == 24
    assert out.strip().splitlines()[-1].startswith("summary: 6 samples written, 0 already present, 0 photos skipped")
    assert not list(out_dir.glob(".*tmp*"))  # no temporary files left


def test_rerun_skips_finished_samples_and_restores_deleted_ones(tmp_path, capsys):
    out_dir = tmp_path / "ds"
    args = ["procedural", "--out", str(out_dir), "--limit", "2", "--per-image", "2", *FAST]
    assert _synth(capsys, *args)[0] == 0
    before = {p.name: p.read_bytes() for p in out_dir.iterdir()}
    mtimes = {p.name: p.stat().st_mtime_ns for p in out_dir.glob("0*")}

    code, out, _ = _synth(capsys, *args)
    assert code == 0 and "summary: 0 samples written, 4 already present" in out
    assert {p.name: p.stat().st_mtime_ns for p in out_dir.glob("0*")} == mtimes  # nothing rewritten

    (out_dir / "000001-000.png").unlink()
    code, out, _ = _synth(capsys, *args)
    assert code == 0 and "summary: 1 samples written, 3 already present" in out
    after = {p.name: p.read_bytes() for p in out_dir.iterdir()}
    assert after["000001-000.png"] == before["000001-000.png"]  # the same sample, made again
    assert after["manifest.jsonl"] == before["manifest.jsonl"]


def test_sample_without_manifest_line_is_made_again(tmp_path, capsys):
    """An interrupted run may leave files whose manifest line was never written: they count as unfinished."""
    out_dir = tmp_path / "ds"
    args = ["procedural", "--out", str(out_dir), "--limit", "1", "--per-image", "2", *FAST]
    assert _synth(capsys, *args)[0] == 0
    manifest = out_dir / "manifest.jsonl"
    manifest.write_text(manifest.read_text().splitlines()[0] + "\n" + '{"id": "000000-00')  # cut line
    code, out, _ = _synth(capsys, *args)
    assert code == 0 and "1 samples written, 1 already present" in out
    assert len(manifest.read_text().splitlines()) == 2


@pytest.mark.slow
def test_worker_count_does_not_change_the_samples(tmp_path, capsys):
    one, two = tmp_path / "one", tmp_path / "two"
    assert _synth(capsys, "procedural", "--out", str(one), "--limit", "3", "--per-image", "2", *FAST)[0] == 0
    assert _synth(capsys, "procedural", "--out", str(two), "--limit", "3", "--per-image", "2", "--workers", "2", *FAST)[0] == 0
    assert _samples(one) == _samples(two)
    for sid in _samples(one):
        np.testing.assert_array_equal(np.load(one / f"{sid}.flow.npy"), np.load(two / f"{sid}.flow.npy"))
        assert (one / f"{sid}.png").read_bytes() == (two / f"{sid}.png").read_bytes()
    assert (one / "manifest.jsonl").read_text() == (two / "manifest.jsonl").read_text()


def test_bad_photos_are_converted_or_skipped_with_one_line_each(tmp_path, capsys):
    src = tmp_path / "photos"
    src.mkdir()
    rng = np.random.default_rng(0)
    cv2.imwrite(str(src / "colour.jpg"), rng.integers(0, 256, (40, 50, 3), dtype=np.uint8))
    cv2.imwrite(str(src / "gray.png"), rng.integers(0, 256, (40, 50), dtype=np.uint8))
    cv2.imwrite(str(src / "deep.png"), rng.integers(0, 65536, (40, 50, 3), dtype=np.uint16))
    cv2.imwrite(str(src / "alpha.png"), rng.integers(0, 256, (40, 50, 4), dtype=np.uint8))
    cv2.imwrite(str(src / "tiny.png"), rng.integers(0, 256, (10, 12, 3), dtype=np.uint8))
    (src / "garbage.jpg").write_bytes(b"this is not a photo")
    good = cv2.imencode(".jpg", rng.integers(0, 256, (40, 50, 3), dtype=np.uint8))[1].tobytes()
    (src / "truncated.jpg").write_bytes(good[:40])
    out_dir = tmp_path / "ds"
    code, out, err = _synth(capsys, str(src), "--out", str(out_dir), "--per-image", "1", *FAST)
    assert code == 0
    assert "Traceback" not in err
    skipped = [line for line in err.splitlines() if "skipped" in line]
    assert len(skipped) == 3
    assert any("tiny.png" in s and "smaller" in s for s in skipped)
    assert any("garbage.jpg" in s for s in skipped) and any("truncated.jpg" in s for s in skipped)
    assert "4 samples written" in out and "3 photos skipped (too small 1, unreadable 2)" in out
    sources = {Path(json.loads(x)["source"]).name for x in (out_dir / "manifest.jsonl").read_text().splitlines()}
    assert sources == {"colour.jpg", "gray.png", "deep.png", "alpha.png"}


def test_missing_source_is_one_line_and_exit_2(tmp_path, capsys):
    code, out, err = _synth(capsys, str(tmp_path / "nowhere"), "--out", str(tmp_path / "ds"), *FAST)
    assert code == 2 and "Traceback" not in err
    assert err.strip().count("\n") == 0 and "nowhere" in err


def test_unwritable_out_is_one_line_and_exit_2(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = _synth(capsys, "procedural", "--out", str(blocker / "ds"), "--limit", "1", *FAST)
    assert code == 2 and err.strip().count("\n") == 0 and "cannot write" in err
    code, _, err = _synth(capsys, "procedural", "--out", str(blocker), "--limit", "1", *FAST)
    assert code == 2 and "not a folder" in err
    if os.geteuid() != 0:  # root writes anywhere
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o500)
        code, _, err = _synth(capsys, "procedural", "--out", str(ro), "--limit", "1", *FAST)
        assert code == 2 and "cannot write" in err


def test_other_settings_in_the_same_folder_are_refused(tmp_path, capsys):
    out_dir = str(tmp_path / "ds")
    assert _synth(capsys, "procedural", "--out", out_dir, "--limit", "1", "--per-image", "1", *FAST)[0] == 0
    code, _, err = _synth(capsys, "procedural", "--out", out_dir, "--limit", "1", "--seed", "9", *FAST)
    assert code == 2 and "other settings" in err


@pytest.mark.parametrize("bad", [["--mixture", "wobble=1"], ["--mixture", "shake=x"], ["--per-image", "0"],
                                 ["--size", "4"], ["--workers", "0"]])
def test_bad_options_are_one_line(tmp_path, capsys, bad):
    code, _, err = _synth(capsys, "procedural", "--out", str(tmp_path / "ds"), "--limit", "1", "--no-progress", *bad)
    assert code == 2 and "Traceback" not in err and err.strip().count("\n") == 0


def test_default_mixture_with_config_file(tmp_path, capsys):
    pytest.importorskip("jitteredge.synth.blur")
    pytest.importorskip("yaml")
    cfg = tmp_path / "synth.yaml"
    cfg.write_text("size_px: 20\njpeg: false\n")
    out_dir = tmp_path / "ds"
    code, out, err = _synth(capsys, "procedural", "--out", str(out_dir), "--limit", "4", "--per-image", "3",
                            "--config", str(cfg), "--no-progress")
    assert code == 0, err
    meta = json.loads((out_dir / "manifest.json").read_text())
    assert meta["settings"]["sample"]["size_px"] == 20 and meta["settings"]["sample"]["jpeg"] is False
    assert meta["samples"] == 12
    (tmp_path / "bad.yaml").write_text("wobble: 3\n")
    code, _, err = _synth(capsys, "procedural", "--out", str(tmp_path / "x"), "--config", str(tmp_path / "bad.yaml"))
    assert code == 2 and "wobble" in err


def test_interrupted_run_leaves_no_half_sample_and_resumes(tmp_path, capsys, monkeypatch):
    import jitteredge.synth.synthesize as synthesize

    out_dir = tmp_path / "ds"
    args = ["procedural", "--out", str(out_dir), "--limit", "2", "--per-image", "2", *FAST]
    real_write = synthesize.write_image_atomic
    calls = []

    def interrupted_write(path, rgb, params=None):
        calls.append(path)
        if len(calls) == 3:  # the third image: its field is on disk, the image is not
            raise KeyboardInterrupt
        real_write(path, rgb, params)

    monkeypatch.setattr(synthesize, "write_image_atomic", interrupted_write)
    code, _, err = _synth(capsys, *args)
    assert code == 130 and "interrupted" in err
    assert len(_samples(out_dir)) == 2 and not list(out_dir.glob(".*tmp*"))
    assert len((out_dir / "manifest.jsonl").read_text().splitlines()) == 2  # only finished samples

    monkeypatch.setattr(synthesize, "write_image_atomic", real_write)
    code, out, _ = _synth(capsys, *args)
    assert code == 0 and "2 samples written, 2 already present" in out
    assert len(_samples(out_dir)) == 4
