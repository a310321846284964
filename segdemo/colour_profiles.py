"""Bring an upload's colours into sRGB, the space CamVid's frames (and so the networks) live in.

A photo's pixel values mean what its embedded ICC profile says they mean. iPhones tag theirs Display P3, cameras
offer Adobe RGB, print workflows save CMYK with a press profile. Read as if they were sRGB, a Display P3 photo
looks washed out, an Adobe RGB one more so, and a CMYK one converted by formula has the wrong colours: the network
would see a different picture from the one the browser shows the visitor beside its result. So the profile is
applied with littlecms (Pillow's ImageCms, bundled with Pillow's wheels), as a colour-managed browser applies it.

Most profiled uploads are already sRGB (cameras and Android phones embed an sRGB profile): a probe of 729 colours
through the transform finds those, and they are left exactly as stored, without the full-image transform (about
a quarter of a second for a 12 MP photo on this project's CPU).

HEIC and AVIF pictures may describe their colours without a profile, by the code points of ITU-T H.273 (CICP, the
"nclx" colour box): primaries, transfer curve and matrix. libheif has already applied the matrix when it decodes;
:func:`from_cicp` applies the primaries and the curve, by the textbook (to linear light, a 3x3 matrix through XYZ,
back to sRGB's curve), since littlecms builds no profile from chromaticities through Pillow. Most such pictures say
BT.709 primaries with sRGB's curve, which is sRGB, and are left as stored. An HDR curve (PQ, HLG) would need tone
mapping, which this demo does not do: the picture is used as decoded, and the note says so.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
from PIL import Image, ImageCms

_PROFILE_MODES = ("RGB", "CMYK")  # the image modes a profile is applied to
_UNREADABLE = "its colour profile could not be used, so its colours were taken as sRGB"
# Relative colorimetric with black-point compensation, what photo editors default to: a matrix profile (Display P3,
# Adobe RGB) has no other intent, a v4 sRGB profile's perceptual tables would move an sRGB picture's colours, and a
# press profile's darkest black becomes sRGB's black instead of a dark grey.
_INTENT = ImageCms.Intent.RELATIVE_COLORIMETRIC
_SRGB_TOLERANCE = 1  # levels: what rounding in a transform between two descriptions of sRGB moves a value by


def _probe() -> Image.Image:
    """A lattice of 9 levels a channel, 729 RGB colours in one row."""
    levels = np.linspace(0, 255, 9).round().astype(np.uint8)
    grid = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), axis=-1).reshape(1, -1, 3)
    return Image.fromarray(np.ascontiguousarray(grid), mode="RGB")


_PROBE = _probe()


def profile_name(profile: ImageCms.ImageCmsProfile) -> str:
    """The profile's description, cut to plain characters: it is the uploader's text and goes into Markdown."""
    try:
        text = ImageCms.getProfileDescription(profile)
    except Exception:
        return "embedded"
    plain = re.sub(r"[^A-Za-z0-9 .,()+/-]", "", text).strip()
    return plain[:48].strip() or "embedded"


def to_srgb(image: Image.Image, icc_profile: bytes | None) -> tuple[Image.Image, list[str]]:
    """An "RGB" image in sRGB from an "RGB" or "CMYK" one and its embedded profile; the notes say what was done.

    Without a profile, or with one that is sRGB already, the image is returned as it is (a CMYK image still needs
    :func:`segdemo.images.to_rgb`). A profile that cannot be read, or is not of the image's colour space, is
    reported and not used.
    """
    if not icc_profile or image.mode not in _PROFILE_MODES:
        return image, []
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        # a new sRGB profile each time (0.1 ms): littlecms reads a profile's tags lazily, so one handle shared by
        # the server's request threads could be read by two of them at once
        srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
        transform = ImageCms.buildTransform(profile, srgb, image.mode, "RGB", renderingIntent=_INTENT,
                                            flags=ImageCms.Flags.BLACKPOINTCOMPENSATION)
    except Exception:  # OSError for bytes that are no profile, PyCMSError for a profile of another colour space
        return image, [_UNREADABLE]
    if image.mode == "RGB" and _is_srgb(transform):
        return image, []
    try:
        converted = ImageCms.applyTransform(image, transform)
    except Exception:
        return image, [_UNREADABLE]
    source = "CMYK colours" if image.mode == "CMYK" else "colours"
    return converted, [f"{source} converted to sRGB from its colour profile ({profile_name(profile)})"]


def _is_srgb(transform: ImageCms.ImageCmsTransform) -> bool:
    """Whether the transform to sRGB leaves every probe colour within rounding of where it was."""
    after = ImageCms.applyTransform(_PROBE, transform)
    moved = np.abs(np.asarray(after, np.int16) - np.asarray(_PROBE, np.int16))
    return int(moved.max()) <= _SRGB_TOLERANCE


# CICP (ITU-T H.273) code points, as libheif reports an nclx box: pillow_heif's info["nclx_profile"]
_PRIMARIES_NAMES = {1: "BT.709", 9: "BT.2020", 11: "DCI-P3", 12: "Display P3"}
_SRGB_LIKE_CURVES = {1, 2, 6, 13, 14, 15}  # sRGB's own curve (13), BT.709's family, unspecified: decoded as sRGB
_POWER_CURVES = {4: 2.2, 5: 2.8, 8: 1.0}  # display gamma 2.2 and 2.8, linear
_HDR_CURVES = {16: "PQ", 18: "HLG"}
_SRGB_XY = ((0.64, 0.33), (0.30, 0.60), (0.15, 0.06))
_D65_XY = (0.3127, 0.3290)
_BRADFORD = np.array([[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]])
_UNDESCRIBED = "its colour description could not be used, so its colours were taken as sRGB"
_ROWS_AT_ONCE = 256  # rows converted at a time: a 12 MP picture would otherwise take 0.4 GB of float copies


def from_cicp(image: Image.Image, nclx: Mapping[str, Any] | None) -> tuple[Image.Image, list[str]]:
    """An "RGB" image in sRGB from one whose colours an nclx box describes; the notes say what was done.

    Pictures described as sRGB (BT.709 primaries, an sRGB-like curve) come back as they are, with no note."""
    if not nclx or image.mode != "RGB":
        return image, []
    try:
        transfer = int(nclx.get("transfer_characteristics", 2))
        code = int(nclx.get("color_primaries", 2))
        primaries = tuple((float(nclx[f"color_primary_{c}_x"]), float(nclx[f"color_primary_{c}_y"]))
                          for c in ("red", "green", "blue"))
        white = (float(nclx["color_primary_white_x"]), float(nclx["color_primary_white_y"]))
        to_srgb_linear = _matrix_to_srgb(primaries, white)
    except (KeyError, TypeError, ValueError, OverflowError, np.linalg.LinAlgError):
        return image, [_UNDESCRIBED]
    if transfer in _HDR_CURVES:
        return image, [f"an HDR picture ({_HDR_CURVES[transfer]}): its colours are shown without tone mapping and "
                       "may look flat"]
    if transfer not in _SRGB_LIKE_CURVES and transfer not in _POWER_CURVES:
        return image, [_UNDESCRIBED]
    gamma = _POWER_CURVES.get(transfer)
    if gamma is None and np.allclose(to_srgb_linear, np.eye(3), atol=2e-3):
        return image, []  # sRGB already
    decode = np.arange(256, dtype=np.float64) / 255
    decode = _srgb_to_linear(decode) if gamma is None else decode**gamma
    converted = _apply(np.asarray(image), decode.astype(np.float32), to_srgb_linear.astype(np.float32))
    name = _PRIMARIES_NAMES.get(code, f"primaries code {code}")
    curve = "" if gamma is None else f", {'linear' if gamma == 1.0 else f'gamma {gamma}'}"
    return Image.fromarray(converted, "RGB"), [f"colours converted to sRGB from its colour description ({name}{curve})"]


def _matrix_to_srgb(primaries: tuple[tuple[float, float], ...], white: tuple[float, float]) -> np.ndarray:
    """Linear RGB in these primaries and white to linear sRGB: to XYZ, Bradford to D65, then sRGB's inverse."""
    source = _rgb_to_xyz(primaries, white)
    adapt = np.linalg.inv(_BRADFORD) @ np.diag((_BRADFORD @ _xyz(*_D65_XY)) / (_BRADFORD @ _xyz(*white))) @ _BRADFORD
    matrix = np.linalg.inv(_rgb_to_xyz(_SRGB_XY, _D65_XY)) @ adapt @ source
    if not np.all(np.isfinite(matrix)):
        raise ValueError("primaries that span no colour space")
    return matrix


