"""FP32 ONNX -> INT8 Q/DQ ONNX by static post-training quantization, then an accuracy gate.

Quantization: onnxruntime.quantization.quantize_static in QDQ format, per-channel symmetric INT8
weights, float biases, calibrated activations: "int8" symmetric (zero point 0: what TensorRT 10/11
accept, and ONNX Runtime runs it too) or "uint8" asymmetric (ONNX Runtime folds the ReLU into one
QLinearConv, which a symmetric range prevents; TensorRT refuses it). quant_pre_process runs first.
Layers named by role ("first", "head", "upsampler") or by node name stay in float.

Gate: the mean sign-invariant endpoint error (px) of the FP32 and INT8 models against the ground
truth of a fixed synthetic validation set; INT8 passes when (epe_int8 - epe_fp32) / epe_fp32 stays
within ``max_epe_loss``. The exporter tries the float-layer sets of ``float_layers_ladder`` in turn
and keeps the first that passes; when none does, nothing is written.
"""

from __future__ import annotations

import contextlib
import copy
import io
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np

from jitteredge.errors import JitterEdgeError
from jitteredge.fieldcode import CODE_SCALE_PX, decode_field
from jitteredge.export.onnx_export import INPUT_NAME, OUTPUT_NAME, embed_metadata, ort_session

OP_TYPES_TO_QUANTIZE = ["Conv", "ConvTranspose", "Relu", "MaxPool", "Concat"]  # Softmax/Einsum stay float


# -- data ----------------------------------------------------------------------------------------
@dataclass
class LabelledImage:
    image: np.ndarray  # uint8 (H, W, 3) RGB, blurred
    field: np.ndarray  # float32 (H, W, 2) ground-truth field, px


