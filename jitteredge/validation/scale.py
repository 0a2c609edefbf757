"""``jitteredge eval --real --long-sides``: do the verdict and blur_px change with ``--long-side``?

Every photo of a manifest is analysed at each long side asked, through the same path as
``jitteredge analyze`` (jitteredge.analyze.run_prediction, Prediction.verdict); a photo smaller than
a side is analysed at its own size (never enlarged: predict_field's rule), and each side's row counts
the photos really reduced to it. Two readings are kept per photo and side:

- ``verdict``: what ``analyze`` prints. Above infer.VERDICT_LONG_SIDE it is judged on a second pass
  at that size (Prediction.judged), so at larger sides it is the same by construction;
- ``working``: the field at the requested working size judged directly (verdict.judge_field with the
  same contrast mask): what the model itself reads at that size, i.e. how far the verdict would move
  without the second pass.

Per side and reading, against the reference side (infer.VERDICT_LONG_SIDE when asked, else the
first side given): the share of shake / sharp / defocus photos whose verdict (shaken or not) is the
one they get at the reference side; ROC AUC and recall at that side (jitteredge.validation.rates);
and, over the shake photos with a shaken pixel at both sides, the ratio of blur_px at that side to
blur_px at the reference side. Verdict.blur_px is already in the photo's own pixels (the median
blur over the shaken pixels, in working pixels, times the photo pixels per working pixel), so the
ratio is 1.0 when the blur is read the same at both sizes; its median and interquartile range are
reported. A pixel counts as shaken above verdict.SHAKEN_PX working pixels, so a smaller working size
leaves out the shortest blurs (in photo pixels) and reads a longer median over what remains: part of
a ratio's distance from 1 below the reference side is that, not the model.
"""

from __future__ import annotations

import json
import os
import time
from typing import Callable

import numpy as np

from jitteredge.errors import JitterEdgeError
from jitteredge.validation.manifest import LABELS, POSITIVE, Photo
from jitteredge.validation.rates import roc_auc, share
from jitteredge.validation.real import (_active_runner, _model_name, _stderr_line, check_long_side, score_photos,
                                        usable_manifest)

READINGS = ("verdict", "working")


def reference_side(sides: list[int]) -> int:
    """The side the others are compared with: infer.VERDICT_LONG_SIDE when asked, else the first."""
    from jitteredge.infer import VERDICT_LONG_SIDE

    return VERDICT_LONG_SIDE if VERDICT_LONG_SIDE in sides else sides[0]


def check_sides(sides: list[int]) -> list[int]:
    """The long sides in the order given, each once; JitterEdgeError for none or one below 16 px."""
    if not sides:
        raise JitterEdgeError("--long-sides: give at least one long side")
    for side in sides:
        check_long_side(side, "--long-sides")
    return list(dict.fromkeys(int(s) for s in sides))


def _reading(verdict) -> dict:
    return {"score": verdict.score, "shaken": bool(verdict.shaken), "blur_px": verdict.blur_px}


def measure_photo(runner, photo: Photo, sides: list[int]) -> dict:
    """One photo -> its row: label, folder, size, and per side the working size and both readings.

    Raises:
        JitterEdgeError: the photo cannot be read; analyze.ModelFailure when the model fails.
    """
    from jitteredge.analyze import run_prediction
    from jitteredge.fileio import read_rgb
    from jitteredge.verdict import judge_field

    rgb = read_rgb(photo.path)
    per_side = {}
    for side in sides:
        pred = run_prediction(runner, rgb, photo.path, side)
        verdict = pred.verdict(photo.path)
        working = verdict if pred.judged is None else judge_field(
            pred.field_working_px, pred.size.input_scale, os.fspath(photo.path), evidence=pred.evidence)
        per_side[str(side)] = {"working_hw": [pred.size.height, pred.size.width],
                               "verdict": _reading(verdict), "working": _reading(working)}
    return {"path": photo.name, "label": photo.label, "folder": photo.folder, "photo_hw": list(rgb.shape[:2]),
            "sides": per_side}


