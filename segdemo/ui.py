"""The Gradio app: Segment, Compare and Models tabs, with /segment and /compare API endpoints.

The handlers (``SegmentationService.segment`` / ``.compare``) are plain
functions of a file path and a few settings, so the UI, gradio_client and
the tests all go through the same code.
"""

from __future__ import annotations

import base64
import json
import math
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import gradio as gr
import torch

from . import visualize
from .analysis import compare_predictions, example_ground_truth, prediction_figures
from .imagefiles import ImageWriter, write_images
from .images import ImageError, load_image
from .memory import release_free_memory
from .inference import DEFAULT_SAMPLES, MAX_SAMPLES, Prediction, predict
from .models import MODELS, count_macs, is_bayesian
from .zoo import DEFAULT_FCN, DEFAULT_MODEL, DEFAULT_SEGNET, LoadedModel

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"
QUEUE_SIZE = int(os.environ.get("SEGDEMO_QUEUE_SIZE", "16"))  # beyond this, visitors are told to try again
CONCURRENCY = 1  # one inference at a time: torch already uses every core
MAX_UPLOAD = "50mb"  # the server refuses larger uploads (segdemo.images.MAX_FILE_BYTES matches)
OUT_OF_MEMORY = (
    "The server ran out of memory on this picture; nothing else was affected. "
    "Please try a smaller picture, or again in a moment."
)

CSS = """
.segdemo-legend {display:flex; flex-wrap:wrap; gap:6px 14px; font-size:0.92em}
.segdemo-legend-item {display:inline-flex; align-items:center; gap:6px}
.segdemo-swatch {width:14px; height:14px; border-radius:3px; display:inline-block; border:1px solid #0003}
"""


class UploadImage(gr.Image):
    """``gr.Image`` that hands the uploaded file itself to ``segdemo.images``.

    Gradio's own preprocessing opens every upload with PIL before our code
    runs, so a corrupt file or a decompression bomb would fail there with a
    generic error. Passing the path on lets ``load_image`` check limits first
    and explain any refusal.
    """

    is_template = True  # rendered by the frontend's ordinary Image component

    def preprocess(self, payload: Any) -> str | bytes | None:
        if payload is None:
            return None
        if payload.path is None and payload.url and payload.url.startswith("data:"):
            return base64.b64decode(payload.url.split(",", 1)[-1])
        return payload.path


def example_images() -> list[Path]:
    return sorted(p for p in EXAMPLES_DIR.glob("*.jpg"))


