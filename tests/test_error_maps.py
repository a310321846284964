"""Error maps: which uploads have known labels (by their pixels, never their name), and how errors are drawn."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from segdemo import visualize
from segdemo.ground_truth import content_hash, example_ground_truth
from segdemo.classes import CAMVID_CLASSES, CAMVID_PALETTE
from segdemo.images import load_image

from conftest import ROOT

EXAMPLE = ROOT / "examples" / "camvid_0006R0_f03570.jpg"
LABEL = ROOT / "examples" / "camvid_0006R0_f03570_label.png"


@pytest.fixture(scope="module")
def frame() -> Image.Image:
    return load_image(EXAMPLE).image


def reencoded(image: Image.Image, fmt: str, **options) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return load_image(buffer.getvalue()).image


def test_a_bundled_frame_is_recognised_by_its_pixels(frame):
    with Image.open(LABEL) as label:
        expected = torch.from_numpy(np.asarray(label).astype(np.int64))
    assert torch.equal(example_ground_truth(frame), expected)
    same_pixels = reencoded(frame, "PNG")  # another container and, in the app, another file name
    assert content_hash(same_pixels) == content_hash(frame)
    assert torch.equal(example_ground_truth(same_pixels), expected)


@pytest.mark.parametrize("variant", ["jpeg quality 75", "half size", "double size"])
def test_a_reencoded_or_rescaled_copy_still_counts(frame, variant):
    copy = {
        "jpeg quality 75": lambda: reencoded(frame, "JPEG", quality=75),
        "half size": lambda: frame.resize((240, 180), Image.BILINEAR),
        "double size": lambda: frame.resize((960, 720), Image.BILINEAR),
    }[variant]()
    truth = example_ground_truth(copy)
    assert truth is not None and tuple(truth.shape) == (copy.height, copy.width)


@pytest.mark.parametrize("variant", ["shifted one pixel", "rotated crop", "another frame", "noise"])
def test_other_pictures_have_no_ground_truth(frame, variant):
    pixels = np.asarray(frame)
    other = {
        "shifted one pixel": lambda: Image.fromarray(np.roll(pixels, 1, axis=1)),  # labels would be off by one
        "rotated crop": lambda: frame.resize((479, 361)).rotate(3),
        "another frame": lambda: load_image(ROOT / "examples" / "camvid_0006R0_f02610.jpg").image.transpose(Image.FLIP_LEFT_RIGHT),
        "noise": lambda: Image.fromarray(np.random.default_rng(0).integers(0, 256, (360, 480, 3), dtype=np.uint8)),
    }[variant]()
    assert example_ground_truth(other) is None


def test_the_error_map_marks_wrong_pixels_greys_void_and_matches_the_heatmap_geometry():
    picture = Image.new("RGB", (8, 4), (200, 200, 200))
    truth = torch.tensor([[0, 0, 1, 1, 11, 11, 2, 2]] * 4)
    predicted = torch.tensor([[0, 1, 1, 1, 3, 11, 2, 0]] * 4)
    heat = visualize.heatmap(torch.rand(4, 8), 0, 1, "viridis", "confidence")
    drawn = visualize.error_map(picture, predicted, truth, void_index=11, width=heat.width)
    assert drawn.size == heat.size
    rgb = np.asarray(drawn)[:, :8]
    assert (rgb[:, 1] == visualize.ERROR_COLOUR).all() and (rgb[:, 7] == visualize.ERROR_COLOUR).all()
    assert (rgb[:, 4] == visualize.VOID_GREY).all() and (rgb[:, 5] == visualize.VOID_GREY).all()  # void, right or not
    right = rgb[:, [0, 2, 3, 6]]
    assert (right != visualize.ERROR_COLOUR).any(axis=-1).all() and (right != visualize.VOID_GREY).any(axis=-1).all()


# Machado, Oliveira and Fernandes (2009): how a protanope, a deuteranope and a tritanope see linear RGB.
DICHROMATS = {
    "protanopia": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]],
    "deuteranopia": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]],
    "tritanopia": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.303900]],
}


def seen_as_lab(rgb, dichromacy: str) -> np.ndarray:
    """CIELAB (D65) of an sRGB colour as a dichromat sees it."""
    c = np.asarray(rgb, dtype=np.float64) / 255
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    linear = np.clip(np.asarray(DICHROMATS[dichromacy]) @ linear, 0, 1)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ linear
    t = xyz / np.array([0.9505, 1.0, 1.089])
    fx, fy, fz = np.where(t > 216 / 24389, np.cbrt(t), (24389 / 27 * t + 16) / 116)
    return np.array([116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)])


@pytest.mark.parametrize("dichromacy", DICHROMATS)
def test_the_marked_pixels_stand_out_from_the_grey_picture_for_colour_blind_visitors(dichromacy):
    """The error map's red and the disagreement map's magenta sit on a grey picture. For a protanope the old red
    (235, 40, 40) was a dull olive 34 CIELAB units from the nearest grey and the old magenta, for a deuteranope, 33;
    both are now at least 50 from every grey the picture can take, for each kind of dichromacy."""
    levels = np.arange(256)
    for colour, greys in ((visualize.ERROR_COLOUR, [*(0.35 * levels + 20), visualize.VOID_GREY[0]]),
                          (visualize.DISAGREE_COLOUR, 0.5 * levels + 40)):
        marked = seen_as_lab(colour, dichromacy)
        nearest = min(np.linalg.norm(marked - seen_as_lab((g, g, g), dichromacy)) for g in greys)
        assert nearest >= 50, f"{colour} is {nearest:.0f} from a grey for {dichromacy}"


@pytest.mark.parametrize("height", [200, 360, 2048])
def test_the_colour_bar_and_its_top_tick_stay_below_where_gradio_puts_its_image_buttons(height):
    # Gradio overlays fullscreen/download/share on an image's top-right corner; measured in chromium, they cover
    # up to 52 of 360 picture rows (14%) when the map is drawn 200 px high on a phone
    heat = visualize.heatmap(torch.rand(height, 300), 0, 1, "magma", "entropy / log C")
    panel = np.asarray(heat)[:, 300:]
    first_drawn_row = int(np.argmax((panel < 250).any(axis=(1, 2))))
    assert first_drawn_row >= 0.16 * height, f"the colour bar's panel starts at row {first_drawn_row} of {height}"
    # the key of an error map has the same geometry
    key = np.asarray(visualize.error_map(Image.new("RGB", (300, height)), torch.zeros(height, 300, dtype=torch.long),
                                         torch.ones(height, 300, dtype=torch.long), width=heat.width))[:, 300:]
    assert int(np.argmax((key < 250).any(axis=(1, 2)))) >= 0.16 * height


@pytest.mark.parametrize("height", [100, 360, 720, 2048])
def test_maps_of_one_picture_have_one_geometry_whatever_their_colour_bar_says(height):
    """Shown side by side, the maps scale alike only if their panels are as wide: a longer label wraps instead."""
    values = torch.rand(height, 480)
    drawn = [visualize.heatmap(values, 0, 1, "viridis", "confidence"),
             visualize.heatmap(values, 0, 1, "magma", "entropy / log C"),
             visualize.heatmap(values, 0, 0.0123, "cividis", "mutual info. (nats)"),
             visualize.error_map(Image.new("RGB", (480, height)), torch.zeros(height, 480, dtype=torch.long),
                                 torch.ones(height, 480, dtype=torch.long))]
    assert {image.size for image in drawn} == {(480 + visualize.colour_bar_width(height), height)}
    # the wrapped label is drawn whole inside the panel: its bottom rows hold text, and nothing runs off its right edge
    panel = np.asarray(drawn[2])[:, 480:]
    assert (panel[-visualize._font_size(height):] < 128).any()
    assert (panel[:, -3:] > 250).all()


def test_a_word_wider_than_the_panel_widens_it_rather_than_being_cut():
    wide = visualize.heatmap(torch.rand(360, 480), 0, 1, "viridis", "uncertainty-of-the-segmentation")
    assert wide.width > 480 + visualize.colour_bar_width(360)
    assert (np.asarray(wide)[:, -3:] > 250).all()


@pytest.mark.parametrize("height", [100, 360, 720, 2048])
def test_the_compare_tabs_overlays_and_disagreement_map_have_the_maps_geometry(height, tmp_path):
    """The Compare tab shows overlays, maps and the disagreement map in one grid: drawn at one size, the page scales
    them alike at any width only if their keys are as wide as the colour bars, and the longest name still fits."""
    labels = torch.full((height, 480), 3, dtype=torch.long)
    labels[:, :160] = 6   # SignSymbol, the longest name
    labels[:, 400:] = 9   # Pedestrian
    picture = Image.new("RGB", (480, height), (120, 120, 120))
    heat = visualize.heatmap(torch.rand(height, 480), 0, 1, "magma", "entropy / log C")
    layer = visualize.overlay_layer(labels, CAMVID_PALETTE, class_names=CAMVID_CLASSES, width=heat.width)
    overlay = visualize.blend(picture, layer, 0.55)
    differ = visualize.disagreement(picture, labels, torch.full_like(labels, 3), width=heat.width)
    assert overlay.size == differ.size == heat.size == visualize.heatmap(torch.rand(height, 480), 0, 1).size
    for drawn in (overlay, differ):
        key = np.asarray(drawn)[:, 480:]
        assert (key < 128).any() and (key[:, -3:] > 250).all()   # a key is drawn, and nothing runs off its edge
    assert (np.asarray(differ)[:, :160] == visualize.DISAGREE_COLOUR).all()
    assert not (np.asarray(differ)[:, 160:400] == visualize.DISAGREE_COLOUR).all(axis=-1).any()
    # the key goes with the layer, so an overlay blended again at another opacity has it too
    again = visualize.OverlayLayer.load(layer.save(tmp_path / "layer.npz"))
    assert np.array_equal(np.asarray(visualize.blend(picture, again, 0.55)), np.asarray(overlay))
    # without class names an overlay is the picture's size, as the Segment tab's slider needs
    assert visualize.blend(picture, visualize.overlay_layer(labels, CAMVID_PALETTE)).size == picture.size


def test_the_class_key_names_the_classes_shown_largest_first():
    labels = np.full((360, 480), 3, dtype=np.uint8)   # Road most,
    labels[:, :100] = 8                                # then Car,
    labels[:50, :30] = 0                               # then Sky; no other class
    palette = np.asarray(CAMVID_PALETTE, dtype=np.uint8)
    key = np.asarray(visualize.class_key(labels, palette, CAMVID_CLASSES, 360, visualize.colour_bar_width(360)))
    met = []   # the class colours met top to bottom, through the swatches
    for rgb in key[:, 6]:
        match = [index for index, colour in enumerate(palette) if (rgb == colour).all()]
        if match and (not met or met[-1] != match[0]):
            met.append(match[0])
    assert met == [3, 8, 0]
    assert int(np.argmax((key < 250).any(axis=(1, 2)))) >= 0.16 * 360   # below where Gradio puts its buttons


def key_colours(key: np.ndarray, palette: np.ndarray) -> list[int]:
    """The class colours a key's swatches show, top to bottom."""
    met = []
    for rgb in key[:, 6]:
        match = [index for index, colour in enumerate(palette) if (rgb == colour).all()]
        if match and (not met or met[-1] != match[0]):
            met.append(match[0])
    return met


