"""What a real camera adds around the blur: response curve, clipped highlights, sensor noise, JPEG,
defocus, and s x s box reduction (METHOD.md section 2, patent [0041], [0071]).

Blur happens in linear light, so a sample is made as

    uint8 photo --decode_tone--> linear float32 in [0, 1] --boost_highlights--> may exceed 1
    --blur / defocus--> --add_sensor_noise--> --encode_tone (clips)--> uint8 --jpeg_roundtrip--> uint8

Every function takes plain NumPy arrays; randomness comes from a ``numpy.random.Generator``.
Linear images are float32 (H, W, 3) and are modified in place where a docstring says so, to keep the
per-sample path free of temporaries.
"""

from __future__ import annotations

import functools
import math

import cv2
import numpy as np

try:  # fused per-pixel kernels; NUMBA_DISABLE_JIT=1 turns them into plain Python for coverage
    from numba import njit
except ImportError:  # pragma: no cover - numba is a dependency
    def njit(*args, **kwargs):
        return (lambda f: f) if not args or not callable(args[0]) else args[0]

from jitteredge.synth.jit import SERIAL_KERNEL as _JIT  # noqa: E402 (the one set of Numba flags)

_DECODE_LEVELS = 256  # uint8 input
_ENCODE_LEVELS = 65536  # entries of the encoding table, indexed by sqrt(x): the square root spends the
#                         entries where x ** (1 / gamma) is steep (the shadows), so every level round-trips
_GAMMA_STEP = 0.05  # gammas are rounded to this so the lookup tables can be cached


# ----------------------------------------------------------------------------- response curve

def _round_gamma(gamma: float) -> float:
    return round(round(float(gamma) / _GAMMA_STEP) * _GAMMA_STEP, 4)


@functools.lru_cache(maxsize=64)
def _decode_table(gamma: float) -> np.ndarray:
    return ((np.arange(_DECODE_LEVELS, dtype=np.float64) / 255.0) ** gamma).astype(np.float32)


@functools.lru_cache(maxsize=64)
def _encode_table(gamma: float) -> np.ndarray:
    root = np.arange(_ENCODE_LEVELS, dtype=np.float64) / (_ENCODE_LEVELS - 1)  # entry k holds x = (k / (N - 1)) ** 2
    return np.clip(np.rint(255.0 * root ** (2.0 / gamma)), 0, 255).astype(np.uint8)


def decode_tone(rgb: np.ndarray, gamma: float = 2.2) -> np.ndarray:
    """Linearise a photo through the power response curve x = (y / 255) ** gamma.

    Args:
        rgb: uint8 (H, W, C) image as stored (sRGB-like).
        gamma: exponent of the camera response, rounded to 0.05 (typical cameras: 1.8-2.6).

    Returns:
        float32 (H, W, C) linear light in [0, 1], a new array.
    """
    if rgb.dtype != np.uint8:
        raise TypeError(f"decode_tone expects uint8, got {rgb.dtype}")
    return _decode_table(_round_gamma(gamma))[rgb]


def encode_tone(linear: np.ndarray, gamma: float = 2.2) -> np.ndarray:
    """Clip linear light to [0, 1] (the sensor saturates) and apply the response curve y = 255 x ** (1/gamma).

    Args:
        linear: float32 (H, W, C); values outside [0, 1] are clipped in place.
        gamma: as in ``decode_tone``.

    Returns:
        uint8 (H, W, C).
    """
    np.clip(linear, 0.0, 1.0, out=linear)
    index = (np.sqrt(linear) * np.float32(_ENCODE_LEVELS - 1) + np.float32(0.5)).astype(np.uint16)
    return _encode_table(_round_gamma(gamma))[index]


@njit(**_JIT)
def _decode_boost_kernel(rgb, table, threshold, slope, out):
    """out = table[rgb] + slope * max(table[rgb] - threshold, 0), elementwise over flat arrays."""
    for i in range(rgb.size):
        x = table[rgb[i]]
        if x > threshold:
            x += slope * (x - threshold)
        out[i] = x


