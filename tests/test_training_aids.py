"""Batches cut from frames in memory, auxiliary heads, the weight average and the saved run state."""

from __future__ import annotations

import torch
from torch import nn

from segdemo.classes import CAMVID_CLASSES, NUM_CLASSES, VOID_INDEX
from segdemo.data.augment import PASTED_CLASSES, Augmentation, copy_paste, jitter_light, make_batch, scale_and_crop
from segdemo.models import build
from segdemo.run_state import load_run_state, save_run_state
from segdemo.training_aids import (
    AuxiliaryHeads,
    WeightAverage,
    focal_cross_entropy,
    lovasz_softmax,
    relaxed_cross_entropy,
    segmentation_loss,
)


def _frames(n: int = 4, size: tuple[int, int] = (36, 48)) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n, 3, *size), generator=g, dtype=torch.uint8)
    labels = torch.randint(0, NUM_CLASSES, (n, *size), generator=g).to(torch.uint8)
    return images, labels


def test_batches_have_the_crop_size_valid_labels_and_repeat_with_the_seed():
    images, labels = _frames()
    aug = Augmentation(crop=(24, 32), scale=(0.5, 1.5))
    x, y = make_batch(images, labels, [0, 1, 2, 3], aug, torch.Generator().manual_seed(1))
    assert x.shape == (4, 3, 24, 32) and y.shape == (4, 24, 32) and y.dtype == torch.int64
    assert 0.0 <= float(x.min()) and float(x.max()) <= 1.0
    assert set(y.unique().tolist()) <= set(range(NUM_CLASSES + 1))
    x2, y2 = make_batch(images, labels, [0, 1, 2, 3], aug, torch.Generator().manual_seed(1))
    assert torch.equal(x, x2) and torch.equal(y, y2)


def test_a_batch_is_made_where_the_frames_are_held_with_the_same_draws():
    """A GPU run holds its frames on the GPU; 'meta' stands in for it here (a CPU tensor mixed in raises)."""
    images = torch.randint(0, 256, (4, 3, 36, 48), dtype=torch.uint8)
    labels = torch.randint(0, NUM_CLASSES + 1, (4, 36, 48), dtype=torch.uint8)
    aug = Augmentation(crop=(24, 32), paste=0.5, colour_cast=0.1)
    generator = torch.Generator().manual_seed(3)
    x, y = make_batch(images.to("meta"), labels.to("meta"), [0, 1, 2, 3], aug, generator)
    assert (x.device.type, y.device.type) == ("meta", "meta")
    assert (tuple(x.shape), tuple(y.shape)) == ((4, 3, 24, 32), (4, 24, 32))
    on_cpu = torch.Generator().manual_seed(3)
    make_batch(images, labels, [0, 1, 2, 3], aug, on_cpu)
    assert torch.equal(generator.get_state(), on_cpu.get_state())  # the same random draws, wherever the frames are


def test_a_crop_larger_than_the_shrunk_frame_is_padded_with_void():
    images, labels = _frames(1)
    x, y = scale_and_crop(images[0], labels[0], 0.5, (30, 40), torch.Generator().manual_seed(0))
    assert x.shape == (3, 30, 40) and y.shape == (30, 40)
    assert (y == VOID_INDEX).sum() == 30 * 40 - 18 * 24  # the frame shrank to 18x24
    assert float(x[:, y == VOID_INDEX].abs().max()) == 0.0


def test_scale_one_without_light_or_flip_keeps_pixels_and_labels():
    images, labels = _frames(1)
    aug = Augmentation(crop=(36, 48), scale=(1.0, 1.0), flip=False, light=False)
    x, y = make_batch(images, labels, [0], aug, torch.Generator().manual_seed(0))
    assert torch.equal((x[0] * 255).round().to(torch.uint8), images[0])
    assert torch.equal(y[0], labels[0].long())


