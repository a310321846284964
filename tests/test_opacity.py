"""Moving the opacity slider re-blends the shown overlays from the last result, without running a network."""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import replace
from io import BytesIO

import gradio as gr
import numpy as np
import pytest
from PIL import Image

from conftest import ROOT, load_benchmark_script, pixels, refuse_networks
from segdemo import ui
from segdemo.imagefiles import write_images
from segdemo.service import RESULT_FORGOTTEN, SegmentationService, ShownOverlays
from segdemo.visualize import OverlayLayer
from segdemo.zoo import load_zoo

EXAMPLE = str(ROOT / "examples" / "camvid_0006R0_f01890.jpg")


@pytest.fixture(scope="module")
def service() -> SegmentationService:
    return SegmentationService(load_zoo())


@pytest.mark.parametrize("model", ["fcn8s_lite", "bayesian_segnet_lite"])
def test_a_new_opacity_gives_exactly_the_overlay_a_new_run_would(service, model, monkeypatch):
    shown = service.segment(EXAMPLE, model, 0.55, 4, 1)
    kept = shown[-1]
    assert isinstance(kept, ShownOverlays) and len(kept.layer_files) == 1
    refuse_networks(monkeypatch)
    (picture, overlay), legend, state = service.reblend_segment(kept, 0.9, "info")
    assert (state.picture_file, state.layer_files) == (kept.picture_file, kept.layer_files)   # the same result
    assert legend == gr.skip()   # the same classes in the same colours: the legend stays
    monkeypatch.undo()   # the network may run again: the answer a visitor would get by pressing Segment
    (fresh_picture, fresh_overlay) = service.segment(EXAMPLE, model, 0.9, 4, 1)[0]
    assert picture == shown[0][0]   # the picture shown beside it is the one already in Gradio's cache
    assert np.array_equal(pixels(overlay), pixels(fresh_overlay))
    assert not np.array_equal(pixels(overlay), pixels(shown[0][1]))   # and it did change
    assert np.array_equal(pixels(picture), pixels(fresh_picture))


def test_both_compare_overlays_follow_the_opacity(service, monkeypatch):
    shown = service.compare(EXAMPLE, 0.3, 2, 0)
    refuse_networks(monkeypatch)
    fcn, segnet, truth, state = service.reblend_compare(shown[-1], 1.0, "headline")
    assert truth == gr.skip()   # drawn in the same colours: the ground truth stays
    assert state.layer_files == shown[-1].layer_files and state.blends == (os.path.dirname(fcn),)
    monkeypatch.undo()
    fresh = service.compare(EXAMPLE, 1.0, 2, 0)
    assert np.array_equal(pixels(fcn), pixels(fresh[0]))
    assert np.array_equal(pixels(segnet), pixels(fresh[1]))
    # at full opacity only the class colours (and the white boundaries) are left, left of the class key
    palette = np.array(service.models["fcn8s_lite"].checkpoint.config["palette"] + [[255, 255, 255]])
    width = Image.open(shown[-1].picture_file).width
    colours = pixels(fcn)[:, :width].reshape(-1, 3)
    assert (colours[:, None, :] == palette[None]).all(axis=2).any(axis=1).all()


@pytest.mark.parametrize("lost", ["picture", "layer", "cut short"])
def test_a_result_gradio_no_longer_keeps_gets_a_clear_message(service, lost):
    kept = service.segment(EXAMPLE, "fcn8s_lite", 0.55, 1, 0)[-1]
    if lost == "picture":
        os.remove(kept.picture_file)
    elif lost == "layer":
        os.remove(kept.layer_files[0])
    else:
        with open(kept.layer_files[0], "r+b") as handle:
            handle.truncate(100)
    with pytest.warns(UserWarning, match="no longer kept on the server: press the button again"):
        assert service.reblend_segment(kept, 0.2, "info") == (gr.skip(), gr.skip(), RESULT_FORGOTTEN)
    assert_told_once(service, RESULT_FORGOTTEN)


