"""Pictures from predictions: colour overlays, class legends and heatmaps with colour bars.

Heatmaps use matplotlib's perceptually uniform colormaps (viridis, magma,
cividis); only their lookup tables are used, so no figure is rendered per
request. Pixels without a value (NaN, e.g. outside the boundary band) show
the picture itself in dimmed grey, so the map stays readable in context.
"""

from __future__ import annotations

import html
import io
from dataclasses import dataclass, replace
from functools import lru_cache
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from .metrics import label_edges

DEFAULT_OPACITY = 0.55  # how strongly the class colours cover the picture, until a visitor moves the slider

Palette = Sequence[Sequence[int]]


def _numpy(values: torch.Tensor | np.ndarray) -> np.ndarray:
    return values.detach().cpu().numpy() if isinstance(values, torch.Tensor) else np.asarray(values)


def colorize(labels: torch.Tensor | np.ndarray, palette: Palette) -> np.ndarray:
    """(H,W) class indices to an (H,W,3) uint8 colour image; indices past the palette (void) are black."""
    table = np.array(list(palette) + [[0, 0, 0]], dtype=np.uint8)
    index = np.clip(_numpy(labels).astype(np.int64), 0, len(palette))
    return table[index]


@dataclass(frozen=True)
class OverlayLayer:
    """What an overlay blends onto its picture: each pixel's class, the class colours and the class boundaries.

    Kept apart from the opacity so that the app can blend it again at another
    opacity without running the network, or torch, again; a byte a pixel and
    a bit for its boundaries, so it is kept on disk beside the result's
    pictures rather than in the server's memory.
    """

    labels: np.ndarray  # (H,W) uint8 class indices (uint16 past 255 classes)
    palette: np.ndarray  # (C,3) uint8
    edges: np.ndarray | None  # (H,W) bool: drawn white; None for no boundaries
    key: np.ndarray | None = None  # (H,K,3) uint8: the class key drawn right of the overlay; None for none
    class_names: tuple[str, ...] = ()  # the classes' names: the key is drawn again from them in other colours
    key_order: tuple[int, ...] = ()  # the key's classes in this order (overlays shown side by side share one)

    def in_colours(self, palette: Palette) -> OverlayLayer:
        """The same classes and boundaries in other class colours, the key drawn again in them (a visitor's
        colour-blind-safe choice): no network runs, and the layer on disk keeps the colours of its run."""
        table = np.asarray(palette, dtype=np.uint8).reshape(-1, 3)
        if table.shape == self.palette.shape and (table == self.palette).all():
            return self
        key = self.key
        if key is not None:
            if len(self.class_names) < len(table):
                raise ValueError("a layer drawn with a key keeps its class names, to draw the key again")
            key = np.asarray(class_key(self.labels, table, self.class_names, key.shape[0], key.shape[1],
                                       self.key_order or None))
        return replace(self, palette=table, key=key)

    def save(self, path: Path) -> str:
        """Write the layer to ``path`` (.npz, no pickles); its path as a string."""
        extra = {} if self.edges is None else {"edges": np.packbits(self.edges)}
        if self.class_names:  # fixed-width unicode: no pickle to save or load it
            extra["class_names"] = np.asarray(self.class_names, dtype=str)
        if self.key_order:
            extra["key_order"] = np.asarray(self.key_order, dtype=np.int64)
        if self.key is not None:  # as a PNG: a key is mostly white, 3 bytes a pixel would outweigh the classes
            buffer = io.BytesIO()
            Image.fromarray(self.key).save(buffer, "PNG")
            extra["key_png"] = np.frombuffer(buffer.getvalue(), dtype=np.uint8)
        with open(path, "wb") as handle:
            np.savez(handle, labels=self.labels, palette=self.palette, **extra)
        return str(path)

    @classmethod
    def load(cls, path: str | Path) -> OverlayLayer:
        with np.load(path, allow_pickle=False) as data:
            labels = data["labels"]
            edges = None
            if "edges" in data:
                edges = np.unpackbits(data["edges"], count=labels.size).reshape(labels.shape).astype(bool)
            key = None
            if "key_png" in data:
                with Image.open(io.BytesIO(data["key_png"].tobytes())) as png:
                    key = np.asarray(png.convert("RGB"))
            names = tuple(str(name) for name in data["class_names"]) if "class_names" in data else ()
            order = tuple(int(index) for index in data["key_order"]) if "key_order" in data else ()
            return cls(labels, data["palette"], edges, key, names, order)