def test_two_overlays_shown_side_by_side_list_their_classes_alike(tmp_path):
    """Each key ranked its own network's classes, so FCN's listed Pole above Building and SegNet's below, a
    difference a lecturer read where there was none. Given one order (the Compare tab's: both networks' pixels
    together), both keys follow it, leave out what their network did not find, and keep it on disk and in other
    colours."""
    palette = np.asarray(CAMVID_PALETTE, dtype=np.uint8)
    fcn = np.full((360, 480), 3, dtype=np.uint8)
    fcn[:, :100], fcn[:60, 200:260] = 1, 2           # Road, Building, Pole
    segnet = fcn.copy()
    segnet[:, :100], segnet[:, 100:300] = 2, 1        # Road, Pole, Building, the other way round
    segnet[300:, 400:] = 8                            # and a Car FCN did not find
    assert key_colours(np.asarray(visualize.class_key(fcn, palette, CAMVID_CLASSES, 360, 90)), palette) == [3, 1, 2]
    assert key_colours(np.asarray(visualize.class_key(segnet, palette, CAMVID_CLASSES, 360, 90)), palette)[:3] == [
        1, 3, 2]
    together = np.bincount(fcn.ravel(), minlength=11) + np.bincount(segnet.ravel(), minlength=11)
    order = [int(c) for c in np.argsort(-together, kind="stable")]
    layers = [visualize.overlay_layer(labels, palette, class_names=CAMVID_CLASSES, width=570, key_order=order)
              for labels in (fcn, segnet)]
    assert [key_colours(layer.key, palette) for layer in layers] == [[3, 1, 2], [3, 1, 2, 8]]
    again = visualize.OverlayLayer.load(layers[1].save(tmp_path / "layer.npz"))
    assert again.key_order == tuple(order)
    lilac = palette.copy()
    lilac[2] = (216, 160, 216)
    assert key_colours(again.in_colours(lilac).key, lilac) == [3, 1, 2, 8]


