"""Benchmark every backend and precision on the same inputs and the same validation set.

One row per (backend, precision, input size, threads): latency at batch 1 after warm-up (p50, p90,
p99 over ``runs`` calls), throughput at a larger batch, peak memory, and accuracy (endpoint error,
and the share of defocused and sharp photos wrongly judged shaken, patent [0071]) on one fixed
synthetic validation set. Rows that cannot run say why. Every result carries the environment
(jitteredge.benchenv), because a latency without the machine, power mode and clocks means nothing.

Backends:
    torch-cpu   the .pt checkpoint through jitteredge.infer.open_runner (eager PyTorch, CPU)
    torch-cuda  two rows, FP32 and FP16: channels_last weights, one CUDA graph per input shape,
                timed with CUDA events on device-resident input (excludes host copies)
    onnx-fp32   ONNX Runtime, CPU execution provider, the FP32 export
    onnx-int8   ONNX Runtime, the INT8 Q/DQ export
    ort         the ORT-format model (.ort) that mobile builds of ONNX Runtime load
    tensorrt    a TensorRT engine (--engine) through jitteredge.infer.open_runner

Artifacts come from the export library (jitteredge.export) into a cache folder unless given.
CPU memory is the growth of the process's peak resident set (VmHWM, reset through
/proc/self/clear_refs) while the runner is opened and timed at batch 1 (the throughput batches
are in extra.peak_mem_batch_mb); GPU memory is torch.cuda.max_memory_allocated.

Output: format_table / format_report (terminal and Markdown, columns COLUMNS, shared with
benchmarks/ondevice.py), BenchResult.to_json_rows (a list of row objects, environment inside
each), plot_scaling (PNG). trtexec output becomes a row through row_from_trtexec_log.
"""

from __future__ import annotations

import json
import math
import os
import platform
import re
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from jitteredge.errors import JitterEdgeError
from jitteredge.fieldcode import CODE_SCALE_PX, decode_field, endpoint_error
from jitteredge.preprocess import MEAN, MULTIPLE, STD
from jitteredge.verdict import AREA_QUANTILE, SHAKEN_PX

BACKENDS = ("torch-cpu", "torch-cuda", "onnx-fp32", "onnx-int8", "ort", "tensorrt")
BACKEND_ALIASES = {"torch": "torch-cpu", "cuda": "torch-cuda", "onnx": "onnx-fp32", "int8": "onnx-int8",
                   "trt": "tensorrt", "engine": "tensorrt"}
SIZE_ALIASES = {"720p": (1280, 720), "1080p": (1920, 1080), "4k": (3840, 2160)}
SCALING_SIZES = ("256", "512", "720p", "1080p")  # --scaling: how latency grows with resolution
SCALING_THREADS = (1, 2)
SCALING_BATCHES = (1, 4, 8)
VALSET_FORMAT = "jitteredge-valset"
# The .ort model is converted for ARM (signed INT8 activations, as ARM kernels want); x86 runs those
# through slower kernels, so its figure here says nothing about a phone.
ORT_X86_NOTE = "ARM-targeted INT8 model on x86: not representative; measure it on the device (benchmarks/ondevice.py)"
VALSET_GROUPS = ("strong", "mild", "sharp", "defocus")

# Statuses a row can have.
RAN = "ran"
FAILED_ACCURACY = "failed-accuracy"  # built and ran, but under the accuracy floor
ERROR = "error"  # available, but failed while exporting or running
UNAVAILABLE = "unavailable"  # backend not installed, no device, or no artifact

# (JSON key, column title): the terminal, Markdown and benchmarks/ondevice.py tables use these.
COLUMNS = (
    ("backend", "backend"),
    ("precision", "precision"),
    ("input", "input"),
    ("threads", "threads"),
    ("status", "status"),
    ("latency_p50_ms", "p50 ms"),
    ("latency_p90_ms", "p90 ms"),
    ("latency_p99_ms", "p99 ms"),
    ("throughput_ips", "img/s"),
    ("batch", "batch"),
    ("peak_mem_mb", "mem MB"),
    ("epe_px", "EPE px"),
    ("shaken_defocus", "defocus shaken"),
    ("shaken_sharp", "sharp shaken"),
)


@dataclass
class BenchConfig:
    model: str = "default"  # registry name or .pt checkpoint (torch rows and exports); .onnx also accepted
    backends: tuple[str, ...] = BACKENDS  # subset of BACKENDS, in table order
    sizes: tuple[str, ...] = ("256",)  # "256" (square), "WxH", "720p", "1080p"; rounded up to multiples of 16
    threads: tuple[int, ...] = (1,)  # CPU intra-op threads; one row per value
    batches: tuple[int, ...] = (8,)  # throughput batch sizes; the row shows the largest
    runs: int = 50  # timed batch-1 calls per latency figure
    warmup: int = 5  # untimed calls first (allocations, autotuning, caches)
    throughput_runs: int = 5  # timed batches per throughput figure
    repeat: int = 1  # measure each row this many times and keep the quietest (lowest p50) repetition
    work_dir: str | None = None  # cache for exported artifacts (None: a temporary folder, removed after)
    onnx: str | None = None  # existing FP32 ONNX model instead of exporting
    int8: str | None = None  # existing INT8 ONNX model
    ort: str | None = None  # existing .ort model
    engine: str | None = None  # existing TensorRT engine (.engine / .plan)
    valset_dir: str | None = None  # validation set written by --export-valset (None: synthesise one)
    val_n: int = 32  # synthesised validation photos (split over the groups)
    val_size_px: int = 128  # their side (multiple of 16)
    val_source: str = "procedural"  # photo source for synthesis (jitteredge.synth.sources)
    val_seed: int = 1234  # fixed, so every run measures accuracy on the same photos
    max_epe: float | None = None  # accuracy floor: mean endpoint error (px) above this fails
    max_defocus_shaken: float | None = None  # floor: share of defocused photos judged shaken
    max_sharp_shaken: float | None = None  # floor: share of sharp photos judged shaken
    cuda_graphs: bool = True  # torch-cuda: replay a captured CUDA graph (static input)
    synth: bool = False  # also run the synthesis speed measurements
    trtexec_logs: tuple[str, ...] = ()  # trtexec outputs turned into rows
    seed: int = 0  # random timing inputs
    progress: bool = True  # tqdm bar on stderr


@dataclass
class BenchRow:
    """One backend x precision x input size x threads measurement (JSON keys = field names)."""

    backend: str
    precision: str
    device: str = "cpu"
    status: str = UNAVAILABLE
    reason: str = ""  # why it could not run, failed accuracy, or what is special about it
    artifact: str | None = None
    input: str | None = None  # network input W x H (multiples of 16)
    size_name: str | None = None  # as asked: "256", "720p", "1920x1080"
    input_shape: list[int] | None = None  # batch-1 latency input (N, C, H, W)
    threads: int | None = None
    batch: int | None = None  # throughput batch of throughput_ips
    runs: int | None = None
    warmup: int | None = None
    latency_p50_ms: float | None = None
    latency_p90_ms: float | None = None
    latency_p99_ms: float | None = None
    latency_mean_ms: float | None = None
    latency_min_ms: float | None = None
    throughput_ips: float | None = None  # images per second at ``batch``
    throughput_by_batch: dict[str, float] = field(default_factory=dict)  # batch -> images/s
    peak_mem_mb: float | None = None  # CPU: peak RSS growth; GPU rows: torch.cuda.max_memory_allocated
    rss_delta_mb: float | None = None
    gpu_mem_mb: float | None = None
    epe_px: float | None = None  # mean endpoint error over the validation set (working px)
    epe_by_group: dict[str, float] = field(default_factory=dict)
    shaken_by_group: dict[str, float] = field(default_factory=dict)  # share judged shaken per group
    shaken_defocus: float | None = None
    shaken_sharp: float | None = None
    val_n: int | None = None
    timing: str = ""  # what the latency includes
    source: str = "measured"  # or "trtexec-log"
    kind: str = "model"
    extra: dict = field(default_factory=dict)
    environment: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class BenchResult:
    environment: dict
    rows: list[BenchRow]
    synth: list[dict] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # accuracy-gate violations

    def to_json_rows(self) -> list[dict]:
        """The --json payload: a list of row objects, the environment inside each."""
        out = []
        for row in self.rows:
            d = row.to_dict()
            d["environment"] = d["environment"] or self.environment
            out.append(d)
        for s in self.synth:
            out.append({**s, "environment": self.environment})
        return out


