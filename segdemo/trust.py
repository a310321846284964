"""How far the confidence can be trusted, measured over a dataset one batch at a time (``evaluate`` drives it).

From the logits the network gives at its working resolution, ``TrustMeter``
builds the class probabilities exactly as ``predict`` serves them (the
Monte-Carlo samples averaged with the checkpoint's temperature applied where
its ``temperature_scope`` says, ``segdemo.calibration.tempered_mean``; resized
bilinearly to the label resolution) and measures:

- calibration (ECE, reliability bins, NLL, Brier; ``segdemo.calibration``)
  without temperature (T = 1) and with the checkpoint's fitted temperature,
  and for a Bayesian model also with dropout off (one pass), so that what
  Monte-Carlo averaging does for calibration shows beside what temperature
  scaling does;
- uncertainty as an error detector, on the probabilities as served: the
  AUROC of normalised entropy (and, for Bayesian models, mutual information)
  at telling wrong pixels from right ones, and accuracy against the fraction
  of most-certain pixels kept, over all labelled pixels and over the band of
  pixels within the BF tolerance (0.75% of the image diagonal, 4.5 pixels at
  360x480) of a ground-truth boundary: ``segdemo.uncertainty``'s boundary
  band drawn around the true boundaries instead of the predicted ones. Void's
  edges count as boundaries (the band's void pixels themselves are left out),
  as the BF score takes them.

Void pixels take no part in any figure. Nothing grows with the dataset: the
meters keep bin counts and sums.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from .calibration import CalibrationMeter, ErrorDetectionMeter, tempered_mean
from .metrics import BF_TOLERANCE
from .uncertainty import boundary_band, entropy, mutual_information


def served_probabilities(
    logits: torch.Tensor, temperature: float, out_size: tuple[int, int], scope: str = "samples"
) -> tuple[torch.Tensor, torch.Tensor]:
    """(N,C,H,W) probabilities at ``out_size`` from (N,S,C,h,w) logits, and the (N,S,C,h,w) sample probabilities."""
    probs, sample_probs = tempered_mean(logits, temperature, scope)
    if tuple(probs.shape[-2:]) != tuple(out_size):
        probs = F.interpolate(probs, size=out_size, mode="bilinear", align_corners=False)
    return probs, sample_probs


class TrustMeter:
    """Calibration before/after temperature scaling (per sample count) and error detection, streamed."""

    def __init__(
        self, temperature: float = 1.0, samples: int = 1, ignore_index: int = 11, temperature_scope: str = "samples"
    ) -> None:
        self.temperature = float(temperature)
        self.temperature_scope = temperature_scope
        self.samples = int(samples)
        self.ignore_index = ignore_index
        self.variants = {"uncalibrated": 1.0, "calibrated": self.temperature}
        counts = [self.samples] + ([1] if self.samples > 1 else [])
        self.calibration = {s: {v: CalibrationMeter(ignore_index=ignore_index) for v in self.variants} for s in counts}
        scores = ("entropy", "mutual_information") if self.samples > 1 else ("entropy",)
        self.errors = ErrorDetectionMeter(scores=scores)

    @property
    def wants_single_pass(self) -> bool:
        """A Bayesian model's dropout-off pass is measured too (``update``'s ``single_logits``)."""
        return 1 in self.calibration and self.samples > 1

    def update(
        self, logits: torch.Tensor, labels: torch.Tensor, single_logits: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Add a batch: (N,S,C,h,w) logits of ``samples`` passes and (N,H,W) labels; returns the served probabilities."""
        out_size = tuple(labels.shape[-2:])
        labels = labels.cpu()
        served = None
        computed: dict[float, tuple[torch.Tensor, torch.Tensor]] = {}  # without a temperature both variants are one
        for name, temperature in self.variants.items():
            if temperature not in computed:
                computed[temperature] = served_probabilities(logits, temperature, out_size, self.temperature_scope)
            probs, sample_probs = computed[temperature]
            self.calibration[self.samples][name].update(probs, labels)
            if name == "calibrated":
                served = probs
                self._update_errors(probs, sample_probs, labels)
        if single_logits is not None and 1 in self.calibration and self.samples > 1:
            for name, temperature in self.variants.items():
                probs, _ = served_probabilities(single_logits, temperature, out_size)
                self.calibration[1][name].update(probs, labels)
        assert served is not None
        return served

    def _update_errors(self, probs: torch.Tensor, sample_probs: torch.Tensor, labels: torch.Tensor) -> None:
        probs = probs.cpu()
        log_c = math.log(probs.shape[1])
        uncertainty = {"entropy": entropy(probs, dim=1) / log_c}
        if "mutual_information" in self.errors.scores:
            mi = torch.stack([mutual_information(s) for s in sample_probs])  # (N,h,w), at the working resolution
            mi = F.interpolate(mi[:, None], size=probs.shape[-2:], mode="bilinear", align_corners=False)[:, 0]
            uncertainty["mutual_information"] = mi.cpu().clamp(min=0) / log_c
        valid = labels != self.ignore_index
        band = torch.stack([boundary_band(label, BF_TOLERANCE) for label in labels]) & valid
        correct = probs.max(dim=1).indices == labels
        self.errors.update(uncertainty, correct, {"all": valid, "band": band})

    def summary(self) -> dict[str, Any]:
        """The ``calibration`` and ``error_detection`` blocks of eval.json."""
        served = self.calibration[self.samples]
        calibration: dict[str, Any] = {
            "bins": served["calibrated"].bins,
            "temperature": self.temperature,
            "temperature_scope": self.temperature_scope,
            "samples": self.samples,
            "uncalibrated": served["uncalibrated"].summary(),
            "calibrated": served["calibrated"].summary(),
        }
        if self.samples > 1:
            calibration["by_samples"] = {
                str(count): {name: meter.summary() for name, meter in meters.items()}
                for count, meters in sorted(self.calibration.items())
            }
        errors = {
            "scores": list(self.errors.scores),
            "band_definition": f"labelled pixels within {BF_TOLERANCE:.2%} of the image diagonal of a ground-truth "
                               "boundary (between two classes, or a class and void)",
            "band_tolerance": BF_TOLERANCE,
            "uses": "normalised (divided by log C) entropy and mutual information of the probabilities as served",
            **self.errors.summary(),
        }
        return {"calibration": calibration, "error_detection": errors}
