"""Result pictures written straight into Gradio's file cache, fast.

Handing PIL images to Gradio makes it encode each as a PNG at zlib level 6
(about 47 ms for a 480x360 picture on one core) and then hash the bytes: five
pictures per request cost more than the network itself. Here the maps are
written as lossless WebP at its fastest setting (``method=0``), two at a
time, into a fresh folder inside Gradio's cache, where Gradio serves them
without copying. Lossless, so the picture and its overlay line up to the
pixel and a map keeps its exact colours; against PNG at zlib level 1, the
fastest PNG, the four maps of a 480x360 result are 28% smaller (504 against
699 kB) and 35% smaller at 2048x1536 (4.3 against 6.5 MB), in about the same
time (both release the GIL). Palette pictures (the class maps, whose
palette indices are the classes) stay PNG: WebP stores RGB(A) alone.

A request leaves 3-7 MB there at 480x360 and 11-23 MB for a 12-megapixel
photo (with the class probabilities a click reads), so a busy Space would
fill its disk and then fail every request, uploads first (Gradio answers an
upload with a bare 500 once the disk is full, before any code of ours runs). Two bounds keep it from that, both
enforced by one sweep that runs in the background beside a request:

- age: folders older than ``RESULTS_KEPT_SECONDS`` and two of Gradio's
  sweeps (``SWEEP_AFTER_GRADIO_SECONDS``: 26 hours by default) go, checked
  at most once every ``SWEEP_EVERY_SECONDS``;
- room: the oldest folders go while the results take more than
  ``RESULTS_MAX_BYTES`` or the disk has less than ``DISK_KEPT_FREE_BYTES``
  free (checked with every request, swept at most every
  ``ROOM_CHECK_SECONDS``). Results under ``RESULTS_IN_USE_SECONDS`` old stay:
  a request may still be writing them, or its page fetching them. Where
  that leaves the disk short all the same (uploads fill it: anyone may
  send 50 MB ones, and Gradio keeps them a day), Gradio's uploads and files
  older than ``RESULTS_IN_USE_SECONDS`` go too.

Where a sweep for room deletes files Gradio served, Gradio's own sweep
(``forget_files_with``) deletes them first, so that Gradio also forgets them;
it keeps the name of every file it served until its sweep deletes it. The
opacity slider's re-blends, one folder per step of a drag (2.5 MB each for a
12-megapixel photo), are deleted as soon as the page has moved on from them.
"""

from __future__ import annotations

import hashlib
import io
import logging
import math
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

from .settings import number_setting

log = logging.getLogger(__name__)

PNG_COMPRESS_LEVEL = 1
WEBP_LOSSLESS = {"lossless": True, "method": 0, "quality": 0, "exact": True}  # exact: no colour under alpha changed
# The picture beside its overlay is the visitor's own photo, which needs no exact pixel: lossy, it is a tenth of the
# lossless copy (3.8 MB for a 12-megapixel photo's 2048x1536, the largest file of a result, which a phone on a slow
# connection waited for last). The maps, the overlay included, stay lossless: their colours are what they say.
PICTURE_WEBP = {"quality": 90, "method": 0}  # the fastest: 0.4 MB at 2048x1536 where method 4 gave 0.5
RESULTS_KEPT_SECONDS = int(number_setting("SEGDEMO_KEEP_RESULTS_HOURS", 24, low=0, low_included=False) * 3600)
# A free Space has 50 GB of disk; its uploads (swept by Gradio after a day) and logs need some of it.
RESULTS_MAX_BYTES = int(number_setting("SEGDEMO_RESULTS_MAX_GB", 10, low=0, low_included=False) * 1e9)
DISK_KEPT_FREE_BYTES = int(number_setting("SEGDEMO_DISK_FREE_GB", 2, low=0) * 1e9)
SWEEP_EVERY_SECONDS = 3600  # also how often Gradio sweeps its own files (segdemo.ui.build_demo's delete_cache)
# Gradio forgets a file it served only when its own sweep deletes it, so ours comes two of its sweeps later.
SWEEP_AFTER_GRADIO_SECONDS = 2 * SWEEP_EVERY_SECONDS
# where the disk filled all the same (SEGDEMO_DISK_FREE_GB=0, or something else filled it), old results make this room
DISK_FULL_ROOM_BYTES = 200_000_000
ROOM_CHECK_SECONDS = 10  # a disk filled by something else would otherwise be scanned at every request
RESULTS_IN_USE_SECONDS = 120
ROOM_SWEPT_TO = 0.8  # a sweep for room leaves the results at 80% of their bound: the next is hundreds of requests away
_encoder = ThreadPoolExecutor(max_workers=2, thread_name_prefix="segdemo-encode")  # libwebp and zlib release the GIL
_last_sweep: float | None = None  # when the last sweep began (None: none yet in this process)
_last_age_sweep: float | None = None
_running_sweep: Future[int] | None = None
_results_bytes = 0  # what the last sweep left, plus what was written since
_sweep_lock = threading.Lock()
_forget_older_than: Callable[[float], None] | None = None
_forget_names: Callable[[set[str]], None] | None = None
_written_here: set[str] = set()  # the folders this process wrote results or browser copies in


