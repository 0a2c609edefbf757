"""Training losses on the doubled-angle field code (patent claim 5, [0068]-[0070]).

Both heads share one extra term, the *false-shake penalty*: where the true field is zero (sharp and
defocused samples, [0071]) any predicted blur longer than ``margin_px`` is penalised quadratically.
The squared code loss alone already pulls those pixels to zero, but a defocused photo looks blurred,
so the network is tempted to hedge with a short blur everywhere; the penalty makes that hedge cost
more exactly where it would flip a verdict (the shaken threshold is 2 px, jitteredge.verdict).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from jitteredge.fieldcode import CODE_SCALE_PX
from jitteredge.model import class_radii_px


@dataclass
class LossConfig:
    zero_weight: float = 4.0  # weight of the false-shake penalty (0 turns it off)
    margin_px: float = 1.0  # predicted blur (px) tolerated on zero-field pixels before the penalty starts
    zero_eps_px: float = 1e-3  # a true blur shorter than this counts as "no blur"


def false_shake_penalty(code: torch.Tensor, target: torch.Tensor, cfg: LossConfig) -> torch.Tensor:
    """Mean over zero-field pixels of relu(|predicted blur| - margin)^2, in code units squared.

    Args:
        code: float (N, 2, H, W) predicted code (divided by CODE_SCALE_PX).
        target: float (N, 2, H, W) true code.
    Returns:
        scalar tensor; 0 when no pixel of the batch has a zero field.
    """
    # Masked sums, not boolean indexing, and plain elementwise lengths, not Tensor.norm: on the CPU the
    # indexed gather/scatter and norm's backward were slow paths that took longer than the network.
    zero = (_squared_length(target) < (cfg.zero_eps_px / CODE_SCALE_PX) ** 2).to(code.dtype)  # (N, H, W)
    count = zero.sum()
    if not bool(count > 0):
        return code.sum() * 0.0  # keeps the graph (DDP wants every output used)
    length = torch.sqrt(_squared_length(code) + 1e-12)  # the epsilon keeps the gradient finite at 0
    excess = F.relu(length - cfg.margin_px / CODE_SCALE_PX)
    return (excess * excess * zero).sum() / count


def _squared_length(code: torch.Tensor) -> torch.Tensor:
    """(N, 2, H, W) -> (N, H, W) squared length of each pixel's code."""
    return code[:, 0] * code[:, 0] + code[:, 1] * code[:, 1]


def regression_loss(code: torch.Tensor, target: torch.Tensor, cfg: LossConfig) -> tuple[torch.Tensor, dict]:
    """Squared Euclidean distance per pixel between predicted and true code (claim 5), plus the penalty.

    Returns:
        (scalar loss, dict of float parts for the log).
    """
    code = code.float().contiguous()  # the target's layout: elementwise work on matching strides
    squared = _squared_length(code - target).mean()
    penalty = false_shake_penalty(code, target, cfg)
    loss = squared + cfg.zero_weight * penalty
    return loss, {"squared": float(squared.detach()), "false_shake": float(penalty.detach())}


def class_targets(target: torch.Tensor, magnitude_bins: int, orientation_bins: int, class_max_px: float) -> torch.Tensor:
    """True code (N, 2, H, W) -> int64 (N, H, W) index of the nearest class of model.class_codes.

    Class 0 is no blur; class 1 + m * orientation_bins + o has length bin m and orientation bin o.
    """
    radius_px = target.norm(dim=1) * CODE_SCALE_PX
    radii = class_radii_px(magnitude_bins, class_max_px).to(device=target.device, dtype=torch.float32)
    m = (radius_px[..., None] - radii).abs().argmin(dim=-1)  # 0 = no blur
    doubled = torch.atan2(target[:, 1], target[:, 0]) % (2.0 * math.pi)
    o = torch.round(doubled / (2.0 * math.pi / orientation_bins)).long() % orientation_bins
    return torch.where(m == 0, torch.zeros_like(m), 1 + (m - 1) * orientation_bins + o)


def classes_loss(logits: torch.Tensor, code: torch.Tensor, target: torch.Tensor, magnitude_bins: int,
                 orientation_bins: int, class_max_px: float, cfg: LossConfig) -> tuple[torch.Tensor, dict]:
    """Per-pixel softmax cross-entropy over discretised codes (Gong et al.), plus the penalty on the
    expected code (the one inference reads out).

    Args:
        logits: (N, K, h, w), h and w the target's size divided by an integer (the classes head
            predicts at 1/4 resolution); the target code is area-averaged to that size for the
            cross-entropy (the code is continuous, so averaging it is meaningful).
        code: (N, 2, H, W) the code inference reads out (JitterNet.to_code(logits)), for the penalty.
        target: (N, 2, H, W) true code.
    """
    factor = target.shape[-1] // logits.shape[-1]
    small = F.avg_pool2d(target, factor) if factor > 1 else target
    labels = class_targets(small, magnitude_bins, orientation_bins, class_max_px)
    ce = F.cross_entropy(logits.float(), labels)
    penalty = false_shake_penalty(code.float(), target, cfg)
    loss = ce + cfg.zero_weight * penalty
    return loss, {"cross_entropy": float(ce.detach()), "false_shake": float(penalty.detach())}
