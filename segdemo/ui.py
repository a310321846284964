"""The Gradio app: Segment, Compare and Models tabs, with /segment and /compare API endpoints.

The handlers (``SegmentationService.segment`` / ``.compare``) are plain
functions of a file path and a few settings, so the UI, gradio_client and
the tests all go through the same code.
"""

from __future__ import annotations

import json
import logging
import math
import os
import signal
import threading
import time
import zipfile
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np
from PIL import Image

from . import captions, visualize
from .analysis import (
    bundled_example,
    compare_predictions,
    error_figures,
    example_labels,
    prediction_figures,
    truth_at,
)
from .checkpoints import measured_frames
from .classes import CAMVID_CLASSES, CAMVID_PALETTE, VOID_INDEX, class_palette
from .compression import compression_middleware
from .failures import disk_full_explained, failures_explained
from .gpu import duration_for, gpu_task
from .imagefiles import (
    RESULTS_KEPT_SECONDS,
    SWEEP_EVERY_SECONDS,
    ImageWriter,
    delete_results,
    delete_results_written_here,
    forget_files_with,
    shown_picture,
    write_copy_of,
    write_images,
)
from .images import BROWSER_FORMATS, ImageError, load_image, read_header, within_limits
from .inference import DEFAULT_SAMPLES, MAX_OUTPUT_SIDE, MAX_SAMPLES, Prediction, predict
from .inputs import (
    NO_PICTURE,
    ModelDropdown,
    NumberBox,
    NumberSlider,
    RefusingBlocks,
    UploadImage,
    described,
    picture_given,
    refused,
)
from .memory import release_free_memory
from .models import is_bayesian
from .page_widths import SESSIONS_REMEMBERED, WINDOW_WIDTH_JS, PageWidths
from .pixel_readout import class_probability, kept_truth, read_pixel, save_grid
from .settings import number_setting
from .trustplots import current_plots, page_size
from .worker import request_thread
from .zoo import DEFAULT_FCN, DEFAULT_MODEL, DEFAULT_SEGNET, LoadedModel

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"
DOCS_DIR = Path(__file__).resolve().parent.parent / "docs"  # the README's plots, reused by the Models tab when current
TRUST_PLOTS_INTRO = (
    "### Can you trust the confidence map?\n\n"
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
# The upload area says what to drop and what is read, before a visitor tries (Gradio's own: "Drop Image Here")
UPLOAD_PLACEHOLDER = (
    "# Drop a street picture here\n- or -\nClick to upload\nPNG, JPEG, WebP, HEIC, AVIF, BMP, GIF or TIFF, up to 50\u00a0MB"
)

RESULT = "segdemo-result"  # a tab's result that is not a map (a table, a text): greyed out with the maps when stale
CSS = """
/* The app fills the page's width (Blocks(fill_width=True)) up to Gradio's widest step: Gradio's steps left a
   laptop's 1000 px window 704 px of app, and a blog's 760 px iframe 576, so the maps came out a third smaller. */
.gradio-container .app.fill_width {max-width:1920px}
/* the samples and seed, greyed out while the model (FCN) is not sampled: Gradio's disabled look is faint.
   Their controls and names alone: the line under the name says why, and greyed with them it was unreadable (1.6:1). */
.segdemo-sampling:has(input:disabled) :is([data-testid=block-info], .tab-like-container, .slider_input_container,
  .container > input) {opacity:0.45}
.segdemo-legend {display:flex; flex-wrap:wrap; gap:6px 14px; font-size:0.92em}
/* a clicked pixel's readout: Gradio's tables break anywhere, "Paveme/nt" on a phone; here only at spaces */
.segdemo-pixel td, .segdemo-pixel th {word-break:normal; overflow-wrap:normal; padding:4px 8px}
/* and so do the class tables' names ("SignSymbo/l", "Pedestria/n" at 360 px): whole words, wrapped at spaces, in
   a first column wide enough for the longest ("SignSymbol", "Pedestrian": 10 monospace letters and the padding).
   A word wider than its cell still breaks rather than being cut: a visitor who spaces letters out (WCAG 1.4.12)
   lost "SignSymbo|l" and "Mean confidenc|e" at 320 px. */
.segdemo-words .virtual-row *, .segdemo-words th, .segdemo-words th * {word-break:normal; overflow-wrap:break-word}
/* The Model dropdown's whole label, clear of its arrow: Gradio's text ran under the arrow (768 px) and was cut off
   ("Bayesian SegNet (lite, MC dropou", 360 px); where its block is narrow, smaller (segdemo/app_width.css). The
   rules that follow the app's width are there: Gradio drops a @container rule from a Space's CSS. */
#segment-model input[role=combobox] {padding-right:26px}
/* The tab shown, named in indigo-600 (6.3:1 on white), indigo-400 in the dark (6.4:1): Gradio's accent, indigo-500,
   is 4.47:1 on white and 4.3:1 on the dark page, under the 4.5:1 text wants. (The accent has no dark value of its
   own to set in the theme.) */
.tab-container button.selected {color:var(--primary-600)}
.dark .tab-container button.selected {color:var(--primary-400)}
/* A range slider (opacity, samples) focused from the keyboard shows it: Gradio's has no outline and no shadow. */
input[type=range]:focus-visible {outline:2px solid var(--color-accent); outline-offset:3px;
  border-radius:4px}
/* and so does a map, whose pixels the arrow keys read (segdemo/pixel_readout.js): the browser's thin ring was lost
   on the maps' own colours. Inside the map's box, over the picture: its container clips anything outside it. */
.segdemo-map button:focus-visible {outline:3px solid var(--color-accent); outline-offset:-3px}
/* and so do the dropdowns and the number boxes (opacity, samples, seed): Gradio's showed none, or a 1 px shadow */
.wrap:has(> .wrap-inner input[role=combobox]:focus-visible), input[type=number]:focus-visible {
  outline:2px solid var(--color-accent); outline-offset:2px}
/* and so does the divider between the picture and its overlay, which the arrow keys move (segdemo/divider_keys.js) */
.segdemo-slider [data-testid=slider]:focus-visible {outline:3px solid var(--color-accent); outline-offset:2px}
/* the ring segdemo/pixel_readout.js puts at the pixel read, on every map of the tab: white and black, to show on any
   colour; clicks go through it to the map */
.segdemo-marker {position:absolute; width:15px; height:15px; box-sizing:border-box; border-radius:50%;
  border:2px solid #fff; box-shadow:0 0 0 1px #000, inset 0 0 0 1px #000; transform:translate(-50%, -50%);
  pointer-events:none; z-index:1}
/* A pixel read out of sight of its readout, docked at the foot of the window, or its top where the map clicked is
   in the lower half (segdemo/readout_dock.js); under the app, where the app is narrower than the window (a web
   component in a blog's column: readout_dock.js sets the variables); at its right where it is wide (app_width.css) */
.segdemo-readout-dock {position:fixed; left:calc(var(--segdemo-app-left, 0px) + 8px);
  right:calc(var(--segdemo-app-right, 0px) + 8px); bottom:8px; z-index:100; max-height:40vh; overflow:auto;
  padding:8px 36px 8px 12px; background:var(--background-fill-primary); color:var(--body-text-color);
  border:1px solid var(--border-color-primary); border-radius:8px; box-shadow:0 4px 18px rgba(0,0,0,0.3);
  font-size:var(--text-sm)}
.segdemo-readout-dock[hidden] {display:none}
/* over a map in full screen (Gradio's, at z-index 1000), whose tap it reads: behind it, only the ring showed */
.contain:has(.fullscreen) .segdemo-readout-dock {z-index:1001 !important}
/* the reading at a glance: the note on what its rows mean stays in the readout (on a phone, a fifth of the dock) */
.segdemo-readout-dock-body table ~ p {display:none}
.segdemo-readout-dock.segdemo-readout-dock-top {bottom:auto; top:8px}
.segdemo-readout-dock td, .segdemo-readout-dock th {padding:2px 8px; text-align:left; word-break:normal;
  overflow-wrap:normal}
.segdemo-readout-dock p {margin:4px 0}
.segdemo-readout-dock-close {position:absolute; top:2px; right:4px; width:32px; height:32px; font-size:24px !important;
  line-height:1; background:none; border:none; color:inherit; cursor:pointer}
/* A tab's results while the picture or settings shown are not those they were made from (stale_results.js): greyed
   out, under a line that says so. The class is on the Tabs element, which stays while each tab's contents are drawn
   again on every visit; each tab's own results are found by its picture. */
.block.segdemo-stale-note {display:none}
.segdemo-stale-note p {margin:0; padding:8px 12px; border-radius:8px; border:1px solid var(--color-accent);
  background:var(--color-accent-soft); color:var(--body-text-color)}
.segdemo-stale-segment #segment-stale-note, .segdemo-stale-compare #compare-stale-note {display:block}
.segdemo-stale-note :is(.segdemo-stale-gone, .segdemo-stale-settings),
  :is(.segdemo-cleared-segment, .segdemo-resettled-segment) #segment-stale-note .segdemo-stale-new,
  :is(.segdemo-cleared-compare, .segdemo-resettled-compare) #compare-stale-note .segdemo-stale-new {display:none}
.segdemo-cleared-segment #segment-stale-note .segdemo-stale-gone,
  .segdemo-cleared-compare #compare-stale-note .segdemo-stale-gone,
  .segdemo-resettled-segment #segment-stale-note .segdemo-stale-settings,
  .segdemo-resettled-compare #compare-stale-note .segdemo-stale-settings {display:block}
.segdemo-stale-segment .tabitem:has(#segment-picture) :is(.segdemo-result, .segdemo-map, .segdemo-slider,
  .segdemo-class-map, .segdemo-pixel), .segdemo-stale-compare .tabitem:has(#compare-picture) :is(.segdemo-result,
  .segdemo-map, .segdemo-class-map, .segdemo-pixel),
  .segdemo-readout-dock-stale .segdemo-readout-dock-body {opacity:0.5; filter:grayscale(0.6); transition:opacity 0.2s}
.segdemo-readout-dock-stale::before {content:"Of the previous picture's results"; display:block; font-weight:600}
.segdemo-readout-dock-resettled::before {content:"Of the results of other settings"}
/* what only a screen reader reads (segdemo/stale_results.js says there when a tab's results go stale) */
.segdemo-spoken {position:absolute; width:1px; height:1px; overflow:hidden; clip-path:inset(50%); white-space:nowrap}
.segdemo-legend-item {display:inline-flex; align-items:center; gap:6px}
/* the swatch's edge follows the text colour, so dark classes (Car, Pedestrian) stand out in dark mode too */
.segdemo-swatch {width:14px; height:14px; border-radius:3px; display:inline-block;
  border:1px solid color-mix(in srgb, currentColor 45%, transparent)}
/* A map's label sits above the picture, not on it: floated, a label wider than a narrow map (a phone, a blog's
   iframe) runs under the buttons and over the colour bar, or wraps onto the picture ("Picture | overlay (dra" under
   the slider's buttons at 320 px). */
.segdemo-map label[data-testid=block-label], .segdemo-slider label[data-testid=block-label] {position:static;
  margin:0 0 6px 0; white-space:normal}
/* and a map's buttons (full screen, download) sit in that row, right of its label, not on the picture: there they
   hid the top of its key, and on a phone the right eighth of a wide picture's map (326x58 for a 1600x300 picture),
   whose pixels a tap could not read. The label row is 29 px and its margin 6 above the picture's box. */
.segdemo-map .image-container > .icon-button-wrapper {top:-35px}
.segdemo-map label[data-testid=block-label] {max-width:calc(100% - 56px)}
/* the overlay's three too (undo the zoom, full screen, download): on a phone they covered the overlay's top-right
   corner, 71x23 px of it */
.segdemo-slider .image-container > .icon-button-wrapper {top:-35px}
.segdemo-slider label[data-testid=block-label] {max-width:calc(100% - 80px)}
/* (Where the Segment tab's maps wrap, two to a row, the error map first, their captions following: app_width.css.) */
/* A map is never taller than most of the window, so that a row of maps (FCN's beside SegNet's) fits in it with its
   labels: a tall picture's were drawn as wide as their blocks, 1,116 px high for a 600x1600 picture in a 900 px
   window. Scaled down whole, the map keeps its shape and its box is the picture's own, so a click reads the pixel
   under it (Gradio's click finds the pixel in the box as drawn). In pixels too: in a frame that grows to fit its
   page (iframe-resizer), a share of the window alone would grow with the frame. */
.segdemo-map:not(.fullscreen) img {max-height:min(80vh, 960px)}
/* and a small picture's maps drawn at a whole multiple of their size (segdemo/small_maps.js sets it), each pixel a
   crisp square */
.segdemo-map img.segdemo-enlarged {object-fit:contain; image-rendering:pixelated; max-width:none}
/* The class maps' downloads: the label above as a map's, and no tall empty box before there is a result. */
.segdemo-class-map label[data-testid=block-label] {position:static; margin:0 0 6px 0; white-space:normal}
.segdemo-class-map .empty {min-height:var(--size-12); height:var(--size-12)}
/* and the whole file name, wrapped where it does not fit: Gradio keeps 8rem for the size and cuts the name to an
   ellipsis, which left "c…" or nothing of "class_map_bayesian_segnet_lite" in a block 240-320 px wide. Its two parts
   run as one line of text; font-size 0 hides the space between them in Gradio's markup (the table's text is 14 px). */
.segdemo-class-map .file-preview .filename {display:block; overflow-wrap:anywhere; font-size:0}
.segdemo-class-map .file-preview .filename > span {white-space:normal; overflow:visible; font-size:var(--text-md)}
.segdemo-class-map .file-preview .download {min-width:5.5rem; vertical-align:top}
/* The Compare tab's pictures all have one geometry (an overlay's class key and the disagreement map's key take the
   place of a colour bar), so they are drawn at one scale at every width of the page. They sit on the left of their
   blocks, as a picture narrower than its block would otherwise be centred. Below 560 px of app (a phone, a narrow
   column) the maps go one to a row, FCN's above SegNet's: two to a row, a map was 190 px wide at 460 px, its class
   key's names a few pixels high and Gradio's buttons over a third of it (app_width.css). */
#compare-maps .image-container > button {justify-content:flex-start}
/* The figures table's rows reach its right edge: Gradio sizes "What it shows" at 50% of the table (its other
   columns are in px, so that the readings never split), which left a laptop's rows 659 px long in a 790 px table.
   The last column takes what is left, in the header (a table: fixed layout, so that the other columns keep their
   widths) and in the rows (flex); where the table is narrower than its columns (a phone), it goes under each row's
   readings (app_width.css). */
#compare-figures .header-table, #compare-figures .virtual-body {min-width:100% !important}
#compare-figures .header-table {table-layout:fixed !important}
#compare-figures .header-table th:last-child {width:auto !important; max-width:none !important}
#compare-figures .virtual-row > :last-child {flex-grow:1 !important}
/* On the narrowest phones (320 px), Gradio's page margins leave the tab bar 256 px for its three tabs' 282: Compare
   and Models went into a "..." menu a visitor may never open. A little less padding around each name fits all three
   (246 px). (The margins themselves are outside the reach of a Space's CSS, which Gradio scopes to the page.) By
   the window's width, in the Space's CSS: Gradio sorts the tabs into the menu as the page is first laid out, before
   the rules that follow the app's width are added. */
@media (max-width: 359px) {.tab-container button {padding-inline:10px !important}}
/* The Models tab's plots, each drawn for a light and a dark page: Gradio puts .dark on the body in its dark theme
   (the browser's choice, or ?__theme=dark), and moves ".dark" in front of its own prefix of these rules, so they
   reach it. Side by side or stacked by the app's width (app_width.css), whose rule shows the dark figure: a rule of
   its theme alone would override whatever the width. */
.trust-plot-dark {display:none !important}
.dark .trust-plot-light {display:none !important}
/* centred, as they were when they filled the column (their blocks are as wide as the figures now) */
.trust-plot {margin-inline:auto}
/* A long name in code type (a checkpoint's folder, a line of Python) breaks where it must on a phone: whole, it ran
   past its block, which scrolled sideways (the Models tab's weights folder at 320 px). */
.prose code {overflow-wrap:anywhere}
/* Forced colours (Windows' high contrast): the browser paints every ground in the system's colours. The legend's
   swatches keep their class colours, the overlay's only key on the Segment tab (they became empty white boxes); the
   range sliders are drawn by the browser, in system colours (Gradio's own, drawn by its CSS, lost their track and
   thumb: only their ends' numbers showed); the tab shown is underlined (Gradio's accent line became the page's
   ground); the buttons and dropdowns keep an edge (they read as plain text). */
@media (forced-colors: active) {
  .segdemo-swatch {forced-color-adjust:none}
  input[type=range] {appearance:auto !important; background:none !important}
  .tab-container button.selected {text-decoration:underline 3px !important; text-underline-offset:6px}
  button.primary, button.secondary, .wrap:has(> .wrap-inner input[role=combobox]) {
    border:1px solid ButtonText !important}
}
/* A visitor who asks for less motion gets none from Gradio's tab line or the overlay's divider either. */
@media (prefers-reduced-motion: reduce) {
  .tab-container button.selected::after {animation:none !important}
  .segdemo-slider * {transition:none !important}
}
"""
SAMPLES_INFO = "Bayesian SegNet only (FCN is run once, as trained); 1: dropout off"
C_SAMPLES_INFO = "SegNet's dropout samples; 1: dropout off"
# The samples' label, its number and reset button keep one line: where the column has no room for the seed beside
# them (a laptop's half-width window, a tablet), the seed goes under them instead of squeezing them into a label of
# five lines; a seed box is as wide as its label and a few digits
SAMPLES_MIN_WIDTH = 270
SEED_MIN_WIDTH = 110
MAX_SEED = 2**32 - 1  # the usual range of a seed (numpy's), which a browser's number holds exactly
SEED_RANGE = f"The seed must be a whole number from 0 to {MAX_SEED}."
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
RESULT_GONE = ("This result is no longer kept on the server: press the button again to run it at this opacity and in "
               "these colours.")
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
    "for both networks and, on the bundled frames, against their labels; figures closer than SegNet's Monte-Carlo "
    "seed can move them are \"about the same\". Both run as served: FCN averaged over three scales, SegNet (the "
    "Bayesian SegNet) over its samples, spread over two scales and the mirror image; more samples raise its entropy."
)
# What the shipped networks saw of the bundled examples (tests/test_shipped_weights.py keeps it true): flattering
# figures, a visitor should know, where "never trained on" let the example frames pass for an unseen street
EXAMPLES_SEEN = "not trained on, but their street was"
CLASS_CHOICES = [("none", "")] + [(name, name) for name in CAMVID_CLASSES]
CLASS_CHOICE_LABEL = "Probability of one class everywhere"
CLASS_CHOICE_INFO = "Where the network sees it, from the result shown (no network runs); grey: under 1%."
CLASS_SHOWN_FROM = 0.01  # a class's probability map shows the greyed picture where the class is less likely
PIXELS_GONE = "This result is no longer kept on the server: press the button again to read its pixels."
CLASSES_GONE = "This result is no longer kept on the server: press the button again to draw its class probabilities."
CLASSES_BUSY = "The server is busy drawing class probabilities: choose the class again in a few seconds."
CLASS_MAPS_WAIT_SECONDS = 30  # how long a class's drawing waits for the one before it
RESULT_FORGOTTEN = "forgotten"  # a session's State once its visitor was told RESULT_GONE: the slider's next moves stay quiet
MAP_BUTTONS = ["download", "fullscreen"]  # no share button: it would sit on the colour bar too
COMPARE_TABLE_MIN_WIDTH = 560  # the Compare tab's figures table shows whole from 528 px
MAP_MIN_WIDTH = 280  # narrower, a map shows too little to compare; the Segment tab's maps then wrap, two to a row
# A run asked for while one of its kind is going waits for it, then runs on what the page shows by then: Gradio's
# default ("once") dropped it, and the page ended on the results of another picture or model than the one chosen.
LAST_REQUEST_WINS = "always_last"


