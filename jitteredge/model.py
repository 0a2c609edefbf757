"""The jitter analysis network (patent claims 3-4, [0067]): a fully convolutional encoder-decoder.

Encoder: convolution + max pooling three times (1/2, 1/4, 1/8 of the input) and a bottleneck below
that; decoder: transposed convolutions back up, concatenating the pool3 and pool2 features (the
patent's skip connections), then a head at 1/4 resolution and a fixed-shape transposed convolution
(initialised to bilinear interpolation, learnable) back to the input size. The field is smooth, so
the network does little work at full resolution; that is what keeps the `edge` preset fast.

The `edge2` preset (SpaceToDepthNet) replaces the full-resolution stem with a lossless 4x4
space-to-depth convolution and works at 1/4-1/16 only; enc_widths are then its widths at 1/4 and 1/8
and bottleneck_widths its two convolutions at 1/16.

Output: (N, 2, H, W) doubled-angle code of the field (jitteredge.fieldcode) for head="regression",
or (N, K, H/4, W/4) logits over K discretised codes for head="classes" (the softmax expectation of
the class codes is upsampled instead of K logit maps: 70x less work at full resolution). Either way
``predict_code(x)`` gives the (N, 2, H, W) code. Input: (N, 3, H, W), H and W multiples of 16.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn

from jitteredge.fieldcode import CODE_SCALE_PX


STEMS = ("conv_pool", "space_to_depth")


@dataclass
class ModelConfig:
    preset: str = "edge"  # registry name the shape came from
    in_channels: int = 3  # RGB
    stem: str = "conv_pool"  # "conv_pool" (the patent's conv + pooling) or "space_to_depth" (see SpaceToDepthNet)
    enc_widths: tuple[int, ...] = (12, 24, 48)  # conv widths before pool1, pool2, pool3
    convs_per_stage: int = 1  # convolutions before each pooling
    bottleneck_widths: tuple[int, int] = (64, 96)  # at 1/8, then at 1/16 after a fourth pooling
    dec_widths: tuple[int, int] = (48, 32)  # decoder widths at 1/8 and 1/4
    head: str = "regression"  # "regression" (squared loss, claim 5) or "classes" (softmax, Gong)
    num_classes: int = 0  # classes for head="classes" (0: 1 + magnitude_bins * orientation_bins); 0 for regression
    magnitude_bins: int = 12  # head="classes": nonzero blur lengths, spaced finer near zero
    orientation_bins: int = 12  # head="classes": blur orientations over [0, 180) degrees
    class_max_px: float = 40.0  # head="classes": longest blur length class (px)

    def __post_init__(self):
        if self.stem not in STEMS:
            raise ValueError(f"unknown stem {self.stem!r}; choose from {sorted(STEMS)}")
        if self.stem == "space_to_depth" and len(self.enc_widths) != 2:
            raise ValueError("stem 'space_to_depth' takes two enc_widths (at 1/4 and 1/8 of the input)")
        if self.head not in ("regression", "classes"):
            raise ValueError(f"unknown head {self.head!r}; choose 'regression' or 'classes'")
        if self.head == "classes" and self.num_classes == 0:
            self.num_classes = 1 + self.magnitude_bins * self.orientation_bins

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown model config keys: {sorted(unknown)}")
        d = dict(d)
        for k in ("enc_widths", "bottleneck_widths", "dec_widths"):
            if k in d:
                d[k] = tuple(d[k])
        return cls(**d)


PRESETS: dict[str, ModelConfig] = {
    "edge": ModelConfig(),
    # Every pixel kept by a lossless 4x4 space-to-depth, the work at 1/4-1/16: a receptive field twice
    # the edge preset's (long blurs), INT8 2.7-3.1 ms against edge's 3.5 at 256 px on one core.
    "edge2": ModelConfig(preset="edge2", stem="space_to_depth", enc_widths=(32, 64), convs_per_stage=2,
                         bottleneck_widths=(128, 128), dec_widths=(64, 32)),
    # The patent's figure: 86, 86, 256, 256, 512, 512 feature maps.
    "paper": ModelConfig(preset="paper", enc_widths=(86, 256, 512), convs_per_stage=2,
                         bottleneck_widths=(512, 512), dec_widths=(256, 128)),
}


def class_radii_px(magnitude_bins: int, class_max_px: float) -> torch.Tensor:
    """Blur lengths of the classes, float64 (magnitude_bins + 1,): 0 (no blur), then
    r_m = class_max_px * (m / M) ** 1.5, finer near zero where the 2 px shaken threshold lies."""
    return class_max_px * (torch.arange(0, magnitude_bins + 1, dtype=torch.float64) / magnitude_bins) ** 1.5


def class_codes(config: ModelConfig, code_scale_px: float = CODE_SCALE_PX) -> torch.Tensor:
    """The code of every class of head="classes": float32 (K, 2), divided by ``code_scale_px``.

    Class 0 is "no blur"; then ``magnitude_bins`` lengths r_m = class_max_px * (m / M) ** 1.5 (finer
    near zero, where the 2 px shaken threshold lies) times ``orientation_bins`` orientations over
    [0, 180) degrees, placed on the doubled-angle code (jitteredge.fieldcode), which makes the classes
    sign-invariant like Gong's U >= 0 folding but without his seam at U = 0.
    """
    m_bins, o_bins = config.magnitude_bins, config.orientation_bins
    if config.num_classes != 1 + m_bins * o_bins:
        raise ValueError(f"num_classes {config.num_classes} != 1 + {m_bins} * {o_bins}")
    radii = class_radii_px(m_bins, config.class_max_px)[1:]
    doubled = 2.0 * math.pi * torch.arange(o_bins, dtype=torch.float64) / o_bins  # 2 phi
    r = radii[:, None].expand(m_bins, o_bins)
    codes = torch.stack([r * torch.cos(doubled)[None], r * torch.sin(doubled)[None]], dim=-1).reshape(-1, 2)
    codes = torch.cat([torch.zeros(1, 2, dtype=torch.float64), codes], dim=0) / code_scale_px
    return codes.float()


def conv_bn_relu(cin: int, cout: int) -> nn.Sequential:
    # Conv -> BN -> ReLU folds into one quantized conv on export.
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


def stage(cin: int, cout: int, n: int) -> nn.Sequential:
    return nn.Sequential(*[conv_bn_relu(cin if k == 0 else cout, cout) for k in range(n)])


def up2(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.ConvTranspose2d(cin, cout, 2, stride=2, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


def bilinear_upsampler(channels: int, factor: int) -> nn.ConvTranspose2d:
    """A depthwise transposed convolution that starts as exact bilinear upsampling by ``factor``."""
    k = 2 * factor
    layer = nn.ConvTranspose2d(channels, channels, k, stride=factor, padding=factor // 2, groups=channels, bias=False)
    centre = (k - 1) / 2.0
    ramp = 1.0 - (torch.arange(k, dtype=torch.float32) - centre).abs() / factor
    with torch.no_grad():
        layer.weight.copy_((ramp[:, None] * ramp[None, :]).expand(channels, 1, k, k))
    return layer


class _CodeHead(nn.Module):
    """What every architecture shares: the head's output -> the (N, 2, H, W) code."""

    config: ModelConfig
    upsample: nn.ConvTranspose2d

    def _make_head(self, width: int) -> None:
        c = self.config
        out_ch = 2 if c.head == "regression" else c.num_classes
        if out_ch < 2:
            raise ValueError("head='classes' needs num_classes >= 2")
        self.head = nn.Conv2d(width, out_ch, 1)
        self.upsample = bilinear_upsampler(2, 4)  # the code, for both heads
        if c.head == "classes":
            # Derived from the config, so not part of the state_dict.
            self.register_buffer("class_codes", class_codes(c), persistent=False)

    def _finish(self, y: torch.Tensor) -> torch.Tensor:
        out = self.head(y)
        return self.upsample(out) if self.config.head == "regression" else out

    def to_code(self, output: torch.Tensor) -> torch.Tensor:
        """forward() output -> (N, 2, H, W) code: identity for regression; for head="classes" the
        softmax expectation of the class codes at 1/4 resolution (continuous, so sub-bin lengths
        survive), upsampled to the input size."""
        if self.config.head == "regression":
            return output
        return self.upsample(self.expected_code(output))

    def expected_code(self, logits: torch.Tensor) -> torch.Tensor:
        """(N, K, h, w) class logits -> (N, 2, h, w) softmax expectation of the class codes."""
        prob = torch.softmax(logits.float(), dim=1)
        return torch.einsum("nkhw,kc->nchw", prob, self.class_codes)

    def predict_code(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) normalised input -> (N, 2, H, W) code, whatever the head."""
        return self.to_code(self(x))


class JitterNet(_CodeHead):
    """The patent's layout: convolution + pooling from the full-resolution input down."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        c = config
        self.config = c
        e1, e2, e3 = c.enc_widths
        b1, b2 = c.bottleneck_widths
        d8, d4 = c.dec_widths
        self.pool = nn.MaxPool2d(2)
        self.stage1 = stage(c.in_channels, e1, c.convs_per_stage)
        self.stage2 = stage(e1, e2, c.convs_per_stage)
        self.stage3 = stage(e2, e3, c.convs_per_stage)
        self.bottleneck8 = conv_bn_relu(e3, b1)
        self.bottleneck16 = conv_bn_relu(b1, b2)
        self.up16 = up2(b2, d8)
        self.fuse8 = conv_bn_relu(d8 + b1 + e3, d8)  # skip: pool3 features (and the bottleneck at 1/8)
        self.up8 = up2(d8, d4)
        self.fuse4 = conv_bn_relu(d4 + e2, d4)  # skip: pool2 features
        self._make_head(d4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pool1 = self.pool(self.stage1(x))
        pool2 = self.pool(self.stage2(pool1))
        pool3 = self.pool(self.stage3(pool2))
        b8 = self.bottleneck8(pool3)
        b16 = self.bottleneck16(self.pool(b8))
        y = self.fuse8(torch.cat([self.up16(b16), b8, pool3], dim=1))
        y = self.fuse4(torch.cat([self.up8(y), pool2], dim=1))
        return self._finish(y)


def space_to_depth_conv(channels: int, block: int) -> nn.Conv2d:
    """A ``block`` x ``block`` stride-``block`` convolution that starts as an exact space-to-depth
    (PixelUnshuffle's channel order) and stays learnable.

    As a convolution it exports to one Conv that ONNX Runtime and TensorRT run fast, where
    PixelUnshuffle exports to a 6-D Transpose that took a third of the INT8 model's time.
    """
    out = channels * block * block
    layer = nn.Conv2d(channels, out, block, stride=block, bias=False)
    with torch.no_grad():
        layer.weight.zero_()
        for k in range(out):
            c, r = divmod(k, block * block)
            layer.weight[k, c, r // block, r % block] = 1.0
    return layer


class SpaceToDepthNet(_CodeHead):
    """Space-to-depth stem: each 4x4 block of pixels becomes 48 channels at 1/4 resolution.

    Lossless (every pixel reaches the first convolution, which sees a 12x12 window), and no layer
    runs at full resolution, so the budget buys depth and a wide receptive field instead: two
    convolutions at 1/4, two at 1/8, two at 1/16, and the decoder back to 1/4 with skips.
    """

    def __init__(self, config: ModelConfig):
        super().__init__()
        c = config
        self.config = c
        e4, e8 = c.enc_widths
        b1, b2 = c.bottleneck_widths
        d8, d4 = c.dec_widths
        n = c.convs_per_stage
        self.pool = nn.MaxPool2d(2)
        self.space_to_depth = space_to_depth_conv(c.in_channels, 4)
        self.stage4 = stage(16 * c.in_channels, e4, n)
        self.stage8 = stage(e4, e8, n)
        self.stage16 = nn.Sequential(conv_bn_relu(e8, b1), conv_bn_relu(b1, b2))
        self.up16 = up2(b2, d8)
        self.fuse8 = conv_bn_relu(d8 + e8, d8)  # skip: the 1/8 features
        self.up8 = up2(d8, d4)
        self.fuse4 = conv_bn_relu(d4 + e4, d4)  # skip: the 1/4 features
        self._make_head(d4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f4 = self.stage4(self.space_to_depth(x))
        f8 = self.stage8(self.pool(f4))
        f16 = self.stage16(self.pool(f8))
        y = self.fuse8(torch.cat([self.up16(f16), f8], dim=1))
        y = self.fuse4(torch.cat([self.up8(y), f4], dim=1))
        return self._finish(y)


class CodeOutput(nn.Module):
    """Wraps a network so forward() always returns the (N, 2, H, W) code (for export and runners)."""

    def __init__(self, net: _CodeHead):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.predict_code(x)


def build_model(config: ModelConfig | str = "edge") -> JitterNet | SpaceToDepthNet:
    if isinstance(config, str):
        if config not in PRESETS:
            raise ValueError(f"unknown model preset {config!r}; choose from {sorted(PRESETS)}")
        config = PRESETS[config]
    return SpaceToDepthNet(config) if config.stem == "space_to_depth" else JitterNet(config)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
