"""rates: AUC, ROC and recall at a false-alarm budget against values worked out by hand."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from jitteredge.validation.rates import recall_at_threshold, roc_auc, roc_curve, threshold_at_false_alarm


def brute_auc(pos, neg):
    pairs = list(itertools.product(pos, neg))
    return sum((a > b) + 0.5 * (a == b) for a, b in pairs) / len(pairs)


def test_auc_by_hand():
    # pos 0.9 beats all three negatives; 0.5 beats 0.1 and ties 0.5; 0.2 beats 0.1: (3 + 1.5 + 1) / 9
    assert roc_auc([0.9, 0.5, 0.2], [0.1, 0.5, 0.7]) == pytest.approx(5.5 / 9)
    assert roc_auc([1.0, 1.0], [1.0]) == 0.5  # a saturated score tells nothing
    assert roc_auc([], [0.3]) is None and roc_auc([0.3], []) is None


def test_auc_matches_pair_counting_with_ties():
    rng = np.random.default_rng(0)
    pos, neg = rng.integers(0, 6, 37) / 5, rng.integers(0, 6, 23) / 5
    assert roc_auc(pos, neg) == pytest.approx(brute_auc(pos, neg))


def test_roc_curve_and_recall_at_false_alarms():
    pos = [0.9, 0.8, 0.6, 0.3]
    neg = [0.85, 0.5, 0.4, 0.2, 0.1] + [0.05] * 15  # 20 negatives
    fa, rec, thr = roc_curve(pos, neg)
    assert (fa[0], rec[0]) == (0.0, 0.0) and (fa[-1], rec[-1]) == (1.0, 1.0)
    # 5% of 20 negatives = 1: the lowest threshold flagging at most one negative is 0.6 (flags 0.85 only)
    assert threshold_at_false_alarm(pos, neg, 0.05) == 0.6
    assert recall_at_threshold(pos, 0.6) == 0.75
    # 10% = 2 negatives: 0.5 flags 0.85 and 0.5; 0.4 would flag three
    assert threshold_at_false_alarm(pos, neg, 0.10) == 0.5
    assert threshold_at_false_alarm(pos, neg, 0.0) == 0.9
    # A tie between the top negative and every positive cannot be split: nothing within budget
    assert threshold_at_false_alarm([1.0], [1.0] + [0.0] * 9, 0.05) == np.inf
    assert recall_at_threshold([1.0], np.inf) == 0.0
