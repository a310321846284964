"""benchmarks/calibrators.py: the richer calibrator it measures fits better where it was fitted, and keeps the labels."""

from __future__ import annotations

import json

import pytest
import torch

from conftest import load_benchmark_script


def load_benchmark():
    return load_benchmark_script("calibrators")


def test_a_temperature_per_predicted_class_never_changes_the_label_and_recovers_known_temperatures():
    calibrators = load_benchmark()
    torch.manual_seed(0)
    true_t = torch.tensor([0.5, 1.0, 3.0], dtype=torch.float64)
    z = torch.randn(6000, 1, 1, 3, dtype=torch.float64) * 3  # P pixels, one source, one sample, 3 classes
    w = torch.ones(6000, 1, dtype=torch.float64)
    predicted = z[:, 0, 0].argmax(1)
    labels = torch.distributions.Categorical(logits=z[:, 0, 0] / true_t[predicted][:, None]).sample()
    fitted = calibrators.fit(calibrators.per_sample, z, w, labels, classes=3)
    assert torch.allclose(fitted, true_t, rtol=0.25)
    assert torch.equal(calibrators.per_sample(z, w, fitted).argmax(1), predicted)
    scalar = calibrators.fit(calibrators.per_sample, z, w, labels, classes=1)
    assert calibrators.measure(calibrators.per_sample, z, w, labels, fitted)[1] < \
        calibrators.measure(calibrators.per_sample, z, w, labels, scalar)[1]


def test_prior_correction_undoes_what_class_weights_do_to_the_probabilities():
    calibrators = load_benchmark()
    torch.manual_seed(0)
    class_weights = torch.tensor([0.2, 1.0, 5.0], dtype=torch.float64)
    truth = torch.randn(20000, 3, dtype=torch.float64) * 2
    labels = torch.distributions.Categorical(logits=truth).sample()
    # what weighted cross-entropy learns at best: probabilities proportional to w_c p_c
    z = (truth + class_weights.log())[:, None, None, :]
    w = torch.ones(20000, 1, dtype=torch.float64)
    t, b = calibrators.fit_with_bias(z, w, labels, -class_weights.log())
    assert abs(float(t[0]) - 1.0) < 0.05
    corrected_ece, corrected_nll = calibrators.measure_keeping_labels(z, w, labels, t, b)
    raw_ece, raw_nll = calibrators.measure_keeping_labels(z, w, labels, torch.ones(3, dtype=torch.float64),
                                                          torch.zeros(3, dtype=torch.float64))
    assert corrected_ece < 0.02 < raw_ece and corrected_nll < raw_nll
    t_free, b_free = calibrators.fit_with_bias(z, w, labels, None)  # the biases found from the labels alone
    assert torch.allclose(b_free - b_free.mean(), b - b.mean(), atol=0.1)


def test_the_command_line_measures_a_bayesian_checkpoint(tmp_path, tiny_camvid):
    from segdemo.checkpoints import make_config, save_checkpoint
    from segdemo.models import build

    torch.manual_seed(0)
    model = build("bayesian_segnet_lite").eval()
    save_checkpoint(model, make_config("bayesian_segnet_lite", model, (48, 64)), tmp_path / "ck")
    out = tmp_path / "calibrators.json"
    assert load_benchmark().main(["--checkpoint", str(tmp_path / "ck"), "--data", str(tiny_camvid), "--split", "val",
                                  "--sequence", "val", "--samples", "2", "--json", str(out)]) == 0
    rows = json.loads(out.read_text())["rows"]
    assert [(r["calibrator"], r["applied"]) for r in rows][1:] == [
        ("scalar", "per sample (served)"), ("per predicted class", "per sample (served)"),
        ("scalar", "after averaging"), ("per predicted class", "after averaging"),
        ("prior correction", "per sample, label kept"), ("bias per class", "per sample, label kept")]
    assert all(r["nll"] <= rows[0]["nll"] + 1e-6 for r in rows)  # fitted by NLL on these very pixels
    report = json.loads(out.read_text())
    assert sum(half["pixels"] for half in report["halves"]) == report["pixels"]
    for row in rows[1:5]:  # each temperature fitted on each half, the one the other half is measured with
        assert len(row["half_temperatures"]) == 2 and all(t[0] > 0 for t in row["half_temperatures"])