# ---------------------------------------------------------------------------------------------
# Sizes, statistics, memory
# ---------------------------------------------------------------------------------------------

def parse_size(text: str) -> tuple[int, int]:
    """"256" -> (256, 256); "1280x720" -> (1280, 720); "720p" / "1080p" -> 16:9 sizes. (width, height)."""
    t = str(text).strip().lower()
    if t in SIZE_ALIASES:
        return SIZE_ALIASES[t]
    m = re.fullmatch(r"(\d+)(?:[x*,](\d+))?", t)
    if not m:
        raise JitterEdgeError(f"--imgsz {text!r}: expected 256, WxH (1280x720), 720p or 1080p")
    w = int(m.group(1))
    h = int(m.group(2)) if m.group(2) else w
    if w < MULTIPLE or h < MULTIPLE:
        raise JitterEdgeError(f"--imgsz {text!r}: at least {MULTIPLE} px a side")
    return w, h


def network_hw(width: int, height: int) -> tuple[int, int]:
    """(H, W) the network actually sees: padded up to multiples of 16, as preprocess.prepare does."""
    return -(-height // MULTIPLE) * MULTIPLE, -(-width // MULTIPLE) * MULTIPLE


def latency_stats(seconds: np.ndarray | list[float]) -> dict[str, float]:
    """Per-call times (s) -> p50/p90/p99/mean/min in ms (numpy's linear percentiles)."""
    ms = np.asarray(seconds, dtype=np.float64) * 1000.0
    if ms.size == 0:
        raise ValueError("no timings")
    p50, p90, p99 = np.percentile(ms, [50, 90, 99])
    return {"latency_p50_ms": round(float(p50), 4), "latency_p90_ms": round(float(p90), 4),
            "latency_p99_ms": round(float(p99), 4), "latency_mean_ms": round(float(ms.mean()), 4),
            "latency_min_ms": round(float(ms.min()), 4)}


def time_calls(fn: Callable[[], object], runs: int, warmup: int) -> np.ndarray:
    """Seconds per call of ``fn`` (wall clock, perf_counter) after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    out = np.empty(runs, dtype=np.float64)
    for i in range(runs):
        t0 = time.perf_counter()
        fn()
        out[i] = time.perf_counter() - t0
    return out


def _proc_status_kb(key: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def release_freed_memory() -> None:
    """Collect garbage and hand freed heap back to the OS (glibc malloc_trim), so a row's memory
    growth is not hidden by pages an earlier row freed but the allocator kept."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to trim
        pass


class PeakRss:
    """Peak resident-set growth (MB) of this process inside a ``with`` block, read from /proc.

    VmHWM (the peak) is reset on entry by writing 5 to /proc/self/clear_refs (Linux >= 4.0); where
    that is refused, the peak since process start is used, which can only overstate the baseline,
    so the growth is then a lower bound. Heap freed by earlier rows is handed back to the OS first
    (release_freed_memory); allocators that keep their own pools can still make later rows read
    low, so for exact figures run one backend per call.
    """

    def __init__(self) -> None:
        self.delta_mb: float | None = None
        self.exact = False

    def __enter__(self) -> "PeakRss":
        release_freed_memory()
        self.start_kb = _proc_status_kb("VmRSS")
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
            self.exact = True
        except OSError:
            self.exact = False
        return self

    def __exit__(self, *exc: object) -> None:
        peak = _proc_status_kb("VmHWM")
        now = _proc_status_kb("VmRSS")
        if self.start_kb is None or peak is None:
            return
        top = peak if self.exact else max(now or 0, self.start_kb)
        self.delta_mb = round(max(0, top - self.start_kb) / 1024.0, 2)


# ---------------------------------------------------------------------------------------------
# Validation set
# ---------------------------------------------------------------------------------------------

@dataclass
class ValSet:
    """The fixed synthetic validation set, as network inputs and true fields.

    inputs: float32 (N, 3, S, S) normalised like preprocess.normalize; fields: float32 (N, S, S, 2)
    true fields in pixels; groups: N names ("strong", "mild", "sharp", "defocus").
    """

    inputs: np.ndarray
    fields: np.ndarray
    groups: list[str]
    code_scale_px: float = CODE_SCALE_PX
    meta: dict = field(default_factory=dict)


def make_valset(n: int = 32, size_px: int = 128, source: str = "procedural", seed: int = 1234) -> ValSet:
    """Synthesise the validation set through jitteredge.data.make_validation_set.

    Groups: "sharp" and "defocus" samples by kind, shaken ones (straight, curved, subject) by the
    jitter preset they were drawn from, "strong" or "mild".

    Raises:
        JitterEdgeError: the synthesis modules are not installed or refuse the settings.
    """
    from jitteredge.preprocess import normalize

    if size_px < MULTIPLE or size_px % MULTIPLE:
        raise JitterEdgeError(f"validation size {size_px} px: must be a multiple of {MULTIPLE}")
    if n < 1:
        raise JitterEdgeError(f"validation photos {n}: need at least 1")
    try:
        from jitteredge.data import make_validation_set
        from jitteredge.synth.sample import SampleConfig
    except ImportError as exc:
        raise JitterEdgeError(f"validation set: synthesis is not available ({first_line(exc)})") from None
    try:
        samples = make_validation_set(source, SampleConfig(size_px=size_px), n=n, seed=seed)
    except JitterEdgeError:
        raise
    except ImportError as exc:  # a synthesis stage not installed yet (e.g. the blur kernel)
        raise JitterEdgeError(f"validation set: synthesis is not available ({first_line(exc)})") from None
    inputs = np.concatenate([normalize(s.image) for s in samples]).astype(np.float32)
    fields_px = np.stack([np.asarray(s.field, dtype=np.float32) for s in samples])
    groups = [_group_of(s) for s in samples]
    return ValSet(inputs, fields_px, groups, CODE_SCALE_PX,
                  {"source": source, "seed": seed, "n": len(samples), "size_px": size_px,
                   "kinds": [str(s.kind) for s in samples]})


def _group_of(sample) -> str:
    """"sharp" / "defocus" by kind; shaken samples by their jitter preset ("strong" / "mild")."""
    kind = str(getattr(sample, "kind", "shake"))
    if kind in ("sharp", "defocus"):
        return kind
    preset = (getattr(sample, "params", None) or {}).get("preset")
    return str(preset) if preset else kind


def save_valset(valset: ValSet, folder: str | os.PathLike) -> Path:
    """Write inputs.npy, fields.npy and valset.json (groups, code scale, verdict thresholds).

    benchmarks/ondevice.py reads this folder with numpy alone.
    """
    from jitteredge.fileio import save_npy_atomic, write_bytes_atomic

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    save_npy_atomic(out / "inputs.npy", np.ascontiguousarray(valset.inputs, dtype=np.float32))
    save_npy_atomic(out / "fields.npy", np.ascontiguousarray(valset.fields, dtype=np.float32))
    meta = {
        "format": VALSET_FORMAT, "version": 1,
        "n": int(valset.inputs.shape[0]), "size_px": [int(valset.inputs.shape[2]), int(valset.inputs.shape[3])],
        "groups": list(valset.groups),
        "code_scale_px": float(valset.code_scale_px),
        "shaken_px": SHAKEN_PX, "area_quantile": AREA_QUANTILE,
        "input": {"mean": MEAN, "std": STD, "layout": "NCHW", "color": "RGB"},
        "fields": "float32 (N, H, W, 2): (U, V) in pixels, U along columns",
        **{k: v for k, v in valset.meta.items() if k not in ("n", "size_px")},
    }
    write_bytes_atomic(out / "valset.json", (json.dumps(meta, indent=2) + "\n").encode())
    return out


def load_valset(folder: str | os.PathLike) -> ValSet:
    """Read a folder written by save_valset. Raises JitterEdgeError naming what is wrong."""
    root = Path(folder)
    meta_path = root / "valset.json"
    if not meta_path.is_file():
        raise JitterEdgeError(f"{root}: not a validation set (no valset.json; write one with --export-valset)")
    try:
        meta = json.loads(meta_path.read_text())
        inputs = np.load(root / "inputs.npy").astype(np.float32, copy=False)
        fields_px = np.load(root / "fields.npy").astype(np.float32, copy=False)
    except (OSError, ValueError) as exc:
        raise JitterEdgeError(f"{root}: damaged validation set ({exc})") from None
    if meta.get("format") != VALSET_FORMAT:
        raise JitterEdgeError(f"{meta_path}: format {meta.get('format')!r}, expected {VALSET_FORMAT!r}")
    n = inputs.shape[0]
    groups = list(meta.get("groups") or [])
    if inputs.ndim != 4 or inputs.shape[1] != 3 or fields_px.shape != (n, inputs.shape[2], inputs.shape[3], 2) \
            or len(groups) != n:
        raise JitterEdgeError(f"{root}: inputs {inputs.shape}, fields {fields_px.shape} and {len(groups)} groups "
                              "do not agree (expected (N,3,H,W), (N,H,W,2), N)")
    return ValSet(inputs, fields_px, groups, float(meta.get("code_scale_px", CODE_SCALE_PX)), meta)


def accuracy(predict: Callable[[np.ndarray], np.ndarray], valset: ValSet, batch: int = 8) -> dict:
    """Endpoint error and shaken shares of ``predict`` on ``valset``.

    Args:
        predict: float32 (N, 3, H, W) -> float32 (N, 2, H, W) code (a runner's predict).
        valset: the validation set.
        batch: photos per call.

    Returns:
        dict with epe_px (mean over photos of the per-photo mean EPE, working px), epe_by_group,
        shaken_by_group (share judged shaken by jitteredge.verdict), shaken_defocus, shaken_sharp, val_n.
    """
    from jitteredge.verdict import judge_field

    n = valset.inputs.shape[0]
    epe = np.empty(n)
    shaken = np.empty(n, dtype=bool)
    for start in range(0, n, batch):
        code = predict(valset.inputs[start:start + batch])
        for k in range(code.shape[0]):
            pred = decode_field(code[k].transpose(1, 2, 0), valset.code_scale_px)
            epe[start + k] = float(endpoint_error(pred, valset.fields[start + k]).mean())
            shaken[start + k] = judge_field(pred).shaken
    return summarise_accuracy(epe, shaken, valset.groups)


def summarise_accuracy(epe: np.ndarray, shaken: np.ndarray, groups: list[str]) -> dict:
    """Per-photo EPE and shaken flags -> the accuracy fields of a row (shared with ondevice.py)."""
    names = sorted(set(groups), key=lambda g: (VALSET_GROUPS.index(g) if g in VALSET_GROUPS else 99, g))
    g = np.asarray(groups)
    by_epe = {name: round(float(epe[g == name].mean()), 4) for name in names}
    by_shaken = {name: round(float(shaken[g == name].mean()), 4) for name in names}
    return {"epe_px": round(float(epe.mean()), 4), "epe_by_group": by_epe, "shaken_by_group": by_shaken,
            "shaken_defocus": by_shaken.get("defocus"), "shaken_sharp": by_shaken.get("sharp"),
            "val_n": int(epe.size)}


# ---------------------------------------------------------------------------------------------
# Artifacts
# ---------------------------------------------------------------------------------------------

def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:200]