def test_the_ground_truth_is_drawn_in_flat_class_colours_void_grey_with_the_maps_geometry():
    truth = torch.full((360, 480), 3, dtype=torch.long)
    truth[:, :100] = 11    # void
    truth[:40, 200:] = 0   # Sky
    heat = visualize.heatmap(torch.rand(360, 480), 0, 1, "magma", "entropy / log C")
    drawn = visualize.label_map(truth, CAMVID_PALETTE, CAMVID_CLASSES, void_index=11, width=heat.width)
    assert drawn.size == heat.size
    rgb = np.asarray(drawn)
    assert (rgb[:, :100] == visualize.VOID_GREY).all()
    assert (rgb[:40, 200:480] == CAMVID_PALETTE[0]).all() and (rgb[100:, 100:480] == CAMVID_PALETTE[3]).all()
    # down through the key's swatches, the largest first: Road, void, Sky. Void is keyed too: its grey beside Sky's
    # had no swatch, though the map's title says "grey: void" (a lecturer's audit)
    swatches = rgb[:, 480 + 6]
    met = [tuple(colour) for i, colour in enumerate(swatches) if i == 0 or (colour != swatches[i - 1]).any()]
    assert [c for c in met if c in {tuple(CAMVID_PALETTE[3]), tuple(CAMVID_PALETTE[0]), visualize.VOID_GREY}] == [
        tuple(CAMVID_PALETTE[3]), visualize.VOID_GREY, tuple(CAMVID_PALETTE[0])]


