"""HEIC (what iPhones save) and AVIF pictures decode like any other upload: upright, primary picture, safe sizes,
and a damaged file never takes the process down (the HEIC files: tests/heic_pictures.py)."""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, features

from segdemo.images import (BROWSER_FORMATS, CORRUPT, FORMATS, NOT_AN_IMAGE, Header, ImageError, load_image,
                            needs_loading, read_header, within_limits)

STREET = Path(__file__).resolve().parent.parent / "examples" / "camvid_0006R0_f01290.jpg"
RED = (255, 0, 0)
needs_avif = pytest.mark.skipif(not features.check("avif"), reason="this Pillow has no AVIF plugin")


def heic_claiming(street: Path, width: int, height: int) -> bytes:
    """street.heic with its image size ('ispe' box) patched to claim width x height: a bomb's header."""
    data = bytearray(street.read_bytes())
    at = data.find(b"ispe")
    assert at > 0
    while at != -1:
        data[at + 8 : at + 16] = struct.pack(">II", width, height)  # after the box's version and flags
        at = data.find(b"ispe", at + 1)
    return bytes(data)


def near(colour, expected, tolerance: int = 12) -> bool:
    return all(abs(int(a) - b) <= tolerance for a, b in zip(colour, expected))


def test_a_heic_photo_decodes_to_the_picture_it_holds(heic_pictures):
    loaded = load_image(heic_pictures / "street.heic")
    assert loaded.image.mode == "RGB" and loaded.image.size == loaded.original_size == (240, 180)
    assert loaded.notes == []
    with Image.open(STREET) as source:
        expected = np.asarray(source.convert("RGB").resize((240, 180))).astype(int)
    assert np.abs(np.asarray(loaded.image).astype(int) - expected).mean() < 6  # HEVC at quality 85


def test_a_heic_held_upright_is_turned_upright_once_and_says_so(heic_pictures):
    loaded = load_image(heic_pictures / "turned_6.heic")  # stored 64x32, red at the top left, orientation 6
    assert loaded.image.size == loaded.original_size == (32, 64)  # libheif turned it: not turned back, not twice
    array = np.asarray(loaded.image)
    assert near(array[2, 29], RED) and near(array[2, 2], (255, 255, 255))  # a clockwise quarter turn
    assert loaded.notes == ["rotated upright from its EXIF orientation (rotated 90° clockwise)"]
    assert not needs_loading(loaded.image)  # predict takes it as it is: not turned a second time


def test_of_several_pictures_in_a_heic_the_primary_one_is_used(heic_pictures):
    loaded = load_image(heic_pictures / "three_primary_second.heic")  # blue, green (primary), red
    assert near(np.asarray(loaded.image)[16, 24], (0, 200, 0))
    assert loaded.notes == ["HEIC file of 3 pictures: its primary picture (2 of 3) was used"]


def test_a_heic_with_transparency_is_put_on_white(heic_pictures):
    loaded = load_image(heic_pictures / "half_transparent.heic")
    array = np.asarray(loaded.image)
    assert near(array[16, 4], (255, 255, 255)) and near(array[16, 44], (0, 0, 255))
    assert loaded.original_mode == "RGBA" and "transparent areas were composited on white" in loaded.notes


@pytest.mark.parametrize(("width", "height"), [(9_000, 9_000), (50_000, 50_000)])
def test_a_heic_claiming_too_many_pixels_is_refused_before_decoding(heic_pictures, width, height, monkeypatch):
    from pillow_heif.as_plugin import HeifImageFile

    def never(self):
        raise AssertionError("decoded")

    monkeypatch.setattr(HeifImageFile, "load", never)
    with pytest.raises(ImageError, match="too large") as caught:
        load_image(heic_claiming(heic_pictures / "street.heic", width, height))
    assert f"{width * height:,}" in str(caught.value)


