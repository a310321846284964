"""Which device serves the models, at which precision, and moving results back from it.

- ``SEGDEMO_DEVICE=cpu|cuda`` overrides the choice (default: CUDA when there is
  one). Asking for CUDA where there is none logs why and serves on the CPU.
- On a GPU the network runs under autocast: bf16 where the GPU computes it
  natively (Ampere and later), fp16 otherwise; softmax and everything after it
  stay in fp32. ``SEGDEMO_PRECISION=bf16|fp16|fp32`` overrides that, to
  compare on a GPU: on the CPU, bf16 stood in for a GPU's, flips 0.8-1.2% of
  the Bayesian SegNet's labels (0.2-0.3% of FCN's) against fp32, and fp16
  0.2-0.3% (0.02%). On the CPU the network always runs in fp32, as before.
- ``to_host`` brings a request's maps back in one device-to-host copy.
- ``SEGDEMO_TEST_CUDA_MEMORY_MB`` caps the CUDA allocator; only tests set it,
  to provoke an out-of-memory error in the real server.
- ``without_onednn_if_it_fails`` runs a CPU pass again without oneDNN where
  oneDNN could not create a primitive: once that has happened for want of
  memory, oneDNN 3.13 (torch 2.15) could create none, whatever memory there
  was, until the process restarted (every picture whose shapes were not
  cached failed); torch's own convolutions are 4-5x slower, but they answer.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Callable
from typing import ContextManager, TypeVar

import torch

from .settings import number_setting

log = logging.getLogger(__name__)

DEVICE_ENV = "SEGDEMO_DEVICE"
PRECISION_ENV = "SEGDEMO_PRECISION"
PRECISIONS = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": None}
TEST_MEMORY_ENV = "SEGDEMO_TEST_CUDA_MEMORY_MB"


def choose_device() -> torch.device:
    """The serving device: ``SEGDEMO_DEVICE`` if it can be honoured, else CUDA when available, else the CPU."""
    wanted = os.environ.get(DEVICE_ENV, "").strip().lower()
    if wanted not in ("", "auto", "cpu", "cuda") and not re.fullmatch(r"cuda:\d+", wanted):
        log.error("ignoring %s=%r: use cpu or cuda", DEVICE_ENV, wanted)
        wanted = ""
    if wanted == "cpu":
        log.info("serving on the CPU (%s=cpu)", DEVICE_ENV)
        return torch.device("cpu")
    if torch.cuda.is_available():
        device = torch.device(wanted if wanted.startswith("cuda") else "cuda")
        if device.index is not None and device.index >= torch.cuda.device_count():
            log.error("ignoring %s=%s: there are %d CUDA devices", DEVICE_ENV, wanted, torch.cuda.device_count())
            device = torch.device("cuda")
        precision = os.environ.get(PRECISION_ENV, "").strip().lower()
        if precision and precision not in PRECISIONS:
            log.error("ignoring %s=%r: use bf16, fp16 or fp32", PRECISION_ENV, precision)
        _cap_memory_for_tests(device)
        log.info("serving on %s", describe_device(device))
        return device
    if wanted.startswith("cuda"):
        why = "this torch build has no CUDA support" if torch.version.cuda is None else "no CUDA GPU was found"
        log.warning("%s=%s, but %s: serving on the CPU instead", DEVICE_ENV, wanted, why)
    else:
        log.info("serving on %s", describe_device(torch.device("cpu")))
    return torch.device("cpu")


def autocast_dtype(device: torch.device) -> torch.dtype | None:
    """The half precision a GPU serves in (bf16 where native, else fp16, or SEGDEMO_PRECISION); None: fp32."""
    if device.type != "cuda":
        return None
    wanted = os.environ.get(PRECISION_ENV, "").strip().lower()
    if wanted in PRECISIONS:
        return PRECISIONS[wanted]
    return torch.bfloat16 if torch.cuda.is_bf16_supported(including_emulation=False) else torch.float16


def serving_autocast(device: torch.device) -> ContextManager:
    """Autocast for the network's forward pass on ``device``; a no-op on the CPU."""
    dtype = autocast_dtype(device)
    return torch.autocast(device.type, dtype=dtype) if dtype is not None else contextlib.nullcontext()


