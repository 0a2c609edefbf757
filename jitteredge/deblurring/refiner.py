"""The learned last step of ``deblur``: a small network (``refiner_net``) corrects the deconvolved photo.

It runs on tiles of the changed pixels' neighbourhood with a margin wider than its receptive field, so
tiles join without seams, and it replaces the changed pixels only: what deconvolution left alone (the
pixels that did not shake, flat areas) stays the photo's, bit for bit. The shipped weights
(``jitteredge/weights/deblur_refiner.pt``, card in ``deblur_refiner.json``) were trained on synthetic
samples from BSDS500 train/ and the extra training photos, deconvolved with their true field and with
the shipped model's predicted field (``python -m jitteredge.deblurring.refiner_training``).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Callable

import numpy as np

from jitteredge.errors import JitterEdgeError

FORMAT = "jitteredge-deblur-refiner"


def default_weights() -> Path:
    from jitteredge.weights import WEIGHTS_DIR

    return WEIGHTS_DIR / "deblur_refiner.pt"


def save_refiner(net, path: str | os.PathLike, meta: dict | None = None) -> None:
    """Write ``net`` where ``load_refiner`` reads it, atomically."""
    import io

    import torch

    from jitteredge.fileio import write_bytes_atomic

    buf = io.BytesIO()
    torch.save({"format": FORMAT, "version": 1, "config": net.cfg.to_dict(),
                "state": {k: v.detach().cpu() for k, v in net.state_dict().items()}, "meta": meta or {}}, buf)
    write_bytes_atomic(path, buf.getvalue())


@functools.lru_cache(maxsize=4)
def load_refiner(path: str | os.PathLike | None = None):
    """The refiner network from ``path`` (None: the shipped weights), in eval mode.

    Raises:
        JitterEdgeError: a missing file, or one that is not a refiner saved by ``save_refiner``.
    """
    import torch

    from jitteredge.deblurring.refiner_net import RefinerConfig, RefinerNet

    p = Path(path) if path is not None else default_weights()
    if not p.is_file():
        raise JitterEdgeError(f"{p}: deblur refiner weights not found")
    try:
        payload = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a file that is not a checkpoint
        raise JitterEdgeError(f"{p}: not a deblur refiner file ({type(exc).__name__})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise JitterEdgeError(f"{p}: not a deblur refiner file (no {FORMAT!r} format tag)")
    try:
        net = RefinerNet(RefinerConfig(widths=tuple(payload["config"]["widths"])))
        net.load_state_dict(payload["state"])
    except (KeyError, TypeError, RuntimeError) as exc:
        raise JitterEdgeError(f"{p}: deblur refiner weights do not fit the network ({type(exc).__name__})") from None
    return net.eval().to(memory_format=torch.channels_last)


@functools.lru_cache(maxsize=1)
def native_bf16() -> bool:
    """Does this CPU compute in bf16 natively (AVX-512 BF16, AMX)? There bf16 runs the refiner twice
    as fast as float32 (0.20 against 0.41 s for a 608 px tile on our 2 cores, both busy with other
    work too), changing its output by a level or so; elsewhere bf16 is emulated and slower, so float32."""
    import torch

    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def margin_px(cfg) -> int:
    """The margin each tile is run with: the network's receptive radius rounded up to 8 px, so that
    tiles join without seams (27 -> 32 px for the shipped three-level network)."""
    return 8 * ((cfg.receptive_radius_px + 8) // 8)


def _padded(a: np.ndarray, multiple: int) -> np.ndarray:
    """``a`` (H, W, C) reflect-padded at the bottom and right to multiples of ``multiple``."""
    h, w = a.shape[:2]
    ph, pw = -h % multiple, -w % multiple
    if ph == 0 and pw == 0:
        return a
    mode = "reflect" if min(h, w) > max(ph, pw) else "edge"
    return np.pad(a, ((0, ph), (0, pw), (0, 0)), mode=mode)


def refine(photo: np.ndarray, deconvolved: np.ndarray, field: np.ndarray, changed: np.ndarray,
           net=None, tile_px: int = 512, progress: Callable[[int], None] | None = None) -> np.ndarray:
    """The deconvolved photo with its changed pixels corrected by the refiner.

    Args:
        photo: uint8 or uint16 (H, W, 3) photo as taken.
        deconvolved: the same photo deconvolved (``deblur`` before this step), same shape and dtype.
        field: float (H, W, 2) field used, in the photo's pixels.
        changed: bool (H, W) pixels deconvolution may change; only these are replaced.
        net: a RefinerNet (None: the shipped one).
        tile_px: side of the tiles run one at a time (memory follows the tile).
        progress: called with 1 after each tile (the tiles holding a changed pixel).

    Returns:
        A new array like ``deconvolved``; outside ``changed`` it equals ``photo``.

    Raises:
        ValueError: arrays whose shapes or types do not go together.
    """
    import torch

    if photo.dtype not in (np.uint8, np.uint16) or deconvolved.dtype != photo.dtype or photo.ndim != 3 \
            or deconvolved.shape != photo.shape or field.shape != photo.shape[:2] + (2,) or changed.shape != photo.shape[:2]:
        raise ValueError(f"refine needs a uint8 or uint16 photo and its deconvolution of one shape, an (H, W, 2) field "
                         f"and an (H, W) mask; got {photo.dtype} {photo.shape}, {deconvolved.dtype} {deconvolved.shape}, "
                         f"{field.shape}, {changed.shape}")

    from jitteredge.deblurring.refiner_net import make_input

    net = net if net is not None else load_refiner()
    bf16 = native_bf16()
    margin = margin_px(net.cfg)
    white = float(np.iinfo(photo.dtype).max)
    out = deconvolved.copy()
    h, w = changed.shape
    for y0 in range(0, h, tile_px):
        for x0 in range(0, w, tile_px):
            y1, x1 = min(h, y0 + tile_px), min(w, x0 + tile_px)
            core_changed = changed[y0:y1, x0:x1]
            if not core_changed.any():
                continue
            ey0, ex0 = max(0, y0 - margin), max(0, x0 - margin)
            ey1, ex1 = min(h, y1 + margin), min(w, x1 + margin)
            ext = (slice(ey0, ey1), slice(ex0, ex1))
            planes = np.concatenate([deconvolved[ext].astype(np.float32) / white, photo[ext].astype(np.float32) / white,
                                     field[ext].astype(np.float32), changed[ext][..., None].astype(np.float32)], axis=2)
            t = torch.from_numpy(np.ascontiguousarray(_padded(planes, net.cfg.multiple))).permute(2, 0, 1)[None]
            x = make_input(t[:, 0:3], t[:, 3:6], t[:, 6:8], t[:, 8:9]).contiguous(memory_format=torch.channels_last)
            with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                y = net(x).float()
            y = y[0].permute(1, 2, 0).numpy()[y0 - ey0:y1 - ey0, x0 - ex0:x1 - ex0]
            core = np.clip(np.rint(y * white), 0, white).astype(photo.dtype)
            tile = out[y0:y1, x0:x1]
            tile[core_changed] = core[core_changed]
            if progress is not None:
                progress(1)
    return out
