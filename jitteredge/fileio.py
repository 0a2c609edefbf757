"""Reading photos and writing files so that nothing is ever left half-written."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from jitteredge.errors import JitterEdgeError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm", ".jp2", ".exr", ".hdr"}
MIN_SIDE_PX = 16  # smaller photos hold too little texture to judge blur


def read_rgb(path: str | os.PathLike, min_side: int = MIN_SIDE_PX) -> np.ndarray:
    """Read any image OpenCV can decode as uint8 (H, W, 3) RGB.

    16-bit images are scaled to 8 bits, gray is repeated to three channels, alpha is dropped.
    Raises JitterEdgeError naming the file for a missing, unreadable, truncated or too small image.
    """
    p = Path(path)
    if not p.exists():
        raise JitterEdgeError(f"{p}: no such file")
    if p.is_dir():
        raise JitterEdgeError(f"{p}: is a folder, not an image")
    try:
        data = np.fromfile(str(p), dtype=np.uint8)  # np.fromfile + imdecode copes with any path encoding
    except OSError as exc:
        raise JitterEdgeError(f"{p}: cannot read it ({exc.strerror or type(exc).__name__})") from None
    img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if img is None:
        raise JitterEdgeError(f"{p}: not an image OpenCV can decode (corrupt, truncated or unsupported)")
    if img.dtype == np.uint16:
        img = (img.astype(np.float32) * (255.0 / 65535.0) + 0.5).astype(np.uint8)
    elif img.dtype in (np.float32, np.float64):
        img = (np.clip(img, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    elif img.dtype != np.uint8:
        raise JitterEdgeError(f"{p}: unsupported pixel type {img.dtype}")
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
    elif img.shape[2] == 4:
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2RGB)
    elif img.shape[2] == 3:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    else:
        raise JitterEdgeError(f"{p}: unsupported channel count {img.shape[2]}")
    if min(img.shape[:2]) < min_side:
        raise JitterEdgeError(f"{p}: {img.shape[1]}x{img.shape[0]} px is too small (need at least {min_side} px a side)")
    return img


def list_images(folder: str | os.PathLike) -> list[Path]:
    """Every file below ``folder`` (recursively, through symlinked folders too) with an image suffix, sorted."""
    root = Path(folder)
    if not root.exists():
        raise JitterEdgeError(f"{root}: no such folder")
    if not root.is_dir():
        raise JitterEdgeError(f"{root}: not a folder")
    # os.walk, not rglob: a folder of links to photo folders (one source made of several) must work
    found, seen = [], set()
    for parent, dirs, files in os.walk(root, followlinks=True):
        real = os.path.realpath(parent)
        if real in seen:  # a link back up the tree: walk each real folder once
            dirs.clear()
            continue
        seen.add(real)
        found.extend(Path(parent) / f for f in files if Path(f).suffix.lower() in IMAGE_SUFFIXES)
    return sorted(p for p in found if p.is_file())


def ensure_writable_dir(folder: str | os.PathLike) -> Path:
    """Create ``folder`` if needed and prove it takes a file, before any long work starts.

    Raises:
        JitterEdgeError: it is a file, or it cannot be created or written to.
    """
    out = Path(folder)
    if out.exists() and not out.is_dir():
        raise JitterEdgeError(f"{out}: exists and is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".jitteredge-write-test-"):
            pass
    except OSError as exc:
        raise JitterEdgeError(f"{out}: cannot write here ({exc.strerror or exc})") from None
    return out


_UMASK = os.umask(0)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds."""
    final = Path(path)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp" + final.suffix, dir=final.parent)
    except OSError as exc:
        raise JitterEdgeError(f"{final.parent}: cannot write here ({exc.strerror})") from None
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the file the permissions open() would
    try:
        yield tmp_path
        os.replace(tmp_path, final)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_image_atomic(path: str | os.PathLike, rgb: np.ndarray, params: list[int] | None = None) -> None:
    """Write uint8 RGB (or gray) with OpenCV, atomically; the format follows the suffix."""
    final = Path(path)
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR) if rgb.ndim == 3 else rgb
    ok, buf = cv2.imencode(final.suffix, bgr, params or [])
    if not ok:
        raise JitterEdgeError(f"{final}: OpenCV cannot encode this format")
    write_bytes_atomic(final, buf.tobytes())


def save_npy_atomic(path: str | os.PathLike, array: np.ndarray) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.save(f, array)
