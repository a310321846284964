"""Keep a long-running server's memory flat: two glibc malloc arenas, trimmed after each request.

Gradio runs each request on one of many worker threads, and glibc gives
threads their own malloc arenas (up to 8 per core). The arenas keep the freed
memory of the large tensors and pictures their threads once held, so resident
memory climbs request after request: 754 MB after the first request, 1592 MB
after 600 (``python benchmarks/load.py --clients 10 --requests 20 --rounds 4
--model both``). Two arenas alone slow the climb (742 to 1155 MB over 800
requests); handing the free pages back with ``malloc_trim`` stops it (722 to
739 MB over 800 requests when trimming after every one). Trimming is done
once memory has grown ``HEADROOM_MB`` past its level after the first request,
which bounds it without paying the page faults on every request. Both are set
from inside the process, so that ``python app.py`` needs no environment.
Since every request's torch work runs on one thread (``segdemo.worker``), the
climb those figures show is mostly gone without them too (923-953 MB over 600
requests without, 895-914 with: docs/serving.md, "Memory").
"""

from __future__ import annotations

import ctypes
import os
import sys

from .settings import number_setting

M_ARENA_MAX = -8  # glibc's mallopt parameter number
ARENAS = 2
HEADROOM_MB = number_setting("SEGDEMO_MEMORY_HEADROOM_MB", 192.0, low=0)  # growth allowed before trimming


def limit_malloc_arenas(count: int = ARENAS) -> bool:
    """Cap glibc's malloc arenas for threads started from now on; False where that is not possible.

    Call it first thing, before torch or Gradio start threads. An explicit
    ``MALLOC_ARENA_MAX`` in the environment wins.
    """
    if not sys.platform.startswith("linux") or "MALLOC_ARENA_MAX" in os.environ:
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library this process runs on
    except (OSError, AttributeError):  # musl and other libcs have no mallopt
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return bool(mallopt(M_ARENA_MAX, count))


def resident_mb() -> float:
    """This process's resident memory in MB (0 where /proc is missing)."""
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return 0.0


_baseline_mb: float | None = None


def release_free_memory(headroom_mb: float = HEADROOM_MB) -> bool:
    """After a request: hand malloc's free pages back once resident memory is ``headroom_mb`` above its baseline.

    The baseline is the resident memory, trimmed, after the first request.
    Trimming every request would keep memory flatter still but costs about
    30 ms a request in page faults; this way only a server that has grown
    pays, and it never grows past baseline + headroom by more than one
    request's worth. Returns whether it trimmed.
    """
    global _baseline_mb
    if _malloc_trim is None:
        return False
    if _baseline_mb is None:
        _malloc_trim(0)
        _baseline_mb = resident_mb()
        return True
    if resident_mb() <= _baseline_mb + headroom_mb:
        return False
    _malloc_trim(0)
    return True


def _find_malloc_trim():
    if not sys.platform.startswith("linux"):
        return None
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    return trim


_malloc_trim = _find_malloc_trim()
