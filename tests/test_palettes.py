"""The colour-blind-safe class colours: far enough apart for colour-blind eyes, close to CamVid's, and drawn by the
overlays, their keys, the legends and the ground-truth map alike when a visitor asks for them."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import load_benchmark_script
from segdemo.classes import (
    CAMVID_CLASSES,
    CAMVID_PALETTE,
    COLOUR_BLIND_SAFE_CHANGES,
    COLOUR_BLIND_SAFE_PALETTE,
    class_palette,
)

# The bar the safe palette keeps (CIEDE2000 between the closest two colours, benchmarks/colour_blind_palette.py):
# for a protanope and a deuteranope, where CamVid's palette had pairs at 2.7-3.9, at least 11.5 in flat colours
# (legends, keys, the ground truth with its void grey) and 8.5 on the overlay (0.55 over mid grey); for a tritanope
# and for normal vision, no pair closer than CamVid's own closest.
BAR = {("protan", "flat"): 11.5, ("deutan", "flat"): 11.5, ("protan", "overlay"): 8.5, ("deutan", "overlay"): 8.5}
MOVED = [CAMVID_CLASSES.index(name) for name in COLOUR_BLIND_SAFE_CHANGES]


@pytest.fixture(scope="module")
def cvd():
    return load_benchmark_script("colour_blind_palette")


def below_the_bar(cvd, palette) -> list[str]:
    """The views in which ``palette``'s closest pair falls below the bar, each with that pair."""
    camvid, shown = cvd.closest(CAMVID_PALETTE), cvd.closest(palette)
    failed = []
    for view, (distance, a, b) in shown.items():
        bar = BAR.get(view, camvid[view][0])
        if distance < bar - 1e-9:
            failed.append(f"{view}: {a}/{b} {distance:.1f} < {bar:.1f}")
    return failed


def test_no_two_safe_colours_look_alike_to_a_colour_blind_eye(cvd):
    """Computed, not written down: a colour moved the wrong way fails it."""
    assert below_the_bar(cvd, COLOUR_BLIND_SAFE_PALETTE) == []


def test_the_bar_fails_camvids_own_palette_and_a_palette_nudged_too_little(cvd):
    """The test above can fail: CamVid's palette (Building/Pedestrian 3.3 for a deuteranope) fails it, and so does
    the first nudge proposed, whose pale SignSymbol (240, 176, 192) is 4.7 from the ground truth's void grey for a
    protanope."""
    assert any("Building/Pedestrian" in line for line in below_the_bar(cvd, CAMVID_PALETTE))
    first_try = list(COLOUR_BLIND_SAFE_PALETTE)
    first_try[CAMVID_CLASSES.index("SignSymbol")] = (240, 176, 192)
    assert any("SignSymbol/void" in line for line in below_the_bar(cvd, tuple(first_try)))


def test_the_safe_palette_is_camvids_with_three_classes_moved_near_their_own_colours(cvd):
    """CamVid's colours are what papers and engineers recognise: the rest stay exactly, and the three moved stay
    within 21 CIEDE2000 of their own for normal vision."""
    changed = [i for i, (a, b) in enumerate(zip(CAMVID_PALETTE, COLOUR_BLIND_SAFE_PALETTE)) if a != b]
    assert changed == sorted(MOVED) and len(COLOUR_BLIND_SAFE_PALETTE) == len(CAMVID_PALETTE)
    assert all(cvd.shift(name, COLOUR_BLIND_SAFE_PALETTE) < 21 for name in COLOUR_BLIND_SAFE_CHANGES)


@pytest.mark.slow
def test_the_search_finds_the_three_colours_again(cvd):
    """The palette is reproducible: ``benchmarks/colour_blind_palette.py --search`` gives the colours shipped."""
    assert cvd.search() == COLOUR_BLIND_SAFE_CHANGES


# Sharma, Wu and Dalal (2005), "The CIEDE2000 color-difference formula: implementation notes", table 1 (pairs 1, 2,
# 7, 10, 11, 17, 18, 25): the distances the figures rest on are CIEDE2000's, discontinuities of hue included
SHARMA = [
    ((50, 2.6772, -79.7751), (50, 0, -82.7485), 2.0425), ((50, 3.1571, -77.2803), (50, 0, -82.7485), 2.8615),
    ((50, 0, 0), (50, -1, 2), 2.3669), ((50, 2.49, -0.001), (50, -2.49, 0.0009), 7.1792),
    ((50, 2.49, -0.001), (50, -2.49, 0.0010), 7.1792), ((50, 2.5, 0), (73, 25, -18), 27.1492),
    ((50, 2.5, 0), (61, -5, 29), 22.8977), ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
]


def test_the_colour_difference_is_ciede2000_as_published(cvd):
    first, second, expected = (np.array(column, dtype=np.float64) for column in zip(*SHARMA))
    assert np.allclose(cvd.delta_e_2000(first, second), expected, atol=5e-5)
    assert np.allclose(cvd.delta_e_2000(second, first), expected, atol=5e-5)   # symmetric


def test_the_simulation_leaves_greys_grey_and_merges_red_with_green_for_a_deuteranope(cvd):
    """Machado's matrices keep white and the greys as they are (each row sums to 1), and a deuteranope sees
    CamVid's Building and Pedestrian as near one colour, the audit's finding."""
    greys = np.array([[0, 0, 0], [128, 128, 128], [255, 255, 255]])
    for vision in ("protan", "deutan", "tritan"):
        assert np.abs(cvd.simulate(greys, vision) - greys).max() <= 1
    building, pedestrian = (cvd.to_lab(cvd.simulate(CAMVID_PALETTE[CAMVID_CLASSES.index(name)], "deutan"))
                            for name in ("Building", "Pedestrian"))
    assert cvd.delta_e_2000(building, pedestrian) < 4


def test_the_safe_colours_apply_to_camvids_classes_alone():
    """A checkpoint with classes of its own keeps its own colours: the safe palette was chosen for CamVid's pairs."""
    assert class_palette(CAMVID_CLASSES, CAMVID_PALETTE, False) == list(CAMVID_PALETTE)
    assert class_palette(CAMVID_CLASSES, CAMVID_PALETTE, True) == list(COLOUR_BLIND_SAFE_PALETTE)
    own = [(1, 2, 3), (4, 5, 6)]
    assert class_palette(["road", "not road"], own, True) == own
    assert class_palette(CAMVID_CLASSES[::-1], CAMVID_PALETTE[::-1], True) == list(CAMVID_PALETTE[::-1])
    assert class_palette(CAMVID_CLASSES, [[np.uint8(v) for v in c] for c in CAMVID_PALETTE], False) == list(
        CAMVID_PALETTE)   # plain ints, whatever the palette was stored as (a layer's uint8 array)
