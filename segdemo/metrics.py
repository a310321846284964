"""Segmentation metrics as the SegNet paper reports them (BF close to, not exactly, the authors').

- global accuracy: correctly labelled pixels / all labelled pixels;
- class average accuracy: the mean over classes of per-class recall;
- mIoU: the mean over classes of TP / (TP + FP + FN), from one confusion
  matrix accumulated over the whole split (classes never seen nor predicted
  are left out of the mean);
- BF (boundary F1): per image and class, precision and recall of predicted vs
  true class-boundary pixels, a boundary pixel counting as matched when one
  of the other set lies within 0.75% of the image diagonal; the F1 is averaged
  over the classes present in that image's ground truth, then over images.

Void pixels (label 11) take no part in any of them.

The BF keeps the authors' tolerance and per-image mean, but is not their
script (SegNet-Tutorial's computeBFmeasure.m): (a) the prediction is read as
void where the truth is, so where it has a region's class next to void, that
edge matches the truth's exactly;
(b) a class only in the prediction is left out, where theirs counts it with
F1 = 0 (and has no void rule); (c) a pixel matches any within a disk, where
BSDS's correspondPixels matches one to one. A read-only review measured 8
held-out 0006R0 frames: FCN 48.5 / SegNet 48.3 by this code, 43.5 / 42.9
with edges against void dropped, about 36.6 / 38.1 as the authors' script
counts; the ranking flips with the convention.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

BF_TOLERANCE = 0.0075  # fraction of the image diagonal


def confusion_matrix(pred: torch.Tensor, target: torch.Tensor, num_classes: int, ignore_index: int = 11) -> torch.Tensor:
    """``cm[t, p]`` counts pixels of true class t predicted as p (void targets skipped)."""
    valid = (target != ignore_index) & (target >= 0) & (target < num_classes)
    index = target[valid].long() * num_classes + pred[valid].long()
    return torch.bincount(index, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


@dataclass
class Scores:
    global_accuracy: float
    class_accuracy: float
    mean_iou: float
    per_class_iou: list[float]
    per_class_accuracy: list[float]


def scores_from_confusion(cm: torch.Tensor) -> Scores:
    """Global accuracy, class-average accuracy, mIoU and per-class IoU/accuracy (NaN where undefined)."""
    cm = cm.double()
    tp = cm.diag()
    support = cm.sum(dim=1)
    predicted = cm.sum(dim=0)
    union = support + predicted - tp
    iou = torch.where(union > 0, tp / union.clamp(min=1), torch.full_like(tp, float("nan")))
    acc = torch.where(support > 0, tp / support.clamp(min=1), torch.full_like(tp, float("nan")))
    total = cm.sum()
    return Scores(
        global_accuracy=float(tp.sum() / total) if total > 0 else float("nan"),
        class_accuracy=_nanmean(acc),
        mean_iou=_nanmean(iou),
        per_class_iou=iou.tolist(),
        per_class_accuracy=acc.tolist(),
    )


def _nanmean(values: torch.Tensor) -> float:
    kept = values[~values.isnan()]
    return float(kept.mean()) if kept.numel() else float("nan")


def label_edges(label: torch.Tensor) -> torch.Tensor:
    """(H,W) bool: pixels with a 4-neighbour of another label (the image border is no edge)."""
    edge = torch.zeros(label.shape, dtype=torch.bool, device=label.device)
    vertical = label[1:, :] != label[:-1, :]
    horizontal = label[:, 1:] != label[:, :-1]
    edge[1:, :] |= vertical
    edge[:-1, :] |= vertical
    edge[:, 1:] |= horizontal
    edge[:, :-1] |= horizontal
    return edge


def class_boundaries(label: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(C,H,W) bool: the edge pixels of each class's own region."""
    label = label.long()
    classes = torch.arange(num_classes, device=label.device).view(-1, 1, 1)
    return (label.unsqueeze(0) == classes) & label_edges(label).unsqueeze(0)


