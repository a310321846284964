"""What a visitor leaves on the server goes when the server stops, however it is stopped (helper-34's audit)."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx
from gradio_client import Client, handle_file
from PIL import Image

from conftest import ROOT, start_app, stop_app
from segdemo.inputs import SERVER_FILE

EXAMPLE = ROOT / "examples" / "camvid_0006R0_f03570.jpg"


def files_under(folder) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file())


def test_a_sigterm_deletes_the_visitors_uploads_and_results(tmp_path):
    """A SIGTERM (a container stopped, ``kill``) ended Python at once: Gradio's shutdown, which deletes every upload
    and file it served, never ran, and the next process knew nothing of them, so a visitor's photo, with its GPS
    position and file name, stayed on the disk for good. Now it stops as on Ctrl-C; the results it never served go
    too."""
    cache = tmp_path / "cache"
    photo = tmp_path / "JohnSmith_home.jpg"
    exif = Image.Exif()
    exif[0x0110] = "AuditCam"   # the camera's model, as a phone writes it
    with Image.open(EXAMPLE) as frame:
        frame.save(photo, exif=exif)
    process, url, _ = start_app({"GRADIO_TEMP_DIR": str(cache)})
    try:
        client = Client(url, verbose=False)
        client.predict(handle_file(str(photo)), "fcn8s_lite", 0.5, 1, 0, api_name="/segment")
        left = files_under(cache)
        assert any(name.endswith("JohnSmith_home.jpg") for name in left), left   # the upload, while it serves
        assert any(name.startswith("segdemo/") for name in left), left
        # Gradio's monitoring page, off: anyone's GET /monitoring printed its key to the log
        assert httpx.get(url + "monitoring", timeout=10).status_code != 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) is not None
    finally:
        stop_app(process)
    left = files_under(cache)   # the app's own pictures (the examples, the Models tab's plots) may stay
    assert not [name for name in left if "JohnSmith" in name or name.startswith("segdemo/")], left


def test_a_call_naming_a_folder_of_the_cache_leaves_the_deletions_as_they_were(tmp_path):
    """Gradio noted a folder of its cache, named as a picture, among the files it deletes; its os.remove() of it
    then raised, which ended its sweep at shutdown, and segdemo's deletion of its results after it (helper-36: 22
    files left after a SIGTERM). The call is refused in words, and the visitor's files go as before."""
    cache = tmp_path / "cache"
    process, url, _ = start_app({"GRADIO_TEMP_DIR": str(cache)})
    try:
        client = Client(url, verbose=False)
        client.predict(handle_file(str(EXAMPLE)), "fcn8s_lite", 0.5, 1, 0, api_name="/segment")
        upload = httpx.post(url + "gradio_api/upload", files={"files": ("a.png", b"x")}, timeout=30).json()[0]
        folder = {"path": str(Path(upload).parent), "meta": {"_type": "gradio.FileData"}}
        with httpx.Client(base_url=url, timeout=60) as http:
            event_id = http.post("gradio_api/call/segment", json={"data": [folder, "fcn8s_lite", 0.5, 1, 0]}).json()
            answer = http.get(f"gradio_api/call/segment/{event_id['event_id']}").text
        assert "event: error" in answer and SERVER_FILE.split(":")[0] in answer, answer
        assert any(name.startswith("segdemo/") for name in files_under(cache))
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        stop_app(process)
    left = files_under(cache)
    assert not [name for name in left if name.startswith("segdemo/") or name.endswith("a.png")], left