KEYED_MAPS = {   # every map drawn with a key or a colour bar beside it, for a picture `h` rows high
    "confidence": lambda h: visualize.heatmap(torch.rand(h, 32), 0, 1, "viridis", "confidence"),
    "boundary uncertainty": lambda h: visualize.heatmap(torch.rand(h, 32), 0, 1, "magma", "entropy / log C"),
    "mutual information": lambda h: visualize.heatmap(torch.rand(h, 32), 0, 0.73, "cividis", "mutual info. (nats)"),
    "errors": lambda h: visualize.error_map(Image.new("RGB", (32, h)), torch.zeros(h, 32, dtype=torch.long),
                                            torch.ones(h, 32, dtype=torch.long)),
    "disagreement": lambda h: visualize.disagreement(Image.new("RGB", (32, h)), torch.zeros(h, 32, dtype=torch.long),
                                                     torch.ones(h, 32, dtype=torch.long)),
    "ground truth": lambda h: visualize.label_map(torch.arange(h * 32).reshape(h, 32) % 11, CAMVID_PALETTE,
                                                  CAMVID_CLASSES),
}


@pytest.mark.parametrize("name", list(KEYED_MAPS))
def test_no_text_of_a_key_is_drawn_over_another_or_off_the_map(name, monkeypatch):
    """A 96x72 picture's error map had its share "38.8%" drawn over "void", a 32x24 one's "wrong" over "wrong" and
    its colour bars' ticks over each other; at 2048 rows the label's last line ran off the bottom ("log C"). Every
    text and swatch a key draws is recorded, at every height up to 130 rows and at large ones: none may overlap
    another or leave the map's rows."""
    drawn = []
    text, rectangle = ImageDraw.ImageDraw.text, ImageDraw.ImageDraw.rectangle

    def recorded_text(self, xy, words, *args, **kwargs):
        drawn.append((words, self.textbbox(xy, words, font=kwargs.get("font"))))
        return text(self, xy, words, *args, **kwargs)

    def recorded_rectangle(self, xy, *args, **kwargs):
        drawn.append(("a swatch", tuple(np.ravel(xy))))
        return rectangle(self, xy, *args, **kwargs)

    monkeypatch.setattr(ImageDraw.ImageDraw, "text", recorded_text)
    monkeypatch.setattr(ImageDraw.ImageDraw, "rectangle", recorded_rectangle)
    problems = []
    for height in [*range(1, 131), 200, 360, 720, 1536, 2048]:
        drawn.clear()
        visualize._colour_bar.cache_clear()   # drawn again, while recorded
        KEYED_MAPS[name](height)
        for index, (words, (left, top, right, bottom)) in enumerate(drawn):
            if top < 0 or bottom > height:
                problems.append(f"{height} rows: {words!r} runs off the map ({top}-{bottom})")
            for other, box in drawn[index + 1:]:
                if left < box[2] - 1 and box[0] < right - 1 and top < box[3] - 1 and box[1] < bottom - 1:
                    problems.append(f"{height} rows: {words!r} drawn over {other!r}")
    visualize._colour_bar.cache_clear()
    assert problems == [], problems[:5]


