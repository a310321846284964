"""Uncertainty maths against hand-computed cases, and predict() on real checkpoints."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from PIL import Image

from segdemo.checkpoints import load_checkpoint, make_config, save_checkpoint
from segdemo.inference import output_size, predict, working_size
from segdemo.models import build
from segdemo.uncertainty import boundary_band, boundary_uncertainty, confidence, entropy, mutual_information


def test_entropy_of_a_uniform_distribution_is_log_c():
    for c in (2, 11, 20):
        probs = torch.full((c, 3, 4), 1.0 / c)
        assert torch.allclose(entropy(probs), torch.full((3, 4), math.log(c)))
        assert torch.allclose(confidence(probs), torch.full((3, 4), 1.0 / c))


def test_entropy_of_a_certain_prediction_is_zero():
    probs = torch.zeros(11, 2, 2)
    probs[3] = 1.0
    assert torch.equal(entropy(probs), torch.zeros(2, 2))


def test_entropy_by_hand():
    probs = torch.tensor([0.5, 0.25, 0.25]).view(3, 1, 1)
    assert float(entropy(probs)) == pytest.approx(-(0.5 * math.log(0.5) + 2 * 0.25 * math.log(0.25)))


def test_mutual_information_is_zero_when_all_samples_agree():
    torch.manual_seed(0)
    one = torch.softmax(torch.randn(11, 5, 6), dim=0)  # uncertain, but the same every time
    samples = one.unsqueeze(0).repeat(8, 1, 1, 1)
    assert torch.allclose(mutual_information(samples), torch.zeros(5, 6), atol=1e-6)


def test_mutual_information_of_two_confident_samples_that_disagree_is_log_2():
    samples = torch.zeros(2, 3, 1, 1)
    samples[0, 0] = 1.0
    samples[1, 1] = 1.0
    assert float(mutual_information(samples)) == pytest.approx(math.log(2))


def test_mutual_information_never_exceeds_predictive_entropy():
    torch.manual_seed(1)
    samples = torch.softmax(3 * torch.randn(6, 11, 8, 8), dim=1)
    mi = mutual_information(samples)
    assert (mi >= 0).all() and (mi <= entropy(samples.mean(0)) + 1e-6).all()


def two_regions(size: int = 100, column: int = 50) -> torch.Tensor:
    labels = torch.zeros(size, size, dtype=torch.long)
    labels[:, column:] = 1
    return labels


def test_boundary_band_on_a_toy_two_region_mask():
    labels = two_regions()
    tolerance = 3.2 / math.hypot(100, 100)  # a 3.2-pixel radius
    band = boundary_band(labels, tolerance)
    # edge pixels are columns 49 and 50; within 3.2 px: columns 46..53 on every row
    expected = torch.zeros(100, 100, dtype=torch.bool)
    expected[:, 46:54] = True
    assert torch.equal(band, expected)


def test_boundary_band_with_the_bf_tolerance_is_0_75_percent_of_the_diagonal():
    labels = two_regions(200, 100)
    band = boundary_band(labels)  # radius 0.0075 * 282.8 = 2.12 -> 2 columns each side of the edge
    assert band[0].nonzero().flatten().tolist() == list(range(97, 103))


def test_boundary_uncertainty_splits_band_and_interior():
    labels = two_regions()
    tolerance = 3.2 / math.hypot(100, 100)
    uncertainty = torch.zeros(100, 100)
    uncertainty[:, 46:54] = 0.8
    uncertainty[:, :10] = 0.1
    result = boundary_uncertainty(uncertainty, labels, tolerance)
    assert result.band_mean == pytest.approx(0.8)
    assert result.interior_mean == pytest.approx(0.1 * 10 / 92)
    assert result.ratio == pytest.approx(0.8 / (0.1 * 10 / 92))
    assert torch.isnan(result.band_map[:, 0]).all() and (result.band_map[:, 50] == 0.8).all()


def test_a_map_without_boundaries_has_no_band():
    uncertainty = torch.rand(20, 30)
    result = boundary_uncertainty(uncertainty, torch.zeros(20, 30, dtype=torch.long))
    assert not result.band.any() and result.band_mean is None and result.ratio is None
    assert result.interior_mean == pytest.approx(float(uncertainty.mean()))


def test_a_band_over_the_whole_picture_leaves_no_interior_and_no_ratio():
    """A 3x2 picture of five classes is all band: its interior's mean was 0.0 and the ratio inf, which the
    caption printed as "infx" and the API's JSON could not hold."""
    labels = torch.tensor([[0, 1, 2], [3, 4, 0]])
    result = boundary_uncertainty(torch.full((2, 3), 0.4), labels)
    assert result.band.all() and result.band_mean == pytest.approx(0.4)
    assert result.interior_mean is None and result.ratio is None


@pytest.mark.parametrize("size", [(360, 480), (361, 479), (4000, 3000), (10, 10000), (1, 1)])
def test_working_size_keeps_the_aspect_and_the_pixel_budget(size):
    h, w = working_size(*size, input_size=(180, 240))
    assert 16 <= h <= 960 and 16 <= w <= 960
    if min(size) > 100:
        assert abs((h / w) - (size[0] / size[1])) < 0.02
        assert 0.9 < h * w / (180 * 240) < 1.1


def test_output_size_caps_the_long_side():
    assert output_size(360, 480) == (360, 480)
    assert output_size(9000, 12000, max_side=2048) == (1536, 2048)


