"""`jitteredge synth SRC --out DIR`: write a synthetic training set (blurred images + jitter fields)."""

from __future__ import annotations

import argparse

HELP = "Make a training set: blurred, degraded photos (<id>.png) with their jitter fields (<id>.flow.npy)."

_KINDS = ("shake", "curved", "sharp", "defocus")


def add_args(parser: argparse.ArgumentParser) -> None:
    # Flags default to None: SynthConfig and SampleConfig hold the defaults, and a --config file's
    # values stand unless a flag is given (jitteredge.configfile.build_config).
    parser.add_argument("source", metavar="SRC",
                        help="'procedural' (built-in dead-leaves images), 'bsds500[:train|val|test]', or a folder of photos")
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder (created; a rerun completes it)")
    parser.add_argument("--config", default=None, metavar="FILE",
                        help="YAML or JSON file of SynthConfig fields, SampleConfig fields under 'sample' (or at the "
                             "top level); flags given here override it")
    g = parser.add_argument_group("amount")
    g.add_argument("--per-image", type=int, metavar="N", help="samples per source photo (default: 4)")
    g.add_argument("--limit", type=int, metavar="N",
                   help="use at most N photos (default: all; procedural: make N images, default 100)")
    g.add_argument("--seed", type=int, metavar="K", help="base seed; sample (i, k) is seeded by (K, i, k) (default: 0)")
    g.add_argument("--workers", type=int, metavar="W", help="processes (results do not depend on W) (default: 1)")
    g = parser.add_argument_group("samples")
    g.add_argument("--size", type=int, metavar="S", help="sample side in px, default 256 (smaller photos are skipped)")
    g.add_argument("--preset", choices=("strong", "mild"), help="jitter ranges of the shaken samples, default strong")
    g.add_argument("--mixture", default=None, metavar="K=F,...",
                   help="shares of sample kinds, e.g. shake=0.45,curved=0.2,sharp=0.15,defocus=0.2 (the default)")
    g.add_argument("--downsample", type=int, metavar="S", help="reduce photos by S x S box averaging first (default: 1)")
    g.add_argument("--no-noise", action="store_true", help="no sensor noise")
    g.add_argument("--no-jpeg", action="store_true", help="no JPEG re-encoding")
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


# flag dest -> SynthConfig field ("sample.x": a field of its SampleConfig)
_RENAMES = {"out": "out_dir", "size": "sample.size_px", "preset": "sample.preset", "downsample": "sample.downsample"}


def build_config(args: argparse.Namespace):
    """Config file values, then the flags given, over SynthConfig's defaults (configfile.build_config)."""
    from jitteredge.configfile import build_config as build
    from jitteredge.synth.synthesize import SynthConfig

    given = {k: v for k, v in vars(args).items() if k not in ("mixture", "no_noise", "no_jpeg", "no_progress")}
    if args.mixture:
        given.update({f"sample.{k}": v for k, v in _parse_mixture(args.mixture).items()})
    if args.no_noise:
        given["sample.noise"] = False
    if args.no_jpeg:
        given["sample.jpeg"] = False
    if args.no_progress:
        given["progress"] = False
    return build(SynthConfig, given, args.config, renames=_RENAMES, what="synth settings")


def run(args: argparse.Namespace) -> int:
    from jitteredge.synth.synthesize import synthesize

    summary = synthesize(build_config(args))
    print(summary.line())
    return 0