@njit(**_JIT)
def _noise_encode_kernel(linear, noise, shot, read, table, index, out):
    """out = table[round(sqrt(clip(x + sqrt(shot * max(x, 0) + read) * n, 0, 1)) * (N - 1))], flat arrays.

    Two loops: the arithmetic one vectorises (SIMD square roots), the table look-up cannot.
    """
    top = np.float32(table.size - 1)
    zero = np.float32(0.0)
    one = np.float32(1.0)
    for i in range(linear.size):
        x = linear[i]
        x += math.sqrt(shot * max(x, zero) + read) * noise[i]
        x = min(max(x, zero), one)
        index[i] = np.int32(math.sqrt(x) * top + np.float32(0.5))
    for i in range(linear.size):
        out[i] = table[index[i]]


@njit(**_JIT)
def _area_axis(n_in, n_out):
    """Pixel-area resampling weights n_in -> n_out (n_out <= n_in) as (first tap, tap count, weights)."""
    scale = n_in / n_out
    taps = int(math.ceil(scale)) + 1
    first = np.empty(n_out, np.int64)
    count = np.empty(n_out, np.int64)
    weights = np.zeros((n_out, taps), np.float32)
    for o in range(n_out):
        a = o * scale
        b = min(a + scale, float(n_in))
        i0 = int(a)
        first[o] = i0
        k = 0
        i = i0
        while i < b and k < taps:
            weights[o, k] = (min(i + 1.0, b) - max(float(i), a)) / scale
            k += 1
            i += 1
        count[o] = k
    return first, count, weights


@njit(**_JIT)
def _area_reduce_kernel(src, out, tmp):
    """Pixel-area reduction of float32 (H, W, 3) src to out's (h, w, 3), separably (rows first)."""
    h_in, w_in = src.shape[0], src.shape[1]
    h_out, w_out = out.shape[0], out.shape[1]
    fx, nx, wx = _area_axis(w_in, w_out)
    fy, ny, wy = _area_axis(h_in, h_out)
    for y in range(h_in):
        for x in range(w_out):
            a0 = np.float32(0.0)
            a1 = np.float32(0.0)
            a2 = np.float32(0.0)
            i0 = fx[x]
            for k in range(nx[x]):
                wgt = wx[x, k]
                a0 += wgt * src[y, i0 + k, 0]
                a1 += wgt * src[y, i0 + k, 1]
                a2 += wgt * src[y, i0 + k, 2]
            tmp[y, x, 0] = a0
            tmp[y, x, 1] = a1
            tmp[y, x, 2] = a2
    for y in range(h_out):
        j0 = fy[y]
        for x in range(w_out):
            a0 = np.float32(0.0)
            a1 = np.float32(0.0)
            a2 = np.float32(0.0)
            for k in range(ny[y]):
                wgt = wy[y, k]
                a0 += wgt * tmp[j0 + k, x, 0]
                a1 += wgt * tmp[j0 + k, x, 1]
                a2 += wgt * tmp[j0 + k, x, 2]
            out[y, x, 0] = a0
            out[y, x, 1] = a1
            out[y, x, 2] = a2


def decode_area(rgb: np.ndarray, size: tuple[int, int], gamma: float, threshold: float = 1.0,
                gain: float = 0.0) -> np.ndarray:
    """Linearise (``decode_boost``) and reduce to ``size`` = (height, width) by pixel-area averaging.

    The reduction averages linear light, as a sensor integrates it over a pixel (cv2.INTER_AREA on the
    stored values would average gamma-encoded values and darken fine bright detail). Same size: no
    averaging, exactly ``decode_boost``.

    Args:
        rgb: uint8 (H, W, 3), H >= height and W >= width (any C when no reduction is needed).
        size: output (height, width).

    Returns:
        float32 (height, width, C) linear light.
    """
    h, w = int(size[0]), int(size[1])
    linear = decode_boost(rgb, gamma, threshold, gain)
    if rgb.shape[:2] == (h, w):
        return linear
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"decode_area reduces (H, W, 3) images, got {rgb.shape}")
    if rgb.shape[0] < h or rgb.shape[1] < w:
        raise ValueError(f"decode_area only reduces: {rgb.shape[1]}x{rgb.shape[0]} -> {w}x{h}")
    out = np.empty((h, w, 3), np.float32)
    _area_reduce_kernel(linear, out, np.empty((rgb.shape[0], w, 3), np.float32))
    return out


