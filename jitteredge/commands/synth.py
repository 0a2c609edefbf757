"""`jitteredge synth SRC --out DIR`: write a synthetic training set (blurred images + jitter fields)."""

from __future__ import annotations

import argparse

HELP = "Make a training set: blurred, degraded photos (<id>.png) with their jitter fields (<id>.flow.npy)."

_KINDS = ("shake", "curved", "sharp", "defocus")


def add_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", metavar="SRC",
                        help="'procedural' (built-in dead-leaves images), 'bsds500[:train|val|test]', or a folder of photos")
    parser.add_argument("--out", required=True, default=argparse.SUPPRESS, metavar="DIR",
                        help="output folder (created; a rerun completes it)")
    g = parser.add_argument_group("amount")
    g.add_argument("--per-image", type=int, default=4, metavar="N", help="samples per source photo")
    g.add_argument("--limit", type=int, default=None, metavar="N",
                   help="use at most N photos (default: all; procedural: make N images, default 100)")
    g.add_argument("--seed", type=int, default=0, metavar="K", help="base seed; sample (i, k) is seeded by (K, i, k)")
    g.add_argument("--workers", type=int, default=1, metavar="W", help="processes (results do not depend on W)")
    g = parser.add_argument_group("samples")
    # SUPPRESS: absent unless given, so a --config file's values are not overridden by defaults
    g.add_argument("--size", type=int, default=argparse.SUPPRESS, metavar="S",
                   help="sample side in px, default 256 (smaller photos are skipped)")
    g.add_argument("--preset", choices=("strong", "mild"), default=argparse.SUPPRESS,
                   help="jitter ranges of the shaken samples, default strong")
    g.add_argument("--mixture", default=None, metavar="K=F,...",
                   help="shares of sample kinds, e.g. shake=0.45,curved=0.2,sharp=0.15,defocus=0.2 (the default)")
    g.add_argument("--downsample", type=int, default=1, metavar="S", help="reduce photos by S x S box averaging first")
    g.add_argument("--no-noise", action="store_true", help="no sensor noise")
    g.add_argument("--no-jpeg", action="store_true", help="no JPEG re-encoding")
    g.add_argument("--config", default=None, metavar="FILE.yaml",
                   help="SampleConfig fields as YAML (flags given here override it)")
    g = parser.add_argument_group("display")
    g.add_argument("--no-progress", action="store_true", help="no progress bar")


def _parse_mixture(text: str) -> dict[str, float]:
    from jitteredge.errors import JitterEdgeError

    shares: dict[str, float] = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or key not in _KINDS:
            raise JitterEdgeError(f"--mixture {text!r}: expected K=F pairs with K in {', '.join(_KINDS)}")
        try:
            shares[f"{key}_fraction"] = float(value)
        except ValueError:
            raise JitterEdgeError(f"--mixture {text!r}: {value!r} is not a number") from None
        if shares[f"{key}_fraction"] < 0:
            raise JitterEdgeError(f"--mixture {text!r}: shares must be >= 0")
    if sum(shares.values()) <= 0 and len(shares) == len(_KINDS):
        raise JitterEdgeError(f"--mixture {text!r}: shares must not all be zero")
    # kinds not named get share 0, so "--mixture sharp=1" means only sharp samples
    return {f"{k}_fraction": shares.get(f"{k}_fraction", 0.0) for k in _KINDS}


def _load_config(path: str) -> dict:
    from pathlib import Path

    from jitteredge.errors import JitterEdgeError

    try:
        import yaml
    except ImportError:
        raise JitterEdgeError(f"{path}: reading --config needs PyYAML (pip install pyyaml)") from None
    try:
        data = yaml.safe_load(Path(path).read_text()) or {}
    except OSError as exc:
        raise JitterEdgeError(f"{path}: cannot read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise JitterEdgeError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise JitterEdgeError(f"{path}: expected a mapping of SampleConfig fields")
    return data


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from jitteredge.errors import JitterEdgeError
    from jitteredge.synth.sample import SampleConfig
    from jitteredge.synthesize import SynthConfig, synthesize

    size, preset = getattr(args, "size", None), getattr(args, "preset", None)
    if size is not None and size < 16:
        raise JitterEdgeError(f"--size {size}: must be at least 16 px")
    if args.downsample < 1:
        raise JitterEdgeError(f"--downsample {args.downsample}: must be at least 1")
    sample = SampleConfig()
    if args.config:
        try:
            sample = SampleConfig.from_dict(_load_config(args.config))
        except (TypeError, ValueError) as exc:
            raise JitterEdgeError(f"{args.config}: {exc}") from None
    overrides: dict = {}
    if size is not None:
        overrides["size_px"] = size
    if preset is not None:
        overrides["preset"] = preset
    if args.downsample != 1:
        overrides["downsample"] = args.downsample
    if args.mixture:
        overrides.update(_parse_mixture(args.mixture))
    if args.no_noise:
        overrides["noise"] = False
    if args.no_jpeg:
        overrides["jpeg"] = False
    sample = replace(sample, **overrides)
    cfg = SynthConfig(source=args.source, out_dir=args.out, per_image=args.per_image, seed=args.seed,
                      workers=args.workers, limit=args.limit, sample=sample, progress=not args.no_progress)
    summary = synthesize(cfg)
    print(summary.line())
    return 0
