"""Can a visitor trust the probabilities? The maths, with no model or UI in it.

Calibration (a pixel shown at 90% confidence should be right 90% of the time):

- **ECE**, expected calibration error (Guo et al. 2017): pixels are put in 15
  equal-width confidence bins (lower, upper]; ECE = sum_b n_b/N |acc_b - conf_b|.
  0 is perfect; a model always 100% sure and right half the time scores 0.5.
  The bins themselves are the reliability diagram;
- **NLL**, mean -log p(true class), probabilities floored at 1e-12;
- **Brier score**, mean over pixels of sum_c (p_c - y_c)^2 (the multi-class
  form: 0 perfect, 2 at worst).

Temperature scaling divides the logits by one scalar T before the softmax;
``fit_temperature`` finds the T that minimises NLL on frames the model was not
trained on. It never changes a single pass's argmax.

Uncertainty as an error detector: the AUROC of a per-pixel uncertainty (high =
probably wrong) at separating wrong pixels from right ones, and the accuracy
of the most-certain fraction of pixels (keep the 50% most certain: how
accurate are they?). Over a dataset they come from histograms of the
uncertainty of right and wrong pixels (``ErrorDetectionMeter``), so that no
pixel needs to be held; ``auroc_exact`` and ``accuracy_kept_exact`` are the
small-array definitions the histogram versions are tested against.

Void pixels take no part: callers pass ``valid`` masks (the meters take the
label map and skip ``ignore_index``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

ECE_BINS = 15
PROB_FLOOR = 1e-12
UNCERTAINTY_BINS = 2048  # histogram bins of a [0, 1] uncertainty: bin 0 holds <= 1e-6, the rest are log-spaced
UNCERTAINTY_DECADES = 6
KEPT_FRACTIONS = tuple(round(0.02 * k, 2) for k in range(1, 51))  # 2%, 4%, ..., 100% of the pixels kept


# -- calibration ---------------------------------------------------------


def confidence_bin(confidence: torch.Tensor, bins: int = ECE_BINS) -> torch.Tensor:
    """Index of each confidence's bin (lower, upper]; 0 goes to the first bin."""
    return (torch.ceil(confidence.double() * bins) - 1).clamp(0, bins - 1).long()


def expected_calibration_error(confidence: Sequence[float] | torch.Tensor, correct: Sequence[bool] | torch.Tensor,
                               bins: int = ECE_BINS) -> float:
    """ECE of a small set of predictions, straight from the definition (the meters' reference)."""
    conf = torch.as_tensor(confidence, dtype=torch.float64).flatten()
    right = torch.as_tensor(correct, dtype=torch.float64).flatten()
    if conf.numel() == 0:
        return float("nan")
    index = confidence_bin(conf, bins)
    total = 0.0
    for b in range(bins):
        members = index == b
        if members.any():
            total += float(members.sum()) * abs(float(right[members].mean()) - float(conf[members].mean()))
    return total / conf.numel()


