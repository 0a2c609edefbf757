"""The refiner's network: a small U-Net that corrects what deconvolution leaves (ringing, amplified
noise, halos) given the deconvolved photo, the photo as taken and the field used.

Deconvolution with a hand-made prior (``solver``) stops near +2-3 dB on our synthetic samples because
the prior cannot tell ringing and amplified noise from detail; a network trained on (deconvolved,
truth) pairs can. It predicts a residual added to the deconvolved photo, so an untrained or zeroed
last layer gives the deconvolution back unchanged.

Input (N, 10, H, W), H and W multiples of ``RefinerConfig.multiple``, stored values in 0-1:
deconvolved RGB, photo RGB, the field as length and doubled angle (``field_features``: sign-free, as
(U, V) and (-U, -V) are the same blur) and the mask of the pixels deconvolution changed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

IN_CHANNELS = 10
FIELD_SCALE_PX = 16.0  # field features are lengths over this, so that common blurs read 0-2


@dataclass
class RefinerConfig:
    widths: tuple[int, ...] = (16, 32, 64)  # at 1, 1/2, 1/4 ... of the input: one level per width

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def multiple(self) -> int:
        """The input's sides must be multiples of this."""
        return 2 ** (len(self.widths) - 1)

    @property
    def receptive_radius_px(self) -> int:
        """How far (px) an output pixel sees: 2 (first block) + 1 (last conv) + per level i >= 1, at
        stride 2^i: the strided conv (2^(i-1)), two 3x3 convs each way (2 * 2^i), the up-sampling
        (2^(i-1)) and the decoder's two convs one level up (2^(i-1) each)."""
        return 3 + sum(2 ** (i - 1) * 2 + 2 ** (i + 1) + 2 ** i for i in range(1, len(self.widths)))


def field_features(field: torch.Tensor) -> torch.Tensor:
    """(N, 2, H, W) field in pixels -> (N, 3, H, W): length, and length x (cos 2a, sin 2a), over FIELD_SCALE_PX."""
    u, v = field[:, 0:1], field[:, 1:2]
    length = torch.sqrt(u * u + v * v)
    safe = length.clamp_min(1e-6)
    return torch.cat([length, (u * u - v * v) / safe, 2 * u * v / safe], 1) / FIELD_SCALE_PX


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(inplace=True),
                         nn.Conv2d(cout, cout, 3, padding=1), nn.ReLU(inplace=True))


class RefinerNet(nn.Module):
    def __init__(self, cfg: RefinerConfig = RefinerConfig()):
        super().__init__()
        w = tuple(cfg.widths)
        if len(w) < 2:
            raise ValueError(f"the refiner needs at least two widths, got {w}")
        self.cfg = cfg
        self.enc0 = _block(IN_CHANNELS, w[0])
        self.downs = nn.ModuleList(nn.Conv2d(w[i - 1], w[i], 3, stride=2, padding=1) for i in range(1, len(w)))
        self.encs = nn.ModuleList(_block(w[i], w[i]) for i in range(1, len(w)))
        # deepest first: ups[k] and decs[k] bring level len(w) - 1 - k up to the level above it
        self.ups = nn.ModuleList(nn.ConvTranspose2d(w[i], w[i - 1], 2, stride=2) for i in range(len(w) - 1, 0, -1))
        self.decs = nn.ModuleList(_block(2 * w[i - 1], w[i - 1]) for i in range(len(w) - 1, 0, -1))
        self.out = nn.Conv2d(w[0], 3, 3, padding=1)
        nn.init.zeros_(self.out.weight)  # starts as the identity on the deconvolved photo
        nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 10, H, W) input -> (N, 3, H, W) refined photo (deconvolved + residual), not clipped."""
        skips = [self.enc0(x)]
        for down, enc in zip(self.downs, self.encs):
            skips.append(enc(torch.relu(down(skips[-1]))))
        y = skips.pop()
        for up, dec in zip(self.ups, self.decs):
            y = dec(torch.cat([torch.relu(up(y)), skips.pop()], 1))
        return x[:, 0:3] + self.out(y)


def make_input(deconvolved: torch.Tensor, photo: torch.Tensor, field: torch.Tensor, changed: torch.Tensor) -> torch.Tensor:
    """The network's (N, 10, H, W) input from (N, 3, H, W) images in 0-1, the (N, 2, H, W) field in
    pixels and the (N, 1, H, W) 0/1 mask of the changed pixels."""
    return torch.cat([deconvolved, photo, field_features(field), changed], 1)
