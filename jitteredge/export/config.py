"""ExportConfig: everything one `jitteredge export` run needs, with the defaults and their units.

Which flags each format takes (after Ultralytics' export_formats / validate_args): FORMATS lists the
precisions, and ``validate`` rejects a combination a format cannot honour with one clear line.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from jitteredge.errors import JitterEdgeError

# format -> (artifact suffix, precisions it can carry)
FORMATS: dict[str, tuple[str, tuple[str, ...]]] = {
    "onnx": (".onnx", ("fp32", "int8")),
    "ort": (".ort", ("fp32", "int8")),  # ONNX Runtime Mobile; CPU kernels are FP32 and INT8
    "engine": (".engine", ("fp32", "fp16", "int8")),  # TensorRT
}
ALIASES = {"trt": "engine", "tensorrt": "engine", "plan": "engine", "mobile": "ort"}
CALIB_METHODS = ("minmax", "entropy", "percentile")
TRT_TYPING = ("auto", "strong", "weak")
# Layers that INT8 export may keep in float, by role (see quantize.resolve_float_layers).
FLOAT_LAYER_ROLES = ("first", "head", "upsampler")


def default_float_ladder(model_config: dict) -> tuple[tuple[str, ...], ...]:
    """The float-layer sets INT8 export tries in turn, for a model of this config.

    The 2-channel upsampler costs nothing in float and sets the output's precision. The patent's
    stem (a 3x3 convolution of 3 channels at full resolution) runs faster in float than in INT8 on
    ONNX Runtime; a space-to-depth stem (48 output channels at 1/4 resolution) is faster in INT8
    (2.7 against 3.0 ms for the whole edge2 model at 256 px), so it stays in float only if the
    gate asks for it.
    """
    conv_stem = (("first", "upsampler"), ("first", "upsampler", "head"))
    if model_config.get("stem", "conv_pool") == "space_to_depth":
        return (("upsampler",),) + conv_stem
    return conv_stem
# Fields (and their flags) that only some runs use: ExportConfig.validate refuses them elsewhere.
INT8_ONLY = {"calib_dir": "--calib", "calib_samples": "--calib-samples", "calib_method": "--calib-method",
             "max_epe_loss": "--max-epe-loss", "float_layers_ladder": "--float-layers",
             "activation_type": "--int8-activations"}
ENGINE_ONLY = {"trt_typing": "--trt-typing", "trt_workspace_mib": "--workspace"}


@dataclass
class ExportConfig:
    """One export: what to export, to which format and precision, and how INT8 is calibrated and gated.

    ``validate()`` resolves aliases and "auto" values and refuses combinations a format cannot honour.
    """

    model: str = "default"  # registry name or path: .pt checkpoint, or .onnx (for --format ort/engine)
    format: str = "onnx"  # onnx | ort | engine (aliases: trt, tensorrt, plan -> engine; mobile -> ort)
    precision: str = "fp32"  # fp32 | fp16 (engine only) | int8 (static Q/DQ ONNX, gated against FP32)
    imgsz: tuple[int, int] | None = None  # fixed (H, W) input in px; None = dynamic height and width
    check_hw: tuple[int, int] = (256, 256)  # (H, W) px for the numeric check, calibration and gate when dynamic
    opset: int = 17  # ONNX opset; >= 17 (parsed by TensorRT 10+, ONNX Runtime Mobile)
    out: str | None = None  # artifact path; None = ./<model name>[.<precision>]<suffix>
    tolerance_px: float = 1e-3  # max |field(torch) - field(ONNX Runtime)| in px, FP32 export
    # Pad the float stem to a multiple of this many channels (onnx_export.pad_stem_channels: same
    # output, faster on ONNX Runtime's x86 blocked layout); None = 16 for onnx, 0 (off) for ort and
    # engine, whose runtimes would only pay for the extra filters.
    stem_channel_multiple: int | None = None
    # INT8 calibration and accuracy gate
    calib_dir: str | None = None  # folder of photos to calibrate on; None = synthetic samples
    calib_samples: int = 64  # calibration images
    calib_method: str = "minmax"  # minmax | entropy | percentile (onnxruntime.quantization)
    calib_seed: int = 1234  # calibration images; differs from the gate's seed on purpose
    gate_samples: int = 24  # fixed synthetic validation set for the INT8 accuracy gate
    gate_seed: int = 20170721  # validation set seed (fixed: the gate compares like with like)
    max_epe_loss: float = 0.03  # allowed relative EPE loss of INT8 vs FP32: (epe8 - epe32) / epe32
    # Float layers tried in turn until the gate passes (roles from FLOAT_LAYER_ROLES, or node names);
    # None: the model's own ladder (default_float_ladder).
    float_layers_ladder: tuple[tuple[str, ...], ...] | None = None
    # INT8 activations: "int8" symmetric (zero point 0: TensorRT 10/11 and ONNX Runtime all run it),
    # "uint8" asymmetric (ONNX Runtime only: ReLU folds into the quantized convolution, about 1.6x
    # faster there), "auto": uint8 for onnx/ort, int8 for engine.
    activation_type: str = "auto"
    # TensorRT
    trt_typing: str = "auto"  # auto (strong where the API has it) | strong | weak (TensorRT 10 only)
    trt_workspace_mib: int = 1024  # builder memory pool limit, MiB
    trt_min_hw: tuple[int, int] = (32, 32)  # dynamic engines: optimisation profile (H, W) px
    trt_opt_hw: tuple[int, int] = (352, 512)  # a 512 px long-side landscape photo after preprocess
    trt_max_hw: tuple[int, int] = (1024, 1024)
    trt_max_batch: int = 1  # profile's largest batch
    timing_cache: str | None = None  # TensorRT timing cache file; None = <out>.timing.cache
    progress: bool = True  # tqdm bars on stderr

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def dynamic(self) -> bool:
        return self.imgsz is None

    @property
    def suffix(self) -> str:
        return FORMATS[self.format][0]

    def sample_hw(self) -> tuple[int, int]:
        """(H, W) for calibration, the numeric check and the gate."""
        return tuple(self.imgsz) if self.imgsz else tuple(self.check_hw)

    def validate(self, given: Collection[str] = ()) -> "ExportConfig":
        """Normalise aliases and refuse impossible combinations; returns a checked copy.

        Args:
            given: the fields set on the command line (jitteredge.configfile.build_config). A flag the
                run cannot use is refused (--calib without --int8, --workspace without --format
                engine); the same value from a config file is a default for the runs that use it.
        """
        fmt = ALIASES.get(self.format.lower(), self.format.lower())
        if fmt not in FORMATS:
            raise JitterEdgeError(f"unknown format {self.format!r}; choose from {', '.join(FORMATS)} "
                                  f"(aliases: {', '.join(f'{a}->{b}' for a, b in ALIASES.items())})")
        cfg = replace(self, format=fmt)
        if cfg.precision not in FORMATS[fmt][1]:
            hint = " (FP16 is a TensorRT build option; ONNX Runtime CPU runs FP32 or INT8)" if cfg.precision == "fp16" else ""
            raise JitterEdgeError(f"--format {fmt} does not take {cfg.precision}; it takes "
                                  f"{' or '.join(FORMATS[fmt][1])}{hint}")
        if cfg.opset < 17:
            raise JitterEdgeError(f"--opset {cfg.opset}: need 17 or newer")
        for name, hw in (("--imgsz", cfg.imgsz), ("check size", cfg.check_hw)):
            if hw is not None and (len(hw) != 2 or min(hw) < 16 or hw[0] % 16 or hw[1] % 16):
                raise JitterEdgeError(f"{name} {' '.join(map(str, hw))}: need two sizes, multiples of 16 (>= 16 px)")
        if cfg.calib_method not in CALIB_METHODS:
            raise JitterEdgeError(f"--calib-method {cfg.calib_method!r}: choose from {', '.join(CALIB_METHODS)}")
        if cfg.calib_samples < 1 or cfg.gate_samples < 1:
            raise JitterEdgeError(f"--calib-samples {cfg.calib_samples}: need at least 1 (gate samples {cfg.gate_samples} too)")
        if cfg.trt_workspace_mib < 1:
            raise JitterEdgeError(f"--workspace {cfg.trt_workspace_mib}: need at least 1 MiB")
        if cfg.activation_type not in ("auto", "int8", "uint8"):
            raise JitterEdgeError(f"--int8-activations {cfg.activation_type!r}: choose auto, int8 or uint8")
        if cfg.stem_channel_multiple is None:
            cfg = replace(cfg, stem_channel_multiple=16 if fmt == "onnx" else 0)
        if cfg.stem_channel_multiple < 0:
            raise JitterEdgeError(f"stem_channel_multiple {cfg.stem_channel_multiple}: need 0 (off) or more")
        if cfg.activation_type == "auto":
            cfg = replace(cfg, activation_type="int8" if fmt == "engine" else "uint8")
        if cfg.activation_type == "uint8" and fmt == "engine":
            raise JitterEdgeError("TensorRT takes symmetric INT8 only; use --int8-activations int8 (or auto) for --format engine")
        if cfg.trt_typing not in TRT_TYPING:
            raise JitterEdgeError(f"--trt-typing {cfg.trt_typing!r}: choose from {', '.join(TRT_TYPING)}")
        for ladder in cfg.float_layers_ladder or ():
            for role in ladder:
                if not isinstance(role, str) or not role:
                    raise JitterEdgeError(f"float layer {role!r}: a role ({', '.join(FLOAT_LAYER_ROLES)}) or a node name")
        if cfg.precision != "int8":
            used = [flag for name, flag in INT8_ONLY.items() if name in given]
            if used:
                raise JitterEdgeError(f"{', '.join(used)} only apply with --int8")
        if fmt != "engine":
            used = [flag for name, flag in ENGINE_ONLY.items() if name in given]
            if used:
                raise JitterEdgeError(f"{', '.join(used)} only apply to --format engine, not {fmt}")
        return cfg

    def default_out(self, model_stem: str) -> Path:
        tag = "" if self.precision == "fp32" else f".{self.precision}"
        return Path(f"{model_stem}{tag}{self.suffix}")


@dataclass
class ExportResult:
    """What an export produced, for the CLI's summary and for tests."""

    artifact: Path  # the requested artifact (.onnx, .ort, .engine)
    extra_files: list[Path] = field(default_factory=list)  # operator config, engine JSON, trtexec script...
    precision: str = "fp32"
    seconds: float = 0.0
    report: dict = field(default_factory=dict)  # measured figures: max diff px, EPEs, float layers...
    replaced: list[Path] = field(default_factory=list)  # files of these names that existed before (overwritten)
