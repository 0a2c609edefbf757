"""The accuracy gate: rows worse than the configured floors become failed-accuracy, and the
violations are listed so `jitteredge bench` can exit 1 in CI."""

from __future__ import annotations

import math

from jitteredge.bench.rows import FAILED_ACCURACY, RAN, BenchConfig, BenchRow


def apply_accuracy_gate(rows: list[BenchRow], cfg: BenchConfig) -> list[str]:
    """Mark rows under the accuracy floor as failed-accuracy; return one message per violation.

    A row that ran without accuracy (no validation set) fails a set floor too: a CI gate must not
    pass because nothing was measured.
    """
    limits = (("epe_px", cfg.max_epe, "EPE", "px"), ("shaken_defocus", cfg.max_defocus_shaken, "defocus shaken", ""),
              ("shaken_sharp", cfg.max_sharp_shaken, "sharp shaken", ""))
    failures: list[str] = []
    for row in rows:
        if row.status not in (RAN, FAILED_ACCURACY) or row.source != "measured":
            continue
        broken = []
        for key, limit, label, unit in limits:
            if limit is None:
                continue
            value = getattr(row, key)
            if value is None or not math.isfinite(value):
                broken.append(f"{label} not measured (floor {limit:g}{unit})")
            elif value > limit:
                broken.append(f"{label} {value:.4g}{unit} > {limit:g}{unit}")
        if broken:
            row.status = FAILED_ACCURACY
            row.reason = "; ".join(broken)
            failures.append(f"{row.backend} {row.precision} {row.input} threads={row.threads}: {row.reason}")
    return failures