def decode_boost(rgb: np.ndarray, gamma: float, threshold: float = 1.0, gain: float = 0.0) -> np.ndarray:
    """``boost_highlights(decode_tone(rgb, gamma), threshold, gain)`` in one pass: float32 (H, W, C)."""
    if rgb.dtype != np.uint8:
        raise TypeError(f"decode_boost expects uint8, got {rgb.dtype}")
    out = np.empty(rgb.shape, np.float32)
    slope = gain / (1.0 - threshold) if gain > 0.0 else 0.0
    _decode_boost_kernel(np.ascontiguousarray(rgb).reshape(-1), _decode_table(_round_gamma(gamma)),
                         np.float32(threshold if gain > 0.0 else 2.0), np.float32(slope), out.reshape(-1))
    return out


def noise_encode(linear: np.ndarray, gamma: float, noise: np.ndarray | None = None,
                 shot: float = 0.0, read: float = 0.0) -> np.ndarray:
    """``encode_tone(linear + sqrt(shot * x + read) * noise, gamma)`` in one pass, without touching ``linear``.

    Args:
        linear: float32 (H, W, C) linear light.
        gamma: response curve exponent.
        noise: float32 standard normal values, at least ``linear.size`` of them (None: no noise).
        shot, read: variances as in ``add_sensor_noise``.

    Returns:
        uint8 (H, W, C).
    """
    flat = np.ascontiguousarray(linear, dtype=np.float32).reshape(-1)
    if noise is None:
        noise, shot, read = np.zeros(flat.size, np.float32), 0.0, 0.0
    elif noise.size < flat.size:
        raise ValueError(f"need {flat.size} noise values, got {noise.size}")
    noise = np.ascontiguousarray(noise.reshape(-1)[: flat.size], dtype=np.float32)
    out = np.empty(linear.shape, np.uint8)
    index = np.empty(flat.size, np.int32)
    _noise_encode_kernel(flat, noise, np.float32(shot), np.float32(read),
                         _encode_table(_round_gamma(gamma)), index, out.reshape(-1))
    return out


_NOISE_POOL_SIZE = 1 << 22  # 4 Mi standard normals (16 MiB), made once per process


@functools.lru_cache(maxsize=1)
def _noise_pool() -> np.ndarray:
    pool = np.random.default_rng(0x5E5E).standard_normal(_NOISE_POOL_SIZE, dtype=np.float32)
    pool.flags.writeable = False
    return pool


def standard_normal_pool(rng: np.random.Generator, count: int) -> np.ndarray:
    """``count`` standard normal float32 values, cheaply: a window of a fixed pool at an offset drawn
    from ``rng`` (a read-only view).

    Drawing 200k fresh normals costs about as much as the rest of the degradation; a random window of
    a 4 Mi pool is as good for sensor noise (no image pattern repeats at the same place) and is free.
    Falls back to fresh draws when ``count`` exceeds a quarter of the pool.
    """
    if count > _NOISE_POOL_SIZE // 4:
        return rng.standard_normal(count, dtype=np.float32)
    pool = _noise_pool()
    start = int(rng.integers(0, _NOISE_POOL_SIZE - count + 1))
    return pool[start: start + count]


# ----------------------------------------------------------------------------- highlights

def boost_highlights(linear: np.ndarray, threshold: float, gain: float) -> np.ndarray:
    """Make near-saturated pixels brighter than white, in place, so they stay clipped after blurring.

    A stored photo has clipped its lights at 1.0; the scene was brighter. Boosting x > threshold to
    x + gain * (x - threshold) / (1 - threshold) (so 1.0 becomes 1 + gain) lets a blurred lamp smear
    into a saturated streak (or a saturated disk under defocus), as in real shaken photos.

    Args:
        linear: float32 (H, W, C) linear light in [0, 1]; modified in place.
        threshold: linear level above which a pixel counts as a light, in (0, 1).
        gain: extra brightness of a fully white pixel (0 = unchanged).

    Returns:
        ``linear``.
    """
    if gain <= 0.0:
        return linear
    excess = linear - np.float32(threshold)
    np.maximum(excess, 0.0, out=excess)
    excess *= np.float32(gain / (1.0 - threshold))
    linear += excess
    return linear