COMPARE_HEADERS = ["Figure", "FCN", "SegNet", "What it shows"]
# what each model's pictures are named as downloaded (``download_name``): class_map_fcn8s_lite.png, ... (with a
# bundled frame's name first, and a Bayesian result's samples and seed last)
DOWNLOADS = ("overlay", "confidence", "errors", "boundary_uncertainty", "mutual_information", "class_map")
CLASS_TABLE_HEADERS = ["Class", "Pixels %", "Mean confidence %"]
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


def download_name(kind: str, model_name: str, frame: str = "", sampling: str = "") -> str:
    """A result picture's file name, which a visitor's download keeps: what it shows and which model drew it, so that
    two models' downloads (confidence.webp, twice) do not overwrite each other in a Downloads folder; and, so that
    a lecturer's downloads of several frames and seeds tell themselves apart, the bundled frame it is of (never an
    upload's file name, which no result carries) and the Monte-Carlo samples and seed that drew it
    (``f03570_overlay_bayesian_segnet_lite_T8_seed0``: T, the papers' count of samples)."""
    return "_".join(part for part in (frame, kind, model_name, sampling) if part)


def sampled_as(prediction: Prediction, seed: int) -> str:
    """How a result's dropout samples were drawn, for its downloads' names: "" for a single pass (FCN, samples 1)."""
    return f"T{prediction.samples}_seed{seed}" if prediction.samples > 1 else ""