def overlay_layer(
    labels: torch.Tensor | np.ndarray,
    palette: Palette,
    boundaries: bool = True,
    class_names: Sequence[str] | None = None,
    width: int | None = None,
    keyed: bool = True,
    key_order: Sequence[int] | None = None,
) -> OverlayLayer:
    """What ``blend`` draws: the classes, their colours, their boundaries and, given ``class_names`` and ``keyed``,
    a class key.

    The key takes the place of a heatmap's colour bar (``width``, the whole
    picture's width, defaults to a heatmap's of the same picture), so that an
    overlay shown beside or above its maps is drawn at their scale at any
    width of the page, and a downloaded overlay says which colour is which.
    The names are kept with the layer either way, so that it can be drawn
    again in other colours (``OverlayLayer.in_colours``). ``key_order``: the
    key's classes in that order (``class_key``), so that two overlays shown side
    by side list them alike.
    """
    labels_t = labels if isinstance(labels, torch.Tensor) else torch.from_numpy(np.asarray(labels))
    edges = label_edges(labels_t).cpu().numpy() if boundaries else None
    table = np.asarray(palette, dtype=np.uint8).reshape(-1, 3)
    indices = _numpy(labels).astype(np.uint8 if len(table) < 256 else np.uint16)
    key = None
    if class_names is not None and keyed:
        h, w = indices.shape
        key = np.asarray(class_key(indices, table, class_names, h, (width - w) if width else colour_bar_width(h),
                                   key_order))
    return OverlayLayer(indices, table, edges, key, tuple(class_names or ()), tuple(key_order or ()))


def blend(image: Image.Image, layer: OverlayLayer, opacity: float = DEFAULT_OPACITY) -> Image.Image:
    """The picture with the layer's class colours blended in at ``opacity``, its boundaries in white, then its key."""
    base = np.asarray(image.convert("RGB"), dtype=np.float32)
    opacity = float(np.clip(opacity, 0.0, 1.0))
    blended = (1 - opacity) * base + opacity * colorize(layer.labels, layer.palette).astype(np.float32)
    if layer.edges is not None:
        blended[layer.edges] = 255.0
    picture = blended.round().astype(np.uint8)
    if layer.key is not None:
        picture = np.concatenate([picture, layer.key], axis=1)
    return Image.fromarray(picture)


def class_map(labels: torch.Tensor | np.ndarray, palette: Palette) -> Image.Image:
    """Each pixel's class index as a palette image, the class colours its palette: saved as PNG, a viewer shows
    the colours and ``np.asarray(Image.open(path))`` gives the indices back, one byte a pixel.

    An overlay is blended into the picture, so its classes cannot be read back from it; this is the map a caller
    scores against ground truth or feeds to the next step, stored the way PASCAL VOC stores its labels.
    """
    table = np.asarray(palette, dtype=np.uint8).reshape(-1, 3)
    if len(table) > 256:
        raise ValueError(f"a palette image holds at most 256 classes, not {len(table)}")
    image = Image.fromarray(np.ascontiguousarray(_numpy(labels), dtype=np.uint8))  # mode "L"
    image.putpalette(table.tobytes())  # and now mode "P"
    return image


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has no sized default font
        return ImageFont.load_default()


@lru_cache(maxsize=None)
def _lut(cmap: str) -> np.ndarray:
    """A matplotlib colormap as a (256, 3) uint8 lookup table.

    matplotlib is imported here, not with the module: the class maps and overlays need none of it, and segdemo's
    core dependencies leave it to the ``[app]`` extra (tests/test_package.py)."""
    from matplotlib import colormaps

    return (colormaps[cmap](np.linspace(0, 1, 256))[:, :3] * 255).astype(np.uint8)


