"""The Android demo's golden vectors: still what the Python package computes, and sound in themselves.

android_demo/run_jvm_tests.sh checks the Java side against the committed files; these tests check that
the committed files are what ``python -m jitteredge.golden`` writes today, so a change in the Python
numbers fails here until the goldens (and so the Java code) follow.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from jitteredge.golden import area_weights, main, prepare_exact, resize_area_exact
from jitteredge.preprocess import prepare

COMMITTED = Path(__file__).resolve().parents[1] / "android_demo" / "app" / "src" / "test" / "resources" / "golden"
REL_TOL = 1e-6  # float32 data; a different libm may move the last bit of an atan2 or hypot


def _assert_same(committed, fresh, where: str) -> None:
    """Equal structure; ints, bools and strings exactly, floats to REL_TOL."""
    if isinstance(committed, dict):
        assert isinstance(fresh, dict) and committed.keys() == fresh.keys(), f"{where}: keys differ"
        for key in committed:
            _assert_same(committed[key], fresh[key], f"{where}.{key}")
    elif isinstance(committed, list):
        assert isinstance(fresh, list) and len(committed) == len(fresh), f"{where}: lengths differ"
        for i, (a, b) in enumerate(zip(committed, fresh)):
            _assert_same(a, b, f"{where}[{i}]")
    elif isinstance(committed, float) or isinstance(fresh, float):
        assert isinstance(fresh, (int, float)) and not isinstance(fresh, bool), f"{where}: type differs"
        assert math.isclose(committed, fresh, rel_tol=REL_TOL, abs_tol=1e-9), f"{where}: {committed} != {fresh}"
    else:
        assert committed == fresh and type(committed) is type(fresh), f"{where}: {committed!r} != {fresh!r}"


def test_committed_goldens_equal_freshly_generated(tmp_path):
    assert main([str(tmp_path)]) == 0
    fresh_files = sorted(p.name for p in tmp_path.glob("*.json"))
    committed_files = sorted(p.name for p in COMMITTED.glob("*.json"))
    assert fresh_files == committed_files, "regenerate: python -m jitteredge.golden " + str(COMMITTED)
    for name in fresh_files:
        _assert_same(json.loads((COMMITTED / name).read_text()), json.loads((tmp_path / name).read_text()), name)


def test_index_names_every_case_and_cases_cover_the_edges():
    index = json.loads((COMMITTED / "index.json").read_text())
    assert index["format"] == "jitteredge-golden"
    verdicts = [json.loads((COMMITTED / f).read_text())["verdict"] for f in index["field"]]
    assert any(v["shaken"] for v in verdicts) and any(not v["shaken"] for v in verdicts)
    assert any(0.0 < v["shaken_fraction"] < 0.05 for v in verdicts)  # a few shaken pixels, no verdict
    assert any(0.5 <= v["score"] < 1.0 for v in verdicts)  # quantile interpolated, not clipped
    cases = [json.loads((COMMITTED / f).read_text()) for f in index["field"]]
    masks = [np.asarray(c["evidence"]) for c in cases]
    assert all(0 < m.mean() < 1 for m in masks)  # every evidence photo has flat and busy areas
    assert any(c["verdict"]["shaken"] and not c["verdict_evidence"]["shaken"] for c in cases)  # the mask decides one
    sizes = [json.loads((COMMITTED / f).read_text()) for f in index["preprocess"]]
    assert any(s["height"] % 2 and s["width"] % 2 for s in sizes)


def test_area_weights_sum_to_the_input_length():
    for n_in, n_out in [(53, 24), (48, 24), (9, 4), (7, 7), (5, 9)]:
        w = area_weights(n_in, n_out)
        assert w.shape == (n_out, n_in) and w.min() >= 0
        assert np.all(w.sum(axis=1) == n_in)
    assert np.array_equal(area_weights(6, 6), 6 * np.eye(6, dtype=np.int64))


@pytest.mark.parametrize("shape,out_hw", [((48, 64), (24, 32)), ((37, 53), (17, 24)), ((50, 31), (32, 20)),
                                          ((9, 40), (4, 20)), ((120, 90), (41, 31))])
def test_exact_area_resize_is_within_one_level_of_opencv_inter_area(shape, out_hw):
    """So the app's frames and `jitteredge analyze`'s photos reach the network nearly alike."""
    rng = np.random.default_rng(3)
    img = rng.integers(0, 256, size=(*shape, 3), dtype=np.uint8)
    ours = resize_area_exact(img, *out_hw).astype(np.int16)
    cv = cv2.resize(img, (out_hw[1], out_hw[0]), interpolation=cv2.INTER_AREA).astype(np.int16)
    assert np.abs(ours - cv).max() <= 1
    assert np.mean(ours != cv) < 0.05


def test_exact_area_resize_rounds_ties_up_and_keeps_constants():
    img = np.array([[[0], [1]], [[0], [1]]], dtype=np.uint8)  # mean 0.5
    assert resize_area_exact(img, 1, 1)[0, 0, 0] == 1
    flat = np.full((37, 53, 3), 201, np.uint8)
    assert np.all(resize_area_exact(flat, 17, 24) == 201)


def test_prepare_exact_equals_the_package_prepare_when_no_resize_is_needed():
    rng = np.random.default_rng(5)
    rgb = rng.integers(0, 256, size=(21, 30, 3), dtype=np.uint8)
    ours, size, padded = prepare_exact(rgb, 64)
    theirs, their_size, _ = prepare(rgb, 64)
    assert size == their_size
    assert padded.shape == (32, 32, 3)
    np.testing.assert_array_equal(ours, theirs)


def test_prepare_exact_pads_on_to_a_static_model_size():
    rgb = np.random.default_rng(6).integers(0, 256, size=(30, 45, 4), dtype=np.uint8)
    x, size, _ = prepare_exact(rgb, 64, fixed_hw=(40, 64))
    assert x.shape == (1, 3, 40, 64) and x.dtype == np.float32
    assert (size.padded_height, size.padded_width) == (32, 48)
    np.testing.assert_array_equal(x[..., 32:34, :], x[..., 31:29:-1, :])  # symmetric about the padded edge


def test_main_reports_an_unwritable_folder(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main([str(blocker / "golden")]) == 2
    assert "error" in capsys.readouterr().err
