"""ONNX -> serialized TensorRT engine, with its metadata in a JSON file beside it.

This file imports nothing but the standard library at module level and ``tensorrt`` inside the
functions, and nothing from jitteredge, so the same code runs on a Jetson without the package:
``python3 build_engine.py model.build.json`` (export/build_engine.py is a copy of this file).

One build spec (JSON, written by ``jitteredge export --format engine``) drives every route:
{"onnx": "model.onnx", "onnx_fp16": "model.fp16.onnx" (fp16 only), "engine": "model.engine",
 "precision": "fp32" | "fp16" | "int8", "typing": "auto" | "strong" | "weak", "input": "input",
 "shapes": {"min": [N, 3, H, W], "opt": [...], "max": [...]}, "workspace_mib": 1024,
 "timing_cache": "model.timing.cache", "metadata": {the ONNX's "jitteredge" metadata}}
(paths relative to the spec's folder).

TensorRT versions: 11.x networks are strongly typed only (no FP16/INT8 builder flags; precision
comes from the ONNX: Q/DQ nodes for INT8, an FP16 graph for FP16). 10.x takes both: strongly typed
with NetworkDefinitionCreationFlag.STRONGLY_TYPED, or weakly typed with the FP16/INT8 flags (JetPack
6 ships 10.3). "auto" builds strongly typed wherever the API allows it. Older releases (8.x) are
weakly typed and need EXPLICIT_BATCH. The engine is never prepended with anything: trtexec and
DeepStream read it as is.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

ENGINE_JSON_SUFFIX = ".json"  # model.engine -> model.engine.json


class BuildError(RuntimeError):
    """A build that cannot go on; the message is one line for the user."""


def engine_json_path(engine_path: str | os.PathLike) -> Path:
    p = Path(engine_path)
    return p.with_name(p.name + ENGINE_JSON_SUFFIX)


def trt_major(version: str) -> int:
    try:
        return int(str(version).split(".")[0])
    except ValueError:
        return 0


def choose_typing(requested: str, major: int, has_strong_flag: bool, has_fp16_flag: bool) -> str:
    """'strong' or 'weak' for a TensorRT release.

    Args:
        requested: "auto", "strong" or "weak".
        major: TensorRT major version.
        has_strong_flag: NetworkDefinitionCreationFlag.STRONGLY_TYPED exists (9.x and later).
        has_fp16_flag: BuilderFlag.FP16 exists (weak typing possible: 10.x and earlier).
    """
    can_strong = has_strong_flag or major >= 11
    can_weak = has_fp16_flag and major < 11
    if requested == "strong" and not can_strong:
        raise BuildError(f"TensorRT {major}.x cannot build strongly typed networks; use typing 'weak'")
    if requested == "weak" and not can_weak:
        raise BuildError(f"TensorRT {major}.x builds strongly typed networks only; precision comes from the ONNX")
    if requested in ("strong", "weak"):
        return requested
    if requested != "auto":
        raise BuildError(f"typing {requested!r}: choose auto, strong or weak")
    return "strong" if can_strong else "weak"


def plan_build(spec: dict, typing: str) -> dict:
    """Which ONNX to parse and which builder flags to set, for a precision and a typing.

    Returns:
        {"onnx": spec key of the file to parse, "flags": [BuilderFlag names]}.
    """
    precision = spec["precision"]
    if precision not in ("fp32", "fp16", "int8"):
        raise BuildError(f"precision {precision!r}: choose fp32, fp16 or int8")
    if typing == "strong":
        # The graph carries the types: Q/DQ nodes (int8), an FP16 graph (fp16), or plain FP32.
        return {"onnx": "onnx_fp16" if precision == "fp16" else "onnx", "flags": []}
    flags = {"fp32": [], "fp16": ["FP16"], "int8": ["INT8", "FP16"]}[precision]  # int8: Q/DQ + fp16 elsewhere
    return {"onnx": "onnx", "flags": flags}


def trtexec_args(spec: dict, major: int, base: str = "") -> tuple[str, list[str]]:
    """(typing, trtexec arguments) equivalent to build_engine(spec) on TensorRT ``major``.x.

    Paths are the spec's, prefixed by ``base``. 11.x: strong typing is always on and the flag is gone.
    """
    typing = choose_typing(spec.get("typing", "auto"), major, has_strong_flag=major >= 9, has_fp16_flag=major < 11)
    plan = plan_build(spec, typing)
    args = ["trtexec", f"--onnx={base}{spec[plan['onnx']]}", f"--saveEngine={base}{spec['engine']}"]
    if typing == "strong" and major < 11:
        args.append("--stronglyTyped")
    args += [f"--{flag.lower()}" for flag in plan["flags"]]
    shapes = spec.get("shapes")
    if shapes:
        name = spec.get("input", "input")
        for key in ("min", "opt", "max"):
            args.append(f"--{key}Shapes={name}:{'x'.join(str(d) for d in shapes[key])}")
    args.append(f"--memPoolSize=workspace:{int(spec.get('workspace_mib', 1024))}M")
    if spec.get("timing_cache"):
        args.append(f"--timingCacheFile={base}{spec['timing_cache']}")
    return typing, args


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def engine_metadata(spec: dict, trt_version: str, typing: str, build_s: float) -> dict:
    """The JSON written beside the engine: the ONNX's metadata plus how the engine was built."""
    meta = dict(spec.get("metadata") or {})
    meta["precision"] = spec["precision"]
    meta["tensorrt"] = {"version": trt_version, "typing": typing, "shapes": spec.get("shapes"),
                        "onnx": Path(spec[plan_build(spec, typing)["onnx"]]).name,
                        "build_s": round(build_s, 2), "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    return meta


def build_engine(spec: dict, base_dir: str | os.PathLike = ".", log=print) -> Path:
    """Build the engine described by ``spec`` with TensorRT's Python API; write engine + JSON atomically.

    Raises:
        BuildError: tensorrt missing, no GPU, parse or build failure (one line).
    """
    try:
        import tensorrt as trt
    except ImportError as exc:
        raise BuildError(f"the tensorrt Python package does not import here ({exc}); "
                         "build on the target (JetPack ships it) with the trtexec script") from None
    try:
        return _build(trt, spec, Path(base_dir), log)
    except BuildError:
        raise
    except Exception as exc:  # TensorRT raises RuntimeError/TypeError (e.g. no CUDA device for the builder)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BuildError(f"TensorRT {trt.__version__} failed: {first[:200]}") from None


def _build(trt, spec: dict, base: Path, log) -> Path:
    """build_engine's body, with the imported ``tensorrt`` module."""
    started = time.perf_counter()
    major = trt_major(trt.__version__)
    flag_enum = trt.NetworkDefinitionCreationFlag
    has_strong = hasattr(flag_enum, "STRONGLY_TYPED")
    has_fp16 = hasattr(trt.BuilderFlag, "FP16")
    typing = choose_typing(spec.get("typing", "auto"), major, has_strong, has_fp16)
    plan = plan_build(spec, typing)
    onnx_path = base / spec[plan["onnx"]]
    engine_path = base / spec["engine"]
    if not onnx_path.is_file():
        raise BuildError(f"{onnx_path}: no such ONNX file")

    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network_flags = 0
    if typing == "strong" and has_strong:
        network_flags |= 1 << int(flag_enum.STRONGLY_TYPED)
    if major < 10 and hasattr(flag_enum, "EXPLICIT_BATCH"):  # implicit batch is gone from 10.0 on
        network_flags |= 1 << int(flag_enum.EXPLICIT_BATCH)
    network = builder.create_network(network_flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise BuildError(f"{onnx_path}: TensorRT cannot parse it ({errors[:300]})")

    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(spec.get("workspace_mib", 1024)) << 20)
    for flag in plan["flags"]:
        config.set_flag(getattr(trt.BuilderFlag, flag))

    tensor = network.get_input(0)
    if any(d < 0 for d in tensor.shape):
        shapes = spec.get("shapes")
        if not shapes:
            raise BuildError(f"{onnx_path}: dynamic input {tuple(tensor.shape)} needs 'shapes' in the build spec")
        profile = builder.create_optimization_profile()
        profile.set_shape(tensor.name, tuple(shapes["min"]), tuple(shapes["opt"]), tuple(shapes["max"]))
        config.add_optimization_profile(profile)

    cache_path = base / spec["timing_cache"] if spec.get("timing_cache") else None
    cache = config.create_timing_cache(cache_path.read_bytes() if cache_path and cache_path.is_file() else b"")
    config.set_timing_cache(cache, ignore_mismatch=True)  # a cache from another GPU is ignored, not fatal

    log(f"building {engine_path.name}: TensorRT {trt.__version__}, {typing}ly typed, {spec['precision']}, "
        f"from {onnx_path.name}")
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise BuildError(f"{onnx_path}: TensorRT could not build an engine (see its log above)")
    _atomic_write(engine_path, bytes(serialized))
    meta = engine_metadata(spec, trt.__version__, typing, time.perf_counter() - started)
    _atomic_write(engine_json_path(engine_path), json.dumps(meta, indent=2, sort_keys=True).encode())
    if cache_path is not None:
        _atomic_write(cache_path, bytes(config.get_timing_cache().serialize()))
    return engine_path


USAGE = """usage: python3 build_engine.py MODEL.build.json
         build the engine the spec describes with TensorRT's Python API, write MODEL.engine.json
       python3 build_engine.py --trtexec-command MODEL.build.json MAJOR
         print the typing and the trtexec arguments for TensorRT MAJOR.x (two lines)
       python3 build_engine.py --record MODEL.build.json VERSION TYPING
         after a trtexec build: write MODEL.engine.json"""


def record_trtexec_build(spec: dict, base_dir: str | os.PathLike, version: str, typing: str) -> Path:
    """Write the engine JSON after an engine was built with trtexec from ``spec``."""
    engine = Path(base_dir) / spec["engine"]
    if not engine.is_file():
        raise BuildError(f"{engine}: no engine to describe (did trtexec fail?)")
    meta = engine_metadata(spec, version, typing, 0.0)
    meta["tensorrt"]["builder"] = "trtexec"
    del meta["tensorrt"]["build_s"]
    _atomic_write(engine_json_path(engine), json.dumps(meta, indent=2, sort_keys=True).encode())
    return engine


def main(argv: list[str] | None = None) -> int:
    import shlex

    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if argv else 2
    mode, rest = (argv[0], argv[1:]) if argv[0].startswith("--") else ("--build", argv)
    arity = {"--build": 1, "--trtexec-command": 2, "--record": 3}
    if mode not in arity or len(rest) != arity[mode]:
        print(USAGE, file=sys.stderr)
        return 2
    spec_path = Path(rest[0])
    try:
        spec = json.loads(spec_path.read_text())
        if mode == "--trtexec-command":
            typing, args = trtexec_args(spec, int(rest[1]))
            print(typing)
            print(" ".join(shlex.quote(a) for a in args[1:]))
            return 0
        if mode == "--record":
            engine = record_trtexec_build(spec, spec_path.parent, rest[1], rest[2])
        else:
            engine = build_engine(spec, spec_path.parent)
    except (OSError, json.JSONDecodeError, KeyError, ValueError) as exc:
        print(f"build_engine: error: {spec_path}: bad build spec or arguments ({exc})", file=sys.stderr)
        return 2
    except BuildError as exc:
        print(f"build_engine: error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {engine} ({engine.stat().st_size / 2**20:.1f} MiB) and {engine_json_path(engine).name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
