"""Uploads are decoded safely: every mode, orientation and malformed file ends in RGB or in ImageError."""

from __future__ import annotations

import io
import random
import struct
import time
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile, ImageOps, TiffImagePlugin

from segdemo import images
from segdemo.images import (
    CORRUPT, MAX_PIXELS, NOT_AN_IMAGE, ImageError, LoadedImage, load_image, needs_loading, to_rgb,
)

WHITE = (255, 255, 255)


def save(tmp_path: Path, image: Image.Image, name: str, **params) -> Path:
    path = tmp_path / name
    image.save(path, **params)
    return path


def encode(image: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def noise(size: tuple[int, int], seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))


def header(path: Path) -> tuple[str, int]:
    """The mode and frame count Pillow reports, with the file closed again."""
    with Image.open(path) as image:
        return image.mode, getattr(image, "n_frames", 1)


def pixels(loaded: LoadedImage) -> np.ndarray:
    assert isinstance(loaded, LoadedImage)
    assert loaded.image.mode == "RGB"
    array = np.asarray(loaded.image)
    assert array.dtype == np.uint8
    return array


def png_claiming(width: int, height: int) -> bytes:
    """A real 8x8 PNG whose IHDR is patched (CRC included) to claim another size: a decompression bomb header."""
    data = bytearray(encode(Image.new("RGB", (8, 8), (10, 20, 30)), "PNG"))
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


# --- modes -----------------------------------------------------------------------------------------


def test_rgb_is_unchanged(tmp_path):
    image = noise((7, 5))
    loaded = load_image(save(tmp_path, image, "a.png"))
    np.testing.assert_array_equal(pixels(loaded), np.asarray(image))
    assert loaded.original_mode == "RGB"
    assert loaded.original_size == (7, 5)
    assert loaded.notes == []


def test_rgba_transparent_pixels_become_white(tmp_path):
    image = Image.new("RGBA", (3, 1), (200, 10, 10, 255))
    image.putpixel((0, 0), (0, 0, 0, 0))  # transparent black: must not show as black
    image.putpixel((1, 0), (0, 0, 0, 128))  # half transparent black: grey
    loaded = load_image(save(tmp_path, image, "a.png"))
    out = pixels(loaded)
    assert tuple(out[0, 0]) == WHITE
    assert all(abs(int(v) - 127) <= 2 for v in out[0, 1])
    assert tuple(out[0, 2]) == (200, 10, 10)
    assert loaded.original_mode == "RGBA"
    assert any("composited on white" in note for note in loaded.notes)


def test_opaque_rgba_has_no_transparency_note(tmp_path):
    loaded = load_image(save(tmp_path, Image.new("RGBA", (2, 2), (1, 2, 3, 255)), "a.png"))
    assert tuple(pixels(loaded)[0, 0]) == (1, 2, 3)
    assert loaded.notes == []


def test_la_transparent_pixels_become_white(tmp_path):
    image = Image.new("LA", (2, 1), (40, 255))
    image.putpixel((0, 0), (0, 0))
    loaded = load_image(save(tmp_path, image, "a.png"))
    assert loaded.original_mode == "LA"
    assert tuple(pixels(loaded)[0, 0]) == WHITE
    assert tuple(pixels(loaded)[0, 1]) == (40, 40, 40)


def test_palette_image(tmp_path):
    image = Image.new("P", (2, 1))
    image.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    image.putpixel((1, 0), 1)
    loaded = load_image(save(tmp_path, image, "a.png"))
    assert loaded.original_mode == "P"
    assert pixels(loaded)[0].tolist() == [[255, 0, 0], [0, 0, 255]]
    assert loaded.notes == []


@pytest.mark.parametrize("suffix", ["png", "gif"])
def test_palette_transparency_becomes_white(tmp_path, suffix):
    image = Image.new("P", (2, 1))
    image.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    image.putpixel((1, 0), 1)
    loaded = load_image(save(tmp_path, image, f"a.{suffix}", transparency=0))
    assert loaded.original_mode == "P"
    assert pixels(loaded)[0].tolist() == [list(WHITE), [0, 0, 255]]
    assert any("composited on white" in note for note in loaded.notes)


