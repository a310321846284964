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
  Each entry is checked (known keys only, each of its type; a revision must be a commit, never a branch; a
  repo_id or revision comes with its sha256): a wrong one is refused with the reason, and that model is served
  from its bundled copy. A file that cannot be read, or is no JSON object, refuses every entry with its reason.

A model that cannot be loaded from anywhere does not stop the app: it is
reported with the reason and the others are served.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch

from .checkpoints import Checkpoint, CheckpointError, load_checkpoint
from .classes import CAMVID_CLASSES
from .hub import DOWNLOAD_DEADLINE, HubError, cached_folder, commit_problem, download, verify_sha256
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
    refused: str | None = None  # why its SEGDEMO_ZOO entry was refused: the bundled copy serves

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


ZOO_KEYS = ("repo_id", "revision", "sha256", "label")  # what a SEGDEMO_ZOO entry may set
REPO_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*")
SHA256 = re.compile(r"[0-9a-fA-F]{64}")


def _field_problem(key: str, value: Any) -> str | None:
    """Why one field of a SEGDEMO_ZOO entry is unusable, or None."""
    if key == "repo_id" and not (isinstance(value, str) and REPO_ID.fullmatch(value) and len(value) <= 96):
        return f"repo_id must be a Hub repo id, \"owner/name\", not {_shown(value)}"
    if key == "revision":
        return commit_problem(value)
    if key == "sha256" and not (isinstance(value, str) and SHA256.fullmatch(value)):
        return f"sha256 must be the 64 hex digits segdemo.publish prints, not {_shown(value)}"
    if key == "label" and not (isinstance(value, str) and value.strip()):
        return f"label must be a non-empty string, not {_shown(value)}"
    return None


def _shown(value: Any) -> str:
    """A JSON value as a visitor may read it: short, and of its kind."""
    text = json.dumps(value)
    return text if len(text) <= 50 else text[:47] + "..."


def entry_problem(fields: Any) -> str | None:
    """Why a SEGDEMO_ZOO entry cannot be used, or None: each key is checked, and a misspelt one ("revison") is
    named, since dropping it would serve the model from another pin than the one meant."""
    if not isinstance(fields, dict):
        return f"it must be an object with {', '.join(ZOO_KEYS)}, not {_shown(fields)}"
    unknown = [key for key in fields if key not in ZOO_KEYS]
    if unknown:
        return f"unknown key {_shown(unknown[0])} (the keys are {', '.join(ZOO_KEYS)})"
    problem = next((problem for key, value in fields.items() if (problem := _field_problem(key, value))), None)
    return problem or _missing_sha256(fields)


def _missing_sha256(fields: dict[str, Any]) -> str | None:
    """Why an entry naming its own repo or revision needs its own sha256, or None: without one the shipped
    model's sha256 was kept, and a fork's retrained checkpoint failed its integrity check against it."""
    if "sha256" in fields or not ("repo_id" in fields or "revision" in fields):
        return None
    return ("sha256 is required with a repo_id or revision: the shipped model's sha256 would refuse any other "
            "checkpoint (segdemo.publish prints the sha256 with the revision)")


def _read_zoo_file(path: str) -> tuple[dict[str, Any] | None, str | None]:
    """The SEGDEMO_ZOO file's entries, or None and why it cannot be used, in words without the server's path."""
    try:
        overrides = json.loads(Path(path).read_text())
    except OSError as error:  # missing (a typo: zoo.jsn), a folder, not readable
        problem = f"could not be read ({(error.strerror or type(error).__name__).lower()})"
        return None, problem
    except UnicodeDecodeError:  # a ValueError too: asked first
        return None, "is not UTF-8 text"
    except (ValueError, RecursionError) as error:
        return None, f"is not JSON ({str(error)[:80] or type(error).__name__})"
    if not isinstance(overrides, dict):
        return None, f"must be a JSON object of model names to entries, not {type(overrides).__name__}"
    return overrides, None


def zoo_entries() -> dict[str, ZooEntry]:
    """The built-in zoo, updated from the JSON file named by SEGDEMO_ZOO, if any.

    A file that cannot be used refuses every entry with its reason (the Models tab said "it is not published on
    the Hub yet" of a mistyped file name); an entry that is not right is refused, and that model is served from
    its bundled copy, with the reason."""
    entries = dict(ZOO)
    path = os.environ.get("SEGDEMO_ZOO")
    if not path:
        return entries
    overrides, problem = _read_zoo_file(path)
    if overrides is None:
        log.error("refusing SEGDEMO_ZOO=%s: it %s; every model serves its bundled copy", path, problem)
        refused = f"the SEGDEMO_ZOO file {Path(path).name or path} {problem}"
        return {name: replace(entry, refused=refused) for name, entry in entries.items()}
    for name, fields in overrides.items():
        if name not in entries:
            log.error("ignoring SEGDEMO_ZOO entry %r: no such model in the zoo", name)
            continue
        problem = entry_problem(fields)
        if problem:
            log.error("refusing SEGDEMO_ZOO entry %r in %s: %s; its bundled copy serves", name, path, problem)
            entries[name] = replace(entries[name], refused=f"its SEGDEMO_ZOO entry was refused: {problem}")
            continue
        entries[name] = replace(entries[name], **fields)
    return entries


