"""The words and file names the page shows: counts in the singular, shares too small for one decimal, the picture
with no boundary, and downloads named after the model that drew them."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from PIL import Image

from conftest import ROOT
from segdemo import analysis, ui, visualize
from segdemo.captions import band_against_interior
from segdemo.classes import CAMVID_CLASSES, CAMVID_PALETTE
from segdemo.devices import threads_named
from segdemo.service import CLASS_TABLE_HEADERS, SegmentationService, decimals_shown
from segdemo.ui import per_class_widths
from segdemo.uncertainty import BoundaryUncertainty, boundary_uncertainty
from segdemo.uncertainty import entropy as entropy_of
from segdemo.zoo import load_zoo

EXAMPLE = str(ROOT / "examples" / "camvid_0006R0_f01890.jpg")


@pytest.fixture(scope="module")
def service() -> SegmentationService:
    return SegmentationService(load_zoo())


def test_one_thread_is_named_in_the_singular():
    """The info line said "on CPU (1 threads)" on a one-core Space."""
    assert [threads_named(n) for n in (1, 2, 16)] == ["1 thread", "2 threads", "16 threads"]


@pytest.mark.parametrize("share, shown", [(0.0001, "<0.1%"), (0.00049, "<0.1%"), (0.0005, "0.1%"), (0.2345, "23.4%"),
                                          (1.0, "100.0%")])
def test_a_class_found_on_a_few_pixels_is_not_shown_as_none(share, shown):
    """The legend lists the classes found: "Fence 0.0%" read as a class found on no pixel."""
    assert visualize.share_shown(share) == shown
    legend = visualize.legend_html([(7, share)], CAMVID_CLASSES, CAMVID_PALETTE)
    assert f"<b>{shown.replace('<', '&lt;')}</b>" in legend or f"<b>{shown}</b>" in legend


def test_the_class_table_shows_a_class_on_a_few_pixels_as_found():
    """The Segment tab's class table read "Pedestrian 0.00" for a class on 5 pixels of a 480x360 result (0.003%),
    beside a legend that said "<0.1%"; the API's data said 0.0."""
    rows = visualize.class_table([(0, 0.99997), (9, 5 / 172_800)], CAMVID_CLASSES, {0: 0.97, 9: 0.41})
    assert rows[1][:2] == ["Pedestrian", 0.0029]
    table = decimals_shown(CLASS_TABLE_HEADERS, rows, [None, 2, 1])
    assert table["data"] == rows   # the API's numbers as they are
    shown = table["metadata"]["display_value"]
    assert [row[1] for row in shown] == ["100.00", "<0.01"] and [row[2] for row in shown] == ["97.0", "41.0"]
    exact = decimals_shown(CLASS_TABLE_HEADERS, [["Sky", 0.005, 0.0]], [None, 2, 1])   # half the last place shows
    assert exact["metadata"]["display_value"] == [["Sky", "0.01", "0.0"]]


def test_the_picture_without_a_boundary_says_whose_uncertainty_it_gives():
    """"...no boundary band: its uncertainty is 0.25" left "its" to the reader (it is not the band's: there is none)."""
    line = band_against_interior(BoundaryUncertainty(None, None, None, 0.25), 0.0)
    assert line.startswith("No class boundary in this picture, so no boundary band")
    assert "the picture's mean uncertainty" in line and "0.25" in line and " its " not in line


def test_the_class_names_column_is_wider_than_the_models_columns():
    assert per_class_widths(3) == ["39%", "30.5%", "30.5%"]
    assert per_class_widths(1) == ["100%"]


def names(values) -> list[str]:
    """The file names of a run's outputs that are files (an update's value too)."""
    found = []
    for value in values:
        value = value.get("value") if isinstance(value, dict) else value
        for item in value if isinstance(value, tuple) else (value,):
            if isinstance(item, str) and item.startswith("/"):
                found.append(Path(item).name)
    return found


