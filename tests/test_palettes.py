"""The colour-blind-safe class colours: far enough apart for colour-blind eyes, close to CamVid's, and drawn by the
overlays, their keys, the legends and the ground-truth map alike when a visitor asks for them."""

from __future__ import annotations

import re

import gradio as gr
import numpy as np
import pytest
from gradio_client import handle_file
from PIL import Image

from conftest import ROOT, load_benchmark_script, pixels, refuse_networks
from segdemo import ui, visualize
from segdemo.ground_truth import example_ground_truth
from segdemo.classes import (
    CAMVID_CLASSES,
    CAMVID_PALETTE,
    COLOUR_BLIND_SAFE_CHANGES,
    COLOUR_BLIND_SAFE_PALETTE,
    class_palette,
)
from segdemo.service import SegmentationService, _in_colours, compare_legend
from segdemo.zoo import load_zoo

# The bar the safe palette keeps (CIEDE2000 between the closest two colours, benchmarks/colour_blind_palette.py):
# for a protanope and a deuteranope, where CamVid's palette had pairs at 2.7-3.9, at least 11.5 in flat colours
# (legends, keys, the ground truth with its void grey) and 8.5 on the overlay (0.55 over mid grey); for a tritanope
# and for normal vision, no pair closer than CamVid's own closest.
BAR = {("protan", "flat"): 11.5, ("deutan", "flat"): 11.5, ("protan", "overlay"): 8.5, ("deutan", "overlay"): 8.5}
MOVED = [CAMVID_CLASSES.index(name) for name in COLOUR_BLIND_SAFE_CHANGES]
FRAME = str(ROOT / "examples" / "camvid_0006R0_f03690.jpg")   # pedestrians before buildings, a fence, signs


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


# -- the layer an overlay is blended from, drawn in other colours ------------------------------------------------


def a_layer(keyed: bool = True) -> visualize.OverlayLayer:
    """Every class in a band of its own, with a key: what an overlay of the Compare tab is blended from."""
    labels = np.repeat(np.arange(len(CAMVID_CLASSES), dtype=np.uint8), 8)[None].repeat(240, axis=0)
    return visualize.overlay_layer(labels, CAMVID_PALETTE, class_names=CAMVID_CLASSES, keyed=keyed)


def test_a_layer_in_the_safe_colours_blends_differently_exactly_where_the_moved_classes_are():
    layer = a_layer()
    picture = Image.fromarray(np.random.default_rng(0).integers(0, 256, (240, 88, 3), dtype=np.uint8))
    camvid = np.asarray(visualize.blend(picture, layer, 0.55))
    safe = np.asarray(visualize.blend(picture, layer.in_colours(COLOUR_BLIND_SAFE_PALETTE), 0.55))
    moved = np.isin(layer.labels, MOVED) & ~layer.edges   # the boundaries stay white
    width = layer.labels.shape[1]
    assert np.array_equal((camvid[:, :width] != safe[:, :width]).any(axis=2), moved)
    expected = (0.45 * np.asarray(picture, np.float32) + 0.55 * visualize.colorize(layer.labels,
                                                                                   COLOUR_BLIND_SAFE_PALETTE))
    assert np.abs(safe[:, :width][moved].astype(int) - expected.round()[moved]).max() <= 1


def test_the_key_is_drawn_again_in_the_new_colours_and_back_as_the_run_drew_it():
    """The key is the overlay's own legend (the Compare tab's, a downloaded overlay's): its swatches follow."""
    layer = a_layer()
    safe = layer.in_colours(COLOUR_BLIND_SAFE_PALETTE)
    assert safe.key.shape == layer.key.shape and not np.array_equal(safe.key, layer.key)
    for name, colour in COLOUR_BLIND_SAFE_CHANGES.items():
        camvid = CAMVID_PALETTE[CAMVID_CLASSES.index(name)]
        assert (safe.key == colour).all(axis=2).any() and not (safe.key == camvid).all(axis=2).any()
    assert np.array_equal(safe.in_colours(CAMVID_PALETTE).key, layer.key)   # back: the very key the run drew
    assert layer.in_colours(CAMVID_PALETTE) is layer   # the same colours: nothing drawn


def test_a_layer_keeps_its_class_names_on_disk_without_pickles(tmp_path):
    for keyed in (True, False):
        layer = visualize.OverlayLayer.load(a_layer(keyed).save(tmp_path / f"layer{keyed}.npz"))
        assert layer.class_names == CAMVID_CLASSES and (layer.key is not None) == keyed
        assert np.array_equal(layer.in_colours(COLOUR_BLIND_SAFE_PALETTE).palette, COLOUR_BLIND_SAFE_PALETTE)


def test_a_checkpoint_with_other_classes_keeps_its_own_colours_when_the_safe_ones_are_asked_for():
    labels = np.zeros((20, 30), dtype=np.uint8)
    labels[:, 15:] = 1
    layer = visualize.overlay_layer(labels, [(10, 20, 30), (200, 100, 0)], class_names=["lane", "kerb"])
    assert _in_colours(layer, True) is layer and _in_colours(a_layer(), True).palette.tolist() == [
        list(colour) for colour in COLOUR_BLIND_SAFE_PALETTE]


