"""The app's handlers: the loaded models, and each request turned into pictures, figures and files.

``SegmentationService.segment`` / ``.compare`` are plain functions of a file
path and a few settings, so the page (``segdemo.ui``), gradio_client and the
tests all go through the same code. What a visitor's last result was blended
from is kept per session (``ShownOverlays``), so the opacity slider, the
choice of colours, a click on a pixel and a class's probability map are
answered from it with no network run.
"""

from __future__ import annotations

import math
import threading
import time
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np
import torch
from PIL import Image

from . import captions, visualize
from .analysis import compare_predictions, error_figures, prediction_figures
from .checkpoints import measured_frames
from .classes import CAMVID_CLASSES, CAMVID_PALETTE, VOID_INDEX, class_palette
from .failures import disk_full_explained, failures_explained
from .gpu import duration_for
from .ground_truth import bundled_example, example_labels, truth_at
from .imagefiles import ImageWriter, delete_results, shown_picture, write_copy_of, write_images
from .images import BROWSER_FORMATS, ImageError, LoadedImage, load_image, read_header, within_limits
from .inference import MAX_OUTPUT_SIDE, MAX_SAMPLES, Prediction, predict
from .inputs import NO_PICTURE, refused
from .memory import release_free_memory
from .models import is_bayesian
from .page_widths import PageWidths
from .pixel_readout import class_probability, kept_truth, read_pixel, save_grid
from .sessions import SessionNotes
from .trustplots import current_plots
from .worker import request_thread
from .zoo import DEFAULT_FCN, DEFAULT_SEGNET, LoadedModel

DOCS_DIR = Path(__file__).resolve().parent.parent / "docs"  # the README's plots, reused by the Models tab when current
MAX_SEED = 2**32 - 1  # the usual range of a seed (numpy's), which a browser's number holds exactly
SEED_RANGE = f"The seed must be a whole number from 0 to {MAX_SEED}."
RESULT_GONE = ("This result is no longer kept on the server: press the button again to run it at this opacity and in "
               "these colours.")
