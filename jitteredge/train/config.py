"""TrainConfig: every setting of a training run, saved with it (config.json, each checkpoint) and
restored on --resume.

Resume rule (``resume_settings``): a resumed run keeps its own settings. A setting given again
(a flag or a --config file) that contradicts the run's is refused when it changes what is trained
(the data, the model, the optimisation: everything outside ``RESUME_MAY_CHANGE``), and taken with
one warning line when it only changes how the run goes on (its length, validation and checkpoint
intervals, the machine, the real-photo manifest, the false-shake penalty's weight).
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass, field
from pathlib import Path

from jitteredge.errors import JitterEdgeError

# TrainConfig fields passed to the SampleConfig of training samples when set
_FRACTIONS = ("shake_fraction", "mild_fraction", "sharp_fraction", "defocus_fraction", "curved_fraction", "subject_fraction",
              "grain_fraction")
# Settings a resumed run may change (with a warning): how long it goes on, how often it validates and
# saves, on which machine, and what it reports. Every other setting defines the run.
# zero_weight and the teacher may change too: a run can start with a light false-shake penalty and raise
# it once the network reads shake, and a teacher can be weighed less or dropped as the network passes it.
RESUME_MAY_CHANGE = ("steps", "max_minutes", "val_every", "ckpt_every", "log_every", "device", "workers", "threads",
                     "amp", "channels_last", "progress", "val_real", "val_real_long_side", "init_weights",
                     "ema_decay", "zero_weight", "teacher", "teacher_weight")
_NOT_SETTINGS = ("out_dir", "resume")  # where the run is and whether to continue it: never compared


@dataclass
class TrainConfig:
    # --- where ---
    out_dir: str = "runs/train"  # run folder: checkpoints, log.csv, config.json
    resume: bool = False  # continue from out_dir/last.pt when it exists
    # --- model ---
    model_preset: str = "edge"  # jitteredge.model.PRESETS name: "edge", "edge2" or "paper"
    init_weights: str = ""  # start from these weights (a checkpoint or model name) with a fresh optimizer and schedule
    head: str = "regression"  # "regression" (squared code loss, claim 5) or "classes" (softmax, Gong)
    teacher: str = ""  # a trained model (checkpoint or name) whose predicted field the network also learns
    #                    on the same samples (distillation)
    teacher_weight: float = 1.0  # weight of the squared code difference to the teacher (0 = teacher off)
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
    ema_decay: float = 0.999  # exponential moving average of the weights (BatchNorm statistics too), what
    #                           validation scores and best.pt holds: one step's noise averaged out; 0 = off
    # --- validation and logging ---
    val_every: int = 250  # steps between validations (and best.pt updates)
    val_per_group: int = 16  # validation samples per group (strong, mild, sharp, defocus)
    val_size_px: int = 192  # validation sample side (px), a multiple of 16
    val_real: str = ""  # manifest of labelled real photos scored at each validation (jitteredge.validation.real);
    #                     when given, best.pt is the checkpoint with the highest real-photo ROC AUC
    val_real_long_side: int | None = None  # working long side for val_real photos (None: the model's, 512)
    ckpt_every: int = 100  # steps between last.pt writes (also written at each validation, at the end and on
    #                        SIGINT/SIGTERM)
    log_every: int = 10  # steps between log.csv rows
    max_minutes: float = 0.0  # stop (validate, save) after this much training time, resumed runs included;
    #                           the lr schedule then ends there too; 0 = no limit
    # --- machine ---
    device: str = "auto"  # "auto" (cuda when present), "cpu", "cuda", "cuda:1"
    workers: int = -1  # DataLoader worker processes synthesising samples (0 = in the main process between
    #                     steps; -1 = auto: 0 on a CPU of <= 4 cores, 2 on larger ones, cores - 1 (<= 8) on CUDA)
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
        """Build from a dict (a --config file, a saved run), refusing unknown keys and wrong types
        (jitteredge.configfile, the rules of every verb's --config)."""
        from jitteredge.configfile import file_config_values

        return cls(**file_config_values(cls, dict(d), "training config", "training settings"))

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
        if not 0.0 <= self.ema_decay < 1.0:
            raise JitterEdgeError(f"ema-decay must be in [0, 1), got {self.ema_decay}")
        if not self.teacher_weight >= 0:
            raise JitterEdgeError(f"teacher-weight must be >= 0, got {self.teacher_weight}")
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
        if self.val_real and not Path(self.val_real).is_file():
            raise JitterEdgeError(f"val-real {self.val_real}: no such manifest file")
        self._check_models()
        if self.val_real_long_side is not None and self.val_real_long_side < 16:
            raise JitterEdgeError(f"val-real-long-side must be at least 16, got {self.val_real_long_side}")
        if self.workers < -1:
            raise JitterEdgeError(f"workers must be >= 0 (or -1 for auto), got {self.workers}")
        if not isinstance(self.sample, dict):
            raise JitterEdgeError(f"sample must be a table of SampleConfig fields, got {self.sample!r}")
        try:
            sample_config(self, self.crop_px)
        except (TypeError, ValueError) as exc:
            raise JitterEdgeError(f"training sample settings: {exc}") from None

    def _check_models(self) -> None:
        """The start weights and the teacher exist (a file or a registered name) before any data is made.
        A resumed run goes on from last.pt (its start weights are not read again); a teacher of weight 0
        is not loaded."""
        from jitteredge.weights import resolve_model

        resumed = self.resume and (Path(self.out_dir) / "last.pt").is_file()
        for name, spec in (("init-weights", "" if resumed else self.init_weights),
                           ("teacher", self.teacher if self.teacher_weight > 0 else "")):
            if spec:
                try:
                    resolve_model(spec)
                except JitterEdgeError as exc:
                    raise JitterEdgeError(f"{name} {exc}") from None


def sample_config(cfg: TrainConfig, size_px: int, **overrides):
    """The SampleConfig of training samples (``overrides`` on top)."""
    from jitteredge.synth.sample import SampleConfig, coerce_sample_overrides

    kw = {"size_px": size_px, "preset": cfg.jitter_preset, **coerce_sample_overrides(cfg.sample)}
    for name in _FRACTIONS:
        if getattr(cfg, name) is not None:
            kw[name] = getattr(cfg, name)
    kw.update(overrides)
    return SampleConfig(**kw)


def resume_settings(saved: dict, given: dict) -> tuple[dict, list[str]]:
    """The settings of a resumed run: its saved ones, with the given ones the rule allows.

    Args:
        saved: the run's TrainConfig as saved in its checkpoint (unknown keys of older versions dropped).
        given: settings given for this call (flags and --config file values), by field name.

    Returns:
        (merged settings, one warning line per allowed change).

    Raises:
        JitterEdgeError: a given setting contradicts one that defines the run (one line naming them all).
    """
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    merged = {k: v for k, v in saved.items() if k in names and k not in _NOT_SETTINGS}
    conflicts, warnings = [], []
    for key, value in given.items():
        if key in _NOT_SETTINGS or key not in names:
            continue
        before = merged.get(key, getattr(TrainConfig(), key))
        if _same(before, value):
            continue
        flag = "--" + key.replace("_", "-")
        if key in RESUME_MAY_CHANGE:
            warnings.append(f"resume: {key} {before!r} -> {value!r} (given)")
        else:
            conflicts.append(f"{key} {value!r} (the run has {before!r})")
    if conflicts:
        raise JitterEdgeError("resume: the run was trained with other settings: " + "; ".join(conflicts) +
                              ". Leave them out to continue it as it was, or start a new run in another --out")
    merged.update({k: v for k, v in given.items() if k in names})
    return merged, warnings


def _same(a, b) -> bool:
    """Equal as settings (a tuple read back from JSON is a list; 2 and 2.0 are the same number)."""
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b
