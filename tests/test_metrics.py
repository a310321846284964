"""Metrics against hand-computed confusion matrices and toy masks."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from segdemo.data.camvid import median_frequency_weights
from segdemo.metrics import (
    BF_TOLERANCE,
    SegmentationMeter,
    boundary_f1,
    class_boundaries,
    confusion_matrix,
    disk_dilate,
    scores_from_confusion,
)


def test_confusion_matrix_counts_pixels_and_skips_void():
    target = torch.tensor([[0, 0, 1, 1], [2, 2, 11, 11]])
    pred = torch.tensor([[0, 1, 1, 1], [2, 0, 0, 2]])
    cm = confusion_matrix(pred, target, num_classes=3, ignore_index=11)
    assert cm.tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]


def test_scores_from_a_hand_computed_confusion_matrix():
    cm = torch.tensor([[1, 1, 0], [0, 2, 0], [1, 0, 1]])
    s = scores_from_confusion(cm)
    assert s.global_accuracy == pytest.approx(4 / 6)
    # per-class recall: 1/2, 2/2, 1/2
    assert s.class_accuracy == pytest.approx((0.5 + 1.0 + 0.5) / 3)
    # IoU: class 0: 1 / (2 + 2 - 1); class 1: 2 / (2 + 3 - 2); class 2: 1 / (2 + 1 - 1)
    assert s.per_class_iou == pytest.approx([1 / 3, 2 / 3, 1 / 2])
    assert s.mean_iou == pytest.approx((1 / 3 + 2 / 3 + 1 / 2) / 3)


def test_classes_never_seen_nor_predicted_are_left_out_of_the_mean():
    cm = torch.tensor([[3, 0, 0], [0, 0, 0], [1, 0, 1]])
    s = scores_from_confusion(cm)
    assert math.isnan(s.per_class_iou[1])
    assert s.mean_iou == pytest.approx((3 / 4 + 1 / 2) / 2)


def test_class_boundaries_of_two_regions():
    label = torch.zeros(4, 6, dtype=torch.long)
    label[:, 3:] = 1
    b = class_boundaries(label, 2)
    assert b[0].nonzero()[:, 1].unique().tolist() == [2]
    assert b[1].nonzero()[:, 1].unique().tolist() == [3]
    assert int(b.sum()) == 8


def dilated_by_convolution(masks: torch.Tensor, radius: float) -> torch.Tensor:
    """The definition: a pixel is in the dilation when a set pixel lies within ``radius`` of it."""
    r = int(radius)
    offsets = torch.arange(-r, r + 1, dtype=torch.float32)
    disk = ((offsets[:, None] ** 2 + offsets[None, :] ** 2) <= radius**2).float().view(1, 1, 2 * r + 1, 2 * r + 1)
    return F.conv2d(masks.float().unsqueeze(1), disk, padding=r).squeeze(1) > 0


@pytest.mark.parametrize("radius", [1.0, 1.5, 2.9, 4.5, 7.3, 19.2])
def test_disk_dilation_equals_a_convolution_with_a_disk(radius):
    torch.manual_seed(0)
    masks = torch.rand(3, 30, 41) > 0.97
    assert torch.equal(disk_dilate(masks, radius), dilated_by_convolution(masks, radius))


def test_disk_dilation_of_empty_full_and_corner_masks():
    """An empty mask (a class absent), a full one, lone pixels in the corners and a radius wider than the picture."""
    masks = torch.zeros(4, 9, 13, dtype=torch.bool)
    masks[1] = True
    masks[2, 0, 0] = masks[2, 8, 12] = True
    masks[3, 4, 6] = True
    for radius in (0.5, 2.2, 30.0):
        dilated = disk_dilate(masks, radius)
        assert torch.equal(dilated, masks if radius < 1 else dilated_by_convolution(masks, radius))
    assert not disk_dilate(masks, 2.2)[0].any() and disk_dilate(masks, 2.2)[1].all()


def test_boundary_f1_of_a_large_result_matches_the_definition():
    """A 2048x1536 result (a 12 MP photo of a bundled frame): the BF radius is 19 pixels. Checked against the
    convolution on a crop, and its speed left to benchmarks/dilation.py."""
    torch.manual_seed(1)
    coarse = (torch.rand(1, 1, 96, 128) * 5).long().float()
    labels = F.interpolate(coarse, size=(1536, 2048), mode="nearest")[0, 0].long()
    masks = class_boundaries(labels, 5)
    radius = BF_TOLERANCE * math.hypot(1536, 2048)
    crop = (slice(None), slice(0, 200), slice(0, 300))
    assert torch.equal(disk_dilate(masks[crop], radius), dilated_by_convolution(masks[crop], radius))
    shifted = torch.roll(labels, shifts=10, dims=1)  # every vertical boundary 10 pixels off: within the radius
    assert boundary_f1(shifted, labels, 5) > 0.9 and boundary_f1(shifted, labels, 5, tolerance=5 / 2560) < 0.9


def split_image(column: int, size: int = 20) -> torch.Tensor:
    label = torch.zeros(size, size, dtype=torch.long)
    label[:, column:] = 1
    return label


def test_boundary_f1_is_one_for_a_perfect_prediction_and_zero_when_far_off():
    target = split_image(10)
    diagonal = math.hypot(20, 20)
    assert boundary_f1(target, target, 2) == 1.0
    # Boundaries 3 pixels apart: outside a 2-pixel tolerance, inside a 3-pixel one.
    shifted = split_image(13)
    assert boundary_f1(shifted, target, 2, tolerance=2.0 / diagonal) == 0.0
    assert boundary_f1(shifted, target, 2, tolerance=3.0 / diagonal) == 1.0


def test_boundary_f1_hand_computed_partial_match():
    # Truth: class 1 is a 6x6 square inside class 0. Prediction: the square's
    # left half only (columns 7..9), so the left edge, top/bottom halves match.
    target = torch.zeros(16, 16, dtype=torch.long)
    target[5:11, 7:13] = 1
    pred = torch.zeros(16, 16, dtype=torch.long)
    pred[5:11, 7:10] = 1
    f1 = boundary_f1(pred, target, 2, tolerance=0.0)  # exact matches only
    # class 1: true boundary = 20 ring pixels; predicted boundary = the 6x3 block minus its 4x1 inside = 14.
    # matched predicted: the block's pixels on rows 5/10 and column 7 -> 3+3+4 = 10 of 14; precision 10/14.
    # matched true: the ring's pixels the block's boundary covers -> same 10 of 20; recall 10/20.
    p1, r1 = 10 / 14, 10 / 20
    f1_class1 = 2 * p1 * r1 / (p1 + r1)
    # class 0: true boundary = the 24 pixels 4-adjacent to the square (rows 4/11 x cols 7..12, cols 6/13 x
    # rows 5..10); predicted = the 18 around the block. Shared: rows 4/11 x cols 7..9 and column 6 -> 12.
    p0, r0 = 12 / 18, 12 / 24
    f1_class0 = 2 * p0 * r0 / (p0 + r0)
    assert f1 == pytest.approx((f1_class0 + f1_class1) / 2)


def test_boundary_f1_ignores_void_and_absent_classes():
    target = split_image(10)
    target[:, 15:] = 11  # void strip
    pred = split_image(10)
    pred[:, 15:] = 0  # whatever is predicted on void does not count
    assert boundary_f1(pred, target, 3) == 1.0


@pytest.mark.parametrize("fill", [0, 1])
def test_boundary_f1_of_a_prediction_right_on_every_labelled_pixel_is_one_whatever_it_says_on_void(fill):
    """Two classes with a void strip between them, as CamVid labels often are: the truth's regions end at the void,
    and so must the prediction's, whatever it predicted there (it scored 0: its own edge lay inside the void)."""
    target = split_image(10)
    target[:, 8:12] = 11
    pred = split_image(10)
    pred[:, 8:12] = fill
    assert boundary_f1(pred, target, 2) == 1.0
    wrong = pred.clone()
    wrong[:, 12:14] = 0  # two labelled columns of class 1 called 0: its edge moves two pixels
    assert boundary_f1(wrong, target, 2, tolerance=1.0 / math.hypot(20, 20)) < 1.0


def test_meter_accumulates_over_images():
    meter = SegmentationMeter(num_classes=2)
    target = split_image(10)
    meter.update(target.unsqueeze(0), target.unsqueeze(0))
    meter.update(split_image(12), target)
    summary = meter.summary()
    assert summary["global_accuracy"] == pytest.approx((400 + 360) / 800)
    assert len(meter.bf_scores) == 2 and meter.bf_scores[0] == 1.0


def test_median_frequency_weights_by_hand():
    # Image A: 3 px class 0, 1 px class 1. Image B: 2 px class 0, 2 px class 2.
    a = torch.tensor([[0, 0], [0, 1]])
    b = torch.tensor([[0, 0], [2, 2]])
    weights = median_frequency_weights([a, b], num_classes=3)
    freq = torch.tensor([5 / 8, 1 / 4, 2 / 4])  # class pixels / pixels of images containing the class
    assert torch.allclose(weights, freq.median() / freq)
