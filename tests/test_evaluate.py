"""eval: runs on a tiny synthetic set and writes its table, JSON and picture; the table reads right."""

from __future__ import annotations

import json

import numpy as np

from jitteredge.evaluate import GROUPS, EvalConfig, evaluate, markdown_table, sample_grid

def test_eval_tiny_run_writes_its_report(checkpoint, tmp_path):
    groups = ("strong", "sharp", "defocus")
    cfg = EvalConfig(model=str(checkpoint), source="procedural", n=2, seed=3, out_dir=str(tmp_path / "ev"),
                     groups=groups, size_px=48, picture_rows=2)
    report = evaluate(cfg)
    assert list(report["groups"]) == list(groups) and report["size_px"] == 48
    for group, methods in report["groups"].items():
        assert set(methods) == {"truth", "model", "zero", "cepstrum"}
        assert all(m["samples"] == 2 for m in methods.values())
    sharp = report["groups"]["sharp"]
    assert sharp["zero"]["epe_px"] == 0.0 and sharp["truth"]["shaken_pixel_share"] == 0.0
    assert sharp["model"]["epe_px"] > 0.0  # a random model predicts something
    assert report["groups"]["strong"]["zero"]["epe_px"] > 0.0
    table = (tmp_path / "ev" / "eval.md").read_text()
    assert table.count("| sharp |") == 4 and "EPE (px)" in table
    assert json.loads((tmp_path / "ev" / "eval.json").read_text())["groups"] == report["groups"]
    assert (tmp_path / "ev" / "eval_samples.png").stat().st_size > 0

    # Same seed, same numbers.
    again = evaluate(EvalConfig(**{**cfg.__dict__, "out_dir": str(tmp_path / "ev2")}))
    assert again["groups"] == report["groups"]


def test_markdown_table_rows():
    metrics = {"epe_px": 1.5, "gong_mse_px2": 4.25, "shaken_pixel_share": 0.5, "shaken_image_share": 1.0, "samples": 3}
    report = {"model": "m.pt", "runner": "torch:m.pt", "precision": "fp32", "n_per_group": 3, "source": "procedural",
              "seed": 0, "size_px": 64, "seconds": 1.0,
              "groups": {"strong": {"truth": metrics, "model": metrics, "zero": metrics, "cepstrum": metrics}}}
    lines = markdown_table(report).splitlines()
    assert "| strong | model | 1.500 | 4.25 | 50.0% | - | 100.0% |" in lines
    assert "| strong | truth | - | - | 50.0% | - | 100.0% |" in lines
    report["groups"]["strong"]["model"] = {**metrics, "shaken_pixel_recall": 0.25}
    assert "| strong | model | 1.500 | 4.25 | 50.0% | 25.0% | 100.0% |" in markdown_table(report).splitlines()


def test_recall_counts_truly_shaken_pixels_found():
    from jitteredge.validation.synthetic import GroupScore as _Accumulator

    truth = np.zeros((4, 4, 2), np.float32)
    truth[:2, :, 0] = 6.0  # 8 shaken pixels (a moving subject), 8 still
    pred = np.zeros_like(truth)
    pred[0, :, 0] = 5.0  # 4 of them found
    pred[3, 0, 1] = 3.0  # and one false alarm, which recall ignores
    acc = _Accumulator()
    acc.add(pred, truth)
    result = acc.result()
    assert result["shaken_pixel_recall"] == 0.5
    assert result["shaken_pixel_share"] == 5 / 16
    still = _Accumulator()
    still.add(pred, np.zeros_like(truth))
    assert still.result()["shaken_pixel_recall"] is None


def test_sample_grid_shape():
    photo = np.zeros((32, 40, 3), np.uint8)
    field = np.ones((32, 40, 2), np.float32)
    grid = sample_grid([("strong", photo, field, field, field), ("sharp", photo, field * 0, field, field)])
    assert grid.dtype == np.uint8 and grid.shape[1] == 4 * 40 + 3 * 4 and grid.shape[0] == 2 * (32 + 18) + 4
