"""`jitteredge analyze IMAGE...`: jitter field, picture and verdict for each photo."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

HELP = "Map the camera shake in photos: per-pixel jitter field, a picture of it, and a verdict."


def add_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("images", nargs="*", metavar="IMAGE", help="photos or folders of photos")
    parser.add_argument("--demo", action="store_true",
                        help="also analyse built-in demo photos (sharp, shaken, curved shake, bokeh), written to OUT/demo_photos")
    g = parser.add_argument_group("model")
    g.add_argument("--model", default="default", help="registry name or model file (.pt, .onnx, .ort, .engine, .plan)")
    g.add_argument("--long-side", type=int, default=None,
                   help="working long side in px; None: the model's own (512). Smaller photos are never enlarged")
    g.add_argument("--threads", type=int, default=None, help="inference threads; None: the backend's choice")
    g.add_argument("--device", default="cpu", help="cpu or cuda")
    g = parser.add_argument_group("output")
    g.add_argument("--out", default="jitteredge_out", help="folder for <stem>.flow.npy and <stem>.jitter.png")
    g.add_argument("--json", action="store_true", help="print one JSON array of verdicts on stdout (nothing else)")
    g.add_argument("--no-write", action="store_true", help="verdicts only; write no files")
    g.add_argument("--rank", action="store_true",
                   help="order the verdicts sharpest first (a burst's best frame on top); with --json, the array too")


def _line(verdict) -> str:
    state = "SHAKEN" if verdict.shaken else "sharp "
    return (f"{verdict.path}: {state} score {verdict.score:.2f}  shaken {100 * verdict.shaken_fraction:5.1f}%  "
            f"blur {verdict.blur_px:6.1f} px  direction {verdict.direction_deg:5.1f} deg  "
            f"seen {100 * verdict.seen_fraction:3.0f}%")


def run(args: argparse.Namespace) -> int:
    from jitteredge.errors import JitterEdgeError

    if args.long_side is not None and args.long_side < 16:
        raise JitterEdgeError(f"--long-side {args.long_side}: must be at least 16 px")
    if args.threads is not None and args.threads < 1:
        raise JitterEdgeError(f"--threads {args.threads}: must be at least 1")
    if not args.images and not args.demo:
        raise JitterEdgeError("no IMAGE given (name photos or folders, or use --demo)")
    if not args.demo:
        return _analyze(args, list(args.images))
    # --no-write keeps its word for the demo photos too: they live in a temporary folder then.
    with tempfile.TemporaryDirectory(prefix="jitteredge-demo-") as scratch:
        from jitteredge.demo import write_demo_photos

        folder = Path(scratch) if args.no_write else Path(args.out) / "demo_photos"
        demo = write_demo_photos(folder)
        if not args.json:
            truth = ", ".join(f"{p.stem} {blur:.1f} px" for p, blur in demo)
            print(f"demo photos in {folder}/ (true median blur: {truth})", file=sys.stderr)
        return _analyze(args, list(args.images) + [str(p) for p, _ in demo])


def _analyze(args: argparse.Namespace, images: list[str]) -> int:
    from tqdm import tqdm

    from jitteredge.analyze import AnalyzeConfig, iter_analyze

    cfg = AnalyzeConfig(model=args.model, out_dir=args.out, long_side=args.long_side, threads=args.threads,
                        device=args.device, write_outputs=not args.no_write)
    verdicts, failed = [], 0
    for result in iter_analyze(cfg, images):
        if result.error:
            failed += 1
            tqdm.write(f"jitteredge analyze: {result.error}", file=sys.stderr)
            continue
        verdicts.append(result.verdict.to_dict())
        if not args.json:
            tqdm.write(_line(result.verdict), file=sys.stdout)
    if args.rank and verdicts:
        from jitteredge.verdict import Verdict, sharpness_order_key

        verdicts.sort(key=lambda v: sharpness_order_key(Verdict(**v)))
        if not args.json:
            print("sharpest first:")
            for place, v in enumerate(verdicts, 1):
                print(f"{place:3d}. {v['path']}  (expected blur {v['shaken_fraction'] * v['blur_px']:.2f} px, "
                      f"score {v['score']:.2f})")
    if args.json:
        json.dump(verdicts, sys.stdout, indent=2)
        sys.stdout.write("\n")
    elif verdicts and not args.no_write:
        sys.stdout.flush()  # keep the summary below the verdict lines when both go to one terminal
        print(f"jitteredge analyze: {len(verdicts)} analysed, fields and pictures in {cfg.out_dir}/", file=sys.stderr)
    return 1 if failed else 0
