"""A training run as a user meets it: its validation agrees with `jitteredge eval`, --resume keeps the
run's own settings, Ctrl-C and SIGTERM save last.pt, a header says what runs, real photos choose best.pt."""

from __future__ import annotations

import csv
import json
import os
import signal

import cv2
import numpy as np
import pytest

from jitteredge.checkpoint import read_payload
from jitteredge.cli import main
from jitteredge.errors import JitterEdgeError
from jitteredge.train import TrainConfig, train

TINY = dict(source="procedural", val_source="procedural", crop_px=32, batch_size=2, val_size_px=32, val_per_group=2,
            workers=0, threads=1, progress=False, log_every=1, warmup_steps=2, amp="off")
TINY_FLAGS = ["--crop", "32", "--batch", "2", "--val-samples", "1", "--val-size", "32", "--val-source", "procedural",
              "--workers", "0", "--threads", "1", "--no-progress", "--amp", "off"]


def test_training_validation_and_eval_print_the_same_epe(tmp_path):
    from jitteredge.evaluate import EvalConfig, evaluate

    result = train(TrainConfig(out_dir=str(tmp_path / "run"), steps=1, val_every=1, **TINY))
    trained = read_payload(result.best)["metrics"]  # best.pt: the weights validation scored (the average)
    report = evaluate(EvalConfig(model=str(result.best), source="procedural", split="val", n=2, seed=0, size_px=32,
                                 groups=("strong", "mild", "sharp", "defocus"), out_dir=str(tmp_path / "ev")))
    for group in ("strong", "mild", "sharp", "defocus"):
        model = report["groups"][group]["model"]
        assert trained[f"{group}/epe_px"] == pytest.approx(model["epe_px"], abs=1e-3), group
        assert trained[f"{group}/shaken_pixel_share"] == pytest.approx(model["shaken_pixel_share"], abs=1e-3), group
    assert trained["strong/zero_epe_px"] == report["groups"]["strong"]["zero"]["epe_px"]


def _photos(folder, n=3):
    folder.mkdir()
    rng = np.random.default_rng(0)
    for k in range(n):
        cv2.imwrite(str(folder / f"p{k}.png"), rng.integers(0, 256, (48, 48, 3)).astype(np.uint8))
    return folder