def offline_forced() -> bool:
    return os.environ.get("SEGDEMO_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


NOT_PUBLISHED = "it is not published on the Hub yet"  # the zoo names no repo and revision for it


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

    def describe_for_visitors(self) -> str:
        """``describe`` under a visitor's result: a copy never published is no fallback to them ("Hub copy not used:
        it is not published on the Hub yet" read as a failure), where the Models tab tells the Space's owner."""
        return self.source if self.fallbacks == [NOT_PUBLISHED] else self.describe()


def _bundled_place(entry: ZooEntry) -> str:
    """Where the bundled copy was read, as the info line names it: ``weights/NAME``, or the folder SEGDEMO_WEIGHTS
    names, by its last part only (a visitor needs no server path)."""
    default = Path(__file__).resolve().parent.parent / "weights"
    if WEIGHTS_DIR.resolve() == default:
        return f"weights/{entry.name}"
    return f"{WEIGHTS_DIR.name}/{entry.name} (SEGDEMO_WEIGHTS)"


def _reason(error: Exception) -> str:
    """What a visitor is told of a failure: a CheckpointError's reason has no server path nor torch's text (the
    log keeps the whole message)."""
    if isinstance(error, CheckpointError):
        if error.reason != str(error):
            log.warning("%s", error)
        return error.reason
    return str(error)


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
    elif entry.refused:
        reasons.append(entry.refused)
    elif not (entry.repo_id and entry.revision):
        reasons.append(NOT_PUBLISHED)
    else:
        loaded = _load_from_hub(entry, device, reasons, cache_dir, endpoint, deadline, probe_timeout)
        if loaded is not None:
            return loaded
    try:
        checkpoint = _load_verified(entry.bundled, entry, device, None)  # git is its integrity check
        return LoadedModel(entry, checkpoint, source=f"bundled copy in {_bundled_place(entry)}", fallbacks=reasons)
    except CheckpointError as error:
        reasons.append(f"the bundled copy is unusable: {_reason(error)}")
        return LoadedModel(entry, None, source="not loaded", fallbacks=reasons, error="; ".join(reasons))


def _load_from_hub(
    entry: ZooEntry,
    device: torch.device,
    reasons: list[str],
    cache_dir: str | Path | None,
    endpoint: str | None,
    deadline: float | None,
    probe_timeout: float | None,
) -> LoadedModel | None:
    """The entry from the local Hub cache, else downloaded at its pin; None (with ``reasons`` said) if neither works.

    A cached copy that fails its check and is downloaded again is served from the Hub: the line says so, and not
    "Hub copy not used", which is for the bundled copy."""
    assert entry.repo_id and entry.revision
    pinned = f"{entry.repo_id}@{entry.revision[:7]}"
    try:
        folder = cached_folder(entry.repo_id, entry.revision, cache_dir)  # refuses a revision that is no commit
    except HubError as error:
        reasons.append(str(error))
        return None
    cache_failure = None
    if folder is not None:
        try:
            checkpoint = _load_verified(folder, entry, device, entry.sha256)
            return LoadedModel(entry, checkpoint, source=f"Hub {pinned}, from the local cache")
        except (HubError, CheckpointError) as error:
            cache_failure = _reason(error)
    try:
        kwargs: dict[str, float] = {"deadline": deadline} if deadline else {}
        if probe_timeout:
            kwargs["probe_timeout"] = probe_timeout
        folder = download(entry.repo_id, entry.revision, cache_dir=cache_dir, endpoint=endpoint,
                          force=cache_failure is not None, **kwargs)
        checkpoint = _load_verified(folder, entry, device, entry.sha256)
    except (HubError, CheckpointError) as error:
        if cache_failure is not None:
            reasons.append(f"the cached copy is unusable: {cache_failure}")
        reasons.append(_reason(error))
        return None
    if cache_failure is None:
        return LoadedModel(entry, checkpoint, source=f"Hub {pinned}, downloaded")
    log.warning("%s: the cached copy of %s was unusable (%s); downloaded again", entry.name, pinned, cache_failure)
    return LoadedModel(entry, checkpoint, source=f"Hub {pinned}, downloaded again: the cached copy failed its check")


def _fell_back_from_its_pin(model: LoadedModel) -> bool:
    """Whether a model pinned to a Hub commit (or refused its SEGDEMO_ZOO entry) serves its bundled copy: a Space
    not serving what it was configured to is worth a warning; an unpublished model or SEGDEMO_OFFLINE=1 is not."""
    configured = model.entry.revision is not None or model.entry.refused is not None
    return configured and bool(model.fallbacks) and not offline_forced()


def load_zoo(
    names: list[str] | None = None,
    device: torch.device | None = None,
    *,
    cache_dir: str | Path | None = None,
    endpoint: str | None = None,
    deadline: float | None = None,
    probe_timeout: float | None = None,
) -> dict[str, LoadedModel]:
    """Load every (or the named) zoo model once, logging where each came from.

    ``deadline``: the seconds all the models' downloads may take together (``hub.DOWNLOAD_DEADLINE`` by default), so
    that a Hub that stalls delays the start once, not once a model (two models waited 60 s each, 128 s in all)."""
    entries = zoo_entries()
    device = device or default_device()  # chosen once (SEGDEMO_DEVICE is read and logged once)
    loaded: dict[str, LoadedModel] = {}
    ends = time.monotonic() + (deadline or DOWNLOAD_DEADLINE)
    for name in names or list(entries):
        left = max(ends - time.monotonic(), 0.001)  # none left: a cached copy still serves, a download gives up
        model = load_model(
            entries[name], device, cache_dir=cache_dir, endpoint=endpoint, deadline=left, probe_timeout=probe_timeout
        )
        if model.ready:
            log.log(logging.WARNING if _fell_back_from_its_pin(model) else logging.INFO, "%s: %s", name,
                    model.describe())
        else:
            log.error("%s could not be loaded: %s", name, model.error)
        loaded[name] = model
    return loaded
