"""Weights trained on every frame take their figures and temperature from a twin that held a sequence out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from segdemo import calibrate, evaluate, report, twin
from segdemo.checkpoints import (
    CheckpointError,
    load_checkpoint,
    make_config,
    read_config,
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


def test_a_twin_continued_from_a_phase_that_trained_on_the_measured_frames_is_refused(runs, tmp_path):
    """Its last phase held val out, but the phase it started from trained on val: its figures on val are not of
    unseen frames (only the last phase's held-out sequences were checked)."""
    twin_run, final = runs
    for held_out in ([], ["val"]):  # the phase it started from trained on val; then it too held val out
        earlier = {"splits": ["train", "val"], "held_out": held_out, "excluded_frames": []}
        for run in (twin_run, final):  # the shipped run continued from the same phase: the schedules match
            config = read_config(run)
            config["training"] = {**config["training"], "splits": ["train", "val"], "earlier_phases": [earlier]}
            (run / "config.json").write_text(json.dumps(config))
        if not held_out:
            with pytest.raises(CheckpointError, match="in its last phase or an earlier one"):
                twin.adopt_twin_measurement(twin_run, final)
    twin.adopt_twin_measurement(twin_run, final)


def test_a_budgeted_run_is_the_twin_of_a_run_told_to_train_for_the_epochs_it_reached(runs, tmp_path):
    twin_run, _ = runs  # trained on a 55-minute budget, which ended at its 124th epoch
    config = read_config(twin_run)
    config["training"]["epochs_trained"] = 124
    (twin_run / "config.json").write_text(json.dumps(config))
    by_epochs = {"budget_minutes": None, "epochs": 124}
    final = save_run(tmp_path / "final124", [], {"train": 8, "val": 3}, seed=1, **by_epochs)
    assert twin.main([str(twin_run), str(final)]) == 0
    shorter = save_run(tmp_path / "final100", [], {"train": 8, "val": 3}, seed=1, **{**by_epochs, "epochs": 100})
    with pytest.raises(CheckpointError, match=": epochs differ"):
        twin.adopt_twin_measurement(twin_run, shorter)


def test_the_twins_temperature_scope_travels_with_its_temperature(runs):
    twin_run, final = runs
    fitted_on = load_checkpoint(twin_run).config["temperature_fitted_on"]
    write_temperature(twin_run, 1.3, fitted_on, scope="averaged")
    assert twin.main([str(twin_run), str(final)]) == 0
    assert load_checkpoint(final).temperature_scope == "averaged"
    write_temperature(twin_run, 1.3, fitted_on)  # back to per-sample: a stale key on the final weights goes
    assert twin.main([str(twin_run), str(final)]) == 0
    assert "temperature_scope" not in load_checkpoint(final).config


def test_calibrate_refuses_frames_the_network_trained_on_in_any_phase(tmp_path, tiny_camvid, capsys):
    data = ["--data", str(tiny_camvid), "--split", "val", "--dry-run"]
    trained_on_val = save_run(tmp_path / "seen", [], {"train": 8, "val": 3}, seed=0, splits=["train", "val"])
    with pytest.raises(SystemExit) as exit_info:
        calibrate.main(["--checkpoint", str(trained_on_val), *data])
    assert exit_info.value.code == 2
    message = capsys.readouterr().err
    assert "3 of these 3 frames were trained on" in message and "val_000" in message and "Traceback" not in message
    # held out in the last phase, but trained on in an earlier one: still seen
    earlier = {"splits": ["train", "val"], "held_out": [], "excluded_frames": ["val_001"]}
    later = save_run(tmp_path / "later", ["val"], {"train": 8}, seed=0, splits=["train", "val"], earlier_phases=[earlier])
    assert calibrate.frames_trained_on(read_config(later), "val", [Path("val/val_000.png"), Path("val/val_001.png")]) == [
        "val_000"
    ]
    # excluded frames are unseen: the fit goes ahead on them
    excluded = save_run(tmp_path / "excluded", [], {"train": 8}, seed=0, splits=["train", "val"],
                        excluded_frames=["val_000", "val_001", "val_002"])
    assert calibrate.main(["--checkpoint", str(excluded), *data]) == 0


def test_a_temperature_from_a_run_that_held_out_the_frames_is_served_and_says_so(tmp_path, tiny_camvid, capsys):
    data = ["--data", str(tiny_camvid), "--split", "val"]
    donor = save_run(tmp_path / "donor", ["val"], {"train": 8}, seed=0, splits=["train", "val"])
    measured = save_run(tmp_path / "measured", [], {"train": 8, "val": 3}, seed=1, splits=["train", "val"])
    with pytest.raises(SystemExit):  # the donor has nothing to lend yet
        calibrate.main(["--checkpoint", str(measured), "--temperature-from", str(donor)])
    assert "no fitted temperature" in capsys.readouterr().err
    assert calibrate.main(["--checkpoint", str(donor), *data]) == 0
    untouched = (measured / "config.json").read_text()
    assert calibrate.main(["--checkpoint", str(measured), "--temperature-from", str(donor), "--dry-run"]) == 0
    assert (measured / "config.json").read_text() == untouched and "dry run" in capsys.readouterr().out
    assert calibrate.main(["--checkpoint", str(measured), "--temperature-from", str(donor)]) == 0
    with_temperature = (measured / "config.json").read_text()
    assert calibrate.main(["--checkpoint", str(measured), "--remove", "--dry-run"]) == 0  # removed it, dry run or not
    assert (measured / "config.json").read_text() == with_temperature
    config, donor_config = read_config(measured), read_config(donor)
    fitted = config["temperature_fitted_on"]
    assert config["temperature"] == donor_config["temperature"]
    assert {k: v for k, v in fitted.items() if k != "donor"} == donor_config["temperature_fitted_on"]
    assert fitted["donor"] == {"name": "donor", "sha256": sha256_of(donor / "model.safetensors"),
                               "held_out": ["val"], "excluded_frames": []}
    # measured with it, on frames this network trained on: served, but never called "fitted on these frames"
    out = measured / "eval.json"
    assert evaluate.main(["--checkpoint", str(measured), *data, "--out", str(out)]) == 0
    calibration = json.loads(out.read_text())["calibration"]
    assert calibration["temperature"] == config["temperature"] and calibration["fitted_on_these_frames"] is False
    assert "same recipe that held them out" in report._fitted_on(calibration)
    # a donor of another architecture is refused clearly
    other = tmp_path / "other"
    model = build("segnet_lite").eval()
    save_checkpoint(model, make_config("segnet_lite", model, (48, 64)), other)
    write_temperature(other, 1.5, {"split": "val", "sequences": ["val"], "images": 3})
    with pytest.raises(SystemExit) as exit_info:
        calibrate.main(["--checkpoint", str(measured), "--temperature-from", str(other)])
    assert exit_info.value.code == 2 and "architecture differs" in capsys.readouterr().err
