"""The app's log: each huggingface_hub warning once (it came twice: the library's handler and the root logger's)."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT

EMIT = """
from segdemo.logs import configure_logging
configure_logging()
import logging
from huggingface_hub.utils import logging as hub_logging
hub_logging.get_logger("huggingface_hub.file_download").warning("a Hub warning")
logging.getLogger("segdemo.zoo").warning("a segdemo warning")
"""


def test_a_hub_warning_is_written_once_and_segdemo_s_lines_keep_their_format():
    done = subprocess.run([sys.executable, "-c", EMIT], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          check=True)
    assert done.stderr.count("a Hub warning") == 1, done.stderr
    assert " WARNING segdemo.zoo: a segdemo warning" in done.stderr


def test_the_app_configures_its_logging_before_anything_logs():
    source = (ROOT / "app.py").read_text()
    assert "configure_logging()" in source and "logging.basicConfig" not in source
    assert source.index("configure_logging()") < source.index("from segdemo.memory")
