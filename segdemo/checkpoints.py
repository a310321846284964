"""The one checkpoint format: a folder with ``config.json`` and ``model.safetensors``.

``config.json`` says what to build (the model name and its arguments) and
what the outputs mean (class names, palette, void index), plus the input
normalisation and working resolution the weights were trained for.
``model.safetensors`` holds the state dict. Safetensors cannot carry code, so
loading a checkpoint never executes anything; ``torch.load`` is never used.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from .calibration import TEMPERATURE_SCOPES
from .classes import CAMVID_CLASSES, CAMVID_MEAN, CAMVID_PALETTE, CAMVID_STD, VOID_INDEX
from .models import MODELS, build, count_parameters, model_kwargs

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
FORMAT = "segdemo-checkpoint"
FORMAT_VERSION = 1
MAX_TEST_SCALES = 4  # each scale is another pass of the network
MAX_CONFIG_BYTES = 1 << 20  # the real config.json files are 6-8 kB; a bigger one is read no further


class CheckpointError(Exception):
    """A checkpoint that cannot be used; the message says why in plain words.

    ``reason`` is the same without the folder's path or torch's own text: what the app may show a web visitor
    (the message, with the path, is for the terminal and the server's log)."""

    def __init__(self, message: str, reason: str | None = None):
        super().__init__(message)
        self.reason = reason or message


@dataclass
class Checkpoint:
    model: nn.Module
    config: dict[str, Any]
    path: Path
    parameters: int = 0  # counted at load: a model prepared for serving has its batch norms folded away

    @property
    def name(self) -> str:
        return str(self.config["architecture"])

    @property
    def input_size(self) -> tuple[int, int]:
        h, w = self.config["input_size"]
        return int(h), int(w)

    @property
    def temperature(self) -> float:
        """The softmax temperature fitted by ``segdemo.calibrate`` (1.0, i.e. none, when config.json has none)."""
        value = self.config.get("temperature")
        return 1.0 if value is None else float(value)

    @property
    def temperature_scope(self) -> str:
        """Where the temperature applies to Monte-Carlo samples (``segdemo.calibration.TEMPERATURE_SCOPES``)."""
        return str(self.config.get("temperature_scope", "samples"))

    @property
    def test_scales(self) -> tuple[float, ...]:
        """The working resolution is multiplied by each of these and the results combined (``segdemo.inference``)."""
        return tuple(float(s) for s in self.config.get("test_scales", [1.0]))


def make_config(
    architecture: str,
    model: nn.Module,
    input_size: tuple[int, int],
    *,
    class_names: tuple[str, ...] = CAMVID_CLASSES,
    palette: tuple[tuple[int, int, int], ...] = CAMVID_PALETTE,
    mean: tuple[float, ...] = CAMVID_MEAN,
    std: tuple[float, ...] = CAMVID_STD,
    overrides: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The config.json contents for ``model`` built as ``architecture`` with ``overrides``."""
    config: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "architecture": architecture,
        "model_kwargs": model_kwargs(architecture, **(overrides or {})),
        "num_classes": int(model.num_classes),
        "class_names": list(class_names),
        "palette": [list(c) for c in palette],
        "void_index": VOID_INDEX,
        "input_size": [int(input_size[0]), int(input_size[1])],
        "mean": list(mean),
        "std": list(std),
        "dataset": "CamVid",
    }
    config.update(extra or {})
    return config


def save_checkpoint(model: nn.Module, config: dict[str, Any], directory: str | Path) -> Path:
    """Write ``config.json`` and ``model.safetensors`` into ``directory`` (created if needed).

    Each file is written under a temporary name and renamed over the old one: a training run killed while saving its
    best weights (runs here end with the session's clock) leaves the previous file whole, never a truncated one.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    weights, partial_weights = directory / WEIGHTS_NAME, directory / f"{WEIGHTS_NAME}.partial"
    partial_config = directory / f"{CONFIG_NAME}.partial"
    partial_config.write_text(json.dumps(config, indent=2) + "\n")
    save_file(state, str(partial_weights), metadata={"format": "pt", "architecture": config["architecture"]})
    # safetensors writes 0600, owner only: weights trained by one user, copied into a container that runs as another,
    # could not be read there. They get config.json's permissions, the umask's.
    os.chmod(partial_weights, partial_config.stat().st_mode & 0o777)
    os.replace(partial_weights, weights)
    os.replace(partial_config, directory / CONFIG_NAME)
    return directory


def validate_config(config: Any) -> dict[str, Any]:
    """Check that a parsed config.json describes a model this code can build and explain."""
    if not isinstance(config, dict):
        raise CheckpointError("config.json is not a JSON object")
    arch = config.get("architecture")
    if arch not in MODELS:
        raise CheckpointError(f"config.json names an unknown architecture {arch!r}")
    num_classes = config.get("num_classes")
    names = config.get("class_names")
    palette = config.get("palette")
    if not isinstance(num_classes, int) or num_classes < 1:
        raise CheckpointError("config.json has no valid num_classes")
    if not isinstance(names, list) or len(names) != num_classes or not all(isinstance(n, str) for n in names):
        raise CheckpointError(f"config.json must list {num_classes} class names")
    if (
        not isinstance(palette, list)
        or len(palette) != num_classes
        or not all(isinstance(c, list) and len(c) == 3 and all(isinstance(v, int) and 0 <= v <= 255 for v in c) for c in palette)
    ):
        raise CheckpointError(f"config.json must give an RGB colour for each of the {num_classes} classes")
    size = config.get("input_size")
    if not (isinstance(size, list) and len(size) == 2 and all(isinstance(v, int) and v >= 16 for v in size)):
        raise CheckpointError("config.json has no valid input_size [height, width]")
    for key in ("mean", "std"):
        values = config.get(key)
        if not (isinstance(values, list) and len(values) == 3 and all(isinstance(v, (int, float)) for v in values)):
            raise CheckpointError(f"config.json has no valid {key}")
    if not isinstance(config.get("model_kwargs", {}), dict):
        raise CheckpointError("config.json model_kwargs must be an object")
    temperature = config.get("temperature")
    if temperature is not None and not (
        isinstance(temperature, (int, float)) and not isinstance(temperature, bool) and 0 < temperature < float("inf")
    ):
        raise CheckpointError("config.json temperature must be a positive number (or absent)")
    scales = config.get("test_scales", [1.0])
    if not (
        isinstance(scales, list) and 1 <= len(scales) <= MAX_TEST_SCALES
        and all(isinstance(s, (int, float)) and not isinstance(s, bool) and 0.25 <= s <= 4 for s in scales)
    ):
        raise CheckpointError(f"config.json test_scales must list 1 to {MAX_TEST_SCALES} scales between 0.25 and 4 (or be absent)")
    if config.get("temperature_scope", "samples") not in TEMPERATURE_SCOPES:
        raise CheckpointError(f"config.json temperature_scope must be one of {', '.join(TEMPERATURE_SCOPES)} (or absent)")
    return config


def read_config(directory: str | Path) -> dict[str, Any]:
    """The validated config.json of a checkpoint folder, read no further than ``MAX_CONFIG_BYTES``."""
    path = Path(directory) / CONFIG_NAME
    if not Path(directory).is_dir():  # a Hub repo id or a file given for the folder: say what a checkpoint is
        what = "a file" if Path(directory).exists() else "no folder"
        raise CheckpointError(f"{directory} is {what}: a checkpoint is a folder holding {CONFIG_NAME} and "
                              f"{WEIGHTS_NAME} (huggingface_hub.snapshot_download(REPO_ID) gives one from the Hub)",
                              "the checkpoint folder is missing")
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError as error:
        raise CheckpointError(f"{CONFIG_NAME} is missing in {directory}", f"{CONFIG_NAME} is missing") from error
    if len(data) > MAX_CONFIG_BYTES:
        limit = f"{MAX_CONFIG_BYTES // 1024} kB"
        raise CheckpointError(f"{CONFIG_NAME} in {directory} is over {limit}, more than a checkpoint's config may be",
                              f"{CONFIG_NAME} is over {limit}, more than a checkpoint's config may be")
    try:
        config = json.loads(data.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as error:
        raise CheckpointError(f"{CONFIG_NAME} in {directory} is not valid JSON", f"{CONFIG_NAME} is not valid JSON") from error
    return validate_config(config)


def write_temperature(
    directory: str | Path,
    temperature: float | None,
    fitted_on: dict[str, Any] | None = None,
    scope: str = "samples",
    scales: tuple[float, ...] | None = None,
) -> Path:
    """Store (or, with None, remove) the fitted temperature in config.json; every other key stays as it was.

    ``scope`` other than the default ``"samples"`` is stored as ``temperature_scope``;
    ``scales``, the test scales the temperature was fitted at, as ``test_scales``
    (removed for a single scale; left alone when None).

    Only config.json changes: the zoo pins the sha256 of model.safetensors, so
    calibrating a checkpoint never breaks its pin.
    """
    path = Path(directory) / CONFIG_NAME
    config = read_config(directory)
    config.pop("temperature", None)
    config.pop("temperature_fitted_on", None)
    config.pop("temperature_scope", None)
    if temperature is not None:
        config["temperature"] = round(float(temperature), 4)
        if scope != "samples":
            config["temperature_scope"] = scope
        if fitted_on is not None:
            config["temperature_fitted_on"] = fitted_on
    if scales is not None:
        config.pop("test_scales", None)
        if tuple(scales) != (1.0,):
            config["test_scales"] = [float(s) for s in scales]
    validate_config(config)
    path.write_text(json.dumps(config, indent=2) + "\n")
    return path


def _names(keys: list[str], most: int = 3) -> str:
    """A few tensor names for a sentence: the file's own text, so cut short and kept to printable characters."""
    shown = ["".join(c for c in key[:40] if c.isprintable()) for key in keys[:most]]
    return ", ".join(shown) + (", ..." if len(keys) > most else "")


def _counted(count: int, what: str) -> str:
    return f"{count} {what}" if count == 1 else f"{count} {what.replace('tensor', 'tensors')}"


def state_mismatch(expected: dict[str, torch.Tensor], state: dict[str, torch.Tensor]) -> str | None:
    """How ``state`` does not fit a model whose state dict is ``expected``, in a few words, or None if it fits.

    torch's own message is many lines long and names every key; this is what a visitor can read."""
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    resized = sorted(k for k in set(state) & set(expected) if state[k].shape != expected[k].shape)
    parts = [
        f"{_counted(len(keys), what)} ({_names(keys)})"
        for keys, what in ((missing, "missing tensor"), (unexpected, "unexpected tensor"), (resized, "tensor of the wrong shape"))
        if keys
    ]
    return "; ".join(parts) or None


def _finite(tensor: torch.Tensor) -> bool:
    """Whether every value is finite. A NaN or inf makes the float64 sum non-finite, and the sum costs a third of
    ``isfinite(...).all()`` on fp16 (1.9 against 5.7 ms for the bundled FCN); only a float64 tensor's sum can
    overflow without one, so a non-finite sum is checked value by value."""
    return bool(torch.isfinite(tensor.sum(dtype=torch.float64))) or bool(torch.isfinite(tensor).all())


def non_finite_tensors(state: dict[str, torch.Tensor]) -> list[str]:
    """The floating-point tensors holding a NaN or an infinity: a model with one answers NaN, or garbage."""
    return sorted(k for k, v in state.items() if v.is_floating_point() and not _finite(v))


def _check_finite(state: dict[str, torch.Tensor], directory: Path) -> None:
    bad = non_finite_tensors(state)
    if bad:
        said = f"holds NaN or infinite values in {_counted(len(bad), 'tensor')} (the first: {_names(bad[:1])})"
        raise CheckpointError(f"{WEIGHTS_NAME} in {directory} {said}", f"{WEIGHTS_NAME} {said}")


def _build(config: dict[str, Any], directory: Path) -> nn.Module:
    """The network config.json describes, untrained."""
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in config.get("model_kwargs", {}).items()}
    arch = config["architecture"]
    try:
        return build(arch, num_classes=config["num_classes"], **kwargs)
    except (TypeError, ValueError, OverflowError, RuntimeError) as error:  # model_kwargs the network refuses
        first = first_line(error)
        raise CheckpointError(f"the weights in {directory} do not fit a {arch} model ({first})",
                              f"its config's model_kwargs do not build a {arch} model ({first})") from error


def first_line(error: BaseException) -> str:
    """An error's first line, at most 200 characters (torch's messages run to pages of C++ frames)."""
    lines = str(error).strip().splitlines()
    return lines[0][:200] if lines else type(error).__name__


def _usable_device(device: str | torch.device) -> torch.device:
    """``device`` as torch names it, refused in a sentence before anything loads where it is no device or a GPU
    that is not here (torch says so only once the weights move, from deep inside)."""
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise CheckpointError(f"{device!r} is no torch device ({first_line(error)}): use 'cpu' or 'cuda'",
                              "its device is unknown") from error
    if device.type == "cuda" and not torch.cuda.is_available():
        raise CheckpointError(f"device {str(device)!r} was asked for, but torch finds no CUDA GPU here: use 'cpu'",
                              "no CUDA GPU here")
    return device


def load_checkpoint(directory: str | Path, device: str | torch.device = "cpu") -> Checkpoint:
    """Build the model a checkpoint folder describes and load its weights (strictly), on ``device``."""
    device = _usable_device(device)
    directory = Path(directory)
    config = read_config(directory)
    weights = directory / WEIGHTS_NAME
    if not weights.is_file():
        raise CheckpointError(f"{WEIGHTS_NAME} is missing in {directory}", f"{WEIGHTS_NAME} is missing")
    try:
        state = load_file(str(weights), device="cpu")
    except (SafetensorError, OSError, ValueError, RuntimeError) as error:
        raise CheckpointError(f"{WEIGHTS_NAME} in {directory} is not a readable safetensors file ({error})",
                              f"{WEIGHTS_NAME} is not a readable safetensors file") from error
    _check_finite(state, directory)
    model = _build(config, directory)
    arch = config["architecture"]
    mismatch = state_mismatch(model.state_dict(), state)
    try:
        if mismatch is None:
            model.load_state_dict(state, strict=True)
    except (TypeError, ValueError, OverflowError, RuntimeError) as error:
        mismatch = first_line(error)
    if mismatch is not None:
        raise CheckpointError(f"the weights in {directory} do not fit a {arch} model ({mismatch})",
                              f"its weights do not fit a {arch} model: {mismatch}")
    model.to(device).eval()
    return Checkpoint(model=model, config=config, path=directory, parameters=count_parameters(model))


def measured_training(evaluation: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """The ``training`` block of the network that ``eval.json`` measured: the checkpoint's own, or its twin's.

    The final shipped weights train on every labelled frame except the app's
    bundled examples, which leaves no unseen sequence to measure them on. Their
    figures and temperature come from a twin run (same starting weights, same
    schedule) that held sequence 0006R0 out; ``eval.json`` then says
    ``"measured_on": "twin"`` and the config's ``training.twin`` says what it held out.
    """
    training = config.get("training", {})
    return training.get("twin", {}) if evaluation.get("measured_on") == "twin" else training


def measured_frames(evaluation: dict[str, Any], config: dict[str, Any]) -> str:
    """Which frames a checkpoint's ``eval.json`` figures come from, and whether its training held them out.

    Every figure segdemo shows (README, Models tab, model card) says this.
    """
    sequences = evaluation.get("sequences") or []
    held_out = set(measured_training(evaluation, config).get("held_out") or [])
    frames = f"{evaluation['split']} {'+'.join(sequences)}".strip() + f", {evaluation['images']} frames"
    if not (sequences and set(sequences) <= held_out):
        return frames
    if evaluation.get("measured_on") == "twin":
        return frames + ", held out of a twin run with the same schedule"
    return frames + ", held out of training"
