"""The two plots of "Can you trust the confidence map?", drawn from eval.json with matplotlib.

- ``reliability_figure``: each model's reliability diagram (accuracy per
  confidence bin against the diagonal of perfect calibration), before and
  after temperature scaling, with its ECE;
- ``kept_pixels_figure``: accuracy of the most-certain fraction of pixels,
  over all labelled pixels and over the ground-truth boundary band, for every
  model and uncertainty score, with each curve's AUROC; the dotted line is
  the best any score could do (every error ranked last).

Each is drawn twice: its panels side by side for a wide screen (and the
README), and stacked for a phone, where the wide one, shrunk to the screen,
has text too small to read. And each of those twice again: on white, and on
the dark grey of Gradio's dark theme with light text and lighter colours, so
that a visitor whose browser or Space is dark is not shown white boxes.

Only matplotlib's object API and its Agg canvas are used (no pyplot, no
global state), so the app can draw them in its own process. Every number
comes from the eval.json given; nothing is typed by hand.
"""

from __future__ import annotations

import hashlib
import io
import json
import textwrap
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image, PngImagePlugin

PLOT_FILES = {  # in docs/; "_stacked": panels one above the other, for a phone; "_dark": for a dark page
    "reliability": "reliability.png",
    "kept": "uncertainty_errors.png",
    "reliability_stacked": "reliability-stacked.png",
    "kept_stacked": "uncertainty_errors-stacked.png",
    "reliability_dark": "reliability-dark.png",
    "kept_dark": "uncertainty_errors-dark.png",
    "reliability_stacked_dark": "reliability-stacked-dark.png",
    "kept_stacked_dark": "uncertainty_errors-stacked-dark.png",
}
STACKED_TITLE_WIDTH = 28  # characters a line of a stacked figure's title holds, clear of the buttons on its right
# (34 put "(0006R0," under them on a 320 px phone)
# A stacked figure's width, and its legends' size: a 360-px phone shows it 296 px wide, where the 4.1-4.4 in of
# before (451-484 px at 110 dpi) came out at 0.6 and their 7.5-8 pt legends at 7 px; 3.6 in and 9 pt give 10 px
STACKED_WIDTH = 3.6
STACKED_LEGEND_SIZE = 9
SOURCE_KEY = "segdemo-source"  # PNG text chunk: the digest of the figures drawn
# An inch of figure is shown as 110 CSS px (the figures' sizes and fonts are chosen for it), and drawn with two PNG
# pixels to each: at one, on a 2x screen (phones, laptops' Retina screens) every text and line was blurred. In 256
# colours, the figures' grounds exact, so four times the pixels weigh less than the truecolour ones did (65-118 kB
# against 74-152 kB).
PAGE_DPI = 110
PIXEL_DENSITY = 2
Evaluations = Mapping[str, dict[str, Any]]  # label -> parsed eval.json


class Palette(NamedTuple):
    """The colours of one page theme: the figure's ground, its text and axes, the diagonal, the bars, the curves."""

    background: str
    text: str
    diagonal: str
    before: str  # T = 1
    after: str  # the fitted temperature
    models: tuple[str, ...]


# The T = 1 bars in a grey that stands out from the ground by 3:1 or more (WCAG 1.4.11), apart from the blue by its hue:
# #9aa0a6 at 90% was 2.4:1 on white, and #6b7280 at 90% 2.7:1 on the dark ground (helper-25's audit).
LIGHT = Palette("white", "black", "#444", "#6b7280", "#3f51b5", ("#3f51b5", "#e8710a", "#12b5cb", "#d01884"))
# Gradio's dark block (#1f2937) as ground, so a plot sits in its block as on white in the light theme; the same hues,
# lighter, since indigo or magenta on dark grey is hard to see.
DARK = Palette("#1f2937", "#e5e7eb", "#d1d5db", "#9ca3af", "#8c9eff", ("#8c9eff", "#ffa040", "#4dd0e1", "#f48fb1"))
# Each model's curves carry a marker of their own too, so that they are told apart without their colours (WCAG 1.4.1)
MODEL_MARKERS = ("o", "s", "^", "D")


def _frames(evaluation: dict[str, Any]) -> str:
    sequences = ", ".join(evaluation.get("sequences") or [])
    return f"CamVid {evaluation.get('split', '?')}" + (f" ({sequences})" if sequences else "") + f", {evaluation.get('images', '?')} frames"


def _suptitle(figure: Figure, text: str, stacked: bool, palette: Palette) -> None:
    figure.suptitle(textwrap.fill(text, STACKED_TITLE_WIDTH) if stacked else text, fontsize=10, color=palette.text)


