"""Train the deblur refiner: ``python -m jitteredge.deblurring.refiner_training pairs|train``.

``pairs`` synthesises training pairs like the deblur quality test's samples (``synthetic``, ``quality``),
from the training photos only: strong, mild and curved shake (70% with the presets' fields as drawn,
30% times training's blur scale), sharp and defocused photos; each deconvolved by ``deblur`` with its
true field or (half of the shaken ones, all sharp and defocused ones) the field the model predicts, as
``jitteredge deblur`` would. Shards of 100 pairs go to ``--out`` as ``w<worker>_<shard>.npz``; the
first shard of each worker is held out for validation.

``train`` fits the RefinerNet on CUDA where present, else on the CPU (the shipped one had 55 minutes
on our 2 cores), with Adam (cosine learning rate, Charbonnier loss on the photo as ``refine`` composes
it: refined where changed, the photo elsewhere), random crops, flips and transposes (the field
turned with the image), bf16 autocast on CPUs with native bf16 and on GPUs that support it. It
saves the best checkpoint by the validation pairs' PSNR gain over plain deconvolution.
"""

from __future__ import annotations

import argparse
import glob
import math
import os
import sys
import time

import numpy as np

GROUP_CUTS = (("strong", 0.3), ("mild", 0.55), ("curved", 0.8), ("sharp", 0.9), ("defocus", 1.0))
KEYS = ("photo", "truth", "restored", "field", "changed")


def draw_pair(sources, index: int, seed: int, runner, settings, size_px: int = 256) -> dict | None:
    """Pair ``index``: photo, truth, deconvolved photo, field used, changed mask (None when deblur changed nothing)."""
    from jitteredge.deblurring.restore import changed_mask, deblur, predicted_inputs
    from jitteredge.deblurring.synthetic import make_triple
    from jitteredge.evidence import blur_evidence
    from jitteredge.infer import predict_field

    rng = np.random.default_rng([seed, index])
    src = sources[index % len(sources)]
    u = rng.uniform()
    group = next(name for name, cut in GROUP_CUTS if u < cut)
    full_scale = rng.uniform() < 0.7
    t = make_triple(src.load(int(rng.integers(len(src)))), rng, group, size_px, full_scale)
    use_pred = group in ("sharp", "defocus") or rng.uniform() < 0.5
    if use_pred:
        field, evidence, s = predicted_inputs(predict_field(runner, t.photo), t.photo.shape[:2], settings)
        field = field.astype(np.float32)
    else:
        s, field = settings, t.field
        evidence = blur_evidence(t.photo, s.evidence_radius_px, s.evidence_min_std)
    restored = deblur(t.photo, field, s, evidence=evidence)
    changed = changed_mask(field, evidence, s.shaken_px)
    if not changed.any():
        return None
    return {"photo": t.photo, "truth": t.truth, "restored": restored, "field": field.astype(np.float16),
            "changed": changed, "group": group, "which": "pred" if use_pred else "true"}


def make_pairs(out_dir: str, source_specs: list[str], minutes: float, worker: int = 0, workers: int = 1,
               seed: int = 77, model: str = "default", shard_size: int = 100, limit: int | None = None) -> int:
    """Write shards of pairs for ``minutes`` (or until ``limit`` pairs); pairs ``worker``, ``worker + workers``, ...
    Returns the number of pairs written."""
    from jitteredge.deblurring.settings import DeblurSettings
    from jitteredge.fileio import ensure_writable_dir
    from jitteredge.infer import open_runner
    from jitteredge.synth.sources import open_source

    # Refuses a source that does not open before any work, like every jitteredge command.
    sources = [open_source(spec) for spec in source_specs]
    ensure_writable_dir(out_dir)
    settings = DeblurSettings(refine=False)  # the refiner learns from deconvolution alone
    end = time.time() + 60 * minutes
    shard, written, index = 0, 0, worker
    buf: list[dict] = []

    def flush():
        nonlocal shard, buf
        if buf:
            arrays = {k: np.stack([p[k] for p in buf]) for k in KEYS}
            arrays.update(group=np.array([p["group"] for p in buf]), which=np.array([p["which"] for p in buf]))
            final = os.path.join(out_dir, f"w{worker}_{shard:03d}.npz")
            tmp = final[:-4] + ".tmp.npz"
            np.savez(tmp, **arrays)
            os.replace(tmp, final)
            shard, buf = shard + 1, []

    with open_runner(model, threads=1) as runner:
        while time.time() < end and (limit is None or written < limit):
            pair = draw_pair(sources, index, seed, runner, settings)
            index += workers
            if pair is None:
                continue
            buf.append(pair)
            written += 1
            if len(buf) >= shard_size:
                flush()
                print(f"{time.strftime('%H:%M:%S')} worker {worker}: {written} pairs", flush=True)
    flush()
    return written