def shown_as(headers: list[str], rows: list[list[Any]], shown: list[list[Any]]) -> dict[str, Any]:
    """A Dataframe's value whose cells show ``shown`` while its data, which the API returns, stay ``rows``."""
    return {"headers": headers, "data": rows,
            "metadata": {"display_value": shown, "styling": [[""] * len(row) for row in rows]}}


def figures_table(rows: list[list[str]]) -> dict[str, Any]:
    """The Compare tab's figures, each name shown with a place to break after its slashes.

    A slash gives the browser no place to break a line, so in the 120-px
    Figure column "Pedestrian/Bicyclist" broke inside a word ("Pedestrian/B"
    above "icyclist"). A zero-width space after each slash goes into the
    shown text alone: the API's names stay as they are.
    """
    return shown_as(COMPARE_HEADERS, rows, [[row[0].replace("/", "/\u200b"), *row[1:]] for row in rows])


def decimals_shown(headers: list[str], rows: list[list[Any]], decimals: list[int | None]) -> dict[str, Any]:
    """A table whose numbers show with a fixed number of decimals ("98.0" and "1.80", not "98" and "1.8").

    A Dataframe drops a number's trailing zeros, so a column read "98" above
    "93.7". Only the shown text is formatted: the API's data keep their
    numbers. ``decimals`` has one entry per column, None for a column shown
    as it is; a missing number shows as a dash, and one above 0 too small for
    its decimals as under the last one ("<0.01", where "0.00" read as none).
    """

    def shown(value: Any, places: int | None) -> Any:
        if places is None:
            return value
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "—"
        if 0 < value < 0.5 * 10**-places:
            return f"<{10**-places:.{places}f}"
        return f"{value:.{places}f}"

    return shown_as(headers, rows, [[shown(value, places) for value, places in zip(row, decimals)] for row in rows])


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


def page_script() -> str:
    """What the page runs once loaded (``launch(js=...)``, one function): the pixel readout's rings and overlay clicks
    (segdemo/pixel_readout.js), the alt texts Gradio leaves empty and no Tab stop that does nothing
    (segdemo/alt_texts.js), result maps loaded as soon as they arrive rather than lazily (segdemo/eager_pictures.js),
    a reading docked at the window's foot where its readout is out of sight (segdemo/readout_dock.js), results
    greyed out while the picture shown is another, and what a screen reader is told of them and of Gradio's messages
    (segdemo/stale_results.js), a small picture's maps drawn enlarged (segdemo/small_maps.js) and the overlay's
    divider moved from the keyboard (segdemo/divider_keys.js); before them, the layout's rules that follow the
    app's own width (segdemo/app_width.css)."""
    here = Path(__file__).resolve().parent
    readout, alts, eager, dock, stale, small, divider = (
        (here / name).read_text(encoding="utf-8").strip() for name in
        ("pixel_readout.js", "alt_texts.js", "eager_pictures.js", "readout_dock.js", "stale_results.js",
         "small_maps.js", "divider_keys.js"))
    by_width = json.dumps((here / "app_width.css").read_text(encoding="utf-8"))
    return (f"() => {{\n({ADD_STYLE})({by_width});\n({readout})();\n({alts})({json.dumps(PAGE_ALTS)});\n"
            f"({eager})();\n({dock})();\n({stale})();\n({small})();\n({divider})();\n}}")


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


@dataclass(frozen=True)
class ShownOverlays:
    """Where a visitor's last result keeps what its overlays were blended from; the session holds it (``gr.State``).

    Moving the opacity slider blends them again at once, with no network run
    (and no GPU asked for on ZeroGPU), where a visitor would otherwise press
    Segment and wait for the networks to give the same answer; so does the
    choice of colour-blind-safe colours. Only file names are held, and the
    legend's few shares: the picture and the layers lie beside the result's
    other pictures in Gradio's cache, so a session costs the server next to
    no memory (a `curl` call is a session of its own, and Gradio keeps up to
    10,000). Once its visitor has been told the result is gone, the State
    holds ``RESULT_FORGOTTEN`` instead, until the next result.
    """

    picture_file: str  # the picture's file (the Segment tab shows it beside the overlay)
    layer_files: tuple[str, ...]  # one OverlayLayer (.npz) per overlay shown
    blends: tuple[str, ...] = ()  # the folders of the last two re-blends (the one shown, the one before); older go
    readouts: tuple[tuple[str, str], ...] = ()  # (model name, its working grid's file) per network: pixel_readout
    opacity: float | None = None  # what the overlays shown were blended at
    colour_blind_safe: bool = False  # whether they, their keys and the legend are in the colour-blind-safe colours
    legend: tuple[tuple[int, float], ...] = ()  # the Segment tab's legend: each class found and its share
    download_names: tuple[str, ...] = ()  # per network, its pictures' names with "{kind}" for what each shows
    frame: str = ""  # the bundled frame the picture is (its ground truth's name starts with it), else ""


