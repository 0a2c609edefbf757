"""INT8: symmetric Q/DQ nodes, float layers by role, the accuracy gate, calibration inputs."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime.quantization")

from export_helpers import small  # noqa: E402

from jitteredge.errors import JitterEdgeError  # noqa: E402
from jitteredge.export import onnx_export, quantize, run_export  # noqa: E402

PACKAGE_SYNTHETIC_SET = quantize.synthetic_set  # before the autouse fixture swaps in the fallback


def _zero_points(model) -> dict[str, np.ndarray]:
    inits = {i.name: onnx.numpy_helper.to_array(i) for i in model.graph.initializer}
    return {n.name: inits[n.input[2]] for n in model.graph.node
            if n.op_type in ("QuantizeLinear", "DequantizeLinear") and len(n.input) > 2 and n.input[2] in inits}


def test_int8_export_is_symmetric_qdq_and_runs(checkpoint, tmp_path):
    out = tmp_path / "m.int8.onnx"
    result = run_export(small(model=str(checkpoint), precision="int8", activation_type="int8", max_epe_loss=1e9,
                              out=str(out)))
    assert result.precision == "int8" and out.is_file()
    model = onnx.load(str(out))
    onnx.checker.check_model(model, full_check=True)
    ops = [n.op_type for n in model.graph.node]
    assert ops.count("QuantizeLinear") >= 5 and ops.count("DequantizeLinear") >= 10
    zps = _zero_points(model)
    assert zps and all(z.dtype == np.int8 and not z.any() for z in zps.values())  # symmetric: zero point 0
    meta = json.loads({p.key: p.value for p in model.metadata_props}["jitteredge"])
    assert meta["precision"] == "int8"
    assert meta["quantization"]["activations"] == "int8 symmetric"
    # First rung of the ladder: the stem and the bilinear upsampler stay float (no DequantizeLinear
    # feeds their weights); every other convolution is quantized.
    stem = quantize.resolve_float_layers(model, ["first"])
    (up,) = quantize.resolve_float_layers(model, ["upsampler"])
    assert result.report["quantization"]["float_layers"] == stem + [up]
    assert result.report["float_layer_roles"] == ["first", "upsampler"]
    producers = {o: n.op_type for n in model.graph.node for o in n.output}
    for node in model.graph.node:
        if node.op_type == "Conv":
            quantized = producers.get(node.input[1]) == "DequantizeLinear"
            assert quantized == (node.name not in (stem[0], up)), node.name
    # Every other convolution is quantized, and ONNX Runtime fuses them into QLinearConv kernels.
    assert result.report["ort_kernels"].get("QLinearConv", 0) >= 6
    x = np.random.default_rng(0).standard_normal((1, 3, 48, 32)).astype(np.float32)
    (y,) = onnx_export.ort_session(out).run(None, {"input": x})
    assert y.shape == (1, 2, 48, 32) and np.isfinite(y).all()
    report = result.report
    assert report["relative_epe_loss"] == pytest.approx(
        (report["epe_int8_px"] - report["epe_fp32_px"]) / report["epe_fp32_px"])


def test_onnx_runtime_formats_default_to_uint8_activations(checkpoint, tmp_path):
    out = tmp_path / "m.u8.onnx"
    result = run_export(small(model=str(checkpoint), precision="int8", max_epe_loss=1e9, out=str(out)))
    model = onnx.load(str(out))
    dtypes = {z.dtype.name for z in _zero_points(model).values()}
    assert dtypes == {"uint8", "int8"}  # uint8 activations, weights stay symmetric int8
    assert result.report["quantization"]["activations"] == "uint8 asymmetric"
    # ReLU folds into the quantized convolutions: ONNX Runtime runs them as QLinearConv, concat included.
    kernels = result.report["ort_kernels"]
    assert kernels.get("QLinearConv", 0) >= 8 and kernels.get("QLinearConcat", 0) == 2 and "Relu" not in kernels


def test_activation_default_per_format():
    assert small(precision="int8").validate().activation_type == "uint8"
    assert small(precision="int8", format="mobile").validate().activation_type == "uint8"
    assert small(precision="int8", format="trt").validate().activation_type == "int8"  # TensorRT: symmetric


def test_gate_fails_with_impossible_tolerance_and_leaves_nothing(checkpoint, tmp_path):
    out = tmp_path / "sub" / "m.int8.onnx"
    with pytest.raises(JitterEdgeError, match="accuracy gate failed"):
        run_export(small(model=str(checkpoint), precision="int8", max_epe_loss=-1.0, out=str(out)))
    assert not out.exists()
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


def test_resolve_float_layers_roles(checkpoint, tmp_path):
    out = tmp_path / "m.onnx"
    run_export(small(model=str(checkpoint), out=str(out)))
    model = onnx.load(str(out))
    first, head, up = (quantize.resolve_float_layers(model, [r]) for r in ("first", "head", "upsampler"))
    nodes = {n.name: n for n in model.graph.node}
    assert [nodes[n].op_type for n in first] == ["Conv", "MaxPool", "Relu"]  # the stem, pooled before ReLU
    assert "input" in nodes[first[0]].input
    assert nodes[head[0]].op_type == "Conv" and nodes[up[0]].op_type == "Conv" and head != up
    shuffle = [n for n in model.graph.node if n.op_type == "DepthToSpace"][-1]
    assert nodes[up[0]].output[0] == shuffle.input[0]
    assert quantize.resolve_float_layers(model, ["first", head[0], "first"]) == first + head
    with pytest.raises(JitterEdgeError, match="not a role"):
        quantize.resolve_float_layers(model, ["no-such-layer"])


def test_relative_loss():
    assert quantize.relative_loss(2.0, 2.06) == pytest.approx(0.03)
    assert quantize.relative_loss(2.0, 1.0) == pytest.approx(-0.5)
    assert quantize.relative_loss(0.0, 0.1) > 1e6


def test_calibration_from_a_folder_of_photos(tmp_path):
    rng = np.random.default_rng(0)
    for k, (h, w) in enumerate(((40, 60), (70, 30), (33, 33))):
        cv2.imwrite(str(tmp_path / f"p{k}.png"), rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
    inputs = quantize.calibration_inputs(str(tmp_path), 8, (32, 48), seed=0)
    assert len(inputs) == 3
    assert all(x.shape == (1, 3, 32, 48) and x.dtype == np.float32 for x in inputs)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(JitterEdgeError, match="no images"):
        quantize.calibration_inputs(str(empty), 8, (32, 32), seed=0)


def test_fallback_set_is_deterministic_and_labelled():
    a = quantize._fallback_set(3, (32, 48), seed=5)
    b = quantize._fallback_set(3, (32, 48), seed=5)
    assert len(a) == 3
    for s, t in zip(a, b):
        assert s.image.shape == (32, 48, 3) and s.image.dtype == np.uint8
        assert s.field.shape == (32, 48, 2) and s.field.dtype == np.float32
        np.testing.assert_array_equal(s.image, t.image)


@pytest.mark.slow
def test_package_synthetic_set_feeds_the_gate():
    """The gate's real data: jitteredge.data's fixed validation set (skips while it is not installed)."""
    pytest.importorskip("jitteredge.data")
    pytest.importorskip("jitteredge.synth.blur")
    samples = PACKAGE_SYNTHETIC_SET(2, (32, 48), seed=1)
    again = PACKAGE_SYNTHETIC_SET(2, (32, 48), seed=1)
    assert len(samples) == 2
    assert samples[0].image.shape == (32, 48, 3) and samples[0].field.shape == (32, 48, 2)
    np.testing.assert_array_equal(samples[1].field, again[1].field)


def test_space_to_depth_stem_is_quantized_first(tmp_path):
    """edge2's stem (48 channels out at 1/4 resolution) runs faster in INT8, so the first rung keeps
    only the upsampler in float; the patent's stem keeps its float first rung."""
    import torch

    from jitteredge.checkpoint import make_payload, save_checkpoint
    from jitteredge.export.config import default_float_ladder
    from jitteredge.model import PRESETS, build_model

    assert default_float_ladder(PRESETS["edge"].to_dict())[0] == ("first", "upsampler")
    assert default_float_ladder(PRESETS["edge2"].to_dict())[0] == ("upsampler",)
    torch.manual_seed(0)
    ckpt = tmp_path / "edge2.pt"
    save_checkpoint(ckpt, make_payload(build_model("edge2").eval(), {}, 0, {}))
    result = run_export(small(model=str(ckpt), precision="int8", max_epe_loss=1e9, out=str(tmp_path / "e2.int8.onnx")))
    assert result.report["float_layer_roles"] == ["upsampler"]
    model = onnx.load(str(tmp_path / "e2.int8.onnx"))
    producers = {o: n.op_type for n in model.graph.node for o in n.output}
    stem = next(n for n in model.graph.node if n.op_type == "Conv" and "input" in n.input[0])
    assert producers.get(stem.input[1]) == "DequantizeLinear"  # the stem's weights are INT8
