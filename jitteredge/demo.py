"""Built-in demo photos, so `jitteredge analyze --demo` runs with no data at all.

Four photos from the procedural (dead-leaves) source, each through the same synthesis as training:
a sharp one, one shaken along a straight jitter field, one shaken along a curved camera path, and a
portrait-style defocused (bokeh) one. The true field is written beside each photo, so what the model
reads can be compared with what was drawn.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from jitteredge.fileio import save_npy_atomic, write_image_atomic
from jitteredge.fieldcode import magnitude

DEMO_SIZE_PX = 320
# kind -> mixture that makes only that kind; the blur scale is fixed so the shaken ones clearly are.
_DEMO_KINDS = {
    "sharp": dict(shake_fraction=0.0, curved_fraction=0.0, sharp_fraction=1.0, defocus_fraction=0.0),
    "shaken": dict(shake_fraction=1.0, curved_fraction=0.0, sharp_fraction=0.0, defocus_fraction=0.0),
    "curved": dict(shake_fraction=0.0, curved_fraction=1.0, sharp_fraction=0.0, defocus_fraction=0.0),
    "bokeh": dict(shake_fraction=0.0, curved_fraction=0.0, sharp_fraction=0.0, defocus_fraction=1.0),
}


def write_demo_photos(folder: str | Path, seed: int = 7) -> list[tuple[Path, float]]:
    """Write demo_<kind>.png and demo_<kind>.truth.npy into ``folder``.

    Returns:
        [(photo path, true median blur length in px over the pixels blurred by more than 0.5 px)].
    """
    from jitteredge.synth.sample import SampleConfig, make_sample
    from jitteredge.synth.sources import open_source

    folder = Path(folder)
    source = open_source("procedural", seed=seed)
    base = SampleConfig(size_px=DEMO_SIZE_PX, mild_fraction=0.0, blur_scale=(0.6, 0.6), subject_fraction=0.0,
                        jpeg_prob=1.0, jpeg_quality=(88, 89), defocus_radius_px=(6.0, 6.0))
    written = []
    for k, (kind, mixture) in enumerate(_DEMO_KINDS.items()):
        rng = np.random.default_rng([seed, k])
        photo = source.load(k, rng)
        sample = make_sample(photo, rng, replace(base, **mixture))
        path = folder / f"demo_{kind}.png"
        save_npy_atomic(folder / f"demo_{kind}.truth.npy", sample.field)
        write_image_atomic(path, sample.image)
        mag = magnitude(sample.field)
        written.append((path, float(np.median(mag[mag > 0.5])) if (mag > 0.5).any() else 0.0))
    return written
