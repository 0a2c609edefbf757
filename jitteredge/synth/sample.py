"""One training sample: sharp photo -> (realistic blurred image, jitter-field label).

``make_sample(rgb, rng, cfg)`` crops and flips the photo, linearises it through a response curve,
reduces it to S x S (averaging linear light, as a sensor does), brightens its lights, then makes one
kind of sample (shares set in ``SampleConfig``):

* ``"shake"``: a straight jitter field from the preset (patent claim 1, 'mild' for a share of them),
  times a per-sample blur scale that favours short blurs, applied with ``apply_field``. With the
  defaults the median blur of a shaken sample is under 2 px for about a third of them, 2-10 px for
  about 40 % and longer for the rest: the threshold region between sharp and shaken is well covered;
* ``"curved"``: a random-walk camera trajectory (``paths.py``), labelled per pixel by its equivalent
  straight segment;
* ``"subject"``: a shake or curved sample in which only a soft region moves (a moving subject on a
  still camera); the label is the field times the region's mask, zero elsewhere;
* ``"sharp"``: zero field, the photo itself ([0071]: the network must learn "not shaken");
* ``"defocus"``: zero field, a portrait-mode-like disk blur growing behind a sharp subject, or a
  fully defocused frame ([0071]: bokeh is not shake);

and finally adds sensor noise, re-applies the curve (clipping the lights) and re-encodes as JPEG, so
even "sharp" samples look like real photos, not clean renders. Randomness only comes from the
``numpy.random.Generator`` passed in: a sample is a pure function of (photo, rng state, cfg).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, fields, replace
from dataclasses import field as dc_field
from typing import Any

import cv2
import numpy as np

from jitteredge.synth import degrade
from jitteredge.synth.fields import params_to_dict, random_params, jitter_field
from jitteredge.synth.numba_threads import prefer_fork_safe_numba  # noqa: F401  (re-exported)
from jitteredge.synth.paths import TrajectoryConfig, apply_trajectory, random_trajectory

KINDS = ("shake", "curved", "subject", "sharp", "defocus")


@dataclass(frozen=True)
class SampleConfig:
    """Everything that shapes a training sample. Ranges are (low, high), drawn uniformly per sample
    unless a comment says otherwise."""

    size_px: int = 256  # side of the square sample
    # -- motion
    preset: str = "strong"  # jitter ranges of straight and curved shake ('strong' or 'mild', fields.PRESETS)
    mild_fraction: float = 0.3  # share of shaken samples drawn from the 'mild' preset instead
    blur_scale: tuple[float, float] = (0.0, 1.0)  # per-sample factor on the field (and trajectory)
    blur_scale_power: float = 2.0  # factor = low + (high - low) * u ** power: > 1 makes short blurs common
    # -- mixture (normalised to sum 1)
    shake_fraction: float = 0.45  # straight jitter fields
    curved_fraction: float = 0.20  # random-walk trajectories
    sharp_fraction: float = 0.15  # zero field, photo only degraded
    defocus_fraction: float = 0.20  # zero field, disk (bokeh) blur
    subject_fraction: float = 0.1  # share of shake and curved samples in which only a region moves
    trajectory: TrajectoryConfig = TrajectoryConfig()  # random walk of curved samples
    # -- photo
    zoom: tuple[float, float] = (0.5, 1.0)  # source reduction per sample (never enlarges: that softens)
    downsample: int = 1  # s x s box reduction of the source before anything else (patent [0041])
    hflip_prob: float = 0.5  # left-right flip
    vflip_prob: float = 0.1  # upside-down flip (textures do not care, skies do: rare)
    # -- response curve and lights
    gamma: tuple[float, float] = (1.8, 2.6)  # power response curve exponent (rounded to 0.05)
    highlight_prob: float = 0.5  # chance of boosting near-white pixels above white before blurring
    highlight_threshold: float = 0.85  # linear level where a pixel counts as a light
    highlight_gain: tuple[float, float] = (0.5, 6.0)  # extra brightness of a white pixel (1 + gain)
    point_lights_prob: float = 0.15  # chance of painting small lamps into the scene
    point_lights_max: int = 12  # at most this many lamps
    point_light_brightness: tuple[float, float] = (1.5, 12.0)  # linear brightness (1 = white)
    # -- sensor and file
    noise: bool = True  # Poisson-Gaussian sensor noise
    noise_shot: tuple[float, float] = (1e-4, 1e-2)  # shot-noise variance per unit signal, log-uniform
    noise_read: tuple[float, float] = (1e-7, 1e-4)  # read-noise variance, log-uniform
    grain_fraction: float = 0.0  # share of samples with correlated grain (degrade.add_grain), before JPEG
    grain_std: tuple[float, float] = (1.0, 8.0)  # its standard deviation, grey levels (0-255)
    grain_sigma_px: tuple[float, float] = (0.5, 1.5)  # its clump size: Gaussian sigma in px
    jpeg: bool = True  # re-encode as JPEG
    jpeg_prob: float = 0.85  # chance of JPEG when ``jpeg`` (some photos are PNG or HEIF-like)
    jpeg_quality: tuple[int, int] = (55, 96)  # OpenCV quality, drawn as an integer in [low, high)
    # -- defocus
    defocus_radius_px: tuple[float, float] = (1.5, 8.0)  # largest disk radius of a defocused sample
    defocus_full_fraction: float = 0.3  # share of defocus samples defocused over the whole frame
    defocus_levels: int = 5  # blur levels the varying disk blur interpolates between
    portrait_fraction: float = 0.0  # share of defocus samples made as a layered portrait: a sharp subject in
    #                                 front of another, depth-graded defocused scene (degrade.layered_portrait)
    portrait_radius_px: tuple[float, float] = (3.0, 14.0)  # largest background disk radius of those
    # -- low light (drawn only when low_light_fraction > 0, so other configs keep their random streams)
    low_light_fraction: float = 0.0  # share of samples taken in low light: a dark scene, lamps, high gain
    low_light_exposure: tuple[float, float] = (0.03, 0.3)  # scene light as a share of a normal exposure, log-uniform
    low_light_lamps: tuple[int, int] = (2, 16)  # lamps and lit windows painted in, drawn as an integer in [low, high)
    low_light_lamp_brightness: tuple[float, float] = (0.3, 8.0)  # their linear brightness before the gain, log-uniform
    low_light_recovery: tuple[float, float] = (0.15, 0.8)  # share of the lost exposure the camera's gain (ISO) restores
    low_light_noise_gain_max: float = 8.0  # cap on the noise amplification (phones denoise at high ISO)

    def fractions(self) -> dict[str, float]:
        """Normalised shares of the top-level kinds (subject motion is drawn inside shake and curved)."""
        raw = {"shake": self.shake_fraction, "curved": self.curved_fraction,
               "sharp": self.sharp_fraction, "defocus": self.defocus_fraction}
        if any(v < 0 for v in raw.values()) or sum(raw.values()) <= 0:
            raise ValueError(f"sample fractions must be >= 0 with a positive sum, got {raw}")
        total = sum(raw.values())
        return {k: v / total for k, v in raw.items()}

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "SampleConfig":
        """Rebuild from ``to_dict`` output; unknown keys are refused."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown SampleConfig keys: {sorted(unknown)}")
        kwargs = {}
        for key, value in data.items():
            if key == "trajectory" and isinstance(value, dict):
                value = TrajectoryConfig(**value)
            elif isinstance(value, list):
                value = tuple(value)
            kwargs[key] = value
        return cls(**kwargs)


