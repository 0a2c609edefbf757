"""How long ``deblur`` takes on a large photo, and how that compares with one blur of the same photo.

The photo is a pink-noise texture (detail everywhere, so every pixel counts as seen) of the given size,
the field a strong-preset jitter field drawn at the model's working size (512 px long side), resized
to the photo and scaled so that its median length is ``median_blur_px`` photo pixels (every pixel is
over the shaken threshold: no tile is skipped, the worst case).
"""

from __future__ import annotations

import math
import time

import cv2
import numpy as np

from jitteredge.deblurring.settings import DeblurSettings


def speed_case(megapixels: float, median_blur_px: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 (H, W, 3) photo at 4:3, float32 (H, W, 2) field) of about ``megapixels`` MP."""
    from jitteredge.synth.fields import random_field
    from jitteredge.synth.speed import pink_noise_image

    w = int(round(math.sqrt(megapixels * 1e6 * 4 / 3)))
    h = int(round(w * 3 / 4))
    rng = np.random.default_rng(seed)
    small = pink_noise_image(512, rng)
    photo = cv2.resize(np.clip(small * 255.0 + 0.5, 0, 255).astype(np.uint8), (w, h), interpolation=cv2.INTER_CUBIC)
    noise = rng.integers(-12, 13, size=photo.shape, dtype=np.int16)  # fine detail at the photo's own scale
    photo = np.clip(photo.astype(np.int16) + noise, 0, 255).astype(np.uint8)
    working = random_field(384, 512, rng, "strong")
    field = cv2.resize(working, (w, h), interpolation=cv2.INTER_LINEAR)
    length = np.hypot(field[..., 0], field[..., 1])
    field *= np.float32(median_blur_px / max(float(np.median(length)), 1e-6))
    return photo, field


def measure_deblur_speed(megapixels: float = 12.0, median_blur_px: float = 20.0,
                         settings: DeblurSettings | None = None) -> dict:
    """Seconds for ``deblur`` on the speed case, and for one ``apply_field`` of the same photo (the unit
    of work), on ``numba.get_num_threads()`` threads; plus CPU seconds, to judge a shared machine."""
    import numba

    from jitteredge.deblurring.restore import deblur, operator_count
    from jitteredge.synth.blur import apply_field

    settings = settings or DeblurSettings()
    photo, field = speed_case(megapixels, median_blur_px)
    evidence = np.ones(photo.shape[:2], bool)
    warm = deblur(photo[:64, :64], field[:64, :64], settings, evidence=evidence[:64, :64])  # compile/load kernels
    del warm
    linear = photo.astype(np.float32) / 255.0
    t0, c0 = time.perf_counter(), time.process_time()
    apply_field(linear, field)
    blur_s, blur_cpu = time.perf_counter() - t0, time.process_time() - c0
    t0, c0 = time.perf_counter(), time.process_time()
    deblur(photo, field, settings, evidence=evidence)
    deblur_s, deblur_cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"megapixels": round(photo.shape[0] * photo.shape[1] / 1e6, 2), "size": f"{photo.shape[1]}x{photo.shape[0]}",
            "median_blur_px": median_blur_px, "threads": numba.get_num_threads(), "iterations": settings.iterations,
            "tile_px": settings.tile_px, "operator_applications": operator_count(photo.shape[:2], field, evidence, settings),
            "deblur_s": round(deblur_s, 2), "deblur_cpu_s": round(deblur_cpu, 2),
            "blur_s": round(blur_s, 3), "blur_cpu_s": round(blur_cpu, 3),
            "deblur_over_blur": round(deblur_s / blur_s, 1)}


def measure_tile_solver_speed(megapixels: float = 12.0, median_blur_px: float = 20.0, iterations: int = 18,
                              tv_weight: float = 0.01) -> dict:
    """Seconds and CPU seconds of ``solver.rl_tv`` (fused, parallel) and of the NumPy formulation
    ``solver_reference.rl_tv_reference`` on one tile of the speed case (``tile_px`` 512 with its margin,
    near the middle of the photo: the tile ``deblur`` solves 48 times at 12 MP)."""
    import numba

    from jitteredge.deblurring import solver, tone
    from jitteredge.deblurring.restore import changed_mask, plan_tiles
    from jitteredge.deblurring.solver_reference import rl_tv_reference

    settings = DeblurSettings()
    photo, field = speed_case(megapixels, median_blur_px)
    tiles = plan_tiles(changed_mask(field, np.ones(photo.shape[:2], bool), settings.shaken_px), field,
                       settings.tile_px, settings.overlap_px)
    ext = tiles[len(tiles) // 2].ext
    y = tone.to_linear(photo[ext], settings.gamma)
    f = np.ascontiguousarray(field[ext])
    mask = np.ones_like(y)
    solver.rl_tv(y[:32, :32].copy(), np.ascontiguousarray(f[:32, :32]), mask[:32, :32].copy(), 1, tv_weight)  # compile
    out = {"tile": f"{y.shape[1]}x{y.shape[0]}", "iterations": iterations, "threads": numba.get_num_threads()}
    for name, fn in (("fused", solver.rl_tv), ("numpy", rl_tv_reference)):
        t0, c0 = time.perf_counter(), time.process_time()
        fn(y, f, mask, iterations, tv_weight)
        out[f"{name}_s"] = round(time.perf_counter() - t0, 3)
        out[f"{name}_cpu_s"] = round(time.process_time() - c0, 3)
    return out


if __name__ == "__main__":
    import argparse
    import json

    parser = argparse.ArgumentParser(prog="python -m jitteredge.deblurring.speed", description=__doc__.split("\n")[0])
    parser.add_argument("megapixels", type=float, nargs="?", default=12.0)
    parser.add_argument("median_blur_px", type=float, nargs="?", default=20.0)
    parser.add_argument("--tile", action="store_true", help="one tile: the fused RL-TV against the NumPy formulation")
    args = parser.parse_args()
    measure = measure_tile_solver_speed if args.tile else measure_deblur_speed
    print(json.dumps(measure(args.megapixels, args.median_blur_px), indent=2))