def test_every_segment_download_names_its_model(service):
    """confidence.webp, errors.webp, band.webp and overlay.webp: two models' downloads overwrote each other. A
    bundled frame's are named after it, and a Bayesian result's after its samples and seed, so that a lecturer's
    downloads of several frames and seeds tell themselves apart; an upload's never carry its file name."""
    for model, drawn in (("fcn8s_lite", "f01890_{}_fcn8s_lite"), ("bayesian_segnet_lite",
                                                                 "f01890_{}_bayesian_segnet_lite_T2_seed0")):
        out = service.segment(EXAMPLE, model, 0.55, 2, 0)
        files = [name for name in names(out[:-1]) if name != "picture.webp"]
        assert sorted(files) == sorted(drawn.format(kind) + (".png" if kind == "class_map" else ".webp") for kind in (
            "overlay", "confidence", "boundary_uncertainty", "errors", "class_map",
            *(["mutual_information"] if model == "bayesian_segnet_lite" else []))), files
        (_, overlay), _, state = service.reblend_segment(out[-1], 0.9, "info")
        assert Path(overlay).name == drawn.format("overlay") + ".webp"   # a re-blend's too
        probability = service.class_probability_maps(state, "Car", 1)[0]
        assert Path(probability["value"]).name == drawn.format("probability_Car") + ".webp"


def test_an_uploads_downloads_are_named_without_its_file_name(service, tmp_path):
    upload = tmp_path / "JohnSmith_home.jpg"
    with Image.open(EXAMPLE) as frame:
        frame.resize((240, 180)).rotate(3).save(upload)   # no longer the bundled frame's pixels
    out = service.segment(str(upload), "bayesian_segnet_lite", 0.55, 1, 0)
    files = [name for name in names(out[:-1]) if name != "picture.webp"]
    assert "overlay_bayesian_segnet_lite.webp" in files and not [name for name in files if "John" in name]


def test_every_compare_download_is_named_apart(service):
    out = service.compare(EXAMPLE, 0.55, 2, 0)
    files = names(out[:-1])
    assert len(files) == len(set(files)) == 12, files   # and the disagreement, the ground truth
    for model, sampled in (("fcn8s_lite", ""), ("bayesian_segnet_lite", "_T2_seed0")):
        for kind in ("overlay", "confidence", "boundary_uncertainty", "errors"):
            assert f"f01890_{kind}_{model}{sampled}.webp" in files
        assert f"f01890_class_map_{model}{sampled}.png" in files
    assert {"f01890_disagreement.webp", "f01890_ground_truth.webp"} <= set(files)
    fcn, segnet, _, _ = service.reblend_compare(out[-1], 0.9, "headline")
    assert (Path(fcn).name, Path(segnet).name) == ("f01890_overlay_fcn8s_lite.webp",
                                                   "f01890_overlay_bayesian_segnet_lite_T2_seed0.webp")


@pytest.mark.parametrize("segnet, fcn, verdict", [(2.0, 1.0, "holds (SegNet 2.00, FCN 1.00)"),
                                                  (1.0, 2.0, "does not hold (SegNet 1.00, FCN 2.00)"),
                                                  (1.04, 1.0, "about the same (SegNet 1.04, FCN 1.00)"),
                                                  (0.0, 0.0, "about the same (SegNet 0.00, FCN 0.00)"),
                                                  (None, 1.0, "no riders")])
def test_a_claim_of_the_papers_is_judged_from_the_two_figures(segnet, fcn, verdict):
    """The Compare tab said SegNet "is less sure where boundaries lie and mixes classes that overlap" above a table
    that showed the opposite on 5 of the 6 bundled frames: now it says what the papers claim, and which holds."""
    assert analysis._claim("claim", segnet, fcn, "SegNet {segnet:.2f}, FCN {fcn:.2f}", "no riders",
                           0.05) == f"claim: {verdict}"
    # what the papers do not say is not put in their mouths (a reviewer: neither paper says SegNet is less sure at
    # boundaries than FCN, nor that it mixes riders more)
    assert ui.COMPARE_INTRO.startswith("**The claims tested here:**") and "this demo's brief, not the papers'" in (
        ui.COMPARE_INTRO)


