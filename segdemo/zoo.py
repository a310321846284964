"""The models the Space serves, and loading them once at start-up.

Each entry names a checkpoint folder bundled in ``weights/``. A model that
cannot be loaded does not stop the app: it is reported with the reason and
the others are served.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import torch

from .checkpoints import Checkpoint, CheckpointError, load_checkpoint
from .inference import default_device

log = logging.getLogger(__name__)

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"


@dataclass(frozen=True)
class ZooEntry:
    name: str  # the architecture name, also the folder in weights/
    label: str  # what the UI shows
    family: str  # "FCN" or "SegNet"

    @property
    def bundled(self) -> Path:
        return WEIGHTS_DIR / self.name


ZOO: dict[str, ZooEntry] = {
    entry.name: entry
    for entry in (
        ZooEntry("bayesian_segnet_lite", "Bayesian SegNet (lite, MC dropout)", "SegNet"),
        ZooEntry("fcn8s_lite", "FCN-8s (lite)", "FCN"),
    )
}
DEFAULT_SEGNET = "bayesian_segnet_lite"
DEFAULT_FCN = "fcn8s_lite"


@dataclass
class LoadedModel:
    """A zoo entry with its checkpoint, or the reason it could not be loaded."""

    entry: ZooEntry
    checkpoint: Checkpoint | None
    source: str  # where the weights came from, in words
    error: str | None = None

    @property
    def ready(self) -> bool:
        return self.checkpoint is not None


def load_zoo(names: list[str] | None = None, device: torch.device | None = None) -> dict[str, LoadedModel]:
    """Load every (or the named) zoo model from its bundled folder onto ``device``."""
    device = device or default_device()
    loaded: dict[str, LoadedModel] = {}
    for name in names or list(ZOO):
        entry = ZOO[name]
        try:
            checkpoint = load_checkpoint(entry.bundled, device=device)
            loaded[name] = LoadedModel(entry, checkpoint, source=f"bundled copy in weights/{name}")
            log.info("loaded %s from %s", name, entry.bundled)
        except CheckpointError as error:
            log.error("could not load %s: %s", name, error)
            loaded[name] = LoadedModel(entry, None, source="not loaded", error=str(error))
    return loaded
