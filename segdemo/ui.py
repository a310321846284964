"""The Gradio app: Segment, Compare and Models tabs, with /segment and /compare API endpoints.

The page alone: its layout, its events and what they call, its style and
script, and the server's launch. What each event computes is
``segdemo.service``'s (``SegmentationService``), plain functions of a file
path and a few settings, so the page, gradio_client and the tests all go
through the same code.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import logging
import os
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import gradio as gr

from . import captions
from .agents import serve_mcp
from .classes import CAMVID_CLASSES
from .compression import compression_middleware
from .gpu import gpu_task
from .imagefiles import (
    DISK_KEPT_FREE_BYTES,
    RESULTS_KEPT_SECONDS,
    RESULTS_MAX_BYTES,
    SWEEP_EVERY_SECONDS,
    cache_folder,
    delete_results_written_here,
    forget_files_with,
    free_disk_bytes,
    sweep_while_serving,
)
from .inference import DEFAULT_SAMPLES, MAX_SAMPLES
from .inputs import (
    ModelDropdown,
    NumberBox,
    NumberSlider,
    RefusingBlocks,
    UploadImage,
    described,
    picture_given,
)
from .internals import lost
from .link_preview import ICON, link_preview_middleware
from .memory import HEADROOM_MB
from .page_widths import WINDOW_WIDTH_JS
from .service import CLASS_TABLE_HEADERS, COMPARE_HEADERS, MAX_SEED, SegmentationService, compare_legend, decimals_shown
from .sessions import SESSIONS_REMEMBERED
from .settings import number_setting
from .stopping import interactive, serve_until_stopped
from .trustplots import page_size
from .visualize import DEFAULT_OPACITY
from .zoo import DEFAULT_MODEL

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"
TRUST_PLOTS_INTRO = (
    "## Can you trust the confidence map?\n\n"
    "**Reliability, before and after temperature scaling** (first plot): of the pixels shown at a given confidence, "
    "the share that is right; bars on the diagonal are perfectly calibrated, before (grey) and after (blue) "
    "temperature scaling. **Accuracy of the most certain pixels** (second): keep only the most certain pixels (by "
    "entropy, or mutual information for the Bayesian SegNet) and measure how accurate they are; the higher the curve, "
    "the better the uncertainty finds the mistakes; the dotted \"best possible\" curve is that of an uncertainty "
    "that ranked every wrong pixel below every right one. Both are drawn from each model's eval.json."
)
log = logging.getLogger(__name__)
# beyond this, visitors are told to try again; 0 would have Gradio refuse every one
QUEUE_SIZE = int(number_setting("SEGDEMO_QUEUE_SIZE", 16, low=1, high=10_000, whole=True))
CONCURRENCY = 1  # one inference at a time: torch already uses every core
MAX_UPLOAD = "50mb"  # the server refuses larger uploads (segdemo.images.MAX_FILE_BYTES matches)
NOTEBOOK_HEIGHT = 1300  # px: a notebook output frame down to the Segment button (Gradio's 500: the picture box alone)
# The upload area says what to drop and what is read, before a visitor tries (Gradio's own: "Drop Image Here"), and
# that a copied picture may be pasted (Ctrl-V or Cmd-V, segdemo/pasted_pictures.js): only the clipboard's icon said so
UPLOAD_PLACEHOLDER = (
    "# Drop a street picture here\n- or -\nClick to upload, or paste one\n"
    "PNG, JPEG, WebP, HEIC, AVIF, BMP, GIF or TIFF, up to 50\u00a0MB"
)

RESULT = "segdemo-result"  # a tab's result that is not a map (a table, a text): greyed out with the maps when stale
CSS = (Path(__file__).resolve().parent / "app.css").read_text(encoding="utf-8")  # the page's own rules
SAMPLES_INFO = "Bayesian SegNet only (FCN is run once, as trained); 1: dropout off"
C_SAMPLES_INFO = "SegNet's dropout samples; 1: dropout off"
# The samples' label, its number and reset button keep one line: where the column has no room for the seed beside
# them (a laptop's half-width window, a tablet), the seed goes under them instead of squeezing them into a label of
# five lines; a seed box is as wide as its label and a few digits
SAMPLES_MIN_WIDTH = 270
SEED_MIN_WIDTH = 110
# What the API's docs ("Use via API") say of each endpoint and input, written for a caller; Gradio would show the
# handlers' docstrings, written for this code's readers, and only a type beside each input
SEGMENT_API = (
    "Segment one street picture with one network. Returns the picture and its overlay, the confidence, boundary-"
    "uncertainty and (Bayesian SegNet) mutual-information maps, the classes found, the legend, a line on the run, "
    "the figures as JSON, the error map (bundled CamVid frames only), the caption of the maps, and the class map: a "
    "PNG of class indices (0 Sky ... 10 Bicyclist)."
)
COMPARE_API = (
    "Run FCN and the Bayesian SegNet on one picture. Returns both overlays, both boundary-uncertainty maps, where "
    "they disagree, a table of figures on what is claimed of each, a headline (with which of the claims hold on the "
    "picture), both error maps and the ground "
    "truth (bundled CamVid frames only), both class maps (PNGs of class indices) and both confidence maps."
)
PICTURE_NOTE = ("A street picture (PNG, JPEG, WebP, HEIC, AVIF, BMP, GIF or TIFF, up to 50 MB): a file, or its http(s) "
                "URL, given through handle_file().")
OPACITY_NOTE = "From 0 to 1: how strongly the class colours cover the picture in the overlays. The maps do not change."
# The class colours a visitor chooses, under each tab's opacity slider: CamVid's (the default, what papers and
# engineers recognise) or three classes moved apart for colour-blind eyes (segdemo.classes, README.md)
COLOURS_LABEL = "Colour-blind-safe colours"
COLOURS_INFO = ("Pedestrian, Fence and SignSymbol recoloured to stay apart for colour-blind eyes; no network runs. "
                "The class map download keeps CamVid's colours.")
SEED_NOTE = f"From 0 to {MAX_SEED}: the same picture, samples and seed give the same answer"
SHOWN_FOR_SECONDS = RESULTS_KEPT_SECONDS  # a session keeps its last result's file names as long as the files are kept
# Which way each map's colours run, in one line above them: yellow is sure on the confidence map and unsure or likely
# on the others, and a first visitor was told neither which to look at nor which way they read (helper-31's audit)
MAPS_KEY = ("**Reading the maps:** start with the overlay. *Confidence*: yellow is sure, dark a guess. *Boundary "
            "uncertainty*: bright is unsure, drawn near the class edges only. *Errors* (bundled frames): red is wrong. "
            "*Mutual information* (Bayesian SegNet): bright where its samples disagree. Each map's colour bar gives "
            "its scale.")
# What is claimed of the two networks, and by whom: the networks here are compact ones trained by this project, and
# the line under the headline says which claims hold on the picture (analysis.claims_line). The papers do not say
# that SegNet is less sure at boundaries than FCN, nor that it mixes riders more: those are this demo's brief; the
# Bayesian SegNet paper finds a network less sure on boundaries than inside regions, which the line judges too.
COMPARE_INTRO = (
    "**The claims tested here:** FCN upsamples coarse class scores 8x, so its maps are smooth and miss thin "
    "structures (Long et al.); SegNet upsamples with the encoder's pooling indices and draws boundaries more "
    "accurately (Badrinarayanan et al., by the BF score), but is less sure where boundaries lie and mixes classes "
    "that overlap, people on bicycles (this demo's brief, not the papers'); and a network is less sure on boundaries "
    "than inside regions (Kendall et al.). The line above the figures judges each on your picture, on the same pixels "
    "for both networks and, on the bundled frames, against their labels; figures within a margin set by how far "
    "SegNet's Monte-Carlo seed moves them are \"about the same\". Both run as served: FCN averaged over three "
    "scales, SegNet (the "
    "Bayesian SegNet) over its samples, spread over two scales and the mirror image; more samples raise its entropy."
)
# What the shipped networks saw of the bundled examples (tests/test_shipped_weights.py keeps it true): flattering
# figures, a visitor should know, where "never trained on" let the example frames pass for an unseen street
EXAMPLES_SEEN = "not trained on, but their street was"
CLASS_CHOICES = [("none", "")] + [(name, name) for name in CAMVID_CLASSES]
CLASS_CHOICE_LABEL = "Probability of one class everywhere"
CLASS_CHOICE_INFO = "Where the network sees it, from the result shown (no network runs); grey: under 1%."
MAP_BUTTONS = ["download", "fullscreen"]  # no share button: it would sit on the colour bar too
COMPARE_TABLE_MIN_WIDTH = 560  # the Compare tab's figures table shows whole from 528 px
MAP_MIN_WIDTH = 280  # narrower, a map shows too little to compare; the Segment tab's maps then wrap, two to a row
# A run asked for while one of its kind is going waits for it, then runs on what the page shows by then: Gradio's
# default ("once") dropped it, and the page ended on the results of another picture or model than the one chosen.
LAST_REQUEST_WINS = "always_last"


CLASS_COLUMN_SHARE = 39  # % of a class table's width for the names: "SignSymbol" whole at 320 px (36%: 6 px short)
# What the downloadable class map holds (beside it; the label stays short, as the API names the output after it)
CLASS_MAP_NOTE = (
    "Each pixel of the **class map** is its class index in CamVid's order ("
    + ", ".join(f"{i} {name}" for i, name in enumerate(CAMVID_CLASSES))
    + "), with the class colours as the PNG's palette: an image viewer shows the colours, "
    "`numpy.asarray(PIL.Image.open(path))` gives the indices."
)


def per_class_widths(columns: int) -> list[str]:
    """The Models tab's per-class table: the class names' column wide enough for "Pedestrian" whole on a 360-px phone
    (a third of the width broke it), the models' columns sharing the rest."""
    if columns < 2:
        return ["100%"] * columns
    rest = (100 - CLASS_COLUMN_SHARE) / (columns - 1)
    return [f"{CLASS_COLUMN_SHARE}%"] + [f"{rest:.3g}%"] * (columns - 1)


