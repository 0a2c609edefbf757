"""trtexec output (8.x and 10.x) as a table row: latency summary, throughput, TensorRT version,
GPU, precision and input shape, for engines measured on another machine."""

from __future__ import annotations

import os
import re
from pathlib import Path

from jitteredge.bench.rows import RAN, BenchRow
from jitteredge.errors import JitterEdgeError


_STAT_RE = {
    "min": r"min\s*=\s*([\d.eE+-]+)\s*ms", "max": r"max\s*=\s*([\d.eE+-]+)\s*ms",
    "mean": r"mean\s*=\s*([\d.eE+-]+)\s*ms", "median": r"median\s*=\s*([\d.eE+-]+)\s*ms",
    "p90": r"percentile\(90%\)\s*=\s*([\d.eE+-]+)\s*ms", "p95": r"percentile\(95%\)\s*=\s*([\d.eE+-]+)\s*ms",
    "p99": r"percentile\(99%\)\s*=\s*([\d.eE+-]+)\s*ms",
}


def _parse_stat_line(line: str) -> dict[str, float]:
    out = {}
    for key, pattern in _STAT_RE.items():
        m = re.search(pattern, line)
        if m:
            out[key] = float(m.group(1))
    return out


def _trt_version(code: str) -> str:
    """trtexec's banner code -> dotted version: 8502 -> 8.5.2, 8601 -> 8.6.1, 100300 -> 10.3.0."""
    n = int(code)
    if n >= 100000:
        return f"{n // 10000}.{n // 100 % 100}.{n % 100}"
    return f"{n // 1000}.{n // 100 % 10}.{n % 100}"


def parse_trtexec_log(text: str) -> dict:
    """Pull the performance summary and build facts out of trtexec 8.x / 10.x output.

    Returns:
        dict with latency (min/max/mean/median/p90/p95/p99 ms: host latency = H2D + compute + D2H),
        gpu_compute (same keys, or {}), throughput_qps, tensorrt_version, device, precision,
        input_shape (list or None), command (str or None).

    Raises:
        ValueError: no "Latency: min = ... ms" summary line.
    """
    latency: dict[str, float] = {}
    gpu: dict[str, float] = {}
    qps = None
    version = device = command = None
    shape: list[int] | None = None
    precision_line = None
    for raw in text.splitlines():
        line = re.sub(r"^\[[^\]]*\]\s*(\[[A-Z]\]\s*)?", "", raw.strip())  # drop "[date] [I] "
        m = re.search(r"\[TensorRT v(\d+)\]", raw)
        if m:
            version = version or _trt_version(m.group(1))
        if "RUNNING TensorRT.trtexec" in raw and "#" in raw:
            command = raw.split("#", 1)[1].strip()
        m = re.match(r"TensorRT version:\s*([\d.]+)", line)
        if m:
            version = m.group(1)
        m = re.match(r"Selected Device:\s*(.+)$", line)  # "Device: 0" (System Options) is an index
        if m:
            device = m.group(1).strip()
        m = re.match(r"Precision:\s*(.+)$", line)
        if m:
            precision_line = m.group(1).strip()
        if line.startswith("Throughput:"):
            m = re.search(r"([\d.eE+-]+)\s*qps", line)
            if m:
                qps = float(m.group(1))
        elif line.startswith("Latency:") and "min" in line:
            latency = _parse_stat_line(line)
        elif line.startswith("GPU Compute Time:") and "min" in line:
            gpu = _parse_stat_line(line)
        if shape is None:
            m = re.search(r"dimensions\s+(\d+(?:x\d+){3})\b", line) or \
                re.search(r"Input build shape.*?=\s*(\d+(?:x\d+){3})", line)
            if m:
                shape = [int(v) for v in m.group(1).split("x")]
    if command:
        m = re.search(r"--shapes=[^\s:]+:(\d+(?:x\d+){3})", command)
        if m:
            shape = [int(v) for v in m.group(1).split("x")]
    if not latency or "median" not in latency:
        raise ValueError("no 'Latency: min = ..., median = ... ms' performance summary")
    return {"latency": latency, "gpu_compute": gpu, "throughput_qps": qps, "tensorrt_version": version,
            "device": device, "precision": _trt_precision(command, precision_line), "input_shape": shape,
            "command": command}


def _trt_precision(command: str | None, precision_line: str | None) -> str:
    flags = set(re.findall(r"--(fp16|int8|best|bf16|fp8|noTF32|stronglyTyped)\b", command or ""))
    if "best" in flags:
        return "best"
    chosen = [p for p in ("int8", "fp8", "fp16", "bf16") if p in flags]
    if chosen:
        return "+".join(chosen)
    if precision_line:  # "FP32+FP16" -> fp16, "FP32+INT8" -> int8, "FP32" -> fp32
        parts = [p.lower() for p in precision_line.replace(" ", "").split("+")]
        extra = [p for p in parts if p != "fp32"]
        return "+".join(extra) if extra else "fp32"
    return "fp32"


def row_from_trtexec_log(path: str | os.PathLike) -> BenchRow:
    """A table row from a user's trtexec output (``trtexec ... 2>&1 | tee log.txt``)."""
    p = Path(path)
    try:
        text = p.read_text(errors="replace")
    except FileNotFoundError:
        raise JitterEdgeError(f"{p}: no such file") from None
    except OSError as exc:
        raise JitterEdgeError(f"{p}: cannot read ({exc.strerror})") from None
    try:
        info = parse_trtexec_log(text)
    except ValueError as exc:
        raise JitterEdgeError(f"{p}: not trtexec output: {exc}") from None
    lat, gpu = info["latency"], info["gpu_compute"]
    shape = info["input_shape"]
    batch = shape[0] if shape else 1
    row = BenchRow(backend="tensorrt", precision=info["precision"], device="cuda", status=RAN, source="trtexec-log",
                   artifact=str(p), input=f"{shape[3]}x{shape[2]}" if shape else None,
                   input_shape=shape, batch=batch,
                   latency_p50_ms=lat.get("median"), latency_p90_ms=lat.get("p90"), latency_p99_ms=lat.get("p99"),
                   latency_mean_ms=lat.get("mean"), latency_min_ms=lat.get("min"),
                   throughput_ips=round(info["throughput_qps"] * batch, 3) if info["throughput_qps"] else None,
                   timing="trtexec host latency (H2D + GPU compute + D2H)",
                   reason=f"from trtexec log {p.name} ({batch} image{'s' if batch > 1 else ''} per query); "
                          "accuracy not measured",
                   extra={"gpu_compute_ms": gpu, "latency_p95_ms": lat.get("p95"), "command": info["command"],
                          "throughput_qps": info["throughput_qps"]},
                   environment={"gpu": info["device"], "versions": {"tensorrt": info["tensorrt_version"]},
                                "source": f"trtexec log {p.name}"})
    if shape:
        row.throughput_by_batch = {str(batch): row.throughput_ips} if row.throughput_ips else {}
    return row
