"""Photos in and out of ``jitteredge deblur``: reading with the bit depth kept, the restored photo,
its settings beside it, and the before | after | field picture. Every file is written atomically."""

from __future__ import annotations

import json
import os
from pathlib import Path

import cv2
import numpy as np

from jitteredge.errors import JitterEdgeError
from jitteredge.fileio import MIN_SIDE_PX, read_rgb, write_bytes_atomic, write_image_atomic

PICTURE_PANEL_LONG_SIDE = 800  # px: long side of each of the picture's three panels at most


def read_photo(path: str | os.PathLike) -> np.ndarray:
    """uint8 or uint16 (H, W, 3) RGB: 16-bit PNG / TIFF keep their 16 bits, everything else as ``read_rgb``.

    Raises:
        JitterEdgeError: missing, unreadable or too small image (one line naming the file).
    """
    img = read_rgb(path)  # every check and message of the other verbs
    data = np.fromfile(str(path), dtype=np.uint8)
    raw = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if raw is None or raw.dtype != np.uint16:
        return img
    if raw.ndim == 2:
        return cv2.cvtColor(raw, cv2.COLOR_GRAY2RGB)
    return cv2.cvtColor(raw, cv2.COLOR_BGRA2RGB if raw.shape[2] == 4 else cv2.COLOR_BGR2RGB)


def read_field(path: str | os.PathLike, hw: tuple[int, int]) -> np.ndarray:
    """A (H, W, 2) field in the photo's pixels from a ``.npy`` file (``jitteredge analyze``'s ``<stem>.flow.npy``).

    Raises:
        JitterEdgeError: missing or unreadable file, wrong shape, non-finite values.
    """
    p = Path(path)
    try:
        field = np.load(p, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise JitterEdgeError(f"{p}: cannot read a field from it ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None
    if field.shape != (hw[0], hw[1], 2) or not np.issubdtype(field.dtype, np.floating):
        raise JitterEdgeError(f"{p}: field of shape {field.shape} ({field.dtype}); the photo needs a float "
                              f"({hw[0]}, {hw[1]}, 2) field in its pixels")
    if not np.isfinite(field).all():
        raise JitterEdgeError(f"{p}: field holds NaN or infinite values")
    return np.ascontiguousarray(field, dtype=np.float32)


def write_restored(path: str | os.PathLike, image: np.ndarray) -> None:
    """The restored photo as PNG, 8 or 16 bits as ``image``."""
    write_image_atomic(path, image)


def write_metadata(path: str | os.PathLike, metadata: dict) -> None:
    write_bytes_atomic(path, (json.dumps(metadata, indent=2) + "\n").encode())


def _panel(image: np.ndarray, long_side: int) -> np.ndarray:
    img = image if image.dtype == np.uint8 else (image >> 8).astype(np.uint8)
    h, w = img.shape[:2]
    scale = min(1.0, long_side / max(h, w))
    if scale < 1.0:
        img = cv2.resize(img, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    return img


def _label(image: np.ndarray, text: str, height: int = 22) -> np.ndarray:
    strip = np.full((height, image.shape[1], 3), 255, np.uint8)
    cv2.putText(strip, text, (4, height - 7), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    return np.concatenate([strip, image], axis=0)


def comparison_picture(before: np.ndarray, after: np.ndarray, field: np.ndarray, changed: np.ndarray,
                       max_px: float, long_side: int = PICTURE_PANEL_LONG_SIDE) -> np.ndarray:
    """uint8 RGB picture: before | after | field (hue: orientation, brightness: length up to ``max_px``;
    pixels left unchanged greyed), each panel reduced to ``long_side`` at most."""
    from jitteredge.colorize import field_to_rgb

    b, a = _panel(before, long_side), _panel(after, long_side)
    h, w = b.shape[:2]
    small = cv2.resize(field, (w, h), interpolation=cv2.INTER_AREA)
    colours = field_to_rgb(small, max_px)
    kept = cv2.resize(changed.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST) == 0
    colours[kept] = (colours[kept] // 4 + 96).astype(np.uint8)
    gap = np.full((h + 22, 6, 3), 255, np.uint8)
    return np.concatenate([_label(b, "before"), gap, _label(a, "after (deblurred)"), gap,
                           _label(colours, f"field (full colour: {max_px:.0f} px; grey: unchanged)")], axis=1)


def write_picture(path: str | os.PathLike, picture: np.ndarray) -> None:
    write_image_atomic(path, picture)


__all__ = ["MIN_SIDE_PX", "comparison_picture", "read_field", "read_photo", "write_metadata", "write_picture",
           "write_restored"]
