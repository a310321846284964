"""Result pictures written straight into Gradio's file cache, fast.

Handing PIL images to Gradio makes it encode each as a PNG at zlib level 6
(about 47 ms for a 480x360 picture on one core) and then hash the bytes: five
pictures per request cost more than the network itself. Here the maps are
written as PNG at level 1 (lossless too, so the picture and its overlay
line up to the pixel; 4x faster, files within 3% of the size), two at a
time, into a fresh folder inside Gradio's cache, where Gradio serves them
without copying.

A request leaves about 1 MB there at 480x360 and 12 MB for a 12-megapixel
photo, so a busy Space would fill its disk within days and then fail every
request: folders older than ``RESULTS_KEPT_SECONDS`` are swept away, at
most once every ``SWEEP_EVERY_SECONDS``, in the background. The opacity
slider's re-blends, one folder per step of a drag (2.5 MB each for a
12-megapixel photo), are deleted as soon as the page has moved on from them.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from PIL import Image

PNG_COMPRESS_LEVEL = 1
RESULTS_KEPT_SECONDS = int(float(os.environ.get("SEGDEMO_KEEP_RESULTS_HOURS", "24")) * 3600)
SWEEP_EVERY_SECONDS = 3600  # also how often Gradio sweeps its own files (segdemo.ui.build_demo's delete_cache)
# Gradio forgets a file it served only when its own sweep deletes it, so ours comes two of its sweeps later.
SWEEP_AFTER_GRADIO_SECONDS = 2 * SWEEP_EVERY_SECONDS
_encoder = ThreadPoolExecutor(max_workers=2, thread_name_prefix="segdemo-encode")  # zlib releases the GIL
_last_sweep: float | None = None
_sweep_lock = threading.Lock()


def cache_folder() -> Path:
    """Gradio's upload/cache folder (``GRADIO_TEMP_DIR``, else the system temp folder's ``gradio``)."""
    return Path(os.environ.get("GRADIO_TEMP_DIR") or Path(tempfile.gettempdir()) / "gradio").resolve()


def _write(image: Image.Image, path: Path) -> str:
    image.save(path, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    return str(path)


def results_folder() -> Path:
    return cache_folder() / "segdemo"


def sweep_old_results(max_age: float, now: float | None = None) -> int:
    """Delete the result folders last written more than ``max_age`` seconds ago; how many. Never raises."""
    now = time.time() if now is None else now
    try:
        entries = list(os.scandir(results_folder()))
    except OSError:  # nothing written yet
        return 0
    removed = 0
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False) and now - entry.stat(follow_symlinks=False).st_mtime > max_age:
                shutil.rmtree(entry.path, ignore_errors=True)
                removed += 1
        except OSError:  # another process swept it first
            continue
    return removed


def sweep_now_and_then(now: float | None = None) -> Future[int] | None:
    """Sweep in the background if the last sweep was ``SWEEP_EVERY_SECONDS`` ago (the first call sweeps)."""
    global _last_sweep
    now = time.time() if now is None else now
    with _sweep_lock:
        if _last_sweep is not None and now - _last_sweep < SWEEP_EVERY_SECONDS:
            return None
        _last_sweep = now
    return _encoder.submit(sweep_old_results, RESULTS_KEPT_SECONDS + SWEEP_AFTER_GRADIO_SECONDS, now)


class ImageWriter:
    """Starts encoding each picture as soon as it is added, so encoding overlaps drawing the next one."""

    def __init__(self) -> None:
        sweep_now_and_then()
        self.folder = results_folder() / uuid.uuid4().hex
        self.folder.mkdir(parents=True, exist_ok=True)
        self._pending: dict[str, Future[str] | None] = {}

    def add(self, name: str, image: Image.Image | None) -> None:
        """Queue ``image`` for ``<folder>/<name>.png``; ``None`` stays ``None``."""
        self._pending[name] = None if image is None else _encoder.submit(_write, image, self.folder / f"{name}.png")

    def add_file(self, name: str, write: Callable[..., str], *args: Any) -> None:
        """Queue ``write(*args)``, which writes another file of the result and returns its path, beside the pictures."""
        self._pending[name] = _encoder.submit(write, *args)

    def paths(self) -> dict[str, str | None]:
        """Wait for every picture and file; their paths by name."""
        return {name: None if future is None else future.result() for name, future in self._pending.items()}


def delete_results(folders: Iterable[str]) -> None:
    """Delete these result folders now (a re-blend the page no longer shows); folders outside ours are left alone."""
    root = results_folder().resolve()
    for folder in folders:
        path = Path(folder).resolve()
        if path.parent == root:
            shutil.rmtree(path, ignore_errors=True)


def write_images(images: dict[str, Image.Image | None]) -> dict[str, str | None]:
    """Write each named image to ``<cache>/segdemo/<random>/<name>.png``; their paths by name."""
    writer = ImageWriter()
    for name, image in images.items():
        writer.add(name, image)
    return writer.paths()
