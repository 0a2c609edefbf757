#!/usr/bin/env python3
"""Benchmark exported jitteredge models on the device itself (Jetson, any ARM board, a phone).

Needs only Python 3.8+, numpy, and onnxruntime (for .onnx / .ort) or TensorRT's Python bindings
(for .engine / .plan, with the CUDA runtime that JetPack installs). No PyTorch and no jitteredge
install: copy this one file, the artifacts and a validation set written on a workstation by

    jitteredge bench --export-valset valset/

then run, e.g.

    python3 ondevice.py --valset valset/ edge.onnx edge.int8.onnx edge.int8.ort --threads 1 4 --json out.json
    python3 ondevice.py --valset valset/ edge.fp16.engine --imgsz 1080p --json trt.json

It prints the same table (same columns and JSON keys) as ``jitteredge bench``: latency p50/p90/p99
at batch 1 after warm-up, throughput at a larger batch, peak memory, and accuracy (endpoint error,
share of defocused and sharp photos judged shaken) on the validation set.

Timing: host wall clock around one inference, input and output in host memory (for TensorRT that
is H2D copy + execution + D2H copy, the same span as trtexec's "Latency").
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import importlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

# Same (JSON key, column title) as jitteredge.bench.COLUMNS; a test keeps the two equal.
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
SIZE_ALIASES = {"720p": (1280, 720), "1080p": (1920, 1080), "4k": (3840, 2160)}
MULTIPLE = 16  # the network pools four times
GROUP_ORDER = ("strong", "mild", "sharp", "defocus")


class Skip(Exception):
    """An artifact that cannot run here; the message is the row's reason."""


# -- environment ---------------------------------------------------------------------------------
def read_text(path, limit=4096):
    try:
        with open(path, "r", errors="replace") as f:
            return f.read(limit).replace("\x00", "").strip()
    except OSError:
        return None


def run_quiet(cmd):
    if shutil.which(cmd[0]) is None:
        return None
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return res.stdout.strip() if res.returncode == 0 and res.stdout.strip() else None


def cpu_model():
    info = read_text("/proc/cpuinfo", 1 << 16) or ""
    for key in ("model name", "Hardware", "Model", "cpu model"):
        for line in info.splitlines():
            if line.split(":")[0].strip() == key and ":" in line and line.split(":", 1)[1].strip():
                return line.split(":", 1)[1].strip()
    return read_text("/proc/device-tree/model") or platform.processor() or platform.machine()


def version_of(dist, module):
    try:
        from importlib.metadata import PackageNotFoundError, version
        try:
            return version(dist)
        except PackageNotFoundError:
            pass
    except ImportError:
        pass
    try:  # JetPack's TensorRT bindings come from a Debian package without pip metadata
        return str(getattr(importlib.import_module(module), "__version__", "unknown"))
    except Exception:
        return None


def capture_environment():
    tegra = read_text("/etc/nv_tegra_release")
    clocks = {}
    for name in ("scaling_governor", "scaling_cur_freq", "scaling_max_freq", "cpuinfo_max_freq"):
        value = read_text(f"/sys/devices/system/cpu/cpu0/cpufreq/{name}")
        if value:
            clocks[f"cpu0_{name}"] = value
    devfreq = Path("/sys/class/devfreq")
    if devfreq.is_dir():
        for dev in sorted(devfreq.iterdir()):
            for name in ("cur_freq", "max_freq", "governor"):
                value = read_text(dev / name)
                if value:
                    clocks[f"{dev.name}_{name}"] = value
    gpu = run_quiet(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"])
    if gpu is None and tegra:
        gpu = read_text("/proc/device-tree/model")
    return {
        "cpu": cpu_model(), "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "gpu": gpu.splitlines()[0] if gpu else None,
        "os": platform.platform(), "kernel": platform.release(), "machine": platform.machine(),
        "python": platform.python_version(),
        "l4t": tegra.splitlines()[0] if tegra else None,
        "jetson_model": read_text("/proc/device-tree/model") if tegra else None,
        "power_mode": run_quiet(["nvpmodel", "-q"]),
        "clocks": clocks,
        "versions": {"torch": None, "onnxruntime": version_of("onnxruntime", "onnxruntime"),
                     "tensorrt": version_of("tensorrt", "tensorrt"), "numpy": np.__version__},
        "harness": "benchmarks/ondevice.py",
    }


# -- measuring -----------------------------------------------------------------------------------
def proc_kb(key):
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


class PeakRss:
    """Peak resident-set growth (MB) inside a with block (VmHWM reset through /proc/self/clear_refs)."""

    def __enter__(self):
        import gc

        gc.collect()
        try:  # hand heap freed by earlier rows back to the OS, so it cannot hide this row's growth
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):
            pass
        self.start = proc_kb("VmRSS")
        self.delta_mb = None
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
            self.exact = True
        except OSError:
            self.exact = False
        return self

    def __exit__(self, *exc):
        peak, now = proc_kb("VmHWM"), proc_kb("VmRSS")
        if self.start is not None and peak is not None:
            top = peak if self.exact else max(now or 0, self.start)
            self.delta_mb = round(max(0, top - self.start) / 1024.0, 2)