def riders(count: int, side: int = 100):
    """A stand-in for a Prediction of a side x side picture: ``count`` pixels called Pedestrian, at 60% Pedestrian
    and 20% Bicyclist (so a quarter of that pair's probability is the other class's), the rest Road."""
    labels = torch.full((side, side), CAMVID_CLASSES.index("Road"), dtype=torch.long)
    labels.view(-1)[:count] = analysis.PEDESTRIAN
    probabilities = torch.zeros(len(CAMVID_CLASSES), side, side)
    probabilities[analysis.PEDESTRIAN], probabilities[analysis.BICYCLIST] = 0.6, 0.2
    return prediction_of(labels, probabilities)


def prediction_of(labels: torch.Tensor, probabilities: torch.Tensor, uncertainty: torch.Tensor | None = None):
    """A stand-in for a Prediction as claims_line reads it: labels, class probabilities, entropy and the boundary
    band; ``uncertainty`` (normalised entropy, 0 to 1) where the test sets it rather than the probabilities."""
    classes = probabilities.shape[0]
    entropy = entropy_of(probabilities) if uncertainty is None else uncertainty * math.log(classes)
    return SimpleNamespace(labels=labels, probabilities=probabilities, entropy=entropy,
                           boundary=boundary_uncertainty(entropy / math.log(classes), labels))


def test_a_few_stray_rider_pixels_are_not_judged():
    """On bundled frame f01890, whose label holds no person, FCN called 69 pixels Pedestrian and SegNet 13: the
    table gave "Pedestrian/Bicyclist mixing 26.6% / 12.4%" and the line under the headline judged the papers' claim
    on them. Under 0.1% of the picture, there is no figure, and the claim says why."""
    assert analysis.rider_mixing(riders(89, side=300)) is None                       # 0.099% of the picture
    assert analysis.rider_mixing(riders(90, side=300)) == pytest.approx(0.25)         # 0.1%: 90 pixels
    line = analysis.claims_line(riders(30), riders(5))
    assert "mixes Pedestrian and Bicyclist more: too few Pedestrian or Bicyclist pixels to test it on" in line, line


def test_riders_on_a_thumbnail_are_too_few_whatever_their_share():
    """On a 40x30 thumbnail, FCN's "Pedestrian/Bicyclist mixing 43.3%" came from about 2 pixels (0.1% of it is 1.2)."""
    assert analysis.rider_mixing(riders(49, side=60)) is None   # 1.4% of the picture, 49 pixels
    assert analysis.rider_mixing(riders(50, side=60)) == pytest.approx(0.25)


def test_the_caption_quotes_the_calibration_of_the_samples_the_run_took(service):
    """At 1 sample (dropout off) the caption quoted the served 8 samples' ECE, 1.2%, for maps whose ECE is 4.6%."""
    import json
    calibration = json.loads((ROOT / "weights" / "bayesian_segnet_lite" / "eval.json").read_text())["calibration"]
    served, single = calibration["calibrated"]["ece"], calibration["by_samples"]["1"]["calibrated"]["ece"]
    captions = {samples: service.segment(EXAMPLE, "bayesian_segnet_lite", 0.55, samples, 0)[9] for samples in (1, 3, 8)}
    assert f"is {100 * single:.1f}%" in captions[1] and "with dropout off (1 sample), as in this run" in captions[1]
    assert f"at which it is {100 * served:.1f}%" in captions[1]
    assert f"is {100 * served:.1f}%" in captions[3] and "this run took 3, at which it was not measured" in captions[3]
    assert f"is {100 * served:.1f}%" in captions[8] and "this run" not in captions[8]
    # with one sample there is no average: the caption says what inference does, divide the logits by T
    temperature = json.loads((ROOT / "weights" / "bayesian_segnet_lite" / "config.json").read_text())["temperature"]
    assert "averaged probabilities" not in captions[1]
    said = f"With dropout off there are no samples to average: a temperature of {temperature:.2f} divides"
    assert said in captions[1]
    assert f"A temperature of {temperature:.2f} softens the average of the network's Monte-Carlo samples" in (
        captions[3])
    # the fit's bookkeeping is the Models tab's, not the visitor's under the maps
    assert "NLL" not in captions[8] and "weighted" not in captions[8] and "Models tab" in captions[8]