def test_the_halves_figures_show_why_a_temperature_from_one_half_misses_the_other():
    calibrators = load_benchmark()
    torch.manual_seed(0)
    z = torch.randn(8000, 1, 1, 3, dtype=torch.float64) * 3
    w = torch.ones(8000, 1, dtype=torch.float64)
    predicted = z[:, 0, 0].argmax(1)
    first = torch.arange(8000) < 4000  # same scores on both halves; the first half's labels are noisier
    temperature = torch.where(first, 3.0, 1.0)[:, None]
    labels = torch.distributions.Categorical(logits=z[:, 0, 0] / temperature).sample()
    ones = torch.ones(3, dtype=torch.float64)
    halves = [calibrators.half_figures(calibrators.per_sample, z[p], w[p], labels[p], ones) for p in (first, ~first)]
    assert abs(halves[0]["confidence"] - halves[1]["confidence"]) < 0.02  # the network cannot tell them apart
    assert halves[1]["accuracy"] - halves[0]["accuracy"] > 0.1
    t_first = calibrators.fit(calibrators.per_sample, z[first], w[first], labels[first], classes=1)
    t_second = calibrators.fit(calibrators.per_sample, z[~first], w[~first], labels[~first], classes=1)
    assert float(t_first[0]) > 2 * float(t_second[0])
    assert (predicted == labels)[first].double().mean() == halves[0]["accuracy"]


