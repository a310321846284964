"""A click on a map reads back what the networks said at that pixel: the very figures the maps were drawn from."""

from __future__ import annotations

import math
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import ROOT
from PIL import Image

from segdemo import captions, visualize
from segdemo.inference import predict
from segdemo.pixel_readout import PixelReading, _interpolate, class_probability, read_pixel, save_grid
from segdemo.service import CLASS_SHOWN_FROM, PIXELS_GONE, RESULT_FORGOTTEN, SegmentationService, ShownOverlays
from segdemo.zoo import load_zoo

EXAMPLE = ROOT / "examples" / "camvid_0006R0_f01890.jpg"
NAMES = ["Sky", "Building", "Pole", "Road", "Pavement", "Tree", "SignSymbol", "Fence", "Car", "Pedestrian", "Bicyclist"]


@pytest.fixture(scope="module")
def service() -> SegmentationService:
    return SegmentationService(load_zoo())


@pytest.mark.parametrize(("grid", "output"), [((9, 12), (9, 12)), ((9, 12), (37, 50)), ((36, 48), (7, 5)),
                                              ((5, 17), (64, 3)), ((1, 1), (4, 4))])
def test_a_pixel_is_interpolated_as_torch_resizes_the_grid(grid, output):
    values = torch.rand(3, *grid, generator=torch.Generator().manual_seed(0))
    resized = F.interpolate(values[None], size=output, mode="bilinear", align_corners=False)[0].numpy()
    for y in range(output[0]):
        for x in range(output[1]):
            assert np.allclose(_interpolate(values.numpy(), x, y, output[1], output[0]), resized[:, y, x], atol=1e-6)


