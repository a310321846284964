"""The real app (python app.py) on a loopback port, driven through gradio_client."""

from __future__ import annotations

import json
import re
from pathlib import Path

import gradio as gr
import httpx
import numpy as np
import pytest
from gradio_client import handle_file
from PIL import Image, ImageEnhance

from conftest import ROOT
from icc_profiles import display_p3
from segdemo import analysis
from segdemo.classes import CAMVID_PALETTE
from segdemo.imagefiles import shown_picture
from segdemo.images import load_image
from segdemo.service import MAX_SEED, SegmentationService
from segdemo.visualize import ERROR_COLOUR, VOID_GREY, colour_bar_width

EXAMPLE = ROOT / "examples" / "camvid_0006R0_f03570.jpg"
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
    # and only them: the examples, the opacity re-blend and the upload's PNG for the page are the page's own
    assert set(endpoints) == {"/segment", "/compare"}
    # the API's docs name an output after its label: the class map's stays short ("class_map")
    assert endpoints["/segment"]["returns"][10]["label"] == "Class map"
    assert [r["label"] for r in endpoints["/compare"]["returns"][9:]] == [
        "Ground truth (CamVid label, grey: void)", "FCN class map", "SegNet class map", "FCN confidence",
        "SegNet confidence"]
    # every output has a name in the API's docs, where Gradio named the unlabelled ones "value_16", "value_45"...
    for endpoint in endpoints.values():
        assert all(r["label"] for r in endpoint["returns"]), [r["label"] for r in endpoint["returns"]]
    assert [r["label"] for r in endpoints["/segment"]["returns"][5:8]] == ["Legend", "Info", "Figures"]
    assert endpoints["/compare"]["returns"][6]["label"] == "Headline"
    # the API's docs say what each endpoint does and each input means, for a caller: Gradio showed the handlers'
    # docstrings ("for the session alone (gradio_client skips it)...") and only a type beside a slider or the seed
    for name, endpoint in endpoints.items():
        assert endpoint["description"].startswith(("Segment one street picture", "Run FCN and the Bayesian SegNet"))
        assert "session" not in endpoint["description"]
        notes = {p["parameter_name"]: p["python_type"]["description"] for p in endpoint["parameters"]}
        assert all(notes.values()), (name, notes)
        assert "HEIC" in notes["image"] and notes["seed"].startswith("From 0 to 4294967295")
        if name == "/segment":  # "FCN ignores them" said nothing of the range, which FCN's calls keep too
            assert notes["samples"].endswith("FCN ignores the number (it must still be in range).")
            assert notes["seed"].endswith("FCN ignores the number (it must still be in range).")
        types = {p["parameter_name"]: p["python_type"]["type"] for p in endpoint["parameters"]}
        assert types["samples"] == types["seed"] == "int" and types["opacity"] == "float"   # Gradio: samples "float"


