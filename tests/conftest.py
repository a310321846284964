"""Shared fixtures: a tiny synthetic dataset in the CamVid layout."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from segdemo.classes import CAMVID_PALETTE


def write_camvid_layout(root: Path, counts: dict[str, int], size: tuple[int, int] = (48, 64), seed: int = 0) -> Path:
    """Frames whose colour is the class palette plus noise: learnable in a few steps."""
    rng = np.random.default_rng(seed)
    h, w = size
    palette = np.array(CAMVID_PALETTE, dtype=np.int16)
    for split, count in counts.items():
        (root / split).mkdir(parents=True, exist_ok=True)
        (root / f"{split}annot").mkdir(parents=True, exist_ok=True)
        lines = []
        for index in range(count):
            label = np.zeros((h, w), dtype=np.uint8)
            label[: h // 3] = 0  # sky
            label[h // 3 : 2 * h // 3] = rng.choice([1, 5, 8])
            label[2 * h // 3 :] = 3  # road
            label[h // 2 : h // 2 + 6, w // 3 : w // 3 + 10] = 9  # a pedestrian
            label[-3:, -5:] = 11  # some void
            colour = palette[np.minimum(label, 10)] + rng.integers(-20, 21, size=(h, w, 3))
            image = np.clip(colour, 0, 255).astype(np.uint8)
            name = f"{split}_{index:03d}.png"
            Image.fromarray(image).save(root / split / name)
            Image.fromarray(label).save(root / f"{split}annot" / name)
            lines.append(f"{split}/{name} {split}annot/{name}")
        (root / f"{split}.txt").write_text("\n".join(lines) + "\n")
    return root


def write_two_streets(root: Path, streets: tuple[tuple[str, int], ...] = (("0001TP", 2), ("0006R0", 3))) -> Path:
    """A train split whose frames are named after CamVid sequences (``0001TP_000.png``...), ``count`` of each
    street in turn: for the benchmarks that fit on one street and measure on another."""
    total = sum(count for _, count in streets)
    write_camvid_layout(root, {"train": total})
    names = [street for street, count in streets for _ in range(count)]
    lines = []
    for index, street in enumerate(names):
        for folder in ("train", "trainannot"):
            (root / folder / f"train_{index:03d}.png").rename(root / folder / f"{street}_{index:03d}.png")
        lines.append(f"train/{street}_{index:03d}.png trainannot/{street}_{index:03d}.png")
    (root / "train.txt").write_text("\n".join(lines) + "\n")
    return root


def pytest_configure(config) -> None:
    """One temporary folder for the whole run, removed at its end: Gradio keeps every upload and result of the
    servers the tests start (hundreds of MB a run) and gradio_client leaves an empty folder in the temp folder for
    each download, so without this every run left ~0.5 GB and ~2,000 folders in /tmp, which piled up on a machine
    that runs the suite many times. pytest's own ``tmp_path`` folders are kept for failed tests only (pyproject.toml)."""
    run_folder = Path(tempfile.mkdtemp(prefix="segdemo-tests-"))
    config.segdemo_run_folder = run_folder
    os.environ["GRADIO_TEMP_DIR"] = str(run_folder / "gradio")  # before anything imports gradio_client
    os.environ["TMPDIR"] = str(run_folder)  # the servers, browsers and scripts the tests start
    # The servers keep no floor of free disk (segdemo/imagefiles.py), or on a build machine with under 2 GB free
    # they would delete results a test still reads; tests/test_disk_room.py sets the bounds it tests.
    os.environ.setdefault("SEGDEMO_DISK_FREE_GB", "0")