class SegmentationService:
    """Holds the loaded models and turns requests into pictures and figures."""

    def __init__(self, models: dict[str, LoadedModel]) -> None:
        self.models = models

    # -- helpers -------------------------------------------------------
    def labels(self) -> list[tuple[str, str]]:
        return [(m.entry.label, name) for name, m in self.models.items()]

    def _model(self, name: str) -> LoadedModel:
        if name not in self.models:
            raise gr.Error(f"Unknown model '{name}'. Choose one of: {', '.join(self.models)}.")
        model = self.models[name]
        if not model.ready:
            raise gr.Error(f"{model.entry.label} is not available right now: {model.error}")
        return model

    def _default(self, family: str) -> str:
        preferred = DEFAULT_SEGNET if family == "SegNet" else DEFAULT_FCN
        candidates = [preferred] + [n for n, m in self.models.items() if m.entry.family == family]
        for name in candidates:
            if name in self.models and self.models[name].ready:
                return name
        raise gr.Error(f"No {family} model is available right now.")

    @staticmethod
    def _load(image: Any):
        if image is None:
            raise gr.Error("Please upload a picture first (or pick one of the examples).")
        try:
            return load_image(image)
        except ImageError as error:
            raise gr.Error(str(error)) from None

    @staticmethod
    def _samples(samples: Any) -> int:
        try:
            value = int(samples)
        except (TypeError, ValueError):
            raise gr.Error("The number of Monte-Carlo samples must be a whole number.") from None
        if not 1 <= value <= MAX_SAMPLES:
            raise gr.Error(f"Monte-Carlo samples must be between 1 and {MAX_SAMPLES}.")
        return value

    @staticmethod
    def _opacity(opacity: Any) -> float:
        try:
            value = float(opacity)
        except (TypeError, ValueError):
            raise gr.Error("The overlay opacity must be a number between 0 and 1.") from None
        return min(max(value, 0.0), 1.0) if math.isfinite(value) else 0.55

    @staticmethod
    def _seed(seed: Any) -> int:
        try:
            return int(seed) if seed is not None and not (isinstance(seed, float) and math.isnan(seed)) else 0
        except (TypeError, ValueError):
            raise gr.Error("The seed must be a whole number.") from None

    def _predict(self, loaded, model: LoadedModel, samples: int, seed: int) -> Prediction:
        return predict(loaded.image, model.checkpoint, samples=samples, seed=seed, notes=loaded.notes)

    # -- endpoints -----------------------------------------------------
    def segment(self, image: Any, model_name: str, opacity: float, samples: Any, seed: Any):
        """Overlay, confidence, boundary uncertainty, mutual information, class table, legend, info, figures."""
        with failures_explained():
            return self._segment(image, model_name, opacity, samples, seed)

    def compare(self, image: Any, opacity: float, samples: Any, seed: Any):
        """FCN and SegNet side by side, where they disagree, and figures for the seed's claims."""
        with failures_explained():
            return self._compare(image, opacity, samples, seed)

    def _segment(self, image: Any, model_name: str, opacity: float, samples: Any, seed: Any):
        started = time.perf_counter()
        model = self._model(model_name)
        loaded = self._load(image)
        samples, seed, opacity = self._samples(samples), self._seed(seed), self._opacity(opacity)
        prediction = self._predict(loaded, model, samples, seed)
        config = model.checkpoint.config
        names, palette = config["class_names"], config["palette"]
        files = ImageWriter()  # each picture is encoded while the next one is drawn
        files.add("picture", prediction.image)
        files.add("overlay", visualize.overlay(prediction.image, prediction.labels, palette, opacity))
        files.add("confidence", visualize.heatmap(prediction.confidence, 0.0, 1.0, "viridis", "confidence"))
        files.add(
            "band",
            visualize.heatmap(prediction.boundary.band_map, 0.0, 1.0, "magma", "entropy / log C", background=prediction.image),
        )
        mi = None
        if prediction.mutual_information is not None:
            top = max(float(prediction.mutual_information.max()), 1e-3)
            mi = visualize.heatmap(prediction.mutual_information, 0.0, top, "cividis", "mutual info. (nats)")
        files.add("mutual_information", mi)
        shares = prediction.class_shares()
        table = visualize.class_table(shares, names, prediction.class_confidences())
        legend = visualize.legend_html(shares, names, palette)
        figures = prediction_figures(prediction, model.entry.name, model.describe())
        info = _info_markdown(prediction, model, figures)
        paths = files.paths()
        figures["handler_seconds"] = round(time.perf_counter() - started, 4)  # decoding to written files
        return (
            (paths["picture"], paths["overlay"]),
            paths["confidence"],
            paths["band"],
            gr.update(value=paths["mutual_information"], visible=mi is not None),
            table,
            legend,
            info,
            figures,
        )

    def _compare(self, image: Any, opacity: float, samples: Any, seed: Any):
        loaded = self._load(image)
        samples, seed, opacity = self._samples(samples), self._seed(seed), self._opacity(opacity)
        fcn, segnet = self._model(self._default("FCN")), self._model(self._default("SegNet"))
        p_fcn = self._predict(loaded, fcn, samples, seed)
        p_segnet = self._predict(loaded, segnet, samples, seed)
        truth = example_ground_truth(loaded.image)
        palette = segnet.checkpoint.config["palette"]
        names = segnet.checkpoint.config["class_names"]
        rows, headline = compare_predictions(p_fcn, p_segnet, names, truth)
        fcn_overlay = visualize.overlay(p_fcn.image, p_fcn.labels, palette, opacity)
        segnet_overlay = visualize.overlay(p_segnet.image, p_segnet.labels, palette, opacity)
        fcn_band = visualize.heatmap(p_fcn.boundary.band_map, 0.0, 1.0, "magma", "entropy / log C", background=p_fcn.image)
        segnet_band = visualize.heatmap(
            p_segnet.boundary.band_map, 0.0, 1.0, "magma", "entropy / log C", background=p_segnet.image
        )
        differ = visualize.disagreement(p_fcn.image, p_fcn.labels, p_segnet.labels)
        files = write_images(
            {"fcn_overlay": fcn_overlay, "segnet_overlay": segnet_overlay, "fcn_band": fcn_band,
             "segnet_band": segnet_band, "disagreement": differ}
        )
        table = [[row["figure"], row["fcn"], row["segnet"], row["reading"]] for row in rows]
        return (files["fcn_overlay"], files["segnet_overlay"], files["fcn_band"], files["segnet_band"],
                files["disagreement"], table, headline)

    def models_markdown(self) -> str:
        return _models_markdown(self.models)

    def per_class_table(self) -> tuple[list[str], list[list[Any]]]:
        return _per_class_table(self.models)


