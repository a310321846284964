"""The bundled weights: loadable, small enough for git, evaluated on the full val split, reported as measured."""

from __future__ import annotations

import json

import pytest

from segdemo.checkpoints import load_checkpoint
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
    assert checkpoint.config["architecture"] == name
    evaluation = json.loads((folder / "eval.json").read_text())
    assert evaluation["architecture"] == name and evaluation["split"] == "val"
    assert evaluation["images"] == 101 and evaluation["label_size"] == [360, 480]
    assert evaluation["input_size"] == checkpoint.config["input_size"]
    assert 0 < evaluation["mean_iou"] < 1 and len(evaluation["per_class_iou"]) == 11
    if is_bayesian(checkpoint.model):
        assert evaluation["samples"] > 1  # Bayesian figures come from Monte-Carlo sampling


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
        assert entry.sha256 == sha256_of(WEIGHTS_DIR / name / "model.safetensors"), name
