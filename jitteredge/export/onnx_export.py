"""PyTorch -> ONNX: BatchNorm folded, metadata embedded, checked, and compared with PyTorch on the spot.

The graph has one input "input" float32 (N, 3, H, W) (jitteredge.preprocess.normalize) and one output
"code" float32 (N, 2, H, W), the doubled-angle field code (jitteredge.fieldcode) for every head
(model.CodeOutput). The metadata_props entry "jitteredge" holds JSON
{model_config, code_scale_px, input: {mean, std, layout, color, ...}, working_long_side, version,
precision, ...}, which the ONNX Runtime runner reads; a few plain keys repeat it for people.
"""

from __future__ import annotations

import copy
import json
import os
import warnings
from pathlib import Path

import numpy as np

from jitteredge import __version__
from jitteredge.errors import JitterEdgeError
from jitteredge.fieldcode import CODE_SCALE_PX, decode_field

INPUT_NAME = "input"
OUTPUT_NAME = "code"
METADATA_KEY = "jitteredge"


# -- model preparation ---------------------------------------------------------------------------
def fold_batchnorm(net):
    """A copy of ``net`` (eval mode) with every Conv2d/ConvTranspose2d -> BatchNorm2d pair fused.

    The TorchScript exporter folds BN into Conv but not into ConvTranspose; folding here gives one
    clean Conv(+bias) -> Relu per block, which is what quantizes into a single INT8 kernel.
    """
    from torch import nn
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    net = copy.deepcopy(net).eval()
    for module in net.modules():
        if not isinstance(module, nn.Sequential):
            continue
        for k in range(len(module) - 1):
            conv, bn = module[k], module[k + 1]
            if isinstance(conv, (nn.Conv2d, nn.ConvTranspose2d)) and isinstance(bn, nn.BatchNorm2d):
                module[k] = fuse_conv_bn_eval(conv, bn, transpose=isinstance(conv, nn.ConvTranspose2d))
                module[k + 1] = nn.Identity()
    return net