@dataclass(frozen=True)
class Redrawn:
    """What a re-blend drew: the overlays' files, and where the class colours changed, the Segment tab's legend and
    the Compare tab's ground truth (None: unchanged, or none shown)."""

    overlays: list[str]
    legend: str | None = None
    truth: str | None = None


class MapClick(gr.EventData):
    """A click on a map, as ``read_pixel`` reads it: ``index`` is the pixel ([x, y]), or None where the event's data
    gives none. Gradio's ``gr.SelectData`` failed on event data without an "index" and a "value", before the handler
    ran, and a raw HTTP call of the page's event with none got "'NoneType' object is not subscriptable"."""

    def __init__(self, target: Any, data: Any) -> None:
        super().__init__(target, data)
        self.index = data.get("index") if isinstance(data, dict) else None


class SegmentationService:
    """Holds the loaded models and turns requests into pictures and figures."""

    def __init__(self, models: dict[str, LoadedModel]) -> None:
        self.models = models
        self._newest: OrderedDict[str, str] = OrderedDict()  # session -> the picture file of its newest result
        self._newest_lock = threading.Lock()
        self.page_widths = PageWidths()  # each session's window width, as its page sent it
        self._class_map_slot = threading.BoundedSemaphore(1)  # class probability maps drawn one at a time
        self._class_map_folders: OrderedDict[str, tuple[str, ...]] = OrderedDict()  # a session's tab -> its last two

    def note_page_width(self, window_pixels: Any, request: gr.Request | None = None) -> None:
        """The width of a visitor's window in device pixels, sent by the page once loaded: their results are drawn
        no wider than it shows them (``segdemo.page_widths``)."""
        self.page_widths.note(getattr(request, "session_hash", None), window_pixels)

    # -- which result a session shows last -------------------------------
    def note_shown(self, request: gr.Request | None, outputs: Any) -> Any:
        """Remember the result a Segment or Compare run gives its session (its State, the outputs' last); the
        outputs, unchanged. Re-blends run beside a run, on the State they read when they began: one that ends after
        the run's result would put the older result back on the page, and in the State (``_newer_shown``)."""
        session = getattr(request, "session_hash", None)
        shown = outputs[-1] if isinstance(outputs, (tuple, list)) and outputs else None
        if session and isinstance(shown, ShownOverlays):
            with self._newest_lock:
                self._newest[session] = shown.picture_file
                self._newest.move_to_end(session)
                while len(self._newest) > SESSIONS_REMEMBERED:
                    self._newest.popitem(last=False)
        return outputs

    def _newer_shown(self, request: gr.Request | None, shown: ShownOverlays) -> bool:
        """Whether the session has been given a newer result than ``shown`` since the event that read it began."""
        session = getattr(request, "session_hash", None)
        with self._newest_lock:
            newest = self._newest.get(session) if session else None
        return newest is not None and newest != shown.picture_file

    # -- helpers -------------------------------------------------------
    def labels(self) -> list[tuple[str, str]]:
        return [(m.entry.label, name) for name, m in self.models.items()]

    def _model(self, name: str) -> LoadedModel:
        if name not in self.models:
            raise refused(f"Unknown model '{name}'. Choose one of: {', '.join(self.models)}.")
        model = self.models[name]
        if not model.ready:
            raise refused(f"{model.entry.label} is not available right now: {model.error}")
        return model

    def _default(self, family: str) -> str:
        preferred = DEFAULT_SEGNET if family == "SegNet" else DEFAULT_FCN
        candidates = [preferred] + [n for n, m in self.models.items() if m.entry.family == family]
        for name in candidates:
            if name in self.models and self.models[name].ready:
                return name
        raise refused(f"No {family} model is available right now.")

    @staticmethod
    def _load(image: Any):
        if image is None:
            raise refused(NO_PICTURE)
        try:
            return load_image(image, max_side=MAX_OUTPUT_SIDE)  # no result is drawn larger
        except ImageError as error:
            raise refused(str(error)) from None

    @staticmethod
    def _samples(samples: Any) -> int:
        try:
            value = int(samples)
        except (TypeError, ValueError, OverflowError):  # OverflowError: infinity
            raise refused("The number of Monte-Carlo samples must be a whole number.") from None
        if not 1 <= value <= MAX_SAMPLES:
            raise refused(f"Monte-Carlo samples must be between 1 and {MAX_SAMPLES}.")
        return value

    @staticmethod
    def _opacity(opacity: Any) -> float:
        try:
            value = float(opacity)
        except (TypeError, ValueError):
            raise refused("The overlay opacity must be a number between 0 and 1.") from None
        return min(max(value, 0.0), 1.0) if math.isfinite(value) else 0.55

    @staticmethod
    def _seed(seed: Any) -> int:
        try:
            value = int(seed) if seed is not None and not (isinstance(seed, float) and math.isnan(seed)) else 0
        except (TypeError, ValueError, OverflowError):  # OverflowError: infinity
            raise refused(SEED_RANGE) from None
        if not 0 <= value <= MAX_SEED:  # torch takes no seed past 64 bits, and would fail half-way through the request
            raise refused(SEED_RANGE)
        return value

    def _predict(self, loaded, model: LoadedModel, samples: int, seed: int, max_width: int) -> Prediction:
        return predict(loaded.image, model.checkpoint, samples=samples, seed=seed, notes=loaded.notes,
                       upload_size=loaded.original_size, max_output_width=max_width)

    def _passes(self, model_name: Any, samples: Any) -> int:
        """Network passes a request will make: its Monte-Carlo samples for a Bayesian model, else 1."""
        try:
            samples = min(max(int(samples), 1), MAX_SAMPLES)
        except (TypeError, ValueError, OverflowError):
            samples = 1  # the handler refuses it at once
        model = self.models.get(model_name) if isinstance(model_name, str) else None
        if model is not None and model.ready and not is_bayesian(model.checkpoint.model):
            return 1
        return samples

    def samples_apply(self, model_name: Any) -> bool:
        """Whether Monte-Carlo samples and their seed change this model's answer (a Bayesian model's dropout)."""
        model = self.models.get(model_name) if isinstance(model_name, str) else None
        return model is not None and model.ready and is_bayesian(model.checkpoint.model)

    # -- GPU time each endpoint asks ZeroGPU for (same arguments as the endpoint; segdemo.gpu) --
    def segment_gpu_seconds(self, image: Any, model_name: Any, opacity: Any, samples: Any, seed: Any,
                            max_width: Any = MAX_OUTPUT_SIDE) -> int:
        return duration_for(self._passes(model_name, samples))

    def compare_gpu_seconds(self, image: Any, opacity: Any, samples: Any, seed: Any,
                            max_width: Any = MAX_OUTPUT_SIDE) -> int:
        return duration_for(1 + self._passes(DEFAULT_SEGNET, samples))  # FCN once, the Bayesian SegNet T times

    # -- endpoints -----------------------------------------------------
    def segment(self, image: Any, model_name: str, opacity: float, samples: Any, seed: Any,
                max_width: int = MAX_OUTPUT_SIDE):
        """Overlay, confidence, boundary uncertainty, mutual information, class table, legend, info, figures,
        then the error map (bundled CamVid frames only), the caption saying how the confidence is calibrated, the
        class map (a PNG of class indices) and, for the session alone (gradio_client skips it), what the overlay
        was blended from. ``max_width``: the widest the results are drawn (the page's, ``segdemo.page_widths``)."""
        with failures_explained():
            return request_thread.run(self._segment, image, model_name, opacity, samples, seed, max_width)

    def compare(self, image: Any, opacity: float, samples: Any, seed: Any, max_width: int = MAX_OUTPUT_SIDE):
        """FCN and SegNet side by side, where they disagree, figures for the seed's claims, both error maps and the
        ground truth (bundled CamVid frames only), both class maps (PNGs of class indices), both confidence maps
        (last, so that the earlier outputs keep their places), then, for the session alone, what the overlays were
        blended from. ``max_width`` as for ``segment``."""
        with failures_explained():
            return request_thread.run(self._compare, image, opacity, samples, seed, max_width)

    def _segment(self, image: Any, model_name: str, opacity: float, samples: Any, seed: Any, max_width: int):
        started = time.perf_counter()
        model = self._model(model_name)
        loaded = self._load(image)
        samples, seed, opacity = self._samples(samples), self._seed(seed), self._opacity(opacity)
        prediction = self._predict(loaded, model, samples, seed, max_width)
        example = bundled_example(loaded.image)  # labels known: a bundled CamVid frame
        truth = truth_at(example_labels(example, loaded.image.size) if example else None, prediction)
        frame = example.frame if example else ""
        config = model.checkpoint.config
        names, palette = config["class_names"], config["palette"]
        files = ImageWriter()  # each picture is encoded while the next one is drawn
        files.add_file("pixels", save_grid, files.folder / "pixels.npz", prediction, truth)  # what a click reads
        picture, encoded = shown_picture(prediction.image)  # lossy: the visitor's photo; re-blends read it back
        files.add_encoded("picture", encoded)
        # no key in the picture (the legend beside it is its key); the names kept to draw the legend in other colours
        layer = visualize.overlay_layer(prediction.labels, palette, class_names=names, keyed=False)
        # the names downloads keep
        name_of = download_name("{kind}", model.entry.name, frame, sampled_as(prediction, seed))
        named = {kind: name_of.format(kind=kind) for kind in DOWNLOADS}
        files.add(named["overlay"], visualize.blend(picture, layer, opacity))
        files.add(named["class_map"], visualize.class_map(layer.labels, palette))
        confidence_map = visualize.heatmap(prediction.confidence, 0.0, 1.0, "viridis", "confidence")
        files.add(named["confidence"], confidence_map)
        errors = None
        if truth is not None:  # drawn with the confidence map's geometry, so the two can be read side by side
            errors = visualize.error_map(
                prediction.image, prediction.labels, truth, config.get("void_index", 11), width=confidence_map.width
            )
        files.add(named["errors"], errors)
        files.add(
            named["boundary_uncertainty"],
            visualize.heatmap(prediction.boundary.band_map, 0.0, 1.0, "magma", "entropy / log C", background=prediction.image),
        )
        mi, top = None, None
        if prediction.mutual_information is not None:  # drawn on the picture's own scale, which the caption gives
            top = max(float(prediction.mutual_information.max()), 1e-3)
            mi = visualize.heatmap(prediction.mutual_information, 0.0, top, "cividis", "mutual info. (nats)")
        files.add(named["mutual_information"], mi)
        shares = prediction.class_shares()
        table = decimals_shown(CLASS_TABLE_HEADERS, visualize.class_table(shares, names, prediction.class_confidences()),
                               [None, 2, 1])
        legend = visualize.legend_html(shares, names, palette)
        figures = prediction_figures(prediction, model.entry.name, model.describe())
        figures["errors"] = error_figures(prediction, truth) if truth is not None else {"ground_truth": False}
        info = captions.info_markdown(prediction, model, figures)
        caption = captions.maps_caption(model, figures["errors"], top, prediction.samples)
        paths = files.paths()
        figures["handler_seconds"] = round(time.perf_counter() - started, 4)  # decoding to written files
        return (
            (paths["picture"], paths[named["overlay"]]),
            paths[named["confidence"]],
            paths[named["boundary_uncertainty"]],
            gr.update(value=paths[named["mutual_information"]], visible=mi is not None),
            table,
            legend,
            info,
            figures,
            gr.update(value=paths[named["errors"]], visible=errors is not None),
            caption,
            paths[named["class_map"]],
            ShownOverlays(paths["picture"], (layer.save(files.folder / "overlay.npz"),),
                          readouts=((model.entry.name, paths["pixels"]),), opacity=opacity, legend=tuple(shares),
                          download_names=(name_of,), frame=frame),
        )

    def _compare(self, image: Any, opacity: float, samples: Any, seed: Any, max_width: int):
        loaded = self._load(image)
        samples, seed, opacity = self._samples(samples), self._seed(seed), self._opacity(opacity)
        fcn, segnet = self._model(self._default("FCN")), self._model(self._default("SegNet"))
        p_fcn = self._predict(loaded, fcn, samples, seed, max_width)
        p_segnet = self._predict(loaded, segnet, samples, seed, max_width)
        example = bundled_example(loaded.image)
        truth = truth_at(example_labels(example, loaded.image.size) if example else None, p_fcn)  # one size for both
        frame = example.frame if example else ""
        palette = segnet.checkpoint.config["palette"]
        names = segnet.checkpoint.config["class_names"]
        rows, headline = compare_predictions(p_fcn, p_segnet, names, truth)
        fcn_band = visualize.heatmap(p_fcn.boundary.band_map, 0.0, 1.0, "magma", "entropy / log C", background=p_fcn.image)
        segnet_band = visualize.heatmap(
            p_segnet.boundary.band_map, 0.0, 1.0, "magma", "entropy / log C", background=p_segnet.image
        )
        # the maps /segment draws for each model: FCN's blurred by its 8x upsampling, SegNet's sharp at the edges
        fcn_confidence, segnet_confidence = (visualize.heatmap(p.confidence, 0.0, 1.0, "viridis", "confidence")
                                             for p in (p_fcn, p_segnet))
        # every picture of the tab has the boundary maps' geometry, its key where their colour bar is, so that all
        # are drawn at one scale however narrow the page, each overlay right above its maps
        # their keys list the classes alike, by the two networks' pixels together, so that they read row for row
        together = sum(np.bincount(p.labels.cpu().numpy().ravel(), minlength=len(names))[: len(names)]
                       for p in (p_fcn, p_segnet))
        key_order = tuple(int(c) for c in np.argsort(-together, kind="stable"))
        layers = tuple(visualize.overlay_layer(p.labels, palette, class_names=names, width=band.width,
                                               key_order=key_order)
                       for p, band in ((p_fcn, fcn_band), (p_segnet, segnet_band)))
        picture, encoded = shown_picture(p_fcn.image)  # what re-blends read back, so blended from it here too
        fcn_overlay, segnet_overlay = (visualize.blend(picture, layer, opacity) for layer in layers)
        differ = visualize.disagreement(p_fcn.image, p_fcn.labels, p_segnet.labels, width=fcn_band.width)
        fcn_errors = segnet_errors = truth_map = None
        if truth is not None:  # under each network's boundary-uncertainty map, with its geometry
            void = segnet.checkpoint.config.get("void_index", 11)
            fcn_errors = visualize.error_map(p_fcn.image, p_fcn.labels, truth, void, width=fcn_band.width)
            segnet_errors = visualize.error_map(p_segnet.image, p_segnet.labels, truth, void, width=segnet_band.width)
            truth_map = visualize.label_map(truth, palette, names, void, width=fcn_band.width)
        writer = ImageWriter()
        for m, p in ((fcn, p_fcn), (segnet, p_segnet)):  # what a click on a map reads
            writer.add_file(f"pixels_{m.entry.name}", save_grid, writer.folder / f"pixels_{m.entry.name}.npz", p, truth)
        # each picture named as its download keeps it: by the model that drew it, as on the Segment tab
        drawn = {"overlay": (fcn_overlay, segnet_overlay), "confidence": (fcn_confidence, segnet_confidence),
                 "boundary_uncertainty": (fcn_band, segnet_band), "errors": (fcn_errors, segnet_errors),
                 "class_map": tuple(visualize.class_map(layer.labels, palette) for layer in layers)}
        name_of = {family: download_name("{kind}", m.entry.name, frame, sampled_as(p, seed))
                   for family, m, p in (("fcn", fcn, p_fcn), ("segnet", segnet, p_segnet))}
        named = {(kind, family): name_of[family].format(kind=kind) for kind in drawn for family in name_of}
        for kind, pictures in drawn.items():
            for family, picture in zip(("fcn", "segnet"), pictures):
                writer.add(named[kind, family], picture)
        shared_names = {kind: download_name(kind, "", frame) for kind in ("disagreement", "ground_truth")}
        for kind, shared in {"disagreement": differ, "ground_truth": truth_map}.items():
            writer.add(shared_names[kind], shared)
        writer.add_encoded("picture", encoded)
        layer_files = tuple(layer.save(writer.folder / f"{name}.npz") for name, layer in zip(("fcn", "segnet"), layers))
        files = writer.paths()
        both = {kind: tuple(files[named[kind, family]] for family in ("fcn", "segnet")) for kind in drawn}
        readouts = tuple((m.entry.name, files[f"pixels_{m.entry.name}"]) for m in (fcn, segnet))
        shown = ShownOverlays(files["picture"], layer_files, readouts=readouts, opacity=opacity,  # one picture
                              download_names=(name_of["fcn"], name_of["segnet"]), frame=frame)
        table = figures_table([[row["figure"], row["fcn"], row["segnet"], row["reading"]] for row in rows])
        return (*both["overlay"], *both["boundary_uncertainty"], files[shared_names["disagreement"]], table, headline,
                *(gr.update(value=path, visible=truth is not None) for path in both["errors"]),
                gr.update(value=files[shared_names["ground_truth"]], visible=truth is not None),
                *both["class_map"], *both["confidence"], shown)

    # -- an upload that most browsers cannot draw ------------------------
    def picture_for_the_browser(self, picture: Any):
        """A TIFF or HEIC upload, which Safari alone draws, replaced by a lossless copy (WebP) of what the
        networks will see.

        Chrome and Firefox show a broken image where the visitor's picture
        should be. The copy is the decoded picture (upright, 8-bit RGB) at the
        size its maps are drawn at, so Segment and Compare give the maps they
        give for the file itself (up to that rescaling, for a picture over
        2048 pixels). What was changed on the way is said now, in a message:
        the copy no longer shows it. A picture every browser draws stays as it
        is, undecoded. A file that cannot be used (not a picture, too large,
        a damaged TIFF or HEIC) is taken out of the picture box, and the
        visitor is told why at once, as Segment would tell them: left there,
        it showed as a broken image, and Segment gave the same error again.
        """
        if not isinstance(picture, str):
            return gr.skip()
        header = read_header(picture)  # no pixel decoded
        if header is not None and header.format in BROWSER_FORMATS and within_limits(header):
            return gr.skip()
        try:
            # what the header already condemns fails here at once, undecoded
            loaded = load_image(picture, max_side=MAX_OUTPUT_SIDE)
            if header is None or header.format in BROWSER_FORMATS:  # a picture after all
                return gr.skip()
            shown = loaded.image
            notes = list(loaded.notes)
            if shown.size != loaded.original_size:
                notes.append(f"shown at {shown.width}x{shown.height}, the largest its maps are drawn at "
                             f"(the upload is {loaded.original_size[0]}x{loaded.original_size[1]})")
            with disk_full_explained():
                png = write_copy_of(picture, "picture", shown)  # the same upload again: the same copy
        except ImageError as error:
            gr.Warning(str(error))
            return None  # the box empties: Segment then asks for a picture
        finally:
            release_free_memory()
        if notes:
            gr.Info("Your picture: " + "; ".join(notes) + ".")
        return png

    # -- a new opacity or other class colours: the shown overlays drawn again, no network run --
    def reblend_segment(self, shown: ShownOverlays | str | None, opacity: Any, result_on_page: Any = "",
                        colour_blind_safe: Any = False, request: gr.Request = None):
        """The Segment tab's picture | overlay at ``opacity`` in the class colours asked for (``colour_blind_safe``:
        the colour-blind-safe ones, else the model's own), from the last result; its legend where the colours
        changed; and the session's State.

        ``result_on_page`` is the info line the page shows (empty before any
        result): it tells a session that never had a result from one whose
        result the server has forgotten.
        """
        drawn, state = self._blend_again(shown, opacity, colour_blind_safe, result_on_page, request)
        if drawn is None:
            return gr.skip(), gr.skip(), state
        assert isinstance(shown, ShownOverlays)
        # the slider's value: the picture and its overlay
        return (shown.picture_file, drawn.overlays[0]), _or_skip(drawn.legend), state

    def reblend_compare(self, shown: ShownOverlays | str | None, opacity: Any, result_on_page: Any = "",
                        colour_blind_safe: Any = False, request: gr.Request = None):
        """The Compare tab's two overlays at ``opacity`` in the class colours asked for, their keys with them; the
        ground truth where the colours changed (a bundled frame's); and the session's State."""
        drawn, state = self._blend_again(shown, opacity, colour_blind_safe, result_on_page, request, truth=True)
        if drawn is None:
            return gr.skip(), gr.skip(), gr.skip(), state
        return *drawn.overlays, _or_skip(drawn.truth), state

    def reblend_segment_if_moved(self, shown: ShownOverlays | str | None, opacity: Any, result_on_page: Any = "",
                                 colour_blind_safe: Any = False, request: gr.Request = None):
        """After a run: its result was blended at the opacity of the moment the button was pressed, in the model's
        own colours; where the slider moved while it ran, or the colour-blind-safe colours are chosen, the overlay
        and legend follow them now (a run's inputs, those of the API, have no choice of colours)."""
        if not self._moved(shown, opacity, colour_blind_safe):
            return gr.skip(), gr.skip(), gr.skip()
        return self.reblend_segment(shown, opacity, result_on_page, colour_blind_safe, request)

    def reblend_compare_if_moved(self, shown: ShownOverlays | str | None, opacity: Any, result_on_page: Any = "",
                                 colour_blind_safe: Any = False, request: gr.Request = None):
        """``reblend_segment_if_moved`` for the Compare tab's two overlays and its ground truth."""
        if not self._moved(shown, opacity, colour_blind_safe):
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()
        return self.reblend_compare(shown, opacity, result_on_page, colour_blind_safe, request)

    def _moved(self, shown: ShownOverlays | str | None, opacity: Any, colour_blind_safe: Any = False) -> bool:
        try:
            return isinstance(shown, ShownOverlays) and (shown.opacity != self._opacity(opacity)
                                                         or shown.colour_blind_safe != bool(colour_blind_safe))
        except gr.Error:  # not a number: the slider's own event says so
            return False

    def _blend_again(self, shown: ShownOverlays | str | None, opacity: Any, colour_blind_safe: Any,
                     result_on_page: Any, request: gr.Request | None = None,
                     truth: bool = False) -> tuple[Redrawn | None, Any]:
        """The overlays blended again (None: nothing to draw) and what the session's State becomes; where the class
        colours change, the Segment tab's legend and (``truth``) the Compare tab's ground truth with them.

        Pure numpy and PIL (no torch, so not on the inference thread, behind
        another visitor's request). Where the result the page shows is no
        longer kept (its files swept after a day, the session's State expired
        with them, or the server restarted), the visitor is told once, and
        the State remembers that it told them: a drag would otherwise raise a
        message per step (11 stacked in chromium for one drag).
        """
        if shown == RESULT_FORGOTTEN or (shown is None and not result_on_page):  # told already, or nothing shown yet
            return None, gr.skip()
        if shown is None:  # the page shows a result this session no longer holds
            return self._result_gone()
        assert isinstance(shown, ShownOverlays)
        opacity, safe = self._opacity(opacity), bool(colour_blind_safe)
        if self._newer_shown(request, shown):  # a run gave this session another result since this event began
            return None, gr.skip()
        recoloured = shown.colour_blind_safe != safe
        if shown.opacity == opacity and not recoloured:  # shown so already (the reset button's second "change")
            return None, gr.skip()
        try:
            with Image.open(shown.picture_file) as picture:
                picture.load()
            layers = [_in_colours(visualize.OverlayLayer.load(path), safe) for path in shown.layer_files]
            labels = kept_truth(shown.readouts[0][1]) if truth and recoloured and shown.readouts else None
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):  # cleared from Gradio's cache, or cut short
            return self._result_gone()
        pictures = {_overlay_name(shown, i): visualize.blend(picture, layer, opacity) for i, layer in enumerate(layers)}
        truth_name = download_name("ground_truth", "", shown.frame)
        if labels is not None and layers:
            pictures[truth_name] = self._truth_map(labels, layers[0], shown.readouts[0][0])
        try:
            with disk_full_explained():
                files = write_images(pictures)
        finally:
            release_free_memory()  # a 12-megapixel blend's float arrays go back, as after a request
        folder = str(Path(next(iter(files.values()))).parent)
        # A drag blends a few times a second (2.5 MB a step for a 12-megapixel photo), and each step's files would
        # stay a day. Those from two steps back go now: the page has shown the next one since (the one just before
        # this may still be on its way to the browser).
        if self._newer_shown(request, shown):  # and it came while this blend was drawn: the page shows the newer one
            delete_results([folder])
            return None, gr.skip()
        delete_results(shown.blends[:-1])
        legend = None
        if recoloured and shown.legend and layers:
            legend = visualize.legend_html(list(shown.legend), layers[0].class_names, layers[0].palette.tolist())
        drawn = Redrawn([files[_overlay_name(shown, i)] for i in range(len(layers))], legend, files.get(truth_name))
        return drawn, replace(shown, blends=(*shown.blends[-1:], folder), opacity=opacity, colour_blind_safe=safe)

    def _truth_map(self, labels: np.ndarray, layer: visualize.OverlayLayer, model_name: str) -> Image.Image:
        """The Compare tab's ground truth drawn again in ``layer``'s colours, with the geometry of the overlay it
        sits beside (the tab's maps share one)."""
        model = self.models.get(model_name)
        void = VOID_INDEX
        if model is not None and model.ready:
            void = model.checkpoint.config.get("void_index", VOID_INDEX)
        width = labels.shape[1] + layer.key.shape[1] if layer.key is not None else None
        return visualize.label_map(labels, layer.palette, layer.class_names, void, width=width)

    # -- a click on a map: what the networks said at that pixel ----------
    def read_pixel(self, shown: ShownOverlays | str | None, class_name: Any, event: MapClick):
        """Each shown network's class probabilities and uncertainty at the clicked pixel (``pixel_readout``), read
        from the grid its result kept: no network runs. A click on a map's key or colour bar changes nothing.
        ``class_name``: the class whose probability maps are drawn (or ""), read out whatever its rank."""
        index = getattr(event, "index", None)
        if not (isinstance(index, (list, tuple)) and len(index) == 2 and all(isinstance(v, int) for v in index)):
            return gr.skip()  # a click beside the picture Gradio shows
        if not isinstance(shown, ShownOverlays) or not shown.readouts:  # expired, or the server restarted
            return PIXELS_GONE
        try:
            readings = [(name, read_pixel(path, *index)) for name, path in shown.readouts]
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):  # swept from the cache, or cut short
            return PIXELS_GONE
        if any(reading is None for _, reading in readings):  # outside the picture: a key or a colour bar
            return gr.skip()
        first = self.models[readings[0][0]].checkpoint.config if readings[0][0] in self.models else {}
        labelled = [(self.models[name].entry.label if name in self.models else name, reading)
                    for name, reading in readings]
        names = first.get("class_names", CAMVID_CLASSES)
        chosen = names.index(class_name) if isinstance(class_name, str) and class_name in names else None
        return captions.pixel_markdown(labelled, names, first.get("void_index", len(CAMVID_CLASSES)), chosen)

    def class_probability_maps(self, shown: ShownOverlays | str | None, class_name: Any, networks: int,
                               result_on_page: Any = "", session: str | None = None):
        """For each of the ``networks`` shown, the probability of ``class_name`` at every pixel, drawn from the grid
        its result kept (``pixel_readout.class_probability``: no network runs); none chosen hides the maps.
        ``result_on_page`` (the result's text on the page) tells no result yet from one the server no longer holds.

        Drawn outside Gradio's queue (``_class_probability_follows``), where anyone may call it as often as they
        like: 40 callers at once had made a visitor's run take 35 s instead of 2, and each drawing's 0.6 MB stayed
        a day. So one is drawn at a time, and a ``session``'s drawings from two choices back are deleted."""
        if not class_name:
            return [gr.update(visible=False)] * networks
        if not isinstance(shown, ShownOverlays) or not shown.readouts:  # no result yet, or no longer held
            if shown is not None or result_on_page:
                gr.Warning(CLASSES_GONE)
            return [gr.skip()] * networks
        if not self._class_map_slot.acquire(timeout=CLASS_MAPS_WAIT_SECONDS):
            gr.Warning(CLASSES_BUSY)
            return [gr.skip()] * networks
        try:
            return self._draw_class_probability_maps(shown, class_name, networks, session)
        finally:
            self._class_map_slot.release()

    def _draw_class_probability_maps(self, shown: ShownOverlays, class_name: str, networks: int,
                                     session: str | None) -> list:
        maps = []  # (the network's family, the file name its download keeps, its map), in the order shown
        picture = None
        try:
            for index, (name, path) in enumerate(shown.readouts):
                model = self.models.get(name)
                names = list(model.checkpoint.config.get("class_names", CAMVID_CLASSES) if model else CAMVID_CLASSES)
                if class_name not in names:
                    return [gr.skip()] * networks
                label = model.entry.family if model and networks > 1 else ""
                probability = class_probability(path, names.index(class_name))
                if picture is None:
                    with Image.open(shown.picture_file) as kept:
                        picture = kept.convert("RGB")
                # under 1% the picture shows, greyed as on the boundary map, so the class's places stand out in it
                probability[probability < CLASS_SHOWN_FROM] = np.nan
                maps.append((label, _named(shown, index, f"probability_{class_name}"),
                             visualize.heatmap(probability, 0.0, 1.0, "plasma", "probability", background=picture)))
        except (OSError, ValueError, KeyError, IndexError, EOFError, zipfile.BadZipFile):  # swept, or cut short
            gr.Warning(CLASSES_GONE)
            return [gr.skip()] * networks
        try:
            with disk_full_explained():
                files = write_images({named: drawn for _, named, drawn in maps})
        finally:
            release_free_memory()
        tab = f"{session}/{networks}" if session else None  # Segment's (one network) and Compare's, apart
        self._keep_newest_class_maps(tab, [path for path in files.values() if path])
        return [gr.update(value=path, visible=True, label=f"{label}: probability of {class_name}" if label
                          else f"Probability of {class_name}") for (label, _, _), path in zip(maps, files.values())]

    def _keep_newest_class_maps(self, tab: str | None, paths: list[str]) -> None:
        """Note a session's tab's newest class probability drawing; delete the one from two drawings back (the one
        just before may still be on its way to the browser), as the opacity slider's re-blends are."""
        if not tab or not paths:
            return
        with self._newest_lock:
            drawn = (*self._class_map_folders.pop(tab, ()), str(Path(paths[0]).parent))
            self._class_map_folders[tab] = drawn[-2:]
            while len(self._class_map_folders) > SESSIONS_REMEMBERED:
                self._class_map_folders.popitem(last=False)
        delete_results(drawn[:-2])

    @staticmethod
    def _result_gone() -> tuple[None, str]:
        gr.Warning(RESULT_GONE)
        return None, RESULT_FORGOTTEN

    def compare_maps_caption(self) -> str:
        """The Compare tab's caption for the networks it runs: those of them ready at start-up."""
        shown = []
        for family in ("FCN", "SegNet"):
            try:
                shown.append(self.models[self._default(family)])
            except gr.Error:  # none of that family loaded: the tab says why when it is used
                pass
        return captions.compare_maps_caption(shown)

    def models_summary(self) -> str:
        return captions.models_summary(self.models)

    def models_markdown(self) -> str:
        return captions.models_markdown(self.models)

    def trust_plots(self) -> dict[str, Any]:
        """The reliability and kept-pixels plots of the served models' eval.json (docs/ PNGs when current)."""
        evaluations = {m.entry.label: e for m in self.models.values() if m.ready and (e := captions.read_eval(m)) and "calibration" in e}
        return current_plots(evaluations, DOCS_DIR) if evaluations else {}

    def per_class_table(self) -> tuple[list[str], list[list[Any]]]:
        return captions.per_class_table(self.models)

    def scarce_classes_note(self) -> str:
        return captions.scarce_classes_note(self.models)

    def frames_measured(self) -> str:
        """The frames the Models tab's figures come from (the first model's eval.json says; they share them)."""
        for model in self.models.values():
            evaluation = captions.read_eval(model) if model.checkpoint else None
            if evaluation:
                return measured_frames(evaluation, model.checkpoint.config)
        return "(not measured)"