def describe_device(device: torch.device) -> str:
    """What the UI says served a request: ``GPU (NVIDIA H200, bf16)`` or ``CPU (2 threads)``."""
    if device.type == "cuda":
        dtype = autocast_dtype(device)
        precision = {torch.bfloat16: "bf16", torch.float16: "fp16"}.get(dtype, "fp32")
        return f"GPU ({torch.cuda.get_device_name(device)}, {precision})"
    return f"CPU ({threads_named(torch.get_num_threads())})"


def threads_named(count: int) -> str:
    """``1 thread``, ``2 threads``: the info line said "1 threads" on a one-core Space."""
    return f"{count} thread" + ("" if count == 1 else "s")


def to_host(*tensors: torch.Tensor | None) -> tuple[torch.Tensor | None, ...]:
    """The tensors on the CPU, brought over in one copy (each copy waits for the GPU); CPU tensors untouched.

    Everything travels as float32 and returns to its dtype: exact for float32
    maps and for class indices (below 2**24).
    """
    if all(t is None or t.device.type == "cpu" for t in tensors):
        return tensors
    return packed_copy(tensors, torch.device("cpu"))


def packed_copy(tensors: tuple[torch.Tensor | None, ...], target: torch.device) -> tuple[torch.Tensor | None, ...]:
    """``tensors`` on ``target``, flattened into one float32 buffer for a single copy and split again."""
    present = [t for t in tensors if t is not None]
    flat = torch.cat([t.reshape(-1).to(torch.float32) for t in present]).to(target)
    out: list[torch.Tensor | None] = []
    offset = 0
    for tensor in tensors:
        if tensor is None:
            out.append(None)
            continue
        count = tensor.numel()
        out.append(flat[offset : offset + count].view(tensor.shape).to(tensor.dtype))
        offset += count
    return tuple(out)


# How oneDNN (torch's CPU convolutions) reports that it could not allocate a primitive's buffers; it
# gives no status, but a shape that runs on other pictures fails so only when memory runs out.
ONEDNN_ALLOCATION_FAILURE = "could not create a primitive"
Result = TypeVar("Result")


def without_onednn_if_it_fails(run: Callable[[], Result]) -> Result:
    """``run()``, and where oneDNN could not create a primitive, ``run()`` again with oneDNN off for that call.

    A real shortage of memory fails the second run too, and its error goes on to ``segdemo.failures``; a oneDNN
    that a past shortage broke (module docstring) is bypassed, for as long as it stays broken: each later call
    still tries it first (a failed creation costs the pass up to that layer), so a server whose oneDNN recovers,
    or never broke, keeps its speed.
    """
    try:
        return run()
    except RuntimeError as error:
        if ONEDNN_ALLOCATION_FAILURE not in str(error) or not torch.backends.mkldnn.is_available():
            raise
    log.warning("oneDNN could not create a primitive: this pass runs again without it (4-5x slower); if this "
                "repeats with memory to spare, oneDNN is stuck until the server restarts")
    with torch.backends.mkldnn.flags(enabled=False):
        return run()


def _cap_memory_for_tests(device: torch.device) -> None:
    """Cap the CUDA allocator at ``SEGDEMO_TEST_CUDA_MEMORY_MB`` (tests only: provokes out-of-memory errors)."""
    value = number_setting(TEST_MEMORY_ENV, 0, low=0, low_included=False)  # the default, 0: no cap
    if not value:
        return
    index = device.index if device.index is not None else torch.cuda.current_device()  # torch 2.11 wants an index
    total = torch.cuda.get_device_properties(index).total_memory
    fraction = min(1.0, value * 2**20 / total)
    torch.cuda.set_per_process_memory_fraction(fraction, index)
    log.warning("CUDA memory capped at %s MB (%s, for tests)", value, TEST_MEMORY_ENV)
