"""Running a benchmark: Bench opens each plan's backend, times it (best of --repeat), scores it on
the validation set and fills its rows; run_bench checks the config first, and Bench.run adds the
trtexec rows, synthesis rows, accuracy gate and environment."""

from __future__ import annotations

import platform
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np

from jitteredge.bench.artifacts import Artifacts, _Unavailable, model_cache_dir
from jitteredge.bench.cuda import TorchDeviceModel, time_cuda
from jitteredge.bench.gate import apply_accuracy_gate
from jitteredge.bench.memory import PeakRss
from jitteredge.bench.plans import Plan, check_availability, plans_for
from jitteredge.bench.reasons import first_line
from jitteredge.bench.rows import ERROR, RAN, UNAVAILABLE, BenchConfig, BenchResult, BenchRow
from jitteredge.bench.sizes import network_hw, parse_size
from jitteredge.bench.synth_speed import synth_rows
from jitteredge.bench.timing import latency_stats, time_calls
from jitteredge.bench.trtexec import row_from_trtexec_log
from jitteredge.bench.valset import ValSet, accuracy, load_valset, make_valset
from jitteredge.errors import JitterEdgeError


# The .ort model is converted for ARM (signed INT8 activations, as ARM kernels want); x86 runs those
# through slower kernels, so its figure here says nothing about a phone.
ORT_X86_NOTE = "ARM-targeted INT8 model on x86: not representative; measure it on the device (benchmarks/ondevice.py)"


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
        from jitteredge.runners import MODEL_SUFFIXES
        from jitteredge.weights import resolve_model

        cfg = self.cfg
        try:
            return resolve_model(cfg.model, MODEL_SUFFIXES)
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
        from jitteredge.bench.env import capture_environment

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
                fixed = getattr(opened, "fixed_hw", None)
                val_hw = tuple(self.valset.inputs.shape[2:]) if self.valset is not None else None
                if fixed is not None and val_hw is not None and tuple(fixed) != val_hw:
                    # A fixed-size artifact cannot run the validation set: keep the timing, say why.
                    row.reason = (f"accuracy not measured: the model takes {fixed[1]}x{fixed[0]} input, the "
                                  f"validation set is {val_hw[1]}x{val_hw[0]} (--val-size {fixed[0]} matches a square one)")
                else:
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
        from jitteredge.runners import open_runner

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
    cfg = cfg.validate()
    for flag, given in (("--onnx", cfg.onnx), ("--int8", cfg.int8), ("--ort", cfg.ort), ("--engine", cfg.engine),
                        ("--from-trtexec-log", None)):
        if given is not None and not Path(given).is_file():
            raise JitterEdgeError(f"{flag} {given}: no such file")
    return Bench(cfg, log).run()