def test_rgb_colour_key_transparency(tmp_path):
    image = Image.new("RGB", (2, 1), (9, 9, 9))
    image.putpixel((1, 0), (50, 60, 70))
    loaded = load_image(save(tmp_path, image, "a.png", transparency=(9, 9, 9)))
    assert pixels(loaded)[0].tolist() == [list(WHITE), [50, 60, 70]]


@pytest.mark.parametrize("mode,key,other", [("L", 0, 100), ("RGB", (0, 0, 0), (100, 100, 100))])
def test_a_colour_key_is_made_transparent_before_a_large_picture_is_scaled_down(tmp_path, mode, key, other):
    """Scaled down first, the key colour blended into its neighbours: a dark fringe (25 for a key of 0 beside 100)
    where the transparent half met the other, which should be white beside 100."""
    image = Image.new(mode, (4100, 10), key)
    image.paste(other, (2050, 0, 4100, 10))
    loaded = load_image(save(tmp_path, image, "a.png", transparency=key), max_side=2048)
    row = pixels(loaded)[2, :, 0].astype(int)
    assert loaded.image.size == (2048, 5)
    assert set(row[:1020]) == {255} and set(row[1030:]) == {100}
    assert row[1020:1030].min() >= 100, row[1020:1030]  # between white and the other colour, nothing darker


def test_greyscale_and_bilevel(tmp_path):
    grey = Image.fromarray(np.array([[0, 77, 255]], dtype=np.uint8))
    assert pixels(load_image(save(tmp_path, grey, "l.png")))[0].tolist() == [[0] * 3, [77] * 3, [255] * 3]
    bilevel = grey.convert("1", dither=Image.Dither.NONE)
    loaded = load_image(save(tmp_path, bilevel, "1.png"))
    assert loaded.original_mode == "1"
    assert pixels(loaded)[0].tolist() == [[0] * 3, [0] * 3, [255] * 3]


def test_16_bit_png_is_scaled_by_its_range(tmp_path):
    ramp = np.linspace(0, 65535, 64).astype(np.uint16).reshape(4, 16)
    path = save(tmp_path, Image.fromarray(ramp), "deep.png")
    assert header(path)[0] == "I;16"
    loaded = load_image(path)
    out = pixels(loaded)
    assert loaded.original_mode == "I;16"
    assert out[0, 0].tolist() == [0, 0, 0]
    assert out[-1, -1].tolist() == [255, 255, 255]
    assert np.all(np.diff(out[..., 0].ravel().astype(int)) >= 0)  # still a ramp
    assert "16-bit image scaled to 8 bits" in loaded.notes


def test_16_bit_narrow_range_is_stretched(tmp_path):
    values = np.array([[1000, 1500, 2000]], dtype=np.uint16)
    loaded = load_image(save(tmp_path, Image.fromarray(values), "deep.png"))
    assert pixels(loaded)[0, :, 0].tolist() == [0, 128, 255]


@pytest.mark.parametrize(("value", "expected"), [(0, 0), (40000, 128)])
def test_constant_16_bit_image(tmp_path, value, expected):
    flat = np.full((3, 3), value, dtype=np.uint16)
    loaded = load_image(save(tmp_path, Image.fromarray(flat), "flat.png"))
    assert np.all(pixels(loaded) == expected)


@pytest.mark.parametrize("mode", ["I;16B", "I;16L"])
def test_16_bit_byte_orders(mode):
    values = np.array([[0, 256, 512]], dtype=">u2" if mode == "I;16B" else "<u2")
    image = Image.frombytes(mode, (3, 1), values.tobytes())
    loaded = load_image(image)
    assert pixels(loaded)[0, :, 0].tolist() == [0, 128, 255]
    assert loaded.original_mode == mode