def import_reason(module: str) -> str | None:
    """None when ``module`` imports, else "not importable (<why>)"."""
    try:
        __import__(module)
    except Exception as exc:  # ImportError, or a broken native library (OSError)
        return f"not importable ({first_line(exc)})"
    return None


class Artifacts:
    """Exported files, made on first request through jitteredge.export and cached in ``work``.

    ``get(kind)`` returns a Path or raises _Unavailable/JitterEdgeError with the reason.
    """

    def __init__(self, cfg: BenchConfig, model_path: Path | None, work: Path):
        self.cfg = cfg
        self.model_path = model_path
        self.work = work
        self.cache: dict[str, Path | BaseException] = {}

    def get(self, kind: str) -> Path:
        if kind not in self.cache:
            try:
                self.cache[kind] = self._make(kind)
            except (_Unavailable, JitterEdgeError) as exc:
                self.cache[kind] = exc
            except Exception as exc:  # an exporter failure becomes this row's reason, not a crash
                self.cache[kind] = JitterEdgeError(f"{kind} export failed: {type(exc).__name__}: {first_line(exc)}")
        value = self.cache[kind]
        if isinstance(value, BaseException):
            raise value
        return value

    def _given(self, kind: str) -> Path | None:
        given = {"onnx": self.cfg.onnx, "int8": self.cfg.int8, "ort": self.cfg.ort, "engine": self.cfg.engine}[kind]
        if given is None and kind == "onnx" and self.model_path is not None \
                and self.model_path.suffix.lower() == ".onnx":
            given = str(self.model_path)
        if given is None:
            return None
        p = Path(given)
        if not p.is_file():
            raise JitterEdgeError(f"{p}: no such file")
        return p

    def _export(self, source: Path, out: Path, fmt: str, precision: str) -> Path:
        """One jitteredge.export.run_export call, skipped when ``out`` is already in the cache."""
        if out.exists():
            return out
        try:
            from jitteredge.export import ExportConfig, run_export
        except ImportError as exc:
            raise _Unavailable(f"export library not available ({first_line(exc)})") from None
        if self.cfg.progress:
            print(f"bench: exporting {precision} {fmt} -> {out}", file=sys.stderr)
        result = run_export(ExportConfig(model=str(source), format=fmt, precision=precision, out=str(out),
                                         progress=False))
        return Path(result.artifact)

    def _make(self, kind: str) -> Path:
        given = self._given(kind)
        if given is not None:
            return given
        if kind == "onnx":
            if self.model_path is None or self.model_path.suffix.lower() not in (".pt", ".pth"):
                raise _Unavailable("needs a .pt checkpoint or --onnx FILE")
            return self._export(self.model_path, self.work / "model.onnx", "onnx", "fp32")
        if kind == "int8":
            # INT8 is quantized from the checkpoint: the export calibrates and gates it against FP32.
            if self.model_path is None or self.model_path.suffix.lower() not in (".pt", ".pth"):
                raise _Unavailable("needs a .pt checkpoint or --int8 FILE")
            return self._export(self.model_path, self.work / "model.int8.onnx", "onnx", "int8")
        if kind == "ort":
            # The mobile artifact: the INT8 model in ORT format.
            return self._export(self.get("int8"), self.work / "model.int8.ort", "ort", "int8")
        if kind == "engine":
            reason = import_reason("tensorrt")
            if reason:
                raise _Unavailable(reason)
            return self._export(self.get("onnx"), self.work / "model.fp16.engine", "engine", "fp16")
        raise ValueError(kind)


