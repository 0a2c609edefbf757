"""PyTorch datasets of training samples: made on the fly, or read from a folder written by ``jitteredge synth``.

An item is a dict of
    image: float32 tensor (3, S, S), RGB normalised as ``preprocess.normalize`` ((x / 255 - 0.5) / 0.25);
    code:  float32 tensor (2, S, S), the label's sign-invariant code (``fieldcode.encode_field``,
           divided by CODE_SCALE_PX), what the network predicts;
    field: float32 tensor (2, S, S), the label (U, V) in pixels, channels first (for metrics);
    kind:  str, one of ``jitteredge.synth.sample.KINDS`` (or "unknown" for folders without a manifest).

Items are deterministic: item i of ``SynthDataset`` is drawn from the RNG seeded by (seed, epoch, i),
so a DataLoader gives the same data whatever its worker count; call ``set_epoch`` for fresh samples.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from jitteredge.errors import JitterEdgeError
from jitteredge.fieldcode import CODE_SCALE_PX, encode_field
from jitteredge.preprocess import normalize
from jitteredge.synth.sample import Sample, SampleConfig, make_sample, prefer_fork_safe_numba
from jitteredge.synth.sources import open_source


prefer_fork_safe_numba()  # DataLoader workers are forked

_REPORTED: set[str] = set()  # unreadable photos already reported by this process
_SAMPLE_STREAM = 0x5A3D  # separates sample RNG streams from other uses of the same seed
_VALIDATION_EPOCH = 2**31 - 1  # validation samples use an epoch no training run reaches


def sample_rng(seed: int, index: int, epoch: int = 0) -> np.random.Generator:
    """The generator of sample ``index`` in ``epoch`` for ``seed`` (independent streams per triple)."""
    return np.random.default_rng([_SAMPLE_STREAM, int(seed), int(epoch), int(index)])


def draw_sample(source, cfg: SampleConfig, seed: int, index: int, epoch: int = 0) -> Sample:
    """Sample ``index``: a photo drawn from ``source`` and ``make_sample`` on it, both from ``sample_rng``.

    The photo index is recorded in ``sample.params["photo"]``. A photo that cannot be read is reported
    once on stderr and replaced by the next one (deterministically), so one bad file does not stop a run.
    """
    rng = sample_rng(seed, index, epoch)
    photo_index = int(rng.integers(0, len(source)))
    for _ in range(len(source)):
        try:
            photo = source.load(photo_index, rng)
            break
        except JitterEdgeError as exc:
            if str(exc) not in _REPORTED:
                _REPORTED.add(str(exc))
                print(f"jitteredge: skipping unreadable photo: {exc}", file=sys.stderr)
            photo_index = (photo_index + 1) % len(source)
    else:
        raise JitterEdgeError(f"{getattr(source, 'folder', source)}: no readable photos")
    sample = make_sample(photo, rng, cfg)
    sample.params["photo"] = photo_index
    return sample


def sample_to_item(image: np.ndarray, field: np.ndarray, kind: str) -> dict[str, Any]:
    """uint8 (S, S, 3) RGB image + float32 (S, S, 2) field -> the item dict described in the module docstring.

    The image is normalised by ``preprocess.normalize``, the code inference uses."""
    code = encode_field(field, CODE_SCALE_PX)
    return {
        "image": torch.from_numpy(normalize(image)[0]),
        "code": torch.from_numpy(np.ascontiguousarray(code.transpose(2, 0, 1))),
        "field": torch.from_numpy(np.ascontiguousarray(field.astype(np.float32, copy=False).transpose(2, 0, 1))),
        "kind": kind,
    }


class SynthDataset(Dataset):
    """Samples made on the fly from a photo source.

    Photos are decoded once and cached per process (``FolderSource``); procedural photos are generated
    per item (about 20 ms each at 320 px on one core, more than the sample itself), so reuse batches
    or write a dataset with ``jitteredge synth procedural`` when they are the only source.

    Args:
        source: "procedural", "bsds500[:split]", a folder, or an open source (``synth.sources``).
        cfg: SampleConfig (size, mixture, realism).
        length: items per epoch.
        seed: base seed; item i of epoch e comes from ``sample_rng(seed, i, e)``.
    """

    def __init__(self, source, cfg: SampleConfig = SampleConfig(), length: int = 10_000, seed: int = 0):
        self.source = open_source(source, seed=seed)
        self.cfg = cfg
        self.length = int(length)
        self.seed = int(seed)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Draw different samples from now on (call before each epoch; persists in workers created after)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.length

    def sample(self, index: int) -> Sample:
        if not 0 <= index < self.length:
            raise IndexError(f"index {index} out of range for {self.length} samples")
        return draw_sample(self.source, self.cfg, self.seed, index, self.epoch)

    def __getitem__(self, index: int) -> dict[str, Any]:
        s = self.sample(int(index))
        return sample_to_item(s.image, s.field, s.kind)


def worker_init_fn(worker_id: int) -> None:
    """DataLoader worker setup: die with the training process (a kill -9 of the trainer must not
    leave workers behind; Linux only), leave Ctrl-C to the trainer (it saves, then stops the
    workers), and one thread each for Numba, OpenCV and torch (the workers are the parallelism; more
    threads per worker oversubscribe the cores). Items need no reseeding: each is seeded from
    (seed, epoch, index)."""
    import signal

    import cv2

    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    cv2.setNumThreads(1)
    torch.set_num_threads(1)
    try:
        import numba

        numba.set_num_threads(1)
    except (ImportError, ValueError):  # pragma: no cover
        pass


def open_training_source(name: str):
    """Training photos: "procedural" (dead-leaves family 0), "bsds500" (its train split) or a folder.

    Raises:
        JitterEdgeError: a missing or empty folder.
    """
    if name == "procedural":
        return open_source("procedural", seed=0)
    if name == "bsds500":
        return open_source("bsds500:train")
    return open_source(name)


class IndexSampler:
    """Sample indices for base batches ``first``.. ``last - 1`` of this rank, in order.

    Index of slot i of base batch b on rank r of w: (b * w + r) * batch + i. SynthDataset items are
    deterministic per index, so the data does not depend on workers, restarts or the device.
    """

    def __init__(self, first: int, last: int, batch: int, rank: int = 0, world: int = 1):
        self.first, self.last, self.batch, self.rank, self.world = first, last, batch, rank, world

    def __iter__(self):
        for b in range(self.first, self.last):
            start = (b * self.world + self.rank) * self.batch
            yield from range(start, start + self.batch)

    def __len__(self) -> int:
        return max(0, self.last - self.first) * self.batch


def training_loader(source, cfg: SampleConfig, seed: int, first: int, last: int, batch: int, workers: int,
                    rank: int = 0, world: int = 1, pin_memory: bool = False):
    """A DataLoader of SynthDataset items for base batches ``first`` .. ``last - 1`` of this rank."""
    dataset = SynthDataset(source, cfg, length=(last * world + world) * batch, seed=seed)
    return torch.utils.data.DataLoader(
        dataset, batch_size=batch, sampler=IndexSampler(first, last, batch, rank, world),
        num_workers=workers, worker_init_fn=worker_init_fn if workers else None,
        pin_memory=pin_memory, prefetch_factor=4 if workers else None,
        # spawn, not fork: a child forked after the parent ran an OpenMP region (torch, Numba) can
        # hang in its first threaded call. Costs a few seconds of start-up per worker, once per run.
        multiprocessing_context="spawn" if workers else None)


def batches(loader):
    """(images, codes) tensors of each batch of a training loader."""
    for batch in loader:
        yield batch["image"], batch["code"]


def dihedral(images, codes, ops):
    """Apply one of the 8 flips/transposes per sample to images and their field codes, exactly.

    Transposing swaps U and V, which negates the first code component (U^2 - V^2) / |M|; flipping
    either axis negates U or V, which negates the second (2 U V / |M|). Square samples only.

    Args:
        images: (N, 3, S, S); codes: (N, 2, S, S) tensors; ops: int array (N,) in [0, 8): bit 0
            transpose, bit 1 flip columns, bit 2 flip rows.
    Returns:
        transformed (images, codes), new tensors.
    """
    out_images, out_codes = [], []
    for x, c, op in zip(images, codes, ops.tolist()):
        if op & 1:
            x, c = x.transpose(-1, -2), c.transpose(-1, -2)
            c = torch.stack([-c[0], c[1]])
        if op & 2:
            x, c = x.flip(-1), c.flip(-1)
            c = torch.stack([c[0], -c[1]])
        if op & 4:
            x, c = x.flip(-2), c.flip(-2)
            c = torch.stack([c[0], -c[1]])
        out_images.append(x)
        out_codes.append(c)
    return torch.stack(out_images), torch.stack(out_codes)


def make_validation_set(source, cfg: SampleConfig = SampleConfig(), n: int = 64, seed: int = 1234) -> list[Sample]:
    """A fixed list of ``n`` samples (the same for the same arguments), for validation during training.

    Kinds follow ``cfg``'s mixture. Use a ``seed`` different from the training seed, and ideally a
    different source (e.g. "bsds500:val"), so validation photos are not training photos.
    """
    src = open_source(source, seed=seed)
    return [draw_sample(src, cfg, seed, i, epoch=_VALIDATION_EPOCH) for i in range(int(n))]


class FolderDataset(Dataset):
    """Samples written by ``jitteredge synth``: ``<id>.png`` (image) + ``<id>.flow.npy`` (field) pairs.

    Kinds come from ``manifest.jsonl`` when present. Only complete pairs are used.
    """

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise JitterEdgeError(f"{self.folder}: no such dataset folder")
        ids = sorted(p.name[: -len(".flow.npy")] for p in self.folder.glob("*.flow.npy"))
        self.ids = [i for i in ids if (self.folder / f"{i}.png").exists()]
        if not self.ids:
            raise JitterEdgeError(f"{self.folder}: no samples (<id>.png + <id>.flow.npy) found")
        self.kinds: dict[str, str] = {}
        manifest = self.folder / "manifest.jsonl"
        if manifest.exists():
            for line in manifest.read_text().splitlines():
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line cut by an interrupted run
                if isinstance(entry, dict) and "id" in entry:
                    self.kinds[entry["id"]] = entry.get("kind", "unknown")

    def __len__(self) -> int:
        return len(self.ids)

    def load(self, index: int) -> Sample:
        """Sample ``index`` as written (image uint8 RGB, field float32 px)."""
        from jitteredge.fileio import read_rgb

        sid = self.ids[index]
        image = read_rgb(self.folder / f"{sid}.png")
        field = np.load(self.folder / f"{sid}.flow.npy")
        if field.shape != image.shape[:2] + (2,):
            raise JitterEdgeError(f"{self.folder / sid}.flow.npy: shape {field.shape} does not match "
                                  f"its image {image.shape[:2]}")
        return Sample(image=image, field=field.astype(np.float32, copy=False), kind=self.kinds.get(sid, "unknown"),
                      params={"id": sid})

    def __getitem__(self, index: int) -> dict[str, Any]:
        s = self.load(int(index))
        return sample_to_item(s.image, s.field, s.kind)