@contextmanager
def failures_explained() -> Iterator[None]:
    """A request that fails half-way (out of memory on a huge picture) gets a plain message.

    Only that request fails: its tensors are freed as the exception unwinds,
    and the server, the loaded models and the other visitors' requests carry
    on (tests/test_faults.py caps the server's memory to show it). Every
    request, failed or not, ends with ``release_free_memory``, which hands
    freed pages back once the server has grown past its headroom.
    """
    try:
        yield
    except gr.Error:
        raise
    except MemoryError:
        raise gr.Error(OUT_OF_MEMORY) from None
    except RuntimeError as error:  # torch reports allocation failures (CPU and CUDA) as RuntimeErrors
        if "memory" in str(error).lower():
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            raise gr.Error(OUT_OF_MEMORY) from None
        first_line = str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
        raise gr.Error(f"The model could not process this picture: {first_line}") from None
    finally:
        release_free_memory()  # what this request freed goes back to the system (segdemo/memory.py)


def _info_markdown(prediction: Prediction, model: LoadedModel, figures: dict[str, Any]) -> str:
    h, w = prediction.original_size
    lines = [
        f"**{model.entry.label}** · {prediction.seconds * 1000:.0f} ms on {prediction.device} "
        f"(network {prediction.forward_seconds * 1000:.0f} ms at {prediction.working_size[1]}x{prediction.working_size[0]}) "
        f"· picture {w}x{h}",
        f"Weights: {model.describe()}.",
    ]
    if prediction.samples > 1:
        lines.append(
            f"{prediction.samples} Monte-Carlo dropout samples; mean mutual information "
            f"{figures['mean_mutual_information']:.3f} nats (the model's own uncertainty)."
        )
    elif is_bayesian(model.checkpoint.model):
        lines.append("1 sample: dropout off (weight averaging), so no mutual information.")
    b = prediction.boundary
    lines.append(
        f"Mean confidence {100 * figures['mean_confidence']:.1f}%. Uncertainty on the boundary band "
        f"({100 * figures['band_share']:.0f}% of the picture) is {b.band_mean:.2f} against {b.interior_mean:.2f} "
        f"inside regions: {b.ratio:.1f}x."
    )
    for note in prediction.notes:
        lines.append(f"Note: {note}.")
    return "\n\n".join(lines)


def _models_markdown(models: dict[str, LoadedModel]) -> str:
    parts = []
    for name, model in models.items():
        spec = MODELS[name]
        if not model.ready:
            parts.append(f"### {model.entry.label}\n\nNot available: {model.error}")
            continue
        config = model.checkpoint.config
        params = model.checkpoint.parameters
        macs = count_macs(model.checkpoint.model, tuple(config["input_size"]))
        evaluation = _read_eval(model)
        figures = ""
        if evaluation:
            figures = (
                f"CamVid val ({evaluation['images']} images, labels at {evaluation['label_size'][1]}x{evaluation['label_size'][0]}): "
                f"**mIoU {100 * evaluation['mean_iou']:.1f}**, global accuracy {100 * evaluation['global_accuracy']:.1f}, "
                f"class accuracy {100 * evaluation['class_accuracy']:.1f}, BF {100 * evaluation['boundary_f1']:.1f}"
                + (f" ({evaluation['samples']} MC samples)" if evaluation.get("samples", 1) > 1 else "")
                + "."
            )
        training = config.get("training", {})
        size = config["input_size"]
        parts.append(
            f"### {model.entry.label}\n\n{spec.description}. **{params:,} parameters**, {macs / 1e9:.2f} GMAC per "
            f"pass at its working resolution {size[1]}x{size[0]}; trained from scratch on CamVid train"
            + (
                f" ({training.get('epochs', '?')} epochs planned at {training['size'][1]}x{training['size'][0]} on "
                f"{training.get('device', '?')}; best val mIoU at epoch {config.get('best_epoch', '?')})"
                if training
                else ""
            )
            + (", continuing from the weights of its plain (dropout-free) twin" if training.get("init") else "")
            + f".\n\n{figures}\n\nWeights: {model.describe()}."
        )
    parts.append(
        "### The papers' figures beside ours\n\n"
        "The SegNet paper trained its compact Basic variants from scratch to about **47 mIoU** on CamVid; "
        "ENet reached **51 mIoU** with 0.37M parameters. Those are test-set figures at 360x480; ours are on the "
        "val split (the test split is held out), measured by `python -m segdemo.evaluate`."
    )
    return "\n\n".join(parts)