class _Unavailable(Exception):
    """A backend that cannot run here; the message is the row's reason."""


def model_cache_dir(base: Path, model_path: Path | None) -> Path:
    """A subfolder per checkpoint version and exporter version, so a cached export never outlives
    either: the key holds the checkpoint's size and mtime and a hash of the export code's files."""
    import hashlib

    from jitteredge import __version__

    exporter = hashlib.sha1(__version__.encode())
    try:
        import jitteredge.export as export_package

        for f in sorted(Path(export_package.__file__).parent.glob("*.py")):
            st = f.stat()
            exporter.update(f"{f.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    except ImportError:  # no exporter: only given artifacts are used
        pass
    tag = exporter.hexdigest()[:8]
    if model_path is None:
        return base / f"given-{tag}"
    st = model_path.stat()
    return base / f"{model_path.stem}-{st.st_size}-{int(st.st_mtime)}-{tag}"


# ---------------------------------------------------------------------------------------------
# PyTorch on CUDA
# ---------------------------------------------------------------------------------------------

class TorchDeviceModel:
    """A JitterNet on a device in channels_last layout, FP32 or FP16, one CUDA graph per input shape.

    Graph capture needs a static input tensor: each shape gets its own input buffer, output buffer
    and graph, captured after warm-up iterations on a side stream (cuDNN autotuning and lazy
    allocations must not happen inside the capture). ``run_device`` copies into the static input
    and replays. Without ``use_graph`` (or on the CPU, used by tests) it calls the module eagerly.

    Args:
        module: a JitterNet (eval mode).
        precision: "fp32" or "fp16" (weights and activations in half precision).
        device: "cuda", "cuda:1", or "cpu".
        use_graph: capture and replay CUDA graphs (CUDA devices only).
    """

    def __init__(self, module, precision: str = "fp32", device: str = "cuda", use_graph: bool = True):
        import torch

        self.torch = torch
        self.device = torch.device(device)
        self.dtype = torch.float16 if precision == "fp16" else torch.float32
        self.precision = precision
        self.use_graph = bool(use_graph) and self.device.type == "cuda"
        self.module = module.eval().to(device=self.device, dtype=self.dtype, memory_format=torch.channels_last)
        self.graphs: dict[tuple[int, ...], tuple] = {}

    def to_device(self, x: np.ndarray):
        """float32 (N, 3, H, W) numpy -> device tensor in the model's dtype and channels_last layout."""
        t = self.torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).to(self.device)
        return t.to(self.dtype).contiguous(memory_format=self.torch.channels_last)

    def _graph_for(self, shape: tuple[int, ...]):
        torch = self.torch
        if shape in self.graphs:
            return self.graphs[shape]
        static_in = torch.zeros(shape, device=self.device, dtype=self.dtype).contiguous(
            memory_format=torch.channels_last)
        with torch.no_grad():
            side = torch.cuda.Stream(device=self.device)
            side.wait_stream(torch.cuda.current_stream(self.device))
            with torch.cuda.stream(side):
                for _ in range(3):
                    self.module(static_in)
            torch.cuda.current_stream(self.device).wait_stream(side)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                static_out = self.module(static_in)
        self.graphs[shape] = (graph, static_in, static_out)
        return self.graphs[shape]

    def run_device(self, x_dev):
        """Device tensor (from to_device) -> device output (N, 2, H, W); asynchronous on CUDA.

        With graphs the returned tensor is the graph's static output, overwritten by the next replay.
        """
        if not self.use_graph:
            with self.torch.no_grad():
                return self.module(x_dev)
        graph, static_in, static_out = self._graph_for(tuple(x_dev.shape))
        static_in.copy_(x_dev)
        graph.replay()
        return static_out

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The runner interface: float32 (N, 3, H, W) -> float32 (N, 2, H, W) code (synchronises)."""
        out = self.run_device(self.to_device(x))
        return np.ascontiguousarray(out.float().cpu().numpy())


def time_cuda(run: Callable[[], object], runs: int, warmup: int, torch_module) -> np.ndarray:
    """Seconds per call measured with CUDA events around each call (GPU time, not host time).

    The events are recorded on the current stream back to back and read after one synchronize, so
    the host never stalls the GPU between calls; warm-up calls run (and finish) first.
    """
    torch = torch_module
    for _ in range(warmup):
        run()
    torch.cuda.synchronize()
    starts = [torch.cuda.Event(enable_timing=True) for _ in range(runs)]
    ends = [torch.cuda.Event(enable_timing=True) for _ in range(runs)]
    for i in range(runs):
        starts[i].record()
        run()
        ends[i].record()
    torch.cuda.synchronize()
    return np.array([s.elapsed_time(e) for s, e in zip(starts, ends)], dtype=np.float64) / 1000.0


def cuda_reason(torch_module=None) -> str | None:
    """None when a CUDA device is usable, else why not."""
    if torch_module is None:
        reason = import_reason("torch")
        if reason:
            return f"torch {reason}"
        import torch as torch_module
    try:
        if not torch_module.cuda.is_available():
            return "no CUDA device"
    except Exception as exc:  # a broken driver
        return f"CUDA unusable ({first_line(exc)})"
    return None


# ---------------------------------------------------------------------------------------------
# Measuring one row
# ---------------------------------------------------------------------------------------------

@dataclass
class Plan:
    """One backend variant: how to open it and what its rows say."""

    backend: str
    precision: str
    device: str
    artifact_kind: str | None  # Artifacts key, or None for the .pt checkpoint
    per_thread: bool = True  # one row per --threads value (CPU backends)


def plans_for(backends: tuple[str, ...]) -> list[Plan]:
    out = []
    for b in backends:
        if b == "torch-cpu":
            out.append(Plan(b, "fp32", "cpu", None))
        elif b == "torch-cuda":
            out.append(Plan(b, "fp32", "cuda", None, per_thread=False))
            out.append(Plan(b, "fp16", "cuda", None, per_thread=False))
        elif b == "onnx-fp32":
            out.append(Plan(b, "fp32", "cpu", "onnx"))
        elif b == "onnx-int8":
            out.append(Plan(b, "int8", "cpu", "int8"))
        elif b == "ort":
            out.append(Plan(b, "int8", "cpu", "ort"))
        elif b == "tensorrt":
            out.append(Plan(b, "fp16", "cuda", "engine", per_thread=False))
        else:
            raise JitterEdgeError(f"unknown backend {b!r}; choose from {', '.join(BACKENDS)}")
    return out


def parse_backends(text: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """"onnx-fp32,onnx-int8" or a list -> validated backend names (aliases accepted, "all", "none")."""
    items = text.split(",") if isinstance(text, str) else [p for t in text for p in str(t).split(",")]
    out: list[str] = []
    for raw in items:
        name = raw.strip().lower()
        if not name:
            continue
        if name == "all":
            out.extend(b for b in BACKENDS if b not in out)
            continue
        if name == "none":
            continue
        name = BACKEND_ALIASES.get(name, name)
        if name not in BACKENDS:
            raise JitterEdgeError(f"--backends: unknown backend {raw.strip()!r}; choose from {', '.join(BACKENDS)}")
        if name not in out:
            out.append(name)
    return tuple(out)


def check_availability(plan: Plan, model_path: Path | None) -> str | None:
    """None when the plan's libraries and device are present, else the reason."""
    if plan.backend in ("torch-cpu", "torch-cuda"):
        reason = import_reason("torch")
        if reason:
            return f"torch {reason}"
        if plan.device == "cuda":
            reason = cuda_reason()
            if reason:
                return reason
        if model_path is None or model_path.suffix.lower() not in (".pt", ".pth"):
            return f"needs a .pt checkpoint (model is {model_path.name if model_path else 'not given'})"
        return None
    if plan.backend == "tensorrt":
        reason = import_reason("tensorrt")
        if reason:
            return reason
        return cuda_reason()
    reason = import_reason("onnxruntime")
    return f"onnxruntime {reason}" if reason else None


