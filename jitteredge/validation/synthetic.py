"""The synthetic validation set and its scorer: one definition for train, eval, bench and the INT8 gate.

Groups (``GROUPS``): SampleConfig overrides that make every sample of one kind: strong and mild
camera shake (METHOD.md section 1, at the training distribution's blur scale), sharp photos (zero
field), defocused photos (zero field: bokeh is not shake, [0071]), curved camera paths, and subject
motion (only a region of a sharp photo moved). A group's samples depend only on the photo source,
the group, ``n``, ``seed`` and the sample size, so every caller with the same arguments scores the
same photos.

Scoring (``GroupScore``): per sample, the sign-invariant endpoint error (EPE, px) and the same for a
zero prediction (the mean true blur), Gong's MSE after U >= 0 folding (px^2), the share of pixels
called shaken (blur > SHAKEN_PX), the recall of truly shaken pixels, the share of pixels on the right
side of the threshold, and whether the verdict (jitteredge.verdict, where the sample has the contrast
to show blur) calls the sample shaken; averaged over samples. ``score`` condenses a set of groups into
one number against ``TARGETS`` (lower is better, <= 1 when the targets are met on average).
"""

from __future__ import annotations

import dataclasses
import math
import sys
from typing import Callable, Iterable

import numpy as np

from jitteredge.errors import JitterEdgeError
from jitteredge.fieldcode import endpoint_error, gong_mse, magnitude
from jitteredge.verdict import SHAKEN_PX, judge_field

# group -> SampleConfig overrides that make every sample of one kind (no subject-only motion, and
# the preset named is the only one drawn); blur_scale keeps its default, the training distribution.
_ONLY = {"shake_fraction": 0.0, "curved_fraction": 0.0, "sharp_fraction": 0.0, "defocus_fraction": 0.0,
         "subject_fraction": 0.0, "mild_fraction": 0.0}
GROUPS: dict[str, dict] = {
    "strong": {**_ONLY, "preset": "strong", "shake_fraction": 1.0},
    "mild": {**_ONLY, "preset": "mild", "shake_fraction": 1.0},
    "sharp": {**_ONLY, "sharp_fraction": 1.0},
    "defocus": {**_ONLY, "defocus_fraction": 1.0},
    "curved": {**_ONLY, "preset": "strong", "curved_fraction": 1.0},
    "subject": {**_ONLY, "preset": "strong", "shake_fraction": 0.5, "curved_fraction": 0.5, "subject_fraction": 1.0},
}
PROCEDURAL_FAMILY = 1  # procedural validation photos: family 1 + seed (training draws family 0)
CORE_GROUPS = ("strong", "mild", "sharp", "defocus")  # what training validates and the bench set holds

# The project's targets, "group/metric" -> the value to reach (metrics of GroupScore.result).
TARGETS = {
    "strong/rel_epe": 0.10,  # EPE <= 10% of the zero-field EPE
    "mild/rel_epe": 0.10,
    "defocus/shaken_pixel_share": 0.01,  # <= 1% of defocused pixels read as shaken
    "sharp/shaken_pixel_share": 0.005,  # <= 0.5% of sharp pixels read as shaken
}


def check_groups(groups: Iterable[str]) -> tuple[str, ...]:
    """The groups as a tuple; JitterEdgeError for an unknown, repeated or empty list."""
    groups = tuple(groups)
    unknown = [g for g in groups if g not in GROUPS]
    if unknown:
        raise JitterEdgeError(f"unknown validation group(s) {unknown}; choose from {', '.join(GROUPS)}")
    if not groups:
        raise JitterEdgeError(f"no validation group given; choose from {', '.join(GROUPS)}")
    if len(set(groups)) != len(groups):
        raise JitterEdgeError(f"validation groups {', '.join(groups)}: each group once")
    return groups


def open_validation_source(name: str = "bsds500", split: str = "val", seed: int = 0,
                           warn: Callable[[str], None] | None = None):
    """Open the photos validation samples are drawn from.

    Args:
        name: "bsds500" or "auto" (BSDS500's ``split``, procedural photos when BSDS500 is absent),
            "procedural" (dead-leaves images of family ``seed``) or a folder of sharp photos.
        split: BSDS500 split ("train", "val", "test").
        seed: procedural photos only.
        warn: called with one line when BSDS500 is absent (default: print to stderr).

    Returns:
        (source object, its description, e.g. "bsds500:val" or "procedural").
    """
    from jitteredge.synth.sources import open_source

    family = PROCEDURAL_FAMILY + int(seed)
    if name in ("bsds500", "auto"):
        try:
            return open_source(f"bsds500:{split}"), f"bsds500:{split}"
        except JitterEdgeError as exc:
            (warn or (lambda line: print(line, file=sys.stderr)))(f"jitteredge: {exc}; validating on procedural photos")
            return open_source("procedural", seed=family), "procedural"
    if name == "procedural":
        return open_source("procedural", seed=family), "procedural"
    return open_source(name), str(name)


def group_sample_config(group: str, size_px: int | None = None):
    """The SampleConfig of ``group`` (SampleConfig's defaults, the group's overrides, the size)."""
    from jitteredge.synth.sample import SampleConfig

    known = {f.name for f in dataclasses.fields(SampleConfig)}
    overrides = {k: v for k, v in GROUPS[group].items() if k in known}
    if size_px is not None:
        overrides["size_px"] = int(size_px)
    return dataclasses.replace(SampleConfig(), **overrides)


