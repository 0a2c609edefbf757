"""Photos -> jitter fields, pictures and verdicts (patent claim 2, [0071]).

One photo: read (any size, 16-bit, gray, RGBA) -> reduce to the working size (never enlarge) ->
network -> the verdict (jitteredge.verdict.judge_field on the working-resolution field, where the
working photo has the contrast to show blur: jitteredge.evidence) and the files chosen by
``AnalyzeConfig.write`` (WRITE_KINDS): the picture ``<stem>.jitter.png``, the field at working
resolution ``<stem>.field.npz`` (float16, with its scale), the full field ``<stem>.flow.npy``
(float32, the photo's size: large and slow to write, so only on request).
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from jitteredge.errors import JitterEdgeError, first_line
from jitteredge.fileio import atomic_path, ensure_writable_dir, list_images, read_rgb, save_npy_atomic, write_image_atomic
from jitteredge.infer import Prediction, predict_field
from jitteredge.runners import DEFAULT_MODEL, Runner, open_runner
from jitteredge.verdict import Verdict

COLOUR_FULL_WORKING_PX = 10.0  # blur (working pixels) drawn at full colour in the picture
# What analyze can write per photo: kind -> file name suffix after the stem.
WRITE_KINDS = {
    "picture": ".jitter.png",  # the field drawn over the photo (reduced to display_long_side)
    "field": ".field.npz",  # float16 field at working resolution, in photo pixels, with its scale
    "full-field": ".flow.npy",  # float32 (H, W, 2) field at the photo's size, in photo pixels
}
DEFAULT_WRITE = ("picture", "field")


def parse_write(value) -> tuple[str, ...]:
    """``--write`` or a config file's ``write:``: "picture,field", "all", "none", or a list of these ->
    the kinds (unknown kinds are left for AnalyzeConfig.validate to refuse; other types pass unchanged
    for the config file's type check)."""
    if isinstance(value, str):
        value = value.split(",")
    elif not isinstance(value, (list, tuple)) or not all(isinstance(k, str) for k in value):
        return value
    kinds = tuple(k.strip() for k in value if k.strip())
    if kinds == ("all",):
        return tuple(WRITE_KINDS)
    if kinds in (("none",), ()):
        return ()
    return kinds


@dataclass
class AnalyzeConfig:
    model: str = DEFAULT_MODEL  # registry name or model file (.pt, .onnx, .ort, .engine, .plan)
    out_dir: str = "jitteredge_out"  # where <stem>.flow.npy and <stem>.jitter.png go
    long_side: int | None = None  # working long side, px (None: the model's, preprocess.DEFAULT_LONG_SIDE)
    threads: int | None = None  # inference threads (None: the backend's default)
    device: str = "cpu"  # "cpu" or "cuda"
    write_outputs: bool = True  # False: verdicts only, whatever ``write`` says
    write: tuple[str, ...] = DEFAULT_WRITE  # files per photo, kinds of WRITE_KINDS; () = none
    display_long_side: int = 1600  # px, long side of the jitter picture at most
    progress: str = "auto"  # multi-photo runs on stderr: "bar", "lines" (one per photo), "off";
    #                          "auto": a bar on a terminal, else lines

    @staticmethod
    def file_values(values: dict) -> dict:
        """A config file's ``write:`` takes what ``--write`` takes (all, none, a comma list) or a list."""
        if "write" in values:
            values["write"] = parse_write(values["write"])
        return values

    def validate(self) -> "AnalyzeConfig":
        """Refuse impossible values with one line; returns self."""
        if self.long_side is not None and self.long_side < 16:
            raise JitterEdgeError(f"--long-side {self.long_side}: must be at least 16 px")
        if self.threads is not None and self.threads < 1:
            raise JitterEdgeError(f"--threads {self.threads}: must be at least 1")
        unknown = [k for k in self.write if k not in WRITE_KINDS]
        if unknown:
            raise JitterEdgeError(f"--write {','.join(unknown)}: choose from {', '.join(WRITE_KINDS)}, all or none")
        if self.display_long_side < 16:
            raise JitterEdgeError(f"display_long_side {self.display_long_side}: must be at least 16 px")
        if self.progress not in ("auto", "bar", "lines", "off"):
            raise JitterEdgeError(f"progress {self.progress!r}: choose auto, bar, lines or off")
        return self

    @property
    def writes(self) -> tuple[str, ...]:
        """The kinds of file actually written (none when write_outputs is off)."""
        return tuple(self.write) if self.write_outputs else ()


@dataclass
class ImageResult:
    path: str
    verdict: Verdict | None = None  # None when the image failed
    error: str | None = None  # one line saying what is wrong with the image
    outputs: dict[str, str] = field(default_factory=dict)  # kind of WRITE_KINDS -> the file written
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


def save_field_npz(path: str | os.PathLike, field_working_px: np.ndarray, input_scale: float,
                   input_hw: tuple[int, int]) -> None:
    """Write the light field file: ``field`` float16 (h, w, 2) at working resolution, values in the
    photo's pixels; ``scale`` photo pixels per field cell (x and y); ``photo_hw`` the photo's (H, W).
    np.load(path)["field"] reads it; jitteredge.preprocess.code_to_input_field is the full-size way."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, field=(field_working_px * np.float32(input_scale)).astype(np.float16),
                     scale=np.float32(input_scale), photo_hw=np.asarray(input_hw, np.int64),
                     units=np.str_("photo pixels; (U, V) = x right, y down; sign-free"))


def jitter_picture(rgb: np.ndarray, pred: Prediction, verdict: Verdict, display_long_side: int) -> np.ndarray:
    """uint8 RGB picture of a photo's jitter field (jitteredge.viz.draw_jitter), long side at most
    ``display_long_side`` px."""
    from jitteredge.viz import display_size, draw_jitter

    max_px = COLOUR_FULL_WORKING_PX * pred.size.input_scale
    # The field at the picture's size straight from the network output: the full-size field
    # is never made for the picture (on a phone photo it costs several times the analysis).
    picture_field = pred.field_at(display_size(*pred.input_hw, display_long_side))
    return draw_jitter(rgb, picture_field, verdict, max_px, display_long_side, evidence=pred.evidence)


def analyze_one(runner: Runner, path: Path, cfg: AnalyzeConfig, stem: str) -> ImageResult:
    """Analyse one photo and write the files of ``cfg.writes``. Image problems raise JitterEdgeError."""
    start = time.perf_counter()
    rgb = read_rgb(path)
    pred = run_prediction(runner, rgb, path, cfg.long_side)
    verdict = pred.verdict(path)
    result = ImageResult(path=str(path), verdict=verdict)
    out = Path(cfg.out_dir)
    for kind in cfg.writes:
        target = out / f"{stem}{WRITE_KINDS[kind]}"
        if kind == "picture":
            write_image_atomic(target, jitter_picture(rgb, pred, verdict, cfg.display_long_side))
        elif kind == "field":
            save_field_npz(target, pred.field_working_px, pred.size.input_scale, pred.input_hw)
        else:
            save_npy_atomic(target, pred.field_input_px)
        result.outputs[kind] = str(target)
    result.seconds = time.perf_counter() - start
    return result


class _Progress:
    """Progress of a multi-photo run on stderr: a tqdm bar, or one line per photo where stderr is not
    a terminal (a log, a pipe: ``--json`` would otherwise print nothing until the end)."""

    def __init__(self, total: int, mode: str) -> None:
        if mode == "auto":
            mode = "bar" if sys.stderr.isatty() else "lines"
        self.mode = mode if total > 1 else "off"
        self.total, self.done, self.started = total, 0, time.perf_counter()
        self.bar = None
        if self.mode == "bar":
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc="analyze", unit="img", file=sys.stderr, leave=False)

    def step(self, path: Path) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.update(1)
        elif self.mode == "lines":
            print(f"analyze: {self.done}/{self.total} {path} ({time.perf_counter() - self.started:.1f} s)",
                  file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def iter_analyze(cfg: AnalyzeConfig, inputs: list[str | os.PathLike]) -> Iterator[ImageResult]:
    """Analyse every image in ``inputs`` (files or folders), yielding one result per image.

    A problem with one image (unreadable, too small, empty folder) becomes a result with ``error``
    set and the batch goes on; a problem with the model raises JitterEdgeError at once.
    """
    cfg.validate()
    if cfg.writes:
        ensure_writable_dir(cfg.out_dir)  # one line now, not one failure per photo
    items = list(expand_inputs(inputs, skip_dir=cfg.out_dir if cfg.writes else None))
    namer = _StemNamer()
    progress = _Progress(len(items), cfg.progress)
    try:
        with open_runner(cfg.model, threads=cfg.threads, device=cfg.device) as runner:
            for path, problem in items:
                if problem:
                    result = ImageResult(path=str(path), error=problem)
                else:
                    try:
                        result = analyze_one(runner, path, cfg, namer(path))
                    except ModelFailure:
                        raise  # the model failed, not the image
                    except JitterEdgeError as exc:
                        result = ImageResult(path=str(path), error=str(exc))
                progress.step(path)
                yield result
    finally:
        progress.close()
