"""Real-photo scoring: figures against hand-computed values on a tiny manifest written here, bad rows
as one line each, and the same scores as `jitteredge analyze`."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from jitteredge import cli
from jitteredge.errors import JitterEdgeError
from jitteredge.fieldcode import encode_field
from jitteredge.preprocess import MEAN, STD
from jitteredge.runners import Runner
from jitteredge.validation import score_real


class ScoreRunner(Runner):
    """Predicts a constant horizontal blur of (top-left red value) / 10 px: the verdict's score of
    such a field is blur / 4 (jitteredge.verdict), so a photo whose top-left red value is 40 * s
    scores s exactly."""

    name = "score-runner"

    def activate_impl(self):
        pass

    def infer_impl(self, x):
        value = np.rint((x[:, 0, 0, 0] * STD + MEAN) * 255.0)
        out = np.empty((x.shape[0], 2) + x.shape[2:], np.float32)
        for k, v in enumerate(value):
            field = np.zeros(x.shape[2:] + (2,), np.float32)
            field[..., 0] = v / 10.0
            out[k] = encode_field(field).transpose(2, 0, 1)
        return out


def photo_scoring(path, score, seed):
    """A textured 64 px photo (every pixel shows blur) that ScoreRunner scores ``score``."""
    rgb = np.random.default_rng(seed).integers(0, 256, (64, 64, 3)).astype(np.uint8)
    rgb[0, 0, 0] = int(round(40 * score))
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))


ROWS = [("A/s1.png", "shake", 0.9), ("A/s2.png", "shake", 0.3), ("A/n1.png", "sharp", 0.2),
        ("B/s3.png", "shake", 0.7), ("B/d1.png", "defocus", 0.6), ("B/d2.png", "defocus", 0.8), ("B/n2.png", "sharp", 0.1)]


@pytest.fixture
def manifest(tmp_path, write_manifest):
    path = write_manifest(ROWS, photo_scoring, ["B/missing.png,shake,", "A/s1.png,blurry,", "B/broken.png,sharp,"])
    (tmp_path / "B" / "broken.png").write_bytes(b"not a png")
    return path


def test_figures_by_hand(manifest):
    lines = []
    with ScoreRunner() as runner:
        r = score_real(runner, manifest, progress=False, report=lines.append)
    assert [p["model"]["score"] for p in r["photos"]] == [s for _, _, s in ROWS]
    # pos 0.9, 0.3, 0.7; neg sharp 0.2, 0.1, defocus 0.6, 0.8: pairs won 4 + 2 + 3 of 12
    assert r["auc"] == 0.75 and r["auc_sharp"] == 1.0 and r["auc_defocus"] == 0.5
    assert r["recall"] == round(2 / 3, 4)  # 0.9 and 0.7 reach the verdict's 0.5
    assert r["false_alarm_sharp"] == 0.0 and r["false_alarm_defocus"] == 1.0
    # 5% and 10% of four negatives allow none: threshold 0.9, one shaken photo of three found
    assert r["threshold_at_fa05"] == 0.9 and r["recall_at_fa05"] == round(1 / 3, 4) and r["recall_at_fa10"] == round(1 / 3, 4)
    a, b = r["folders"]["A"], r["folders"]["B"]
    assert (a["n"], a["n_shake"], a["n_sharp"], a["n_defocus"]) == (3, 2, 1, 0)
    assert a["auc"] == 1.0 and a["auc_defocus"] is None and a["recall"] == 0.5 and a["recall_at_fa05"] == 0.5
    assert a["false_alarm_sharp"] == 0.0 and a["false_alarm_defocus"] is None
    assert b["auc"] == round(2 / 3, 4) and b["auc_sharp"] == 1.0 and b["auc_defocus"] == 0.5
    assert b["recall"] == 1.0 and b["recall_at_fa05"] == 0.0 and b["false_alarm_defocus"] == 1.0
    assert set(r["baselines"]) == {"laplacian", "cepstrum"} and r["baselines"]["laplacian"]["n"] == 7
    # Each bad row is one line, and the run says how many it skipped.
    assert r["n_skipped"] == 3 and len(lines) == 4
    assert "missing.png: no such photo" in lines[0] and "unknown label 'blurry'" in lines[1]
    assert "broken.png: skipped" in lines[2] and "3 row(s) skipped, 7 photo(s) scored" in lines[3]


def test_manifest_rows_read_once_score_the_same_every_time(manifest):
    """A training run reads the manifest once and scores it at every validation: the broken photo is
    left out once per run of score_real, never added again to the rows it was given."""
    from jitteredge.validation.real import usable_manifest

    rows = usable_manifest(manifest, lambda line: None)
    given = list(rows[1])
    with ScoreRunner() as runner:
        first = score_real(runner, manifest, progress=False, report=lambda line: None, manifest_rows=rows)
        second = score_real(runner, manifest, progress=False, report=lambda line: None, manifest_rows=rows)
    assert rows[1] == given and len(given) == 2  # the missing photo and the unknown label
    assert first["n_skipped"] == second["n_skipped"] == 3 and first["skipped"] == second["skipped"]


def test_no_usable_row_is_an_error(tmp_path):
    (tmp_path / "m.csv").write_text("path,label\ngone.png,shake\n")
    with ScoreRunner() as runner, pytest.raises(JitterEdgeError, match="no usable photo"):
        score_real(runner, tmp_path / "m.csv", progress=False, report=lambda line: None)


@pytest.fixture
def eval_verb_only(monkeypatch):
    monkeypatch.setattr(cli, "COMMANDS", ("eval",))


def test_eval_real_cli_writes_four_files(eval_verb_only, checkpoint, manifest, tmp_path, capsys):
    out = tmp_path / "r"
    rc = cli.main(["eval", "--real", str(manifest), "--model", str(checkpoint), "--out", str(out)])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert "| all | model | 7 (3/2/2) |" in captured.out and "| B | cepstrum |" in captured.out
    assert captured.err.count("missing.png") == 1 and "3 row(s) skipped" in captured.err
    report = json.loads((out / "real.json").read_text())
    assert {"n", "auc", "auc_sharp", "auc_defocus", "recall", "recall_at_fa05", "false_alarm_sharp",
            "false_alarm_defocus", "folders", "baselines"} <= set(report)
    assert (out / "real.md").read_text().splitlines()[0].startswith("# jitteredge eval --real")
    for name in ("real_roc.png", "real_worst.png"):
        assert cv2.imread(str(out / name)) is not None


def test_eval_real_cli_no_usable_row_exits_2(eval_verb_only, checkpoint, tmp_path, capsys):
    (tmp_path / "m.csv").write_text("path,label\ngone.png,shake\nx.png,cat\n")
    rc = cli.main(["eval", "--real", str(tmp_path / "m.csv"), "--model", str(checkpoint), "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 3 and "no usable photo" in err[-1] and "Traceback" not in "".join(err)
    assert not (tmp_path / "r" / "real.json").exists()


def test_scores_equal_analyze(checkpoint, manifest):
    from jitteredge.analyze import AnalyzeConfig, iter_analyze

    r = score_real(str(checkpoint), manifest, long_side=48, progress=False, baselines=False, report=lambda line: None)
    paths = [manifest.parent / p["path"] for p in r["photos"]]
    verdicts = list(iter_analyze(AnalyzeConfig(model=str(checkpoint), long_side=48, write_outputs=False), paths))
    assert [v.verdict.score for v in verdicts] == [p["model"]["score"] for p in r["photos"]]
    assert "baselines" not in r and r["long_side"] == 48


def test_contact_sheet_never_builds_the_full_size_field(manifest, monkeypatch):
    from jitteredge.infer import Prediction
    from jitteredge.validation.real_report import contact_sheet

    def full_size(self):
        raise AssertionError("the full-size field was built for a picture")

    with ScoreRunner() as runner:
        r = score_real(runner, manifest, progress=False, baselines=False, report=lambda line: None)
        monkeypatch.setattr(Prediction, "field_input_px", property(full_size))
        sheet = contact_sheet(runner, manifest, r, None, k=2)
    assert sheet.dtype == np.uint8 and sheet.ndim == 3 and sheet.shape[0] > 2 * 64


@pytest.mark.parametrize("sides", ([], ["--long-sides", "32", "64"]))
@pytest.mark.parametrize("content, word", [(None, "no such manifest file"),
                                           ("file,kind\nx.png,shake\n", "'path' and 'label'"),
                                           ("path,label\n", "no usable photo (0 row(s) left out)")])
def test_a_bad_manifest_is_refused_before_the_folder_and_the_model(eval_verb_only, checkpoint, tmp_path, capsys,
                                                                   monkeypatch, sides, content, word):
    """eval --real (with or without --long-sides) reads and checks the manifest first: one line, exit 2,
    no output folder made, no model loaded."""
    import jitteredge.infer

    def no_model(*args, **kwargs):
        raise AssertionError("the model was loaded before the manifest was checked")

    monkeypatch.setattr(jitteredge.infer, "open_runner", no_model)
    manifest = tmp_path / "m.csv"
    if content is not None:
        manifest.write_text(content)
    out = tmp_path / "out"
    rc = cli.main(["eval", "--real", str(manifest), "--model", str(checkpoint), "--out", str(out), *sides])
    captured = capsys.readouterr()
    assert rc == 2 and word in captured.err and len(captured.err.strip().splitlines()) == 1, captured.err
    assert captured.out == "" and not out.exists()


def test_rows_left_out_are_listed_once_before_a_manifest_with_no_usable_row_is_refused(
        eval_verb_only, checkpoint, tmp_path, capsys, monkeypatch):
    import jitteredge.infer

    monkeypatch.setattr(jitteredge.infer, "open_runner", lambda *a, **k: pytest.fail("model loaded"))
    (tmp_path / "m.csv").write_text("path,label\ngone.png,shake\nx.png,cat\n")
    for sides in ([], ["--long-sides", "64"]):
        rc = cli.main(["eval", "--real", str(tmp_path / "m.csv"), "--model", str(checkpoint),
                       "--out", str(tmp_path / "r"), *sides])
        err = capsys.readouterr().err.strip().splitlines()
        assert rc == 2 and len(err) == 3 and "gone.png: no such photo" in err[0] and "unknown label" in err[1]
        assert "no usable photo (2 row(s) left out)" in err[2] and not (tmp_path / "r").exists()


def test_a_bad_long_side_for_real_is_refused_before_the_folder(eval_verb_only, checkpoint, manifest, tmp_path, capsys):
    out = tmp_path / "out"
    rc = cli.main(["eval", "--real", str(manifest), "--model", str(checkpoint), "--out", str(out), "--long-side", "8"])
    err = capsys.readouterr().err
    assert rc == 2 and "--long-side 8" in err and len(err.strip().splitlines()) == 1 and not out.exists()
