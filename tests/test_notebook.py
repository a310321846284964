"""The app in a notebook (Jupyter, Colab): a real IPython kernel runs ``%run app.py``, as a student would.

Gradio's launch returns at once at an interactive prompt and the server serves on in a thread. There segdemo had
ended the kernel on the notebook's interrupt (its stop for a terminal's Ctrl-C while the app starts), stopped
sweeping and cleaned up the moment the launch returned, and Gradio's usual ``demo.launch()`` served a bare page:
Gradio's theme, none of segdemo's style or script, no upload limit, an unbounded queue."""

from __future__ import annotations

import json
import os
import queue
import shutil
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import ROOT, free_port
from gradio_client import Client, handle_file

from segdemo.ui import CSS, page_script

jupyter_client = pytest.importorskip("jupyter_client")
pytest.importorskip("ipykernel")

EXAMPLE = ROOT / "examples" / "camvid_0006R0_f01290.jpg"


class Kernel:
    """An IPython kernel (ipykernel, what Jupyter and Colab run) started in the checkout, as a notebook's."""

    def __init__(self, tmp_path: Path, env: dict[str, str]) -> None:
        specs = tmp_path / "jupyter" / "kernels" / "segdemo-python"
        specs.mkdir(parents=True)  # this Python, whatever kernels the machine has
        (specs / "kernel.json").write_text(json.dumps({
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "segdemo's Python", "language": "python"}))
        self.manager = jupyter_client.KernelManager(
            kernel_name="segdemo-python",
            kernel_spec_manager=jupyter_client.kernelspec.KernelSpecManager(kernel_dirs=[str(specs.parent)]))
        self.manager.start_kernel(cwd=str(ROOT), env={**os.environ, **env})
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=60)

    def run(self, code: str, timeout: float = 120, interrupt_after: float | None = None) -> dict[str, list]:
        """Run a cell; what it printed, displayed and raised, as a notebook shows them."""
        cell = self.client.execute(code)
        said: dict[str, list] = {"stdout": [], "stderr": [], "display": [], "error": []}
        deadline, interrupt_at = time.monotonic() + timeout, None
        while time.monotonic() < deadline:
            if interrupt_at is not None and time.monotonic() >= interrupt_at:
                self.manager.interrupt_kernel()  # the notebook's ■ button: SIGINT to the kernel
                interrupt_at = None
            try:
                message = self.client.get_iopub_msg(timeout=0.2)
            except queue.Empty:
                assert self.manager.is_alive(), f"the kernel died: {said}"
                continue
            if message["parent_header"].get("msg_id") != cell:
                continue
            kind, content = message["msg_type"], message["content"]
            if kind == "stream":
                said[content["name"]].append(content["text"])
            elif kind in ("display_data", "execute_result"):
                said["display"].append(content["data"])
            elif kind == "error":
                said["error"].append(content["ename"])
            elif kind == "status" and content["execution_state"] == "busy" and interrupt_after is not None:
                interrupt_at = time.monotonic() + interrupt_after  # counted from when the cell starts
            elif kind == "status" and content["execution_state"] == "idle":
                return said
        raise AssertionError(f"the cell did not finish within {timeout}s: {said}")

    def shut_down(self) -> None:
        """As a notebook's "Shut down kernel": asked, then waited for (Python ends its own way)."""
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=False)


@pytest.fixture
def kernel_env(tmp_path):
    return {"GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(free_port()), "HF_HUB_OFFLINE": "1",
            "GRADIO_ANALYTICS_ENABLED": "False", "GRADIO_TEMP_DIR": str(tmp_path / "cache")}


