"""`jitteredge analyze IMAGE...`: jitter field, picture and verdict for each photo."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

HELP = "Map the camera shake in photos: per-pixel jitter field, a picture of it, and a verdict."


def add_args(parser: argparse.ArgumentParser) -> None:
    # Flags that set AnalyzeConfig fields default to None: a --config file's values then stand.
    parser.add_argument("images", nargs="*", metavar="IMAGE", help="photos or folders of photos")
    parser.add_argument("--demo", action="store_true",
                        help="also analyse built-in demo photos (sharp, shaken, curved shake, bokeh), written to OUT/demo_photos")
    parser.add_argument("--config", metavar="FILE", help="YAML or JSON file of AnalyzeConfig fields used as defaults")
    g = parser.add_argument_group("model")
    g.add_argument("--model", help="registry name or model file (.pt, .onnx, .ort, .engine, .plan); default: the shipped model")
    g.add_argument("--long-side", type=int,
                   help="working long side in px; default: the model's own (512). Smaller photos are never enlarged")
    g.add_argument("--threads", type=int, help="inference threads; default: the backend's choice")
    g.add_argument("--device", help="cpu (default) or cuda")
    g = parser.add_argument_group("output")
    g.add_argument("--out", metavar="DIR", help="folder for the files written (default: jitteredge_out)")
    g.add_argument("--write", metavar="KINDS",
                   help="files per photo, a comma list: picture (<stem>.jitter.png), field (<stem>.field.npz: "
                        "float16 at working resolution, with its scale), full-field (<stem>.flow.npy: float32 at "
                        "the photo's size, large and slow); or all, or none. Default: picture,field")
    g.add_argument("--no-write", action="store_true", help="verdicts only; write no files (same as --write none)")
    g.add_argument("--json", action="store_true", help="print one JSON array of verdicts on stdout (nothing else)")
    g.add_argument("--rank", action="store_true",
                   help="order the verdicts sharpest first (a burst's best frame on top); with --json, the array too")
    g.add_argument("--no-progress", action="store_true",
                   help="no progress on stderr (shown for several photos: a bar on a terminal, else one line per photo with --json)")


def _line(verdict, outputs: dict[str, str]) -> str:
    files = f"  -> {', '.join(outputs.values())}" if outputs else ""
    return f"{verdict.path}: {verdict.summary()}{files}"


def build_config(args: argparse.Namespace):
    """Config file values, then the flags given, over AnalyzeConfig's defaults (configfile.build_config)."""
    import sys as _sys

    from jitteredge.analyze import AnalyzeConfig, parse_write
    from jitteredge.configfile import build_config as build

    given = {"model": args.model, "out_dir": args.out, "long_side": args.long_side, "threads": args.threads,
             "device": args.device}
    if args.write is not None:
        given["write"] = parse_write(args.write)
    if args.no_write:
        given["write"] = ()
    if args.no_progress:
        given["progress"] = "off"
    elif not args.json:  # the verdict lines on stdout show the progress; a bar only on a terminal
        given["progress"] = "bar" if _sys.stderr.isatty() else "off"
    return build(AnalyzeConfig, given, args.config, what="analyze settings")


def run(args: argparse.Namespace) -> int:
    from jitteredge.errors import JitterEdgeError

    cfg = build_config(args)
    if not args.images and not args.demo:
        raise JitterEdgeError("no IMAGE given (name photos or folders, or use --demo)")
    if not args.demo:
        return _analyze(args, cfg, list(args.images))
    # No files asked for: the demo photos live in a temporary folder then.
    with tempfile.TemporaryDirectory(prefix="jitteredge-demo-") as scratch:
        from jitteredge.demo import write_demo_photos

        folder = Path(scratch) if not cfg.writes else Path(cfg.out_dir) / "demo_photos"
        demo = write_demo_photos(folder)
        if not args.json:
            truth = ", ".join(f"{p.stem} {blur:.1f} px" for p, blur in demo)
            print(f"demo photos in {folder}/ (true median blur: {truth})", file=sys.stderr)
        return _analyze(args, cfg, list(args.images) + [str(p) for p, _ in demo])


def _analyze(args: argparse.Namespace, cfg, images: list[str]) -> int:
    from tqdm import tqdm

    from jitteredge.analyze import iter_analyze
    from jitteredge.verdict import sharpness_order_key

    results, failed = [], 0
    for result in iter_analyze(cfg, images):
        if result.error:
            failed += 1
            tqdm.write(f"jitteredge analyze: {result.error}", file=sys.stderr)
            continue
        results.append(result)
        if not args.json:
            tqdm.write(_line(result.verdict, result.outputs), file=sys.stdout)
    if args.rank and results:
        results.sort(key=lambda r: sharpness_order_key(r.verdict))
        if not args.json:
            print("sharpest first:")
            for place, r in enumerate(results, 1):
                v = r.verdict
                print(f"{place:3d}. {v.path}  (expected blur {v.shaken_fraction * v.blur_px:.2f} px, "
                      f"score {v.score:.2f})")
    if args.json:
        # Each verdict names the files written for it (two IMG_1.jpg from two folders: IMG_1.* and IMG_1-2.*).
        json.dump([{**r.verdict.to_report(), "outputs": r.outputs} for r in results], sys.stdout, indent=2)
        sys.stdout.write("\n")
    elif results and cfg.writes:
        sys.stdout.flush()  # keep the summary below the verdict lines when both go to one terminal
        print(f"jitteredge analyze: {len(results)} analysed, {', '.join(cfg.writes)} in {cfg.out_dir}/", file=sys.stderr)
    return 1 if failed else 0