def subpixel_conv(layer):
    """An exactly equivalent Conv2d + PixelShuffle for a ConvTranspose2d whose output is stride x input.

    Each output phase (r_y, r_x) of a stride-s transposed convolution is an ordinary convolution of
    the input with the kernel taps k = r + p - s d (d: input offset), so one Conv2d with s^2 times the
    output channels followed by PixelShuffle(s) (ONNX DepthToSpace, CRD) computes the same thing.
    Convolutions quantize into fused INT8 kernels on every runtime; ONNX Runtime's CPU provider has
    no INT8 transposed convolution.

    Returns:
        (nn.Conv2d, nn.PixelShuffle), or None when the layer is not of that kind.
    """
    import torch
    from torch import nn

    s, k, p = layer.stride[0], layer.kernel_size[0], layer.padding[0]
    square = layer.stride[1] == s and layer.kernel_size[1] == k and layer.padding[1] == p
    if not square or k - 2 * p != s or tuple(layer.dilation) != (1, 1) or tuple(layer.output_padding) != (0, 0):
        return None
    offsets = [d for d in range(-k, k + 1) if any(0 <= r + p - s * d < k for r in range(s))]
    lo, hi = min(offsets), max(offsets)
    if -lo != hi:  # nn.Conv2d pads symmetrically
        return None
    taps = hi - lo + 1
    g = layer.groups
    cin, cout = layer.in_channels, layer.out_channels
    w_t = layer.weight.detach()  # (cin, cout / g, k, k)
    w = torch.zeros(cout * s * s, cin // g, taps, taps, dtype=w_t.dtype)
    for group in range(g):
        for ci in range(cin // g):
            for c_local in range(cout // g):
                c = group * (cout // g) + c_local
                for ry in range(s):
                    for rx in range(s):
                        for ty in range(taps):
                            for tx in range(taps):
                                ky, kx = ry + p - s * (ty + lo), rx + p - s * (tx + lo)
                                if 0 <= ky < k and 0 <= kx < k:
                                    w[c * s * s + ry * s + rx, ci, ty, tx] = w_t[group * (cin // g) + ci, c_local, ky, kx]
    conv = nn.Conv2d(cin, cout * s * s, taps, padding=hi, groups=g, bias=layer.bias is not None)
    with torch.no_grad():
        conv.weight.copy_(w)
        if layer.bias is not None:
            conv.bias.copy_(layer.bias.detach().repeat_interleave(s * s))
    return conv, nn.PixelShuffle(s)


def replace_transposed_convolutions(net):
    """Swap every suitable ConvTranspose2d of ``net`` (in place) for Conv2d + PixelShuffle.

    In a Conv -> (Identity) -> ReLU block the ReLU moves before the PixelShuffle (a permutation
    commutes with an elementwise function), so Conv + ReLU fuse into one INT8 kernel.
    """
    from torch import nn

    for module in list(net.modules()):
        for name, child in list(module.named_children()):
            if not isinstance(child, nn.ConvTranspose2d):
                continue
            swapped = subpixel_conv(child)
            if swapped is None:
                continue
            conv, shuffle = swapped
            if isinstance(module, nn.Sequential):
                k = int(name)
                rest = [m for m in list(module)[k + 1:] if not isinstance(m, nn.Identity)]
                if rest and isinstance(rest[0], nn.ReLU):
                    module[k] = conv
                    for j in range(k + 1, len(module)):
                        if isinstance(module[j], nn.ReLU):
                            module[j] = nn.Sequential(nn.ReLU(), shuffle)
                            break
                    continue
            setattr(module, name, nn.Sequential(conv, shuffle))
    return net


def pad_stem_channels(net, multiple: int) -> bool:
    """Widen the patent stem's pooled convolution of ``net`` (a folded JitterNet, in place) to a
    multiple of ``multiple`` output channels with all-zero filters, and slice the extra channels off
    after the pooling; the output is unchanged. Returns whether it applied.

    Why: ONNX Runtime's x86 CPU provider runs the float stem in its blocked layout (NCHWc, 16
    channels per block with AVX-512, 8 with AVX2). With 12 channels it reorders the full-resolution
    output back to NCHW before pooling; with 16 it pools in the blocked layout and reorders a quarter
    of the pixels: 3.5 -> 2.9 ms for the whole INT8 edge model at 256 px on one core. Runtimes
    without that layout (ARM, TensorRT) would only pay for the extra filters, so the exporter asks
    for it for .onnx files only.
    """
    import torch
    from torch import nn

    from jitteredge.model import JitterNet

    class KeepChannels(nn.Module):  # exports as one Slice
        def __init__(self, n: int):
            super().__init__()
            self.n = n

        def forward(self, x):
            return x[:, :self.n]

    if multiple <= 1 or not isinstance(net, JitterNet):
        return False
    block = net.stage1[-1]
    conv = block[0]
    n = conv.out_channels
    extra = -n % multiple
    if extra == 0 or conv.groups != 1:
        return False
    wide = nn.Conv2d(conv.in_channels, n + extra, conv.kernel_size, stride=conv.stride, padding=conv.padding,
                     bias=True)
    with torch.no_grad():
        wide.weight.zero_()
        wide.bias.zero_()
        wide.weight[:n] = conv.weight
        if conv.bias is not None:
            wide.bias[:n] = conv.bias
    block[0] = wide
    net.stage2 = nn.Sequential(KeepChannels(n), *net.stage2)
    return True


def export_module(net, subpixel: bool = True, stem_multiple: int = 0):
    """The module to export: the code for every head, BatchNorm folded, transposed convolutions as
    sub-pixel convolutions (``subpixel``), the stem padded to ``stem_multiple`` channels
    (pad_stem_channels; 0 = as trained), eval mode."""
    from jitteredge.model import CodeOutput

    folded = fold_batchnorm(net)
    if subpixel:
        replace_transposed_convolutions(folded)
    pad_stem_channels(folded, stem_multiple)
    return CodeOutput(folded).eval()


def pool_stem_before_relu(model) -> bool:
    """Rewrite the stem Conv -> Relu -> MaxPool of a ModelProto as Conv -> MaxPool -> Relu, in place.

    max and ReLU commute exactly (ReLU is monotonic), so the output is bit-identical; the ReLU then
    runs on a quarter of the pixels, and a float stem (INT8 gains nothing on a 3-channel input) pools
    in ONNX Runtime's blocked layout before the tensor is quantized. Returns whether it applied.
    """
    nodes = list(model.graph.node)
    consumers: dict[str, list] = {}
    for n in nodes:
        for name in n.input:
            consumers.setdefault(name, []).append(n)
    conv = next((n for n in consumers.get(INPUT_NAME, []) if n.op_type == "Conv"), None)
    if conv is None or len(consumers.get(conv.output[0], [])) != 1:
        return False
    relu = consumers[conv.output[0]][0]
    if relu.op_type != "Relu" or len(consumers.get(relu.output[0], [])) != 1:
        return False
    pool = consumers[relu.output[0]][0]
    if pool.op_type != "MaxPool" or len(pool.output) != 1:
        return False
    conv_out, relu_out, pool_out = conv.output[0], relu.output[0], pool.output[0]
    pool.input[0], pool.output[0] = conv_out, relu_out
    relu.input[0], relu.output[0] = relu_out, pool_out
    i_relu, i_pool = nodes.index(relu), nodes.index(pool)  # keep the graph topologically sorted
    relu_copy, pool_copy = copy.deepcopy(relu), copy.deepcopy(pool)
    model.graph.node[i_relu].CopyFrom(pool_copy)
    model.graph.node[i_pool].CopyFrom(relu_copy)
    del model.graph.value_info[:]  # the intermediate shapes changed; shape inference refills them
    return True


# -- metadata ------------------------------------------------------------------------------------
def build_metadata(model_config: dict, precision: str, imgsz: tuple[int, int] | None,
                   working_long_side: int | None = None, extra: dict | None = None) -> dict:
    """The "jitteredge" metadata dict: everything a runner needs to feed the model and read its output."""
    from jitteredge.preprocess import DEFAULT_LONG_SIDE, MEAN, MULTIPLE, STD

    if working_long_side is None:
        working_long_side = max(imgsz) if imgsz else DEFAULT_LONG_SIDE
    meta = {
        "model_config": model_config,
        "code_scale_px": CODE_SCALE_PX,
        "input": {"name": INPUT_NAME, "mean": MEAN, "std": STD, "layout": "NCHW", "color": "RGB",
                  "scale": 1.0 / 255.0, "multiple": MULTIPLE,
                  "height": imgsz[0] if imgsz else None, "width": imgsz[1] if imgsz else None},
        "output": {"name": OUTPUT_NAME, "kind": "doubled-angle field code",
                   "decode": "jitteredge.fieldcode.decode_field(code, code_scale_px) -> (U, V) px"},
        "working_long_side": int(working_long_side),
        "version": __version__,
        "precision": precision,
    }
    if extra:
        meta.update(extra)
    return meta


def embed_metadata(model, meta: dict) -> None:
    """Write ``meta`` into the ModelProto's metadata_props (replacing ours if present)."""
    readable = {
        METADATA_KEY: json.dumps(meta, sort_keys=True, default=_plain),
        "jitteredge_version": str(meta.get("version", __version__)),
        "precision": str(meta.get("precision", "fp32")),
        "code_scale_px": str(meta.get("code_scale_px", CODE_SCALE_PX)),
        "input_normalization": "NCHW RGB, (pixel / 255 - mean) / std, "
                               f"mean {meta['input']['mean']}, std {meta['input']['std']}",
        "output_units": "doubled-angle code; field (U, V) px = decode_field(code, code_scale_px)",
    }
    keep = [p for p in model.metadata_props if p.key not in readable]
    del model.metadata_props[:]
    model.metadata_props.extend(keep)
    for key, value in readable.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    model.producer_name = "jitteredge"
    model.producer_version = __version__
    model.doc_string = "jitteredge camera-shake field network; see the 'jitteredge' metadata entry"


def _plain(value):
    """JSON fallback for numbers that arrive as tensors or NumPy scalars (checkpoint metrics)."""
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def read_metadata(path: str | os.PathLike, model=None) -> dict:
    """The "jitteredge" metadata of an ONNX file; JitterEdgeError if it is not one of ours."""
    import onnx

    p = Path(path)
    if model is None:
        if not p.is_file():
            raise JitterEdgeError(f"{p}: no such ONNX model")
        try:
            model = onnx.load(str(p), load_external_data=False)
        except Exception as exc:  # onnx raises DecodeError and friends from protobuf
            raise JitterEdgeError(f"{p}: not an ONNX model ({type(exc).__name__})") from None
    props = {e.key: e.value for e in model.metadata_props}
    if METADATA_KEY not in props:
        raise JitterEdgeError(f"{p}: not a jitteredge model (no '{METADATA_KEY}' metadata; export it with 'jitteredge export')")
    try:
        meta = json.loads(props[METADATA_KEY])
    except json.JSONDecodeError:
        raise JitterEdgeError(f"{p}: the '{METADATA_KEY}' metadata entry is not JSON") from None
    if not isinstance(meta, dict) or "model_config" not in meta:
        raise JitterEdgeError(f"{p}: the '{METADATA_KEY}' metadata entry lacks model_config")
    names_in = [i.name for i in model.graph.input]
    names_out = [o.name for o in model.graph.output]
    if names_in != [INPUT_NAME] or names_out != [OUTPUT_NAME]:
        raise JitterEdgeError(f"{p}: expected input '{INPUT_NAME}' and output '{OUTPUT_NAME}', found {names_in} -> {names_out}")
    return meta


# -- export --------------------------------------------------------------------------------------
def export_onnx(net, path: str | os.PathLike, imgsz: tuple[int, int] | None, opset: int,
                meta: dict, sample_hw: tuple[int, int], stem_multiple: int = 0) -> Path:
    """Export ``net`` (a JitterNet) to ``path`` (FP32), embed ``meta``, run the full checker.

    Args:
        net: JitterNet (any head); exported through export_module (BN folded, code output).
        path: destination file (written directly: callers pass a temporary path).
        imgsz: fixed (H, W), or None for dynamic height and width (batch is always dynamic).
        opset: ONNX opset (>= 17).
        meta: build_metadata() dict.
        sample_hw: (H, W) of the tracing input when dynamic.
        stem_multiple: pad the stem to this many channels (pad_stem_channels); 0 = as trained.
    """
    import onnx
    import torch

    module = export_module(net, stem_multiple=stem_multiple)
    h, w = imgsz or sample_hw
    dummy = torch.zeros(1, 3, h, w)
    axes = {0: "batch"} if imgsz else {0: "batch", 2: "height", 3: "width"}
    # The TorchScript exporter (dynamo=False) gives a plain Conv/Relu/MaxPool/Concat graph; it warns
    # that it is the legacy path, which users of `jitteredge export` need not read.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(module, (dummy,), str(path), input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                          dynamic_axes={INPUT_NAME: axes, OUTPUT_NAME: axes}, opset_version=opset,
                          do_constant_folding=True, dynamo=False)
    model = onnx.load(str(path))
    pool_stem_before_relu(model)
    model = onnx.shape_inference.infer_shapes(model)
    embed_metadata(model, meta)
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, str(path))
    return Path(path)


def ort_session(path: str | os.PathLike, threads: int | None = None, optimized_path: str | None = None):
    """An ONNX Runtime CPU session with every graph optimisation (Q/DQ fusion included)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    if optimized_path:
        options.optimized_model_filepath = str(optimized_path)
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


def field_max_diff_px(code_a: np.ndarray, code_b: np.ndarray, code_scale_px: float = CODE_SCALE_PX) -> float:
    """Max |field_a - field_b| over pixels and components, in px, sign-invariant.

    Args:
        code_a, code_b: float32 (N, 2, H, W) codes.
    """
    fa = decode_field(np.moveaxis(code_a, 1, -1), code_scale_px)
    fb = decode_field(np.moveaxis(code_b, 1, -1), code_scale_px)
    # decode_field picks U >= 0; at U ~ 0 the two may pick opposite representatives of one blur.
    diff = np.minimum(np.abs(fa - fb).max(axis=-1), np.abs(fa + fb).max(axis=-1))
    return float(diff.max())


def compare_with_torch(net, onnx_path: str | os.PathLike, shapes: list[tuple[int, int]], seed: int = 0) -> float:
    """Run ``net`` in PyTorch and the ONNX file in ONNX Runtime on the same random inputs.

    Returns:
        max abs difference of the decoded field over ``shapes`` ((H, W) each), in px.
    """
    import torch
    from jitteredge.model import CodeOutput

    reference = CodeOutput(copy.deepcopy(net).eval()).eval()  # the unfolded model: checks the folding too
    session = ort_session(onnx_path)
    rng = np.random.default_rng(seed)
    worst = 0.0
    for h, w in shapes:
        x = rng.standard_normal((1, 3, h, w)).astype(np.float32) * 2.0
        with torch.no_grad():
            expected = reference(torch.from_numpy(x)).numpy()
        (got,) = session.run([OUTPUT_NAME], {INPUT_NAME: x})
        if got.shape != expected.shape:
            raise JitterEdgeError(f"{onnx_path}: ONNX output {got.shape} differs from PyTorch {expected.shape}")
        worst = max(worst, field_max_diff_px(expected, got))
    return worst


# -- FP16 ------------------------------------------------------------------------------------------
def convert_to_fp16(model):
    """An FP16 copy of an FP32 ModelProto whose input and output stay float32.

    For strongly typed TensorRT (11.x has no FP16 builder flag, precision comes from the ONNX): every
    float initializer becomes float16, a Cast after the input and one before the output keep the
    interface of the FP32 model, so runners need no change. Covers the ops this network uses
    (Conv, ConvTranspose, Relu, MaxPool, Concat, Softmax, Einsum/MatMul); value_info is dropped and
    re-inferred.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = copy.deepcopy(model)
    graph = model.graph
    for init in graph.initializer:
        if init.data_type == TensorProto.FLOAT:
            init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16), init.name))
    for node in graph.node:  # Constant nodes made by the exporter
        if node.op_type == "Constant":
            for attr in node.attribute:
                if attr.name == "value" and attr.t.data_type == TensorProto.FLOAT:
                    attr.t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(attr.t).astype(np.float16)))
    in_name, out_name = graph.input[0].name, graph.output[0].name
    half_in, half_out = f"{in_name}_fp16", f"{out_name}_fp16"
    for node in graph.node:
        node.input[:] = [half_in if n == in_name else n for n in node.input]
        node.output[:] = [half_out if n == out_name else n for n in node.output]
    graph.node.insert(0, helper.make_node("Cast", [in_name], [half_in], to=TensorProto.FLOAT16, name="input_to_fp16"))
    graph.node.append(helper.make_node("Cast", [half_out], [out_name], to=TensorProto.FLOAT, name="code_to_fp32"))
    del graph.value_info[:]
    model = onnx.shape_inference.infer_shapes(model)
    onnx.checker.check_model(model, full_check=True)
    return model
