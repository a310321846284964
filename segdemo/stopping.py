"""How the app stops on Ctrl-C or SIGTERM (a container stopped, ``kill``): at once while it starts, through
Gradio's own way out once it serves.

While torch and Gradio are imported and the models loaded (5 s or more), a Ctrl-C printed 30 lines of their
frames, and one that landed inside safetensors' loader came out as "model.safetensors is not a readable
safetensors file": the bundled SegNet was logged as unusable and the app served without it, the Ctrl-C lost.
Nothing a visitor sent exists yet, so the start ends there, in one line. ``serve_until_stopped`` hands the
signals over just before Gradio's server starts, when uploads may come: from then on both are Ctrl-C's
KeyboardInterrupt, which Gradio's launch and segdemo's shutdown clean up after.

At an interactive prompt (a Jupyter or Colab notebook's ``%run app.py``, ``python -i app.py``) the signals are
Python's: there a notebook's interrupt had ended its kernel, the notebook's variables with it, and a SIGTERM
became a KeyboardInterrupt at the ``>>>`` prompt, which the process outlived.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from types import FrameType

log = logging.getLogger(__name__)
SIGNALS = (signal.SIGINT, signal.SIGTERM)


def interactive() -> bool:
    """Whether Python answers a prompt here (a notebook's kernel, ``python -i``): Gradio's own test, under which its
    launch returns at once and the server serves on in a thread."""
    return bool(getattr(sys, "ps1", sys.flags.interactive))


def stop_at_once_while_starting() -> None:
    """From here until ``serve_until_stopped``, Ctrl-C or SIGTERM ends the process in one line (exit 128 + signal).

    Only from the main thread, where Python allows handlers, and not at an interactive prompt, whose interrupt
    stops the command, not Python; a signal that is ignored (a run started with ``nohup ... &`` ignores Ctrl-C)
    stays ignored."""
    if threading.current_thread() is not threading.main_thread() or interactive():
        return
    for number in SIGNALS:
        if signal.getsignal(number) is not signal.SIG_IGN:
            signal.signal(number, _stop_now)


def serve_until_stopped() -> None:
    """From here on, Ctrl-C and SIGTERM raise KeyboardInterrupt, which stops Gradio's server its own way (not at an
    interactive prompt: there the server serves in the background, and the signals stay Python's)."""
    if threading.current_thread() is not threading.main_thread() or interactive():
        return
    for number, handler in zip(SIGNALS, (signal.default_int_handler, _stop_as_on_ctrl_c)):
        if signal.getsignal(number) is not signal.SIG_IGN:
            signal.signal(number, handler)


def _stop_now(number: int, frame: FrameType | None) -> None:
    log.info("stopped while starting (%s)", signal.Signals(number).name)
    sys.stderr.flush()
    os._exit(128 + number)  # no exception for a C extension to swallow; nothing of a visitor's to clean up yet


def _stop_as_on_ctrl_c(number: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt
