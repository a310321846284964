"""What segdemo takes from its dependencies beyond their documented API, looked up so that an upgrade that moves it
says so in one line (README, "Upgrading Gradio and the other pins").

Two ways, by what the internal is for. An enhancement (a clearer message, a
tidier sweep) that a new release moved is logged once, naming the package's
version and what is lost, and the app goes on serving. An internal that
correctness or safety rests on raises ``InternalMoved`` at start, naming it:
serving without it would answer wrongly, or every request with a traceback.

Imports neither Gradio nor torch: ``segdemo.gpu`` uses it before either.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
from typing import Any

log = logging.getLogger(__name__)
PINNED = "requirements.txt"
_said: set[str] = set()


class InternalMoved(RuntimeError):
    """An internal that segdemo cannot serve without is not where the pinned version had it."""


def version_of(package: str) -> str:
    """The installed version of ``package`` (its distribution's name), or "?"."""
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def warn_once(message: str) -> None:
    """``message`` in the log at WARNING, once per process (two tabs, or a build and a shutdown, ask twice)."""
    if message not in _said:
        _said.add(message)
        log.warning(message)


def lost(package: str, internal: str, what: str) -> None:
    """Log once that ``package``'s installed version has no ``internal``, and ``what`` segdemo no longer does."""
    warn_once(f"{package} {version_of(package)} has no {internal} (segdemo was written for the versions in "
              f"{PINNED}): {what}")


def moved(package: str, internal: str, why: str) -> InternalMoved:
    """The one-line error for an internal segdemo cannot serve without; ``why``: what would go wrong."""
    return InternalMoved(f"{package} {version_of(package)} has no {internal}, which segdemo needs: {why}. Install the "
                         f"versions in {PINNED}, or port segdemo to this one (README, \"Upgrading Gradio and the other "
                         "pins\").")


def optional(module: str, name: str, fallback: Any, what: str) -> Any:
    """``module.name``, or ``fallback`` where this version has none (logged once: ``what`` is lost)."""
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        lost(module.split(".")[0].replace("_", "-"), f"{module}.{name}", what)
        return fallback
