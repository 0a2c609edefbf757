"""jitteredge bench: statistics, table/JSON/Markdown output, trtexec logs, unavailable backends,
the accuracy gate's exit status, a tiny end-to-end run, and benchmarks/ondevice.py against it."""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from jitteredge import bench
from jitteredge.bench import (COLUMNS, ERROR, FAILED_ACCURACY, RAN, UNAVAILABLE, BenchConfig, BenchResult, BenchRow, ValSet)
from jitteredge.bench.memory import _proc_status_kb
from jitteredge.bench.trtexec import _trt_version
from jitteredge.bench.valset import group_counts
from jitteredge.errors import JitterEdgeError

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "data" / "trtexec"
ONDEVICE = ROOT / "benchmarks" / "ondevice.py"


# -- fixtures ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A random-init edge checkpoint, its FP32 ONNX export and an 8-photo 32 px validation set."""
    torch = pytest.importorskip("torch")
    from jitteredge.checkpoint import make_payload, save_checkpoint
    from jitteredge.model import build_model

    root = tmp_path_factory.mktemp("bench")
    torch.manual_seed(0)
    net = build_model("edge").eval()
    ckpt = save_checkpoint(root / "edge_random.pt", make_payload(net, {}, 0, {}))
    onnx_path = root / "edge_random.onnx"
    _export_fp32(net, ckpt, onnx_path)

    rng = np.random.default_rng(0)
    n, s = 8, 32
    fields = rng.normal(0.0, 3.0, (n, s, s, 2)).astype(np.float32)
    groups = ["strong", "mild", "sharp", "defocus"] * 2
    fields[[2, 3, 6, 7]] = 0.0  # sharp and defocused photos have a zero field
    valset = bench.save_valset(ValSet(rng.standard_normal((n, 3, s, s), dtype=np.float32), fields, groups),
                               root / "valset")
    return types.SimpleNamespace(root=root, ckpt=Path(ckpt), onnx=onnx_path, valset=valset, net=net)


def _export_fp32(net, ckpt: Path, out: Path) -> None:
    """FP32 ONNX with the jitteredge metadata, through the export library."""
    from jitteredge.export import ExportConfig, run_export

    run_export(ExportConfig(model=str(ckpt), format="onnx", precision="fp32", out=str(out), progress=False))


def run_cli(argv: list[str]) -> int:
    """``jitteredge bench ARGV`` in this process through cli.main (errors -> one line, exit 2).

    Falls back to the bench command alone when another verb's module cannot be imported.
    """
    try:
        from jitteredge.cli import build_parser, main

        build_parser()
    except ImportError:
        pass
    else:
        return main(["bench", *argv])
    from jitteredge.commands import bench as command

    parser = argparse.ArgumentParser(prog="jitteredge bench")
    command.add_args(parser)
    args = parser.parse_args(argv)
    try:
        return int(command.run(args) or 0)
    except JitterEdgeError as exc:
        print(f"jitteredge bench: error: {exc}", file=sys.stderr)
        return 2


