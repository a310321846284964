"""The results never fill the server's disk: a bound on their bytes, a floor of free disk, and a plain message
where the disk fills all the same (segdemo/imagefiles.py, segdemo/failures.py)."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import time
from pathlib import Path

import gradio as gr
import pytest
from conftest import ROOT, free_port, start_app, stop_app
from gradio_client import Client, handle_file

from segdemo import imagefiles
from segdemo.failures import DISK_FULL, disk_full_explained
from segdemo.imagefiles import results_folder, sweep_now_and_then, sweep_results

EXAMPLE = str(ROOT / "examples" / "camvid_0006R0_f01290.jpg")
MB = 1_000_000


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A cache folder of this test's own, a sweeper that has not swept yet, and no Gradio to tell."""
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))
    for name, value in (("_last_sweep", None), ("_last_age_sweep", None), ("_running_sweep", None),
                        ("_results_bytes", 0), ("_forget_older_than", None)):
        monkeypatch.setattr(imagefiles, name, value)
    return tmp_path


def result(name: str, age_seconds: float, size: int) -> str:
    """A result folder of ``size`` bytes, last written ``age_seconds`` ago."""
    folder = results_folder() / name
    folder.mkdir(parents=True)
    when = time.time() - age_seconds
    for index, part in enumerate((size // 2, size - size // 2)):
        (folder / f"map{index}.png").write_bytes(b"\0" * part)
        os.utime(folder / f"map{index}.png", (when, when))
    os.utime(folder, (when, when))
    return name


def kept() -> list[str]:
    return sorted(os.listdir(results_folder()))


def test_over_their_bound_the_oldest_results_go_until_they_take_80_percent_of_it(cache):
    for index in range(10):  # 10 x 1 MB, the oldest first: "r0" an hour old ... "r9" 10 minutes old
        result(f"r{index}", 3600 - index * 300, MB)
    assert sweep_results(max_age=86400, max_bytes=10 * MB) == 0  # within the bound: nothing goes
    assert sweep_results(max_age=86400, max_bytes=7 * MB) == 5  # 10 MB -> 5 MB, under 0.8 x 7 MB
    assert kept() == [f"r{index}" for index in range(5, 10)]
    assert imagefiles._results_bytes == 5 * MB


def test_results_a_request_may_still_be_writing_or_fetching_stay_whatever_the_bound(cache):
    result("old", 600, MB)
    for index in range(3):
        result(f"new{index}", 30, MB)  # under RESULTS_IN_USE_SECONDS
    assert sweep_results(max_age=86400, max_bytes=1) == 1
    assert kept() == ["new0", "new1", "new2"]


def test_a_disk_short_of_free_room_gets_room_from_the_oldest_results(cache, monkeypatch):
    for index in range(6):
        result(f"r{index}", 3600 - index * 300, MB)
    monkeypatch.setattr(imagefiles, "free_disk_bytes", lambda: int(0.5 * MB))
    # 0.5 MB free, 2 MB wanted: results go until 2 / 0.8 = 2.5 MB would be free, i.e. the two oldest
    assert sweep_results(max_age=86400, keep_free=2 * MB) == 2
    assert kept() == [f"r{index}" for index in range(2, 6)]
    monkeypatch.setattr(imagefiles, "free_disk_bytes", lambda: 3 * MB)
    assert sweep_results(max_age=86400, keep_free=2 * MB) == 0


def test_a_disk_filled_by_uploads_gets_room_from_gradios_files_but_the_newest(cache, monkeypatch):
    """Anyone may POST 50 MB uploads, which Gradio keeps a day: ten took 3.1 s. With no result old enough to make
    the room, the sweep had asked Gradio for nothing; it now deletes Gradio's files (uploads included) older than
    RESULTS_IN_USE_SECONDS. A disk short of room for results alone leaves the uploads to the results' age."""
    asked = []
    monkeypatch.setattr(imagefiles, "_forget_older_than", asked.append)
    monkeypatch.setattr(imagefiles, "free_disk_bytes", lambda: int(0.5 * MB))
    result("new", 30, MB)
    assert sweep_results(max_age=86400, keep_free=2 * MB) == 0
    assert asked == [imagefiles.RESULTS_IN_USE_SECONDS] and kept() == ["new"]
    asked.clear()
    result("old", 3600, 3 * MB)  # deleting it frees enough: Gradio's files as old as it go, the uploads' newer stay
    assert sweep_results(max_age=86400, keep_free=2 * MB) == 1
    assert len(asked) == 1 and asked[0] > 3000


def test_the_sweep_for_room_runs_beside_requests_at_most_every_few_seconds(cache, monkeypatch):
    monkeypatch.setattr(imagefiles, "RESULTS_MAX_BYTES", 3 * MB)
    monkeypatch.setattr(imagefiles, "DISK_KEPT_FREE_BYTES", 0)
    for index in range(5):
        result(f"r{index}", 3600 - index * 300, MB)
    first = sweep_now_and_then()  # the first sweep of a process: for age, and it counts the results
    assert first is not None and first.result() == 3  # 5 MB -> 2 MB, under 0.8 x 3 MB
    for index in range(5, 8):  # three more requests, written and counted
        name = result(f"r{index}", 600, MB)
        imagefiles._note_written(str(path) for path in (results_folder() / name).iterdir())
    assert imagefiles._results_bytes == 5 * MB
    assert sweep_now_and_then() is None  # over the bound, but swept moments ago
    later = sweep_now_and_then(now=time.time() + imagefiles.ROOM_CHECK_SECONDS + 1)
    assert later is not None and later.result() == 3
    assert len(kept()) == 2 and imagefiles._results_bytes == 2 * MB
    assert sweep_now_and_then(now=time.time() + 2 * imagefiles.ROOM_CHECK_SECONDS + 2) is None  # within it now


def test_a_full_disk_sweeps_at_once_for_some_room(cache, monkeypatch):
    for index in range(4):
        result(f"r{index}", 3600, 60 * MB // 4)  # 60 MB of hour-old results
    assert sweep_now_and_then().result() == 0  # nothing past its age, within every bound
    monkeypatch.setattr(imagefiles, "free_disk_bytes", lambda: 0)  # then the disk fills with something else
    swept = sweep_now_and_then(disk_full=True)  # moments after the last sweep, all the same
    assert swept is not None and swept.result() == 4  # 200 MB wanted: all there is
    assert kept() == []


def test_a_write_that_finds_the_disk_full_gets_a_plain_message_and_a_sweep(cache, monkeypatch):
    started = []
    monkeypatch.setattr("segdemo.failures.sweep_now_and_then", lambda **kwargs: started.append(kwargs))
    for code in (errno.ENOSPC, errno.EDQUOT):
        with pytest.raises(gr.Error) as told, disk_full_explained():
            raise OSError(code, os.strerror(code))
        assert told.value.message == DISK_FULL
    assert started == [{"disk_full": True}] * 2
    with pytest.raises(PermissionError), disk_full_explained():  # not the disk's room: not this message
        raise PermissionError(errno.EACCES, "Permission denied")


def test_gradio_forgets_the_files_a_sweep_for_room_deletes(tmp_path, monkeypatch):
    """Gradio keeps the name of every file it served until its own sweep deletes it (route_utils'
    ``delete_files_created_by_app``); one deleted behind its back would stay in its sets for as long as the
    server runs. A real server, in this process so that its sets can be read; the page's own pictures stay."""
    from segdemo.service import SegmentationService
    from segdemo.ui import build_demo
    from segdemo.zoo import load_zoo

    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))
    monkeypatch.setattr(imagefiles, "_running_sweep", None)
    # Gradio dates its files by ctime, which no test can set back: results count as old at once instead
    monkeypatch.setattr(imagefiles, "RESULTS_IN_USE_SECONDS", 0)
    demo = build_demo(SegmentationService(load_zoo()))
    demo.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True)
    try:
        client = Client(demo.local_url, verbose=False)
        for _ in range(2):
            client.predict(handle_file(EXAMPLE), "fcn8s_lite", 0.5, 1, 0, api_name="/segment")
        tracked = {path for files in demo.temp_file_sets for path in files}
        served = {path for path in tracked if Path(path).parent.parent == results_folder()}
        assert len({Path(path).parent for path in served}) == 2, "the two results' files, in Gradio's sets"
        page_own = set().union(*(getattr(block, "keep_in_cache", set()) for block in demo.blocks.values()))
        assert page_own and all(Path(path).exists() for path in page_own)  # examples' thumbnails, plots
        time.sleep(0.05)
        assert sweep_results(max_age=86400, max_bytes=1) == 2
        assert list(results_folder().iterdir()) == []
        tracked_after = {path for files in demo.temp_file_sets for path in files}
        assert not tracked_after & served, "Gradio still holds the deleted files' names"
        assert all(Path(path).exists() for path in page_own)
        again = client.predict(handle_file(EXAMPLE), "fcn8s_lite", 0.5, 1, 0, api_name="/segment")
        assert Path(again[1]).exists()
    finally:
        demo.close()


