"""The calibration and error-detection maths (segdemo.calibration) against hand-computed cases."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from segdemo.calibration import (
    CalibrationMeter,
    ErrorDetectionMeter,
    accuracy_kept_exact,
    accuracy_kept_from_histograms,
    auroc_exact,
    auroc_from_histograms,
    bilinear_sources,
    confidence_bin,
    expected_calibration_error,
    fit_temperature,
    mixture_nll,
    mixture_probabilities,
    TEMPERATURE_SCOPES,
    tempered_mean,
    uncertainty_bin,
)


def two_class_probs(confidences: list[float]) -> torch.Tensor:
    """(1,2,1,P) probabilities whose top class is class 0 with the given confidences."""
    p = torch.tensor(confidences, dtype=torch.float32)
    return torch.stack([p, 1 - p]).view(1, 2, 1, -1)


# -- ECE -----------------------------------------------------------------------


def test_a_perfectly_calibrated_toy_has_zero_ece():
    # 10 pixels at 80% of which 8 are right, 10 at 60% of which 6 are right
    confidence = [0.8] * 10 + [0.6] * 10
    correct = [True] * 8 + [False] * 2 + [True] * 6 + [False] * 4
    assert expected_calibration_error(confidence, correct) == pytest.approx(0.0, abs=1e-12)
    meter = CalibrationMeter()
    meter.update(two_class_probs(confidence), torch.tensor([[[0 if c else 1 for c in correct]]]))
    assert meter.summary()["ece"] == pytest.approx(0.0, abs=1e-7)


def test_always_sure_and_right_half_the_time_gives_half():
    assert expected_calibration_error([1.0] * 10, [True, False] * 5) == pytest.approx(0.5)
    meter = CalibrationMeter()
    meter.update(two_class_probs([1.0] * 10), torch.tensor([[[0, 1] * 5]]))
    summary = meter.summary()
    assert summary["ece"] == pytest.approx(0.5)
    assert summary["reliability"]["count"][-1] == 10 and summary["reliability"]["accuracy"][-1] == pytest.approx(0.5)
    assert summary["reliability"]["accuracy"][0] is None  # empty bins have no accuracy


def test_bins_are_equal_width_and_closed_on_the_right():
    assert confidence_bin(torch.tensor([0.0, 1 / 15, 1 / 15 + 1e-6, 0.5, 1.0], dtype=torch.float64)).tolist() == [0, 0, 1, 7, 14]


def test_nll_and_brier_by_hand():
    meter = CalibrationMeter()
    probs = torch.tensor([[0.8, 0.3], [0.2, 0.7]]).view(1, 2, 1, 2)  # pixel 1: (0.8, 0.2), pixel 2: (0.3, 0.7)
    meter.update(probs, torch.tensor([[[0, 0]]]))  # both truly class 0: right, then wrong
    summary = meter.summary()
    assert summary["nll"] == pytest.approx((-math.log(0.8) - math.log(0.3)) / 2, rel=1e-6)
    assert summary["brier"] == pytest.approx(((0.2**2 + 0.2**2) + (0.7**2 + 0.7**2)) / 2, rel=1e-6)
    assert summary["accuracy"] == pytest.approx(0.5)


def test_the_streaming_meter_equals_the_definition_and_skips_void():
    generator = torch.Generator().manual_seed(0)
    probs = F.softmax(torch.randn(3, 11, 20, 30, generator=generator) * 3, dim=1)
    labels = torch.randint(0, 12, (3, 20, 30), generator=generator)  # 11 = void
    meter = CalibrationMeter()
    for i in range(3):  # one image at a time: streaming
        meter.update(probs[i : i + 1], labels[i : i + 1])
    valid = labels != 11
    top, predicted = probs.max(dim=1)
    assert meter.pixels == int(valid.sum())
    assert meter.summary()["ece"] == pytest.approx(expected_calibration_error(top[valid], (predicted == labels)[valid]), abs=1e-9)


def test_frames_with_no_labelled_pixel_measure_nothing_rather_than_perfect_calibration():
    """All void: the figures were 0.0, an ECE of 0 and an NLL of 0 as if perfectly calibrated and sure."""
    meter = CalibrationMeter()
    meter.update(two_class_probs([0.9] * 4), torch.full((1, 1, 4), 11))
    summary = meter.summary()
    assert summary["pixels"] == 0
    assert [summary[k] for k in ("ece", "nll", "brier", "accuracy", "mean_confidence")] == [None] * 5
    assert summary["reliability"]["count"] == [0] * 15


# -- temperature scaling ---------------------------------------------------------


def test_temperature_fitting_recovers_a_known_temperature():
    generator = torch.Generator().manual_seed(1)
    logits = torch.randn(30000, 11, generator=generator) * 4
    true_temperature = 2.5
    labels = torch.multinomial(F.softmax(logits / true_temperature, dim=1), 1, generator=generator)[:, 0]
    fitted = fit_temperature(lambda t: mixture_nll(logits[:, None, None, :], torch.ones(30000, 1), labels, t))
    assert fitted == pytest.approx(true_temperature, rel=0.04)
    # and a model that is under-confident (labels sharper than its logits say) gets T < 1
    labels = torch.multinomial(F.softmax(logits / 0.5, dim=1), 1, generator=generator)[:, 0]
    fitted = fit_temperature(lambda t: mixture_nll(logits[:, None, None, :], torch.ones(30000, 1), labels, t))
    assert fitted == pytest.approx(0.5, rel=0.04)


def test_the_search_finds_the_minimum_of_a_known_function():
    assert fit_temperature(lambda t: (math.log(t) - math.log(1.7)) ** 2) == pytest.approx(1.7, rel=1e-3)
    assert fit_temperature(lambda t: t, low=0.1, high=10) == pytest.approx(0.1, rel=1e-3)  # minimum at the edge


def test_the_mixture_is_the_average_of_tempered_samples_resized_bilinearly():
    generator = torch.Generator().manual_seed(2)
    samples, classes, h, w, H, W = 3, 5, 6, 8, 15, 19
    logits = torch.randn(1, samples, classes, h, w, generator=generator) * 3
    temperature = 1.7
    served = F.interpolate(F.softmax(logits / temperature, dim=2).mean(dim=1), size=(H, W), mode="bilinear", align_corners=False)[0]
    r0, r1, wy = bilinear_sources(H, h)
    c0, c1, wx = bilinear_sources(W, w)
    rows, cols = torch.meshgrid(torch.arange(H), torch.arange(W), indexing="ij")
    rows, cols = rows.flatten(), cols.flatten()
    ry0, ry1, ay = r0[rows], r1[rows], wy[rows]
    cx0, cx1, ax = c0[cols], c1[cols], wx[cols]
    frame = logits[0]
    corners = [(ry0, cx0), (ry0, cx1), (ry1, cx0), (ry1, cx1)]
    gathered = torch.stack([frame[:, :, r, c].permute(2, 0, 1) for r, c in corners], dim=1)
    weights = torch.stack([(1 - ay) * (1 - ax), (1 - ay) * ax, ay * (1 - ax), ay * ax], dim=1)
    mixed = mixture_probabilities(gathered, weights, temperature)
    assert torch.allclose(mixed.float(), served.flatten(1).T, atol=1e-6)
    labels = torch.randint(0, classes, (H * W,), generator=generator)
    expected = -served.flatten(1).T.gather(1, labels[:, None]).log().mean()
    assert mixture_nll(gathered, weights, labels, temperature) == pytest.approx(float(expected), rel=1e-5)


def test_the_averaged_scope_rescales_the_mean_and_leaves_the_samples_untempered():
    generator = torch.Generator().manual_seed(4)
    logits = torch.randn(2, 4, 5, 6, 7, generator=generator) * 3  # (N,S,C,h,w)
    mean, sample_probs = tempered_mean(logits, 1.6, "averaged")
    untempered = F.softmax(logits, dim=2)
    assert torch.equal(sample_probs, untempered)
    assert torch.allclose(mean, F.softmax(untempered.mean(dim=1).log() / 1.6, dim=1), atol=1e-6)
    assert torch.allclose(mean.sum(dim=1), torch.ones(2, 6, 7), atol=1e-6)
    per_sample_mean, per_sample = tempered_mean(logits, 1.6, "samples")
    assert torch.allclose(per_sample, F.softmax(logits / 1.6, dim=2)) and not torch.allclose(mean, per_sample_mean)
    for scope in TEMPERATURE_SCOPES:  # T = 1 is no calibration under either scope
        assert torch.allclose(tempered_mean(logits, 1.0, scope)[0], untempered.mean(dim=1), atol=1e-6)
    with pytest.raises(ValueError, match="temperature scope"):
        tempered_mean(logits, 1.6, "pixels")


def test_the_averaged_mixture_is_what_is_served_and_its_fit_recovers_a_known_temperature():
    generator = torch.Generator().manual_seed(5)
    pixels, sources, samples, classes = 20000, 2, 3, 6
    logits = torch.randn(pixels, sources, samples, classes, generator=generator) * 3
    weights = torch.rand(pixels, sources, generator=generator)
    weights = weights / weights.sum(dim=1, keepdim=True)
    averaged = F.softmax(logits, dim=3).mean(dim=2)  # (P,K,C): each source's Monte-Carlo average
    served = (F.softmax(averaged.log() / 2.0, dim=2) * weights[..., None]).sum(dim=1)  # rescaled, then resized
    assert torch.allclose(mixture_probabilities(logits, weights, 2.0, scope="averaged").float(), served, atol=1e-6)
    labels = torch.multinomial(served, 1, generator=generator)[:, 0]
    expected = float(-served.gather(1, labels[:, None]).log().mean())
    assert mixture_nll(logits, weights, labels, 2.0, scope="averaged") == pytest.approx(expected, rel=1e-5)
    fitted = fit_temperature(lambda t: mixture_nll(logits, weights, labels, t, scope="averaged"))
    assert fitted == pytest.approx(2.0, rel=0.05)


# -- uncertainty as an error detector ------------------------------------------------


def test_auroc_by_hand():
    # right pixels' uncertainty 0.1, 0.5, 0.9; wrong ones 0.3, 0.9. Of the 6 (wrong, right) pairs the wrong
    # one is more uncertain in 3 (0.3>0.1, 0.9>0.1, 0.9>0.5) and ties in 1 (0.9=0.9): (3 + 0.5) / 6.
    scores = [0.1, 0.5, 0.9, 0.3, 0.9]
    wrong = [False, False, False, True, True]
    assert auroc_exact(scores, wrong) == pytest.approx(3.5 / 6)
    assert auroc_exact([0.1, 0.2, 0.8, 0.9], [False, False, True, True]) == 1.0  # every error less certain
    assert auroc_exact([0.8, 0.9, 0.1, 0.2], [False, False, True, True]) == 0.0
    assert math.isnan(auroc_exact([0.1, 0.2], [False, False]))  # no errors: undefined
    meter = ErrorDetectionMeter()
    everything = torch.ones(5, dtype=torch.bool)
    meter.update({"entropy": torch.tensor(scores)}, ~torch.tensor(wrong), {"all": everything, "band": everything})
    assert meter.summary()["all"]["entropy"]["auroc"] == pytest.approx(3.5 / 6)


def test_histogram_figures_equal_the_exact_ones_when_values_fall_in_distinct_bins():
    generator = torch.Generator().manual_seed(3)
    chosen = torch.randperm(2047, generator=generator)[:400] + 1  # 400 distinct log-spaced bins, values at their centres
    u = 10 ** ((chosen.double() - 0.5) / 2047 * 6 - 6)
    wrong = torch.rand(400, generator=generator, dtype=torch.float64) < 0.2 + 0.6 * u  # more uncertain: likelier wrong
    index = uncertainty_bin(u)
    assert torch.equal(index, chosen)  # no ties introduced by binning
    right_hist = torch.bincount(index[~wrong], minlength=2048)
    wrong_hist = torch.bincount(index[wrong], minlength=2048)
    assert auroc_from_histograms(right_hist, wrong_hist) == pytest.approx(auroc_exact(u, wrong), abs=1e-12)
    fractions = [0.1, 0.25, 0.5, 0.75, 1.0]
    assert accuracy_kept_from_histograms(right_hist, wrong_hist, fractions) == pytest.approx(
        accuracy_kept_exact(u, ~wrong, fractions), abs=1e-12
    )


def test_accuracy_of_the_most_certain_pixels_by_hand():
    uncertainty = [0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 0.9, 0.95, 0.97, 0.99]
    correct = [True, True, True, True, False, True, False, False, True, False]
    assert accuracy_kept_exact(uncertainty, correct, [0.2, 0.4, 0.5, 1.0]) == [1.0, 1.0, 0.8, 0.6]


def test_uncertainty_bins_are_finer_near_zero():
    values = torch.tensor([0.0, 1e-7, 1e-6, 1.1e-6, 1e-3, 0.5, 1.0])
    bins = uncertainty_bin(values).tolist()
    assert bins[:3] == [0, 0, 0] and bins[3] >= 1 and bins == sorted(bins) and bins[-1] == 2047
    assert uncertainty_bin(torch.tensor([0.100, 0.101])).unique().numel() == 2  # 1% apart: different bins


def test_bilinear_sources_match_torch():
    for out_size, in_size in [(15, 6), (360, 180), (7, 7), (5, 9)]:
        first, second, weight = bilinear_sources(out_size, in_size)
        line = torch.randn(1, 1, 1, in_size, dtype=torch.float64)
        expected = F.interpolate(line, size=(1, out_size), mode="bilinear", align_corners=False)[0, 0, 0]
        got = (1 - weight) * line[0, 0, 0, first] + weight * line[0, 0, 0, second]
        assert torch.allclose(got, expected, atol=1e-12)
