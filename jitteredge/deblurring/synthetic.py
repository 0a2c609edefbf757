"""Test triples for deblurring: (sharp truth, degraded photo, true field), synthesised like training samples.

A ``jitteredge.synth.sample.Sample`` keeps the degraded photo and the field but not the sharp photo,
so this module makes the same kinds of sample from the same pieces and keeps the truth: a photo
region is linearised through a response curve (gamma 1.8-2.6) with boosted highlights, reduced to S x S
in linear light, blurred (straight field of the preset, or a curved camera path; disk defocus for
"defocus", nothing for "sharp"), given Poisson-Gaussian noise, re-encoded (clipping the lights) and
JPEG-compressed, with the ranges of ``SampleConfig``'s defaults. The truth is the same linear image
before blur and noise (after defocus: deblurring shake must not remove bokeh), encoded by the same curve.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

GROUPS = ("strong", "mild", "curved", "sharp", "defocus")


@dataclass
class Triple:
    group: str
    truth: np.ndarray  # uint8 (S, S, 3): what a perfect restoration gives
    photo: np.ndarray  # uint8 (S, S, 3): the degraded photo
    field: np.ndarray  # float32 (S, S, 2): true field (the curved path's equivalent straight field)
    gamma: float  # response curve used


def make_triple(rgb: np.ndarray, rng: np.random.Generator, group: str, size_px: int = 256,
                full_scale: bool = False) -> Triple:
    """One triple of ``group`` (one of GROUPS) from a sharp uint8 (H, W, 3) photo; randomness from ``rng``.

    ``full_scale``: the preset's field as drawn (Gong's ranges, METHOD.md section 1); otherwise times
    training's per-sample blur scale (u^2 in [0, 1], so that many samples barely shake).
    """
    from jitteredge.synth import degrade
    from jitteredge.synth.blur import apply_field
    from jitteredge.synth.fields import jitter_field, random_params
    from jitteredge.synth.paths import apply_trajectory, random_trajectory
    from jitteredge.synth.sample import SampleConfig, crop_region

    if group not in GROUPS:
        raise ValueError(f"unknown group {group!r} (expected one of {', '.join(GROUPS)})")
    cfg = SampleConfig(size_px=size_px, blur_scale=(1.0, 1.0)) if full_scale else SampleConfig(size_px=size_px)
    s = size_px
    region, _ = crop_region(rgb, rng, cfg)
    gamma = float(rng.uniform(*cfg.gamma))
    gain = float(rng.uniform(*cfg.highlight_gain)) if rng.uniform() < cfg.highlight_prob else 0.0
    linear = degrade.decode_area(region, (s, s), gamma, cfg.highlight_threshold, gain)
    field = np.zeros((s, s, 2), np.float32)
    scale = cfg.blur_scale[0] + (cfg.blur_scale[1] - cfg.blur_scale[0]) * rng.uniform() ** cfg.blur_scale_power
    if group in ("strong", "mild"):
        field = jitter_field(s, s, random_params(s, s, rng, group)) * np.float32(scale)
        blurred = apply_field(linear, field)
    elif group == "curved":
        trajectory = random_trajectory(s, s, rng, "strong", cfg.trajectory, scale=scale)
        blurred, field = apply_trajectory(linear, trajectory, cfg.trajectory.samples_per_px)
    elif group == "defocus":
        full = bool(rng.uniform() < cfg.defocus_full_fraction)
        radius = float(rng.uniform(*cfg.defocus_radius_px))
        linear = degrade.defocus(linear, degrade.portrait_radius_map(s, s, rng, radius, full_frame=full),
                                 cfg.defocus_levels)
        blurred = linear
    else:
        blurred = linear
    truth = degrade.noise_encode(linear, gamma)
    shot = math.exp(rng.uniform(math.log(cfg.noise_shot[0]), math.log(cfg.noise_shot[1])))
    read = math.exp(rng.uniform(math.log(cfg.noise_read[0]), math.log(cfg.noise_read[1])))
    photo = degrade.noise_encode(blurred, gamma, rng.standard_normal(blurred.size, np.float32), shot, read)
    if rng.uniform() < cfg.jpeg_prob:
        photo = degrade.jpeg_roundtrip(photo, int(rng.integers(cfg.jpeg_quality[0], cfg.jpeg_quality[1])))
    return Triple(group=group, truth=truth, photo=photo, field=np.ascontiguousarray(field, np.float32), gamma=gamma)


def make_triples(source, group: str, n: int, seed: int, size_px: int = 256, full_scale: bool = False) -> list[Triple]:
    """``n`` fixed triples of one group: photo i of the source (cycled) with a generator seeded by (seed, group, i)."""
    key = GROUPS.index(group)
    return [make_triple(source.load(i % len(source)), np.random.default_rng([seed, key, i]), group, size_px, full_scale)
            for i in range(int(n))]
