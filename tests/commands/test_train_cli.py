import csv

import pytest
import torch

from jitteredge.checkpoint import load_checkpoint
from jitteredge.cli import main

TINY = ["--crop", "32", "--batch", "2", "--val-samples", "1", "--val-size", "32", "--val-source", "procedural",
        "--workers", "0", "--threads", "1", "--no-progress"]


def _train(capsys, *args):
    code = main(["train", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_three_step_procedural_run_writes_checkpoint_and_log(tmp_path, capsys):
    out_dir = tmp_path / "run"
    code, out, err = _train(capsys, "--source", "procedural", "--out", str(out_dir), "--steps", "3", *TINY)
    assert code == 0, err
    model, payload = load_checkpoint(out_dir / "last.pt")
    assert payload["step"] == 3 and payload["train_config"]["steps"] == 3
    assert payload["metrics"]["samples_seen"] == 6 and "strong/epe_px" in payload["metrics"]
    assert (out_dir / "best.pt").exists() and (out_dir / "config.json").exists()
    with open(out_dir / "log.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["step"]) for r in rows if r["loss"]] == [3]  # log every 10 steps, and the last
    assert any(r["score"] for r in rows)
    assert "at step 3" in out and "checkpoint:" in out


def test_config_file_gives_defaults_and_flags_override(tmp_path, capsys):
    cfg = tmp_path / "train.yaml"
    cfg.write_text(f"steps: 1\nout_dir: {tmp_path / 'from_file'}\nlr: 0.001\n")
    code, _, err = _train(capsys, "--config", str(cfg), "--source", "procedural", "--steps", "2", *TINY)
    assert code == 0, err
    _, payload = load_checkpoint(tmp_path / "from_file" / "last.pt")
    assert payload["step"] == 2 and payload["train_config"]["lr"] == 0.001


@pytest.mark.parametrize("case", ["missing_source", "empty_source", "unwritable_out", "bad_crop", "bad_config_key",
                                  "missing_config", "binary_config", "fractional_steps", "unknown_preset",
                                  "text_fraction"])
def test_bad_input_is_one_line_and_nonzero(tmp_path, capsys, case):
    out = tmp_path / "run"
    args = ["--source", "procedural", "--out", str(out), "--steps", "1", *TINY]
    if case == "missing_source":
        args[1] = str(tmp_path / "no_such_folder")
    elif case == "empty_source":
        (tmp_path / "empty").mkdir()
        args[1] = str(tmp_path / "empty")
    elif case == "unwritable_out":
        (tmp_path / "a_file").write_text("x")
        args[3] = str(tmp_path / "a_file" / "run")  # a folder cannot be made under a file
    elif case == "bad_crop":
        args += ["--crop", "40"]
    elif case == "bad_config_key":
        (tmp_path / "c.yaml").write_text("stepz: 3\n")
        args += ["--config", str(tmp_path / "c.yaml")]
    elif case == "missing_config":
        args += ["--config", str(tmp_path / "nope.yaml")]
    elif case == "binary_config":
        (tmp_path / "c.yaml").write_bytes(b"\xff\xfe\x00steps")
        args += ["--config", str(tmp_path / "c.yaml")]
    elif case == "fractional_steps":
        (tmp_path / "c.yaml").write_text("ckpt_every: 2.5\n")
        args += ["--config", str(tmp_path / "c.yaml")]
    elif case == "unknown_preset":
        (tmp_path / "c.yaml").write_text("jitter_preset: wobbly\n")
        args += ["--config", str(tmp_path / "c.yaml")]
    elif case == "text_fraction":  # an optional number (default None) is still checked as a number
        (tmp_path / "c.yaml").write_text("sharp_fraction: lots\n")
        args += ["--config", str(tmp_path / "c.yaml")]
    code, out_text, err = _train(capsys, *args)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("jitteredge train: error:"), err
    assert "Traceback" not in err
    assert not (out / "last.pt").exists()


def test_an_existing_run_is_never_overwritten_without_resume(tmp_path, capsys):
    out = tmp_path / "run"
    code, _, err = _train(capsys, "--source", "procedural", "--out", str(out), "--steps", "2", *TINY)
    assert code == 0, err
    before = (out / "last.pt").read_bytes(), (out / "log.csv").read_text()
    code, _, err = _train(capsys, "--source", "procedural", "--out", str(out), "--steps", "1", *TINY)
    assert code == 2 and "--resume" in err and len(err.strip().splitlines()) == 1
    assert ((out / "last.pt").read_bytes(), (out / "log.csv").read_text()) == before


def test_a_released_model_cannot_be_resumed(tmp_path, capsys):
    from jitteredge.checkpoint import read_payload, strip_for_release

    out = tmp_path / "run"
    code, _, err = _train(capsys, "--source", "procedural", "--out", str(out), "--steps", "1", *TINY)
    assert code == 0, err
    torch.save(strip_for_release(read_payload(out / "last.pt")), out / "last.pt")
    code, _, err = _train(capsys, "--source", "procedural", "--out", str(out), "--steps", "2", "--resume", *TINY)
    assert code == 2 and "cannot be resumed" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("flag", ("--init-weights", "--teacher"))
def test_a_missing_model_is_refused_before_the_data_and_the_run_folder(tmp_path, capsys, monkeypatch, flag):
    import jitteredge.data

    monkeypatch.setattr(jitteredge.data, "open_training_source", lambda *a, **k: pytest.fail("data opened"))
    out = tmp_path / "run"
    code, _, err = _train(capsys, "--source", "procedural", "--out", str(out), "--steps", "1",
                          flag, str(tmp_path / "MISSING.pt"), *TINY)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and f"{flag[2:]} " in lines[0] and "MISSING.pt: no such model file" in lines[0]
    assert not out.exists()
