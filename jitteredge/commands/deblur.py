"""`jitteredge deblur IMAGE...`: restore shaken photos with their jitter field."""

from __future__ import annotations

import argparse

HELP = "Restore shaken photos with their per-pixel jitter field (non-blind, spatially varying deconvolution)."


def add_args(parser: argparse.ArgumentParser) -> None:
    from jitteredge.deblurring.settings import METHODS, DeblurSettings

    d = DeblurSettings()
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="photos or folders of photos")
    g = parser.add_argument_group("field")
    g.add_argument("--model", default="default",
                   help="registry name or model file that predicts the field (.pt, .onnx, .ort, .engine, .plan)")
    g.add_argument("--field", metavar="F.npy",
                   help="use this (H, W, 2) field in the photo's pixels (analyze's <stem>.flow.npy) instead of "
                        "predicting one; one IMAGE only")
    g.add_argument("--long-side", type=int, help="working long side for the model, px; default: the model's own")
    g = parser.add_argument_group("restoration")
    g.add_argument("--method", default=d.method, choices=METHODS, help="deconvolution method")
    g.add_argument("--iterations", type=int, default=d.iterations,
                   help="operator applications per tile (time grows in proportion)")
    g.add_argument("--strength", type=float, default=d.strength, help="> 1 sharper but noisier, < 1 gentler")
    g.add_argument("--gamma", type=float, default=d.gamma, help="response curve of the photos (linear light = v ** gamma)")
    g.add_argument("--tile", type=int, default=d.tile_px, help="tile side in px (memory grows with its square)")
    g.add_argument("--no-refine", action="store_true",
                   help="deconvolution only: skip the learned refiner that removes ringing and amplified noise")
    g.add_argument("--refiner", metavar="FILE", default="",
                   help="refiner weights (python -m jitteredge.deblurring.refiner_training); default: the shipped ones")
    g = parser.add_argument_group("output")
    g.add_argument("--out", metavar="DIR", default="jitteredge_out",
                   help="folder for <stem>.deblurred.png, <stem>.deblur.png and <stem>.deblur.json")
    g.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from jitteredge.deblurring.run import DeblurJob, run_batch

    job = DeblurJob(model=args.model, field_path=args.field, long_side=args.long_side, method=args.method,
                    iterations=args.iterations, strength=args.strength, gamma=args.gamma, tile_px=args.tile,
                    refine=not args.no_refine, refiner=args.refiner,
                    out_dir=args.out, progress=not args.no_progress)
    return run_batch(job, args.images)