def test_output_size_keeps_within_the_width_the_page_shows():
    """A page's width caps the results' width, whatever the picture's orientation; the long side stays capped."""
    assert output_size(3024, 4032, max_width=1170) == (878, 1170)
    assert output_size(4032, 3024, max_width=1170) == (1560, 1170)  # portrait: 2048 tall would be 1536 wide
    assert output_size(4032, 3024, max_width=1600) == (2048, 1536)  # already narrower
    assert output_size(360, 480, max_width=1024) == (360, 480)  # never enlarged


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    torch.manual_seed(0)
    out = {}
    for name in ("fcn8s_lite", "bayesian_segnet_lite"):
        model = build(name)
        model.train()
        with torch.no_grad():
            model(torch.randn(2, 3, 64, 80))
        folder = tmp_path_factory.mktemp(name)
        save_checkpoint(model, make_config(name, model, (90, 120)), folder)
        out[name] = load_checkpoint(folder)
    return out


def picture(width: int, height: int, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8))


@pytest.mark.parametrize("size", [(479, 361), (200, 300), (37, 5)])
def test_predict_returns_maps_at_the_pictures_size(checkpoints, size):
    for checkpoint in checkpoints.values():
        p = predict(picture(*size), checkpoint, samples=3)
        w, h = size
        assert p.labels.shape == (h, w) and p.image.size == (w, h)
        assert p.probabilities.shape == (11, h, w)
        assert torch.allclose(p.probabilities.sum(0), torch.ones(h, w), atol=1e-4)
        assert (p.confidence >= 1 / 11 - 1e-6).all() and (p.confidence <= 1 + 1e-6).all()
        assert (p.entropy >= 0).all() and (p.entropy <= math.log(11) + 1e-5).all()
        assert torch.equal(p.labels, p.probabilities.argmax(0))


def test_only_bayesian_models_give_mutual_information(checkpoints):
    assert predict(picture(64, 48), checkpoints["fcn8s_lite"], samples=8).mutual_information is None
    bayes = predict(picture(64, 48), checkpoints["bayesian_segnet_lite"], samples=8)
    assert bayes.mutual_information is not None and bayes.samples == 8
    assert predict(picture(64, 48), checkpoints["bayesian_segnet_lite"], samples=1).mutual_information is None


def test_monte_carlo_is_repeatable_with_a_seed(checkpoints):
    checkpoint = checkpoints["bayesian_segnet_lite"]
    a = predict(picture(64, 48), checkpoint, samples=4, seed=7)
    b = predict(picture(64, 48), checkpoint, samples=4, seed=7)
    c = predict(picture(64, 48), checkpoint, samples=4, seed=8)
    assert torch.equal(a.probabilities, b.probabilities)
    assert not torch.equal(a.probabilities, c.probabilities)


def test_huge_pictures_come_back_at_the_capped_size(checkpoints):
    p = predict(picture(3000, 2000), checkpoints["fcn8s_lite"], max_output_side=600)
    assert p.labels.shape == (400, 600) and p.image.size == (600, 400)
    assert any("600x400" in note for note in p.notes)


@pytest.mark.parametrize("name", ["bayesian_segnet_basic", "bayesian_segnet_lite"])
def test_mirrored_samples_are_the_flipped_pictures_passes_flipped_back(name):
    """With dropout at rate 0 every sample is a plain pass: the first half of the picture, the rest of its mirror."""
    from segdemo.inference import class_logits

    torch.manual_seed(0)
    model = build(name).eval()
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    x = torch.randn(2, 3, 40, 56)
    with torch.no_grad():
        plain, mirrored = model(x), model(x.flip(-1)).flip(-1)
        samples = class_logits(model, x, samples=5, seed=0, mirror=True)
        unmirrored = class_logits(model, x, samples=5, seed=0, mirror=False)
    assert samples.shape == (2, 5, 11, 40, 56)
    assert not torch.allclose(plain, mirrored, atol=1e-3)  # the network is not mirror-symmetric
    for image in range(2):
        for sample in range(5):
            expected = plain if sample < 3 else mirrored  # 5 samples: 3 of the picture, 2 of its mirror
            assert torch.allclose(samples[image, sample], expected[image], atol=1e-5)
            assert torch.allclose(unmirrored[image, sample], plain[image], atol=1e-5)


def test_a_seed_repeats_the_dropout_masks_and_no_seed_draws_new_ones():
    """Seeded sampling is repeatable and leaves the global generator where it was; unseeded sampling draws from it,
    so two calls differ (the global state was restored after every call, and each drew the same masks)."""
    from segdemo.inference import class_logits

    torch.manual_seed(0)
    model = build("bayesian_segnet_basic", features=4).eval()
    x = torch.randn(1, 3, 40, 56)
    with torch.no_grad():
        state = torch.get_rng_state()
        first, again = (class_logits(model, x, samples=4, seed=7) for _ in range(2))
        assert torch.equal(first, again) and torch.equal(torch.get_rng_state(), state)
        one, two = (class_logits(model, x, samples=4, seed=None) for _ in range(2))
    assert not torch.equal(one, two)
    assert not torch.equal(torch.get_rng_state(), state)


def test_mirroring_changes_only_bayesian_sampling(checkpoints):
    fcn = checkpoints["fcn8s_lite"]
    assert torch.equal(predict(picture(64, 48), fcn, mirror=True).probabilities, predict(picture(64, 48), fcn, mirror=False).probabilities)
    bayes = checkpoints["bayesian_segnet_lite"]
    one = predict(picture(64, 48), bayes, samples=1)
    assert torch.equal(one.probabilities, predict(picture(64, 48), bayes, samples=1, mirror=False).probabilities)
    assert not torch.equal(
        predict(picture(64, 48), bayes, samples=4).probabilities, predict(picture(64, 48), bayes, samples=4, mirror=False).probabilities
    )
