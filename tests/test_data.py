from dataclasses import replace

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from jitteredge.data import FolderDataset, SynthDataset, make_validation_set, sample_to_item, worker_init_fn
from jitteredge.errors import JitterEdgeError
from jitteredge.fieldcode import decode_field, encode_field
from jitteredge.preprocess import normalize
from jitteredge.synth.paths import TrajectoryConfig
from jitteredge.synth.sample import SampleConfig
from jitteredge.synth.sources import DeadLeavesConfig, ProceduralSource

# curved, sharp and defocus only: these tests do not depend on the straight-blur kernel
CFG = SampleConfig(size_px=32, shake_fraction=0.0, curved_fraction=0.5, sharp_fraction=0.25, defocus_fraction=0.25,
                   trajectory=TrajectoryConfig(steps=6))
SOURCE = ProceduralSource(length=6, seed=0, config=DeadLeavesConfig(size_px=48, shapes=60, max_radius_px=20.0))


def test_item_contract():
    ds = SynthDataset(SOURCE, CFG, length=5, seed=1)
    item = ds[0]
    assert set(item) == {"image", "code", "field", "kind"}
    assert item["image"].shape == (3, 32, 32) and item["image"].dtype == torch.float32
    assert item["code"].shape == (2, 32, 32) and item["code"].dtype == torch.float32
    assert item["kind"] in {"curved", "subject", "sharp", "defocus"}
    sample = ds.sample(0)
    np.testing.assert_allclose(item["image"].numpy(), normalize(sample.image)[0], atol=1e-6)
    np.testing.assert_allclose(item["code"].numpy(), encode_field(sample.field).transpose(2, 0, 1), atol=1e-6)
    np.testing.assert_allclose(item["field"].numpy(), sample.field.transpose(2, 0, 1))


def test_items_are_deterministic_per_seed_index_and_epoch():
    a = SynthDataset(SOURCE, CFG, length=4, seed=1)
    b = SynthDataset(SOURCE, CFG, length=4, seed=1)
    assert torch.equal(a[2]["image"], b[2]["image"])
    assert not torch.equal(a[2]["image"], a[3]["image"])
    assert not torch.equal(a[2]["image"], SynthDataset(SOURCE, CFG, length=4, seed=2)[2]["image"])
    b.set_epoch(1)
    assert not torch.equal(a[2]["image"], b[2]["image"])
    with pytest.raises(IndexError):
        a[4]


@pytest.mark.slow
def test_dataloader_workers_do_not_change_the_data():
    ds = SynthDataset(SOURCE, CFG, length=4, seed=3)
    serial = next(iter(DataLoader(ds, batch_size=4, num_workers=0)))
    # spawn, as train.py: a worker forked after OpenCV/OpenMP ran can deadlock
    parallel = next(iter(DataLoader(ds, batch_size=4, num_workers=2, worker_init_fn=worker_init_fn,
                                    multiprocessing_context="spawn")))
    assert torch.equal(serial["image"], parallel["image"]) and torch.equal(serial["code"], parallel["code"])
    assert serial["kind"] == parallel["kind"]


def test_validation_set_is_fixed_and_differs_from_training():
    a = make_validation_set(SOURCE, CFG, n=3, seed=5)
    b = make_validation_set(SOURCE, CFG, n=3, seed=5)
    assert len(a) == 3
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.image, y.image)
        np.testing.assert_array_equal(x.field, y.field)
    train = SynthDataset(SOURCE, CFG, length=3, seed=5).sample(0)
    assert not np.array_equal(train.image, a[0].image)


def test_sample_to_item_round_trips_the_field():
    field = np.random.default_rng(0).normal(0, 4, (8, 8, 2)).astype(np.float32)
    item = sample_to_item(np.zeros((8, 8, 3), np.uint8), field, "shake")
    back = decode_field(item["code"].numpy().transpose(1, 2, 0))
    np.testing.assert_allclose(np.abs(back), np.abs(field), atol=1e-4)  # up to the sign


def test_folder_dataset_reads_what_synth_writes(tmp_path):
    from jitteredge.synth.synthesize import SynthConfig, synthesize

    synthesize(SynthConfig(source="procedural", out_dir=str(tmp_path), per_image=2, limit=2,
                           sample=replace(CFG, size_px=24), progress=False))
    ds = FolderDataset(tmp_path)
    assert len(ds) == 4
    item = ds[1]
    assert item["image"].shape == (3, 24, 24) and item["code"].shape == (2, 24, 24)
    assert item["kind"] in {"curved", "subject", "sharp", "defocus"}
    sample = ds.load(1)
    np.testing.assert_array_equal(sample.field, np.load(tmp_path / f"{ds.ids[1]}.flow.npy"))


def test_folder_dataset_errors(tmp_path):
    with pytest.raises(JitterEdgeError, match="no such"):
        FolderDataset(tmp_path / "missing")
    with pytest.raises(JitterEdgeError, match="no samples"):
        FolderDataset(tmp_path)


def test_unreadable_photos_are_replaced(tmp_path, capsys):
    import cv2

    cv2.imwrite(str(tmp_path / "a.png"), np.random.default_rng(0).integers(0, 256, (40, 40, 3), dtype=np.uint8))
    (tmp_path / "b.png").write_bytes(b"broken")
    ds = SynthDataset(tmp_path, replace(CFG, size_px=24), length=6, seed=0)
    kinds = [ds[i]["kind"] for i in range(6)]
    assert len(kinds) == 6
    assert capsys.readouterr().err.count("b.png") == 1  # reported once