def test_32_bit_integer_tiff(tmp_path):
    values = np.array([[-1000, 0, 1000]], dtype=np.int32)
    path = save(tmp_path, Image.fromarray(values), "int.tiff")
    assert header(path)[0] == "I"
    loaded = load_image(path)
    assert pixels(loaded)[0, :, 0].tolist() == [0, 128, 255]
    assert "32-bit integer image scaled to 8 bits" in loaded.notes


def test_float_tiff_with_nan_and_inf(tmp_path):
    values = np.array([[-2.0, 0.5, 3.0, np.nan, np.inf]], dtype=np.float32)
    path = save(tmp_path, Image.fromarray(values), "float.tiff")
    assert header(path)[0] == "F"
    loaded = load_image(path)
    assert loaded.original_mode == "F"
    assert pixels(loaded)[0, :, 0].tolist() == [0, 128, 255, 0, 255]  # NaN -> bottom, inf -> top
    assert "floating-point image scaled to 8 bits" in loaded.notes
    assert any("NaN" in note for note in loaded.notes)


def test_float_tiff_within_0_1_keeps_its_scale(tmp_path):
    values = np.array([[0.25, 0.5, 0.75]], dtype=np.float32)
    loaded = load_image(save(tmp_path, Image.fromarray(values), "float.tiff"))
    assert pixels(loaded)[0, :, 0].tolist() == [64, 128, 191]


def test_all_nan_float_image_is_black():
    loaded = load_image(Image.fromarray(np.full((2, 2), np.nan, dtype=np.float32)))
    assert np.all(pixels(loaded) == 0)


def test_cmyk_jpeg(tmp_path):
    image = Image.new("CMYK", (8, 8), (0, 0, 0, 0))  # no ink: white
    image.paste((0, 255, 255, 0), (0, 0, 4, 8))  # magenta + yellow: red
    path = save(tmp_path, image, "cmyk.jpg", quality=95)
    loaded = load_image(path)
    assert loaded.original_mode == "CMYK"
    out = pixels(loaded).astype(int)
    assert np.all(np.abs(out[4, 7] - 255) <= 3)
    assert out[4, 1, 0] >= 240 and out[4, 1, 1] <= 15 and out[4, 1, 2] <= 15
    assert any("CMYK" in note for note in loaded.notes)


def test_lab_tiff(tmp_path):
    image = Image.new("LAB", (2, 1), (255, 128, 128))  # L=100, a=b=0: white
    image.putpixel((1, 0), (0, 128, 128))  # black
    loaded = load_image(save(tmp_path, image, "lab.tiff"))
    assert loaded.original_mode == "LAB"
    out = pixels(loaded).astype(int)
    assert np.all(np.abs(out[0, 0] - 255) <= 2) and np.all(out[0, 1] <= 2)


@pytest.mark.parametrize(
    ("mode", "value", "expected"),
    [
        ("YCbCr", (128, 128, 128), (128, 128, 128)),
        ("HSV", (0, 255, 255), (255, 0, 0)),
        ("LAB", (255, 128, 128), WHITE),
        ("RGBX", (1, 2, 3, 0), (1, 2, 3)),
        ("RGBa", (100, 50, 0, 255), (100, 50, 0)),
        ("PA", (0, 0), WHITE),
        ("La", (0, 0), WHITE),
    ],
)
def test_other_modes(mode, value, expected):
    rgb, _ = to_rgb(Image.new(mode, (2, 2), value))
    assert rgb.mode == "RGB"
    assert all(abs(a - b) <= 2 for a, b in zip(rgb.getpixel((0, 0)), expected))


def test_to_rgb_returns_a_new_image_and_leaves_the_input_alone():
    image = Image.new("RGB", (2, 2), (5, 6, 7))
    rgb, notes = to_rgb(image)
    assert rgb is not image and notes == []
    rgb.putpixel((0, 0), (0, 0, 0))
    assert image.getpixel((0, 0)) == (5, 6, 7)

    rgba = Image.new("RGBA", (2, 2), (5, 6, 7, 0))
    load_image(rgba)
    assert rgba.mode == "RGBA" and rgba.getpixel((0, 0)) == (5, 6, 7, 0)