def reliability_figure(evaluations: Evaluations, stacked: bool = False, palette: Palette = LIGHT) -> Figure:
    """One reliability diagram per model: accuracy per confidence bin at T = 1 and with the fitted temperature."""
    shown = {label: e for label, e in evaluations.items() if "calibration" in e}
    panels = max(len(shown), 1)
    size = (STACKED_WIDTH, 3.9 * panels + 0.5) if stacked else (4.2 * panels, 4.4)
    figure = Figure(figsize=size, dpi=PAGE_DPI, layout="constrained")
    axes = figure.subplots(panels, 1, squeeze=False)[:, 0] if stacked else figure.subplots(1, panels, squeeze=False)[0]
    for ax, (label, evaluation) in zip(axes, shown.items()):
        calibration = evaluation["calibration"]
        before, after = calibration["uncalibrated"], calibration["calibrated"]
        bins = before["reliability"]
        width = bins["upper"][0] - bins["lower"][0]
        centres = [(lo + hi) / 2 for lo, hi in zip(bins["lower"], bins["upper"])]
        ax.plot([0, 1], [0, 1], ls="--", lw=1, color=palette.diagonal, label="perfect calibration")
        for block, colour, offset, name in (
            (before, palette.before, -width / 4, f"T = 1: ECE {100 * before['ece']:.1f}%"),
            (after, palette.after, width / 4, f"T = {calibration['temperature']:.2f}: ECE {100 * after['ece']:.1f}%"),
        ):
            accuracy = block["reliability"]["accuracy"]
            xs = [c + offset for c, a in zip(centres, accuracy) if a is not None]
            ys = [a for a in accuracy if a is not None]
            ax.bar(xs, ys, width=width / 2, color=colour, label=name)
        ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="confidence (max class probability)", ylabel="accuracy")
        samples = calibration.get("samples", 1)
        top = after["reliability"]["count"][-1] / max(after["pixels"], 1)
        last_bin = f"{100 * top:.0f}% of the pixels in the last bin (>\u00a0{100 * bins['lower'][-1]:.0f}%) after scaling"
        sampled = f"{samples} MC samples" if samples > 1 else ""
        if stacked:  # the model's name on a line of its own, the rest wrapped to the narrow figure
            title = label + "\n" + textwrap.fill("; ".join(filter(None, (sampled, last_bin))), STACKED_TITLE_WIDTH + 6)
        else:
            title = ", ".join(filter(None, (label, sampled))) + "\n" + last_bin
        ax.set_title(title, fontsize=9)
        ax.legend(loc="upper left", fontsize=STACKED_LEGEND_SIZE if stacked else 8, frameon=False)
    if shown:
        _suptitle(figure, f"Reliability on {_frames(next(iter(shown.values())))}; void excluded", stacked, palette)
    return _painted(figure, palette)


def kept_pixels_figure(evaluations: Evaluations, stacked: bool = False, palette: Palette = LIGHT) -> Figure:
    """Accuracy against the fraction of most-certain pixels kept, all pixels and the boundary band, all models."""
    shown = {label: e for label, e in evaluations.items() if "error_detection" in e}
    figure = Figure(figsize=(STACKED_WIDTH, 12.0) if stacked else (10, 5.6), dpi=PAGE_DPI,
                    layout="constrained")
    apart = "\n" if stacked else ", "  # a stacked figure's legend names the model on a line of its own
    axes = figure.subplots(2, 1) if stacked else figure.subplots(1, 2, sharey=False)
    for ax, region, title in zip(axes, ("all", "band"), ("all labelled pixels", "boundary band (ground truth)")):
        for colour, marker, (label, evaluation) in zip(palette.models, MODEL_MARKERS, shown.items()):
            errors = evaluation["error_detection"]
            block = errors[region]
            for score, style in zip(errors["scores"], ("-", "--")):
                curve = block[score]["kept"]
                points = [(f, a) for f, a in zip(curve["fraction"], curve["accuracy"]) if a is not None]
                name = "entropy" if score == "entropy" else "mutual information"
                auroc = block[score]["auroc"]
                ax.plot([100 * f for f, _ in points], [100 * a for _, a in points], ls=style, color=colour, lw=1.6,
                        marker=marker, markevery=0.1, markersize=4, fillstyle="full" if style == "-" else "none",
                        label=f"{label}{apart}{name}" + (f" (AUROC {auroc:.3f})" if auroc is not None else ""))
            rate = block["error_rate"] or 0.0
            fractions = [f for f in block["entropy"]["kept"]["fraction"]]
            ax.plot([100 * f for f in fractions], [100 * min(1.0, (1 - rate) / f) for f in fractions], ls=":",
                    color=colour, lw=1, label=f"{label}{apart}best possible")
        ax.set(xlabel="most certain pixels kept (%)", ylabel="accuracy of the kept pixels (%)", xlim=(0, 100))
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), fontsize=STACKED_LEGEND_SIZE if stacked else 7.5,
                  frameon=False)
    if shown:
        _suptitle(figure, f"Does uncertainty find the mistakes? {_frames(next(iter(shown.values())))}", stacked, palette)
    return _painted(figure, palette)


