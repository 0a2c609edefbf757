"""`jitteredge bench`: latency, throughput, memory and accuracy of every backend, in one table."""

from __future__ import annotations

import argparse
import json
import sys

HELP = ("Benchmark the model on every backend and precision (PyTorch CPU/CUDA, ONNX Runtime FP32/INT8, "
        ".ort, TensorRT): latency, throughput, memory and accuracy on one validation set.")


def add_args(parser: argparse.ArgumentParser) -> None:
    from jitteredge.bench import BACKENDS, BenchConfig

    d = BenchConfig()
    parser.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS, help="YAML or JSON file of BenchConfig fields used as defaults")
    g = parser.add_argument_group("what to measure")
    g.add_argument("--model", default=argparse.SUPPRESS,
                   help=f"registry name or .pt checkpoint, for the torch rows and the exports (default: {d.model})")
    g.add_argument("--backends", default=argparse.SUPPRESS,
                   help=f"comma list from {','.join(BACKENDS)} (or all, none; default: all)")
    g.add_argument("--imgsz", nargs="+", default=argparse.SUPPRESS, metavar="SIZE",
                   help="input sizes: 256 (square), WxH, 720p, 1080p; padded up to multiples of 16 (default: 256)")
    g.add_argument("--threads", nargs="+", type=int, default=argparse.SUPPRESS, metavar="N", help="CPU threads, one row each (default: 1)")
    g.add_argument("--batch", nargs="+", type=int, default=argparse.SUPPRESS, metavar="B",
                   help="throughput batch sizes; the table shows the largest (default: 8)")
    g.add_argument("--scaling", action="store_true",
                   help="sizes 256 512 720p 1080p, threads 1 2, batches 1 4 8 (unless given)")
    g.add_argument("--runs", type=int, default=argparse.SUPPRESS, help=f"timed batch-1 calls per latency (default: {d.runs})")
    g.add_argument("--warmup", type=int, default=argparse.SUPPRESS, help=f"untimed calls before timing (default: {d.warmup})")
    g.add_argument("--repeat", type=int, default=argparse.SUPPRESS,
                   help=f"measure each row this many times, keep the quietest (lowest p50) (default: {d.repeat})")
    g.add_argument("--throughput-runs", type=int, default=argparse.SUPPRESS,
                   help=f"timed batches per throughput figure (default: {d.throughput_runs})")
    g.add_argument("--no-cuda-graphs", action="store_true", help="torch-cuda: run eagerly instead of replaying a CUDA graph")
    g.add_argument("--synth", action="store_true", help="also measure synthesis speed (blur kernel, sample throughput)")
    g.add_argument("--from-trtexec-log", action="append", default=[], metavar="FILE",
                   help="turn trtexec output into a row (repeatable); alone, only these rows are shown")

    g = parser.add_argument_group("artifacts (exported into --work unless given)")
    g.add_argument("--work", default=argparse.SUPPRESS, metavar="DIR", help="cache folder for exports (default: a temporary folder)")
    g.add_argument("--onnx", default=argparse.SUPPRESS, metavar="FILE", help="existing FP32 ONNX model")
    g.add_argument("--int8", default=argparse.SUPPRESS, metavar="FILE", help="existing INT8 ONNX model")
    g.add_argument("--ort", default=argparse.SUPPRESS, metavar="FILE", help="existing .ort model")
    g.add_argument("--engine", default=argparse.SUPPRESS, metavar="FILE", help="existing TensorRT engine")

    g = parser.add_argument_group("accuracy")
    g.add_argument("--valset", default=argparse.SUPPRESS, metavar="DIR", help="validation set written by --export-valset")
    g.add_argument("--val-n", type=int, default=argparse.SUPPRESS, help=f"synthesised validation photos (default: {d.val_n})")
    g.add_argument("--val-size", type=int, default=argparse.SUPPRESS, help=f"their side in px, multiple of 16 (default: {d.val_size_px})")
    g.add_argument("--val-source", default=argparse.SUPPRESS,
                   help=f"photo source: procedural, bsds500 or a folder (default: {d.val_source})")
    g.add_argument("--val-seed", type=int, default=argparse.SUPPRESS, help=f"validation set seed (default: {d.val_seed})")
    g.add_argument("--export-valset", default=argparse.SUPPRESS, metavar="DIR",
                   help="write the validation set (.npy + valset.json) for benchmarks/ondevice.py, then stop")
    g.add_argument("--max-epe", type=float, default=argparse.SUPPRESS, metavar="PX", help="fail (exit 1) when a row's EPE is above")
    g.add_argument("--max-defocus-shaken", type=float, default=argparse.SUPPRESS, metavar="SHARE",
                   help="fail when more than this share of defocused photos is judged shaken")
    g.add_argument("--max-sharp-shaken", type=float, default=argparse.SUPPRESS, metavar="SHARE",
                   help="fail when more than this share of sharp photos is judged shaken")

    g = parser.add_argument_group("output")
    g.add_argument("--json", nargs="?", const="-", default=argparse.SUPPRESS, metavar="OUT",
                   help="write the rows as a JSON list (no OUT or '-': stdout, and the table goes to stderr)")
    g.add_argument("--md", default=argparse.SUPPRESS, metavar="OUT", help="write the table as Markdown")
    g.add_argument("--plot", default=argparse.SUPPRESS, metavar="OUT.png", help="scaling plot (needs matplotlib)")
    g.add_argument("--no-progress", action="store_true", help="no progress bar")


