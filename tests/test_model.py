import dataclasses

import numpy as np
import pytest
import torch

from jitteredge.fieldcode import CODE_SCALE_PX
from jitteredge.losses import class_targets
from jitteredge.model import PRESETS, CodeOutput, ModelConfig, build_model, class_codes, count_parameters

CLASSES = dataclasses.replace(PRESETS["edge"], head="classes", num_classes=0, magnitude_bins=4, orientation_bins=6)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.mark.parametrize("hw", [(16, 48), (80, 112), (48, 16)])  # odd multiples of 16, both orientations
def test_edge_output_shape_and_finite(hw):
    net = build_model("edge").eval()
    x = torch.randn(2, 3, *hw)
    with torch.no_grad():
        y = net(x)
    assert y.shape == (2, 2, *hw)
    assert torch.isfinite(y).all()


def test_paper_preset_builds_with_the_patent_widths():
    net = build_model("paper").eval()
    assert net.config.enc_widths == (86, 256, 512)
    with torch.no_grad():
        y = net(torch.randn(1, 3, 16, 48))
    assert y.shape == (1, 2, 16, 48) and torch.isfinite(y).all()
    assert count_parameters(net) > 10 * count_parameters(build_model("edge"))


@pytest.mark.parametrize("config", ["edge", CLASSES], ids=["regression", "classes"])
def test_gradient_reaches_every_parameter(config):
    net = build_model(config).train()
    out = net(torch.randn(2, 3, 48, 32))
    (out.float().pow(2).mean() + net.to_code(out).pow(2).mean()).backward()  # the training losses use both
    missing = [n for n, p in net.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all() or p.grad.abs().sum() == 0]
    assert not missing


def test_classes_head_outputs_logits_and_decodes_to_code():
    net = build_model(CLASSES).eval()
    assert net.config.num_classes == 1 + 4 * 6
    x = torch.randn(1, 3, 32, 48)
    with torch.no_grad():
        logits = net(x)
        code = net.predict_code(x)
        wrapped = CodeOutput(net)(x)
    assert logits.shape == (1, 25, 8, 12)  # 1/4 resolution
    assert code.shape == (1, 2, 32, 48) and torch.equal(code, wrapped)
    # the expectation stays inside the disk of the longest class
    assert (code.norm(dim=1) * CODE_SCALE_PX <= CLASSES.class_max_px + 1e-4).all()


def test_class_codes_grid():
    codes = class_codes(dataclasses.replace(CLASSES)) * CODE_SCALE_PX  # px
    assert codes.shape == (25, 2)
    assert torch.equal(codes[0], torch.zeros(2))
    radii = codes[1:].norm(dim=1).reshape(4, 6)
    assert torch.allclose(radii, radii[:, :1].expand(4, 6), atol=1e-4)  # one length per magnitude bin
    assert radii[-1, 0] == pytest.approx(CLASSES.class_max_px, rel=1e-5)
    assert (radii[1:, 0] > radii[:-1, 0]).all()


def test_class_targets_of_class_codes_are_their_own_classes():
    cfg = ModelConfig(head="classes", magnitude_bins=5, orientation_bins=8)
    codes = class_codes(cfg)  # (K, 2)
    target = codes.T[None, :, :, None]  # (1, 2, K, 1)
    labels = class_targets(target, cfg.magnitude_bins, cfg.orientation_bins, cfg.class_max_px)
    assert labels.flatten().tolist() == list(range(cfg.num_classes))


def test_confident_logits_decode_to_the_class_code():
    net = build_model(CLASSES)
    logits = torch.full((1, 25, 4, 4), -50.0)
    logits[0, 7] = 50.0
    assert torch.allclose(net.expected_code(logits)[0, :, 0, 0], net.class_codes[7], atol=1e-5)
    code = net.to_code(logits)  # upsampled to the input size
    assert code.shape == (1, 2, 16, 16)
    assert torch.allclose(code[0, :, 8, 8], net.class_codes[7], atol=1e-5)


def test_model_config_round_trip_and_validation():
    cfg = ModelConfig.from_dict(CLASSES.to_dict())
    assert cfg == CLASSES
    old = PRESETS["edge"].to_dict()
    for key in ("magnitude_bins", "orientation_bins", "class_max_px"):
        old.pop(key)  # configs saved before the class grid existed still load
    assert ModelConfig.from_dict(old) == PRESETS["edge"]
    with pytest.raises(ValueError):
        ModelConfig(head="softmax")
    with pytest.raises(ValueError):
        ModelConfig.from_dict({"nonsense": 1})


def test_upsampler_starts_as_bilinear():
    net = build_model("edge").eval()
    x = torch.zeros(1, 2, 4, 4)
    x[..., 1:3, 1:3] = 1.0
    y = net.upsample(x)
    ref = torch.nn.functional.interpolate(x, scale_factor=4, mode="bilinear", align_corners=False)
    assert np.allclose(y[..., 4:12, 4:12].detach().numpy(), ref[..., 4:12, 4:12].numpy(), atol=1e-5)


def test_space_to_depth_stem_starts_as_an_exact_pixel_unshuffle():
    from jitteredge.model import space_to_depth_conv

    x = torch.randn(2, 3, 16, 32)
    with torch.no_grad():
        assert torch.equal(space_to_depth_conv(3, 4)(x), torch.nn.functional.pixel_unshuffle(x, 4))


@pytest.mark.parametrize("hw", [(16, 48), (80, 112)])
def test_edge2_output_shape_and_gradient(hw):
    net = build_model("edge2").train()
    assert net.config.stem == "space_to_depth"
    out = net(torch.randn(2, 3, *hw))
    assert out.shape == (2, 2, *hw) and torch.isfinite(out).all()
    out.pow(2).mean().backward()
    missing = [n for n, p in net.named_parameters() if p.grad is None or p.grad.abs().sum() == 0]
    assert not missing


def test_edge2_config_is_checked():
    with pytest.raises(ValueError, match="two enc_widths"):
        ModelConfig(stem="space_to_depth", enc_widths=(8, 16, 32))
    with pytest.raises(ValueError, match="unknown stem"):
        ModelConfig(stem="patchify")
    config = PRESETS["edge2"]
    assert ModelConfig.from_dict(config.to_dict()) == config


def test_train_command_offers_every_preset():
    from jitteredge.commands.train import MODEL_PRESETS

    assert sorted(MODEL_PRESETS) == sorted(PRESETS)
