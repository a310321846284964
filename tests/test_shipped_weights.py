"""The bundled weights: loadable, small enough for git, measured on frames they never trained on, reported as measured."""

from __future__ import annotations

import json

import pytest

from segdemo.checkpoints import load_checkpoint, measured_training
from segdemo.models import is_bayesian
from segdemo.report import models_table
from segdemo.zoo import WEIGHTS_DIR, ZOO

SHIPPED = sorted(p.name for p in WEIGHTS_DIR.iterdir() if p.is_dir())


def test_the_zoo_models_are_bundled():
    assert set(ZOO) <= set(SHIPPED)
    assert any(is_bayesian(load_checkpoint(WEIGHTS_DIR / n).model) for n in ZOO if ZOO[n].family == "SegNet")
    assert any(ZOO[n].family == "FCN" for n in ZOO)


@pytest.mark.parametrize("name", SHIPPED)
def test_each_bundled_checkpoint_is_complete_and_measured(name):
    folder = WEIGHTS_DIR / name
    assert (folder / "model.safetensors").stat().st_size <= 16 * 1024 * 1024
    checkpoint = load_checkpoint(folder)
    assert checkpoint.config["architecture"] == name, f"{folder}'s config.json builds another network"
    evaluation = json.loads((folder / "eval.json").read_text())
    assert evaluation["architecture"] == name
    measured = measured_training(evaluation, checkpoint.config)  # the weights' own training, or their twin's
    held_out = measured.get("held_out")
    if evaluation.get("measured_on") == "twin":  # weights trained on every frame, measured through their twin
        assert held_out and evaluation["twin_sha256"] == measured["sha256"]
    if held_out:  # measured on a sequence kept out of training, never on frames the weights were fitted to
        assert evaluation["sequences"] and set(evaluation["sequences"]) <= set(held_out)
        assert not set(evaluation["sequences"]) & set(measured["frames"])
    else:
        assert evaluation["split"] == "val"
    assert evaluation["images"] == 101 and evaluation["label_size"] == [360, 480]
    assert "/" not in evaluation["data"]  # no build-machine paths in shipped files
    assert evaluation["input_size"] == checkpoint.config["input_size"]
    assert 0 < evaluation["mean_iou"] < 1 and len(evaluation["per_class_iou"]) == 11
    if is_bayesian(checkpoint.model):
        assert evaluation["samples"] > 1  # Bayesian figures come from Monte-Carlo sampling


def test_the_shipped_models_are_measured_on_the_same_frames():
    """The Models tab's summary, its per-class table and the README's calibration table each name the frames once,
    from the first model's eval.json: they are true only while every model was measured on the same frames."""
    frames = {name: {key: json.loads((WEIGHTS_DIR / name / "eval.json").read_text()).get(key)
                     for key in ("split", "sequences", "images", "label_size")} for name in SHIPPED}
    assert len({json.dumps(measured, sort_keys=True) for measured in frames.values()}) == 1, frames


def test_the_readme_table_is_generated_from_eval_json():
    table = models_table()
    for name in SHIPPED:
        evaluation = json.loads((WEIGHTS_DIR / name / "eval.json").read_text())
        assert f"`{name}`" in table
        assert f"**{100 * evaluation['mean_iou']:.1f}**" in table


def test_the_readme_shows_exactly_the_measured_table():
    from conftest import ROOT

    assert models_table() in (ROOT / "README.md").read_text(), "run python -m segdemo.report and paste into README.md"


def test_the_zoo_pins_the_sha256_of_each_bundled_file():
    from segdemo.hub import sha256_of

    for name, entry in ZOO.items():
        assert entry.sha256 == sha256_of(WEIGHTS_DIR / name / "model.safetensors"), (
            f"segdemo/zoo.py's ZooEntry for {name} must pin its bundled file's sha256 (segdemo.hub.sha256_of), "
            "published or not")


