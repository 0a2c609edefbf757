"""TensorRT: typing per release, the build plan, the trtexec recipe, and export without tensorrt."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from export_helpers import run_cli, small  # noqa: E402

from jitteredge.errors import JitterEdgeError
from jitteredge.export import run_export, tensorrt_build
from jitteredge.export.tensorrt_build import BuildError, choose_typing, plan_build, trtexec_args

REPO = Path(__file__).resolve().parents[2]
HAVE_TRT = __import__("importlib").util.find_spec("tensorrt") is not None


def test_typing_per_release():
    assert choose_typing("auto", 11, has_strong_flag=True, has_fp16_flag=False) == "strong"
    assert choose_typing("auto", 10, has_strong_flag=True, has_fp16_flag=True) == "strong"
    assert choose_typing("weak", 10, has_strong_flag=True, has_fp16_flag=True) == "weak"
    assert choose_typing("auto", 8, has_strong_flag=False, has_fp16_flag=True) == "weak"
    with pytest.raises(BuildError, match="strongly typed networks only"):
        choose_typing("weak", 11, has_strong_flag=True, has_fp16_flag=False)
    with pytest.raises(BuildError, match="cannot build strongly typed"):
        choose_typing("strong", 8, has_strong_flag=False, has_fp16_flag=True)


def test_plan_puts_precision_in_the_onnx_when_strongly_typed():
    spec = {"onnx": "m.onnx", "onnx_fp16": "m.fp16.onnx", "engine": "m.engine"}
    assert plan_build(dict(spec, precision="fp16"), "strong") == {"onnx": "onnx_fp16", "flags": []}
    assert plan_build(dict(spec, precision="int8"), "strong") == {"onnx": "onnx", "flags": []}
    assert plan_build(dict(spec, precision="fp16"), "weak") == {"onnx": "onnx", "flags": ["FP16"]}
    assert plan_build(dict(spec, precision="int8"), "weak")["flags"] == ["INT8", "FP16"]


def test_trtexec_args_per_release():
    spec = {"onnx": "m.onnx", "onnx_fp16": "m.fp16.onnx", "engine": "m.engine", "precision": "fp16",
            "input": "input", "shapes": {"min": [1, 3, 32, 32], "opt": [1, 3, 352, 512], "max": [1, 3, 1024, 1024]},
            "workspace_mib": 512, "timing_cache": "m.timing.cache"}
    typing, v11 = trtexec_args(spec, 11)
    assert typing == "strong" and "--onnx=m.fp16.onnx" in v11
    assert not any(a in v11 for a in ("--fp16", "--int8", "--stronglyTyped"))  # gone in 11
    typing, v10 = trtexec_args(spec, 10)
    assert typing == "strong" and "--stronglyTyped" in v10 and "--fp16" not in v10
    assert "--optShapes=input:1x3x352x512" in v10 and "--memPoolSize=workspace:512M" in v10
    assert "--timingCacheFile=m.timing.cache" in v10
    typing, v8 = trtexec_args(spec, 8)
    assert typing == "weak" and "--fp16" in v8 and "--onnx=m.onnx" in v8


def test_standalone_copy_is_in_sync():
    """export/build_engine.py is the package's builder, copied so the target needs only TensorRT."""
    assert (REPO / "export" / "build_engine.py").read_text() == Path(tensorrt_build.__file__).read_text()
    source = Path(tensorrt_build.__file__).read_text()
    assert not re.search(r"^\s*(from|import)\s+jitteredge", source, re.MULTILINE)