def _painted(figure: Figure, palette: Palette) -> Figure:
    """Give the figure the palette's ground, and its axes' text, ticks and frames the palette's text colour.

    Set on each artist rather than through rcParams, which are global: the app may draw while serving."""
    figure.set_facecolor(palette.background)
    for ax in figure.axes:
        ax.set_facecolor(palette.background)
        ax.tick_params(colors=palette.text, which="both")
        for spine in ax.spines.values():
            spine.set_edgecolor(palette.text)
        for text in (ax.title, ax.xaxis.label, ax.yaxis.label):
            text.set_color(palette.text)
        legend = ax.get_legend()
        if legend is not None:
            for text in legend.get_texts():
                text.set_color(palette.text)
    return figure


def to_png(figure: Figure, source: str = "") -> bytes:
    """The figure as PNG bytes at ``PIXEL_DENSITY`` pixels to its page pixel, in 256 colours, with ``source`` (see
    ``digest``) in its metadata and no software stamp."""
    drawn = io.BytesIO()
    FigureCanvasAgg(figure)  # drawn by Agg, matplotlib's raster renderer, whatever the process's backend
    figure.savefig(drawn, format="png", dpi=PAGE_DPI * PIXEL_DENSITY)
    with Image.open(drawn) as image:  # median cut: its grounds come out exact (the tests check the corners)
        paletted = image.convert("RGB").quantize(256)
    info = PngImagePlugin.PngInfo()
    info.add_text(SOURCE_KEY, source)
    buffer = io.BytesIO()
    paletted.save(buffer, "PNG", optimize=True, pnginfo=info)
    return buffer.getvalue()


def to_image(figure: Figure) -> Image.Image:
    """The figure as a PIL image, for the app."""
    with Image.open(io.BytesIO(to_png(figure))) as image:
        return image.convert("RGB")


def page_size(plot: Path | Image.Image) -> tuple[int, int]:
    """The CSS px (width, height) a plot drawn by ``to_png`` is shown at (``PAGE_DPI`` to its inch), however many
    pixels it has."""
    if isinstance(plot, Path):
        with Image.open(plot) as image:
            return round(image.width / PIXEL_DENSITY), round(image.height / PIXEL_DENSITY)
    return round(plot.width / PIXEL_DENSITY), round(plot.height / PIXEL_DENSITY)


def page_width(plot: Path | Image.Image) -> int:
    """The CSS px a plot drawn by ``to_png`` is shown at: at most, since the page narrows it to its column."""
    return page_size(plot)[0]


def digest(evaluations: Evaluations) -> str:
    """sha256 of everything the plots show: a PNG carrying it is up to date with these eval.json files."""
    keys = ("split", "sequences", "images", "calibration", "error_detection")
    shown = {label: {k: e.get(k) for k in keys} for label, e in evaluations.items()}
    return hashlib.sha256(json.dumps(shown, sort_keys=True).encode()).hexdigest()


def figures(evaluations: Evaluations, keys: Iterable[str] = PLOT_FILES) -> dict[str, Figure]:
    """The plots of ``PLOT_FILES`` named by ``keys`` (all by default)."""
    drawn = {}
    for key in keys:
        draw = reliability_figure if key.startswith("reliability") else kept_pixels_figure
        drawn[key] = draw(evaluations, stacked="_stacked" in key, palette=DARK if key.endswith("_dark") else LIGHT)
    return drawn


def write_plots(evaluations: Evaluations, directory: Path) -> list[Path]:
    """Draw both plots into ``directory`` (``PLOT_FILES``), stamped with the evaluations' digest."""
    directory.mkdir(parents=True, exist_ok=True)
    source, written = digest(evaluations), []
    for key, figure in figures(evaluations).items():
        path = directory / PLOT_FILES[key]
        path.write_bytes(to_png(figure, source))
        written.append(path)
    return written


def stamped_source(path: Path) -> str | None:
    """The digest a PNG written by ``write_plots`` carries (None when missing or unreadable)."""
    try:
        with Image.open(path) as image:
            return image.text.get(SOURCE_KEY)  # type: ignore[attr-defined]
    except (OSError, AttributeError):
        return None


def current_plots(evaluations: Evaluations, directory: Path) -> dict[str, Path | Image.Image]:
    """Each plot: the PNG in ``directory`` when it shows exactly these evaluations, else drawn afresh (slower)."""
    source = digest(evaluations)
    out: dict[str, Path | Image.Image] = {}
    for key in PLOT_FILES:
        path = directory / PLOT_FILES[key]
        if stamped_source(path) == source:
            out[key] = path
    missing = [key for key in PLOT_FILES if key not in out]
    if missing:
        out.update({key: to_image(figure) for key, figure in figures(evaluations, missing).items()})
    return out