# --- EXIF orientation ----------------------------------------------------------------------------

# Where the red top-left pixel of a 4x3 image is displayed, and the displayed size, for each orientation.
DISPLAYED = {
    1: ((0, 0), (4, 3)),
    2: ((3, 0), (4, 3)),
    3: ((3, 2), (4, 3)),
    4: ((0, 2), (4, 3)),
    5: ((0, 0), (3, 4)),
    6: ((2, 0), (3, 4)),
    7: ((2, 3), (3, 4)),
    8: ((0, 3), (3, 4)),
}


def oriented(orientation: int) -> tuple[Image.Image, Image.Exif]:
    image = Image.new("RGB", (4, 3), (0, 0, 255))
    image.putpixel((0, 0), (255, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = orientation
    return image, exif


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation(tmp_path, orientation):
    image, exif = oriented(orientation)
    path = save(tmp_path, image, "o.png", exif=exif)
    loaded = load_image(path)

    with Image.open(path) as stored:
        reference = ImageOps.exif_transpose(stored).convert("RGB")
    np.testing.assert_array_equal(pixels(loaded), np.asarray(reference))
    corner, size = DISPLAYED[orientation]
    assert loaded.image.size == size == loaded.original_size
    assert loaded.image.getpixel(corner) == (255, 0, 0)
    assert sum(np.all(pixels(loaded) == (255, 0, 0), axis=-1).ravel()) == 1
    assert any("EXIF orientation" in note for note in loaded.notes) == (orientation != 1)
    # predict turns a picture upright itself unless it is already (needs_loading): never a second time
    assert not needs_loading(loaded.image)
    with Image.open(path) as stored:
        assert needs_loading(stored) == (orientation != 1)


@pytest.mark.parametrize("suffix", ["jpg", "tiff", "webp"])
def test_exif_orientation_in_other_formats(tmp_path, suffix):
    image, exif = oriented(6)
    image = image.resize((40, 30), Image.Resampling.NEAREST)  # big blocks survive lossy coding
    loaded = load_image(save(tmp_path, image, f"o.{suffix}", exif=exif, quality=95))
    assert loaded.image.size == loaded.original_size == (30, 40)
    red = pixels(loaded)[2, 27].astype(int)  # top right after a clockwise quarter turn
    assert red[0] > 200 and red[1] < 60 and red[2] < 60
    assert not needs_loading(loaded.image)


def test_unknown_orientation_value_is_ignored(tmp_path):
    image, exif = oriented(9)
    loaded = load_image(save(tmp_path, image, "o.png", exif=exif))
    assert loaded.image.size == (4, 3) and loaded.notes == []


# --- frames --------------------------------------------------------------------------------------


def frames() -> list[Image.Image]:
    return [Image.new("RGB", (6, 4), colour) for colour in [(255, 0, 0), (0, 255, 0), (0, 0, 255)]]


@pytest.mark.parametrize(("suffix", "words"), [("gif", "animated GIF"), ("png", "animated PNG"), ("tiff", "pages")])
def test_first_frame_of_animations_and_multipage_files(tmp_path, suffix, words):
    first, *rest = frames()
    path = save(tmp_path, first, f"anim.{suffix}", save_all=True, append_images=rest)
    assert header(path)[1] == 3
    loaded = load_image(path)
    assert tuple(pixels(loaded)[0, 0]) == (255, 0, 0)
    assert loaded.image.size == (6, 4)
    note = next(note for note in loaded.notes if "3" in note)
    assert words in note and "first of 3" in note


def test_a_file_of_many_pages_is_counted_only_so_far(tmp_path, monkeypatch):
    """Pillow walks a TIFF's pages to count them, in a time that grows as their square: a 4.2 MB file of 100,000
    pages held the server for 42 s before a pixel was decoded. The note's count stops past MAX_FRAMES_COUNTED."""
    monkeypatch.setattr(images, "MAX_FRAMES_COUNTED", 5)
    pages = [Image.new("L", (1, 1), value) for value in range(40)]
    path = save(tmp_path, pages[0], "pages.tiff", save_all=True, append_images=pages[1:])
    seeks = []
    original_seek = TiffImagePlugin.TiffImageFile.seek

    def counted_seek(self, frame):
        seeks.append(frame)
        return original_seek(self, frame)

    monkeypatch.setattr("PIL.TiffImagePlugin.TiffImageFile.seek", counted_seek)
    loaded = load_image(path)
    assert loaded.notes == ["multi-page TIFF: the first of over 5 pages was used"]
    assert max(seeks) <= 6 and pixels(loaded)[0, 0, 0] == 0
    monkeypatch.setattr(images, "MAX_FRAMES_COUNTED", 40)
    assert load_image(path).notes == ["multi-page TIFF: the first of 40 pages was used"]


def progressive_jpeg_of_scans(scans_added: int) -> bytes:
    """A small progressive JPEG whose last scan is repeated ``scans_added`` times: each copy decodes as a pass over
    the whole picture, which is how a file of tiny scans made libjpeg work for minutes."""
    data = encode(Image.new("RGB", (64, 48), (90, 140, 200)), "JPEG", progressive=True, quality=80)
    starts = [i for i in range(len(data) - 1) if data[i:i + 2] == b"\xff\xda"]
    end = data.rindex(b"\xff\xd9")
    last = data[starts[-1]:end]
    return data[:end] + last * scans_added + data[end:]


def test_a_jpeg_of_too_many_scans_is_refused_before_it_is_decoded(tmp_path, monkeypatch):
    ordinary = progressive_jpeg_of_scans(0)
    scans = ordinary.count(b"\xff\xda")
    assert 5 <= scans <= 13 and load_image(ordinary).image.size == (64, 48)
    assert load_image(progressive_jpeg_of_scans(images.MAX_JPEG_SCANS - scans)).image.size == (64, 48)
    decoded = []
    monkeypatch.setattr("PIL.JpegImagePlugin.JpegImageFile.load", lambda self: decoded.append(self))
    too_many = progressive_jpeg_of_scans(images.MAX_JPEG_SCANS - scans + 1)
    for source in (too_many, save_bytes(tmp_path / "scans.jpg", too_many)):
        with pytest.raises(ImageError, match=rf"made of {images.MAX_JPEG_SCANS + 1} scans; this server decodes "
                                             rf"JPEGs of up to {images.MAX_JPEG_SCANS} \(an ordinary one"):
            load_image(source)
    assert decoded == []


def save_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_single_frame_files_have_no_frame_note(tmp_path):
    assert load_image(save(tmp_path, frames()[0], "one.gif")).notes == []


# --- files that are not (whole) images -----------------------------------------------------------


def zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "hello " * 100)
    return buffer.getvalue()


NOT_IMAGES = {
    "text": b"just some text\nwith two lines\n",
    "pdf": b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n",
    "zip": zip_bytes(),
    "eps": b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n",  # never handed to Ghostscript
    "random": bytes(random.Random(0).randrange(256) for _ in range(1000)),
    "png signature only": b"\x89PNG\r\n\x1a\n",
}


@pytest.mark.parametrize("kind", NOT_IMAGES)
def test_not_an_image(tmp_path, kind):
    path = tmp_path / "upload.png"
    path.write_bytes(NOT_IMAGES[kind])
    for source in (path, str(path), NOT_IMAGES[kind]):
        with pytest.raises(ImageError) as caught:
            load_image(source)
        assert type(caught.value) is ImageError
        assert str(caught.value) == NOT_AN_IMAGE


def test_empty_file(tmp_path):
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    with pytest.raises(ImageError, match="empty"):
        load_image(path)
    with pytest.raises(ImageError, match="empty"):
        load_image(b"")


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow's TIFF plugin warns as well as raising
@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "TIFF", "WEBP", "BMP"])
def test_truncated_image(tmp_path, fmt):
    data = encode(noise((64, 48)), fmt)
    path = tmp_path / "cut.img"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError) as caught:
        load_image(path)
    assert type(caught.value) is ImageError
    assert str(caught.value) in (CORRUPT, NOT_AN_IMAGE)
    if fmt in ("PNG", "JPEG"):
        assert str(caught.value) == CORRUPT
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_missing_path_and_directory(tmp_path):
    with pytest.raises(ImageError, match="could not be found"):
        load_image(tmp_path / "nope.png")
    with pytest.raises(ImageError, match="not a file"):
        load_image(tmp_path)


