import csv
import dataclasses

import numpy as np
import pytest
import torch

from jitteredge.checkpoint import load_checkpoint, make_payload, read_payload, save_checkpoint, strip_for_release
from jitteredge.errors import JitterEdgeError
from jitteredge.fieldcode import CODE_SCALE_PX, encode_field
from jitteredge.losses import LossConfig, false_shake_penalty, regression_loss
from jitteredge.model import PRESETS, build_model
from jitteredge.train import IndexSampler, TrainConfig, dihedral, lr_at, train

# A run small enough for a unit test: 32 px procedural samples, batch 2, one validation sample per group.
TINY = dict(source="procedural", val_source="procedural", crop_px=32, batch_size=2, val_size_px=32, val_per_group=1,
            workers=0, threads=1, progress=False, log_every=1, warmup_steps=2)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def _weights(path):
    return {k: v.clone() for k, v in read_payload(path)["model"].items()}


# ---------------------------------------------------------------------------------------- checkpoint

def test_checkpoint_round_trip(tmp_path):
    net = build_model("edge").eval()
    payload = make_payload(net, {"steps": 5}, step=5, metrics={"score": 0.5})
    path = save_checkpoint(tmp_path / "c.pt", payload)
    loaded, meta = load_checkpoint(path)
    assert meta["step"] == 5 and meta["metrics"] == {"score": 0.5} and meta["train_config"] == {"steps": 5}
    assert loaded.config == net.config and not loaded.training
    x = torch.randn(1, 3, 32, 48)
    with torch.no_grad():
        assert torch.equal(loaded(x), net(x))
    assert not list(tmp_path.glob("*.tmp*"))  # the atomic write leaves no temporary behind


def test_release_checkpoint_in_fp16_loads_close(tmp_path):
    net = build_model("edge").eval()
    payload = make_payload(net, {}, 1, {}, optimizer={"state": {}}, rng={"torch": torch.get_rng_state()})
    small = strip_for_release(payload, half=True)
    assert "optimizer" not in small and "rng" not in small
    save_checkpoint(tmp_path / "s.pt", small)
    loaded, _ = load_checkpoint(tmp_path / "s.pt")
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(loaded(x), net(x), atol=2e-2)


@pytest.mark.parametrize("kind", ["missing", "folder", "random", "state_dict", "other_dict", "wrong_weights"])
def test_load_checkpoint_rejects_files_that_are_not_ours(tmp_path, kind):
    path = tmp_path / "bad.pt"
    if kind == "folder":
        path.mkdir()
    elif kind == "random":
        path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    elif kind == "state_dict":
        torch.save(build_model("edge").state_dict(), path)
    elif kind == "other_dict":
        torch.save({"format": "someone-else", "model": {}}, path)
    elif kind == "wrong_weights":
        payload = make_payload(build_model("edge"), {}, 0, {})
        payload["model_config"] = PRESETS["paper"].to_dict()
        torch.save(payload, path)
    with pytest.raises(JitterEdgeError, match="bad.pt"):
        load_checkpoint(path)


# ---------------------------------------------------------------------------------------- pieces

@pytest.mark.parametrize("op", range(8))
def test_dihedral_maps_the_code_like_the_field(op):
    rng = np.random.default_rng(op)
    field = rng.normal(0, 5, (16, 16, 2)).astype(np.float32)
    image = rng.normal(size=(3, 16, 16)).astype(np.float32)
    # the same transform on the field itself: transpose swaps U and V, a flip negates the flipped axis
    f = field.copy()
    im = image.copy()
    if op & 1:
        f = f.transpose(1, 0, 2)[..., ::-1]
        im = im.transpose(0, 2, 1)
    if op & 2:
        f = f[:, ::-1] * np.array([-1, 1], np.float32)
        im = im[..., ::-1]
    if op & 4:
        f = f[::-1] * np.array([1, -1], np.float32)
        im = im[:, ::-1]
    code = torch.from_numpy(encode_field(field).transpose(2, 0, 1).copy())[None]
    out_image, out_code = dihedral(torch.from_numpy(image)[None], code, np.array([op]))
    np.testing.assert_allclose(out_code[0].numpy().transpose(1, 2, 0), encode_field(np.ascontiguousarray(f)), atol=1e-6)
    np.testing.assert_array_equal(out_image[0].numpy(), im)


def test_lr_schedule_warms_up_and_decays():
    cfg = TrainConfig(steps=100, lr=1e-3, warmup_steps=10, min_lr_ratio=0.1)
    assert lr_at(0, cfg) == pytest.approx(1e-4)
    assert lr_at(9, cfg) == pytest.approx(1e-3)
    assert lr_at(100, cfg) == pytest.approx(1e-4)
    assert lr_at(30, cfg) > lr_at(60, cfg) > lr_at(90, cfg)
    timed = dataclasses.replace(cfg, steps=10**6, max_minutes=1.0)  # time budget ends first
    assert lr_at(50, timed, wall_s=60.0) == pytest.approx(1e-4)


