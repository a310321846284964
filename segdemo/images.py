"""Decode an uploaded image safely and turn it into an RGB PIL image.

Everything a visitor uploads goes through :func:`load_image`. Uploads are
untrusted, so the rules are:

* Only the formats in :data:`FORMATS` are opened. Pillow knows dozens more,
  some of them obscure and one (EPS) that runs Ghostscript; none is needed here.
  HEIC, what iPhones (and many Android phones) save photos as, is read by
  ``pillow_heif`` (libheif).
* Size is checked twice before any pixel is decoded: the file against
  :data:`MAX_FILE_BYTES`, and the width x height that the header claims
  against ``max_pixels``, because a few kilobytes of PNG can claim gigapixels
  (a decompression bomb). Large JPEGs are decoded at 1/2, 1/4 or 1/8 scale
  instead of being refused, which libjpeg does without the full-size buffer.
* Every failure is an :class:`ImageError` whose message can be shown to the
  visitor as it is; Pillow's own exceptions never escape.

The result is always a new ``"RGB"`` image, upright, in sRGB (an embedded
colour profile is applied: :mod:`segdemo.colour_profiles`), with plain-English
notes on whatever was changed on the way (transparency, bit depth, frames,
colour profile...).
"""

from __future__ import annotations

import io
import logging
import math
import os
import re
import stat
import warnings
from dataclasses import dataclass, field
from typing import IO, NamedTuple, Union

import numpy as np
from PIL import Image, ImageOps

from .colour_profiles import from_cicp, to_srgb

log = logging.getLogger(__name__)

try:  # HEIC/HEIF; without it only that format is lost (_readable_formats leaves it out)
    import pillow_heif
except ImportError:  # pragma: no cover - it is in requirements.txt
    pillow_heif = None
else:  # the primary image alone: no thumbnails, depth maps or auxiliary images are read
    pillow_heif.register_heif_opener(thumbnails=False, depth_images=False, aux_images=False)

MAX_PIXELS = 60_000_000
"""The default pixel cap, 60 megapixels (e.g. 12000x5000).

Decoded as RGB that is 180 MB, plus working copies: as much as a small Space
should spend on one upload. Phone photos above it (a 108 MP 12000x9000) are
JPEGs and get decoded at a reduced scale; any other image above it is refused.
Pillow's own bomb check refuses anything over ``2 * Image.MAX_IMAGE_PIXELS``
(about 179 MP) before we see its size, so a larger ``max_pixels`` stops there.
"""

MAX_FILE_BYTES: int = 50 * 1024 * 1024
"""Files larger than this are refused before they are opened."""

FORMATS: tuple[str, ...] = ("PNG", "JPEG", "MPO", "WEBP", "GIF", "BMP", "TIFF", "AVIF", "HEIF")
"""Pillow format names we agree to open, in the order tried; MPO is what many phone JPEGs are, HEIF (HEIC) what
iPhones save. AVIF comes before HEIF: both are HEIF containers, and pillow_heif would claim some AVIF files it cannot
decode (its wheels have no AV1 decoder; Pillow's AVIF plugin has one)."""

BROWSER_FORMATS: frozenset[str] = frozenset({"PNG", "JPEG", "MPO", "WEBP", "GIF", "BMP", "AVIF"})
"""Of FORMATS, those that Chrome, Firefox and Safari all draw; Safari alone draws TIFF and HEIF."""

MAX_FRAMES_COUNTED = 100
"""A multi-frame file's frames are counted up to this many, for its note: Pillow walks a TIFF's pages to count
them, in a time that grows as their square (100,000 pages of 42 bytes, a 4.2 MB file, took 42 s; 200,000, 173 s),
and a GIF's one by one."""

MAX_JPEG_SCANS = 100
"""A JPEG of more scans is refused before it is decoded. libjpeg decodes a progressive JPEG scan by scan, each a
pass over the whole picture (6 ms each at 16 megapixels here): a 187 kB file of 6,000 tiny scans held the only
inference slot for 25 s, and 50 MB of them would for hours. A progressive JPEG has about 10 (libjpeg's default
script has 10, mozjpeg's up to 13; a phone's MPO, two pictures of them and their previews)."""

