"""`jitteredge analyze` end to end on tiny images: files written, JSON on stdout, exit statuses."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from jitteredge import cli


@pytest.fixture(autouse=True)
def analyze_verb_only(monkeypatch):
    """Test the verb through cli.main without importing the other verbs' modules."""
    monkeypatch.setattr(cli, "COMMANDS", ("analyze",))


def main(argv):
    return cli.main(argv)


@pytest.fixture()
def photos(tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / "photos"
    folder.mkdir()
    cv2.imwrite(str(folder / "one.jpg"), rng.integers(0, 256, (48, 64, 3), dtype=np.uint8))
    cv2.imwrite(str(folder / "two.png"), rng.integers(0, 256, (33, 21, 3), dtype=np.uint8))
    return folder


def test_json_output_and_files(checkpoint, photos, tmp_path, capsys):
    out = tmp_path / "out"
    rc = main(["analyze", str(photos), "--model", str(checkpoint), "--out", str(out), "--json", "--long-side", "32"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    verdicts = json.loads(captured.out)  # stdout holds the JSON array and nothing else
    assert [v["path"] for v in verdicts] == [str(photos / "one.jpg"), str(photos / "two.png")]
    assert set(verdicts[0]) == {"path", "shaken", "score", "shaken_fraction", "blur_px", "direction_deg", "seen_fraction",
                                "outputs"}
    assert all(0.0 <= v["seen_fraction"] <= 1.0 for v in verdicts)
    # By default: the picture and the light field (working resolution, float16, its scale inside).
    assert verdicts[0]["outputs"] == {"picture": str(out / "one.jitter.png"), "field": str(out / "one.field.npz")}
    light = np.load(out / "one.field.npz")
    assert light["field"].shape == (24, 32, 2) and light["field"].dtype == np.float16
    assert float(light["scale"]) == 2.0 and tuple(light["photo_hw"]) == (48, 64)
    assert not list(out.glob("*.flow.npy"))
    picture = cv2.imread(str(out / "one.jitter.png"))
    assert picture is not None and picture.shape[1] == 64
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary files left


def test_human_lines(checkpoint, photos, tmp_path, capsys):
    rc = main(["analyze", str(photos / "one.jpg"), "--model", str(checkpoint), "--out", str(tmp_path / "o")])
    captured = capsys.readouterr()
    assert rc == 0
    lines = captured.out.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(str(photos / "one.jpg") + ":") and "score" in lines[0]


def test_bad_images_are_reported_and_the_batch_goes_on(checkpoint, photos, tmp_path, capsys):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8 not really a jpeg")
    tiny = tmp_path / "tiny.png"
    cv2.imwrite(str(tiny), np.zeros((10, 10, 3), np.uint8))
    rc = main(["analyze", str(bad), str(photos / "one.jpg"), str(tiny), "--model", str(checkpoint),
               "--out", str(tmp_path / "o"), "--json"])
    captured = capsys.readouterr()
    assert rc == 1
    assert [v["path"] for v in json.loads(captured.out)] == [str(photos / "one.jpg")]
    err = [line for line in captured.err.strip().splitlines() if not line.startswith("analyze: ")]  # progress
    assert len(err) == 2 and "bad.jpg" in err[0] and "tiny.png" in err[1] and "Traceback" not in captured.err


@pytest.mark.parametrize("model", ["notours", "missing"])
def test_model_problems_exit_2(photos, tmp_path, capsys, model):
    path = tmp_path / "model.pt"
    if model == "notours":
        path.write_bytes(b"random bytes")
    rc = main(["analyze", str(photos), "--model", str(path), "--out", str(tmp_path / "o")])
    captured = capsys.readouterr()
    assert rc == 2 and "model.pt" in captured.err and captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1


def test_rank_puts_the_sharp_frame_of_a_burst_first(tmp_path, capsys):
    """A burst of one scene, sharp and shaken by 6 and 16 px: the shipped model ranks it right."""
    from jitteredge.synth import apply_field
    from jitteredge.synth.sources import open_source

    rng = np.random.default_rng(5)
    scene = open_source("procedural", seed=5).load(0, rng)[:192, :192]
    burst = tmp_path / "burst"
    burst.mkdir()
    for name, blur_px in (("b_16px", 16.0), ("c_sharp", 0.0), ("a_6px", 6.0)):
        field = np.zeros(scene.shape[:2] + (2,), np.float32)
        field[..., 0], field[..., 1] = blur_px * 0.8, blur_px * 0.6
        cv2.imwrite(str(burst / f"{name}.png"), cv2.cvtColor(apply_field(scene, field), cv2.COLOR_RGB2BGR))
    rc = main(["analyze", str(burst), "--no-write", "--rank"])
    out = capsys.readouterr().out
    assert rc == 0
    ranked = [line.split()[1] for line in out.splitlines() if line[:4].strip().rstrip(".").isdigit()]
    assert [p.rsplit("/", 1)[-1] for p in ranked] == ["c_sharp.png", "a_6px.png", "b_16px.png"], out


def test_demo_with_no_write_writes_nothing(tmp_path, capsys):
    out = tmp_path / "out"
    rc = main(["analyze", "--demo", "--no-write", "--json", "--out", str(out), "--long-side", "64"])
    verdicts = json.loads(capsys.readouterr().out)
    assert rc == 0 and len(verdicts) == 4
    assert not out.exists()


def test_demo_verdicts_of_the_shipped_model(tmp_path, capsys):
    """What the README's first command shows: the sharp and the bokeh photo steady, the straight shake
    shaken and read within a third of its drawn length. (The curved one is a documented miss.)"""
    from jitteredge.demo import write_demo_photos

    truth = {path.name: blur for path, blur in write_demo_photos(tmp_path)}
    rc = main(["analyze", str(tmp_path), "--no-write", "--json"])
    verdicts = {v["path"].rsplit("/", 1)[-1]: v for v in json.loads(capsys.readouterr().out)}
    assert rc == 0 and set(verdicts) == set(truth)
    assert not verdicts["demo_sharp.png"]["shaken"] and not verdicts["demo_bokeh.png"]["shaken"]
    assert verdicts["demo_sharp.png"]["seen_fraction"] > 0.9  # a detailed photo: its "sharp" means something
    shaken = verdicts["demo_shaken.png"]
    assert shaken["shaken"] and shaken["score"] == 1.0
    assert truth["demo_shaken.png"] * 2 / 3 < shaken["blur_px"] < truth["demo_shaken.png"] * 4 / 3


def test_unreadable_image_is_one_line(photos, checkpoint, tmp_path, capsys, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(np, "fromfile", refuse)
    rc = main(["analyze", str(photos / "one.jpg"), "--model", str(checkpoint), "--no-write"])
    err = capsys.readouterr().err
    assert rc == 1 and "Permission denied" in err and "Traceback" not in err


def test_unwritable_out_is_one_line_not_one_per_photo(checkpoint, photos, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    rc = main(["analyze", str(photos), "--model", str(checkpoint), "--out", str(blocker / "o")])
    captured = capsys.readouterr()
    assert rc == 2 and "cannot write" in captured.err and captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1
    # verdicts alone need no folder
    assert main(["analyze", str(photos), "--model", str(checkpoint), "--out", str(blocker / "o"), "--no-write"]) == 0


def test_write_choices(checkpoint, photos, tmp_path, capsys):
    """--write full-field keeps the full float32 field available; none writes nothing; a bad kind is one line."""
    out = tmp_path / "out"
    rc = main(["analyze", str(photos / "one.jpg"), "--model", str(checkpoint), "--out", str(out), "--write", "full-field"])
    assert rc == 0
    flow = np.load(out / "one.flow.npy")
    assert flow.shape == (48, 64, 2) and flow.dtype == np.float32
    assert sorted(p.name for p in out.iterdir()) == ["one.flow.npy"]
    assert main(["analyze", str(photos), "--model", str(checkpoint), "--out", str(tmp_path / "none"), "--write", "none"]) == 0
    assert not (tmp_path / "none").exists()
    capsys.readouterr()
    assert main(["analyze", str(photos), "--model", str(checkpoint), "--write", "picture,flowz"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "flowz" in err[0]


def test_light_field_matches_the_full_field(checkpoint, photos, tmp_path):
    out = tmp_path / "out"
    assert main(["analyze", str(photos / "one.jpg"), "--model", str(checkpoint), "--out", str(out), "--write", "all",
                 "--long-side", "32"]) == 0
    light, full = np.load(out / "one.field.npz"), np.load(out / "one.flow.npy")
    scale = float(light["scale"])
    # the working-resolution field, read at the centres of its cells, is the full field there
    small = cv2.resize(full.astype(np.float32), (light["field"].shape[1], light["field"].shape[0]),
                       interpolation=cv2.INTER_AREA)
    assert scale == 2.0
    assert np.abs(np.abs(small) - np.abs(light["field"].astype(np.float32))).mean() < 0.25 * np.abs(small).mean() + 0.05


def test_json_run_shows_progress_on_stderr(checkpoint, photos, tmp_path, capsys):
    rc = main(["analyze", str(photos), "--model", str(checkpoint), "--out", str(tmp_path / "o"), "--json"])
    captured = capsys.readouterr()
    assert rc == 0
    progress = [line for line in captured.err.splitlines() if line.startswith("analyze: ")]
    assert [line.split()[1] for line in progress] == ["1/2", "2/2"]
    json.loads(captured.out)  # stdout still holds only the JSON
    assert main(["analyze", str(photos), "--model", str(checkpoint), "--no-write", "--json", "--no-progress"]) == 0
    assert not capsys.readouterr().err


def test_same_name_from_two_folders_each_verdict_names_its_files(checkpoint, tmp_path, capsys):
    rng = np.random.default_rng(5)
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        cv2.imwrite(str(tmp_path / folder / "IMG_1.jpg"), rng.integers(0, 256, (32, 32, 3), dtype=np.uint8))
    out = tmp_path / "out"
    args = [str(tmp_path / "a"), str(tmp_path / "b"), "--model", str(checkpoint), "--out", str(out)]
    assert main(["analyze", *args, "--json"]) == 0
    verdicts = json.loads(capsys.readouterr().out)
    named = {v["path"]: v["outputs"]["picture"] for v in verdicts}
    assert named == {str(tmp_path / "a" / "IMG_1.jpg"): str(out / "IMG_1.jitter.png"),
                     str(tmp_path / "b" / "IMG_1.jpg"): str(out / "IMG_1-2.jitter.png")}
    assert main(["analyze", *args]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[1].startswith(str(tmp_path / "b" / "IMG_1.jpg") + ":") and str(out / "IMG_1-2.jitter.png") in lines[1]


def test_nothing_shaken_has_no_blur_and_no_direction(tmp_path, capsys, monkeypatch):
    """A verdict without a shaken pixel: blur and direction are undefined, null in JSON, not 0.0."""
    from jitteredge.verdict import Verdict

    none = Verdict("p.jpg", False, 0.1, 0.0, 0.0, 0.0, 0.9)
    assert none.to_report()["direction_deg"] is None and none.to_report()["blur_px"] is None
    assert "deg" not in none.summary() and "no pixel blurred" in none.summary()
    few = Verdict("p.jpg", False, 0.3, 0.009, 16.6, 45.0, 0.9)
    assert few.to_report()["blur_px"] == 16.6
    assert "0.9% shaken, median blur 16.6 px" in few.summary()  # says what the blur is a median of
    assert none.to_dict()["direction_deg"] == 0.0  # the raw numbers (the Android demo's mirror) stay
