"""How wide a visitor's results are drawn: no wider than the page shows them (segdemo/page_widths.py)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from segdemo.inference import MAX_OUTPUT_SIDE
from segdemo.page_widths import MIN_DRAWN_WIDTH, PageWidths, drawn_width

FRAME = Path(__file__).resolve().parent.parent / "examples" / "camvid_0006R0_f01890.jpg"


@pytest.mark.parametrize("window, maps_a_row, drawn", [
    (1170, 1, 1170),  # a phone, 390 CSS px at 3 device pixels to one: Segment's overlay
    (1170, 2, MIN_DRAWN_WIDTH),  # its Compare maps, two a row, 585 wide: room to zoom in kept
    (1000, 1, MIN_DRAWN_WIDTH),
    (1920, 2, MIN_DRAWN_WIDTH),
    (3024, 2, 1512),  # a laptop's Retina screen
    (3024, 1, MAX_OUTPUT_SIDE),
    (1170.4, 1, 1171),  # up, never under what the screen shows
])
def test_results_are_drawn_as_wide_as_the_page_shows_them(window, maps_a_row, drawn):
    assert drawn_width(window, maps_a_row) == drawn


@pytest.mark.parametrize("window", [None, "", "wide", math.nan, math.inf, -390, 0, [1170]])
def test_no_width_or_a_bad_one_draws_results_at_full_size(window):
    assert drawn_width(window) == MAX_OUTPUT_SIDE


def test_each_session_keeps_its_own_width_and_the_oldest_are_forgotten():
    widths = PageWidths(limit=2)
    widths.note("phone", 1170)
    widths.note("laptop", 3024)
    widths.note(None, 500)  # no session: nothing to remember it by
    widths.note("laptop", "not a number")  # the width noted before stays
    assert widths.drawn_width("phone") == 1170 and widths.drawn_width("laptop", maps_a_row=2) == 1512
    assert widths.drawn_width("api") == widths.drawn_width(None) == MAX_OUTPUT_SIDE  # no page: full size
    widths.note("third", 1500)
    assert widths.drawn_width("phone") == MAX_OUTPUT_SIDE and widths.drawn_width("third") == 1500


@pytest.fixture(scope="module")
def service():
    from segdemo.service import SegmentationService
    from segdemo.zoo import load_zoo
    return SegmentationService(load_zoo())


def test_a_large_photo_is_drawn_no_wider_than_the_page_and_says_why(service, tmp_path):
    """Every picture of the result has the width asked for, the pixels a click reads too; the info line says why
    the results are smaller than the upload. Without a width (the API) the same photo comes back 2048 wide."""
    photo = tmp_path / "photo.jpg"
    with Image.open(FRAME) as frame:
        frame.convert("RGB").resize((4032, 3024), Image.Resampling.BICUBIC).save(photo, quality=90)
    narrow = service.segment(str(photo), "fcn8s_lite", 0.5, 1, 0, max_width=1170)
    assert narrow[7]["output_size"] == [1170, 878]
    assert "results shown at 1170x878, as wide as this page shows them (the upload is 4032x3024)" in narrow[6]
    with Image.open(narrow[0][0]) as picture, Image.open(narrow[0][1]) as overlay, Image.open(narrow[10]) as classes:
        assert picture.size == overlay.size == classes.size == (1170, 878)
    with np.load(narrow[-1].readouts[0][1]) as grid:  # what a click reads: at the size the maps are drawn
        assert grid["size"].tolist() == [1170, 878]
    full = service.compare(str(photo), 0.5, 1, 0)
    assert full[0] is not None
    with Image.open(full[10]) as classes:
        assert classes.size == (2048, 1536)
