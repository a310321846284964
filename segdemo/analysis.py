"""Figures that test, on one picture, what is claimed of FCN and SegNet.

The papers': FCN's maps are smooth and miss thin structures (poles, signs,
people); SegNet draws boundaries more accurately (by the BF score); a
network is less sure on the band around boundaries than inside regions
(Bayesian SegNet). This demo's brief adds that SegNet is less sure than FCN
where boundaries lie and splits people on bicycles between Pedestrian and
Bicyclist more. Each is measured on the same pixels for both networks and,
when the picture is one of the bundled CamVid examples, against its label;
per-image mIoU and BF are added then.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import torch

from .calibration import auroc_exact
from .classes import CAMVID_CLASSES, VOID_INDEX
from .inference import Prediction
from .metrics import boundary_f1, confusion_matrix, label_edges, scores_from_confusion
from .uncertainty import boundary_band

THIN_CLASSES = tuple(CAMVID_CLASSES.index(c) for c in ("Pole", "SignSymbol", "Fence", "Pedestrian", "Bicyclist"))
PEDESTRIAN, BICYCLIST = CAMVID_CLASSES.index("Pedestrian"), CAMVID_CLASSES.index("Bicyclist")


def boundary_density(labels: torch.Tensor) -> float:
    """Boundary pixels per thousand: how much spatial detail a label map carries."""
    return 1000.0 * float(label_edges(labels).float().mean())


def thin_share(labels: torch.Tensor) -> float:
    """Share of pixels given to thin or small classes (poles, signs, fences, people, cyclists)."""
    return float(torch.isin(labels, torch.tensor(THIN_CLASSES)).float().mean())


RIDER_MIN_SHARE = 0.001  # of the pixels: under it, a network's Pedestrian and Bicyclist are too few to judge
RIDER_MIN_PIXELS = 50  # and on a small picture, in pixels: on a 40x30 thumbnail 0.1% is one pixel (2 gave "43.3%")


def rider_mixing(prediction: Prediction, pixels: torch.Tensor | None = None) -> float | None:
    """On the rider ``pixels`` (default: those the network labels Pedestrian or Bicyclist), the share of that pair's
    probability given to the other one.

    0 means a clean decision, 0.5 a coin flip between the two; None where
    under ``RIDER_MIN_SHARE`` of the pixels (or ``RIDER_MIN_PIXELS``) are riders: a few dozen stray
    pixels (FCN's 69 and SegNet's 13 on bundled frame f01890, whose label
    has no person) say nothing of how a network splits people, yet were
    given as a figure and judged a claim on.
    """
    mask = (prediction.labels == PEDESTRIAN) | (prediction.labels == BICYCLIST) if pixels is None else pixels
    if float(mask.float().mean()) < RIDER_MIN_SHARE or int(mask.sum()) < RIDER_MIN_PIXELS:
        return None
    p_ped = prediction.probabilities[PEDESTRIAN][mask]
    p_bic = prediction.probabilities[BICYCLIST][mask]
    other = torch.minimum(p_ped, p_bic)
    return float((other / (p_ped + p_bic).clamp(min=1e-12)).mean())


def rider_pixels(fcn: Prediction, segnet: Prediction, truth: torch.Tensor | None = None) -> torch.Tensor:
    """The pixels both networks' rider mixing is measured on, the same for both: the label's Pedestrian and
    Bicyclist pixels where it is known, else those either network calls one. On its own riders alone a network was
    judged on other pixels than the other: on f01290 SegNet mixed more on its own (6.9% against 3.0%), FCN far more
    on the label's (45.6% against 16.4%)."""
    if truth is not None:
        return (truth == PEDESTRIAN) | (truth == BICYCLIST)
    return functools.reduce(torch.logical_or, [(p.labels == c) for p in (fcn, segnet) for c in (PEDESTRIAN, BICYCLIST)])


def common_band(fcn: Prediction, segnet: Prediction, truth: torch.Tensor | None = None,
                void_index: int = VOID_INDEX) -> torch.Tensor:
    """Where both networks' doubt about boundaries is measured, the same pixels for both: the band around the
    label's boundaries where it is known (void pixels left out), else around either network's. On its own band a
    network that draws more boundaries has a wider band of easier pixels: SegNet's was 31% of f03570 against FCN's
    25%, and its lower mean there (0.437 against 0.463) read as surer where, on either common band, it is not."""
    if truth is not None:
        valid = truth != void_index
        return boundary_band(truth) & valid
    return fcn.boundary.band | segnet.boundary.band


