"""One long-lived thread runs every request's torch work, so the server makes its OpenMP threads once.

torch's CPU kernels run on an OpenMP team (libgomp), and libgomp gives each
thread that enters a parallel region a team of its own. Gradio runs handlers
on whichever of anyio's worker threads (up to 40) is idle, so without this a
request that lands on a fresh worker starts new OpenMP threads at whatever
moment that is. If memory is short just then (another visitor's huge picture
has just taken it), libgomp cannot create them and ends the whole process
("libgomp: Thread creation failed"): tests/test_faults.py caught it in 2 of
5 runs. On one thread the team is made by the first request and reused by
every later one; requests still run one at a time (``segdemo.ui.CONCURRENCY``).
"""

from __future__ import annotations

import contextvars
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

THREAD_NAME = "segdemo-inference"


# Work waiting for the thread, beyond the one running, past which a new request is refused. Gradio runs the model's
# requests one at a time, so none waits here unless Gradio let go of it: a request cancelled (POST /cancel, a closed
# tab) frees Gradio's slot while its work, handed over already, still waits here and runs. Unbounded, a client that
# joined and cancelled 8 runs made the next visitor wait 52 s behind them, unseen by Gradio's queue and its size.
MAX_WAITING = 2


class Busy(Exception):
    """The thread has ``max_waiting`` requests' work waiting already."""


class RequestThread:
    """Runs functions on one dedicated thread of this process and waits for their result (or exception)."""

    def __init__(self, name: str = THREAD_NAME, max_waiting: int | None = None) -> None:
        self._name = name
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._pid: int | None = None
        self._max_waiting = max_waiting
        self._waiting = 0

    def run(self, function: Callable[..., T], *args, **kwargs) -> T:
        """``function(*args, **kwargs)`` on the dedicated thread, with the caller's context variables; ``Busy`` where
        ``max_waiting`` calls wait for it already."""
        if threading.current_thread().name.startswith(self._name):  # already there: a nested call
            return function(*args, **kwargs)
        context = contextvars.copy_context()  # Gradio keeps the request's context in context variables
        executor = self._executor_here()
        with self._lock:
            if self._max_waiting is not None and self._waiting >= self._max_waiting:
                raise Busy(f"{self._waiting} requests wait for the {self._name} thread")
            self._waiting += 1

        def started(*args, **kwargs) -> T:
            with self._lock:
                self._waiting -= 1
            return function(*args, **kwargs)

        return executor.submit(context.run, started, *args, **kwargs).result()

    def _executor_here(self) -> ThreadPoolExecutor:
        # A forked child (ZeroGPU runs decorated handlers in one) inherits the executor but not its
        # thread, and would wait forever on it: each process makes its own.
        with self._lock:
            if self._executor is None or self._pid != os.getpid():
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=self._name)
                self._pid = os.getpid()
                self._waiting = 0  # a forked child waits on none of its parent's work
            return self._executor


request_thread = RequestThread(max_waiting=MAX_WAITING)