NOT_AN_IMAGE = "This file is not an image we can read (PNG, JPEG, WebP, HEIC, AVIF, BMP, GIF, TIFF)."
CORRUPT = "The image file is truncated or corrupt."

Source = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, Image.Image, np.ndarray]

_ORIENTATION_TAG = 0x0112
_ORIENTATIONS = {
    2: "mirrored left to right",
    3: "rotated 180°",
    4: "flipped upside down",
    5: "mirrored and rotated 90°",
    6: "rotated 90° clockwise",
    7: "mirrored and rotated 90°",
    8: "rotated 90° counter-clockwise",
}
# 8-bit modes that Pillow scales down with their colours as they are (RGBA premultiplied): scaled before conversion.
# Palette, 16-bit and float pictures are converted first (Pillow scales a palette's indices as the nearest one), and
# so is a picture with a transparent colour key (a PNG's tRNS): scaled first, its key would blend into its neighbours
# (dark fringes where it meets other colours) before it is made transparent.
_SHRUNK_BEFORE_CONVERSION = ("RGB", "RGBA", "CMYK", "L", "LA")
_ALPHA_MODES = ("RGBA", "RGBa", "LA", "La", "PA")
_PLAIN_MODES = ("1", "L", "RGBX", "CMYK", "YCbCr", "LAB", "HSV")
_RGB_MODES = ("RGB", "RGBA", "RGBa", "RGBX", "P", "YCbCr")  # modes whose embedded colour profile is an RGB one
_HIGH_BIT_NOTES = {"I": "32-bit integer image scaled to 8 bits", "F": "floating-point image scaled to 8 bits"}


class ImageError(ValueError):
    """An upload that cannot be used; str(error) is a clear message for a visitor (no traceback text)."""


@dataclass
class LoadedImage:
    image: Image.Image  # mode "RGB", EXIF orientation applied
    original_mode: str  # the upload's Pillow mode ("RGBA", "I;16", "CMYK", "P"...), or e.g. "uint16 array"
    original_size: tuple[int, int]  # (width, height) as displayed, before any downscaling
    notes: list[str] = field(default_factory=list)  # what was changed, in words a visitor understands


def load_image(source: Source, max_pixels: int = MAX_PIXELS, max_side: int | None = None) -> LoadedImage:
    """Decode a path, bytes, PIL image or numpy array into an upright RGB image, or raise ImageError.

    ``max_side``: the longest side any use of the picture needs (the app's results are drawn at 2048 at most). A
    larger picture comes back scaled down to it (``original_size`` keeps the upload's), and an 8-bit one is scaled
    down as soon as it is decoded, before it is turned upright and its colours converted: converting a 12 MP phone
    photo from its Display P3 profile took 200 ms, where scaled down first it takes 55.
    """
    if isinstance(source, Image.Image):
        loaded = _from_pil(source, max_pixels, ours=False, max_side=max_side)
    elif isinstance(source, np.ndarray):
        loaded = _from_array(source, max_pixels)
    elif isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        _check_file_size(len(data))
        loaded = _decode(io.BytesIO(data), max_pixels, max_side)
    elif isinstance(source, (str, os.PathLike)):
        loaded = _from_path(os.fspath(source), max_pixels, max_side)
    else:
        raise TypeError(f"load_image() takes a path, bytes, a PIL image or a numpy array, not {type(source).__name__}")
    if max_side is not None and max(loaded.image.size) > max_side:  # a mode not scaled while decoding (16-bit...)
        loaded.image = shrink_to(loaded.image, max_side)
    return loaded