def time_calls(fn, runs, warmup):
    for _ in range(warmup):
        fn()
    out = np.empty(runs)
    for i in range(runs):
        t0 = time.perf_counter()
        fn()
        out[i] = time.perf_counter() - t0
    return out


def latency_stats(seconds):
    ms = np.asarray(seconds, dtype=np.float64) * 1000.0
    p50, p90, p99 = np.percentile(ms, [50, 90, 99])
    return {"latency_p50_ms": round(float(p50), 4), "latency_p90_ms": round(float(p90), 4),
            "latency_p99_ms": round(float(p99), 4), "latency_mean_ms": round(float(ms.mean()), 4),
            "latency_min_ms": round(float(ms.min()), 4)}


def parse_size(text):
    t = str(text).strip().lower()
    if t in SIZE_ALIASES:
        w, h = SIZE_ALIASES[t]
    else:
        m = re.fullmatch(r"(\d+)(?:[x*,](\d+))?", t)
        if not m:
            raise SystemExit(f"ondevice: --imgsz {text!r}: expected 256, WxH, 720p or 1080p")
        w = int(m.group(1))
        h = int(m.group(2)) if m.group(2) else w
    return -(-h // MULTIPLE) * MULTIPLE, -(-w // MULTIPLE) * MULTIPLE  # (H, W) as the network sees it


# -- accuracy (same arithmetic as jitteredge.fieldcode and jitteredge.verdict) --------------------
def decode_field(code, code_scale_px):
    """(..., 2) doubled-angle code -> (..., 2) field (U, V) in px with U >= 0."""
    a = code[..., 0].astype(np.float64) * code_scale_px
    b = code[..., 1].astype(np.float64) * code_scale_px
    r = np.hypot(a, b)
    phi = 0.5 * np.arctan2(b, a)
    return np.stack([r * np.cos(phi), r * np.sin(phi)], axis=-1).astype(np.float32)


def endpoint_error(pred, truth):
    pred, truth = pred.astype(np.float64), truth.astype(np.float64)
    return np.minimum(np.linalg.norm(pred - truth, axis=-1), np.linalg.norm(pred + truth, axis=-1))


def blur_evidence(rgb, radius, min_std):
    """jitteredge.evidence.blur_evidence with integral images: where the photo can show blur."""
    g = rgb[..., 0].astype(np.int64) + 2 * rgb[..., 1].astype(np.int64) + rgb[..., 2].astype(np.int64)
    h, w = g.shape

    def table(a):
        t = np.zeros((h + 1, w + 1), np.int64)
        t[1:, 1:] = a.cumsum(0).cumsum(1)
        return t

    y0, y1 = np.clip(np.arange(h) - radius, 0, h), np.clip(np.arange(h) + radius + 1, 0, h)
    x0, x1 = np.clip(np.arange(w) - radius, 0, w), np.clip(np.arange(w) + radius + 1, 0, w)

    def window(t):
        return t[y1][:, x1] - t[y0][:, x1] - t[y1][:, x0] + t[y0][:, x0]

    n = (y1 - y0)[:, None] * (x1 - x0)[None, :]
    s1 = window(table(g))
    limit = 4 * int(min_std) * n
    return n * window(table(g * g)) - s1 * s1 > limit * limit


def judged_shaken(field_px, shaken_px, area_quantile, evidence):
    """jitteredge.verdict.judge_field(...).shaken: the area quantile of the blur length, read as 0
    where the photo shows no evidence, >= shaken_px."""
    mag = np.hypot(field_px[..., 0].astype(np.float64), field_px[..., 1].astype(np.float64))
    mag = np.where(evidence, mag, 0.0).ravel()
    return bool(np.quantile(mag, area_quantile) >= shaken_px)


def load_valset(folder):
    root = Path(folder)
    meta_path = root / "valset.json"
    if not meta_path.is_file():
        raise SystemExit(f"ondevice: {root}: no valset.json (write one with 'jitteredge bench --export-valset DIR')")
    meta = json.loads(meta_path.read_text())
    inputs = np.load(root / "inputs.npy").astype(np.float32, copy=False)
    fields = np.load(root / "fields.npy").astype(np.float32, copy=False)
    if len(meta.get("groups", [])) != inputs.shape[0] or fields.shape[:3] != (inputs.shape[0],) + inputs.shape[2:]:
        raise SystemExit(f"ondevice: {root}: inputs {inputs.shape}, fields {fields.shape} and groups disagree")
    return inputs, fields, meta


def accuracy(predict, valset, batch):
    inputs, fields, meta = valset
    scale = float(meta.get("code_scale_px", 8.0))
    shaken_px, quantile = float(meta.get("shaken_px", 2.0)), float(meta.get("area_quantile", 0.95))
    radius, min_std = int(meta.get("evidence_radius", 4)), int(meta.get("evidence_min_std", 5))
    norm = meta.get("input", {})
    photos = np.rint((inputs.astype(np.float64) * norm.get("std", 0.25) + norm.get("mean", 0.5)) * 255.0)
    photos = np.clip(photos, 0, 255).astype(np.uint8).transpose(0, 2, 3, 1)
    n = inputs.shape[0]
    epe, shaken = np.empty(n), np.empty(n, dtype=bool)
    for start in range(0, n, batch):
        code = predict(inputs[start:start + batch])
        for k in range(code.shape[0]):
            pred = decode_field(code[k].transpose(1, 2, 0), scale)
            epe[start + k] = float(endpoint_error(pred, fields[start + k]).mean())
            evidence = blur_evidence(photos[start + k], radius, min_std)
            shaken[start + k] = judged_shaken(pred, shaken_px, quantile, evidence)
    groups = np.asarray(meta["groups"])
    names = sorted(set(meta["groups"]), key=lambda g: (GROUP_ORDER.index(g) if g in GROUP_ORDER else 99, g))
    by_epe = {g: round(float(epe[groups == g].mean()), 4) for g in names}
    by_shaken = {g: round(float(shaken[groups == g].mean()), 4) for g in names}
    return {"epe_px": round(float(epe.mean()), 4), "epe_by_group": by_epe, "shaken_by_group": by_shaken,
            "shaken_defocus": by_shaken.get("defocus"), "shaken_sharp": by_shaken.get("sharp"), "val_n": int(n)}


# -- ONNX Runtime --------------------------------------------------------------------------------
class OrtModel:
    def __init__(self, path, threads):
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise Skip(f"onnxruntime not importable ({exc})")
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        if threads:
            options.intra_op_num_threads = int(threads)
            options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
        meta = self.session.get_modelmeta().custom_metadata_map or {}
        info = json.loads(meta["jitteredge"]) if "jitteredge" in meta else {}
        self.precision = str(info.get("precision") or ("int8" if "int8" in Path(path).name.lower() else "fp32"))
        self.input = self.session.get_inputs()[0]
        shape = self.input.shape
        self.fixed_hw = (shape[2], shape[3]) if isinstance(shape[2], int) and isinstance(shape[3], int) else None
        self.backend = "ort" if Path(path).suffix == ".ort" else f"onnx-{'int8' if self.precision == 'int8' else 'fp32'}"

    def predict(self, x):
        return self.session.run(None, {self.input.name: np.ascontiguousarray(x, dtype=np.float32)})[0]

    def close(self):
        self.session = None


# -- TensorRT (CUDA runtime through ctypes: no pycuda or cuda-python needed) -----------------------
CUDA_H2D, CUDA_D2H = 1, 2  # cudaMemcpyKind


class CudaRuntime:

    def __init__(self):
        names = [ctypes.util.find_library("cudart"), "libcudart.so", "libcudart.so.12", "libcudart.so.11.0",
                 "libcudart.so.10.2", "/usr/local/cuda/lib64/libcudart.so"]
        self.lib = None
        for name in names:
            if not name:
                continue
            try:
                self.lib = ctypes.CDLL(name)
                break
            except OSError:
                continue
        if self.lib is None:
            raise Skip("CUDA runtime (libcudart) not found")
        self.lib.cudaMalloc.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_size_t]
        self.lib.cudaFree.argtypes = [ctypes.c_void_p]
        self.lib.cudaMemcpy.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        self.lib.cudaStreamCreate.argtypes = [ctypes.POINTER(ctypes.c_void_p)]
        self.lib.cudaStreamSynchronize.argtypes = [ctypes.c_void_p]
        self.lib.cudaMemGetInfo.argtypes = [ctypes.POINTER(ctypes.c_size_t), ctypes.POINTER(ctypes.c_size_t)]
        self.lib.cudaMemcpyAsync.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int,
                                             ctypes.c_void_p]

    def check(self, code, what):
        if code != 0:
            raise RuntimeError(f"CUDA error {code} in {what}")

    def malloc(self, nbytes):
        ptr = ctypes.c_void_p()
        self.check(self.lib.cudaMalloc(ctypes.byref(ptr), max(1, int(nbytes))), "cudaMalloc")
        return ptr.value

    def free(self, ptr):
        self.lib.cudaFree(ptr)

    def stream(self):
        s = ctypes.c_void_p()
        self.check(self.lib.cudaStreamCreate(ctypes.byref(s)), "cudaStreamCreate")
        return s.value

    def copy_async(self, dst, src, nbytes, kind, stream):
        self.check(self.lib.cudaMemcpyAsync(dst, src, nbytes, kind, stream), "cudaMemcpyAsync")

    def sync(self, stream):
        self.check(self.lib.cudaStreamSynchronize(stream), "cudaStreamSynchronize")

    def used_mb(self):
        free, total = ctypes.c_size_t(), ctypes.c_size_t()
        if self.lib.cudaMemGetInfo(ctypes.byref(free), ctypes.byref(total)) != 0:
            return None
        return (total.value - free.value) / 2 ** 20


