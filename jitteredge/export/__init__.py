"""Export: a checkpoint to ONNX (FP32 or INT8 Q/DQ), ONNX Runtime Mobile (.ort) and TensorRT engines.

The exporter lives here, in the package; the top-level ``export/`` folder of the repository holds the
deployment recipes and the scripts that run on the target (trtexec, build_engine.py), which need
nothing but TensorRT there.

    from jitteredge.export import ExportConfig, run_export
    result = run_export(ExportConfig(model="default", format="onnx", precision="int8"))

Modules: config (ExportConfig, formats and flags), onnx_export (PyTorch -> checked ONNX + metadata),
quantize (INT8 static quantization + accuracy gate), ort_mobile (.ort + operator config),
tensorrt_build (engine builder, standalone), pipeline (one run, atomic outputs).
"""

from jitteredge.export.config import ALIASES, FORMATS, ExportConfig, ExportResult
from jitteredge.export.pipeline import run_export

__all__ = ["ALIASES", "FORMATS", "ExportConfig", "ExportResult", "run_export"]
