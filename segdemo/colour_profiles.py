"""Bring an upload's colours into sRGB, the space CamVid's frames (and so the networks) live in.

A photo's pixel values mean what its embedded ICC profile says they mean. iPhones tag theirs Display P3, cameras
offer Adobe RGB, print workflows save CMYK with a press profile. Read as if they were sRGB, a Display P3 photo
looks washed out, an Adobe RGB one more so, and a CMYK one converted by formula has the wrong colours: the network
would see a different picture from the one the browser shows the visitor beside its result. So the profile is
applied with littlecms (Pillow's ImageCms, bundled with Pillow's wheels), as a colour-managed browser applies it.

Most profiled uploads are already sRGB (cameras and Android phones embed an sRGB profile): a probe of 729 colours
through the transform finds those, and they are left exactly as stored, without the full-image transform (about
a quarter of a second for a 12 MP photo on this project's CPU).
"""

from __future__ import annotations

import io
import re

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