def _read_eval(model: LoadedModel) -> dict[str, Any] | None:
    path = model.checkpoint.path / "eval.json" if model.checkpoint else None
    if path is None or not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def _per_class_table(models: dict[str, LoadedModel]) -> tuple[list[str], list[list[Any]]]:
    evaluations = {name: _read_eval(m) for name, m in models.items() if m.ready}
    evaluations = {name: e for name, e in evaluations.items() if e}
    headers = ["Class"] + [models[name].entry.label for name in evaluations]
    if not evaluations:
        return headers, []
    names = next(iter(evaluations.values()))["class_names"]
    rows = []
    for index, cls in enumerate(names):
        row: list[Any] = [cls]
        for evaluation in evaluations.values():
            iou = evaluation["per_class_iou"][index]
            row.append(None if iou is None else round(100 * iou, 1))
        rows.append(row)
    rows.append(["mean IoU"] + [round(100 * e["mean_iou"], 1) for e in evaluations.values()])
    return headers, rows


def _examples(rows: list[list[Any]], inputs: list, outputs: list, fn: Any, label: str) -> None:
    """Bundled frames, cached on first use (lazily, so that start-up stays fast), pictures only shown."""
    if rows:
        gr.Examples(
            examples=rows,
            inputs=inputs,
            outputs=outputs,
            fn=fn,
            cache_examples=True,
            cache_mode="lazy",
            label=label,
            visible_columns=[0],
            examples_per_page=6,
            api_visibility="private",
        )