def make_group_set(source, group: str, n: int, seed: int, size_px: int | None = None) -> list:
    """``n`` fixed samples (jitteredge.synth.sample.Sample) of ``group``, the same for the same arguments."""
    from jitteredge.data import make_validation_set

    return make_validation_set(source, group_sample_config(group, size_px), int(n), int(seed))


def make_sets(source, groups: Iterable[str], n: int, seed: int, size_px: int | None = None) -> dict[str, list]:
    """``make_group_set`` for each group: {group: samples}."""
    return {g: make_group_set(source, g, n, seed, size_px) for g in check_groups(groups)}


class GroupScore:
    """Running per-sample metrics of one (group, method); ``result()`` averages them over samples."""

    def __init__(self) -> None:
        self.epe, self.zero_epe, self.mse, self.px_share, self.px_right = 0.0, 0.0, 0.0, 0.0, 0.0
        self.img_shaken, self.count = 0, 0
        self.hits, self.shaken_px = 0, 0  # pooled over samples: called shaken / truly shaken pixels

    def add(self, pred: np.ndarray, truth: np.ndarray, evidence: np.ndarray | None = None) -> None:
        """One sample: predicted and true float32 (H, W, 2) fields in px, and the sample's evidence
        mask (jitteredge.evidence.blur_evidence; None: every pixel counts for the verdict)."""
        self.epe += float(endpoint_error(pred, truth).mean())
        true_mag = magnitude(truth)
        self.zero_epe += float(true_mag.mean())
        self.mse += gong_mse(pred, truth)
        called = magnitude(pred) > SHAKEN_PX
        shaken = true_mag > SHAKEN_PX
        self.px_share += float(called.mean())
        self.px_right += float((called == shaken).mean())
        self.hits += int((called & shaken).sum())
        self.shaken_px += int(shaken.sum())
        self.img_shaken += int(judge_field(pred, evidence=evidence).shaken)
        self.count += 1

    def result(self) -> dict:
        n = max(self.count, 1)
        epe, zero = self.epe / n, self.zero_epe / n
        return {"epe_px": round(epe, 4), "zero_epe_px": round(zero, 4),
                # None where nothing is blurred (sharp, defocus): a relative error means nothing there
                "rel_epe": round(epe / zero, 4) if zero > 0 else None,
                "gong_mse_px2": round(self.mse / n, 4), "shaken_pixel_share": round(self.px_share / n, 4),
                "pixel_accuracy": round(self.px_right / n, 4),
                "shaken_pixel_recall": round(self.hits / self.shaken_px, 4) if self.shaken_px else None,
                "shaken_image_share": round(self.img_shaken / n, 4), "samples": self.count}


def predict_sample(runner, image: np.ndarray) -> np.ndarray:
    """The runner's field (px) for a validation sample, analysed at its own size (it is the working image)."""
    from jitteredge.infer import predict_field

    return predict_field(runner, image, long_side=max(image.shape[:2])).field_input_px


def score_sets(runner, sets: dict[str, list], baselines: bool = False,
               on_sample: Callable[[str, object, dict], None] | None = None) -> dict[str, dict[str, dict]]:
    """Score a runner (and optionally the baselines) on validation sets.

    Args:
        runner: an active jitteredge.runners.Runner (any backend, or a training model's ModuleRunner).
        sets: {group: samples} from make_sets.
        baselines: also score "truth" (the labels themselves), "zero" (no blur) and "cepstrum"
            (jitteredge.baselines.estimate_field).
        on_sample: called with (group, sample, {method: field}) after each sample (progress, pictures).

    Returns:
        {group: {method: GroupScore.result()}}, methods "model" (and "truth", "zero", "cepstrum").
    """
    from jitteredge.evidence import blur_evidence

    out: dict[str, dict[str, dict]] = {}
    for group, samples in sets.items():
        methods = ("truth", "model", "zero", "cepstrum") if baselines else ("model",)
        acc = {m: GroupScore() for m in methods}
        for s in samples:
            fields = {"model": predict_sample(runner, s.image)}
            if baselines:
                from jitteredge.baselines import estimate_field, zero_field

                fields.update(truth=s.field, zero=zero_field(s.image), cepstrum=estimate_field(s.image))
            evidence = blur_evidence(s.image)  # every method is judged by the same verdict rule
            for m in methods:
                acc[m].add(fields[m], s.field, evidence)
            if on_sample is not None:
                on_sample(group, s, fields)
        out[group] = {m: a.result() for m, a in acc.items()}
    return out


def flat_metrics(scores: dict[str, dict[str, dict]], method: str = "model") -> dict[str, float]:
    """{group: {method: metrics}} -> {"group/metric": value} for one method (log rows), plus "score"."""
    flat = {f"{g}/{k}": v for g, methods in scores.items() for k, v in methods[method].items()
            if k != "samples" and v is not None}
    flat["score"] = score(flat)
    return flat


def score(flat: dict[str, float]) -> float:
    """The mean of metric / target over the TARGETS present in ``flat`` (NaN when none is)."""
    parts = [flat[k] / t for k, t in TARGETS.items() if k in flat and flat[k] is not None and math.isfinite(flat[k])]
    return float(np.mean(parts)) if parts else float("nan")