def _in_colours(layer: visualize.OverlayLayer, colour_blind_safe: bool) -> visualize.OverlayLayer:
    """A layer in the colours asked for: the colour-blind-safe ones for CamVid's classes, else those of its run (a
    layer on disk keeps its run's, the model's own)."""
    return layer.in_colours(class_palette(layer.class_names, layer.palette.tolist(), colour_blind_safe))


def _or_skip(value: Any) -> Any:
    """An output's new value, or Gradio's "leave it as it is" for None."""
    return gr.skip() if value is None else value


def compare_legend(colour_blind_safe: Any) -> str:
    """The Compare tab's key to every class, in the class colours chosen."""
    return visualize.palette_legend_html(CAMVID_CLASSES, class_palette(CAMVID_CLASSES, CAMVID_PALETTE,
                                                                       bool(colour_blind_safe)))


def _overlay_name(shown: ShownOverlays, index: int) -> str:
    """A re-blended overlay's file name: the model's, as the run's own overlay is named (``download_name``)."""
    return _named(shown, index, "overlay")


def _named(shown: ShownOverlays, index: int, kind: str) -> str:
    """The file name of a picture drawn from a result's ``index``-th network, named as the run named its own."""
    if index < len(shown.download_names):
        return shown.download_names[index].format(kind=kind)
    if index < len(shown.readouts):
        return download_name(kind, shown.readouts[index][0])
    return f"{kind}{index}"


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
    # run as the buttons run: in the one inference queue ("model"), not beside it, the last click winning
    return examples.load_input_event.then(fn, inputs, outputs, api_name=elem_id.replace("-", "_"),
                                          api_visibility="private", concurrency_id="model",
                                          trigger_mode=LAST_REQUEST_WINS, js=js)


