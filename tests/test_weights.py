import re
import json
import math

import pytest
import torch

from jitteredge.checkpoint import load_checkpoint, make_payload, release, save_checkpoint
from jitteredge.errors import JitterEdgeError
from jitteredge.model import build_model
from jitteredge.weights import REGISTRY, WEIGHTS_DIR, model_card, resolve_model


def test_registered_names_point_at_the_shipped_file():
    assert REGISTRY["default"] == REGISTRY["edge-default"] == "edge_default.pt"
    shipped = WEIGHTS_DIR / "edge_default.pt"
    if not shipped.exists():
        with pytest.raises(JitterEdgeError, match="missing"):
            resolve_model("default")
        return
    assert resolve_model("default") == shipped == resolve_model("edge-default")
    model, payload = load_checkpoint(shipped)
    assert payload["model_config"]["preset"] == "edge" and "optimizer" not in payload
    card = model_card("default")
    assert card["step"] == payload["step"] and "metrics" in card and "command" in card
    assert shipped.stat().st_size < 4_000_000


def test_paths_pass_through_and_missing_ones_raise(tmp_path):
    f = tmp_path / "m.pt"
    f.write_bytes(b"")
    assert resolve_model(f) == f
    assert resolve_model(str(f)) == f
    with pytest.raises(JitterEdgeError, match="no such model file"):
        resolve_model(tmp_path / "absent.pt")
    with pytest.raises(JitterEdgeError, match="folder"):
        resolve_model(tmp_path)
    assert model_card(f) == {}


def test_release_strips_resume_state_and_writes_a_card(tmp_path):
    net = build_model("edge")
    payload = make_payload(net, {"steps": 3}, 3, {"score": 0.7, "sharp/rel_epe": math.nan},
                           optimizer=torch.optim.Adam(net.parameters()).state_dict(), best_score=0.7)
    save_checkpoint(tmp_path / "last.pt", payload)
    out = release(tmp_path / "last.pt", tmp_path / "ship" / "m.pt", card={"command": "jitteredge train"}, half=True)
    _, shipped = load_checkpoint(out)
    assert "optimizer" not in shipped and "best_score" not in shipped
    assert next(iter(shipped["model"].values())).dtype == torch.float16
    card = json.loads((tmp_path / "ship" / "m.json").read_text())  # strict JSON: NaN became null
    assert card["step"] == 3 and card["metrics"]["sharp/rel_epe"] is None and card["command"] == "jitteredge train"


def test_one_resolver_for_every_verb(tmp_path):
    """analyze/eval (open_runner), bench and export reach a model file through weights.resolve_model:
    the same words for the same problem, whichever verb meets it."""
    from jitteredge.bench import BenchConfig
    from jitteredge.bench.runner import Bench
    from jitteredge.export import ExportConfig, run_export
    from jitteredge.runners import open_runner

    foreign = tmp_path / "model.h5"
    foreign.write_bytes(b"x")
    calls = {"open_runner": lambda m: open_runner(m),
             "export": lambda m: run_export(ExportConfig(model=str(m), progress=False)),
             "bench": lambda m: Bench(BenchConfig(model=str(m))).resolve_model()}
    for what, model, words in ((foreign, foreign, "unknown model type '.h5'"), ("absent", tmp_path / "absent.pt",
                                                                             "no such model file (registered names"),
                               ("folder", tmp_path, "is a folder, not a model file")):
        for verb, call in calls.items():
            with pytest.raises(JitterEdgeError, match=re.escape(words)):
                call(model)
    with pytest.raises(JitterEdgeError, match="unknown model type"):
        resolve_model(foreign, (".pt",))
    assert resolve_model(foreign) == foreign  # no suffix rule asked for: any file