def load_ondevice():
    spec = importlib.util.spec_from_file_location("ondevice", ONDEVICE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def ran_row(**kw) -> BenchRow:
    base = dict(backend="onnx-fp32", precision="fp32", status=RAN, input="256x256", input_shape=[1, 3, 256, 256],
                threads=1, batch=8, latency_p50_ms=7.61234, latency_p90_ms=8.0, latency_p99_ms=12.5,
                throughput_ips=140.25, throughput_by_batch={"1": 120.0, "8": 140.25}, peak_mem_mb=31.0,
                epe_px=1.23456, shaken_defocus=0.125, shaken_sharp=0.0)
    base.update(kw)
    return BenchRow(**base)


# -- small pieces --------------------------------------------------------------------------------
def test_parse_size_and_padding():
    assert bench.parse_size("256") == (256, 256)
    assert bench.parse_size("1280x720") == (1280, 720)
    assert bench.parse_size("1080p") == (1920, 1080)
    assert bench.network_hw(1920, 1080) == (1088, 1920)  # padded like preprocess.prepare
    assert bench.network_hw(1280, 720) == (720, 1280)
    for bad in ("abc", "8", "256x"):
        with pytest.raises(JitterEdgeError):
            bench.parse_size(bad)


def test_latency_stats_percentiles():
    seconds = np.arange(1, 101) / 1000.0  # 1..100 ms
    stats = bench.latency_stats(seconds)
    assert stats["latency_p50_ms"] == pytest.approx(50.5)
    assert stats["latency_p90_ms"] == pytest.approx(90.1)
    assert stats["latency_p99_ms"] == pytest.approx(99.01)
    assert stats["latency_min_ms"] == pytest.approx(1.0)
    with pytest.raises(ValueError):
        bench.latency_stats([])


def test_parse_backends():
    assert bench.parse_backends("onnx,int8,trt") == ("onnx-fp32", "onnx-int8", "tensorrt")
    assert bench.parse_backends("all") == bench.BACKENDS
    assert bench.parse_backends("none") == ()
    with pytest.raises(JitterEdgeError, match="unknown backend"):
        bench.parse_backends("onnx-fp64")


def test_peak_rss_sees_an_allocation():
    if _proc_status_kb("VmRSS") is None:
        pytest.skip("no /proc/self/status")
    with bench.PeakRss() as mem:
        block = np.ones(48 * 2 ** 20 // 8)  # 48 MiB, touched
        del block
    assert mem.delta_mb is not None and mem.delta_mb > 40


# -- output formats ------------------------------------------------------------------------------
def test_table_markdown_and_json_rows():
    rows = [ran_row(), BenchRow(backend="tensorrt", precision="fp16", device="cuda", status=UNAVAILABLE,
                                reason="not importable (No module named 'tensorrt')", input="256x256")]
    result = BenchResult({"cpu": "test cpu", "versions": {}}, rows)

    text = bench.format_table(rows)
    lines = text.splitlines()
    assert lines[0].split()[:3] == ["backend", "precision", "input"]
    assert all(title in lines[0] for _, title in COLUMNS)
    assert "7.612" in lines[2] and "140.2" in lines[2] and "1.235" in lines[2] and "0.12" in lines[2]
    assert lines[3].split()[:5] == ["tensorrt", "fp16", "256x256", "-", "unavailable"]

    md = bench.format_table(rows, markdown=True).splitlines()
    assert md[0].count("|") == len(COLUMNS) + 1 and md[1].count("---") == len(COLUMNS)
    assert md[3].startswith("| tensorrt | fp16 |")

    report = bench.format_report(result)
    assert "tensorrt fp16: unavailable: not importable (No module named 'tensorrt')" in report
    assert "test cpu" in report

    data = json.loads(json.dumps(result.to_json_rows()))
    assert isinstance(data, list) and len(data) == 2
    assert data[0]["latency_p50_ms"] == pytest.approx(7.61234) and data[0]["epe_px"] == pytest.approx(1.23456)
    assert data[1]["status"] == UNAVAILABLE and data[1]["latency_p50_ms"] is None
    assert all(row["environment"]["cpu"] == "test cpu" for row in data)


def test_plot_scaling_writes_png(tmp_path):
    pytest.importorskip("matplotlib")
    rows = [ran_row(input=f"{s}x{s}", input_shape=[1, 3, s, s], latency_p50_ms=s / 30.0, threads=t,
                    throughput_ips=100.0 * t) for s in (256, 512) for t in (1, 2)]
    out = bench.plot_scaling(rows, tmp_path / "scaling.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(JitterEdgeError, match="nothing ran"):
        bench.plot_scaling([BenchRow(backend="tensorrt", precision="fp16")], tmp_path / "none.png")


# -- trtexec logs --------------------------------------------------------------------------------
def test_trtexec_8x_log():
    row = bench.row_from_trtexec_log(FIXTURES / "trtexec_8.5_orin_fixture.log")
    assert (row.backend, row.precision, row.status, row.source) == ("tensorrt", "fp16", RAN, "trtexec-log")
    assert row.latency_p50_ms == pytest.approx(5.78516)
    assert row.latency_p90_ms == pytest.approx(5.86084)
    assert row.latency_p99_ms == pytest.approx(6.37549)
    assert row.latency_min_ms == pytest.approx(5.62573)
    assert row.input == "1920x1088" and row.batch == 1
    assert row.throughput_ips == pytest.approx(204.168)
    assert row.extra["gpu_compute_ms"]["median"] == pytest.approx(4.26758)  # not the H2D line
    assert row.environment["gpu"] == "Orin" and row.environment["versions"]["tensorrt"] == "8.5.2"


def test_trtexec_10x_log_batch_and_int8():
    row = bench.row_from_trtexec_log(FIXTURES / "trtexec_10.3_h100_fixture.log")
    assert row.precision == "int8+fp16"
    assert row.latency_p50_ms == pytest.approx(0.375977)
    assert row.batch == 8 and row.input == "256x256"
    assert row.throughput_ips == pytest.approx(8556.26 * 8)  # queries of 8 images
    assert row.environment["gpu"] == "NVIDIA H100 80GB HBM3"
    assert row.environment["versions"]["tensorrt"] == "10.3.0"


def test_trtexec_version_codes():
    assert _trt_version("8502") == "8.5.2"
    assert _trt_version("8601") == "8.6.1"
    assert _trt_version("100300") == "10.3.0"


def test_trtexec_bad_log(tmp_path):
    bad = tmp_path / "not_trtexec.log"
    bad.write_text("[I] Throughput: 10 qps\nsomething else\n")
    with pytest.raises(JitterEdgeError, match="not trtexec output"):
        bench.row_from_trtexec_log(bad)
    with pytest.raises(JitterEdgeError, match="no such file"):
        bench.row_from_trtexec_log(tmp_path / "missing.log")


def test_cli_trtexec_log_alone(tmp_path, capsys):
    out = tmp_path / "trt.json"
    code = run_cli(["--from-trtexec-log", str(FIXTURES / "trtexec_8.5_orin_fixture.log"), "--json", str(out),
                    "--no-progress"])
    assert code == 0
    rows = json.loads(out.read_text())
    assert [r["source"] for r in rows] == ["trtexec-log"]
    assert "5.785" in capsys.readouterr().out


# -- accuracy gate -------------------------------------------------------------------------------
def test_accuracy_gate_marks_rows():
    rows = [ran_row(epe_px=0.5, shaken_defocus=0.0), ran_row(epe_px=2.5, shaken_defocus=0.5),
            ran_row(epe_px=None, shaken_defocus=None),
            BenchRow(backend="tensorrt", precision="fp16", status=UNAVAILABLE)]
    failures = bench.apply_accuracy_gate(rows, BenchConfig(max_epe=1.0, max_defocus_shaken=0.25))
    assert [r.status for r in rows] == [RAN, FAILED_ACCURACY, FAILED_ACCURACY, UNAVAILABLE]
    assert "EPE 2.5px > 1px" in rows[1].reason and "defocus shaken 0.5 > 0.25" in rows[1].reason
    assert "not measured" in rows[2].reason  # an unmeasured row must not pass a gate
    assert len(failures) == 2
    assert bench.apply_accuracy_gate([ran_row()], BenchConfig()) == []  # no floor, no failure


# -- unavailable backends ------------------------------------------------------------------------
def test_unavailable_backends_have_reasons(tiny):
    import torch

    cfg = BenchConfig(model=str(tiny.ckpt), backends=("torch-cuda", "tensorrt"), valset_dir=str(tiny.valset),
                      runs=2, warmup=0, progress=False)
    result = bench.run_bench(cfg, log=lambda msg: None)
    by = {(r.backend, r.precision): r for r in result.rows}
    assert set(by) == {("torch-cuda", "fp32"), ("torch-cuda", "fp16"), ("tensorrt", "fp16")}
    if not torch.cuda.is_available():
        assert by[("torch-cuda", "fp32")].status == UNAVAILABLE
        assert by[("torch-cuda", "fp16")].reason == "no CUDA device"
    if bench.import_reason("tensorrt"):
        assert by[("tensorrt", "fp16")].status == UNAVAILABLE
        assert by[("tensorrt", "fp16")].reason.startswith("not importable (")
        assert "tensorrt" in by[("tensorrt", "fp16")].reason
    assert all(r.latency_p50_ms is None for r in result.rows if r.status == UNAVAILABLE)


def test_torch_device_model_on_cpu_matches_module(tiny):
    import torch

    model = bench.TorchDeviceModel(build_fresh(tiny), "fp32", device="cpu", use_graph=True)  # graphs: CUDA only
    assert model.use_graph is False
    x = np.random.default_rng(1).standard_normal((2, 3, 32, 32), dtype=np.float32)
    got = model.predict(x)
    with torch.no_grad():
        want = tiny.net.float()(torch.from_numpy(x)).numpy()
    assert got.shape == (2, 2, 32, 32) and got.dtype == np.float32
    np.testing.assert_allclose(got, want, atol=1e-4)
    assert model.to_device(x).is_contiguous(memory_format=torch.channels_last)


# -- synthesis rows ------------------------------------------------------------------------------
def test_synth_rows_absent_and_present(monkeypatch):
    fake = types.ModuleType("jitteredge_fake_speed")
    fake.measure = lambda: {"numba_ms": np.float64(1.5), "speedup": 12.0}
    monkeypatch.setitem(sys.modules, "jitteredge_fake_speed", fake)
    rows = bench.synth_rows((("absent", "jitteredge_no_such_module", "f"), ("present", "jitteredge_fake_speed", "measure")))
    assert rows[0]["status"] == UNAVAILABLE and "not available" in rows[0]["reason"]
    assert rows[1]["status"] == RAN and rows[1]["metrics"] == {"numba_ms": 1.5, "speedup": 12.0}
    text = "\n".join(bench.format_synth(rows))
    assert "present: numba_ms=1.5, speedup=12" in text


# -- validation set ------------------------------------------------------------------------------
def test_valset_round_trip_and_errors(tiny, tmp_path):
    v = bench.load_valset(tiny.valset)
    assert v.inputs.shape == (8, 3, 32, 32) and v.fields.shape == (8, 32, 32, 2)
    assert v.groups[:4] == ["strong", "mild", "sharp", "defocus"]
    assert v.meta["shaken_px"] == pytest.approx(2.0)
    with pytest.raises(JitterEdgeError, match="not a validation set"):
        bench.load_valset(tmp_path)


def test_accuracy_of_a_perfect_predictor(tiny):
    from jitteredge.fieldcode import encode_field

    v = bench.load_valset(tiny.valset)
    truth_code = encode_field(v.fields, v.code_scale_px).transpose(0, 3, 1, 2)
    lookup = {arr.tobytes(): code for arr, code in zip(v.inputs, truth_code)}
    acc = bench.accuracy(lambda x: np.stack([lookup[a.tobytes()] for a in x]), v, batch=3)
    assert acc["epe_px"] == pytest.approx(0.0, abs=1e-4)
    assert acc["shaken_sharp"] == 0.0 and acc["shaken_defocus"] == 0.0
    assert acc["shaken_by_group"]["strong"] == 1.0  # sigma 3 px fields: well over SHAKEN_PX


# -- end to end ----------------------------------------------------------------------------------
def test_end_to_end_onnx_fp32(tiny, tmp_path, capsys):
    out, md = tmp_path / "rows.json", tmp_path / "table.md"
    code = run_cli(["--model", str(tiny.ckpt), "--backends", "onnx-fp32", "--imgsz", "32", "--runs", "3",
                    "--warmup", "1", "--batch", "2", "--throughput-runs", "1", "--repeat", "2", "--valset", str(tiny.valset),
                    "--work", str(tmp_path / "work"), "--json", str(out), "--md", str(md), "--no-progress"])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    rows = json.loads(out.read_text())
    assert len(rows) == 1
    row = rows[0]
    assert row["status"] == RAN, row["reason"]
    assert row["backend"] == "onnx-fp32" and row["input_shape"] == [1, 3, 32, 32]
    assert row["latency_p50_ms"] > 0 and row["latency_p99_ms"] >= row["latency_p50_ms"]
    assert row["throughput_by_batch"].keys() == {"2"}
    assert row["latency_p50_ms"] == min(row["extra"]["p50_repeats_ms"]) and len(row["extra"]["p50_repeats_ms"]) == 2
    assert row["epe_px"] is not None and row["val_n"] == 8
    assert set(row["epe_by_group"]) == {"strong", "mild", "sharp", "defocus"}
    assert row["environment"]["versions"]["onnxruntime"]
    assert "onnx-fp32" in printed.out and "| onnx-fp32 | fp32 | 32x32 |" in md.read_text()

    # The same run with a floor it cannot meet exits 1 and says why (a CI gate).
    code = run_cli(["--model", str(tiny.ckpt), "--onnx", str(tiny.onnx), "--backends", "onnx-fp32", "--imgsz", "32",
                    "--runs", "2", "--warmup", "0", "--batch", "1", "--throughput-runs", "1",
                    "--valset", str(tiny.valset), "--max-epe", "0.001", "--json", "--no-progress"])
    assert code == 1
    printed = capsys.readouterr()
    assert json.loads(printed.out)[0]["status"] == FAILED_ACCURACY  # --json alone: JSON on stdout
    assert "accuracy gate FAILED" in printed.err  # and the table on stderr


def test_a_fixed_size_model_is_timed_and_says_why_accuracy_is_missing(tiny, tmp_path, capsys):
    """A static 48 px export against the 32 px validation set: the row runs, the reason names both sizes."""
    from jitteredge.export import ExportConfig, run_export

    static = tmp_path / "static48.onnx"
    run_export(ExportConfig(model=str(tiny.ckpt), imgsz=(48, 48), out=str(static), progress=False))
    out = tmp_path / "rows.json"
    code = run_cli(["--backends", "onnx-fp32", "--onnx", str(static), "--imgsz", "48", "--runs", "2", "--warmup", "0",
                    "--batch", "1", "--throughput-runs", "1", "--valset", str(tiny.valset), "--json", str(out),
                    "--no-progress"])
    assert code == 0, capsys.readouterr().err
    (row,) = json.loads(out.read_text())
    assert row["status"] == RAN and row["latency_p50_ms"] > 0 and row["epe_px"] is None
    assert "takes 48x48 input" in row["reason"] and "validation set is 32x32" in row["reason"]


def test_the_mobile_artifact_is_made_from_the_checkpoint_like_export_makes_it(tmp_path, monkeypatch):
    """The ort row times what `jitteredge export --format ort --int8 CKPT` ships (no x86 stem padding);
    with an INT8 ONNX given instead, that file is converted."""
    from jitteredge.bench.artifacts import Artifacts

    made = []

    def fake_export(self, source, out, fmt, precision):
        made.append((Path(source).name, fmt, precision))
        out.write_bytes(b"")
        return out

    monkeypatch.setattr(Artifacts, "_export", fake_export)
    ckpt = tmp_path / "m.pt"
    ckpt.write_bytes(b"")
    Artifacts(BenchConfig(), ckpt, tmp_path).get("ort")
    assert made == [("m.pt", "ort", "int8")]
    given = tmp_path / "given.int8.onnx"
    given.write_bytes(b"")
    made.clear()
    (tmp_path / "model.int8.ort").unlink()
    Artifacts(BenchConfig(int8=str(given)), ckpt, tmp_path).get("ort")
    assert made == [("given.int8.onnx", "ort", "int8")]


def test_bad_input_is_one_line_error(tiny, tmp_path, capsys):
    assert run_cli(["--backends", "onnx-fp32", "--onnx", str(tmp_path / "missing.onnx"),
                    "--valset", str(tiny.valset), "--no-progress", "--runs", "1"]) == 2
    assert run_cli(["--imgsz", "huge", "--backends", "onnx-fp32", "--onnx", str(tiny.onnx)]) == 2
    assert run_cli(["--valset", str(tmp_path), "--backends", "onnx-fp32", "--onnx", str(tiny.onnx)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "--imgsz 'huge'" in err and "missing.onnx: no such file" in err


# -- benchmarks/ondevice.py ----------------------------------------------------------------------
def test_ondevice_columns_match_bench():
    assert load_ondevice().COLUMNS == COLUMNS


def test_ondevice_runs_without_torch_and_agrees_with_bench(tiny, tmp_path):
    pytest.importorskip("onnxruntime")
    out = tmp_path / "ondevice.json"
    # A meta-path hook refuses torch and jitteredge in the child process: the harness needs neither.
    argv = [str(ONDEVICE), str(tiny.onnx), "--valset", str(tiny.valset), "--imgsz", "32", "--runs", "3",
            "--warmup", "1", "--batch", "2", "--throughput-runs", "1", "--threads", "1", "--json", str(out)]
    guard = ("import sys, runpy\n"
             "class Block:\n"
             "    def find_spec(self, name, path=None, target=None):\n"
             "        if name.split('.')[0] in ('torch', 'jitteredge'):\n"
             "            raise ImportError('blocked: ' + name)\n"
             "sys.meta_path.insert(0, Block())\n"
             f"sys.argv = {argv!r}\n"
             f"runpy.run_path({str(ONDEVICE)!r}, run_name='__main__')\n")
    res = subprocess.run([sys.executable, "-c", guard], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    header = res.stdout.splitlines()
    assert any(all(title in line for _, title in COLUMNS) for line in header)
    rows = json.loads(out.read_text())
    assert len(rows) == 1 and rows[0]["status"] == RAN and rows[0]["backend"] == "onnx-fp32"

    from jitteredge.runners import open_runner

    with open_runner(tiny.onnx, threads=1) as runner:
        want = bench.accuracy(runner.predict, bench.load_valset(tiny.valset), batch=2)
    assert rows[0]["epe_px"] == pytest.approx(want["epe_px"], abs=1e-4)
    assert rows[0]["epe_by_group"] == pytest.approx(want["epe_by_group"], abs=1e-4)
    assert rows[0]["shaken_by_group"] == want["shaken_by_group"]


class _FakeCuda:
    """Host memory standing in for the CUDA runtime: addresses are ctypes buffers, copies memmove."""

    def __init__(self):
        self.buffers = {}

    def malloc(self, nbytes):
        import ctypes

        buf = ctypes.create_string_buffer(int(nbytes))
        self.buffers[ctypes.addressof(buf)] = buf
        return ctypes.addressof(buf)

    def free(self, ptr):
        self.buffers.pop(ptr, None)

    def stream(self):
        return 1

    def copy_async(self, dst, src, nbytes, kind, stream):
        import ctypes

        ctypes.memmove(dst, src, nbytes)

    def sync(self, stream):
        pass

    def used_mb(self):
        return 0.0


def _fake_tensorrt():
    """Just enough of TensorRT 10's Python API: the engine's output is 0.1 x the first two input channels."""
    import ctypes

    trt = types.ModuleType("tensorrt")
    trt.__version__ = "10.0.0-test"

    class Logger:
        WARNING = 2

        def __init__(self, level):
            pass

    class TensorIOMode:
        INPUT, OUTPUT = "input", "output"

    def view(addr, shape):
        n = int(np.prod(shape))
        return np.frombuffer((ctypes.c_float * n).from_address(addr), dtype=np.float32).reshape(shape)

    class Context:
        def __init__(self):
            self.shape, self.addr = None, {}

        def set_input_shape(self, name, shape):
            self.shape = tuple(shape)
            return True

        def get_tensor_shape(self, name):
            n, _, h, w = self.shape
            return (n, 2, h, w)

        def set_tensor_address(self, name, addr):
            self.addr[name] = addr

        def execute_async_v3(self, stream):
            x = view(self.addr["input"], self.shape)
            view(self.addr["code"], self.get_tensor_shape("code"))[...] = 0.1 * x[:, :2]
            return True

    class Engine:
        num_io_tensors = 2

        def get_tensor_name(self, i):
            return ("input", "code")[i]

        def get_tensor_mode(self, name):
            return TensorIOMode.INPUT if name == "input" else TensorIOMode.OUTPUT

        def get_tensor_shape(self, name):
            return (-1, 3, -1, -1) if name == "input" else (-1, 2, -1, -1)

        def get_tensor_dtype(self, name):
            return "float32"

        def create_execution_context(self):
            return Context()

    class Runtime:
        def __init__(self, logger):
            pass

        def deserialize_cuda_engine(self, data):
            return Engine() if data == b"test engine" else None

    trt.Logger, trt.TensorIOMode, trt.Runtime = Logger, TensorIOMode, Runtime
    trt.init_libnvinfer_plugins = lambda logger, namespace: True
    trt.nptype = lambda dtype: np.float32
    return trt


def test_ondevice_tensorrt_path_with_a_stand_in_engine(tiny, tmp_path, monkeypatch):
    """The TensorRT code path (shapes, buffers, copies, execution, accuracy) on a stand-in API."""
    ondevice = load_ondevice()
    monkeypatch.setitem(sys.modules, "tensorrt", _fake_tensorrt())
    monkeypatch.setattr(ondevice, "CudaRuntime", _FakeCuda)
    engine = tmp_path / "edge.fp16.engine"
    engine.write_bytes(b"test engine")
    (tmp_path / "edge.fp16.engine.json").write_text(json.dumps({"precision": "fp16"}))
    out = tmp_path / "trt.json"
    code = ondevice.main([str(engine), "--valset", str(tiny.valset), "--imgsz", "32", "--runs", "2", "--warmup", "0",
                          "--batch", "1", "2", "--throughput-runs", "1", "--threads", "1", "2", "--json", str(out)])
    assert code == 0
    rows = json.loads(out.read_text())
    assert len(rows) == 1  # threads do not apply to TensorRT
    row = rows[0]
    assert (row["backend"], row["precision"], row["device"], row["status"]) == ("tensorrt", "fp16", "cuda", RAN)
    assert row["input"] == "32x32" and set(row["throughput_by_batch"]) == {"1", "2"}
    want = bench.accuracy(lambda x: 0.1 * x[:, :2], bench.load_valset(tiny.valset), batch=2)
    assert row["epe_px"] == pytest.approx(want["epe_px"], abs=1e-5)

    broken = tmp_path / "other.engine"
    broken.write_bytes(b"built elsewhere")
    ondevice.main([str(broken), "--imgsz", "32", "--runs", "1", "--json", str(out)])
    (row,) = json.loads(out.read_text())
    assert row["status"] == UNAVAILABLE and "cannot deserialize" in row["reason"]


def test_valset_photos_split_over_the_validation_groups():
    assert group_counts(6) == {"strong": 2, "mild": 2, "sharp": 1, "defocus": 1}
    assert group_counts(3) == {"strong": 1, "mild": 1, "sharp": 1, "defocus": 0}


@pytest.mark.slow
def test_export_valset_from_synthesis(tmp_path):
    try:
        import jitteredge.data  # noqa: F401
        import jitteredge.synth.blur  # noqa: F401
    except ImportError as exc:
        pytest.skip(f"synthesis not installed: {exc}")
    code = run_cli(["--export-valset", str(tmp_path / "vs"), "--val-n", "6", "--val-size", "32"])
    assert code == 0
    v = bench.load_valset(tmp_path / "vs")
    assert v.inputs.shape == (6, 3, 32, 32) and v.fields.shape == (6, 32, 32, 2)
    assert v.groups == ["strong", "strong", "mild", "mild", "sharp", "defocus"]  # validation.synthetic's groups
    zero = np.abs(v.fields).reshape(6, -1).max(axis=1) == 0
    assert all(z for z, g in zip(zero, v.groups) if g in ("sharp", "defocus"))
    again = bench.make_valset(6, 32, "procedural", 1234)  # fixed: the same photos every run
    np.testing.assert_array_equal(again.inputs, v.inputs)


def _has_cuda() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


@pytest.mark.gpu
@pytest.mark.skipif(not _has_cuda(), reason="needs a CUDA device")
@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_cuda_graph_model_matches_eager(tiny, precision):
    import torch

    model = bench.TorchDeviceModel(build_fresh(tiny), precision, device="cuda", use_graph=True)
    x = np.random.default_rng(2).standard_normal((2, 3, 64, 64), dtype=np.float32)
    got = model.predict(x)
    again = model.predict(x * 0.5)  # replay with new input: the static buffer must be refilled
    with torch.no_grad():
        ref = build_fresh(tiny).cuda()
        want = ref(torch.from_numpy(x).cuda()).cpu().numpy()
        want_half = ref(torch.from_numpy(x * 0.5).cuda()).cpu().numpy()
    tol = 1e-3 if precision == "fp32" else 5e-2
    np.testing.assert_allclose(got, want, atol=tol)
    np.testing.assert_allclose(again, want_half, atol=tol)
    x_dev = model.to_device(x[:1])
    times = bench.time_cuda(lambda: model.run_device(x_dev), runs=5, warmup=2, torch_module=torch)
    assert times.shape == (5,) and (times > 0).all()


def build_fresh(tiny):
    """A new copy of the tiny network (TorchDeviceModel converts the module it is given in place)."""
    import copy

    return copy.deepcopy(tiny.net).float().cpu().eval()


def test_config_file_then_flags(tmp_path):
    import argparse as ap

    from jitteredge.commands import bench as command

    parser = ap.ArgumentParser()
    command.add_args(parser)
    cfg_file = tmp_path / "bench.json"
    cfg_file.write_text(json.dumps({"runs": 7, "backends": "onnx,int8", "sizes": [256, "720p"], "max_epe": 2.0}))
    cfg = command.build_config(parser.parse_args(["--config", str(cfg_file), "--runs", "9"]))
    assert cfg.runs == 9 and cfg.backends == ("onnx-fp32", "onnx-int8")  # the flag wins over the file
    assert cfg.sizes == ("256", "720p") and cfg.max_epe == 2.0 and cfg.threads == (1,)
    cfg = command.build_config(parser.parse_args(["--scaling"]))
    assert cfg.sizes == bench.SCALING_SIZES and cfg.threads == (1, 2) and cfg.batches == (1, 4, 8)
    cfg_file.write_text(json.dumps({"runz": 7}))
    with pytest.raises(JitterEdgeError, match="unknown bench settings"):
        command.build_config(parser.parse_args(["--config", str(cfg_file)]))
    for bad in ({"max_epe": "small"}, {"threads": [1, "two"]}, {"runs": 2.5}):
        cfg_file.write_text(json.dumps(bad))
        with pytest.raises(JitterEdgeError, match=f"{next(iter(bad))} must be"):
            command.build_config(parser.parse_args(["--config", str(cfg_file)]))


def test_a_row_that_errors_fails_the_run(tmp_path, capsys):
    """A broken model is an error row, and the command exits non-zero (a CI job must not pass on it)."""
    broken = tmp_path / "random.pt"
    broken.write_bytes(np.random.default_rng(0).bytes(256))
    code = run_cli(["--model", str(broken), "--backends", "torch-cpu", "--imgsz", "32", "--runs", "1",
                    "--warmup", "0", "--batch", "1", "--throughput-runs", "1", "--val-n", "4", "--val-size", "32",
                    "--json", "--no-progress"])
    printed = capsys.readouterr()
    assert json.loads(printed.out)[0]["status"] == ERROR
    assert code == 1
    assert "torch-cpu" in printed.err and "error" in printed.err
