"""Hostile and odd uploads through the real server: a clear message or a correct answer, and the server lives on."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import struct
import zipfile
import zlib
from pathlib import Path

import gradio as gr
import httpx
import numpy as np
import pytest
from gradio.queueing import create_validator_fn
from gradio_client import handle_file
from gradio_client.exceptions import ValidationError
from PIL import Image

from conftest import ROOT
from segdemo.images import MAX_FILE_BYTES
from segdemo.inputs import EMPTY_PICTURE, NO_PICTURE, TEXT_NOT_LOGGED, UNCOUNTED, RefusingBlocks, UploadImage, picture_given

GOOD_SIZE = (96, 72)


def good_picture(folder: Path) -> str:
    path = folder / "good.png"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (GOOD_SIZE[1], GOOD_SIZE[0], 3), dtype=np.uint8)).save(path)
    return str(path)


def segment(client, path: str):
    return client.predict(handle_file(path), "fcn8s_lite", 0.5, 1, 0, api_name="/segment")


def still_answers(client, folder: Path) -> None:
    figures = segment(client, good_picture(folder))[7]
    assert figures["output_size"] == list(GOOD_SIZE)


def bomb_png(width: int, height: int) -> bytes:
    """A valid PNG header claiming width x height, with a tiny IDAT: decoding it would need gigabytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


def write(folder: Path, name: str, data: bytes) -> str:
    path = folder / name
    path.write_bytes(data)
    return str(path)


def encoded(image: Image.Image, fmt: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def photo(width: int = 64, height: int = 48, mode: str = "RGB", seed: int = 1) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8)).convert(mode)


