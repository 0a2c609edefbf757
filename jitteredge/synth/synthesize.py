"""Write a training set to disk: ``jitteredge synth SRC --out DIR``.

For every source photo i and sample k < per_image, sample ``<i:06d>-<k:03d>`` is
``make_sample(photo, rng(seed, i, k), cfg)``, written as

    <id>.flow.npy  float32 (S, S, 2) field (U, V) in pixels (written first)
    <id>.png       uint8 RGB blurred image (written second)

each atomically, and then one line in ``manifest.jsonl`` (id, source photo, kind, params, seed).
At the end ``manifest.jsonl`` is rewritten sorted, and ``manifest.json`` holds the settings and the
counts. A sample is finished when both files and its manifest line exist, so a rerun skips finished
samples and remakes the rest (identically: the RNG depends only on (seed, i, k)), and an interrupted
run never leaves a half-written sample. Results do not depend on the worker count.
"""

from __future__ import annotations

import json
import multiprocessing
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from jitteredge import __version__
from jitteredge.errors import JitterEdgeError
from jitteredge.fileio import ensure_writable_dir, save_npy_atomic, write_bytes_atomic, write_image_atomic
from jitteredge.synth.sample import SampleConfig, make_sample
from jitteredge.synth.sources import FolderSource, open_source

MANIFEST_LINES = "manifest.jsonl"
MANIFEST = "manifest.json"
FORMAT = "jitteredge-synth"
FORMAT_VERSION = 1
PROCEDURAL_DEFAULT_PHOTOS = 100  # procedural photos made when --limit is not given
_SYNTH_STREAM = 0x51A7  # separates these RNG streams from the datasets' (data.sample_rng)


@dataclass(frozen=True)
class SynthConfig:
    """What ``synthesize`` writes."""

    source: str  # "procedural", "bsds500[:split]" or a folder of photos
    out_dir: str  # output folder (created)
    per_image: int = 4  # samples per source photo
    seed: int = 0  # every sample's RNG comes from (seed, photo index, sample index)
    workers: int = 1  # processes; 1 works in this process
    limit: int | None = None  # use at most this many photos (procedural: how many to make, default 100)
    sample: SampleConfig = SampleConfig()
    progress: bool = True  # tqdm bar on stderr

    @staticmethod
    def file_values(values: dict) -> dict:
        """A config file may give SampleConfig fields at the top level (``size_px: 128``) as well as
        under ``sample:``; they go to ``sample``."""
        from dataclasses import fields

        own = {f.name for f in fields(SynthConfig)}
        sample_keys = {f.name for f in fields(SampleConfig)}
        loose = {k: values.pop(k) for k in list(values) if k not in own and k in sample_keys}
        if loose:
            nested = values.get("sample") or {}
            if not isinstance(nested, dict):
                raise JitterEdgeError(f"sample: expected a mapping of SampleConfig fields, got {nested!r}")
            values["sample"] = {**loose, **nested}
        return values

    def validate(self) -> "SynthConfig":
        """Refuse values no run can use, with one line; returns self."""
        if self.per_image < 1:
            raise JitterEdgeError(f"--per-image must be at least 1, got {self.per_image}")
        if self.limit is not None and self.limit < 1:
            raise JitterEdgeError(f"--limit must be at least 1, got {self.limit}")
        if self.workers < 1:
            raise JitterEdgeError(f"--workers must be at least 1, got {self.workers}")
        if self.sample.size_px < 16:
            raise JitterEdgeError(f"--size {self.sample.size_px}: must be at least 16 px")
        if self.sample.downsample < 1:
            raise JitterEdgeError(f"--downsample {self.sample.downsample}: must be at least 1")
        return self


@dataclass
class SynthSummary:
    """What a run did."""

    out_dir: str
    photos: int = 0  # source photos considered
    written: int = 0  # samples made in this run
    present: int = 0  # samples already finished by an earlier run
    skipped: dict[str, int] = field(default_factory=dict)  # photos skipped, by reason
    kinds: dict[str, int] = field(default_factory=dict)  # samples in the folder, by kind
    seconds: float = 0.0

    def line(self) -> str:
        skipped = sum(self.skipped.values())
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(self.skipped.items()))
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(self.kinds.items()))
        return (f"summary: {self.written} samples written, {self.present} already present, "
                f"{skipped} photos skipped{f' ({reasons})' if reasons else ''}, "
                f"{self.photos} photos; kinds: {kinds or 'none'}; {self.seconds:.1f} s -> {self.out_dir}")


