"""``jitteredge deblur``'s batch: for each photo, its field (predicted, or given), the restoration,
and the files. A bad photo costs one line and the batch goes on; the exit status says if any failed."""

from __future__ import annotations

import contextlib
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from jitteredge.deblurring import files
from jitteredge.deblurring.restore import changed_mask, deblur, predicted_inputs, progress_total
from jitteredge.deblurring.settings import DeblurSettings
from jitteredge.errors import JitterEdgeError, first_line

COLOUR_FULL_PX = 10.0  # working-resolution blur drawn at full colour in the picture (as analyze)


@dataclass
class DeblurJob:
    model: str = "default"  # registry name or model file (ignored with field_path)
    field_path: str | None = None  # a given field (.npy, photo pixels) for a single photo
    long_side: int | None = None  # working long side for the model (None: the model's)
    method: str = DeblurSettings.method
    iterations: int = DeblurSettings.iterations
    strength: float = DeblurSettings.strength
    gamma: float = DeblurSettings.gamma
    tile_px: int = DeblurSettings.tile_px
    refine: bool = DeblurSettings.refine
    refiner: str = DeblurSettings.refiner  # weights file ("": the shipped refiner)
    out_dir: str = "jitteredge_out"
    progress: bool = True

    def settings(self) -> DeblurSettings:
        return DeblurSettings(method=self.method, iterations=self.iterations, strength=self.strength,
                              gamma=self.gamma, tile_px=self.tile_px, refine=self.refine,
                              refiner=self.refiner)


def _inputs(items: list[str]) -> list[tuple[Path, str | None]]:
    from jitteredge.fileio import list_images

    out: list[tuple[Path, str | None]] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            images = [i for i in list_images(p) if not i.name.endswith((".deblurred.png", ".deblur.png"))]
            out.extend((i, None) for i in images)
            if not images:
                out.append((p, f"{p}: folder holds no images"))
        else:
            out.append((p, None))
    return out


def _stem(path: Path, used: set[str]) -> str:
    stem, k = path.stem, 1
    while stem in used:
        k += 1
        stem = f"{path.stem}-{k}"
    used.add(stem)
    return stem


def deblur_one(path: Path, job: DeblurJob, runner, stem: str) -> str:
    """Restore one photo and write its files; returns the line to print. Image problems raise JitterEdgeError."""
    from jitteredge.evidence import blur_evidence

    start = time.perf_counter()
    image = files.read_photo(path)
    rgb8 = image if image.dtype == np.uint8 else (image >> 8).astype(np.uint8)
    settings = job.settings()
    scale = 1.0
    if job.field_path:
        field = files.read_field(job.field_path, image.shape[:2])
        evidence = blur_evidence(rgb8, settings.evidence_radius_px, settings.evidence_min_std)
        source = {"field": str(job.field_path)}
    else:
        from jitteredge.analyze import run_prediction

        pred = run_prediction(runner, rgb8, path, job.long_side)
        scale = float(pred.size.input_scale)
        field, evidence, settings = predicted_inputs(pred, image.shape[:2], settings)
        source = {"model": str(runner.path) if hasattr(runner, "path") else job.model, "working_scale": scale}
    total = progress_total(image.shape[:2], field, evidence, settings)
    bar = _bar(total, path.name, job.progress)
    try:
        restored = deblur(image, field, settings, evidence=evidence, progress=bar.update if bar else None)
    except ValueError as exc:
        raise JitterEdgeError(f"{path}: {first_line(exc)}") from None
    finally:
        if bar:
            bar.close()
    changed = changed_mask(field, evidence, settings.shaken_px)
    out = Path(job.out_dir)
    restored_path, picture_path, meta_path = (out / f"{stem}.deblurred.png", out / f"{stem}.deblur.png",
                                              out / f"{stem}.deblur.json")
    files.write_restored(restored_path, restored)
    files.write_picture(picture_path, files.comparison_picture(image, restored, field, changed, COLOUR_FULL_PX * scale))
    seconds = time.perf_counter() - start
    share = float(changed.mean())
    files.write_metadata(meta_path, {"image": str(path), "restored": str(restored_path), "settings": settings.to_dict(),
                                     **source, "changed_fraction": round(share, 4), "seconds": round(seconds, 2),
                                     "bits": 16 if image.dtype == np.uint16 else 8})
    what = f"{100 * share:.1f}% of the pixels restored" if share > 0 else "nothing shaken: unchanged"
    return f"{path}: {what} in {seconds:.1f} s -> {restored_path}, {picture_path}"


def _bar(total: int, name: str, enabled: bool):
    if not enabled or total == 0:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=f"deblur {name}", unit="step", leave=False, disable=None, file=sys.stderr)


def run_batch(job: DeblurJob, items: list[str]) -> int:
    """Deblur every photo of ``items``; 0 if all succeeded, 1 if any failed. Raises JitterEdgeError for
    problems of the whole batch (settings, output folder, model)."""
    from jitteredge.analyze import ModelFailure
    from jitteredge.fileio import ensure_writable_dir

    try:
        job.settings().validate()
    except ValueError as exc:
        raise JitterEdgeError(str(exc)) from None
    if job.long_side is not None and job.long_side < 16:  # as analyze (AnalyzeConfig.validate)
        raise JitterEdgeError(f"--long-side {job.long_side}: must be at least 16 px")
    if job.refine:
        from jitteredge.deblurring.refiner import load_refiner

        load_refiner(job.refiner or None)  # a missing or broken refiner stops the batch before any work
    inputs = _inputs(items)
    if job.field_path and len(inputs) != 1:
        raise JitterEdgeError(f"--field gives the field of one photo; {len(inputs)} photos were given")
    ensure_writable_dir(job.out_dir)
    failures, used = 0, set()
    with contextlib.ExitStack() as stack:
        runner = None
        if not job.field_path:
            from jitteredge.infer import open_runner

            runner = stack.enter_context(open_runner(job.model))
        for path, problem in inputs:
            if problem:
                print(f"jitteredge deblur: {problem}", file=sys.stderr)
                failures += 1
                continue
            try:
                print(deblur_one(path, job, runner, _stem(path, used)), flush=True)
            except ModelFailure:
                raise
            except JitterEdgeError as exc:
                print(f"jitteredge deblur: {exc}", file=sys.stderr)
                failures += 1
    return 1 if failures else 0


__all__ = ["DeblurJob", "deblur_one", "run_batch"]