def heatmap(
    values: torch.Tensor | np.ndarray,
    vmin: float,
    vmax: float,
    cmap: str = "viridis",
    label: str = "",
    background: Image.Image | None = None,
) -> Image.Image:
    """Colour-map an (H,W) array into [vmin, vmax] and append a labelled colour bar on the right."""
    data = _numpy(values).astype(np.float32, copy=False)
    h, w = data.shape
    lut = _lut(cmap)
    missing = np.isnan(data)
    index = (data - vmin) * (255.0 / max(vmax - vmin, 1e-12)) + 0.5  # rounds to the nearest of 256 colours
    np.clip(np.nan_to_num(index, nan=0.0, posinf=255.0, neginf=0.0), 0, 255, out=index)
    rgb = lut[index.astype(np.uint8)]
    if missing.any():
        if background is not None:
            grey = np.asarray(background.convert("L").resize((w, h)), dtype=np.float32)
            rgb[missing] = (0.35 * grey[missing] + 20).astype(np.uint8)[:, None]
        else:
            rgb[missing] = 40
    panel = _colour_bar(h, cmap, float(vmin), float(vmax), label)
    canvas = Image.new("RGB", (w + panel.width, h), (255, 255, 255))
    canvas.paste(Image.fromarray(rgb), (0, 0))
    canvas.paste(panel, (w, 0))
    return canvas


def colour_bar_width(h: int) -> int:
    """The width of the panel right of a heatmap (and of the error map's key) for a picture ``h`` rows high.

    It depends on the height alone, not on the label, so that maps of one picture shown side by side (confidence,
    errors, boundary uncertainty, mutual information) scale alike in the page and their pixels line up.
    """
    font_size = _font_size(h)
    return max(10, font_size) + 4 * font_size + 16


def _font_size(h: int) -> int:
    """The keys' and colour bars' text size for a picture ``h`` rows high: a 24th of it, so that a map's key reads
    alike whatever the picture's size once the page fits the map to its box (capped at 28 px, a 12-megapixel photo's
    2048x1536 maps shown 500 px wide had keys of 4-6 px). At least 10 px, for small pictures downloaded."""
    return int(np.clip(h / 24, 10, 96))


def _wrap(text: str, font: ImageFont.ImageFont, width: int) -> list[str]:
    """``text`` in lines no wider than ``width`` where its spaces allow (a longer word keeps a line of its own)."""
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    lines: list[str] = []
    for word in text.split():
        if lines and measure.textlength(f"{lines[-1]} {word}", font=font) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


def _text_height(font: ImageFont.ImageFont) -> int:
    """The rows a line of ``font`` takes below the y it is drawn at, descenders included (about 1.2 times its size:
    laid out at its size alone, a label's last line ran off the bottom of a large map's panel)."""
    ascent, descent = font.getmetrics()
    return ascent + descent


@lru_cache(maxsize=64)
def _colour_bar(h: int, cmap: str, vmin: float, vmax: float, label: str) -> Image.Image:
    """The white panel right of a heatmap: the colour bar, three ticks and the label under it (cached).

    What does not fit a short map is left out rather than drawn over the rest: the middle tick first, then the label,
    then the end ticks' values (a 32x24 picture's map keeps its bar alone)."""
    lut = _lut(cmap)
    font_size = _font_size(h)
    font = _font(font_size)
    text_h = _text_height(font)
    bar_w = max(10, font_size)
    panel_w = colour_bar_width(h)
    lines = _wrap(label, font, panel_w - 8)
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    panel_w = max([panel_w] + [int(measure.textlength(line, font=font)) + 8 for line in lines])  # a word too long
    line_h = text_h + 1
    panel = Image.new("RGB", (panel_w, h), (255, 255, 255))
    # Web UIs overlay their buttons on an image's top-right corner (Gradio's cover up to 14% of the rows on a
    # phone): the bar and its top tick start below 17% of the height, and the label goes under the bar. A tick's
    # value is centred on it, so the bar's ends keep half a line clear of the buttons and of the label.
    top = round(0.17 * h) + text_h // 2 + 2
    label_top = h - len(lines) * line_h - 2
    bottom = label_top - text_h // 2 - 3
    if lines and bottom - top < text_h + 2:  # no room for both end ticks' values above the label: no label
        lines, label_top = [], h
        bottom = h - text_h // 2 - 3
    ticks = (0.0, 0.5, 1.0) if bottom - top >= 2 * (text_h + 2) else (0.0, 1.0) if bottom - top >= text_h + 2 else ()
    if not ticks:  # the bar alone, below the buttons' corner
        top, bottom = round(0.17 * h), h - 2
    length = max(2, bottom - top)
    gradient = lut[np.linspace(255, 0, length).round().astype(np.int64)]
    strip = np.repeat(gradient[:, None, :], bar_w, axis=1)
    x0 = 8
    panel.paste(Image.fromarray(strip), (x0, top))
    draw = ImageDraw.Draw(panel)
    # edged as the keys' swatches are: the light ends of viridis, magma and cividis are 1.05-1.26:1 on the white panel
    draw.rectangle([x0 - 1, max(top - 1, 0), x0 + bar_w, min(top + length, h - 1)], outline=(60, 60, 60))
    for row, line in enumerate(lines):
        draw.text((4, label_top + row * line_h), line, fill=(20, 20, 20), font=font)
    for fraction in ticks:
        y = bottom - fraction * (length - 1)
        value = vmin + fraction * (vmax - vmin)
        draw.line([(x0 + bar_w, y), (x0 + bar_w + 4, y)], fill=(20, 20, 20))
        draw.text((x0 + bar_w + 6, y - text_h / 2), f"{value:.2g}", fill=(20, 20, 20), font=font)
    return panel