def synth_rng(seed: int, photo_index: int, sample_index: int) -> np.random.Generator:
    """The generator of sample ``sample_index`` of photo ``photo_index``."""
    return np.random.default_rng([_SYNTH_STREAM, int(seed), int(photo_index), int(sample_index)])


def sample_id(photo_index: int, sample_index: int) -> str:
    return f"{photo_index:06d}-{sample_index:03d}"


# ----------------------------------------------------------------------------- workers

_WORKER_SOURCE = None  # each worker process opens the source once


def _open(cfg: SynthConfig):
    if cfg.source == "procedural":
        return open_source("procedural", seed=cfg.seed, length=cfg.limit or PROCEDURAL_DEFAULT_PHOTOS)
    src = open_source(cfg.source)
    if isinstance(src, FolderSource):
        src.cache_size = 0  # each photo is read once here
        src.min_side_px = 1  # small photos are reported as "too small" against the sample size instead
    return src


def _init_worker(cfg: SynthConfig) -> None:
    global _WORKER_SOURCE
    import cv2

    cv2.setNumThreads(1)
    _WORKER_SOURCE = _open(cfg)


def _make_photo_samples(cfg: SynthConfig, photo_index: int, pending: list[int], source=None) -> dict[str, Any]:
    """Make and write the pending samples of one photo. Returns {"name", "entries", "skip": (reason, message) | None}."""
    src = source if source is not None else _WORKER_SOURCE
    name = src.name(photo_index)
    try:
        photo = src.load(photo_index)
    except JitterEdgeError as exc:
        return {"name": name, "entries": [], "pending": len(pending), "skip": ("unreadable", str(exc))}
    size = int(cfg.sample.size_px)
    if min(photo.shape[:2]) < size:
        return {"name": name, "entries": [], "pending": len(pending),
                "skip": ("too small", f"{name}: {photo.shape[1]}x{photo.shape[0]} px is smaller than the {size} px samples")}
    out = Path(cfg.out_dir)
    entries = []
    for k in pending:
        sid = sample_id(photo_index, k)
        sample = make_sample(photo, synth_rng(cfg.seed, photo_index, k), cfg.sample)
        save_npy_atomic(out / f"{sid}.flow.npy", sample.field)  # field first: an image implies its field
        write_image_atomic(out / f"{sid}.png", sample.image, [])
        entries.append({"id": sid, "source": name, "photo_index": photo_index, "sample_index": k,
                        "kind": sample.kind, "seed": cfg.seed, "params": sample.params})
    return {"name": name, "entries": entries, "pending": len(pending), "skip": None}


def _worker_task(args: tuple[SynthConfig, int, list[int]]) -> dict[str, Any]:
    cfg, photo_index, pending = args
    return _make_photo_samples(cfg, photo_index, pending)


# ----------------------------------------------------------------------------- the run

def _settings(cfg: SynthConfig) -> dict[str, Any]:
    """The settings that decide what a sample is (a folder must not mix different ones)."""
    return {"source": cfg.source, "seed": cfg.seed, "sample": cfg.sample.to_dict()}


def _prepare_out_dir(cfg: SynthConfig) -> Path:
    out = Path(cfg.out_dir)
    ensure_writable_dir(out)
    manifest = out / MANIFEST
    if manifest.exists():
        try:
            previous = json.loads(manifest.read_text()).get("settings")
        except (OSError, ValueError, AttributeError):
            previous = None
        if previous is not None and previous != json.loads(json.dumps(_settings(cfg))):
            raise JitterEdgeError(f"{out}: holds samples made with other settings (source, seed or sample "
                                  f"options differ, see {MANIFEST}); choose another --out or empty it")
    return out


def _read_manifest_lines(path: Path) -> dict[str, dict]:
    entries: dict[str, dict] = {}
    if not path.exists():
        return entries
    for line in path.read_text().splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut by an interrupted run: that sample is made again
        if isinstance(entry, dict) and isinstance(entry.get("id"), str):
            entries[entry["id"]] = entry
    return entries