def assert_told_once(service: SegmentationService, state) -> None:
    """Once told, the visitor's next moves change nothing and say nothing (a drag would stack a message per step)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert service.reblend_segment(state, 0.3, "info") == (gr.skip(),) * 3
        assert service.reblend_compare(state, 0.3, "headline") == (gr.skip(),) * 4


@pytest.mark.parametrize("reblend, result_on_page", [("reblend_segment", "**FCN-8s (lite)** · 410 ms"),
                                                     ("reblend_compare", "The two networks disagree on 3.9%")],
                         ids=["Segment", "Compare"])
def test_a_result_the_session_no_longer_holds_gets_the_message_once(service, reblend, result_on_page):
    """The State expires with the result's files after a day, and a restarted server has none: the page still shows
    the result, and moving the slider must not silently do nothing."""
    with pytest.warns(UserWarning, match="no longer kept on the server: press the button again"):
        answer = getattr(service, reblend)(None, 0.2, result_on_page)
    assert answer[-1] == RESULT_FORGOTTEN and all(value == gr.skip() for value in answer[:-1])
    assert_told_once(service, answer[-1])


def test_a_drag_leaves_the_last_two_blends_on_disk_not_one_per_step(service):
    """A drag blends a few times a second, each step a new overlay PNG (2.5 MB for a 12-megapixel photo) that would
    stay a day: only the one shown and the one before it (perhaps still on its way to the browser) are kept."""
    state = service.segment(EXAMPLE, "fcn8s_lite", 0.55, 1, 0)[-1]
    result_files = [state.picture_file, *state.layer_files]
    overlays = []
    for step in range(6):
        (_, overlay), _, state = service.reblend_segment(state, 0.6 + step * 0.05, "info")
        overlays.append(overlay)
    assert [os.path.exists(path) for path in overlays] == [False] * 4 + [True] * 2
    assert state.blends == tuple(os.path.dirname(path) for path in overlays[-2:])
    assert [os.path.exists(os.path.dirname(path)) for path in overlays[:4]] == [False] * 4   # their folders too
    assert all(os.path.exists(path) for path in result_files)   # the result itself stays
    (_, overlay), _, state = service.reblend_segment(state, 0.3, "info")   # and it still blends
    assert os.path.exists(overlay) and not os.path.exists(overlays[-2])



def test_a_blend_that_ends_after_a_newer_result_leaves_the_newer_one_shown(service):
    """Blends run beside a run, on the State they read when they began: one that ended after Segment's new result
    put the older result's overlay back on the page and in the State (2 stale answers in 8 tries over the queue)."""
    visitor, other = gr.Request(session_hash="visitor"), gr.Request(session_hash="someone else")
    older = service.note_shown(visitor, service.segment(EXAMPLE, "fcn8s_lite", 0.55, 1, 0))[-1]
    assert service.reblend_segment(older, 0.7, "info", request=visitor)[0] != gr.skip()  # the newest result blends
    newer = service.note_shown(visitor, service.segment(EXAMPLE, "bayesian_segnet_lite", 0.55, 2, 0))[-1]
    folders = set(os.listdir(os.path.dirname(os.path.dirname(newer.picture_file))))
    assert service.reblend_segment(older, 0.3, "info", request=visitor) == (gr.skip(),) * 3  # begun on the older
    assert set(os.listdir(os.path.dirname(os.path.dirname(newer.picture_file)))) == folders  # and nothing written
    (_, overlay), _, state = service.reblend_segment(newer, 0.3, "info", request=visitor)
    assert state.picture_file == newer.picture_file and os.path.exists(overlay)
    # another session's result changes nothing for this one, and a session with none noted blends as before
    service.note_shown(other, service.compare(EXAMPLE, 0.55, 1, 0))
    assert service.reblend_segment(newer, 0.4, "info", request=visitor)[0] != gr.skip()
    assert service.reblend_segment(older, 0.4, "info", request=gr.Request(session_hash="never ran"))[0] != gr.skip()


def test_a_result_on_the_other_tab_leaves_this_tabs_slider_and_colours_working(service):
    """The two tabs of a page are one session. Its newest result was noted for the session, so once the visitor
    had compared, the Segment tab's result counted as older: its slider and colour box drew nothing, with no word
    (and the Compare tab's, after a Segment run). Each tab's newest result is its own."""
    visitor = gr.Request(session_hash="both tabs")
    segmented = service.note_shown(visitor, service.segment(EXAMPLE, "fcn8s_lite", 0.55, 1, 0))[-1]
    compared = service.note_shown(visitor, service.compare(EXAMPLE, 0.55, 1, 0))[-1]
    (_, overlay), _, state = service.reblend_segment(segmented, 0.3, "info", request=visitor)
    assert os.path.exists(overlay) and state.opacity == 0.3
    (_, overlay), legend, state = service.reblend_segment(state, 0.3, "info", True, request=visitor)
    assert os.path.exists(overlay) and legend != gr.skip() and state.colour_blind_safe
    service.note_shown(visitor, service.segment(EXAMPLE, "fcn8s_lite", 0.55, 1, 0))   # a Segment run after it
    fcn, segnet, _, state = service.reblend_compare(compared, 0.3, "headline", request=visitor)
    assert os.path.exists(fcn) and os.path.exists(segnet) and state.opacity == 0.3
    # and within a tab, a newer result still wins over a blend begun on the older one
    assert service.reblend_segment(segmented, 0.8, "info", request=visitor) == (gr.skip(),) * 3