def colour_choice(tab: str) -> gr.Checkbox:
    """A tab's choice of class colours, under its opacity slider: CamVid's (unticked, what papers and engineers
    recognise) or the colour-blind-safe ones. The page's alone: the API's runs draw CamVid's colours, as before."""
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
    opacity and blends nothing (``_blend_again``). ``result_text`` (empty
    until a result is shown) goes along, so that a result the server has
    forgotten is told from no result at all.
    """
    gr.on([opacity.change, colours.change], fn, [shown, opacity, result_text, colours], [*outputs, shown],
          api_visibility="private", concurrency_id="blend", trigger_mode="always_last", show_progress="hidden")


def _overlay_follows_the_slider_after(runs: list, fn: Any, opacity: gr.Slider, colours: gr.Checkbox, shown: gr.State,
                                      outputs: list, result_text: gr.Markdown) -> None:
    """After each run (``runs``: its events), the overlays drawn again where the slider moved while it ran, or in
    the colour-blind-safe colours where they are chosen: a run blends at the opacity the button was pressed at, in
    the model's own colours (the API's inputs have no choice of colours). Read when the run ends, in the blends'
    own queue."""
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
    """The whole UI; launch it with ``launch(demo)``."""
    choices = service.labels()
    default_model = DEFAULT_MODEL if DEFAULT_MODEL in service.models else (choices[0][1] if choices else None)
    examples = [str(p) for p in example_images()]
    # The two handlers that run a network for a visitor ask ZeroGPU for a GPU (segdemo.gpu); nothing else does.
    segment_on_gpu = gpu_task(service.segment_gpu_seconds)(service.segment)
    compare_on_gpu = gpu_task(service.compare_gpu_seconds)(service.compare)

    # The runs, each result noted as its session's newest (here, in the server's process: on ZeroGPU the decorated
    # handler runs in another). The parameters keep the handlers' names: they name the API's inputs.
    # Each drawn no wider than the visitor's page shows it (segdemo.page_widths): the API's calls at full size.
    def segment(image: Any, model_name: str, opacity: float, samples: Any, seed: Any, request: gr.Request):
        width = service.page_widths.drawn_width(getattr(request, "session_hash", None), maps_a_row=1)
        return service.note_shown(request, segment_on_gpu(image, model_name, opacity, samples, seed, max_width=width))

    def compare(image: Any, opacity: float, samples: Any, seed: Any, request: gr.Request):
        width = service.page_widths.drawn_width(getattr(request, "session_hash", None), maps_a_row=2)
        return service.note_shown(request, compare_on_gpu(image, opacity, samples, seed, max_width=width))

    segment.runs, compare.runs = segment_on_gpu, compare_on_gpu  # what each runs (tests look through to it)

    # Gradio sweeps the uploads and the files it served once they are as old as segdemo's result folders
    sweep = (SWEEP_EVERY_SECONDS, RESULTS_KEPT_SECONDS)
    with RefusingBlocks(title="segdemo: FCN vs SegNet", fill_width=True, delete_cache=sweep) as demo:
        gr.Markdown(
            "# FCN and SegNet, side by side\n"
            "Road scenes segmented into CamVid's 11 classes by networks this project trained from scratch. Upload a "
            "street picture or click an example to see the colour overlay, each pixel's confidence and where the "
            "network is unsure about boundaries. Your picture and its results are kept a day, then deleted."
        )
        with gr.Tab("Segment") as segment_tab:
            with gr.Row():
                with gr.Column(scale=2):
                    image = UploadImage(
                        elem_id="segment-picture",
                        label="Picture",
                        type="filepath",
                        image_mode=None,
                        sources=["upload", "clipboard", "webcam"],
                        height=300,
                        placeholder=UPLOAD_PLACEHOLDER,
                    )
                    segment_examples = _examples(examples, image, f"Or click one: CamVid frames of sequence "
                                                 f"{example_sequences()}, {EXAMPLES_SEEN}", "segment-examples")
                    # not typed into (a handful of choices): its box read-only, a tap on a phone opens the list
                    # alone, where an editable box brought up the keyboard over it
                    model = ModelDropdown(choices=choices, value=default_model, label="Model", elem_id="segment-model",
                                          filterable=False)
                    opacity = NumberSlider(0.0, 1.0, value=0.55, step=0.05, label="Overlay opacity")
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

        with gr.Tab("Compare") as compare_tab:
            gr.Markdown(COMPARE_INTRO)
            with gr.Row():
                with gr.Column(scale=2):
                    c_image = UploadImage(
                        elem_id="compare-picture",
                        label="Picture", type="filepath", image_mode=None, sources=["upload", "clipboard", "webcam"], height=220,
                        placeholder=UPLOAD_PLACEHOLDER,
                    )
                    compare_examples = _examples(examples, c_image, f"Or click one: CamVid frames of sequence "
                                                 f"{example_sequences()}, {EXAMPLES_SEEN}; labels known: per-image "
                                                 "mIoU and BF", "compare-examples")
                    c_opacity = NumberSlider(0.0, 1.0, value=0.55, step=0.05, label="Overlay opacity")
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

        _colours_follow_each_other(colours, c_colours)
        _picture_follows_to_an_empty_tab(segment_tab, image, c_image)
        _picture_follows_to_an_empty_tab(compare_tab, c_image, image)

        with gr.Tab("Models"):
            gr.Markdown(service.models_summary())
            with gr.Accordion("What the figures mean", open=False):
                gr.Markdown(captions.FIGURES_EXPLAINED.removeprefix("**What the figures mean.** "))
            gr.Markdown(service.models_markdown())
            plots = service.trust_plots()
            plot_rules: list[str] = []
            if plots:
                gr.Markdown(TRUST_PLOTS_INTRO)
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
        # the page sends its window's width once loaded: a visitor's results are drawn no wider than it shows them
        window_width = gr.Number(visible=False, label="Window width")
        demo.load(service.note_page_width, [window_width], None, js=WINDOW_WIDTH_JS, queue=False,
                  api_visibility="private", show_progress="hidden")
    forget_files_with(gradio_sweep(demo))
    # Each plot's box has its plot's shape before the plot loads: the plots load lazily, and on a phone the page grew
    # by 1,838 px as they came in, under a visitor scrolling past them. launch() adds these rules to the page's CSS.
    demo.segdemo_css = "\n".join(plot_rules)  # type: ignore[attr-defined]
    return demo


def gradio_sweep(demo: gr.Blocks) -> Callable[[float | None], None] | None:
    """Gradio's own sweep of the uploads and files ``demo`` served that are older than an age (None: all of them),
    for ``segdemo.imagefiles``' sweep for room and a stopped server: Gradio forgets the names of the files it deletes,
    and keeps those of files deleted behind its back for as long as the server runs. None where this Gradio has no
    such function."""
    try:
        from gradio.route_utils import delete_files_created_by_app
    except ImportError:
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
THEME = gr.themes.Soft(primary_hue="indigo").set(
    button_primary_background_fill="*primary_600", button_primary_background_fill_dark="*primary_600",
    button_primary_background_fill_hover="*primary_700", button_primary_background_fill_hover_dark="*primary_700",
    block_info_text_color="*neutral_500", block_info_text_color_dark="*neutral_400",
    link_text_color_dark="*secondary_400", link_text_color_visited_dark="*secondary_400",
    link_text_color_active_dark="*secondary_400",
)


def _stop_as_on_ctrl_c(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def launch(demo: gr.Blocks, **kwargs: Any) -> None:
    """Queue with a bounded size and one inference at a time, then serve; on SIGTERM or Ctrl-C, stop and delete what
    visitors left.

    A SIGTERM (a container stopped, ``kill``) ended Python at once: Gradio's
    shutdown, which deletes every upload and file it served, never ran, and the
    next process knew nothing of them, so visitors' photos, their metadata and
    names with them, stayed on the disk for good (helper-34's audit). Raised as
    Ctrl-C's KeyboardInterrupt, it takes Gradio's own way out; the results it
    never served (a run cancelled after it started) go with segdemo's folder.
    """
    demo.queue(max_size=QUEUE_SIZE, default_concurrency_limit=CONCURRENCY)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _stop_as_on_ctrl_c)
    kwargs.setdefault("enable_monitoring", False)  # its key, printed to the log by anyone's GET /monitoring
    demo.launch(
        theme=THEME,
        css=CSS + "\n" + getattr(demo, "segdemo_css", ""),
        js=page_script(),
        footer_links=["api", "gradio"],
        max_file_size=MAX_UPLOAD,
        # Gradio's own checks before a handler runs (too few inputs over plain HTTP, a path no visitor uploaded)
        # answer in words, never with a trace; without it they all read "the upstream Gradio app has raised an
        # exception". The handlers' own failures are sentences already (segdemo.failures).
        show_error=True,
        app_kwargs={"middleware": compression_middleware()},  # the page, gzipped: 272 kB to 29 kB
        **kwargs,
    )
    if not kwargs.get("prevent_thread_lock"):  # the server has stopped
        # Gradio's own shutdown deletes its uploads too, but in its server's thread, which it waits for 5 s at most
        # (a client's open stream holds it longer): the process then ended first, the uploads left behind
        try:
            if (sweep := gradio_sweep(demo)) is not None:
                sweep(None)
        finally:  # whatever Gradio's sweep met, segdemo's results go too
            delete_results_written_here()
