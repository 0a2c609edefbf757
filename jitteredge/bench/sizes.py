"""Input sizes: the --imgsz spellings ("256", "1280x720", "720p") and the padded shape the
network really sees."""

from __future__ import annotations

import re

from jitteredge.errors import JitterEdgeError
from jitteredge.preprocess import MULTIPLE


SIZE_ALIASES = {"720p": (1280, 720), "1080p": (1920, 1080), "4k": (3840, 2160)}


def parse_size(text: str) -> tuple[int, int]:
    """"256" -> (256, 256); "1280x720" -> (1280, 720); "720p" / "1080p" -> 16:9 sizes. (width, height)."""
    t = str(text).strip().lower()
    if t in SIZE_ALIASES:
        return SIZE_ALIASES[t]
    m = re.fullmatch(r"(\d+)(?:[x*,](\d+))?", t)
    if not m:
        raise JitterEdgeError(f"--imgsz {text!r}: expected 256, WxH (1280x720), 720p or 1080p")
    w = int(m.group(1))
    h = int(m.group(2)) if m.group(2) else w
    if w < MULTIPLE or h < MULTIPLE:
        raise JitterEdgeError(f"--imgsz {text!r}: at least {MULTIPLE} px a side")
    return w, h


def network_hw(width: int, height: int) -> tuple[int, int]:
    """(H, W) the network actually sees: padded up to multiples of 16, as preprocess.prepare does."""
    return -(-height // MULTIPLE) * MULTIPLE, -(-width // MULTIPLE) * MULTIPLE