def needs_loading(source: Source) -> bool:
    """Whether ``source`` must go through ``load_image`` to be an upright RGB picture: False only for a PIL image in
    RGB mode with no EXIF rotation to apply (``load_image``'s own result among them)."""
    if not isinstance(source, Image.Image) or source.mode != "RGB":
        return True
    try:
        return source.getexif().get(_ORIENTATION_TAG) in _ORIENTATIONS
    except Exception:  # unreadable EXIF: load_image too would take the picture as it is stored
        return False


def size_within(width: int, height: int, max_side: int) -> tuple[int, int]:
    """(width, height) as they are, or scaled down so that the long side is ``max_side``: the size of every result
    of a larger picture (``inference.output_size``), so that maps and picture line up pixel for pixel."""
    longest = max(width, height)
    if longest <= max_side:
        return width, height
    scale = max_side / longest
    return max(1, round(width * scale)), max(1, round(height * scale))


def shrink_to(image: Image.Image, max_side: int) -> Image.Image:
    """``image`` at ``size_within`` (itself if it fits): bilinear, after a box reduction to within 3x."""
    size = size_within(*image.size, max_side)
    return image if size == image.size else image.resize(size, Image.BILINEAR, reducing_gap=3.0)


def to_rgb(image: Image.Image) -> tuple[Image.Image, list[str]]:
    """Convert any Pillow mode to a new "RGB" image; the notes say what the visitor would not expect."""
    mode = image.mode
    if mode in _ALPHA_MODES or mode == "P" or (mode in ("L", "RGB") and "transparency" in image.info):
        # P always goes through RGBA: its palette may carry alpha even without info["transparency"];
        # L and RGB carry a transparent colour key there (PNG tRNS).
        if mode == "La":  # premultiplied; Pillow converts it only to LA
            image = image.convert("LA")
        return _on_white(image.convert("RGBA"))
    if mode == "RGB":
        return image.copy(), []
    if mode in _PLAIN_MODES:
        notes = ["CMYK colours converted to RGB (they may look slightly different)"] if mode == "CMYK" else []
        return image.convert("RGB"), notes
    if mode.startswith("I;16") or mode in _HIGH_BIT_NOTES:
        grey, notes = _scale_to_uint8(np.asarray(image))
        notes.insert(0, _HIGH_BIT_NOTES.get(mode, "16-bit image scaled to 8 bits"))
        return Image.fromarray(grey).convert("RGB"), notes
    try:
        return image.convert("RGB"), []
    except (ValueError, OSError) as exc:
        raise ImageError(f"Images in colour mode {mode} are not supported.") from exc


def _from_path(path: str, max_pixels: int, max_side: int | None = None) -> LoadedImage:
    """Check that the path is a regular file of a sensible size before Pillow reads a byte of it."""
    try:
        info = os.stat(path)
    except OSError as exc:
        raise ImageError("The uploaded file could not be found.") from exc
    if not stat.S_ISREG(info.st_mode):  # a directory, or a FIFO that would block open()
        raise ImageError("The upload is not a file.")
    _check_file_size(info.st_size)
    try:
        fp = open(path, "rb")
    except OSError as exc:
        raise ImageError("The uploaded file could not be opened.") from exc
    with fp:
        return _decode(fp, max_pixels, max_side)


def _check_file_size(size: int) -> None:
    if size == 0:
        raise ImageError("The file is empty.")
    if size > MAX_FILE_BYTES:  # read at call time so that tests and apps can lower it
        raise ImageError(f"The file is {_format_bytes(size)}; the limit is {_format_bytes(MAX_FILE_BYTES)}.")


