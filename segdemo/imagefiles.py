"""Result pictures written straight into Gradio's file cache, fast.

Handing PIL images to Gradio makes it encode each as a PNG at zlib level 6
(about 47 ms for a 480x360 picture on one core) and then hash the bytes: five
pictures per request cost more than the network itself. Here the maps are
written as PNG at level 1 (lossless too, so the picture and its overlay
line up to the pixel; 4x faster, files within 3% of the size), two at a
time, into a fresh folder inside Gradio's cache, where Gradio serves them
without copying.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from PIL import Image

PNG_COMPRESS_LEVEL = 1
_encoder = ThreadPoolExecutor(max_workers=2, thread_name_prefix="segdemo-encode")  # zlib releases the GIL


def cache_folder() -> Path:
    """Gradio's upload/cache folder (``GRADIO_TEMP_DIR``, else the system temp folder's ``gradio``)."""
    return Path(os.environ.get("GRADIO_TEMP_DIR") or Path(tempfile.gettempdir()) / "gradio").resolve()


def _write(image: Image.Image, path: Path) -> str:
    image.save(path, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    return str(path)


class ImageWriter:
    """Starts encoding each picture as soon as it is added, so encoding overlaps drawing the next one."""

    def __init__(self) -> None:
        self.folder = cache_folder() / "segdemo" / uuid.uuid4().hex
        self.folder.mkdir(parents=True, exist_ok=True)
        self._pending: dict[str, Future[str] | None] = {}

    def add(self, name: str, image: Image.Image | None) -> None:
        """Queue ``image`` for ``<folder>/<name>.png``; ``None`` stays ``None``."""
        self._pending[name] = None if image is None else _encoder.submit(_write, image, self.folder / f"{name}.png")

    def paths(self) -> dict[str, str | None]:
        """Wait for every picture; their paths by name."""
        return {name: None if future is None else future.result() for name, future in self._pending.items()}


def write_images(images: dict[str, Image.Image | None]) -> dict[str, str | None]:
    """Write each named image to ``<cache>/segdemo/<random>/<name>.png``; their paths by name."""
    writer = ImageWriter()
    for name, image in images.items():
        writer.add(name, image)
    return writer.paths()