def add_point_lights(linear: np.ndarray, rng: np.random.Generator, count: int, brightness: tuple[float, float]) -> None:
    """Add ``count`` small lamps (1-3 px squares, linear brightness drawn from ``brightness``) in place.

    Photos of scenes with lamps are where shake shows most clearly (bright streaks); many source
    photos have none, so a few are painted into the linear image before blurring.
    """
    h, w = linear.shape[:2]
    for _ in range(count):
        y, x = int(rng.integers(0, h)), int(rng.integers(0, w))
        r = int(rng.integers(1, 3))
        tint = rng.uniform(0.6, 1.0, size=linear.shape[2]).astype(np.float32)
        linear[max(0, y - r + 1): y + r, max(0, x - r + 1): x + r] = tint * np.float32(rng.uniform(*brightness))


# ----------------------------------------------------------------------------- noise and JPEG

def add_sensor_noise(linear: np.ndarray, rng: np.random.Generator, shot: float, read: float) -> np.ndarray:
    """Signal-dependent Poisson-Gaussian sensor noise in linear light, in place.

    The Poisson (shot) part is approximated by a Gaussian of the same variance (Foi et al. 2008):
    x + sqrt(shot * x + read) * n, n ~ N(0, 1) per pixel and channel.

    Args:
        linear: float32 (H, W, C) linear light (>= 0); modified in place.
        shot: variance per unit of signal (1 / photo-electrons at full scale), e.g. 1e-4-1e-2.
        read: signal-independent variance (read noise), e.g. 1e-7-1e-4.

    Returns:
        ``linear`` (not clipped: ``encode_tone`` clips).
    """
    noise = rng.standard_normal(linear.shape, dtype=np.float32)
    sigma = np.maximum(linear, 0.0) * np.float32(shot)
    sigma += np.float32(read)
    np.sqrt(sigma, out=sigma)
    noise *= sigma
    linear += noise
    return linear


def add_grain(rgb: np.ndarray, rng: np.random.Generator, std_levels: float, sigma_px: float) -> np.ndarray:
    """Spatially correlated luminance noise on an encoded uint8 RGB image: film grain, or what a
    phone's demosaicing and denoising leave of sensor noise (clumps, not single pixels).

    White Gaussian noise is smoothed by a Gaussian of ``sigma_px``, rescaled to a standard deviation
    of ``std_levels`` grey levels (0-255) and added to every channel alike.
    """
    noise = rng.standard_normal(rgb.shape[:2], dtype=np.float32)
    if sigma_px > 0:
        noise = cv2.GaussianBlur(noise, (0, 0), float(sigma_px), borderType=cv2.BORDER_REFLECT_101)
        noise *= np.float32(1.0 / max(float(noise.std()), 1e-6))
    out = rgb.astype(np.float32) + np.float32(std_levels) * noise[..., None]
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def jpeg_roundtrip(rgb: np.ndarray, quality: int) -> np.ndarray:
    """Encode uint8 RGB (H, W, 3) as JPEG at ``quality`` (1-100) and decode it again (uint8 RGB)."""
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)  # JPEG's luma/chroma split assumes BGR order in OpenCV
    ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:  # pragma: no cover - OpenCV always encodes uint8 BGR
        raise RuntimeError("JPEG encoding failed")
    return cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


# ----------------------------------------------------------------------------- reduction

def box_downsample(image: np.ndarray, s: int) -> np.ndarray:
    """Reduce by s x s box averaging (patent [0041]) with cv2.INTER_AREA; s = 1 returns ``image``.

    The output is (H // s, W // s, ...); the trailing rows and columns that do not fill a box are dropped.
    A field on the reduced grid is the full-size field divided by s.
    """
    s = int(s)
    if s < 1:
        raise ValueError(f"box size must be >= 1, got {s}")
    if s == 1:
        return image
    h, w = image.shape[0] // s, image.shape[1] // s
    if h < 1 or w < 1:
        raise ValueError(f"{image.shape[1]}x{image.shape[0]} image is smaller than one {s}x{s} box")
    return cv2.resize(image[: h * s, : w * s], (w, h), interpolation=cv2.INTER_AREA)