def _decode(fp: IO[bytes], max_pixels: int, max_side: int | None = None) -> LoadedImage:
    """Open lazily (header only), then hand over to _from_pil, which checks the size before decoding."""
    # Pillow warns between MAX_IMAGE_PIXELS and twice that; we make our own decision on size, and a
    # warning turned into an error (python -W error) must not bypass it. Only this category is ignored,
    # so the usual non-thread-safety of catch_warnings can at worst silence this one warning elsewhere.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(fp, formats=_readable_formats())
        except Image.DecompressionBombError as exc:
            raise ImageError(_too_large_from_pillow(exc, max_pixels)) from exc
        except Image.UnidentifiedImageError as exc:
            raise ImageError(NOT_AN_IMAGE) from exc
        except MemoryError as exc:
            raise ImageError("The image is too large to decode on this server.") from exc
        except Exception as exc:  # plugins raise SyntaxError, struct.error, ValueError... on bad headers
            raise ImageError(CORRUPT) from exc
        with image:
            if image.format in ("JPEG", "MPO") and (scans := _jpeg_scans(fp)) > MAX_JPEG_SCANS:
                raise ImageError(f"This JPEG is made of {scans:,} scans; this server decodes JPEGs of up to "
                                 f"{MAX_JPEG_SCANS} (an ordinary one has 1 to about 13): save it again as an "
                                 "ordinary JPEG.")
            if image.format == "AVIF" and "icc_profile" not in image.info:
                image.info["nclx_profile"] = _avif_colour_description(fp)
            return _from_pil(image, max_pixels, ours=True, max_side=max_side)


def _jpeg_scans(fp: IO[bytes]) -> int:
    """How many scans (SOS markers, FF DA) a JPEG file holds, read without decoding it: in a JPEG's coded data every
    FF byte is followed by 00 or a restart marker, so FF DA is a scan's start, or one of an embedded preview's."""
    position = fp.tell()
    fp.seek(0)
    scans, tail = 0, b""
    while chunk := fp.read(1 << 20):
        data = tail + chunk
        scans += data.count(b"\xff\xda")
        tail = data[-1:]  # a marker cut in two by the read
    fp.seek(position)
    return scans


def _avif_colour_description(fp: IO[bytes]) -> dict | None:
    """An AVIF's nclx colour box, which Pillow's AVIF plugin does not report: libheif parses the header (its
    wheels decode no AV1, and need not). None where there is none, or it cannot be read."""
    if pillow_heif is None:  # pragma: no cover - it is in requirements.txt
        return None
    position = fp.tell()
    try:
        fp.seek(0)
        return pillow_heif.open_heif(fp, convert_hdr_to_8bit=True).info.get("nclx_profile")
    except Exception:  # a header libheif refuses: the picture is still taken as sRGB, as before
        return None
    finally:
        fp.seek(position)


class Header(NamedTuple):
    format: str  # a name in FORMATS
    size: tuple[int, int]  # (width, height) as stored


def read_header(path: str | os.PathLike[str]) -> Header | None:
    """The format and size of the image file at ``path``, from its header alone; None if we would not open it.
    Cheap enough to ask of every upload: no pixel is decoded, and a FIFO is not opened."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(os.fspath(path), formats=_readable_formats()) as image:
                return Header(image.format, image.size)
    except Exception:  # not an image, a bomb, a bad header: load_image will say which
        return None


def within_limits(header: Header, max_pixels: int = MAX_PIXELS) -> bool:
    """Whether load_image would take a file of this header's size (a JPEG over the limit is decoded smaller)."""
    width, height = header.size
    return header.format in ("JPEG", "MPO") or width * height <= max_pixels


def _readable_formats() -> tuple[str, ...]:
    """FORMATS that this Pillow build can open: naming an absent plugin makes Image.open raise KeyError."""
    Image.init()
    return tuple(name for name in FORMATS if name in Image.OPEN)


