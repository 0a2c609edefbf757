"""The fixed validation set and accuracy: synthesise it, save/load the folder that
benchmarks/ondevice.py also reads, and score a predict function on it (endpoint error and the
share of photos judged shaken per group)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from jitteredge.bench.reasons import first_line
from jitteredge.errors import JitterEdgeError
from jitteredge.evidence import EVIDENCE_MIN_STD, EVIDENCE_RADIUS, blur_evidence
from jitteredge.fieldcode import CODE_SCALE_PX, decode_field
from jitteredge.preprocess import MEAN, MULTIPLE, STD
from jitteredge.verdict import AREA_QUANTILE, SHAKEN_PX


VALSET_FORMAT = "jitteredge-valset"
VALSET_GROUPS = ("strong", "mild", "sharp", "defocus")


@dataclass
class ValSet:
    """The fixed synthetic validation set, as network inputs and true fields.

    inputs: float32 (N, 3, S, S) normalised like preprocess.normalize; fields: float32 (N, S, S, 2)
    true fields in pixels; groups: N names ("strong", "mild", "sharp", "defocus").
    """

    inputs: np.ndarray
    fields: np.ndarray
    groups: list[str]
    code_scale_px: float = CODE_SCALE_PX
    meta: dict = field(default_factory=dict)


def group_counts(n: int, groups=VALSET_GROUPS) -> dict[str, int]:
    """``n`` photos split over ``groups`` as evenly as possible (the first groups take the remainder)."""
    return {g: n // len(groups) + (k < n % len(groups)) for k, g in enumerate(groups)}


def make_valset(n: int = 32, size_px: int = 128, source: str = "procedural", seed: int = 1234) -> ValSet:
    """Synthesise the validation set: ``n`` photos split over VALSET_GROUPS, each group made by
    jitteredge.validation.synthetic.make_group_set (the groups train and eval validate on).

    Raises:
        JitterEdgeError: the synthesis modules are not installed or refuse the settings.
    """
    from jitteredge.preprocess import normalize

    if size_px < MULTIPLE or size_px % MULTIPLE:
        raise JitterEdgeError(f"validation size {size_px} px: must be a multiple of {MULTIPLE}")
    if n < 1:
        raise JitterEdgeError(f"validation photos {n}: need at least 1")
    try:
        from jitteredge.validation.synthetic import make_group_set, open_validation_source

        src, name = open_validation_source(source, "val", seed)
        samples, groups = [], []
        for group, count in group_counts(n).items():
            if count:
                samples += make_group_set(src, group, count, seed, size_px)
                groups += [group] * count
    except JitterEdgeError:
        raise
    except ImportError as exc:  # a synthesis stage not installed yet (e.g. the blur kernel)
        raise JitterEdgeError(f"validation set: synthesis is not available ({first_line(exc)})") from None
    inputs = np.concatenate([normalize(s.image) for s in samples]).astype(np.float32)
    fields_px = np.stack([np.asarray(s.field, dtype=np.float32) for s in samples])
    return ValSet(inputs, fields_px, groups, CODE_SCALE_PX,
                  {"source": name, "seed": seed, "n": len(samples), "size_px": size_px,
                   "kinds": [str(s.kind) for s in samples]})


def save_valset(valset: ValSet, folder: str | os.PathLike) -> Path:
    """Write inputs.npy, fields.npy and valset.json (groups, code scale, verdict thresholds).

    benchmarks/ondevice.py reads this folder with numpy alone.
    """
    from jitteredge.fileio import save_npy_atomic, write_bytes_atomic

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    save_npy_atomic(out / "inputs.npy", np.ascontiguousarray(valset.inputs, dtype=np.float32))
    save_npy_atomic(out / "fields.npy", np.ascontiguousarray(valset.fields, dtype=np.float32))
    meta = {
        "format": VALSET_FORMAT, "version": 1,
        "n": int(valset.inputs.shape[0]), "size_px": [int(valset.inputs.shape[2]), int(valset.inputs.shape[3])],
        "groups": list(valset.groups),
        "code_scale_px": float(valset.code_scale_px),
        "shaken_px": SHAKEN_PX, "area_quantile": AREA_QUANTILE,
        "evidence_radius": EVIDENCE_RADIUS, "evidence_min_std": EVIDENCE_MIN_STD,
        "input": {"mean": MEAN, "std": STD, "layout": "NCHW", "color": "RGB"},
        "fields": "float32 (N, H, W, 2): (U, V) in pixels, U along columns",
        **{k: v for k, v in valset.meta.items() if k not in ("n", "size_px")},
    }
    write_bytes_atomic(out / "valset.json", (json.dumps(meta, indent=2) + "\n").encode())
    return out


def load_valset(folder: str | os.PathLike) -> ValSet:
    """Read a folder written by save_valset. Raises JitterEdgeError naming what is wrong."""
    root = Path(folder)
    meta_path = root / "valset.json"
    if not meta_path.is_file():
        raise JitterEdgeError(f"{root}: not a validation set (no valset.json; write one with --export-valset)")
    try:
        meta = json.loads(meta_path.read_text())
        inputs = np.load(root / "inputs.npy").astype(np.float32, copy=False)
        fields_px = np.load(root / "fields.npy").astype(np.float32, copy=False)
    except (OSError, ValueError) as exc:
        raise JitterEdgeError(f"{root}: damaged validation set ({exc})") from None
    if meta.get("format") != VALSET_FORMAT:
        raise JitterEdgeError(f"{meta_path}: format {meta.get('format')!r}, expected {VALSET_FORMAT!r}")
    n = inputs.shape[0]
    groups = list(meta.get("groups") or [])
    if inputs.ndim != 4 or inputs.shape[1] != 3 or fields_px.shape != (n, inputs.shape[2], inputs.shape[3], 2) \
            or len(groups) != n:
        raise JitterEdgeError(f"{root}: inputs {inputs.shape}, fields {fields_px.shape} and {len(groups)} groups "
                              "do not agree (expected (N,3,H,W), (N,H,W,2), N)")
    return ValSet(inputs, fields_px, groups, float(meta.get("code_scale_px", CODE_SCALE_PX)), meta)


def input_to_rgb(inputs: np.ndarray) -> np.ndarray:
    """Network inputs (N, 3, H, W) back to the uint8 (N, H, W, 3) photos they were made from
    (normalisation undone and rounded: exact for inputs made from uint8 photos)."""
    rgb = np.rint((inputs.astype(np.float64) * STD + MEAN) * 255.0)
    return np.clip(rgb, 0, 255).astype(np.uint8).transpose(0, 2, 3, 1)


def accuracy(predict: Callable[[np.ndarray], np.ndarray], valset: ValSet, batch: int = 8) -> dict:
    """Endpoint error and shaken shares of ``predict`` on ``valset``.

    Args:
        predict: float32 (N, 3, H, W) -> float32 (N, 2, H, W) code (a runner's predict).
        valset: the validation set.
        batch: photos per call.

    Returns:
        dict with epe_px (mean over photos of the per-photo mean EPE, working px), epe_by_group,
        shaken_by_group (share judged shaken by jitteredge.verdict), shaken_defocus, shaken_sharp, val_n.
    """
    from jitteredge.validation.synthetic import GroupScore

    n = valset.inputs.shape[0]
    photos = input_to_rgb(valset.inputs)
    epe = np.empty(n)
    shaken = np.empty(n, dtype=bool)
    for start in range(0, n, batch):
        code = predict(valset.inputs[start:start + batch])
        for k in range(code.shape[0]):
            i = start + k
            score = GroupScore()  # the validation scorer, one photo at a time (summarise_accuracy groups them)
            score.add(decode_field(code[k].transpose(1, 2, 0), valset.code_scale_px), valset.fields[i],
                      blur_evidence(photos[i]))
            epe[i], shaken[i] = score.epe, bool(score.img_shaken)
    return summarise_accuracy(epe, shaken, valset.groups)


def summarise_accuracy(epe: np.ndarray, shaken: np.ndarray, groups: list[str]) -> dict:
    """Per-photo EPE and shaken flags -> the accuracy fields of a row (shared with ondevice.py)."""
    names = sorted(set(groups), key=lambda g: (VALSET_GROUPS.index(g) if g in VALSET_GROUPS else 99, g))
    g = np.asarray(groups)
    by_epe = {name: round(float(epe[g == name].mean()), 4) for name in names}
    by_shaken = {name: round(float(shaken[g == name].mean()), 4) for name in names}
    return {"epe_px": round(float(epe.mean()), 4), "epe_by_group": by_epe, "shaken_by_group": by_shaken,
            "shaken_defocus": by_shaken.get("defocus"), "shaken_sharp": by_shaken.get("sharp"),
            "val_n": int(epe.size)}