# ----------------------------------------------------------------------------- defocus

def disk_kernel(radius_px: float) -> np.ndarray:
    """Normalised disk (pillbox) of ``radius_px`` with a one-pixel anti-aliased rim, float32 (2R+1, 2R+1).

    A defocused lens images a point as a disk, not a Gaussian; radius 0 gives the identity kernel.
    """
    r = max(0.0, float(radius_px))
    half = int(np.ceil(r + 0.5))
    y, x = np.mgrid[-half: half + 1, -half: half + 1].astype(np.float32)
    k = np.clip(np.float32(r + 0.5) - np.hypot(x, y), 0.0, 1.0)
    return (k / k.sum()).astype(np.float32)


_DIRECT_MAX_RADIUS_PX = 3.5  # disks up to 9 x 9 are applied directly; wider ones at a reduced scale (and
#                              OpenCV would switch to a slow DFT above 11 x 11)


def disk_blur(image: np.ndarray, radius_px: float) -> np.ndarray:
    """Blur float32 (H, W[, C]) with a disk of ``radius_px`` (reflected borders), a new array.

    Disks wider than 9 px are applied at a reduced scale (box-reduced by an integer factor, disk of
    radius / factor <= 3.5 px, bilinear enlargement back): a wide disk removes the fine detail that
    the reduction loses, and it is several times faster than filtering at full scale.
    """
    if radius_px <= _DIRECT_MAX_RADIUS_PX:  # (OpenCV drops a single channel axis: reshape restores it)
        return cv2.filter2D(image, -1, disk_kernel(radius_px), borderType=cv2.BORDER_REFLECT).reshape(image.shape)
    h, w = image.shape[:2]
    factor = int(np.ceil(radius_px / _DIRECT_MAX_RADIUS_PX))
    small = cv2.resize(image, (max(1, round(w / factor)), max(1, round(h / factor))), interpolation=cv2.INTER_AREA)
    small = cv2.filter2D(small, -1, disk_kernel(radius_px / factor), borderType=cv2.BORDER_REFLECT)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR).reshape(image.shape)


def defocus(linear: np.ndarray, radius_px: np.ndarray, levels: int = 5) -> np.ndarray:
    """Spatially varying disk blur: each pixel takes the disk blur of its own radius.

    The image is disk-blurred at ``levels`` radii from 0 to max(radius_px) and each pixel blends the
    two levels around its radius linearly (a layered approximation of a depth-varying lens blur).
    Run it on linear light so boosted highlights turn into bright disks (bokeh).

    Args:
        linear: float32 (H, W, C) linear light.
        radius_px: float32 (H, W) disk radius per pixel, >= 0, in pixels.
        levels: number of blur levels (>= 2).

    Returns:
        float32 (H, W, C), a new array.
    """
    levels = max(2, int(levels))
    r_max = float(radius_px.max())
    if r_max <= 0.0:
        return linear.copy()
    radii = np.linspace(0.0, r_max, levels, dtype=np.float32)
    pos = np.ascontiguousarray(radius_px * np.float32((levels - 1) / r_max), dtype=np.float32)  # 0 .. levels - 1
    src = np.ascontiguousarray(linear, dtype=np.float32)
    src3 = src.reshape(src.shape[0], src.shape[1], -1)
    out = np.zeros_like(src3)
    for level, r in enumerate(radii):
        lo, hi = level - 1.0, level + 1.0  # pixels whose radius is near this level use it
        if not ((pos > lo) & (pos < hi)).any():
            continue
        blurred = src3 if r == 0.0 else disk_blur(src3, float(r))
        _blend_level_kernel(out, np.ascontiguousarray(blurred, dtype=np.float32), pos, np.float32(level))
    return out.reshape(linear.shape)


@njit(**_JIT)
def _blend_level_kernel(out, level_image, pos, level):
    """out += level_image * max(0, 1 - |pos - level|): linear interpolation between blur levels."""
    h, w, c = out.shape
    for y in range(h):
        for x in range(w):
            weight = np.float32(1.0) - abs(pos[y, x] - level)
            if weight > 0.0:
                for ch in range(c):
                    out[y, x, ch] += weight * level_image[y, x, ch]


