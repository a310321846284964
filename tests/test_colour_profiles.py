"""An upload's embedded colour profile is applied, so the network sees the colours the browser shows the visitor
(the profiles: tests/icc_profiles.py, built from their published primaries)."""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms

from icc_profiles import (DISPLAY_P3, SRGB_PRIMARIES, adobe_rgb, build_rgb_profile, display_p3, rgb_to_xyz_matrix,
                          swapped_ink_cmyk)
from segdemo.colour_profiles import to_srgb
from segdemo.images import load_image

STREET = Path(__file__).resolve().parent.parent / "examples" / "camvid_0006R0_f01290.jpg"
SRGB_PROFILE = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
ORIENTATION = 0x0112


def encoded(image: Image.Image, format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format, **options)
    return buffer.getvalue()


def p3_to_srgb(rgb: tuple[int, int, int]) -> np.ndarray:
    """Display P3 to sRGB by the textbook: decode the shared curve, change primaries (same D65 white), encode."""
    value = np.asarray(rgb, float) / 255
    linear = np.where(value <= 0.04045, value / 12.92, ((value + 0.055) / 1.055) ** 2.4)
    xyz = rgb_to_xyz_matrix(DISPLAY_P3["primaries"]) @ linear
    srgb_linear = np.linalg.solve(rgb_to_xyz_matrix(SRGB_PRIMARIES), xyz)
    srgb_linear = np.clip(srgb_linear, 0, 1)
    encoded_value = np.where(srgb_linear <= 0.0031308, srgb_linear * 12.92, 1.055 * srgb_linear ** (1 / 2.4) - 0.055)
    return encoded_value * 255


@pytest.mark.parametrize("colour", [(234, 51, 35), (200, 120, 80), (60, 160, 90), (90, 110, 200), (128, 128, 128)])
def test_a_display_p3_photo_gets_the_srgb_colours_its_profile_means(colour):
    data = encoded(Image.new("RGB", (32, 24), colour), "PNG", icc_profile=display_p3())
    loaded = load_image(data)
    got = np.asarray(loaded.image.getpixel((5, 5)), float)
    assert np.abs(got - p3_to_srgb(colour)).max() <= 2, (got, p3_to_srgb(colour))
    assert loaded.notes == ["colours converted to sRGB from its colour profile (Display P3 compatible, segdemo tests)"]


def test_saturated_display_p3_red_is_srgb_red_not_the_duller_red_its_numbers_say_in_srgb():
    # read as sRGB, (234, 51, 35) is a brick red; meant as Display P3 it is the reddest red sRGB has
    picture = Image.new("RGB", (32, 24), (234, 51, 35))
    loaded = load_image(encoded(picture, "JPEG", quality=100, icc_profile=display_p3()))
    assert np.abs(np.asarray(loaded.image.getpixel((5, 5)), int) - (255, 0, 0)).max() <= 3


def test_an_srgb_profile_leaves_the_picture_exactly_as_stored_and_says_nothing():
    with Image.open(STREET) as street:
        picture = street.convert("RGB").resize((120, 90))
    loaded = load_image(encoded(picture, "PNG", icc_profile=SRGB_PROFILE))
    assert np.array_equal(np.asarray(loaded.image), np.asarray(picture))
    assert loaded.notes == []


def test_a_picture_without_a_profile_is_taken_as_srgb():
    loaded = load_image(encoded(Image.new("RGB", (8, 8), (234, 51, 35)), "PNG"))
    assert loaded.image.getpixel((1, 1)) == (234, 51, 35) and loaded.notes == []


def test_adobe_rgb_with_transparency_is_put_on_white_and_converted():
    rgba = Image.new("RGBA", (32, 24), (0, 0, 0, 0))
    rgba.paste((219, 0, 0, 255), (16, 0, 32, 24))  # sRGB's red, in Adobe RGB numbers
    loaded = load_image(encoded(rgba, "PNG", icc_profile=adobe_rgb()))
    assert np.abs(np.asarray(loaded.image.getpixel((2, 2)), int) - 255).max() <= 1  # white stays white
    assert np.abs(np.asarray(loaded.image.getpixel((20, 5)), int) - (255, 0, 0)).max() <= 2
    assert "transparent areas were composited on white" in loaded.notes
    assert any("Adobe RGB (1998) compatible" in note for note in loaded.notes)


