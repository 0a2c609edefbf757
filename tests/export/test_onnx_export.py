"""PyTorch -> ONNX: metadata, checker, numerics against PyTorch, dynamic sizes, BN folding, FP16."""

from __future__ import annotations

import json

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from export_helpers import small  # noqa: E402

from jitteredge.errors import JitterEdgeError  # noqa: E402
from jitteredge.export import onnx_export, run_export  # noqa: E402


def test_static_round_trip_metadata_checker_and_numerics(checkpoint, tmp_path):
    out = tmp_path / "m.onnx"
    result = run_export(small(model=str(checkpoint), imgsz=(32, 48), out=str(out)))
    assert result.artifact == out and out.is_file()
    assert result.report["onnx_vs_torch_max_px"] <= 1e-3

    model = onnx.load(str(out))
    onnx.checker.check_model(model, full_check=True)
    assert model.opset_import[0].version >= 17
    props = {p.key: p.value for p in model.metadata_props}
    meta = json.loads(props["jitteredge"])
    assert meta["precision"] == "fp32" and props["precision"] == "fp32"
    assert meta["code_scale_px"] == 8.0
    assert meta["input"]["layout"] == "NCHW" and meta["input"]["color"] == "RGB"
    assert (meta["input"]["mean"], meta["input"]["std"]) == (0.5, 0.25)
    assert meta["model_config"]["enc_widths"] == [12, 24, 48]
    assert meta["input"]["height"] == 32 and meta["input"]["width"] == 48
    # BatchNorm folded away, transposed convolutions as Conv + DepthToSpace: one Conv per block.
    assert {n.op_type for n in model.graph.node} == {"Conv", "Relu", "MaxPool", "Concat", "DepthToSpace", "Slice",
                                                     "Constant"}  # Constant: the Slice bounds
    ops = [n.op_type for n in model.graph.node]
    assert ops[:3] == ["Conv", "MaxPool", "Relu"]  # stem pooled before its ReLU (they commute exactly)
    # The stem is padded from 12 to 16 channels for ONNX Runtime's blocked layout, then sliced back.
    stem_weight = next(i for i in model.graph.initializer if i.name == model.graph.node[0].input[1])
    assert list(stem_weight.dims) == [16, 3, 3, 3]
    assert ops[3:8] == ["Constant"] * 4 + ["Slice"] and ops[8] == "Conv"
    dims = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim[1:]]
    assert dims == [3, 32, 48]


def test_torch_and_onnxruntime_agree_within_tolerance(checkpoint, tmp_path):
    from jitteredge.checkpoint import load_checkpoint

    out = tmp_path / "m.onnx"
    run_export(small(model=str(checkpoint), out=str(out)))
    net, _ = load_checkpoint(checkpoint)
    diff = onnx_export.compare_with_torch(net, out, [(32, 32), (16, 64)], seed=3)
    assert diff <= 1e-3


def test_dynamic_axes_run_at_two_sizes(checkpoint, tmp_path):
    out = tmp_path / "dyn.onnx"
    run_export(small(model=str(checkpoint), out=str(out)))
    session = onnx_export.ort_session(out)
    for n, h, w in ((1, 32, 32), (2, 48, 80)):
        x = np.random.default_rng(h).standard_normal((n, 3, h, w)).astype(np.float32)
        (y,) = session.run(None, {"input": x})
        assert y.shape == (n, 2, h, w) and y.dtype == np.float32 and np.isfinite(y).all()


def test_field_difference_is_sign_invariant_and_in_pixels():
    code = np.zeros((1, 2, 4, 4), np.float32)
    code[:, 0] = -1.0  # vertical blur: U = 0, where decode may pick either sign of V
    other = code.copy()
    other[:, 1] = 1e-7
    assert onnx_export.field_max_diff_px(code, other) < 1e-4
    shifted = code + np.float32(0.5 / 8.0)
    assert onnx_export.field_max_diff_px(code, shifted) > 0.1


def test_read_metadata_refuses_a_foreign_onnx(tmp_path):
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 4, 4])])
    path = tmp_path / "foreign.onnx"
    onnx.save(helper.make_model(graph), str(path))
    with pytest.raises(JitterEdgeError, match="not a jitteredge model"):
        onnx_export.read_metadata(path)
    (tmp_path / "junk.onnx").write_bytes(b"\x00garbage" * 10)
    with pytest.raises(JitterEdgeError, match="foreign|not an ONNX|not a jitteredge"):
        onnx_export.read_metadata(tmp_path / "junk.onnx")


