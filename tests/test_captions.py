"""The Models tab's account of how each checkpoint was trained reads as a sentence."""

from __future__ import annotations

import json
import re

import pytest

from conftest import ROOT
from segdemo.captions import training_line


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
