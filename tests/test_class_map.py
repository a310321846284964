"""The class map a visitor downloads: class indices in a palette PNG, read back exactly."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from segdemo import visualize
from segdemo.classes import CAMVID_PALETTE


def saved_and_read(image: Image.Image) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    buffer.seek(0)
    return Image.open(buffer)


def test_the_indices_and_the_palette_survive_a_png_round_trip():
    labels = torch.from_numpy(np.random.default_rng(0).integers(0, 11, size=(37, 53)))
    read = saved_and_read(visualize.class_map(labels, CAMVID_PALETTE))
    assert read.mode == "P" and read.size == (53, 37)
    assert np.array_equal(np.asarray(read), labels.numpy())
    # a viewer shows the CamVid colours: the palette image converted to RGB is the colourised map
    assert np.array_equal(np.asarray(read.convert("RGB")), visualize.colorize(labels, CAMVID_PALETTE))


def test_more_classes_than_a_palette_holds_are_refused():
    with pytest.raises(ValueError, match="256"):
        visualize.class_map(np.zeros((4, 4), dtype=np.int64), [(0, 0, 0)] * 257)