def _center_crop(a: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    top, left = (a.shape[0] - hw[0]) // 2, (a.shape[1] - hw[1]) // 2
    return np.ascontiguousarray(a[top: top + hw[0], left: left + hw[1]])


def synthetic_set(n: int, hw: tuple[int, int], seed: int) -> list[LabelledImage]:
    """``n`` synthetic blurred images with their fields, (H, W) = ``hw``, deterministic in ``seed``.

    The validation groups of jitteredge.validation.synthetic (strong, mild, sharp, defocus; ``n``
    split over them as in ``jitteredge bench``) on procedural photos, centre-cropped to ``hw``;
    where the synthesis stages are not installed, procedural photos with one straight shake each.
    """
    side = max(hw)
    try:
        from jitteredge.bench.valset import group_counts
        from jitteredge.validation.synthetic import make_group_set, open_validation_source

        source, _ = open_validation_source("procedural", seed=seed)
        samples = [s for group, count in group_counts(n).items() if count
                   for s in make_group_set(source, group, count, seed, side)]
    except ImportError:  # an install without the synthesis stages (they import lazily, hence here)
        return _fallback_set(n, hw, seed)
    return [LabelledImage(_center_crop(s.image, hw), _center_crop(s.field.astype(np.float32), hw)) for s in samples]


def _fallback_set(n: int, hw: tuple[int, int], seed: int) -> list[LabelledImage]:
    import cv2

    from jitteredge.synth.sources import DeadLeavesConfig, dead_leaves

    rng = np.random.default_rng(seed)
    side = max(hw)
    out = []
    for _ in range(n):
        photo = dead_leaves(rng, DeadLeavesConfig(size_px=side, shapes=120))
        length = rng.uniform(0.0, 12.0) if rng.random() > 0.2 else 0.0
        angle = rng.uniform(0.0, np.pi)
        u, v = length * np.cos(angle), length * np.sin(angle)
        k = int(np.ceil(length)) | 1
        kernel = np.zeros((k + 2, k + 2), np.float32)
        c = (k + 1) / 2.0
        cv2.line(kernel, (int(round(c - u / 2)), int(round(c - v / 2))), (int(round(c + u / 2)), int(round(c + v / 2))), 1.0, 1)
        kernel /= kernel.sum()
        blurred = cv2.filter2D(photo, -1, kernel, borderType=cv2.BORDER_REFLECT)
        field = np.empty((side, side, 2), np.float32)
        field[..., 0], field[..., 1] = u, v
        out.append(LabelledImage(_center_crop(blurred, hw), _center_crop(field, hw)))
    return out


def folder_inputs(folder: str | os.PathLike, n: int, hw: tuple[int, int]) -> list[np.ndarray]:
    """Up to ``n`` photos of ``folder`` as network inputs float32 (1, 3, H, W): scaled to cover, centre-cropped.

    Raises:
        JitterEdgeError: missing folder, no images in it, or an unreadable image.
    """
    import cv2

    from jitteredge.fileio import list_images, read_rgb
    from jitteredge.preprocess import normalize

    paths = list_images(folder)
    if not paths:
        raise JitterEdgeError(f"{folder}: no images to calibrate on")
    out = []
    for path in paths[:n]:
        rgb = read_rgb(path)
        scale = max(hw[0] / rgb.shape[0], hw[1] / rgb.shape[1])
        size = (max(hw[1], round(rgb.shape[1] * scale)), max(hw[0], round(rgb.shape[0] * scale)))
        interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        out.append(normalize(_center_crop(cv2.resize(rgb, size, interpolation=interp), hw)))
    return out


def calibration_inputs(calib_dir: str | None, n: int, hw: tuple[int, int], seed: int) -> list[np.ndarray]:
    """Network inputs float32 (1, 3, H, W) to calibrate on: photos of ``calib_dir``, else synthetic."""
    from jitteredge.preprocess import normalize

    if calib_dir:
        return folder_inputs(calib_dir, n, hw)
    return [normalize(s.image) for s in synthetic_set(n, hw, seed)]


# -- quantization --------------------------------------------------------------------------------
def resolve_float_layers(model, roles: Iterable[str]) -> list[str]:
    """Node names of ``model`` (ModelProto) to keep in float, from roles or literal node names.

    Roles: "first" (the stem: the convolution reading the input and the pooling and ReLU right after
    it; INT8 gains nothing on 3 input channels, so it is also the faster choice), "head" (the last convolution before the
    upsampler), "upsampler" (the final bilinear-initialised upsampler, as a transposed convolution or
    as its sub-pixel convolution).
    """
    nodes = list(model.graph.node)
    names = {n.name for n in nodes}
    producer = {o: n for n in nodes for o in n.output}
    # The upsampler: the last transposed convolution, or the convolution before the last DepthToSpace
    # once onnx_export.replace_transposed_convolutions has rewritten it.
    upsampler = [n.name for n in nodes if n.op_type == "ConvTranspose"][-1:]
    shuffles = [n for n in nodes if n.op_type == "DepthToSpace"]
    if not upsampler and shuffles and shuffles[-1].input[0] in producer:
        upsampler = [producer[shuffles[-1].input[0]].name]
    out: list[str] = []
    for role in roles:
        if role == "first":
            picked = _stem(nodes)
        elif role == "head":
            picked = [n.name for n in nodes if n.op_type == "Conv" and n.name not in upsampler][-1:]
        elif role == "upsampler":
            picked = upsampler
        elif role in names:
            picked = [role]
        else:
            raise JitterEdgeError(f"float layer {role!r}: not a role (first, head, upsampler) nor a node of the model")
        out.extend(p for p in picked if p not in out)
    return out


def _stem(nodes) -> list[str]:
    """The convolution reading the input and the pooling and ReLU right after it (single consumers)."""
    consumers: dict[str, list] = {}
    for n in nodes:
        for name in n.input:
            consumers.setdefault(name, []).append(n)
    conv = next((n for n in consumers.get(INPUT_NAME, []) if n.op_type == "Conv"), None)
    if conv is None:
        return []
    stem, node = [conv.name], conv
    while len(consumers.get(node.output[0], [])) == 1 and consumers[node.output[0]][0].op_type in ("MaxPool", "Relu"):
        node = consumers[node.output[0]][0]
        stem.append(node.name)
    return stem


class _Reader:
    """onnxruntime.quantization CalibrationDataReader over a list of inputs."""

    def __init__(self, inputs: list[np.ndarray], progress: bool):
        self.inputs = inputs
        self.bar = None
        if progress:
            from tqdm import tqdm

            self.bar = tqdm(total=len(inputs), desc="calibrating", unit="img", leave=False)
        self.index = 0

    def get_next(self):
        if self.index >= len(self.inputs):
            if self.bar is not None:
                self.bar.close()
            return None
        x = self.inputs[self.index]
        self.index += 1
        if self.bar is not None:
            self.bar.update(1)
        return {INPUT_NAME: x}

    def rewind(self):
        self.index = 0


def preprocess_for_quantization(fp32_path: str | os.PathLike, out_path: str | os.PathLike) -> None:
    """onnxruntime's quant_pre_process (graph optimisation + ONNX shape inference).

    The symbolic shape inference step is skipped: it cannot name the sizes after the pooling of a
    model with dynamic height and width, and ONNX's own inference covers these operators.
    """
    from onnxruntime.quantization.shape_inference import quant_pre_process

    with _quiet():
        quant_pre_process(str(fp32_path), str(out_path), skip_symbolic_shape=True)


def quantize_int8(pre_path: str | os.PathLike, out_path: str | os.PathLike, inputs: list[np.ndarray],
                  float_layers: list[str], calib_method: str = "minmax", activation_type: str = "int8",
                  meta: dict | None = None, progress: bool = False, quantize_bias: bool = False) -> dict:
    """Static INT8 quantization of a pre-processed FP32 ONNX into a Q/DQ ONNX.

    Args:
        pre_path: FP32 model after preprocess_for_quantization.
        out_path: destination of the Q/DQ model.
        inputs: calibration inputs, float32 (1, 3, H, W) each.
        float_layers: node names left in float.
        calib_method: "minmax", "entropy" or "percentile".
        activation_type: "int8" (symmetric, zero point 0) or "uint8" (asymmetric).
        meta: "jitteredge" metadata to embed (its precision is set to "int8").
        progress: a tqdm bar over the calibration images.
        quantize_bias: biases as INT32 DequantizeLinear inputs (ONNX Runtime's default). Off: float
            biases, as TensorRT's explicit quantization expects (its dequantize layers take INT8).

    Returns:
        dict describing the quantization (for the metadata and the report).
    """
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    methods = {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
               "percentile": CalibrationMethod.Percentile}
    symmetric = activation_type == "int8"
    info = {
        "format": "QDQ", "weights": "int8 per-channel symmetric",
        "activations": "int8 symmetric" if symmetric else "uint8 asymmetric",
        "calibration": calib_method, "calibration_images": len(inputs), "float_layers": list(float_layers),
        "bias": "int32" if quantize_bias else "float",
    }
    with _quiet():
        quantize_static(
            str(pre_path), str(out_path), _Reader(inputs, progress),
            quant_format=QuantFormat.QDQ, per_channel=True,
            activation_type=QuantType.QInt8 if symmetric else QuantType.QUInt8,
            weight_type=QuantType.QInt8, op_types_to_quantize=OP_TYPES_TO_QUANTIZE,
            nodes_to_exclude=list(float_layers), calibrate_method=methods[calib_method],
            extra_options={"WeightSymmetric": True, "ActivationSymmetric": symmetric, "QuantizeBias": quantize_bias},
        )
    model = onnx.load(str(out_path))
    if meta is not None:
        meta = copy.deepcopy(meta)
        meta["precision"] = "int8"
        meta["quantization"] = info
        embed_metadata(model, meta)
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, str(out_path))
    return info


