"""Multi-scale testing: a checkpoint's ``test_scales`` are run, put back on the working grid and combined as documented."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from segdemo import calibrate, evaluate, twin
from segdemo.checkpoints import CheckpointError, load_checkpoint, make_config, save_checkpoint, write_temperature
from segdemo.inference import class_logits, class_probabilities, predict, samples_per_scale, scaled_input
from segdemo.models import build

from test_twin import runs, save_run  # noqa: F401  (the twin fixture)

SIZE = (48, 64)


def on_grid(logits: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    return F.interpolate(logits, size=size, mode="bilinear", align_corners=False)


def random_fcn() -> torch.nn.Module:
    """FCN-8s-lite with every weight drawn at random (a fresh one scores all zeros: its score layers start at zero)."""
    torch.manual_seed(0)
    model = build("fcn8s_lite").eval()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.normal_(0.0, 0.1)
    return model


def without_dropout(name: str) -> torch.nn.Module:
    """A Bayesian model whose dropout has rate 0: every Monte-Carlo sample is a plain pass of its view."""
    torch.manual_seed(0)
    model = build(name).eval()
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    return model


@pytest.mark.parametrize(
    "samples, scales, shares", [(8, (1.0, 1.25), [4, 4]), (3, (1.0, 1.25), [2, 1]), (1, (1.0, 1.25), [1, 0]), (4, (1.0,), [4])]
)
def test_samples_are_shared_out_over_the_scales_in_order(samples, scales, shares):
    assert samples_per_scale(samples, scales) == shares


def test_scaled_input_multiplies_both_sides_and_leaves_scale_one_alone():
    x = torch.randn(1, 3, 48, 64)
    assert scaled_input(x, 1.0) is x
    assert scaled_input(x, 1.25).shape[-2:] == (60, 80) and scaled_input(x, 0.75).shape[-2:] == (36, 48)


def test_a_deterministic_pass_averages_the_scales_logits_on_the_working_grid():
    model = random_fcn()
    x = torch.randn(2, 3, *SIZE)
    with torch.no_grad():
        by_hand = sum(on_grid(model(scaled_input(x, s)), SIZE) for s in (0.75, 1.0, 1.25)) / 3
        logits = class_logits(model, x, scales=(0.75, 1.0, 1.25))
        probs, samples = class_probabilities(model, x, scales=(0.75, 1.0, 1.25), temperature=1.5)
        single = class_logits(model, x)
    assert logits.shape == (2, 1, 11, *SIZE) and samples is None
    assert torch.allclose(logits[:, 0], by_hand, atol=1e-5)
    assert torch.allclose(probs, F.softmax(by_hand / 1.5, dim=1), atol=1e-5)
    assert torch.equal(single[:, 0], model(x))  # one scale: the plain pass, untouched
    assert single.abs().max() > 1e-2 and not torch.allclose(logits, single, atol=1e-3)


@pytest.mark.parametrize("name", ["bayesian_segnet_basic", "bayesian_segnet_lite"])
def test_monte_carlo_samples_are_spread_over_the_scales_within_each_mirror_half(name):
    """8 samples at scales 1 and 1.25: 2+2 of the picture, then 2+2 of its mirror image, each back on the grid."""
    model = without_dropout(name)
    x = torch.randn(2, 3, *SIZE)
    with torch.no_grad():
        views = {
            (scale, flip): on_grid(model(scaled_input(x.flip(-1) if flip else x, scale)), SIZE)
            for scale in (1.0, 1.25) for flip in (False, True)
        }
        views = {key: value.flip(-1) if key[1] else value for key, value in views.items()}
        samples = class_logits(model, x, samples=8, seed=0, mirror=True, scales=(1.0, 1.25))
    assert samples.shape == (2, 8, 11, *SIZE)
    order = [(1.0, False)] * 2 + [(1.25, False)] * 2 + [(1.0, True)] * 2 + [(1.25, True)] * 2
    for image in range(2):
        for sample, view in enumerate(order):
            assert torch.allclose(samples[image, sample], views[view][image], atol=1e-4), (sample, view)


def test_one_scale_keeps_the_seeded_samples_exactly_as_before():
    torch.manual_seed(0)
    model = build("bayesian_segnet_lite").eval()
    x = torch.randn(1, 3, *SIZE)
    with torch.no_grad():
        assert torch.equal(class_logits(model, x, samples=4, seed=3), class_logits(model, x, samples=4, seed=3, scales=(1.0,)))


def save(folder, name: str = "fcn8s_lite", **extra):
    model = random_fcn() if name == "fcn8s_lite" else build(name).eval()
    save_checkpoint(model, make_config(name, model, SIZE, extra=extra), folder)
    return folder


def test_predict_runs_at_the_checkpoints_test_scales(tmp_path):
    picture = Image.new("RGB", (64, 48), (120, 80, 40))
    plain = load_checkpoint(save(tmp_path / "plain"))
    scaled = load_checkpoint(save(tmp_path / "scaled", test_scales=[0.75, 1.0, 1.25]))
    assert plain.test_scales == (1.0,) and scaled.test_scales == (0.75, 1.0, 1.25)
    one, three = predict(picture, plain), predict(picture, scaled)
    assert one.scales == (1.0,) and three.scales == (0.75, 1.0, 1.25) and three.summary()["scales"] == [0.75, 1.0, 1.25]
    assert not torch.allclose(one.probabilities, three.probabilities, atol=1e-4)
    assert torch.equal(predict(picture, scaled, scales=(1.0,)).probabilities, one.probabilities)  # the same weights


@pytest.mark.parametrize("bad", [[], [1.0, 0.1], ["1"], [1.0] * 5, 1.25, [True]])
def test_bad_test_scales_are_refused_clearly(tmp_path, bad):
    folder = save(tmp_path / "model")
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "test_scales": bad}))
    with pytest.raises(CheckpointError, match="test_scales"):
        load_checkpoint(folder)


def test_calibrate_fits_at_the_scales_it_stores_and_evaluate_measures_at_them(tmp_path, tiny_camvid):
    folder = save(tmp_path / "model")
    data = ["--checkpoint", str(folder), "--data", str(tiny_camvid), "--split", "val"]
    assert calibrate.main([*data, "--scales", "1", "1.25", "--pixels-per-image", "100000"]) == 0
    config = json.loads((folder / "config.json").read_text())
    assert config["test_scales"] == [1.0, 1.25] and config["temperature_fitted_on"]["test_scales"] == [1.0, 1.25]
    assert evaluate.main([*data, "--out", str(tmp_path / "eval.json")]) == 0
    result = json.loads((tmp_path / "eval.json").read_text())
    assert result["test_scales"] == [1.0, 1.25]
    # fitted on the very pixels evaluate serves, at the same scales: the NLLs agree
    assert result["calibration"]["calibrated"]["nll"] == pytest.approx(config["temperature_fitted_on"]["nll_after"], rel=1e-3)
    assert evaluate.main([*data, "--scales", "1", "--out", str(tmp_path / "single.json")]) == 0
    assert json.loads((tmp_path / "single.json").read_text())["test_scales"] == [1.0]
    assert calibrate.main([*data, "--scales", "1"]) == 0  # back to one scale: the key goes
    assert "test_scales" not in json.loads((folder / "config.json").read_text())


def test_write_temperature_leaves_the_scales_alone_unless_given(tmp_path):
    folder = save(tmp_path / "model", test_scales=[1.0, 1.25])
    write_temperature(folder, 1.2)
    assert load_checkpoint(folder).test_scales == (1.0, 1.25)
    write_temperature(folder, None)
    assert load_checkpoint(folder).test_scales == (1.0, 1.25)


def test_the_twins_test_scales_travel_with_its_temperature(runs):  # noqa: F811
    twin_run, final = runs
    config = load_checkpoint(twin_run).config
    write_temperature(twin_run, config["temperature"], config["temperature_fitted_on"], scales=(1.0, 1.25))
    assert twin.main([str(twin_run), str(final)]) == 0
    assert load_checkpoint(final).test_scales == (1.0, 1.25)
    write_temperature(twin_run, config["temperature"], config["temperature_fitted_on"], scales=(1.0,))
    assert twin.main([str(twin_run), str(final)]) == 0
    assert "test_scales" not in load_checkpoint(final).config
