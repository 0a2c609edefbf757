"""`jitteredge export [MODEL] --format onnx|ort|engine`: flags -> ExportConfig -> jitteredge.export.run_export."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

HELP = ("Export a model to ONNX (FP32 or INT8 Q/DQ, checked against PyTorch), ONNX Runtime Mobile (.ort) "
        "or a TensorRT engine.")

def add_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", nargs="?", default=None, metavar="MODEL",
                        help="registry name (default: the shipped model) or file: .pt checkpoint, or a "
                             "jitteredge .onnx for --format ort/engine")
    parser.add_argument("--config", metavar="FILE", help="YAML or JSON file of ExportConfig fields used as defaults")
    g = parser.add_argument_group("format")
    g.add_argument("--format", "-f", default=None,
                   help="onnx | ort (alias mobile) | engine (aliases trt, tensorrt, plan); default onnx")
    p = g.add_mutually_exclusive_group()
    p.add_argument("--int8", action="store_true", help="static INT8 quantization into a Q/DQ ONNX (every format)")
    p.add_argument("--fp16", action="store_true", help="FP16 TensorRT engine (--format engine only)")
    s = g.add_mutually_exclusive_group()
    s.add_argument("--imgsz", nargs=2, type=int, metavar=("H", "W"), default=None,
                   help="fixed input size in px, multiples of 16 (default: dynamic height and width)")
    s.add_argument("--dynamic", action="store_true", help="dynamic height and width (the default)")
    g.add_argument("--opset", type=int, default=None, help="ONNX opset, 17 or newer (default 17)")
    g.add_argument("--out", "-o", default=None, metavar="PATH",
                   help="artifact path (default ./<model>[.int8|.fp16].<onnx|ort|engine>)")
    q = parser.add_argument_group("INT8 (with --int8)")
    q.add_argument("--calib", default=None, metavar="DIR", help="folder of photos to calibrate on (default: synthetic images)")
    q.add_argument("--calib-samples", type=int, default=None, metavar="N", help="calibration images (default 64)")
    q.add_argument("--calib-method", default=None, choices=("minmax", "entropy", "percentile"),
                   help="activation range estimator (default minmax)")
    q.add_argument("--max-epe-loss", type=float, default=None, metavar="FRACTION",
                   help="accuracy gate: largest allowed relative EPE loss vs FP32 (default 0.03 = 3%%)")
    q.add_argument("--float-layers", default=None, metavar="LIST",
                   help="comma list of layers kept in float: roles first, head, upsampler, or node names "
                        "(default: first,upsampler, then also head if the gate fails)")
    q.add_argument("--int8-activations", default=None, choices=("auto", "int8", "uint8"),
                   help="int8: symmetric, zero point 0, one file for TensorRT 10/11 and ONNX Runtime; "
                        "uint8: asymmetric, ONNX Runtime only, faster there (ReLU folds into the INT8 "
                        "convolution); auto (default): uint8 for onnx/ort, int8 for engine")
    t = parser.add_argument_group("TensorRT (with --format engine)")
    t.add_argument("--trt-typing", default=None, choices=("auto", "strong", "weak"),
                   help="strongly typed (precision from the ONNX; the only kind in TensorRT 11) or weakly typed "
                        "(TensorRT 10 builder flags); auto: strong where possible")
    t.add_argument("--workspace", type=int, default=None, metavar="MIB", help="builder memory pool limit (default 1024)")


# flag dest -> ExportConfig field, for flags named differently from their field
_RENAMES = {"calib": "calib_dir", "int8_activations": "activation_type", "workspace": "trt_workspace_mib"}


def build_config(args: argparse.Namespace):
    """Config file values, then the flags given, over ExportConfig's defaults (configfile.build_config);
    ExportConfig.validate refuses flags a run cannot use."""
    from jitteredge.configfile import build_config as build
    from jitteredge.export.config import ExportConfig

    given = {dest: getattr(args, dest) for dest in ("model", "format", "opset", "out", "calib", "calib_samples",
                                                    "calib_method", "max_epe_loss", "int8_activations",
                                                    "trt_typing", "workspace")}
    if args.imgsz:
        given["imgsz"] = tuple(args.imgsz)
    if args.int8:
        given["precision"] = "int8"
    elif args.fp16:
        given["precision"] = "fp16"
    if args.float_layers is not None:
        given["float_layers_ladder"] = (tuple(r.strip() for r in args.float_layers.split(",") if r.strip()),)
    cfg = build(ExportConfig, given, args.config, renames=_RENAMES, what="export settings")
    if args.dynamic and cfg.imgsz is not None:  # --dynamic over a config file's fixed size
        import dataclasses

        cfg = dataclasses.replace(cfg, imgsz=None).validate()
    return cfg


def _size(path: Path) -> str:
    n = path.stat().st_size
    return f"{n / 2**20:.2f} MiB" if n >= 2**20 else f"{n / 1024:.0f} KiB"


def summary(result) -> list[str]:
    """The lines printed after a successful export."""
    r = result.report
    art = result.artifact
    lines = [f"wrote {art} ({_size(art)}, {result.precision}) in {result.seconds:.1f} s"]
    for extra in result.extra_files:
        lines.append(f"  and {extra} ({_size(extra)})")
    for path in result.replaced:
        lines.append(f"  replaced the {path} that was there before")
    if "onnx_vs_torch_max_px" in r:
        sizes = ", ".join(f"{h}x{w}" for h, w in r["checked_shapes"])
        lines.append(f"  ONNX Runtime vs PyTorch: max field difference {r['onnx_vs_torch_max_px']:.1e} px ({sizes})")
    if "relative_epe_loss" in r:
        q = r["quantization"]
        lines.append(f"  INT8 gate: EPE {r['epe_int8_px']:.3f} px vs FP32 {r['epe_fp32_px']:.3f} px "
                     f"({r['relative_epe_loss']:+.1%}) on {r['gate_samples']} synthetic images; "
                     f"kept in float: {', '.join(r.get('float_layer_roles') or q['float_layers']) or 'nothing'}; "
                     f"{q['activations']} activations")
        kernels = r.get("ort_kernels", {})
        fused = {k: v for k, v in kernels.items() if k.startswith("QLinear") or k in ("Conv", "ConvTranspose", "FusedConv")}
        lines.append("  ONNX Runtime CPU kernels: " + ", ".join(f"{k} x{v}" for k, v in fused.items()))
    if "ort_vs_onnx_max_px" in r:
        lines.append(f"  .ort vs .onnx: max field difference {r['ort_vs_onnx_max_px']:.1e} px; "
                     f"{len(r['required_operators'])} operators in the reduced-build config")
    bench_flag = {".onnx": "--int8" if result.precision == "int8" else "--onnx", ".ort": "--ort"}.get(art.suffix, "--engine")
    model = shlex.quote(str(art))
    lines.append(f"next: jitteredge analyze --model {model} photo.jpg")
    lines.append(f"      jitteredge bench {bench_flag} {model}")
    return lines


def run(args: argparse.Namespace) -> int:
    from jitteredge.export import run_export

    cfg = build_config(args)
    result = run_export(cfg)
    print("\n".join(summary(result)), file=sys.stdout)
    return 0