def labelled(labels: torch.Tensor) -> SimpleNamespace:
    """A prediction as claims_line reads it, its class probabilities all on Road."""
    probabilities = torch.zeros(len(CAMVID_CLASSES), *labels.shape)
    probabilities[CAMVID_CLASSES.index("Road")] = 1.0
    return prediction_of(labels, probabilities)


def test_a_picture_both_networks_map_their_own_way_has_no_claims_judged_on_it():
    """On a portrait, all four claims "held" (the networks disagreed on 52% of it): a blogger would quote them. Over
    40% (no frame of a street they never saw went over 33%), the line says why none is judged."""
    road, sky = CAMVID_CLASSES.index("Road"), CAMVID_CLASSES.index("Sky")
    fcn = torch.full((20, 20), road, dtype=torch.long)
    segnet = fcn.clone()
    segnet[:9] = sky   # 45% of the picture
    line = analysis.claims_line(labelled(fcn), labelled(segnet))
    assert line.startswith("**No claim is judged on this picture:** the networks disagree on 45%")
    assert "holds" not in line
    segnet[:7] = road   # 10%: judged
    assert "SegNet draws more boundaries: " in analysis.claims_line(labelled(fcn), labelled(segnet))


def test_detail_is_not_judged_where_a_network_draws_no_boundary():
    """On a flat grey picture "SegNet keeps more detail: holds (SegNet 6, FCN 0 boundary pixels per 1000)": SegNet's
    detail was a stray patch of Road on blank grey."""
    sky, road = CAMVID_CLASSES.index("Sky"), CAMVID_CLASSES.index("Road")
    fcn = torch.full((40, 40), sky, dtype=torch.long)
    segnet = fcn.clone()
    segnet[30:32, 30:32] = road
    line = analysis.claims_line(labelled(fcn), labelled(segnet))
    assert "SegNet draws more boundaries: no boundary in FCN's map" in line, line
    assert "SegNet draws more boundaries: no boundary in SegNet's map" in analysis.claims_line(labelled(segnet),
                                                                                               labelled(fcn))


ROAD, SKY, CAR = (CAMVID_CLASSES.index(name) for name in ("Road", "Sky", "Car"))