def age_results(cache: Path, seconds: float = 600) -> None:
    """Date every result folder ``seconds`` back, past RESULTS_IN_USE_SECONDS (their files' ctimes stay)."""
    when = time.time() - seconds
    for folder in (cache / "segdemo").iterdir():
        for path in (*folder.iterdir(), folder):
            os.utime(path, (when, when))


def results_bytes(cache: Path) -> int:
    return sum(path.stat().st_size for path in (cache / "segdemo").glob("*/*"))


def test_a_server_keeps_its_results_within_their_bound(tmp_path):
    """``SEGDEMO_RESULTS_MAX_GB`` through a real server: once over it, the next request's sweep deletes the oldest
    results, in the background; the newest result and the page's own pictures stay."""
    process, url, log = start_app({"GRADIO_TEMP_DIR": str(tmp_path), "SEGDEMO_RESULTS_MAX_GB": "0.005"})
    try:
        client = Client(url, verbose=False)
        started = time.monotonic()
        for _ in range(4):  # about 2.7 MB each
            client.predict(handle_file(EXAMPLE), "fcn8s_lite", 0.5, 1, 0, api_name="/segment")
            age_results(tmp_path)
        assert results_bytes(tmp_path) > 5 * MB and "short of disk room" not in log.read_text()
        time.sleep(max(0.0, imagefiles.ROOM_CHECK_SECONDS + 0.5 - (time.monotonic() - started)))
        last = client.predict(handle_file(EXAMPLE), "fcn8s_lite", 0.5, 1, 0, api_name="/segment")
        deadline = time.monotonic() + 10
        while "short of disk room" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "short of disk room" in log.read_text(), log.read_text()[-2000:]
        assert results_bytes(tmp_path) <= 0.8 * 5 * MB + 3 * MB  # what stays, and the request that swept
        assert Path(last[1]).exists() and Path(last[0][1]).exists()
        page = client.view_api(return_format="dict", print_info=False)  # the server still answers
        assert "/segment" in page["named_endpoints"]
    finally:
        stop_app(process)