def timing_input(batch: int, hw: tuple[int, int], seed: int) -> np.ndarray:
    """Random float32 (batch, 3, H, W) in the normalised input range (content does not change speed)."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((batch, 3, hw[0], hw[1]), dtype=np.float32)


class Bench:
    """Runs the plans of one BenchConfig; ``run()`` returns the BenchResult."""

    def __init__(self, cfg: BenchConfig, log: Callable[[str], None] | None = None):
        self.cfg = cfg
        self.log = log or (lambda msg: print(msg, file=sys.stderr))
        self.valset: ValSet | None = None
        self.valset_reason = ""
        self.model_reason = ""

    # -- setup -----------------------------------------------------------------------------------
    def resolve_model(self) -> Path | None:
        """The checkpoint; None (torch rows then unavailable) when it cannot be found but the user
        gave artifacts to measure instead."""
        from jitteredge.infer import resolve_model_path

        cfg = self.cfg
        try:
            return resolve_model_path(cfg.model)
        except JitterEdgeError as exc:
            if not any((cfg.onnx, cfg.int8, cfg.ort, cfg.engine)):
                raise
            self.model_reason = str(exc)
            return None

    def load_valset(self) -> ValSet | None:
        cfg = self.cfg
        if cfg.valset_dir:
            return load_valset(cfg.valset_dir)
        try:
            return make_valset(cfg.val_n, cfg.val_size_px, cfg.val_source, cfg.val_seed)
        except JitterEdgeError as exc:
            self.valset_reason = str(exc)
            self.log(f"bench: accuracy not measured: {exc}")
            return None

    # -- main ------------------------------------------------------------------------------------
    def run(self) -> BenchResult:
        from jitteredge.benchenv import capture_environment

        cfg = self.cfg
        rows: list[BenchRow] = []
        if cfg.backends:
            model_path = self.resolve_model()
            plans = plans_for(cfg.backends)
            self.valset = self.load_valset()
            own_tmp = cfg.work_dir is None
            base = Path(cfg.work_dir) if cfg.work_dir else Path(tempfile.mkdtemp(prefix="jitteredge-bench-"))
            work = model_cache_dir(base, model_path)
            work.mkdir(parents=True, exist_ok=True)
            artifacts = Artifacts(cfg, model_path, work)
            sizes = [(s, parse_size(s)) for s in cfg.sizes]
            total = sum(len(sizes) * (len(cfg.threads) if p.per_thread else 1) for p in plans)
            bar = _progress(total, cfg.progress)
            try:
                for plan in plans:
                    rows.extend(self.run_plan(plan, model_path, artifacts, sizes, bar))
            finally:
                bar.close()
                if own_tmp:
                    shutil.rmtree(base, ignore_errors=True)
        for log_path in cfg.trtexec_logs:
            rows.append(row_from_trtexec_log(log_path))
        synth = synth_rows() if cfg.synth else []
        failures = apply_accuracy_gate(rows, cfg)
        env = capture_environment(sys.modules.get("torch"))  # after the runs: torch names the GPU if it ran
        return BenchResult(env, rows, synth, failures)

    def base_row(self, plan: Plan, size_name: str, wh: tuple[int, int], threads: int | None) -> BenchRow:
        h, w = network_hw(*wh)
        return BenchRow(backend=plan.backend, precision=plan.precision, device=plan.device,
                        input=f"{w}x{h}", size_name=size_name, input_shape=[1, 3, h, w], threads=threads,
                        batch=max(self.cfg.batches), runs=self.cfg.runs, warmup=self.cfg.warmup)

    def run_plan(self, plan: Plan, model_path: Path | None, artifacts: Artifacts, sizes, bar) -> list[BenchRow]:
        cfg = self.cfg
        thread_values = list(cfg.threads) if plan.per_thread else [None]
        combos = [(name, wh, t) for name, wh in sizes for t in thread_values]
        rows = [self.base_row(plan, name, wh, t) for name, wh, t in combos]

        reason = check_availability(plan, model_path)
        if reason and reason.startswith("needs a .pt") and self.model_reason:
            reason = self.model_reason  # say why there is no checkpoint
        artifact: Path | None = model_path if plan.artifact_kind is None else None
        status = UNAVAILABLE
        if reason is None and plan.artifact_kind is not None:
            try:
                artifact = artifacts.get(plan.artifact_kind)
            except _Unavailable as exc:
                reason = str(exc)
            except JitterEdgeError as exc:
                reason, status = str(exc), ERROR
        if reason is not None:
            for row in rows:
                row.status, row.reason = status, reason
                row.artifact = str(artifact) if artifact else None
            bar.update(len(rows))
            return rows

        acc: dict | None = None
        acc_reason = self.valset_reason or "no validation set"
        for row, (name, wh, t) in zip(rows, combos):
            row.artifact = str(artifact)
            bar.set_description(f"{plan.backend} {plan.precision} {row.input} t={t}")
            try:
                opened, measured = self.measure_best(plan, artifact, t, network_hw(*wh))
                for k, v in measured.items():
                    setattr(row, k, v)
                if plan.backend == "tensorrt":
                    row.precision = str(getattr(opened, "precision", row.precision))
                if acc is None and self.valset is not None:
                    acc = accuracy(opened.predict, self.valset, batch=min(8, max(cfg.batches)))
                if acc is not None:
                    for k, v in acc.items():
                        setattr(row, k, v)
                else:
                    row.reason = f"accuracy not measured: {acc_reason}"
                if plan.backend == "ort" and platform.machine().lower() in ("x86_64", "amd64", "i686"):
                    row.reason = "; ".join(filter(None, [row.reason, ORT_X86_NOTE]))
                row.status = RAN
            except (JitterEdgeError, ValueError, RuntimeError, MemoryError, OSError) as exc:
                row.status, row.reason = ERROR, f"{type(exc).__name__}: {first_line(exc)}"
            finally:
                self.close()
                bar.update(1)
        return rows

    # -- opening and timing ------------------------------------------------------------------------
    def open(self, plan: Plan, artifact: Path, threads: int | None):
        """Open the backend; returns an object with predict(). Closed by close()."""
        self._closers: list[Callable[[], None]] = []
        if plan.backend == "torch-cuda":
            from jitteredge.runners.torch_runner import load_checkpoint

            module, _ = load_checkpoint(artifact)
            model = TorchDeviceModel(module, plan.precision, "cuda", use_graph=self.cfg.cuda_graphs)
            self._closers.append(lambda: model.graphs.clear())
            return model
        from jitteredge.infer import open_runner

        runner = open_runner(artifact, threads=threads, device=plan.device)
        runner.activate()
        self._closers.append(runner.deactivate)
        return runner

    def close(self) -> None:
        for fn in getattr(self, "_closers", []):
            try:
                fn()
            except Exception:  # freeing must never hide the measurement's own error
                pass
        self._closers = []

    def measure_best(self, plan: Plan, artifact: Path, threads: int | None, hw: tuple[int, int]):
        """Measure ``cfg.repeat`` times (reopening the backend each time) and keep the repetition with
        the lowest p50: on a shared machine a neighbour's burst slows a whole repetition, and the
        quietest one is the closest to what the hardware does. All p50s go to extra.p50_repeats_ms.
        """
        best = None
        p50s: list[float] = []
        mems: list[float | None] = []
        for k in range(max(1, self.cfg.repeat)):
            if k:
                self.close()
            if plan.backend == "torch-cuda":
                opened = self.open(plan, artifact, threads)
                measured = self.measure_cuda(opened, hw)
            else:
                opened, measured = self.measure_cpu(plan, artifact, threads, hw)
            p50s.append(measured["latency_p50_ms"])
            mems.append(measured.get("peak_mem_mb"))
            if best is None or measured["latency_p50_ms"] < best["latency_p50_ms"]:
                best = measured
        if len(p50s) > 1:
            best["extra"] = {**best.get("extra", {}), "p50_repeats_ms": p50s}
            # Memory: the largest repetition (the first open pays for caches a reopen reuses).
            known = [m for m in mems if m is not None]
            best["peak_mem_mb"] = max(known) if known else None
        return opened, best

    def measure_cpu(self, plan: Plan, artifact: Path, threads: int | None, hw: tuple[int, int]):
        """Open a runner and time it: latency at batch 1, throughput per batch size, peak memory.

        Returns (the open runner, the row fields). peak_mem_mb covers opening the runner and the
        batch-1 calls (what one photo at a time costs); peak_mem_batch_mb the throughput batches.
        """
        cfg = self.cfg
        x1 = timing_input(1, hw, cfg.seed)
        with PeakRss() as mem1:
            opened = self.open(plan, artifact, threads)
            times = time_calls(lambda: opened.predict(x1), cfg.runs, cfg.warmup)
        by_batch = {}
        with PeakRss() as mem_b:
            for b in cfg.batches:
                xb = timing_input(b, hw, cfg.seed + b)
                t = time_calls(lambda: opened.predict(xb), max(1, cfg.throughput_runs), 1)
                by_batch[str(b)] = round(b / float(np.median(t)), 3)
        return opened, {**latency_stats(times), "throughput_by_batch": by_batch,
                        "throughput_ips": by_batch[str(max(cfg.batches))],
                        "peak_mem_mb": mem1.delta_mb, "rss_delta_mb": mem1.delta_mb,
                        "extra": {"peak_mem_batch_mb": mem_b.delta_mb},
                        "timing": "host wall clock around predict() (numpy in, numpy out)"}

    def measure_cuda(self, model: TorchDeviceModel, hw: tuple[int, int]) -> dict:
        cfg = self.cfg
        torch = model.torch
        torch.backends.cudnn.benchmark = True
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        with PeakRss() as mem:
            x1 = model.to_device(timing_input(1, hw, cfg.seed))
            times = time_cuda(lambda: model.run_device(x1), cfg.runs, cfg.warmup, torch)
        gpu_mb = round(torch.cuda.max_memory_allocated() / 2 ** 20, 2)  # weights + graph pool, batch 1
        torch.cuda.reset_peak_memory_stats()
        by_batch = {}
        for b in cfg.batches:
            xb = model.to_device(timing_input(b, hw, cfg.seed + b))
            t = time_cuda(lambda: model.run_device(xb), max(1, cfg.throughput_runs), 2, torch)
            by_batch[str(b)] = round(b / float(np.median(t)), 3)
        gpu_batch_mb = round(torch.cuda.max_memory_allocated() / 2 ** 20, 2)
        return {**latency_stats(times), "throughput_by_batch": by_batch,
                "throughput_ips": by_batch[str(max(cfg.batches))], "rss_delta_mb": mem.delta_mb,
                "gpu_mem_mb": gpu_mb, "peak_mem_mb": gpu_mb,
                "timing": ("CUDA events, device-resident input, " +
                           ("CUDA graph replay" if model.use_graph else "eager") + ", channels_last; excludes H2D/D2H"),
                "extra": {"gpu": torch.cuda.get_device_name(0), "cudnn_benchmark": True,
                          "gpu_mem_batch_mb": gpu_batch_mb}}


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def set_description(self, text: str) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(total: int, enabled: bool):
    if not enabled:
        return _NoBar()
    try:
        from tqdm import tqdm
    except ImportError:
        return _NoBar()
    return tqdm(total=total, file=sys.stderr, unit="row", leave=False, dynamic_ncols=True)


def run_bench(cfg: BenchConfig, log: Callable[[str], None] | None = None) -> BenchResult:
    """Run every requested backend, trtexec log and synthesis measurement of ``cfg``."""
    if cfg.runs < 1 or cfg.warmup < 0 or cfg.throughput_runs < 1 or cfg.repeat < 1 or not cfg.batches or min(cfg.batches) < 1:
        raise JitterEdgeError("--runs, --repeat, --batch and --throughput-runs must be >= 1, --warmup >= 0")
    if cfg.threads and min(cfg.threads) < 1:
        raise JitterEdgeError("--threads must be >= 1")
    for s in cfg.sizes:
        parse_size(s)
    for flag, given in (("--onnx", cfg.onnx), ("--int8", cfg.int8), ("--ort", cfg.ort), ("--engine", cfg.engine),
                        ("--from-trtexec-log", None)):
        if given is not None and not Path(given).is_file():
            raise JitterEdgeError(f"{flag} {given}: no such file")
    return Bench(cfg, log).run()


# ---------------------------------------------------------------------------------------------
# Accuracy gate
# ---------------------------------------------------------------------------------------------

def apply_accuracy_gate(rows: list[BenchRow], cfg: BenchConfig) -> list[str]:
    """Mark rows under the accuracy floor as failed-accuracy; return one message per violation.

    A row that ran without accuracy (no validation set) fails a set floor too: a CI gate must not
    pass because nothing was measured.
    """
    limits = (("epe_px", cfg.max_epe, "EPE", "px"), ("shaken_defocus", cfg.max_defocus_shaken, "defocus shaken", ""),
              ("shaken_sharp", cfg.max_sharp_shaken, "sharp shaken", ""))
    failures: list[str] = []
    for row in rows:
        if row.status not in (RAN, FAILED_ACCURACY) or row.source != "measured":
            continue
        broken = []
        for key, limit, label, unit in limits:
            if limit is None:
                continue
            value = getattr(row, key)
            if value is None or not math.isfinite(value):
                broken.append(f"{label} not measured (floor {limit:g}{unit})")
            elif value > limit:
                broken.append(f"{label} {value:.4g}{unit} > {limit:g}{unit}")
        if broken:
            row.status = FAILED_ACCURACY
            row.reason = "; ".join(broken)
            failures.append(f"{row.backend} {row.precision} {row.input} threads={row.threads}: {row.reason}")
    return failures


# ---------------------------------------------------------------------------------------------
# trtexec logs
# ---------------------------------------------------------------------------------------------

_STAT_RE = {
    "min": r"min\s*=\s*([\d.eE+-]+)\s*ms", "max": r"max\s*=\s*([\d.eE+-]+)\s*ms",
    "mean": r"mean\s*=\s*([\d.eE+-]+)\s*ms", "median": r"median\s*=\s*([\d.eE+-]+)\s*ms",
    "p90": r"percentile\(90%\)\s*=\s*([\d.eE+-]+)\s*ms", "p95": r"percentile\(95%\)\s*=\s*([\d.eE+-]+)\s*ms",
    "p99": r"percentile\(99%\)\s*=\s*([\d.eE+-]+)\s*ms",
}


def _parse_stat_line(line: str) -> dict[str, float]:
    out = {}
    for key, pattern in _STAT_RE.items():
        m = re.search(pattern, line)
        if m:
            out[key] = float(m.group(1))
    return out


def _trt_version(code: str) -> str:
    """trtexec's banner code -> dotted version: 8502 -> 8.5.2, 8601 -> 8.6.1, 100300 -> 10.3.0."""
    n = int(code)
    if n >= 100000:
        return f"{n // 10000}.{n // 100 % 100}.{n % 100}"
    return f"{n // 1000}.{n // 100 % 10}.{n % 100}"


