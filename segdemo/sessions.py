"""What the server notes of each visitor's session, bounded.

Gradio keeps up to 10,000 sessions, and every `curl` call is one: a note per
session kept for good would grow with every caller for as long as the
server runs. Each note here is dropped once ``SESSIONS_REMEMBERED`` newer
sessions have been noted, and read and written under a lock, since Gradio
answers a page's events on several threads at once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

SESSIONS_REMEMBERED = 10_000  # as many sessions as Gradio keeps (a curl call is one): what segdemo notes of each

Note = TypeVar("Note")


class SessionNotes(Generic[Note]):
    """One note per key (a session, or a session's tab), the least recently noted forgotten past ``limit``."""

    def __init__(self, limit: int = SESSIONS_REMEMBERED) -> None:
        self._notes: OrderedDict[str, Note] = OrderedDict()
        self._limit = limit
        self._lock = threading.Lock()

    def get(self, key: str | None) -> Note | None:
        """The note kept for ``key``; None where there is none (or no key: an event with no session)."""
        if not key:
            return None
        with self._lock:
            return self._notes.get(key)

    def note(self, key: str | None, value: Note) -> None:
        """Keep ``value`` for ``key`` as its newest note (no key: nothing is kept)."""
        self.change(key, lambda _: value)

    def change(self, key: str | None, change: Callable[[Note | None], Note]) -> Note | None:
        """Replace ``key``'s note by ``change(note)`` in one step, so that two threads cannot both start from the
        old one; returns the old note (None where there was none)."""
        if not key:
            return None
        with self._lock:
            old = self._notes.pop(key, None)
            self._notes[key] = change(old)
            while len(self._notes) > self._limit:
                self._notes.popitem(last=False)
        return old
