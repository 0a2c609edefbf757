"""The files a backend runs from (FP32 and INT8 ONNX, .ort, TensorRT engine): given by the user or
exported on first request through jitteredge.export, cached per checkpoint and exporter version."""

from __future__ import annotations

import sys
from pathlib import Path

from jitteredge.bench.reasons import first_line, import_reason
from jitteredge.bench.rows import BenchConfig
from jitteredge.errors import JitterEdgeError


class Artifacts:
    """Exported files, made on first request through jitteredge.export and cached in ``work``.

    ``get(kind)`` returns a Path or raises _Unavailable/JitterEdgeError with the reason.
    """

    def __init__(self, cfg: BenchConfig, model_path: Path | None, work: Path):
        self.cfg = cfg
        self.model_path = model_path
        self.work = work
        self.cache: dict[str, Path | BaseException] = {}

    def get(self, kind: str) -> Path:
        if kind not in self.cache:
            try:
                self.cache[kind] = self._make(kind)
            except (_Unavailable, JitterEdgeError) as exc:
                self.cache[kind] = exc
            except Exception as exc:  # an exporter failure becomes this row's reason, not a crash
                self.cache[kind] = JitterEdgeError(f"{kind} export failed: {type(exc).__name__}: {first_line(exc)}")
        value = self.cache[kind]
        if isinstance(value, BaseException):
            raise value
        return value

    def _given(self, kind: str) -> Path | None:
        given = {"onnx": self.cfg.onnx, "int8": self.cfg.int8, "ort": self.cfg.ort, "engine": self.cfg.engine}[kind]
        if given is None and kind == "onnx" and self.model_path is not None \
                and self.model_path.suffix.lower() == ".onnx":
            given = str(self.model_path)
        if given is None:
            return None
        p = Path(given)
        if not p.is_file():
            raise JitterEdgeError(f"{p}: no such file")
        return p

    def _export(self, source: Path, out: Path, fmt: str, precision: str) -> Path:
        """One jitteredge.export.run_export call, skipped when ``out`` is already in the cache."""
        if out.exists():
            return out
        try:
            from jitteredge.export import ExportConfig, run_export
        except ImportError as exc:
            raise _Unavailable(f"export library not available ({first_line(exc)})") from None
        if self.cfg.progress:
            print(f"bench: exporting {precision} {fmt} -> {out}", file=sys.stderr)
        result = run_export(ExportConfig(model=str(source), format=fmt, precision=precision, out=str(out),
                                         progress=False))
        return Path(result.artifact)

    def _make(self, kind: str) -> Path:
        given = self._given(kind)
        if given is not None:
            return given
        if kind == "onnx":
            if self.model_path is None or self.model_path.suffix.lower() not in (".pt", ".pth"):
                raise _Unavailable("needs a .pt checkpoint or --onnx FILE")
            return self._export(self.model_path, self.work / "model.onnx", "onnx", "fp32")
        if kind == "int8":
            # INT8 is quantized from the checkpoint: the export calibrates and gates it against FP32.
            if self.model_path is None or self.model_path.suffix.lower() not in (".pt", ".pth"):
                raise _Unavailable("needs a .pt checkpoint or --int8 FILE")
            return self._export(self.model_path, self.work / "model.int8.onnx", "onnx", "int8")
        if kind == "ort":
            # The mobile artifact: the INT8 model in ORT format, made as `jitteredge export --format ort
            # --int8` makes it from a checkpoint (no x86-only stem padding), else from the INT8 ONNX given.
            if self.cfg.int8 is None and self.model_path is not None and self.model_path.suffix.lower() in (".pt", ".pth"):
                return self._export(self.model_path, self.work / "model.int8.ort", "ort", "int8")
            return self._export(self.get("int8"), self.work / "model.int8.ort", "ort", "int8")
        if kind == "engine":
            reason = import_reason("tensorrt")
            if reason:
                raise _Unavailable(reason)
            return self._export(self.get("onnx"), self.work / "model.fp16.engine", "engine", "fp16")
        raise ValueError(kind)


class _Unavailable(Exception):
    """A backend that cannot run here; the message is the row's reason."""


def model_cache_dir(base: Path, model_path: Path | None) -> Path:
    """A subfolder per checkpoint version and exporter version, so a cached export never outlives
    either: the key holds the checkpoint's size and mtime and a hash of the export code's files."""
    import hashlib

    from jitteredge import __version__

    exporter = hashlib.sha1(__version__.encode())
    try:
        import jitteredge.export as export_package

        for f in sorted(Path(export_package.__file__).parent.glob("*.py")):
            st = f.stat()
            exporter.update(f"{f.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    except ImportError:  # no exporter: only given artifacts are used
        pass
    tag = exporter.hexdigest()[:8]
    if model_path is None:
        return base / f"given-{tag}"
    st = model_path.stat()
    return base / f"{model_path.stem}-{st.st_size}-{int(st.st_mtime)}-{tag}"
