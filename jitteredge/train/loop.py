"""The training loop: Adam on on-the-fly synthetic samples, periodic validation and checkpoints,
resumable, interruptible (SIGINT / SIGTERM save last.pt first), multi-GPU under torchrun."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from jitteredge.errors import JitterEdgeError, first_line
from jitteredge.fileio import ensure_writable_dir
from jitteredge.train.config import TrainConfig, resume_settings, sample_config
from jitteredge.train.log import RunLog, start_header, validation_line
from jitteredge.train.validate import REAL_KEYS, TrainValidation, best_key
from jitteredge.validation.synthetic import CORE_GROUPS


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


def resolve_workers(requested: int, device_type: str, cores: int | None = None, world: int = 1) -> int:
    """DataLoader workers per process for ``requested`` (-1 = auto) on this device.

    Auto: on CUDA, all but one of each process's share of the cores (at most 8) synthesise while
    the GPU trains. On a CPU of up to 4 cores, none: the main process synthesises between steps
    instead of a worker process competing with the step's threads for the same cores (2 cores,
    --reuse 3, five alternating pairs: 4 of 5 faster, median 105 against 94 samples/s), and no
    worker start-up. Larger CPUs keep 2.
    """
    if requested >= 0:
        return requested
    if cores is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if device_type == "cuda":
        return min(8, max(1, cores // max(1, world) - 1))
    return 0 if cores <= 4 else 2


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


def build_train_model(cfg: TrainConfig):
    from jitteredge.model import build_model

    return build_model(_model_config(cfg))


def _model_config(cfg: TrainConfig):
    from jitteredge.model import PRESETS

    return dataclasses.replace(PRESETS[cfg.model_preset], head=cfg.head, num_classes=0)


def _saved_model_config(payload: dict, source):
    """A checkpoint's ModelConfig, fields it predates at their defaults (a model saved before the
    ``stem`` field existed is a conv_pool network); one that cannot be read is named in the error."""
    from jitteredge.model import ModelConfig

    try:
        return ModelConfig.from_dict(payload["model_config"])
    except (KeyError, TypeError, ValueError) as exc:
        raise JitterEdgeError(f"{source}: its model config cannot be read ({first_line(exc)[:160]})") from None


def _load_initial_weights(model, spec: str) -> None:
    """Load a model's weights (checkpoint path or registered name) into ``model``; shapes must match."""
    from jitteredge.checkpoint import inference_weights, read_payload
    from jitteredge.weights import resolve_model

    payload = read_payload(resolve_model(spec))
    if _saved_model_config(payload, spec) != model.config:
        raise JitterEdgeError(f"{spec}: its model ({payload['model_config'].get('preset')}) differs from this run's; "
                              "use the same --model/--head")
    model.load_state_dict(inference_weights(payload))  # a run's average when it has one


def _load_teacher(spec: str, device, memory_format):
    """The teacher network (eval mode, frozen) from a checkpoint path or registered name."""
    from jitteredge.checkpoint import load_checkpoint
    from jitteredge.weights import resolve_model

    teacher, _ = load_checkpoint(resolve_model(spec), device=str(device))
    for p in teacher.parameters():
        p.requires_grad_(False)
    return teacher.to(memory_format=memory_format)


def teacher_loss(code, teacher_code):
    """Mean over pixels of the squared code difference to the teacher's (the claim-5 loss's form)."""
    return (code.float() - teacher_code.float()).pow(2).sum(dim=1).mean()


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


class _StopSignals:
    """While active, SIGINT and SIGTERM only note that a stop was asked for (the loop then saves
    last.pt and stops); outside the main thread nothing is installed."""

    def __init__(self) -> None:
        self.received: str | None = None
        self._previous: dict = {}

    def __enter__(self) -> "_StopSignals":
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._note)
        return self

    def _note(self, signum, frame) -> None:
        self.received = signal.Signals(signum).name

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def _check_resume(cfg: TrainConfig, payload: dict, last_path: Path) -> list[str]:
    """Refuse a checkpoint this run cannot continue; the warnings of the resume rule (config.py)."""
    missing = [k for k in ("optimizer", "rng") if k not in payload]
    if missing:
        raise JitterEdgeError(f"{last_path}: has no {' or '.join(missing)} state (a released model?); "
                              "it cannot be resumed, start a new run in another --out")
    if _saved_model_config(payload, last_path) != _model_config(cfg):
        raise JitterEdgeError(f"{last_path}: checkpoint model ({payload['model_config'].get('preset')}, "
                              f"head {payload['model_config'].get('head')}) differs from this run's; "
                              "use another --out or the same --model/--head")
    _, warnings = resume_settings(payload.get("train_config") or {}, cfg.to_dict())
    return warnings


def _precision_text(amp_dtype, device, channels_last: bool) -> str:
    text = "fp32" if amp_dtype is None else f"{str(amp_dtype).replace('torch.', '')} autocast"
    return f"{text} on {device}, {'channels_last' if channels_last else 'NCHW'} activations"