def load_pairs(files: list[str]) -> dict[str, np.ndarray]:
    """The shards' arrays, concatenated. Raises JitterEdgeError naming a shard that is not one."""
    import zipfile

    from jitteredge.errors import JitterEdgeError

    parts: dict[str, list] = {k: [] for k in KEYS}
    for f in files:
        try:
            with np.load(f) as z:
                for k in KEYS:
                    parts[k].append(z[k])
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            raise JitterEdgeError(f"{f}: not a pair shard written by 'pairs' ({type(exc).__name__})") from None
    return {k: np.concatenate(v) for k, v in parts.items()}


def to_tensors(pairs: dict, idx: np.ndarray):
    """(photo, truth, restored) in 0-1, field (N, 2, H, W), changed (N, 1, H, W), as float tensors."""
    import torch

    def image(a):
        return torch.from_numpy(a[idx]).permute(0, 3, 1, 2).float() / 255

    field = torch.from_numpy(pairs["field"][idx].astype(np.float32)).permute(0, 3, 1, 2)
    changed = torch.from_numpy(pairs["changed"][idx]).float()[:, None]
    return image(pairs["photo"]), image(pairs["truth"]), image(pairs["restored"]), field, changed


def augment(batch, rng: np.random.Generator, crop: int):
    """One random crop, flips and transpose for the whole batch; the field turns with the image."""
    import torch

    photo = batch[0]
    y0, x0 = (int(v) for v in rng.integers(0, photo.shape[2] - crop + 1, 2))
    p, t, r, f, m = (a[:, :, y0:y0 + crop, x0:x0 + crop] for a in batch)
    if rng.uniform() < 0.5:  # mirror left-right: U changes sign
        p, t, r, f, m = (a.flip(3) for a in (p, t, r, f, m))
        f = torch.cat([-f[:, :1], f[:, 1:]], 1)
    if rng.uniform() < 0.5:  # mirror top-bottom: V changes sign
        p, t, r, f, m = (a.flip(2) for a in (p, t, r, f, m))
        f = torch.cat([f[:, :1], -f[:, 1:]], 1)
    if rng.uniform() < 0.5:  # transpose: U and V swap
        p, t, r, f, m = (a.transpose(2, 3) for a in (p, t, r, f, m))
        f = f.flip(1)
    return p, t, r, f, m


def validation_gain(net, pairs: dict) -> float:
    """Mean PSNR gain (dB, stored 0-255 values) of the refined photo over the deconvolved one."""
    import torch

    from jitteredge.deblurring.refiner_net import make_input

    device = next(net.parameters()).device
    net.eval()
    gains = []
    with torch.inference_mode():
        for s in range(0, len(pairs["photo"]), 8):
            idx = np.arange(s, min(s + 8, len(pairs["photo"])))
            p, t, r, f, m = (a.to(device) for a in to_tensors(pairs, idx))
            y = net(make_input(r, p, f, m)).clamp(0, 1)
            y = torch.round(255 * (m * y + (1 - m) * p))
            e_refined = ((y - 255 * t) ** 2).mean(dim=(1, 2, 3))
            e_deconvolved = ((255 * r - 255 * t) ** 2).mean(dim=(1, 2, 3))
            gains += (10 * torch.log10(e_deconvolved / e_refined.clamp_min(1e-9))).tolist()
    net.train()
    return float(np.mean(gains))


