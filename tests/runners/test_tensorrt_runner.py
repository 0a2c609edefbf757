"""TensorRTRunner: refuses clearly without its metadata JSON or without tensorrt; the real run is tested
in tests/export/test_tensorrt_build.py where tensorrt and a GPU exist."""

from __future__ import annotations

import importlib.util
import json

import pytest

from jitteredge.errors import JitterEdgeError
from jitteredge.runners.tensorrt_runner import TensorRTRunner, engine_json_path, read_engine_metadata


def test_metadata_json_sits_beside_the_engine(tmp_path):
    assert engine_json_path(tmp_path / "m.engine") == tmp_path / "m.engine.json"
    assert engine_json_path(tmp_path / "m.plan").name == "m.plan.json"


def test_missing_or_foreign_metadata_is_refused(tmp_path):
    engine = tmp_path / "m.engine"
    engine.write_bytes(b"\x00" * 16)
    with pytest.raises(JitterEdgeError, match="no m.engine.json"):
        read_engine_metadata(engine)
    engine_json_path(engine).write_text("{not json")
    with pytest.raises(JitterEdgeError, match="not valid JSON"):
        read_engine_metadata(engine)
    engine_json_path(engine).write_text(json.dumps({"hello": 1}))
    with pytest.raises(JitterEdgeError, match="no model_config"):
        read_engine_metadata(engine)


def test_runner_without_engine_or_tensorrt_raises_one_clear_error(tmp_path):
    with pytest.raises(JitterEdgeError, match="no such engine"):
        TensorRTRunner(tmp_path / "missing.engine").activate()
    if importlib.util.find_spec("tensorrt") is not None:
        pytest.skip("tensorrt imports here")
    engine = tmp_path / "m.engine"
    engine.write_bytes(b"\x00" * 16)
    engine_json_path(engine).write_text(json.dumps({"model_config": {}, "precision": "int8"}))
    runner = TensorRTRunner(engine)
    assert runner.name == "tensorrt:m.engine"
    with pytest.raises(JitterEdgeError, match="tensorrt"):
        with runner:
            pass