def import_tensorrt():
    try:
        import tensorrt
    except Exception as exc:  # ImportError, or a broken native library
        raise Skip(f"not importable ({exc})")
    return tensorrt


class TrtModel:
    """A TensorRT engine (TensorRT 8.5+ tensor API, or the older binding API) on a CUDA stream."""

    def __init__(self, path):
        trt = import_tensorrt()
        self.trt = trt
        self.cuda = CudaRuntime()
        logger = trt.Logger(trt.Logger.WARNING)
        try:
            trt.init_libnvinfer_plugins(logger, "")
        except Exception:
            pass
        self.runtime = trt.Runtime(logger)
        self.engine = self.runtime.deserialize_cuda_engine(Path(path).read_bytes())
        if self.engine is None:
            raise Skip(f"{path}: TensorRT cannot deserialize it (built by another TensorRT version or GPU?)")
        self.context = self.engine.create_execution_context()
        self.stream = self.cuda.stream()
        self.tensor_api = hasattr(self.engine, "num_io_tensors")
        if self.tensor_api:
            names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
            is_in = [self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT for n in names]
            self.input_name = names[is_in.index(True)]
            self.output_name = names[is_in.index(False)]
            in_shape = tuple(self.engine.get_tensor_shape(self.input_name))
            self.in_dtype = trt.nptype(self.engine.get_tensor_dtype(self.input_name))
            self.out_dtype = trt.nptype(self.engine.get_tensor_dtype(self.output_name))
        else:
            self.input_index = [i for i in range(self.engine.num_bindings) if self.engine.binding_is_input(i)][0]
            self.output_index = 1 - self.input_index
            in_shape = tuple(self.engine.get_binding_shape(self.input_index))
            self.in_dtype = trt.nptype(self.engine.get_binding_dtype(self.input_index))
            self.out_dtype = trt.nptype(self.engine.get_binding_dtype(self.output_index))
        self.fixed_hw = (in_shape[2], in_shape[3]) if in_shape[2] > 0 and in_shape[3] > 0 else None
        self.precision = self._precision(path)
        self.backend = "tensorrt"
        self.buffers = {}  # shape -> (d_in, d_out, out_shape)

    @staticmethod
    def _precision(path):
        side = Path(str(path) + ".json")
        for candidate in (side, Path(path).with_suffix(".json")):
            if candidate.is_file():
                try:
                    return str(json.loads(candidate.read_text()).get("precision") or "fp16")
                except ValueError:
                    pass
        name = Path(path).name.lower()
        return next((p for p in ("int8", "fp16", "fp32", "best") if p in name), "fp16")

    def _prepare(self, shape):
        if shape in self.buffers:
            return self.buffers[shape]
        if self.tensor_api:
            self.context.set_input_shape(self.input_name, shape)
            out_shape = tuple(self.context.get_tensor_shape(self.output_name))
        else:
            self.context.set_binding_shape(self.input_index, shape)
            out_shape = tuple(self.context.get_binding_shape(self.output_index))
        d_in = self.cuda.malloc(int(np.prod(shape)) * np.dtype(self.in_dtype).itemsize)
        d_out = self.cuda.malloc(int(np.prod(out_shape)) * np.dtype(self.out_dtype).itemsize)
        self.buffers[shape] = (d_in, d_out, out_shape)
        return self.buffers[shape]

    def predict(self, x):
        x = np.ascontiguousarray(x, dtype=self.in_dtype)
        d_in, d_out, out_shape = self._prepare(tuple(x.shape))
        out = np.empty(out_shape, dtype=self.out_dtype)
        self.cuda.copy_async(d_in, x.ctypes.data, x.nbytes, CUDA_H2D, self.stream)
        if self.tensor_api:
            self.context.set_input_shape(self.input_name, x.shape)
            self.context.set_tensor_address(self.input_name, d_in)
            self.context.set_tensor_address(self.output_name, d_out)
            ok = self.context.execute_async_v3(self.stream)
        else:
            self.context.set_binding_shape(self.input_index, x.shape)
            bindings = [0, 0]
            bindings[self.input_index], bindings[self.output_index] = d_in, d_out
            ok = self.context.execute_async_v2(bindings, self.stream)
        if not ok:
            raise RuntimeError("TensorRT execution failed")
        self.cuda.copy_async(out.ctypes.data, d_out, out.nbytes, CUDA_D2H, self.stream)
        self.cuda.sync(self.stream)
        return out.astype(np.float32)

    def close(self):
        for d_in, d_out, _ in self.buffers.values():
            self.cuda.free(d_in)
            self.cuda.free(d_out)
        self.buffers = {}
        self.context = self.engine = None


