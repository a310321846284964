"""What a visitor is told when a request fails half-way, and how the server recovers from it.

A picture that passes every check can still run the CPU or the GPU out of
memory, find the disk full when its maps are saved, or make torch fail in a
way no check foresees. The visitor gets one plain sentence (never a stack
trace), the operator's log keeps what torch said, and the failed request's
memory goes back (and old results make room on the disk) before the next
visitor's.
"""

from __future__ import annotations

import errno
import logging
import traceback
from collections.abc import Iterator
from contextlib import contextmanager

import gradio as gr
import torch

from .checkpoints import first_line
from .devices import ONEDNN_ALLOCATION_FAILURE
from .imagefiles import sweep_now_and_then
from .inputs import MESSAGE_STAYS
from .memory import release_free_memory
from .worker import Busy

log = logging.getLogger(__name__)


OUT_OF_MEMORY = (
    "The server ran out of memory on this picture; nothing else was affected. "
    "Please try a smaller picture, or again in a moment."
)

# The refusal ends with the run under way (segdemo.worker: a waiting one then starts): after 8 Bayesian (T=8) runs of
# a CamVid frame joined and cancelled, 2 CPU cores refused for 1.8-2.8 s (3 tries), where this had said "a minute"
SERVER_BUSY = ("The server is still busy with earlier requests that were cancelled; nothing was run. "
               "Please try again in a few seconds: it takes new requests again as soon as the run under way ends.")

DISK_FULL = (
    "The server's disk is full, so this result could not be saved; nothing else was affected. "
    "Older results are being cleared: please try again in a moment."
)
DISK_FULL_ERRORS = {errno.ENOSPC, errno.EDQUOT}


@contextmanager
def disk_full_explained() -> Iterator[None]:
    """A full disk (or quota) while a result is saved gets a plain message, and a sweep of old results starts
    (``segdemo.imagefiles``; it keeps room on the disk, but the disk may have filled with something else)."""
    try:
        yield
    except OSError as error:
        if error.errno not in DISK_FULL_ERRORS:
            raise
        traceback.clear_frames(error.__traceback__)
        log.warning("request failed, disk full: %s", first_line(error))
        sweep_now_and_then(disk_full=True)
        raise gr.Error(DISK_FULL, duration=MESSAGE_STAYS, print_exception=False) from None


@contextmanager
def failures_explained() -> Iterator[None]:
    """A request that fails half-way (out of memory on a huge picture) gets a plain message.

    Only that request fails: its tensors are freed here (its frames cleared),
    and the server, the loaded models and the other visitors' requests carry
    on (tests/test_faults.py caps the server's memory to show it). Every
    request, failed or not, ends with ``release_free_memory``, which hands
    freed pages back once the server has grown past its headroom.
    """
    try:
        with disk_full_explained():
            yield
    except gr.Error:
        raise
    except Busy:
        log.warning("request refused: the inference thread has work waiting that Gradio let go of (cancelled)")
        raise gr.Error(SERVER_BUSY, duration=MESSAGE_STAYS, print_exception=False) from None
    except MemoryError as error:
        traceback.clear_frames(error.__traceback__)
        log.warning("request failed, out of memory: %s", first_line(error))
        raise gr.Error(OUT_OF_MEMORY, duration=MESSAGE_STAYS, print_exception=False) from None
    except RuntimeError as error:  # torch reports allocation failures (CPU and CUDA) and CUDA errors as RuntimeErrors
        # The failed request's frames hold its tensors, and the message below keeps its traceback alive
        # (as __context__) for as long as Gradio keeps the message: free them now, before the next visitor.
        traceback.clear_frames(error.__traceback__)
        # The visitor gets a plain sentence; the operator's log keeps what torch said (the Space's Logs tab).
        if _out_of_memory(error):
            log.warning("request failed: %s: %s", type(error).__name__, first_line(error))
            _release_gpu_cache()
            raise gr.Error(OUT_OF_MEMORY, duration=MESSAGE_STAYS, print_exception=False) from None
        # not the picture's size: perhaps a bug, so the log keeps where it was raised (the frames' lines survive
        # clear_frames), where Gradio's own traceback had pointed here
        log.warning("request failed: %s: %s", type(error).__name__, first_line(error), exc_info=error)
        raise gr.Error(f"The model could not process this picture: {first_line(error)}",
                       duration=MESSAGE_STAYS, print_exception=False) from None
    finally:
        release_free_memory()  # what this request freed goes back to the system (segdemo/memory.py)


def _out_of_memory(error: RuntimeError) -> bool:
    """The CPU or the GPU ran out: torch.cuda.OutOfMemoryError, cuDNN/cuBLAS or oneDNN failing to allocate."""
    text = str(error).lower()
    return (isinstance(error, torch.cuda.OutOfMemoryError) or "memory" in text or "alloc_failed" in text
            or ONEDNN_ALLOCATION_FAILURE in text)


def _release_gpu_cache() -> None:
    """Hand the failed request's cached GPU blocks back; never raises (after a CUDA error it may not work)."""
    try:
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            torch.cuda.empty_cache()
    except RuntimeError:
        pass
