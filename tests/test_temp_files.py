"""The suite cleans up after itself: a run used to leave ~0.5 GB of Gradio uploads and results and ~2,000 empty
folders in /tmp, which piled up (with other leftovers) until a CI install on that disk failed with ENOSPC."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# two app tests: one sends a picture and downloads results through gradio_client, one also writes into tmp_path
INNER_TESTS = [
    "tests/test_app.py::test_the_overlay_keeps_the_picture_at_zero_opacity",
    "tests/test_app.py::test_the_same_pixels_under_another_name_and_format_are_recognised",
]


@pytest.mark.slow
def test_a_test_run_leaves_no_files_in_the_temp_folder(tmp_path):
    temp = tmp_path / "temp"
    temp.mkdir()
    env = {key: value for key, value in os.environ.items() if key != "GRADIO_TEMP_DIR"}
    env["TMPDIR"] = str(temp)
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *INNER_TESTS],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "2 passed" in run.stdout
    left = sorted(str(path.relative_to(temp)) for path in temp.rglob("*")
                  if not (path.is_dir() and path.relative_to(temp).parts[0].startswith("pytest-of-")))
    assert left == [], f"{len(left)} paths left in the temp folder, such as {left[:5]}"