def build_demo(service: SegmentationService) -> gr.Blocks:
    """The whole UI; launch it with ``launch(demo)``."""
    choices = service.labels()
    default_model = DEFAULT_MODEL if DEFAULT_MODEL in service.models else (choices[0][1] if choices else None)
    examples = [str(p) for p in example_images()]

    with gr.Blocks(title="segdemo: FCN vs SegNet") as demo:
        gr.Markdown(
            "# FCN and SegNet, side by side\n"
            "Semantic segmentation of road scenes (CamVid's 11 classes) with networks trained from scratch by this "
            "project. Upload a street picture to see the colour overlay, how confident each pixel is, and where the "
            "network is unsure about boundaries."
        )
        with gr.Tab("Segment"):
            with gr.Row():
                with gr.Column(scale=2) as segment_controls:
                    image = UploadImage(
                        elem_id="segment-picture",
                        label="Picture",
                        type="filepath",
                        image_mode=None,
                        sources=["upload", "clipboard", "webcam"],
                        height=300,
                    )
                    model = gr.Dropdown(choices=choices, value=default_model, label="Model")
                    opacity = gr.Slider(0.0, 1.0, value=0.55, step=0.05, label="Overlay opacity")
                    with gr.Row():
                        samples = gr.Slider(
                            1, MAX_SAMPLES, value=DEFAULT_SAMPLES, step=1, label="Monte-Carlo samples (Bayesian models)"
                        )
                        seed = gr.Number(value=0, precision=0, label="Seed", minimum=0)
                    run = gr.Button("Segment", variant="primary")
                with gr.Column(scale=3):
                    slider = gr.ImageSlider(label="Picture | overlay (drag)", format="png", type="pil")
                    legend = gr.HTML()
                    info = gr.Markdown()
            with gr.Row():
                confidence = gr.Image(label="Confidence (max class probability)", format="png", type="pil")
                band = gr.Image(label="Boundary uncertainty (band around predicted boundaries)", format="png", type="pil")
                mutual = gr.Image(label="Mutual information (model uncertainty)", format="png", type="pil", visible=False)
            with gr.Row():
                table = gr.Dataframe(
                    headers=["Class", "Pixels %", "Mean confidence %"], label="Classes found", interactive=False
                )
            with gr.Accordion("Figures (JSON)", open=False):
                figures = gr.JSON()
            segment_outputs = [slider, confidence, band, mutual, table, legend, info, figures]
            segment_inputs = [image, model, opacity, samples, seed]
            run.click(service.segment, segment_inputs, segment_outputs, api_name="segment", concurrency_id="model")
            with segment_controls:
                _examples(
                    [[path, default_model, 0.55, DEFAULT_SAMPLES, 0] for path in examples],
                    segment_inputs,
                    segment_outputs,
                    service.segment,
                    "CamVid val frames (click one)",
                )

        with gr.Tab("Compare"):
            gr.Markdown(
                "FCN upsamples coarse class scores 8x, so its maps are smooth and miss thin structures; SegNet "
                "upsamples with the encoder's pooling indices and keeps detail, but is less sure where boundaries "
                "lie and mixes classes that overlap (people on bicycles). The figures below measure both on your picture."
            )
            with gr.Row():
                with gr.Column(scale=2) as compare_controls:
                    c_image = UploadImage(
                        elem_id="compare-picture",
                        label="Picture", type="filepath", image_mode=None, sources=["upload", "clipboard", "webcam"], height=260
                    )
                    c_opacity = gr.Slider(0.0, 1.0, value=0.55, step=0.05, label="Overlay opacity")
                    with gr.Row():
                        c_samples = gr.Slider(1, MAX_SAMPLES, value=DEFAULT_SAMPLES, step=1, label="Monte-Carlo samples")
                        c_seed = gr.Number(value=0, precision=0, label="Seed", minimum=0)
                    c_run = gr.Button("Compare", variant="primary")
                with gr.Column(scale=3):
                    c_headline = gr.Markdown()
                    c_table = gr.Dataframe(
                        headers=["Figure", "FCN", "SegNet", "What it shows"], label="Figures", interactive=False, wrap=True
                    )
            with gr.Row():
                fcn_overlay = gr.Image(label="FCN overlay", format="png", type="pil")
                segnet_overlay = gr.Image(label="SegNet overlay", format="png", type="pil")
            with gr.Row():
                fcn_band = gr.Image(label="FCN boundary uncertainty", format="png", type="pil")
                segnet_band = gr.Image(label="SegNet boundary uncertainty", format="png", type="pil")
            differ = gr.Image(label="Where they disagree (magenta)", format="png", type="pil")
            compare_inputs = [c_image, c_opacity, c_samples, c_seed]
            compare_outputs = [fcn_overlay, segnet_overlay, fcn_band, segnet_band, differ, c_table, c_headline]
            c_run.click(service.compare, compare_inputs, compare_outputs, api_name="compare", concurrency_id="model")
            with compare_controls:
                _examples(
                    [[path, 0.55, DEFAULT_SAMPLES, 0] for path in examples],
                    compare_inputs,
                    compare_outputs,
                    service.compare,
                    "CamVid val frames (ground truth known: per-image mIoU and BF)",
                )

        with gr.Tab("Models"):
            gr.Markdown(service.models_markdown())
            headers, rows = service.per_class_table()
            gr.Dataframe(value=rows, headers=headers, label="Per-class IoU on CamVid val (%)", interactive=False)
    return demo


def launch(demo: gr.Blocks, **kwargs: Any) -> None:
    """Queue with a bounded size and one inference at a time, then serve."""
    demo.queue(max_size=QUEUE_SIZE, default_concurrency_limit=CONCURRENCY)
    demo.launch(
        theme=gr.themes.Soft(primary_hue="indigo"),
        css=CSS,
        footer_links=["api", "gradio"],
        max_file_size=MAX_UPLOAD,
        **kwargs,
    )
