"""Training the jitter network (patent claims 5-6): on-the-fly synthesis, Adam, periodic validation.

One run lives in one folder (``TrainConfig.out_dir``)::

    config.json   the resolved TrainConfig
    last.pt       latest checkpoint, with optimizer/RNG state for --resume (jitteredge.checkpoint)
    best.pt       checkpoint with the best validation score so far
    log.csv       one row per log step (training) and per validation

Data: every step draws a batch from jitteredge.data.SynthDataset (a photo source, a random camera
motion, blur, degradations), deterministically by sample index, so a resumed run sees the same data
as an uninterrupted one. On a CPU a 160 px sample takes about 5 ms to synthesise on one core, less
than the edge model's training step needs for it; on a GPU synthesis is the bottleneck, so each
synthesised batch can be reused ``reuse`` times, each time under a fresh random flip/transpose per
sample (the dihedral group maps a field and its code exactly, see ``dihedral``).

Validation: a fixed synthetic set (jitteredge.data.make_validation_set) in four groups: strong and
mild camera shake (endpoint error against the zero-field baseline), sharp and defocused photos with
zero field (share of pixels wrongly read as shaken, > 2 px).

Multi-GPU: start with ``torchrun --nproc_per_node=N -m jitteredge train ...``; WORLD_SIZE > 1 turns
on DistributedDataParallel, each rank reads its own sample indices, and only rank 0 writes.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from jitteredge.errors import JitterEdgeError
from jitteredge.fileio import ensure_writable_dir
from jitteredge.fieldcode import CODE_SCALE_PX, decode_field, endpoint_error, gong_mse
from jitteredge.verdict import SHAKEN_PX

# Validation groups (see validation_group_configs).
VAL_GROUPS = ("strong", "mild", "sharp", "defocus")
# TrainConfig fields passed to the SampleConfig of training samples when set
_FRACTIONS = ("shake_fraction", "mild_fraction", "sharp_fraction", "defocus_fraction", "curved_fraction", "subject_fraction",
              "grain_fraction")
# Targets from the project's requirements; the validation score is the mean of metric / target.
TARGETS = {
    "strong/rel_epe": 0.10,  # EPE <= 10% of the zero-field EPE
    "mild/rel_epe": 0.10,
    "defocus/shaken_share": 0.01,  # <= 1% of defocused pixels read as shaken
    "sharp/shaken_share": 0.005,  # <= 0.5% of sharp pixels read as shaken
}


@dataclass
class TrainConfig:
    # --- where ---
    out_dir: str = "runs/train"  # run folder: checkpoints, log.csv, config.json
    resume: bool = False  # continue from out_dir/last.pt when it exists
    # --- model ---
    model_preset: str = "edge"  # jitteredge.model.PRESETS name: "edge" or "paper"
    init_weights: str = ""  # start from these weights (a checkpoint or model name) with a fresh optimizer and schedule
    head: str = "regression"  # "regression" (squared code loss, claim 5) or "classes" (softmax, Gong)
    # --- data ---
    source: str = "procedural"  # training photos: "procedural", "bsds500" (train split) or a folder
    val_source: str = "auto"  # validation photos: "auto" = bsds500 val split when present, else procedural
    jitter_preset: str = "strong"  # camera-motion ranges for shaken samples (jitteredge.synth.fields.PRESETS)
    shake_fraction: float | None = None  # share of straight-field shake samples (None: SampleConfig default)
    mild_fraction: float | None = None  # share of shaken samples drawn from the mild ranges instead
    sharp_fraction: float | None = None  # share of zero-field sharp samples
    defocus_fraction: float | None = None  # share of zero-field defocused (bokeh) samples
    curved_fraction: float | None = None  # share of samples blurred along curved paths
    subject_fraction: float | None = None  # share of shake and curved samples in which only a region moves
    grain_fraction: float | None = None  # share of samples with correlated grain (SampleConfig.grain_fraction)
    sample: dict = field(default_factory=dict)  # any other SampleConfig field for training samples (name -> value)
    crop_px: int = 160  # training sample side (px), a multiple of 16
    reuse: int = 1  # times each synthesised batch is used, under random flips/transposes
    # --- optimisation (claim 6: Adam) ---
    steps: int = 2000  # optimizer steps
    batch_size: int = 16  # samples per step (per GPU under torchrun)
    lr: float = 2e-3  # peak learning rate
    weight_decay: float = 0.0  # Adam L2 penalty
    warmup_steps: int = 100  # linear warm-up, then cosine decay
    min_lr_ratio: float = 0.05  # final lr as a share of the peak
    zero_weight: float = 4.0  # false-shake penalty weight (jitteredge.losses); 0 = plain claim-5 loss
    margin_px: float = 1.0  # predicted blur tolerated on zero-field pixels before the penalty starts (px)
    grad_clip: float = 5.0  # max gradient norm (0 = off)
    # --- validation and logging ---
    val_every: int = 250  # steps between validations (and best.pt updates)
    val_per_group: int = 16  # validation samples per group (strong, mild, sharp, defocus)
    val_size_px: int = 192  # validation sample side (px), a multiple of 16
    ckpt_every: int = 100  # steps between last.pt writes
    log_every: int = 10  # steps between log.csv rows
    max_minutes: float = 0.0  # stop (validate, save) after this much training time, resumed runs included;
    #                           the lr schedule then ends there too; 0 = no limit
    # --- machine ---
    device: str = "auto"  # "auto" (cuda when present), "cpu", "cuda", "cuda:1"
    workers: int = 2  # DataLoader worker processes synthesising samples (0 = in the main process)
    threads: int = 0  # torch CPU threads (0 = torch default)
    amp: str = "auto"  # mixed precision: "auto" (CUDA: bf16 if supported else fp16; CPU: bf16 where the CPU
    #                    has native bf16 (AVX-512 BF16, AMX), else off), "bf16", "fp16" (CUDA only), "off"
    channels_last: bool = True  # NHWC activations: the CPU convolution kernels are faster on them
    seed: int = 0  # seeds data, validation set and weights
    progress: bool = True  # tqdm bar on stderr

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        """Build from a dict (a --config file), refusing unknown keys and wrong types."""
        known = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - set(known))
        if unknown:
            raise JitterEdgeError(f"unknown training config keys: {', '.join(unknown)}")
        out = {}
        for k, v in d.items():
            if k == "sample":
                if not isinstance(v, dict):
                    raise JitterEdgeError(f"training config sample: expected a table of SampleConfig fields, got {v!r}")
                out[k] = dict(v)
                continue
            default = getattr(cls, k)
            if default is None and str(known[k].type).startswith("float") and v is not None:
                default = 0.0  # an optional number (e.g. a mixture share): checked as one when given
            if v is None or default is None:
                out[k] = v
            elif isinstance(default, bool):
                if not isinstance(v, bool):
                    raise JitterEdgeError(f"training config {k}: expected true/false, got {v!r}")
                out[k] = v
            elif isinstance(default, (int, float)) and not isinstance(default, bool):
                if isinstance(v, bool) or not isinstance(v, (int, float)):
                    raise JitterEdgeError(f"training config {k}: expected a number, got {v!r}")
                if isinstance(default, int) and not float(v).is_integer():
                    raise JitterEdgeError(f"training config {k}: expected a whole number, got {v!r}")
                out[k] = type(default)(v)
            else:
                out[k] = str(v)
        return cls(**out)

    def validate(self) -> None:
        """Raise JitterEdgeError for values no run could use."""
        from jitteredge.model import PRESETS

        if self.model_preset not in PRESETS:
            raise JitterEdgeError(f"unknown model preset {self.model_preset!r}; choose from {', '.join(sorted(PRESETS))}")
        if self.head not in ("regression", "classes"):
            raise JitterEdgeError(f"unknown head {self.head!r}; choose regression or classes")
        for name in ("crop_px", "val_size_px"):
            v = getattr(self, name)
            if v < 16 or v % 16:
                raise JitterEdgeError(f"{name.replace('_', '-')} must be a positive multiple of 16, got {v}")
        for name in ("steps", "batch_size", "reuse", "val_every", "ckpt_every", "log_every", "val_per_group"):
            if getattr(self, name) < 1:
                raise JitterEdgeError(f"{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        if not self.lr > 0:
            raise JitterEdgeError(f"lr must be positive, got {self.lr}")
        for name in _FRACTIONS:
            v = getattr(self, name)
            if v is not None and not 0.0 <= v <= 1.0:
                raise JitterEdgeError(f"{name.replace('_', '-')} must be in [0, 1], got {v}")
        from jitteredge.synth.fields import PRESETS as JITTER_PRESETS

        if self.jitter_preset not in JITTER_PRESETS:
            raise JitterEdgeError(f"unknown jitter preset {self.jitter_preset!r}; choose from {', '.join(sorted(JITTER_PRESETS))}")
        if self.amp not in ("auto", "bf16", "fp16", "off"):
            raise JitterEdgeError(f"amp must be auto, bf16, fp16 or off, got {self.amp!r}")
        if self.workers < 0:
            raise JitterEdgeError(f"workers must be >= 0, got {self.workers}")
        try:
            sample_config(self, self.crop_px)
        except (TypeError, ValueError) as exc:
            raise JitterEdgeError(f"training sample settings: {exc}") from None


# ----------------------------------------------------------------------------------------------
# Data


def _open_source(name: str, split: str):
    """Open a photo source ("procedural", "bsds500[:split]" or a folder) for ``split`` ("train"/"val").

    Procedural validation photos come from another seed than the training ones, so they never coincide.
    Raises JitterEdgeError for a missing or empty folder.
    """
    from jitteredge.synth.sources import open_source

    if name == "procedural":
        return open_source("procedural", seed=0 if split == "train" else 1)
    if name == "bsds500":
        return open_source(f"bsds500:{split}")
    return open_source(name)


def _resolve_val_source(cfg: TrainConfig) -> str:
    if cfg.val_source != "auto":
        return cfg.val_source
    try:
        return "bsds500" if len(_open_source("bsds500", "val")) > 0 else "procedural"
    except JitterEdgeError:
        return "procedural"


def sample_config(cfg: TrainConfig, size_px: int, **overrides):
    """The SampleConfig for training (or, with overrides, for a validation group)."""
    from jitteredge.synth.sample import SampleConfig

    from jitteredge.synth.sample import coerce_sample_overrides

    kw = {"size_px": size_px, "preset": cfg.jitter_preset, **coerce_sample_overrides(cfg.sample)}
    for name in _FRACTIONS:
        if getattr(cfg, name) is not None:
            kw[name] = getattr(cfg, name)
    kw.update(overrides)
    return SampleConfig(**kw)


def validation_group_configs(cfg: TrainConfig) -> dict:
    """SampleConfig per validation group.

    strong / mild: straight whole-frame camera shake at Gong's full ranges (blur scale 1), the
    distribution the EPE targets are stated for; sharp / defocus: zero-field photos only.
    """
    only = dict(shake_fraction=0.0, curved_fraction=0.0, sharp_fraction=0.0, defocus_fraction=0.0)
    shake = {**only, "shake_fraction": 1.0, "mild_fraction": 0.0, "subject_fraction": 0.0, "blur_scale": (1.0, 1.0)}
    return {
        "strong": sample_config(cfg, cfg.val_size_px, **{**shake, "preset": "strong"}),
        "mild": sample_config(cfg, cfg.val_size_px, **{**shake, "preset": "mild"}),
        "sharp": sample_config(cfg, cfg.val_size_px, **{**only, "sharp_fraction": 1.0}),
        "defocus": sample_config(cfg, cfg.val_size_px, **{**only, "defocus_fraction": 1.0}),
    }


@dataclass
class ValidationGroup:
    images: np.ndarray  # float32 (n, 3, S, S) network input
    fields: np.ndarray  # float32 (n, S, S, 2) true field (px)
    kinds: list[str]


def build_validation_set(cfg: TrainConfig) -> dict[str, ValidationGroup]:
    """The fixed validation set: VAL_GROUPS, ``val_per_group`` samples each, seeded by cfg.seed."""
    from jitteredge.data import make_validation_set
    from jitteredge.preprocess import normalize

    name = _resolve_val_source(cfg)
    source = _open_source(name, "val")
    groups = {}
    for k, (gname, scfg) in enumerate(validation_group_configs(cfg).items()):
        samples = make_validation_set(source, scfg, cfg.val_per_group, seed=10_000 + 97 * cfg.seed + k)
        groups[gname] = ValidationGroup(
            images=np.concatenate([normalize(s.image) for s in samples]),
            fields=np.stack([np.asarray(s.field, np.float32) for s in samples]),
            kinds=[s.kind for s in samples],
        )
    return groups


class IndexSampler:
    """Sample indices for base batches ``first``.. ``last - 1`` of this rank, in order.

    Index of slot i of base batch b on rank r of w: (b * w + r) * batch + i. SynthDataset items are
    deterministic per index, so the data does not depend on workers, restarts or the device.
    """

    def __init__(self, first: int, last: int, batch: int, rank: int = 0, world: int = 1):
        self.first, self.last, self.batch, self.rank, self.world = first, last, batch, rank, world

    def __iter__(self):
        for b in range(self.first, self.last):
            start = (b * self.world + self.rank) * self.batch
            yield from range(start, start + self.batch)

    def __len__(self) -> int:
        return max(0, self.last - self.first) * self.batch


def _worker_init(worker_id: int) -> None:
    """DataLoader worker set-up: die with the training process (a kill -9 of the trainer must not
    leave workers behind, Linux only), then jitteredge.data's one-thread-per-worker settings."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        try:
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    from jitteredge.data import worker_init_fn

    worker_init_fn(worker_id)


