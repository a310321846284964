"""The Models tab's plots come for a light and for a dark page: the same figure, each legible on its own ground."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgb
from matplotlib.text import Text
from PIL import Image

from segdemo import report, trustplots
from segdemo.trustplots import DARK, LIGHT, PLOT_FILES


@pytest.fixture(scope="module")
def evaluations():
    return report.plot_evaluations()  # the shipped models' eval.json


def _texts(figure) -> list[Text]:
    """Every piece of text the figure shows: titles, axis labels, tick labels, legend entries."""
    FigureCanvasAgg(figure).draw()  # tick labels get their text when drawn
    return [t for t in figure.findobj(Text) if t.get_visible() and t.get_text().strip()]


@pytest.mark.parametrize("key", sorted(PLOT_FILES))
def test_every_text_is_in_its_palettes_text_colour(evaluations, key):
    palette = DARK if key.endswith("_dark") else LIGHT
    figure = trustplots.figures(evaluations, [key])[key]
    texts = _texts(figure)
    assert len(texts) > 20  # titles, both axes' labels and ticks, the legends
    wrong = {t.get_text() for t in texts if to_rgb(t.get_color()) != to_rgb(palette.text)}
    assert not wrong, f"{key}: text not in {palette.text}: {sorted(wrong)[:5]}"


@pytest.mark.parametrize("plot", ["reliability", "kept", "reliability_stacked", "kept_stacked"])
def test_the_dark_figure_is_the_light_one_on_a_dark_ground(evaluations, plot):
    drawn = trustplots.figures(evaluations, [plot, plot + "_dark"])
    light, dark = (np.asarray(trustplots.to_image(drawn[k]), np.float32) for k in (plot, plot + "_dark"))
    assert light.shape == dark.shape  # the same layout, so the page does not jump when the theme changes
    assert light[2, 2].tolist() == [255, 255, 255]
    assert dark[2, 2].tolist() == [round(255 * c) for c in to_rgb(DARK.background)]
    # the same texts, in the same places
    light_texts = [(t.get_text(), t.get_position()) for t in _texts(drawn[plot])]
    dark_texts = [(t.get_text(), t.get_position()) for t in _texts(drawn[plot + "_dark"])]
    assert light_texts == dark_texts


def _luminance(colour: str) -> float:
    r, g, b = to_rgb(colour)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


@pytest.mark.parametrize("palette", [LIGHT, DARK], ids=["light", "dark"])
def test_the_text_and_every_curve_stand_out_from_the_ground(palette):
    assert abs(_luminance(palette.text) - _luminance(palette.background)) > 0.6
    for curve in (palette.after, *palette.models):  # the calibrated bars and each model's curves
        assert abs(_luminance(curve) - _luminance(palette.background)) > 0.1


def _contrast(a: str, b: str) -> float:
    """WCAG's contrast ratio of two colours."""
    def lum(colour: str) -> float:
        linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in to_rgb(colour)]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    high, low = sorted((lum(a), lum(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("palette", [LIGHT, DARK], ids=["light", "dark"])
def test_both_bars_of_a_reliability_diagram_stand_out_from_the_ground_by_3_to_1(palette):
    """WCAG 1.4.11: the T = 1 bars were #9aa0a6 at 90% on white (2.4:1) and #6b7280 at 90% on the dark ground
    (2.7:1), drawn now without transparency."""
    for bars in (palette.before, palette.after):
        assert _contrast(bars, palette.background) >= 3, bars


def test_each_models_curves_have_a_marker_of_their_own(evaluations):
    """Told apart without their colours (WCAG 1.4.1): blue and orange were the only difference between the models'
    curves, which overlap."""
    figure = trustplots.figures(evaluations, ["kept"])["kept"]
    markers = {}
    for line in figure.axes[0].get_lines():
        if line.get_linestyle() != ":":   # the "best possible" lines are dotted, one a model
            markers.setdefault(line.get_label().split(",")[0], set()).add(line.get_marker())
    assert len(markers) == 2 and all(len(m) == 1 and m != {"None"} for m in markers.values()), markers
    assert len({next(iter(m)) for m in markers.values()}) == 2, markers


PHONE_WIDTH = 296  # px a 360-px phone gives a Models-tab plot (tests/test_browser.py measures it)


@pytest.mark.parametrize("key", ["reliability_stacked", "kept_stacked"])
def test_on_a_phone_every_text_of_the_stacked_plots_reads(evaluations, key):
    """Shrunk to a phone's 296 px, the stacked plots' legends were 7 px high (7.5-8 pt on a 451-484-px figure)."""
    figure = trustplots.figures(evaluations, [key])[key]
    shown = PHONE_WIDTH / (figure.get_figwidth() * figure.dpi)
    smallest = min(_texts(figure), key=lambda text: text.get_fontsize())
    assert smallest.get_fontsize() * figure.dpi / 72 * shown >= 9, (smallest.get_text(), smallest.get_fontsize())
    width = figure.get_figwidth() * figure.dpi   # and no text runs past the figure's sides (a title did)
    for text in _texts(figure):
        box = text.get_window_extent()
        assert box.x0 >= 0 and box.x1 <= width, (key, text.get_text(), box)


def test_a_plot_has_twice_the_pixels_of_its_page_size_in_256_colours(evaluations, tmp_path):
    """Two pixels to each CSS px the page shows it at (110 to the figure's inch), so a 2x screen shows it sharp; in a
    palette, so its four times the pixels weigh less than the truecolour ones did; stamped with what it shows."""
    figure = trustplots.figures(evaluations, ["kept_stacked"])["kept_stacked"]
    path = tmp_path / "plot.png"
    path.write_bytes(trustplots.to_png(figure, "abc"))
    with Image.open(path) as image:
        assert image.mode == "P"
        page = (round(figure.get_figwidth() * 110), round(figure.get_figheight() * 110))
        assert image.size == (2 * page[0], 2 * page[1])
    assert trustplots.page_width(path) == page[0] == trustplots.page_width(trustplots.to_image(figure))
    assert trustplots.stamped_source(path) == "abc"