def _xyz(x: float, y: float) -> np.ndarray:
    return np.array([x / y, 1.0, (1.0 - x - y) / y])


def _rgb_to_xyz(primaries: tuple[tuple[float, float], ...], white: tuple[float, float]) -> np.ndarray:
    """The columns are the XYZ of full red, green and blue, scaled so that their sum is the white (Y = 1)."""
    columns = np.stack([_xyz(*xy) for xy in primaries], axis=1)
    return columns * np.linalg.solve(columns, _xyz(*white))


def _srgb_to_linear(value: np.ndarray) -> np.ndarray:
    return np.where(value <= 0.04045, value / 12.92, ((value + 0.055) / 1.055) ** 2.4)


def _apply(rgb: np.ndarray, decode: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Decode each channel with the lookup table, change primaries, clip to sRGB's gamut and encode with its curve."""
    levels = np.arange(65536, dtype=np.float64) / 65535  # fine enough that sRGB's steep foot rounds right
    encode = np.where(levels <= 0.0031308, levels * 12.92, 1.055 * levels ** (1 / 2.4) - 0.055)
    encode = np.rint(encode * 255).astype(np.uint8)
    out = np.empty_like(rgb)
    for top in range(0, rgb.shape[0], _ROWS_AT_ONCE):
        linear = decode[rgb[top:top + _ROWS_AT_ONCE]] @ matrix.T
        np.clip(linear, 0.0, 1.0, out=linear)
        out[top:top + _ROWS_AT_ONCE] = encode[np.rint(linear * 65535).astype(np.intp)]
    return out
