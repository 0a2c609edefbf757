"""Fixtures shared across the test suite."""

import pytest
import torch

from jitteredge.model import build_model


@pytest.fixture(scope="session")
def checkpoint(tmp_path_factory):
    """A random-init edge model saved in the checkpoint format (seeded, so runs are repeatable)."""
    path = tmp_path_factory.mktemp("model") / "edge.pt"
    torch.manual_seed(0)
    model = build_model("edge")
    torch.save({"format": "jitteredge-checkpoint", "version": 1, "model": model.state_dict(),
                "model_config": model.config.to_dict(), "train_config": {}, "step": 0, "metrics": {},
                "jitteredge_version": "test"}, path)
    return path