def _finished(out: Path, entries: dict[str, dict], sid: str, name: str) -> bool:
    entry = entries.get(sid)
    return (entry is not None and entry.get("source") == name
            and (out / f"{sid}.flow.npy").exists() and (out / f"{sid}.png").exists())


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def synthesize(cfg: SynthConfig) -> SynthSummary:
    """Write (or complete) a synthetic training set; see the module docstring.

    Raises:
        JitterEdgeError: missing or empty source, unwritable or mismatched output folder.
    """
    cfg.validate()
    start = time.perf_counter()
    source = _open(cfg)
    out = _prepare_out_dir(cfg)
    n_photos = len(source) if cfg.limit is None else min(cfg.limit, len(source))
    lines_path = out / MANIFEST_LINES
    entries = _read_manifest_lines(lines_path)
    summary = SynthSummary(out_dir=str(out), photos=n_photos)

    tasks: list[tuple[SynthConfig, int, list[int]]] = []
    for i in range(n_photos):
        name = source.name(i)
        pending = [k for k in range(cfg.per_image) if not _finished(out, entries, sample_id(i, k), name)]
        summary.present += cfg.per_image - len(pending)
        if pending:
            tasks.append((cfg, i, pending))

    from tqdm import tqdm

    bar = tqdm(total=sum(len(t[2]) for t in tasks), unit="sample", desc="synth", file=sys.stderr,
               disable=not cfg.progress or not tasks, dynamic_ncols=True)
    try:
        with open(lines_path, "a", encoding="utf-8") as manifest:
            for result in _run_tasks(cfg, tasks, source):
                if result["skip"] is not None:
                    reason, message = result["skip"]
                    summary.skipped[reason] = summary.skipped.get(reason, 0) + 1
                    bar.write(f"jitteredge synth: skipped {message}", file=sys.stderr)
                    bar.total -= result["pending"]  # a skipped photo's samples will never come
                    bar.refresh()
                    continue
                for entry in result["entries"]:
                    manifest.write(json.dumps(entry, default=_json_default) + "\n")
                    entries[entry["id"]] = entry
                manifest.flush()
                summary.written += len(result["entries"])
                bar.update(len(result["entries"]))
    except OSError as exc:
        raise JitterEdgeError(f"{out}: cannot write ({exc.strerror or exc})") from None
    finally:
        bar.close()

    # Rewrite the manifest: finished samples only, sorted, then the summary file.
    final = [entries[sid] for sid in sorted(entries)
             if (out / f"{sid}.flow.npy").exists() and (out / f"{sid}.png").exists()]
    write_bytes_atomic(lines_path, "".join(json.dumps(e, default=_json_default) + "\n" for e in final).encode())
    for e in final:
        summary.kinds[e["kind"]] = summary.kinds.get(e["kind"], 0) + 1
    summary.seconds = time.perf_counter() - start
    meta = {"format": FORMAT, "version": FORMAT_VERSION, "jitteredge_version": __version__,
            "settings": _settings(cfg), "per_image": cfg.per_image, "photos": n_photos, "samples": len(final),
            "kinds": summary.kinds, "skipped": summary.skipped,
            "files": {"image": "<id>.png (uint8 RGB)", "field": "<id>.flow.npy (float32 (S, S, 2) U, V in px)"}}
    write_bytes_atomic(out / MANIFEST, (json.dumps(meta, indent=2, default=_json_default) + "\n").encode())
    return summary


def _run_tasks(cfg: SynthConfig, tasks: list, source) -> Iterator[dict[str, Any]]:
    """Results per photo, in this process (workers=1) or from a process pool (any order)."""
    if cfg.workers == 1 or len(tasks) <= 1:
        for c, i, pending in tasks:
            yield _make_photo_samples(c, i, pending, source=source)
        return
    # spawn, not fork: a child forked after the parent used OpenCV's or OpenMP's thread pools can
    # deadlock on their locks (seen in cv2.setNumThreads).
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(cfg.workers, len(tasks)), mp_context=context,
                             initializer=_init_worker, initargs=(cfg,)) as pool:
        futures = [pool.submit(_worker_task, t) for t in tasks]
        try:
            from concurrent.futures import as_completed

            for future in as_completed(futures):
                yield future.result()
        except BaseException:
            for f in futures:
                f.cancel()
            raise
