"""Keep a training run's last weights in half the space, with the history that made them.

    python -m segdemo.store_run runs/fcn8s_lite_dusk_p2 twins/dusk_stretch/fcn8s_lite_phase2 \
        --earlier twins/dusk_stretch/fcn8s_lite_phase1 --check examples/camvid_0006R0_f01290.jpg

Twins, phases that a later phase starts from, and shipped weights are kept in
git, so they are stored as fp16 (half of fp32, and the labels agree with fp32's
on all but a few pixels in 10,000: ``--check`` measures it on a picture); the
integer buffers (batch norms' step counts) stay as they are, and so does the
safetensors metadata. ``OUT/last/`` is what is kept: the weight average the run
validated and saved at its end. A tensor with a value beyond fp16's range
(65504: a batch norm's running variance of 1e5) stays in fp32, where fp16
would make it infinite; weights with NaN or infinite values are refused.

The kept folder is written beside the destination under a temporary name,
checked to load, then put in its place whole: an interrupted store leaves the
previous folder as it was, and none of the previous weights' files (their
``eval.json``, curves, logs) stay beside the new weights, where
``segdemo.publish`` would put their figures on the new weights' card. A
destination holding anything else than a stored checkpoint's files is refused.

A run's ``config.json`` says only how its own phase trained. Which frames the
phases before it saw matters as much (a temperature must be fitted on frames no
phase saw: ``segdemo.calibrate``), so ``--earlier`` copies each earlier phase's
``training`` block into ``training.earlier_phases``, oldest first, and their
logs beside this one's (``log-phase1.csv``, ``log-phase2.csv``, ...).
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any, Sequence

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from .checkpoints import CONFIG_NAME, WEIGHTS_NAME, CheckpointError, load_checkpoint, non_finite_tensors, read_config

# What a stored checkpoint folder holds: its two files, the logs store_run copies, what evaluate and train write
# beside them (eval.json, eval-SPLIT.json, curves.png), and a save's leftover. All of it is the previous weights'.
STORED_PATTERNS = (CONFIG_NAME, WEIGHTS_NAME, "log*.csv", "log*.json", "eval*.json", "curves*.png", "*.partial")


def halved(tensor: torch.Tensor) -> torch.Tensor:
    """A floating-point tensor in fp16, unless a finite value of it is beyond fp16's range: then as it is.

    fp16 turns such a value (a batch norm's running variance of 1e5) into inf, and the layer then outputs 0
    whatever its input; kept in fp32 (a few kB), the served model stays what the run validated."""
    if not tensor.is_floating_point():
        return tensor
    half = tensor.half()
    return tensor if bool((torch.isinf(half) & torch.isfinite(tensor)).any()) else half


def halved_tensors(weights: Path) -> tuple[dict[str, torch.Tensor], dict[str, str] | None]:
    """Every floating-point tensor of a safetensors file in fp16 (see ``halved``), the others unchanged, and the
    file's metadata. Weights with NaN or infinite values are refused: the run diverged."""
    with safe_open(str(weights), "pt") as handle:
        metadata = handle.metadata()
        tensors = {key: handle.get_tensor(key) for key in handle.keys()}
    bad = non_finite_tensors(tensors)
    if bad:
        raise CheckpointError(f"{weights} holds NaN or infinite values in {len(bad)} tensor(s) (the first: {bad[0]}): "
                              "the run diverged")
    return {key: halved(tensor) for key, tensor in tensors.items()}, metadata


def kept_in_fp32(weights: Path) -> list[str]:
    """The tensors of a stored file that stayed in fp32 (their values are beyond fp16's range)."""
    with safe_open(str(weights), "pt") as handle:
        return [key for key in handle.keys() if handle.get_slice(key).get_dtype() == "F32"]


def phases_of(config: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``training`` blocks of every phase that made a checkpoint, oldest first."""
    training = dict(config.get("training") or {})
    earlier = training.pop("earlier_phases", [])
    return [*earlier, training] if training else list(earlier)


def stored_config(
    run_config: dict[str, Any],
    earlier: list[dict[str, Any]],
    init: str | None = None,
    test_scales: list[float] | None = None,
    temperature_scope: str | None = None,
) -> dict[str, Any]:
    """The run's config with the earlier phases' training blocks, and what it is to be served with."""
    config = json.loads(json.dumps(run_config))
    training = config.setdefault("training", {})
    phases = [phase for checkpoint in earlier for phase in phases_of(checkpoint)]
    if phases:
        training["earlier_phases"] = phases
    if init is not None:
        training["init"] = init
    if test_scales is not None:
        config["test_scales"] = [float(s) for s in test_scales]
    if temperature_scope is not None:
        config["temperature_scope"] = temperature_scope
    return config


def label_agreement(first: Path, second: Path, picture: Path) -> float:
    """Share of a picture's pixels that two checkpoints label alike, at one scale and one pass."""
    from .images import load_image
    from .inference import predict

    image = load_image(picture).image
    labels = [predict(image, load_checkpoint(folder), samples=1, scales=(1.0,)).labels for folder in (first, second)]
    return float((labels[0] == labels[1]).double().mean())


def store_run(
    run: Path,
    destination: Path,
    earlier: Sequence[Path] = (),
    init: str | None = None,
    test_scales: list[float] | None = None,
    temperature_scope: str | None = None,
    log_name: str | None = None,
) -> Path:
    """Write ``run/last`` into ``destination`` in fp16, with the earlier phases' training blocks and logs.

    The run's log is kept as ``log_name``: by default ``log-phaseN.csv`` after earlier phases, else ``log.csv``.
    """
    last = run / "last"
    if not (last / WEIGHTS_NAME).is_file():
        raise CheckpointError(f"{last} holds no {WEIGHTS_NAME}: the run has not finished (resume it with --resume {run})")
    earlier_configs = [read_config(folder) for folder in earlier]
    config = stored_config(read_config(last), earlier_configs, init, test_scales, temperature_scope)
    tensors, metadata = halved_tensors(last / WEIGHTS_NAME)
    check_replaceable(destination)

    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = destination.parent / f".{destination.name}.{uuid.uuid4().hex[:8]}.partial"
    staging.mkdir()
    try:
        save_file(tensors, str(staging / WEIGHTS_NAME), metadata=metadata)
        (staging / CONFIG_NAME).write_text(json.dumps(config, indent=2) + "\n")
        logs = sorted({log.name: log for folder in earlier for log in folder.glob("log-phase*.csv")}.values())
        for log in logs:
            shutil.copy(log, staging / log.name)
        if (run / "log.csv").is_file():
            name = log_name or (f"log-phase{len(phases_of(config))}.csv" if earlier else "log.csv")
            shutil.copy(run / "log.csv", staging / name)
        try:  # fail here, not at the next session's use, if the kept copy does not load
            load_checkpoint(staging)
        except CheckpointError as error:
            raise CheckpointError(f"the fp16 copy of {last} does not load: {error.reason}") from error
        replace_folder(staging, destination)
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # gone already when it took the destination's place
    return destination


def check_replaceable(destination: Path) -> None:
    """Refuse a destination that holds anything but a stored checkpoint's files: all of it is replaced."""
    if not destination.exists():
        return
    if not destination.is_dir():
        raise CheckpointError(f"{destination} is a file, not a folder to keep the checkpoint in")
    for entry in sorted(destination.iterdir()):
        if not (entry.is_file() and not entry.is_symlink() and any(fnmatch.fnmatch(entry.name, p) for p in STORED_PATTERNS)):
            raise CheckpointError(f"{destination} holds {entry.name}, which is no stored checkpoint's file: keep the "
                                  "run in a new or empty folder, or move it away first")


def replace_folder(new: Path, destination: Path) -> None:
    """Put the folder ``new`` in the place of ``destination`` (removing the previous one, whole), by renames on
    one file system: an interruption leaves the previous folder whole, or at worst beside it as ``.NAME.*.previous``."""
    if not destination.exists():
        os.replace(new, destination)
        return
    previous = destination.parent / f".{destination.name}.{uuid.uuid4().hex[:8]}.previous"
    os.replace(destination, previous)
    try:
        os.replace(new, destination)
    except OSError:
        os.replace(previous, destination)
        raise
    shutil.rmtree(previous)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path, help="a segdemo.train output folder (its last/ is kept)")
    parser.add_argument("destination", type=Path)
    parser.add_argument("--earlier", type=Path, nargs="+", default=[], metavar="CHECKPOINT",
                        help="stored checkpoints of the phases before this one, oldest first")
    parser.add_argument("--init", help="what the run started from, in words (default: the path it was given)")
    parser.add_argument("--test-scales", type=float, nargs="+", help="the scales it is to be served at")
    parser.add_argument("--temperature-scope", choices=["samples", "averaged"],
                        help="where a Bayesian model's temperature applies (segdemo.calibration)")
    parser.add_argument("--log-name", help="the run's log.csv is kept as this (default: log-phaseN.csv after --earlier)")
    parser.add_argument("--check", type=Path, metavar="PICTURE",
                        help="report how many of this picture's pixels the fp16 copy labels as the run's fp32 did")
    args = parser.parse_args(argv)
    try:
        stored = store_run(args.run, args.destination, args.earlier, args.init, args.test_scales, args.temperature_scope,
                              args.log_name)
    except CheckpointError as error:
        parser.exit(2, f"store_run: {error}\n")
    size = (stored / WEIGHTS_NAME).stat().st_size / 1e6
    print(f"{stored}: {size:.1f} MB, {len(phases_of(read_config(stored)))} phase(s); "
          + ", ".join(sorted(p.name for p in stored.iterdir())))
    kept = kept_in_fp32(stored / WEIGHTS_NAME)
    if kept:
        print(f"kept in fp32 (values beyond fp16's range): {', '.join(kept)}")
    if args.check:
        print(f"labels as fp32's on {100 * label_agreement(args.run / 'last', stored, args.check):.2f}% of {args.check.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
