"""Result pictures in Gradio's cache are swept away once old, so a busy Space never fills its disk."""

from __future__ import annotations

import os
import time

import pytest

from segdemo import imagefiles
from segdemo.imagefiles import ImageWriter, delete_results, results_folder, sweep_now_and_then, sweep_results


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A cache folder of this test's own, and a sweeper that has not swept yet."""
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))
    for name in ("_last_sweep", "_last_age_sweep", "_running_sweep"):
        monkeypatch.setattr(imagefiles, name, None)
    return tmp_path


def result_folder(name: str, age_seconds: float) -> str:
    folder = results_folder() / name
    folder.mkdir(parents=True)
    (folder / "overlay.png").write_bytes(b"png")
    (folder / "overlay.npz").write_bytes(b"npz")
    when = time.time() - age_seconds
    for path in (*folder.iterdir(), folder):  # a folder is as old as its newest file
        os.utime(path, (when, when))
    return name


def test_folders_older_than_the_age_go_and_the_rest_stay(cache):
    old, fresh = result_folder("old", 7200), result_folder("fresh", 60)
    assert sweep_results(3600) == 1
    assert sorted(os.listdir(results_folder())) == [fresh] and old not in os.listdir(results_folder())


def test_sweeping_an_empty_or_missing_cache_is_harmless(cache):
    assert sweep_results(0) == 0
    results_folder().mkdir(parents=True)
    (results_folder() / "a-stray-file").write_text("not a result")   # only folders are results
    assert sweep_results(0) == 0


def test_the_first_result_sweeps_and_then_not_again_for_an_hour(cache, monkeypatch):
    monkeypatch.setattr(imagefiles, "RESULTS_KEPT_SECONDS", 100)
    monkeypatch.setattr(imagefiles, "SWEEP_AFTER_GRADIO_SECONDS", 0)
    result_folder("yesterday", 86400)
    ImageWriter()   # a request's first picture
    time.sleep(0.5)   # the sweep runs on the encoder threads, beside the request
    assert "yesterday" not in os.listdir(results_folder())
    result_folder("also-old", 86400)
    assert sweep_now_and_then() is None   # swept moments ago: not again yet
    assert "also-old" in os.listdir(results_folder())
    swept = sweep_now_and_then(now=time.time() + imagefiles.SWEEP_EVERY_SECONDS + 1)   # an hour later
    assert swept is not None and swept.result() >= 1
    assert "also-old" not in os.listdir(results_folder())


def test_gradio_sweeps_its_own_files_as_old_and_ours_wait_two_of_its_sweeps_longer():
    """Gradio forgets a file it served only when its own sweep deletes it: ours must not delete it first."""
    from segdemo.service import SegmentationService
    from segdemo.ui import build_demo

    demo = build_demo(SegmentationService({}))
    assert demo.delete_cache == (imagefiles.SWEEP_EVERY_SECONDS, imagefiles.RESULTS_KEPT_SECONDS)
    assert imagefiles.SWEEP_AFTER_GRADIO_SECONDS >= 2 * imagefiles.SWEEP_EVERY_SECONDS


def test_deleting_a_blend_touches_only_result_folders(cache, tmp_path):
    """The session names the folders to delete; anything not a folder of ours stays, whatever the name says."""
    blend, kept = result_folder("blend", 0), result_folder("kept", 0)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "file").write_bytes(b"x")
    delete_results([str(results_folder() / blend), str(outside), str(results_folder() / kept / ".." / ".."), str(results_folder())])
    assert sorted(os.listdir(results_folder())) == [kept]
    assert (outside / "file").exists()


def test_the_folders_deleted_are_forgotten_too(cache, monkeypatch):
    """This process notes each folder it writes, to delete them when its server stops. Each run, re-blend step and
    class drawing added a name, and neither a session's deletions nor the sweeps took it off: on a Space that runs
    for weeks, a set growing by a few names a request."""
    from PIL import Image

    monkeypatch.setattr(imagefiles, "_written_here", set())
    written = [os.path.dirname(imagefiles.write_images({"map": Image.new("RGB", (4, 4))})["map"]) for _ in range(3)]
    if imagefiles._running_sweep is not None:   # the first write's sweep, in the background
        imagefiles._running_sweep.result()
    assert imagefiles._written_here == set(written)
    delete_results(written[:1])   # a blend the page no longer shows
    assert imagefiles._written_here == set(written[1:])
    for folder in written[1:]:
        os.utime(folder, (time.time() - 7200,) * 2)
        for name in os.listdir(folder):
            os.utime(os.path.join(folder, name), (time.time() - 7200,) * 2)
    assert sweep_results(3600) == 2
    assert imagefiles._written_here == set() and os.listdir(results_folder()) == []


def test_results_are_swept_while_the_server_serves_no_one(cache):
    """Sweeps came only with a request's first write: a Space without visitors, or one started after a crash, kept
    old result folders until someone came (helper-42's audit). The server now sweeps at start and hourly."""
    import threading

    old = result_folder("left by a crashed server", imagefiles.RESULTS_KEPT_SECONDS + 3 * 3600)
    fresh = result_folder("fresh", 60)
    stop = threading.Event()
    thread = imagefiles.sweep_while_serving(stop, every=0.05)
    deadline = time.monotonic() + 10
    while old in os.listdir(results_folder()):
        assert time.monotonic() < deadline, "never swept"
        time.sleep(0.05)
    assert os.listdir(results_folder()) == [fresh]
    stop.set()
    thread.join(timeout=5)
    assert not thread.is_alive()


def test_files_deleted_with_a_blend_leave_gradios_lists_of_files_it_served(cache):
    """Gradio lists each file it serves, for its sweeps; a sweep that finds one gone skips it and keeps its name.
    The slider's re-blends delete their older drawings at once, so each step left a name or three listed for as
    long as the server ran (helper-42's audit)."""
    from segdemo.service import SegmentationService
    from segdemo.ui import build_demo

    demo = build_demo(SegmentationService({}))
    blend, kept = result_folder("blend", 0), result_folder("kept", 0)
    served = {os.path.abspath(results_folder() / folder / "overlay.png") for folder in (blend, kept)}
    demo.temp_file_sets[-1].update(served)   # as Gradio lists what a handler returned
    others = set(demo.temp_file_sets[0])
    delete_results([str(results_folder() / blend)])
    assert served & demo.temp_file_sets[-1] == {os.path.abspath(results_folder() / kept / "overlay.png")}
    assert demo.temp_file_sets[0] == others