def _start_afresh_in_a_forked_child() -> None:
    """A forked child (ZeroGPU runs the decorated handlers in one) inherits the encoding pool without its threads,
    so every result it wrote waited forever, and the sweep's lock perhaps held by a thread it does not have."""
    global _encoder, _sweep_lock, _running_sweep
    _encoder = ThreadPoolExecutor(max_workers=2, thread_name_prefix="segdemo-encode")
    _sweep_lock = threading.Lock()
    _running_sweep = None


os.register_at_fork(after_in_child=_start_afresh_in_a_forked_child)


def forget_files_with(sweep: Callable[[float], None] | None,
                      forget: Callable[[set[str]], None] | None = None) -> None:
    """``sweep(age)`` deletes the files Gradio served that are older than ``age`` seconds, and forgets them;
    ``forget(paths)`` takes files segdemo deleted itself off Gradio's lists (``delete_results``)."""
    global _forget_older_than, _forget_names
    _forget_older_than, _forget_names = sweep, forget


def cache_folder() -> Path:
    """Gradio's upload/cache folder (``GRADIO_TEMP_DIR``, else the system temp folder's ``gradio``)."""
    return Path(os.environ.get("GRADIO_TEMP_DIR") or Path(tempfile.gettempdir()) / "gradio").resolve()


def file_suffix(image: Image.Image) -> str:
    """Colour pictures are smaller as lossless WebP; a palette picture's indices (and a grey one's single
    channel) survive only as PNG, as WebP stores RGB(A) alone."""
    return ".webp" if image.mode in ("RGB", "RGBA") else ".png"


def shown_picture(image: Image.Image) -> tuple[Image.Image, bytes]:
    """The picture as the page shows it (``PICTURE_WEBP``): the decoded pixels and the file's bytes. Overlays are
    blended from these pixels, the first and every re-blend alike (a re-blend reads the picture's file back), so
    that an overlay at opacity 0 is the picture shown beside it, to the pixel, but for the class boundaries, which
    are drawn white at every opacity."""
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="WEBP", **PICTURE_WEBP)
    data = buffer.getvalue()
    with Image.open(io.BytesIO(data)) as decoded:
        return decoded.convert("RGB"), data


def _write_bytes(data: bytes, path: Path) -> str:
    path.write_bytes(data)
    return str(path)


