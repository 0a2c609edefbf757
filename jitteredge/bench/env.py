"""What a benchmark ran on: CPU, GPU, OS or L4T/JetPack, library versions, power mode and clocks.

Every benchmark result carries this record, because a latency means nothing without the machine,
the power mode and the clocks it was measured under. Everything is read from /proc, /sys, /etc and
package metadata; nothing here imports torch, onnxruntime or tensorrt unless the caller allows it,
so capturing the environment never changes what is being measured.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import shutil
import subprocess
from pathlib import Path

# Libraries whose versions decide the figures; metadata names first, then the import name.
VERSIONED = (("torch", "torch"), ("onnxruntime", "onnxruntime"), ("onnx", "onnx"),
             ("tensorrt", "tensorrt"), ("numpy", "numpy"))


def read_text(path: str | os.PathLike, limit: int = 4096) -> str | None:
    """First ``limit`` characters of a small system file, or None when it is absent or unreadable."""
    try:
        with open(path, "r", errors="replace") as f:
            return f.read(limit).replace("\x00", "").strip()
    except OSError:
        return None


def cpu_model() -> str:
    """CPU name from /proc/cpuinfo ("model name" on x86, "Hardware"/"Model" or the device tree on ARM)."""
    info = read_text("/proc/cpuinfo", 1 << 16) or ""
    for key in ("model name", "Hardware", "Model", "cpu model"):
        for line in info.splitlines():
            if line.split(":")[0].strip() == key and ":" in line:
                value = line.split(":", 1)[1].strip()
                if value:
                    return value
    return read_text("/proc/device-tree/model") or platform.processor() or platform.machine() or "unknown"


def library_versions(import_missing: bool = False) -> dict[str, str | None]:
    """Installed versions of the libraries in VERSIONED (None when absent).

    JetPack installs TensorRT's Python bindings from a Debian package that may carry no pip metadata;
    with ``import_missing`` such a library is imported to read its ``__version__``.
    """
    out: dict[str, str | None] = {}
    for dist, module in VERSIONED:
        try:
            out[dist] = importlib.metadata.version(dist)
            continue
        except importlib.metadata.PackageNotFoundError:
            out[dist] = None
        if dist == "tensorrt":  # NVIDIA's wheels are also published as tensorrt-cu12 etc.
            for alt in ("tensorrt-cu12", "tensorrt-cu11", "tensorrt_cu12", "tensorrt-libs"):
                try:
                    out[dist] = importlib.metadata.version(alt)
                    break
                except importlib.metadata.PackageNotFoundError:
                    pass
        if out[dist] is None and import_missing:
            try:
                out[dist] = str(getattr(__import__(module), "__version__", "unknown"))
            except Exception:  # any import failure means: not usable here
                out[dist] = None
    return out


def run_quiet(cmd: list[str], timeout_s: float = 5.0) -> str | None:
    """stdout of a small system tool (nvpmodel, nvidia-smi), or None when absent or failing."""
    if shutil.which(cmd[0]) is None:
        return None
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    text = res.stdout.strip()
    return text if res.returncode == 0 and text else None


def gpu_name(torch_module=None) -> str | None:
    """Name of CUDA device 0: through an already imported torch, else nvidia-smi, else the Tegra SoC."""
    if torch_module is not None:
        try:
            if torch_module.cuda.is_available():
                return str(torch_module.cuda.get_device_name(0))
        except Exception:  # a broken CUDA install must not stop the benchmark
            pass
    smi = run_quiet(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"])
    if smi:
        return smi.splitlines()[0].strip()
    if Path("/etc/nv_tegra_release").exists():
        return read_text("/proc/device-tree/model")  # e.g. "NVIDIA Jetson AGX Orin Developer Kit"
    return None


def clocks() -> dict[str, str]:
    """CPU governor and frequencies (kHz), GPU/EMC devfreq (Hz) where sysfs exposes them."""
    out: dict[str, str] = {}
    cpufreq = Path("/sys/devices/system/cpu/cpu0/cpufreq")
    for name in ("scaling_governor", "scaling_cur_freq", "scaling_max_freq", "cpuinfo_max_freq"):
        value = read_text(cpufreq / name)
        if value:
            out[f"cpu0_{name}"] = value
    devfreq = Path("/sys/class/devfreq")
    if devfreq.is_dir():  # Jetson: 17000000.ga10b (GPU) etc.
        for dev in sorted(devfreq.iterdir()):
            for name in ("cur_freq", "max_freq", "governor"):
                value = read_text(dev / name)
                if value:
                    out[f"{dev.name}_{name}"] = value
    return out


def capture_environment(torch_module=None, import_missing: bool = False) -> dict:
    """One JSON-ready record of the machine a benchmark ran on.

    Args:
        torch_module: torch, when the caller has already imported it (to name the CUDA device).
        import_missing: import libraries without pip metadata to read their versions.

    Returns:
        dict with cpu, cpu_count, gpu, os, kernel, machine, python, l4t (/etc/nv_tegra_release),
        jetson_model, power_mode (``nvpmodel -q``), clocks and versions.
    """
    tegra = read_text("/etc/nv_tegra_release")
    return {
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "gpu": gpu_name(torch_module),
        "os": platform.platform(),
        "kernel": platform.release(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "l4t": tegra.splitlines()[0] if tegra else None,
        "jetson_model": read_text("/proc/device-tree/model") if tegra else None,
        "power_mode": run_quiet(["nvpmodel", "-q"]),
        "clocks": clocks(),
        "versions": library_versions(import_missing),
    }


def describe(env: dict) -> list[str]:
    """Short human lines for the terminal and Markdown headers."""
    v = env.get("versions", {})
    lines = [f"device: {env.get('cpu')} ({env.get('cpu_affinity') or env.get('cpu_count')} cores usable)"
             + (f", GPU {env['gpu']}" if env.get("gpu") else ", no GPU")]
    lines.append(f"os: {env.get('os')}" + (f", L4T: {env['l4t']}" if env.get("l4t") else ""))
    lines.append("versions: " + ", ".join(f"{k} {v.get(k) or 'absent'}" for k in ("torch", "onnxruntime", "tensorrt")))
    power = env.get("power_mode")
    if power:
        lines.append("power mode: " + " / ".join(power.splitlines()[:2]))
    ck = env.get("clocks") or {}
    if ck:
        lines.append("clocks: " + ", ".join(f"{k}={v}" for k, v in list(ck.items())[:6]))
    return lines
