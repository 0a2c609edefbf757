"""Each export format writes files of its own: the README's export commands, run in order, keep every artifact."""

from __future__ import annotations

import hashlib

import pytest

from export_helpers import small

from jitteredge.errors import JitterEdgeError
from jitteredge.export import onnx_export, run_export


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_engine_export_keeps_the_onnx_runtime_int8_file(checkpoint, tmp_path, monkeypatch):
    """`export --int8` then `export --format engine --int8` (default names): the uint8-activation file
    for ONNX Runtime stays as it was; the engine's symmetric ONNX has a name of its own."""
    monkeypatch.chdir(tmp_path)
    first = run_export(small(model=str(checkpoint), precision="int8", max_epe_loss=1e9))
    assert first.artifact.name == "edge_rand.int8.onnx"
    before = _digest(first.artifact)
    try:
        result = run_export(small(model=str(checkpoint), format="engine", precision="int8", max_epe_loss=1e9))
        written = [result.artifact, *result.extra_files]
    except JitterEdgeError:  # no TensorRT here: the recipe (ONNX, spec, script) was written
        written = sorted(tmp_path.glob("edge_rand.int8.*"))
    assert _digest(first.artifact) == before
    meta = onnx_export.read_metadata(first.artifact)
    assert meta["quantization"]["activations"].startswith("uint8")
    engine_onnx = tmp_path / "edge_rand.int8.trt.onnx"
    assert engine_onnx.is_file() and engine_onnx in written
    assert onnx_export.read_metadata(engine_onnx)["quantization"]["activations"].startswith("int8")


def test_a_replaced_file_is_named_in_the_result(checkpoint, tmp_path):
    out = tmp_path / "m.onnx"
    out.write_bytes(b"an older file")
    result = run_export(small(model=str(checkpoint), out=str(out)))
    assert result.replaced == [out]
    from jitteredge.commands.export import summary

    assert any("replaced" in line and str(out) in line for line in summary(result))


@pytest.mark.parametrize("fmt,precision,names", [
    ("engine", "int8", {"m.int8.trt.onnx", "m.int8.build.json", "m.int8.trtexec.sh"}),
    ("engine", "fp32", {"m.trt.onnx", "m.build.json", "m.trtexec.sh"}),
])
def test_engine_recipe_names(checkpoint, tmp_path, fmt, precision, names):
    out = tmp_path / (f"m.{precision}.engine" if precision != "fp32" else "m.engine")
    try:
        run_export(small(model=str(checkpoint), format=fmt, precision=precision, max_epe_loss=1e9, out=str(out)))
    except JitterEdgeError:
        pass
    assert names <= {p.name for p in tmp_path.iterdir()}