def test_copy_paste_moves_only_the_thin_classes_pixels_and_labels_together():
    images = torch.stack([torch.full((3, 6, 8), 0.1), torch.full((3, 6, 8), 0.9)])
    labels = torch.zeros(2, 6, 8, dtype=torch.long)  # Sky everywhere
    pole, pedestrian = PASTED_CLASSES[0], PASTED_CLASSES[2]
    labels[1, 1:5, 2] = pole
    labels[1, 3:5, 5:7] = pedestrian
    labels[0, 0, 0] = pedestrian  # frame 0's own pedestrian pixel, pasted onto frame 1
    x, y = copy_paste(images, labels, 1.0, PASTED_CLASSES, torch.Generator().manual_seed(0))
    moved = labels[1] != 0
    assert torch.equal(y[0][moved], labels[1][moved]) and torch.equal(y[0][~moved & (labels[0] == 0)], labels[0][~moved & (labels[0] == 0)])
    assert torch.allclose(x[0][:, moved], torch.tensor(0.9)) and torch.allclose(x[0][:, ~moved & (labels[0] == 0)], torch.tensor(0.1))
    assert int(y[1, 0, 0]) == pedestrian and abs(float(x[1, 0, 0, 0]) - 0.1) < 1e-6 and int((y[1] != labels[1]).sum()) == 1
    assert int(labels[0].ne(0).sum()) == 1 and torch.allclose(images[0], torch.tensor(0.1))  # the inputs are untouched


def test_copy_paste_leaves_other_classes_and_frames_that_were_not_chosen():
    images, labels = _frames(4)
    labels = labels.long()
    x, y = copy_paste(images.float(), labels, 0.0, PASTED_CLASSES, torch.Generator().manual_seed(0))
    assert torch.equal(y, labels)
    no_thin = torch.where(torch.isin(labels, torch.tensor(PASTED_CLASSES)), torch.zeros_like(labels), labels)
    x, y = copy_paste(images.float(), no_thin, 1.0, PASTED_CLASSES, torch.Generator().manual_seed(0))
    assert torch.equal(y, no_thin) and torch.equal(x, images.float())
    aug = Augmentation(crop=(24, 32), scale=(0.5, 1.5), paste=0.5)
    a, b = make_batch(images, labels.to(torch.uint8), [0, 1, 2, 3], aug, torch.Generator().manual_seed(1))
    a2, b2 = make_batch(images, labels.to(torch.uint8), [0, 1, 2, 3], aug, torch.Generator().manual_seed(1))
    assert torch.equal(a, a2) and torch.equal(b, b2) and a.shape == (4, 3, 24, 32)


def test_light_jitter_stays_in_range_and_gamma_darkens():
    images = torch.full((2, 3, 4, 4), 0.5)
    aug = Augmentation(crop=(4, 4), brightness=(1, 1), contrast=(1, 1), saturation=(1, 1), gamma=(1.5, 1.5))
    out = jitter_light(images.clone(), aug, torch.Generator().manual_seed(0))
    assert torch.allclose(out, torch.full_like(out, 0.5**1.5))


def test_colour_cast_tints_a_grey_frame_within_its_gains_and_is_off_by_default():
    grey = torch.full((64, 3, 2, 2), 0.5)
    flat = dict(brightness=(1, 1), contrast=(1, 1), saturation=(1, 1), gamma=(1, 1))
    plain = jitter_light(grey.clone(), Augmentation(crop=(2, 2), **flat), torch.Generator().manual_seed(0))
    assert torch.allclose(plain, grey)  # without a cast every channel keeps its value
    cast = jitter_light(grey.clone(), Augmentation(crop=(2, 2), colour_cast=0.2, **flat), torch.Generator().manual_seed(0))
    gains = cast[:, :, 0, 0] / 0.5  # (frame, channel)
    assert float(gains.min()) >= 0.8 - 1e-6 and float(gains.max()) <= 1.2 + 1e-6
    assert float((gains[:, 0] - gains[:, 2]).abs().max()) > 0.1  # channels move apart: a tint, not a brightness change
    assert torch.equal(cast[:, :, 0, 0], cast[:, :, 1, 1])  # one gain per channel and frame


def test_copy_paste_moves_any_classes_it_is_given():
    images = torch.stack([torch.full((3, 4, 4), 0.1), torch.full((3, 4, 4), 0.9)])
    labels = torch.zeros(2, 4, 4, dtype=torch.long)
    car = CAMVID_CLASSES.index("Car")
    labels[1, 2:, 2:] = car
    _, thin_only = copy_paste(images, labels, 1.0, PASTED_CLASSES, torch.Generator().manual_seed(0))
    assert torch.equal(thin_only, labels)  # a car is not a thin class
    x, y = copy_paste(images, labels, 1.0, PASTED_CLASSES + (car,), torch.Generator().manual_seed(0))
    assert int((y[0] == car).sum()) == 4 and torch.allclose(x[0][:, 2:, 2:], torch.tensor(0.9))