@pytest.mark.parametrize("model", ["fcn8s_lite", "bayesian_segnet_lite"])
@pytest.mark.parametrize("size", [(480, 360), (120, 90), (3000, 2000)])  # as worked on, smaller, returned smaller
def test_the_readout_gives_the_figures_the_maps_were_drawn_from(service, model, size, tmp_path):
    with Image.open(EXAMPLE) as picture:
        prediction = predict(picture.convert("RGB").resize(size), service.models[model].checkpoint, samples=4)
    path = save_grid(tmp_path / "pixels.npz", prediction)
    height, width = prediction.labels.shape
    points = np.random.default_rng(0).integers(0, [width, height], size=(200, 2))
    for x, y in [*points.tolist(), (0, 0), (width - 1, height - 1)]:
        reading = read_pixel(path, x, y)
        probabilities = dict(reading.classes)
        assert np.allclose([probabilities[c] for c in range(11)], prediction.probabilities[:, y, x], atol=1e-3)
        assert [p for _, p in reading.classes] == sorted(probabilities.values(), reverse=True)
        assert reading.confidence == pytest.approx(float(prediction.confidence[y, x]), abs=1e-3)
        assert reading.normalised_entropy == pytest.approx(float(prediction.entropy[y, x]) / math.log(11), abs=1e-3)
        if prediction.mutual_information is None:
            assert reading.mutual_information is None
        else:
            assert reading.mutual_information == pytest.approx(float(prediction.mutual_information[y, x]), abs=1e-3)
        assert reading.size == (width, height) and reading.truth is None
    for outside in [(width, 0), (0, height), (-1, 5), (width + 200, height // 2)]:  # a map's key, its colour bar
        assert read_pixel(path, *outside) is None


def test_a_bundled_frame_keeps_its_label_at_each_pixel(service, tmp_path):
    with Image.open(EXAMPLE) as picture:
        prediction = predict(picture.convert("RGB"), service.models["fcn8s_lite"].checkpoint)
    truth = torch.randint(0, 12, prediction.labels.shape, generator=torch.Generator().manual_seed(1))
    path = save_grid(tmp_path / "pixels.npz", prediction, truth)
    for x, y in [(0, 0), (17, 200), (479, 359)]:
        assert read_pixel(path, x, y).truth == int(truth[y, x])


def reading(classes: list[tuple[int, float]], truth: int | None, mutual: float | None = None) -> PixelReading:
    rest = [(c, 0.0) for c in range(11) if c not in dict(classes)]
    return PixelReading(5, 7, (480, 360), tuple(classes + rest), 0.4321, mutual, truth)


def test_the_readout_shows_each_network_in_its_column_and_whether_it_is_right():
    fcn = reading([(9, 0.48), (10, 0.41), (3, 0.06), (4, 0.05)], truth=10)
    segnet = reading([(10, 0.62), (9, 0.30), (3, 0.0004), (4, 0.0796)], truth=10, mutual=0.0812)
    text = captions.pixel_markdown([("FCN-8s (lite)", fcn), ("Bayesian SegNet", segnet)], NAMES)
    assert text.startswith("**At pixel (5, 7)** of the 480x360 result")
    assert "| | FCN-8s (lite) | Bayesian SegNet |" in text
    assert "| 1st | **Pedestrian 48.0%** | **Bicyclist 62.0%** |" in text
    assert "| 2nd | Bicyclist 41.0% | Pedestrian 30.0% |" in text
    assert "| 3rd | Road 6.0% | Road <0.1% |" in text
    assert "| other 8 | 5.0% | 8.0% |" in text
    assert "| entropy / log C | 0.43 | 0.43 |" in text
    assert "| mutual info. | – | 0.081 nats |" in text
    assert "| label: Bicyclist | **wrong** | right |" in text
    # the pixel named for the page's script, which rings it on every map (tests/test_browser.py)
    assert '<span class="segdemo-at segdemo-at-5-7-480-360"></span>' in text.splitlines()[0]


def test_the_class_whose_map_is_drawn_is_read_out_whatever_its_rank():
    """A click on the "probability of Car" map read Building, SignSymbol, Tree and "other 8", Car hidden in those."""
    fcn = reading([(1, 0.715), (6, 0.148), (5, 0.081), (8, 0.03), (4, 0.026)], truth=None)
    segnet = reading([(8, 0.5), (1, 0.3), (5, 0.1), (4, 0.1)], truth=None)
    text = captions.pixel_markdown([("FCN", fcn), ("SegNet", segnet)], NAMES, chosen=8)
    assert "| Car (chosen) | 3.0% | 50.0% |" in text and "| the rest | 2.6% | 10.0% |" in text   # its rest without Car
    alone = captions.pixel_markdown([("FCN", fcn)], NAMES, chosen=8)
    assert "| Car (chosen) | 3.0% |" in alone and "| other 7 | 2.6% |" in alone
    ranked = captions.pixel_markdown([("FCN", fcn)], NAMES, chosen=6)   # among the three already: no row of its own
    assert "(chosen)" not in ranked and "| other 8 | 5.6% |" in ranked
    assert captions.pixel_markdown([("FCN", fcn)], NAMES) == captions.pixel_markdown([("FCN", fcn)], NAMES, chosen=None)


def test_a_click_reads_the_chosen_class_too(service):
    shown = service.segment(str(EXAMPLE), "fcn8s_lite", 0.55, 1, 0)[-1]
    text = service.read_pixel(shown, "Bicyclist", click(20, 20))   # the sky: Bicyclist is nowhere near the three
    assert "| Bicyclist (chosen) | " in text and "| other 7 | " in text
    assert "(chosen)" not in service.read_pixel(shown, "", click(20, 20))


def test_a_readout_without_labels_or_samples_shows_neither():
    text = captions.pixel_markdown([("FCN-8s (lite)", reading([(3, 0.9)], truth=None))], NAMES)
    assert "mutual info" not in text and "label" not in text
    assert "| label: void | – |" in captions.pixel_markdown([("FCN", reading([(3, 0.9)], truth=11))], NAMES)


def click(x: int, y: int) -> gr.SelectData:
    return gr.SelectData(None, {"index": [x, y], "value": None, "selected": True})


def test_a_click_on_a_segment_map_reads_that_pixel_without_running_the_network(service, monkeypatch):
    shown = service.segment(str(EXAMPLE), "bayesian_segnet_lite", 0.55, 4, 0)[-1]
    monkeypatch.setattr("segdemo.service.predict", lambda *args, **kwargs: pytest.fail("a network ran"))
    text = service.read_pixel(shown, "", click(240, 300))
    assert text.startswith("**At pixel (240, 300)** of the 480x360 result")
    assert "Bayesian SegNet (lite, MC dropout)" in text and "nats" in text
    assert "| label: " in text   # a bundled frame: its labels are known
    # the colour bar right of a map, or a click Gradio places nowhere, changes nothing
    assert service.read_pixel(shown, "", click(480, 10)) == gr.skip()
    assert service.read_pixel(shown, "", gr.SelectData(None, {"index": None, "value": None})) == gr.skip()


def test_a_click_on_a_compare_map_reads_both_networks(service, tmp_path):
    upload = tmp_path / "street.png"   # not a bundled frame: no labels
    with Image.open(EXAMPLE) as picture:
        picture.convert("RGB").resize((400, 300)).transpose(Image.FLIP_LEFT_RIGHT).save(upload)
    shown = service.compare(str(upload), 0.55, 2, 0)[-1]
    text = service.read_pixel(shown, "", click(399, 299))
    assert "| | FCN-8s (lite) | Bayesian SegNet (lite, MC dropout) |" in text
    assert "of the 400x300 result" in text and "label" not in text


@pytest.mark.parametrize("lost", ["removed", "cut short"])
def test_a_result_no_longer_kept_says_so(service, lost):
    shown = service.segment(str(EXAMPLE), "fcn8s_lite", 0.55, 1, 0)[-1]
    path = shown.readouts[0][1]
    if lost == "removed":
        os.remove(path)
    else:
        with open(path, "r+b") as handle:
            handle.truncate(1000)
    assert service.read_pixel(shown, "", click(10, 10)) == PIXELS_GONE
    for state in (None, RESULT_FORGOTTEN, ShownOverlays(shown.picture_file, shown.layer_files)):
        assert service.read_pixel(state, "", click(10, 10)) == PIXELS_GONE


@pytest.mark.parametrize("model", ["fcn8s_lite", "bayesian_segnet_lite"])
@pytest.mark.parametrize("size", [(480, 360), (120, 90), (3000, 2000)])
def test_one_class_everywhere_is_the_probability_the_maps_were_drawn_from(service, model, size, tmp_path):
    with Image.open(EXAMPLE) as picture:
        prediction = predict(picture.convert("RGB").resize(size), service.models[model].checkpoint, samples=4)
    path = save_grid(tmp_path / "pixels.npz", prediction)
    for class_index in (0, 3, 9, 10):
        shown = class_probability(path, class_index)
        assert shown.shape == tuple(prediction.labels.shape) and shown.dtype == np.float32
        assert np.abs(shown - prediction.probabilities[class_index].numpy()).max() < 1e-3
    with pytest.raises(IndexError):
        class_probability(path, 11)


def test_a_chosen_class_is_drawn_where_each_network_sees_it_without_running_a_network(service, monkeypatch):
    shown = service.segment(str(EXAMPLE), "fcn8s_lite", 0.55, 1, 0)
    confidence_map, state = shown[1], shown[-1]
    monkeypatch.setattr("segdemo.service.predict", lambda *args, **kwargs: pytest.fail("a network ran"))
    [update] = service.class_probability_maps(state, "Road", 1)
    assert update["visible"] and update["label"] == "Probability of Road"
    with Image.open(update["value"]) as drawn, Image.open(confidence_map) as confidence:
        assert drawn.size == confidence.size   # the maps' geometry, so that their pixels line up
        picture = np.asarray(drawn.convert("RGB"))[:, :480].astype(int)
    road = class_probability(state.readouts[0][1], 3)
    grey = (picture.max(axis=2) - picture.min(axis=2)) == 0
    assert (grey == (road < CLASS_SHOWN_FROM)).mean() > 0.999   # the picture greyed where Road is under 1%
    assert 0.2 < (road >= CLASS_SHOWN_FROM).mean() < 0.9
    assert service.class_probability_maps(state, "", 1) == [gr.update(visible=False)]


def test_both_networks_are_drawn_for_the_chosen_class_on_the_compare_tab(service):
    state = service.compare(str(EXAMPLE), 0.55, 2, 0)[-1]
    fcn, segnet = service.class_probability_maps(state, "Pedestrian", 2)
    assert fcn["label"] == "FCN: probability of Pedestrian" and segnet["label"] == "SegNet: probability of Pedestrian"
    assert fcn["value"] != segnet["value"]


def test_class_maps_are_drawn_one_at_a_time_and_a_sessions_older_ones_deleted(service, monkeypatch):
    """Drawn outside Gradio's queue, where anyone may ask for them at any rate (helper-36: 40 callers at once made a
    visitor's run take 35 s instead of 2, and each drawing's 0.6 MB stayed a day)."""
    state = service.segment(str(EXAMPLE), "fcn8s_lite", 0.55, 1, 0)[-1]
    folders = []
    for class_name in ("Road", "Car", "Sky", "Tree"):
        [update] = service.class_probability_maps(state, class_name, 1, "", "session-a")
        folders.append(Path(update["value"]).parent)
    assert [folder.exists() for folder in folders] == [False, False, True, True]   # the last two stay
    [other] = service.class_probability_maps(state, "Road", 1, "", "session-b")   # another session's are its own
    assert Path(other["value"]).exists() and folders[-1].exists()
    compared = service.compare(str(EXAMPLE), 0.55, 1, 0)[-1]
    for class_name in ("Road", "Car", "Sky"):   # and so are the session's Compare tab's
        service.class_probability_maps(compared, class_name, 2, "", "session-a")
    assert folders[-2].exists() and folders[-1].exists()
    drawing_at_once, most = [], []
    heatmap = visualize.heatmap

    def slow_heatmap(*args, **kwargs):
        drawing_at_once.append(1)
        most.append(len(drawing_at_once))
        time.sleep(0.05)
        drawing_at_once.pop()
        return heatmap(*args, **kwargs)

    monkeypatch.setattr(visualize, "heatmap", slow_heatmap)
    with ThreadPoolExecutor(max_workers=6) as pool:
        drawn = list(pool.map(lambda i: service.class_probability_maps(state, "Car", 1, "", f"s{i}"), range(6)))
    assert max(most) == 1 and all(update["visible"] for [update] in drawn)
    monkeypatch.setattr("segdemo.service.CLASS_MAPS_WAIT_SECONDS", 0.01)
    service._class_map_slot.acquire()   # one drawing under way, for longer than the next may wait
    try:
        with pytest.warns(UserWarning, match="busy drawing class probabilities"):
            assert service.class_probability_maps(state, "Car", 1, "", "s9") == [gr.skip()]
    finally:
        service._class_map_slot.release()


def test_a_class_of_a_result_no_longer_kept_is_told_once(service):
    state = service.segment(str(EXAMPLE), "fcn8s_lite", 0.55, 1, 0)[-1]
    os.remove(state.readouts[0][1])
    with pytest.warns(UserWarning, match="no longer kept on the server: press the button again to draw"):
        assert service.class_probability_maps(state, "Car", 1) == [gr.skip()]
    assert service.class_probability_maps(None, "Car", 1) == [gr.skip()]   # nothing shown yet: nothing to say
    with pytest.warns(UserWarning, match="no longer kept"):   # a result on the page that a restart forgot
        assert service.class_probability_maps(None, "Car", 1, "**FCN-8s (lite)** · 150 ms") == [gr.skip()]


@pytest.mark.parametrize("size", [(37, 29), (480, 360), (2048, 1536), (5, 300)])
def test_a_class_is_upsampled_in_numpy_exactly_as_torch_upsamples_it(size):
    """Class maps are drawn on Gradio's own threads, where torch would start OpenMP threads of its own: numpy
    resizes the grid there, by torch's rule (align_corners=False), within float32's rounding."""
    from segdemo.pixel_readout import _resize_bilinear

    grid = np.random.default_rng(0).random((30, 40), dtype=np.float32)
    width, height = size
    expected = torch.nn.functional.interpolate(torch.from_numpy(grid)[None, None], size=(height, width),
                                               mode="bilinear", align_corners=False)[0, 0].numpy()
    assert np.abs(_resize_bilinear(grid, height, width) - expected).max() < 1e-5  # torch rounds its scale otherwise
