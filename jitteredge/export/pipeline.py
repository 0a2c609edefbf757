"""One export run: checkpoint -> checked ONNX -> (INT8 + gate) -> .onnx | .ort | TensorRT engine.

Every artifact is built in a temporary folder and moved into place only once it has passed its
checks, so a failed run (bad checkpoint, INT8 gate, unwritable folder) leaves nothing behind.
"""

from __future__ import annotations

import filecmp
import json
import os
import shlex
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from jitteredge import __version__
from jitteredge.errors import JitterEdgeError
from jitteredge.export import onnx_export, quantize, tensorrt_build
from jitteredge.export.config import ExportConfig, ExportResult, default_float_ladder
from jitteredge.fileio import atomic_path, ensure_writable_dir
from jitteredge.weights import resolve_model

ENGINE_SUFFIXES = (".engine", ".plan")
SOURCE_SUFFIXES = (".pt", ".pth", ".onnx")  # what an export starts from: a checkpoint or a jitteredge ONNX
ENGINE_ONNX_SUFFIX = ".trt.onnx"  # the ONNX an engine is built from (m.int8.trt.onnx beside m.int8.engine)
BUILD_SCRIPT = "build_engine.py"  # tensorrt_build.py as a standalone script, written beside the engine recipe
INT8_ORT_TOLERANCE_PX = 0.25  # .ort (ARM-fused INT8 kernels) vs .onnx (x86 kernels): rounding differs


class EngineNotBuilt(JitterEdgeError):
    """No TensorRT here: the ONNX, build spec and trtexec script for the target were written and stay."""


def run_export(cfg: ExportConfig) -> ExportResult:
    """Export ``cfg.model`` as ``cfg.format``; returns what was written and the measured figures.

    Raises:
        JitterEdgeError: bad input, failed check or gate, unwritable output, or (engine) no TensorRT
            here: then the ONNX, the build spec and the trtexec script for the target are written.
    """
    cfg = cfg.validate()
    started = time.perf_counter()
    source = resolve_model(cfg.model, SOURCE_SUFFIXES)
    out = Path(cfg.out) if cfg.out else cfg.default_out(source.stem.split(".")[0] if source.suffix == ".onnx" else source.stem)
    _check_out(out, cfg)
    report: dict = {"source": str(source)}
    written = _Written()
    try:
        with tempfile.TemporaryDirectory(prefix="jitteredge-export-") as tmp_name:
            tmp = Path(tmp_name)
            if source.suffix.lower() == ".onnx":
                model_path, precision = _from_onnx(source, cfg)
            else:
                model_path, precision = _from_checkpoint(source, cfg, tmp, report)
            report["precision"] = precision
            if cfg.format == "onnx":
                _place(model_path, out, written)
            elif cfg.format == "ort":
                _make_ort(model_path, out, precision, tmp, report, written)
            else:
                _make_engine(model_path, out, cfg, precision, tmp, report, written)
    except EngineNotBuilt:
        raise
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return ExportResult(artifact=out, extra_files=[p for p in written if p != out], precision=precision,
                        seconds=time.perf_counter() - started, report=report, replaced=written.replaced)


class _Written(list):
    """The files a run wrote (removed again if it fails), and which of them replaced an existing file."""

    def __init__(self) -> None:
        super().__init__()
        self.replaced: list[Path] = []

    def before_writing(self, dest: Path) -> None:
        if dest.exists() and dest not in self:
            self.replaced.append(dest)


# -- inputs --------------------------------------------------------------------------------------
def _load_checkpoint(path: Path):
    from jitteredge.checkpoint import load_checkpoint

    return load_checkpoint(path)


def _from_checkpoint(source: Path, cfg: ExportConfig, tmp: Path, report: dict) -> tuple[Path, str]:
    """Checkpoint -> checked FP32 ONNX (-> gated INT8 ONNX) in ``tmp``; returns (file, precision)."""
    net, payload = _load_checkpoint(source)
    extra = {"source": {"checkpoint": source.name, "step": payload.get("step"),
                        "metrics": payload.get("metrics", {})}}
    meta = onnx_export.build_metadata(net.config.to_dict(), "fp32", cfg.imgsz, extra=extra)
    fp32 = tmp / "model.fp32.onnx"
    onnx_export.export_onnx(net, fp32, cfg.imgsz, cfg.opset, meta, cfg.sample_hw(),
                            stem_multiple=cfg.stem_channel_multiple or 0)
    shapes = [cfg.sample_hw()] if cfg.imgsz else [cfg.sample_hw(), (48, 80)]
    diff = onnx_export.compare_with_torch(net, fp32, shapes)
    report["onnx_vs_torch_max_px"] = diff
    report["checked_shapes"] = [list(s) for s in shapes]
    if not diff <= cfg.tolerance_px:
        raise JitterEdgeError(f"{source}: the ONNX field differs from PyTorch by {diff:.2e} px "
                              f"(tolerance {cfg.tolerance_px:g} px); not writing it")
    if cfg.precision != "int8":
        return fp32, cfg.precision
    return _quantize_with_gate(fp32, cfg, meta, tmp, report), "int8"