@pytest.mark.skipif(HAVE_TRT, reason="tensorrt imports here: the engine gets built instead")
def test_engine_without_tensorrt_fails_cleanly_and_writes_the_recipe(checkpoint, tmp_path, capsys):
    cfg = tmp_path / "small.json"
    cfg.write_text(json.dumps({"check_hw": [32, 32], "calib_samples": 4, "gate_samples": 4, "progress": False}))
    out = tmp_path / "m.int8.engine"
    rc = run_cli([str(checkpoint), "--format", "trt", "--int8", "--max-epe-loss", "1e9", "--out", str(out),
                  "--config", str(cfg)])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc != 0
    assert len(err) == 1 and "tensorrt" in err[0] and "trtexec" in err[0]
    assert not out.exists() and not list(tmp_path.glob("*.engine*"))
    spec = json.loads((tmp_path / "m.int8.build.json").read_text())
    assert spec["precision"] == "int8" and spec["engine"] == out.name and spec["onnx"] == "m.int8.trt.onnx"
    assert spec["metadata"]["precision"] == "int8" and "model_config" in spec["metadata"]
    assert spec["shapes"]["min"] == [1, 3, 32, 32] and spec["shapes"]["max"] == [1, 3, 1024, 1024]
    assert (tmp_path / "m.int8.trt.onnx").is_file()
    # the refusal names the standalone builder, and it is there, beside the spec
    assert "python3 build_engine.py m.int8.build.json" in err[0] and str(tmp_path) in err[0]
    assert (tmp_path / "build_engine.py").read_text() == Path(tensorrt_build.__file__).read_text()
    script = tmp_path / "m.int8.trtexec.sh"
    assert os.access(script, os.X_OK)
    assert "--stronglyTyped" in script.read_text()


@pytest.mark.skipif(HAVE_TRT, reason="tensorrt imports here")
def test_fp16_engine_recipe_carries_an_fp16_onnx(checkpoint, tmp_path):
    out = tmp_path / "m.fp16.engine"
    with pytest.raises(JitterEdgeError, match="not built"):
        run_export(small(model=str(checkpoint), format="engine", precision="fp16", imgsz=(32, 32), out=str(out)))
    import onnx

    half = onnx.load(str(tmp_path / "m.fp16.trt.onnx"))
    assert any(i.data_type == onnx.TensorProto.FLOAT16 for i in half.graph.initializer)
    spec = json.loads((tmp_path / "m.fp16.build.json").read_text())
    assert spec["onnx_fp16"] == "m.fp16.trt.onnx" and spec["onnx"] == "m.trt.onnx"  # FP32 graph for weak typing
    assert spec["shapes"]["opt"] == [1, 3, 32, 32]


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
@pytest.mark.parametrize("version_code,typing,flag", [("100300", "strong", "--stronglyTyped"),
                                                       ("110000", "strong", None), ("8602", "weak", "--int8")])
def test_trtexec_scripts_run_with_a_stand_in_trtexec(checkpoint, tmp_path, version_code, typing, flag):
    """The generated script and export/build_engine_on_jetson.sh drive trtexec and write the engine JSON.

    The stand-in only records its arguments and touches the engine path: it checks the recipe's plumbing,
    not TensorRT.
    """
    with pytest.raises(JitterEdgeError):
        run_export(small(model=str(checkpoint), format="engine", precision="int8", max_epe_loss=1e9,
                         out=str(tmp_path / "m.engine")))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "trtexec"
    fake.write_text(f"""#!/usr/bin/env bash
if [ "$1" = "--help" ]; then echo "&&&& RUNNING TensorRT.trtexec [TensorRT v{version_code}] # trtexec --help"; exit 0; fi
echo "$@" > "$(dirname "$0")/args.txt"
for a in "$@"; do case "$a" in --saveEngine=*) echo stand-in > "${{a#--saveEngine=}}";; esac; done
""")
    fake.chmod(0o755)
    env = dict(os.environ, TRTEXEC=str(fake))
    for command in (["bash", str(tmp_path / "m.trtexec.sh")],
                    ["bash", str(REPO / "export" / "build_engine_on_jetson.sh"), str(tmp_path / "m.build.json")]):
        (tmp_path / "m.engine.json").unlink(missing_ok=True)
        done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=tmp_path, timeout=60)
        assert done.returncode == 0, done.stderr
        args = (bin_dir / "args.txt").read_text().split()
        assert "--onnx=m.int8.trt.onnx" in args and "--saveEngine=m.engine" in args
        if flag:
            assert flag in args
        else:
            assert not any(a in args for a in ("--stronglyTyped", "--int8", "--fp16"))
        meta = json.loads((tmp_path / "m.engine.json").read_text())
        assert meta["precision"] == "int8" and meta["tensorrt"]["typing"] == typing
        assert "model_config" in meta