DISAGREE_COLOUR = (225, 0, 255)  # magenta that stays apart from every grey for colour-blind eyes too (tests)


def disagreement(
    image: Image.Image, labels_a: torch.Tensor | np.ndarray, labels_b: torch.Tensor | np.ndarray, width: int | None = None
) -> Image.Image:
    """The picture in grey with the pixels where two label maps differ in magenta, and a key on the right.

    ``width`` is the whole picture's width, by default a heatmap's of the
    same picture, as for ``error_map``: drawn beside the two networks' maps,
    it is drawn at their scale.
    """
    grey = np.asarray(image.convert("L"), dtype=np.float32)
    h, w = grey.shape
    rgb = np.repeat((0.5 * grey + 40)[..., None], 3, axis=2)
    differ = (_numpy(labels_a) != _numpy(labels_b))
    rgb[differ] = DISAGREE_COLOUR
    rows = [(DISAGREE_COLOUR, "differ"), (_dimmed_greys(0.5, 40), "agree")]
    panel = _share_key(h, (width - w) if width else colour_bar_width(h), rows, float(differ.mean()), "differ")
    canvas = Image.new("RGB", (w + panel.width, h), (255, 255, 255))
    canvas.paste(Image.fromarray(rgb.clip(0, 255).astype(np.uint8)), (0, 0))
    canvas.paste(panel, (w, 0))
    return canvas