# What each map shows, for a visitor who cannot see it (its alt text): a screen reader skipped every picture (alt="")
MAP_ALTS = {
    "confidence": ("confidence map: each pixel's highest class probability, from dark purple (unsure) to yellow "
                   "(sure), with its colour bar on the right"),
    "errors": ("error map: the pixels labelled wrongly in red on the dimmed picture, unlabelled (void) pixels light "
               "grey, and the share of wrong pixels on the right"),
    "band": ("boundary uncertainty: the entropy of the class probabilities on a band around the predicted class "
             "boundaries, from black (sure) to pale yellow (unsure), the rest of the picture greyed"),
    "class": ("probability of the chosen class at every pixel, from dark blue (1%) to yellow (1), the picture greyed "
              "where it is under 1%, with its colour bar on the right"),
    "mutual": ("mutual information: how much the Bayesian SegNet's samples (dropout passes over the picture, its "
               "mirror image and two scales) disagree about each pixel's class, from dark blue (they agree) to "
               "yellow"),
    "overlay": ("overlay: the picture with each pixel coloured by its predicted class, the class boundaries in white, "
                "and a key of the classes found"),
    "differ": "where FCN and SegNet disagree: the pixels whose predicted class differs, in magenta on the grey picture",
    "truth": "ground truth: CamVid's own label of this frame in the class colours, unlabelled pixels grey, with a key",
}
# what a screen reader says for the pictures whose alt text Gradio leaves empty (set by segdemo/alt_texts.js)
PAGE_ALTS = {
    "example": "Example: CamVid frame",  # + "<frame> of sequence <sequence>"
    "example_other": "Example street picture",
    "picture": "The picture, as the networks see it",
    "overlay": ("Overlay: the picture with each pixel coloured by its predicted class and the class boundaries in "
                "white; the classes' key is under it"),
}


# The webcam's picture as the camera saw it, not mirrored: Gradio mirrors the preview and the photo taken by default,
# and a road scene (a phone's back camera, a laptop's pointed at the street) came to the networks and to the results
# flipped left to right, its signs' text backwards and its traffic on the wrong side. The preview is not mirrored
# either, so what the visitor sees before taking it is what is segmented. On a phone the back camera, which sees the
# street, is asked for ("ideal": a laptop's only camera is used all the same); Gradio's default left the browser to
# pick, and a phone opened its front camera on the visitor's face. The size asked for is Gradio's default.
WEBCAM = gr.WebcamOptions(mirror=False, constraints={
    "video": {"facingMode": {"ideal": "environment"}, "width": {"ideal": 1920}, "height": {"ideal": 1440}}})


def page_script() -> str:
    """What the page runs once loaded (``launch(js=...)``, one function): the pixel readout's rings and overlay clicks
    (segdemo/pixel_readout.js), the alt texts Gradio leaves empty and no Tab stop that does nothing
    (segdemo/alt_texts.js), result maps loaded as soon as they arrive rather than lazily (segdemo/eager_pictures.js),
    a reading docked at the window's foot where its readout is out of sight (segdemo/readout_dock.js), results
    greyed out while the picture shown is another, and what a screen reader is told of them and of Gradio's messages
    (segdemo/stale_results.js), a small picture's maps drawn enlarged (segdemo/small_maps.js), the overlay's
    divider moved from the keyboard (segdemo/divider_keys.js), a picture pasted with Ctrl-V taken as the tab's
    picture (segdemo/pasted_pictures.js), why the webcam or the clipboard gave none (segdemo/source_errors.js),
    the page declared in English, the language of its every word (segdemo/page_language.js) and the tab its
    address names shown (``?tab=compare``, segdemo/tab_from_address.js); before them, the layout's rules that
    follow the app's own width (segdemo/app_width.css)."""
    here = Path(__file__).resolve().parent
    readout, alts, eager, dock, stale, small, divider, pasted, refused, language, tab = (
        (here / name).read_text(encoding="utf-8").strip() for name in
        ("pixel_readout.js", "alt_texts.js", "eager_pictures.js", "readout_dock.js", "stale_results.js",
         "small_maps.js", "divider_keys.js", "pasted_pictures.js", "source_errors.js", "page_language.js",
         "tab_from_address.js"))
    by_width = json.dumps((here / "app_width.css").read_text(encoding="utf-8"))
    return (f"() => {{\n({ADD_STYLE})({by_width});\n({readout})();\n({alts})({json.dumps(PAGE_ALTS)});\n"
            f"({eager})();\n({dock})();\n({stale})();\n({small})();\n({divider})();\n({pasted})();\n"
            f"({refused})();\n({language})();\n({tab})();\n}}")


# The rules that follow the app's width (segdemo/app_width.css), added to the page as a style of its own: Gradio
# drops the @container rules of a Space's CSS. Once, however often the script runs.
ADD_STYLE = """(css) => {
  if (document.getElementById("segdemo-app-width")) return;
  const style = document.createElement("style");
  style.id = "segdemo-app-width";
  style.textContent = css;
  document.head.appendChild(style);
}"""


PLOT_ALTS = {
    "reliability": ("Reliability diagrams of both networks: the share of pixels right against their confidence, in "
                    "15 bins, before (grey) and after (blue) temperature scaling, beside the diagonal of perfect "
                    "calibration."),
    "kept": ("Accuracy of the most certain pixels kept, against the share kept, for both networks, over all labelled "
             "pixels and on the boundary band, beside the best possible curves."),
}


def map_image(label: str, shows: str, network: str = "", **kwargs: Any) -> gr.Image:
    """An output map (overlay, confidence, errors, uncertainty) with its label above it, and its alt text: what it
    ``shows`` (a key of ``MAP_ALTS``), and for which ``network``."""
    alt = f"{network} {MAP_ALTS[shows]}." if network else f"{MAP_ALTS[shows][0].upper()}{MAP_ALTS[shows][1:]}."
    return gr.Image(label=label, format="png", type="pil", elem_classes=["segdemo-map"], buttons=MAP_BUTTONS,
                    alt_text=alt, **kwargs)


