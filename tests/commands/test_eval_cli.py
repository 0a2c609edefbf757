"""`jitteredge eval` through the command line: table on stdout, files in --out, bad options as one line."""

from __future__ import annotations

import json

import pytest
import torch

from jitteredge import cli
from jitteredge.model import build_model

pytest.importorskip("jitteredge.synth.sample")


@pytest.fixture(autouse=True)
def eval_verb_only(monkeypatch):
    """Test the verb through cli.main without importing the other verbs' modules."""
    monkeypatch.setattr(cli, "COMMANDS", ("eval",))


def test_eval_cli(tmp_path, capsys):
    path = tmp_path / "edge.pt"
    torch.manual_seed(0)
    model = build_model("edge")
    torch.save({"format": "jitteredge-checkpoint", "version": 1, "model": model.state_dict(),
                "model_config": model.config.to_dict(), "train_config": {}, "step": 0, "metrics": {},
                "jitteredge_version": "test"}, path)
    out = tmp_path / "ev"
    rc = cli.main(["eval", "--model", str(path), "--source", "procedural", "--n", "1", "--size", "32",
                   "--groups", "sharp", "--out", str(out)])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert "| sharp | cepstrum |" in captured.out
    assert json.loads((out / "eval.json").read_text())["n_per_group"] == 1

    rc = cli.main(["eval", "--model", str(path), "--groups", "wobbly", "--out", str(out)])
    captured = capsys.readouterr()
    assert rc == 2 and "wobbly" in captured.err and len(captured.err.strip().splitlines()) == 1