def test_the_compare_tabs_legend_shows_the_colours_chosen():
    for ticked, palette in ((False, CAMVID_PALETTE), (True, COLOUR_BLIND_SAFE_PALETTE)):
        assert swatches(compare_legend(ticked)) == dict(zip(CAMVID_CLASSES, palette))


def swatches(legend: str) -> dict[str, tuple[int, int, int]]:
    """The legend's class names and their swatches' colours."""
    found = re.findall(r'background:rgb\((\d+),(\d+),(\d+)\)"></span>([^<]+)<', legend)
    return {name.strip(): (int(r), int(g), int(b)) for r, g, b, name in found}


# -- the service: a tick draws the shown result again, no network run --------------------------------------------


@pytest.fixture(scope="module")
def service() -> SegmentationService:
    return SegmentationService(load_zoo())


def test_ticking_the_safe_colours_changes_exactly_the_moved_classes_pixels_and_their_swatches(service, monkeypatch):
    """The Segment tab: the overlay changes on the pixels of Pedestrian, Fence and SignSymbol alone (the white
    boundaries stay), the legend's swatches follow, and the class map the run wrote keeps CamVid's colours."""
    result = service.segment(FRAME, "fcn8s_lite", 0.55, 1, 0)
    shown = result[-1]
    refuse_networks(monkeypatch)
    (picture, overlay), legend, state = service.reblend_segment(shown, 0.55, "info", True)
    assert picture == shown.picture_file and state.colour_blind_safe and state.opacity == 0.55
    layer = visualize.OverlayLayer.load(shown.layer_files[0])
    moved = np.isin(layer.labels, MOVED) & ~layer.edges
    assert moved.sum() > 1000   # the frame shows the moved classes
    assert np.array_equal((pixels(overlay) != pixels(result[0][1])).any(axis=2), moved)
    camvid_legend, safe_legend = swatches(result[5]), swatches(legend)
    assert list(safe_legend) == list(camvid_legend)   # the same classes, largest first, with the same shares
    assert re.findall(r"<b>[^<]+</b>", legend) == re.findall(r"<b>[^<]+</b>", result[5])
    assert safe_legend == {name: COLOUR_BLIND_SAFE_PALETTE[CAMVID_CLASSES.index(name)] for name in safe_legend}
    assert set(safe_legend) & set(COLOUR_BLIND_SAFE_CHANGES)
    with Image.open(result[10]) as class_map:   # a data file: CamVid's colours, whatever the page shows
        assert np.array_equal(np.asarray(class_map.getpalette()[:33]).reshape(11, 3), CAMVID_PALETTE)
    # unticked: the run's own overlay and legend again, pixel for pixel
    (_, back), back_legend, state = service.reblend_segment(state, 0.55, "info", False)
    assert np.array_equal(pixels(back), pixels(result[0][1])) and back_legend == result[5]
    assert not state.colour_blind_safe
    # and the slider alone leaves the legend as it is
    assert service.reblend_segment(state, 0.8, "info", False)[1] == gr.skip()


def test_on_the_compare_tab_both_overlays_their_keys_and_the_ground_truth_follow(service, monkeypatch):
    result = service.compare(FRAME, 0.55, 1, 0)
    shown = result[-1]
    refuse_networks(monkeypatch)
    fcn, segnet, truth, state = service.reblend_compare(shown, 0.55, "headline", True)
    assert state.colour_blind_safe
    for before, after, layer_file in zip(result[:2], (fcn, segnet), shown.layer_files):
        layer = visualize.OverlayLayer.load(layer_file)
        width = layer.labels.shape[1]
        changed = (pixels(after) != pixels(before)).any(axis=2)
        assert np.array_equal(changed[:, :width], np.isin(layer.labels, MOVED) & ~layer.edges)
        assert changed[:, width:].any()   # the key's swatches
        assert np.array_equal(pixels(after)[:, width:], layer.in_colours(COLOUR_BLIND_SAFE_PALETTE).key)
    labels = example_ground_truth(Image.open(FRAME).convert("RGB")).numpy()
    before_truth = pixels(result[9]["value"])
    changed = (pixels(truth) != before_truth).any(axis=2)
    assert np.array_equal(changed[:, : labels.shape[1]], np.isin(labels, MOVED))   # void grey stays too
    assert pixels(truth).shape == before_truth.shape and changed[:, labels.shape[1]:].any()
    # unticked: as the run drew them
    fcn, segnet, truth, _ = service.reblend_compare(state, 0.55, "headline", False)
    assert all(np.array_equal(pixels(a), pixels(b)) for a, b in ((fcn, result[0]), (segnet, result[1]),
                                                                 (truth, result[9]["value"])))