def test_onnx_runner_reads_our_metadata(checkpoint, tmp_path):
    runner_module = pytest.importorskip("jitteredge.runners.onnx_runner")
    out = tmp_path / "m.onnx"
    run_export(small(model=str(checkpoint), out=str(out)))
    with runner_module.OnnxRunner(out, threads=1) as runner:
        y = runner.predict(np.zeros((1, 3, 32, 32), np.float32))
        assert y.shape == (1, 2, 32, 32)
        assert runner.precision == "fp32"
        assert runner.meta["model_config"]["preset"] == "edge"
        assert runner.fixed_hw is None


def test_fp16_conversion_keeps_float32_io_and_numerics(checkpoint, tmp_path):
    out = tmp_path / "m.onnx"
    run_export(small(model=str(checkpoint), out=str(out)))
    half = onnx_export.convert_to_fp16(onnx.load(str(out)))
    half_path = tmp_path / "m.fp16.onnx"
    onnx.save(half, str(half_path))
    assert any(i.data_type == onnx.TensorProto.FLOAT16 for i in half.graph.initializer)
    assert half.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    x = np.random.default_rng(0).standard_normal((1, 3, 32, 32)).astype(np.float32)
    (y32,) = onnx_export.ort_session(out).run(None, {"input": x})
    (y16,) = onnx_export.ort_session(half_path).run(None, {"input": x})
    assert y16.dtype == np.float32
    assert onnx_export.field_max_diff_px(y32, y16) < 0.05  # fp16 keeps ~3 significant digits of ~px fields


@pytest.mark.parametrize("cin,cout,k,s,p,groups", [(6, 4, 2, 2, 0, 1), (2, 2, 8, 4, 2, 2), (5, 3, 4, 2, 1, 1)])
def test_subpixel_conv_equals_the_transposed_convolution(cin, cout, k, s, p, groups):
    import torch

    torch.manual_seed(cin + k)
    layer = torch.nn.ConvTranspose2d(cin, cout, k, stride=s, padding=p, groups=groups, bias=True)
    conv, shuffle = onnx_export.subpixel_conv(layer)
    x = torch.randn(2, cin, 7, 9)
    with torch.no_grad():
        torch.testing.assert_close(shuffle(conv(x)), layer(x), atol=1e-5, rtol=1e-5)
    assert onnx_export.subpixel_conv(torch.nn.ConvTranspose2d(3, 3, 3, stride=2)) is None  # 2x+1 output


def test_classes_head_exports_its_code(tmp_path):
    """head="classes": the graph ends in the softmax expectation of the class codes, still (N, 2, H, W)."""
    import torch

    from jitteredge.checkpoint import make_payload, save_checkpoint
    from jitteredge.model import ModelConfig, build_model

    torch.manual_seed(1)
    net = build_model(ModelConfig(head="classes", magnitude_bins=2, orientation_bins=3)).eval()
    ckpt = tmp_path / "classes.pt"
    save_checkpoint(ckpt, make_payload(net, {}, 0, {}))
    out = tmp_path / "classes.onnx"
    result = run_export(small(model=str(ckpt), out=str(out)))
    assert result.report["onnx_vs_torch_max_px"] <= 1e-3
    (y,) = onnx_export.ort_session(out).run(None, {"input": np.zeros((1, 3, 32, 32), np.float32)})
    assert y.shape == (1, 2, 32, 32)


@pytest.mark.parametrize("preset,padded", [("edge", True), ("edge2", False), ("paper", True)])
def test_padded_stem_gives_the_same_output(preset, padded):
    """pad_stem_channels adds all-zero filters and slices them off after pooling: same field."""
    import torch

    from jitteredge.model import build_model

    torch.manual_seed(7)
    net = build_model(preset).eval()
    plain = onnx_export.export_module(net)
    wide = onnx_export.export_module(net, stem_multiple=16)
    x = torch.randn(2, 3, 32, 48)
    with torch.no_grad():
        torch.testing.assert_close(wide(x), plain(x), atol=1e-5, rtol=1e-5)
    if padded:
        assert wide.net.stage1[-1][0].out_channels % 16 == 0
        assert wide.net.stage1[-1][0].out_channels != plain.net.stage1[-1][0].out_channels
    assert onnx_export.pad_stem_channels(onnx_export.export_module(net).net, 16) is padded


@pytest.mark.parametrize("fmt,multiple", [("onnx", 16), ("ort", 0), ("engine", 0)])
def test_stem_padding_is_asked_for_onnx_files_only(fmt, multiple):
    from jitteredge.export import ExportConfig

    assert ExportConfig(format=fmt).validate().stem_channel_multiple == multiple
    assert ExportConfig(format=fmt, stem_channel_multiple=8).validate().stem_channel_multiple == 8
    with pytest.raises(JitterEdgeError, match="stem_channel_multiple"):
        ExportConfig(format=fmt, stem_channel_multiple=-1).validate()
