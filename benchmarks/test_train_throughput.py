"""Training throughput on the CPU: end-to-end samples per second of `jitteredge train`, this release's
settings against the settings of the run that trained the first shipped model, in the same session.

End to end means what a run sees: synthesis in the DataLoader worker, the copy, forward, backward and
Adam, on the same 2 cores. The first shipped model was trained in fp32 NCHW, every synthesised batch
used once (36 samples/s over 184 minutes); the defaults now train in bf16 autocast on CPUs with
native bf16, with channels_last activations, the false-shake penalty is computed with masked sums
instead of boolean indexing and ``Tensor.norm`` (whose CPU backward took longer than the network),
and the shipped model's run used each synthesised batch three times under a fresh flip or transpose
per sample (``--reuse 3``), and on a CPU of up to 4 cores samples are synthesised in the main process
between steps (``--workers`` auto = 0) instead of by a worker process competing for the same cores.
The baseline runs the shipped run's loss code (``_shipped_regression_loss``, the previous
``jitteredge.losses`` code) with its settings and one worker. Target: >= 3x.

Run with ``pytest benchmarks/test_train_throughput.py --benchmark-enable -s``. Each run trains
``STEPS`` steps of batch 16 at 160 px; the rate is the median of the log rows after the first
``SKIP_STEPS`` steps (worker start-up and kernel compilation are not training).
"""

from __future__ import annotations

import csv
import statistics

import pytest

STEPS = 60
SKIP_STEPS = 20
ROUNDS = 2  # alternating, so a busy moment of the host hits both settings alike

SHIPPED = dict(amp="off", channels_last=False, reuse=1, workers=1)  # the first shipped model's run (and its loss code)
CURRENT = dict(amp="auto", channels_last=True, reuse=3, workers=-1)  # the defaults, at the shipped model's --reuse


def _source() -> str:
    from jitteredge.errors import JitterEdgeError
    from jitteredge.synth.sources import open_source

    try:
        open_source("bsds500")
        return "bsds500"
    except JitterEdgeError:
        return "procedural"


def _shipped_regression_loss(code, target, cfg):
    """The regression loss as the first shipped model was trained with it (same value, slow on CPU)."""
    import torch.nn.functional as F

    from jitteredge.fieldcode import CODE_SCALE_PX

    code = code.float()
    squared = ((code - target) ** 2).sum(dim=1).mean()
    zero = target.norm(dim=1) < cfg.zero_eps_px / CODE_SCALE_PX
    if bool(zero.any()):
        penalty = (F.relu(code.norm(dim=1) - cfg.margin_px / CODE_SCALE_PX)[zero] ** 2).mean()
    else:
        penalty = code.sum() * 0.0
    loss = squared + cfg.zero_weight * penalty
    return loss, {"squared": float(squared.detach()), "false_shake": float(penalty.detach())}


def _rate(tmp_path, name: str, settings: dict) -> float:
    from jitteredge.train import TrainConfig, train

    out = tmp_path / name
    cfg = TrainConfig(out_dir=str(out), source=_source(), val_source="procedural", steps=STEPS, batch_size=16,
                      crop_px=160, val_every=STEPS, val_per_group=1, val_size_px=32, ckpt_every=STEPS,
                      log_every=5, threads=2, progress=False, **settings)
    train(cfg)
    with open(out / "log.csv", newline="") as f:
        rates = [float(r["samples_per_s"]) for r in csv.DictReader(f)
                 if r["samples_per_s"] and int(r["step"]) > SKIP_STEPS]
    return statistics.median(rates)


def test_training_throughput_against_the_shipped_runs_settings(tmp_path, require_timing, record_ratio):
    import jitteredge.losses

    shipped, current = [], []
    for k in range(ROUNDS):
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(jitteredge.losses, "regression_loss", _shipped_regression_loss)
            shipped.append(_rate(tmp_path, f"shipped{k}", SHIPPED))
        current.append(_rate(tmp_path, f"current{k}", CURRENT))
    s, c = statistics.median(shipped), statistics.median(current)
    note = (f"{c:.1f} against {s:.1f} samples/s trained ({c / CURRENT['reuse']:.1f} synthesised/s); "
            f"batch 16, 160 px, 2 threads, workers auto against 1, source {_source()}")
    # the summary's limits are ceilings: time per sample, this release over the shipped run's (<= 1/3)
    record_ratio("training time per sample, this release / the shipped run's code and settings", s / c,
                 limit=1 / 3, note=note)
    assert c / s >= 3.0, note