def refused_cases(folder: Path, heic_pictures: Path) -> dict[str, tuple[str, str]]:
    png = encoded(photo(), "PNG")
    jpeg = encoded(photo(), "JPEG")
    heic = (heic_pictures / "street.heic").read_bytes()
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("a.txt", "hello")
    return {
        "text": (write(folder, "notes.png", b"just some text\n" * 20), "not an image"),
        "pdf": (write(folder, "paper.png", b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n%%EOF"), "not an image"),
        "zip renamed": (write(folder, "archive.png", archive.getvalue()), "not an image"),
        "empty": (write(folder, "empty.png", b""), "empty"),
        "truncated png": (write(folder, "cut.png", png[: len(png) // 2]), "truncated or corrupt"),
        "truncated jpeg": (write(folder, "cut.jpg", jpeg[: len(jpeg) // 2]), "truncated or corrupt"),
        "truncated heic": (write(folder, "cut.heic", heic[: len(heic) // 2]), "truncated or corrupt"),
        "bomb": (write(folder, "bomb.png", bomb_png(50_000, 50_000)), "too large"),
    }


@pytest.mark.parametrize(
    "case", ["text", "pdf", "zip renamed", "empty", "truncated png", "truncated jpeg", "truncated heic", "bomb"]
)
def test_unusable_files_get_a_clear_message(client, tmp_path, heic_pictures, case):
    path, message = refused_cases(tmp_path, heic_pictures)[case]
    with pytest.raises(Exception) as error:
        segment(client, path)
    text = str(error.value)
    assert message in text.lower() or message in text, text
    assert "Traceback" not in text and "/tmp/" not in text
    still_answers(client, tmp_path)


def accepted_cases(folder: Path, heic_pictures: Path) -> dict[str, tuple[str, tuple[int, int], str | None]]:
    """name -> (path, expected output size, a word the notes must contain)."""
    frames = [photo(40, 30, seed=seed).convert("P") for seed in range(3)]
    gif = io.BytesIO()
    frames[0].save(gif, format="GIF", save_all=True, append_images=frames[1:], duration=50, loop=0)
    tiff = io.BytesIO()
    pages = [photo(40, 30) for _ in range(2)]
    pages[0].save(tiff, format="TIFF", save_all=True, append_images=pages[1:])
    sixteen = Image.fromarray((np.linspace(0, 65535, 48 * 64).reshape(48, 64)).astype(np.uint16))
    floats = Image.fromarray(np.linspace(-3.0, 7.0, 48 * 64, dtype=np.float32).reshape(48, 64), mode="F")
    palette = photo().convert("P")
    see_through = {}
    for mode in ("LA", "RGBA"):
        image = photo(mode=mode)
        alpha = np.full((48, 64), 255, dtype=np.uint8)
        alpha[:, :20] = 0  # a transparent band
        image.putalpha(Image.fromarray(alpha))
        see_through[mode] = encoded(image, "PNG")
    palette.info["transparency"] = 0
    return {
        "animated gif": (write(folder, "anim.gif", gif.getvalue()), (40, 30), "frame"),
        "multi-page tiff": (write(folder, "pages.tif", tiff.getvalue()), (40, 30), "page"),
        "16-bit png": (write(folder, "deep.png", encoded(sixteen, "PNG")), (64, 48), "16-bit"),
        "float tiff": (write(folder, "float.tif", encoded(floats, "TIFF")), (64, 48), "floating"),
        "cmyk jpeg": (write(folder, "cmyk.jpg", encoded(photo(mode="CMYK"), "JPEG")), (64, 48), None),
        "heic held upright": (write(folder, "IMG_0001.HEIC", (heic_pictures / "turned_6.heic").read_bytes()), (32, 64),
                              "rotated upright"),
        "avif": (write(folder, "photo.avif", encoded(photo(), "AVIF", quality=90)), (64, 48), None),
        "palette+transparency": (write(folder, "pal.png", encoded(palette, "PNG", transparency=0)), (64, 48), None),
        "LA": (write(folder, "la.png", see_through["LA"]), (64, 48), "transparen"),
        "RGBA": (write(folder, "rgba.png", see_through["RGBA"]), (64, 48), "transparen"),
        "1-bit": (write(folder, "bw.png", encoded(photo(mode="1"), "PNG")), (64, 48), None),
        "1x1": (write(folder, "dot.png", encoded(photo(1, 1), "PNG")), (1, 1), None),
        "7x5": (write(folder, "tiny.png", encoded(photo(7, 5), "PNG")), (7, 5), None),
        "10000x10": (write(folder, "strip.png", encoded(photo(10_000, 10), "PNG")), (2048, 2), None),
    }


@pytest.mark.parametrize(
    "case",
    ["animated gif", "multi-page tiff", "16-bit png", "float tiff", "cmyk jpeg", "heic held upright", "avif",
     "palette+transparency", "LA", "RGBA", "1-bit", "1x1", "7x5", "10000x10"],
)
def test_odd_but_valid_pictures_are_answered(client, tmp_path, heic_pictures, case):
    path, size, note = accepted_cases(tmp_path, heic_pictures)[case]
    slider, confidence, *_, info, figures = segment(client, path)[:8]
    assert figures["output_size"] == list(size)
    with Image.open(slider[1]) as overlay:
        assert overlay.size == size
    if note:
        assert note in " ".join(figures["notes"]).lower() + info.lower(), (figures["notes"], info)
    still_answers(client, tmp_path)


@pytest.mark.parametrize("size,words", [
    ((1, 1), "No class boundary in this picture, so no boundary band"),
    ((3, 2), "The boundary band covers the whole picture"),
])
def test_a_picture_without_a_band_or_without_an_inside_is_told_so(client, tmp_path, size, words):
    """One class everywhere has no band; a tiny picture of several classes is all band. The line said "is 0.00
    against 0.43 inside regions: 0.0x" for the first and "infx" for the second, and the API's figures held 0 and
    Infinity for what does not exist."""
    picture = Image.fromarray(np.random.default_rng(0).integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))
    *_, info, figures = segment(client, write(tmp_path, "small.png", encoded(picture, "PNG")))[:8]
    assert words in info, info
    assert figures["band_to_interior_ratio"] is None and "inf" not in info.lower()
    assert (figures["boundary_band_uncertainty"] is None) == (size == (1, 1))
    assert (figures["interior_uncertainty"] is None) == (size == (3, 2))


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_lines_up_with_the_displayed_picture(client, tmp_path, orientation):
    """A wide picture with a red left half; after EXIF rotation the overlay must match PIL's upright view."""
    array = np.zeros((40, 80, 3), dtype=np.uint8)
    array[:, :40] = (255, 0, 0)
    image = Image.fromarray(array)
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = write(tmp_path, f"o{orientation}.jpg", encoded(image, "JPEG", exif=exif, quality=95))
    from PIL import ImageOps

    with Image.open(path) as raw:
        upright = np.asarray(ImageOps.exif_transpose(raw).convert("RGB")).astype(int)
    slider = segment(client, path)[0]
    with Image.open(slider[0]) as shown:
        before = np.asarray(shown.convert("RGB")).astype(int)
    assert before.shape == upright.shape
    assert np.abs(before - upright).mean() < 3  # the picture the overlay is drawn on is the upright one


def test_a_12_megapixel_photo_is_processed_downscaled(client, tmp_path):
    rng = np.random.default_rng(2)
    small = rng.integers(0, 255, (90, 120, 3), dtype=np.uint8)
    big = Image.fromarray(small).resize((4000, 3000), Image.NEAREST)
    path = write(tmp_path, "big.jpg", encoded(big, "JPEG", quality=80))
    figures = segment(client, path)[7]
    assert figures["original_size"] == [4000, 3000]
    assert figures["output_size"] == [2048, 1536]
    still_answers(client, tmp_path)


def test_an_upload_over_the_size_cap_is_refused_by_the_server(client, tmp_path):
    path = tmp_path / "huge.png"
    with open(path, "wb") as handle:
        handle.write(encoded(photo(), "PNG"))
        handle.write(b"\0" * (51 * 1024 * 1024))
    with pytest.raises(Exception) as error:
        segment(client, str(path))
    assert "large" in str(error.value).lower() or "size" in str(error.value).lower() or "413" in str(error.value)
    still_answers(client, tmp_path)


@pytest.mark.parametrize("endpoint", ["/segment", "/compare"])
def test_the_api_cannot_be_made_to_read_server_files(client, tmp_path, endpoint):
    target = {"path": "/etc/passwd", "meta": {"_type": "gradio.FileData"}}
    args = (target, "fcn8s_lite", 0.5, 1, 0) if endpoint == "/segment" else (target, 0.5, 1, 0)
    with pytest.raises(Exception) as error:
        client.predict(*args, api_name=endpoint)
    assert "root:" not in str(error.value)
    still_answers(client, tmp_path)


@pytest.mark.parametrize("endpoint", ["/segment", "/compare"])
def test_a_picture_url_the_server_may_not_or_cannot_fetch_is_explained(client, tmp_path, endpoint):
    """Gradio fetched a URL itself and answered any failure with its generic "the upstream Gradio app has raised an
    exception"; the fetch itself is tested against a real server in test_picture_urls.py."""
    for url, words in (("http://127.0.0.1:9/street.jpg", "'127.0.0.1' is a private or local address"),
                       ("https://no-such-host.invalid/street.jpg", "Could not find the server 'no-such-host.invalid'")):
        picture = handle_file(url)
        args = (picture, "fcn8s_lite", 0.5, 1, 0) if endpoint == "/segment" else (picture, 0.5, 1, 0)
        with pytest.raises(Exception) as error:
            client.predict(*args, api_name=endpoint)
        assert words in str(error.value)
    still_answers(client, tmp_path)


def server_file(path: str | Path) -> dict:
    """A picture named by a path on the server, as an HTTP caller may try (the server may not read it)."""
    return {"path": str(path), "meta": {"_type": "gradio.FileData"}}


def over_http(app_url: str, endpoint: str, data: list) -> tuple[str | None, object]:
    """A call as ``curl`` makes it (POST, then the event stream): the final event's name and its data."""
    with httpx.Client(base_url=app_url, timeout=60) as http:
        event_id = http.post(f"/gradio_api/call/{endpoint}", json={"data": data}).json()["event_id"]
        event = None
        with http.stream("GET", f"/gradio_api/call/{endpoint}/{event_id}") as stream:
            for line in stream.iter_lines():
                if line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                elif line.startswith("data:") and event in ("complete", "error"):
                    return event, json.loads(line.split(":", 1)[1])
    return event, None


def test_a_plain_http_call_that_gradio_refuses_says_why(app_url, client, tmp_path):
    """Gradio's own checks ran before segdemo's code and answered {"error": null} over plain HTTP."""
    event, payload = over_http(app_url, "segment", [None, "fcn8s_lite"])
    assert event == "error" and payload["error"] == ("/segment takes 5 inputs (image, model_name, opacity, samples, "
                                                     "seed); this call sent 2.")
    event, payload = over_http(app_url, "compare", [None])
    assert event == "error" and payload["error"] == ("/compare takes 4 inputs (image, opacity, samples, seed); this "
                                                     "call sent 1.")
    for path in ("/etc/passwd", ROOT / "examples" / "camvid_0006R0_f01290.jpg"):  # Gradio: "Cannot move ... cache dir"
        event, payload = over_http(app_url, "segment", [server_file(path), "fcn8s_lite", 0.5, 1, 0])
        assert event == "error" and payload["error"].startswith("The picture names a file on the server, which a call "
                                                                "may not read: send the file itself")
    event, payload = over_http(app_url, "compare", [5, 0.5, 1, 0])
    assert event == "error" and payload["error"].startswith("The picture came as int: send it as a file")
    event, payload = over_http(app_url, "segment", ["", "fcn8s_lite", 0.5, 1, 0])
    assert event == "error" and payload["error"].startswith('The picture came as empty text: send it as a file: '
                                                            'handle_file("https://.../street.jpg")')
    event, payload = over_http(app_url, "segment", [{"path": 5}, "fcn8s_lite", 0.5, 1, 0])
    assert event == "error" and 'not valid ("path": input should be a valid string)' in payload["error"]
    # a URL where Gradio does not look for one: it had been told to upload a picture first
    by_url = {"url": "https://example.com/street.jpg", "meta": {"_type": "gradio.FileData"}}
    event, payload = over_http(app_url, "segment", [by_url, "fcn8s_lite", 0.5, 1, 0])
    assert event == "error" and 'give the URL as "path"' in payload["error"]
    # a data: URL that is no base64: Gradio's "Could not preprocess input component at index 0 ..."
    not_base64 = {"path": None, "url": "data:image/png;base64,hello!", "meta": {"_type": "gradio.FileData"}}
    event, payload = over_http(app_url, "segment", [not_base64, "fcn8s_lite", 0.5, 1, 0])
    assert event == "error" and "data: URL is not valid base64" in payload["error"]
    still_answers(client, tmp_path)


def test_a_call_without_a_picture_is_refused_before_it_is_queued(app_url, client, tmp_path):
    """Gradio's validation (segdemo.inputs.picture_given), which the page shows on its picture box: gradio_client
    raises its ValidationError with the sentence, and a POST is answered 422 with it, where the run itself had
    refused in the event stream. A URL given as the picture is not fetched to check it."""
    for endpoint, settings in (("/segment", ("fcn8s_lite", 0.5, 1, 0)), ("/compare", (0.5, 1, 0))):
        with pytest.raises(ValidationError, match=r"image: Please upload a picture first \(or pick one of the "):
            client.predict(None, *settings, api_name=endpoint)
    with httpx.Client(base_url=app_url, timeout=60) as http:
        answer = http.post("/gradio_api/call/segment", json={"data": [None, "fcn8s_lite", 0.5, 1, 0]})
    assert answer.status_code == 422
    refusal = answer.json()["detail"][0]
    assert refusal["parameter_name"] == "image" and refusal["message"] == NO_PICTURE and not refusal["is_valid"]
    assert all(check["is_valid"] for check in answer.json()["detail"][1:])
    still_answers(client, tmp_path)


def test_a_picture_whose_upload_failed_is_told_so_not_to_upload_one(app_url, app_server, client, tmp_path):
    """@gradio/client (JavaScript), its upload refused (a file over 50 MB: HTTP 413) or its file unreadable, sends
    the picture as a file description with neither path nor URL; that had been taken for no picture at all, and a
    caller who had sent one was told to upload a picture first."""
    with httpx.Client(base_url=app_url, timeout=60) as http:
        too_big = http.post("/gradio_api/upload", files={"files": ("big.jpg", b"\xff" * (MAX_FILE_BYTES + 1024))})
        assert too_big.status_code == 413  # what the JavaScript client ignores before sending {}
        for empty in ({}, {"meta": {"_type": "gradio.FileData"}}, {"path": None, "url": None}):
            for endpoint, settings in (("segment", ["fcn8s_lite", 0.5, 1, 0]), ("compare", [0.5, 1, 0])):
                answer = http.post(f"/gradio_api/call/{endpoint}", json={"data": [empty, *settings]})
                assert answer.status_code == 422, (empty, answer.text)
                refusal = answer.json()["detail"][0]
                assert refusal["parameter_name"] == "image" and refusal["message"] == EMPTY_PICTURE
    assert "50 MB" in EMPTY_PICTURE
    with pytest.raises(gr.Error, match="came without its file"):  # the page's own events, which have no validator
        UploadImage(type="filepath").preprocess(UploadImage.data_model.model_validate({}))
    still_answers(client, tmp_path)


def test_a_path_sent_as_text_is_told_back_to_its_caller_and_kept_out_of_the_log(app_url, app_server):
    """The refusal repeats the path, so that the caller sees what to send instead; the server's log had it too,
    where the README says that no visitor's file name is logged."""
    path = "/home/visitor/Pictures/private-holiday-street.jpg"
    event, payload = over_http(app_url, "segment", [path, "fcn8s_lite", 0.5, 1, 0])
    assert event == "error" and payload["error"].startswith("The picture came as text: send it as a file: "
                                                            'handle_file("/home/visitor/Pictures/')
    log = Path(app_server[2]).read_text()
    assert TEXT_NOT_LOGGED in log and "private-holiday-street" not in log


def test_a_runs_validator_gets_the_inputs_as_they_were_sent():
    """It runs before the queue, as many at once as callers send: a picture's URL there would be fetched (for up to
    30 s) by every call beside the one the queue lets through, and a call with the wrong count refused by an
    HTTP 400 and a line in the server's log, where the run refuses it in words."""
    with RefusingBlocks() as demo:
        picture, seed = UploadImage(type="filepath"), gr.Number()
        gr.Button().click(lambda image, number: None, [picture, seed], None, validator=picture_given)
    validator = create_validator_fn(demo.fns[0])
    by_url = {"path": "https://example.com/street.jpg", "meta": {"_type": "gradio.FileData"}}
    assert asyncio.run(demo.preprocess_data(validator, [by_url, 3], None)) == [by_url, 3]
    assert asyncio.run(demo.preprocess_data(validator, [None], None)) == [UNCOUNTED, UNCOUNTED]
    assert [check["is_valid"] for check in picture_given(None, 3)] == [False, True]
    assert [check["is_valid"] for check in picture_given(by_url, 3)] == [True, True]
    assert [check["is_valid"] for check in picture_given(UNCOUNTED, UNCOUNTED)] == [True, True]


def test_a_call_with_too_many_inputs_is_refused_with_the_inputs_the_endpoint_takes(app_url, client, tmp_path):
    """Gradio dropped the inputs past the last: /segment's five sent to /compare answered "Overlay opacity must be a
    number, not 'fcn8s_lite'." gradio_client sends whatever it is given, as plain HTTP does."""
    picture = handle_file(good_picture(tmp_path))
    event, payload = over_http(app_url, "compare", [None, "fcn8s_lite", 0.5, 1, 0])
    assert event == "error" and payload["error"] == ("/compare takes 4 inputs (image, opacity, samples, seed); this "
                                                     "call sent 5.")
    with pytest.raises(Exception) as error:
        client.predict(picture, "fcn8s_lite", 0.5, 1, 0, 7, api_name="/segment")
    assert str(error.value) == "/segment takes 5 inputs (image, model_name, opacity, samples, seed); this call sent 6."
    assert len(client.predict(picture, 0.5, 1, 0, api_name="/compare")) == 14  # as many as it takes: answered
    still_answers(client, tmp_path)


def test_a_picture_url_is_read_in_any_case_and_one_of_another_scheme_is_refused_as_a_url(app_url, client, tmp_path):
    """Gradio took a picture's "path" for a URL only where it began "http://" or "https://", as written, and any
    other for a file on the server: "HTTPS://...", " https://..." and "ftp://..." were refused as files a call
    may not read. (No network here: the first two are shown to be fetched by the fetch's own refusals.)"""
    for path, words in (
        ("HTTP://127.0.0.1:9/street.jpg", "'127.0.0.1' is a private or local address"),
        (" Https://no-such-host.invalid/street.jpg", "Could not find the server 'no-such-host.invalid'"),
        ("ftp://example.com/a.jpg", "Pictures are fetched over http and https only, not ftp: URLs: send the file"),
        ("data:image/png;base64,AAAA", 'not data: URLs: send a data: URL as "url", with "path": null.'),
    ):
        event, payload = over_http(app_url, "segment", [server_file(path), "fcn8s_lite", 0.5, 1, 0])
        assert event == "error" and words in payload["error"], (path, payload)
    # what the data: URL's refusal advises works
    as_data = "data:image/png;base64," + base64.b64encode(Path(good_picture(tmp_path)).read_bytes()).decode()
    by_data = {"path": None, "url": as_data, "meta": {"_type": "gradio.FileData"}}
    event, payload = over_http(app_url, "segment", [by_data, "fcn8s_lite", 0.5, 1, 0])
    assert event == "complete" and payload[7]["output_size"] == list(GOOD_SIZE)
    still_answers(client, tmp_path)


def test_a_click_on_a_map_sent_with_no_pixel_over_http_changes_nothing(app_url, client, tmp_path):
    """The page's own event (private, yet callable by its index) with null for its event's data: Gradio's SelectData
    failed on it before segdemo's handler ran, and answered "'NoneType' object is not subscriptable"."""
    with httpx.Client(base_url=app_url, timeout=60) as http:
        events = http.get("/config").json()["dependencies"]
        index = next(event["id"] for event in events if event.get("api_name") == "read_pixel")
        for event_data in (None, {}, {"index": [3, 4]}):   # the last: Gradio's wanted a "value" too
            answer = http.post("/gradio_api/run/predict", json={"fn_index": index, "data": [None, None],
                                                                "event_data": event_data, "session_hash": "x"}).json()
            assert "error" not in answer, (event_data, answer)
    still_answers(client, tmp_path)


@pytest.mark.parametrize("endpoint", ["/segment", "/compare"])
def test_a_picture_sent_as_text_is_told_how_to_send_a_file(client, tmp_path, endpoint):
    """The commonest slip with gradio_client, a path or URL without ``handle_file``, was answered in pydantic's
    terms ("1 validation error for ImageData / Input should be a valid dictionary or instance of ImageData")."""
    by_path = 'handle_file("examples/street.jpg") in gradio_client, or, over HTTP, POST it to /gradio_api/upload'
    by_url = ('handle_file("https://example.com/street.jpg") in gradio_client, or, over HTTP, {"path": '
              '"https://example.com/street.jpg", "meta": {"_type": "gradio.FileData"}}')
    cases = (("examples/street.jpg", by_path), ("https://user:secret@example.com/street.jpg?token=abc", by_url))
    for text, advice in cases:
        args = (text, "fcn8s_lite", 0.5, 1, 0) if endpoint == "/segment" else (text, 0.5, 1, 0)
        with pytest.raises(Exception) as error:
            client.predict(*args, api_name=endpoint)
        message = str(error.value)
        assert message.startswith("The picture came as text: send it as a file: ") and advice in message
        assert "secret" not in message and "token" not in message and "pydantic" not in message
    still_answers(client, tmp_path)


def test_a_refused_request_is_one_line_in_the_servers_log_not_a_traceback(app_server, app_url, client, tmp_path):
    """Gradio printed a 20-line traceback for every refused upload, number or link: a Space's log filled with them."""
    _, _, log = app_server
    start = log.stat().st_size
    text = tmp_path / "notes.png"
    text.write_text("not a picture")
    for data in ([server_file("/etc/passwd"), "fcn8s_lite", 0.5, 1, 0],
                 [server_file(ROOT / "examples" / "camvid_0006R0_f01290.jpg"), "fcn8s_lite", 0.5, 1, 0], [None]):
        assert over_http(app_url, "segment", data)[0] == "error"
    for call in (lambda: segment(client, str(text)),
                 lambda: client.predict(handle_file("http://127.0.0.1:9/x.jpg"), 0.5, 1, 0, api_name="/compare"),
                 lambda: client.predict(handle_file(str(text)), "fcn8s_lite", "abc", 1, 0, api_name="/segment"),
                 lambda: client.predict(str(text), "fcn8s_lite", 0.5, 1, 0, api_name="/segment")):
        with pytest.raises(Exception):
            call()
    still_answers(client, tmp_path)
    with log.open() as handle:
        handle.seek(start)
        written = handle.read()
    assert "Traceback" not in written
    assert "refused: This file is not an image" in written and "refused: '127.0.0.1' is a private" in written
    assert "refused: Overlay opacity must be a number, not 'abc'." in written
    assert f"refused: {TEXT_NOT_LOGGED}" in written and str(text) not in written
    assert written.count("refused: The picture names a file on the server") == 2
    assert "refused: /segment takes 5 inputs" in written
