"""`jitteredge eval`: accuracy of a model against the zero field and a classical estimator."""

from __future__ import annotations

import argparse
import sys

HELP = "Accuracy report on a fixed synthetic test set: EPE, Gong MSE and shaken share per group, with baselines."


def add_args(parser: argparse.ArgumentParser) -> None:
    from jitteredge.evaluate import GROUPS, EvalConfig

    # Flags that set EvalConfig fields default to None: EvalConfig holds the defaults, and a --config
    # file's values stand unless a flag is given (jitteredge.configfile.build_config).
    d = EvalConfig()
    parser.add_argument("--config", metavar="FILE", help="YAML or JSON file of EvalConfig fields used as defaults")
    g = parser.add_argument_group("model")
    g.add_argument("--model", help=f"registry name or model file (.pt, .onnx, .ort, .engine, .plan) (default: {d.model})")
    g.add_argument("--threads", type=int,
                   help=f"inference threads (more than 1 competes with the synthesis threads on CPU) (default: {d.threads})")
    g.add_argument("--device", help=f"cpu or cuda (default: {d.device})")
    g = parser.add_argument_group("data")
    g.add_argument("--source", help=f"bsds500 (procedural when absent), procedural, or a folder of sharp photos (default: {d.source})")
    g.add_argument("--split", choices=("train", "val", "test"), help=f"BSDS500 split (default: {d.split})")
    g.add_argument("--n", type=int, help=f"samples per group (default: {d.n})")
    g.add_argument("--seed", type=int, help=f"fixes photos, fields and degradations (default: {d.seed})")
    g.add_argument("--size", type=int, help="sample side in px (default: the synthesis default, 256)")
    g.add_argument("--groups", help=f"comma-separated groups to run (default: {','.join(GROUPS)})")
    g = parser.add_argument_group("real photos (instead of the synthetic set)")
    g.add_argument("--real", metavar="MANIFEST.csv", default=None,
                   help="score labelled real photos: a CSV of path,label[,source] (labels shake, sharp, defocus; "
                        "paths relative to it); writes real.json, real.md, real_roc.png, real_worst.png")
    g.add_argument("--long-side", type=int, default=None,
                   help="working long side in px for --real (default: the model's own, as jitteredge analyze)")
    g.add_argument("--long-sides", type=int, nargs="+", metavar="N", default=None,
                   help="with --real: analyse every photo at each of these long sides (e.g. 384 512 1024 2048) and "
                        "report how far the verdict and blur_px move from the reference side (512 when given); "
                        "writes scale.json, scale.md instead of the real.* files")
    g = parser.add_argument_group("output")
    g.add_argument("--out", help=f"folder for eval.md, eval.json and eval_samples.png (default: {d.out_dir})")


def run_scale(args: argparse.Namespace) -> int:
    from jitteredge.errors import JitterEdgeError
    from jitteredge.validation.scale import markdown_table, run_scale_eval

    if args.long_side is not None:
        raise JitterEdgeError("give --long-side or --long-sides, not both")
    report = run_scale_eval(args.model, args.real, args.out, args.long_sides, threads=args.threads, device=args.device)
    sys.stdout.write(markdown_table(report))
    print(f"jitteredge eval: wrote {args.out}/scale.json, scale.md", file=sys.stderr)
    return 0


def run_real(args: argparse.Namespace) -> int:
    from jitteredge.validation.real_report import markdown_table, run_real_eval

    report = run_real_eval(args.model, args.real, args.out, long_side=args.long_side, threads=args.threads,
                           device=args.device)
    sys.stdout.write(markdown_table(report))
    print(f"jitteredge eval: wrote {args.out}/real.json, real.md, real_roc.png, real_worst.png", file=sys.stderr)
    return 0


def build_config(args: argparse.Namespace):
    """Config file values, then the flags given, over EvalConfig's defaults (configfile.build_config)."""
    from jitteredge.configfile import build_config as build
    from jitteredge.evaluate import EvalConfig

    given = {"model": args.model, "threads": args.threads, "device": args.device, "source": args.source,
             "split": args.split, "n": args.n, "seed": args.seed, "size_px": args.size, "out_dir": args.out}
    if args.groups is not None:
        given["groups"] = tuple(g.strip() for g in args.groups.split(",") if g.strip())
    return build(EvalConfig, given, getattr(args, "config", None), what="eval settings")


def run(args: argparse.Namespace) -> int:
    from jitteredge.evaluate import evaluate, markdown_table

    cfg = build_config(args)
    args.model, args.threads, args.device, args.out = cfg.model, cfg.threads, cfg.device, cfg.out_dir
    if getattr(args, "real", None):
        return run_scale(args) if getattr(args, "long_sides", None) is not None else run_real(args)
    if getattr(args, "long_sides", None) is not None:
        from jitteredge.errors import JitterEdgeError

        raise JitterEdgeError("--long-sides needs --real MANIFEST.csv")

    report = evaluate(cfg)
    sys.stdout.write(markdown_table(report))
    print(f"jitteredge eval: wrote {cfg.out_dir}/eval.md, eval.json, eval_samples.png", file=sys.stderr)
    return 0
