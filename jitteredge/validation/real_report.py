"""``jitteredge eval --real``: the real-photo scores as a table, JSON, ROC curves and a contact sheet.

Writes to the output folder: ``real.json`` (jitteredge.validation.real.score_real's dict),
``real.md`` (the table printed), ``real_roc.png`` (ROC curves of the model and both baselines) and
``real_worst.png`` (the shaken photos the model scores lowest and the sharp or defocused photos it
scores highest, each drawn as ``jitteredge analyze`` draws its jitter picture).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import cv2
import numpy as np

from jitteredge.validation.manifest import POSITIVE
from jitteredge.validation.rates import roc_curve
from jitteredge.validation.real import METHODS, LAPLACIAN_BLURRY_VAR, check_long_side, score_real, usable_manifest

WORST_PER_ROW = 4  # photos per row of real_worst.png
TILE_PX = 420  # long side of each jitter picture on the sheet
_COLOURS = {"model": (31, 119, 180), "laplacian": (255, 127, 14), "cepstrum": (44, 160, 44)}  # RGB


def _pct(v) -> str:
    return "-" if v is None else f"{100 * v:.1f}%"


def _auc(v) -> str:
    return "-" if v is None else f"{v:.3f}"


def _row(scope: str, method: str, m: dict) -> str:
    counts = f"{m['n']} ({m['n_shake']}/{m['n_sharp']}/{m['n_defocus']})"
    return (f"| {scope} | {method} | {counts} | {_auc(m['auc'])} | {_auc(m['auc_sharp'])} | {_auc(m['auc_defocus'])} | "
            f"{_pct(m['recall'])} | {_pct(m['recall_at_fa05'])} | {_pct(m['recall_at_fa10'])} | "
            f"{_pct(m['false_alarm_sharp'])} | {_pct(m['false_alarm_defocus'])} |")


def markdown_table(report: dict) -> str:
    """The table: per scope (overall, then each folder) and method, the figures of score_real."""
    methods = {"model": report, **report.get("baselines", {})}
    lines = [f"# jitteredge eval --real: {report['model']}", "",
             f"Manifest `{report['manifest']}`: {report['n']} photos scored ({report['n_skipped']} skipped); runner "
             f"`{report['runner']}` ({report['precision']}), working long side {report['long_side']} px. "
             "Shake photos against the others; recall at 5% / 10% false alarms uses the score threshold "
             "set on all the manifest's sharp and defocused photos; the verdict is `jitteredge analyze`'s "
             f"(laplacian: variance below {LAPLACIAN_BLURRY_VAR:g}).", "",
             "| scope | method | n (shake/sharp/defocus) | AUC | AUC vs sharp | AUC vs defocus | recall | "
             "recall @5% FA | recall @10% FA | false alarms sharp | false alarms defocus |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for method, m in methods.items():
        lines.append(_row("all", method, m))
    for folder in report["folders"]:
        for method, m in methods.items():
            lines.append(_row(folder, method, m["folders"][folder]))
    lines += ["", f"Wall time {report['seconds']:.1f} s."]
    return "\n".join(lines) + "\n"


def roc_picture(report: dict, size_px: int = 520) -> np.ndarray:
    """uint8 RGB picture of the ROC curves (recall against false alarms) of every method scored."""
    font = cv2.FONT_HERSHEY_SIMPLEX
    img = np.full((size_px, size_px, 3), 255, np.uint8)
    left, right, top, bottom = 60, 16, 30, 50
    w, h = size_px - left - right, size_px - top - bottom

    def xy(fa: float, rec: float) -> tuple[int, int]:
        return int(round(left + fa * w)), int(round(top + (1.0 - rec) * h))

    for k in range(6):
        t = k / 5
        cv2.line(img, xy(t, 0), xy(t, 1), (225, 225, 225), 1)
        cv2.line(img, xy(0, t), xy(1, t), (225, 225, 225), 1)
        cv2.putText(img, f"{t:.1f}", (xy(t, 0)[0] - 10, top + h + 18), font, 0.4, (60, 60, 60), 1, cv2.LINE_AA)
        cv2.putText(img, f"{t:.1f}", (left - 32, xy(0, t)[1] + 4), font, 0.4, (60, 60, 60), 1, cv2.LINE_AA)
    cv2.line(img, xy(0, 0), xy(1, 1), (180, 180, 180), 1, cv2.LINE_AA)
    cv2.rectangle(img, xy(0, 1), xy(1, 0), (0, 0, 0), 1)
    cv2.putText(img, "false alarms (share of sharp + defocus photos flagged)", (left, size_px - 12), font, 0.42,
                (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(img, f"shake recall, {report['n']} real photos", (left, top - 10), font, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    labels = np.array([r["label"] for r in report["photos"]])
    methods = [m for m in METHODS if m == "model" or m in report.get("baselines", {})]
    for k, method in enumerate(methods):
        scores = np.array([r[method]["score"] for r in report["photos"]], np.float64)
        fa, rec, _ = roc_curve(scores[labels == POSITIVE], scores[labels != POSITIVE])
        colour = _COLOURS[method]
        if fa.size:
            pts = np.array([xy(a, b) for a, b in zip(fa, rec)], np.int32)
            cv2.polylines(img, [pts], False, colour, 2, cv2.LINE_AA)
        m = report if method == "model" else report["baselines"][method]
        ly = top + h - 12 - 18 * (len(methods) - 1 - k)
        cv2.line(img, (left + w - 170, ly - 4), (left + w - 150, ly - 4), colour, 2)
        cv2.putText(img, f"{method}  AUC {_auc(m['auc'])}", (left + w - 145, ly), font, 0.42, (0, 0, 0), 1, cv2.LINE_AA)
    negatives = [r["model"]["shaken"] for r in report["photos"] if r["label"] != POSITIVE]
    if negatives and report.get("recall") is not None:  # the model's verdict as a point
        cv2.circle(img, xy(float(np.mean(negatives)), report["recall"]), 5, _COLOURS["model"], -1, cv2.LINE_AA)
    return img


def worst_photos(report: dict, k: int = WORST_PER_ROW) -> tuple[list[dict], list[dict]]:
    """(the k shake photos with the lowest model score, the k other photos with the highest)."""
    rows = report["photos"]
    misses = sorted((r for r in rows if r["label"] == POSITIVE), key=lambda r: r["model"]["score"])[:k]
    alarms = sorted((r for r in rows if r["label"] != POSITIVE), key=lambda r: -r["model"]["score"])[:k]
    return misses, alarms


def _strip(width: int, text: str, height: int = 22, bg: int = 255, fg: int = 0, scale: float = 0.45) -> np.ndarray:
    strip = np.full((height, width, 3), bg, np.uint8)
    cv2.putText(strip, text, (4, height - 7), cv2.FONT_HERSHEY_SIMPLEX, scale, (fg, fg, fg), 1, cv2.LINE_AA)
    return strip


def contact_sheet(runner, manifest: str | os.PathLike, report: dict, long_side: int | None,
                  k: int = WORST_PER_ROW) -> np.ndarray:
    """uint8 RGB sheet: a row of the worst misses and a row of the worst false alarms, each photo
    drawn as ``jitteredge analyze`` draws it (the model is run again on these few photos)."""
    from jitteredge.analyze import jitter_picture, run_prediction
    from jitteredge.fileio import read_rgb

    base = Path(manifest).parent
    misses, alarms = worst_photos(report, k)
    cell_w = TILE_PX
    sections = []
    for title, rows in (("worst misses: shake photos with the lowest scores", misses),
                        ("worst false alarms: sharp and defocused photos with the highest scores", alarms)):
        tiles = []
        for r in rows:
            path = Path(r["path"]) if Path(r["path"]).is_absolute() else base / r["path"]
            rgb = read_rgb(path)
            pred = run_prediction(runner, rgb, path, long_side)
            picture = jitter_picture(rgb, pred, pred.verdict(path), TILE_PX)
            if picture.shape[1] != cell_w:  # photos smaller than a tile are drawn at their own size
                scale = cell_w / picture.shape[1]
                picture = cv2.resize(picture, (cell_w, max(1, round(picture.shape[0] * scale))),
                                     interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
            status = ("MISSED" if not r["model"]["shaken"] else "found") if r["label"] == POSITIVE else \
                ("FALSE ALARM" if r["model"]["shaken"] else "not flagged")
            caption = f"{r['label']} {status} {r['model']['score']:.2f}: {r['path']}"
            tiles.append(np.concatenate([_strip(cell_w, caption[:60], scale=0.38), picture]))
        if not tiles:
            tiles = [_strip(cell_w, "none in this manifest")]
        height = max(t.shape[0] for t in tiles)
        gap = np.full((height, 6, 3), 255, np.uint8)
        padded = [np.pad(t, ((0, height - t.shape[0]), (0, 0), (0, 0)), constant_values=255) for t in tiles]
        row = np.concatenate([x for t in padded for x in (t, gap)][:-1], axis=1)
        sections.append(_strip(row.shape[1], title, height=26, bg=40, fg=240, scale=0.5))
        sections.append(row)
        sections.append(np.full((8, row.shape[1], 3), 255, np.uint8))
    width = max(s.shape[1] for s in sections)
    sections = [np.pad(s, ((0, 0), (0, width - s.shape[1]), (0, 0)), constant_values=255) for s in sections]
    return np.concatenate(sections[:-1])


def run_real_eval(model, manifest: str | os.PathLike, out_dir: str | os.PathLike, long_side: int | None = None,
                  threads: int | None = None, device: str = "cpu", worst: int = WORST_PER_ROW) -> dict:
    """Score ``model`` on ``manifest`` and write real.json, real.md, real_roc.png, real_worst.png.

    Returns:
        score_real's dict (also in real.json).
    """
    from jitteredge.fileio import ensure_writable_dir, write_bytes_atomic, write_image_atomic
    from jitteredge.infer import open_runner

    if long_side is not None:
        check_long_side(long_side, "--long-side")  # before the folder is made
    rows = usable_manifest(manifest)  # before the folder is made and the model loaded
    out = ensure_writable_dir(out_dir)  # before the work, not after it
    with open_runner(model, threads=threads, device=device) as runner:
        report = score_real(runner, manifest, long_side, manifest_rows=rows)
        report["model"] = os.fspath(model)
        sheet = contact_sheet(runner, manifest, report, long_side, worst)
    write_bytes_atomic(out / "real.json", (json.dumps(report, indent=2) + "\n").encode())
    write_bytes_atomic(out / "real.md", markdown_table(report).encode())
    write_image_atomic(out / "real_roc.png", roc_picture(report))
    write_image_atomic(out / "real_worst.png", sheet)
    return report