def example_images() -> list[Path]:
    return sorted(p for p in EXAMPLES_DIR.glob("*.jpg"))


def example_sequences() -> str:
    """The CamVid sequences the bundled frames come from (``camvid_<sequence>_<frame>.jpg``)."""
    return "+".join(sorted({p.stem.split("_")[1] for p in example_images() if p.stem.count("_") >= 2})) or "?"


def _examples(pictures: list[str], picture: gr.Image, label: str, elem_id: str) -> gr.Examples | None:
    """Bundled frames that, clicked, replace the picture alone; ``_run_examples`` then runs the tab with the
    visitor's own settings. Made right under the picture box, so that a first visit sees them beside it on a laptop's
    first screen (under the tab's settings and button they were below the fold at 1366x768, the page's right half an
    empty box): one click to a result, without reading."""
    if not pictures:
        return None
    return gr.Examples(
        examples=[[p] for p in pictures],
        inputs=[picture],
        label=label,
        elem_id=elem_id,
        examples_per_page=6,
        api_visibility="private",
    )


def _run_examples(examples: gr.Examples | None, inputs: list, outputs: list, fn: Any, elem_id: str,
                  js: str | None = None) -> Any:
    """A click on an example runs ``fn`` with the visitor's own settings.

    Only the picture column has values, so a click keeps the model, opacity,
    samples and seed the visitor chose: a visitor who picked the Bayesian
    SegNet gets its maps for the example, not FCN's with the dropdown reset.
    That rules out Gradio's example cache, which keys on the whole row; an
    example costs one inference (0.7-3 s on 2 CPU cores). The lazy cache also
    failed in Gradio 6.31 on the error map's ``gr.update(visible=...)``.
    """
    if examples is None:
        return None
    loaded = getattr(examples, "load_input_event", None)  # Gradio's own attribute, not documented
    if loaded is None:  # the example still fills the picture; the visitor presses the tab's button
        lost("gradio", "gr.Examples.load_input_event", "a click on an example fills the picture but no longer runs "
             "the tab")
        return None
    # run as the buttons run: in the one inference queue ("model"), not beside it, the last click winning
    return loaded.then(fn, inputs, outputs, api_name=elem_id.replace("-", "_"), api_visibility="private",
                       concurrency_id="model", trigger_mode=LAST_REQUEST_WINS, js=js)


def colour_choice(tab: str) -> gr.Checkbox:
    """A tab's choice of class colours, under its opacity slider: CamVid's (unticked, what papers and engineers
    recognise) or the colour-blind-safe ones. The page's alone: each change re-blends (which tells the server the
    session's choice, for its next runs), and the API's runs draw CamVid's colours, as before."""
    return gr.Checkbox(value=False, label=COLOURS_LABEL, info=COLOURS_INFO, elem_id=f"{tab}-colours")


def _reblend_as_the_colours_change(opacity: gr.Slider, colours: gr.Checkbox, fn: Any, shown: gr.State,
                                   outputs: list, result_text: gr.Markdown) -> None:
    """As the visitor moves the opacity slider (mouse, keyboard, typed or its ↺ reset) or ticks the colour-blind-safe
    colours, the shown overlays are drawn again, and with new colours what else shows them (``outputs``: the
    overlays first).

    One event for both, each call reading both: a tick and a drag that
    cross keep the overlays, keys and legend in the colours and at the
    opacity shown. Its own queue (not the networks' "model" one), so it never
    waits behind a visitor's inference. While one blend runs, only the latest
    of the values the slider passed through waits, so a drag costs a blend
    per round trip, not per step; no spinner over the overlay for a change
    that takes milliseconds. "change", not "input": Gradio 6's reset button
    sends no "input" (the overlay stayed at the old opacity), and "release"
    would skip the keyboard's arrows and come again at the end of each drag.
    The reset sends "change" twice; the second finds the overlay at that
    opacity and blends nothing (``SegmentationService._blend_again``). ``result_text`` (empty
    until a result is shown) goes along, so that a result the server has
    forgotten is told from no result at all.
    """
    gr.on([opacity.change, colours.change], fn, [shown, opacity, result_text, colours], [*outputs, shown],
          api_visibility="private", concurrency_id="blend", trigger_mode="always_last", show_progress="hidden")


def _overlay_follows_the_slider_after(runs: list, fn: Any, opacity: gr.Slider, colours: gr.Checkbox, shown: gr.State,
                                      outputs: list, result_text: gr.Markdown) -> None:
    """After each run (``runs``: its events), the overlays drawn again where the slider moved while it ran, or where
    the colours were chosen after it began: a run blends at the opacity the button was pressed at, in the colours the
    session's page last said it shows (``SegmentationService.colours_chosen``; the API's inputs have no choice of
    colours). Read when the run ends, in the blends' own queue."""
    for run in runs:
        if run is not None:
            run.then(fn, [shown, opacity, result_text, colours], [*outputs, shown], api_visibility="private",
                     concurrency_id="blend", show_progress="hidden", trigger_mode=LAST_REQUEST_WINS)


def _colours_follow_each_other(first: gr.Checkbox, second: gr.Checkbox) -> None:
    """A visitor's choice of colours on one tab is made on the other too (and its "change" redraws that tab): the
    need is the visitor's, not the picture's. The page's own (no server call)."""
    for source, other in ((first, second), (second, first)):
        source.input(None, source, other, js="(ticked) => ticked", api_visibility="private", queue=False,
                     show_progress="hidden")


def _sampling_follows_the_model(model: gr.Dropdown, sampling: list, applies: Any) -> None:
    """The samples and seed can be set only for a model they change: for FCN, a single pass, they are greyed out
    instead of inviting a visitor to ask for 32 samples and see nothing change. The page's own (no API, no queue)."""
    model.change(lambda name: [gr.update(interactive=applies(name))] * len(sampling), model, sampling,
                 api_visibility="private", queue=False, show_progress="hidden")


def _read_pixels_on_click(maps: list[gr.Image], fn: Any, shown: gr.State, choice: gr.Dropdown, readout: gr.Markdown,
                          result_text: gr.Markdown) -> None:
    """A click on any of ``maps`` shows in ``readout`` what the networks said at that pixel (``read_pixel``: a file
    read, no network run, so no queue), the class ``choice`` names among it; a new result (``result_text`` changes
    with each) puts the hint back, so that no reading of the last picture stays under the next one's maps."""
    for picture in maps:
        picture.select(fn, [shown, choice], readout, api_visibility="private", queue=False, show_progress="hidden")
    result_text.change(lambda: captions.PIXEL_HINT, None, readout, api_visibility="private", queue=False,
                       show_progress="hidden")


def _readout_and_class_choice(tab: str, choice_scale: int) -> tuple[gr.Markdown, gr.Dropdown, gr.Column]:
    """A tab's pixel readout (what a click on a map reads) beside its choice of one class to map; the choice's
    column, for what goes under it."""
    with gr.Row(elem_id=f"{tab}-probe"):
        with gr.Column(scale=3):
            readout = gr.Markdown(captions.PIXEL_HINT, label="Pixel", show_label=False, elem_id=f"{tab}-pixel",
                                  elem_classes=["segdemo-pixel"])
        with gr.Column(scale=choice_scale, min_width=MAP_MIN_WIDTH) as column:
            choice = gr.Dropdown(CLASS_CHOICES, value="", label=CLASS_CHOICE_LABEL, info=CLASS_CHOICE_INFO,
                                 elem_id=f"{tab}-class", filterable=False)  # see the Model's
    return readout, choice, column