def test_a_run_made_while_the_safe_colours_are_ticked_is_drawn_in_them_from_the_start(service):
    """A run's inputs, the API's, have no choice of colours. A run made with the box ticked drew CamVid's, and the
    blend that follows each run drew it again in the safe ones a moment later: a flash of the colours the visitor
    had turned away from. The page's re-blends (the box's every change sends one) tell the server its choice, and
    the session's runs are drawn in it, pixel for pixel as the re-blend would; the blend after them has nothing to
    do. Another session, as the API's calls are, still gets CamVid's colours."""
    demo = ui.build_demo(service)
    runs = {block_fn.api_name: block_fn.fn for block_fn in demo.fns.values() if block_fn.api_name in ("segment",
                                                                                                       "compare")}
    visitor, api = gr.Request(session_hash="ticked the box"), gr.Request(session_hash="an API call")
    assert service.reblend_segment(None, 0.55, "", True, request=visitor) == (gr.skip(),) * 3   # before any result
    assert service.colours_chosen(visitor) and not service.colours_chosen(api) and not service.colours_chosen(None)

    camvid = runs["segment"](FRAME, "fcn8s_lite", 0.55, 1, 0, request=api)
    ticked = runs["segment"](FRAME, "fcn8s_lite", 0.55, 1, 0, request=visitor)
    assert not camvid[-1].colour_blind_safe and ticked[-1].colour_blind_safe
    (_, recoloured), legend, _ = service.reblend_segment(camvid[-1], 0.55, "info", True)
    assert np.array_equal(pixels(ticked[0][1]), pixels(recoloured)) and ticked[5] == legend
    assert not np.array_equal(pixels(ticked[0][1]), pixels(camvid[0][1]))
    with Image.open(ticked[10]) as class_map:   # the data file keeps CamVid's colours
        assert np.array_equal(np.asarray(class_map.getpalette()[:33]).reshape(11, 3), CAMVID_PALETTE)
    assert service.reblend_segment_if_moved(ticked[-1], 0.55, "info", True, request=visitor) == (gr.skip(),) * 3
    (_, back), back_legend, _ = service.reblend_segment(ticked[-1], 0.55, "info", False)   # unticked: CamVid's
    assert np.array_equal(pixels(back), pixels(camvid[0][1])) and back_legend == camvid[5]

    camvid = runs["compare"](FRAME, 0.55, 1, 0, request=api)
    ticked = runs["compare"](FRAME, 0.55, 1, 0, request=visitor)
    fcn, segnet, truth, _ = service.reblend_compare(camvid[-1], 0.55, "headline", True)
    assert ticked[-1].colour_blind_safe and not camvid[-1].colour_blind_safe
    assert all(np.array_equal(pixels(a), pixels(b)) for a, b in ((ticked[0], fcn), (ticked[1], segnet),
                                                                 (ticked[9]["value"], truth)))
    assert service.reblend_compare_if_moved(ticked[-1], 0.55, "h", True, request=visitor) == (gr.skip(),) * 4
    # the box unticked: the next run is CamVid's again
    assert service.reblend_compare(ticked[-1], 0.55, "h", False, request=visitor)[-1].colour_blind_safe is False
    assert not runs["compare"](FRAME, 0.55, 1, 0, request=visitor)[-1].colour_blind_safe


def test_each_tab_has_the_choice_under_its_opacity_and_the_api_keeps_its_inputs(service):
    """One box a tab, saying what it does and that the class map keeps CamVid's colours; ticked on one tab, the
    other follows, in the page (no server call); and no endpoint of the API takes it, so no client breaks."""
    demo = ui.build_demo(service)
    boxes = [block for block in demo.blocks.values() if isinstance(block, gr.Checkbox)]
    assert [box.elem_id for box in boxes] == ["segment-colours", "compare-colours"]
    assert all(box.label == ui.COLOURS_LABEL and "class map" in box.info and box.value is False for box in boxes)
    by_api = {block_fn.api_name: block_fn for block_fn in demo.fns.values()}
    assert [block.label for block in by_api["segment"].inputs] == ["Picture", "Model", "Overlay opacity",
                                                                   "Monte-Carlo samples", "Seed"]
    assert [block.label for block in by_api["compare"].inputs] == ["Picture", "Overlay opacity",
                                                                   "Monte-Carlo samples", "Seed"]
    for block_fn in demo.fns.values():
        if any(box in block_fn.inputs for box in boxes):
            assert block_fn.api_visibility == "private", block_fn.api_name
    follows = [fn for fn in demo.fns.values() if fn.fn is None and fn.js == "(ticked) => ticked"]
    assert sorted((f.inputs[0].elem_id, f.outputs[0].elem_id) for f in follows) == [
        ("compare-colours", "segment-colours"), ("segment-colours", "compare-colours")]
    assert all([t[1] for t in f.targets] == ["input"] and f.queue is False for f in follows)


def test_the_api_draws_camvids_colours_as_before(client):
    """The API's answers, as its clients know them: at opacity 1 the overlay holds CamVid's colours and white."""
    overlay = client.predict(handle_file(FRAME), "fcn8s_lite", 1.0, 1, 0, api_name="/segment")[0][1]
    colours = pixels(overlay).reshape(-1, 3)
    allowed = np.array([*CAMVID_PALETTE, (255, 255, 255)])
    assert (colours[:, None] == allowed[None]).all(axis=2).any(axis=1).all()
