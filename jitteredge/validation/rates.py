"""Detection rates from per-photo scores: ROC AUC, recall at a false-alarm budget, the ROC curve.

Scores are "higher = more shake". Positives are the shaken photos, negatives the others. Plain
NumPy on (n,) arrays; every function returns None where its question has no answer (no positive or
no negative photo), never a made-up number.
"""

from __future__ import annotations

import numpy as np


def roc_auc(pos: np.ndarray, neg: np.ndarray) -> float | None:
    """Probability that a random positive scores above a random negative, ties counting one half
    (the Mann-Whitney U statistic over n_pos x n_neg). None when either side is empty."""
    pos = np.asarray(pos, np.float64).ravel()
    neg = np.asarray(neg, np.float64).ravel()
    if pos.size == 0 or neg.size == 0:
        return None
    neg_sorted = np.sort(neg)
    below = np.searchsorted(neg_sorted, pos, side="left")  # negatives strictly below each positive
    ties = np.searchsorted(neg_sorted, pos, side="right") - below
    return float((below.sum() + 0.5 * ties.sum()) / (pos.size * neg.size))


def roc_curve(pos: np.ndarray, neg: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(false-alarm rates, recalls, thresholds) of the rule "score >= threshold", one point per
    distinct score, from (0, 0) (threshold +inf) to (1, 1). Empty arrays when either side is empty."""
    pos = np.asarray(pos, np.float64).ravel()
    neg = np.asarray(neg, np.float64).ravel()
    if pos.size == 0 or neg.size == 0:
        return np.zeros(0), np.zeros(0), np.zeros(0)
    thresholds = np.concatenate([[np.inf], np.unique(np.concatenate([pos, neg]))[::-1]])
    pos_sorted, neg_sorted = np.sort(pos), np.sort(neg)
    recall = (pos.size - np.searchsorted(pos_sorted, thresholds, side="left")) / pos.size
    false_alarm = (neg.size - np.searchsorted(neg_sorted, thresholds, side="left")) / neg.size
    return false_alarm, recall, thresholds


def threshold_at_false_alarm(pos: np.ndarray, neg: np.ndarray, budget: float) -> float | None:
    """The lowest threshold t whose rule "score >= t" flags at most ``budget`` (a share) of the
    negatives; +inf when even the top score would flag too many (ties cannot be split). None when
    either side is empty."""
    false_alarm, _, thresholds = roc_curve(pos, neg)
    if thresholds.size == 0:
        return None
    ok = np.flatnonzero(false_alarm <= budget + 1e-12)
    return float(thresholds[ok[-1]])  # false alarms only grow as the threshold falls


def recall_at_threshold(pos: np.ndarray, threshold: float | None) -> float | None:
    """Share of ``pos`` scoring >= ``threshold`` (None when there is no positive or no threshold)."""
    pos = np.asarray(pos, np.float64).ravel()
    if pos.size == 0 or threshold is None:
        return None
    return float(np.mean(pos >= threshold))


def share(flags: np.ndarray) -> float | None:
    """Mean of a boolean array, None when it is empty."""
    flags = np.asarray(flags, bool).ravel()
    return float(flags.mean()) if flags.size else None
