"""docs/notebook.jpg: the app in a JupyterLab notebook, as ``%run app.py`` serves it there, a bundled frame segmented.

JupyterLab is not one of segdemo's requirements: it goes in a virtual environment of its own (``.venv-lab``, made on
first use), and the notebook's kernel is segdemo's Python. Needs Debian's chromium (Playwright drives it).

    .venv/bin/python scripts/notebook_screenshot.py
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from PIL import Image
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
FRAME = ROOT / "examples" / "camvid_0006R0_f03570.jpg"
CHROMIUM = "/usr/bin/chromium"


def jupyter_lab(venv: Path) -> Path:
    """The ``jupyter`` of ``venv``, with JupyterLab installed there first where it is missing."""
    jupyter = venv / "bin" / "jupyter"
    if not jupyter.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "jupyterlab"], check=True)
    return jupyter


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_notebook(folder: Path) -> None:
    """A kernel spec for this Python, and a notebook that runs the app as a student would."""
    spec = folder / "kernels" / "segdemo"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (segdemo)", "language": "python",
        "env": {"HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False", "GRADIO_TEMP_DIR": str(folder / "cache"),
                "GRADIO_SERVER_PORT": str(free_port())}}))
    cells = [f"%cd {ROOT}", "%run app.py"]
    (folder / "segdemo.ipynb").write_text(json.dumps({
        "nbformat": 4, "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "segdemo", "display_name": "Python 3 (segdemo)", "language": "python"}},
        "cells": [{"cell_type": "code", "id": f"cell{index}", "metadata": {}, "execution_count": None, "outputs": [],
                   "source": source} for index, source in enumerate(cells)]}))


def screenshot(url: str, out: Path) -> None:
    """Run both cells, segment the frame in the app's frame, and take the notebook from the ``%run`` cell down."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--headless=new", "--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1150})
        page.goto(url)
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
        page.locator(".lm-TabBar-tab[data-id=filebrowser]").first.click()  # the file browser closed
        page.locator(".jp-Notebook .jp-Cell").first.click()
        page.keyboard.press("Shift+Enter")
        page.keyboard.press("Shift+Enter")
        try:
            app = page.wait_for_selector(".jp-OutputArea iframe", timeout=120_000).content_frame()
        except Exception:
            page.screenshot(path=str(out.with_suffix(".failed.png")))  # what the notebook showed instead
            raise
        app.wait_for_function("() => window.segdemoResults", timeout=60_000)
        app.locator("#segment-picture input[type=file]").set_input_files(str(FRAME))
        app.get_by_role("button", name="Segment", exact=True).click()
        app.wait_for_function("() => [...document.images].some(i => i.src.includes('overlay') && i.complete)",
                              timeout=120_000)
        time.sleep(2)  # the overlay drawn, the slider's divider placed
        news = page.locator(".jp-Notification-Toast-Close, .Toastify__close-button")  # "get notified of Jupyter news?"
        for index in range(news.count()):
            news.nth(index).click()
        page.evaluate("() => document.querySelectorAll('.jp-Notebook .jp-Cell')[1].scrollIntoView({block: 'start'})")
        time.sleep(1)
        shot = out.with_suffix(".png")
        page.screenshot(path=str(shot))
        browser.close()
    Image.open(shot).convert("RGB").save(out, quality=85, optimize=True, progressive=True)
    shot.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "notebook.jpg")
    parser.add_argument("--lab-venv", type=Path, default=ROOT / ".venv-lab", help="where JupyterLab is installed")
    args = parser.parse_args()
    jupyter = jupyter_lab(args.lab_venv)
    with tempfile.TemporaryDirectory(prefix="segdemo-notebook-") as folder:
        write_notebook(Path(folder))
        port = free_port()
        env = {**os.environ, "JUPYTER_PATH": folder, "JUPYTER_CONFIG_DIR": str(Path(folder) / "config"),
               "JUPYTERLAB_WORKSPACES_DIR": str(Path(folder) / "workspaces")}
        lab = subprocess.Popen([str(jupyter), "lab", "--no-browser", f"--port={port}", "--ServerApp.token=",
                                "--ServerApp.password=", f"--ServerApp.root_dir={folder}", "--allow-root"],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}/lab/tree/segdemo.ipynb"
            for _ in range(120):
                try:
                    urllib.request.urlopen(url, timeout=2)
                    break
                except OSError:
                    time.sleep(0.5)
            screenshot(url, args.out)
        finally:
            lab.terminate()  # its kernels with it
            lab.wait(timeout=30)
    version = subprocess.run([str(jupyter), "lab", "--version"], capture_output=True, text=True).stdout.strip()
    print(f"wrote {args.out} (JupyterLab {version})")


if __name__ == "__main__":
    main()