def _quantiles(values: list[float]) -> dict:
    if not values:
        return {"median": None, "q25": None, "q75": None}
    q25, q50, q75 = np.quantile(np.asarray(values, np.float64), [0.25, 0.5, 0.75])
    return {"median": round(float(q50), 4), "q25": round(float(q25), 4), "q75": round(float(q75), 4)}


def summarise_side(rows: list[dict], side: int, reference: int, reading: str) -> dict:
    """Figures of one reading at one side against the reference side (see the module docstring)."""
    at = [r["sides"][str(side)][reading] for r in rows]
    ref = [r["sides"][str(reference)][reading] for r in rows]
    labels = np.array([r["label"] for r in rows])
    scores = np.array([a["score"] for a in at], np.float64)
    same = np.array([a["shaken"] == b["shaken"] for a, b in zip(at, ref)])
    flags = np.array([a["shaken"] for a in at])
    out = {f"same_{label}": share(same[labels == label]) for label in LABELS}
    out["auc"] = roc_auc(scores[labels == POSITIVE], scores[labels != POSITIVE])
    out["recall"] = share(flags[labels == POSITIVE])
    ratios = [a["blur_px"] / b["blur_px"] for a, b, label in zip(at, ref, labels)
              if label == POSITIVE and a["blur_px"] > 0 and b["blur_px"] > 0]
    out["n_blur_ratio"] = len(ratios)
    out.update({f"blur_ratio_{k}": v for k, v in _quantiles(ratios).items()})
    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in out.items()}


def summarise_sides(rows: list[dict], sides: list[int], reference: int) -> list[dict]:
    """One dict per side: the photos reduced to it, their working long sides, and both readings."""
    out = []
    for side in sides:
        working_long = [max(r["sides"][str(side)]["working_hw"]) for r in rows]
        out.append({"long_side": side, "n": len(rows), "n_reduced": int(sum(w == side for w in working_long)),
                    "working_long_side_median": float(np.median(working_long)),
                    **{reading: summarise_side(rows, side, reference, reading) for reading in READINGS}})
    return out


def scale_consistency(model_or_runner, manifest: str | os.PathLike, sides: list[int], *, threads: int | None = None,
                      device: str = "cpu", progress: bool = True, report: Callable[[str], None] = _stderr_line,
                      manifest_rows: tuple[list[Photo], list[str]] | None = None) -> dict:
    """Analyse every photo of a manifest at each long side and compare the sides.

    Args:
        model_or_runner: registry name or model file, or an active-able jitteredge.runners.Runner.
        manifest: CSV of ``path,label[,source]`` (jitteredge.validation.manifest).
        sides: working long sides in px (at least 16 each; duplicates counted once).
        threads, device: for a runner opened here.
        progress: a tqdm bar on stderr (when it is a terminal).
        report: called with one line per photo left out.
        manifest_rows: ``usable_manifest(manifest)`` when the caller has already read it.

    Returns:
        dict: ``sides``, ``reference_side``, ``by_side`` (summarise_sides), ``photos`` (measure_photo
        rows), ``skipped``, ``n_skipped``, counts per label, the runner's name and precision, seconds.

    Raises:
        JitterEdgeError: a bad side, an unreadable manifest, no usable photo in it, or the model fails.
    """
    sides = check_sides(sides)
    reference = reference_side(sides)
    start = time.perf_counter()
    photos, skipped = manifest_rows or usable_manifest(manifest, report)
    with _active_runner(model_or_runner, threads, device) as runner:
        rows, skipped = score_photos(lambda photo: measure_photo(runner, photo, sides), manifest, photos,
                                     skipped, desc="eval --real --long-sides", progress=progress, report=report)
        meta = {"runner": runner.name, "precision": runner.precision}
    labels = [r["label"] for r in rows]
    return {"manifest": os.fspath(manifest), "model": _model_name(model_or_runner), **meta, "sides": sides,
            "reference_side": reference, "n": len(rows), **{f"n_{label}": labels.count(label) for label in LABELS},
            "by_side": summarise_sides(rows, sides, reference), "n_skipped": len(skipped), "skipped": skipped,
            "photos": rows, "seconds": round(time.perf_counter() - start, 2)}