def _from_onnx(source: Path, cfg: ExportConfig) -> tuple[Path, str]:
    """A jitteredge ONNX as the source of an .ort or an engine; returns (file, precision)."""
    if cfg.format == "onnx":
        raise JitterEdgeError(f"{source}: already ONNX; export from the .pt checkpoint, or pick --format ort / engine")
    meta = onnx_export.read_metadata(source)
    have = str(meta.get("precision", "fp32"))
    if cfg.imgsz is not None:
        raise JitterEdgeError(f"{source}: --imgsz does not apply to an ONNX input (its input size is fixed in the file)")
    if cfg.precision == "int8" and have != "int8":
        raise JitterEdgeError(f"{source}: is {have}; quantize from the checkpoint ('jitteredge export CKPT --int8')")
    if cfg.precision == "fp16" and have != "fp32":
        raise JitterEdgeError(f"{source}: is {have}; --fp16 needs an FP32 ONNX")
    activations = (meta.get("quantization") or {}).get("activations", "")
    if cfg.format == "engine" and activations.startswith("uint8"):
        raise JitterEdgeError(f"{source}: has uint8 (asymmetric) activations, which TensorRT refuses; "
                              "export the engine from the checkpoint with --int8")
    precision = cfg.precision if cfg.precision != "fp32" else have
    return source, precision


def _check_out(out: Path, cfg: ExportConfig) -> None:
    allowed = ENGINE_SUFFIXES if cfg.format == "engine" else (cfg.suffix,)
    if out.suffix.lower() not in allowed:
        raise JitterEdgeError(f"{out}: --format {cfg.format} writes {' or '.join(allowed)} files")
    if out.is_dir():
        raise JitterEdgeError(f"{out}: is a folder; give a file name")
    ensure_writable_dir(out.parent)


# -- INT8 ----------------------------------------------------------------------------------------
def _quantize_with_gate(fp32: Path, cfg: ExportConfig, meta: dict, tmp: Path, report: dict) -> Path:
    import onnx

    hw = cfg.sample_hw()
    pre = tmp / "model.pre.onnx"
    quantize.preprocess_for_quantization(fp32, pre)
    inputs = quantize.calibration_inputs(cfg.calib_dir, cfg.calib_samples, hw, cfg.calib_seed)
    gate_set = quantize.synthetic_set(cfg.gate_samples, hw, cfg.gate_seed)
    epe_fp32 = quantize.mean_epe(fp32, gate_set)
    pre_model = onnx.load(str(pre), load_external_data=False)
    attempts = []
    ladder = cfg.float_layers_ladder or default_float_ladder(meta.get("model_config", {}))
    for k, roles in enumerate(ladder):
        float_layers = quantize.resolve_float_layers(pre_model, roles)
        candidate = tmp / f"model.int8.{k}.onnx"
        info = quantize.quantize_int8(pre, candidate, inputs, float_layers, cfg.calib_method, cfg.activation_type,
                                      meta, progress=cfg.progress and k == 0)
        epe_int8 = quantize.mean_epe(candidate, gate_set)
        loss = quantize.relative_loss(epe_fp32, epe_int8)
        attempts.append({"float_layers": list(roles), "epe_int8_px": epe_int8, "relative_loss": loss})
        if loss <= cfg.max_epe_loss:
            report.update({"float_layer_roles": list(roles),
                           "epe_fp32_px": epe_fp32, "epe_int8_px": epe_int8, "relative_epe_loss": loss,
                           "gate_samples": len(gate_set), "quantization": info, "int8_attempts": attempts,
                           "ort_kernels": quantize.fused_kernels(candidate, tmp)})
            return candidate
    best = min(attempts, key=lambda a: a["relative_loss"])
    report.update({"epe_fp32_px": epe_fp32, "int8_attempts": attempts})
    raise JitterEdgeError(
        f"INT8 accuracy gate failed: best relative EPE loss {best['relative_loss']:+.1%} "
        f"(FP32 {epe_fp32:.3f} px, INT8 {best['epe_int8_px']:.3f} px, float layers {'+'.join(best['float_layers'])}) "
        f"exceeds {cfg.max_epe_loss:.1%}; nothing written (try --calib-method entropy|percentile, more --calib-samples, "
        f"or --max-epe-loss)")


