"""A TIFF or HEIC upload, which only Safari draws, is replaced on the page by a lossless copy (WebP) of what the
networks will see."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path


import gradio as gr
import numpy as np
import pytest
from PIL import Image

from conftest import ROOT
from segdemo.images import load_image
from segdemo.service import SegmentationService
from segdemo.zoo import load_zoo

FRAME = ROOT / "examples" / "camvid_0006R0_f01890.jpg"


@pytest.fixture(scope="module")
def service() -> SegmentationService:
    return SegmentationService(load_zoo())


@pytest.fixture
def messages(monkeypatch) -> list[str]:
    """What the visitor is told (gr.Info) during the test."""
    told: list[str] = []
    monkeypatch.setattr(gr, "Info", lambda message, *args, **kwargs: told.append(message))
    return told


@pytest.fixture
def warnings_told(monkeypatch) -> list[str]:
    """What the visitor is warned of (gr.Warning) during the test."""
    told: list[str] = []
    monkeypatch.setattr(gr, "Warning", lambda message, *args, **kwargs: told.append(message))
    return told


def pixels(path) -> np.ndarray:
    with Image.open(path) as image:
        assert image.format == ("PNG" if image.mode == "P" else "WEBP")  # lossless; a class map's palette: PNG
        return np.asarray(image)


def test_pictures_every_browser_draws_stay_as_they_are(service, messages, warnings_told, tmp_path):
    webp = tmp_path / "a.webp"
    Image.new("RGB", (8, 8)).save(webp)
    cut = tmp_path / "cut.jpg"  # its header is whole: the browser draws what it can, and Segment explains
    cut.write_bytes(FRAME.read_bytes()[:2000])
    for upload in (str(FRAME), str(webp), str(cut), None, b"bytes from the clipboard"):
        assert service.picture_for_the_browser(upload) == gr.skip()
    assert messages == warnings_told == []


def test_a_file_that_cannot_be_used_leaves_the_picture_box_and_the_visitor_is_told_why_at_once(service, messages,
                                                                                             warnings_told, tmp_path):
    """Left in the box, it showed as a broken image, and Segment repeated the error with red Error badges."""
    cut = tmp_path / "cut.tiff"
    Image.new("RGB", (64, 48), (1, 2, 3)).save(cut)
    cut.write_bytes(cut.read_bytes()[:300])
    text = tmp_path / "notes.png"
    text.write_text("just some text\n" * 20)
    huge = tmp_path / "huge.tiff"
    # 63 megapixels, over the limit: refused before decoding
    Image.new("L", (9000, 7000)).save(huge, compression="tiff_adobe_deflate")
    bomb = tmp_path / "bomb.png"  # a PNG, which browsers draw, whose header claims 81 megapixels
    Image.new("RGB", (8, 8)).save(bomb)
    data = bytearray(bomb.read_bytes())
    data[16:24] = struct.pack(">II", 9000, 9000)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    bomb.write_bytes(bytes(data))
    for upload in (cut, text, huge, bomb):
        assert service.picture_for_the_browser(str(upload)) is None   # the box empties
    assert warnings_told[0] == "The image file is truncated or corrupt."
    assert warnings_told[1].startswith("This file is not an image we can read")
    assert "too large" in warnings_told[2] and "9000x7000" in warnings_told[2]
    assert "too large" in warnings_told[3] and "9000x9000" in warnings_told[3]
    assert messages == []


def test_a_tiff_becomes_a_lossless_copy_of_its_decoded_pixels(service, messages, tmp_path):
    tiff = tmp_path / "frame.tiff"
    with Image.open(FRAME) as frame:
        frame.save(tiff)
    png = service.picture_for_the_browser(str(tiff))
    np.testing.assert_array_equal(pixels(png), np.asarray(load_image(tiff).image))
    assert messages == []  # nothing was changed on the way: nothing to say


def test_what_was_changed_on_the_way_is_said_at_once(service, messages, tmp_path, heic_pictures):
    deep = tmp_path / "deep.tiff"
    Image.fromarray(np.linspace(1000, 3000, 48 * 64).reshape(48, 64).astype(np.uint16)).save(deep)
    png = service.picture_for_the_browser(str(deep))
    np.testing.assert_array_equal(pixels(png), np.asarray(load_image(deep).image))
    assert len(messages) == 1 and "16-bit image scaled to 8 bits" in messages[0]

    messages.clear()
    heic = heic_pictures / "three_primary_second.heic"
    png = service.picture_for_the_browser(str(heic))
    np.testing.assert_array_equal(pixels(png), np.asarray(load_image(heic).image))
    assert messages == ["Your picture: HEIC file of 3 pictures: its primary picture (2 of 3) was used."]


def test_a_large_picture_is_shown_at_the_size_its_maps_are_drawn_at(service, messages, tmp_path):
    big = tmp_path / "big.tiff"
    with Image.open(FRAME) as frame:
        frame.resize((3000, 2250)).save(big)
    png = service.picture_for_the_browser(str(big))
    assert pixels(png).shape == (1536, 2048, 3)
    assert messages == ["Your picture: shown at 2048x1536, the largest its maps are drawn at "
                        "(the upload is 3000x2250)."]
    # the networks answer the PNG as they answer the file: same size, (almost) the same labels
    from_file = service.segment(str(big), "fcn8s_lite", 0.5, 1, 0)
    from_png = service.segment(png, "fcn8s_lite", 0.5, 1, 0)
    assert from_file[7]["output_size"] == from_png[7]["output_size"] == [2048, 1536]
    labels_file, labels_png = pixels(from_file[10]), pixels(from_png[10])
    assert (labels_file == labels_png).mean() > 0.99


def test_the_same_upload_again_gets_the_same_copy(service, messages, tmp_path):
    """The page tells a new picture from the one a result is of by its path (segdemo/stale_results.js), and Gradio
    keeps an upload at a path named after its content: each copy in a folder of its own made the same TIFF, uploaded
    again, a new picture, and greyed out the results that were of it. A copy swept meanwhile is written again."""
    tiff, other = tmp_path / "frame.tiff", tmp_path / "other.tiff"
    with Image.open(FRAME) as frame:
        frame.save(tiff)
        frame.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(other)
    first = service.picture_for_the_browser(str(tiff))
    assert service.picture_for_the_browser(str(tiff)) == first
    copy_of_other = service.picture_for_the_browser(str(other))
    assert copy_of_other != first and not np.array_equal(pixels(copy_of_other), pixels(first))
    Path(first).unlink()
    again = service.picture_for_the_browser(str(tiff))
    assert again == first
    np.testing.assert_array_equal(pixels(again), np.asarray(load_image(tiff).image))
    assert [name for name in os.listdir(Path(first).parent)] == [Path(first).name]   # nothing half-written left