def test_file_over_the_size_limit(tmp_path, monkeypatch):
    data = encode(noise((32, 32)), "PNG")
    monkeypatch.setattr(images, "MAX_FILE_BYTES", len(data) - 1)
    path = tmp_path / "big.png"
    path.write_bytes(data)
    for source in (path, data):
        with pytest.raises(ImageError, match="limit"):
            load_image(source)
    monkeypatch.setattr(images, "MAX_FILE_BYTES", len(data))
    assert load_image(path).image.size == (32, 32)


def test_default_limits():
    assert MAX_PIXELS == 60_000_000
    assert images.MAX_FILE_BYTES == 50 * 1024 * 1024


# --- decompression bombs -------------------------------------------------------------------------


@pytest.fixture
def load_calls(monkeypatch):
    """Record every ImageFile.load, to prove that a refused image was never decoded."""
    calls = []
    original = ImageFile.ImageFile.load

    def spy(self):
        calls.append(self.size)
        return original(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", spy)
    return calls


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize(
    ("width", "height"),
    [
        (50_000, 50_000),  # Pillow itself refuses this in Image.open
        (10_000, 10_000),  # Pillow only warns (more than MAX_IMAGE_PIXELS): we refuse
        (9_000, 9_000),  # Pillow says nothing: we refuse
    ],
)
def test_decompression_bomb_is_refused_before_decoding(tmp_path, load_calls, width, height):
    limit_before = Image.MAX_IMAGE_PIXELS
    path = tmp_path / "bomb.png"
    path.write_bytes(png_claiming(width, height))
    start = time.perf_counter()
    with pytest.raises(ImageError) as caught:
        load_image(path)
    assert time.perf_counter() - start < 1.0
    message = str(caught.value)
    assert type(caught.value) is ImageError
    assert "60,000,000" in message and f"{width * height:,}" in message
    if width * height <= 2 * Image.MAX_IMAGE_PIXELS:
        assert f"{width}x{height}" in message
    assert load_calls == []
    assert Image.MAX_IMAGE_PIXELS == limit_before


def test_max_pixels_argument(tmp_path, load_calls):
    path = save(tmp_path, noise((100, 50)), "a.png")
    with pytest.raises(ImageError, match="100x50.*4,999"):
        load_image(path, max_pixels=4_999)
    assert load_calls == []
    assert load_image(path, max_pixels=5_000).image.size == (100, 50)
    with pytest.raises(ImageError, match="limit"):
        load_image(np.zeros((50, 100), np.uint8), max_pixels=4_999)
    with pytest.raises(ImageError, match="limit"):
        load_image(Image.new("RGB", (100, 50)), max_pixels=4_999)


def test_large_jpeg_is_decoded_at_reduced_scale(tmp_path):
    path = save(tmp_path, noise((400, 300)), "big.jpg", quality=90)
    loaded = load_image(path, max_pixels=40_000)
    assert loaded.image.size == (200, 150)
    assert loaded.original_size == (400, 300)
    assert any("downscaled from 400x300 to 200x150" in note for note in loaded.notes)
    loaded = load_image(path, max_pixels=2_000)  # needs 1/8: 50x38
    assert loaded.image.size == (50, 38)
    with pytest.raises(ImageError, match="limit"):
        load_image(path, max_pixels=1_000)  # even 1/8 is too large


def test_reduced_scale_jpeg_is_still_turned_upright(tmp_path):
    image, exif = oriented(6)
    path = save(tmp_path, image.resize((400, 300)), "big.jpg", exif=exif)
    loaded = load_image(path, max_pixels=40_000)
    assert loaded.image.size == (150, 200)
    assert loaded.original_size == (300, 400)


# --- scaled down to the largest size used (load_image(max_side=...)) ---------------------------------


def big_oriented(orientation: int) -> tuple[Image.Image, Image.Exif]:
    """A 300x200 picture with a distinct quadrant at its stored top left, and its EXIF orientation."""
    image = noise((300, 200))
    image.paste((255, 0, 0), (0, 0, 150, 100))
    exif = Image.Exif()
    exif[0x0112] = orientation
    return image, exif


@pytest.mark.parametrize("suffix", ["png", "jpg", "tiff"])  # Pillow turns a TIFF upright as it opens it
@pytest.mark.parametrize("orientation", range(1, 9))
def test_a_picture_scaled_down_while_loading_is_the_full_one_scaled_down(tmp_path, orientation, suffix):
    """Scaled down before it is turned upright and converted: the same picture as turning the full one upright and
    then scaling it down, the upload's size kept."""
    image, exif = big_oriented(orientation)
    path = save(tmp_path, image, f"o.{suffix}", exif=exif, quality=95)
    full = load_image(path)
    loaded = load_image(path, max_side=120)
    assert loaded.original_size == full.original_size == full.image.size
    assert max(loaded.image.size) == 120 and loaded.image.size == images.shrink_to(full.image, 120).size
    # Pillow scales rows, then columns: for a quarter turn the two orders round differently, by 1 at most
    difference = np.abs(pixels(loaded).astype(int) - np.asarray(images.shrink_to(full.image, 120), int))
    assert difference.max() <= (0 if orientation <= 4 else 1)
    (x, y), (width, height) = DISPLAYED[orientation]  # the red quadrant's corner, where it shows
    shown = loaded.image.size
    red = loaded.image.getpixel((x * (shown[0] - 1) // (width - 1), y * (shown[1] - 1) // (height - 1)))
    assert red[0] > 240 and max(red[1:]) < 15, red
    assert loaded.notes == full.notes


@pytest.mark.parametrize("mode", ["P", "I;16", "RGBA", "LA", "CMYK", "L"])
def test_every_mode_comes_back_within_the_largest_side(mode):
    """Palette and 16-bit pictures are converted first (scaling a palette picture would pick the nearest index), the
    others scaled first; either way no side comes back over ``max_side``, and the colours are the same."""
    picture = noise((300, 200)).convert("RGBA" if mode in ("RGBA", "LA") else "RGB")
    picture = picture.quantize(16) if mode == "P" else picture.convert(mode) if mode != "I;16" else \
        Image.fromarray((np.asarray(picture.convert("L"), np.uint16) * 257))
    full, loaded = load_image(encode(picture, "TIFF")), load_image(encode(picture, "TIFF"), max_side=90)
    assert loaded.image.size == (90, 60) and loaded.image.mode == "RGB" and loaded.original_size == (300, 200)
    difference = np.abs(pixels(loaded).astype(int) - np.asarray(images.shrink_to(full.image, 90), int))
    assert difference.max() <= 1, (mode, difference.max())  # rounded once more or less: the order alone differs


def test_a_picture_within_the_largest_side_is_left_as_it_is():
    picture = noise((80, 60))
    assert load_image(picture, max_side=80).image.tobytes() == picture.tobytes()


# --- other sources and shapes --------------------------------------------------------------------


def test_bytes_and_pil_sources():
    image = noise((5, 4))
    data = encode(image, "PNG")
    for source in (data, bytearray(data), image, Image.open(io.BytesIO(data))):
        np.testing.assert_array_equal(pixels(load_image(source)), np.asarray(image))


@pytest.mark.parametrize("size", [(1, 1), (7, 5), (10_000, 10), (10, 10_000)])
def test_tiny_and_extreme_aspect_images(tmp_path, size):
    loaded = load_image(save(tmp_path, Image.new("RGB", size, (1, 2, 3)), "a.png"))
    assert loaded.image.size == loaded.original_size == size


def test_zero_sized_images():
    for source in (Image.new("RGB", (0, 3)), np.zeros((0, 5, 3), np.uint8), np.zeros((4, 0), np.uint8)):
        with pytest.raises(ImageError, match="empty"):
            load_image(source)


def test_uint8_arrays():
    rng = np.random.default_rng(1)
    colour = rng.integers(0, 256, (4, 5, 3), dtype=np.uint8)
    np.testing.assert_array_equal(pixels(load_image(colour)), colour)
    grey = colour[..., 0]
    np.testing.assert_array_equal(pixels(load_image(grey)), np.repeat(grey[..., None], 3, axis=-1))
    np.testing.assert_array_equal(pixels(load_image(grey[..., None])), pixels(load_image(grey)))
    loaded = load_image(colour[:, ::-1])  # not contiguous
    np.testing.assert_array_equal(pixels(loaded), colour[:, ::-1])
    assert loaded.original_size == (5, 4) and loaded.notes == []


def test_rgba_array_transparency():
    rgba = np.zeros((1, 2, 4), np.uint8)
    rgba[0, 1] = (10, 20, 30, 255)
    out = pixels(load_image(rgba))
    assert out[0].tolist() == [list(WHITE), [10, 20, 30]]


def test_uint16_arrays():
    loaded = load_image(np.array([[0, 32768, 65535]], dtype=np.uint16))
    assert pixels(loaded)[0, :, 0].tolist() == [0, 128, 255]
    assert "16-bit image scaled to 8 bits" in loaded.notes
    rgba = np.zeros((1, 2, 4), np.uint16)
    rgba[0, 1] = (0, 1000, 2000, 65535)
    assert pixels(load_image(rgba))[0].tolist() == [list(WHITE), [0, 128, 255]]


def test_float_arrays():
    unit = np.array([[0.0, 0.5, 1.0]], dtype=np.float64)
    loaded = load_image(unit)
    assert pixels(loaded)[0, :, 0].tolist() == [0, 128, 255]
    assert "floating-point image scaled to 8 bits" in loaded.notes
    wide = np.array([[[-1.0, 0.0, 1.0], [1.0, 1.0, 1.0]]], dtype=np.float32)
    assert pixels(load_image(wide))[0].tolist() == [[0, 128, 255], [255, 255, 255]]
    with_nan = np.array([[0.2, np.nan, 0.6]], dtype=np.float32)
    assert pixels(load_image(with_nan))[0, :, 0].tolist() == [51, 0, 153]


def test_other_array_types():
    assert pixels(load_image(np.array([[True, False]])))[0, :, 0].tolist() == [255, 0]
    assert pixels(load_image(np.array([[-5, 5]], dtype=np.int64)))[0, :, 0].tolist() == [0, 255]
    for bad in (np.zeros((2, 2), complex), np.zeros((2, 2, 2), np.uint8), np.zeros((2, 2, 3, 1), np.uint8)):
        with pytest.raises(ImageError):
            load_image(bad)


def test_wrong_source_type_is_a_programming_error():
    with pytest.raises(TypeError):
        load_image(42)  # type: ignore[arg-type]


# --- damaged files only ever give ImageError ----------------------------------------------------


@pytest.mark.filterwarnings("ignore::UserWarning")  # "Corrupt EXIF data" and friends
def test_damaged_files_only_raise_image_error():
    """A small deterministic fuzz: flipped bytes in small valid files of each format, decoded or refused."""
    rng = random.Random(1234)
    seeds = [
        encode(noise((12, 9)), fmt)
        for fmt in ("PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP")
    ] + [encode(Image.new("RGBA", (5, 5)), "PNG"), encode(Image.fromarray(np.zeros((3, 3), np.float32)), "TIFF")]
    for _ in range(300):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        if rng.random() < 0.3:
            data = data[: rng.randrange(len(data))]
        try:
            loaded = load_image(bytes(data), max_pixels=10_000)
        except ImageError:
            continue
        assert pixels(loaded).size > 0