# -- formats -------------------------------------------------------------------------------------
def _place(src: Path, dest: Path, written: "_Written") -> None:
    """Copy ``src`` onto ``dest`` atomically and record it."""
    if src.resolve() == dest.resolve():
        return
    if not (dest.is_file() and filecmp.cmp(src, dest, shallow=False)):  # the same bytes again: nothing replaced
        written.before_writing(dest)
    with atomic_path(dest) as tmp:
        shutil.copyfile(src, tmp)
    written.append(dest)


def _write_text(dest: Path, text: str, written: "_Written", mode: int | None = None) -> None:
    written.before_writing(dest)
    with atomic_path(dest) as tmp:
        tmp.write_text(text)
        if mode is not None:
            os.chmod(tmp, mode)
    written.append(dest)


def _make_ort(model_path: Path, out: Path, precision: str, tmp: Path, report: dict, written: "_Written") -> None:
    from jitteredge.export import ort_mobile

    ort_file, config = ort_mobile.convert_to_ort(model_path, tmp / "ort-work", precision)
    diff = _compare_sessions(model_path, ort_file, report.get("checked_shapes", [[64, 64]]))
    report["ort_vs_onnx_max_px"] = diff
    limit = INT8_ORT_TOLERANCE_PX if precision == "int8" else 1e-3
    if not diff <= limit:
        raise JitterEdgeError(f"{out}: the .ort model differs from the ONNX by {diff:.3g} px (limit {limit:g}); not writing it")
    report["required_operators"] = ort_mobile.required_operators(config)
    _place(ort_file, out, written)
    _write_text(ort_mobile.operator_config_path(out), ort_mobile.config_text(config, out.name), written)


def _compare_sessions(a: Path, b: Path, shapes) -> float:
    """Max field difference (px) between two ONNX Runtime models on the same random inputs."""
    sa, sb = onnx_export.ort_session(a), onnx_export.ort_session(b)
    fixed = sa.get_inputs()[0].shape[2:]
    if all(isinstance(d, int) for d in fixed):
        shapes = [fixed]
    rng = np.random.default_rng(7)
    worst = 0.0
    for h, w in shapes:
        x = rng.standard_normal((1, 3, int(h), int(w))).astype(np.float32)
        (ya,) = sa.run(None, {onnx_export.INPUT_NAME: x})
        (yb,) = sb.run(None, {onnx_export.INPUT_NAME: x})
        worst = max(worst, onnx_export.field_max_diff_px(ya, yb))
    return worst


def _make_engine(model_path: Path, out: Path, cfg: ExportConfig, precision: str, tmp: Path,
                 report: dict, written: "_Written") -> None:
    """Write the ONNX the engine needs, its build spec and a trtexec script; build where tensorrt imports."""
    import onnx

    stem = out.with_suffix("")
    # The engine's ONNX say what the graph holds and that they are TensorRT's: m.trt.onnx (FP32),
    # m.int8.trt.onnx (symmetric Q/DQ), m.fp16.trt.onnx (FP16). Never m.int8.onnx: that name belongs
    # to `export --int8`, the uint8-activation file for ONNX Runtime, which TensorRT refuses.
    base = stem.name.removesuffix(f".{precision}")
    onnx_out = stem.with_name(base + (".int8" if precision == "int8" else "") + ENGINE_ONNX_SUFFIX)
    spec_out = stem.with_name(stem.name + ".build.json")
    script_out = stem.with_name(stem.name + ".trtexec.sh")
    _place(model_path, onnx_out, written)
    model = onnx.load(str(model_path), load_external_data=False)
    meta = onnx_export.read_metadata(model_path, model)
    spec = {
        "onnx": onnx_out.name,
        "engine": out.name,
        "precision": precision,
        "typing": cfg.trt_typing,
        "input": onnx_export.INPUT_NAME,
        "shapes": _profile(model, cfg),
        "workspace_mib": cfg.trt_workspace_mib,
        # Shared between builds: beside the engine, or where the config says (kept absolute then).
        "timing_cache": str(Path(cfg.timing_cache).resolve()) if cfg.timing_cache else stem.name + ".timing.cache",
        "metadata": meta,
    }
    if precision == "fp16":
        fp16_out = stem.with_name(base + ".fp16" + ENGINE_ONNX_SUFFIX)
        half = onnx_export.convert_to_fp16(model)
        fp16_meta = dict(meta, precision="fp16")
        onnx_export.embed_metadata(half, fp16_meta)
        half_path = tmp / "model.fp16.onnx"
        onnx.save(half, str(half_path))
        _place(half_path, fp16_out, written)
        spec["onnx_fp16"] = fp16_out.name
    _write_text(spec_out, json.dumps(spec, indent=2, sort_keys=True) + "\n", written)
    _write_text(script_out, trtexec_script(spec, spec_out.name), written, mode=0o755)
    # The standalone builder beside the spec, so that the refusal below names a file that is there.
    _place(Path(tensorrt_build.__file__), out.parent / BUILD_SCRIPT, written)
    report["trtexec"] = " ".join(shlex.quote(a) for a in tensorrt_build.trtexec_args(spec, 10)[1])
    try:
        import tensorrt  # noqa: F401
    except ImportError:
        replaced = f" (replacing the earlier {', '.join(p.name for p in written.replaced)})" if written.replaced else ""
        raise EngineNotBuilt(
            f"{out}: not built: the tensorrt Python package does not import here (never installed by jitteredge); "
            f"wrote {', '.join(p.name for p in written)} in {out.parent}{replaced}: copy them to the target and run "
            f"'bash {script_out.name}' (trtexec) or 'python3 {BUILD_SCRIPT} {spec_out.name}'") from None
    try:
        engine = tensorrt_build.build_engine(spec, out.parent, log=lambda m: None)
    except tensorrt_build.BuildError as exc:
        raise JitterEdgeError(f"{out}: {exc}") from None
    written += [engine, tensorrt_build.engine_json_path(engine)]