CLASS_SHOWN_FROM = 0.01  # a class's probability map shows the greyed picture where the class is less likely
PIXELS_GONE = "This result is no longer kept on the server: press the button again to read its pixels."
CLASSES_GONE = "This result is no longer kept on the server: press the button again to draw its class probabilities."
CLASSES_BUSY = "The server is busy drawing class probabilities: choose the class again in a few seconds."
CLASS_MAPS_WAIT_SECONDS = 30  # how long a class's drawing waits for the one before it
RESULT_FORGOTTEN = "forgotten"  # a session's State once its visitor was told RESULT_GONE: the slider's next moves stay quiet
COMPARE_HEADERS = ["Figure", "FCN", "SegNet", "What it shows"]
# what each model's pictures are named as downloaded (``download_name``): class_map_fcn8s_lite.png, ... (with a
# bundled frame's name first, and a Bayesian result's samples and seed last)
DOWNLOADS = ("overlay", "confidence", "errors", "boundary_uncertainty", "mutual_information", "class_map")
CLASS_TABLE_HEADERS = ["Class", "Pixels %", "Mean confidence %"]


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

    @property
    def tab(self) -> str:
        """The tab that shows the result: Segment's has one network's overlay, Compare's two."""
        return "segment" if len(self.layer_files) == 1 else "compare"


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
        # a session's tab ("session/segment", "session/compare") -> the picture file of its newest result
        self._newest: SessionNotes[str] = SessionNotes()
        # session -> whether its page asks for the colour-blind-safe colours, as its last re-blend said (a run's
        # inputs, the API's, have none): its runs are drawn in them from the start
        self._safe_colours: SessionNotes[bool] = SessionNotes()
        self.page_widths = PageWidths()  # each session's window width, as its page sent it
        self._class_map_slot = threading.BoundedSemaphore(1)  # class probability maps drawn one at a time
        self._class_map_folders: SessionNotes[tuple[str, ...]] = SessionNotes()  # a session's tab -> its last two

    def note_page_width(self, window_pixels: Any, request: gr.Request | None = None) -> None:
        """The width of a visitor's window in device pixels, sent by the page once loaded: their results are drawn
        no wider than it shows them (``segdemo.page_widths``)."""
        self.page_widths.note(getattr(request, "session_hash", None), window_pixels)

    # -- which result a session shows last -------------------------------
    def note_shown(self, request: gr.Request | None, outputs: Any) -> Any:
        """Remember the result a Segment or Compare run gives its session (its State, the outputs' last); the
        outputs, unchanged. Re-blends run beside a run, on the State they read when they began: one that ends after
        the run's result would put the older result back on the page, and in the State (``_newer_shown``)."""
        shown = outputs[-1] if isinstance(outputs, (tuple, list)) and outputs else None
        if isinstance(shown, ShownOverlays):
            self._newest.note(_tab_of(request, shown), shown.picture_file)
        return outputs

    def note_colours(self, request: gr.Request | None, colour_blind_safe: Any) -> None:
        """Remember the class colours a session's page shows, from its re-blends: the box's every change sends one,
        as does the blend that follows each run."""
        self._safe_colours.note(getattr(request, "session_hash", None), bool(colour_blind_safe))

    def colours_chosen(self, request: gr.Request | None) -> bool:
        """Whether the session's page shows the colour-blind-safe colours (False for the API's calls): a run made
        with the box ticked was drawn in CamVid's colours and then again in the safe ones, which flashed."""
        return bool(self._safe_colours.get(getattr(request, "session_hash", None)))

    def _newer_shown(self, request: gr.Request | None, shown: ShownOverlays) -> bool:
        """Whether the session's tab has been given a newer result than ``shown`` since the event that read it began
        (the other tab's results are not newer: both tabs are one session, and after a Compare the Segment tab's
        slider and colours had drawn nothing)."""
        newest = self._newest.get(_tab_of(request, shown))
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
    def _load(image: Any) -> LoadedImage:
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
        return min(max(value, 0.0), 1.0) if math.isfinite(value) else visualize.DEFAULT_OPACITY

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
                            max_width: Any = MAX_OUTPUT_SIDE, colour_blind_safe: Any = False) -> int:
        return duration_for(self._passes(model_name, samples))

    def compare_gpu_seconds(self, image: Any, opacity: Any, samples: Any, seed: Any,
                            max_width: Any = MAX_OUTPUT_SIDE, colour_blind_safe: Any = False) -> int:
        return duration_for(1 + self._passes(DEFAULT_SEGNET, samples))  # FCN once, the Bayesian SegNet T times

    # -- endpoints -----------------------------------------------------
    def segment(self, image: Any, model_name: str, opacity: float, samples: Any, seed: Any,
                max_width: int = MAX_OUTPUT_SIDE, colour_blind_safe: bool = False) -> tuple[Any, ...]:
        """Overlay, confidence, boundary uncertainty, mutual information, class table, legend, info, figures,
        then the error map (bundled CamVid frames only), the caption saying how the confidence is calibrated, the
        class map (a PNG of class indices) and, for the session alone (gradio_client skips it), what the overlay
        was blended from. ``max_width``: the widest the results are drawn (the page's, ``segdemo.page_widths``);
        ``colour_blind_safe``: the overlay and legend in those colours (the page's choice, ``colours_chosen``)."""
        with failures_explained():
            return request_thread.run(self._segment, image, model_name, opacity, samples, seed, max_width,
                                      bool(colour_blind_safe))

    def compare(self, image: Any, opacity: float, samples: Any, seed: Any, max_width: int = MAX_OUTPUT_SIDE,
                colour_blind_safe: bool = False) -> tuple[Any, ...]:
        """FCN and SegNet side by side, where they disagree, figures for the claims tested (``analysis``), both error maps and the
        ground truth (bundled CamVid frames only), both class maps (PNGs of class indices), both confidence maps
        (last, so that the earlier outputs keep their places), then, for the session alone, what the overlays were
        blended from. ``max_width`` and ``colour_blind_safe`` as for ``segment`` (the overlays, their keys and the
        ground truth in those colours)."""
        with failures_explained():
            return request_thread.run(self._compare, image, opacity, samples, seed, max_width, bool(colour_blind_safe))

    def _segment(self, image: Any, model_name: str, opacity: float, samples: Any, seed: Any, max_width: int,
                 safe: bool) -> tuple[Any, ...]:
        started = time.perf_counter()
        model = self._model(model_name)
        loaded = self._load(image)
        samples, seed, opacity = self._samples(samples), self._seed(seed), self._opacity(opacity)
        prediction = self._predict(loaded, model, samples, seed, max_width)
        truth, frame = _ground_truth(loaded, prediction)
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
        shown_layer = _in_colours(layer, safe)  # the layer kept in the model's colours, as re-blends expect it
        files.add(named["overlay"], visualize.blend(picture, shown_layer, opacity))
        files.add(named["class_map"], visualize.class_map(layer.labels, palette))  # a data file: CamVid's colours
        confidence_map = _confidence_map(prediction)
        files.add(named["confidence"], confidence_map)
        errors = None
        if truth is not None:  # drawn with the confidence map's geometry, so the two can be read side by side
            errors = visualize.error_map(
                prediction.image, prediction.labels, truth, config.get("void_index", 11), width=confidence_map.width
            )
        files.add(named["errors"], errors)
        files.add(
            named["boundary_uncertainty"],
            _boundary_map(prediction),
        )
        mi, top = None, None
        if prediction.mutual_information is not None:  # drawn on the picture's own scale, which the caption gives
            top = max(float(prediction.mutual_information.max()), 1e-3)
            mi = visualize.heatmap(prediction.mutual_information, 0.0, top, "cividis", "mutual info. (nats)")
        files.add(named["mutual_information"], mi)
        shares = prediction.class_shares()
        table = decimals_shown(CLASS_TABLE_HEADERS, visualize.class_table(shares, names, prediction.class_confidences()),
                               [None, 2, 1])
        legend = visualize.legend_html(shares, names, shown_layer.palette.tolist())
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
                          readouts=((model.entry.name, paths["pixels"]),), opacity=opacity, colour_blind_safe=safe,
                          legend=tuple(shares), download_names=(name_of,), frame=frame),
        )

    def _compare(self, image: Any, opacity: float, samples: Any, seed: Any, max_width: int,
                 safe: bool) -> tuple[Any, ...]:
        loaded = self._load(image)
        samples, seed, opacity = self._samples(samples), self._seed(seed), self._opacity(opacity)
        fcn, segnet = self._model(self._default("FCN")), self._model(self._default("SegNet"))
        p_fcn = self._predict(loaded, fcn, samples, seed, max_width)
        p_segnet = self._predict(loaded, segnet, samples, seed, max_width)
        truth, frame = _ground_truth(loaded, p_fcn)  # one size for both
        palette = segnet.checkpoint.config["palette"]
        names = segnet.checkpoint.config["class_names"]
        rows, headline = compare_predictions(p_fcn, p_segnet, names, truth)
        fcn_band, segnet_band = _boundary_map(p_fcn), _boundary_map(p_segnet)
        # the maps /segment draws for each model: FCN's blurred by its 8x upsampling, SegNet's sharp at the edges
        fcn_confidence, segnet_confidence = _confidence_map(p_fcn), _confidence_map(p_segnet)
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
        fcn_overlay, segnet_overlay = (visualize.blend(picture, _in_colours(layer, safe), opacity) for layer in layers)
        differ = visualize.disagreement(p_fcn.image, p_fcn.labels, p_segnet.labels, width=fcn_band.width)
        fcn_errors = segnet_errors = truth_map = None
        if truth is not None:  # under each network's boundary-uncertainty map, with its geometry
            void = segnet.checkpoint.config.get("void_index", 11)
            fcn_errors = visualize.error_map(p_fcn.image, p_fcn.labels, truth, void, width=fcn_band.width)
            segnet_errors = visualize.error_map(p_segnet.image, p_segnet.labels, truth, void, width=segnet_band.width)
            truth_map = visualize.label_map(truth, class_palette(names, palette, safe), names, void,
                                            width=fcn_band.width)
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
                              colour_blind_safe=safe, download_names=(name_of["fcn"], name_of["segnet"]), frame=frame)
        table = figures_table([[row["figure"], row["fcn"], row["segnet"], row["reading"]] for row in rows])
        return (*both["overlay"], *both["boundary_uncertainty"], files[shared_names["disagreement"]], table, headline,
                *(gr.update(value=path, visible=truth is not None) for path in both["errors"]),
                gr.update(value=files[shared_names["ground_truth"]], visible=truth is not None),
                *both["class_map"], *both["confidence"], shown)

    # -- an upload that most browsers cannot draw ------------------------
    def picture_for_the_browser(self, picture: Any) -> Any:
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
                        colour_blind_safe: Any = False, request: gr.Request = None) -> tuple[Any, ...]:
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
                        colour_blind_safe: Any = False, request: gr.Request = None) -> tuple[Any, ...]:
        """The Compare tab's two overlays at ``opacity`` in the class colours asked for, their keys with them; the
        ground truth where the colours changed (a bundled frame's); and the session's State."""
        drawn, state = self._blend_again(shown, opacity, colour_blind_safe, result_on_page, request, truth=True)
        if drawn is None:
            return gr.skip(), gr.skip(), gr.skip(), state
        return *drawn.overlays, _or_skip(drawn.truth), state

    def reblend_segment_if_moved(self, shown: ShownOverlays | str | None, opacity: Any, result_on_page: Any = "",
                                 colour_blind_safe: Any = False, request: gr.Request = None) -> tuple[Any, ...]:
        """After a run: its result was blended at the opacity of the moment the button was pressed, in the model's
        own colours; where the slider moved while it ran, or the colour-blind-safe colours are chosen, the overlay
        and legend follow them now (a run's inputs, those of the API, have no choice of colours)."""
        if not self._moved(shown, opacity, colour_blind_safe):
            return gr.skip(), gr.skip(), gr.skip()
        return self.reblend_segment(shown, opacity, result_on_page, colour_blind_safe, request)

    def reblend_compare_if_moved(self, shown: ShownOverlays | str | None, opacity: Any, result_on_page: Any = "",
                                 colour_blind_safe: Any = False, request: gr.Request = None) -> tuple[Any, ...]:
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
        self.note_colours(request, colour_blind_safe)  # the colours the session's next run is drawn in
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
    def read_pixel(self, shown: ShownOverlays | str | None, class_name: Any, event: MapClick) -> Any:
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
                               result_on_page: Any = "", session: str | None = None) -> list[Any]:
        """For each of the ``networks`` shown, the probability of ``class_name`` at every pixel, drawn from the grid
        its result kept (``pixel_readout.class_probability``: no network runs); none chosen hides the maps.
        ``result_on_page`` (the result's text on the page) tells no result yet from one the server no longer holds.

        Drawn outside Gradio's queue (``segdemo.ui._class_probability_follows``), where anyone may call it as often as they
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
        self._keep_newest_class_maps(f"{session}/{shown.tab}" if session else None,
                                     [path for path in files.values() if path])
        return [gr.update(value=path, visible=True, label=f"{label}: probability of {class_name}" if label
                          else f"Probability of {class_name}") for (label, _, _), path in zip(maps, files.values())]

    def _keep_newest_class_maps(self, tab: str | None, paths: list[str]) -> None:
        """Note a session's tab's newest class probability drawing; delete the one from two drawings back (the one
        just before may still be on its way to the browser), as the opacity slider's re-blends are."""
        if not tab or not paths:
            return
        newest = str(Path(paths[0]).parent)
        before = self._class_map_folders.change(tab, lambda kept: (*(kept or ()), newest)[-2:])
        delete_results((*(before or ()), newest)[:-2])

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


