"""``deblur(image, field)``: a shaken photo restored with its per-pixel jitter field, tile by tile.

The photo goes to linear light (``tone``), is cut into tiles of ``tile_px`` (each solved with a margin
as long as the longest blur near it plus ``overlap_px``, then cropped: the margin absorbs the tile's
artificial border), and each tile is deconvolved (``solver``). Memory follows the tile, not the photo:
besides the photo, its field and the result, a tile of side T with margin m holds about 13 float32
RGB planes of (T + 2 m)^2 with RL-TV (the solver's buffers, the padded copies and per-thread scatter
buffers, the tile's linear copy and mask; about 55 MB at T = 512, m = 40) and about 20 with the
hyper-Laplacian (CG vectors, IRLS weights). The Numba kernels run on ``numba.get_num_threads()``
threads (all cores by default).

Pixels that did not shake come back bit for bit: those whose blur is not longer than ``shaken_px``
and those in flat areas (no local contrast, ``jitteredge.evidence``), where no blur can be seen and a
field is a guess. Tiles with no shaken pixel are skipped. Restored pixels are kept within the photo's
own range near them (``clamp_to_local_range``, ``DeblurSettings.local_range``), then corrected by the
learned refiner (``refiner``, ``DeblurSettings.refine``), which changes the same pixels only.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Callable

import cv2
import numpy as np

from jitteredge.deblurring import solver, tone
from jitteredge.deblurring.settings import DeblurSettings

REFINED_TILE_UNITS = 2  # a refiner tile takes about as long as two operator applications on a tile (0.09 s
#                         against 0.05 s at 512 px on our 2 cores): what it counts for on the progress bar


@dataclass
class Tile:
    core: tuple[slice, slice]  # where the tile's result goes
    ext: tuple[slice, slice]  # what is solved (core plus margin, inside the photo)


def changed_mask(field: np.ndarray, evidence: np.ndarray, shaken_px: float) -> np.ndarray:
    """bool (H, W): the pixels deblurring may change (blur longer than ``shaken_px`` where the photo shows detail)."""
    length = np.hypot(field[..., 0], field[..., 1])
    return (length > np.float32(shaken_px)) & evidence


def plan_tiles(changed: np.ndarray, field: np.ndarray, tile_px: int, overlap_px: int) -> list[Tile]:
    """Tiles covering the changed pixels; each with a margin of the longest blur around it + overlap."""
    h, w = changed.shape
    length = np.maximum(np.abs(field[..., 0]), np.abs(field[..., 1]))
    tiles = []
    for y0 in range(0, h, tile_px):
        for x0 in range(0, w, tile_px):
            y1, x1 = min(h, y0 + tile_px), min(w, x0 + tile_px)
            if not changed[y0:y1, x0:x1].any():
                continue
            longest = float(length[y0:y1, x0:x1].max())
            near = int(math.ceil(longest)) + overlap_px  # look once more around the core for longer blurs
            longest = float(length[max(0, y0 - near):y1 + near, max(0, x0 - near):x1 + near].max())
            m = int(math.ceil(longest)) + overlap_px
            tiles.append(Tile(core=(slice(y0, y1), slice(x0, x1)),
                              ext=(slice(max(0, y0 - m), min(h, y1 + m)), slice(max(0, x0 - m), min(w, x1 + m)))))
    return tiles


def _check(image: np.ndarray, field: np.ndarray, evidence: np.ndarray | None) -> None:
    if not isinstance(image, np.ndarray) or image.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"image must be a uint8 or uint16 numpy array, got {getattr(image, 'dtype', type(image).__name__)}")
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be (H, W, 3) RGB, got shape {image.shape}")
    if min(image.shape[:2]) < 2:
        raise ValueError(f"image must be at least 2x2 pixels, got {image.shape[1]}x{image.shape[0]}")
    if not isinstance(field, np.ndarray) or field.shape != image.shape[:2] + (2,):
        raise ValueError(f"field must have shape {image.shape[:2] + (2,)} to match the image, got {getattr(field, 'shape', None)}")
    if not np.isfinite(field).all():
        raise ValueError("field contains NaN or infinite values")
    if evidence is not None and (evidence.shape != image.shape[:2] or evidence.dtype != np.bool_):
        raise ValueError(f"evidence must be a bool {image.shape[:2]} mask, got {evidence.dtype} {evidence.shape}")


def deblur(image: np.ndarray, field: np.ndarray, settings: DeblurSettings | None = None,
           evidence: np.ndarray | None = None, progress: Callable[[int], None] | None = None) -> np.ndarray:
    """Restore a shaken photo with its jitter field (non-blind, spatially varying deconvolution).

    Args:
        image: uint8 or uint16 (H, W, 3) RGB photo as stored (tone curve applied).
        field: float (H, W, 2) jitter field (U, V) in the photo's pixels (``jitteredge analyze``'s
            ``<stem>.flow.npy``, or ``Prediction.field_input_px``).
        settings: DeblurSettings (None: the defaults).
        evidence: bool (H, W) mask of the pixels with the detail to show blur; None: computed from the
            photo (``jitteredge.evidence.blur_evidence`` with the settings' radius and threshold).
        progress: called with the units of work just done, for a progress bar whose total is
            ``progress_total``: one per operator application, REFINED_TILE_UNITS per refined tile.

    Returns:
        The restored photo, same shape and dtype. Pixels with blur <= ``settings.shaken_px`` or
        without evidence are the input's, bit for bit.

    Raises:
        ValueError: bad image, field, evidence or settings.
        JitterEdgeError: ``settings.refine`` and the refiner's weights are missing or not a refiner.
    """
    cfg = (settings or DeblurSettings()).validate()
    _check(image, field, evidence)
    field = np.ascontiguousarray(field, dtype=np.float32)
    if evidence is None:
        from jitteredge.evidence import blur_evidence

        rgb8 = image if image.dtype == np.uint8 else (image >> 8).astype(np.uint8)
        evidence = blur_evidence(rgb8, cfg.evidence_radius_px, cfg.evidence_min_std)
    changed = changed_mask(field, evidence, cfg.shaken_px)
    out = image.copy()
    if cfg.iterations == 0:
        return out
    step = (lambda: progress(1)) if progress is not None else None
    white = tone.white_level(image.dtype)
    for tile in plan_tiles(changed, field, cfg.tile_px, cfg.overlap_px):
        stored = image[tile.ext]
        y = tone.to_linear(stored, cfg.gamma)
        clipped = stored.max(axis=2, keepdims=True) >= cfg.clip_level * white
        mask = np.repeat((~clipped).astype(np.float32), 3, axis=2)
        f = np.ascontiguousarray(field[tile.ext])
        if cfg.method == "hyper-laplacian":
            x = solver.hyper_laplacian(y, f, mask, cfg.iterations, cfg.prior_weight / cfg.strength,
                                       cfg.prior_power, cfg.reweight_every, step)
        else:
            x = solver.rl_tv(y, f, mask, cfg.iterations, cfg.tv_weight / cfg.strength, step)
        oy, ox = tile.core[0].start - tile.ext[0].start, tile.core[1].start - tile.ext[1].start
        ch, cw = tile.core[0].stop - tile.core[0].start, tile.core[1].stop - tile.core[1].start
        restored = tone.to_stored(x[oy:oy + ch, ox:ox + cw], cfg.gamma, image.dtype)
        if cfg.local_range:
            restored = clamp_to_local_range(restored, stored, f, (oy, ox))
        keep = ~changed[tile.core]
        restored[keep] = image[tile.core][keep]
        out[tile.core] = restored
    if cfg.refine:
        from jitteredge.deblurring.refiner import load_refiner, refine

        tiles_done = (lambda n: progress(REFINED_TILE_UNITS * n)) if progress is not None else None
        out = refine(image, out, field, changed, net=load_refiner(cfg.refiner or None), tile_px=cfg.tile_px,
                     progress=tiles_done)
    return out


def clamp_to_local_range(restored: np.ndarray, stored: np.ndarray, field: np.ndarray,
                         offset: tuple[int, int]) -> np.ndarray:
    """``restored`` (a tile's core) clamped per channel to the min and max of the observed ``stored``
    (the tile with its margin, core at ``offset``) within a square of half the tile's longest blur.

    A blurred pixel is a mean of the sharp ones along its segment, so a sharp edge lies within the
    range its blur spread over; a restored value far past every observed value near it is the
    overshoot a kernel shorter or turned from the real blur leaves (dark halos, ringing).
    """
    radius = int(math.ceil(0.5 * float(np.hypot(field[..., 0], field[..., 1]).max())))
    if radius == 0:
        return restored
    square = cv2.getStructuringElement(cv2.MORPH_RECT, (2 * radius + 1, 2 * radius + 1))
    low = cv2.erode(stored, square, borderType=cv2.BORDER_REPLICATE)
    high = cv2.dilate(stored, square, borderType=cv2.BORDER_REPLICATE)
    oy, ox = offset
    h, w = restored.shape[:2]
    return np.clip(restored, low[oy:oy + h, ox:ox + w], high[oy:oy + h, ox:ox + w])


def _tile_count(field: np.ndarray, evidence: np.ndarray, settings: DeblurSettings) -> int:
    """Tiles holding a changed pixel: those deconvolved, and those the refiner runs on."""
    changed = changed_mask(field, evidence, settings.shaken_px)
    return len(plan_tiles(changed, field, settings.tile_px, settings.overlap_px))


def operator_count(image_hw: tuple[int, int], field: np.ndarray, evidence: np.ndarray,
                   settings: DeblurSettings) -> int:
    """How many operator applications ``deblur`` makes."""
    return _tile_count(field, evidence, settings) * settings.iterations


def progress_total(image_hw: tuple[int, int], field: np.ndarray, evidence: np.ndarray,
                   settings: DeblurSettings) -> int:
    """The total of the units ``deblur`` reports through ``progress`` (the bar's total): the operator
    applications, and REFINED_TILE_UNITS per refined tile."""
    if settings.iterations == 0:
        return 0
    per_tile = settings.iterations + (REFINED_TILE_UNITS if settings.refine else 0)
    return _tile_count(field, evidence, settings) * per_tile


def predicted_inputs(pred, photo_hw: tuple[int, int], settings: DeblurSettings):
    """What ``deblur`` is given for a model's prediction (``infer.Prediction``): (field in the photo's
    pixels, the verdict's flat-area mask at the photo's size, ``settings`` with the shaken threshold
    of SHAKEN_PX working pixels said in the photo's pixels)."""
    from jitteredge.verdict import SHAKEN_PX

    scaled = dataclasses.replace(settings, shaken_px=SHAKEN_PX * float(pred.size.input_scale))
    return pred.field_input_px, resize_mask(pred.evidence, photo_hw), scaled


def resize_mask(mask: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """A bool mask (e.g. the working-resolution evidence) at another size, nearest neighbour."""
    if mask.shape == tuple(hw):
        return mask
    return cv2.resize(mask.astype(np.uint8), (hw[1], hw[0]), interpolation=cv2.INTER_NEAREST).astype(bool)
