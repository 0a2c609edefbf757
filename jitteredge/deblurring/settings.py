"""The settings of ``jitteredge.deblur``: one small dataclass, written into the output's metadata."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from jitteredge.evidence import EVIDENCE_MIN_STD, EVIDENCE_RADIUS
from jitteredge.verdict import SHAKEN_PX

METHODS = ("hyper-laplacian", "rl-tv")


@dataclass(frozen=True)
class DeblurSettings:
    """How a photo is restored. Lengths are in the photo's pixels unless a name says otherwise."""

    method: str = "rl-tv"  # "rl-tv": Richardson-Lucy with total variation (Dey et al. 2006); "hyper-laplacian":
    #                        least squares + |grad|^0.8 prior (Krishnan & Fergus 2009) by reweighted conjugate
    #                        gradients. rl-tv gained 0.6-1.3 dB more on BSDS500 val/ (README "Deblur").
    iterations: int = 18  # operator applications (one blur + one adjoint each): CG steps or RL iterations
    reweight_every: int = 6  # hyper-laplacian: CG steps between two re-weightings of the prior
    strength: float = 1.0  # > 1 sharper (weaker prior, more noise and ringing), < 1 gentler
    prior_weight: float = 0.002  # hyper-laplacian lambda at strength 1 (linear light, 0-1)
    prior_power: float = 0.8  # hyper-laplacian exponent alpha (2: Tikhonov, 1: TV, < 1: sparse gradients)
    tv_weight: float = 0.01  # rl-tv lambda at strength 1
    gamma: float = 2.2  # response curve undone before the blur model (linear light) and redone after
    clip_level: float = 250 / 255  # an observed pixel at or above this (any channel, 0-1) is clipped:
    #                                 left out of the data term (Whyte et al. 2014)
    shaken_px: float = SHAKEN_PX  # a pixel whose blur is not longer than this comes back unchanged
    evidence_radius_px: int = EVIDENCE_RADIUS  # flat-area test (jitteredge.evidence) when no mask is given:
    evidence_min_std: int = EVIDENCE_MIN_STD  # flat pixels come back unchanged
    tile_px: int = 512  # side of the tiles solved one at a time (memory follows the tile, not the photo)
    overlap_px: int = 8  # margin added to each tile beyond the longest blur near it
    local_range: bool = True  # clamp each restored pixel to the photo's range within half its tile's
    #                           longest blur: overshoot past it is the halo and ringing of a wrong kernel
    refine: bool = True  # correct the deconvolved pixels with the learned refiner (``refiner``): it removes
    #                      the ringing and noise the prior leaves (README "Deblur")
    refiner: str = ""  # the refiner's weights file ("": the shipped jitteredge/weights/deblur_refiner.pt)

    def validate(self) -> "DeblurSettings":
        """Raise ValueError naming the first bad field; return self."""
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}, got {self.method!r}")
        checks = {"iterations": self.iterations >= 0, "reweight_every": self.reweight_every >= 1,
                  "strength": self.strength > 0, "prior_weight": self.prior_weight > 0,
                  "prior_power": 0 < self.prior_power <= 2, "tv_weight": self.tv_weight >= 0,
                  "gamma": self.gamma > 0, "clip_level": 0 < self.clip_level <= 1, "shaken_px": self.shaken_px >= 0,
                  "evidence_radius_px": self.evidence_radius_px >= 0, "evidence_min_std": self.evidence_min_std >= 0,
                  "tile_px": self.tile_px >= 32, "overlap_px": self.overlap_px >= 0}
        for name, ok in checks.items():
            if not ok:
                raise ValueError(f"deblur setting {name} = {getattr(self, name)!r} is out of range")
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "DeblurSettings":
        """Rebuild from ``to_dict`` output; unknown keys are refused."""
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown DeblurSettings keys: {sorted(unknown)}")
        return cls(**data)