def _class_probability_follows(choice: gr.Dropdown, fn: Any, shown: gr.State, maps: list[gr.Image],
                               result_text: gr.Markdown) -> None:
    """The chosen class's probability maps, drawn when a class is chosen and again for each new result (no network
    run: ``class_probability_maps``). Not queued: queued, drawn as each result arrived, it left the page empty after
    a restart of the server in 4 runs of 6 of the restart test (tests/test_browser.py), where 4 of 4 pass now."""
    def draw(state: Any, class_name: Any, result_on_page: Any, request: gr.Request):
        updates = fn(state, class_name, len(maps), result_on_page, getattr(request, "session_hash", None))
        return updates[0] if len(maps) == 1 else updates  # Gradio takes one output's value bare

    for trigger in (choice.change, result_text.change):
        trigger(draw, [shown, choice, result_text], maps, api_visibility="private", queue=False, show_progress="hidden")


def _show_uploads_in_every_browser(tab: str, picture: UploadImage, fn: Any) -> None:
    """A TIFF or HEIC upload is drawn as lossless WebP, for browsers that cannot draw it (``picture_for_the_browser``).

    Its own queue: a 12-megapixel HEIC (4032x3024) takes 1.1 s to decode
    on 2 CPU cores and 1.5 s to become its 2048x1536 copy, which must not
    wait behind another visitor's inference. The copy comes to hidden boxes
    with the file it was made from, and the page puts it in the picture's
    place only while that file is still the picture (segdemo/stale_results.js,
    ``copied``): sent to the picture itself, it replaced an example clicked,
    or another file chosen, while it was being made. The page is also told
    that the copy is the upload's: a run sent with the upload, before its
    copy came, gave results greyed out as of another picture. A second upload
    while a copy is made is copied after it ("always_last"): by default Gradio
    dropped its event, and a second TIFF stayed a broken image.
    """
    copy = gr.Image(visible=False, type="filepath", interactive=False, format="webp")
    source = gr.Textbox(visible=False)

    def copy_for_the_browser(upload: Any) -> tuple[Any, str]:
        made = fn(upload)
        if isinstance(made, dict) and made == gr.skip():  # drawn as it is: no copy, the picture stays
            return gr.skip(), ""
        return made, upload  # the copy, or None for a file refused (the box empties), and the file it stands for

    copying = picture.upload(copy_for_the_browser, picture, [copy, source], api_visibility="private",
                             concurrency_id="upload", trigger_mode="always_last", show_progress="minimal",
                             show_progress_on=picture,
                             js=_sent_with_its_inputs(tab, "upload"))
    copying.then(None, [picture, copy, source], picture, api_visibility="private", queue=False, show_progress="hidden",
                 js=f"(picture, copy, source) => window.segdemoResults ? window.segdemoResults.copied('{tab}', "
                    "picture, copy, source) : (source ? copy : picture)")


def _picture_follows_to_an_empty_tab(tab: gr.Tab, picture: UploadImage, other: UploadImage) -> None:
    """A tab opened with no picture of its own takes the other tab's: a visitor who segmented a picture and went on
    to Compare found an empty box there, and had to upload the picture again to compare the networks on it. A tab
    that has a picture keeps it. The page's own (no API); the file is the one already uploaded, not sent again."""
    tab.select(lambda own, shown: gr.skip() if own is not None or shown is None else shown, [picture, other], picture,
               api_visibility="private", queue=False, show_progress="hidden")


def _settings_key(sampling_models: list[str] | None = None) -> str:
    """The page's key (JavaScript, a function of a tab's inputs) of the settings a tab's result depends on: a result
    is greyed out while other settings are chosen (segdemo/stale_results.js).

    ``sampling_models``: the Segment tab's models whose answer Monte-Carlo
    samples change (inputs: picture, model, opacity, samples, seed); None for
    the Compare tab (inputs: picture, opacity, samples, seed). The opacity is
    none of them (a new one blends the shown overlay again, no network runs),
    nor are the samples for a model without dropout, nor the seed for a
    single pass: each gives the same maps.
    """
    if sampling_models is None:
        return ("((inputs) => { const samples = Number(inputs[2]); "
                "return JSON.stringify([samples, samples > 1 ? Number(inputs[3]) : null]); })")
    return (f"((inputs) => {{ const samples = {json.dumps(sampling_models)}.includes(inputs[1]) ? Number(inputs[3]) "
            ": 1; return JSON.stringify([inputs[1], samples, samples > 1 ? Number(inputs[4]) : null]); })")


def _sent_with_its_inputs(tab: str, run: str, settings_key: str | None = None) -> str:
    """The page's part of a run's event (``js=``), as it is sent: it notes the picture the run is of (its first
    input) and the key of its settings (``_settings_key``; segdemo/stale_results.js), and passes the inputs on
    unchanged. The API's calls never run it."""
    settings = f"{settings_key}(inputs)" if settings_key else "undefined"
    return (f"(...inputs) => {{ window.segdemoResults?.sent('{tab}', '{run}', inputs[0], {settings}); "
            "return inputs; }")


def _results_follow_the_inputs(tab: str, inputs: list, settings: list, settings_key: str, runs: dict[str, Any]) -> None:
    """A tab's results greyed out, under a line that says so (``stale_note``), while the picture or the settings
    shown are not those they were made from: after a new upload, an example's click or a clear, another model,
    samples count or seed, and while a run sent before them ends (segdemo/stale_results.js).

    ``inputs``: the tab's inputs, its picture first; ``settings``: those of
    them that change a result (``settings_key`` tells when they do); ``runs``:
    the tab's runs by name, each sent with ``_sent_with_its_inputs``. The
    page's own: no server call, no API.
    """
    for name, run in runs.items():
        if run is not None:
            run.success(None, inputs, None, js=f"(...inputs) => window.segdemoResults?.arrived('{tab}', '{name}', "
                        f"inputs[0], {settings_key}(inputs))", api_visibility="private", queue=False,
                        show_progress="hidden")
    for changed in (inputs[0], *settings):
        changed.change(None, inputs, None, js=f"(...inputs) => window.segdemoResults?.changed('{tab}', inputs[0], "
                       f"{settings_key}(inputs))", api_visibility="private", queue=False, show_progress="hidden")


def stale_note(tab: str, button: str) -> gr.HTML:
    """The line above a tab's results while they are of another picture or other settings (shown by the page's CSS,
    which ``_results_follow_the_inputs`` switches): which of three, by whether a picture is shown and is theirs."""
    return gr.HTML(
        f'<p class="segdemo-stale-new">These results are of the previous picture: press <strong>{button}</strong> '
        'for this one\'s.</p><p class="segdemo-stale-gone">These results are of a picture no longer shown.</p>'
        '<p class="segdemo-stale-settings">These results are of other settings than those chosen now: press '
        f'<strong>{button}</strong> for these.</p>',
        elem_id=f"{tab}-stale-note", elem_classes=["segdemo-stale-note"], padding=False,
    )


