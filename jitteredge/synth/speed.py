"""Speed and accuracy of ``apply_field`` against OpenCV and the NumPy reference (``jitteredge bench --synth``).

Three ways to blur with a jitter field are compared on the same image and fields:

- ``apply_field``: the exact line integral (Numba, ``synth/blur.py``);
- ``opencv_remap_blur``: what one writes with OpenCV: the mean of ``cv2.remap`` (bilinear,
  ``BORDER_REFLECT_101``) over n = ceil(max |M|) + 1 evenly spaced points of every segment,
  endpoints included, n fixed by the longest vector of the field;
- ``apply_field_reference``: the NumPy midpoint rule (``synth/blur_reference.py``).

Accuracy is the mean absolute error, in 0..255 units, against a converged reference: the midpoint
rule in float64 with ``converged_samples_per_px`` samples per pixel of the longest segment, evaluated
at ``error_pixels`` random pixels (the same for every method). The image is seeded 1/f noise (the
spectrum of natural photos) in 0..255, so no data set is needed; the fields are drawn from a preset.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["BlurSpeedConfig", "measure_blur_speed", "opencv_remap_blur", "pink_noise_image"]


@dataclass
class BlurSpeedConfig:
    size: int = 512  # image side (px); the image is size x size x 3 float32
    threads: tuple[int, ...] = (1, 2)  # Numba thread counts to time (clipped to the machine's)
    repeats: int = 3  # timed rounds, after one warm-up round; each method keeps its best round
    preset: str = "strong"  # jitter preset of the fields
    n_fields: int = 3  # fields drawn (seed, seed + 1, ...); times are summed over them
    seed: int = 0  # seeds the image, the fields and the error pixels
    error_pixels: int = 8192  # random pixels at which errors are measured
    converged_samples_per_px: float = 8.0  # midpoint samples per px for the converged reference
    reference_samples_per_px: float = 1.0  # NumPy reference setting for its timing (ms_reference)


def pink_noise_image(size: int, rng: np.random.Generator, channels: int = 3) -> np.ndarray:
    """float32 (size, size, channels) 1/f noise, each channel scaled to 0..255."""
    fy = np.fft.fftfreq(size)[:, None]
    fx = np.fft.rfftfreq(size)[None, :]
    amplitude = 1.0 / np.maximum(np.hypot(fx, fy), 1.0 / size)
    out = np.empty((size, size, channels), np.float32)
    for c in range(channels):
        spectrum = (rng.standard_normal(amplitude.shape) + 1j * rng.standard_normal(amplitude.shape)) * amplitude
        x = np.fft.irfft2(spectrum, s=(size, size))
        out[..., c] = 255.0 * (x - x.min()) / (x.max() - x.min())
    return out


def opencv_remap_blur(image: np.ndarray, field: np.ndarray) -> np.ndarray:
    """Mean of cv2.remap over n = ceil(max |M|) + 1 evenly spaced points of each segment (float32 in/out)."""
    import cv2

    h, w = image.shape[:2]
    u = np.ascontiguousarray(field[..., 0], dtype=np.float32)
    v = np.ascontiguousarray(field[..., 1], dtype=np.float32)
    n = int(math.ceil(float(np.hypot(u, v).max()))) + 1
    cols, rows = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    acc = np.zeros(image.shape, np.float32)
    for k in range(n):
        t = np.float32(k / (n - 1) - 0.5) if n > 1 else np.float32(0.0)
        acc += cv2.remap(image, cols + t * u, rows + t * v, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
    acc *= np.float32(1.0 / n)
    return acc


def _converged_at(image: np.ndarray, field: np.ndarray, rows: np.ndarray, cols: np.ndarray, samples_per_px: float) -> np.ndarray:
    """float64 (P, C) midpoint-rule means at the pixels (rows, cols)."""
    from jitteredge.synth.blur_reference import bilinear_reflect101

    u = field[rows, cols, 0].astype(np.float64)
    v = field[rows, cols, 1].astype(np.float64)
    n = max(1, math.ceil(samples_per_px * float(np.hypot(u, v).max())))
    img = image.astype(np.float64)
    acc = np.zeros((rows.size, image.shape[2]), np.float64)
    for k in range(n):
        t = (k + 0.5) / n - 0.5
        acc += bilinear_reflect101(img, cols + t * u, rows + t * v)
    return acc / n


def _time_once(fn) -> tuple[float, float]:
    """(wall-clock ms, process CPU ms) of one call. On one thread the CPU time hardly depends on
    what else the machine runs; the wall clock does."""
    w0, c0 = time.perf_counter(), time.process_time()
    fn()
    return 1e3 * (time.perf_counter() - w0), 1e3 * (time.process_time() - c0)


def measure_blur_speed(size: int = 512, threads: tuple[int, ...] = (1, 2), repeats: int = 3, **options) -> dict:
    """Time and error of apply_field, the OpenCV remap baseline and the NumPy reference.

    Args:
        size, threads, repeats: see ``BlurSpeedConfig``; other ``BlurSpeedConfig`` fields by keyword.

    Returns:
        dict of plain numbers: ``ms_numba_<t>t`` for each thread count, ``ms_remap_1t`` and
        ``ms_remap_all`` (OpenCV on one and on all its threads), ``ms_reference`` (NumPy, one thread
        of NumPy code), ``cpu_ms_numba_1t`` and ``cpu_ms_remap_1t`` (process CPU time of the
        one-thread runs, robust to a busy machine) and ``speedup_vs_remap_1t_cpu`` from them,
        ``mae_numba``, ``mae_remap``, ``mae_reference`` (0..255 units, against the converged
        reference), ``speedup_vs_remap_1t``, ``speedup_vs_remap_all`` (Numba on all
        requested threads against OpenCV on all of its), ``speedup_vs_reference``, ``thread_scaling``
        (time on the fewest threads / time on the most), ``remap_samples`` (mean n per field) and the
        configuration. Times are the best of ``repeats`` interleaved rounds, summed over the fields.
    """
    import cv2
    import numba

    from jitteredge.synth.blur import apply_field
    from jitteredge.synth.blur_reference import apply_field_reference
    from jitteredge.synth.fields import random_field

    cfg = BlurSpeedConfig(size=size, threads=tuple(threads), repeats=repeats, **options)
    rng = np.random.default_rng(cfg.seed)
    image = pink_noise_image(cfg.size, rng)
    fields = [random_field(cfg.size, cfg.size, np.random.default_rng(cfg.seed + i), cfg.preset) for i in range(cfg.n_fields)]
    pick = rng.choice(cfg.size * cfg.size, size=min(cfg.error_pixels, cfg.size * cfg.size), replace=False)
    rows, cols = np.divmod(pick, cfg.size)

    numba_threads_before = numba.get_num_threads()
    cv2_threads_before = cv2.getNumThreads()
    max_threads = numba.config.NUMBA_NUM_THREADS
    thread_counts = sorted({max(1, min(int(t), max_threads)) for t in cfg.threads})
    result: dict = {}
    try:
        apply_field(image[:8, :8], fields[0][:8, :8])  # compile (or load the cache) outside the timing
        errors = {"numba": [], "remap": [], "reference": []}
        for field in fields:
            truth = _converged_at(image, field, rows, cols, cfg.converged_samples_per_px)
            numba.set_num_threads(thread_counts[0])
            cv2.setNumThreads(1)
            for name, fn in (("numba", apply_field), ("remap", opencv_remap_blur),
                             ("reference", lambda i, f: apply_field_reference(i, f, cfg.reference_samples_per_px))):
                errors[name].append(np.abs(fn(image, field)[rows, cols] - truth).mean())

        times: dict[str, float] = {}
        for field in fields:
            runs = [("ms_remap_1t", 1, 1, lambda: opencv_remap_blur(image, field))]
            runs += [(f"ms_numba_{t}t", t, 1, lambda: apply_field(image, field)) for t in thread_counts]
            runs += [("ms_remap_all", thread_counts[0], cv2_threads_before, lambda: opencv_remap_blur(image, field))]
            best = {key: (math.inf, math.inf) for key, *_ in runs}
            # Rounds interleave the methods, so that a busy neighbour slows each of them alike and
            # each gets its chance at a quiet moment; the best round of each counts.
            for round_ in range(cfg.repeats + 1):
                for key, numba_threads, cv2_threads, fn in runs:
                    numba.set_num_threads(numba_threads)
                    cv2.setNumThreads(cv2_threads)
                    wall, cpu = _time_once(fn)
                    if round_ > 0:  # the first round warms up (thread pools, caches)
                        best[key] = (min(best[key][0], wall), min(best[key][1], cpu))
            for key, (wall, cpu) in best.items():
                times[key] = times.get(key, 0.0) + wall
                if key.endswith("_1t"):
                    times["cpu_" + key] = times.get("cpu_" + key, 0.0) + cpu
        numba.set_num_threads(1)
        start = time.perf_counter()  # one field, once (it is slow), scaled to all fields
        apply_field_reference(image, fields[0], cfg.reference_samples_per_px)
        times["ms_reference"] = 1e3 * (time.perf_counter() - start) * cfg.n_fields
    finally:
        numba.set_num_threads(numba_threads_before)
        cv2.setNumThreads(cv2_threads_before)

    lo, hi = thread_counts[0], thread_counts[-1]
    result.update({k: round(v, 3) for k, v in times.items()})
    result.update({
        "mae_numba": float(np.mean(errors["numba"])),
        "mae_remap": float(np.mean(errors["remap"])),
        "mae_reference": float(np.mean(errors["reference"])),
        "speedup_vs_remap_1t": times["ms_remap_1t"] / times[f"ms_numba_{lo}t"] if lo == 1 else float("nan"),
        "speedup_vs_remap_1t_cpu": times["cpu_ms_remap_1t"] / times["cpu_ms_numba_1t"] if lo == 1 else float("nan"),
        "speedup_vs_remap_all": times["ms_remap_all"] / times[f"ms_numba_{hi}t"],
        "speedup_vs_reference": times["ms_reference"] / times[f"ms_numba_{lo}t"],
        "thread_scaling": times[f"ms_numba_{lo}t"] / times[f"ms_numba_{hi}t"],
        "threads_low": lo,
        "threads_high": hi,
        "remap_samples": float(np.mean([math.ceil(float(np.hypot(f[..., 0], f[..., 1]).max())) + 1 for f in fields])),
        "config": asdict(cfg),
    })
    return result
