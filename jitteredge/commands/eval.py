"""`jitteredge eval`: accuracy of a model against the zero field and a classical estimator."""

from __future__ import annotations

import argparse
import sys

HELP = "Accuracy report on a fixed synthetic test set: EPE, Gong MSE and shaken share per group, with baselines."


def add_args(parser: argparse.ArgumentParser) -> None:
    from jitteredge.evaluate import GROUPS

    g = parser.add_argument_group("model")
    g.add_argument("--model", default="default", help="registry name or model file (.pt, .onnx, .ort, .engine, .plan)")
    g.add_argument("--threads", type=int, default=1,
                   help="inference threads (more than 1 competes with the synthesis threads on CPU)")
    g.add_argument("--device", default="cpu", help="cpu or cuda")
    g = parser.add_argument_group("data")
    g.add_argument("--source", default="bsds500",
                   help="bsds500 (procedural when absent), procedural, or a folder of sharp photos")
    g.add_argument("--split", default="test", choices=("train", "val", "test"), help="BSDS500 split")
    g.add_argument("--n", type=int, default=40, help="samples per group")
    g.add_argument("--seed", type=int, default=0, help="fixes photos, fields and degradations")
    g.add_argument("--size", type=int, default=None, help="sample side in px; None: the synthesis default (256)")
    g.add_argument("--groups", default=",".join(GROUPS), help="comma-separated groups to run")
    g = parser.add_argument_group("real photos (instead of the synthetic set)")
    g.add_argument("--real", metavar="MANIFEST.csv", default=None,
                   help="score labelled real photos: a CSV of path,label[,source] (labels shake, sharp, defocus; "
                        "paths relative to it); writes real.json, real.md, real_roc.png, real_worst.png")
    g.add_argument("--long-side", type=int, default=None,
                   help="working long side in px for --real (default: the model's own, as jitteredge analyze)")
    g = parser.add_argument_group("output")
    g.add_argument("--out", default="jitteredge_eval", help="folder for eval.md, eval.json and eval_samples.png")


def run_real(args: argparse.Namespace) -> int:
    from jitteredge.validation.real_report import markdown_table, run_real_eval

    report = run_real_eval(args.model, args.real, args.out, long_side=args.long_side, threads=args.threads,
                           device=args.device)
    sys.stdout.write(markdown_table(report))
    print(f"jitteredge eval: wrote {args.out}/real.json, real.md, real_roc.png, real_worst.png", file=sys.stderr)
    return 0


def run(args: argparse.Namespace) -> int:
    from jitteredge.evaluate import EvalConfig, evaluate, markdown_table

    if getattr(args, "real", None):
        return run_real(args)

    groups = tuple(g.strip() for g in args.groups.split(",") if g.strip())
    cfg = EvalConfig(model=args.model, source=args.source, split=args.split, n=args.n, seed=args.seed,
                     out_dir=args.out, groups=groups, size_px=args.size, threads=args.threads, device=args.device)
    report = evaluate(cfg)
    sys.stdout.write(markdown_table(report))
    print(f"jitteredge eval: wrote {cfg.out_dir}/eval.md, eval.json, eval_samples.png", file=sys.stderr)
    return 0