def _recipe(checkpoint, tmp_path):
    with pytest.raises(JitterEdgeError):
        run_export(small(model=str(checkpoint), format="engine", precision="fp32", out=str(tmp_path / "m.engine")))
    return tmp_path / "m.trtexec.sh", tmp_path / "m.build.json"


@pytest.mark.skipif(shutil.which("bash") is None or HAVE_TRT, reason="needs bash, and no TensorRT (the engine is built then)")
def test_trtexec_scripts_say_when_trtexec_is_missing(checkpoint, tmp_path):
    """Without trtexec both scripts print what is missing and how to point at it (not a silent 127)."""
    script, spec = _recipe(checkpoint, tmp_path)
    env = dict(os.environ, TRTEXEC=str(tmp_path / "nowhere" / "trtexec"))
    for command in (["bash", str(script)], ["bash", str(REPO / "export" / "build_engine_on_jetson.sh"), str(spec)]):
        done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=tmp_path, timeout=60)
        assert done.returncode != 0
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "trtexec not found" in lines[0] and "TRTEXEC=" in lines[0], done.stderr


@pytest.mark.skipif(shutil.which("bash") is None or HAVE_TRT, reason="needs bash, and no TensorRT")
@pytest.mark.skipif(shutil.which("trtexec") is not None or Path("/usr/src/tensorrt/bin/trtexec").exists(),
                    reason="trtexec is installed here")
def test_trtexec_scripts_say_so_with_trtexec_unset_and_absent(checkpoint, tmp_path):
    script, spec = _recipe(checkpoint, tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "TRTEXEC"}
    done = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert done.returncode == 127 and "trtexec not found" in done.stderr


def test_jetson_script_probes_trtexec_like_the_written_script():
    from jitteredge.export.pipeline import TRTEXEC_PROBE

    assert TRTEXEC_PROBE in (REPO / "export" / "build_engine_on_jetson.sh").read_text()


def test_build_engine_script_without_tensorrt_says_so(tmp_path):
    if HAVE_TRT:
        pytest.skip("tensorrt imports here")
    spec = tmp_path / "m.build.json"
    spec.write_text(json.dumps({"onnx": "m.onnx", "engine": "m.engine", "precision": "fp32"}))
    done = subprocess.run([sys.executable, str(REPO / "export" / "build_engine.py"), str(spec)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "tensorrt" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "m.engine").exists()


@pytest.mark.tensorrt
@pytest.mark.gpu
def test_real_engine_build_and_runner(checkpoint, tmp_path):
    trt = pytest.importorskip("tensorrt", reason="needs the tensorrt Python package (JetPack or NVIDIA wheels)")
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    import numpy as np

    from jitteredge.export import onnx_export
    from jitteredge.runners.tensorrt_runner import TensorRTRunner

    for precision in ("fp32", "fp16", "int8"):
        out = tmp_path / f"m.{precision}.engine"
        result = run_export(small(model=str(checkpoint), format="engine", precision=precision, max_epe_loss=1e9,
                                  trt_max_hw=(256, 256), out=str(out)))
        assert out.is_file() and (tmp_path / f"m.{precision}.engine.json").is_file()
        assert not out.read_bytes().startswith(b"{")  # nothing prepended: TensorRT's own bytes
        x = np.random.default_rng(0).standard_normal((1, 3, 64, 96)).astype(np.float32)
        with TensorRTRunner(out) as runner:
            y = runner.predict(x)
            assert runner.precision == precision and runner.meta["tensorrt"]["version"] == trt.__version__
        (ref,) = onnx_export.ort_session(tmp_path / f"m.{precision}.onnx").run(None, {"input": x})
        limit = {"fp32": 1e-2, "fp16": 0.1, "int8": 1.0}[precision]
        assert onnx_export.field_max_diff_px(ref, y) < limit, result.report