def _from_pil(image: Image.Image, max_pixels: int, ours: bool, max_side: int | None = None) -> LoadedImage:
    """Check the size, decode, scale down to ``max_side``, turn upright, convert; ``ours`` says whether we opened it
    (and may draft it)."""
    original_mode = image.mode
    icc_profile = image.info.get("icc_profile")  # read before any transpose, which need not carry it
    nclx = image.info.get("nclx_profile")  # HEIC and AVIF: colours described by code points instead (CICP)
    width, height = image.size
    if width <= 0 or height <= 0:
        raise ImageError(f"The image is empty ({width}x{height} pixels).")
    notes = _frame_notes(image)

    if width * height > max_pixels:
        if not (ours and _draft_to_fit(image, max_pixels)):
            raise ImageError(_too_large(width, height, max_pixels))
        notes.append(
            f"downscaled from {width}x{height} to {image.width}x{image.height} while decoding "
            f"(the limit is {max_pixels:,} pixels)"
        )

    try:
        image.load()  # force full decoding here, so that truncation is caught here
    except Image.DecompressionBombError as exc:
        raise ImageError(_too_large_from_pillow(exc, max_pixels)) from exc
    except MemoryError as exc:
        raise ImageError("The image is too large to decode on this server.") from exc
    except Exception as exc:  # OSError("image file is truncated"), SyntaxError, zlib errors, EOFError...
        raise ImageError(CORRUPT) from exc
    if image.width * image.height > max_pixels:  # a plugin that grew the image while loading
        raise ImageError(_too_large(image.width, image.height, max_pixels))

    if max_side is not None and image.mode in _SHRUNK_BEFORE_CONVERSION and "transparency" not in image.info:
        # its long side is the same whichever way up it turns; the scaled copy keeps the EXIF data in its info
        image = shrink_to(image, max_side)
    upright, orientation = _apply_orientation(image)
    # libheif turns a HEIF image upright while decoding and pillow_heif then resets its EXIF orientation to 1: the
    # size above is already upright, and only this key says that it was turned (as a JPEG from the same phone is)
    turned_while_decoding = image.info.get("original_orientation") if image.format == "HEIF" else None
    if orientation in _ORIENTATIONS or turned_while_decoding in _ORIENTATIONS:
        turned = orientation if orientation in _ORIENTATIONS else turned_while_decoding
        notes.append(f"rotated upright from its EXIF orientation ({_ORIENTATIONS[turned]})")
    elif orientation == -1:
        notes.append("its EXIF data could not be read, so it is shown as stored")

    try:
        rgb, mode_notes = _to_srgb_rgb(upright, icc_profile, nclx)
    except ImageError:
        raise
    except MemoryError as exc:
        raise ImageError("The image is too large to decode on this server.") from exc
    except Exception as exc:  # a decoded image with inconsistent internals (a broken palette...)
        # or a bug in segdemo's own conversion: the visitor is told the file is damaged, the log says what raised
        log.warning("a decoded %s image could not be converted to RGB: %s: %s", original_mode, type(exc).__name__,
                    str(exc)[:200])
        raise ImageError(CORRUPT) from exc
    swapped = orientation in (5, 6, 7, 8)
    return LoadedImage(
        image=rgb,
        original_mode=original_mode,
        original_size=(height, width) if swapped else (width, height),
        notes=notes + mode_notes,
    )


def _to_srgb_rgb(
    image: Image.Image, icc_profile: bytes | None, nclx: dict | None = None
) -> tuple[Image.Image, list[str]]:
    """:func:`to_rgb`, with the embedded colour profile applied (RGB and CMYK pictures; grey ones keep theirs), or,
    without one, a HEIC's or AVIF's colour description (an ICC profile, where a file has both, is the exact one)."""
    if icc_profile and image.mode == "CMYK":
        converted, notes = to_srgb(image, icc_profile)
        if converted.mode == "RGB":
            return converted, notes
        rgb, formula_notes = to_rgb(image)  # the profile was unusable: the formula, and both notes
        return rgb, notes + formula_notes
    rgb, notes = to_rgb(image)
    if icc_profile and image.mode in _RGB_MODES:
        rgb, profile_notes = to_srgb(rgb, icc_profile)
        notes = notes + profile_notes
    elif nclx and image.mode in _RGB_MODES:
        rgb, description_notes = from_cicp(rgb, nclx)
        notes = notes + description_notes
    return rgb, notes


