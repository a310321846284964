"""A stop asked for while the app starts (Ctrl-C, a container stopped) ends it in one line, never a traceback.

Once it serves, Gradio catches the Ctrl-C, and segdemo turns a SIGTERM into one (tests/test_privacy.py). Before
that, a Ctrl-C while torch and Gradio were imported, or either signal while Gradio started its server, printed
30 to 60 lines of their frames."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT, free_port


def _ctrl_c_as_in_a_terminal() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_and_stop(tmp_path: Path, when: str, number: int, python: tuple[str, ...] = ()) -> tuple[int, str]:
    """Start ``app.py`` (with Python's options ``python``) and send it signal ``number`` as soon as its log shows
    ``when``; its exit status and log."""
    log = tmp_path / "app.log"
    env = {**os.environ, "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(free_port()),
           "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", "GRADIO_TEMP_DIR": str(tmp_path / "cache")}
    with log.open("w") as output:
        # as from a terminal: a suite run in the background (``nohup ... &``, some CI runners) passes Ctrl-C on
        # ignored, and an ignored Ctrl-C the app leaves ignored
        process = subprocess.Popen([sys.executable, *python, "app.py"], cwd=ROOT, env=env, stdout=output,
                                   stdin=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   preexec_fn=_ctrl_c_as_in_a_terminal)
    try:
        deadline = time.monotonic() + 120
        while when not in log.read_text() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert process.poll() is None, log.read_text()[-3000:]
        process.send_signal(number)
        status = process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=15)
    return status, log.read_text()


@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_stop_while_the_models_load_ends_the_start_in_one_line(tmp_path, number):
    """Sent as torch is imported (the device's line), it lands while the models load and the page is built. A
    Ctrl-C that landed inside safetensors' loader had been swallowed: the bundled SegNet logged as unusable, the app
    serving without it."""
    status, log = start_and_stop(tmp_path, "segdemo.devices: serving on", number)
    assert f"stopped while starting ({signal.Signals(number).name})" in log, log[-3000:]
    assert "Traceback" not in log and "could not be loaded" not in log and "Running on" not in log, log[-3000:]
    assert status == 128 + number


@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_stop_while_gradio_starts_its_server_is_one_line(tmp_path, number):
    """Sent when Gradio says where it runs, it lands while Gradio checks the address answers, or a moment later
    in Gradio's own catch, which says so in its line; either way the server stops and no traceback is printed."""
    status, log = start_and_stop(tmp_path, "Running on local URL", number)
    assert "Traceback" not in log and "KeyboardInterrupt" not in log, log[-3000:]
    said = ["segdemo.ui: stopped while the server was starting", "Keyboard interruption in main thread"]
    assert any(line in log for line in said), log[-3000:]
    assert status == 0, log[-3000:]


def test_sigterm_ends_the_app_at_an_interactive_prompt(tmp_path):
    """``python -i app.py``: Gradio's launch returns to the ``>>>`` prompt and the server serves on in a thread. A
    SIGTERM there had become a KeyboardInterrupt at the prompt, which the process outlived; it is Python's again."""
    status, log = start_and_stop(tmp_path, "Running on local URL", signal.SIGTERM, python=("-i",))
    assert status == -signal.SIGTERM, log[-3000:]
    assert "KeyboardInterrupt" not in log, log[-3000:]