def test_index_sampler_ranks_do_not_overlap():
    a = list(IndexSampler(1, 3, 4, rank=0, world=2))
    b = list(IndexSampler(1, 3, 4, rank=1, world=2))
    assert len(a) == len(b) == 8 and not set(a) & set(b)
    assert a[:4] == [8, 9, 10, 11]


def test_regression_loss_is_zero_at_the_truth_and_penalty_only_on_zero_field():
    target = torch.zeros(1, 2, 4, 4)
    target[..., :2] = 10.0 / CODE_SCALE_PX  # left half shaken, right half zero field
    cfg = LossConfig(zero_weight=1.0, margin_px=1.0)
    loss, parts = regression_loss(target.clone(), target, cfg)
    assert float(loss) == 0.0 and parts["false_shake"] == 0.0
    pred = target.clone()
    pred[:, 0, :, 2:] = 3.0 / CODE_SCALE_PX  # 3 px blur on zero-field pixels: 2 px over the margin
    assert float(false_shake_penalty(pred, target, cfg)) == pytest.approx((2.0 / CODE_SCALE_PX) ** 2, rel=1e-5)
    small = target.clone()
    small[:, 0, :, 2:] = 0.5 / CODE_SCALE_PX  # within the margin: no penalty
    assert float(false_shake_penalty(small, target, cfg)) == 0.0


def test_config_from_dict_refuses_unknown_keys_and_wrong_types():
    assert TrainConfig.from_dict({"steps": 7, "lr": 1}).lr == 1.0
    with pytest.raises(JitterEdgeError, match="bogus"):
        TrainConfig.from_dict({"bogus": 1})
    with pytest.raises(JitterEdgeError, match="steps"):
        TrainConfig.from_dict({"steps": "many"})
    with pytest.raises(JitterEdgeError, match="crop-px"):
        TrainConfig(crop_px=40).validate()


# ---------------------------------------------------------------------------------------- runs

