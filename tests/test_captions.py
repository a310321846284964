"""The words beside the pictures: the Models tab's account of training reads as a sentence, and the Compare tab
says how each network's confidence map is calibrated."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import pytest

from conftest import ROOT
from segdemo.captions import compare_maps_caption, scarce_classes_note, training_line


@pytest.mark.parametrize("model", ["fcn8s_lite", "bayesian_segnet_lite"])
def test_only_the_paths_of_a_checkpoints_history_are_set_as_code(model):
    """A code span holding a whole sentence is drawn as a grey block with the full stop alone on the next line."""
    training = json.loads((ROOT / "weights" / model / "config.json").read_text())["training"]
    line = training_line(training)
    spans = re.findall(r"`([^`]*)`", line)
    assert spans and all(" " not in span and "/" in span for span in spans), spans
    assert line.replace("`", "").endswith(training["init"])  # the history itself, word for word


def test_the_device_a_checkpoint_was_trained_on_is_named_for_a_reader():
    base = {"size": [256, 352], "epochs": 3}
    assert training_line({**base, "device": "cuda"}).endswith("on 352x256 crops on a GPU")
    assert training_line({**base, "device": "cpu"}).endswith("on 352x256 crops on the CPU")
    assert training_line({**base, "device": "mps"}).endswith("on 352x256 crops on `mps`")
    assert training_line(base).endswith("on an unrecorded device")


def shipped(model: str, **changes) -> SimpleNamespace:
    """What the caption reads of a loaded model: its label and its checkpoint's config.json (``changes`` applied)."""
    config = {**json.loads((ROOT / "weights" / model / "config.json").read_text()), **changes}
    return SimpleNamespace(entry=SimpleNamespace(label=model.upper()), checkpoint=SimpleNamespace(config=config))


def test_the_compare_caption_gives_each_networks_own_temperature_and_frames():
    fcn, segnet = shipped("fcn8s_lite"), shipped("bayesian_segnet_lite")
    caption = compare_maps_caption([fcn, segnet])
    fcn_line, segnet_line = (next(line for line in caption.splitlines() if line.startswith(f"- {m.entry.label}:"))
                             for m in (fcn, segnet))
    assert f"{fcn.checkpoint.config['temperature']:.2f} divides the network's scores" in fcn_line
    assert f"{segnet.checkpoint.config['temperature']:.2f} softens the average of the network's Monte-Carlo" in (
        segnet_line)
    for line, model in ((fcn_line, fcn), (segnet_line, segnet)):
        assert ", ".join(model.checkpoint.config["temperature_fitted_on"]["sequences"]) in line
    assert "Boundary uncertainty" in caption


def test_the_compare_caption_says_when_a_network_is_not_calibrated_or_missing():
    raw = shipped("fcn8s_lite", temperature=None)
    assert "FCN8S_LITE: not calibrated" in compare_maps_caption([raw])
    assert "- " not in compare_maps_caption([]) and "Confidence" in compare_maps_caption([])


def evaluated(path) -> SimpleNamespace:
    """A loaded model as the Models tab reads it: its checkpoint's folder, which holds its eval.json."""
    return SimpleNamespace(ready=True, checkpoint=SimpleNamespace(path=path))


def test_a_class_the_measured_street_hardly_has_is_said_to_be_why_its_iou_is_low(tmp_path):
    """Both networks score 0.0 on Bicyclist on 0006R0, whose labels are 0.07% cyclist: without a word, a visitor
    read that neither network sees cyclists, beside a Compare tab about riders."""
    models = {name: evaluated(ROOT / "weights" / name) for name in ("fcn8s_lite", "bayesian_segnet_lite")}
    note = scarce_classes_note(models)
    assert note.startswith("Low for every network: Bicyclist is 0.07% of 0006R0's labelled pixels."), note
    # a network that scores the class is told apart: the note is for a class every network misses
    evaluation = json.loads((ROOT / "weights" / "fcn8s_lite" / "eval.json").read_text())
    evaluation["per_class_iou"][evaluation["class_names"].index("Bicyclist")] = 0.31
    (tmp_path / "eval.json").write_text(json.dumps(evaluation))
    assert scarce_classes_note({**models, "fcn8s_lite": evaluated(tmp_path)}) == ""
    evaluation["per_class_iou"][evaluation["class_names"].index("Bicyclist")] = 0.0
    (tmp_path / "eval.json").write_text(json.dumps(evaluation))
    assert scarce_classes_note({"fcn8s_lite": evaluated(tmp_path)}) != ""
    evaluation["sequences"] = ["0016E5"]   # another street: nothing is known of its classes
    (tmp_path / "eval.json").write_text(json.dumps(evaluation))
    assert scarce_classes_note({"fcn8s_lite": evaluated(tmp_path)}) == ""


def test_the_models_tab_begins_with_each_models_headline_figures(tmp_path):
    """A first visitor met 190 words of definitions, then a paragraph a model, before any figure. One row a model
    now comes first: mIoU, BF and ECE as its eval.json has them, and its size; the definitions are folded."""
    from segdemo.captions import models_summary
    from segdemo.zoo import load_zoo
    models = load_zoo()
    summary = models_summary(models)
    assert summary.startswith("**The models at a glance** on CamVid ")
    for model in models.values():
        evaluation = json.loads((model.checkpoint.path / "eval.json").read_text())
        row = next(line for line in summary.splitlines() if line.startswith(f"| {model.entry.label} |"))
        assert (f"| {100 * evaluation['mean_iou']:.1f} | {100 * evaluation['boundary_f1']:.1f} | "
                f"{100 * evaluation['calibration']['calibrated']['ece']:.1f}% |") in row, row


def test_a_damaged_eval_json_is_said_once_in_the_log_and_the_page_goes_without_its_figures(tmp_path, caplog):
    """read_eval runs on every result: an eval.json cut short had the Models tab and the captions drop the model's
    figures with no word to the operator."""
    import logging

    from segdemo.captions import read_eval

    (tmp_path / "eval.json").write_text('{"miou": 0.6')
    model = SimpleNamespace(checkpoint=SimpleNamespace(path=tmp_path))
    with caplog.at_level(logging.WARNING, logger="segdemo.captions"):
        assert read_eval(model) is None and read_eval(model) is None
    said = [record.getMessage() for record in caplog.records if "eval.json cannot be read" in record.getMessage()]
    assert len(said) == 1 and str(tmp_path) in said[0]
    (tmp_path / "eval.json").write_text('{"miou": 0.6}')
    assert read_eval(model) == {"miou": 0.6}


def test_an_ece_measured_on_frames_the_temperature_was_fitted_on_says_so():
    """The shipped FCN's temperature was fitted on 0006R0 and a stretch of 0001TP, and its ECE is measured on 0006R0."""
    from segdemo.captions import calibration_line

    config = json.loads((ROOT / "weights" / "fcn8s_lite" / "config.json").read_text())
    evaluation = json.loads((ROOT / "weights" / "fcn8s_lite" / "eval.json").read_text())
    line = calibration_line(config, evaluation)
    assert "That ECE is in part in-sample: the frames of 0006R0 were among those the temperature was fitted on." in line
    elsewhere = {**evaluation, "sequences": ["Seq05VD"]}
    assert "in-sample" not in calibration_line(config, elsewhere)
    other_split = {**evaluation, "split": "val", "sequences": ["0006R0"]}
    assert "in-sample" not in calibration_line(config, other_split)
