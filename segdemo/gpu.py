"""What runs on the GPU, and for how long: ZeroGPU's ``spaces.GPU`` around the handlers that run a network.

On a ZeroGPU Space (``SPACES_ZERO_GPU=true``) a GPU is attached to the
process only while a function decorated with ``spaces.GPU`` runs, for at most
the ``duration`` it asks for; shorter requests are scheduled sooner. Only the
Segment and Compare handlers (and their /segment and /compare endpoints) run
a network for a visitor, so only they are decorated (``segdemo.ui``). The
models are placed on CUDA once, at start-up (``segdemo.zoo``), which ZeroGPU
emulates until a decorated call attaches the real GPU.

Everywhere else ``spaces.GPU`` returns the function unchanged, and where the
``spaces`` package is missing ``gpu_task`` does the same. Importing ``spaces``
after Gradio costs about 4 ms and patches nothing off ZeroGPU.

This module imports neither torch nor Gradio: ``app.py`` imports it first.
"""

from __future__ import annotations

import importlib
import logging
import math
import os
from collections.abc import Callable
from typing import Any, TypeVar

from .internals import lost

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

# A request's GPU time allowance, in seconds: BASE_SECONDS + SECONDS_PER_PASS x network passes.
# The base covers a fresh ZeroGPU worker (CUDA context, the weights onto the GPU) and the
# request's CPU work: decoding and drawing the maps of a 12-megapixel photo takes 2.4-3 s on
# 2 CPU cores (README, Speed). A pass at 480x360 costs 80-111 ms on those 2 cores as served
# (FCN's three scales; a Bayesian SegNet sample at its two), and less on a GPU; a quarter of a second each leaves room for a slow first call. Monte-Carlo
# samples are passes: /segment makes T (1 for FCN), /compare 1 + T. Measured on an NVIDIA H200 (docs/gpu.md,
# benchmarks/results/speed-cuda.json): a pass took 2-5 ms, the network 7-19 ms of a request as served, and a 12 MP
# request's host work 2.5 s, so both terms keep a wide margin. A fresh ZeroGPU worker's CUDA start is not measured
# (a whole cold start on the H200, `python app.py` to the first answer, took 15.3 s): revisit both once it is.
BASE_SECONDS = 10.0
SECONDS_PER_PASS = 0.25


def on_zerogpu() -> bool:
    """True on a ZeroGPU Space (the platform sets SPACES_ZERO_GPU)."""
    return os.environ.get("SPACES_ZERO_GPU", "").strip().lower() in ("1", "t", "true")


def import_spaces_first() -> None:
    """On ZeroGPU, import ``spaces`` before torch touches CUDA (it must patch torch first); elsewhere nothing.

    Gradio's automatic wrapping of every event handler is switched off, so
    that only the handlers ``gpu_task`` decorates ask for a GPU.
    """
    if not on_zerogpu():
        return
    spaces = importlib.import_module("spaces")
    disable = getattr(spaces, "disable_gradio_auto_wrap", None)  # in spaces.__all__, but not in its documentation
    if disable is None:
        lost("spaces", "spaces.disable_gradio_auto_wrap", "ZeroGPU may wrap every event handler, each asking for a "
             "GPU, not only the two that run a network")
        return
    disable()


def duration_for(passes: int) -> int:
    """Seconds of GPU time to ask for a request that makes ``passes`` network passes."""
    return math.ceil(BASE_SECONDS + SECONDS_PER_PASS * max(1, int(passes)))


def gpu_task(duration: Callable[..., int]) -> Callable[[F], F]:
    """``spaces.GPU(duration=duration)``, looked up now; the identity where ``spaces`` is not installed.

    ``duration`` is called with the handler's own arguments before each call
    (ZeroGPU's dynamic duration). Looking ``spaces`` up at call time (when the
    UI is built) lets a test put a recording stand-in in ``sys.modules``.
    """
    try:
        spaces = importlib.import_module("spaces")
    except ImportError as error:
        if on_zerogpu():
            log.error("the spaces package is missing on a ZeroGPU Space: %s", error)
        return lambda function: function
    return spaces.GPU(duration=duration)
