"""Photos -> jitter fields, pictures and verdicts (patent claim 2, [0071]).

One photo: read (any size, 16-bit, gray, RGBA) -> reduce to the working size (never enlarge) ->
network -> field in input pixels (``<stem>.flow.npy``), picture (``<stem>.jitter.png``) and the
verdict (jitteredge.verdict.judge_field on the working-resolution field, where the working photo
has the contrast to show blur: jitteredge.evidence).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from jitteredge.errors import JitterEdgeError, first_line
from jitteredge.fileio import ensure_writable_dir, list_images, read_rgb, save_npy_atomic, write_image_atomic
from jitteredge.infer import DEFAULT_MODEL, Prediction, open_runner, predict_field
from jitteredge.runners import Runner
from jitteredge.verdict import Verdict

COLOUR_FULL_WORKING_PX = 10.0  # blur (working pixels) drawn at full colour in the picture


@dataclass
class AnalyzeConfig:
    model: str = DEFAULT_MODEL  # registry name or model file (.pt, .onnx, .ort, .engine, .plan)
    out_dir: str = "jitteredge_out"  # where <stem>.flow.npy and <stem>.jitter.png go
    long_side: int | None = None  # working long side, px (None: the model's, preprocess.DEFAULT_LONG_SIDE)
    threads: int | None = None  # inference threads (None: the backend's default)
    device: str = "cpu"  # "cpu" or "cuda"
    write_outputs: bool = True  # False: verdicts only
    display_long_side: int = 1600  # px, long side of the jitter picture at most


@dataclass
class ImageResult:
    path: str
    verdict: Verdict | None = None  # None when the image failed
    error: str | None = None  # one line saying what is wrong with the image
    outputs: dict[str, str] = field(default_factory=dict)  # "flow", "picture" -> written files
    seconds: float = 0.0  # read + analyse + write


class ModelFailure(JitterEdgeError):
    """The model (not the image) failed: the batch stops."""


def expand_inputs(inputs: list[str | os.PathLike], skip_dir: str | os.PathLike | None = None
                  ) -> Iterator[tuple[Path, str | None]]:
    """(path, problem) pairs: files as given, folders expanded to their images (recursively).

    ``problem`` is None, or one line saying why a folder gave nothing to analyse. Images found in
    folders below ``skip_dir`` (the output folder: earlier jitter pictures) are left out.
    """
    skip = Path(skip_dir).resolve() if skip_dir is not None else None
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            images = [i for i in list_images(p) if skip is None or skip not in i.resolve().parents]
            if not images:
                yield p, f"{p}: folder holds no images"
            for image in images:
                yield image, None
        else:
            yield p, None


def run_prediction(runner: Runner, rgb: np.ndarray, path: str | os.PathLike, long_side: int | None) -> Prediction:
    """predict_field, with backend failures raised as ModelFailure naming the model and the image."""
    try:
        return predict_field(runner, rgb, long_side)
    except JitterEdgeError as exc:
        raise ModelFailure(str(exc)) from None
    except (RuntimeError, ValueError) as exc:
        first = first_line(exc)
        raise ModelFailure(f"{runner.name}: inference failed on {path} ({first})") from None


def analyze_image(runner: Runner, path: str | os.PathLike, long_side: int | None = None) -> tuple[np.ndarray, Verdict]:
    """One photo -> (float32 (H, W, 2) field in input pixels, Verdict)."""
    rgb = read_rgb(path)
    pred = run_prediction(runner, rgb, path, long_side)
    return pred.field_input_px, pred.verdict(path)


class _StemNamer:
    """Output stems, unique within one run (a/x.jpg and b/x.png would otherwise overwrite each other)."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def __call__(self, path: Path) -> str:
        stem, k = path.stem, 1
        while stem in self.used:
            k += 1
            stem = f"{path.stem}-{k}"
        self.used.add(stem)
        return stem


def analyze_one(runner: Runner, path: Path, cfg: AnalyzeConfig, stem: str) -> ImageResult:
    """Analyse one photo and write its outputs. Image problems raise JitterEdgeError."""
    from jitteredge.viz import draw_jitter

    start = time.perf_counter()
    rgb = read_rgb(path)
    pred = run_prediction(runner, rgb, path, cfg.long_side)
    verdict = pred.verdict(path)
    result = ImageResult(path=str(path), verdict=verdict)
    if cfg.write_outputs:
        out = Path(cfg.out_dir)
        flow_path, picture_path = out / f"{stem}.flow.npy", out / f"{stem}.jitter.png"
        save_npy_atomic(flow_path, pred.field_input_px)
        max_px = COLOUR_FULL_WORKING_PX * pred.size.input_scale
        picture = draw_jitter(rgb, pred.field_input_px, verdict, max_px, cfg.display_long_side, evidence=pred.evidence)
        write_image_atomic(picture_path, picture)
        result.outputs = {"flow": str(flow_path), "picture": str(picture_path)}
    result.seconds = time.perf_counter() - start
    return result


def iter_analyze(cfg: AnalyzeConfig, inputs: list[str | os.PathLike]) -> Iterator[ImageResult]:
    """Analyse every image in ``inputs`` (files or folders), yielding one result per image.

    A problem with one image (unreadable, too small, empty folder) becomes a result with ``error``
    set and the batch goes on; a problem with the model raises JitterEdgeError at once.
    """
    from tqdm import tqdm

    if cfg.write_outputs:
        ensure_writable_dir(cfg.out_dir)  # one line now, not one failure per photo
    items = list(expand_inputs(inputs, skip_dir=cfg.out_dir if cfg.write_outputs else None))
    namer = _StemNamer()
    with open_runner(cfg.model, threads=cfg.threads, device=cfg.device) as runner:
        for path, problem in tqdm(items, desc="analyze", unit="img", disable=None, leave=False):
            if problem:
                yield ImageResult(path=str(path), error=problem)
                continue
            try:
                yield analyze_one(runner, path, cfg, namer(path))
            except ModelFailure:
                raise  # the model failed, not the image
            except JitterEdgeError as exc:
                yield ImageResult(path=str(path), error=str(exc))
