"""Per-pixel uncertainty from class probabilities, and where it sits relative to boundaries.

- confidence: the largest class probability (1 = certain, 1/C = clueless);
- predictive entropy: H[p] = -sum_c p_c log p_c of the (mean) probabilities, in
  nats; log C at most. It is the *total* uncertainty;
- mutual information (Bayesian models only): H[mean_t p_t] - mean_t H[p_t]
  over T Monte-Carlo dropout samples, the part of the entropy that comes from
  the model disagreeing with itself (epistemic uncertainty); zero when all
  samples agree. As served, the samples also span the mirror image and two
  scales, and the split is exact only before the temperature: the entropy
  shown is of the tempered mean, the mutual information of the untempered
  samples, so that entropy is not exactly this plus a mean entropy. (Kendall
  et al.'s released code shows the samples' softmax variance instead.)
- boundary band: pixels within the BF score's tolerance (0.75% of the image
  diagonal) of a predicted class boundary; comparing mean uncertainty on the
  band with the interior shows whether a network is unsure *where* a boundary
  lies rather than *what* a region is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .metrics import BF_TOLERANCE, disk_dilate, label_edges

EPS = 1e-12


def confidence(probs: torch.Tensor, dim: int = 0) -> torch.Tensor:
    return probs.max(dim=dim).values


def entropy(probs: torch.Tensor, dim: int = 0) -> torch.Tensor:
    """Shannon entropy in nats along ``dim`` (0 log 0 taken as 0): one fused kernel, ``entr(p) = -p log p``."""
    return torch.special.entr(probs).sum(dim=dim)


def mutual_information(sample_probs: torch.Tensor) -> torch.Tensor:
    """BALD mutual information of (T,C,H,W) sample probabilities: H[mean] - mean H; >= 0."""
    mean = sample_probs.mean(dim=0)
    expected_entropy = entropy(sample_probs, dim=1).mean(dim=0)
    return (entropy(mean, dim=0) - expected_entropy).clamp(min=0)


def boundary_band(labels: torch.Tensor, tolerance: float = BF_TOLERANCE) -> torch.Tensor:
    """(H,W) bool: pixels within ``tolerance`` x diagonal of a boundary between predicted classes."""
    h, w = labels.shape
    return disk_dilate(label_edges(labels).unsqueeze(0), tolerance * math.hypot(h, w))[0]


@dataclass
class BoundaryUncertainty:
    """Uncertainty on the band around predicted boundaries against the interior."""

    band: torch.Tensor  # (H,W) bool
    band_map: torch.Tensor  # (H,W) uncertainty on the band, NaN elsewhere
    band_mean: float | None  # None: no boundary, so no band (one class everywhere)
    interior_mean: float | None  # None: the band covers the picture (a tiny or very busy one)

    @property
    def ratio(self) -> float | None:
        """How many times more uncertain the band is than the interior; None where either is empty or the interior
        is certain: no number says that (a 0 or inf would also be read as a figure, and is no JSON)."""
        if self.band_mean is None or self.interior_mean is None or self.interior_mean <= 0:
            return None
        return self.band_mean / self.interior_mean


def boundary_uncertainty(uncertainty: torch.Tensor, labels: torch.Tensor, tolerance: float = BF_TOLERANCE) -> BoundaryUncertainty:
    """Split an (H,W) uncertainty map by the boundary band of ``labels``."""
    band = boundary_band(labels, tolerance)
    band_map = torch.where(band, uncertainty, torch.full_like(uncertainty, float("nan")))
    band_mean = float(uncertainty[band].mean()) if band.any() else None
    interior = ~band
    interior_mean = float(uncertainty[interior].mean()) if interior.any() else None
    return BoundaryUncertainty(band=band, band_map=band_map, band_mean=band_mean, interior_mean=interior_mean)