def class_key(
    labels: np.ndarray, palette: np.ndarray, class_names: Sequence[str], h: int, width: int,
    order: Sequence[int] | None = None,
) -> Image.Image:
    """The white panel right of an overlay: a swatch and the name of each class it shows, the largest first, or in
    ``order`` (the Compare tab's two keys list the classes alike, by both networks' shares together: each its own
    order, FCN's Pole above Building and SegNet's below, read as a difference where there was none).

    The names are drawn a little smaller than a colour bar's ticks, small
    enough for the longest name to fit the panel a heatmap's colour bar
    takes, so that the overlay keeps its maps' geometry.
    """
    counts = np.bincount(labels.ravel(), minlength=len(class_names))[: len(class_names)]
    ranked = [int(c) for c in np.argsort(-counts, kind="stable")]
    if order is not None:  # the classes the order leaves out after it, largest first
        listed = [int(c) for c in order if 0 <= c < len(class_names)]
        ranked = listed + [c for c in ranked if c not in set(listed)]
    shown = [c for c in ranked if counts[c] > 0]
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    size = max(6, round(0.8 * _font_size(h)))
    longest = max(class_names, key=len) if class_names else ""
    while size > 6 and 4 + size + 4 + measure.textlength(longest, font=_font(size)) + 3 > width:
        size -= 1
    font = _font(size)
    panel = Image.new("RGB", (width, h), (255, 255, 255))
    draw = ImageDraw.Draw(panel)
    step = round(1.5 * size)
    # below the buttons web UIs overlay on an image's top-right corner, as the colour bar starts; centred if it fits
    top = round(0.17 * h) + 2
    y = max(top, (h - step * len(shown)) // 2)
    for index in shown:
        if y + size > h - 2:  # more classes than rows: the smallest are left out
            break
        draw.rectangle([4, y, 4 + size, y + size], fill=tuple(int(v) for v in palette[index]), outline=(60, 60, 60))
        draw.text((4 + size + 4, y - 1), class_names[index], fill=(20, 20, 20), font=font)
        y += step
    return panel


def legend_html(shares: list[tuple[int, float | None]], class_names: Sequence[str], palette: Palette) -> str:
    """An HTML legend of the classes present: colour swatch, name and pixel share (left out where None)."""
    items = []
    for index, share in shares:
        r, g, b = palette[index]
        name = html.escape(class_names[index])
        figure = "" if share is None else f" <b>{share_shown(share)}</b>"
        items.append(
            f'<span class="segdemo-legend-item"><span class="segdemo-swatch" style="background:rgb({r},{g},{b})">'
            f"</span>{name}{figure}</span>"
        )
    return '<div class="segdemo-legend">' + "".join(items) + "</div>"


def share_shown(share: float) -> str:
    """A class's share of the picture in percent, one decimal: a class found on a few pixels shows "<0.1%", not the
    "0.0%" that read as absent beside its swatch."""
    return "<0.1%" if 0 < share < 0.0005 else f"{100 * share:.1f}%"


def palette_legend_html(class_names: Sequence[str], palette: Palette) -> str:
    """Every class's swatch and name: the key to overlays drawn by more than one network."""
    return legend_html([(index, None) for index in range(len(class_names))], class_names, palette)


def class_table(shares: list[tuple[int, float]], class_names: Sequence[str], mean_confidence: dict[int, float]) -> list[list]:
    """Rows of (class, pixel share %, mean confidence %) for a table component. The share keeps 4 decimals: a class
    on a few pixels of a 480x360 picture is a few thousandths of a percent, which 2 decimals made 0."""
    return [
        [class_names[index], round(100 * share, 4), round(100 * mean_confidence.get(index, float("nan")), 1)]
        for index, share in shares
    ]


ERROR_COLOUR = (255, 60, 0)  # a scarlet, not (235, 40, 40): that was a dull olive to a protanope (tests)
VOID_GREY = (175, 175, 175)


def error_map(
    image: Image.Image,
    labels: torch.Tensor | np.ndarray,
    truth: torch.Tensor | np.ndarray,
    void_index: int = 11,
    width: int | None = None,
) -> Image.Image:
    """Wrong pixels in red on the dimmed picture, void (unlabelled) pixels flat grey, and a key on the right.

    ``width`` is the whole picture's width: by default that of a heatmap of
    the same picture (the key takes the place of its colour bar), so that the
    two have the same geometry; pass a heatmap's own width where it differs.
    """
    grey = np.asarray(image.convert("L"), dtype=np.float32)
    h, w = grey.shape
    predicted, true = _numpy(labels), _numpy(truth)
    void = true == void_index
    wrong = (predicted != true) & ~void
    rgb = np.repeat((0.35 * grey + 20)[..., None], 3, axis=2)
    rgb[void] = VOID_GREY
    rgb[wrong] = ERROR_COLOUR
    labelled = int((~void).sum())
    share = float(wrong.sum()) / labelled if labelled else 0.0
    panel = _error_key(h, (width - w) if width else colour_bar_width(h), share)
    canvas = Image.new("RGB", (w + panel.width, h), (255, 255, 255))
    canvas.paste(Image.fromarray(rgb.clip(0, 255).astype(np.uint8)), (0, 0))
    canvas.paste(panel, (w, 0))
    return canvas


def label_map(
    labels: torch.Tensor | np.ndarray,
    palette: Palette,
    class_names: Sequence[str],
    void_index: int = 11,
    width: int | None = None,
) -> Image.Image:
    """A label map as a dataset draws it, flat class colours with void grey (as on the error maps), and its key.

    ``width`` is the whole picture's width, by default a heatmap's of the
    same picture: shown beside the networks' maps, it is drawn at their scale.
    """
    indices = _numpy(labels).astype(np.int64)
    table = np.asarray(palette, dtype=np.uint8).reshape(-1, 3)
    rgb = colorize(indices, table)
    rgb[indices == void_index] = VOID_GREY
    h, w = indices.shape
    # void keyed too, in its grey: beside Sky's grey, a lecturer's projector told them apart by the key alone
    shown = np.where(indices == void_index, len(table), indices)
    keyed = np.vstack([table, np.asarray(VOID_GREY, dtype=np.uint8)])
    panel = class_key(shown, keyed, [*class_names, "void"], h, (width - w) if width else colour_bar_width(h))
    canvas = Image.new("RGB", (w + panel.width, h), (255, 255, 255))
    canvas.paste(Image.fromarray(rgb), (0, 0))
    canvas.paste(panel, (w, 0))
    return canvas


def _error_key(h: int, width: int, wrong_share: float) -> Image.Image:
    """The white panel right of an error map: swatches for wrong, right and void, and the share of wrong pixels."""
    rows = [(ERROR_COLOUR, "wrong"), (_dimmed_greys(0.35, 20), "right"), (VOID_GREY, "void")]
    return _share_key(h, width, rows, wrong_share, "wrong")


RGB = tuple[int, int, int]
Swatch = RGB | tuple[RGB, RGB]  # a flat colour, or the top and bottom of a gradient


def _dimmed_greys(scale: float, offset: float) -> tuple[RGB, RGB]:
    """The lightest and darkest grey of a picture dimmed to ``scale * grey + offset``: a swatch for the pixels
    left as the picture shows the range they take, where one flat grey matched none of them."""
    light, dark = round(scale * 255 + offset), round(offset)
    return (light, light, light), (dark, dark, dark)


def _draw_swatch(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], swatch: Swatch) -> None:
    """A key's square: flat, or a vertical gradient from its first colour at the top to its second at the bottom."""
    x0, y0, x1, y1 = box
    if isinstance(swatch[0], int):
        draw.rectangle(box, fill=swatch, outline=(60, 60, 60))
        return
    top, bottom = np.asarray(swatch[0], dtype=np.float32), np.asarray(swatch[1], dtype=np.float32)
    for y in range(y0 + 1, y1):  # inside the outline, so that both ends show
        t = (y - y0 - 1) / max(y1 - y0 - 2, 1)
        draw.line([(x0, y), (x1, y)], fill=tuple(int(round(v)) for v in (1 - t) * top + t * bottom))
    draw.rectangle(box, outline=(60, 60, 60))