def halves(side: int = 60) -> torch.Tensor:
    """Road on the left, Sky on the right."""
    labels = torch.full((side, side), ROAD, dtype=torch.long)
    labels[:, side // 2:] = SKY
    return labels


def certain(labels: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.one_hot(labels, len(CAMVID_CLASSES)).permute(2, 0, 1).float()


def test_the_doubt_at_boundaries_is_measured_on_the_same_pixels_for_both_networks():
    """SegNet's band (31% of f03570) was wider than FCN's (25%), its extra boundaries drawn where it was sure, so its
    mean on its own band (0.437 against 0.463) read "surer at boundaries" where, on the same pixels, it was not. Two
    networks with one uncertainty map, SegNet drawing one more region where both are sure: about the same."""
    uncertainty = torch.full((60, 60), 0.05)
    uncertainty[:, 27:33] = 0.8   # both unsure along the one boundary
    fcn, segnet = halves(), halves()
    segnet[5:12, 5:12] = CAR
    fcn_p, segnet_p = (prediction_of(labels, certain(labels), uncertainty) for labels in (fcn, segnet))
    assert segnet_p.boundary.band_mean < 0.9 * fcn_p.boundary.band_mean   # on its own band, "surer"
    line = analysis.claims_line(fcn_p, segnet_p)
    assert "it is less sure where boundaries lie: about the same (uncertainty on either map's boundary band" in line
    # with the label known, on the label's band: there both are as unsure
    line = analysis.claims_line(fcn_p, segnet_p, halves())
    assert "it is less sure where boundaries lie: about the same (uncertainty on the label's boundary band" in line


def test_riders_are_judged_on_the_labels_riders_where_it_is_known():
    """On f01290 SegNet mixed more on the pixels it called riders (6.9% against 3.0%) and FCN far more on the label's
    (45.6% against 16.4%). Here FCN calls none of the label's riders one, split 50:50 on them; SegNet calls them all
    Pedestrian at 90:10."""
    truth = halves()
    truth[10:30, 10:20] = analysis.PEDESTRIAN   # 200 pixels
    fcn_labels, segnet_labels = halves(), truth.clone()
    fcn_probabilities, segnet_probabilities = certain(fcn_labels), certain(segnet_labels)
    fcn_probabilities[:, 10:30, 10:20] = 0
    fcn_probabilities[analysis.PEDESTRIAN, 10:30, 10:20] = fcn_probabilities[analysis.BICYCLIST, 10:30, 10:20] = 0.3
    fcn_probabilities[ROAD, 10:30, 10:20] = 0.4
    segnet_probabilities[analysis.PEDESTRIAN, 10:30, 10:20] = 0.9
    segnet_probabilities[analysis.BICYCLIST, 10:30, 10:20] = 0.1
    fcn, segnet = prediction_of(fcn_labels, fcn_probabilities), prediction_of(segnet_labels, segnet_probabilities)
    line = analysis.claims_line(fcn, segnet, truth)
    assert "it mixes Pedestrian and Bicyclist more: does not hold (on the label's riders: SegNet 10.0%, FCN 50.0%)" in (
        line), line


def test_with_the_label_known_detail_is_boundary_accuracy_not_boundary_count():
    """Boundary pixels per 1000 counted noise as detail: on held-out frame f03090 SegNet's map had more boundary and
    half FCN's BF. With the label known, the claim is judged by the BF score; without it, the line says the count is
    not known to be right."""
    truth = halves()
    fcn, segnet = truth.clone(), truth.clone()
    segnet[::6, ::6] = CAR   # specks: boundaries the label has not
    fcn_p, segnet_p = (prediction_of(labels, certain(labels)) for labels in (fcn, segnet))
    assert analysis.boundary_density(segnet) > analysis.boundary_density(fcn)
    line = analysis.claims_line(fcn_p, segnet_p, truth)
    assert "SegNet's boundaries are more accurate: does not hold (BF score SegNet " in line, line
    assert "with no label, not known to be right" in analysis.claims_line(fcn_p, segnet_p)


def test_the_papers_own_boundary_claim_is_judged_on_the_labels_boundaries():
    """The Bayesian SegNet paper finds a network less sure on boundaries than inside regions: the one claim the
    papers make of boundary doubt, which the table showed and the line never judged. On a network's own boundaries,
    where two classes' probabilities cross, it holds by construction (FCN on pure noise: 1.85x), so it is judged on
    the label's, and not without one."""
    uncertainty = torch.full((60, 60), 0.05)
    uncertainty[:, 25:35] = 0.5
    fcn = prediction_of(halves(), certain(halves()), uncertainty)
    line = analysis.claims_line(fcn, fcn, halves())
    assert "both are less sure on boundaries than inside regions (Kendall et al.): holds (on the label's boundaries, " \
        "FCN " in line, line
    shifted = halves()
    shifted[:, 10:] = SKY   # the label's boundary where both are sure
    assert "Kendall et al.): does not hold" in analysis.claims_line(fcn, fcn, shifted)
    assert "Kendall et al.): not judged without a label" in analysis.claims_line(fcn, fcn)


def test_riders_neither_network_finds_are_not_judged_on_the_sliver_of_probability_left():
    """On f03570 the label has 1,706 Bicyclist pixels and neither network calls one Bicyclist; "23.5% against 23.8%,
    about the same" described how a sliver of probability was split, which a student read as both confusing people
    with cyclists."""
    truth = halves()
    truth[10:30, 10:20] = analysis.BICYCLIST
    fcn, segnet = (prediction_of(halves(), certain(halves())) for _ in range(2))   # Road there: no rider called
    line = analysis.claims_line(fcn, segnet, truth)
    assert ("it mixes Pedestrian and Bicyclist more: not judged, as both networks call most of the label's riders "
            "something else (FCN 0%, SegNet 0% of them Pedestrian or Bicyclist)") in line, line


def test_the_compare_tab_says_when_a_picture_is_unlike_the_road_scenes_the_networks_know(service, tmp_path):
    """A portrait, an animal or noise is mapped onto CamVid's 11 classes, each network its own way: the headline said
    nothing of it, and the class tables read "Road 43%" as on a street. The real service, on noise (the networks
    disagree on about 65% of it) and on a bundled frame (under 12%)."""
    import numpy as np
    from PIL import Image
    noise = tmp_path / "noise.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (360, 480, 3), dtype=np.uint8)).save(noise)
    headline = service.compare(str(noise), 0.55, 8, 0)[6]
    assert "**This picture looks unlike the road scenes the networks were trained on:**" in headline
    assert "No claim is judged on this picture" in headline
    street = service.compare(EXAMPLE, 0.55, 1, 0)[6]
    assert "unlike the road scenes" not in street and "not judged" not in street
    assert "on a street they never saw, 5% to 33% of a frame, 12% at the median" in street


def test_the_segment_caption_and_the_readout_say_the_networks_know_only_road_scenes(service):
    """On a portrait the Segment tab read "Road 43%", "calibrated: ... pixels shown at 80% are right 80% of the time",
    and a click on a face "Road 88.5%": nothing said that these are the only classes there are."""
    caption = service.segment(EXAMPLE, "fcn8s_lite", 0.55, 1, 0)[9]
    assert "The networks know only road scenes like CamVid's: on a picture unlike them" in caption
    assert "no calibration holds" in caption
    from segdemo.captions import pixel_markdown
    from segdemo.pixel_readout import PixelReading
    reading = PixelReading(x=1, y=2, size=(4, 4), classes=[(i, 1 / 11) for i in range(11)], normalised_entropy=1.0,
                           mutual_information=None, truth=None)
    assert "CamVid's 11 road-scene classes" in pixel_markdown([("FCN", reading)], list(CAMVID_CLASSES))


def test_the_info_line_says_when_a_small_picture_was_enlarged_for_the_network(service, tmp_path):
    """A 40x30 thumbnail read "network 256 ms at 480x360 · picture 40x30": the network saw it enlarged 12 times."""
    from PIL import Image
    small = tmp_path / "thumbnail.png"
    Image.open(EXAMPLE).resize((40, 30)).save(small)
    info = service.segment(str(small), "fcn8s_lite", 0.55, 1, 0)[6]
    assert "· picture 40x30 (enlarged ×12 for the network)" in info, info
    assert "enlarged" not in service.segment(EXAMPLE, "fcn8s_lite", 0.55, 1, 0)[6]


def test_an_address_in_an_uploaders_colour_profile_is_no_link_in_the_info_line(service, tmp_path):
    """A colour profile's description is the uploader's text, kept to plain characters, and the info line quotes
    it. Gradio's Markdown had made "www.evil.example" in it a link on the page; escaped, each dot still reads "."."""
    from icc_profiles import DISPLAY_P3, build_rgb_profile

    profile = build_rgb_profile("P3 see www.evil.example", DISPLAY_P3["primaries"], srgb_curve=True)
    picture = tmp_path / "profiled.png"
    with Image.open(EXAMPLE) as frame:
        frame.convert("RGB").save(picture, icc_profile=profile)
    info = service.segment(str(picture), "fcn8s_lite", 0.55, 1, 0)[6]
    note = next(line for line in info.split("\n\n") if line.startswith("Note: colours converted"))
    assert "www." not in note and "www\\.evil\\.example" in note
    shown = "Note: colours converted to sRGB from its colour profile (P3 see www.evil.example)."
    assert note.replace("\\.", ".") == shown


def test_the_streets_disagreement_range_is_the_one_its_benchmark_measured():
    """The Compare headline reads a picture's disagreement against the range measured on a street neither network saw;
    a figure typed into the code is kept to its benchmark's results (benchmarks/unlike_camvid.py)."""
    results = (ROOT / "benchmarks" / "results" / "unlike_camvid.txt").read_text(encoding="utf-8")
    row = next(line for line in results.splitlines() if line.startswith("0006R0, twins (never saw it)"))
    low, median, high = (float(value) / 100 for value in row.split()[-9:-6])
    assert analysis.STREET_DISAGREEMENT == pytest.approx({"min": low, "median": median, "max": high}, abs=1e-9)
