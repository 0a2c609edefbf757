"""Validation inside a training run: the synthetic groups of jitteredge.validation.synthetic and,
when a manifest is given, the real photos of jitteredge.validation.real, both scored through the
runner interface (runners.module_runner.ModuleRunner), the code ``jitteredge eval`` uses.

Best-checkpoint rule: with real photos, best.pt is the checkpoint with the highest real-photo ROC
AUC, the lower synthetic score breaking ties; without, the one with the lowest synthetic score
(jitteredge.validation.synthetic.score: the mean of metric / target, <= 1 when the targets are met).
"""

from __future__ import annotations

import math
import sys

from jitteredge.validation.synthetic import CORE_GROUPS, flat_metrics, make_sets, open_validation_source, score_sets

REAL_KEYS = ("auc", "auc_sharp", "auc_defocus", "recall", "recall_at_fa05", "recall_at_fa10", "false_alarm_sharp",
             "false_alarm_defocus")


def best_key(metrics: dict, real: bool) -> tuple[float, ...]:
    """Sort key of a validation (smaller is better), by the best-checkpoint rule above."""
    def finite(v, bad: float) -> float:
        return v if v is not None and math.isfinite(v) else bad

    score = finite(metrics.get("score"), math.inf)
    if real:
        return (-finite(metrics.get("real/auc"), -math.inf), score)
    return (score,)


class TrainValidation:
    """The fixed validation set of a run and its scoring.

    Args:
        val_source: "auto" / "bsds500" (BSDS500 val, procedural when absent), "procedural" or a folder.
        n: samples per group; size_px: sample side; seed: the run's seed (the same set as
            ``jitteredge eval --split val --n N --size S --seed SEED`` draws).
        real_manifest: labelled real photos scored at each validation ("" for none).
        real_long_side: their working long side (None: the model's).
    """

    def __init__(self, val_source: str, n: int, size_px: int, seed: int, real_manifest: str = "",
                 real_long_side: int | None = None, groups: tuple[str, ...] = CORE_GROUPS):
        self.source, self.source_name = open_validation_source(val_source, "val", seed)
        self.n, self.size_px, self.seed, self.groups = n, size_px, seed, groups
        self.real_manifest, self.real_long_side = real_manifest, real_long_side
        self.sets: dict | None = None
        self._reported = False

    def describe(self) -> str:
        text = f"{self.source_name}, {'/'.join(self.groups)} x {self.n} samples at {self.size_px} px (seed {self.seed})"
        if self.real_manifest:
            text += f"; real photos {self.real_manifest} (best.pt: highest real-photo AUC)"
        return text

    def build(self) -> None:
        """Synthesise the fixed set (once; a few seconds)."""
        if self.sets is None:
            self.sets = make_sets(self.source, self.groups, self.n, self.seed, self.size_px)

    def __call__(self, runner) -> dict:
        """Flat metrics "group/metric" (+ "score", + "real/..." with a manifest) of an active runner."""
        self.build()
        metrics = flat_metrics(score_sets(runner, self.sets))
        if self.real_manifest:
            from jitteredge.validation.real import score_real

            # a photo left out is said once, at the first validation
            report = None if self._reported else (lambda line: print(f"jitteredge train: {line}", file=sys.stderr))
            real = score_real(runner, self.real_manifest, self.real_long_side, baselines=False, progress=False,
                              report=report or (lambda line: None))
            self._reported = True
            metrics.update({f"real/{k}": real[k] for k in REAL_KEYS if real.get(k) is not None})
        return metrics
