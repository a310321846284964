"""Give the final weights the measurement and temperature of their twin run.

    python -m segdemo.twin runs/twins/bayesian_segnet_lite weights/bayesian_segnet_lite

The shipped weights train on every labelled CamVid frame except the app's
bundled examples (as CamVid results train on train + val), so no unseen
sequence is left to measure them on or to fit their temperature on. A twin
run answers for them: the same starting weights and the same schedule, with
sequence 0006R0 held out. Its ``eval.json`` (measured on 0006R0) and its
temperature (fitted on 0006R0, with the scope and test scales it was fitted
at) are copied here, marked as the twin's:
``eval.json`` gets ``"measured_on": "twin"`` and the twin's sha256, the
config's ``training.twin`` records what the twin held out and trained on, and
``temperature_fitted_on`` says ``"twin": true``. Every figure segdemo shows
then names the frames and says they were held out of the twin
(``checkpoints.measured_frames``).

Why this is fair: the twin saw 95 fewer frames than the shipped weights, so
its score is a slightly pessimistic estimate of theirs on an unseen street;
the temperature is a property of the recipe and transfers with it
(``docs/training.md`` compares the two on the six bundled examples, which neither trained on).

Refuses twins that differ in architecture, model settings or schedule.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from .checkpoints import CONFIG_NAME, CheckpointError, read_config, validate_config
from .hub import sha256_of

# Keys of ``training`` that say which frames a run saw; everything else is the schedule and must match.
DATA_KEYS = ("held_out", "excluded_frames", "frames", "class_weights", "validated_on", "twin", "epochs_trained")


def schedule(training: dict[str, Any]) -> dict[str, Any]:
    """A run's ``training`` block without the keys that depend on its frames.

    A run on a time budget decays its learning rate over the minutes, which end at some epoch: its schedule is
    that of a run told to train for those epochs (the twin of a budgeted run can be given the epochs it reached,
    so that its cosine spans the same epochs whatever its machine's speed).
    """
    kept = {k: v for k, v in training.items() if k not in DATA_KEYS}
    if kept.get("budget_minutes") and training.get("epochs_trained"):
        kept["epochs"], kept["budget_minutes"] = training["epochs_trained"], None
    return kept


def adopt_twin_measurement(twin: Path, shipped: Path) -> dict[str, Any]:
    """Copy the twin's eval.json and temperature onto ``shipped``; returns the shipped config written."""
    twin_config, config = read_config(twin), read_config(shipped)
    for key in ("architecture", "model_kwargs", "num_classes", "input_size"):
        if twin_config.get(key) != config.get(key):
            raise CheckpointError(f"{twin} is no twin of {shipped}: {key} differs")
    twin_training, training = twin_config.get("training", {}), config.get("training", {})
    twin_schedule, shipped_schedule = schedule(twin_training), schedule(training)
    if twin_schedule != shipped_schedule:
        differ = sorted(k for k in set(twin_schedule) | set(shipped_schedule)
                        if twin_schedule.get(k) != shipped_schedule.get(k))
        raise CheckpointError(f"{twin} did not follow the schedule of {shipped}: {', '.join(differ)} differ")
    if not twin_training.get("held_out"):
        raise CheckpointError(f"{twin} held no sequence out: it has nothing unseen to be measured on")
    if "temperature" not in twin_config or not (twin / "eval.json").is_file():
        raise CheckpointError(f"calibrate and evaluate {twin} first (scripts/refresh_eval.sh --twin-dir)")

    evaluation = json.loads((twin / "eval.json").read_text())
    # held out of every phase: a twin continued from a phase that trained on the sequence has seen it
    phases = [phase for phase in (twin_training, *twin_training.get("earlier_phases", [])) if phase.get("splits")]
    held_out = set.intersection(*(set(phase.get("held_out") or []) for phase in phases or [twin_training]))
    if not set(evaluation.get("sequences") or []) <= held_out:
        raise CheckpointError(f"{twin}/eval.json measures frames the twin trained on, in its last phase or an earlier one")
    twin_sha = sha256_of(twin / "model.safetensors")
    fitted_on = {**twin_config["temperature_fitted_on"], "twin": True}
    config["temperature"] = twin_config["temperature"]
    config["temperature_fitted_on"] = fitted_on
    for key in ("temperature_scope", "test_scales"):  # T was fitted to act there and at these scales: so they serve
        config.pop(key, None)
        if key in twin_config:
            config[key] = twin_config[key]
    training["twin"] = {
        "held_out": twin_training["held_out"],
        "frames": twin_training["frames"],
        "class_weights": twin_training.get("class_weights"),
        "sha256": twin_sha,
    }
    config["training"] = training
    validate_config(config)
    (shipped / CONFIG_NAME).write_text(json.dumps(config, indent=2) + "\n")
    evaluation["measured_on"] = "twin"
    evaluation["twin_sha256"] = twin_sha
    if "calibration" in evaluation:
        evaluation["calibration"]["temperature_fitted_on"] = fitted_on
    (shipped / "eval.json").write_text(json.dumps(evaluation, indent=2) + "\n")
    return config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("twin", type=Path, help="the twin checkpoint, already calibrated and evaluated")
    parser.add_argument("shipped", type=Path, help="the checkpoint trained on every frame")
    args = parser.parse_args(argv)
    try:
        config = adopt_twin_measurement(args.twin, args.shipped)
    except (CheckpointError, FileNotFoundError, KeyError) as error:
        parser.exit(2, f"twin: {error}\n")
    print(f"{args.shipped}: eval.json and T = {config['temperature']} taken from its twin {args.twin} "
          f"(held out {'+'.join(config['training']['twin']['held_out'])})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
