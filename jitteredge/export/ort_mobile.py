"""ONNX -> ONNX Runtime Mobile: the ORT format model (.ort) and its reduced-operator config.

Conversion uses ONNX Runtime's own tool (onnxruntime.tools.convert_onnx_models_to_ort, the API behind
``python -m onnxruntime.tools.convert_onnx_models_to_ort``) with the "fixed" optimisation style: the
graph optimisations, Q/DQ fusion into QLinearConv included, are applied once at conversion so the
phone loads a ready graph. INT8 models are converted for ARM (``target_platform="arm"``: signed INT8
activations stay INT8, as ARM's kernels want; on x86 they would become UINT8). The
``required_operators.config`` beside the model lists the operators a custom minimal ONNX Runtime
build must keep (tools/ci_build/build.py --include_ops_by_config).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import shutil
from pathlib import Path

from jitteredge.errors import JitterEdgeError, first_line

CONFIG_SUFFIX = ".required_operators.config"  # model.ort -> model.required_operators.config


def operator_config_path(ort_path: str | os.PathLike) -> Path:
    return Path(ort_path).with_suffix(CONFIG_SUFFIX)


@contextlib.contextmanager
def _quiet_tool_loggers():
    """ONNX Runtime's tools log at DEBUG level through the root handler ("ort_format_model.utils [INFO] -
    Created config in /tmp/..."): only their warnings and errors get through while we convert."""
    loggers = [logging.getLogger(name) for name in list(logging.root.manager.loggerDict)
               if name.split(".")[0] in _TOOL_LOGGERS]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


_TOOL_LOGGERS = ("ort_format_model", "convert_onnx_models_to_ort")


def convert_to_ort(onnx_path: str | os.PathLike, work_dir: str | os.PathLike, precision: str) -> tuple[Path, Path]:
    """Convert ``onnx_path`` into ``work_dir``.

    Returns:
        (the .ort file, the required-operators config), both inside ``work_dir``.
    """
    from onnxruntime.tools.convert_onnx_models_to_ort import OptimizationStyle, convert_onnx_models_to_ort

    src = Path(onnx_path)
    work = Path(work_dir)
    staged = work / "model.onnx"  # its own folder: the tool converts every model it finds there
    staged.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, staged)
    out_dir = work / "ort"
    try:
        with contextlib.redirect_stdout(io.StringIO()), _quiet_tool_loggers():
            convert_onnx_models_to_ort(staged, output_dir=out_dir, optimization_styles=[OptimizationStyle.Fixed],
                                       target_platform="arm" if precision == "int8" else None)
    except Exception as exc:  # the tool raises RuntimeError/Fail from ONNX Runtime
        first = first_line(exc)
        raise JitterEdgeError(f"{src}: ONNX Runtime cannot convert it to ORT format ({first[:160]})") from None
    ort_files = sorted(out_dir.glob("*.ort"))
    configs = sorted(out_dir.glob("*.config"))
    if len(ort_files) != 1 or len(configs) != 1:
        raise JitterEdgeError(f"{src}: ORT conversion produced {len(ort_files)} models and {len(configs)} configs")
    return ort_files[0], configs[0]


def required_operators(config_path: str | os.PathLike) -> list[str]:
    """'domain;opset;Op1,Op2' lines of a required-operators config -> ['ai.onnx:17:Conv', ...]."""
    ops = []
    for line in Path(config_path).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        domain, opset, names = line.split(";", 2)
        ops += [f"{domain}:{opset}:{name}" for name in names.split(",") if name]
    return ops


def config_text(config_path: str | os.PathLike, model_name: str) -> str:
    """The config with its "generated from" comment naming the final model instead of the work folder."""
    lines = []
    for line in Path(config_path).read_text().splitlines():
        if line.startswith("# - "):
            line = f"# - {model_name}"
        lines.append(line)
    return "\n".join(lines) + "\n"
