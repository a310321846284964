"""The real app (python app.py) on a loopback port, driven through gradio_client."""

from __future__ import annotations

import json

import numpy as np
import pytest
from gradio_client import handle_file
from PIL import Image

from conftest import ROOT

EXAMPLE = ROOT / "examples" / "camvid_0016E5_08121.jpg"
MODELS = ["bayesian_segnet_lite", "fcn8s_lite"]


@pytest.fixture(scope="module")
def odd_picture(tmp_path_factory) -> str:
    """A 479x361 crop of a CamVid example, saved as PNG (odd size, not a bundled example)."""
    path = tmp_path_factory.mktemp("pictures") / "odd.png"
    with Image.open(EXAMPLE) as image:
        image.resize((479, 361)).rotate(3).save(path)
    return str(path)


def segment(client, path, model, samples=8, seed=0, opacity=0.55):
    return client.predict(handle_file(path), model, opacity, samples, seed, api_name="/segment")


def size_of(path: str) -> tuple[int, int]:
    with Image.open(path) as image:
        return image.size


def pixels(path: str) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def test_the_api_names_both_endpoints(client):
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert "/segment" in endpoints and "/compare" in endpoints


@pytest.mark.parametrize("model", MODELS)
def test_segment_outputs_have_the_inputs_size_and_sane_values(client, odd_picture, model):
    slider, confidence, band, mutual, table, legend, info, figures = segment(client, odd_picture, model, samples=4)
    before, after = slider
    assert size_of(before) == size_of(after) == (479, 361)
    # heatmaps: the picture's size plus a colour-bar panel on the right
    for heat in (confidence, band):
        width, height = size_of(heat)
        assert height == 361 and 479 < width < 479 + 200
    assert figures["output_size"] == [479, 361] and figures["original_size"] == [479, 361]
    assert 1 / 11 <= figures["mean_confidence"] <= 1
    assert 0 <= figures["mean_entropy"] <= np.log(11)
    assert 0 <= figures["boundary_band_uncertainty"] <= 1 and 0 <= figures["interior_uncertainty"] <= 1
    assert abs(sum(figures["classes"].values()) - 1) < 1e-6
    shares = [row[1] for row in table["data"]]
    assert shares == sorted(shares, reverse=True) and abs(sum(shares) - 100) < 0.5
    assert all(0 <= row[2] <= 100 for row in table["data"])
    assert "segdemo-swatch" in legend
    assert "CPU" in info or "GPU" in info


def test_bayesian_outputs_only_for_bayesian_models(client, odd_picture):
    *_, mutual, _, _, info, figures = segment(client, odd_picture, "bayesian_segnet_lite", samples=4)[:8]
    assert mutual["visible"] is True and mutual["value"]
    assert figures["samples"] == 4 and figures["mean_mutual_information"] >= 0
    assert "Monte-Carlo" in info
    result = segment(client, odd_picture, "fcn8s_lite", samples=4)
    mutual, figures = result[3], result[7]
    assert mutual["visible"] is False and not mutual.get("value")
    assert figures["samples"] == 1 and "mean_mutual_information" not in figures


def test_results_are_repeatable_with_a_seed(client, odd_picture):
    first = segment(client, odd_picture, "bayesian_segnet_lite", samples=4, seed=11)
    second = segment(client, odd_picture, "bayesian_segnet_lite", samples=4, seed=11)
    other = segment(client, odd_picture, "bayesian_segnet_lite", samples=4, seed=12)
    assert np.array_equal(pixels(first[0][1]), pixels(second[0][1]))
    assert np.array_equal(pixels(first[1]), pixels(second[1]))
    drop_timing = lambda f: {k: v for k, v in f.items() if "seconds" not in k}  # noqa: E731
    assert drop_timing(first[7]) == drop_timing(second[7])
    assert first[7]["mean_mutual_information"] != other[7]["mean_mutual_information"]


def test_the_overlay_keeps_the_picture_at_zero_opacity(client, odd_picture):
    slider = segment(client, odd_picture, "fcn8s_lite", opacity=0.0)[0]
    before, after = pixels(slider[0]), pixels(slider[1])
    same = (before == after).all(axis=2)
    assert same.mean() > 0.7  # everything but the thin boundary lines


def test_compare_shows_both_networks_and_ground_truth_for_examples(client):
    fcn, segnet, fcn_band, segnet_band, differ, table, headline = client.predict(
        handle_file(str(EXAMPLE)), 0.55, 4, 0, api_name="/compare"
    )
    assert size_of(fcn) == size_of(segnet) == size_of(differ) == (480, 360)
    figures = [row[0] for row in table["data"]]
    assert "Boundary pixels per 1000" in figures and "Pedestrian/Bicyclist mixing" in figures
    assert "mIoU on this frame (ground truth)" in figures and "BF score on this frame" in figures
    assert "disagree" in headline and "ground truth is known" in headline
    for row in table["data"]:
        if row[0].startswith(("mIoU on", "BF score")):
            for value in row[1:3]:
                assert 0 <= float(value.rstrip("%")) <= 100


def test_compare_on_an_unknown_picture_has_no_ground_truth_rows(client, odd_picture):
    table, headline = client.predict(handle_file(odd_picture), 0.55, 2, 0, api_name="/compare")[5:]
    assert not any(row[0].startswith("mIoU on") for row in table["data"])
    assert "ground truth" not in headline


def test_a_non_image_gets_a_clear_message_and_the_server_keeps_answering(client, tmp_path, odd_picture):
    bad = tmp_path / "notes.png"
    bad.write_text("this is not a picture")
    with pytest.raises(Exception) as error:
        segment(client, str(bad), "fcn8s_lite")
    assert "image" in str(error.value).lower()
    assert "Traceback" not in str(error.value)
    assert segment(client, odd_picture, "fcn8s_lite")[7]["output_size"] == [479, 361]


def test_an_unknown_model_is_refused_clearly(client, odd_picture):
    with pytest.raises(Exception) as error:
        segment(client, odd_picture, "resnet9000")
    assert "Unknown model" in str(error.value) or "not in the list" in str(error.value)


def test_figures_json_is_plain_json(client, odd_picture):
    figures = segment(client, odd_picture, "fcn8s_lite")[7]
    json.dumps(figures, allow_nan=False)