def test_a_blend_that_finds_a_newer_result_once_drawn_deletes_what_it_drew(service, monkeypatch):
    """The newer result may come while the blend is drawn: checked again before it answers."""
    visitor = gr.Request(session_hash="drawn meanwhile")
    older = service.note_shown(visitor, service.segment(EXAMPLE, "fcn8s_lite", 0.55, 1, 0))[-1]
    written = []
    real_write = write_images

    def write_then_a_newer_result_arrives(images):
        written.append(real_write(images))
        service.note_shown(visitor, (replace(older, picture_file="a newer result"),))
        return written[-1]

    monkeypatch.setattr("segdemo.service.write_images", write_then_a_newer_result_arrives)
    assert service.reblend_compare(older, 0.2, "info", request=visitor) == (gr.skip(),) * 4
    assert written and not any(os.path.exists(path) for path in written[0].values())


def test_a_slider_moved_during_a_run_is_followed_once_the_run_ends(service):
    """A run blends at the opacity its button was pressed at; the slider's moves meanwhile re-blended the older
    result, and the new overlay stayed at the old opacity until the next move."""
    shown = service.segment(EXAMPLE, "fcn8s_lite", 0.55, 1, 0)[-1]
    assert shown.opacity == 0.55
    assert service.reblend_segment_if_moved(shown, 0.55, "info") == (gr.skip(),) * 3  # not moved: no blend
    (_, overlay), _, state = service.reblend_segment_if_moved(shown, 0.8, "info")
    assert state.opacity == 0.8 and np.array_equal(pixels(overlay),
                                                   pixels(service.segment(EXAMPLE, "fcn8s_lite", 0.8, 1, 0)[0][1]))
    compared = service.compare(EXAMPLE, 0.3, 1, 0)[-1]
    assert service.reblend_compare_if_moved(compared, 0.3, "info") == (gr.skip(),) * 4
    assert len(service.reblend_compare_if_moved(compared, 0.6, "info")) == 4
    assert service.reblend_segment_if_moved(None, 0.6, "") == (gr.skip(),) * 3  # no result yet


def test_each_run_is_followed_by_a_blend_at_the_slider_s_value_then(service):
    demo = ui.build_demo(service)
    follows = {block_fn.fn.__name__: block_fn for block_fn in demo.fns.values()
               if block_fn.fn is not None and block_fn.fn.__name__.endswith("_if_moved")}
    assert sorted(follows) == ["reblend_compare_if_moved", "reblend_segment_if_moved"]
    for block_fn in follows.values():
        assert [t[1] for t in block_fn.targets] == ["then"] * len(block_fn.targets)
        assert block_fn.api_visibility == "private" and block_fn.concurrency_id == "blend"
        assert isinstance(block_fn.inputs[0], gr.State) and isinstance(block_fn.inputs[1], gr.Slider)
        assert isinstance(block_fn.inputs[3], gr.Checkbox)   # and in the colours chosen: a run draws CamVid's

def test_a_session_holds_file_names_only(service):
    """A curl call is a session of its own and Gradio keeps up to 10,000: none may hold a result's pixels in memory."""
    kept = service.compare(EXAMPLE, 0.55, 1, 0)[-1]
    assert all(isinstance(value, str) for value in (kept.picture_file, *kept.layer_files))
    layer = OverlayLayer.load(kept.layer_files[0])
    assert layer.labels.dtype == np.uint8 and layer.labels.shape == (360, 480)
    assert os.path.getsize(kept.layer_files[0]) < 360 * 480 * 1.2   # a byte a pixel, a bit for its boundary


@pytest.mark.parametrize("opacity", [-3, 7, float("nan"), "0.4"])
def test_an_odd_opacity_is_clamped_as_a_run_would_clamp_it(service, opacity):
    kept = service.segment(EXAMPLE, "fcn8s_lite", 0.3, 1, 0)[-1]   # at another opacity than any of them becomes
    (_, overlay), _, _ = service.reblend_segment(kept, opacity, "info")
    expected = service.segment(EXAMPLE, "fcn8s_lite", opacity, 1, 0)[0][1]
    assert np.array_equal(pixels(overlay), pixels(expected))


def test_before_any_result_a_new_opacity_changes_nothing(service):
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # and says nothing: there is nothing to blend yet
        assert service.reblend_segment(None, 0.3, "") == (gr.skip(),) * 3
        assert service.reblend_compare(None, 0.3, "") == (gr.skip(),) * 4