def test_label_relaxation_is_the_cross_entropy_inside_regions_and_forgives_a_neighbour_at_a_boundary():
    import torch.nn.functional as F

    torch.manual_seed(0)
    logits, weights = torch.randn(2, NUM_CLASSES, 8, 10), torch.rand(NUM_CLASSES) + 0.5
    one_class = torch.full((2, 8, 10), 3)
    one_class[1, :2] = VOID_INDEX
    plain = F.cross_entropy(logits, one_class, weight=weights, ignore_index=VOID_INDEX)
    assert torch.allclose(relaxed_cross_entropy(logits, one_class, weights, 1), plain)
    assert torch.allclose(segmentation_loss(logits, one_class, weights, relaxation=1), plain)
    halves = torch.zeros(1, 8, 10, dtype=torch.long)
    halves[:, :, 5:] = 3  # Sky | Road, the boundary between columns 4 and 5
    says_road = torch.full((1, NUM_CLASSES, 8, 10), -5.0)
    says_road[:, 3] = 5.0  # sure of Road everywhere, wrongly on the Sky half
    per_pixel = F.cross_entropy(says_road, halves, reduction="none")
    relaxed = relaxed_cross_entropy(says_road, halves, torch.ones(NUM_CLASSES), 1)
    far_sky = per_pixel[:, :, :4].sum()  # column 4 borders Road and is forgiven
    assert torch.allclose(relaxed, far_sky / 80, rtol=1e-3) and float(relaxed) < float(per_pixel.mean())
    assert float(relaxed_cross_entropy(says_road, halves, torch.ones(NUM_CLASSES), 2)) < float(relaxed)


def test_auxiliary_heads_score_each_decoder_unit_and_leave_the_model_alone():
    model = build("bayesian_segnet_lite")
    keys = set(model.state_dict())
    heads = AuxiliaryHeads(model)
    assert heads.units == (5, 4, 3, 2)
    logits = model(torch.zeros(2, 3, 64, 96))
    scores = heads((64, 96))
    assert len(scores) == 4 and all(s.shape == logits.shape for s in scores)
    assert set(model.state_dict()) == keys  # nothing saved with the model
    labels = torch.randint(0, NUM_CLASSES, (2, 64, 96))
    weights = torch.ones(NUM_CLASSES)
    plain = segmentation_loss(logits, labels, weights)
    assert float(segmentation_loss(logits, labels, weights, scores, 0.4).detach()) > float(plain.detach())
    heads.remove()
    model(torch.zeros(1, 3, 32, 32))
    assert heads._features == {}


def test_weight_average_follows_the_ema_formula():
    model = nn.Sequential(nn.Conv2d(1, 1, 1), nn.BatchNorm2d(1))
    average = WeightAverage(model, decay=0.5)
    start = model[0].weight.detach().clone()
    with torch.no_grad():
        model[0].weight.add_(1.0)
    average.update(model)  # first update: decay min(0.5, 2/11)
    expected = start + (1 - 2 / 11) * 1.0
    assert torch.allclose(average.state["0.weight"], expected)
    copy = average.copy_to(nn.Sequential(nn.Conv2d(1, 1, 1), nn.BatchNorm2d(1)))
    assert torch.allclose(copy[0].weight, expected)


def test_run_state_round_trips_weights_optimizer_and_generators(tmp_path):
    model = nn.Linear(3, 2)
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.1)
    model(torch.randn(4, 3)).sum().backward()
    optimizer.step()
    generator = torch.Generator().manual_seed(7)
    torch.rand(3, generator=generator)
    save_run_state(tmp_path, modules={"model": model}, averages={"average": {"weight": torch.ones(2, 3)}},
                   optimizer=optimizer, generators={"data": generator.get_state()}, progress={"step": 1})
    restored = nn.Linear(3, 2)
    restored_optimizer = torch.optim.AdamW(restored.parameters(), lr=0.1)
    averages, generators, progress = load_run_state(tmp_path, modules={"model": restored}, optimizer=restored_optimizer)
    assert progress == {"step": 1} and torch.equal(averages["average"]["weight"], torch.ones(2, 3))
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), restored.state_dict().values()))
    for a, b in zip(optimizer.state.values(), restored_optimizer.state.values()):
        assert all(torch.equal(torch.as_tensor(a[k]), torch.as_tensor(b[k])) for k in a)
    again = torch.Generator()
    again.set_state(generators["data"])
    assert torch.equal(torch.rand(3, generator=again), torch.rand(3, generator=generator))
    assert not (tmp_path / "state.partial").exists()


