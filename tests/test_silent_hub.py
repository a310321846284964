"""publish and deploy against a Hub that takes the connection and never answers: huggingface_hub 2.4's client has
no timeout, and both waited forever. They now end within their --timeout, with one line and no traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time

import pytest
from conftest import ROOT

from segdemo.hub import CONNECT_TIMEOUT, UPLOAD_TIMEOUT, bound_hub_timeouts

WAIT_S = 30  # far past what a bounded run takes; an unbounded one is cut here and fails


class SilentServer:
    """Accepts every connection and never reads nor writes a byte, like a Hub behind a stuck proxy."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        """Hold each connection open, unanswered, until close()."""
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:  # closed
                return
            self.held.append(connection)

    def close(self) -> None:
        self.listener.close()
        for connection in self.held:
            connection.close()


@pytest.fixture
def silent_hub():
    server = SilentServer()
    yield server
    server.close()


def run_module(module: str, *args: str) -> tuple[subprocess.CompletedProcess, float]:
    """``python -m module args``, its output and how long it took."""
    env = {**os.environ, "HF_HUB_OFFLINE": "0", "HF_HUB_DISABLE_XET": "1"}
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=WAIT_S)
    return done, time.monotonic() - start


@pytest.mark.parametrize(
    "module,args,said",
    [
        ("segdemo.publish", ("--model", "fcn8s_lite", "--repo", "someone/fcn"),
         "could not publish fcn8s_lite to someone/fcn: the Hub did not answer in time"),
        ("segdemo.deploy", ("--space", "someone/segdemo"),
         "could not deploy to the Space someone/segdemo: the Hub did not answer in time"),
    ],
)
def test_a_hub_that_never_answers_ends_with_one_line(silent_hub, module, args, said):
    done, took = run_module(module, *args, "--endpoint", silent_hub.url, "--token", "hf_local_test_token",
                            "--timeout", "1")
    assert done.returncode != 0 and silent_hub.held  # it did connect, and was given no answer
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(said), done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert took < 10, took  # Python and the imports take 1-2 s here, the wait 1 s


@pytest.mark.parametrize("given", ["0", "-3", "soon", "inf"])
def test_a_timeout_that_is_no_number_of_seconds_is_refused(given):
    done, _ = run_module("segdemo.deploy", "--space", "someone/segdemo", "--timeout", given)
    assert done.returncode == 2 and "is not a number of seconds above 0" in done.stderr


def test_the_client_keeps_the_librarys_hooks_and_gets_finite_timeouts():
    """The default: a short connect, a long but finite wait for a large upload's answer."""
    from huggingface_hub import set_client_factory
    from huggingface_hub.utils import get_session
    from huggingface_hub.utils._http import default_client_factory, hf_request_event_hook

    try:
        bound_hub_timeouts()
        client = get_session()
        assert (client.timeout.connect, client.timeout.read, client.timeout.write) == \
            (CONNECT_TIMEOUT, UPLOAD_TIMEOUT, UPLOAD_TIMEOUT)
        assert hf_request_event_hook in client.event_hooks["request"]  # offline mode and request ids still work
    finally:
        set_client_factory(default_client_factory)