@pytest.mark.parametrize("height", [100, 120, 200, 360])
def test_an_error_keys_share_of_wrong_pixels_shows_on_any_but_the_smallest_maps(height):
    """Left out to make room only where the rows do not fit beside it (under 100 rows): the caption says it too."""
    panel = np.asarray(KEYED_MAPS["errors"](height))[:, 32:]
    text_rows = visualize._text_height(visualize._font(visualize._font_size(height)))
    assert (panel[-2 * text_rows - 6:] < 128).any(), f"{height} rows: the share is left out"


@pytest.mark.parametrize("height", [720, 1536, 2048])
def test_a_maps_key_reads_alike_whatever_the_pictures_size(height):
    """The page fits a map to its box, so a key's text shows at its share of the map's height: a 12-megapixel photo's
    2048x1536 maps, shown 500 px wide, had keys of 4-6 px where a CamVid frame's read at 13 px."""
    frame = visualize._font_size(360) / 360
    assert visualize._font_size(height) / height == pytest.approx(frame, rel=0.1)
    assert visualize.colour_bar_width(height) / height == pytest.approx(visualize.colour_bar_width(360) / 360, rel=0.15)


@pytest.mark.parametrize("name, dimmed", [("errors", (0.35, 20)), ("disagreement", (0.5, 40))])
def test_the_key_of_the_pixels_left_as_the_picture_shows_the_greys_they_take(name, dimmed):
    """Right (or agreeing) pixels are the picture dimmed to a range of greys: one flat grey in the key matched none
    of them on a light road or a dark car. The swatch runs from the lightest to the darkest, top to bottom."""
    height = 360
    scale, offset = dimmed
    panel = np.asarray(KEYED_MAPS[name](height))[:, 32:].astype(int)
    light, dark = round(scale * 255 + offset), offset
    grey = (panel[..., 0] == panel[..., 1]) & (panel[..., 1] == panel[..., 2])
    size = visualize._font_size(height)
    near = {level: grey & (abs(panel[..., 0] - level) <= 3) for level in (light, dark)}
    columns = [x for x in range(9, 8 + size)  # inside the swatches' squares, left of their words
               if near[light][:, x].any() and near[dark][:, x].any()]
    assert columns, f"no swatch from grey {light} to grey {dark} in the {name} key"
    x = columns[len(columns) // 2]
    top = int(np.argmax(near[light][:, x]))
    bottom = height - 1 - int(np.argmax(near[dark][::-1, x]))
    assert top < bottom and bottom - top <= size


@pytest.mark.parametrize("cmap", ["viridis", "magma", "cividis"])
def test_a_colour_bars_light_end_is_edged_on_its_white_panel(cmap):
    """The light ends of viridis, magma and cividis are 1.05-1.26:1 on white (WCAG 1.4.11 asks 3:1): the bar is edged
    in dark grey, as the keys' swatches are."""
    panel = np.asarray(visualize.heatmap(torch.rand(360, 32), 0, 1, cmap, "label"))[:, 32:].astype(int)
    edge = (panel[:, 7] == 60).all(axis=1)   # the column left of the strip, which starts 8 px into the panel
    assert edge.sum() >= 0.5 * 360, f"{edge.sum()} rows of the bar's left edge are dark"
    top = int(np.argmax(edge))
    assert (panel[top, 7:8 + visualize._font_size(360)] == 60).all()   # and its top, above the lightest colour
