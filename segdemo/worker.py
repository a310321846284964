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


class RequestThread:
    """Runs functions on one dedicated thread of this process and waits for their result (or exception)."""

    def __init__(self, name: str = THREAD_NAME) -> None:
        self._name = name
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._pid: int | None = None

    def run(self, function: Callable[..., T], *args, **kwargs) -> T:
        """``function(*args, **kwargs)`` on the dedicated thread, with the caller's context variables."""
        if threading.current_thread().name.startswith(self._name):  # already there: a nested call
            return function(*args, **kwargs)
        context = contextvars.copy_context()  # Gradio keeps the request's context in context variables
        return self._executor_here().submit(context.run, function, *args, **kwargs).result()

    def _executor_here(self) -> ThreadPoolExecutor:
        # A forked child (ZeroGPU runs decorated handlers in one) inherits the executor but not its
        # thread, and would wait forever on it: each process makes its own.
        with self._lock:
            if self._executor is None or self._pid != os.getpid():
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=self._name)
                self._pid = os.getpid()
            return self._executor


request_thread = RequestThread()