def _pct(v) -> str:
    return "-" if v is None else f"{100 * v:.0f}%"


def _num(v, digits: int = 3) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def _table(report: dict, reading: str) -> list[str]:
    lines = ["| long side | photos reduced to it | median working long side | same verdict: shake | sharp | defocus "
             "| AUC | shake recall | blur_px / reference's: median | IQR | n |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|"]
    for s in report["by_side"]:
        m = s[reading]
        ref = " (reference)" if s["long_side"] == report["reference_side"] else ""
        iqr = "-" if m["blur_ratio_q25"] is None else f"{m['blur_ratio_q25']:.2f}-{m['blur_ratio_q75']:.2f}"
        lines.append(f"| {s['long_side']}{ref} | {s['n_reduced']}/{s['n']} | {s['working_long_side_median']:.0f} | "
                     f"{_pct(m['same_shake'])} | {_pct(m['same_sharp'])} | {_pct(m['same_defocus'])} | "
                     f"{_num(m['auc'])} | {_pct(m['recall'])} | {_num(m['blur_ratio_median'], 2)} | {iqr} | "
                     f"{m['n_blur_ratio']} |")
    return lines


def markdown_table(report: dict) -> str:
    """Both readings as tables, one row per long side, with a line on how each figure is computed."""
    from jitteredge.infer import VERDICT_LONG_SIDE

    lines = [f"# jitteredge eval --real --long-sides: {report['model']}", "",
             f"Manifest `{report['manifest']}`: {report['n']} photos ({report['n_shake']} shake / {report['n_sharp']} "
             f"sharp / {report['n_defocus']} defocus; {report['n_skipped']} skipped); runner `{report['runner']}` "
             f"({report['precision']}). Each photo analysed at long sides {', '.join(map(str, report['sides']))} "
             "(never enlarged: a photo smaller than a side is analysed at its own size). \"Same verdict\": share of "
             f"the photos of that label with the verdict they get at the reference side {report['reference_side']}. "
             "blur_px is in the photo's own pixels; the ratio is taken per shake photo with a shaken pixel at "
             "both sides (n), 1.00 = the same blur read.", "",
             f"The verdict (`jitteredge analyze`'s; above {VERDICT_LONG_SIDE} px judged on a second pass at "
             f"{VERDICT_LONG_SIDE}):", "", *_table(report, "verdict"), "",
             "The field at the working size judged directly (what the model reads at that size):", "",
             *_table(report, "working"), "", f"Wall time {report['seconds']:.1f} s."]
    return "\n".join(lines) + "\n"


def run_scale_eval(model, manifest: str | os.PathLike, out_dir: str | os.PathLike, sides: list[int],
                   threads: int | None = None, device: str = "cpu") -> dict:
    """scale_consistency, written to ``out_dir`` as scale.json and scale.md (atomically).

    Returns:
        scale_consistency's dict (also in scale.json).
    """
    from jitteredge.fileio import ensure_writable_dir, write_bytes_atomic

    sides = check_sides(sides)  # before the folder is made
    rows = usable_manifest(manifest)  # before the folder is made and the model loaded
    out = ensure_writable_dir(out_dir)  # before the work, not after it
    report = scale_consistency(model, manifest, sides, threads=threads, device=device, manifest_rows=rows)
    write_bytes_atomic(out / "scale.json", (json.dumps(report, indent=2) + "\n").encode())
    write_bytes_atomic(out / "scale.md", markdown_table(report).encode())
    return report
