"""validation.synthetic: the groups, the source, the set maker and the one scorer that train, eval,
bench and the INT8 gate share."""

from __future__ import annotations

import numpy as np
import pytest

from jitteredge.errors import JitterEdgeError
from jitteredge.validation.synthetic import (GROUPS, TARGETS, GroupScore, check_groups, flat_metrics,
                                             group_sample_config, make_sets, open_validation_source, score,
                                             score_sets)


def test_groups_force_one_kind():
    for group in GROUPS:
        cfg = group_sample_config(group, 32)
        shares = cfg.fractions()
        assert cfg.size_px == 32
        if group == "subject":  # straight or curved shake, always of a region only
            assert shares["sharp"] == shares["defocus"] == 0.0 and cfg.subject_fraction == 1.0
        else:
            assert sorted(shares.values()) == [0.0, 0.0, 0.0, 1.0] and cfg.subject_fraction == 0.0


@pytest.mark.parametrize("groups, word", [(("wobbly",), "wobbly"), ((), "no validation group"),
                                          (("sharp", "sharp"), "once")])
def test_bad_groups(groups, word):
    with pytest.raises(JitterEdgeError, match=word):
        check_groups(groups)


def test_group_score_by_hand():
    truth = np.zeros((4, 4, 2), np.float32)
    truth[:2, :, 0] = 6.0  # 8 shaken pixels, 8 still: mean true blur 3 px
    pred = np.zeros_like(truth)
    pred[0, :, 0] = 5.0  # 4 found, 1 px short each; 4 missed by 6 px
    pred[3, 0, 1] = 3.0  # one false alarm of 3 px
    s = GroupScore()
    s.add(pred, truth)
    r = s.result()
    assert r["epe_px"] == round((4 * 1 + 4 * 6 + 3) / 16, 4) and r["zero_epe_px"] == 3.0
    assert r["rel_epe"] == round(r["epe_px"] / 3.0, 4)
    assert r["shaken_pixel_share"] == 5 / 16 and r["shaken_pixel_recall"] == 0.5
    assert r["pixel_accuracy"] == round((4 + 7) / 16, 4) and r["samples"] == 1
    still = GroupScore()
    still.add(pred, np.zeros_like(truth))
    assert still.result()["rel_epe"] is None and still.result()["shaken_pixel_recall"] is None


def test_score_is_the_mean_ratio_to_the_targets():
    flat = {k: 2 * t for k, t in TARGETS.items()}
    assert score(flat) == pytest.approx(2.0)
    assert score({"strong/rel_epe": 0.05}) == pytest.approx(0.5)
    assert np.isnan(score({}))


def test_procedural_validation_photos_are_not_training_photos():
    from jitteredge.data import open_training_source

    source, name = open_validation_source("procedural", "val", seed=0)
    rng = np.random.default_rng(0)
    assert name == "procedural"
    assert not np.array_equal(source.load(0, rng), open_training_source("procedural").load(0, np.random.default_rng(0)))


def test_bench_and_the_int8_gate_use_the_same_sets_and_scorer(checkpoint):
    from jitteredge.bench.valset import accuracy, make_valset
    from jitteredge.export.quantize import synthetic_set
    from jitteredge.infer import open_runner

    valset = make_valset(4, 32, "procedural", 7)
    source, _ = open_validation_source("procedural", "val", 7)
    sets = make_sets(source, ("strong", "mild", "sharp", "defocus"), 1, 7, 32)
    assert valset.groups == list(sets)
    gate = synthetic_set(4, (32, 32), 7)
    for k, samples in enumerate(sets.values()):
        np.testing.assert_array_equal(gate[k].image, samples[0].image)
        np.testing.assert_array_equal(valset.fields[k], samples[0].field)
    with open_runner(str(checkpoint), threads=1) as runner:
        scores = score_sets(runner, sets)
        bench = accuracy(runner.predict, valset)
    for group in sets:
        assert bench["epe_by_group"][group] == pytest.approx(scores[group]["model"]["epe_px"], abs=1e-4)
    assert flat_metrics(scores)["strong/epe_px"] == scores["strong"]["model"]["epe_px"]
