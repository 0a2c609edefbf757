"""The deblur refiner: identity when untrained, seamless tiles, changed pixels only, its files, its training."""

import numpy as np
import pytest
import torch

from jitteredge.deblurring import DeblurSettings, deblur
from jitteredge.deblurring.refiner import load_refiner, refine, save_refiner
from jitteredge.deblurring.refiner_net import RefinerConfig, RefinerNet
from jitteredge.deblurring.refiner_training import augment, make_pairs, train_refiner
from jitteredge.deblurring.restore import changed_mask
from jitteredge.errors import JitterEdgeError
from jitteredge.synth.blur import apply_field


@pytest.fixture
def rng():
    return np.random.default_rng(11)


def random_net(seed: int = 0, widths=(8, 8, 8)) -> RefinerNet:
    """A refiner whose last layer is not zero, so that it changes what it is given."""
    torch.manual_seed(seed)
    net = RefinerNet(RefinerConfig(widths))
    torch.nn.init.normal_(net.out.weight, std=0.05)
    return net.eval()


def inputs(rng, h=70, w=90):
    photo = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    deconvolved = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    field = rng.normal(0, 4, (h, w, 2)).astype(np.float32)
    changed = np.zeros((h, w), bool)
    changed[10:50, 20:80] = True
    deconvolved[~changed] = photo[~changed]  # as deblur returns it
    return photo, deconvolved, field, changed


def test_an_untrained_refiner_gives_the_deconvolution_back(rng):
    photo, deconvolved, field, changed = inputs(rng)
    out = refine(photo, deconvolved, field, changed, net=RefinerNet().eval())
    np.testing.assert_array_equal(out, deconvolved)


def test_only_changed_pixels_change(rng):
    photo, deconvolved, field, changed = inputs(rng)
    out = refine(photo, deconvolved, field, changed, net=random_net())
    np.testing.assert_array_equal(out[~changed], photo[~changed])
    assert np.abs(out[changed].astype(int) - deconvolved[changed]).mean() > 1.0  # the network did something


@pytest.mark.parametrize("widths", [(8, 8, 8), (4, 4, 4, 4)])
def test_tiles_join_without_seams(rng, widths):
    photo, deconvolved, field, changed = inputs(rng, 97, 130)
    torch.manual_seed(1)
    net = RefinerNet(RefinerConfig(widths))
    torch.nn.init.normal_(net.out.weight, std=1.0)  # a large residual, so that a short margin shows
    whole = refine(photo, deconvolved, field, changed, net=net.eval(), tile_px=512)
    tiled = refine(photo, deconvolved, field, changed, net=net, tile_px=32)
    # A margin short of the receptive field changes 0.07-0.5% of the values here; float summation
    # order may flip a rounding or two.
    assert np.abs(whole.astype(int) - tiled).max() <= 1 and np.mean(whole != tiled) < 1e-4