def band_uncertainty(prediction: Prediction, band: torch.Tensor) -> float | None:
    """Mean normalised entropy (entropy / log C, 0 to 1) on ``band``; None where the band is empty."""
    if not bool(band.any()):
        return None
    return float(prediction.entropy[band].mean()) / math.log(prediction.probabilities.shape[0])


def thin_iou(labels: torch.Tensor, truth: torch.Tensor, void_index: int = VOID_INDEX) -> float | None:
    """Mean IoU over the thin classes present in the label (void excluded); None where it has none. The share of a
    map given to thin classes rewards drawing them anywhere: on f03570 the label has 4.6%, SegNet 9.0%, FCN 8.2%."""
    valid = truth != void_index
    ious = []
    for c in THIN_CLASSES:
        true_c = (truth == c) & valid
        if not bool(true_c.any()):
            continue
        pred_c = (labels == c) & valid
        ious.append(float((true_c & pred_c).sum()) / float((true_c | pred_c).sum()))
    return sum(ious) / len(ious) if ious else None


# How far apart SegNet's and FCN's figures must be, relatively, for a claim to hold or fail rather than be "about the
# same": at least half the widest range SegNet's own Monte-Carlo seed moves its figure over, rounded up to a whole
# percent, and for the band, whose range is the narrowest, about its whole range (FCN's single pass draws nothing), so
# that no seed turns "holds" into "does not hold" (benchmarks/claims_by_seed.py, seeds 0-9 on the six bundled frames
# at the served 8 samples, in benchmarks/results/claims_by_seed.txt: the largest range of SegNet's figure, max - min
# against the mean, was 5.4% and 7.0% for BF and boundary density (half: 2.7% and 3.5%; margin 4%), 12.6% and 14.4%
# for thin-structure IoU and share (6.3% and 7.2%; 8%), 2.1% and 1.8% for the band's uncertainty (2%), 24% and 29%
# for the riders' mixing (12% and 14%; 15%)). At 5% for all, f03570's riders went from "does not hold" to "holds"
# between seeds 0 and 2; at the whole range, a reviewer found, BF lower on f01290 at every seed read "about the
# same". A verdict near a margin may still go from "about the same" to the other at another seed.
SAME_WITHIN = {"detail": 0.04, "thin": 0.08, "band": 0.02, "riders": 0.15}
RIDERS_FOUND = 0.5  # the share of the label's riders a network must call Pedestrian or Bicyclist for its mixing to
# say anything: on f03570 FCN calls 26% of them either, SegNet 5%, neither a single one Bicyclist


def _claim(name: str, segnet: float | None, fcn: float | None, shown: str, missing: str, within: float) -> str:
    """One claim that SegNet's figure is above FCN's, judged on one picture: holds, about the same, or does not.
    ``shown`` words the two figures (``{segnet}`` and ``{fcn}``, formatted); ``missing`` says why not where a figure
    is None; ``within``: how close, relatively, is "about the same"."""
    if segnet is None or fcn is None:
        return f"{name}: {missing}"
    figures = shown.format(segnet=segnet, fcn=fcn)
    if abs(segnet - fcn) <= within * max(abs(segnet), abs(fcn)):
        return f"{name}: about the same ({figures})"
    return f"{name}: {'holds' if segnet > fcn else 'does not hold'} ({figures})"


# The share of pixels on which FCN and the Bayesian SegNet disagree, as served, on a street neither saw: CamVid
# 0006R0's 101 frames, by the twins that held it out (benchmarks/unlike_camvid.py; benchmarks/results/
# unlike_camvid.txt): the range a visitor's street picture is to be read against.
STREET_DISAGREEMENT = {"min": 0.049, "median": 0.117, "max": 0.334}
# Over this, a picture is unlike the road scenes both were trained on: each maps it onto CamVid's classes its own way.
# No frame of that street went over 33.4%; a portrait, animals, a cartoon, a tower, noise, a flat colour and an
# upside-down street went over 45%. Pictures nearer a street (a page of text: 33%; a street turned, inverted or
# shrunk: 17-23%) are not caught, and a flat grey picture, called Sky by both, is agreed on.
UNLIKE_CAMVID = 0.40


def disagreement(fcn: Prediction, segnet: Prediction) -> float:
    """The share of pixels the two networks label differently."""
    return float((fcn.labels != segnet.labels).float().mean())