def test_a_cmyk_picture_is_converted_by_its_profile_not_by_the_formula():
    # on this press cyan ink prints yellow: only the profile can know that
    cyan_ink = Image.new("CMYK", (16, 16), (255, 0, 0, 0))
    loaded = load_image(encoded(cyan_ink, "JPEG", quality=100, icc_profile=swapped_ink_cmyk()))
    assert np.abs(np.asarray(loaded.image.getpixel((4, 4)), int) - (255, 255, 0)).max() <= 3
    assert loaded.original_mode == "CMYK"
    assert loaded.notes == ["CMYK colours converted to sRGB from its colour profile (Swapped-ink press, segdemo tests)"]


def test_a_cmyk_picture_without_a_profile_keeps_the_formula():
    loaded = load_image(encoded(Image.new("CMYK", (16, 16), (255, 0, 0, 0)), "JPEG", quality=100))
    assert np.abs(np.asarray(loaded.image.getpixel((4, 4)), int) - (0, 255, 255)).max() <= 3
    assert loaded.notes == ["CMYK colours converted to RGB (they may look slightly different)"]


@pytest.mark.parametrize("mode, profile", [("RGB", b"\x00" * 64 + b"not a profile" * 20), ("RGB", swapped_ink_cmyk()),
                                           ("CMYK", display_p3())])
def test_a_profile_that_cannot_be_used_is_reported_and_the_picture_still_loads(mode, profile):
    colour = (234, 51, 35) if mode == "RGB" else (255, 0, 0, 0)
    loaded = load_image(encoded(Image.new(mode, (16, 16), colour), "TIFF", icc_profile=profile))
    expected = (234, 51, 35) if mode == "RGB" else (0, 255, 255)
    assert loaded.image.mode == "RGB" and loaded.image.getpixel((4, 4)) == expected
    assert loaded.notes[0] == "its colour profile could not be used, so its colours were taken as sRGB"


def test_a_grey_picture_keeps_its_values_whatever_profile_it_carries():
    loaded = load_image(encoded(Image.new("L", (8, 8), 104), "PNG", icc_profile=display_p3()))
    assert loaded.image.getpixel((1, 1)) == (104, 104, 104) and loaded.notes == []


def test_a_turned_phone_photo_is_turned_upright_and_converted():
    picture = Image.new("RGB", (64, 32), (234, 51, 35))
    picture.paste((255, 255, 255), (0, 0, 16, 16))
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    loaded = load_image(encoded(picture, "JPEG", quality=100, exif=exif.tobytes(), icc_profile=display_p3()))
    assert loaded.image.size == (32, 64)
    assert np.abs(np.asarray(loaded.image.getpixel((16, 48)), int) - (255, 0, 0)).max() <= 3
    assert len(loaded.notes) == 2 and "rotated upright" in loaded.notes[0] and "Display P3" in loaded.notes[1]


def test_a_heic_from_an_iphone_is_converted_from_display_p3(heic_pictures):
    picture = Image.new("RGB", (64, 48), (234, 51, 35))
    loaded = load_image(encoded(picture, "HEIF", quality=100, icc_profile=display_p3()))
    assert np.abs(np.asarray(loaded.image.getpixel((20, 20)), int) - (255, 0, 0)).max() <= 4
    assert any("Display P3" in note for note in loaded.notes)


def test_the_profile_name_in_the_note_is_plain_text():
    # the note goes into the page's Markdown: a profile's description is the uploader's text
    hostile = build_rgb_profile('<img src=x onerror="alert(1)"> [click](http://x) **P3** ' + "x" * 80,
                                DISPLAY_P3["primaries"], srgb_curve=True)
    _, notes = to_srgb(Image.new("RGB", (4, 4), (200, 100, 50)), hostile)
    name = notes[0].split("colour profile (", 1)[1][:-1]
    assert not set(name) & set('<>[]*"=_`'), name
    assert len(name) <= 48


def test_to_srgb_returns_other_modes_untouched():
    grey = Image.new("L", (4, 4), 7)
    assert to_srgb(grey, display_p3()) == (grey, [])


