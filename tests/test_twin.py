"""Weights trained on every frame take their figures and temperature from a twin that held a sequence out."""

from __future__ import annotations

import json

import pytest
import torch

from segdemo import calibrate, evaluate, twin
from segdemo.checkpoints import (
    CheckpointError,
    load_checkpoint,
    make_config,
    measured_frames,
    save_checkpoint,
    write_temperature,
)
from segdemo.hub import sha256_of
from segdemo.models import build

SCHEDULE = {"lr": 3e-4, "size": [48, 64], "budget_minutes": 55.0, "init": "weights/fcn8s_lite"}


def save_run(folder, held_out: list[str], frames: dict[str, int], seed: int, **schedule):
    torch.manual_seed(seed)
    model = build("fcn8s_lite").eval()
    training = {**SCHEDULE, **schedule, "held_out": held_out, "frames": frames, "class_weights": [1.0] * 11}
    save_checkpoint(model, make_config("fcn8s_lite", model, (48, 64), extra={"training": training}), folder)
    return folder


@pytest.fixture
def runs(tmp_path, tiny_camvid):
    """A calibrated and measured twin (val held out) and final weights (trained on val too)."""
    twin_run = save_run(tmp_path / "twin", ["val"], {"train": 8}, seed=0)
    final = save_run(tmp_path / "final", [], {"train": 8, "val": 3}, seed=1)
    data = ["--data", str(tiny_camvid), "--split", "val"]
    assert calibrate.main(["--checkpoint", str(twin_run), *data]) == 0
    assert evaluate.main(["--checkpoint", str(twin_run), *data, "--out", str(twin_run / "eval.json")]) == 0
    return twin_run, final


def test_the_final_weights_carry_the_twins_measurement_marked_as_the_twins(runs):
    twin_run, final = runs
    assert twin.main([str(twin_run), str(final)]) == 0
    config, twin_config = load_checkpoint(final).config, load_checkpoint(twin_run).config
    evaluation = json.loads((final / "eval.json").read_text())
    assert config["temperature"] == twin_config["temperature"] and config["temperature_fitted_on"]["twin"] is True
    assert config["training"]["twin"]["held_out"] == ["val"] and config["training"]["held_out"] == []
    assert evaluation["measured_on"] == "twin" and evaluation["twin_sha256"] == sha256_of(twin_run / "model.safetensors")
    assert evaluation["calibration"]["temperature_fitted_on"] == config["temperature_fitted_on"]
    assert evaluation["mean_iou"] == json.loads((twin_run / "eval.json").read_text())["mean_iou"]
    assert "held out of a twin run" in measured_frames(evaluation, config)
    assert "held out" not in measured_frames({**evaluation, "measured_on": None}, config)  # never claimed for itself


def test_a_twin_on_another_schedule_or_with_nothing_held_out_is_refused(runs, tmp_path, capsys):
    twin_run, _ = runs
    other = save_run(tmp_path / "other", [], {"train": 8, "val": 3}, seed=1, lr=1e-3)
    with pytest.raises(SystemExit) as stopped:
        twin.main([str(twin_run), str(other)])
    assert stopped.value.code == 2 and "lr differ" in capsys.readouterr().err
    final = save_run(tmp_path / "again", [], {"train": 8, "val": 3}, seed=1)
    with pytest.raises(CheckpointError, match="held no sequence out"):
        twin.adopt_twin_measurement(final, final)
    assert "temperature" not in load_checkpoint(final).config  # nothing written when refused


def test_the_twins_temperature_scope_travels_with_its_temperature(runs):
    twin_run, final = runs
    fitted_on = load_checkpoint(twin_run).config["temperature_fitted_on"]
    write_temperature(twin_run, 1.3, fitted_on, scope="averaged")
    assert twin.main([str(twin_run), str(final)]) == 0
    assert load_checkpoint(final).temperature_scope == "averaged"
    write_temperature(twin_run, 1.3, fitted_on)  # back to per-sample: a stale key on the final weights goes
    assert twin.main([str(twin_run), str(final)]) == 0
    assert "temperature_scope" not in load_checkpoint(final).config