def parse_trtexec_log(text: str) -> dict:
    """Pull the performance summary and build facts out of trtexec 8.x / 10.x output.

    Returns:
        dict with latency (min/max/mean/median/p90/p95/p99 ms: host latency = H2D + compute + D2H),
        gpu_compute (same keys, or {}), throughput_qps, tensorrt_version, device, precision,
        input_shape (list or None), command (str or None).

    Raises:
        ValueError: no "Latency: min = ... ms" summary line.
    """
    latency: dict[str, float] = {}
    gpu: dict[str, float] = {}
    qps = None
    version = device = command = None
    shape: list[int] | None = None
    precision_line = None
    for raw in text.splitlines():
        line = re.sub(r"^\[[^\]]*\]\s*(\[[A-Z]\]\s*)?", "", raw.strip())  # drop "[date] [I] "
        m = re.search(r"\[TensorRT v(\d+)\]", raw)
        if m:
            version = version or _trt_version(m.group(1))
        if "RUNNING TensorRT.trtexec" in raw and "#" in raw:
            command = raw.split("#", 1)[1].strip()
        m = re.match(r"TensorRT version:\s*([\d.]+)", line)
        if m:
            version = m.group(1)
        m = re.match(r"Selected Device:\s*(.+)$", line)  # "Device: 0" (System Options) is an index
        if m:
            device = m.group(1).strip()
        m = re.match(r"Precision:\s*(.+)$", line)
        if m:
            precision_line = m.group(1).strip()
        if line.startswith("Throughput:"):
            m = re.search(r"([\d.eE+-]+)\s*qps", line)
            if m:
                qps = float(m.group(1))
        elif line.startswith("Latency:") and "min" in line:
            latency = _parse_stat_line(line)
        elif line.startswith("GPU Compute Time:") and "min" in line:
            gpu = _parse_stat_line(line)
        if shape is None:
            m = re.search(r"dimensions\s+(\d+(?:x\d+){3})\b", line) or \
                re.search(r"Input build shape.*?=\s*(\d+(?:x\d+){3})", line)
            if m:
                shape = [int(v) for v in m.group(1).split("x")]
    if command:
        m = re.search(r"--shapes=[^\s:]+:(\d+(?:x\d+){3})", command)
        if m:
            shape = [int(v) for v in m.group(1).split("x")]
    if not latency or "median" not in latency:
        raise ValueError("no 'Latency: min = ..., median = ... ms' performance summary")
    return {"latency": latency, "gpu_compute": gpu, "throughput_qps": qps, "tensorrt_version": version,
            "device": device, "precision": _trt_precision(command, precision_line), "input_shape": shape,
            "command": command}


