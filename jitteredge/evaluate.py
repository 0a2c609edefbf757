"""Accuracy report: the model against two baselines on a fixed synthetic test set.

Samples are synthesised from held-out photos (BSDS500 test/ by default, the procedural dead-leaves
source where BSDS500 is absent) with a fixed seed, in six groups: the strong and mild shake presets
(METHOD.md section 1), sharp photos (zero field), defocused photos (zero field: bokeh is not shake,
[0071]), curved camera paths, and subject motion (only a region of a sharp photo moved). Per group
and method: the sign-invariant endpoint error (EPE, px), Gong's MSE after U >= 0 folding (px^2), the
share of pixels whose blur exceeds the shaken threshold, the recall of shaken pixels (the share of
truly shaken pixels called shaken: it says whether a moving subject is found where it moved), and the
share of images the verdict calls shaken (jitteredge.verdict, counting only the pixels where the
sample has the contrast to show blur, for every method alike). Methods: the model (any runner), the
zero field, and the cepstral estimator of jitteredge.baselines; the "truth" row gives the shares of
the labels (its "images shaken": what a perfect field would be judged).
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass

import cv2
import numpy as np

from jitteredge.colorize import field_to_rgb
from jitteredge.errors import JitterEdgeError
from jitteredge.fieldcode import magnitude
from jitteredge.fileio import ensure_writable_dir, write_bytes_atomic, write_image_atomic
from jitteredge.validation.synthetic import GROUPS, check_groups, make_group_set, open_validation_source
from jitteredge.verdict import SHAKEN_PX

METHODS = ("model", "zero", "cepstrum")
MIN_SIZE_PX = 32  # smaller samples leave the cepstrum baseline no tile to search


@dataclass
class EvalConfig:
    model: str = "default"  # registry name or model file
    source: str = "bsds500"  # "bsds500" (falls back to "procedural" when absent), "procedural" or a folder
    split: str = "test"  # BSDS500 split
    n: int = 40  # samples per group (the default run takes 30-80 s on 2 busy CPU cores)
    seed: int = 0  # fixes photos, fields and degradations
    out_dir: str = "jitteredge_eval"  # eval.md, eval.json, eval_samples.png
    groups: tuple[str, ...] = tuple(GROUPS)  # which groups to run
    size_px: int | None = None  # sample side in px (None: SampleConfig's default)
    picture_rows: int = 6  # groups shown in eval_samples.png (each by its most blurred sample)
    threads: int | None = 1  # inference threads; 1 because more fight Numba's synthesis threads on CPU
    device: str = "cpu"

    def validate(self) -> "EvalConfig":
        """Refuse values no run can use, with one line; returns self."""
        try:
            check_groups(self.groups)
        except JitterEdgeError as exc:
            raise JitterEdgeError(str(exc).replace("validation group", "eval group")) from None
        if self.n < 1:
            raise JitterEdgeError(f"--n {self.n}: need at least one sample per group")
        if self.size_px is not None and self.size_px < MIN_SIZE_PX:
            raise JitterEdgeError(f"--size {self.size_px}: samples must be at least {MIN_SIZE_PX} px")
        if self.threads is not None and self.threads < 1:
            raise JitterEdgeError(f"--threads {self.threads}: must be at least 1")
        return self


def make_group(source, group: str, n: int, seed: int, size_px: int | None) -> list:
    """n fixed samples of one group (jitteredge.validation.synthetic.make_group_set)."""
    return make_group_set(source, group, n, seed, size_px)


def _label(image: np.ndarray, text: str, height: int = 18) -> np.ndarray:
    strip = np.full((height, image.shape[1], 3), 255, np.uint8)
    cv2.putText(strip, text, (3, height - 5), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    return np.concatenate([strip, image], axis=0)


def sample_grid(rows: list[tuple[str, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]) -> np.ndarray:
    """Picture rows of (group, photo, true field, predicted field, baseline field), same colour scale per row.

    Returns:
        uint8 RGB grid: photo | truth | model | cepstrum, one labelled row per sample.
    """
    out = []
    for group, photo, truth, pred, base in rows:
        max_px = max(4.0, float(np.quantile(magnitude(truth), 0.99)), float(np.quantile(magnitude(pred), 0.99)))
        tiles = [photo] + [field_to_rgb(f, max_px) for f in (truth, pred, base)]
        names = [f"{group}: photo", f"truth (full: {max_px:.0f} px)", "model", "cepstrum"]
        gap = np.full((photo.shape[0] + 18, 4, 3), 255, np.uint8)
        row = [x for t, name in zip(tiles, names) for x in (_label(t, name), gap)][:-1]
        out.append(np.concatenate(row, axis=1))
        out.append(np.full((4, out[-1].shape[1], 3), 255, np.uint8))
    width = max(r.shape[1] for r in out)
    out = [np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in out]
    return np.concatenate(out[:-1], axis=0)


def markdown_table(report: dict) -> str:
    lines = [f"# jitteredge eval: {report['model']}", "",
             f"Runner `{report['runner']}` ({report['precision']}); {report['n_per_group']} samples per group "
             f"from `{report['source']}`, seed {report['seed']}, {report['size_px']} px; "
             f"shaken = blur > {SHAKEN_PX:g} px. EPE and MSE are sign-invariant (M and -M blur alike).", "",
             f"| group | method | EPE (px) | Gong MSE (px²) | pixels > {SHAKEN_PX:g} px | shaken pixels found | images shaken |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for group, methods in report["groups"].items():
        for method, m in methods.items():
            epe = "-" if method == "truth" else f"{m['epe_px']:.3f}"
            mse = "-" if method == "truth" else f"{m['gong_mse_px2']:.2f}"
            recall = "-" if m.get("shaken_pixel_recall") is None else f"{100 * m['shaken_pixel_recall']:.1f}%"
            lines.append(f"| {group} | {method} | {epe} | {mse} | {100 * m['shaken_pixel_share']:.1f}% | {recall} | "
                         f"{100 * m['shaken_image_share']:.1f}% |")
    lines += ["", f"Wall time {report['seconds']:.1f} s (synthesis, model and baselines)."]
    return "\n".join(lines) + "\n"


def evaluate(cfg: EvalConfig) -> dict:
    """Run the accuracy report and write eval.md, eval.json and eval_samples.png to ``cfg.out_dir``.

    Returns:
        The report dict (also in eval.json): per group, per method: epe_px, gong_mse_px2,
        shaken_pixel_share, shaken_image_share, samples.
    """
    from tqdm import tqdm

    from jitteredge.infer import open_runner
    from jitteredge.validation.synthetic import score_sets

    cfg.validate()
    out = ensure_writable_dir(cfg.out_dir)  # before the work, not after it
    start = time.perf_counter()
    warn = lambda line: print(line.replace("jitteredge:", "jitteredge eval:", 1), file=sys.stderr)  # noqa: E731
    source, source_name = open_validation_source(cfg.source, cfg.split, cfg.seed, warn=warn)
    groups: dict[str, dict] = {}
    shown: dict[str, tuple] = {}
    size_px = None

    def keep_most_blurred(group: str, s, fields: dict) -> None:
        # Show each group's most blurred sample (the first one where nothing is blurred); the mean,
        # not the median, so that a small moving subject counts.
        nonlocal size_px
        size_px = s.image.shape[0]
        blur = float(np.mean(magnitude(s.field)))
        if group not in shown or blur > shown[group][0]:
            shown[group] = (blur, (group, s.image, s.field, fields["model"], fields["cepstrum"]))
        bar.update(1)

    with open_runner(cfg.model, threads=cfg.threads, device=cfg.device) as runner:
        bar = tqdm(total=cfg.n * len(cfg.groups), desc="eval", unit="sample", disable=None, leave=False)
        for group in cfg.groups:
            samples = make_group(source, group, cfg.n, cfg.seed, cfg.size_px)
            groups.update(score_sets(runner, {group: samples}, baselines=True, on_sample=keep_most_blurred))
        bar.close()
        report = {"model": str(cfg.model), "runner": runner.name, "precision": runner.precision,
                  "source": source_name, "split": cfg.split, "n_per_group": cfg.n, "seed": cfg.seed,
                  "size_px": size_px, "shaken_px": SHAKEN_PX, "groups": groups}
    picture_rows = [shown[g][1] for g in cfg.groups if g in shown][: cfg.picture_rows]
    report["seconds"] = round(time.perf_counter() - start, 2)

    write_bytes_atomic(out / "eval.json", (json.dumps(report, indent=2) + "\n").encode())
    write_bytes_atomic(out / "eval.md", markdown_table(report).encode())
    if picture_rows:
        write_image_atomic(out / "eval_samples.png", sample_grid(picture_rows))
    return report