def layered_portrait(subject: np.ndarray, background: np.ndarray, rng: np.random.Generator,
                     max_radius_px: float, levels: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """A shallow-depth-of-field photo: a sharp subject in front of a defocused, depth-graded background.

    What a portrait lens or a phone's portrait mode makes: the background (another scene, with its own
    texture and lights) is disk-blurred with a radius that grows with distance behind the subject and
    towards the top of the frame, and the sharp subject is laid over it with a hard, slightly
    anti-aliased outline (an occlusion edge: sharp next to blurred, which blur estimators find hardest).

    Args:
        subject, background: float32 (S, S, C) linear light, the same shape.
        max_radius_px: largest background disk radius.

    Returns:
        (image float32 (S, S, C), subject mask float32 (S, S) in [0, 1]).
    """
    h, w = subject.shape[:2]
    mask = np.zeros((h, w), np.float32)
    # a head-and-shoulders or object silhouette: two to four overlapping ellipses, touching the bottom
    cx = rng.uniform(0.25, 0.75) * w
    for k in range(int(rng.integers(2, 5))):
        centre = (float(cx + rng.uniform(-0.2, 0.2) * w), float(rng.uniform(0.35 + 0.1 * k, 1.0) * h))
        axes = (float(rng.uniform(0.1, 0.35) * w), float(rng.uniform(0.12, 0.45) * h))
        cv2.ellipse(mask, (centre, axes, float(rng.uniform(-30, 30))), 1.0, thickness=-1)
    mask = cv2.GaussianBlur(mask, (0, 0), float(rng.uniform(0.4, 1.2)))
    y = np.arange(h, dtype=np.float32)[:, None] / max(h - 1, 1)
    lo = rng.uniform(0.35, 0.9)  # the nearest background is already well out of focus
    radius = max_radius_px * (lo + (1.0 - lo) * smoothstep(1.0 - y + rng.uniform(-0.2, 0.2)))
    radius = np.ascontiguousarray(np.broadcast_to(radius, (h, w)), dtype=np.float32)
    blurred = defocus(background, radius, levels)
    out = blurred + mask[..., None] * (subject - blurred)
    return out.astype(np.float32, copy=False), mask


def smoothstep(x: np.ndarray) -> np.ndarray:
    """3x^2 - 2x^3 on x clipped to [0, 1]: a smooth 0 -> 1 ramp."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def portrait_radius_map(height: int, width: int, rng: np.random.Generator, max_radius_px: float,
                        full_frame: bool = False) -> np.ndarray:
    """Disk radius per pixel for a portrait-mode-like photo, float32 (H, W), pixels.

    Portrait: a sharp elliptical subject (radius 0) at a random place; outside it the radius grows
    smoothly to ``max_radius_px`` over a random distance, and grows more towards the top of the frame
    (the background is usually farther away up there). Full frame: the whole frame is out of focus,
    radius between 0.5 and 1.0 of the maximum varying smoothly across the frame.
    """
    y = np.arange(height, dtype=np.float32)[:, None] / max(height - 1, 1)
    x = np.arange(width, dtype=np.float32)[None, :] / max(width - 1, 1)
    if full_frame:
        angle = rng.uniform(0.0, 2.0 * np.pi)
        ramp = (np.cos(angle) * (x - 0.5) + np.sin(angle) * (y - 0.5)) + 0.5  # about 0..1 across the frame
        lo = rng.uniform(0.5, 1.0)
        r = max_radius_px * (lo + (1.0 - lo) * np.clip(ramp, 0.0, 1.0))
        return np.ascontiguousarray(np.broadcast_to(r, (height, width)), dtype=np.float32)
    cy, cx = rng.uniform(0.35, 0.75), rng.uniform(0.25, 0.75)
    ay, ax = rng.uniform(0.15, 0.4), rng.uniform(0.1, 0.3)
    d = np.sqrt(((y - cy) / ay) ** 2 + ((x - cx) / ax) ** 2)  # 1 on the subject's outline
    falloff = rng.uniform(0.2, 1.0)  # in subject radii
    behind = smoothstep((d - 1.0) / falloff)
    depth = 1.0 - 0.4 * smoothstep(y)  # farther (more blur) at the top
    return (max_radius_px * behind * depth).astype(np.float32)
