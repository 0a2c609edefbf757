"""Training the jitter network (patent claims 5-6): on-the-fly synthesis, Adam, periodic validation.

One run lives in one folder (``TrainConfig.out_dir``)::

    config.json   the resolved TrainConfig (restored by --resume)
    last.pt       latest checkpoint, with optimizer/RNG state for --resume (jitteredge.checkpoint)
    best.pt       checkpoint with the best validation so far (train/validate.py states the rule)
    log.csv       one row per log step (training) and per validation

Data: every step draws a batch from jitteredge.data.SynthDataset (a photo source, a random camera
motion, blur, degradations), deterministically by sample index, so a resumed run sees the same data
as an uninterrupted one. On a CPU a 160 px sample takes about 5 ms to synthesise on one core, less
than the edge model's training step needs for it; on a GPU synthesis is the bottleneck, so each
synthesised batch can be reused ``reuse`` times, each time under a fresh random flip/transpose per
sample (the dihedral group maps a field and its code exactly, see ``dihedral``).

Validation (train/validate.py): the fixed synthetic groups of jitteredge.validation.synthetic
(strong and mild camera shake: endpoint error against the zero field; sharp and defocused photos:
share of pixels wrongly read as shaken), scored by the code ``jitteredge eval`` uses, so the two
print the same EPE for the same group, size, seed and source; with ``val_real``, a manifest of real
photos too (ROC AUC, recall, false alarms), which then chooses best.pt.

Pieces: config.py (TrainConfig, the resume rule), loop.py (``train``), validate.py, log.py; the data
plumbing (sampler, loader, flips) is in jitteredge.data.

Multi-GPU: start with ``torchrun --nproc_per_node=N -m jitteredge train ...``; WORLD_SIZE > 1 turns
on DistributedDataParallel, each rank reads its own sample indices, and only rank 0 writes.
"""

from jitteredge.train.config import RESUME_MAY_CHANGE, TrainConfig, resume_settings, sample_config
from jitteredge.train.loop import TrainResult, _amp_dtype, build_train_model, compute_loss, lr_at, train

__all__ = ["IndexSampler", "RESUME_MAY_CHANGE", "TrainConfig", "TrainResult", "build_train_model", "compute_loss",
           "dihedral", "lr_at", "resume_settings", "sample_config", "train", "_amp_dtype"]


def __getattr__(name: str):
    # The data plumbing imports torch: only when asked for (``jitteredge --help`` stays instant).
    if name in ("IndexSampler", "dihedral"):
        import jitteredge.data

        return getattr(jitteredge.data, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