def _arg(args: argparse.Namespace, name: str):
    """A flag's value, None when not given (optional flags default to SUPPRESS: no "(default: None)" in --help)."""
    return getattr(args, name, None)


# flag dest -> BenchConfig field, for flags named differently from their field
_RENAMES = {"work": "work_dir", "valset": "valset_dir", "val_size": "val_size_px", "imgsz": "sizes",
            "batch": "batches"}


def build_config(args: argparse.Namespace):
    """Config file values, then the flags given, over BenchConfig's defaults (configfile.build_config)."""
    from jitteredge.bench import SCALING_BATCHES, SCALING_SIZES, SCALING_THREADS, BenchConfig, parse_backends
    from jitteredge.configfile import build_config as build

    given = {k: v for k, v in vars(args).items() if k not in ("backends", "imgsz", "threads", "batch")}
    if _arg(args, "backends") is not None:
        given["backends"] = parse_backends(args.backends)
    for dest, scaling in (("imgsz", SCALING_SIZES), ("threads", SCALING_THREADS), ("batch", SCALING_BATCHES)):
        value = _arg(args, dest)
        if value or args.scaling:
            given[dest] = tuple(str(v) for v in value) if dest == "imgsz" and value else tuple(value or scaling)
    given["trtexec_logs"] = tuple(args.from_trtexec_log) or None
    given["cuda_graphs"] = False if args.no_cuda_graphs else None
    given["synth"] = True if args.synth else None
    given["progress"] = False if args.no_progress else None
    return build(BenchConfig, given, _arg(args, "config"), renames=_RENAMES, what="bench settings")


def run(args: argparse.Namespace) -> int:
    from jitteredge.bench import format_report, make_valset, plot_scaling, run_bench, save_valset, write_outputs
    from jitteredge.errors import JitterEdgeError

    cfg = build_config(args)
    valset_out, json_out, md_out, plot_out = (_arg(args, k) for k in ("export_valset", "json", "md", "plot"))
    if valset_out:
        valset = make_valset(cfg.val_n, cfg.val_size_px, cfg.val_source, cfg.val_seed)
        out = save_valset(valset, valset_out)
        print(f"jitteredge bench: validation set of {valset.inputs.shape[0]} photos "
              f"({valset.inputs.shape[3]}x{valset.inputs.shape[2]} px) in {out}/", file=sys.stderr)
        print(f"next: python3 benchmarks/ondevice.py --valset {out} MODEL.onnx [MODEL.int8.onnx ...]", file=sys.stderr)
        return 0
    if not cfg.backends and not cfg.trtexec_logs and not cfg.synth:
        raise JitterEdgeError("nothing to measure: --backends none without --synth or --from-trtexec-log")

    result = run_bench(cfg)
    to_stdout = json_out == "-"  # --json alone: JSON on stdout, the table on stderr
    (sys.stderr if to_stdout else sys.stdout).write(format_report(result))
    write_outputs(result, json_path=None if to_stdout else json_out, md_path=md_out)
    if to_stdout:
        json.dump(result.to_json_rows(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    if plot_out:
        try:
            print(f"jitteredge bench: plot in {plot_scaling(result.rows, plot_out)}", file=sys.stderr)
        except JitterEdgeError as exc:  # the table is already out: say why there is no plot
            print(f"jitteredge bench: no plot: {exc}", file=sys.stderr)
    for path in (None if to_stdout else json_out, md_out):
        if path:
            print(f"jitteredge bench: wrote {path}", file=sys.stderr)
    # A row that errored is a failure, as one under the accuracy floor is: a CI job must not pass on it.
    from jitteredge.bench import ERROR

    errors = [r for r in result.rows if r.status == ERROR]
    for r in errors:
        print(f"jitteredge bench: error: {r.backend} {r.precision} {r.input} threads={r.threads}: {r.reason}",
              file=sys.stderr)
    return 1 if result.failures or errors else 0