@pytest.mark.parametrize("name", SHIPPED)
def test_each_bundled_checkpoint_is_calibrated_and_measured_with_its_temperature(name):
    folder = WEIGHTS_DIR / name
    config = load_checkpoint(folder).config
    fitted = config.get("temperature_fitted_on")
    assert config.get("temperature", 0) > 0 and fitted and fitted["images"] > 0 and fitted["sequences"]
    evaluation = json.loads((folder / "eval.json").read_text())
    assert bool(fitted.get("twin")) == (evaluation.get("measured_on") == "twin")
    held_out = measured_training(evaluation, config).get("held_out")
    donor = fitted.get("donor")
    if donor:  # fitted by another run of the recipe (segdemo.calibrate refused any frame it trained on), lent here
        unseen = set(donor["held_out"]) | {stem.split("_")[0] for stem in donor["excluded_frames"]}
        assert set(fitted["sequences"]) <= unseen
        assert not set(fitted.get("excluded_frames", [])) & set(donor["excluded_frames"])
        for sequence, count in fitted.get("frames_by_sequence", {}).items():
            if sequence not in donor["held_out"]:
                assert count <= sum(stem.startswith(sequence + "_") for stem in donor["excluded_frames"])
    elif held_out:  # fitted on frames the network (or its twin) never trained on
        assert set(fitted["sequences"]) <= set(held_out)
    calibration = evaluation["calibration"]
    assert calibration["temperature"] == config["temperature"], "run scripts/refresh_eval.sh after calibrating"
    assert calibration["temperature_fitted_on"] == fitted
    for block in (calibration["uncalibrated"], calibration["calibrated"]):
        assert 0 <= block["ece"] <= 1 and len(block["reliability"]["count"]) == 15
    assert calibration["calibrated"]["nll"] <= calibration["uncalibrated"]["nll"] + 1e-3
    errors = evaluation["error_detection"]
    assert 0.5 < errors["all"]["entropy"]["auroc"] <= 1 and 0.5 < errors["band"]["entropy"]["auroc"] <= 1
    if is_bayesian(load_checkpoint(folder).model):
        assert set(calibration["by_samples"]) == {"1", str(evaluation["samples"])}
        assert errors["all"]["mutual_information"]["auroc"] is not None


def test_the_readme_shows_exactly_the_measured_calibration_table():
    from conftest import ROOT
    from segdemo.report import trust_table

    assert trust_table() in (ROOT / "README.md").read_text(), "run python -m segdemo.report --readme README.md"


def test_the_docs_plots_show_the_current_eval_json():
    from conftest import ROOT
    from segdemo.report import plot_evaluations
    from segdemo.trustplots import PLOT_FILES, digest, stamped_source

    source = digest(plot_evaluations())
    for name in PLOT_FILES.values():
        assert stamped_source(ROOT / "docs" / name) == source, "run python -m segdemo.report --plots docs"


def test_no_shipped_network_trained_on_the_bundled_examples():
    """The error maps and per-frame scores the app shows for them are then on frames never trained on.

    Each example is either in a sequence the weights held out or one of the frames they excluded by name.
    """
    from segdemo.ui import example_images

    examples = {p.stem.removeprefix("camvid_") for p in example_images()}
    assert examples and all((p.with_name(p.stem + "_label.png")).is_file() for p in example_images())
    for name in SHIPPED:
        training = load_checkpoint(WEIGHTS_DIR / name).config.get("training", {})
        held_out = set(training.get("held_out") or [])
        unseen = {e for e in examples if e.split("_")[0] in held_out} | (examples & set(training.get("excluded_frames") or []))
        assert unseen == examples, f"{name} trained on the bundled examples {sorted(examples - unseen)}"


def test_the_example_captions_say_whether_the_networks_trained_on_the_examples_street():
    """"which the shipped networks never trained on" let the examples pass for an unseen street, while the networks
    trained on their 95 neighbours in 0006R0: their figures flatter, and the captions say so while it is so."""
    from segdemo.ui import EXAMPLES_SEEN, example_images

    sequences = {p.stem.removeprefix("camvid_").split("_")[0] for p in example_images()}
    seen = any(load_checkpoint(WEIGHTS_DIR / name).config.get("training", {}).get("frames", {}).get(sequence)
               for name in SHIPPED for sequence in sequences)
    assert ("but their street was" in EXAMPLES_SEEN) == seen