def coerce_sample_overrides(overrides: dict[str, Any]) -> dict[str, Any]:
    """SampleConfig keyword arguments from plain values (a config file, ``--sample KEY=VALUE``).

    Lists become tuples; ``trajectory`` may be a table of TrajectoryConfig fields, merged over its
    defaults. Raises ValueError naming an unknown field, a value of the wrong type, or a share or
    chance outside [0, 1].
    """
    from jitteredge.configfile import check_types
    from jitteredge.errors import JitterEdgeError

    known = {f.name for f in fields(SampleConfig)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ValueError(f"unknown sample setting {unknown[0]!r}; SampleConfig fields: {', '.join(sorted(known))}")
    trajectory = overrides.get("trajectory", {})
    if not isinstance(trajectory, dict):
        raise ValueError(f"sample setting trajectory: expected a table of TrajectoryConfig fields, got {trajectory!r}")
    traj_known = {f.name for f in fields(TrajectoryConfig)}
    bad = sorted(set(trajectory) - traj_known)
    if bad:
        raise ValueError(f"unknown trajectory setting(s) {', '.join(bad)}; "
                         f"TrajectoryConfig fields: {', '.join(sorted(traj_known))}")
    try:
        check_types(SampleConfig, {k: v for k, v in overrides.items() if k != "trajectory"}, "sample setting")
        check_types(TrajectoryConfig, trajectory, "trajectory setting")
    except JitterEdgeError as exc:
        raise ValueError(str(exc)) from None
    for key, value in {**overrides, **trajectory}.items():
        if key.endswith(("_fraction", "_prob")) and not 0.0 <= value <= 1.0:
            raise ValueError(f"sample setting {key} must be in [0, 1], got {value!r}")
    out = {k: tuple(v) if isinstance(v, list) else v for k, v in overrides.items() if k != "trajectory"}
    if "trajectory" in overrides:
        out["trajectory"] = TrajectoryConfig(**trajectory)
    return out


@dataclass
class Sample:
    """A training sample.

    Attributes:
        image: uint8 (S, S, 3) RGB, the degraded (blurred or not) photo.
        field: float32 (S, S, 2) label (U, V) in pixels; zero for sharp and defocus samples.
        kind: one of KINDS.
        params: what was drawn (JSON-friendly): motion parameters, blur scale, gamma, noise, JPEG quality.
    """

    image: np.ndarray
    field: np.ndarray
    kind: str
    params: dict[str, Any] = dc_field(default_factory=dict)


# ----------------------------------------------------------------------------- pieces

def _uniform(rng: np.random.Generator, lo_hi: tuple[float, float]) -> float:
    return float(rng.uniform(lo_hi[0], lo_hi[1]))


def _log_uniform(rng: np.random.Generator, lo_hi: tuple[float, float]) -> float:
    return float(math.exp(rng.uniform(math.log(lo_hi[0]), math.log(lo_hi[1]))))


def choose_kind(rng: np.random.Generator, cfg: SampleConfig) -> str:
    """Draw the top-level kind (shake, curved, sharp, defocus) by the configured shares."""
    shares = cfg.fractions()
    names = list(shares)
    return names[int(rng.choice(len(names), p=np.array([shares[n] for n in names])))]


def crop_region(rgb: np.ndarray, rng: np.random.Generator, cfg: SampleConfig) -> tuple[np.ndarray, dict]:
    """Random square region of the photo, flipped, still at photo scale: uint8 (side, side, 3), side >= S.

    The photo is first box-reduced by ``cfg.downsample``. A zoom z drawn from ``cfg.zoom`` picks the
    region side S / z (capped by the photo), which the caller reduces to S. A photo smaller than S on
    a side is reflect-padded to S (never enlarged: enlarging softens it, which reads as blur).
    """
    s = int(cfg.size_px)
    photo = degrade.box_downsample(rgb, cfg.downsample) if cfg.downsample > 1 else rgb
    h, w = photo.shape[:2]
    if h < s or w < s:
        ph, pw = max(0, s - h), max(0, s - w)
        photo = np.pad(photo, ((ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)),
                       mode="reflect" if min(h, w) > 1 else "edge")
        h, w = photo.shape[:2]
    zoom_lo = max(float(cfg.zoom[0]), s / min(h, w))
    zoom = 1.0 if zoom_lo >= cfg.zoom[1] else _uniform(rng, (zoom_lo, cfg.zoom[1]))
    side = min(h, w, max(s, int(round(s / zoom))))
    y0 = int(rng.integers(0, h - side + 1))
    x0 = int(rng.integers(0, w - side + 1))
    region = photo[y0: y0 + side, x0: x0 + side]
    hflip = bool(rng.uniform() < cfg.hflip_prob)
    vflip = bool(rng.uniform() < cfg.vflip_prob)
    if hflip:
        region = region[:, ::-1]
    if vflip:
        region = region[::-1]
    info = {"crop_xy": [x0, y0], "crop_side_px": side, "hflip": hflip, "vflip": vflip}
    return np.ascontiguousarray(region), info


def crop_photo(rgb: np.ndarray, rng: np.random.Generator, cfg: SampleConfig) -> tuple[np.ndarray, dict]:
    """``crop_region`` reduced to uint8 (S, S, 3) with cv2.INTER_AREA (``make_sample`` reduces in linear light instead)."""
    region, info = crop_region(rgb, rng, cfg)
    s = int(cfg.size_px)
    if region.shape[0] != s:
        region = cv2.resize(region, (s, s), interpolation=cv2.INTER_AREA)
    return region, info


def soft_region_mask(size: int, rng: np.random.Generator) -> np.ndarray:
    """A soft blob (rotated ellipse, 15-45 % of the side, edge softened over a few pixels), float32 (S, S) in [0, 1]."""
    mask = np.zeros((size, size), np.float32)
    centre = (float(rng.uniform(0.2, 0.8) * size), float(rng.uniform(0.2, 0.8) * size))
    axes = (float(rng.uniform(0.15, 0.45) * size), float(rng.uniform(0.15, 0.45) * size))
    cv2.ellipse(mask, (centre, axes, float(rng.uniform(0, 180))), 1.0, thickness=-1)
    sigma = float(rng.uniform(1.0, 4.0))
    return cv2.GaussianBlur(mask, (0, 0), sigma)


def _darken_for_low_light(linear: np.ndarray, rng: np.random.Generator, cfg: SampleConfig, info: dict) -> float:
    """Turn the linear scene into a low-light one in place: less light, many lamps. Returns the gain the
    camera will apply after the exposure (blur happens at the scene's own light, so lamps streak and clip)."""
    exposure = _log_uniform(rng, cfg.low_light_exposure)
    linear *= np.float32(exposure)
    lamps = int(rng.integers(cfg.low_light_lamps[0], cfg.low_light_lamps[1]))
    lo, hi = cfg.low_light_lamp_brightness
    degrade.add_point_lights(linear, rng, lamps, (lo, hi))
    gain = _uniform(rng, cfg.low_light_recovery) / exposure
    info.update(low_light_exposure=round(exposure, 5), low_light_lamps=lamps, low_light_gain=round(gain, 3))
    return gain


def _blur_scale(rng: np.random.Generator, cfg: SampleConfig) -> float:
    lo, hi = cfg.blur_scale
    return float(lo + (hi - lo) * rng.uniform() ** cfg.blur_scale_power)


def _shake(linear: np.ndarray, rng: np.random.Generator, cfg: SampleConfig, curved: bool,
           info: dict) -> tuple[np.ndarray, np.ndarray]:
    """Straight or curved camera shake of the linear image: (blurred float32, label float32 (S, S, 2))."""
    s = linear.shape[0]
    preset = "mild" if rng.uniform() < cfg.mild_fraction else cfg.preset
    scale = _blur_scale(rng, cfg)
    info.update(preset=preset, blur_scale=round(scale, 5))
    if curved:
        trajectory = random_trajectory(s, s, rng, preset, cfg.trajectory, scale=scale)
        info["trajectory"] = trajectory.to_dict()
        return apply_trajectory(linear, trajectory, cfg.trajectory.samples_per_px)
    from jitteredge.synth.blur import apply_field  # Numba import kept out of module import time

    params = random_params(s, s, rng, preset)
    info["field_params"] = {k: round(v, 6) for k, v in params_to_dict(params).items()}
    label = jitter_field(s, s, params)
    label *= np.float32(scale)
    return apply_field(linear, label), label


# ----------------------------------------------------------------------------- the sample

def make_sample(rgb: np.ndarray, rng: np.random.Generator, cfg: SampleConfig = SampleConfig()) -> Sample:
    """Make one training sample from a sharp photo.

    Args:
        rgb: uint8 (H, W, 3) RGB sharp photo, any size (smaller than ``cfg.size_px`` is reflect-padded).
        rng: the only source of randomness.
        cfg: what to draw.

    Returns:
        Sample with image uint8 (S, S, 3), field float32 (S, S, 2) in pixels, kind, params.
    """
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"make_sample expects uint8 (H, W, 3) RGB, got {rgb.dtype} {rgb.shape}")
    s = int(cfg.size_px)
    kind = choose_kind(rng, cfg)
    region, info = crop_region(rgb, rng, cfg)

    gamma = _uniform(rng, cfg.gamma)
    info["gamma"] = round(gamma, 3)
    gain = _uniform(rng, cfg.highlight_gain) if rng.uniform() < cfg.highlight_prob else 0.0
    if gain > 0.0:
        info["highlight_gain"] = round(gain, 3)
    # linearise, brighten the lights and reduce to S x S, averaging linear light as a sensor does
    linear = degrade.decode_area(region, (s, s), gamma, cfg.highlight_threshold, gain)
    if cfg.point_lights_max > 0 and rng.uniform() < cfg.point_lights_prob:
        count = int(rng.integers(1, cfg.point_lights_max + 1))
        degrade.add_point_lights(linear, rng, count, cfg.point_light_brightness)
        info["point_lights"] = count
    low_light_gain = 1.0
    if cfg.low_light_fraction > 0 and rng.uniform() < cfg.low_light_fraction:
        low_light_gain = _darken_for_low_light(linear, rng, cfg, info)

    if kind in ("shake", "curved"):
        subject = bool(rng.uniform() < cfg.subject_fraction)
        blurred, label = _shake(linear, rng, cfg, curved=(kind == "curved"), info=info)
        if subject:
            mask = soft_region_mask(s, rng)
            blurred -= linear  # blurred = linear + mask * (blurred - linear)
            blurred *= mask[..., None]
            blurred += linear
            label *= mask[..., None]
            info["motion"] = kind
            kind = "subject"
        linear = blurred
    elif kind == "defocus" and cfg.portrait_fraction > 0 and rng.uniform() < cfg.portrait_fraction:
        # the background: another part of the photo, turned, at the same exposure and light
        back_region, _ = crop_region(rgb, rng, cfg)
        background = degrade.decode_area(np.rot90(back_region, int(rng.integers(1, 4))).copy(), (s, s), gamma,
                                         cfg.highlight_threshold, gain)
        background *= np.float32(linear.mean() / max(float(background.mean()), 1e-6))
        if rng.uniform() < 0.5:  # lamps in the background turn into bokeh discs
            degrade.add_point_lights(background, rng, int(rng.integers(2, 20)), cfg.point_light_brightness)
        radius = _uniform(rng, cfg.portrait_radius_px)
        linear, _ = degrade.layered_portrait(linear, background, rng, radius, cfg.defocus_levels)
        label = np.zeros((s, s, 2), np.float32)
        info.update(defocus_radius_px=round(radius, 3), defocus_portrait=True)
    elif kind == "defocus":
        full = bool(rng.uniform() < cfg.defocus_full_fraction)
        radius = _uniform(rng, cfg.defocus_radius_px)
        radius_map = degrade.portrait_radius_map(s, s, rng, radius, full_frame=full)
        linear = degrade.defocus(linear, radius_map, cfg.defocus_levels)
        label = np.zeros((s, s, 2), np.float32)
        info.update(defocus_radius_px=round(radius, 3), defocus_full_frame=full)
    else:  # sharp
        label = np.zeros((s, s, 2), np.float32)

    noise_gain = 1.0
    if low_light_gain != 1.0:  # the camera's gain (ISO) lifts the dark exposure, and its noise with it
        linear *= np.float32(low_light_gain)
        noise_gain = min(low_light_gain, cfg.low_light_noise_gain_max)
    if cfg.noise:
        shot, read = _log_uniform(rng, cfg.noise_shot), _log_uniform(rng, cfg.noise_read)
        shot, read = shot * noise_gain, read * noise_gain ** 2
        noise = degrade.standard_normal_pool(rng, linear.size)
        image = degrade.noise_encode(linear, gamma, noise, shot, read)
        info.update(noise_shot=float(f"{shot:.4g}"), noise_read=float(f"{read:.4g}"))
    else:
        image = degrade.noise_encode(linear, gamma)
    # drawn only when enabled, so that a config without grain keeps its random stream
    if cfg.grain_fraction > 0 and rng.uniform() < cfg.grain_fraction:
        std, sigma = _uniform(rng, cfg.grain_std), _uniform(rng, cfg.grain_sigma_px)
        image = degrade.add_grain(image, rng, std, sigma)
        info.update(grain_std=round(std, 3), grain_sigma_px=round(sigma, 3))
    if cfg.jpeg and rng.uniform() < cfg.jpeg_prob:
        quality = int(rng.integers(cfg.jpeg_quality[0], cfg.jpeg_quality[1]))
        image = degrade.jpeg_roundtrip(image, quality)
        info["jpeg_quality"] = quality
    return Sample(image=image, field=np.ascontiguousarray(label, dtype=np.float32), kind=kind, params=info)


