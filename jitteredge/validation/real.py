"""Scoring a model on labelled real photos (a manifest): does it find real camera shake?

Every photo goes through the same path as ``jitteredge analyze`` (jitteredge.analyze.run_prediction:
reduce to the working size, the runner, the verdict), so a photo's ``score`` here is the ``score``
that ``jitteredge analyze --json`` prints for it. Two baselines are scored on the same working photo:

- ``laplacian``: the variance of the Laplacian (OpenCV, 8-bit grey), the one-line blur measure in
  common use; lower = blurrier, so its shake score is the negated variance, and its verdict is
  "variance below 100", the threshold that one-liner usually ships with;
- ``cepstrum``: the classical cepstral estimator of jitteredge.baselines, judged by the same verdict
  rule (and the same contrast mask) as the model.

Figures per method, overall and per folder (the manifest path's first component), with positives
the ``shake`` photos: ROC AUC against sharp + defocus, against sharp alone and against defocus
alone; recall at the verdict; recall at 5% and 10% false alarms (the threshold is set on all the
negatives of the manifest, then applied in each folder); the shares of sharp and of defocused photos
flagged at the verdict. See jitteredge.validation.rates for the definitions.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from typing import Callable

import cv2
import numpy as np

from jitteredge.errors import JitterEdgeError
from jitteredge.validation.manifest import LABELS, POSITIVE, Photo, read_manifest
from jitteredge.validation.rates import recall_at_threshold, roc_auc, share, threshold_at_false_alarm

METHODS = ("model", "laplacian", "cepstrum")
BASELINES = ("laplacian", "cepstrum")
LAPLACIAN_BLURRY_VAR = 100.0  # "blurry" below this variance of the Laplacian: the usual default of the one-liner
FALSE_ALARM_BUDGETS = {"fa05": 0.05, "fa10": 0.10}


def laplacian_variance(rgb: np.ndarray) -> float:
    """Variance of the Laplacian of the 8-bit grey photo (OpenCV, 3x3 aperture, float64 result)."""
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    return float(cv2.Laplacian(gray, cv2.CV_64F).var())


@contextlib.contextmanager
def _active_runner(model_or_runner, threads: int | None, device: str):
    """An active runner: the one given (left open), or one opened for a model name or path."""
    from jitteredge.runners import Runner

    if isinstance(model_or_runner, Runner):
        model_or_runner.activate()
        yield model_or_runner
        return
    from jitteredge.infer import open_runner

    with open_runner(model_or_runner, threads=threads, device=device) as runner:
        yield runner


def score_photo(runner, photo: Photo, long_side: int | None, baselines: bool = True) -> dict:
    """One photo -> its row: label, folder, the model's score and verdict, and the baselines'.

    Raises:
        JitterEdgeError: the photo cannot be read (the caller skips it); analyze.ModelFailure when
            the model fails (the caller stops).
    """
    from jitteredge.analyze import run_prediction
    from jitteredge.fileio import read_rgb

    rgb = read_rgb(photo.path)
    pred = run_prediction(runner, rgb, photo.path, long_side)
    verdict = pred.verdict(photo.path)
    row = {"path": photo.name, "label": photo.label, "folder": photo.folder,
           "model": {"score": verdict.score, "shaken": bool(verdict.shaken)},
           "shaken_fraction": verdict.shaken_fraction, "blur_px": verdict.blur_px,
           "working_hw": [pred.size.height, pred.size.width]}
    if baselines:
        from jitteredge.baselines import estimate_field
        from jitteredge.verdict import judge_field

        var = laplacian_variance(pred.working_rgb)
        row["laplacian"] = {"score": -round(var, 4), "shaken": var < LAPLACIAN_BLURRY_VAR, "variance": round(var, 4)}
        cep = judge_field(estimate_field(pred.working_rgb), evidence=pred.evidence)
        row["cepstrum"] = {"score": cep.score, "shaken": bool(cep.shaken)}
    return row


def false_alarm_thresholds(rows: list[dict], method: str) -> dict[str, float | None]:
    """{"fa05": t, "fa10": t}: the score thresholds of ``method`` that flag at most 5% / 10% of the
    negatives of ``rows`` (rates.threshold_at_false_alarm)."""
    labels = np.array([r["label"] for r in rows])
    scores = np.array([r[method]["score"] for r in rows], np.float64)
    pos, neg = scores[labels == POSITIVE], scores[labels != POSITIVE]
    return {k: threshold_at_false_alarm(pos, neg, b) for k, b in FALSE_ALARM_BUDGETS.items()}


def summarise(rows: list[dict], method: str, thresholds: dict[str, float | None] | None = None) -> dict:
    """Detection figures of ``method`` over ``rows`` (see the module docstring).

    Args:
        rows: photo rows from score_photo.
        method: "model", "laplacian" or "cepstrum".
        thresholds: score thresholds for the false-alarm budgets ("fa05", "fa10"); None: set them on
            these rows' negatives (the overall figures), given: applied as they are (per folder).
    """
    labels = np.array([r["label"] for r in rows])
    scores = np.array([r[method]["score"] for r in rows], np.float64)
    flags = np.array([bool(r[method]["shaken"]) for r in rows])
    pos, neg = scores[labels == POSITIVE], scores[labels != POSITIVE]
    if thresholds is None:
        thresholds = false_alarm_thresholds(rows, method)
    out = {"n": len(rows), **{f"n_{label}": int((labels == label).sum()) for label in LABELS},
           "auc": roc_auc(pos, neg), "auc_sharp": roc_auc(pos, scores[labels == "sharp"]),
           "auc_defocus": roc_auc(pos, scores[labels == "defocus"]), "recall": share(flags[labels == POSITIVE])}
    for key in FALSE_ALARM_BUDGETS:
        out[f"recall_at_{key}"] = recall_at_threshold(pos, thresholds[key])
    out["false_alarm_sharp"] = share(flags[labels == "sharp"])
    out["false_alarm_defocus"] = share(flags[labels == "defocus"])
    for key in FALSE_ALARM_BUDGETS:
        t = thresholds[key]
        out[f"threshold_at_{key}"] = None if t is None or not np.isfinite(t) else t
    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in out.items()}


def summarise_all(rows: list[dict], method: str) -> dict:
    """Overall figures of ``method`` plus ``folders``: the same per folder, at the overall thresholds."""
    thresholds = false_alarm_thresholds(rows, method)
    overall = summarise(rows, method, thresholds)
    folders = sorted({r["folder"] for r in rows})
    overall["folders"] = {f: summarise([r for r in rows if r["folder"] == f], method, thresholds) for f in folders}
    return overall


def _stderr_line(text: str) -> None:
    print(text, file=sys.stderr)


def check_long_side(long_side: int, flag: str = "long side") -> int:
    """``long_side`` when a photo can be analysed at it (at least fileio.MIN_SIDE_PX), else JitterEdgeError."""
    from jitteredge.fileio import MIN_SIDE_PX

    if long_side < MIN_SIDE_PX:
        raise JitterEdgeError(f"{flag} {long_side}: must be at least {MIN_SIDE_PX} px")
    return long_side


def usable_manifest(manifest: str | os.PathLike,
                    report: Callable[[str], None] = _stderr_line) -> tuple[list[Photo], list[str]]:
    """read_manifest, each row left out reported once; before any folder is made or model loaded.

    Returns:
        (usable photos in manifest order, one line per row left out).

    Raises:
        JitterEdgeError: the manifest is missing or unreadable, or none of its rows is usable.
    """
    photos, skipped = read_manifest(manifest)
    for line in skipped:
        report(line)
    if not photos:
        raise JitterEdgeError(f"{manifest}: no usable photo ({len(skipped)} row(s) left out)")
    return photos, skipped


def score_photos(score_one: Callable[[Photo], dict], manifest: str | os.PathLike, photos: list[Photo],
                 skipped: list[str], *, desc: str, progress: bool = True,
                 report: Callable[[str], None] = _stderr_line) -> tuple[list[dict], list[str]]:
    """``score_one(photo)`` for each photo of a manifest, with a tqdm bar on stderr.

    A photo that cannot be read (JitterEdgeError) is left out: one line to ``report`` and to the
    skipped lines returned; a model failure (analyze.ModelFailure) stops the run. ``skipped`` (the
    manifest's own left-out rows) is not changed: a caller may pass the same manifest rows to
    every validation of a training run.

    Returns:
        (the rows of the photos scored, in manifest order; ``skipped`` plus the photos left out here).

    Raises:
        JitterEdgeError: no photo could be scored; ModelFailure.
    """
    from tqdm import tqdm

    from jitteredge.analyze import ModelFailure

    rows: list[dict] = []
    skipped = list(skipped)
    for photo in tqdm(photos, desc=desc, unit="photo", disable=None if progress else True, leave=False):
        try:
            rows.append(score_one(photo))
        except ModelFailure:
            raise
        except JitterEdgeError as exc:
            line = f"{manifest}: {photo.name}: skipped ({exc})"
            skipped.append(line)
            report(line)
    if not rows:
        raise JitterEdgeError(f"{manifest}: no usable photo ({len(skipped)} row(s) left out)")
    if skipped:
        report(f"{manifest}: {len(skipped)} row(s) skipped, {len(rows)} photo(s) scored")
    return rows, skipped


def score_real(model_or_runner, manifest: str | os.PathLike, long_side: int | None = None, *,
               threads: int | None = None, device: str = "cpu", baselines: bool = True, progress: bool = True,
               report: Callable[[str], None] = _stderr_line,
               manifest_rows: tuple[list[Photo], list[str]] | None = None) -> dict:
    """Score a model (and the baselines) on the photos of a manifest.

    Args:
        model_or_runner: registry name or model file (.pt, .onnx, .ort, .engine), or a
            jitteredge.runners.Runner (used as it is and left open: e.g. a training model).
        manifest: CSV of ``path,label[,source]`` (jitteredge.validation.manifest).
        long_side: working long side in px (None: the model's own, as ``jitteredge analyze``).
        threads, device: for a runner opened here.
        baselines: also score the Laplacian and cepstrum baselines.
        progress: a tqdm bar on stderr (when it is a terminal).
        report: called with one line per photo left out.
        manifest_rows: ``usable_manifest(manifest)`` when the caller has already read it.

    Returns:
        dict: the model's figures at the top level (n, auc, auc_sharp, auc_defocus, recall,
        recall_at_fa05, recall_at_fa10, false_alarm_sharp, false_alarm_defocus, thresholds, counts),
        ``folders`` (the same per folder), ``baselines`` ({"laplacian": ..., "cepstrum": ...}, each
        with its own ``folders``), ``photos`` (one row per photo scored), ``skipped`` (one line per
        photo left out), ``n_skipped``, and the runner's name, precision and working long side.

    Raises:
        JitterEdgeError: unreadable manifest, no usable photo in it, or the model fails.
    """
    if long_side is not None:
        check_long_side(long_side)
    start = time.perf_counter()
    photos, skipped = manifest_rows or usable_manifest(manifest, report)
    with _active_runner(model_or_runner, threads, device) as runner:
        rows, skipped = score_photos(lambda photo: score_photo(runner, photo, long_side, baselines), manifest,
                                     photos, skipped, desc="eval --real", progress=progress, report=report)
        meta = {"runner": runner.name, "precision": runner.precision,
                "long_side": int(long_side or runner.working_long_side)}
    result = summarise_all(rows, "model")
    if baselines:
        result["baselines"] = {m: summarise_all(rows, m) for m in BASELINES}
    result.update({"manifest": os.fspath(manifest), "model": _model_name(model_or_runner), **meta,
                   "n_skipped": len(skipped), "skipped": skipped, "photos": rows,
                   "seconds": round(time.perf_counter() - start, 2)})
    return result


def _model_name(model_or_runner) -> str:
    from jitteredge.runners import Runner

    return model_or_runner.name if isinstance(model_or_runner, Runner) else os.fspath(model_or_runner)
