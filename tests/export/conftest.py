"""Shared fixtures for the export tests: a random-init edge checkpoint and a small, fast configuration."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def checkpoint(tmp_path_factory):
    """A jitteredge checkpoint of the edge network, random weights, BatchNorm statistics away from 0/1
    (so BN folding is exercised)."""
    import torch

    from jitteredge.checkpoint import make_payload, save_checkpoint
    from jitteredge.model import build_model

    torch.manual_seed(0)
    net = build_model("edge").eval()
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    path = tmp_path_factory.mktemp("ckpt") / "edge_rand.pt"
    save_checkpoint(path, make_payload(net, {}, 0, {}))
    return path


@pytest.fixture(autouse=True)
def fast_synthetic_set(monkeypatch):
    """Calibration and gate images from the built-in fallback (procedural photos, straight shakes):
    fast and independent of the synthesis stages; test_quantize covers the package's own set."""
    from jitteredge.export import quantize

    monkeypatch.setattr(quantize, "synthetic_set", quantize._fallback_set)
