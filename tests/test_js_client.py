"""The API as a web developer calls it: Gradio's JavaScript client (@gradio/client, in Node) against the real server.

``tests/js/segdemo_client.mjs`` makes the calls and checks each answer; ``scripts/test.sh`` installs the client's
pinned version (``npm ci --prefix tests/js``). Found by calling it: a picture over 50 MB, whose upload the server
refuses, reached the app as an empty file description and was answered "Please upload a picture first".
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from conftest import ROOT

SCRIPT = ROOT / "tests" / "js" / "segdemo_client.mjs"
CLIENT = ROOT / "tests" / "js" / "node_modules" / "@gradio" / "client"


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js (scripts/test.sh installs it)")
def test_the_javascript_client_gets_every_output_and_every_refusal_in_words(app_url):
    if not CLIENT.is_dir():
        pytest.fail("@gradio/client is not installed: run npm ci --prefix tests/js (scripts/test.sh does)")
    run = subprocess.run(["node", str(SCRIPT)], env={**os.environ, "SEGDEMO_URL": app_url}, capture_output=True,
                         text=True, timeout=300)
    report = run.stdout + run.stderr
    assert run.returncode == 0, report
    assert "all passed" in report and "FAIL" not in report, report
    checks = [line for line in report.splitlines() if line.startswith("ok ")]
    assert len(checks) >= 20, report  # a script that stopped early passes nothing