def _frame_notes(image: Image.Image) -> list[str]:
    """Say that only one frame of an animation or multi-page file is used (MPO extras are previews: silent)."""
    position = image.tell()
    try:
        frames = _frames(image)
    except Exception:  # a broken later frame: the current one may still be fine
        frames = 1
    try:
        image.seek(position)  # counting leaves the file at the last frame it reached, a failure anywhere
    except Exception as exc:
        raise ImageError(CORRUPT) from exc
    if frames <= 1 or image.format == "MPO":
        return []
    kind, unit = {
        "GIF": ("animated GIF", "frames"),
        "PNG": ("animated PNG", "frames"),
        "WEBP": ("animated WebP", "frames"),
        "TIFF": ("multi-page TIFF", "pages"),
    }.get(image.format or "", ("multi-frame image", "frames"))
    if image.format == "HEIF":  # pillow_heif opens the picture the file names as its primary one, wherever it lies
        return [f"HEIC file of {frames} pictures: its primary picture ({position + 1} of {frames}) was used"]
    counted = f"{frames}" if frames <= MAX_FRAMES_COUNTED else f"over {MAX_FRAMES_COUNTED}"
    which = f"the first of {counted} {unit}" if position == 0 else f"{unit[:-1]} {position + 1} of {counted}"
    return [f"{kind}: {which} was used"]


def _frames(image: Image.Image) -> int:
    """How many frames ``image`` has, counted no further than ``MAX_FRAMES_COUNTED`` + 1 (a HEIC's, whose
    container lists them, whole). Leaves the file at some frame: the caller seeks back."""
    if image.format == "HEIF" or not getattr(image, "is_animated", False):  # is_animated looks at frame 2 at most
        return int(getattr(image, "n_frames", 1))
    frames = 1
    while frames <= MAX_FRAMES_COUNTED:
        try:
            image.seek(frames)
        except EOFError:
            break
        frames += 1
    return frames


