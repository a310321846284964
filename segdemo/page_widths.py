"""How wide a visitor's results are drawn: no wider than their screen shows them.

A 12-megapixel photo's results were drawn 2048 pixels wide whatever the
screen: a phone, which shows the Compare tab's maps two to a row about 180
CSS px (540 device pixels) wide, fetched 10.6 MB of lossless maps for one
Compare (5.4 MB at 1280, 3.9 at 1024: measured on a bundled frame enlarged
to 4032x3024), over a slow connection last of all. The page tells the
server its window's width in device pixels once it loads (``WINDOW_WIDTH_JS``,
a page-only event), and each of that session's results is drawn at most
that wide, half of it on the Compare tab (two maps a row), never under
``MIN_DRAWN_WIDTH``: room to zoom in on a phone, or to see a map in full screen,
and a download that still shows the detail the network has (it works at
about 480x360, twice at most 600x450). The API's calls send no width and get
results up to 2048 pixels (``MAX_OUTPUT_SIDE``), as before.

The width is that of the page when it loaded: a phone turned to landscape
afterwards gets the width of its portrait screen (soft, never wrong: every
map of a result, and what a click on it reads, has one size).
"""

from __future__ import annotations

import math
from typing import Any

from .inference import MAX_OUTPUT_SIDE
from .sessions import SESSIONS_REMEMBERED, SessionNotes

MIN_DRAWN_WIDTH = 1024
# what the page sends once loaded (``demo.load(js=...)``): the window's width in device pixels
WINDOW_WIDTH_JS = "() => [Math.round(window.innerWidth * (window.devicePixelRatio || 1))]"


def drawn_width(window_pixels: Any, maps_a_row: int = 1) -> int:
    """The widest a result is drawn for a window ``window_pixels`` device pixels wide that shows ``maps_a_row`` maps
    side by side: ``MIN_DRAWN_WIDTH`` to ``MAX_OUTPUT_SIDE``, which is also the answer for no width or a bad one."""
    try:
        window = float(window_pixels)
    except (TypeError, ValueError):
        return MAX_OUTPUT_SIDE
    if not math.isfinite(window) or window <= 0:
        return MAX_OUTPUT_SIDE
    return int(min(max(math.ceil(window / max(maps_a_row, 1)), MIN_DRAWN_WIDTH), MAX_OUTPUT_SIDE))


class PageWidths:
    """Each session's window width, as its page sent it; the oldest sessions forgotten past ``SESSIONS_REMEMBERED``."""

    def __init__(self, limit: int = SESSIONS_REMEMBERED) -> None:
        self._widths: SessionNotes[float] = SessionNotes(limit)

    def note(self, session: str | None, window_pixels: Any) -> None:
        """Remember the width a page sent (a width that is no number is dropped, as is a call with no session)."""
        try:
            window = float(window_pixels)
        except (TypeError, ValueError):
            return
        if math.isfinite(window) and window > 0:
            self._widths.note(session, window)

    def drawn_width(self, session: str | None, maps_a_row: int = 1) -> int:
        """How wide this session's results are drawn (``drawn_width``): ``MAX_OUTPUT_SIDE`` for a session whose page
        sent no width, as the API's calls do."""
        return drawn_width(self._widths.get(session), maps_a_row)
