"""The refiner's network: a small U-Net that corrects what deconvolution leaves (ringing, amplified
noise, halos) given the deconvolved photo, the photo as taken and the field used.

Deconvolution with a hand-made prior (``solver``) stops near +2-3 dB on our synthetic samples because
the prior cannot tell ringing and amplified noise from detail; a network trained on (deconvolved,
truth) pairs can. It predicts a residual added to the deconvolved photo, so an untrained or zeroed
last layer gives the deconvolution back unchanged.

Input (N, 10, H, W), H and W multiples of 4, stored values in 0-1:
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
    widths: tuple[int, int, int] = (16, 32, 64)  # at 1, 1/2 and 1/4 of the input

    def to_dict(self) -> dict:
        return asdict(self)


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
        w0, w1, w2 = cfg.widths
        self.cfg = cfg
        self.enc0 = _block(IN_CHANNELS, w0)
        self.down1 = nn.Conv2d(w0, w1, 3, stride=2, padding=1)
        self.enc1 = _block(w1, w1)
        self.down2 = nn.Conv2d(w1, w2, 3, stride=2, padding=1)
        self.mid = _block(w2, w2)
        self.up2 = nn.ConvTranspose2d(w2, w1, 2, stride=2)
        self.dec1 = _block(2 * w1, w1)
        self.up1 = nn.ConvTranspose2d(w1, w0, 2, stride=2)
        self.dec0 = _block(2 * w0, w0)
        self.out = nn.Conv2d(w0, 3, 3, padding=1)
        nn.init.zeros_(self.out.weight)  # starts as the identity on the deconvolved photo
        nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 10, H, W) input -> (N, 3, H, W) refined photo (deconvolved + residual), not clipped."""
        e0 = self.enc0(x)
        e1 = self.enc1(torch.relu(self.down1(e0)))
        m = self.mid(torch.relu(self.down2(e1)))
        d1 = self.dec1(torch.cat([torch.relu(self.up2(m)), e1], 1))
        d0 = self.dec0(torch.cat([torch.relu(self.up1(d1)), e0], 1))
        return x[:, 0:3] + self.out(d0)


def make_input(deconvolved: torch.Tensor, photo: torch.Tensor, field: torch.Tensor, changed: torch.Tensor) -> torch.Tensor:
    """The network's (N, 10, H, W) input from (N, 3, H, W) images in 0-1, the (N, 2, H, W) field in
    pixels and the (N, 1, H, W) 0/1 mask of the changed pixels."""
    return torch.cat([deconvolved, photo, field_features(field), changed], 1)