# ----------------------------------------------------------------------------- throughput

def measure_sample_throughput(size: int = 256, n: int = 200, cfg: SampleConfig | None = None, seed: int = 0,
                              source: str | None = None, threads: int = 1) -> dict[str, Any]:
    """Time ``make_sample`` (field + blur + realism, photos already decoded) in this process.

    Numba and OpenCV are held to ``threads`` threads while timing (1: the per-core figure). Photos come
    from BSDS500 where it exists, else from the procedural source; loading them is not timed. Neither
    is a warm-up of a few small samples of every kind, which compiles or loads each kernel once. Both
    wall-clock and process CPU time are reported: on a shared machine the CPU-time figure is the one
    that measures the code (with one thread, CPU seconds are core seconds).

    Returns:
        dict with samples_per_s and ms_per_sample (wall clock), cpu_samples_per_s and cpu_ms_per_sample
        (process CPU time), n, size_px, threads, source, and per kind {"count": int, "cpu_ms_mean": float}
        under "kinds".
    """
    from jitteredge.errors import JitterEdgeError
    from jitteredge.synth.sources import open_source

    cfg = SampleConfig(size_px=size) if cfg is None else cfg
    if source is None:
        try:
            src = open_source("bsds500")
            source = "bsds500"
        except JitterEdgeError:
            src, source = open_source("procedural"), "procedural"
    else:
        src = open_source(source)
    photos = [src.load(i) for i in range(min(16, len(src)))]

    import numba

    old_numba, old_cv = numba.get_num_threads(), cv2.getNumThreads()
    numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
    cv2.setNumThreads(threads)
    try:
        # Warm-up, untimed: every kind a few times on small crops, so that each kernel is compiled or
        # loaded from Numba's cache (tens of ms each, once per process) before the clock starts.
        warm = np.random.default_rng([seed, 1])
        for kind in ("shake", "curved", "sharp", "defocus"):
            only = {f"{k}_fraction": float(k == kind) for k in ("shake", "curved", "sharp", "defocus")}
            for _ in range(4):
                make_sample(photos[0], warm, replace(cfg, size_px=64, subject_fraction=0.5, **only))
        per_kind: dict[str, list[float]] = {}
        rng = np.random.default_rng(seed)
        start, cpu_start = time.perf_counter(), time.process_time()
        for i in range(n):
            t0 = time.process_time()
            sample = make_sample(photos[i % len(photos)], rng, cfg)
            per_kind.setdefault(sample.kind, []).append(time.process_time() - t0)
        total, cpu_total = time.perf_counter() - start, time.process_time() - cpu_start
    finally:
        numba.set_num_threads(old_numba)
        cv2.setNumThreads(old_cv)
    return {
        "samples_per_s": n / total, "ms_per_sample": 1000.0 * total / n,
        "cpu_samples_per_s": n / cpu_total, "cpu_ms_per_sample": 1000.0 * cpu_total / n,
        "n": n, "size_px": size, "threads": threads, "source": source,
        "kinds": {k: {"count": len(v), "cpu_ms_mean": 1000.0 * float(np.mean(v))} for k, v in sorted(per_kind.items())},
    }
