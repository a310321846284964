"""HEIC pictures for the tests, written with pillow-heif's encoder (the library the app decodes them with)."""

from __future__ import annotations

from pathlib import Path

import pillow_heif
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
STREET = ROOT / "examples" / "camvid_0006R0_f01290.jpg"
ORIENTATION = 0x0112
RED = (255, 0, 0)


def marked(size: tuple[int, int]) -> Image.Image:
    """White, with a red square in the top-left corner: which way up a picture was turned shows at a glance."""
    picture = Image.new("RGB", size, (255, 255, 255))
    picture.paste(RED, (0, 0, size[1] // 2, size[1] // 2))
    return picture


def write_heic_pictures(folder: Path) -> Path:
    """street.heic, turned_6.heic, three_primary_second.heic and half_transparent.heic, in ``folder``."""
    pillow_heif.register_heif_opener()
    with Image.open(STREET) as street:
        street.convert("RGB").resize((240, 180)).save(folder / "street.heic", quality=85)

    # what a phone held upright writes: pillow-heif stores EXIF orientation 6 as the container's rotation
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    marked((64, 32)).save(folder / "turned_6.heic", exif=exif.tobytes(), quality=95)

    # three pictures, the second of them the primary one (as a burst or an edited photo can be)
    blue, green, red = (Image.new("RGB", (48, 32), colour) for colour in ((0, 0, 255), (0, 200, 0), RED))
    blue.save(folder / "three_primary_second.heic", save_all=True, append_images=[green, red], primary_index=1,
              quality=95)

    # transparency: the left half clear, the right half opaque blue
    rgba = Image.new("RGBA", (48, 32), (0, 0, 255, 255))
    rgba.paste((0, 0, 0, 0), (0, 0, 24, 32))
    rgba.save(folder / "half_transparent.heic", quality=-1, chroma=444)
    return folder
