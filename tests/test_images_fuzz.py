"""Fuzzing the upload decoder: whatever comes in, only segdemo's own ImageError may come out."""

from __future__ import annotations

import io

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from segdemo.images import ImageError, load_image

MODES = ["1", "L", "P", "RGB", "RGBA", "LA", "CMYK", "I", "F", "I;16", "YCbCr"]
FORMATS = {"PNG": ("1", "L", "P", "RGB", "RGBA", "LA", "I;16"), "TIFF": tuple(MODES), "JPEG": ("L", "RGB", "CMYK")}


def _check(source) -> None:
    try:
        loaded = load_image(source)
    except ImageError as error:
        assert str(error) and "Traceback" not in str(error)
        return
    assert loaded.image.mode == "RGB" and min(loaded.image.size) >= 1


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096))
def test_random_bytes_only_raise_image_error(data):
    _check(data)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(sorted(FORMATS)),
    st.data(),
    st.integers(1, 64),
    st.integers(1, 64),
    st.integers(0, 2**32 - 1),
    st.integers(0, 200),
)
def test_random_valid_images_decode_or_are_refused_clearly(fmt, data, width, height, seed, cut):
    mode = data.draw(st.sampled_from(FORMATS[fmt]))
    rng = np.random.default_rng(seed)
    image = Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8)).convert(mode)
    buffer = io.BytesIO()
    try:
        image.save(buffer, format=fmt)
    except (OSError, ValueError, KeyError):
        return  # this PIL build cannot write that combination
    payload = buffer.getvalue()
    _check(payload)
    if cut:
        _check(payload[: max(1, len(payload) - cut)])  # truncated on top