def _ground_truth(loaded: LoadedImage, prediction: Prediction) -> tuple[torch.Tensor | None, str]:
    """The picture's CamVid label at the prediction's size, and its frame's name ("f01290"), where the picture is
    a bundled frame (its label known); else None and ""."""
    example = bundled_example(loaded.image)
    return truth_at(example_labels(example, loaded.image.size) if example else None, prediction), (
        example.frame if example else "")


def _confidence_map(prediction: Prediction) -> Image.Image:
    """Each pixel's highest class probability, viridis from 0 to 1, with its colour bar (both tabs draw it so)."""
    return visualize.heatmap(prediction.confidence, 0.0, 1.0, "viridis", "confidence")


def _boundary_map(prediction: Prediction) -> Image.Image:
    """The entropy on the boundary band, magma from 0 to 1 (in units of log C), over the greyed picture."""
    return visualize.heatmap(prediction.boundary.band_map, 0.0, 1.0, "magma", "entropy / log C",
                             background=prediction.image)


def _tab_of(request: gr.Request | None, shown: ShownOverlays) -> str | None:
    """What a session's tab's notes are kept under ("<session>/segment"): the two tabs of a page share its session,
    each with results of its own. None for an event with no session."""
    session = getattr(request, "session_hash", None)
    return f"{session}/{shown.tab}" if session else None


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
