"""Where sharp photos come from: a folder of images, BSDS500, or built-in procedural dead-leaves images.

Every source has ``len(source)``, ``source.load(index, rng) -> uint8 (H, W, 3) RGB`` and
``source.name(index) -> str`` (for manifests and messages). ``open_source(spec)`` picks one:

* ``"procedural"``: dead-leaves images generated on the fly, deterministic per index, so the package
  works without any data;
* ``"bsds500"`` (or ``"bsds500:val"``): the BSDS500 photos in ``$JITTEREDGE_BSDS500`` or
  ``../shared/data/bsds500/<split>`` beside the repository, used only where they exist;
* anything else: a folder searched recursively for every format OpenCV reads.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from jitteredge.errors import JitterEdgeError
from jitteredge.fileio import MIN_SIDE_PX, list_images, read_rgb

BSDS500_ENV = "JITTEREDGE_BSDS500"
BSDS500_SPLITS = ("train", "val", "test")
_REPO_ROOT = Path(__file__).resolve().parents[2]


class FolderSource:
    """Every image below a folder (recursively, any format OpenCV decodes), in sorted path order.

    ``load`` raises JitterEdgeError naming the file for unreadable images; decoded photos are kept in an
    in-memory cache (at most ``cache_size`` photos and ``cache_mb`` megabytes) because a dataset draws
    many samples from each, and decoding a large JPEG costs more than making a sample from it.
    """

    def __init__(self, folder: str | os.PathLike, cache_size: int = 1024, min_side_px: int = MIN_SIDE_PX,
                 cache_mb: float = 3072.0):
        self.folder = Path(folder)
        self.paths = list_images(self.folder)
        if not self.paths:
            raise JitterEdgeError(f"{self.folder}: no images found (searched recursively for .jpg, .png, .tif, .webp, ...)")
        self.cache_size = int(cache_size)
        self.min_side_px = int(min_side_px)  # smaller photos raise JitterEdgeError in load
        self.cache_mb = float(cache_mb)
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._cache_bytes = 0

    def __len__(self) -> int:
        return len(self.paths)

    def name(self, index: int) -> str:
        return str(self.paths[index])

    def load(self, index: int, rng: np.random.Generator | None = None) -> np.ndarray:
        """The photo at ``index`` as uint8 (H, W, 3) RGB (``rng`` unused: photos are fixed)."""
        cached = self._cache.get(index)
        if cached is not None:
            self._cache.move_to_end(index)
            return cached
        img = read_rgb(self.paths[index], min_side=self.min_side_px)
        if self.cache_size > 0:
            self._cache[index] = img
            self._cache_bytes += img.nbytes
            while self._cache and (len(self._cache) > self.cache_size or self._cache_bytes > self.cache_mb * 2**20):
                self._cache_bytes -= self._cache.popitem(last=False)[1].nbytes
        return img

    def __getstate__(self) -> dict:  # workers get the path list, not the cache
        state = dict(self.__dict__)
        state["_cache"] = OrderedDict()
        state["_cache_bytes"] = 0
        return state


@dataclass(frozen=True)
class DeadLeavesConfig:
    """Shape of the procedural dead-leaves images."""

    size_px: int = 320  # side of the square image
    background_leaves: int = 10  # big leaves (0.25-0.7 of the side) drawn first, so no bare background shows
    shapes: int = 300  # leaves drawn per image (later ones occlude earlier ones)
    min_radius_px: float = 2.0  # leaf radii follow a 1/r^3 law between these (scale invariance)
    max_radius_px: float = 100.0
    rect_fraction: float = 0.4  # share of rotated rectangles (straight edges at all orientations); rest are discs
    textured_fraction: float = 0.5  # share of leaves modulated by a texture layer (gratings, noise, gradients)
    supersample: int = 2  # rendered at this factor and box-reduced, for anti-aliased edges like a lens gives


class ProceduralSource:
    """Dead-leaves images: random discs and rotated rectangles with random colours, occluding one another.

    Each leaf has a flat colour, or its colour modulated by one of a few full-frame texture layers:
    smooth gradients, fine and coarse noise, and sinusoidal gratings at random orientations. Leaf sizes
    follow the 1/r^3 law that makes dead leaves statistically scale invariant, like natural images, so
    there are edges at every orientation and scale. Image ``index`` is the same on every call.
    """

    def __init__(self, length: int = 10_000, seed: int = 0, config: DeadLeavesConfig = DeadLeavesConfig()):
        self.length = int(length)
        self.seed = int(seed)
        self.config = config

    def __len__(self) -> int:
        return self.length

    def name(self, index: int) -> str:
        return f"procedural:{self.seed}:{index}"

    def load(self, index: int, rng: np.random.Generator | None = None) -> np.ndarray:
        """Dead-leaves image ``index`` as uint8 (size_px, size_px, 3) RGB (``rng`` unused: deterministic per index)."""
        if not 0 <= index < self.length:
            raise IndexError(f"procedural image {index} out of range 0..{self.length - 1}")
        return dead_leaves(np.random.default_rng([self.seed, int(index), 0x1EAF]), self.config)


_N_LAYERS = 7  # flat, two gradients, two gratings, two noises (see _texture_layers)


def _texture_layers(n: int, rng: np.random.Generator) -> np.ndarray:
    """Full-frame modulation layers, float32 (K, n, n) in about [-1, 1]; layer 0 is flat (zeros)."""
    y, x = np.mgrid[0:n, 0:n].astype(np.float32) / np.float32(n)
    layers = [np.zeros((n, n), np.float32)]

    def plane(angle: float) -> np.ndarray:  # x' along ``angle``, float32
        return np.float32(np.cos(angle)) * x + np.float32(np.sin(angle)) * y

    for _ in range(2):  # smooth gradients
        g = plane(float(rng.uniform(0, 2 * np.pi)))
        layers.append((g - g.mean()) / max(float(np.abs(g - g.mean()).max()), 1e-6))
    for period_px in (rng.uniform(3.0, 6.0), rng.uniform(8.0, 30.0)):  # fine and coarse gratings
        g = plane(float(rng.uniform(0, np.pi)))
        g *= np.float32(2 * np.pi * n / period_px)
        g += np.float32(rng.uniform(0, 2 * np.pi))
        layers.append(np.sin(g))
    for sigma in (0.0, rng.uniform(2.0, 5.0)):  # fine noise, coarse blotches
        noise = rng.standard_normal((n, n), dtype=np.float32)
        if sigma:
            noise = cv2.GaussianBlur(noise, (0, 0), sigma)
        layers.append(np.clip(noise * np.float32(0.5 / max(float(noise.std()), 1e-6)), -1.0, 1.0))
    return np.stack(layers)


def dead_leaves(rng: np.random.Generator, config: DeadLeavesConfig = DeadLeavesConfig()) -> np.ndarray:
    """One dead-leaves image, uint8 (size_px, size_px, 3) RGB, from ``rng``."""
    c = config
    ss = max(1, int(c.supersample))
    n = int(c.size_px) * ss
    labels = np.zeros((n, n), np.int32)  # leaf index per pixel; 0 is the background
    # a few big leaves first cover the frame; then radii from p(r) ~ r^-3 on [rmin, rmax]
    # (inverse transform sampling), drawn over them in random order
    big = int(c.background_leaves)
    count = big + int(c.shapes)
    rmin, rmax = c.min_radius_px * ss, c.max_radius_px * ss
    u = rng.uniform(size=count)
    radii = 1.0 / np.sqrt(u / rmax**2 + (1.0 - u) / rmin**2)
    radii[:big] = rng.uniform(0.25 * n, 0.7 * n, size=big)
    centres = rng.uniform(-0.1 * n, 1.1 * n, size=(count, 2))
    is_rect = rng.uniform(size=count) < c.rect_fraction
    for k in range(count):
        cx, cy = centres[k]
        r = radii[k]
        if is_rect[k]:
            aspect = rng.uniform(0.2, 1.0)
            box = ((float(cx), float(cy)), (float(2 * r), float(2 * r * aspect)), float(rng.uniform(0, 180)))
            cv2.fillConvexPoly(labels, np.rint(cv2.boxPoints(box)).astype(np.int32), k + 1)
        else:
            cv2.circle(labels, (int(round(cx)), int(round(cy))), max(1, int(round(r))), k + 1, thickness=-1)

    colours = rng.uniform(0.03, 0.97, size=(count + 1, 3)).astype(np.float32)
    grey = rng.uniform(size=count + 1) < 0.25  # some nearly grey leaves, as in real scenes
    colours[grey] = colours[grey].mean(axis=1, keepdims=True)
    material = np.where(rng.uniform(size=count + 1) < c.textured_fraction,
                        rng.integers(1, _N_LAYERS, size=count + 1), 0).astype(np.int32)
    amplitude = rng.uniform(0.1, 0.6, size=count + 1).astype(np.float32)

    layers = _texture_layers(int(c.size_px), rng)  # at the output size: texture needs no anti-aliasing
    rows, cols = np.indices((n, n), sparse=True)
    modulation = layers[material[labels], rows // ss, cols // ss] * amplitude[labels]
    modulation += np.float32(1.0)
    modulation *= np.float32(255.0)
    img = colours[labels] * modulation[..., None]
    img = np.clip(img, 0, 255).astype(np.uint8)
    if ss > 1:
        img = cv2.resize(img, (int(c.size_px), int(c.size_px)), interpolation=cv2.INTER_AREA)
    return img


def bsds500_folder(split: str = "train") -> Path:
    """The BSDS500 split folder: ``$JITTEREDGE_BSDS500/<split>`` if set, else ../shared/data/bsds500/<split>."""
    if split not in BSDS500_SPLITS:
        raise JitterEdgeError(f"bsds500:{split}: unknown split; choose from {', '.join(BSDS500_SPLITS)}")
    env = os.environ.get(BSDS500_ENV)
    root = Path(env) if env else _REPO_ROOT.parent / "shared" / "data" / "bsds500"
    folder = root / split
    if not folder.is_dir():
        raise JitterEdgeError(
            f"{folder}: BSDS500 {split} photos not found; set {BSDS500_ENV} to the folder holding "
            f"train/, val/ and test/, or use a folder of photos or 'procedural'")
    return folder


def open_source(spec: str | os.PathLike | FolderSource | ProceduralSource, seed: int = 0, length: int | None = None):
    """Resolve a source spec to a source object.

    Args:
        spec: "procedural", "bsds500" / "bsds500:<split>", a folder path, or an already open source
            (returned unchanged).
        seed: procedural only: which family of dead-leaves images.
        length: procedural only: how many images (default 10000).

    Raises:
        JitterEdgeError: the folder (or BSDS500) does not exist or holds no images.
    """
    if isinstance(spec, (FolderSource, ProceduralSource)) or hasattr(spec, "load"):
        return spec
    text = str(spec)
    if text == "procedural":
        return ProceduralSource(length=10_000 if length is None else length, seed=seed)
    if text == "bsds500" or text.startswith("bsds500:"):
        split = text.partition(":")[2] or "train"
        return FolderSource(bsds500_folder(split))
    return FolderSource(text)
