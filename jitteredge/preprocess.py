"""Photo -> network input, and network output -> field in input pixels.

Network input: float32 (1, 3, H, W), RGB, (x / 255 - MEAN) / STD. Working size: the photo is reduced
(never enlarged: enlarging softens a photo and reads as shake) so its long side is at most
``long_side``, then reflect-padded to a multiple of ``MULTIPLE`` for the encoder's pooling.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from jitteredge.fieldcode import CODE_SCALE_PX, decode_field

MEAN = 0.5
STD = 0.25
MULTIPLE = 16  # the encoder pools four times
DEFAULT_LONG_SIDE = 512


@dataclass(frozen=True)
class WorkingSize:
    height: int  # reduced image, before padding
    width: int
    padded_height: int
    padded_width: int
    input_scale: float  # input pixels per working pixel


def plan_working_size(height: int, width: int, long_side: int = DEFAULT_LONG_SIDE) -> WorkingSize:
    scale = min(1.0, long_side / max(height, width))
    h = max(1, round(height * scale))
    w = max(1, round(width * scale))
    ph = -(-h // MULTIPLE) * MULTIPLE
    pw = -(-w // MULTIPLE) * MULTIPLE
    return WorkingSize(h, w, ph, pw, input_scale=max(height / h, width / w))


def normalize(rgb: np.ndarray) -> np.ndarray:
    """uint8 (H, W, 3) RGB -> float32 (1, 3, H, W) network input."""
    x = rgb.astype(np.float32) * (1.0 / 255.0)
    x = (x - MEAN) / STD
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None])


def prepare(rgb: np.ndarray, long_side: int = DEFAULT_LONG_SIDE) -> tuple[np.ndarray, WorkingSize, np.ndarray]:
    """uint8 (H, W, 3) RGB photo -> (network input (1, 3, PH, PW), its WorkingSize, the reduced
    uint8 (h, w, 3) photo before padding: what the verdict's evidence mask is taken from)."""
    size = plan_working_size(rgb.shape[0], rgb.shape[1], long_side)
    if (size.height, size.width) != rgb.shape[:2]:
        rgb = cv2.resize(rgb, (size.width, size.height), interpolation=cv2.INTER_AREA)
    working = rgb
    pad_h, pad_w = size.padded_height - size.height, size.padded_width - size.width
    if pad_h or pad_w:
        rgb = np.pad(rgb, ((0, pad_h), (0, pad_w), (0, 0)), mode="symmetric")
    return normalize(rgb), size, working


def code_to_input_field(code: np.ndarray, size: WorkingSize, input_hw: tuple[int, int],
                        code_scale_px: float = CODE_SCALE_PX) -> np.ndarray:
    """Network output (PH, PW, 2) code -> float32 (H, W, 2) field in input-photo pixels.

    The code, not the field, is cropped and resized: it is continuous where the field's U >= 0
    representative flips sign, so interpolating it never averages M with -M.
    """
    code = np.ascontiguousarray(code[: size.height, : size.width], dtype=np.float32)
    if (size.height, size.width) != tuple(input_hw):
        code = cv2.resize(code, (input_hw[1], input_hw[0]), interpolation=cv2.INTER_LINEAR)
    return decode_field(code, code_scale_px) * np.float32(size.input_scale)