@dataclass
class CalibrationMeter:
    """Streams ECE, the reliability diagram, NLL and Brier over batches of class probabilities.

    Holds 15 bins of (count, sum of confidence, sum of correct) and three
    running sums, whatever the number of pixels.
    """

    bins: int = ECE_BINS
    ignore_index: int = 11
    count: torch.Tensor = field(init=False)
    confidence_sum: torch.Tensor = field(init=False)
    correct_sum: torch.Tensor = field(init=False)
    nll_sum: float = 0.0
    brier_sum: float = 0.0
    pixels: int = 0

    def __post_init__(self) -> None:
        self.count = torch.zeros(self.bins, dtype=torch.float64)
        self.confidence_sum = torch.zeros(self.bins, dtype=torch.float64)
        self.correct_sum = torch.zeros(self.bins, dtype=torch.float64)

    def update(self, probs: torch.Tensor, target: torch.Tensor) -> None:
        """Add (N,C,H,W) probabilities and their (N,H,W) labels (``ignore_index`` skipped)."""
        probs, target = probs.detach().float().cpu(), target.cpu()
        num_classes = probs.shape[1]
        valid = (target != self.ignore_index) & (target >= 0) & (target < num_classes)
        if not valid.any():
            return
        flat = probs.movedim(1, -1)[valid]  # (P, C)
        labels = target[valid].long()
        top, predicted = flat.max(dim=1)
        right = (predicted == labels).double()
        index = confidence_bin(top, self.bins)
        self.count += torch.bincount(index, minlength=self.bins).double()
        self.confidence_sum += torch.bincount(index, weights=top.double(), minlength=self.bins)
        self.correct_sum += torch.bincount(index, weights=right, minlength=self.bins)
        p_true = flat.gather(1, labels[:, None])[:, 0].double()
        self.nll_sum += float(-p_true.clamp(min=PROB_FLOOR).log().sum())
        self.brier_sum += float((flat.double().pow(2).sum(dim=1) - 2 * p_true + 1).sum())
        self.pixels += int(labels.numel())

    def summary(self) -> dict[str, Any]:
        """ECE, NLL, Brier, accuracy, mean confidence and the reliability diagram's bins; the figures are None
        where no labelled pixel was measured (all void), as a 0 would read as perfect calibration."""
        n = max(self.pixels, 1)
        measured = (lambda value: value) if self.pixels else (lambda value: None)
        filled = self.count > 0
        accuracy = torch.where(filled, self.correct_sum / self.count.clamp(min=1), torch.nan)
        mean_conf = torch.where(filled, self.confidence_sum / self.count.clamp(min=1), torch.nan)
        gaps = torch.where(filled, (accuracy - mean_conf).abs() * self.count, 0.0)
        edges = [b / self.bins for b in range(self.bins + 1)]
        return {
            "pixels": self.pixels,
            "ece": measured(float(gaps.sum() / n)),
            "nll": measured(self.nll_sum / n),
            "brier": measured(self.brier_sum / n),
            "accuracy": measured(float(self.correct_sum.sum() / n)),
            "mean_confidence": measured(float(self.confidence_sum.sum() / n)),
            "reliability": {
                "lower": edges[:-1],
                "upper": edges[1:],
                "count": [int(c) for c in self.count.tolist()],
                "confidence": [None if math.isnan(v) else v for v in mean_conf.tolist()],
                "accuracy": [None if math.isnan(v) else v for v in accuracy.tolist()],
            },
        }


# -- temperature scaling ---------------------------------------------------


# Where a Bayesian model's temperature applies (config.json "temperature_scope"): "samples" divides
# each Monte-Carlo sample's logits before the samples are averaged (the default, and how every
# checkpoint without the key was fitted); "averaged" rescales the averaged probabilities,
# softmax(log p / T), which calibrated every set of SegNet weights measured here a little better
# (docs/calibration.md). A single pass (FCN, dropout off) gets the same probabilities either way.
TEMPERATURE_SCOPES = ("samples", "averaged")


