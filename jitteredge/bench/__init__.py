"""Benchmark every backend and precision on the same inputs and the same validation set.

One row per (backend, precision, input size, threads): latency at batch 1 after warm-up (p50, p90,
p99 over ``runs`` calls), throughput at a larger batch, peak memory, and accuracy (endpoint error,
and the share of defocused and sharp photos wrongly judged shaken, patent [0071]) on one fixed
synthetic validation set. Rows that cannot run say why. Every result carries the environment
(jitteredge.bench.env), because a latency without the machine, power mode and clocks means nothing.

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

Modules, each importing only those listed before it:
    env          what the benchmark ran on (machine, power mode, clocks, versions); imports no sibling
    rows         backend names, statuses, COLUMNS, BenchConfig, BenchRow, BenchResult
    sizes        --imgsz parsing and the padded network input shape
    timing       timing loop and latency percentiles
    memory       peak resident-set growth (PeakRss)
    reasons      one-line reasons for rows that cannot run
    valset       the validation set (make, save, load) and accuracy on it
    artifacts    exported files, made on request and cached
    cuda         PyTorch on CUDA: graph-replay model, CUDA-event timing, device check
    plans        --backends parsing, one Plan per backend variant, availability checks
    gate         the accuracy floors (--max-epe, ...)
    trtexec      trtexec logs as rows
    synth_speed  synthesis speed rows (--synth)
    runner       Bench and run_bench: measure every plan into a BenchResult
    report       terminal / Markdown table and report text
    outputs      --json, --md and --plot files

This package re-exports the public names below, so ``from jitteredge.bench import X`` does not
depend on which module X lives in.
"""

from jitteredge.bench.rows import (BACKEND_ALIASES, BACKENDS, COLUMNS, ERROR, FAILED_ACCURACY, RAN,
                                   SCALING_BATCHES, SCALING_SIZES, SCALING_THREADS, UNAVAILABLE, BenchConfig,
                                   BenchResult, BenchRow, parse_backends)
from jitteredge.bench.sizes import SIZE_ALIASES, network_hw, parse_size
from jitteredge.bench.timing import latency_stats, time_calls
from jitteredge.bench.memory import PeakRss, release_freed_memory
from jitteredge.bench.reasons import first_line, import_reason
from jitteredge.bench.valset import (VALSET_FORMAT, VALSET_GROUPS, ValSet, accuracy, load_valset, make_valset,
                                     save_valset, summarise_accuracy)
from jitteredge.bench.artifacts import Artifacts, model_cache_dir
from jitteredge.bench.cuda import TorchDeviceModel, cuda_reason, time_cuda
from jitteredge.bench.plans import Plan, check_availability, plans_for
from jitteredge.bench.gate import apply_accuracy_gate
from jitteredge.bench.trtexec import parse_trtexec_log, row_from_trtexec_log
from jitteredge.bench.synth_speed import SYNTH_MEASURES, synth_rows
from jitteredge.bench.runner import ORT_X86_NOTE, Bench, run_bench, timing_input
from jitteredge.bench.report import format_notes, format_report, format_synth, format_table, table_cells
from jitteredge.bench.outputs import plot_scaling, write_outputs

__all__ = [
    # rows
    "BACKENDS", "BACKEND_ALIASES", "SCALING_SIZES", "SCALING_THREADS", "SCALING_BATCHES",
    "RAN", "FAILED_ACCURACY", "ERROR", "UNAVAILABLE", "COLUMNS", "BenchConfig", "BenchRow", "BenchResult",
    # sizes, timing, memory, reasons
    "SIZE_ALIASES", "parse_size", "network_hw",
    "latency_stats", "time_calls",
    "PeakRss", "release_freed_memory",
    "first_line", "import_reason",
    # valset
    "VALSET_FORMAT", "VALSET_GROUPS", "ValSet", "make_valset", "save_valset", "load_valset", "accuracy",
    "summarise_accuracy",
    # artifacts, cuda, plans
    "Artifacts", "model_cache_dir",
    "TorchDeviceModel", "time_cuda", "cuda_reason",
    "Plan", "plans_for", "parse_backends", "check_availability",
    # gate, trtexec, synth_speed
    "apply_accuracy_gate",
    "parse_trtexec_log", "row_from_trtexec_log",
    "SYNTH_MEASURES", "synth_rows",
    # runner
    "ORT_X86_NOTE", "timing_input", "Bench", "run_bench",
    # report, outputs
    "table_cells", "format_table", "format_notes", "format_synth", "format_report",
    "plot_scaling", "write_outputs",
]