def test_resume_keeps_the_run_settings_and_refuses_contradicting_flags(tmp_path, capsys):
    photos = _photos(tmp_path / "my_photos")
    out = tmp_path / "run"
    assert main(["train", "--source", str(photos), "--out", str(out), "--steps", "1", "--lr", "0.001", *TINY_FLAGS]) == 0
    capsys.readouterr()

    # plain --resume: the run's own source and learning rate, not the defaults
    assert main(["train", "--out", str(out), "--resume", "--steps", "2", "--no-progress"]) == 0
    err = capsys.readouterr().err
    saved = json.loads((out / "config.json").read_text())
    assert saved["source"] == str(photos) and saved["lr"] == 0.001 and saved["crop_px"] == 32
    assert read_payload(out / "last.pt")["step"] == 2
    assert "resume: steps 1 -> 2 (given)" in err  # a change of length is taken, and said

    # a flag that changes what is trained is refused, in one line, before anything runs
    assert main(["train", "--out", str(out), "--resume", "--steps", "3", "--source", "procedural"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "source 'procedural'" in err[0] and str(photos) in err[0]
    assert read_payload(out / "last.pt")["step"] == 2


def test_library_resume_refuses_other_settings(tmp_path):
    train(TrainConfig(out_dir=str(tmp_path), steps=1, val_every=1, **TINY))
    with pytest.raises(JitterEdgeError, match="margin_px 9.0"):
        train(TrainConfig(out_dir=str(tmp_path), steps=2, val_every=1, resume=True, margin_px=9.0, **TINY))


def test_resume_takes_a_new_false_shake_weight_and_says_so(tmp_path, capsys):
    train(TrainConfig(out_dir=str(tmp_path), steps=1, val_every=1, zero_weight=4.0, **TINY))
    train(TrainConfig(out_dir=str(tmp_path), steps=2, val_every=1, resume=True, zero_weight=40.0, **TINY))
    assert "resume: zero_weight 4.0 -> 40.0 (given)" in capsys.readouterr().err
    assert read_payload(tmp_path / "last.pt")["train_config"]["zero_weight"] == 40.0


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_stop_signal_saves_last_pt_at_the_step_reached(tmp_path, monkeypatch, capsys, sig):
    import jitteredge.train.loop as loop

    real, calls = loop.compute_loss, {"n": 0}

    def signalled(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            os.kill(os.getpid(), sig)  # as Ctrl-C or `kill` would, in the middle of step 3
        return real(*args, **kwargs)

    monkeypatch.setattr(loop, "compute_loss", signalled)
    with pytest.raises(KeyboardInterrupt):
        train(TrainConfig(out_dir=str(tmp_path), steps=50, val_every=50, ckpt_every=50, **TINY))
    assert read_payload(tmp_path / "last.pt")["step"] == 3  # nothing was due before step 50
    assert f"{sig.name} at step 3: saved" in capsys.readouterr().err
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handlers put back


def test_ckpt_every_flag_and_start_header(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--source", "procedural", "--out", str(out), "--steps", "3", "--ckpt-every", "2",
                 "--val-every", "5", *TINY_FLAGS]) == 0
    err = capsys.readouterr().err
    for word in ("device:", "cpu", "torch threads", "precision:", "fp32", "data:", "procedural", "validation:",
                 "output:", str(out), "new run", "steps:", "0 -> 3"):
        assert word in err, word
    assert json.loads((out / "config.json").read_text())["ckpt_every"] == 2


def test_real_photos_at_validation_choose_best(tmp_path, capsys):
    folder = tmp_path / "real"
    folder.mkdir()
    rng = np.random.default_rng(1)
    lines = ["path,label"]
    for k, label in enumerate(["shake", "sharp", "defocus", "shake"]):
        cv2.imwrite(str(folder / f"{k}.png"), rng.integers(0, 256, (40, 56, 3)).astype(np.uint8))
        lines.append(f"{k}.png,{label}")
    (folder / "m.csv").write_text("\n".join(lines) + "\n")
    result = train(TrainConfig(out_dir=str(tmp_path / "run"), steps=2, val_every=1, val_real=str(folder / "m.csv"),
                               **TINY))
    with open(tmp_path / "run" / "log.csv") as f:
        rows = [r for r in csv.DictReader(f) if r["score"]]
    assert len(rows) == 2 and all(r["real/auc"] != "" for r in rows)
    aucs = [float(r["real/auc"]) for r in rows]
    best = read_payload(result.best)
    assert best["metrics"]["real/auc"] == pytest.approx(max(aucs), abs=1e-4)
    assert best["best_key"][0] == pytest.approx(-max(aucs), abs=1e-4)
    assert "real AUC" in capsys.readouterr().err


def test_a_teacher_adds_its_term_and_can_be_dropped_on_resume(tmp_path, capsys):
    from jitteredge.train.loop import teacher_loss

    teacher_run = train(TrainConfig(out_dir=str(tmp_path / "teacher"), steps=1, val_every=1, **TINY))
    out = tmp_path / "student"
    train(TrainConfig(out_dir=str(out), model_preset="edge2", steps=2, val_every=2,
                      teacher=str(teacher_run.last), teacher_weight=0.5, **TINY))
    with open(out / "log.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["loss"]]
    assert len(rows) == 2
    for r in rows:  # loss = squared + zero_weight * false_shake + 0.5 * teacher
        parts = float(r["squared"]) + 4.0 * float(r["false_shake"]) + 0.5 * float(r["teacher"])
        assert float(r["teacher"]) > 0 and float(r["loss"]) == pytest.approx(parts, rel=1e-4)
    train(TrainConfig(out_dir=str(out), model_preset="edge2", steps=3, val_every=3, resume=True,
                      teacher=str(teacher_run.last), teacher_weight=0.0, **TINY))
    assert "resume: teacher_weight 0.5 -> 0.0 (given)" in capsys.readouterr().err
    with open(out / "log.csv", newline="") as f:
        assert [r["teacher"] for r in csv.DictReader(f) if r["loss"]][-1] == ""  # off: no teacher term
    import torch

    assert float(teacher_loss(torch.ones(1, 2, 4, 4), torch.zeros(1, 2, 4, 4))) == pytest.approx(2.0)


def test_a_negative_teacher_weight_is_refused():
    with pytest.raises(JitterEdgeError, match="teacher-weight"):
        TrainConfig(teacher_weight=-1.0, **TINY).validate()