def scale_logits(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """Logits divided by the temperature; T = 1 returns the very same tensor (exactly the unscaled model)."""
    return logits if temperature == 1.0 else logits / temperature


def tempered_mean(
    logits: torch.Tensor, temperature: float, scope: str = "samples"
) -> tuple[torch.Tensor, torch.Tensor]:
    """The calibrated mean probabilities (N,C,...) of (N,S,C,...) sample logits, and the sample probabilities.

    With ``scope="samples"`` each sample's logits are divided by T before the
    softmax and the average; with ``"averaged"`` the samples are softmaxed as
    they are, averaged, and the average is rescaled by T (the sample
    probabilities returned are then the untempered ones, whose spread is the
    network's own disagreement: the mutual information).
    """
    if scope not in TEMPERATURE_SCOPES:
        raise ValueError(f"temperature scope must be one of {TEMPERATURE_SCOPES}, not {scope!r}")
    if scope == "samples":
        sample_probs = torch.softmax(scale_logits(logits, temperature), dim=2)
        return sample_probs.mean(dim=1), sample_probs
    sample_probs = torch.softmax(logits, dim=2)
    mean = sample_probs.mean(dim=1)
    if temperature != 1.0:
        mean = torch.softmax(mean.clamp(min=PROB_FLOOR).log() / temperature, dim=1)
    return mean, sample_probs


def mixture_nll(
    logits: torch.Tensor,
    weights: torch.Tensor,
    labels: torch.Tensor,
    temperature: float,
    chunk: int = 16384,
    scope: str = "samples",
) -> float:
    """Mean NLL at ``temperature`` of pixels whose probability mixes tempered softmaxes.

    ``logits`` (P,K,S,C): for each of P pixels, K source positions (the
    bilinear neighbours on the network's grid) and S Monte-Carlo samples;
    ``weights`` (P,K) the interpolation weights (summing to 1); ``labels`` (P,).
    p(y) = sum_k w_k mean_s softmax(z_ks / T)_y, which is what ``predict``
    serves (tempered softmax per sample, averaged, then resized bilinearly).
    K = S = 1 is plain temperature scaling. With ``scope="averaged"`` each
    source position's averaged probabilities are rescaled instead
    (``tempered_mean``), again as ``predict`` serves them.
    """
    if scope != "samples":
        probs = mixture_probabilities(logits, weights, temperature, chunk, scope)
        p_true = probs.gather(1, labels.long()[:, None])[:, 0]
        return float(-p_true.clamp(min=PROB_FLOOR).log().mean()) if labels.numel() else 0.0
    total = 0.0
    for start in range(0, logits.shape[0], chunk):
        z = logits[start : start + chunk].double() / temperature
        y = labels[start : start + chunk].long()
        log_p = z.gather(3, y.view(-1, 1, 1, 1).expand(-1, z.shape[1], z.shape[2], 1))[..., 0] - z.logsumexp(dim=3)
        p = (log_p.exp().mean(dim=2) * weights[start : start + chunk].double()).sum(dim=1)
        total += float(-p.clamp(min=PROB_FLOOR).log().sum())
    return total / max(int(logits.shape[0]), 1)


def fit_temperature(
    nll: Callable[[float], float], low: float = 0.05, high: float = 20.0, grid: int = 31, tolerance: float = 1e-4
) -> float:
    """The T in [low, high] minimising ``nll(T)``: a log-spaced grid, then golden-section search around its best point.

    For a single softmax the NLL is convex in 1/T, so it has one minimum; the
    grid keeps the search safe for Monte-Carlo mixtures too.
    """
    points = np.geomspace(low, high, grid)
    values = [nll(float(t)) for t in points]
    best = int(np.argmin(values))
    a, b = math.log(points[max(best - 1, 0)]), math.log(points[min(best + 1, grid - 1)])
    ratio = (math.sqrt(5) - 1) / 2
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    fc, fd = nll(math.exp(c)), nll(math.exp(d))
    while b - a > tolerance:
        if fc <= fd:
            b, d, fd = d, c, fc
            c = b - ratio * (b - a)
            fc = nll(math.exp(c))
        else:
            a, c, fc = c, d, fd
            d = a + ratio * (b - a)
            fd = nll(math.exp(d))
    found = math.exp((a + b) / 2)
    return found if nll(found) <= values[best] else float(points[best])


def bilinear_sources(out_size: int, in_size: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """For each output index along one axis: the two input indices and the second one's weight.

    The same arithmetic as ``F.interpolate(mode="bilinear", align_corners=False)``.
    """
    scale = in_size / out_size
    source = ((torch.arange(out_size, dtype=torch.float64) + 0.5) * scale - 0.5).clamp(min=0)
    first = source.floor().long().clamp(max=in_size - 1)
    second = (first + 1).clamp(max=in_size - 1)
    return first, second, (source - first).clamp(0, 1)


# -- uncertainty as an error detector -------------------------------------------


def uncertainty_bin(values: torch.Tensor, bins: int = UNCERTAINTY_BINS, decades: int = UNCERTAINTY_DECADES) -> torch.Tensor:
    """Histogram bin of uncertainties normalised to [0, 1], finer near 0 where most pixels lie.

    Bin 0 holds values up to 10^-decades; bins 1..bins-1 split the log scale
    from there to 1 evenly (0.3% of a decade each for the defaults).
    """
    v = values.double().clamp(min=0, max=1)
    logs = v.clamp(min=10.0**-decades).log10()
    index = torch.ceil((logs + decades) / decades * (bins - 1)).long().clamp(1, bins - 1)
    return torch.where(v <= 10.0**-decades, torch.zeros_like(index), index)


def auroc_exact(scores: Sequence[float] | torch.Tensor, wrong: Sequence[bool] | torch.Tensor) -> float:
    """P(a wrong pixel's score > a right pixel's), ties counting half (the Mann-Whitney statistic)."""
    s = torch.as_tensor(scores, dtype=torch.float64).flatten()
    w = torch.as_tensor(wrong, dtype=torch.bool).flatten()
    n_wrong, n_right = int(w.sum()), int((~w).sum())
    if n_wrong == 0 or n_right == 0:
        return float("nan")
    values, inverse, counts = torch.unique(s, return_inverse=True, return_counts=True)
    first_rank = torch.cumsum(counts, 0) - counts  # 0-based rank of each distinct value's first member
    mean_rank = first_rank.double() + (counts.double() + 1) / 2  # 1-based average rank of tied members
    rank_sum = float(mean_rank[inverse][w].sum())
    return (rank_sum - n_wrong * (n_wrong + 1) / 2) / (n_wrong * n_right)


def auroc_from_histograms(right: torch.Tensor, wrong: torch.Tensor) -> float:
    """AUROC from counts of right and wrong pixels per uncertainty bin (ascending); one bin's members tie."""
    right, wrong = right.double(), wrong.double()
    n_right, n_wrong = float(right.sum()), float(wrong.sum())
    if n_right == 0 or n_wrong == 0:
        return float("nan")
    right_below = torch.cumsum(right, 0) - right
    return float((wrong * (right_below + 0.5 * right)).sum()) / (n_right * n_wrong)


def accuracy_kept_exact(
    uncertainty: Sequence[float] | torch.Tensor, correct: Sequence[bool] | torch.Tensor,
    fractions: Sequence[float] = KEPT_FRACTIONS,
) -> list[float]:
    """Accuracy of the round(f * n) most certain pixels, for each fraction f (ties broken by order given)."""
    u = torch.as_tensor(uncertainty, dtype=torch.float64).flatten()
    right = torch.as_tensor(correct, dtype=torch.float64).flatten()[torch.sort(u, stable=True).indices]
    cumulative = torch.cumsum(right, 0)
    out = []
    for f in fractions:
        k = min(max(int(round(f * u.numel())), 1), u.numel())
        out.append(float(cumulative[k - 1]) / k)
    return out


def accuracy_kept_from_histograms(
    right: torch.Tensor, wrong: torch.Tensor, fractions: Sequence[float] = KEPT_FRACTIONS
) -> list[float | None]:
    """``accuracy_kept_exact`` from per-bin counts: whole bins in order, then a proportional share of the next."""
    right, wrong = right.double(), wrong.double()
    total = right + wrong
    n = float(total.sum())
    if n == 0:
        return [None for _ in fractions]
    kept_before = torch.cumsum(total, 0) - total
    right_before = torch.cumsum(right, 0) - right
    out: list[float | None] = []
    for f in fractions:
        k = f * n
        b = int(torch.searchsorted(torch.cumsum(total, 0), torch.tensor(k, dtype=torch.float64)).clamp(max=len(total) - 1))
        share = (k - float(kept_before[b])) / max(float(total[b]), 1.0)
        kept_right = float(right_before[b]) + share * float(right[b])
        out.append(kept_right / k if k > 0 else None)
    return out


@dataclass
class ErrorDetectionMeter:
    """Histograms of uncertainty for right and wrong pixels, per region ("all" pixels, the "band") and per score."""

    scores: tuple[str, ...] = ("entropy",)
    regions: tuple[str, ...] = ("all", "band")
    bins: int = UNCERTAINTY_BINS
    hist: dict[tuple[str, str], torch.Tensor] = field(init=False)

    def __post_init__(self) -> None:
        self.hist = {(r, s): torch.zeros(2, self.bins, dtype=torch.float64) for r in self.regions for s in self.scores}

    def update(self, uncertainty: dict[str, torch.Tensor], correct: torch.Tensor, masks: dict[str, torch.Tensor]) -> None:
        """Add uncertainties in [0, 1] (any shape), whether each pixel is right, and a bool mask per region."""
        wrong = (~correct.bool()).long()
        for region in self.regions:
            mask = masks[region]
            if not mask.any():
                continue
            w = wrong[mask]
            for score in self.scores:
                index = uncertainty_bin(uncertainty[score][mask]) + w * self.bins
                self.hist[region, score] += torch.bincount(index, minlength=2 * self.bins).view(2, self.bins).double()

    def summary(self, fractions: Sequence[float] = KEPT_FRACTIONS) -> dict[str, Any]:
        """Per region: pixel and error counts, and per score the AUROC and the accuracy-against-kept curve."""
        out: dict[str, Any] = {}
        for region in self.regions:
            first = self.hist[region, self.scores[0]]
            pixels, errors = int(first.sum()), int(first[1].sum())
            entry: dict[str, Any] = {"pixels": pixels, "errors": errors, "error_rate": errors / pixels if pixels else None}
            for score in self.scores:
                right, wrong = self.hist[region, score]
                auroc = auroc_from_histograms(right, wrong)
                entry[score] = {
                    "auroc": None if math.isnan(auroc) else auroc,
                    "kept": {"fraction": list(fractions), "accuracy": accuracy_kept_from_histograms(right, wrong, fractions)},
                }
            out[region] = entry
        return out


def mixture_probabilities(
    logits: torch.Tensor, weights: torch.Tensor, temperature: float, chunk: int = 16384, scope: str = "samples"
) -> torch.Tensor:
    """(P,C) probabilities sum_k w_k mean_s softmax(z_ks / T) of ``mixture_nll``'s (P,K,S,C) logits.

    With ``scope="averaged"``: sum_k w_k softmax(log(mean_s softmax(z_ks)) / T).
    """
    if scope not in TEMPERATURE_SCOPES:
        raise ValueError(f"temperature scope must be one of {TEMPERATURE_SCOPES}, not {scope!r}")
    parts = []
    for start in range(0, logits.shape[0], chunk):
        z = logits[start : start + chunk].double()
        if scope == "samples":
            p = (z / temperature).softmax(dim=3).mean(dim=2)
        else:
            p = rescale_probabilities(z.softmax(dim=3).mean(dim=2), temperature)
        parts.append((p * weights[start : start + chunk].double()[..., None]).sum(dim=1))
    return torch.cat(parts) if parts else torch.zeros(0, logits.shape[-1], dtype=torch.float64)


def rescale_probabilities(probs: torch.Tensor, temperature: float) -> torch.Tensor:
    """softmax(log p / T) over the last axis: a temperature applied to already averaged (P,C) probabilities.

    What the ``"averaged"`` temperature scope does to a Bayesian model's
    Monte-Carlo average (``tempered_mean``).
    """
    return torch.softmax(probs.double().clamp(min=PROB_FLOOR).log() / temperature, dim=-1)