def claims_line(fcn: Prediction, segnet: Prediction, truth: torch.Tensor | None = None,
                bf: tuple[float, float] | None = None) -> str:
    """Which of the claims made of the two networks hold on this picture, in one line under the headline.

    The tab's introduction says what is claimed (COMPARE_INTRO); the networks shipped here are compact ones trained
    by this project, and on most pictures only some of the claims show. Each is judged on the same pixels for both
    networks, and where the label is known, against it: detail by the BF score (the SegNet paper's measure of
    boundary accuracy; a map's count of boundary pixels rewards noise), thin structures by their IoU, the doubt at
    boundaries on the label's boundary band, the riders on the label's riders. Without a label the first two can
    only count what the maps draw, and the line says so. ``bf``: (SegNet's, FCN's) BF score where the caller has it.
    """
    if (share := disagreement(fcn, segnet)) > UNLIKE_CAMVID:
        return (f"**No claim is judged on this picture:** the networks disagree on {share:.0%} of it "
                f"(at most {STREET_DISAGREEMENT['max']:.0%} on a street they never saw), so it is unlike the road "
                "scenes they know, and their maps of it say nothing of how they segment a street.")
    claims = []
    if truth is not None:
        num_classes = segnet.probabilities.shape[0]
        bf = bf or tuple(boundary_f1(p.labels, truth, num_classes, VOID_INDEX) for p in (segnet, fcn))
        claims.append(_claim("SegNet's boundaries are more accurate", *bf,
                             "BF score SegNet {segnet:.1%}, FCN {fcn:.1%}", "no boundary in the label",
                             SAME_WITHIN["detail"]))
        claims.append(_claim("it finds thin structures better", thin_iou(segnet.labels, truth),
                             thin_iou(fcn.labels, truth), "their IoU SegNet {segnet:.1%}, FCN {fcn:.1%}",
                             "no pole, sign, fence or person in the label", SAME_WITHIN["thin"]))
    else:
        densities = boundary_density(segnet.labels), boundary_density(fcn.labels)
        claims.append(_claim("SegNet draws more boundaries", *(densities if all(densities) else (None, None)),
                             "SegNet {segnet:.0f}, FCN {fcn:.0f} boundary pixels per 1000; with no label, not known "
                             "to be right", f"no boundary in {'FCN' if densities[0] else 'SegNet'}'s map",
                             SAME_WITHIN["detail"]))
        claims.append(_claim("more thin structures", thin_share(segnet.labels), thin_share(fcn.labels),
                             "SegNet {segnet:.1%}, FCN {fcn:.1%} of the map", "none", SAME_WITHIN["thin"]))
    where = "the label's" if truth is not None else "either map's"
    band = common_band(fcn, segnet, truth)
    claims.append(_claim("it is less sure where boundaries lie", band_uncertainty(segnet, band),
                         band_uncertainty(fcn, band), f"uncertainty on {where} boundary band: SegNet {{segnet:.3f}}, "
                         "FCN {fcn:.3f}", "no boundary to test it on", SAME_WITHIN["band"]))
    riders = rider_pixels(fcn, segnet, truth)
    found = [riders_found(p, riders) for p in (fcn, segnet)] if truth is not None else [None, None]
    name = "it mixes Pedestrian and Bicyclist more"
    enough = float(riders.float().mean()) >= RIDER_MIN_SHARE and int(riders.sum()) >= RIDER_MIN_PIXELS
    if enough and all(share is not None and share < RIDERS_FOUND for share in found):
        # the mixing would be of a sliver of probability: on f03570 neither network calls one pixel Bicyclist
        claims.append(f"{name}: not judged, as both networks call most of the label's riders something else (FCN "
                      f"{found[0]:.0%}, SegNet {found[1]:.0%} of them Pedestrian or Bicyclist)")
    else:
        claims.append(_claim(name, rider_mixing(segnet, riders), rider_mixing(fcn, riders),
                             f"on {where} riders: SegNet {{segnet:.1%}}, FCN {{fcn:.1%}}",
                             f"too few Pedestrian or Bicyclist pixels to test it on (under {RIDER_MIN_SHARE:.1%} of "
                             f"the picture or {RIDER_MIN_PIXELS} pixels)", SAME_WITHIN["riders"]))
    return "**The claims on this picture:** " + "; ".join(claims) + "; " + _boundaries_above_regions(fcn, segnet,
                                                                                                     truth) + "."


def riders_found(prediction: Prediction, riders: torch.Tensor) -> float | None:
    """The share of the ``riders`` pixels the network calls Pedestrian or Bicyclist; None where there are none."""
    if not bool(riders.any()):
        return None
    called = (prediction.labels == PEDESTRIAN) | (prediction.labels == BICYCLIST)
    return float(called[riders].float().mean())