def train(cfg: TrainConfig) -> TrainResult:
    """Run (or resume) training as configured. Returns where things went and the last metrics.

    With ``cfg.resume`` and a last.pt in ``cfg.out_dir``, the run goes on from it; ``cfg`` must agree
    with the run's saved settings (jitteredge.train.config.resume_settings; the command line merges
    them first). SIGINT and SIGTERM save last.pt at the step reached, then raise KeyboardInterrupt.
    """
    import torch
    import torch.distributed as dist
    from tqdm import tqdm

    from jitteredge.checkpoint import make_payload, read_payload, save_checkpoint
    from jitteredge.data import batches, dihedral, open_training_source, training_loader
    from jitteredge.runners.module_runner import ModuleRunner

    cfg.validate()
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = _resolve_device(cfg.device, local_rank)
    main = rank == 0
    out_dir = Path(cfg.out_dir)
    last_path, best_path = out_dir / "last.pt", out_dir / "best.pt"
    if not cfg.resume and (last_path.exists() or best_path.exists()):
        # A fresh run would overwrite the checkpoints and the log of the one already there.
        raise JitterEdgeError(f"{out_dir}: holds a run already; add --resume to continue it, or choose another --out")
    payload = read_payload(last_path) if cfg.resume and last_path.exists() else None
    resume_warnings = _check_resume(cfg, payload, last_path) if payload is not None else []
    amp_dtype = _amp_dtype(cfg, device)
    workers = resolve_workers(cfg.workers, device.type, world=world)
    if main:
        ensure_writable_dir(out_dir)

    # Data first: a bad source should fail before the model is built.
    train_source = open_training_source(cfg.source)
    if len(train_source) == 0:
        raise JitterEdgeError(f"{cfg.source}: no images")
    scfg = sample_config(cfg, cfg.crop_px)
    validation = TrainValidation(cfg.val_source, cfg.val_per_group, cfg.val_size_px, cfg.seed, cfg.val_real,
                                 cfg.val_real_long_side) if main else None
    start_step = int(payload["step"]) if payload is not None else 0
    if main:
        for line in resume_warnings:
            print(f"jitteredge train: {line}", file=sys.stderr)
        if cfg.resume and payload is None:
            print(f"jitteredge train: {last_path}: nothing to resume, starting at step 0", file=sys.stderr)
        threads = cfg.threads or torch.get_num_threads()
        overrides = f", sample settings {json.dumps(cfg.sample)}" if cfg.sample else ""
        print(start_header({
            "device": f"{device}{f' x {world} processes' if world > 1 else ''}, {threads} torch threads, "
                      f"{workers} data workers{' (synthesis between steps)' if workers == 0 else ''}",
            "precision": _precision_text(amp_dtype, device.type, cfg.channels_last),
            "data": f"{cfg.source} ({len(train_source)} photos), {cfg.crop_px} px samples, batch {cfg.batch_size}"
                    f"{f', each used {cfg.reuse} times' if cfg.reuse > 1 else ''}{overrides}",
            "validation": f"{validation.describe()}, every {cfg.val_every} steps",
            "output": f"{out_dir} ({f'resuming at step {start_step}' if payload is not None else 'new run'}; "
                      f"last.pt every {cfg.ckpt_every} steps and on Ctrl-C)",
            "steps": f"{start_step} -> {cfg.steps}" + (f", at most {cfg.max_minutes:g} min" if cfg.max_minutes else ""),
        }), file=sys.stderr, flush=True)

    own_group = world > 1 and not dist.is_initialized()
    if own_group:
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    if main:
        validation.build()

    torch.manual_seed(cfg.seed)
    model = build_train_model(cfg).to(device)
    if cfg.init_weights and payload is None:
        _load_initial_weights(model, cfg.init_weights)
    memory_format = torch.channels_last if cfg.channels_last else torch.contiguous_format
    model = model.to(memory_format=memory_format)
    net = model
    teacher = _load_teacher(cfg.teacher, device, memory_format) if cfg.teacher and cfg.teacher_weight > 0 else None
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    scaler = torch.amp.GradScaler("cuda", enabled=amp_dtype == torch.float16)

    real = bool(cfg.val_real)
    best, prior_wall_s = None, 0.0
    if payload is not None:
        net.load_state_dict(payload["model"])
        optimizer.load_state_dict(payload["optimizer"])
        if payload.get("scaler"):
            scaler.load_state_dict(payload["scaler"])
        rng = payload.get("rng", {})
        if "torch" in rng:
            torch.set_rng_state(rng["torch"])
        if "cuda" in rng and device.type == "cuda" and len(rng["cuda"]) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(rng["cuda"])
        saved_key = payload.get("best_key")
        if saved_key is None and payload.get("best_score") is not None:
            saved_key = [float(payload["best_score"])]  # checkpoints before the real-photo rule
        if saved_key is not None and len(saved_key) == (2 if real else 1):  # the same rule as before
            best = tuple(float(v) for v in saved_key)
        prior_wall_s = float(payload.get("metrics", {}).get("train_wall_s", 0.0))

    # The averaged weights: validated, saved as best.pt and shipped (last.pt keeps both, to resume)
    ema = None
    if cfg.ema_decay > 0:
        from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

        ema = AveragedModel(net, multi_avg_fn=get_ema_multi_avg_fn(cfg.ema_decay), use_buffers=True)
        if payload is not None and "ema" in payload:
            ema.load_state_dict(payload["ema"])
        else:
            ema.update_parameters(net)  # starts as a copy of the weights
    scored = ema.module if ema is not None else net

    if world > 1:
        ddp_ids = [device.index] if device.type == "cuda" else None
        model = torch.nn.parallel.DistributedDataParallel(net, device_ids=ddp_ids)

    # Base batches: each is used `reuse` times (steps b*reuse .. b*reuse + reuse - 1).
    first_base = start_step // cfg.reuse
    last_base = -(-cfg.steps // cfg.reuse)
    loader = training_loader(train_source, scfg, cfg.seed, first_base, last_base, cfg.batch_size, workers,
                             rank, world, pin_memory=device.type == "cuda")

    head_parts = ["squared", "false_shake"] if cfg.head == "regression" else ["cross_entropy", "false_shake"]
    val_cols = [f"{g}/{m}" for g in CORE_GROUPS for m in ("epe_px", "zero_epe_px", "rel_epe", "gong_mse_px2",
                                                          "pixel_accuracy", "shaken_pixel_share", "shaken_image_share")]
    real_cols = [f"real/{k}" for k in REAL_KEYS] if real else []
    columns = ["step", "samples", "epochs", "elapsed_s", "lr", "loss", *head_parts, "teacher", "samples_per_s", "score",
               *val_cols, *real_cols]
    log = None
    if main:
        from jitteredge.fileio import write_bytes_atomic

        write_bytes_atomic(out_dir / "config.json", (json.dumps(cfg.to_dict(), indent=2) + "\n").encode())
        log = RunLog(out_dir / "log.csv", columns, start_step if cfg.resume else None)

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
        extra = {"ema": {k: v.detach().cpu() for k, v in ema.state_dict().items()}} if ema is not None else {}
        payload = make_payload(net, cfg.to_dict(), step, {**val, **run_stats(step)}, **extra,
                               optimizer=optimizer.state_dict(), scaler=scaler.state_dict(),
                               rng={"torch": torch.get_rng_state(),
                                    **({"cuda": torch.cuda.get_rng_state_all()} if device.type == "cuda" else {})},
                               best_score=best[-1] if best else float("inf"),
                               best_key=list(best) if best else None)
        save_checkpoint(path, payload)

    def validate(step: int) -> None:
        nonlocal metrics, best, best_metrics
        # fp32, as jitteredge eval runs a checkpoint: the two print the same figures
        with ModuleRunner(scored, device, None, cfg.channels_last) as runner:
            metrics = validation(runner)
        stats = run_stats(step)
        log.write({"step": step, "samples": stats["samples_seen"], "epochs": stats["epochs"],
                   "elapsed_s": round(wall(), 1), **metrics})
        key = best_key(metrics, real)
        if all(math.isfinite(k) for k in key) and (best is None or key < best):
            best, best_metrics = key, dict(metrics)
            # the weights that were scored: the average when there is one (resume reads last.pt only)
            save_checkpoint(best_path, make_payload(scored, cfg.to_dict(), step, {**metrics, **run_stats(step)},
                                                    best_key=list(best), best_score=best[-1]))
        bar.write(validation_line(step, metrics), file=sys.stderr)

    bar = tqdm(total=cfg.steps, initial=start_step, disable=not (main and cfg.progress), file=sys.stderr,
               dynamic_ncols=True, unit="step", mininterval=2.0)
    model.train()
    step = start_step
    rate_t, rate_step = time.perf_counter(), step
    base = first_base
    signals = _StopSignals()
    try:
        with signals:
            try:
                for images, codes in batches(loader):
                    while step < min((base + 1) * cfg.reuse, cfg.steps) and not stop and not signals.received:
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
                            if teacher is not None:
                                with torch.no_grad():
                                    teacher_code = teacher.predict_code(x)
                        loss, parts = compute_loss(net, output.float(), target, cfg)
                        if teacher is not None:
                            distill = teacher_loss(net.to_code(output.float()), teacher_code)
                            loss = loss + cfg.teacher_weight * distill
                            parts["teacher"] = float(distill.detach())
                        optimizer.zero_grad(set_to_none=True)
                        scaler.scale(loss).backward()
                        if cfg.grad_clip > 0:
                            scaler.unscale_(optimizer)
                            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                        scaler.step(optimizer)
                        scaler.update()
                        if ema is not None:
                            ema.update_parameters(net)
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
                    if stop or step >= cfg.steps or signals.received:
                        break
            except Exception:
                if not signals.received:
                    raise
                # A data worker stopped by the same signal: the model is as it was after `step`.
        if signals.received:
            if main and step > start_step:
                checkpoint(step, last_path, metrics)
                bar.write(f"jitteredge train: {signals.received} at step {step}: saved {last_path} "
                          "(continue with --resume)", file=sys.stderr)
            raise KeyboardInterrupt(signals.received)
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
