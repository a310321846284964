"""Figures that make the papers' claims visible on one picture.

FCN's maps are smooth and miss detail: fewer boundary pixels, fewer thin
structures (poles, signs, people). SegNet keeps detail but is less sure
where boundaries lie (a higher band-to-interior uncertainty ratio) and mixes
overlapping classes: on people on bicycles its probability is split between
Pedestrian and Bicyclist. When the picture is one of the bundled CamVid
examples its ground truth is known, and per-image mIoU and BF are added.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from .classes import CAMVID_CLASSES, VOID_INDEX
from .inference import Prediction
from .metrics import boundary_f1, confusion_matrix, label_edges, scores_from_confusion

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"
THIN_CLASSES = tuple(CAMVID_CLASSES.index(c) for c in ("Pole", "SignSymbol", "Fence", "Pedestrian", "Bicyclist"))
PEDESTRIAN, BICYCLIST = CAMVID_CLASSES.index("Pedestrian"), CAMVID_CLASSES.index("Bicyclist")
FINGERPRINT_SIZE = (32, 24)


def boundary_density(labels: torch.Tensor) -> float:
    """Boundary pixels per thousand: how much spatial detail a label map carries."""
    return 1000.0 * float(label_edges(labels).float().mean())


def thin_share(labels: torch.Tensor) -> float:
    """Share of pixels given to thin or small classes (poles, signs, fences, people, cyclists)."""
    return float(torch.isin(labels, torch.tensor(THIN_CLASSES)).float().mean())


def rider_mixing(prediction: Prediction) -> float | None:
    """On pixels labelled Pedestrian or Bicyclist, the share of that pair's probability given to the other one.

    0 means a clean decision, 0.5 a coin flip between the two; None when
    neither class is predicted.
    """
    mask = (prediction.labels == PEDESTRIAN) | (prediction.labels == BICYCLIST)
    if not mask.any():
        return None
    p_ped = prediction.probabilities[PEDESTRIAN][mask]
    p_bic = prediction.probabilities[BICYCLIST][mask]
    other = torch.minimum(p_ped, p_bic)
    return float((other / (p_ped + p_bic).clamp(min=1e-12)).mean())


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
        "boundary_density": boundary_density(prediction.labels),
        "thin_share": thin_share(prediction.labels),
        "rider_mixing": rider_mixing(prediction),
        "classes": {CAMVID_CLASSES[c]: share for c, share in prediction.class_shares()},
        "notes": prediction.notes,
    }


def _fingerprint(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("L").resize(FINGERPRINT_SIZE, Image.BILINEAR), dtype=np.float32)


@functools.lru_cache(maxsize=1)
def _example_fingerprints() -> tuple[tuple[Path, float, np.ndarray], ...]:
    found = []
    for path in sorted(EXAMPLES_DIR.glob("*.jpg")):
        label = path.with_name(path.stem + "_label.png")
        if label.is_file():
            with Image.open(path) as image:
                found.append((label, image.width / image.height, _fingerprint(image)))
    return tuple(found)


def example_ground_truth(image: Image.Image, tolerance: float = 4.0) -> torch.Tensor | None:
    """The label map of a bundled example that ``image`` is (by content, so re-encoding is fine), else None."""
    aspect = image.width / image.height
    fingerprint = _fingerprint(image)
    for label_path, example_aspect, example_fingerprint in _example_fingerprints():
        if abs(aspect - example_aspect) < 0.01 and float(np.abs(fingerprint - example_fingerprint).mean()) < tolerance:
            with Image.open(label_path) as label:
                label = label.resize(image.size, Image.NEAREST)
                return torch.from_numpy(np.asarray(label).astype(np.int64))
    return None


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
    rows = [
        {
            "figure": "Boundary pixels per 1000",
            "fcn": _fmt(boundary_density(fcn.labels)),
            "segnet": _fmt(boundary_density(segnet.labels)),
            "reading": "spatial detail: FCN's 8x-upsampled maps are smoother",
        },
        {
            "figure": "Thin structures (poles, signs, fences, people)",
            "fcn": _fmt(thin_share(fcn.labels), percent=True),
            "segnet": _fmt(thin_share(segnet.labels), percent=True),
            "reading": "small objects that coarse upsampling tends to miss",
        },
        {
            "figure": "Mean confidence",
            "fcn": _fmt(float(fcn.confidence.mean()), percent=True),
            "segnet": _fmt(float(segnet.confidence.mean()), percent=True),
            "reading": "average max class probability",
        },
        {
            "figure": "Uncertainty on boundary band",
            "fcn": _fmt(fcn.boundary.band_mean, digits=3),
            "segnet": _fmt(segnet.boundary.band_mean, digits=3),
            "reading": "normalised entropy within 0.75% of the diagonal of a predicted boundary",
        },
        {
            "figure": "Band / interior uncertainty",
            "fcn": _fmt(fcn.boundary.ratio, digits=2),
            "segnet": _fmt(segnet.boundary.ratio, digits=2),
            "reading": "how much less sure the network is about where boundaries lie than about regions",
        },
        {
            "figure": "Pedestrian/Bicyclist mixing",
            "fcn": _fmt(rider_mixing(fcn), percent=True),
            "segnet": _fmt(rider_mixing(segnet), percent=True),
            "reading": "on rider pixels, probability left to the other class (50% = coin flip)",
        },
    ]
    if segnet.mutual_information is not None:
        rows.append(
            {
                "figure": "Mutual information (MC dropout)",
                "fcn": "—",
                "segnet": _fmt(float(segnet.mutual_information.mean()), digits=3),
                "reading": f"model uncertainty over {segnet.samples} dropout samples (Bayesian SegNet only)",
            }
        )
    if truth is not None:
        fcn_scores, segnet_scores = (_frame_scores(p, truth, len(class_names)) for p in (fcn, segnet))
        rows += [
            {
                "figure": "mIoU on this frame (ground truth)",
                "fcn": _fmt(fcn_scores["miou"], percent=True),
                "segnet": _fmt(segnet_scores["miou"], percent=True),
                "reading": "against the CamVid label of this example",
            },
            {
                "figure": "BF score on this frame",
                "fcn": _fmt(fcn_scores["bf"], percent=True),
                "segnet": _fmt(segnet_scores["bf"], percent=True),
                "reading": "boundary F1 within 0.75% of the diagonal",
            },
            {
                "figure": "Pixel accuracy on this frame",
                "fcn": _fmt(fcn_scores["acc"], percent=True),
                "segnet": _fmt(segnet_scores["acc"], percent=True),
                "reading": "void pixels excluded",
            },
        ]
    disagreement = float((fcn.labels != segnet.labels).float().mean())
    headline = (
        f"The two networks disagree on **{100 * disagreement:.1f}%** of the pixels (magenta below). "
        f"FCN: {fcn.seconds * 1000:.0f} ms, SegNet: {segnet.seconds * 1000:.0f} ms"
        + (f" with {segnet.samples} MC samples" if segnet.samples > 1 else "")
        + f", on {segnet.device}."
    )
    if truth is not None:
        headline += " This is a bundled CamVid frame, so its ground truth is known: see the last rows."
    return rows, headline