def label_band_ratio(prediction: Prediction, truth: torch.Tensor, void_index: int = VOID_INDEX) -> float | None:
    """How many times the network's mean uncertainty near the label's boundaries is its mean inside the label's
    regions (void pixels left out); None where either is empty or the inside is certain."""
    valid = truth != void_index
    band = boundary_band(truth) & valid
    inside = valid & ~band
    near, far = band_uncertainty(prediction, band), band_uncertainty(prediction, inside)
    return None if near is None or far is None or far <= 0 else near / far


def _boundaries_above_regions(fcn: Prediction, segnet: Prediction, truth: torch.Tensor | None) -> str:
    """The Bayesian SegNet paper's boundary claim, on the label's boundaries: on a network's own, where two classes'
    probabilities cross, its entropy peaks by construction (FCN's on pure noise was 1.85x), so the claim could not
    fail there."""
    name = "both are less sure on boundaries than inside regions (Kendall et al.)"
    if truth is None:
        return f"{name}: not judged without a label (on a network's own boundaries it holds by construction)"
    ratios = [label_band_ratio(p, truth) for p in (fcn, segnet)]
    if None in ratios:
        return f"{name}: no boundary or no region in the label to test it on"
    verdict = "holds" if min(ratios) > 1 else "holds for FCN" if ratios[0] > 1 else (
        "holds for SegNet" if ratios[1] > 1 else "does not hold")
    return f"{name}: {verdict} (on the label's boundaries, FCN {ratios[0]:.1f}x, SegNet {ratios[1]:.1f}x)"


def prediction_figures(prediction: Prediction, model: str, source: str) -> dict[str, Any]:
    """The JSON an API caller gets beside the pictures."""
    h, w = prediction.labels.shape
    return {
        "model": model,
        "weights": source,
        "device": prediction.device,
        "seconds": round(prediction.seconds, 4),
        "forward_seconds": round(prediction.forward_seconds, 4),
        "output_size": [w, h],
        "original_size": [prediction.original_size[1], prediction.original_size[0]],
        "working_size": [prediction.working_size[1], prediction.working_size[0]],
        **prediction.summary(),
        "temperature": prediction.temperature,
        "boundary_density": boundary_density(prediction.labels),
        "thin_share": thin_share(prediction.labels),
        "rider_mixing": rider_mixing(prediction),
        "classes": {CAMVID_CLASSES[c]: share for c, share in prediction.class_shares()},
        "notes": prediction.notes,
    }


def error_figures(prediction: Prediction, truth: torch.Tensor, void_index: int = VOID_INDEX) -> dict[str, Any]:
    """How wrong the prediction is on a frame with known labels, and whether its uncertainty points at the errors."""
    valid = truth != void_index
    wrong = (prediction.labels != truth) & valid
    labelled = int(valid.sum())
    auroc = auroc_exact(prediction.entropy[valid], wrong[valid]) if labelled else float("nan")
    return {
        "ground_truth": True,
        "error_rate": float(wrong.sum()) / labelled if labelled else None,
        "labelled_share": labelled / truth.numel(),
        "entropy_auroc": None if math.isnan(auroc) else auroc,
    }


def _fmt(value: float | None, percent: bool = False, digits: int = 1) -> str:
    if value is None:
        return "—"
    return f"{100 * value:.{digits}f}%" if percent else f"{value:.{digits}f}"


def _frame_scores(prediction: Prediction, truth: torch.Tensor, num_classes: int) -> dict[str, float]:
    """mIoU, pixel accuracy and BF of one prediction against one ground-truth frame."""
    scores = scores_from_confusion(confusion_matrix(prediction.labels, truth, num_classes, VOID_INDEX))
    bf = boundary_f1(prediction.labels, truth, num_classes, VOID_INDEX)
    return {"miou": scores.mean_iou, "acc": scores.global_accuracy, "bf": bf}