def build_demo(service: SegmentationService) -> gr.Blocks:
    """The whole UI; serve it with ``demo.launch()`` (``SegdemoBlocks``)."""
    examples = [str(p) for p in example_images()]
    # The two handlers that run a network for a visitor ask ZeroGPU for a GPU (segdemo.gpu); nothing else does.
    segment_on_gpu = gpu_task(service.segment_gpu_seconds)(service.segment)
    compare_on_gpu = gpu_task(service.compare_gpu_seconds)(service.compare)

    # The runs, each result noted as its session's newest (here, in the server's process: on ZeroGPU the decorated
    # handler runs in another). The parameters keep the handlers' names: they name the API's inputs.
    # Each drawn no wider than the visitor's page shows it (segdemo.page_widths), in the colours it shows: the API's
    # calls at full size, in CamVid's colours.
    def segment(image: Any, model_name: str, opacity: float, samples: Any, seed: Any, request: gr.Request):
        width = service.page_widths.drawn_width(getattr(request, "session_hash", None), maps_a_row=1)
        return service.note_shown(request, segment_on_gpu(image, model_name, opacity, samples, seed, max_width=width,
                                                           colour_blind_safe=service.colours_chosen(request)))

    def compare(image: Any, opacity: float, samples: Any, seed: Any, request: gr.Request):
        width = service.page_widths.drawn_width(getattr(request, "session_hash", None), maps_a_row=2)
        return service.note_shown(request, compare_on_gpu(image, opacity, samples, seed, max_width=width,
                                                          colour_blind_safe=service.colours_chosen(request)))

    segment.runs, compare.runs = segment_on_gpu, compare_on_gpu  # what each runs (tests look through to it)

    # Gradio sweeps the uploads and the files it served once they are as old as segdemo's result folders
    sweep = (SWEEP_EVERY_SECONDS, RESULTS_KEPT_SECONDS)
    with SegdemoBlocks(title="segdemo: FCN vs SegNet", fill_width=True, delete_cache=sweep) as demo:
        gr.Markdown(
            "# FCN and SegNet, side by side\n"
            "Road scenes segmented into CamVid's 11 classes by networks this project trained from scratch. Upload a "
            "street picture or click an example to see the colour overlay, each pixel's confidence and where the "
            "network is unsure about boundaries. Your picture and its results are kept a day, then deleted."
        )
        segment_tab, image, colours = _segment_tab(service, segment, examples)
        compare_tab, c_image, c_colours = _compare_tab(service, compare, examples)
        _colours_follow_each_other(colours, c_colours)
        _picture_follows_to_an_empty_tab(segment_tab, image, c_image)
        _picture_follows_to_an_empty_tab(compare_tab, c_image, image)

        plot_rules = _models_tab(service)
        # the page sends its window's width once loaded: a visitor's results are drawn no wider than it shows them
        window_width = gr.Number(visible=False, label="Window width")
        demo.load(service.note_page_width, [window_width], None, js=WINDOW_WIDTH_JS, queue=False,
                  api_visibility="private", show_progress="hidden")
    forget_files_with(gradio_sweep(demo), gradio_forget(demo))
    # Each plot's box has its plot's shape before the plot loads: the plots load lazily, and on a phone the page grew
    # by 1,838 px as they came in, under a visitor scrolling past them. launch() adds these rules to the page's CSS.
    demo.segdemo_css = "\n".join(plot_rules)  # type: ignore[attr-defined]
    return demo


def _segment_tab(service: SegmentationService, segment: Callable[..., Any],
                 examples: list[str]) -> tuple[gr.Tab, UploadImage, gr.Checkbox]:
    """The Segment tab: one model's maps of a picture, and the events that run, re-blend and read them; its tab,
    picture and colour box, which the Compare tab's follow."""
    choices = service.labels()
    default_model = DEFAULT_MODEL if DEFAULT_MODEL in service.models else (choices[0][1] if choices else None)
    with gr.Tab("Segment", elem_id="segment-tab") as segment_tab:
        with gr.Row():
            with gr.Column(scale=2):
                image = UploadImage(
                    elem_id="segment-picture",
                    label="Picture",
                    type="filepath",
                    image_mode=None,
                    sources=["upload", "clipboard", "webcam"],
                    webcam_options=WEBCAM,
                    height=300,
                    placeholder=UPLOAD_PLACEHOLDER,
                )
                segment_examples = _examples(examples, image, f"Or click one: CamVid frames of sequence "
                                             f"{example_sequences()}, {EXAMPLES_SEEN}", "segment-examples")
                # not typed into (a handful of choices): its box read-only, a tap on a phone opens the list
                # alone, where an editable box brought up the keyboard over it
                model = ModelDropdown(choices=choices, value=default_model, label="Model", elem_id="segment-model",
                                      filterable=False)
                opacity = NumberSlider(0.0, 1.0, value=DEFAULT_OPACITY, step=0.05, label="Overlay opacity")
                colours = colour_choice("segment")
                with gr.Row():
                    sampled = service.samples_apply(default_model)  # FCN is no Bayesian model: one pass
                    samples = NumberSlider(
                        1, MAX_SAMPLES, value=DEFAULT_SAMPLES, step=1, interactive=sampled,
                        label="Monte-Carlo samples", info=SAMPLES_INFO, scale=3, min_width=SAMPLES_MIN_WIDTH,
                        elem_classes=["segdemo-sampling"],
                    )
                    seed = NumberBox(value=0, precision=0, label="Seed", minimum=0, maximum=MAX_SEED,
                                     interactive=sampled, scale=1, min_width=SEED_MIN_WIDTH,
                                     elem_classes=["segdemo-sampling"])
                run = gr.Button("Segment", variant="primary")
            with gr.Column(scale=3):
                stale_note("segment", "Segment")
                slider = gr.ImageSlider(label="Picture | overlay (drag)", format="png", type="pil",
                                        elem_classes=["segdemo-slider"])  # rings the pixel read, reads a click (pixel_readout.js)
                # labels unseen on the page, which name these outputs in the API's docs (Gradio: "value_16")
                legend = gr.HTML(label="Legend", show_label=False, elem_classes=[RESULT])
                info = gr.Markdown(label="Info", show_label=False, elem_classes=[RESULT])
        gr.Markdown(MAPS_KEY, elem_id="segment-maps-key")
        with gr.Row(elem_id="segment-maps"):
            confidence = map_image("Confidence", "confidence", min_width=MAP_MIN_WIDTH,
                                   elem_id="segment-confidence")
            errors = map_image("Errors (red: wrong)", "errors", visible=False, min_width=MAP_MIN_WIDTH,
                               elem_id="segment-errors")
            band = map_image("Boundary uncertainty", "band", min_width=MAP_MIN_WIDTH, elem_id="segment-band")
            mutual = map_image("Mutual information", "mutual", visible=False, min_width=MAP_MIN_WIDTH,
                               elem_id="segment-mutual")
        segment_pixel, segment_class, class_column = _readout_and_class_choice("segment", choice_scale=2)
        with class_column:  # the class's map under its choice
            segment_class_map = map_image("Probability of a class", "class", visible=False,
                                          elem_id="segment-class-probability")
        maps_caption = gr.Markdown(label="Caption", show_label=False, elem_id="maps-caption", elem_classes=[RESULT])
        with gr.Row():
            table = gr.Dataframe(  # shares of the width, titles wrapped: all three columns fit on a phone
                headers=CLASS_TABLE_HEADERS, label="Classes found", interactive=False,
                wrap=True, column_widths=[f"{CLASS_COLUMN_SHARE}%", "24%", f"{76 - CLASS_COLUMN_SHARE}%"],
                elem_classes=["segdemo-words", RESULT],
            )
        class_map = gr.File(label="Class map", interactive=False, elem_id="segment-class-map",
                            elem_classes=["segdemo-class-map"])
        gr.Markdown(CLASS_MAP_NOTE, elem_id="class-map-note")
        with gr.Accordion("Figures (JSON)", open=False, elem_classes=[RESULT]):
            figures = gr.JSON(label="Figures", show_label=False)
        segment_shown = gr.State(time_to_live=SHOWN_FOR_SECONDS)  # not in the API: gradio_client skips it
        segment_outputs = [slider, confidence, band, mutual, table, legend, info, figures, errors, maps_caption,
                           class_map, segment_shown]
        segment_inputs = [image, model, opacity, samples, seed]
        segment_settings = _settings_key([name for name in service.models if service.samples_apply(name)])
        for component, note in zip(segment_inputs, (
            PICTURE_NOTE,
            "fcn8s_lite (FCN-8s) or bayesian_segnet_lite (Bayesian SegNet), or the label the page shows.",
            OPACITY_NOTE,
            # FCN ignores the number, not its range: samples 0 or seed -1 is refused for it too
            f"Monte-Carlo dropout samples, 1 to {MAX_SAMPLES}, for the Bayesian SegNet. FCN ignores the number "
            "(it must still be in range).",
            SEED_NOTE + " (the Bayesian SegNet's dropout). FCN ignores the number (it must still be in range).",
        )):
            described(component, note, whole=component is samples)
        segment_run = run.click(segment, segment_inputs, segment_outputs, api_name="segment",
                                api_description=SEGMENT_API, concurrency_id="model", trigger_mode=LAST_REQUEST_WINS,
                                validator=picture_given,
                                js=_sent_with_its_inputs("segment", "button", segment_settings))
        _show_uploads_in_every_browser("segment", image, service.picture_for_the_browser)
        _sampling_follows_the_model(model, [samples, seed], service.samples_apply)
        _reblend_as_the_colours_change(opacity, colours, service.reblend_segment, segment_shown, [slider, legend],
                                       info)
        _read_pixels_on_click([confidence, errors, band, mutual, segment_class_map], service.read_pixel,
                              segment_shown, segment_class, segment_pixel, info)
        _class_probability_follows(segment_class, service.class_probability_maps, segment_shown,
                                   [segment_class_map], info)
        segment_example_run = _run_examples(segment_examples, segment_inputs, segment_outputs, segment,
                                            "segment-examples",
                                            js=_sent_with_its_inputs("segment", "examples", segment_settings))
        _results_follow_the_inputs("segment", segment_inputs, [model, samples, seed], segment_settings,
                                   {"button": segment_run, "examples": segment_example_run})
        _overlay_follows_the_slider_after([segment_run, segment_example_run], service.reblend_segment_if_moved,
                                          opacity, colours, segment_shown, [slider, legend], info)
    return segment_tab, image, colours