def fused_kernels(path: str | os.PathLike, tmp_dir: str | os.PathLike) -> dict[str, int]:
    """Operator counts of the graph ONNX Runtime actually runs (after its Q/DQ fusion), CPU provider."""
    import collections

    import onnx

    optimized = Path(tmp_dir) / "optimized.onnx"
    ort_session(path, threads=1, optimized_path=str(optimized))
    counts = collections.Counter(n.op_type for n in onnx.load(str(optimized)).graph.node)
    optimized.unlink()
    return dict(sorted(counts.items()))


# -- accuracy gate -------------------------------------------------------------------------------
def mean_epe(path: str | os.PathLike, samples: list[LabelledImage], code_scale_px: float = CODE_SCALE_PX) -> float:
    """Mean sign-invariant endpoint error (px) of an ONNX model over ``samples``, by the validation
    scorer (jitteredge.validation.synthetic.GroupScore)."""
    from jitteredge.preprocess import normalize
    from jitteredge.validation.synthetic import GroupScore

    session = ort_session(path)
    score = GroupScore()
    for s in samples:
        (code,) = session.run([OUTPUT_NAME], {INPUT_NAME: normalize(s.image)})
        score.add(decode_field(np.moveaxis(code[0], 0, -1), code_scale_px), s.field)
    return score.epe / max(1, score.count)


def relative_loss(epe_fp32: float, epe_int8: float) -> float:
    """(epe_int8 - epe_fp32) / epe_fp32; an FP32 model with zero error counts any INT8 error as loss."""
    return (epe_int8 - epe_fp32) / max(epe_fp32, 1e-9)


@contextlib.contextmanager
def _quiet():
    """onnxruntime.quantization logs and prints per tensor; users get the summary instead."""
    logger = logging.getLogger()
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        logger.setLevel(level)