def test_across_sequences_fits_on_one_street_and_measures_on_the_other(tmp_path):
    from conftest import write_two_streets
    from segdemo.checkpoints import make_config, save_checkpoint
    from segdemo.models import build

    root = write_two_streets(tmp_path / "camvid")  # two frames of one street, three of another
    torch.manual_seed(0)
    model = build("fcn8s_lite").eval()
    save_checkpoint(model, make_config("fcn8s_lite", model, (48, 64)), tmp_path / "ck")
    out = tmp_path / "streets.json"
    benchmark = load_benchmark()
    with pytest.raises(SystemExit) as refused:  # one street cannot be crossed with itself
        benchmark.main(["--checkpoint", str(tmp_path / "ck"), "--data", str(root), "--sequence", "0001TP",
                        "--across-sequences"])
    assert refused.value.code == 2
    assert benchmark.main(["--checkpoint", str(tmp_path / "ck"), "--data", str(root), "--sequence", "0006R0",
                           "0001TP", "--across-sequences", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["parts"] == ["0006R0", "0001TP"] and report["frames"] == 5
    assert [part["pixels"] for part in report["halves"]] == [3 * 1024, 2 * 1024]  # the order given, not the files'
    anatomy = report["by_true_class"]
    assert [(e["fitted_on"], e["measured_on"]) for e in anatomy] == [("0006R0", "0001TP"), ("0001TP", "0006R0")]
    for entry in anatomy:
        assert abs(sum(row["share"] for row in entry["classes"]) - 1) < 1e-3 and entry["temperature"] > 0
    # A frame of 0001TP that the network trained on is left out: the street's part is its other frame.
    assert benchmark.main(["--checkpoint", str(tmp_path / "ck"), "--data", str(root), "--sequence", "0006R0",
                           "0001TP", "--across-sequences", "--exclude-frames", "0001TP_000", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["frames"] == 4 and report["excluded_frames"] == ["0001TP_000"]
    assert [part["pixels"] for part in report["halves"]] == [3 * 1024, 1024]
    # --share adds the mixed cross-fit: four pairings of the streets' halves; refused without a weight for each.
    with pytest.raises(SystemExit) as refused:
        benchmark.main(["--checkpoint", str(tmp_path / "ck"), "--data", str(root), "--sequence", "0006R0",
                        "0001TP", "--across-sequences", "--share", "0006R0=3"])
    assert refused.value.code == 2
    assert benchmark.main(["--checkpoint", str(tmp_path / "ck"), "--data", str(root), "--sequence", "0006R0",
                           "0001TP", "--across-sequences", "--share", "0006R0=3", "0001TP=1",
                           "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["shares"] == {"0006R0": 3.0, "0001TP": 1.0}
    pairings = report["mixed_cross_fit"]["pairings"]
    assert len(pairings) == 4 and all(p["t_first_alone"] > 0 and p["t_mixed"] > 0 for p in pairings)
    assert "mixed_cross_fit_other_scope" not in report  # one pass: a single scope
    # A Bayesian network: the scope it does not serve gets the same mixed cross-fit, on the same draws.
    model = build("bayesian_segnet_lite").eval()
    save_checkpoint(model, make_config("bayesian_segnet_lite", model, (48, 64)), tmp_path / "bayesian")
    assert benchmark.main(["--checkpoint", str(tmp_path / "bayesian"), "--data", str(root), "--samples", "2",
                           "--sequence", "0006R0", "0001TP", "--across-sequences", "--share", "0006R0=3",
                           "0001TP=1", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    served, other = report["mixed_cross_fit"], report["mixed_cross_fit_other_scope"]
    assert other["applied"] == "after averaging"  # a checkpoint without temperature_scope scales each sample
    assert [p["fitted_on"] for p in other["pairings"]] == [p["fitted_on"] for p in served["pairings"]]
    assert all(p["t_mixed"] > 0 for p in other["pairings"]) and other["ece_mixed"] != served["ece_mixed"]


def test_a_temperature_fitted_on_both_kinds_of_frames_carries_to_a_mix_of_them():
    benchmark = load_benchmark()
    torch.manual_seed(0)
    # Street 1 wants T = 2 (over-confident logits), street 2 wants T = 0.7; pixels in sequence order, 10 frames
    # of 100 pixels each for street 1 and 4 for street 2.
    def street(pixels: int, true_t: float) -> tuple[torch.Tensor, torch.Tensor]:
        logits = torch.randn(pixels, 4, dtype=torch.float64) * 3
        labels = torch.distributions.Categorical(logits=logits / true_t).sample()
        return logits, labels

    (z1, y1), (z2, y2) = street(1000, 2.0), street(400, 0.7)
    z = torch.cat([z1, z2])[:, None, None, :]
    y = torch.cat([y1, y2])
    w = torch.ones(len(y), 1, dtype=torch.float64)
    mixed = benchmark.mixed_cross_fit(benchmark.per_sample, z, w, y, [1000, 400], [10, 4], [2.0, 1.0],
                                      generator=torch.Generator().manual_seed(0))
    assert len(mixed["pairings"]) == 4
    for pairing in mixed["pairings"]:
        assert pairing["t_first_alone"] > pairing["t_mixed"] > 0.7  # pulled toward street 2's temperature
    assert mixed["ece_mixed"] < mixed["ece_first_alone"]


def test_draw_in_proportion_thins_the_part_with_more_than_its_share():
    benchmark = load_benchmark()
    generator = torch.Generator().manual_seed(0)
    drawn = benchmark.draw_in_proportion(torch.arange(0, 300), torch.arange(300, 350), [3.0, 1.0], generator)
    assert (drawn < 300).sum() == 150 and (drawn >= 300).sum() == 50 and len(set(drawn.tolist())) == 200
    drawn = benchmark.draw_in_proportion(torch.arange(0, 30), torch.arange(30, 130), [3.0, 1.0], generator)
    assert (drawn < 30).sum() == 30 and (drawn >= 30).sum() == 10


def test_by_true_class_splits_the_over_confidence_among_the_true_classes():
    benchmark = load_benchmark()
    # Four pixels of class 0 (two shown right at 0.9, two shown as class 1 at 0.8) and one of class 1, right at 0.6.
    p = torch.tensor([[0.9, 0.1], [0.9, 0.1], [0.2, 0.8], [0.2, 0.8], [0.4, 0.6]], dtype=torch.float64)
    y = torch.tensor([0, 0, 0, 0, 1])
    found = benchmark.by_true_class(p, y, ["road", "car"])
    road, car = found["classes"]
    assert road == {"class": "road", "share": 0.8, "accuracy": 0.5, "confidence": 0.85, "gap": 0.28}
    assert car == {"class": "car", "share": 0.2, "accuracy": 1.0, "confidence": 0.6, "gap": -0.08}
    confidence, shown = p.max(1)
    assert abs(road["gap"] + car["gap"] - float(confidence.mean() - (shown == y).double().mean())) < 1e-9
    assert found["confusions"] == [{"true": "road", "shown": "car", "share": 0.4}]


def test_several_checkpoints_are_measured_as_an_ensemble_on_the_same_pixels(tmp_path, tiny_camvid):
    from segdemo.checkpoints import make_config, save_checkpoint
    from segdemo.models import build

    for seed, name, size in ((0, "a", (48, 64)), (1, "b", (48, 64)), (2, "wide", (48, 96))):
        torch.manual_seed(seed)
        model = build("fcn8s_lite").eval()
        with torch.no_grad():  # a fresh FCN's zero score layers give every pixel 1/11: make the two networks differ
            for parameter in model.parameters():
                parameter.add_(0.1 * torch.randn_like(parameter))
        save_checkpoint(model, make_config("fcn8s_lite", model, size), tmp_path / name)
    benchmark = load_benchmark()
    common = ["--data", str(tiny_camvid), "--split", "val", "--sequence", "val"]

    def report(*names: str) -> dict:
        out = tmp_path / f"{'-'.join(names)}.json"
        assert benchmark.main(["--checkpoint", *(str(tmp_path / n) for n in names), *common, "--json", str(out)]) == 0
        return json.loads(out.read_text())

    alone, twice, pair = report("a"), report("a", "a"), report("a", "b")
    assert twice["samples"] == pair["samples"] == 2 and twice["members"] == [str(tmp_path / "a")] * 2
    # A network averaged with itself is the network: the same probabilities, so the same figures at T = 1.
    assert abs(twice["rows"][0]["ece"] - alone["rows"][0]["ece"]) < 1e-9
    assert abs(twice["rows"][0]["nll"] - alone["rows"][0]["nll"]) < 1e-9
    # Two different networks are not: their average is another set of probabilities, on the same pixels.
    assert pair["pixels"] == alone["pixels"] and abs(pair["rows"][0]["nll"] - alone["rows"][0]["nll"]) > 1e-6
    assert [(r["calibrator"], r["applied"]) for r in pair["rows"][1:5]] == [
        ("scalar", "per sample"), ("per predicted class", "per sample"),
        ("scalar", "after averaging"), ("per predicted class", "after averaging")]  # neither is served
    assert pair["scales"] == [1.0]
    rescaled = tmp_path / "rescaled.json"  # the members' served scales overridden for all of them
    assert benchmark.main(["--checkpoint", str(tmp_path / "a"), str(tmp_path / "b"), *common, "--scales", "1", "1.25",
                           "--json", str(rescaled)]) == 0
    rescaled = json.loads(rescaled.read_text())
    assert rescaled["scales"] == [1.0, 1.25] and rescaled["pixels"] == pair["pixels"]
    assert abs(rescaled["rows"][0]["nll"] - pair["rows"][0]["nll"]) > 1e-6
    with pytest.raises(SystemExit) as refused:  # another input size: the members' pixels would differ
        benchmark.main(["--checkpoint", str(tmp_path / "a"), str(tmp_path / "wide"), *common])
    assert refused.value.code == 2


def test_mixed_cross_fit_of_the_prior_correction():
    benchmark = load_benchmark()
    torch.manual_seed(0)
    # Labels drawn from softmax((z + b) / 1.5): a network whose class weights shifted its logits by -b.
    bias = torch.tensor([3.0, -3.0, 1.5, -1.5], dtype=torch.float64)
    z = torch.randn(28000, 4, dtype=torch.float64) * 3
    y = torch.distributions.Categorical(logits=(z + bias) / 1.5).sample()
    z, w = z[:, None, None, :], torch.ones(len(y), 1, dtype=torch.float64)
    args = (benchmark.per_sample, z, w, y, [20000, 8000], [10, 4], [2.0, 1.0])
    # A zero bias keeps the argmax, so the prior correction is the scalar temperature, pairing by pairing.
    zero = benchmark.mixed_cross_fit(*args, generator=torch.Generator().manual_seed(0), prior=torch.zeros(4))
    for pairing in zero["pairings"]:
        assert pairing["t_prior_mixed"] == pytest.approx(pairing["t_mixed"], abs=2e-3)
        assert pairing["ece_prior_mixed"] == pytest.approx(pairing["ece_mixed"], abs=1e-3)
    # The true bias: its temperature is recovered, and it carries better than one temperature alone.
    right = benchmark.mixed_cross_fit(*args, generator=torch.Generator().manual_seed(0), prior=bias)
    assert all(abs(p["t_prior_mixed"] - 1.5) < 0.25 for p in right["pairings"])
    assert right["ece_prior_mixed"] < right["ece_mixed"]