def open_model(path, threads):
    suffix = Path(path).suffix.lower()
    if suffix in (".onnx", ".ort"):
        return OrtModel(path, threads)
    if suffix in (".engine", ".plan"):
        return TrtModel(path)
    raise Skip(f"unknown artifact type {suffix!r} (expected .onnx, .ort, .engine, .plan)")


# -- one artifact -> rows ------------------------------------------------------------------------
def bench_artifact(path, args, valset, sizes):
    rows = []
    threads_list = args.threads
    batch_max = max(args.batch)
    acc = None
    for size_name, hw in sizes:
        for threads in threads_list:
            backend = guess_backend(path)
            row = {"backend": backend, "precision": "-", "device": "cpu", "status": "unavailable", "reason": "",
                   "artifact": str(path), "size_name": size_name,
                   "threads": None if backend == "tensorrt" else threads, "batch": batch_max,
                   "runs": args.runs, "warmup": args.warmup, "source": "ondevice", "kind": "model"}
            model = None
            try:
                # GPU memory in use before the engine and its context exist (Jetson: shared with the CPU).
                gpu_before = None
                if backend == "tensorrt":
                    import_tensorrt()
                    gpu_before = CudaRuntime().used_mb()
                with PeakRss() as mem:
                    model = open_model(path, threads)
                    row.update(backend=model.backend, precision=model.precision)
                    if model.backend == "tensorrt":
                        row.update(device="cuda", threads=None)
                    run_hw = hw
                    if model.fixed_hw is not None and tuple(model.fixed_hw) != tuple(hw):
                        run_hw = tuple(model.fixed_hw)
                        row["reason"] = f"artifact has a fixed input {run_hw[1]}x{run_hw[0]}; measured at that size"
                    row.update(input=f"{run_hw[1]}x{run_hw[0]}", input_shape=[1, 3, run_hw[0], run_hw[1]])
                    rng = np.random.default_rng(0)
                    x1 = rng.standard_normal((1, 3) + tuple(run_hw), dtype=np.float32)
                    row.update(latency_stats(time_calls(lambda: model.predict(x1), args.runs, args.warmup)))
                    if model.backend == "tensorrt":  # engine, context and batch-1 buffers
                        used = model.cuda.used_mb()
                        if used is not None and gpu_before is not None:
                            row["gpu_mem_mb"] = round(used - gpu_before, 2)
                with PeakRss() as mem_batch:
                    by_batch = {}
                    for b in args.batch:
                        xb = rng.standard_normal((b, 3) + tuple(run_hw), dtype=np.float32)
                        try:
                            t = time_calls(lambda: model.predict(xb), args.throughput_runs, 1)
                            by_batch[str(b)] = round(b / float(np.median(t)), 3)
                        except Exception as exc:  # e.g. an engine profile limited to batch 1
                            row["reason"] = (row["reason"] + "; " if row["reason"] else "") + \
                                f"batch {b} failed ({str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__})"
                    row["throughput_by_batch"] = by_batch
                    row["throughput_ips"] = by_batch.get(str(batch_max)) or (max(by_batch.values()) if by_batch else None)
                row["extra"] = {"peak_mem_batch_mb": mem_batch.delta_mb}
                if acc is None and valset is not None:
                    vhw = valset[0].shape[2:]
                    if model.fixed_hw is not None and tuple(model.fixed_hw) != tuple(vhw):
                        acc = {"_reason": f"accuracy not measured: the artifact's fixed input "
                                          f"{model.fixed_hw[1]}x{model.fixed_hw[0]} differs from the validation set's "
                                          f"{vhw[1]}x{vhw[0]}"}
                    else:
                        acc = accuracy(model.predict, valset, batch=min(8, batch_max))
                if acc is not None and "_reason" in acc:
                    row["reason"] = (row["reason"] + "; " if row["reason"] else "") + acc["_reason"]
                elif acc is not None:
                    row.update(acc)
                row["rss_delta_mb"] = mem.delta_mb
                row["peak_mem_mb"] = row.get("gpu_mem_mb", mem.delta_mb) if model.backend == "tensorrt" else mem.delta_mb
                row["status"] = "ran"
                row["timing"] = "host wall clock, host memory in and out" + \
                    (" (H2D + execution + D2H)" if model.backend == "tensorrt" else "")
            except Skip as exc:
                row["reason"] = str(exc)
            except Exception as exc:  # a failing artifact becomes a row, the others still run
                row.update(status="error", reason=f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}")
            finally:
                if model is not None:
                    model.close()
            rows.append(row)
            if row["backend"] == "tensorrt" or row["status"] == "unavailable":
                break  # threads do not apply to TensorRT; an artifact that cannot open needs one row
        if rows and rows[-1]["status"] == "unavailable":
            break
    return rows