@pytest.fixture
def small_disk(tmp_path):
    """A 40 MB disk (tmpfs) for Gradio's cache: needs root, as CI's machine runs the suite."""
    folder = tmp_path / "disk"
    folder.mkdir()
    mounted = os.geteuid() == 0 and shutil.which("mount") and subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=40M", "tmpfs", str(folder)], capture_output=True).returncode == 0
    if not mounted:
        pytest.skip("a small disk needs root and mount")
    yield folder
    subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_server_whose_disk_fills_says_so_and_makes_room(small_disk):
    """With the floor of free disk off (``SEGDEMO_DISK_FREE_GB=0``), requests fill a real 40 MB disk: the one that
    finds it full is told so in a sentence, its sweep deletes older results, and the next request is answered."""
    process, url, log = start_app({"GRADIO_TEMP_DIR": str(small_disk), "SEGDEMO_DISK_FREE_GB": "0"})
    try:
        client = Client(url, verbose=False)
        told = None
        for _ in range(30):
            try:
                client.predict(handle_file(EXAMPLE), "fcn8s_lite", 0.5, 1, 0, api_name="/segment")
            except Exception as error:  # noqa: BLE001 - checked below
                told = str(error)
                break
            age_results(small_disk)
        assert told is not None and DISK_FULL in told, f"told {told!r}; log: {log.read_text()[-2000:]}"
        assert "request failed, disk full" in log.read_text()
        deadline = time.monotonic() + 30   # the sweep runs in the background: a busy machine takes longer
        while shutil.disk_usage(small_disk).free <= 10 * MB:
            assert time.monotonic() < deadline, f"no room made: {shutil.disk_usage(small_disk).free} bytes free"
            time.sleep(0.2)
        answer = client.predict(handle_file(EXAMPLE), "fcn8s_lite", 0.5, 1, 0, api_name="/segment")
        assert Path(answer[1]).exists() and process.poll() is None
    finally:
        stop_app(process)
