"""ONNX Runtime Mobile: the .ort model, its reduced-operator config, same outputs as the .onnx."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("onnxruntime.tools.convert_onnx_models_to_ort")

from export_helpers import small  # noqa: E402

from jitteredge.export import onnx_export, ort_mobile, run_export  # noqa: E402


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_ort_conversion_writes_model_and_operator_config(checkpoint, tmp_path, precision):
    out = tmp_path / f"m.{precision}.ort"
    result = run_export(small(model=str(checkpoint), format="mobile", precision=precision, max_epe_loss=1e9, out=str(out)))
    config = tmp_path / f"m.{precision}.required_operators.config"
    assert result.artifact == out and out.is_file() and config.is_file()
    assert result.extra_files == [config]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([out.name, config.name])  # nothing else left
    ops = ort_mobile.required_operators(config)
    assert any(op.endswith(":Conv") or op.endswith(":QLinearConv") for op in ops)
    if precision == "int8":
        assert "com.microsoft:1:QLinearConv" in ops  # Q/DQ fused at conversion
    assert str(tmp_path) not in config.read_text() and "/tmp" not in config.read_text()
    assert result.report["ort_vs_onnx_max_px"] <= (1e-3 if precision == "fp32" else 0.25)

    # The .ort runs in ONNX Runtime and keeps the metadata the runners read.
    session = onnx_export.ort_session(out)
    assert "jitteredge" in session.get_modelmeta().custom_metadata_map
    x = np.random.default_rng(1).standard_normal((1, 3, 32, 64)).astype(np.float32)
    (y,) = session.run(None, {"input": x})
    assert y.shape == (1, 2, 32, 64)


def test_ort_from_an_existing_onnx_matches_it(checkpoint, tmp_path):
    onnx_path = tmp_path / "m.onnx"
    run_export(small(model=str(checkpoint), out=str(onnx_path)))
    out = tmp_path / "from_onnx.ort"
    run_export(small(model=str(onnx_path), format="ort", out=str(out)))
    x = np.random.default_rng(2).standard_normal((1, 3, 48, 32)).astype(np.float32)
    (a,) = onnx_export.ort_session(onnx_path).run(None, {"input": x})
    (b,) = onnx_export.ort_session(out).run(None, {"input": x})
    assert onnx_export.field_max_diff_px(a, b) <= 1e-3


def test_required_operators_parser(tmp_path):
    cfg = tmp_path / "x.config"
    cfg.write_text("# comment\nai.onnx;17;Conv,Relu\ncom.microsoft;1;QLinearConv\n\n")
    assert ort_mobile.required_operators(cfg) == ["ai.onnx:17:Conv", "ai.onnx:17:Relu", "com.microsoft:1:QLinearConv"]


def test_conversion_prints_no_tool_log(checkpoint, tmp_path, caplog, capfd):
    """ONNX Runtime's converter logs "Created config in /tmp/..." at INFO on stderr: not through us."""
    import logging

    with caplog.at_level(logging.DEBUG):
        run_export(small(model=str(checkpoint), format="ort", out=str(tmp_path / "m.ort")))
    assert not [r for r in caplog.records if r.name.startswith("ort_format_model")]
    assert "Created config" not in capfd.readouterr().err