def train_refiner(pairs_dir: str, out: str, minutes: float, widths=(16, 32, 64), lr: float = 1e-3,
                  crop: int = 128, batch: int = 16, seed: int = 0, eval_every: int = 200,
                  max_steps: int | None = None, device: str = "auto") -> float:
    """Train for ``minutes`` (or ``max_steps``); save the best checkpoint to ``out`` (the latest to
    ``out``.last.pt) at every evaluation. ``device``: "cpu", "cuda" or "auto" (CUDA when present).
    Returns the best validation gain."""
    import torch

    from jitteredge.deblurring.refiner import native_bf16, save_refiner
    from jitteredge.deblurring.refiner_net import RefinerConfig, RefinerNet, make_input
    from jitteredge.errors import JitterEdgeError
    from jitteredge.fileio import ensure_writable_dir

    files = sorted(glob.glob(os.path.join(pairs_dir, "w*_*.npz")))
    files = [f for f in files if not f.endswith(".tmp.npz")]
    held = [f for f in files if f.endswith("_000.npz")]
    train_files = [f for f in files if f not in held]
    if not held or not train_files:
        raise JitterEdgeError(f"{pairs_dir}: needs pair shards from 'pairs' (a _000 shard to validate on and more to train on)")
    ensure_writable_dir(os.path.dirname(os.path.abspath(out)))  # before the training, not at its first checkpoint
    train, val = load_pairs(train_files), load_pairs(held)
    print(f"{len(train['photo'])} training pairs, {len(val['photo'])} validation pairs", flush=True)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device not in ("cpu", "cuda") or (device == "cuda" and not torch.cuda.is_available()):
        raise JitterEdgeError(f"device {device!r}: use cpu, or cuda where CUDA is present")
    net = RefinerNet(RefinerConfig(tuple(widths))).to(device, memory_format=torch.channels_last)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    bf16 = torch.cuda.is_bf16_supported() if device == "cuda" else native_bf16()
    start, step, best, losses = time.time(), 0, -math.inf, []
    meta = {"pairs": len(train["photo"]), "widths": list(widths), "lr": lr, "crop": crop, "batch": batch, "seed": seed,
            "device": device}
    while time.time() - start < 60 * minutes and (max_steps is None or step < max_steps):
        frac = (time.time() - start) / (60 * minutes)
        for group in opt.param_groups:
            group["lr"] = lr * 0.5 * (1 + math.cos(math.pi * frac))
        batch_tensors = to_tensors(train, rng.integers(0, len(train["photo"]), batch))
        p, t, r, f, m = (a.to(device) for a in augment(batch_tensors, rng, crop))
        x = make_input(r, p, f, m).contiguous(memory_format=torch.channels_last)
        with torch.autocast(device, dtype=torch.bfloat16, enabled=bf16):
            y = net(x)
        y = m * y.float() + (1 - m) * p
        loss = torch.sqrt((y - t) ** 2 + 1e-6).mean()  # Charbonnier: L1 that is smooth at 0
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        losses.append(loss.item())
        if step % eval_every == 0:
            gain = validation_gain(net, val)
            print(f"{time.strftime('%H:%M:%S')} step {step} loss {np.mean(losses):.5f} "
                  f"validation gain over deconvolution {gain:+.3f} dB", flush=True)
            losses = []
            state = dict(meta, step=step, minutes=round((time.time() - start) / 60, 1), validation_gain_db=round(gain, 3))
            save_refiner(net, out + ".last.pt", state)
            if gain > best:
                best = gain
                save_refiner(net, out, state)
    return best


def main(argv: list[str] | None = None) -> int:
    from jitteredge.errors import JitterEdgeError

    p = argparse.ArgumentParser(prog="python -m jitteredge.deblurring.refiner_training", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    a = sub.add_parser("pairs", help="synthesise training pairs")
    a.add_argument("--out", required=True, help="folder for the pair shards")
    a.add_argument("--source", action="append", help="sharp training photos (repeatable; default bsds500:train)")
    a.add_argument("--minutes", type=float, default=10.0)
    a.add_argument("--worker", type=int, default=0, help="this process's number, 0 .. workers-1")
    a.add_argument("--workers", type=int, default=1, help="processes sharing the pairs (one per core)")
    a.add_argument("--seed", type=int, default=77)
    a.add_argument("--model", default="default", help="model that predicts the fields deconvolved with")
    b = sub.add_parser("train", help="train the refiner on pairs")
    b.add_argument("--pairs", required=True, help="folder written by 'pairs'")
    b.add_argument("--out", required=True, help="weights file to write (the best by validation)")
    b.add_argument("--minutes", type=float, default=30.0)
    b.add_argument("--widths", default="16,32,64", help="network widths at 1, 1/2, 1/4 ... of the input (one level each)")
    b.add_argument("--lr", type=float, default=1e-3)
    b.add_argument("--crop", type=int, default=128)
    b.add_argument("--batch", type=int, default=16)
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"), help="auto: CUDA when present")
    args = p.parse_args(argv)
    try:
        if args.command == "pairs":
            n = make_pairs(args.out, args.source or ["bsds500:train"], args.minutes, args.worker, args.workers,
                           args.seed, args.model)
            print(f"{n} pairs written to {args.out}")
        else:
            widths = tuple(int(w) for w in args.widths.split(","))
            if len(widths) < 2 or args.crop % 2 ** (len(widths) - 1):
                raise ValueError("--widths takes two numbers or more, and --crop must be a multiple of 2^(levels - 1)")
            best = train_refiner(args.pairs, args.out, args.minutes, widths, args.lr, args.crop, args.batch, args.seed,
                                 device=args.device)
            print(f"best validation gain over deconvolution {best:+.3f} dB: {args.out}")
    except (JitterEdgeError, ValueError) as exc:
        print(f"jitteredge refiner training: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("jitteredge refiner training: interrupted; the checkpoints written so far are kept", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