def test_the_page_and_its_configuration_come_compressed(app_url):
    """Gradio's brotli middleware picks files by extension, so the page (over 200 kB, its heaviest download) and
    /config went out whole; its scripts keep their brotli, and a client that asks for nothing gets plain bytes."""
    with httpx.Client(base_url=app_url, timeout=30) as http:
        plain = http.get("/", headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers and len(plain.content) > 100_000
        for path in ("/", "/config", "/gradio_api/info"):
            answer = http.get(path, headers={"Accept-Encoding": "gzip, br"})
            assert answer.headers["content-encoding"] == "gzip", path
            assert int(answer.headers["content-length"]) < len(answer.content) / 4, path   # sent: under a quarter
        assert http.get("/").text == plain.text
        script = re.search(r'src="\./(assets/[^"]+\.js)"', plain.text) or re.search(r'(assets/index-[^"]+\.js)', plain.text)
        assert http.get("/" + script.group(1), headers={"Accept-Encoding": "gzip, br"}).headers["content-encoding"] == "br"


@pytest.mark.parametrize("model", MODELS)
def test_segment_outputs_have_the_inputs_size_and_sane_values(client, odd_picture, model):
    slider, confidence, band, mutual, table, legend, info, figures, errors, caption, class_map = segment(
        client, odd_picture, model, samples=4
    )
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
    sampled = "_T4_seed0" if model == "bayesian_segnet_lite" else ""   # an upload's: no frame's name first
    assert size_of(class_map) == (479, 361) and Path(class_map).name == f"class_map_{model}{sampled}.png"


@pytest.mark.parametrize("model", MODELS)
def test_the_class_map_holds_the_classes_the_overlay_figures_and_error_rate_come_from(client, model):
    """The downloadable class map is the prediction itself: its indices give the figures' class shares and error
    rate against the frame's CamVid label, and, drawn in its palette, the overlay at full opacity."""
    result = segment(client, str(EXAMPLE), model, samples=2, opacity=1.0)
    overlay, figures, class_map = pixels(result[0][1]), result[7], result[10]
    config = json.loads((ROOT / "weights" / model / "config.json").read_text())
    with Image.open(class_map) as image:
        assert image.mode == "P" and image.size == (480, 360)
        palette = np.asarray(image.getpalette()[: 3 * len(config["palette"])]).reshape(-1, 3)
        indices = np.asarray(image)
    assert np.array_equal(palette, np.asarray(config["palette"]))
    names = config["class_names"]
    shares = {names[c]: float((indices == c).mean()) for c in np.unique(indices)}
    assert shares == pytest.approx(figures["classes"], abs=1e-9)
    with Image.open(str(EXAMPLE).replace(".jpg", "_label.png")) as label:
        truth = np.asarray(label)
    labelled = truth != config.get("void_index", 11)
    error_rate = float(((indices != truth) & labelled).sum() / labelled.sum())
    assert error_rate == pytest.approx(figures["errors"]["error_rate"], abs=1e-9)
    inside = (overlay != 255).any(axis=2)  # at opacity 1 the overlay is the class colours, boundaries in white
    assert inside.mean() > 0.8 and np.array_equal(overlay[inside], palette[indices][inside])


def test_bayesian_outputs_only_for_bayesian_models(client, odd_picture):
    *_, mutual, _, _, info, figures = segment(client, odd_picture, "bayesian_segnet_lite", samples=4)[:8]
    assert mutual["visible"] is True and mutual["value"]
    assert figures["samples"] == 4 and figures["mean_mutual_information"] >= 0
    assert "Monte-Carlo" in info
    result = segment(client, odd_picture, "fcn8s_lite", samples=4)
    mutual, figures = result[3], result[7]
    assert mutual["visible"] is False and not mutual.get("value")
    assert figures["samples"] == 1 and "mean_mutual_information" not in figures
    assert figures["seed"] is None   # a single pass draws nothing: no seed to give


def test_results_are_repeatable_with_a_seed(client, odd_picture):
    first = segment(client, odd_picture, "bayesian_segnet_lite", samples=4, seed=11)
    second = segment(client, odd_picture, "bayesian_segnet_lite", samples=4, seed=11)
    other = segment(client, odd_picture, "bayesian_segnet_lite", samples=4, seed=12)
    assert np.array_equal(pixels(first[0][1]), pixels(second[0][1]))
    assert np.array_equal(pixels(first[1]), pixels(second[1]))
    drop_timing = lambda f: {k: v for k, v in f.items() if "seconds" not in k}  # noqa: E731
    assert drop_timing(first[7]) == drop_timing(second[7])
    assert first[7]["mean_mutual_information"] != other[7]["mean_mutual_information"]
    assert (first[7]["seed"], other[7]["seed"]) == (11, 12)   # the figures say how to get them again


def test_a_display_p3_photo_is_shown_and_segmented_in_the_colours_its_profile_means(client, tmp_path):
    with Image.open(EXAMPLE) as image:  # saturated, as wide-gamut colours are
        picture = ImageEnhance.Color(image.convert("RGB")).enhance(3.0)
    path = tmp_path / "iphone.jpg"
    picture.save(path, quality=95, icc_profile=display_p3())
    result = segment(client, str(path), "fcn8s_lite", opacity=0.0)
    assert "converted to sRGB from its colour profile (Display P3 compatible" in result[6]
    shown = pixels(result[0][0]).astype(int)
    # the picture beside the overlay is sent lossy (segdemo.imagefiles.shown_picture): compared as sent
    converted = np.asarray(shown_picture(load_image(str(path)).image)[0], int)  # what the network was given
    as_stored = np.asarray(shown_picture(Image.open(path).convert("RGB"))[0], int)  # PIL's convert ignores profiles
    off_by = lambda a, b: np.abs(a - b).max(axis=2)  # noqa: E731
    assert off_by(shown, converted).max() <= 1  # the picture shown under the overlay is the one segmented
    assert np.percentile(off_by(shown, as_stored), 90) >= 3  # and not the numbers as stored, read as sRGB


def test_the_overlay_keeps_the_picture_at_zero_opacity(client, odd_picture):
    slider = segment(client, odd_picture, "fcn8s_lite", opacity=0.0)[0]
    before, after = pixels(slider[0]), pixels(slider[1])
    same = (before == after).all(axis=2)
    assert same.mean() > 0.7  # everything but the thin boundary lines


def test_compare_shows_both_networks_and_ground_truth_for_examples(client):
    (fcn, segnet, fcn_band, segnet_band, differ, table, headline, fcn_errors, segnet_errors, truth, _, _,
     fcn_confidence, segnet_confidence) = client.predict(handle_file(str(EXAMPLE)), 0.55, 4, 0, api_name="/compare")
    # every picture has the maps' geometry: the 480x360 frame and a key where a map has its colour bar
    assert fcn_errors["visible"] is True and segnet_errors["visible"] is True and truth["visible"] is True
    pictures = (fcn, segnet, fcn_confidence, segnet_confidence, fcn_band, segnet_band, differ, fcn_errors["value"],
                segnet_errors["value"], truth["value"])
    assert {size_of(picture) for picture in pictures} == {(480 + colour_bar_width(360), 360)}
    # the ground truth is the example's label drawn in the class colours, void grey
    label = np.asarray(Image.open(ROOT / "examples" / "camvid_0006R0_f03570_label.png"))
    drawn = pixels(truth["value"])[:, :480]
    table_of_colours = np.array([*CAMVID_PALETTE, VOID_GREY], dtype=np.uint8)
    assert np.array_equal(drawn, table_of_colours[np.minimum(label, 11)])
    assert red_share(fcn_errors["value"]) > 0.005 and red_share(segnet_errors["value"]) > 0.005
    figures = [row[0] for row in table["data"]]
    assert "Boundary pixels per 1000" in figures and "Pedestrian/Bicyclist mixing" in figures
    assert "mIoU on this frame (ground truth)" in figures and "BF score on this frame" in figures
    assert "disagree" in headline and "ground truth is known" in headline
    for row in table["data"]:
        if row[0].startswith(("mIoU on", "BF score")):
            for value in row[1:3]:
                assert 0 <= float(value.rstrip("%")) <= 100
    # which claims hold here, judged from the table's own figures, on the label (the intro only says what is claimed)
    claims = {"SegNet's boundaries are more accurate": ("BF score on this frame", "detail"),
              "it finds thin structures better": ("IoU of thin structures on this frame", "thin"),
              "it is less sure where boundaries lie": ("Uncertainty on boundary band", "band"),
              "it mixes Pedestrian and Bicyclist more": ("Pedestrian/Bicyclist mixing", "riders")}
    verdicts = dict(re.findall(rf"({'|'.join(map(re.escape, claims))}): (holds|does not hold|about the same)",
                               headline))
    assert len(verdicts) >= 3, headline   # the riders may be too few to judge
    assert "both are less sure on boundaries than inside regions (Kendall et al.): holds" in headline
    shown = {row[0]: [float(value.rstrip("%")) for value in row[1:3]] for row in table["data"] if row[1] != "—"}
    for claim, verdict in verdicts.items():
        figure, kind = claims[claim]
        fcn_figure, segnet_figure = shown[figure]
        within, apart = analysis.SAME_WITHIN[kind], abs(segnet_figure - fcn_figure)
        if apart > (within + 0.01) * max(fcn_figure, segnet_figure):   # clear of rounding
            assert verdict == ("holds" if segnet_figure > fcn_figure else "does not hold"), (claim, headline)
        elif apart < (within - 0.01) * max(fcn_figure, segnet_figure):
            assert verdict == "about the same", (claim, headline)


def test_compares_class_and_confidence_maps_are_each_networks_own_as_segment_gives_them(client, odd_picture):
    """A caller comparing the networks gets both class maps and both confidence maps from one call: the very maps
    /segment gives each model at the same samples and seed (its temperature applied), the class maps named after the
    model, at the picture's size (odd: 479x361)."""
    result = client.predict(handle_file(odd_picture), 0.55, 4, 3, api_name="/compare")
    (fcn_map, segnet_map), confidences = result[10:12], result[12:14]
    for path, confidence, model in zip((fcn_map, segnet_map), confidences, ("fcn8s_lite", "bayesian_segnet_lite")):
        sampled = "_T4_seed3" if model == "bayesian_segnet_lite" else ""
        assert Path(path).name == f"class_map_{model}{sampled}.png" and size_of(path) == (479, 361)
        alone = segment(client, odd_picture, model, samples=4, seed=3)
        with Image.open(path) as compared, Image.open(alone[10]) as segmented:
            assert compared.mode == "P" and np.array_equal(np.asarray(compared), np.asarray(segmented))
        assert np.array_equal(pixels(confidence), pixels(alone[1])), f"{model}'s confidence differs from /segment's"
    with Image.open(fcn_map) as a, Image.open(segnet_map) as b:
        assert not np.array_equal(np.asarray(a), np.asarray(b))   # two networks, two maps
    assert not np.array_equal(pixels(confidences[0]), pixels(confidences[1]))


def test_compare_on_an_unknown_picture_has_no_ground_truth_rows(client, odd_picture):
    table, headline, fcn_errors, segnet_errors, truth = client.predict(handle_file(odd_picture), 0.55, 2, 0, api_name="/compare")[5:10]
    assert not any(row[0].startswith("mIoU on") for row in table["data"])
    assert "ground truth is known" not in headline and "No ground truth for this picture" in headline
    assert fcn_errors["visible"] is False and segnet_errors["visible"] is False and not fcn_errors.get("value")
    assert truth["visible"] is False and not truth.get("value")


def red_share(path: str) -> float:
    """Share of an error map's pixels drawn in the error colour (wrong pixels)."""
    rgb = pixels(path).astype(int)
    return float((rgb == ERROR_COLOUR).all(axis=-1).mean())


@pytest.mark.parametrize("model", MODELS)
def test_a_bundled_frame_gets_an_error_map_beside_the_confidence(client, model):
    result = segment(client, str(EXAMPLE), model, samples=2)
    confidence, figures, errors, caption = result[1], result[7], result[8], result[9]
    assert errors["visible"] is True and errors["value"]
    # one geometry for every map of the picture (picture plus a panel as wide), so that they line up side by side
    maps = [confidence, result[2]] + ([result[3]["value"]] if result[3]["visible"] else [])
    assert {size_of(drawn) for drawn in maps + [errors["value"]]} == {size_of(confidence)}
    errors_figures = figures["errors"]
    assert errors_figures["ground_truth"] is True and 0 < errors_figures["error_rate"] < 0.5
    assert 0.5 < errors_figures["entropy_auroc"] <= 1  # uncertainty points at the mistakes better than chance
    # the red pixels are the wrong ones: their share of the map's picture part matches the figure
    width, height = size_of(errors["value"])
    labelled = errors_figures["labelled_share"]
    assert red_share(errors["value"]) * width / 480 == pytest.approx(errors_figures["error_rate"] * labelled, abs=0.01)
    fitted_on = json.loads((ROOT / "weights" / model / "config.json").read_text())["temperature_fitted_on"]
    assert "Errors" in caption and "calibrated" in caption
    assert all(sequence in caption for sequence in fitted_on["sequences"])  # says on which frames
    # the captions follow the maps' order, and a Bayesian model's says its mutual information has the picture's scale
    assert caption.index("**Confidence**") < caption.index("**Errors**") < caption.index("**Boundary uncertainty**")
    assert ("**Mutual information**" in caption) == (model == "bayesian_segnet_lite") == result[3]["visible"]
    if result[3]["visible"]:
        assert re.search(r"this picture's highest value, \d\.\d\d nats", caption)


def test_the_same_pixels_under_another_name_and_format_are_recognised(client, tmp_path):
    renamed = tmp_path / "my holiday picture.png"
    with Image.open(EXAMPLE) as image:
        image.save(renamed)  # lossless: the very same decoded pixels
    errors = segment(client, str(renamed), "fcn8s_lite")[8]
    assert errors["visible"] is True


def test_an_arbitrary_upload_gets_no_error_map_and_says_why(client, odd_picture):
    result = segment(client, odd_picture, "fcn8s_lite")
    figures, errors, caption = result[7], result[8], result[9]
    assert errors["visible"] is False and not errors.get("value")
    assert figures["errors"] == {"ground_truth": False}
    assert "No ground truth for this picture" in caption and "calibrated" in caption


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
    assert "Model must be one of bayesian_segnet_lite" in str(error.value) and "not 'resnet9000'" in str(error.value)


def test_a_seed_out_of_range_is_refused_clearly_and_the_largest_is_taken(client, odd_picture):
    """torch takes no seed past 64 bits: 2**70 used to fail half-way through the request, with Gradio's generic
    "the upstream Gradio app has raised an exception" instead of a reason."""
    for seed, reason in ((2**70, "greater than maximum value 4294967295"), (-5, "less than minimum value 0")):
        with pytest.raises(Exception) as error:
            segment(client, odd_picture, "bayesian_segnet_lite", samples=2, seed=seed)
        assert reason in str(error.value) and "upstream" not in str(error.value)
    assert segment(client, odd_picture, "bayesian_segnet_lite", samples=2, seed=MAX_SEED)[7]["samples"] == 2


def test_numbers_sent_as_text_are_read_and_anything_else_is_refused_by_name(client, odd_picture):
    """A form or curl may send "3" for 3; Gradio's bounds check compared the text with a number and failed with
    its generic "the upstream Gradio app has raised an exception", as did a list; its own range message named no
    input."""
    as_text = client.predict(handle_file(odd_picture), "bayesian_segnet_lite", "0.4", " 3 ", "1e3", api_name="/segment")[7]
    as_numbers = client.predict(handle_file(odd_picture), "bayesian_segnet_lite", 0.4, 3, 1000, api_name="/segment")[7]
    assert as_text["samples"] == 3 and as_text["mean_confidence"] == as_numbers["mean_confidence"]  # the same seed
    assert as_text["classes"] == as_numbers["classes"]
    for args, reason in (
        (("fcn8s_lite", "abc", 1, 0), "Overlay opacity must be a number, not 'abc'."),
        (("fcn8s_lite", 0.5, [3], 0), "Monte-Carlo samples must be a number, not list."),
        (("fcn8s_lite", 0.5, 1, "seven"), "Seed must be a number, not 'seven'."),
        (("fcn8s_lite", 0.5, 0, 0), "Monte-Carlo samples: Value 0 is less than minimum value 1."),
        # NaN passed every bounds check: an opacity of NaN quietly drawn at 0.55, a seed that failed as Gradio rounded it
        (("fcn8s_lite", "nan", 1, 0), "Overlay opacity must be a number, not NaN."),
        (("fcn8s_lite", 0.5, 1, "NaN"), "Seed must be a number, not NaN."),
        # None failed Gradio's bounds check with a TypeError
        (("fcn8s_lite", None, 1, 0), "Overlay opacity must be a number, not null (None)."),
        # a bool is an int to Python: samples true had run 1 sample, opacity true an opacity of 1
        (("bayesian_segnet_lite", 0.5, True, 0), "Monte-Carlo samples must be a number, not true."),
        (("fcn8s_lite", False, 1, 0), "Overlay opacity must be a number, not false."),
        # a fraction was quietly rounded: samples 2.5 ran 2, seed 1.5 ran 2
        (("bayesian_segnet_lite", 0.5, 2.5, 0), "Monte-Carlo samples must be a whole number, not 2.5."),
        (("bayesian_segnet_lite", 0.5, 2, "1.5"), "Seed must be a whole number, not 1.5."),
    ):
        with pytest.raises(Exception) as error:
            client.predict(handle_file(odd_picture), *args, api_name="/segment")
        assert reason in str(error.value), str(error.value)
    with pytest.raises(Exception) as error:
        client.predict(handle_file(odd_picture), "0.5", "lots", 0, api_name="/compare")
    assert "Monte-Carlo samples must be a number, not 'lots'." in str(error.value)


def test_the_model_is_chosen_by_name_or_by_its_label_and_anything_else_is_refused_with_the_choices(client,
                                                                                                    odd_picture):
    """Gradio's refusal named neither the input nor the labels the page shows ("Value: FCN-8s (lite) is not in the
    list of choices"); an API caller who copies the label from the page now gets that model."""
    by_label = client.predict(handle_file(odd_picture), "FCN-8s (lite)", 0.5, 1, 0, api_name="/segment")[7]
    assert by_label["model"] == "fcn8s_lite"
    for model, shown in (("fcn8s", "'fcn8s'"), (5, "int"), (["fcn8s_lite"], "list"),  # the list: "unhashable type"
                         (None, "null (None)")):  # None had reached the handler: "Unknown model 'None'", no labels
        with pytest.raises(Exception) as error:
            client.predict(handle_file(odd_picture), model, 0.5, 1, 0, api_name="/segment")
        assert str(error.value) == (f"Model must be one of bayesian_segnet_lite (Bayesian SegNet (lite, MC dropout)), "
                                    f"fcn8s_lite (FCN-8s (lite)), not {shown}.")


def test_the_handlers_refuse_what_no_field_could_send_with_a_reason():
    """The Python API skips Gradio's bounds: infinity and a seed past torch's range get a sentence too."""
    for call in (lambda: SegmentationService._seed(float("inf")), lambda: SegmentationService._seed(2**70),
                 lambda: SegmentationService._seed(-1)):
        with pytest.raises(gr.Error, match="seed must be a whole number from 0 to 4294967295"):
            call()
    with pytest.raises(gr.Error, match="Monte-Carlo samples must be a whole number"):
        SegmentationService._samples(float("inf"))
    assert SegmentationService._seed(None) == 0 and SegmentationService._seed(MAX_SEED) == MAX_SEED


def test_figures_json_is_plain_json(client, odd_picture):
    figures = segment(client, odd_picture, "fcn8s_lite")[7]
    json.dumps(figures, allow_nan=False)


def test_the_models_tab_shows_the_calibration_plots_and_figures(app_url):
    import urllib.request

    with urllib.request.urlopen(app_url + "config", timeout=10) as response:
        config = json.loads(response.read())
    by_label = {c.get("props", {}).get("label"): c.get("props", {}) for c in config["components"]}
    for label in ("Reliability before and after temperature scaling",
                  "Accuracy of the most certain pixels (uncertainty as an error detector)"):
        for version in (label, label + " (stacked)"):   # panels side by side, and stacked for a phone
            assert by_label[version].get("value"), version
    markdown = " ".join(str(c.get("props", {}).get("value", "")) for c in config["components"] if c.get("type") == "markdown")
    assert "ECE" in markdown and "temperature of" in markdown and "AUROC" in markdown