def test_lovasz_softmax_of_hard_predictions_is_one_minus_the_mean_iou_of_the_classes_present():
    # 2x4 labels with classes 0, 1 and a void pixel; the prediction gets two pixels wrong.
    labels = torch.tensor([[[0, 0, 0, 1], [1, 1, VOID_INDEX, 0]]])
    predicted = torch.tensor([[[0, 0, 1, 1], [1, 1, 2, 1]]])
    logits = 1e4 * torch.nn.functional.one_hot(predicted, NUM_CLASSES).permute(0, 3, 1, 2).float()
    # Void pixel dropped. Class 0: 2 right of 4 labelled, none extra -> IoU 2/4. Class 1: 3 of 3, 2 extra -> 3/5.
    # Class 2 is predicted only at the void pixel, which is dropped; it is absent from the labels, so not averaged.
    expected = 1 - (2 / 4 + 3 / 5) / 2
    assert abs(float(lovasz_softmax(logits, labels)) - expected) < 1e-4
    right = 1e4 * torch.nn.functional.one_hot(labels.clamp(max=NUM_CLASSES - 1), NUM_CLASSES).permute(0, 3, 1, 2).float()
    assert float(lovasz_softmax(right, labels)) < 1e-4


def test_lovasz_softmax_has_gradients_ignores_void_and_can_sample_pixels():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(2, NUM_CLASSES, 16, 20, generator=g, requires_grad=True)
    labels = torch.randint(0, NUM_CLASSES, (2, 16, 20), generator=g)
    labels[:, :4] = VOID_INDEX
    loss = lovasz_softmax(logits, labels)
    loss.backward()
    assert 0 < float(loss.detach()) < 1
    assert logits.grad[:, :, :4].abs().max() == 0 and logits.grad[:, :, 4:].abs().max() > 0
    torch.manual_seed(0)
    sampled = lovasz_softmax(logits.detach(), labels, max_pixels=300)
    assert abs(float(sampled) - float(loss.detach())) < 0.1  # a random third of the pixels estimates the whole
    weights = torch.ones(NUM_CLASSES)
    combined = segmentation_loss(logits, labels, weights, lovasz_weight=0.5)
    plain = segmentation_loss(logits, labels, weights)
    assert abs(float((combined - plain).detach()) - 0.5 * float(loss.detach())) < 1e-4
    all_void = torch.full((1, 4, 4), VOID_INDEX)
    assert float(lovasz_softmax(torch.randn(1, NUM_CLASSES, 4, 4), all_void)) == 0.0


def test_focal_loss_is_the_weighted_cross_entropy_at_gamma_0_and_matches_a_hand_computed_pixel():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(2, NUM_CLASSES, 6, 8, generator=g)
    labels = torch.randint(0, NUM_CLASSES, (2, 6, 8), generator=g)
    labels[:, 0] = VOID_INDEX
    weights = torch.rand(NUM_CLASSES, generator=g) + 0.5
    plain = torch.nn.functional.cross_entropy(logits, labels, weight=weights, ignore_index=VOID_INDEX)
    assert torch.allclose(focal_cross_entropy(logits, labels, weights, 0.0), plain)
    # One labelled pixel whose label has probability 0.8: the focal term is -(0.2)^3 log 0.8, whatever its weight.
    one = torch.full((1, 1, 2), VOID_INDEX)
    one[0, 0, 0] = 1
    two_class = torch.zeros(1, NUM_CLASSES, 1, 2)
    two_class[0, 1, 0, 0] = float(torch.log(torch.tensor(0.8 * (NUM_CLASSES - 1) / 0.2)))
    expected = -(0.2 ** 3) * torch.log(torch.tensor(0.8))
    assert torch.allclose(focal_cross_entropy(two_class, one, weights, 3.0), expected, rtol=1e-4)
    # It spares the pixels the network already gets right: a smaller loss than the cross-entropy, and from
    # segmentation_loss when asked; it refuses to be mixed with boundary relaxation.
    assert float(segmentation_loss(logits, labels, weights, focal_gamma=3.0)) < float(plain)
    assert torch.allclose(segmentation_loss(logits, labels, weights, focal_gamma=3.0),
                          focal_cross_entropy(logits, labels, weights, 3.0))
    try:
        segmentation_loss(logits, labels, weights, relaxation=1, focal_gamma=3.0)
    except ValueError as error:
        assert "choose one" in str(error)
    else:
        raise AssertionError("relaxation with the focal loss was accepted")
