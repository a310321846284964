"""What a training run needs to continue after it is cut off: ``RUN/state/``.

Training here is stopped by the session's wall clock, not by the run. Every
few minutes the run writes its weights, the weight average, the optimiser's
moments, the random generators and its progress through the schedule (step,
seconds trained, epoch, history, the arguments it was started with), so that
``python -m segdemo.train --resume RUN`` continues the same schedule at the
same learning rate. Tensors go to safetensors and the rest to JSON: nothing
here is a pickle, so reading a state never runs code.

The folder is written under a temporary name and renamed into place, so a
run killed while saving leaves the previous state intact: as ``state/``, or,
killed between the two renames, as ``state.old/``, which is read then.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

STATE_DIR = "state"


def _optimizer_tensors(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The optimiser's per-parameter tensors, flattened to ``optimizer.{index}.{name}``, and its JSON-able rest."""
    state = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, float]] = {}
    for index, values in state["state"].items():
        for name, value in values.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optimizer.{index}.{name}"] = value.detach().contiguous()
            else:
                scalars.setdefault(str(index), {})[name] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def _restore_optimizer(optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    per_param: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        if key.startswith("optimizer."):
            _, index, name = key.split(".", 2)
            per_param.setdefault(int(index), {})[name] = value
    for index, values in meta["scalars"].items():
        per_param.setdefault(int(index), {}).update(values)
    optimizer.load_state_dict({"state": per_param, "param_groups": meta["param_groups"]})


def save_run_state(
    out: Path,
    *,
    modules: dict[str, nn.Module],
    averages: dict[str, dict[str, torch.Tensor]],
    optimizer: torch.optim.Optimizer,
    generators: dict[str, torch.Tensor],
    progress: dict[str, Any],
) -> Path:
    """Write ``out/state/`` atomically: each module's weights under its name, averages, optimiser, RNGs, progress."""
    tensors: dict[str, torch.Tensor] = {}
    for prefix, module in modules.items():
        tensors.update({f"{prefix}.{k}": v.detach().contiguous() for k, v in module.state_dict().items()})
    for prefix, state in averages.items():
        tensors.update({f"{prefix}.{k}": v.detach().contiguous() for k, v in state.items()})
    optimizer_tensors, optimizer_meta = _optimizer_tensors(optimizer)
    tensors.update(optimizer_tensors)
    tensors.update({f"rng.{k}": v.contiguous() for k, v in generators.items()})

    final = Path(out) / STATE_DIR
    partial = Path(out) / f"{STATE_DIR}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    save_file(tensors, str(partial / "state.safetensors"))
    (partial / "state.json").write_text(json.dumps({"progress": progress, "optimizer": optimizer_meta}, indent=1) + "\n")
    old = Path(out) / f"{STATE_DIR}.old"
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        final.rename(old)
    partial.rename(final)
    shutil.rmtree(old, ignore_errors=True)
    return final


def _state_folder(out: Path) -> Path:
    """``out/state/``, or the previous state a run killed between saving's two renames left in ``state.old/``."""
    final, old = Path(out) / STATE_DIR, Path(out) / f"{STATE_DIR}.old"
    return old if not final.exists() and old.exists() else final


def read_progress(out: Path) -> dict[str, Any]:
    """The progress (arguments, step, seconds, history) a run saved, without loading its tensors."""
    path = _state_folder(out) / "state.json"
    if not path.is_file():
        raise FileNotFoundError(f"{out} has no saved training state ({path} is missing): nothing to resume")
    return json.loads(path.read_text())["progress"]


def load_run_state(
    out: Path, *, modules: dict[str, nn.Module], optimizer: torch.optim.Optimizer
) -> tuple[dict[str, dict[str, torch.Tensor]], dict[str, torch.Tensor], dict[str, Any]]:
    """Load weights into ``modules`` and ``optimizer``; return the averages, the RNG states and the progress."""
    folder = _state_folder(out)
    tensors = load_file(str(folder / "state.safetensors"))
    meta = json.loads((folder / "state.json").read_text())
    for prefix, module in modules.items():
        own = {k[len(prefix) + 1 :]: v for k, v in tensors.items() if k.startswith(prefix + ".")}
        module.load_state_dict(own, strict=True)
    _restore_optimizer(optimizer, tensors, meta["optimizer"])
    taken = set(modules) | {"optimizer", "rng"}
    averages: dict[str, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        prefix, rest = key.split(".", 1)
        if prefix not in taken:
            averages.setdefault(prefix, {})[rest] = value
    generators = {k[len("rng.") :]: v for k, v in tensors.items() if k.startswith("rng.")}
    return averages, generators, meta["progress"]
