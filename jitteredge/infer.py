"""Open a model by name or path, and run it on one photo.

``open_runner`` (jitteredge.runners, re-exported here) picks the backend from the file suffix (.pt ->
PyTorch, .onnx/.ort -> ONNX Runtime, .engine/.plan -> TensorRT) and returns a runner (a context manager).
``predict_field`` takes a photo of any size to its jitter field: reduce to the working size
(never enlarge), pad, run, crop, map back to input pixels.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass

import numpy as np

from jitteredge.evidence import blur_evidence
from jitteredge.fieldcode import decode_field
from jitteredge.preprocess import DEFAULT_LONG_SIDE, WorkingSize, code_to_input_field, prepare
from jitteredge.runners import DEFAULT_MODEL, MODEL_SUFFIXES, Runner, open_runner  # noqa: F401 (re-exported)
from jitteredge.verdict import Verdict, judge_field

# The verdict is judged at this working long side whatever --long-side asks for: blur grows with the
# working size (a shake of 5 px at 512 is 20 px at 2048), and the network reads blurs longer than
# what it was trained on short, so a verdict judged at the requested size would change with it.
VERDICT_LONG_SIDE = DEFAULT_LONG_SIDE  # the size the shipped model works at
# Where the verdict-size field reads at least this much blur (its own px), it replaces a larger working
# size's shorter reading in the field that is written (the long blurs the finer size cannot see).
_COARSE_TAKES_OVER_PX = (2.0, 4.0)


@dataclass
class Prediction:
    field_working_px: np.ndarray  # float32 (h, w, 2), working size (padding cropped), working pixels
    size: WorkingSize  # how the photo was reduced and padded
    code: np.ndarray  # (PH, PW, 2) network output, padded working size
    input_hw: tuple[int, int]  # the photo's (H, W)
    code_scale_px: float
    working_rgb: np.ndarray  # uint8 (h, w, 3): the photo at working size, as the network saw it
    judged: "Prediction | None" = None  # the same photo at VERDICT_LONG_SIDE, when the working size is larger

    @functools.cached_property
    def evidence(self) -> np.ndarray:
        """bool (h, w): the working pixels with the local contrast to show blur (jitteredge.evidence)."""
        return blur_evidence(self.working_rgb)

    def verdict(self, path: str | os.PathLike = "") -> Verdict:
        """The image-level verdict: the field at VERDICT_LONG_SIDE (or the working size, when that is
        smaller), judged where that photo can show blur; its blur_px is in the photo's pixels."""
        level = self.judged or self
        return judge_field(level.field_working_px, level.size.input_scale, os.fspath(path), evidence=level.evidence)

    @functools.cached_property
    def field_input_px(self) -> np.ndarray:
        """float32 (H, W, 2) field at the photo's size, in input pixels. Made on first use: on a
        large photo it costs far more than the network, and a verdict alone never needs it."""
        return self.field_at(self.input_hw)

    def field_at(self, hw: tuple[int, int]) -> np.ndarray:
        """float32 (h, w, 2) field resampled to ``hw`` (e.g. a picture's size), values in input pixels."""
        fine = code_to_input_field(self.code, self.size, hw, self.code_scale_px)
        if self.judged is None:
            return fine
        coarse = code_to_input_field(self.judged.code, self.judged.size, hw, self.code_scale_px)
        coarse_mag = np.hypot(coarse[..., 0], coarse[..., 1])
        lo, hi = _COARSE_TAKES_OVER_PX
        take = np.clip((coarse_mag / self.judged.size.input_scale - lo) / (hi - lo), 0.0, 1.0)
        take *= coarse_mag > np.hypot(fine[..., 0], fine[..., 1])  # only where it reads a longer blur
        return (fine + take[..., None] * (coarse - fine)).astype(np.float32)


def fit_long_side(height: int, width: int, long_side: int, fixed_hw: tuple[int, int] | None) -> int:
    """Shrink ``long_side`` until the working size fits a static-shape model's input (also what the
    Android demo does: jitteredge.golden.prepare_exact)."""
    if fixed_hw is None:
        return long_side
    scale = min(1.0, fixed_hw[0] / height, fixed_hw[1] / width)
    return max(1, min(long_side, int(max(height, width) * scale)))


def predict_field(runner: Runner, rgb: np.ndarray, long_side: int | None = None) -> Prediction:
    """Run ``runner`` on one photo.

    Args:
        runner: an active runner.
        rgb: uint8 (H, W, 3) RGB photo, any size.
        long_side: working long side in pixels (None: the model's own, runner.working_long_side).
            Photos already smaller are analysed at their own size, never enlarged. Above
            VERDICT_LONG_SIDE the photo is analysed at that size too, for the verdict and for the
            long blurs of the field.
    """
    height, width = rgb.shape[:2]
    long_side = fit_long_side(height, width, int(long_side or runner.working_long_side), runner.fixed_hw)
    pred = _predict_at(runner, rgb, long_side)
    if min(long_side, max(height, width)) > VERDICT_LONG_SIDE:
        pred.judged = _predict_at(runner, rgb, VERDICT_LONG_SIDE)
    return pred


def _predict_at(runner: Runner, rgb: np.ndarray, long_side: int) -> Prediction:
    height, width = rgb.shape[:2]
    x, size, working_rgb = prepare(rgb, long_side)
    if runner.fixed_hw is not None and tuple(x.shape[2:]) != tuple(runner.fixed_hw):
        # Static-shape export: pad on to its size; the padding is cropped off below.
        fh, fw = runner.fixed_hw
        x = np.pad(x, ((0, 0), (0, 0), (0, fh - x.shape[2]), (0, fw - x.shape[3])), mode="symmetric")
    code = runner.predict(x)[0].transpose(1, 2, 0)  # (PH, PW, 2)
    scale = runner.code_scale_px
    working = decode_field(code[: size.height, : size.width], scale)
    return Prediction(field_working_px=working, size=size, code=code, input_hw=(height, width), code_scale_px=scale,
                      working_rgb=working_rgb)