def test_resume_continues_from_the_saved_step_and_matches_an_uninterrupted_run(tmp_path, monkeypatch):
    import jitteredge.train.loop as train_module

    base = dict(TINY, steps=4, ckpt_every=2, val_every=2)
    straight = train(TrainConfig(out_dir=str(tmp_path / "a"), **base))
    assert straight.step == 4

    # interrupted run: dies in step 3, after last.pt was written at step 2
    real = train_module.compute_loss
    calls = {"n": 0}

    def dying(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(train_module, "compute_loss", dying)
    with pytest.raises(KeyboardInterrupt):
        train(TrainConfig(out_dir=str(tmp_path / "b"), **base))
    monkeypatch.setattr(train_module, "compute_loss", real)
    assert read_payload(tmp_path / "b" / "last.pt")["step"] == 2

    resumed = train(TrainConfig(out_dir=str(tmp_path / "b"), resume=True, **base))
    assert resumed.step == 4
    wa, wb = _weights(tmp_path / "a" / "last.pt"), _weights(tmp_path / "b" / "last.pt")
    for k in wa:
        assert torch.allclose(wa[k].float(), wb[k].float(), atol=1e-5), k
    with open(tmp_path / "b" / "log.csv") as f:
        steps = [int(r["step"]) for r in csv.DictReader(f) if r["loss"]]
    assert steps == [1, 2, 3, 4]  # rows of the lost step 3 were not duplicated


def test_resume_refuses_a_different_model(tmp_path):
    train(TrainConfig(out_dir=str(tmp_path), steps=1, val_every=1, **{k: v for k, v in TINY.items()}))
    with pytest.raises(JitterEdgeError, match="differs"):
        train(TrainConfig(out_dir=str(tmp_path), steps=2, val_every=1, resume=True, head="classes", **TINY))


def test_classes_head_trains_and_validates(tmp_path):
    result = train(TrainConfig(out_dir=str(tmp_path), steps=2, val_every=2, head="classes", **TINY))
    _, payload = load_checkpoint(result.last)
    assert payload["model_config"]["head"] == "classes"
    for key in ("strong/epe_px", "mild/rel_epe", "sharp/shaken_pixel_share", "defocus/shaken_pixel_share", "score"):
        assert np.isfinite(payload["metrics"][key]), key


def test_mixture_fractions_reach_the_training_samples():
    from jitteredge.train import TrainConfig, sample_config

    cfg = TrainConfig(sharp_fraction=0.3, subject_fraction=0.5, curved_fraction=0.1, grain_fraction=0.2)
    scfg = sample_config(cfg, 64)
    assert (scfg.sharp_fraction, scfg.subject_fraction, scfg.curved_fraction, scfg.grain_fraction) == (0.3, 0.5, 0.1, 0.2)
    from jitteredge.synth.sample import SampleConfig

    assert sample_config(TrainConfig(), 64).subject_fraction == SampleConfig().subject_fraction  # unset: the default
    with pytest.raises(JitterEdgeError, match="subject-fraction"):
        TrainConfig(subject_fraction=1.5).validate()
    with pytest.raises(JitterEdgeError, match="grain-fraction"):
        TrainConfig(grain_fraction=-0.1).validate()


def test_sample_overrides_reach_the_training_samples_and_are_checked():
    from jitteredge.train import sample_config

    cfg = TrainConfig(sample={"low_light_fraction": 0.25, "blur_scale": [0, 1.5], "trajectory": {"jerk_prob": 0.1}})
    scfg = sample_config(cfg, 64)
    assert scfg.low_light_fraction == 0.25 and scfg.blur_scale == (0, 1.5) and scfg.trajectory.jerk_prob == 0.1
    cfg.validate()
    with pytest.raises(JitterEdgeError, match="unknown sample setting 'nope'"):
        TrainConfig(sample={"nope": 1}).validate()
    assert TrainConfig.from_dict({"sample": {"portrait_fraction": 0.5}}).sample == {"portrait_fraction": 0.5}


def test_init_weights_starts_from_a_model_with_a_fresh_schedule(tmp_path):
    first = train(TrainConfig(out_dir=str(tmp_path / "a"), steps=2, val_every=2, **TINY))
    tuned = train(TrainConfig(out_dir=str(tmp_path / "b"), steps=1, val_every=1, init_weights=str(first.last), lr=1e-9,
                              **{**TINY, "warmup_steps": 1}))
    assert tuned.step == 1  # a new run: its own step count, not the source's
    from jitteredge.checkpoint import inference_weights

    wa, wb = inference_weights(read_payload(first.last)), _weights(tuned.last)  # it starts from the average
    for k in (k for k in wa if "running_" not in k and "num_batches" not in k):  # lr 1e-9: weights stay put
        assert torch.allclose(wa[k].float(), wb[k].float(), atol=1e-6), k
    with pytest.raises(JitterEdgeError, match="differs"):
        train(TrainConfig(out_dir=str(tmp_path / "c"), steps=1, val_every=1, init_weights=str(first.last),
                          head="classes", **TINY))


def test_init_weights_accept_a_checkpoint_saved_before_a_model_field_existed(tmp_path):
    """The shipped weights were saved before ModelConfig had ``stem``: the missing field is its default."""
    first = train(TrainConfig(out_dir=str(tmp_path / "a"), steps=1, val_every=1, **TINY))
    payload = read_payload(first.last)
    del payload["model_config"]["stem"]
    old = tmp_path / "old.pt"
    torch.save(payload, old)
    tuned = train(TrainConfig(out_dir=str(tmp_path / "b"), steps=1, val_every=1, init_weights=str(old), **TINY))
    assert tuned.step == 1
    payload["model_config"]["wings"] = 2  # a field this version does not know: named, not a traceback
    torch.save(payload, old)
    with pytest.raises(JitterEdgeError, match="old.pt: its model config cannot be read"):
        train(TrainConfig(out_dir=str(tmp_path / "c"), steps=1, val_every=1, init_weights=str(old), **TINY))


def test_cpu_precision_follows_the_amp_setting():
    from jitteredge.train import _amp_dtype

    cpu = torch.device("cpu")
    assert _amp_dtype(TrainConfig(amp="off"), cpu) is None
    assert _amp_dtype(TrainConfig(amp="bf16"), cpu) is torch.bfloat16
    native = torch.ops.mkldnn._is_mkldnn_bf16_supported()
    assert _amp_dtype(TrainConfig(amp="auto"), cpu) is (torch.bfloat16 if native else None)
    with pytest.raises(JitterEdgeError, match="fp16 needs CUDA"):
        _amp_dtype(TrainConfig(amp="fp16"), cpu)


def test_ema_weights_are_validated_saved_as_best_and_resumed(tmp_path):
    base = dict(TINY, steps=4, val_every=4, ckpt_every=2, ema_decay=0.5)
    result = train(TrainConfig(out_dir=str(tmp_path / "a"), **base))
    last, best = read_payload(result.last), read_payload(tmp_path / "a" / "best.pt")
    assert best["step"] == 4 and "optimizer" not in best
    ema = {k[len("module."):]: v for k, v in last["ema"].items() if k.startswith("module.")}
    for k, v in best["model"].items():  # best.pt holds the average, not the last step's weights
        assert torch.equal(v, ema[k]), k
    assert any(not torch.equal(last["model"][k], ema[k]) for k in ema if "running_" not in k)
    # an interrupted run resumes its average too: the same result as the run without interruption
    train(TrainConfig(out_dir=str(tmp_path / "b"), **{**base, "steps": 2, "val_every": 2}))
    resumed = train(TrainConfig(out_dir=str(tmp_path / "b"), resume=True, **base))
    again = read_payload(resumed.last)["ema"]
    for k, v in last["ema"].items():
        assert torch.allclose(v.float(), again[k].float(), atol=1e-5), k


def test_an_averaged_checkpoint_runs_and_ships_its_average(tmp_path):
    from jitteredge.checkpoint import release

    result = train(TrainConfig(out_dir=str(tmp_path / "a"), steps=2, val_every=2, ema_decay=0.5, **TINY))
    payload = read_payload(result.last)
    average = {k[len("module."):]: v for k, v in payload["ema"].items() if k.startswith("module.")}
    model, _ = load_checkpoint(result.last)
    for k, v in model.state_dict().items():
        assert torch.equal(v, average[k]), k
    shipped = read_payload(release(result.last, tmp_path / "ship.pt"))
    assert "ema" not in shipped and "optimizer" not in shipped
    for k, v in shipped["model"].items():
        assert torch.equal(v, average[k]), k


def test_the_loss_equals_the_shipped_runs_loss():
    """benchmarks/test_train_throughput.py times the shipped run's loss code: it must be the same loss."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(
        "throughput", Path(__file__).resolve().parents[1] / "benchmarks" / "test_train_throughput.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    code, target = torch.randn(3, 2, 16, 16), torch.randn(3, 2, 16, 16) * 0.1
    target[0] = 0.0
    target[1, :, :8] = 0.0
    cfg = LossConfig(zero_weight=40.0)
    new, old = regression_loss(code, target, cfg), bench._shipped_regression_loss(code, target, cfg)
    assert float(new[0]) == pytest.approx(float(old[0]), rel=1e-5)
    assert new[1]["false_shake"] == pytest.approx(old[1]["false_shake"], rel=1e-5)


@pytest.mark.parametrize("name", ("init_weights", "teacher"))
def test_a_missing_start_or_teacher_model_is_refused_up_front(tmp_path, name):
    """--init-weights and --teacher: a path that is not a file nor a registered name is refused by
    validate (one line naming the setting), before any data is made."""
    flag = name.replace("_", "-")
    missing = str(tmp_path / "MISSING.pt")
    with pytest.raises(JitterEdgeError, match=f"^{flag} .*MISSING.pt: no such model file"):
        TrainConfig(out_dir=str(tmp_path / "run"), **{name: missing}).validate()
    with pytest.raises(JitterEdgeError, match=f"^{flag} .*: is a folder"):
        TrainConfig(out_dir=str(tmp_path / "run"), **{name: str(tmp_path)}).validate()
    TrainConfig(out_dir=str(tmp_path / "run"), **{name: "default"}).validate()  # a registered name
    (tmp_path / "model.pt").write_bytes(b"x")
    TrainConfig(out_dir=str(tmp_path / "run"), **{name: str(tmp_path / "model.pt")}).validate()


def test_a_resumed_run_needs_neither_its_start_weights_nor_an_unused_teacher(tmp_path):
    """Resuming continues from last.pt (the start weights are not read again); a teacher of weight 0 is not loaded."""
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "last.pt").write_bytes(b"x")
    gone = str(tmp_path / "gone.pt")
    TrainConfig(out_dir=str(tmp_path / "run"), resume=True, init_weights=gone).validate()
    TrainConfig(out_dir=str(tmp_path / "run"), teacher=gone, teacher_weight=0.0).validate()
    with pytest.raises(JitterEdgeError, match="^teacher "):
        TrainConfig(out_dir=str(tmp_path / "run"), resume=True, teacher=gone).validate()
    with pytest.raises(JitterEdgeError, match="^init-weights "):  # no last.pt: a new run starts from them
        TrainConfig(out_dir=str(tmp_path / "new"), resume=True, init_weights=gone).validate()


def test_auto_workers_follow_the_device_and_the_cores():
    from jitteredge.train.loop import resolve_workers

    assert resolve_workers(3, "cpu", cores=2) == 3  # as asked
    assert resolve_workers(-1, "cpu", cores=2) == 0  # synthesis between steps: no worker competes for 2 cores
    assert resolve_workers(-1, "cpu", cores=16) == 2
    assert resolve_workers(-1, "cuda", cores=16) == 8
    assert resolve_workers(-1, "cuda", cores=16, world=4) == 3
    assert resolve_workers(-1, "cuda", cores=2) == 1
