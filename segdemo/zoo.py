"""The models the Space serves: where each one's weights live, and loading them once at start-up.

Each entry names a Hub repo, the commit it is pinned to, the sha256 of its
``model.safetensors``, and the copy bundled in ``weights/``. Loading tries,
in order: the local Hub cache, the Hub at the pinned revision, the bundled
copy; each step that fails adds a reason in plain words, and the UI and the
logs show where the weights came from and why.

- ``SEGDEMO_OFFLINE=1`` forces the bundled copies; ``SEGDEMO_WEIGHTS=DIR`` bundles from another folder.
- ``HF_HUB_OFFLINE=1`` and ``HF_ENDPOINT`` are honoured (huggingface_hub reads them).
- The models are placed once on the serving device, CUDA when there is one, or as
  ``SEGDEMO_DEVICE=cpu|cuda`` says (``segdemo.devices``); requests never move them.
- ``SEGDEMO_ZOO=path/to/zoo.json`` points the Space at other repos without a code change:
  ``{"fcn8s_lite": {"repo_id": "you/fcn8s-lite-camvid", "revision": "<40-hex commit>", "sha256": "<hex>"}}``.

A model that cannot be loaded from anywhere does not stop the app: it is
reported with the reason and the others are served.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch

from .checkpoints import Checkpoint, CheckpointError, load_checkpoint
from .classes import CAMVID_CLASSES
from .hub import HubError, cached_folder, download, verify_sha256
from .inference import default_device, prepare_for_inference

log = logging.getLogger(__name__)

WEIGHTS_DIR = Path(os.environ.get("SEGDEMO_WEIGHTS") or Path(__file__).resolve().parent.parent / "weights")


@dataclass(frozen=True)
class ZooEntry:
    name: str  # the architecture name, also the folder in weights/
    label: str  # what the UI shows
    family: str  # "FCN" or "SegNet"
    repo_id: str | None = None  # Hub model repo
    revision: str | None = None  # the pinned commit (40 hex); None: not published yet
    sha256: str | None = None  # of the Hub's model.safetensors (published from the bundled copy, so equal)

    @property
    def bundled(self) -> Path:
        return WEIGHTS_DIR / self.name


# Publish with `python -m segdemo.publish --model NAME --repo OWNER/REPO` and
# paste the printed revision here (or into a SEGDEMO_ZOO file).
ZOO: dict[str, ZooEntry] = {
    entry.name: entry
    for entry in (
        ZooEntry(
            "bayesian_segnet_lite",
            "Bayesian SegNet (lite, MC dropout)",
            "SegNet",
            repo_id="segdemo/bayesian-segnet-lite-camvid",
            sha256="34fa449532a64263e7d355c8b13630ea80b62054a099f5ddcb691e8fb20ade4a",
        ),
        ZooEntry(
            "fcn8s_lite",
            "FCN-8s (lite)",
            "FCN",
            repo_id="segdemo/fcn8s-lite-camvid",
            sha256="a1b2bb6f3b879494a6113f2be22a5aed1b9a5647be16ebdb3e1d09768c50e8ae",
        ),
    )
}
DEFAULT_SEGNET = "bayesian_segnet_lite"
DEFAULT_FCN = "fcn8s_lite"
# The Segment tab's first choice, read off docs/accuracy_latency.png: FCN-8s-lite
# is both the more accurate (46.5 against 44.9 mIoU on held-out 0006R0, as served) and the faster of the two.
DEFAULT_MODEL = DEFAULT_FCN


def zoo_entries() -> dict[str, ZooEntry]:
    """The built-in zoo, updated from the JSON file named by SEGDEMO_ZOO, if any."""
    entries = dict(ZOO)
    path = os.environ.get("SEGDEMO_ZOO")
    if not path:
        return entries
    try:
        overrides = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as error:
        log.error("ignoring SEGDEMO_ZOO=%s: %s", path, error)
        return entries
    for name, fields in overrides.items():
        if name not in entries:
            log.error("ignoring SEGDEMO_ZOO entry %r: no such model in the zoo", name)
            continue
        allowed = {k: v for k, v in fields.items() if k in ("repo_id", "revision", "sha256", "label")}
        entries[name] = replace(entries[name], **allowed)
    return entries


def offline_forced() -> bool:
    return os.environ.get("SEGDEMO_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


@dataclass
class LoadedModel:
    """A zoo entry with its checkpoint (or the reason there is none) and where it came from."""

    entry: ZooEntry
    checkpoint: Checkpoint | None
    source: str  # where the weights came from, in words
    fallbacks: list[str] = field(default_factory=list)  # why earlier sources were skipped
    error: str | None = None

    @property
    def ready(self) -> bool:
        return self.checkpoint is not None

    def describe(self) -> str:
        """One line for the UI: the source, and why a fallback happened."""
        if not self.fallbacks:
            return self.source
        return f"{self.source} (Hub copy not used: {'; '.join(self.fallbacks)})"


def _load_verified(folder: Path, entry: ZooEntry, device: torch.device, sha256: str | None) -> Checkpoint:
    verify_sha256(folder, sha256)
    checkpoint = load_checkpoint(folder)  # on the CPU: batch norm is folded there, then the model moves once
    prepare_for_inference(checkpoint.model).to(device)
    if checkpoint.config["architecture"] != entry.name:
        raise CheckpointError(f"the checkpoint is a {checkpoint.config['architecture']}, not the expected {entry.name}")
    if tuple(checkpoint.config["class_names"]) != CAMVID_CLASSES:
        raise CheckpointError("the checkpoint's classes are not CamVid's 11 classes")
    return checkpoint


def load_model(
    entry: ZooEntry,
    device: torch.device | None = None,
    *,
    cache_dir: str | Path | None = None,
    endpoint: str | None = None,
    deadline: float | None = None,
    probe_timeout: float | None = None,
) -> LoadedModel:
    """Load one entry: Hub cache, then the Hub at the pinned revision, then the bundled copy."""
    device = device or default_device()
    reasons: list[str] = []
    if offline_forced():
        reasons.append("offline mode is on (SEGDEMO_OFFLINE=1)")
    elif not (entry.repo_id and entry.revision):
        reasons.append("it is not published on the Hub yet")
    else:
        pinned = f"{entry.repo_id}@{entry.revision[:7]}"
        force = False
        folder = cached_folder(entry.repo_id, entry.revision, cache_dir)
        if folder is not None:
            try:
                checkpoint = _load_verified(folder, entry, device, entry.sha256)
                return LoadedModel(entry, checkpoint, source=f"Hub {pinned}, from the local cache")
            except (HubError, CheckpointError) as error:
                reasons.append(f"the cached copy is unusable: {error}")
                force = True
        try:
            kwargs = {"deadline": deadline} if deadline else {}
            if probe_timeout:
                kwargs["probe_timeout"] = probe_timeout
            folder = download(entry.repo_id, entry.revision, cache_dir=cache_dir, endpoint=endpoint, force=force, **kwargs)
            checkpoint = _load_verified(folder, entry, device, entry.sha256)
            return LoadedModel(entry, checkpoint, source=f"Hub {pinned}, downloaded", fallbacks=reasons)
        except (HubError, CheckpointError) as error:
            reasons.append(str(error))
    try:
        checkpoint = _load_verified(entry.bundled, entry, device, None)  # git is its integrity check
        return LoadedModel(entry, checkpoint, source=f"bundled copy in weights/{entry.name}", fallbacks=reasons)
    except CheckpointError as error:
        reasons.append(f"the bundled copy is unusable: {error}")
        return LoadedModel(entry, None, source="not loaded", fallbacks=reasons, error="; ".join(reasons))


def load_zoo(
    names: list[str] | None = None,
    device: torch.device | None = None,
    *,
    cache_dir: str | Path | None = None,
    endpoint: str | None = None,
    deadline: float | None = None,
    probe_timeout: float | None = None,
) -> dict[str, LoadedModel]:
    """Load every (or the named) zoo model once, logging where each came from."""
    entries = zoo_entries()
    device = device or default_device()  # chosen once (SEGDEMO_DEVICE is read and logged once)
    loaded: dict[str, LoadedModel] = {}
    for name in names or list(entries):
        model = load_model(
            entries[name], device, cache_dir=cache_dir, endpoint=endpoint, deadline=deadline, probe_timeout=probe_timeout
        )
        if model.ready:
            log.info("%s: %s", name, model.describe())
        else:
            log.error("%s could not be loaded: %s", name, model.error)
        loaded[name] = model
    return loaded