def _trt_precision(command: str | None, precision_line: str | None) -> str:
    flags = set(re.findall(r"--(fp16|int8|best|bf16|fp8|noTF32|stronglyTyped)\b", command or ""))
    if "best" in flags:
        return "best"
    chosen = [p for p in ("int8", "fp8", "fp16", "bf16") if p in flags]
    if chosen:
        return "+".join(chosen)
    if precision_line:  # "FP32+FP16" -> fp16, "FP32+INT8" -> int8, "FP32" -> fp32
        parts = [p.lower() for p in precision_line.replace(" ", "").split("+")]
        extra = [p for p in parts if p != "fp32"]
        return "+".join(extra) if extra else "fp32"
    return "fp32"


def row_from_trtexec_log(path: str | os.PathLike) -> BenchRow:
    """A table row from a user's trtexec output (``trtexec ... 2>&1 | tee log.txt``)."""
    p = Path(path)
    try:
        text = p.read_text(errors="replace")
    except FileNotFoundError:
        raise JitterEdgeError(f"{p}: no such file") from None
    except OSError as exc:
        raise JitterEdgeError(f"{p}: cannot read ({exc.strerror})") from None
    try:
        info = parse_trtexec_log(text)
    except ValueError as exc:
        raise JitterEdgeError(f"{p}: not trtexec output: {exc}") from None
    lat, gpu = info["latency"], info["gpu_compute"]
    shape = info["input_shape"]
    batch = shape[0] if shape else 1
    row = BenchRow(backend="tensorrt", precision=info["precision"], device="cuda", status=RAN, source="trtexec-log",
                   artifact=str(p), input=f"{shape[3]}x{shape[2]}" if shape else None,
                   input_shape=shape, batch=batch,
                   latency_p50_ms=lat.get("median"), latency_p90_ms=lat.get("p90"), latency_p99_ms=lat.get("p99"),
                   latency_mean_ms=lat.get("mean"), latency_min_ms=lat.get("min"),
                   throughput_ips=round(info["throughput_qps"] * batch, 3) if info["throughput_qps"] else None,
                   timing="trtexec host latency (H2D + GPU compute + D2H)",
                   reason=f"from trtexec log {p.name} ({batch} image{'s' if batch > 1 else ''} per query); "
                          "accuracy not measured",
                   extra={"gpu_compute_ms": gpu, "latency_p95_ms": lat.get("p95"), "command": info["command"],
                          "throughput_qps": info["throughput_qps"]},
                   environment={"gpu": info["device"], "versions": {"tensorrt": info["tensorrt_version"]},
                                "source": f"trtexec log {p.name}"})
    if shape:
        row.throughput_by_batch = {str(batch): row.throughput_ips} if row.throughput_ips else {}
    return row


# ---------------------------------------------------------------------------------------------
# Synthesis speed
# ---------------------------------------------------------------------------------------------

SYNTH_MEASURES = (("synth-blur", "jitteredge.synth.speed", "measure_blur_speed"),
                  ("synth-sample", "jitteredge.synth.sample", "measure_sample_throughput"))