def compare_predictions(
    fcn: Prediction, segnet: Prediction, class_names: list[str], truth: torch.Tensor | None
) -> tuple[list[dict[str, str]], str]:
    """Rows of (figure, FCN, SegNet, reading) and a one-paragraph headline."""
    band, riders = common_band(fcn, segnet, truth), rider_pixels(fcn, segnet, truth)
    where = "the label's" if truth is not None else "either network's"
    rows = [
        {
            "figure": "Boundary pixels per 1000",
            "fcn": _fmt(boundary_density(fcn.labels)),
            "segnet": _fmt(boundary_density(segnet.labels)),
            "reading": "how much boundary each map draws (FCN's upsampled maps are smoother; it halves when the "
                       "picture doubles); more is not more right: the BF score, on a labelled frame, says that",
        },
        {
            "figure": "Thin structures",
            "fcn": _fmt(thin_share(fcn.labels), percent=True),
            "segnet": _fmt(thin_share(segnet.labels), percent=True),
            "reading": "share of the map given to poles, signs, fences, people and bicyclists",
        },
        {
            "figure": "Mean confidence",
            "fcn": _fmt(float(fcn.confidence.mean()), percent=True),
            "segnet": _fmt(float(segnet.confidence.mean()), percent=True),
            "reading": "average of each pixel's highest class probability",
        },
        {
            "figure": "Uncertainty on boundary band",
            "fcn": _fmt(band_uncertainty(fcn, band), digits=3),
            "segnet": _fmt(band_uncertainty(segnet, band), digits=3),
            "reading": f"entropy / log C near {where} boundaries: the same pixels for both",
        },
        {
            "figure": "Band / interior uncertainty",
            "fcn": _fmt(fcn.boundary.ratio, digits=2),
            "segnet": _fmt(segnet.boundary.ratio, digits=2),
            "reading": "how many times less sure each network is near its own boundaries than inside regions",
        },
        {
            "figure": "Pedestrian/Bicyclist mixing",
            "fcn": _fmt(rider_mixing(fcn, riders), percent=True),
            "segnet": _fmt(rider_mixing(segnet, riders), percent=True),
            "reading": f"on {where} riders, the probability left to the other of the two (50%: a coin flip; "
                       "—: too few riders)",
        },
    ]
    if segnet.mutual_information is not None:
        rows.append(
            {
                "figure": "Mutual information (nats)",
                "fcn": "—",
                "segnet": _fmt(float(segnet.mutual_information.mean()), digits=3),
                "reading": f"how much SegNet's {segnet.samples} samples disagree: dropout's and the views'",
            }
        )
    fcn_scores = segnet_scores = None
    if truth is not None:
        fcn_scores, segnet_scores = (_frame_scores(p, truth, len(class_names)) for p in (fcn, segnet))
        rows += [
            {
                "figure": "mIoU on this frame (ground truth)",
                "fcn": _fmt(fcn_scores["miou"], percent=True),
                "segnet": _fmt(segnet_scores["miou"], percent=True),
                "reading": "against this frame's CamVid label",
            },
            {
                "figure": "BF score on this frame",
                "fcn": _fmt(fcn_scores["bf"], percent=True),
                "segnet": _fmt(segnet_scores["bf"], percent=True),
                "reading": "boundary F1 within 0.75% of the diagonal (the SegNet paper's measure)",
            },
            {
                "figure": "IoU of thin structures on this frame",
                "fcn": _fmt(thin_iou(fcn.labels, truth), percent=True),
                "segnet": _fmt(thin_iou(segnet.labels, truth), percent=True),
                "reading": "mean IoU of the label's poles, signs, fences and people",
            },
            {
                "figure": "Pixel accuracy on this frame",
                "fcn": _fmt(fcn_scores["acc"], percent=True),
                "segnet": _fmt(segnet_scores["acc"], percent=True),
                "reading": "void pixels excluded",
            },
        ]
    share = disagreement(fcn, segnet)
    street = STREET_DISAGREEMENT
    headline = (
        f"The two networks disagree on **{100 * share:.1f}%** of the pixels (magenta below; on a street they never "
        f"saw, {street['min']:.0%} to {street['max']:.0%} of a frame, {street['median']:.0%} at the median). "
        f"FCN: {fcn.seconds * 1000:.0f} ms, SegNet: {segnet.seconds * 1000:.0f} ms"
        + (f" with {segnet.samples} MC samples" if segnet.samples > 1 else "")
        + f", on {segnet.device}."
    )
    if truth is not None:
        headline += (
            " This is a bundled CamVid frame (or a copy of one, re-encoded or resized), so its ground truth is known: "
            "see the last rows, and each network's "
            "errors (red) under its boundary uncertainty."
        )
    else:
        headline += " No ground truth for this picture, so no error maps (only the bundled CamVid frames have labels)."
    if share > UNLIKE_CAMVID:
        headline += (" **This picture looks unlike the road scenes the networks were trained on:** they know only "
                     "CamVid's 11 classes, and each maps it onto them its own way, so the labels, confidences and "
                     "figures below mean little.")
    bf = (segnet_scores["bf"], fcn_scores["bf"]) if truth is not None else None
    return rows, headline + "\n\n" + claims_line(fcn, segnet, truth, bf)