def test_moving_either_slider_reblends_privately_and_asks_for_no_gpu(service):
    """The slider and the colour-blind-safe box are one event, each call reading both: a tick and a drag that cross
    leave the overlays, their keys, the legend and the ground truth in one set of colours, at the opacity shown."""
    demo = ui.build_demo(service)
    by_fn = {block_fn.fn.__name__: block_fn for block_fn in demo.fns.values() if block_fn.fn is not None}
    truth = "Ground truth (CamVid label, grey: void)"
    for name, outputs in (("reblend_segment", ["Picture | overlay (drag)", "Legend"]),
                          ("reblend_compare", ["FCN overlay", "SegNet overlay", truth])):
        block_fn = by_fn[name]
        # the visitor's own moves: mouse, keys, typed or the reset button (which sends no "input"), and the box
        assert [t[1] for t in block_fn.targets] == ["change", "change"]
        assert [demo.blocks[t[0]].label for t in block_fn.targets] == ["Overlay opacity", ui.COLOURS_LABEL]
        assert isinstance(block_fn.inputs[3], gr.Checkbox) and block_fn.inputs[3].label == ui.COLOURS_LABEL
        assert block_fn.trigger_mode == "always_last"   # a drag's steps do not pile up
        assert block_fn.api_visibility == "private"
        assert block_fn.concurrency_id != by_fn["segment"].concurrency_id   # never queued behind a network run
        assert isinstance(block_fn.inputs[0], gr.State) and isinstance(block_fn.inputs[1], gr.Slider)
        # the line the page shows once there is a result: a forgotten result is told from none
        assert isinstance(block_fn.inputs[2], gr.Markdown) and block_fn.inputs[2] in by_fn[name.replace("reblend_", "")].outputs
        assert [block.label for block in block_fn.outputs[:-1]] == outputs
        assert block_fn.outputs[-1] is block_fn.inputs[0]   # the State learns that its visitor was told


def test_the_benchmark_runs_and_writes_its_figures(tmp_path):
    """benchmarks/reblend.py, one repeat: it runs and writes a row per picture (no speed is asserted here)."""
    out = tmp_path / "reblend.json"
    assert load_benchmark_script("reblend").main(["--repeats", "1", "--json", str(out)]) == 0
    rows = json.loads(out.read_text())["rows"]
    assert [row["returned"] for row in rows] == [[480, 360], [2048, 1536]]
    assert all(row["reblend_ms"] > 0 and row["segment_ms"] > 0 for row in rows)


def test_a_reset_to_the_opacity_shown_blends_nothing(service):
    """Gradio's reset button sends "change" twice: the second finds the overlay at that opacity already, and neither
    writes a blend nor changes the State."""
    kept = service.segment(EXAMPLE, "fcn8s_lite", 0.55, 1, 0)[-1]
    *_, state = service.reblend_segment(kept, 1.0, "info")
    assert state.opacity == 1.0
    assert service.reblend_segment(state, 1.0, "info") == (gr.skip(),) * 3
    assert service.reblend_segment(state, 0.55, "info")[-1].opacity == 0.55   # and the reset itself blends


def test_a_run_asked_for_while_another_runs_waits_for_it_instead_of_being_dropped(service):
    """Gradio's default ("once") dropped a click made while the same event ran: the page ended on the results of the
    example or model clicked first. The runs, the examples' and the blends that follow a run keep the last click."""
    demo = ui.build_demo(service)
    by_name = {block_fn.api_name: block_fn for block_fn in demo.fns.values()}
    runs = [by_name[name] for name in ("segment", "compare", "segment_examples", "compare_examples")]
    follows = [block_fn for block_fn in demo.fns.values()
               if block_fn.fn is not None and block_fn.fn.__name__.endswith("_if_moved")]
    assert len(follows) == 4   # after each tab's button and examples
    assert all(block_fn.trigger_mode == "always_last" for block_fn in runs + follows)


def test_the_picture_beside_the_overlay_is_sent_lossy_and_the_overlay_is_blended_from_it(service):
    """The visitor's own photo needs no exact pixel: lossless, a 12-megapixel photo's copy was 3.8 MB, the largest
    file of a result. Lossy, and every blend (the first, and each the slider asks for) is made from the pixels the
    page shows, so that at opacity 0 the overlay is the picture beside it, boundaries aside."""
    result = service.segment(EXAMPLE, "fcn8s_lite", 0.55, 1, 0)
    picture_file = result[0][0]
    with open(picture_file, "rb") as file:
        assert file.read(16)[12:16] == b"VP8 "   # a lossy WebP (a lossless one is "VP8L")
    lossless = BytesIO()
    Image.open(EXAMPLE).convert("RGB").save(lossless, format="WEBP", lossless=True, method=0, quality=0)
    assert os.path.getsize(picture_file) < 0.5 * len(lossless.getvalue())
    state = result[-1]
    edges = OverlayLayer.load(state.layer_files[0]).edges
    (_, overlay), _, _ = service.reblend_segment(state, 0.0, "info")
    shown = pixels(picture_file)
    drawn = pixels(overlay)[:, :shown.shape[1]]
    assert np.array_equal(drawn[~edges], shown[~edges])