def synth_rows(measures=SYNTH_MEASURES) -> list[dict]:
    """Call each synthesis speed measurement; an absent one becomes an "unavailable" row."""
    out = []
    for name, module_name, func_name in measures:
        row = {"kind": "synth", "name": name, "status": UNAVAILABLE, "reason": "", "metrics": {}}
        try:
            module = __import__(module_name, fromlist=[func_name])
            func = getattr(module, func_name)
        except (ImportError, AttributeError) as exc:
            row["reason"] = f"{module_name}.{func_name} not available ({first_line(exc)})"
            out.append(row)
            continue
        try:
            metrics = func()
            row.update(status=RAN, metrics=_json_safe(dict(metrics)))
        except Exception as exc:  # one failing measurement must not lose the others
            row.update(status=ERROR, reason=f"{type(exc).__name__}: {first_line(exc)}")
        out.append(row)
    return out


def _json_safe(value):
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, (np.generic,)):
        return value.item()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


# ---------------------------------------------------------------------------------------------
# Output: terminal table, Markdown, JSON, plot
# ---------------------------------------------------------------------------------------------

def _cell(key: str, value) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, float):
        if key.startswith("shaken"):
            return f"{value:.2f}"
        if key.startswith("latency") or key == "epe_px":
            return f"{value:.3f}" if value < 10 else f"{value:.2f}" if value < 100 else f"{value:.1f}"
        return f"{value:.1f}"
    return str(value)


def table_cells(rows: list[dict]) -> list[list[str]]:
    """Formatted cells per row; a row that did not run shows no batch (nothing was measured)."""
    out = []
    for r in rows:
        ran = r.get("status") in (RAN, FAILED_ACCURACY)
        out.append([_cell(k, r.get(k)) if ran or k != "batch" else "-" for k, _ in COLUMNS])
    return out


def format_table(rows: list[BenchRow] | list[dict], markdown: bool = False) -> str:
    """The benchmark table (COLUMNS), aligned text or a Markdown pipe table."""
    dicts = [r.to_dict() if isinstance(r, BenchRow) else r for r in rows]
    header = [title for _, title in COLUMNS]
    body = table_cells(dicts)
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |" for cells in body]
        return "\n".join(lines)
    widths = [max(len(h), *(len(c[i]) for c in body)) if body else len(h) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip() for cells in body]
    return "\n".join(lines)


def format_notes(rows: list[BenchRow]) -> list[str]:
    """One line per distinct reason: why a backend could not run, what a row's timing includes."""
    out, seen = [], set()
    for r in rows:
        if r.reason:
            line = f"{r.backend} {r.precision}: {r.status}: {r.reason}" if r.status != RAN else \
                f"{r.backend} {r.precision}: {r.reason}"
            if line not in seen:
                seen.add(line)
                out.append(line)
    return out


def format_synth(synth: list[dict], width: int = 110) -> list[str]:
    """One entry per synthesis measurement: its figures as key=value, wrapped at ``width``."""
    import textwrap

    out = []
    for s in synth:
        if s["status"] != RAN:
            out.append(f"{s['name']}: {s['status']}: {s['reason']}")
            continue
        items = ", ".join(f"{k}={_short(v)}" for k, v in _flatten(s["metrics"]).items())
        out.append("\n    ".join(textwrap.wrap(f"{s['name']}: {items}", width, break_on_hyphens=False)))
    return out


def _short(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def format_report(result: BenchResult, markdown: bool = False) -> str:
    """Environment lines, the table, the notes, the synthesis figures and any gate failures."""
    from jitteredge.benchenv import describe

    env_lines = describe(result.environment)
    sections: list[list[str]] = []
    sections.append(["# jitteredge bench", ""] + [f"- {line}" for line in env_lines] if markdown else env_lines)
    if result.rows:
        sections.append([format_table(result.rows, markdown)])
        notes = format_notes(result.rows)
        if notes:
            sections.append([f"- {n}" if markdown else n for n in notes])
    if result.synth:
        sections.append(["## synthesis" if markdown else "synthesis:"]
                        + [f"- {line}" if markdown else f"  {line}" for line in format_synth(result.synth)])
    if result.failures:
        sections.append(["accuracy gate FAILED:"] + [f"- {f}" if markdown else f"  {f}" for f in result.failures])
    return "\n\n".join("\n".join(section) for section in sections) + "\n"


def plot_scaling(rows: list[BenchRow], path: str | os.PathLike) -> Path:
    """latency p50 vs input pixels, throughput vs threads, throughput vs batch, one line per backend.

    Raises:
        JitterEdgeError: matplotlib is not installed, or nothing ran.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise JitterEdgeError("--plot needs matplotlib (pip install matplotlib)") from None
    from jitteredge.fileio import atomic_path

    ran = [r for r in rows if r.status in (RAN, FAILED_ACCURACY) and r.latency_p50_ms is not None
           and r.source == "measured"]
    if not ran:
        raise JitterEdgeError(f"{path}: nothing ran, nothing to plot")
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    order = [(p.backend, p.precision) for p in plans_for(BACKENDS)]
    keys = sorted({(r.backend, r.precision) for r in ran}, key=lambda k: order.index(k) if k in order else len(order))
    min_threads = min((r.threads or 1) for r in ran)
    for backend, precision in keys:
        label = f"{backend} {precision}"
        mine = [r for r in ran if (r.backend, r.precision) == (backend, precision)]
        res = sorted({(r.input_shape[2] * r.input_shape[3], r.latency_p50_ms) for r in mine
                      if (r.threads or 1) == min_threads})
        if res:
            axes[0].plot([p / 1e6 for p, _ in res], [v for _, v in res], marker="o", label=label)
        first_input = mine[0].input
        thr = sorted({(r.threads, r.throughput_ips) for r in mine if r.threads and r.input == first_input})
        if thr:
            axes[1].plot([t for t, _ in thr], [v for _, v in thr], marker="o", label=label)
        base = next((r for r in mine if r.input == first_input and (r.threads or 1) == min_threads), None)
        if base and base.throughput_by_batch:
            bs = sorted((int(b), v) for b, v in base.throughput_by_batch.items())
            axes[2].plot([b for b, _ in bs], [v for _, v in bs], marker="o", label=label)
    axes[0].set(xlabel="input megapixels", ylabel="latency p50 (ms), batch 1",
                title=f"latency vs resolution ({min_threads} thread{'s' if min_threads > 1 else ''})")
    axes[1].set(xlabel="threads", ylabel="images / s", title=f"throughput vs threads ({ran[0].input})")
    axes[2].set(xlabel="batch", ylabel="images / s", title=f"throughput vs batch ({ran[0].input})")
    thread_values = sorted({r.threads for r in ran if r.threads})
    if thread_values:
        axes[1].set_xticks(thread_values)
    batch_values = sorted({int(b) for r in ran for b in r.throughput_by_batch})
    if batch_values:
        axes[2].set_xticks(batch_values)
    for ax in axes:
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=8)
    fig.tight_layout()
    out = Path(path)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return out


def write_outputs(result: BenchResult, json_path: str | None = None, md_path: str | None = None) -> None:
    from jitteredge.fileio import write_bytes_atomic

    if json_path:
        write_bytes_atomic(json_path, (json.dumps(result.to_json_rows(), indent=2) + "\n").encode())
    if md_path:
        write_bytes_atomic(md_path, format_report(result, markdown=True).encode())