def guess_backend(path):
    """The backend name a file's suffix implies (before it is opened)."""
    name, suffix = Path(path).name.lower(), Path(path).suffix.lower()
    if suffix in (".engine", ".plan"):
        return "tensorrt"
    if suffix == ".ort":
        return "ort"
    return "onnx-int8" if "int8" in name else "onnx-fp32"


def gate(rows, args):
    failures = []
    for row in rows:
        if row["status"] != "ran":
            continue
        broken = []
        for key, limit, label in (("epe_px", args.max_epe, "EPE"), ("shaken_defocus", args.max_defocus_shaken,
                                                                    "defocus shaken"),
                                  ("shaken_sharp", args.max_sharp_shaken, "sharp shaken")):
            if limit is None:
                continue
            value = row.get(key)
            if value is None:
                broken.append(f"{label} not measured (floor {limit:g})")
            elif value > limit:
                broken.append(f"{label} {value:.4g} > {limit:g}")
        if broken:
            row["status"] = "failed-accuracy"
            row["reason"] = "; ".join(broken)
            failures.append(f"{row['backend']} {row['precision']} {row.get('input')}: {row['reason']}")
    return failures


# -- output --------------------------------------------------------------------------------------
def cell(key, value):
    if value is None or value == "":
        return "-"
    if isinstance(value, float):
        if key.startswith("shaken"):
            return f"{value:.2f}"
        if key.startswith("latency") or key == "epe_px":
            return f"{value:.3f}" if value < 10 else f"{value:.2f}" if value < 100 else f"{value:.1f}"
        return f"{value:.1f}"
    return str(value)