DAMAGED_PROFILES = textwrap.dedent("""
    import random, sys
    sys.path.insert(0, "tests")
    from PIL import Image
    from icc_profiles import adobe_rgb, display_p3, swapped_ink_cmyk
    from segdemo.colour_profiles import to_srgb
    rng, converted, refused = random.Random(0), 0, 0
    pictures = {"RGB": Image.new("RGB", (16, 16), (200, 100, 50)),
                "CMYK": Image.new("CMYK", (16, 16), (9, 80, 160, 30))}
    for profile, mode in [(display_p3(), "RGB"), (adobe_rgb(), "RGB"), (swapped_ink_cmyk(), "CMYK")]:
        for _ in range(int(sys.argv[1])):
            damaged = bytearray(profile)
            for _ in range(rng.randint(1, 12)):
                damaged[rng.randrange(len(damaged))] = rng.randrange(256)
            if rng.random() < 0.3:
                damaged = damaged[: rng.randrange(len(damaged))]
            image, notes = to_srgb(pictures[mode], bytes(damaged))
            if image.mode != "RGB" or any("could not be used" in note for note in notes):
                refused += 1
            else:
                converted += 1
    print(converted, refused)
""")


def test_damaged_profiles_are_survived(tmp_path):
    """A profile is the uploader's bytes, parsed by littlecms in the server's own process: damage must end in a
    note or a conversion, never in a crash (a subprocess, so that a crash fails this test instead of the run)."""
    copies = 400
    done = subprocess.run([sys.executable, "-c", DAMAGED_PROFILES, str(copies)], cwd=STREET.parent.parent,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"littlecms took the process down ({done.returncode}): {done.stderr[-500:]}"
    converted, refused = map(int, done.stdout.split())
    assert converted + refused == 3 * copies and refused > 0 and converted > 0


@pytest.mark.parametrize("mode", ["RGB", "P", "YCbCr", "RGBX"])
def test_a_pil_image_handed_over_with_a_profile_is_converted_too(mode):
    """The Python API takes PIL images: a profile in ``info`` counts, whatever RGB-family mode carries it."""
    picture = Image.new("RGB", (16, 16), (234, 51, 35))
    image = picture.convert(mode, palette=Image.Palette.ADAPTIVE) if mode == "P" else picture.convert(mode)
    image.info["icc_profile"] = display_p3()
    loaded = load_image(image)
    assert np.abs(np.asarray(loaded.image.getpixel((3, 3)), int) - (255, 0, 0)).max() <= 4
    assert any("Display P3" in note for note in loaded.notes)


# HEIC and AVIF without an ICC profile: colours described by CICP code points (an "nclx" box)
BT2020_PRIMARIES = ((0.708, 0.292), (0.170, 0.797), (0.131, 0.046))
SRGB_CURVE, PQ_CURVE, GAMMA_22 = 13, 16, 4


def described_heic(colour, primaries: int, transfer: int = SRGB_CURVE) -> bytes:
    """A lossless 4:4:4 HEIC whose nclx box names these primaries and curve (the numbers stay as given)."""
    import pillow_heif

    pillow_heif.register_heif_opener()
    return encoded(Image.new("RGB", (40, 32), colour), "HEIF", quality=-1, chroma=444, color_primaries=primaries,
                   transfer_characteristics=transfer, matrix_coefficients=1, full_range_flag=1)


def as_decoded(data: bytes) -> np.ndarray:
    """The pixels libheif gives, before segdemo reads any colour description."""
    import pillow_heif

    return np.asarray(pillow_heif.open_heif(io.BytesIO(data), convert_hdr_to_8bit=True).to_pillow().convert("RGB"))


def linear_to_srgb(linear: np.ndarray) -> np.ndarray:
    linear = np.clip(linear, 0, 1)
    return 255 * np.where(linear <= 0.0031308, linear * 12.92, 1.055 * linear ** (1 / 2.4) - 0.055)


@pytest.mark.parametrize("colour", [(234, 51, 35), (200, 120, 80), (60, 160, 90), (90, 110, 200), (128, 128, 128)])
def test_a_heic_described_as_display_p3_gets_the_srgb_colours_it_means(colour):
    """What an Android phone may write instead of an ICC profile: the same answer as Display P3's profile gives."""
    data = described_heic(colour, primaries=12)
    stored = as_decoded(data)[5, 5]
    loaded = load_image(data)
    got = np.asarray(loaded.image.getpixel((5, 5)), float)
    assert np.abs(got - p3_to_srgb(tuple(int(v) for v in stored))).max() <= 2, (got, stored)
    assert loaded.notes == ["colours converted to sRGB from its colour description (Display P3)"]


def test_a_bt2020_heic_is_converted_by_its_primaries():
    data = described_heic((180, 150, 60), primaries=9)
    stored = as_decoded(data)[5, 5].astype(float) / 255
    linear = np.where(stored <= 0.04045, stored / 12.92, ((stored + 0.055) / 1.055) ** 2.4)
    xyz = rgb_to_xyz_matrix(BT2020_PRIMARIES) @ linear
    expected = linear_to_srgb(np.linalg.solve(rgb_to_xyz_matrix(SRGB_PRIMARIES), xyz))
    got = np.asarray(load_image(data).image.getpixel((5, 5)), float)
    assert np.abs(got - expected).max() <= 2, (got, expected)


def test_a_gamma_22_curve_is_decoded_as_such():
    """BT.709 primaries are sRGB's, so only the curve changes: mid-grey 128 in gamma 2.2 is sRGB's 127-128, and
    a dark 40 is 44 (sRGB's foot is linear, gamma 2.2 is not)."""
    data = described_heic((40, 128, 220), primaries=1, transfer=GAMMA_22)
    stored = as_decoded(data)[5, 5].astype(float) / 255
    expected = linear_to_srgb(stored ** 2.2)
    loaded = load_image(data)
    assert np.abs(np.asarray(loaded.image.getpixel((5, 5)), float) - expected).max() <= 1
    assert loaded.notes == ["colours converted to sRGB from its colour description (BT.709, gamma 2.2)"]


def test_a_heic_described_as_srgb_is_left_exactly_as_decoded():
    with Image.open(STREET) as street:
        data = encoded(street.convert("RGB").resize((120, 90)), "HEIF", quality=90)  # pillow-heif's default: sRGB
    loaded = load_image(data)
    assert np.array_equal(np.asarray(loaded.image), as_decoded(data)) and loaded.notes == []


def test_an_hdr_heic_is_used_as_decoded_and_says_that_it_is_not_tone_mapped():
    data = described_heic((200, 120, 80), primaries=9, transfer=PQ_CURVE)
    loaded = load_image(data)
    assert np.array_equal(np.asarray(loaded.image), as_decoded(data))
    assert loaded.notes == ["an HDR picture (PQ): its colours are shown without tone mapping and may look flat"]


def test_an_avif_described_as_display_p3_is_converted_too():
    """Pillow's AVIF plugin does not report the colour box; libheif reads it from the header."""
    data = encoded(Image.new("RGB", (40, 32), (234, 51, 35)), "AVIF", quality=100)
    box = data.find(b"colrnclx") + 8   # the first two bytes of an nclx box are its primaries' code
    assert data[box:box + 2] == (1).to_bytes(2, "big")
    untouched = load_image(data)
    assert untouched.notes == []
    described = load_image(data[:box] + (12).to_bytes(2, "big") + data[box + 2:])
    assert np.abs(np.asarray(described.image.getpixel((5, 5)), int) - (255, 0, 0)).max() <= 3
    assert described.notes == ["colours converted to sRGB from its colour description (Display P3)"]


def test_an_icc_profile_wins_over_a_colour_description():
    picture = Image.new("RGB", (16, 16), (234, 51, 35))
    picture.info["icc_profile"] = display_p3()
    picture.info["nclx_profile"] = {"color_primaries": 9, "transfer_characteristics": PQ_CURVE}
    loaded = load_image(picture)
    assert np.abs(np.asarray(loaded.image.getpixel((3, 3)), int) - (255, 0, 0)).max() <= 4
    assert not any("HDR" in note for note in loaded.notes)


@pytest.mark.parametrize("description", [
    {"color_primaries": 12, "transfer_characteristics": 13},   # no chromaticities
    {"color_primaries": 99, "transfer_characteristics": 13, **{f"color_primary_{c}_{a}": 0.3 for c in
                                                                  ("red", "green", "blue", "white") for a in "xy"}},
    {"color_primaries": 1, "transfer_characteristics": 17, **{f"color_primary_{c}_{a}": v for c, (x, y) in
     zip(("red", "green", "blue", "white"), (*SRGB_PRIMARIES, (0.3127, 0.329))) for a, v in (("x", x), ("y", y))}},
], ids=["no chromaticities", "primaries that span nothing", "an unknown curve"])
def test_a_colour_description_that_cannot_be_used_is_reported(description):
    picture = Image.new("RGB", (16, 16), (234, 51, 35))
    picture.info["nclx_profile"] = description
    loaded = load_image(picture)
    assert loaded.image.getpixel((3, 3)) == (234, 51, 35)
    assert loaded.notes == ["its colour description could not be used, so its colours were taken as sRGB"]
