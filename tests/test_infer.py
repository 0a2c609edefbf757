"""Runners and open_runner: torch and ONNX Runtime agree, foreign files are refused, photos are never enlarged."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch

from jitteredge.errors import JitterEdgeError
from jitteredge.fieldcode import CODE_SCALE_PX
from jitteredge.infer import predict_field
from jitteredge.runners import MODEL_SUFFIXES, open_runner
from jitteredge.weights import resolve_model
from jitteredge.model import build_model
from jitteredge.preprocess import DEFAULT_LONG_SIDE, normalize

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")


def save_random_checkpoint(path, seed: int = 0):
    """A random-init edge model in the checkpoint format; BN statistics made non-trivial."""
    torch.manual_seed(seed)
    model = build_model("edge")
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
    torch.save({"format": "jitteredge-checkpoint", "version": 1, "model": model.state_dict(),
                "model_config": model.config.to_dict(), "train_config": {}, "step": 0, "metrics": {},
                "jitteredge_version": "test"}, path)
    return model.eval()


def export_onnx(model, path, hw=(32, 32), dynamic=True, metadata=True):
    """torch.onnx.export at a tiny size, plus the "jitteredge" metadata entry the runner requires."""
    x = torch.zeros(1, 3, *hw)
    axes = {"image": {0: "n", 2: "h", 3: "w"}, "code": {0: "n", 2: "h", 3: "w"}} if dynamic else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (x,), str(path), input_names=["image"], output_names=["code"],
                          dynamic_axes=axes, opset_version=17, dynamo=False)
    proto = onnx.load(str(path))
    if metadata:
        entry = proto.metadata_props.add()
        entry.key = "jitteredge"
        entry.value = json.dumps({"model_config": model.config.to_dict(), "code_scale_px": CODE_SCALE_PX,
                                  "input": {"mean": 0.5, "std": 0.25, "layout": "NCHW", "color": "RGB"},
                                  "working_long_side": 256, "version": 1, "precision": "fp32"})
    onnx.save(proto, str(path))
    return path


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    d = tmp_path_factory.mktemp("models")
    model = save_random_checkpoint(d / "edge.pt")
    export_onnx(model, d / "edge.onnx")
    export_onnx(model, d / "static.onnx", hw=(32, 32), dynamic=False)
    export_onnx(model, d / "foreign.onnx", metadata=False)
    return d


def test_torch_runner_interface(artifacts):
    x = normalize(np.random.default_rng(0).integers(0, 256, (32, 48, 3), dtype=np.uint8))
    with open_runner(artifacts / "edge.pt", threads=1) as runner:
        y = runner.predict(x)
        assert runner.name.startswith("torch:") and runner.precision == "fp32"
        assert runner.meta["model_config"]["preset"] == "edge"
        assert runner.meta["code_scale_px"] == CODE_SCALE_PX
        assert runner.meta["working_long_side"] == DEFAULT_LONG_SIDE
    assert y.shape == (1, 2, 32, 48) and y.dtype == np.float32 and np.isfinite(y).all()
    with pytest.raises(RuntimeError, match="with"):
        runner.predict(x)  # closed


@pytest.mark.parametrize("hw", [(32, 32), (48, 64)])
def test_torch_and_onnx_agree(artifacts, hw):
    x = np.random.default_rng(1).normal(size=(2, 3, *hw)).astype(np.float32)
    with open_runner(artifacts / "edge.pt", threads=1) as t, open_runner(artifacts / "edge.onnx", threads=1) as o:
        yt, yo = t.predict(x), o.predict(x)
        assert o.name.startswith("onnxruntime:") and o.meta["working_long_side"] == 256
        assert o.meta["model_config"] == t.meta["model_config"]
    assert yo.shape == yt.shape == (2, 2, *hw)
    assert np.abs(yt).max() > 1e-3  # a real comparison, not two zero maps
    np.testing.assert_allclose(yo, yt, atol=1e-4, rtol=0)


def test_static_onnx_is_padded_to_its_size(artifacts):
    rgb = np.random.default_rng(2).integers(0, 256, (20, 28, 3), dtype=np.uint8)
    with open_runner(artifacts / "static.onnx") as o, open_runner(artifacts / "edge.pt") as t:
        assert o.fixed_hw == (32, 32)
        po, pt = predict_field(o, rgb), predict_field(t, rgb)
        big = np.random.default_rng(3).integers(0, 256, (40, 80, 3), dtype=np.uint8)  # must be reduced to fit
        pb = predict_field(o, big)
    assert po.field_input_px.shape == (20, 28, 2)
    # Same padding rule up to 32x32 vs 32x32: identical input, identical field.
    np.testing.assert_allclose(po.field_input_px, pt.field_input_px, atol=1e-3)
    assert pb.field_input_px.shape == (40, 80, 2) and pb.size.width <= 32 and pb.size.input_scale > 1


def test_onnx_without_our_metadata_is_refused(artifacts):
    with pytest.raises(JitterEdgeError, match="foreign.onnx.*not a jitteredge model"):
        with open_runner(artifacts / "foreign.onnx"):
            pass


@pytest.mark.parametrize("content", [b"", b"definitely not a torch file", "state_dict"])
def test_checkpoint_not_ours_is_refused(tmp_path, content):
    path = tmp_path / "other.pt"
    if content == "state_dict":
        torch.save(build_model("edge").state_dict(), path)  # a bare state_dict: some other program's file
    else:
        path.write_bytes(content)
    with pytest.raises(JitterEdgeError, match="other.pt"):
        with open_runner(path):
            pass


def test_missing_and_unknown_models(tmp_path):
    with pytest.raises(JitterEdgeError, match="nothere.pt"):
        open_runner(tmp_path / "nothere.pt")
    (tmp_path / "model.h5").write_bytes(b"x")
    with pytest.raises(JitterEdgeError, match="unknown model type"):
        open_runner(tmp_path / "model.h5")
    with pytest.raises(JitterEdgeError, match="no-such-registered-name"):
        resolve_model("no-such-registered-name", MODEL_SUFFIXES)


def test_small_photo_is_never_enlarged(artifacts):
    rgb = np.random.default_rng(4).integers(0, 256, (40, 24, 3), dtype=np.uint8)
    with open_runner(artifacts / "edge.pt") as runner:
        small = predict_field(runner, rgb, long_side=512)
        reduced = predict_field(runner, rgb, long_side=20)
    assert small.size.input_scale == 1.0 and (small.size.height, small.size.width) == (40, 24)
    assert small.field_working_px.shape == small.field_input_px.shape == (40, 24, 2)
    np.testing.assert_array_equal(small.field_working_px, small.field_input_px)
    assert (reduced.size.height, reduced.size.width) == (20, 12) and reduced.size.input_scale == 2.0
    assert reduced.field_input_px.shape == (40, 24, 2) and reduced.field_working_px.shape == (20, 12, 2)


def test_verdict_counts_only_where_the_working_photo_shows_contrast(artifacts):
    from jitteredge.evidence import blur_evidence
    from jitteredge.verdict import judge_field

    rgb = np.full((64, 96, 3), 180, np.uint8)  # a flat sky ...
    rgb[40:] = np.random.default_rng(5).integers(0, 256, (24, 96, 3))  # ... over a busy ground
    with open_runner(artifacts / "edge.pt") as runner:
        pred = predict_field(runner, rgb, long_side=48)  # reduced: the mask is taken at working size
    assert pred.working_rgb.shape == (32, 48, 3) and pred.working_rgb.dtype == np.uint8
    evidence = blur_evidence(pred.working_rgb)
    assert evidence[24:].all() and not evidence[:12].any()
    verdict = pred.verdict("sky.jpg")
    assert verdict.path == "sky.jpg"
    assert verdict == judge_field(pred.field_working_px, pred.size.input_scale, "sky.jpg", evidence=evidence)
    # what the network reads in the sky does not count
    mag = np.hypot(pred.field_working_px[..., 0], pred.field_working_px[..., 1])
    assert verdict.shaken_fraction == pytest.approx(((mag > 2.0) & evidence).mean(), abs=1e-4)


def test_default_model_opens():
    try:
        path = resolve_model("default", MODEL_SUFFIXES)
    except JitterEdgeError as exc:
        pytest.skip(f"no shipped weights: {exc}")
    with open_runner(path) as runner:
        y = runner.predict(np.zeros((1, 3, 32, 32), np.float32))
    assert y.shape == (1, 2, 32, 32)