def _compare_tab(service: SegmentationService, compare: Callable[..., Any],
                 examples: list[str]) -> tuple[gr.Tab, UploadImage, gr.Checkbox]:
    """The Compare tab: FCN's and SegNet's maps of one picture side by side, the claims judged on it, and its
    events; its tab, picture and colour box, which the Segment tab's follow."""
    with gr.Tab("Compare", elem_id="compare-tab") as compare_tab:
        gr.Markdown(COMPARE_INTRO)
        with gr.Row():
            with gr.Column(scale=2):
                c_image = UploadImage(
                    elem_id="compare-picture",
                    label="Picture", type="filepath", image_mode=None, sources=["upload", "clipboard", "webcam"],
                    webcam_options=WEBCAM, height=220,
                    placeholder=UPLOAD_PLACEHOLDER,
                )
                compare_examples = _examples(examples, c_image, f"Or click one: CamVid frames of sequence "
                                             f"{example_sequences()}, {EXAMPLES_SEEN}; labels known: per-image "
                                             "mIoU and BF", "compare-examples")
                c_opacity = NumberSlider(0.0, 1.0, value=DEFAULT_OPACITY, step=0.05, label="Overlay opacity")
                c_colours = colour_choice("compare")
                with gr.Row():
                    c_samples = NumberSlider(1, MAX_SAMPLES, value=DEFAULT_SAMPLES, step=1,
                                             label="Monte-Carlo samples", info=C_SAMPLES_INFO, scale=3,
                                             min_width=SAMPLES_MIN_WIDTH)
                    c_seed = NumberBox(value=0, precision=0, label="Seed", minimum=0, maximum=MAX_SEED, scale=1,
                                       min_width=SEED_MIN_WIDTH)
                c_run = gr.Button("Compare", variant="primary")
            with gr.Column(scale=3, min_width=COMPARE_TABLE_MIN_WIDTH):  # narrower, it goes below the controls
                stale_note("compare", "Compare")
                c_headline = gr.Markdown(label="Headline", show_label=False, elem_classes=[RESULT])
                # the names and both networks' readings at fixed widths (shares of a phone's width would split
                # the numbers), "What it shows" half the table: it all fits from 528 px, the readings wrapping
                # inside their column instead of running off to the right; on a phone "What it shows" goes
                # under each row (app_width.css); tall enough for every row
                c_table = gr.Dataframe(
                    headers=COMPARE_HEADERS, label="Figures", interactive=False, wrap=True,
                    column_widths=["120px", "72px", "72px", "50%"], max_height=2400, elem_id="compare-figures",
                    elem_classes=[RESULT],
                )
        c_legend = gr.HTML(compare_legend(False), elem_id="compare-legend")
        compare_pixel, compare_class, _ = _readout_and_class_choice("compare", choice_scale=1)
        gr.Markdown(MAPS_KEY, elem_id="compare-maps-key")
        with gr.Column(elem_id="compare-maps"):
            with gr.Row():  # shown once a class is chosen, at the other maps' scale
                fcn_class_probability = map_image("FCN: probability of a class", "class", "FCN", visible=False,
                                                  elem_id="compare-class-fcn")
                segnet_class_probability = map_image("SegNet: probability of a class", "class", "SegNet",
                                                     visible=False, elem_id="compare-class-segnet")
            with gr.Row():
                fcn_overlay = map_image("FCN overlay", "overlay", "FCN")
                segnet_overlay = map_image("SegNet overlay", "overlay", "SegNet")
            with gr.Row():
                fcn_confidence = map_image("FCN confidence", "confidence", "FCN", elem_id="compare-confidence-fcn")
                segnet_confidence = map_image("SegNet confidence", "confidence", "SegNet")
            with gr.Row():
                fcn_band = map_image("FCN boundary uncertainty", "band", "FCN")
                segnet_band = map_image("SegNet boundary uncertainty", "band", "SegNet")
            with gr.Row():
                fcn_errors = map_image("FCN errors (red: wrong, grey: void)", "errors", "FCN", visible=False)
                segnet_errors = map_image("SegNet errors (red: wrong, grey: void)", "errors", "SegNet",
                                          visible=False)
            with gr.Row():  # the ground truth, where it is known, beside where the networks disagree
                differ = map_image("Where they disagree (magenta)", "differ", elem_id="compare-differ")
                truth_map = map_image("Ground truth (CamVid label, grey: void)", "truth", visible=False)
        gr.Markdown(service.compare_maps_caption())
        with gr.Row(elem_id="compare-class-maps"):
            fcn_class_map = gr.File(label="FCN class map", interactive=False, elem_classes=["segdemo-class-map"])
            segnet_class_map = gr.File(label="SegNet class map", interactive=False, elem_classes=["segdemo-class-map"])
        gr.Markdown(CLASS_MAP_NOTE)
        compare_inputs = [c_image, c_opacity, c_samples, c_seed]
        compare_settings = _settings_key()
        compare_shown = gr.State(time_to_live=SHOWN_FOR_SECONDS)
        compare_outputs = [
            fcn_overlay, segnet_overlay, fcn_band, segnet_band, differ, c_table, c_headline, fcn_errors, segnet_errors,
            truth_map, fcn_class_map, segnet_class_map, fcn_confidence, segnet_confidence, compare_shown,
        ]
        for component, note in zip(compare_inputs, (
            PICTURE_NOTE, OPACITY_NOTE, f"The Bayesian SegNet's Monte-Carlo dropout samples, 1 to {MAX_SAMPLES}.",
            SEED_NOTE + ".",
        )):
            described(component, note, whole=component is c_samples)
        compare_run = c_run.click(compare, compare_inputs, compare_outputs, api_name="compare",
                                  api_description=COMPARE_API, concurrency_id="model",
                                  trigger_mode=LAST_REQUEST_WINS, validator=picture_given,
                                  js=_sent_with_its_inputs("compare", "button", compare_settings))
        _show_uploads_in_every_browser("compare", c_image, service.picture_for_the_browser)
        _reblend_as_the_colours_change(c_opacity, c_colours, service.reblend_compare, compare_shown,
                                       [fcn_overlay, segnet_overlay, truth_map], c_headline)
        c_colours.change(compare_legend, c_colours, c_legend, api_visibility="private", queue=False,
                         show_progress="hidden")
        _read_pixels_on_click([fcn_overlay, segnet_overlay, fcn_confidence, segnet_confidence, fcn_band, segnet_band,
                               fcn_errors, segnet_errors, differ, truth_map, fcn_class_probability,
                               segnet_class_probability], service.read_pixel, compare_shown, compare_class,
                              compare_pixel, c_headline)
        _class_probability_follows(compare_class, service.class_probability_maps, compare_shown,
                                   [fcn_class_probability, segnet_class_probability], c_headline)
        compare_example_run = _run_examples(compare_examples, compare_inputs, compare_outputs, compare,
                                            "compare-examples",
                                            js=_sent_with_its_inputs("compare", "examples", compare_settings))
        _results_follow_the_inputs("compare", compare_inputs, [c_samples, c_seed], compare_settings,
                                   {"button": compare_run, "examples": compare_example_run})
        _overlay_follows_the_slider_after([compare_run, compare_example_run], service.reblend_compare_if_moved,
                                          c_opacity, c_colours, compare_shown, [fcn_overlay, segnet_overlay,
                                                                                truth_map], c_headline)
    return compare_tab, c_image, c_colours