def test_a_cut_off_heic_is_called_corrupt(heic_pictures):
    data = (heic_pictures / "street.heic").read_bytes()
    with pytest.raises(ImageError) as caught:
        load_image(data[: len(data) // 2])
    assert str(caught.value) == CORRUPT


@needs_avif
def test_avif_decodes_and_turns_upright():
    picture = Image.new("RGB", (40, 30), (255, 255, 255))
    picture.paste(RED, (0, 0, 10, 10))
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    picture.save(buffer, "AVIF", quality=95, exif=exif.tobytes())
    loaded = load_image(buffer.getvalue())
    assert loaded.image.size == loaded.original_size == (30, 40)
    assert near(np.asarray(loaded.image)[3, 26], RED, tolerance=30)
    assert any("EXIF orientation" in note for note in loaded.notes)


def test_the_refusal_names_the_phone_formats():
    assert "HEIC" in NOT_AN_IMAGE and "AVIF" in NOT_AN_IMAGE
    with pytest.raises(ImageError, match="HEIC"):
        load_image(b"just text, no picture" * 10)


def test_read_header_reads_headers_alone(tmp_path, heic_pictures):
    tiff = tmp_path / "a.tiff"
    Image.new("RGB", (8, 6)).save(tiff)
    text = tmp_path / "a.heic"
    text.write_text("not a picture")
    assert read_header(heic_pictures / "turned_6.heic") == Header("HEIF", (32, 64))  # as libheif will turn it
    assert read_header(tiff) == Header("TIFF", (8, 6))
    assert read_header(STREET) == Header("JPEG", (480, 360))
    assert read_header(text) is None and read_header(tmp_path) is None and read_header(tmp_path / "gone") is None
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert read_header(fifo) is None  # answered at once: a FIFO is never opened
    assert {"HEIF", "TIFF"}.isdisjoint(BROWSER_FORMATS) and BROWSER_FORMATS < set(FORMATS)


def test_within_limits_is_load_images_own_size_rule():
    assert within_limits(Header("PNG", (6000, 10_000))) and not within_limits(Header("PNG", (6000, 10_001)))
    assert within_limits(Header("JPEG", (12_000, 9_000)))  # decoded at half scale
    assert not within_limits(Header("HEIF", (9_000, 9_000)))


# Damaged copies of each picture (cut short, or a few bytes changed), decoded in a child process: a decoder that
# crashes takes the server with it, where an ImageError is a message. pi-heif 1.4 (libheif 1.23.0) died here with
# a segmentation fault (outside this test, on a copy of turned_6.heic, in reading its metadata); pillow-heif 1.8.1
# refuses or decodes them all.
DAMAGED_COPIES = textwrap.dedent("""
    import random, sys
    from pathlib import Path
    from segdemo.images import ImageError, load_image
    decoded = refused = 0
    for path in sorted(Path(sys.argv[1]).iterdir()):
        data = path.read_bytes()
        rng = random.Random(path.name)
        for _ in range(int(sys.argv[2])):
            copy = bytearray(data)
            if rng.random() < 0.3:
                copy = copy[: rng.randrange(len(copy))]
            else:
                for _ in range(rng.randint(1, 8)):
                    copy[rng.randrange(len(copy))] = rng.randrange(256)
            try:
                load_image(bytes(copy))
                decoded += 1
            except ImageError:
                refused += 1
    print(decoded, refused)
""")


def test_damaged_heic_and_avif_files_are_refused_without_taking_the_process_down(heic_pictures, tmp_path):
    for heic in heic_pictures.glob("*.heic"):
        (tmp_path / heic.name).write_bytes(heic.read_bytes())
    if features.check("avif"):
        exif = Image.Exif()
        exif[0x0112] = 6
        with Image.open(STREET) as street:
            street.resize((120, 90)).save(tmp_path / "street.avif", quality=80, exif=exif.tobytes())
    files, copies = len(list(tmp_path.iterdir())), 1500  # pi-heif 1.4 survived 800 copies of each HEIC, not 1000
    done = subprocess.run([sys.executable, "-c", DAMAGED_COPIES, str(tmp_path), str(copies)],
                          cwd=STREET.parent.parent, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"the decoder took the process down ({done.returncode}): {done.stderr[-500:]}"
    decoded, refused = map(int, done.stdout.split())
    assert decoded + refused == files * copies and refused > copies  # most damage is noticed, and all is survived


def test_the_uploads_benchmark_runs(tmp_path):
    """benchmarks/uploads.py on a small picture, one repeat: a row per format, the page's PNG timed for the formats
    browsers cannot draw (no speed is asserted here)."""
    from conftest import load_benchmark_script

    uploads = load_benchmark_script("uploads")
    figures = tmp_path / "uploads.json"
    assert uploads.main(["--repeats", "1", "--size", "320", "240", "--json", str(figures)]) == 0
    rows = {row["format"]: row for row in json.loads(figures.read_text())["rows"]}
    assert {"JPEG", "HEIC", "WebP", "TIFF"} <= set(rows) and rows["JPEG"]["decode_vs_jpeg"] == 1
    assert {name for name, row in rows.items() if row["page_png_ms"] is not None} == {
        "HEIC", "HEIC, Display P3 profile", "HEIC, Display P3 described", "TIFF"}
    # the profiled rows time what they claim: Display P3 converted, sRGB left as it is
    assert {name for name, row in rows.items() if row["converted_to_srgb"]} == {
        "JPEG, Display P3 profile", "HEIC, Display P3 profile", "HEIC, Display P3 described"}
