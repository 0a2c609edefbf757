"""`jitteredge train`: flags (or a --config YAML/JSON file) -> TrainConfig -> jitteredge.train.train."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

# jitteredge.model.PRESETS, spelt out so that building the parser does not import torch (a test checks).
MODEL_PRESETS = ("edge", "edge2", "paper")

HELP = "Train the jitter network on synthetic camera shake (Adam, on-the-fly synthesis, resumable)."

# flag dest -> TrainConfig field, for flags whose name differs from the field.
_RENAMES = {"out": "out_dir", "model": "model_preset", "preset": "jitter_preset", "batch": "batch_size",
            "crop": "crop_px", "val_size": "val_size_px", "val_samples": "val_per_group"}


def add_args(parser: argparse.ArgumentParser) -> None:
    # Defaults are None so that a --config file can supply them; TrainConfig holds the real defaults.
    d = _defaults()
    g = parser.add_argument_group("run")
    g.add_argument("--config", metavar="FILE", help="YAML or JSON file of TrainConfig fields used as defaults")
    g.add_argument("--out", metavar="DIR", help=f"run folder: checkpoints, log.csv, config.json (default {d.out_dir})")
    g.add_argument("--resume", action="store_true", default=None,
                   help="continue from DIR/last.pt when it exists, with the run's own settings: a flag that changes "
                        "what is trained (data, model, optimisation) is refused, one that changes how the run goes on "
                        "(--steps, --max-minutes, intervals, machine, --val-real) is taken with a warning")
    g.add_argument("--steps", type=int, help=f"optimizer steps (default {d.steps})")
    g.add_argument("--max-minutes", type=float, help="stop (validate, save) after this much training time; 0 = no limit")
    g = parser.add_argument_group("model")
    g.add_argument("--model", choices=MODEL_PRESETS, help=f"network preset (default {d.model_preset})")
    g.add_argument("--head", choices=("regression", "classes"), help=f"output head (default {d.head})")
    g.add_argument("--init-weights", metavar="MODEL",
                   help="start from these weights (checkpoint path or shipped name) with a fresh optimizer and schedule")
    g.add_argument("--teacher", metavar="MODEL",
                   help="also learn this trained model's predicted field on the same samples (checkpoint path or "
                        "shipped name), i.e. distillation; may change on --resume")
    g.add_argument("--teacher-weight", type=float, metavar="W",
                   help=f"weight of the squared difference to the teacher's field (default {d.teacher_weight}; 0 = off)")
    g = parser.add_argument_group("data")
    g.add_argument("--source", metavar="SRC", help=f"training photos: procedural, bsds500 or a folder (default {d.source})")
    g.add_argument("--val-source", metavar="SRC", help="validation photos: auto (bsds500 val when present, else procedural), procedural, bsds500 or a folder")
    g.add_argument("--preset", choices=("strong", "mild"), help=f"camera-shake ranges (default {d.jitter_preset})")
    g.add_argument("--sharp-fraction", type=float, help="share of sharp zero-field samples")
    g.add_argument("--defocus-fraction", type=float, help="share of defocused zero-field samples")
    g.add_argument("--curved-fraction", type=float, help="share of curved-path shake samples")
    g.add_argument("--subject-fraction", type=float,
                   help="share of shake and curved samples in which only a region (a moving subject) moves")
    g.add_argument("--grain-fraction", type=float,
                   help="share of samples with correlated grain (film grain, denoised sensor noise)")
    g.add_argument("--sample", metavar="KEY=VALUE", action="append", type=_sample_override,
                   help="set any SampleConfig field of training samples (repeatable; VALUE is JSON, e.g. "
                        "low_light_fraction=0.2 or blur_scale=[0,1.5])")
    g.add_argument("--crop", type=int, help=f"training sample side in px, multiple of 16 (default {d.crop_px})")
    g.add_argument("--reuse", type=int, help=f"steps each synthesised batch is used for, flipped/transposed (default {d.reuse})")
    g = parser.add_argument_group("optimisation")
    g.add_argument("--batch", type=int, help=f"samples per step (per GPU) (default {d.batch_size})")
    g.add_argument("--lr", type=float, help=f"peak Adam learning rate (default {d.lr})")
    g.add_argument("--ema-decay", type=float,
                   help=f"moving average of the weights that is validated and saved as best.pt, 0 = off (default {d.ema_decay})")
    g.add_argument("--zero-weight", type=float, help=f"false-shake penalty weight, 0 = plain squared loss (default {d.zero_weight})")
    g = parser.add_argument_group("validation")
    g.add_argument("--val-every", type=int, help=f"steps between validations (default {d.val_every})")
    g.add_argument("--val-samples", type=int, help=f"validation samples per group (default {d.val_per_group})")
    g.add_argument("--val-size", type=int, help=f"validation sample side in px (default {d.val_size_px})")
    g.add_argument("--val-real", metavar="MANIFEST", help="also score these labelled real photos (path,label CSV, as "
                   "eval --real) at each validation; best.pt is then the checkpoint with the highest real-photo AUC")
    g.add_argument("--val-real-long-side", type=int, help="working long side for --val-real photos (default: the model's)")
    g.add_argument("--ckpt-every", type=int, help=f"steps between last.pt writes (default {d.ckpt_every}); "
                   "last.pt is also written at each validation, at the end, and on Ctrl-C or SIGTERM")
    g = parser.add_argument_group("machine")
    g.add_argument("--device", help=f"auto, cpu, cuda or cuda:N (default {d.device})")
    g.add_argument("--workers", type=int, help="DataLoader worker processes synthesising samples; 0 = in the main "
                   "process between steps (default: auto = 0 on a CPU of up to 4 cores, where a worker would "
                   "compete with the step for the cores; 2 on larger CPUs; cores - 1, at most 8, on CUDA)")
    g.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    g.add_argument("--amp", choices=("auto", "bf16", "fp16", "off"),
                   help=f"mixed precision: auto = bf16/fp16 on CUDA, bf16 on CPUs with native bf16 (default {d.amp})")
    g.add_argument("--no-channels-last", dest="channels_last", action="store_false", default=None,
                   help="keep NCHW activations (channels_last is faster on CPUs)")
    g.add_argument("--seed", type=int, help=f"seed for data, validation set and weights (default {d.seed})")
    g.add_argument("--no-progress", dest="progress", action="store_false", default=None, help="no progress bar")


def _sample_override(text: str) -> tuple[str, object]:
    import json

    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key.strip(), json.loads(value)
    except json.JSONDecodeError:
        return key.strip(), value  # a bare word: a string value


def _defaults():
    from jitteredge.train import TrainConfig

    return TrainConfig()


def build_config(args: argparse.Namespace):
    """Defaults, then the --config file, then the flags given (jitteredge.configfile.build_config);
    on --resume of an existing run, the run's own settings first (jitteredge.train.resume_settings)."""
    from jitteredge.configfile import build_config as build
    from jitteredge.configfile import read_config_file
    from jitteredge.train import TrainConfig

    file_values = read_config_file(args.config, "training settings") if args.config else {}
    flags = {k: v for k, v in vars(args).items() if k != "sample"}
    if getattr(args, "sample", None):  # --sample KEY=VALUE adds to (and overrides) the file's table
        flags["sample"] = {**file_values.get("sample", {}), **dict(args.sample)}
    cfg = build(TrainConfig, flags, args.config, renames=_RENAMES, what="training settings")
    last = Path(cfg.out_dir) / "last.pt"
    if cfg.resume and last.is_file():
        from jitteredge.checkpoint import read_payload
        from jitteredge.train import resume_settings

        given_names = set(file_values) | {_RENAMES.get(k, k) for k, v in flags.items() if v is not None}
        given = {k: v for k, v in cfg.to_dict().items() if k in given_names}
        settings, _ = resume_settings(read_payload(last).get("train_config") or {}, given)  # refuses; train() warns
        cfg = build(TrainConfig, settings, what="training settings")
    return cfg


def run(args: argparse.Namespace) -> int:
    from jitteredge.train import train
    from jitteredge.train.log import validation_line

    cfg = build_config(args)
    result = train(cfg)
    if int(__import__("os").environ.get("RANK", "0")) != 0:
        return 0
    m = result.best_metrics or result.metrics
    print(f"at step {result.step}: this call trained {result.wall_s / 60:.1f} min ({result.samples_per_s:.1f} samples/s)")
    if m:
        label = "best validation (this call)" if result.best_metrics else "last validation"
        print(f"{label}: {validation_line(result.step, m).partition(': ')[2]}")
    best = result.best or result.last
    print(f"checkpoint: {best}  (log: {result.out_dir / 'log.csv'})")
    print(f"next: jitteredge analyze --model {best} photo.jpg", file=sys.stderr)
    return 0