def _models_tab(service: SegmentationService) -> list[str]:
    """The Models tab: what each network is, its figures and plots; the CSS rules that give each plot's box its
    shape before it loads."""
    with gr.Tab("Models", elem_id="models-tab"):
        gr.Markdown(service.models_summary())
        with gr.Accordion("What the figures mean", open=False):
            gr.Markdown(captions.FIGURES_EXPLAINED.removeprefix("**What the figures mean.** "))
        # the tab's sections under the page's title (h1) are h2: as h3, a screen reader's list of headings skipped
        # a level (axe-core's heading-order); drawn at h3's size, as before (app.css)
        gr.Markdown(service.models_markdown(), elem_classes=["segdemo-sections"])
        plots = service.trust_plots()
        plot_rules: list[str] = []
        if plots:
            gr.Markdown(TRUST_PLOTS_INTRO, elem_classes=["segdemo-sections"])
            # One plot a row, wide enough to read, and no block label: it would sit on the plots' own titles.
            # Each comes four times, its panels side by side and stacked, on a light and on a dark ground; CSS
            # shows the one that fits the screen and the page's theme. Each is as wide as its figure at 110 CSS
            # px to the inch (at most the column), with twice the pixels, for a sharp plot on a 2x screen.
            for key, label in (("reliability", "Reliability before and after temperature scaling"),
                               ("kept", "Accuracy of the most certain pixels (uncertainty as an error detector)")):
                for version, suffix in (("wide", ""), ("stacked", "_stacked")):
                    for theme, dark in (("light", ""), ("dark", "_dark")):
                        plot = plots[key + suffix + dark]
                        width, height = page_size(plot)
                        plot_id = f"trust-plot-{key}-{version}-{theme}"
                        plot_rules.append(f"#{plot_id} .image-container {{aspect-ratio: {width} / {height}}}")
                        gr.Image(value=plot, label=label + (" (stacked)" if suffix else "") + (" (dark)" if dark else ""),
                                 show_label=False, buttons=MAP_BUTTONS, alt_text=PLOT_ALTS[key],
                                 type="filepath" if isinstance(plot, Path) else "pil", interactive=False,
                                 width=width, format="png", elem_id=plot_id,
                                 elem_classes=["trust-plot", f"trust-plot-{version}", f"trust-plot-{theme}"])
        headers, rows = service.per_class_table()
        gr.Dataframe(  # shares of the width, titles wrapped: every model's column fits on a phone
            value=decimals_shown(headers, rows, [None] + [1] * (len(headers) - 1)), headers=headers,
            label=f"Per-class IoU on CamVid {service.frames_measured()} (%)",
            interactive=False, wrap=True, column_widths=per_class_widths(len(headers)), max_height=1000,
            elem_classes=["segdemo-words"],
        )
        if note := service.scarce_classes_note():
            gr.Markdown(note)
    return plot_rules


def _lists_served_files(demo: gr.Blocks) -> bool:
    """Whether ``demo`` lists the files it served where Gradio 6.31 did (``Blocks.temp_file_sets``, not documented);
    logged once where it does not."""
    if isinstance(getattr(demo, "temp_file_sets", None), list):
        return True
    lost("gradio", "Blocks.temp_file_sets", "segdemo cannot sweep Gradio's uploads for room, nor take the files it "
         "deleted itself off Gradio's lists; Gradio's own hourly sweep by age goes on")
    return False


def gradio_forget(demo: gr.Blocks) -> Callable[[set[str]], None] | None:
    """What takes files off the lists of those ``demo`` served, which Gradio sweeps: for files segdemo deleted itself
    (a re-blend the page no longer shows), whose names Gradio's sweep would keep for good. None where this Gradio
    keeps no ``temp_file_sets``."""
    if not _lists_served_files(demo):
        return None

    def forget(paths: set[str]) -> None:
        for files in list(demo.temp_file_sets):
            files.difference_update(paths)

    return forget


def gradio_sweep(demo: gr.Blocks) -> Callable[[float | None], None] | None:
    """Gradio's own sweep of the uploads and files ``demo`` served that are older than an age (None: all of them),
    for ``segdemo.imagefiles``' sweep for room and a stopped server: Gradio forgets the names of the files it deletes,
    and keeps those of files deleted behind its back for as long as the server runs. None where this Gradio has no
    such function."""
    try:
        from gradio.route_utils import delete_files_created_by_app
    except ImportError:  # said, as no visitor's upload would be deleted before the hourly sweep by age
        lost("gradio", "gradio.route_utils.delete_files_created_by_app", "segdemo cannot sweep Gradio's uploads for "
             "room, nor delete them when the server stops")
        return None
    if not _lists_served_files(demo):
        return None

    def sweep(age: float | None) -> None:
        for files in demo.temp_file_sets:  # a folder among them ended Gradio's sweep there (os.remove raised)
            files.difference_update([name for name in list(files) if os.path.isdir(name)])
        delete_files_created_by_app(demo, age)

    return sweep


# Soft, with the lines under the controls' names (what a slider is for, why one is greyed out) in a grey that reads:
# its own gray-400 on white is 2.5:1, where text wants 4.5:1; gray-500 is 4.8:1 (dark: gray-400 on gray-800, 5.8:1).
# In the dark, links (the class maps' downloads) in indigo-400 on gray-800, 4.9:1, where its indigo-500 was 4.0:1.
# The Segment and Compare buttons' white words on indigo-600, indigo-700 under the pointer (6.3:1 and 8.0:1): on the
# Soft theme's indigo-500 they were 4.47:1, and on its light hover, indigo-400, 3.0:1 (WCAG 1.4.3 asks 4.5:1).
# In the light theme, the names of the maps and controls in indigo-600 on their indigo-100 tags, 5.1:1 (indigo-500:
# 3.6:1), and on white 6.3:1 (the examples', the tables' and the upload area's words: 4.46:1), and the softer grey
# text (a slider's ends, the footer's links) in gray-500, 4.8:1 on white (gray-400: 2.5:1); axe-core found them
# (tests/test_accessibility.py). The dark theme's were already above 4.5:1.
THEME = gr.themes.Soft(primary_hue="indigo").set(
    block_label_text_color="*primary_600", block_title_text_color="*primary_600",
    body_text_color_subdued="*neutral_500",
    button_primary_background_fill="*primary_600", button_primary_background_fill_dark="*primary_600",
    button_primary_background_fill_hover="*primary_700", button_primary_background_fill_hover_dark="*primary_700",
    block_info_text_color="*neutral_500", block_info_text_color_dark="*neutral_400",
    link_text_color_dark="*secondary_400", link_text_color_visited_dark="*secondary_400",
    link_text_color_active_dark="*secondary_400",
)


def serving_settings() -> str:
    """One line for the operator's log at start: the settings a Space's variables change (README, "Settings") and
    the disk they guard, as this server took them (a variable typed wrong has its own line, and its default here)."""
    return (f"queue: {CONCURRENCY} at a time, {QUEUE_SIZE} waiting; results kept {RESULTS_KEPT_SECONDS / 3600:g} h, "
            f"up to {RESULTS_MAX_BYTES / 1e9:g} GB, {DISK_KEPT_FREE_BYTES / 1e9:g} GB of disk kept free "
            f"({free_disk_bytes() / 1e9:.1f} GB free now, cache {cache_folder()}); memory headroom {HEADROOM_MB:g} MB; "
            f"sessions kept {SESSIONS_REMEMBERED:,}")