def format_table(rows, markdown=False):
    header = [title for _, title in COLUMNS]
    body = [[cell(k, r.get(k)) if r.get("status") in ("ran", "failed-accuracy") or k != "batch" else "-"
             for k, _ in COLUMNS] for r in rows]
    if markdown:
        return "\n".join(["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
                         + ["| " + " | ".join(c) + " |" for c in body])
    widths = [max([len(h)] + [len(c[i]) for c in body]) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip(), "  ".join("-" * w for w in widths)]
    return "\n".join(lines + ["  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip() for cells in body])


def describe(env):
    v = env["versions"]
    lines = [f"device: {env['cpu']} ({env.get('cpu_affinity') or env['cpu_count']} cores usable)"
             + (f", GPU {env['gpu']}" if env.get("gpu") else ", no GPU"),
             f"os: {env['os']}" + (f", L4T: {env['l4t']}" if env.get("l4t") else ""),
             f"versions: onnxruntime {v['onnxruntime'] or 'absent'}, tensorrt {v['tensorrt'] or 'absent'}, numpy {v['numpy']}"]
    if env.get("power_mode"):
        lines.append("power mode: " + " / ".join(env["power_mode"].splitlines()[:2]))
    if env.get("clocks"):
        lines.append("clocks: " + ", ".join(f"{k}={val}" for k, val in list(env["clocks"].items())[:6]))
    return lines


def write_atomic(path, text):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def main(argv=None):
    p = argparse.ArgumentParser(description="Benchmark exported jitteredge models on this device "
                                            "(numpy + onnxruntime or tensorrt only).")
    p.add_argument("artifacts", nargs="+", help=".onnx, .ort, .engine or .plan files")
    p.add_argument("--valset", default=None, help="folder written by 'jitteredge bench --export-valset'")
    p.add_argument("--imgsz", nargs="+", default=["256"], help="256, WxH, 720p, 1080p (padded to multiples of 16)")
    p.add_argument("--threads", nargs="+", type=int, default=[1], help="ONNX Runtime intra-op threads")
    p.add_argument("--batch", nargs="+", type=int, default=[8], help="throughput batch sizes")
    p.add_argument("--runs", type=int, default=50, help="timed batch-1 calls")
    p.add_argument("--warmup", type=int, default=5, help="untimed calls first")
    p.add_argument("--throughput-runs", type=int, default=5, help="timed batches per throughput figure")
    p.add_argument("--max-epe", type=float, default=None, help="exit 1 when a row's EPE (px) is above")
    p.add_argument("--max-defocus-shaken", type=float, default=None, help="exit 1 when above (share)")
    p.add_argument("--max-sharp-shaken", type=float, default=None, help="exit 1 when above (share)")
    p.add_argument("--json", default=None, help="write the rows as a JSON list")
    p.add_argument("--md", default=None, help="write the table as Markdown")
    args = p.parse_args(argv)
    if args.runs < 1 or args.throughput_runs < 1 or min(args.batch) < 1 or min(args.threads) < 1:
        p.error("--runs, --throughput-runs, --batch and --threads must be >= 1")
    for a in args.artifacts:
        if not Path(a).is_file():
            p.error(f"{a}: no such file")

    env = capture_environment()
    valset = load_valset(args.valset) if args.valset else None
    sizes = [(s, parse_size(s)) for s in args.imgsz]
    rows = []
    for path in args.artifacts:
        print(f"ondevice: {path} ...", file=sys.stderr, flush=True)
        rows.extend(bench_artifact(path, args, valset, sizes))
    failures = gate(rows, args)
    for row in rows:
        row["environment"] = env

    lines = describe(env) + ["", format_table(rows)]
    notes = sorted({f"{r['backend']} {r['precision']}: {r['status']}: {r['reason']}" for r in rows if r.get("reason")})
    lines += [""] + notes if notes else []
    if valset is None:
        lines += ["", "accuracy not measured: no --valset"]
    if failures:
        lines += ["", "accuracy gate FAILED:"] + [f"  {f}" for f in failures]
    print("\n".join(lines))
    if args.json:
        write_atomic(args.json, json.dumps(rows, indent=2) + "\n")
    if args.md:
        md = ["# jitteredge on-device bench", ""] + [f"- {line}" for line in describe(env)] + ["", format_table(rows, True)]
        write_atomic(args.md, "\n".join(md + [""] + [f"- {n}" for n in notes]) + "\n")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