def _profile(model, cfg: ExportConfig) -> dict:
    """Optimisation profile shapes (N, 3, H, W) for TensorRT: fixed size, or the configured range."""
    dims = model.graph.input[0].type.tensor_type.shape.dim
    fixed = [d.dim_value if d.HasField("dim_value") else None for d in dims]
    if fixed[2] and fixed[3]:
        lo = hi = opt = (fixed[2], fixed[3])
    else:
        lo, opt, hi = cfg.trt_min_hw, cfg.trt_opt_hw, cfg.trt_max_hw
    return {"min": [1, 3, *lo], "opt": [1, 3, *opt], "max": [cfg.trt_max_batch, 3, *hi]}


# Find trtexec and python3 before anything runs them: under `set -euo pipefail` a missing trtexec in
# the version probe's pipeline would end the script with status 127 and no word. The same lines are
# in export/build_engine_on_jetson.sh (a test keeps them equal).
TRTEXEC_PROBE = """TRTEXEC="${TRTEXEC:-$(command -v trtexec || echo /usr/src/tensorrt/bin/trtexec)}"
if ! command -v "$TRTEXEC" >/dev/null 2>&1; then
  echo "$0: trtexec not found at $TRTEXEC: install TensorRT (JetPack puts trtexec in /usr/src/tensorrt/bin), or set TRTEXEC=/path/to/trtexec" >&2
  exit 127
fi
if ! command -v python3 >/dev/null 2>&1; then echo "$0: python3 not found (needed to write the engine's JSON)" >&2; exit 127; fi"""


def trtexec_script(spec: dict, spec_name: str) -> str:
    """A bash script that builds ``spec['engine']`` with trtexec on the target and writes its JSON."""
    def command(major: int) -> str:
        try:
            typing, args = tensorrt_build.trtexec_args(spec, major)
        except tensorrt_build.BuildError as exc:
            return f"echo {shlex.quote(str(exc))} >&2; exit 1"
        return f'typing={typing}; "$TRTEXEC" ' + " ".join(shlex.quote(a) for a in args[1:])

    engine = spec["engine"]
    return f"""#!/usr/bin/env bash
# Build {engine} from {spec['onnx']} with trtexec, on the target
# (Jetson with JetPack 6: TensorRT 10.3; TensorRT 11 too), then write {engine}.json (its metadata).
# Written by jitteredge {__version__}. Alternative: python3 build_engine.py {spec_name}
set -euo pipefail
cd "$(dirname "$0")"
{TRTEXEC_PROBE}
version="$("$TRTEXEC" --help 2>&1 | sed -n 's/.*TensorRT v\\([0-9][0-9]*\\).*/\\1/p' | head -n 1 || true)"
if [ -z "$version" ]; then echo "$0: $TRTEXEC runs but prints no TensorRT version (set TRTEXEC=/path/to/trtexec)" >&2; exit 1; fi
if [ "${{#version}}" -ge 6 ]; then major=$((version / 10000)); else major=$((version / 1000)); fi
if [ "$major" -ge 11 ]; then
  {command(11)}
elif [ "$major" -ge 10 ]; then
  {command(10)}
else
  {command(8)}
fi
python3 - "{spec_name}" "$version" "$typing" <<'PY'
import json, os, sys, time
spec = json.load(open(sys.argv[1]))
meta = dict(spec["metadata"], precision=spec["precision"])
meta["tensorrt"] = {{"version_code": sys.argv[2], "typing": sys.argv[3], "shapes": spec.get("shapes"),
                    "builder": "trtexec", "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}}
tmp = spec["engine"] + ".json.tmp"
with open(tmp, "w") as f:
    json.dump(meta, f, indent=2, sort_keys=True)
os.replace(tmp, spec["engine"] + ".json")
print("wrote", spec["engine"], "and", spec["engine"] + ".json")
PY
"""