def pytest_unconfigure(config) -> None:
    run_folder = getattr(config, "segdemo_run_folder", None)
    if run_folder is not None:
        shutil.rmtree(run_folder, ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def temp_files_in_the_run_folder(tmp_path_factory, pytestconfig):
    """This process's own temp files go to the run folder too, once pytest has placed its ``tmp_path`` root."""
    tmp_path_factory.getbasetemp()
    before, tempfile.tempdir = tempfile.tempdir, str(pytestconfig.segdemo_run_folder)
    yield
    tempfile.tempdir = before


@pytest.fixture(scope="session")
def heic_pictures(tmp_path_factory) -> Path:
    """A folder of HEIC pictures (``heic_pictures.write_heic_pictures`` says which)."""
    from heic_pictures import write_heic_pictures

    return write_heic_pictures(tmp_path_factory.mktemp("heic"))


@pytest.fixture(scope="session")
def tiny_camvid(tmp_path_factory) -> Path:
    return write_camvid_layout(tmp_path_factory.mktemp("camvid"), {"train": 8, "val": 3, "test": 2})


ROOT = Path(__file__).resolve().parent.parent


def load_benchmark_script(name: str):
    """``benchmarks/NAME.py`` as a module (the folder is no package; its scripts import each other by name)."""
    import importlib.util
    import sys

    folder = str(ROOT / "benchmarks")
    if folder not in sys.path:
        sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_app(env_extra: dict[str, str] | None = None, timeout: float = 120.0, cwd: Path = ROOT):
    """Start ``python app.py`` (in ``cwd``: a folder of the app's files) on a free loopback port; returns (process,
    url, log path)."""
    import re
    import subprocess
    import sys
    import time
    import urllib.request

    port = free_port()
    env = {
        **os.environ,
        "GRADIO_SERVER_NAME": "127.0.0.1",
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_ANALYTICS_ENABLED": "False",
        "HF_HUB_OFFLINE": "1",
        **(env_extra or {}),
    }
    log = Path(tempfile.mkstemp(prefix="segdemo-app-", suffix=".log")[1])
    with log.open("w") as output:  # the server writes to its own copy of the descriptor
        process = subprocess.Popen([sys.executable, "app.py"], cwd=cwd, env=env, stdout=output,
                                   stderr=subprocess.STDOUT)
    process.segdemo_log = log  # stop_app removes it: tests read it while the server runs
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text()[-3000:]
            stop_app(process)
            raise RuntimeError(f"app.py exited with {process.returncode}:\n{tail}")
        # Gradio moves to the next port when this one was taken after free_port() released it,
        # so the URL to poll is the one the server says it runs on.
        announced = re.search(r"Running on local URL:\s+(http://[^\s,]+?)/?[\s,]", log.read_text())
        if announced is None:
            time.sleep(0.5)
            continue
        url = announced.group(1) + "/"
        try:
            with urllib.request.urlopen(url + "gradio_api/info", timeout=2) as response:
                if response.status == 200:
                    return process, url, log
        except OSError:
            time.sleep(0.5)
    tail = log.read_text()[-3000:]
    stop_app(process)
    raise RuntimeError(f"app.py did not answer within {timeout}s:\n{tail}")


def stop_app(process) -> None:
    """Stop a server ``start_app`` started and remove its log (each test reads what it needs first)."""
    process.terminate()
    try:
        process.wait(timeout=15)
    except Exception:
        process.kill()
        process.wait(timeout=15)
    log = getattr(process, "segdemo_log", None)
    if log is not None:
        log.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def app_server():
    """The server the API and browser tests share: (process, url, log path)."""
    process, url, log = start_app()
    yield process, url, log
    stop_app(process)


@pytest.fixture(scope="session")
def app_url(app_server):
    return app_server[1]


@pytest.fixture(scope="session")
def client(app_url):
    from gradio_client import Client

    return Client(app_url, verbose=False)


def pixels(path: str) -> np.ndarray:
    """A result picture's RGB pixels."""
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def refuse_networks(monkeypatch) -> None:
    """From here on (until ``monkeypatch.undo()``), any network run fails the test: what a re-blend draws must come
    from the stored layers."""
    def refuse(*args, **kwargs):
        raise AssertionError("a network ran")

    monkeypatch.setattr("segdemo.service.predict", refuse)
