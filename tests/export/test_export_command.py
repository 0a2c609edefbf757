"""`jitteredge export`: flags per format, aliases, the success summary, and bad input as one line."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from export_helpers import run_cli

SMALL = {"check_hw": [32, 32], "calib_samples": 4, "gate_samples": 4, "progress": False}


@pytest.fixture
def small_config(tmp_path):
    path = tmp_path / "small.json"
    path.write_text(json.dumps(SMALL))
    return str(path)


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("jitteredge export: error: ")
    return err[0]


def test_success_prints_artifact_size_time_and_next_commands(checkpoint, tmp_path, small_config, capsys):
    out = tmp_path / "m.onnx"
    assert run_cli([str(checkpoint), "--out", str(out), "--config", small_config]) == 0
    text = capsys.readouterr().out
    assert f"wrote {out} (" in text and "KiB" in text and " s\n" in text
    assert "max field difference" in text
    assert f"jitteredge analyze --model {out} photo.jpg" in text
    assert f"jitteredge bench --onnx {out}" in text


@pytest.mark.parametrize("argv,message", [
    (["--format", "onnx", "--fp16"], "does not take fp16"),
    (["--format", "ort", "--fp16"], "does not take fp16"),
    (["--format", "keras"], "unknown format"),
    (["--calib", "x"], "only apply with --int8"),
    (["--calib-method", "entropy"], "only apply with --int8"),
    (["--max-epe-loss", "0.1"], "only apply with --int8"),
    (["--trt-typing", "strong"], "only apply to --format engine"),
    (["--imgsz", "30", "32"], "multiples of 16"),
    (["--opset", "13"], "17 or newer"),
    (["--format", "engine", "--int8", "--int8-activations", "uint8"], "symmetric INT8 only"),
])
def test_flags_a_format_does_not_take_are_rejected(checkpoint, tmp_path, argv, message, capsys):
    rc = run_cli([str(checkpoint), "--out", str(tmp_path / "x.any")] + argv)
    assert rc == 2
    assert message in _one_error_line(capsys)
    assert not list(tmp_path.iterdir())


def test_out_suffix_must_match_the_format(checkpoint, tmp_path, capsys):
    assert run_cli([str(checkpoint), "--format", "mobile", "--out", str(tmp_path / "m.onnx")]) == 2
    assert "writes .ort" in _one_error_line(capsys)


def test_missing_and_corrupt_checkpoints(tmp_path, capsys):
    assert run_cli([str(tmp_path / "nope.pt")]) == 2
    assert "no such" in _one_error_line(capsys)
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"definitely not a checkpoint")
    assert run_cli([str(bad), "--out", str(tmp_path / "bad.onnx")]) == 2
    assert "not a jitteredge checkpoint" in _one_error_line(capsys)
    import torch

    plain = tmp_path / "plain.pt"
    torch.save({"conv.weight": torch.zeros(1)}, plain)
    assert run_cli([str(plain), "--out", str(tmp_path / "plain.onnx")]) == 2
    assert "not a jitteredge checkpoint" in _one_error_line(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.pt", "plain.pt"]


def test_an_onnx_that_is_not_ours_is_refused(tmp_path, capsys):
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 8, 8])])
    foreign = tmp_path / "foreign.onnx"
    onnx.save(helper.make_model(graph), str(foreign))
    for fmt in ("ort", "engine"):
        assert run_cli([str(foreign), "--format", fmt]) == 2
        assert "not a jitteredge model" in _one_error_line(capsys)
    assert run_cli([str(foreign)]) == 2  # --format onnx from an ONNX: nothing to do
    assert "already ONNX" in _one_error_line(capsys)
    assert [p.name for p in tmp_path.iterdir()] == ["foreign.onnx"]


def test_empty_calibration_folder(checkpoint, tmp_path, small_config, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    out = tmp_path / "m.int8.onnx"
    assert run_cli([str(checkpoint), "--int8", "--calib", str(empty), "--out", str(out), "--config", small_config]) == 2
    assert "no images" in _one_error_line(capsys)
    assert not out.exists()


def test_config_value_of_the_wrong_type_is_one_line(checkpoint, tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("imgsz: 256\n")  # needs [H, W]
    assert run_cli([str(checkpoint), "--out", str(tmp_path / "m.onnx"), "--config", str(bad)]) == 2
    assert "imgsz must be" in _one_error_line(capsys)


def test_unwritable_output(checkpoint, tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    assert run_cli([str(checkpoint), "--out", str(blocker / "sub" / "m.onnx")]) == 2
    assert "cannot write here" in _one_error_line(capsys)
    assert run_cli([str(checkpoint), "--out", str(tmp_path)]) == 2  # a folder is not a file name
    _one_error_line(capsys)


def test_gate_failure_exits_nonzero_with_one_line(checkpoint, tmp_path, small_config, capsys):
    out = tmp_path / "m.int8.onnx"
    rc = run_cli([str(checkpoint), "--int8", "--max-epe-loss", "-1", "--out", str(out), "--config", small_config])
    assert rc == 2
    line = _one_error_line(capsys)
    assert "accuracy gate failed" in line and "nothing written" in line
    assert [p.name for p in tmp_path.iterdir()] == ["small.json"]


def test_config_file_rejects_unknown_settings(checkpoint, tmp_path, capsys):
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"imgsize": [32, 32]}))
    assert run_cli([str(checkpoint), "--config", str(cfg)]) == 2
    assert "unknown export settings" in _one_error_line(capsys)


@pytest.mark.slow
def test_command_line_entry_point(checkpoint, tmp_path, small_config):
    """The real `python -m jitteredge export`, as a user runs it."""
    try:
        from jitteredge import cli

        cli.build_parser()
    except ImportError as exc:
        pytest.skip(f"the command line cannot load every verb yet ({exc})")
    out = tmp_path / "m.ort"
    done = subprocess.run([sys.executable, "-m", "jitteredge", "export", str(checkpoint), "-f", "mobile", "--int8",
                           "--max-epe-loss", "1e9", "--out", str(out), "--config", small_config],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert out.is_file() and "jitteredge bench --ort" in done.stdout
    bad = subprocess.run([sys.executable, "-m", "jitteredge", "export", str(tmp_path / "missing.pt")],
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "Traceback" not in bad.stderr


def test_format_rules_live_in_export_config_validate():
    """The library refuses what the command refuses: a flag the run cannot use, named by its flag."""
    from jitteredge.errors import JitterEdgeError
    from jitteredge.export import ExportConfig

    with pytest.raises(JitterEdgeError, match="--calib-samples only apply with --int8"):
        ExportConfig(calib_samples=8).validate(given={"calib_samples"})
    with pytest.raises(JitterEdgeError, match="--workspace only apply to --format engine"):
        ExportConfig(trt_workspace_mib=64).validate(given={"trt_workspace_mib"})
    ExportConfig(calib_samples=8).validate()  # from a config file: a default for the runs that use it
    ExportConfig(format="trt", trt_workspace_mib=64).validate(given={"trt_workspace_mib"})