def _share_key(h: int, width: int, rows: list[tuple[Swatch, str]], share: float, what: str) -> Image.Image:
    """A white key panel: a swatch for each row, mid-height, and at the bottom the share of pixels that are ``what``.

    On a short map the rows close up, then the share is left out (the caption says it too), then the last rows:
    nothing is drawn over anything else."""
    font_size = _font_size(h)
    font = _font(font_size)
    text_h = _text_height(font)
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    natural = 8 + font_size + 6 + max(int(measure.textlength(text, font=font)) for _, text in rows) + 8
    panel = Image.new("RGB", (max(width, natural), h), (255, 255, 255))
    draw = ImageDraw.Draw(panel)
    # the swatches sit mid-height, below the corner where web UIs overlay their buttons on an image
    first = round(0.17 * h) + 2
    share_lines = 2 * text_h + 6  # two short lines, so that the key fits the colour-bar panel whose place it takes
    step, shown, share_shown = int(1.8 * font_size), len(rows), True
    while shown and first + (shown - 1) * step + text_h > h - share_lines * share_shown - 2:
        if step > text_h + 2:
            step = text_h + 2
        elif share_shown:
            share_shown, step = False, int(1.8 * font_size)
        else:
            shown -= 1
    last = h - share_lines * share_shown - 2
    y = max(first, (first + last - (shown - 1) * step - text_h) // 2)
    for swatch, text in rows[:shown]:
        _draw_swatch(draw, (8, y, 8 + font_size, y + font_size), swatch)
        draw.text((8 + font_size + 6, y), text, fill=(20, 20, 20), font=font)
        y += step
    if share_shown:
        draw.text((4, h - share_lines), f"{100 * share:.1f}%", fill=(20, 20, 20), font=font)
        draw.text((4, h - text_h - 3), what, fill=(20, 20, 20), font=font)
    return panel