def test_sixteen_bit_photos_are_refined_in_sixteen_bits(rng):
    photo, deconvolved, field, changed = inputs(rng, 40, 44)
    out = refine(photo.astype(np.uint16) * 257, deconvolved.astype(np.uint16) * 257, field, changed, net=random_net())
    assert out.dtype == np.uint16
    out8 = refine(photo, deconvolved, field, changed, net=random_net())
    assert np.abs((out.astype(int) + 128) // 257 - out8).max() <= 1


def test_deblur_runs_the_refiner_on_its_deconvolution(rng, monkeypatch):
    import jitteredge.deblurring.refiner as refiner

    monkeypatch.setattr(refiner, "load_refiner", lambda path=None: random_net(2))
    sharp = rng.integers(30, 220, (48, 52, 3), dtype=np.uint8)
    field = np.full((48, 52, 2), (5.0, 1.0), np.float32)
    photo = apply_field(sharp.astype(np.float32) / 255, field)
    photo = np.clip(np.rint(photo * 255), 0, 255).astype(np.uint8)
    evidence = np.ones((48, 52), bool)
    plain = deblur(photo, field, DeblurSettings(iterations=4, refine=False), evidence=evidence)
    refined = deblur(photo, field, DeblurSettings(iterations=4), evidence=evidence)
    expected = refine(photo, plain, field, changed_mask(field, evidence, DeblurSettings().shaken_px), net=random_net(2))
    np.testing.assert_array_equal(refined, expected)
    assert not np.array_equal(refined, plain)


def test_save_and_load_round_trip(tmp_path):
    net = random_net(3)
    save_refiner(net, tmp_path / "r.pt", {"step": 5})
    load_refiner.cache_clear()
    back = load_refiner(tmp_path / "r.pt")
    x = torch.rand(1, 10, 16, 16)
    torch.testing.assert_close(back(x), net(x))


def test_the_shipped_refiner_loads():
    load_refiner.cache_clear()
    net = load_refiner()
    assert isinstance(net, RefinerNet) and not net.training


@pytest.mark.parametrize("content, match", [
    (None, "not found"),
    (b"not a checkpoint", "not a deblur refiner file"),
    ({"format": "something-else"}, "not a deblur refiner file"),
    ({"format": "jitteredge-deblur-refiner", "config": {"widths": [4, 4, 4]}, "state": {}}, "do not fit"),
])
def test_a_wrong_file_is_one_clear_error(tmp_path, content, match):
    path = tmp_path / "w.pt"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        torch.save(content, path)
    load_refiner.cache_clear()
    with pytest.raises(JitterEdgeError, match=match):
        load_refiner(path)


@pytest.mark.parametrize("flip", range(8))
def test_augmentation_turns_the_field_with_the_image(rng, flip):
    """Blurring the turned photo with the turned field equals turning the blurred photo."""
    sharp = rng.uniform(0, 1, (1, 3, 24, 24)).astype(np.float32)
    field = np.zeros((1, 2, 24, 24), np.float32)
    field[:, 0], field[:, 1] = 5.0, -2.0  # a constant blur: no boundary subtleties beyond the image's own
    blurred = apply_field(sharp[0].transpose(1, 2, 0).copy(), field[0].transpose(1, 2, 0).copy())[None].transpose(0, 3, 1, 2)
    batch = tuple(torch.from_numpy(np.ascontiguousarray(a)) for a in (sharp, blurred, sharp, field, sharp[:, :1]))

    class Draws:  # the crop at the origin, then the three coin tosses given by the bits of ``flip``
        def integers(self, low, high, n):
            return np.zeros(n, int)

        def __init__(self):
            self.bits = [(flip >> k) & 1 for k in range(3)]

        def uniform(self):
            return 0.0 if self.bits.pop(0) else 1.0

    s, b, _, f, _ = augment(batch, Draws(), 24)
    again = apply_field(s[0].permute(1, 2, 0).numpy().copy(), f[0].permute(1, 2, 0).numpy().copy())
    np.testing.assert_allclose(again, b[0].permute(1, 2, 0).numpy(), atol=1e-5)


def test_pairs_then_training_end_to_end(tmp_path):
    pairs = tmp_path / "pairs"
    written = make_pairs(str(pairs), ["procedural"], minutes=5, shard_size=2, limit=4)
    assert written == 4 and sorted(p.name for p in pairs.iterdir()) == ["w0_000.npz", "w0_001.npz"]
    out = tmp_path / "refiner.pt"
    best = train_refiner(str(pairs), str(out), minutes=5, widths=(4, 4, 4), crop=32, batch=2, eval_every=2, max_steps=4)
    assert np.isfinite(best) and out.is_file() and (tmp_path / "refiner.pt.last.pt").is_file()
    load_refiner.cache_clear()
    assert load_refiner(out).cfg.widths == (4, 4, 4)


def test_training_without_pairs_is_one_clear_error(tmp_path):
    with pytest.raises(JitterEdgeError, match="needs pair shards"):
        train_refiner(str(tmp_path), str(tmp_path / "r.pt"), minutes=1)


def test_the_shipped_refiner_improves_on_deconvolution():
    """On synthetic shaken samples (validation's procedural photos, true field) the refined photo is
    closer to the truth than the deconvolved one, and never touches the pixels left alone."""
    from jitteredge.deblurring.quality import psnr
    from jitteredge.deblurring.synthetic import make_triples
    from jitteredge.evidence import blur_evidence
    from jitteredge.validation.synthetic import open_validation_source

    source, _ = open_validation_source("procedural")
    load_refiner.cache_clear()
    gains = []
    for t in make_triples(source, "strong", 3, seed=5, size_px=128, full_scale=True):
        settings = DeblurSettings(refine=False)
        evidence = blur_evidence(t.photo, settings.evidence_radius_px, settings.evidence_min_std)
        deconvolved = deblur(t.photo, t.field, settings, evidence=evidence)
        changed = changed_mask(t.field, evidence, settings.shaken_px)
        refined = refine(t.photo, deconvolved, t.field, changed)
        np.testing.assert_array_equal(refined[~changed], t.photo[~changed])
        gains.append(psnr(t.truth, refined) - psnr(t.truth, deconvolved))
    assert np.mean(gains) > 0.1, gains


@pytest.mark.parametrize("refine_on", [True, False])
def test_progress_reaches_its_total_with_and_without_the_refiner(rng, refine_on):
    from jitteredge.deblurring.restore import progress_total

    photo = rng.integers(0, 256, (70, 90, 3), dtype=np.uint8)
    field = np.zeros((70, 90, 2), np.float32)
    field[:40, :50] = (4.0, 1.0)  # shaken in part of the frame: the other tiles are skipped
    evidence = np.ones((70, 90), bool)
    settings = DeblurSettings(iterations=2, tile_px=32, refine=refine_on)
    done = []
    deblur(photo, field, settings, evidence=evidence, progress=done.append)
    total = progress_total(photo.shape[:2], field, evidence, settings)
    assert sum(done) == total and total == 4 * (2 + (2 if refine_on else 0))  # 4 of the 9 tiles are shaken


def test_arrays_that_do_not_go_together_are_refused(rng):
    photo, deconvolved, field, changed = inputs(rng)
    with pytest.raises(ValueError, match="refine needs"):
        refine(photo, deconvolved[:-1], field, changed, net=random_net())
    with pytest.raises(ValueError, match="refine needs"):
        refine(photo, deconvolved.astype(np.uint16), field, changed, net=random_net())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA (no GPU on this machine)")
def test_training_on_cuda(tmp_path):
    pairs = tmp_path / "pairs"
    make_pairs(str(pairs), ["procedural"], minutes=5, shard_size=2, limit=4)
    best = train_refiner(str(pairs), str(tmp_path / "r.pt"), minutes=5, widths=(4, 4, 4), crop=32, batch=2,
                         eval_every=2, max_steps=4, device="cuda")
    assert np.isfinite(best)
    load_refiner.cache_clear()
    assert load_refiner(tmp_path / "r.pt").cfg.widths == (4, 4, 4)  # saved on the CPU, loads anywhere


def test_an_unknown_or_absent_device_is_one_clear_error(tmp_path):
    pairs = tmp_path / "pairs"
    make_pairs(str(pairs), ["procedural"], minutes=5, shard_size=1, limit=2)
    with pytest.raises(JitterEdgeError, match="device"):
        train_refiner(str(pairs), str(tmp_path / "r.pt"), minutes=1, device="tpu")


def test_training_cli_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    from jitteredge.deblurring.refiner_training import main

    pairs = tmp_path / "pairs"
    pairs.mkdir()
    (pairs / "w0_000.npz").write_bytes(b"not a shard")
    (pairs / "w0_001.npz").write_bytes(b"not a shard")
    assert main(["train", "--pairs", str(pairs), "--out", str(tmp_path / "r.pt"), "--minutes", "1"]) == 2
    err = capsys.readouterr().err
    assert ".npz: not a pair shard" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1

    (tmp_path / "afile").write_text("x")
    make_pairs(str(tmp_path / "good"), ["procedural"], minutes=5, shard_size=1, limit=2)
    assert main(["train", "--pairs", str(tmp_path / "good"), "--out", str(tmp_path / "afile" / "r.pt")]) == 2
    assert "not a folder" in capsys.readouterr().err  # refused before training, not at the first checkpoint

    assert main(["pairs", "--out", str(tmp_path / "p2"), "--source", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert "missing" in err and len(err.strip().splitlines()) == 1 and not (tmp_path / "p2").exists()