def test_run_app_py_in_a_notebook_serves_segdemos_page_and_cleans_up_when_the_kernel_ends(tmp_path, kernel_env):
    kernel = Kernel(tmp_path, kernel_env)
    try:
        said = kernel.run("%run app.py")
        assert not said["error"], said
        assert "Warning" not in "".join(said["stderr"]), said["stderr"]  # tqdm's "IProgress not found", in red
        frames = [shown["text/html"] for shown in said["display"] if "text/html" in shown]
        assert frames and 'height="1300"' in frames[0], said  # the page down to its Segment button, not 500 px
        url = f"http://127.0.0.1:{kernel_env['GRADIO_SERVER_PORT']}/"
        config = json.load(urllib.request.urlopen(url + "config", timeout=30))
        assert config["theme"] == "soft" and config["js"] == page_script() and CSS in config["css"], "a bare page"
        assert config["max_file_size"] == 50 * 1024 * 1024

        visitor = tmp_path / "a visitor's street.jpg"  # a name the page's own pictures do not have
        shutil.copy(EXAMPLE, visitor)
        client = Client(url, verbose=False, download_files=str(tmp_path / "downloads"))
        result = client.predict(handle_file(str(visitor)), "fcn8s_lite", 0.5, 1, 0, api_name="/segment")
        assert Path(result[1]).exists()  # the confidence map
        left = [path for path in (tmp_path / "cache").rglob("*") if path.is_file()]
        assert any(path.name == visitor.name for path in left), "the upload, in Gradio's cache"
        assert any("segdemo" in path.parts for path in left), "segdemo's results"
        assert kernel.run("print(1 + 1)")["stdout"] == ["2\n"], "the kernel answers while the app serves"
    finally:
        kernel.shut_down()
    left = [path for path in (tmp_path / "cache").rglob("*") if path.is_file()]
    assert left, "the page's own pictures stay"
    assert not [path for path in left if path.name == visitor.name or "segdemo" in path.parts], left


def test_a_notebooks_interrupt_while_the_app_loads_stops_the_cell_not_the_kernel(tmp_path, kernel_env):
    """The interrupt lands while torch and Gradio are imported: a KeyboardInterrupt in the cell, as for any cell;
    it had ended the kernel (exit 130), and the notebook's variables with it."""
    kernel = Kernel(tmp_path, kernel_env)
    try:
        kernel.run("kept = 41")
        said = kernel.run("%run app.py", interrupt_after=1.0)
        assert said["error"] == ["KeyboardInterrupt"], said
        assert kernel.run("print(kept + 1)")["stdout"] == ["42\n"]
    finally:
        kernel.shut_down()


def test_gradios_usual_demo_launch_serves_the_app_as_app_py_does_and_close_cleans_up(tmp_path, monkeypatch):
    """``from app import demo; demo.launch()`` (Gradio's usual line, in a notebook or a script of one's own), in
    this process, where its page and queue can be read; ``demo.close()`` deletes what visitors left."""
    from segdemo import imagefiles
    from segdemo.imagefiles import results_folder
    from segdemo.service import SegmentationService
    from segdemo.ui import QUEUE_SIZE, THEME, build_demo
    from segdemo.zoo import load_zoo

    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(imagefiles, "_running_sweep", None)
    sweeps = []
    monkeypatch.setattr(imagefiles, "sweep_now_and_then", lambda **kwargs: sweeps.append(kwargs))
    demo = build_demo(SegmentationService(load_zoo()))
    demo.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True)
    try:
        assert demo.theme is THEME and demo.js == page_script() and CSS in demo.css
        assert demo.max_file_size == 50 * 1024 * 1024 and demo._queue.max_size == QUEUE_SIZE
        assert sweeps, "the sweep by age runs while the server serves"
        queue, sweeping = demo._queue, [t for t in threading.enumerate() if t.name == "segdemo-sweep"]
        demo.launch(prevent_thread_lock=True, quiet=True)  # a notebook's cell run again: the server it runs
        assert demo._queue is queue, "a new queue beside the one the server runs"
        assert [t for t in threading.enumerate() if t.name == "segdemo-sweep"] == sweeping
        visitor = tmp_path / "visitor.jpg"
        shutil.copy(EXAMPLE, visitor)
        client = Client(demo.local_url, verbose=False, download_files=str(tmp_path / "downloads"))
        client.predict(handle_file(str(visitor)), "fcn8s_lite", 0.5, 1, 0, api_name="/segment")
        assert list(results_folder().iterdir())
        assert any(path.name == visitor.name for path in (tmp_path / "cache").rglob("*"))
    finally:
        demo.close(verbose=False)
    assert not list(results_folder().iterdir())
    assert not any(path.name == visitor.name for path in (tmp_path / "cache").rglob("*"))
    assert not demo.is_running