def _write(image: Image.Image, path: Path) -> str:
    if path.suffix == ".png":
        image.save(path, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    else:
        image.save(path, format="WEBP", **WEBP_LOSSLESS)
    return str(path)


def results_folder() -> Path:
    return cache_folder() / "segdemo"


def free_disk_bytes() -> int:
    """Free bytes on the disk that holds Gradio's cache (the cache may not exist yet: its nearest folder)."""
    folder = cache_folder()
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return DISK_KEPT_FREE_BYTES  # unknown: taken as enough, so that no sweep is forced on a guess


def _result_folders() -> list[tuple[float, int, str]]:
    """Each result folder's (last written, bytes, path), oldest first."""
    try:
        entries = list(os.scandir(results_folder()))
    except OSError:  # nothing written yet
        return []
    folders = []
    for entry in entries:
        try:
            if not entry.is_dir(follow_symlinks=False):
                continue
            # a file's data is written after the folder's entry for it: the newest file dates the folder
            stats = [entry.stat(follow_symlinks=False)]
            stats += [item.stat(follow_symlinks=False) for item in os.scandir(entry.path)]
            folders.append((max(s.st_mtime for s in stats), sum(s.st_size for s in stats[1:]), entry.path))
        except OSError:  # swept by another process meanwhile
            continue
    return sorted(folders)


def sweep_results(max_age: float, max_bytes: float = math.inf, keep_free: float = 0.0,
                  now: float | None = None) -> int:
    """Delete the result folders last written more than ``max_age`` seconds ago, then, oldest first, those
    that leave the results over ``max_bytes`` or the disk under ``keep_free`` bytes free (to ``ROOM_SWEPT_TO``
    of the first, 1/``ROOM_SWEPT_TO`` of the second); never those under ``RESULTS_IN_USE_SECONDS`` old.
    Returns how many went. Never raises."""
    global _results_bytes
    now = time.time() if now is None else now
    folders = _result_folders()
    total = sum(size for _, size, _ in folders)
    free = free_disk_bytes() if keep_free > 0 else math.inf
    short_of_room = total > max_bytes or free < keep_free
    target_bytes, target_free = max_bytes, 0.0
    if short_of_room:  # swept well below the bounds, so that the next sweep for room is many requests away
        target_bytes, target_free = max_bytes * ROOM_SWEPT_TO, keep_free / ROOM_SWEPT_TO
    doomed, cutoff = [], now - max_age
    for written, size, path in folders:  # oldest first
        if now - written < RESULTS_IN_USE_SECONDS:
            break
        if written >= now - max_age and total <= target_bytes and free >= target_free:
            break
        doomed.append(path)
        cutoff = max(cutoff, written)
        total, free = total - size, free + size
    gradio_age = None
    if cutoff > now - max_age:  # Gradio deletes the files it served (and its uploads) as old as these
        gradio_age = max(time.time() - cutoff - 1e-3, 0.0)
    if free < target_free:  # uploads, not results, fill the disk (anyone may POST 50 MB ones to /gradio_api/upload)
        gradio_age = RESULTS_IN_USE_SECONDS
    if gradio_age is not None and _forget_older_than is not None:  # and forgets their names
        try:
            _forget_older_than(gradio_age)
        except Exception as error:  # its sets changed while it went through them: ours below go anyway
            log.warning("Gradio's sweep for room failed: %s", error)
    for path in doomed:
        shutil.rmtree(path, ignore_errors=True)
    with _sweep_lock:
        _results_bytes = total
        _written_here.difference_update(doomed)  # else a few names a request, kept as long as the server runs
    if short_of_room:
        log.warning("short of disk room: deleted the %d oldest result folders; results now take %.3g GB, "
                    "the disk has %.3g GB free", len(doomed), total / 1e9, free_disk_bytes() / 1e9)
    return len(doomed)


def sweep_now_and_then(now: float | None = None, disk_full: bool = False) -> Future[int] | None:
    """Sweep in the background (``sweep_results`` with this module's bounds) when one is due: the first call,
    an hour after the last age sweep, or, ``ROOM_CHECK_SECONDS`` after the last sweep, when the results take
    more than their bound or the disk is short of free room. ``disk_full`` (a write just failed for want of
    room) sweeps at once, for ``DISK_FULL_ROOM_BYTES`` at least. None where none was started."""
    global _last_sweep, _last_age_sweep, _running_sweep
    now = time.time() if now is None else now
    keep_free = max(DISK_KEPT_FREE_BYTES, DISK_FULL_ROOM_BYTES) if disk_full else DISK_KEPT_FREE_BYTES
    with _sweep_lock:
        if _running_sweep is not None and not _running_sweep.done():
            return None
        age_due = _last_age_sweep is None or now - _last_age_sweep >= SWEEP_EVERY_SECONDS
        room_due = disk_full or (_last_sweep is None or now - _last_sweep >= ROOM_CHECK_SECONDS) and (
            _results_bytes > RESULTS_MAX_BYTES or free_disk_bytes() < keep_free)
        if not (age_due or room_due):
            return None
        _last_sweep = now
        if age_due:
            _last_age_sweep = now
        _running_sweep = _encoder.submit(sweep_results, RESULTS_KEPT_SECONDS + SWEEP_AFTER_GRADIO_SECONDS,
                                         RESULTS_MAX_BYTES, keep_free, now)
        return _running_sweep


def sweep_while_serving(stop: threading.Event, every: float = SWEEP_EVERY_SECONDS) -> threading.Thread:
    """Sweep at start and then every ``every`` seconds until ``stop`` is set, whether requests come or not.

    The sweeps had come only with a request's first write: a Space with no
    visitors kept every result folder until the next one, and a server
    started after a crash kept the folders of the one before until its
    first request (helper-42's audit).
    """
    def run() -> None:
        while True:
            sweep_now_and_then()
            if stop.wait(every):
                return

    thread = threading.Thread(target=run, name="segdemo-sweep", daemon=True)
    thread.start()
    return thread


def _note_written(paths: Iterable[str | None]) -> None:
    """Count what a result wrote towards ``RESULTS_MAX_BYTES`` (a sweep counts them all again)."""
    global _results_bytes
    size = 0
    for path in paths:
        try:
            size += os.stat(path).st_size if path else 0
        except OSError:
            continue
    with _sweep_lock:
        _results_bytes += size


class ImageWriter:
    """Starts encoding each picture as soon as it is added, so encoding overlaps drawing the next one."""

    def __init__(self) -> None:
        sweep_now_and_then()
        self.folder = results_folder() / uuid.uuid4().hex
        self.folder.mkdir(parents=True, exist_ok=True)
        with _sweep_lock:
            _written_here.add(str(self.folder))
        self._pending: dict[str, Future[str] | None] = {}

    def add(self, name: str, image: Image.Image | None) -> None:
        """Queue ``image`` for ``<folder>/<name>.webp`` (``.png`` for a palette picture); ``None`` stays ``None``."""
        self._pending[name] = None if image is None else _encoder.submit(
            _write, image, self.folder / f"{name}{file_suffix(image)}")

    def add_encoded(self, name: str, data: bytes, suffix: str = ".webp") -> None:
        """Queue ``data``, a picture encoded already (``shown_picture``), for ``<folder>/<name><suffix>``."""
        self._pending[name] = _encoder.submit(_write_bytes, data, self.folder / f"{name}{suffix}")

    def add_file(self, name: str, write: Callable[..., str], *args: Any) -> None:
        """Queue ``write(*args)``, which writes another file of the result and returns its path, beside the pictures."""
        self._pending[name] = _encoder.submit(write, *args)

    def paths(self) -> dict[str, str | None]:
        """Wait for every picture and file; their paths by name."""
        paths = {name: None if future is None else future.result() for name, future in self._pending.items()}
        _note_written(paths.values())
        return paths


def delete_results_written_here() -> None:
    """Delete the result folders and browser copies this process wrote, once its server has stopped: no session can
    show them again. Another process's (a second server on the same cache) are left alone."""
    with _sweep_lock:
        folders = list(_written_here)
        _written_here.clear()
    delete_results(folders)


def delete_results(folders: Iterable[str]) -> None:
    """Delete these result folders now (a re-blend the page no longer shows); folders outside ours are left alone."""
    root = results_folder().resolve()
    deleted, files = [], set()
    for folder in folders:
        path = Path(folder).resolve()
        if path.parent == root:
            try:  # as Gradio lists the files it served: their absolute paths
                files.update(os.path.abspath(os.path.join(folder, name)) for name in os.listdir(path))
            except OSError:
                pass
            shutil.rmtree(path, ignore_errors=True)
            deleted.append(str(folder))
    with _sweep_lock:
        _written_here.difference_update(deleted)
    # Gradio's sweep skips a file gone and keeps its name, for as long as the server runs: a name or three a step
    # of the opacity slider, kept for good (helper-42's audit)
    if files and _forget_names is not None:
        _forget_names(files)


def write_copy_of(upload: str | Path, name: str, image: Image.Image) -> str:
    """``image``, drawn from the file ``upload``, written once to ``<cache>/segdemo/copy-<hash of upload's path>/``:
    the path of the copy written before, where the same upload comes again.

    Gradio keeps an upload at a path named after its content, so the same
    file sent twice gets one path, and so does its copy: the page, which
    tells a new picture from the one a result is of by its path
    (segdemo/stale_results.js), took the same TIFF or HEIC uploaded again
    for another picture when each copy had a folder of its own. A copy
    found is touched (no sweep takes it as old); a new one is written
    under another name and renamed, so that no visitor's page ever reads
    one half-written.
    """
    sweep_now_and_then()
    digest = hashlib.sha256(os.path.realpath(upload).encode()).hexdigest()[:40]
    path = results_folder() / f"copy-{digest}" / f"{name}{file_suffix(image)}"
    try:
        os.utime(path)
        os.utime(path.parent)
        return str(path)
    except FileNotFoundError:  # not written yet, or swept
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    with _sweep_lock:
        _written_here.add(str(path.parent))
    unfinished = path.with_name(f".{uuid.uuid4().hex}{path.suffix}")
    try:
        _write(image, unfinished)
        os.replace(unfinished, path)
    finally:
        unfinished.unlink(missing_ok=True)
    _note_written([str(path)])
    return str(path)


def write_images(images: dict[str, Image.Image | None]) -> dict[str, str | None]:
    """Write each named image to ``<cache>/segdemo/<random>/<name>.webp`` (``file_suffix``); their paths by name."""
    writer = ImageWriter()
    for name, image in images.items():
        writer.add(name, image)
    return writer.paths()