def _draft_to_fit(image: Image.Image, max_pixels: int) -> bool:
    """Ask libjpeg for a 1/2, 1/4 or 1/8 scale decode that fits; False for other formats or if none fits."""
    if image.format not in ("JPEG", "MPO"):
        return False
    width, height = image.size
    for scale in (2, 4, 8):
        if math.ceil(width / scale) * math.ceil(height / scale) <= max_pixels:
            break
    else:
        return False
    try:
        # draft() picks the scale from size[i] // requested[i], so ask for the floor, not the ceiling.
        image.draft(image.mode, (max(1, width // scale), max(1, height // scale)))
    except Exception:
        return False
    return image.width * image.height <= max_pixels


def _apply_orientation(image: Image.Image) -> tuple[Image.Image, int | None]:
    """ImageOps.exif_transpose, plus which orientation it applied (None: none; -1: unreadable EXIF)."""
    try:
        orientation = image.getexif().get(_ORIENTATION_TAG)  # also reads XMP, like exif_transpose
        if orientation not in _ORIENTATIONS:
            return image, None  # 1, absent or nonsense: nothing to do, and no copy
        upright = ImageOps.exif_transpose(image)
    except Exception:  # malformed EXIF must not cost the visitor the whole image
        return image, -1
    return upright, orientation


def _on_white(rgba: Image.Image) -> tuple[Image.Image, list[str]]:
    """Composite on white: the network has never seen transparency, and black would read as shadow."""
    alpha = rgba.getchannel("A")
    rgb = rgba.convert("RGB")
    if alpha.getextrema()[0] == 255:
        return rgb, []
    background = Image.new("RGB", rgba.size, (255, 255, 255))
    background.paste(rgb, mask=alpha)
    return background, ["transparent areas were composited on white"]


def _scale_to_uint8(values: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Map any numeric array to uint8; the notes mention replaced NaN/inf.

    Integers are stretched from their actual min..max (a 16-bit depth map rarely
    spans 0..65535). Floats already within 0..1 are read as 0..1, the usual
    convention, and are stretched from min..max otherwise. A constant image has
    no range: zero stays black, anything else becomes mid-grey. NaN becomes the
    bottom of the range and +/-inf the ends.
    """
    is_float = values.dtype.kind == "f"
    data = values.astype(np.float64 if values.dtype == np.float64 else np.float32)  # a copy we may modify
    notes: list[str] = []
    finite = np.isfinite(data)
    all_finite = bool(finite.all())
    if not all_finite:
        notes.append("NaN or infinite pixel values were replaced")
        if not finite.any():
            return np.zeros(data.shape, np.uint8), notes
    lo = float(data.min(where=finite, initial=np.inf))
    hi = float(data.max(where=finite, initial=-np.inf))
    if is_float and lo >= 0.0 and hi <= 1.0:
        lo, hi = 0.0, 1.0
    if not all_finite:
        data[np.isnan(data)] = lo
        np.clip(data, lo, hi, out=data)
    if hi == lo:
        return np.full(data.shape, 0 if lo == 0 else 128, np.uint8), notes
    data -= lo
    data *= 255.0 / (hi - lo)
    np.rint(data, out=data)
    np.clip(data, 0, 255, out=data)
    return data.astype(np.uint8), notes


def _alpha_to_uint8(alpha: np.ndarray) -> np.ndarray:
    """Alpha is a fraction of full scale (0..1 for floats, 0..max for integers), never stretched."""
    if alpha.dtype.kind == "f":
        scaled = np.nan_to_num(alpha.astype(np.float64), nan=0.0)
    else:
        scaled = alpha.astype(np.float64) / np.iinfo(alpha.dtype).max
    return np.rint(np.clip(scaled, 0.0, 1.0) * 255).astype(np.uint8)


def _from_array(array: np.ndarray, max_pixels: int) -> LoadedImage:
    """HxW, HxWx1, HxWx3 or HxWx4 of bool, integers or floats; colour is scaled as in _scale_to_uint8."""
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise ImageError(f"An image array must be HxW, HxWx3 or HxWx4, not {'x'.join(map(str, array.shape))}.")
    height, width = array.shape[:2]
    if height == 0 or width == 0:
        raise ImageError(f"The image is empty ({width}x{height} pixels).")
    if width * height > max_pixels:
        raise ImageError(_too_large(width, height, max_pixels))
    channels = 1 if array.ndim == 2 else array.shape[2]
    original_mode = f"{array.dtype.name} array" + ("" if channels == 1 else f" with {channels} channels")

    notes: list[str] = []
    kind = array.dtype.kind
    if kind == "b":
        array = array.astype(np.uint8) * 255
    elif array.dtype != np.uint8:
        if kind not in "uif":
            raise ImageError(f"Image arrays of type {array.dtype.name} are not supported.")
        colour, notes = _scale_to_uint8(array if channels == 1 else array[:, :, :3])
        if kind == "f":
            notes.insert(0, "floating-point image scaled to 8 bits")
        else:
            notes.insert(0, f"{array.dtype.itemsize * 8}-bit image scaled to 8 bits")
        if channels == 4:
            colour = np.dstack([colour, _alpha_to_uint8(array[:, :, 3])])
        array = colour
    rgb, mode_notes = to_rgb(Image.fromarray(np.ascontiguousarray(array)))
    return LoadedImage(image=rgb, original_mode=original_mode, original_size=(width, height), notes=notes + mode_notes)


def _too_large(width: int, height: int, max_pixels: int) -> str:
    return (
        f"The image is too large: {width}x{height} is {width * height:,} pixels, "
        f"and the limit is {max_pixels:,} pixels. Please upload a smaller image."
    )


def _too_large_from_pillow(exc: Exception, max_pixels: int) -> str:
    """Pillow refused before telling us the size; its message has the pixel count, if not the shape."""
    found = re.search(r"\((\d+) pixels\)", str(exc))
    size = f" ({int(found.group(1)):,} pixels)" if found else ""
    return f"The image is too large{size}; the limit is {max_pixels:,} pixels. Please upload a smaller image."


def _format_bytes(size: int) -> str:
    for unit, scale in (("MB", 1024**2), ("KB", 1024)):
        if size >= scale:
            return f"{size / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{size} bytes"
