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

Ctrl-C and SIGTERM (``kill``, a closed session) ask the run to stop
(``StopRequests``): it finishes its step, saves its state and says how to
resume. Before, Ctrl-C gave a traceback, and a run stopped before its first
save (5 minutes) left nothing to resume.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
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
    (partial / "state.json").write_text(json.dumps({"progress": progress, "optimizer": optimizer_meta}, indent=1) + "\n")
    save_file(tensors, str(partial / "state.safetensors"))
    # safetensors writes files readable by their owner alone (0600): readable as state.json is, by the umask
    os.chmod(partial / "state.safetensors", (partial / "state.json").stat().st_mode & 0o777)
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


class StopRequests:
    """Ctrl-C and SIGTERM during training, as a request to stop that keeps the run resumable.

    The first signal sets ``requested``: the run finishes its step, saves ``OUT/state/`` and ends, saying how to
    resume. A second one stops it at once, as does any signal before ``training`` is set (loading data, where there
    is nothing to keep). Either way the message is one line, not a traceback. Signal handlers can only be set from
    the main thread; elsewhere (a notebook's worker thread) the signals keep Python's default, and a signal the
    process was started ignoring stays ignored.
    """

    def __init__(self, out: Path) -> None:
        self.out = Path(out)
        self.requested = False
        self.signal_name = ""
        self.exit_code = 0
        self.training = False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopRequests:
        if threading.current_thread() is threading.main_thread():
            # A signal ignored stays ignored: a run started in the background (``nohup ... &``) ignores the Ctrl-C
            # meant for the shell it was started from.
            self._previous = {number: signal.signal(number, self._on_signal) for number in (signal.SIGINT, signal.SIGTERM)
                              if signal.getsignal(number) is not signal.SIG_IGN}
        return self

    def __exit__(self, *exc_info: object) -> None:
        for number, handler in self._previous.items():
            if handler is not None:  # None: a handler set outside Python (an embedding host), which it keeps
                signal.signal(number, handler)

    def resumable(self) -> str:
        """Where a resume would continue from: the state saved last, if any."""
        try:
            step = read_progress(self.out)["step"]
        except (FileNotFoundError, KeyError, ValueError):
            return "no state was saved, so there is nothing to resume"
        return f"--resume {self.out} continues from step {step}, the state saved last"

    def _on_signal(self, number: int, frame: FrameType | None) -> None:
        name = signal.Signals(number).name
        if not self.training:
            raise SystemExit(f"train: stopped by {name} before training began; {self.resumable()}")
        if self.requested:
            raise SystemExit(f"train: stopped at once by a second {name}; {self.resumable()}")
        self.requested, self.signal_name, self.exit_code = True, name, 128 + number
        print(f"\ntrain: {name}: stopping after this step and saving the state --resume {self.out} needs "
              f"({name} again stops at once)", file=sys.stderr, flush=True)