class SegdemoBlocks(RefusingBlocks):
    """The app's page, which serves itself as segdemo does however it is launched: ``python app.py``, a notebook's
    ``%run app.py`` or ``demo.launch(share=True)``, ``from app import demo``; or mounted in a FastAPI app of one's
    own with ``demo.mount(app, "/segdemo")``.

    Gradio 6 takes a page's theme, style and script, its upload limit and its server's middleware at launch (or at
    ``gr.mount_gradio_app``), not when the page is built: Gradio's usual line, ``demo.launch()``, served a bare page
    (Gradio's default theme, none of segdemo's script: no pixel read-out, no paste), with no upload limit and an
    unbounded queue.
    """

    _after_serving: Callable[[], None] | None = None

    def launch(self, **kwargs: Any) -> Any:
        """Queue with a bounded size and one inference at a time, then serve; when the server stops, delete what
        visitors left.

        A SIGTERM (a container stopped, ``kill``) ended Python at once: Gradio's shutdown, which deletes every upload
        and file it served, never ran, and the next process knew nothing of them, so visitors' photos, their metadata
        and names with them, stayed on the disk for good (helper-34's audit). Raised as Ctrl-C's KeyboardInterrupt,
        it takes Gradio's own way out; the results it never served (a run cancelled after it started) go with
        segdemo's folder. Where Gradio's launch returns at once (a notebook, ``prevent_thread_lock``), the server
        serves on in a thread, and the same clean-up comes with ``demo.close()`` or when Python ends (a notebook's
        kernel shut down): it had come at once, the sweep by age stopped while the server went on.
        """
        blocks = _launch_blocks(kwargs)
        if not self.is_running:  # launched again while it serves (a notebook's cell run twice): its queue and sweep
            self._start_serving(clean_up_at_exit=not blocks)
        if blocks:
            serve_until_stopped()  # Ctrl-C and SIGTERM, from here KeyboardInterrupt (segdemo.stopping)
        # the sessions whose page state Gradio keeps (about 0.2 MB each): as many as segdemo notes of (segdemo.sessions)
        kwargs.setdefault("state_session_capacity", SESSIONS_REMEMBERED)
        kwargs.setdefault("height", NOTEBOOK_HEIGHT)  # the page's frame in a notebook's output
        served = None
        try:
            served = super().launch(**self._page_settings(kwargs))
        except KeyboardInterrupt:  # a stop while Gradio started the server, before its own catch: no traceback
            log.info("stopped while the server was starting")
            self.close(verbose=False)
            blocks = True
        if blocks:  # the server has stopped
            self._after_serving()
        return served

    def mount(self, app: Any, path: str, **kwargs: Any) -> Any:
        """Serve the page at ``path`` of ``app``, a FastAPI app of one's own (``gr.mount_gradio_app``, whose keyword
        arguments ``kwargs`` are), with the page, limits and queue of ``python app.py``; ``app``, with it mounted.

        The host's server runs it, and stops it: what visitors left goes when the server shuts the app down (its
        lifespan's end, where Gradio's own shutdown runs too). Not at Python's exit: uvicorn, once it has shut down
        on SIGTERM or Ctrl-C, raises the signal again, and Python ends without its exit handlers.
        ``gr.mount_gradio_app(app, demo, path)`` alone served the bare page."""
        self._start_serving(clean_up_at_exit=False)
        self.state_session_capacity = SESSIONS_REMEMBERED
        app = gr.mount_gradio_app(app, self, path, **self._page_settings(kwargs))
        serving = app.router.lifespan_context  # the host's, with Gradio's inside it

        @contextlib.asynccontextmanager
        async def lifespan(host: Any) -> AsyncIterator[Any]:
            async with serving(host) as state:
                yield state
            await asyncio.to_thread(self._after_serving)  # the files' deletion, off the event loop

        app.router.lifespan_context = lifespan
        return app

    def close(self, verbose: bool = True) -> None:
        """Gradio's close, then segdemo's clean-up: what visitors left goes (a notebook's ``demo.close()``)."""
        super().close(verbose)
        if self._after_serving is not None:
            self._after_serving()
            atexit.unregister(self._after_serving)

    def _start_serving(self, clean_up_at_exit: bool) -> None:
        """The queue's bounds, the sweep by age, and the clean-up once the server stops (at Python's exit too)."""
        self.queue(max_size=QUEUE_SIZE, default_concurrency_limit=CONCURRENCY)
        log.info(serving_settings())
        stop_sweeping = threading.Event()
        sweep_while_serving(stop_sweeping)  # results older than a day go, visitors or not
        self._after_serving = _clean_up_after_serving(self, stop_sweeping)
        if clean_up_at_exit:
            atexit.register(self._after_serving)  # a kernel shut down, a script ended: what visitors left goes

    def _page_settings(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        """``kwargs`` with segdemo's page and server settings where they name none: what launch and mount share."""
        settings = {
            "theme": THEME,
            "css": CSS + "\n" + getattr(self, "segdemo_css", ""),
            "js": page_script(),
            "footer_links": ["api", "gradio"],
            # the tab's icon, a bookmark's, the Space installed as an app's: FCN's class map of a bundled frame
            # (segdemo/link_preview.py makes it), where Gradio's logo was; none where docs/ is not (a wheel)
            "favicon_path": ICON if ICON.is_file() else None,
            "max_file_size": MAX_UPLOAD,
            # Gradio's own checks before a handler runs (too few inputs over plain HTTP, a path no visitor uploaded)
            # answer in words, never with a trace; without it they all read "the upstream Gradio app has raised an
            # exception". The handlers' own failures are sentences already (segdemo.failures).
            "show_error": True,
            # the page gzipped: 360 kB to 48 kB (first-visit.json); inside it, the link preview made the app's own
            "app_kwargs": {"middleware": compression_middleware() + [link_preview_middleware(self.title)]},
            "enable_monitoring": False,  # its key, printed to the log by anyone's GET /monitoring
            "mcp_server": serve_mcp(),  # segment and compare as tools for AI agents, at /gradio_api/mcp/
            # The page rendered in the browser, as every test and figure has it. A Space sets GRADIO_SSR_MODE=true,
            # which put Gradio's Node server in front of Python's: the page it rendered kept Gradio's link preview
            # ("Gradio", "Click to try out the app!", its banner), answered /link-preview.jpg with the page itself
            # and came without gzip (segdemo's middleware is Python's). launch(ssr_mode=True) still asks for it.
            "ssr_mode": False,
        }
        return {**settings, **kwargs}


def _launch_blocks(kwargs: dict[str, Any]) -> bool:
    """Whether Gradio's launch with ``kwargs`` keeps the thread until the server stops (Gradio 6.31's rule): not at
    an interactive prompt, nor with ``prevent_thread_lock``, unless in debug mode."""
    debug = kwargs.get("debug") or os.environ.get("GRADIO_DEBUG", "0") == "1"
    return bool(debug or (not kwargs.get("prevent_thread_lock") and not interactive()))


def _clean_up_after_serving(demo: gr.Blocks, stop_sweeping: threading.Event) -> Callable[[], None]:
    """Once, whichever asks first (the end of a launch, ``close``, Python's exit): stop the sweep by age, and
    delete the uploads Gradio served and segdemo's results."""
    done = threading.Lock()

    def clean_up() -> None:
        if not done.acquire(blocking=False):
            return
        stop_sweeping.set()
        # Gradio's own shutdown deletes its uploads too, but in its server's thread, which it waits for 5 s at most
        # (a client's open stream holds it longer): the process then ended first, the uploads left behind
        try:
            if (sweep := gradio_sweep(demo)) is not None:
                sweep(None)
        finally:  # whatever Gradio's sweep met, segdemo's results go too
            delete_results_written_here()

    return clean_up