def disk_dilate(masks: torch.Tensor, radius: float) -> torch.Tensor:
    """Dilate (C,H,W) boolean masks by a disk of ``radius`` pixels (Euclidean distance <= radius), exactly.

    A pixel is within the disk of a set pixel dy rows away when the row's
    nearest set pixel is at most floor(sqrt(radius^2 - dy^2)) columns away.
    So each row's horizontal distance to its nearest set pixel is found once
    (a running max and min of the set columns), and the rows within ``radius``
    are OR-ed in, shifted: O(radius) passes over a mask, where the union of
    box dilations it replaces took two cumulative sums per distinct width
    (48x slower for a 2048x1536 result, whose BF radius is 19 pixels: benchmarks/dilation.py).
    """
    r = math.floor(radius)
    if r < 1:
        return masks
    _, h, w = masks.shape
    columns = torch.arange(w, dtype=torch.int32, device=masks.device)
    far = w + r + 1  # beyond any reach: a row without a set pixel
    reach = [math.floor(math.sqrt(radius**2 - dy**2)) for dy in range(r + 1)]
    out = torch.zeros_like(masks, dtype=torch.bool)
    for mask, dilated in zip(masks, out):  # a mask at a time: the distances are 4 bytes a pixel
        if not bool(mask.any()):
            continue
        before = torch.where(mask, columns, -far).cummax(dim=-1).values  # the nearest set column at or left of x
        after = torch.where(mask, columns, w + far).flip(-1).cummin(dim=-1).values.flip(-1)  # at or right of x
        distance = torch.minimum(columns - before, after - columns)
        within = {columns_away: distance <= columns_away for columns_away in set(reach)}
        rows = min(r, h - 1)  # a disk taller than the picture reaches every row
        for dy in range(-rows, rows + 1):
            near = within[reach[abs(dy)]]
            if dy >= 0:
                dilated[: h - dy] |= near[dy:]
            else:
                dilated[-dy:] |= near[: h + dy]
    return out


def boundary_f1(
    pred: torch.Tensor,
    target: torch.Tensor,
    num_classes: int,
    ignore_index: int = 11,
    tolerance: float = BF_TOLERANCE,
) -> float:
    """The BF score of one image (H,W): mean F1 over the classes present in ``target``.

    Void pixels take no part: the prediction is read as void wherever the
    truth is, so a region's edge against void is an edge of both where the
    prediction has that class there, a match the authors' script does not
    give (it has no void rule; the module docstring lists how else it
    differs, with a review's figures). (Read as
    predicted, the prediction's edge fell inside the void, where it was not
    counted, and a prediction right on every labelled pixel lost the truth's
    edges against void: 0.93-1.00 on CamVid's val frames, 0 for two classes
    on either side of a void strip.)
    """
    h, w = target.shape
    radius = tolerance * math.hypot(h, w)
    void = target == ignore_index
    pred = torch.where(void, target, pred)
    true_b = class_boundaries(target, num_classes) & ~void
    pred_b = class_boundaries(pred, num_classes) & ~void
    true_near = disk_dilate(true_b, radius)
    pred_near = disk_dilate(pred_b, radius)
    present = torch.bincount(target[~void].flatten().long(), minlength=num_classes)[:num_classes] > 0
    f1s = []
    for c in torch.nonzero(present).flatten().tolist():
        n_pred, n_true = int(pred_b[c].sum()), int(true_b[c].sum())
        if n_pred == 0 and n_true == 0:
            f1s.append(1.0)
            continue
        if n_pred == 0 or n_true == 0:
            f1s.append(0.0)
            continue
        precision = float((pred_b[c] & true_near[c]).sum()) / n_pred
        recall = float((true_b[c] & pred_near[c]).sum()) / n_true
        f1s.append(0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall))
    return sum(f1s) / len(f1s) if f1s else float("nan")


@dataclass
class SegmentationMeter:
    """Accumulates the confusion matrix and per-image BF over a split."""

    num_classes: int
    ignore_index: int = 11
    with_boundary_f1: bool = True
    cm: torch.Tensor = field(init=False)
    bf_scores: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.cm = torch.zeros(self.num_classes, self.num_classes, dtype=torch.long)

    def update(self, pred: torch.Tensor, target: torch.Tensor) -> None:
        """Add a batch (N,H,W) or one image (H,W) of predicted and true labels."""
        pred, target = pred.cpu(), target.cpu()
        self.cm += confusion_matrix(pred, target, self.num_classes, self.ignore_index)
        if self.with_boundary_f1:
            for p, t in zip(pred.reshape(-1, *pred.shape[-2:]), target.reshape(-1, *target.shape[-2:])):
                bf = boundary_f1(p, t, self.num_classes, self.ignore_index)
                if not math.isnan(bf):
                    self.bf_scores.append(bf)

    def summary(self) -> dict[str, float | list[float]]:
        scores = scores_from_confusion(self.cm)
        return {
            "global_accuracy": scores.global_accuracy,
            "class_accuracy": scores.class_accuracy,
            "mean_iou": scores.mean_iou,
            "boundary_f1": sum(self.bf_scores) / len(self.bf_scores) if self.bf_scores else float("nan"),
            "per_class_iou": scores.per_class_iou,
            "per_class_accuracy": scores.per_class_accuracy,
        }
