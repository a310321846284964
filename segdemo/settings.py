"""Numbers read from the environment (``SEGDEMO_QUEUE_SIZE`` and the like), each checked against its range.

A Space variable is typed by hand: ``16 visitors``, ``0`` or ``-1`` must not stop the app at import nor
configure it into refusing every visitor. A value that is no number, or out of its range, is logged in one
ERROR line naming the variable, its value and the default served instead, as ``SEGDEMO_DEVICE`` already is.
"""

from __future__ import annotations

import logging
import math
import os

log = logging.getLogger(__name__)


def _rule(low: float, high: float, whole: bool, low_included: bool) -> str:
    """The allowed values in words, for the log line."""
    kind = "a whole number" if whole else "a number"
    if high == math.inf:
        return f"{kind} of {low:g} or more" if low_included else f"{kind} above {low:g}"
    return f"{kind} from {low:g} to {high:g}" if low_included else f"{kind} above {low:g} and at most {high:g}"


def _parsed(text: str, low: float, high: float, whole: bool, low_included: bool) -> float | None:
    """``text`` as a number within its range, else None."""
    try:
        value = float(text)
    except ValueError:
        return None
    if not math.isfinite(value) or (whole and not value.is_integer()):
        return None
    if value > high or value < low or (value == low and not low_included):
        return None
    return int(value) if whole else value


def number_setting(name: str, default: float, *, low: float, high: float = math.inf, whole: bool = False,
                   low_included: bool = True) -> float:
    """The number in the environment variable ``name``, or ``default`` where it is unset, empty or not allowed.

    ``whole`` asks for an integer (returned as an int); the range is ``low`` to ``high``, ``low`` excluded where
    ``low_included`` is False (a size of 0 would make the app refuse or delete everything)."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    value = _parsed(text, low, high, whole, low_included)
    if value is None:
        log.error("ignoring %s=%r: it must be %s; using the default, %s", name, text,
                  _rule(low, high, whole, low_included), default)
        return default
    return value