def dihedral(images, codes, ops):
    """Apply one of the 8 flips/transposes per sample to images and their field codes, exactly.

    Transposing swaps U and V, which negates the first code component (U^2 - V^2) / |M|; flipping
    either axis negates U or V, which negates the second (2 U V / |M|). Square samples only.

    Args:
        images: (N, 3, S, S); codes: (N, 2, S, S) tensors; ops: int array (N,) in [0, 8): bit 0
            transpose, bit 1 flip columns, bit 2 flip rows.
    Returns:
        transformed (images, codes), new tensors.
    """
    import torch

    out_images, out_codes = [], []
    for x, c, op in zip(images, codes, ops.tolist()):
        if op & 1:
            x, c = x.transpose(-1, -2), c.transpose(-1, -2)
            c = torch.stack([-c[0], c[1]])
        if op & 2:
            x, c = x.flip(-1), c.flip(-1)
            c = torch.stack([c[0], -c[1]])
        if op & 4:
            x, c = x.flip(-2), c.flip(-2)
            c = torch.stack([c[0], -c[1]])
        out_images.append(x)
        out_codes.append(c)
    images, codes = torch.stack(out_images), torch.stack(out_codes)
    return images, codes


# ----------------------------------------------------------------------------------------------
# Validation


def evaluate(model, groups: dict[str, ValidationGroup], device, batch: int = 8, amp_dtype=None) -> dict[str, float]:
    """Validation metrics, flat dict "group/metric".

    Per group: epe (mean sign-invariant endpoint error, px), zero_epe (the same for a zero prediction,
    i.e. the mean true blur length), rel_epe (epe / zero_epe), gong_mse (px^2, after folding to U >= 0),
    accuracy (share of pixels on the right side of the 2 px shaken threshold), shaken_share (share
    of pixels predicted > 2 px; on sharp/defocus every such pixel is a false alarm). Plus "score":
    the mean of metric / target over TARGETS (<= 1 when the targets are met on average).
    """
    import torch

    net = getattr(model, "module", model)
    was_training = net.training
    net.eval()
    out: dict[str, float] = {}
    with torch.no_grad():
        for gname, g in groups.items():
            preds = []
            for s in range(0, len(g.images), batch):
                x = torch.from_numpy(g.images[s:s + batch]).to(device)
                with torch.autocast(device_type=device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
                    y = net(x)
                preds.append(net.to_code(y.float()).float().cpu().numpy())
            code = np.concatenate(preds).transpose(0, 2, 3, 1)  # (n, S, S, 2)
            pred = decode_field(code, CODE_SCALE_PX)
            truth = g.fields
            epe = float(endpoint_error(pred, truth).mean())
            true_mag = np.hypot(truth[..., 0], truth[..., 1])
            pred_mag = np.hypot(pred[..., 0], pred[..., 1])
            zero_epe = float(true_mag.mean())
            out[f"{gname}/epe"] = epe
            out[f"{gname}/zero_epe"] = zero_epe
            if zero_epe > 0:  # zero-field groups have no relative error
                out[f"{gname}/rel_epe"] = epe / zero_epe
            out[f"{gname}/gong_mse"] = gong_mse(pred, truth)
            out[f"{gname}/accuracy"] = float(((pred_mag > SHAKEN_PX) == (true_mag > SHAKEN_PX)).mean())
            out[f"{gname}/shaken_share"] = float((pred_mag > SHAKEN_PX).mean())
    parts = [out[k] / t for k, t in TARGETS.items() if k in out and math.isfinite(out[k])]
    out["score"] = float(np.mean(parts)) if parts else float("nan")
    if was_training:
        net.train()
    return out


# ----------------------------------------------------------------------------------------------
# The loop


def lr_at(step: int, cfg: TrainConfig, wall_s: float = 0.0) -> float:
    """Linear warm-up to cfg.lr, then cosine decay to cfg.lr * min_lr_ratio.

    The cosine runs over whichever budget ends first: cfg.steps, or cfg.max_minutes of training
    time (``wall_s`` so far), so a time-limited run still ends at the low learning rate.
    """
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    t = (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps)
    if cfg.max_minutes > 0:
        t = max(t, wall_s / (60.0 * cfg.max_minutes))
    t = min(1.0, t)
    return cfg.lr * (cfg.min_lr_ratio + (1.0 - cfg.min_lr_ratio) * 0.5 * (1.0 + math.cos(math.pi * t)))


def _resolve_device(name: str, local_rank: int):
    import torch

    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise JitterEdgeError(f"device {name}: CUDA is not available on this machine")
        if name == "cuda":
            name = f"cuda:{local_rank}"
    elif name != "cpu":
        raise JitterEdgeError(f"unknown device {name!r}; use auto, cpu, cuda or cuda:N")
    return torch.device(name)


def _amp_dtype(cfg: TrainConfig, device):
    import torch

    if cfg.amp == "off":
        return None
    if device.type == "cpu":
        if cfg.amp == "fp16":
            raise JitterEdgeError("amp fp16 needs CUDA; on a CPU use bf16 or off")
        # bf16 autocast pays only where the CPU computes in bf16 natively (AVX-512 BF16, AMX);
        # elsewhere oneDNN emulates it and fp32 is faster
        native = torch.ops.mkldnn._is_mkldnn_bf16_supported()
        return torch.bfloat16 if cfg.amp == "bf16" or native else None
    if cfg.amp == "bf16" or (cfg.amp == "auto" and torch.cuda.is_bf16_supported()):
        return torch.bfloat16
    return torch.float16


class _Log:
    """log.csv (fixed columns, blanks where a row has no value) and TensorBoard when installed."""

    def __init__(self, path: Path, columns: list[str], resume_step: int | None):
        self.path, self.columns = path, columns
        rows: list[dict] = []
        if resume_step is not None and path.exists():
            # Keep only rows up to the resumed checkpoint: later ones belong to the lost tail.
            with open(path, newline="") as f:
                rows = [r for r in csv.DictReader(f) if r.get("step", "").isdigit() and int(r["step"]) <= resume_step]
        from jitteredge.fileio import atomic_path

        with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
            w.writeheader()
            w.writerows(rows)
        self.file = open(path, "a", newline="")
        self.writer = csv.DictWriter(self.file, fieldnames=columns, extrasaction="ignore")
        self.tb = None
        try:
            from torch.utils.tensorboard import SummaryWriter

            self.tb = SummaryWriter(str(path.parent / "tensorboard"))
        except ImportError:  # tensorboard not installed: CSV only
            pass

    def write(self, row: dict) -> None:
        self.writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
        self.file.flush()
        if self.tb is not None:
            for k, v in row.items():
                if k != "step" and isinstance(v, (int, float)) and math.isfinite(v):
                    self.tb.add_scalar(k, v, row["step"])

    def close(self) -> None:
        self.file.close()
        if self.tb is not None:
            self.tb.close()


def build_train_model(cfg: TrainConfig):
    from jitteredge.model import PRESETS, build_model

    base = PRESETS[cfg.model_preset]
    return build_model(dataclasses.replace(base, head=cfg.head, num_classes=0))


def _load_initial_weights(model, spec: str) -> None:
    """Load a model's weights (checkpoint path or registered name) into ``model``; shapes must match."""
    from jitteredge.checkpoint import read_payload
    from jitteredge.weights import resolve_model

    payload = read_payload(resolve_model(spec))
    if payload["model_config"] != model.config.to_dict():
        raise JitterEdgeError(f"{spec}: its model ({payload['model_config'].get('preset')}) differs from this run's; "
                              "use the same --model/--head")
    model.load_state_dict(payload["model"])


def compute_loss(net, output, target, cfg: TrainConfig):
    from jitteredge.losses import LossConfig, classes_loss, regression_loss

    lc = LossConfig(zero_weight=cfg.zero_weight, margin_px=cfg.margin_px)
    if net.config.head == "regression":
        return regression_loss(output, target, lc)
    c = net.config
    return classes_loss(output, net.to_code(output), target, c.magnitude_bins, c.orientation_bins, c.class_max_px, lc)


@dataclass
class TrainResult:
    out_dir: Path
    last: Path
    best: Path | None
    step: int
    metrics: dict = field(default_factory=dict)  # last validation
    best_metrics: dict = field(default_factory=dict)
    wall_s: float = 0.0  # training wall time of this call
    samples_per_s: float = 0.0  # training samples (reuse included) per second, this call


def train(cfg: TrainConfig) -> TrainResult:
    """Run (or resume) training as configured. Returns where things went and the last metrics."""
    import torch
    import torch.distributed as dist
    from tqdm import tqdm

    from jitteredge.checkpoint import make_payload, read_payload, save_checkpoint
    from jitteredge.data import SynthDataset

    cfg.validate()
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = _resolve_device(cfg.device, local_rank)
    own_group = world > 1 and not dist.is_initialized()
    if own_group:
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    main = rank == 0
    out_dir = Path(cfg.out_dir)
    if main:
        ensure_writable_dir(out_dir)

    # Data first: a bad source should fail before the model is built.
    train_source = _open_source(cfg.source, "train")
    if len(train_source) == 0:
        raise JitterEdgeError(f"{cfg.source}: no images")
    scfg = sample_config(cfg, cfg.crop_px)
    val_groups = build_validation_set(cfg) if main else {}

    torch.manual_seed(cfg.seed)
    model = build_train_model(cfg).to(device)
    if cfg.init_weights and not (cfg.resume and (out_dir / "last.pt").exists()):
        _load_initial_weights(model, cfg.init_weights)
    memory_format = torch.channels_last if cfg.channels_last else torch.contiguous_format
    model = model.to(memory_format=memory_format)
    net = model
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    amp_dtype = _amp_dtype(cfg, device)
    scaler = torch.amp.GradScaler("cuda", enabled=amp_dtype == torch.float16)

    start_step, best_score, prior_wall_s = 0, float("inf"), 0.0
    last_path, best_path = out_dir / "last.pt", out_dir / "best.pt"
    if not cfg.resume and (last_path.exists() or best_path.exists()):
        # A fresh run would overwrite the checkpoints and the log of the one already there.
        raise JitterEdgeError(f"{out_dir}: holds a run already; add --resume to continue it, or choose another --out")
    if cfg.resume and last_path.exists():
        payload = read_payload(last_path)
        missing = [k for k in ("optimizer", "rng") if k not in payload]
        if missing:
            raise JitterEdgeError(f"{last_path}: has no {' or '.join(missing)} state (a released model?); "
                                  "it cannot be resumed, start a new run in another --out")
        if payload["model_config"] != net.config.to_dict():
            raise JitterEdgeError(f"{last_path}: checkpoint model ({payload['model_config'].get('preset')}, "
                                  f"head {payload['model_config'].get('head')}) differs from this run's; "
                                  "use another --out or the same --model/--head")
        net.load_state_dict(payload["model"])
        optimizer.load_state_dict(payload["optimizer"])
        if payload.get("scaler"):
            scaler.load_state_dict(payload["scaler"])
        rng = payload.get("rng", {})
        if "torch" in rng:
            torch.set_rng_state(rng["torch"])
        if "cuda" in rng and device.type == "cuda" and len(rng["cuda"]) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(rng["cuda"])
        start_step = int(payload["step"])
        best_score = float(payload.get("best_score", float("inf")))
        prior_wall_s = float(payload.get("metrics", {}).get("train_wall_s", 0.0))
        if main:
            print(f"resuming {last_path} at step {start_step}", file=sys.stderr)
    elif cfg.resume and main:
        print(f"{last_path}: nothing to resume, starting at step 0", file=sys.stderr)

    if world > 1:
        ddp_ids = [device.index] if device.type == "cuda" else None
        model = torch.nn.parallel.DistributedDataParallel(net, device_ids=ddp_ids)

    # Base batches: each is used `reuse` times (steps b*reuse .. b*reuse + reuse - 1).
    first_base = start_step // cfg.reuse
    last_base = -(-cfg.steps // cfg.reuse)
    dataset = SynthDataset(train_source, scfg, length=(last_base * world + world) * cfg.batch_size, seed=cfg.seed)
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=cfg.batch_size, sampler=IndexSampler(first_base, last_base, cfg.batch_size, rank, world),
        num_workers=cfg.workers, worker_init_fn=_worker_init if cfg.workers else None,
        pin_memory=device.type == "cuda", prefetch_factor=4 if cfg.workers else None,
        # spawn, not fork: a child forked after the parent ran an OpenMP region (torch, Numba) can
        # hang in its first threaded call. Costs a few seconds of start-up per worker, once per run.
        multiprocessing_context="spawn" if cfg.workers else None)

    head_parts = ["squared", "false_shake"] if cfg.head == "regression" else ["cross_entropy", "false_shake"]
    val_cols = [f"{g}/{m}" for g in VAL_GROUPS for m in ("epe", "zero_epe", "rel_epe", "gong_mse", "accuracy", "shaken_share")]
    columns = ["step", "samples", "epochs", "elapsed_s", "lr", "loss", *head_parts, "samples_per_s", "score", *val_cols]
    log = None
    if main:
        from jitteredge.fileio import write_bytes_atomic

        write_bytes_atomic(out_dir / "config.json", (json.dumps(cfg.to_dict(), indent=2) + "\n").encode())
        log = _Log(out_dir / "log.csv", columns, start_step if cfg.resume else None)

    samples_per_step = cfg.batch_size * world
    n_photos = len(train_source)
    metrics: dict = {}
    best_metrics: dict = {}
    t0 = time.perf_counter()
    stop = False

    def wall() -> float:
        return prior_wall_s + time.perf_counter() - t0

    def run_stats(step: int) -> dict:
        synthesised = -(-step // cfg.reuse) * samples_per_step
        return {"samples_seen": step * samples_per_step, "synth_samples": synthesised,
                "epochs": synthesised / n_photos, "train_wall_s": round(wall(), 1)}

    def checkpoint(step: int, path: Path, val: dict) -> None:
        payload = make_payload(net, cfg.to_dict(), step, {**val, **run_stats(step)},
                               optimizer=optimizer.state_dict(), scaler=scaler.state_dict(),
                               rng={"torch": torch.get_rng_state(),
                                    **({"cuda": torch.cuda.get_rng_state_all()} if device.type == "cuda" else {})},
                               best_score=best_score)
        save_checkpoint(path, payload)

    def validate(step: int) -> None:
        nonlocal metrics, best_score, best_metrics
        metrics = evaluate(net, val_groups, device, amp_dtype=amp_dtype)
        stats = run_stats(step)
        log.write({"step": step, "samples": stats["samples_seen"], "epochs": stats["epochs"],
                   "elapsed_s": round(wall(), 1), **metrics})
        score = metrics["score"]
        if math.isfinite(score) and score < best_score:
            best_score, best_metrics = score, dict(metrics)
            checkpoint(step, best_path, metrics)
        bar.write(f"step {step}: score {score:.3f} | EPE strong {metrics['strong/epe']:.2f}/{metrics['strong/zero_epe']:.2f} px"
                  f" mild {metrics['mild/epe']:.2f}/{metrics['mild/zero_epe']:.2f} px | shaken share"
                  f" defocus {100 * metrics['defocus/shaken_share']:.2f}% sharp {100 * metrics['sharp/shaken_share']:.2f}%",
                  file=sys.stderr)

    bar = tqdm(total=cfg.steps, initial=start_step, disable=not (main and cfg.progress), file=sys.stderr,
               dynamic_ncols=True, unit="step")
    model.train()
    step = start_step
    rate_t, rate_step = time.perf_counter(), step
    base = first_base
    try:
        for images, codes in _batches(loader):
            while step < min((base + 1) * cfg.reuse, cfg.steps) and not stop:
                if cfg.reuse > 1:  # a fresh flip/transpose per sample and step, seeded by the step
                    ops = np.random.default_rng([cfg.seed, rank, step]).integers(0, 8, len(images))
                    x, target = dihedral(images, codes, ops)
                else:
                    x, target = images, codes
                x = x.to(device, non_blocking=True).contiguous(memory_format=memory_format)
                target = target.to(device, non_blocking=True)
                lr = lr_at(step, cfg, wall())
                for g in optimizer.param_groups:
                    g["lr"] = lr
                with torch.autocast(device_type=device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
                    output = model(x)
                loss, parts = compute_loss(net, output.float(), target, cfg)
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                if cfg.grad_clip > 0:
                    scaler.unscale_(optimizer)
                    torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                scaler.step(optimizer)
                scaler.update()
                loss = float(loss.detach())
                step += 1
                bar.update(1)
                if not math.isfinite(loss):
                    raise JitterEdgeError(f"loss became {loss} at step {step}; lower --lr")
                if cfg.max_minutes > 0:
                    flag = torch.tensor([float(wall() > 60.0 * cfg.max_minutes)], device=device)
                    if world > 1:
                        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
                    stop = bool(flag.item())
                if main:
                    if step % cfg.log_every == 0 or step == cfg.steps or stop:
                        now = time.perf_counter()
                        rate = (step - rate_step) * samples_per_step / max(1e-9, now - rate_t)
                        rate_t, rate_step = now, step
                        stats = run_stats(step)
                        log.write({"step": step, "samples": stats["samples_seen"], "epochs": stats["epochs"],
                                   "elapsed_s": round(wall(), 1), "lr": lr, "loss": loss, **parts,
                                   "samples_per_s": rate})
                        bar.set_postfix(loss=f"{loss:.4f}", sps=f"{rate:.1f}")
                    if step % cfg.val_every == 0 or step == cfg.steps or stop:
                        validate(step)
                    if step % cfg.ckpt_every == 0 or step % cfg.val_every == 0 or step == cfg.steps or stop:
                        checkpoint(step, last_path, metrics)
            base += 1
            if stop or step >= cfg.steps:
                break
    finally:
        bar.close()
        if log is not None:
            log.close()
    elapsed = time.perf_counter() - t0
    if world > 1:
        dist.barrier()
    if own_group:
        dist.destroy_process_group()
    return TrainResult(out_dir=out_dir, last=last_path, best=best_path if best_path.exists() else None, step=step,
                       metrics=metrics, best_metrics=best_metrics, wall_s=elapsed,
                       samples_per_s=(step - start_step) * samples_per_step / max(1e-9, elapsed))


def _batches(loader):
    for batch in loader:
        yield batch["image"], batch["code"]
