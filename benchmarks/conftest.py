"""Shared fixtures of the speed suite: models exported once per session, and a ratio summary.

Run with ``pytest benchmarks --benchmark-enable`` (pyproject's addopts disables benchmarks in normal
runs; then every test here runs once, untimed, as a smoke test, and the ratio checks are skipped).

Targets are checked as ratios against a baseline measured in the same run on the same machine, so
the suite passes or fails for the same reason on a busy laptop and on a quiet CI runner. Every
ratio, with its absolute figures, is printed at the end of the run (``record_ratio``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

_RATIOS: list[dict] = []


def timing_enabled(config) -> bool:
    """pytest-benchmark's own rule: --benchmark-disable unless --benchmark-enable."""
    disabled = config.getoption("benchmark_disable", default=False)
    enabled = config.getoption("benchmark_enable", default=False)
    return enabled or not disabled


@pytest.fixture
def require_timing(request):
    """Skip a timing assertion when benchmarks are disabled (the normal test run)."""
    if not timing_enabled(request.config):
        pytest.skip("timing checks need --benchmark-enable")


@pytest.fixture(scope="session")
def record_ratio():
    """record_ratio(name, value, limit=None, note="") -> remembers one figure for the end-of-run summary."""

    def record(name: str, value: float, limit: float | None = None, note: str = "") -> None:
        _RATIOS.append({"name": name, "value": float(value), "limit": limit, "note": note})

    return record


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not _RATIOS:
        return
    terminalreporter.section("jitteredge ratios and targets")
    for r in _RATIOS:
        limit = "" if r["limit"] is None else f"  (limit {r['limit']:.3g}: {'ok' if r['value'] <= r['limit'] else 'OVER'})"
        terminalreporter.write_line(f"{r['name']}: {r['value']:.4g}{limit}  {r['note']}".rstrip())


@pytest.fixture(scope="session")
def edge_checkpoint(tmp_path_factory) -> Path:
    """The shipped default weights when installed, else a random-init edge model (speed is the same)."""
    pytest.importorskip("torch")
    try:
        from jitteredge.runners import MODEL_SUFFIXES
        from jitteredge.weights import resolve_model

        return resolve_model("default", MODEL_SUFFIXES)
    except Exception:  # no shipped weights in this checkout
        import torch

        from jitteredge.checkpoint import make_payload, save_checkpoint
        from jitteredge.model import build_model

        torch.manual_seed(0)
        net = build_model("edge").eval()
        return save_checkpoint(tmp_path_factory.mktemp("bench-model") / "edge_random.pt", make_payload(net, {}, 0, {}))


@pytest.fixture(scope="session")
def edge_artifacts(edge_checkpoint, tmp_path_factory):
    """Getter kind -> Path ("onnx", "int8", "ort") over one export cache for the whole session."""
    pytest.importorskip("onnxruntime")
    from jitteredge.bench import Artifacts, BenchConfig

    artifacts = Artifacts(BenchConfig(progress=False), Path(edge_checkpoint), tmp_path_factory.mktemp("bench-artifacts"))

    def get(kind: str) -> Path:
        try:
            return artifacts.get(kind)
        except Exception as exc:  # absent export library or a failed export: skip, saying why
            pytest.skip(f"{kind} artifact unavailable: {exc}")

    return get


@pytest.fixture(scope="session")
def input_256():
    """float32 (1, 3, 256, 256) network input (random: content does not change the speed)."""
    return np.random.default_rng(0).standard_normal((1, 3, 256, 256), dtype=np.float32)
