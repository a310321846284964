"""The words the app shows beside its pictures: the info line, the maps' caption and the Models tab.

Every figure in them is read from the request's prediction or from the
checkpoint's ``config.json`` and ``eval.json`` (how it was trained, the
temperature and the frames it was fitted on, what it scored), never typed
by hand, so new weights bring their own description.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from .checkpoints import measured_frames
from .devices import describe_device
from .inference import Prediction
from .metrics import BF_TOLERANCE
from .models import MODELS, count_macs, is_bayesian
from .pixel_readout import PixelReading
from .report import scales_served
from .uncertainty import BoundaryUncertainty
from .zoo import LoadedModel

log = logging.getLogger(__name__)


def band_against_interior(b: BoundaryUncertainty, band_share: float) -> str:
    """The boundary band's uncertainty against the inside of regions, in words where one of them is empty."""
    if b.band_mean is None:
        return ("No class boundary in this picture, so no boundary band: the picture's mean uncertainty (entropy / "
                f"log C, from 0 to 1) is {b.interior_mean:.2f}.")
    if b.interior_mean is None:
        return (f"The boundary band covers the whole picture (uncertainty {b.band_mean:.2f}): no region is wide "
                "enough to have an inside to compare it with.")
    ratio = f": {b.ratio:.1f}x" if b.ratio is not None else ", where the network is certain"
    return (f"Uncertainty on the boundary band ({100 * band_share:.0f}% of the picture) is {b.band_mean:.2f} against "
            f"{b.interior_mean:.2f} inside regions{ratio}.")


def info_markdown(prediction: Prediction, model: LoadedModel, figures: dict[str, Any]) -> str:
    h, w = prediction.original_size
    work_h, work_w = prediction.working_size
    # a thumbnail is enlarged many times for the network, which sees only blur: say so beside its size
    enlarged = f" (enlarged ×{work_w / w:.0f} for the network)" if work_w >= 2 * w else ""
    lines = [
        f"**{model.entry.label}** · {prediction.seconds * 1000:.0f} ms on {prediction.device} "
        f"(network {prediction.forward_seconds * 1000:.0f} ms at {work_w}x{work_h}) "
        f"· picture {w}x{h}{enlarged}",
        f"Weights: {model.describe_for_visitors()}.",
    ]
    if prediction.samples > 1:
        lines.append(
            f"{prediction.samples} Monte-Carlo dropout samples"
            + (f" ({prediction.mirrored_samples} of them on the mirrored picture)" if prediction.mirrored_samples else "")
            + "; mean mutual information "
            f"{figures['mean_mutual_information']:.3f} nats (the samples' disagreement: dropout's and the views')."
        )
    elif is_bayesian(model.checkpoint.model):
        lines.append("1 sample: dropout off (weight averaging), so no mutual information.")
    if len(prediction.scales) > 1:
        lines.append(
            f"Run at {len(prediction.scales)} scales of the working resolution (×{', ×'.join(f'{s:g}' for s in prediction.scales)}), "
            + ("the samples shared among them." if prediction.samples > 1 else "their class scores averaged.")
        )
    lines.append(f"Mean confidence {100 * figures['mean_confidence']:.1f}%. " + band_against_interior(prediction.boundary,
                                                                                                  figures["band_share"]))
    for note in prediction.notes:
        lines.append(f"Note: {no_links(note)}.")
    return "\n\n".join(lines)


def no_links(text: str) -> str:
    """``text`` as Markdown that shows it and links nothing: a note can hold the uploader's words (a colour
    profile's description), and Gradio's Markdown made a "www.x.example" in them a link. Each dot escaped, no
    address is recognised; the text reads the same."""
    return text.replace("\\", "\\\\").replace(".", "\\.")


def temperature_note(config: dict[str, Any]) -> str:
    """How the confidence was calibrated, read from config.json (``segdemo.calibrate`` writes it), for the Models tab
    and a model with no short note (``temperature_in_short`` says it for one run, by its samples)."""
    temperature = config.get("temperature")
    if temperature is None:
        return "not calibrated: no temperature was fitted for these weights, so it is the network's raw softmax"
    fitted = config.get("temperature_fitted_on") or {}
    frames = f"CamVid {fitted.get('split', '?')}"
    if fitted.get("sequences"):
        frames += f" (sequence {', '.join(fitted['sequences'])})"
    if fitted.get("images"):
        frames += f", {fitted['images']} frames"
    if fitted.get("shares"):  # a mix of kinds of unseen frames, weighted (segdemo.calibrate --share)
        frames += ", their pixels weighted " + " : ".join(f"{seq} {weight:g}" for seq, weight in fitted["shares"].items())
    if fitted.get("donor"):  # the twin trained on some of them: a run of the same recipe that held them all out fitted it
        frames += ", by a run of the same recipe that never trained on them"
    elif fitted.get("twin"):  # these weights trained on every frame: a twin run held the fitting frames out
        frames += ", for a twin run (same schedule) that never trained on them"
    if config.get("temperature_scope") == "averaged":  # a Bayesian model: see segdemo.calibration.tempered_mean
        how = f"the Monte-Carlo samples' averaged probabilities p are tempered to softmax(log p / {temperature:.2f})"
    else:
        how = f"the logits are divided by a temperature of {temperature:.2f}"
    return f"calibrated: {how}, fitted by minimising NLL on {frames}"


def temperature_in_short(config: dict[str, Any], samples: int | None = None) -> str:
    """What the temperature does, for a visitor under the maps, and that it was fitted on unseen frames, without the
    fit's bookkeeping (NLL, the frames' weights, the run that fitted it: ``temperature_note``, on the Models tab). The
    caption had read "fitted by minimising NLL on CamVid train (sequence 0001TP, 0006R0), 132 frames, their pixels
    weighted 0001TP 62 : 0006R0 171, by a run of the same recipe that never trained on them". "" uncalibrated."""
    temperature = config.get("temperature")
    if temperature is None:
        return ""
    if config.get("temperature_scope") == "averaged" and samples == 1:
        how = (f"With dropout off there are no samples to average: a temperature of {temperature:.2f} divides the "
               "network's scores")
    elif config.get("temperature_scope") == "averaged":
        how = f"A temperature of {temperature:.2f} softens the average of the network's Monte-Carlo samples"
    else:
        how = f"A temperature of {temperature:.2f} divides the network's scores"
    sequences = (config.get("temperature_fitted_on") or {}).get("sequences")
    where = f" (sequences {', '.join(sequences)})" if sequences else ""
    return f"{how}, fitted on CamVid frames it never trained on{where}: how, on the Models tab."


def calibration_line(config: dict[str, Any], evaluation: dict[str, Any] | None) -> str:
    """The Models tab's calibration figures for one model (from eval.json), or what is known without them."""
    line = f"Confidence {temperature_note(config)}."
    if not evaluation or "calibration" not in evaluation:
        return line
    calibration, errors = evaluation["calibration"], evaluation["error_detection"]
    before, after = calibration["uncalibrated"], calibration["calibrated"]
    line += (
        f" On CamVid {measured_frames(evaluation, config)}: **ECE {100 * before['ece']:.1f}% → "
        f"{100 * after['ece']:.1f}%** with the temperature, NLL {before['nll']:.3f} → {after['nll']:.3f}, "
        f"Brier {before['brier']:.3f} → {after['brier']:.3f}."
    )
    fitted = calibration.get("temperature_fitted_on") or {}
    shared = [seq for seq in evaluation.get("sequences") or [] if seq in (fitted.get("sequences") or [])]
    if calibration.get("fitted_on_these_frames") or (shared and fitted.get("split") == evaluation.get("split")):
        where = f"the frames of {', '.join(shared)}" if shared else "these frames"
        line += f" That ECE is in part in-sample: {where} were among those the temperature was fitted on."
    single = calibration.get("by_samples", {}).get("1")
    if single:
        line += f" With dropout off (one pass) the ECE is {100 * single['uncalibrated']['ece']:.1f}% at T = 1."
    aurocs = [f"{score.replace('_', ' ')} {errors['all'][score]['auroc']:.3f}" for score in errors["scores"]
              if errors["all"][score]["auroc"] is not None]
    if aurocs:
        line += f" Uncertainty as an error detector, AUROC: {', '.join(aurocs)} (boundary band: " + ", ".join(
            f"{errors['band'][score]['auroc']:.3f}" for score in errors["scores"] if errors["band"][score]["auroc"] is not None
        ) + ")."
    return line


def maps_caption(model: LoadedModel, errors: dict[str, Any], mutual_information_top: float | None = None,
                 samples: int | None = None) -> str:
    """Under the maps, in their order on a wide screen: whether the confidence is calibrated and on which frames, what
    the error map shows, what the boundary uncertainty is, and the mutual information's scale (it is the picture's).
    ``samples``: the Monte-Carlo samples of this run, whose calibration is quoted where eval.json measured it (the
    served count's figure is not this run's: 1.2% at 8 samples was 4.6% with dropout off)."""
    config = model.checkpoint.config
    calibrated = config.get("temperature") is not None
    lines = ["**Confidence** (each pixel's highest class probability) is " + (
        "calibrated, so that pixels shown at 80% are right about 80% of the time." if calibrated else
        f"{temperature_note(config)}.")]
    evaluation = read_eval(model)
    if config.get("temperature") is not None and evaluation and "calibration" in evaluation:
        c = evaluation["calibration"]
        served = c.get("samples")
        block, this_run = c, ""
        if samples is not None and served is not None and samples != served:
            measured = (c.get("by_samples") or {}).get(str(samples))
            run = "with dropout off (1 sample)" if samples == 1 else f"at {samples} samples"
            if measured:
                block = measured
                this_run = (f" {run}, as in this run; the temperature was fitted for the served {served} samples, at "
                            f"which it is {100 * c['calibrated']['ece']:.1f}%")
            else:
                this_run = f" at the served {served} samples; this run took {samples}, at which it was not measured"
        lines[0] += (
            f" On CamVid {measured_frames(evaluation, config)}, the gap between confidence and accuracy is "
            f"{100 * block['calibrated']['ece']:.1f}% ({100 * block['uncalibrated']['ece']:.1f}% without the "
            f"temperature){this_run}."
        )
    if calibrated:
        lines[0] += " " + temperature_in_short(config, samples)
    lines[0] += (" The networks know only road scenes like CamVid's: on a picture unlike them (indoors, a face, an "
                 "animal, a page of text, a drawing) the labels mean little and no calibration holds; the Compare "
                 "tab says when a picture looks unlike them.")
    if errors.get("ground_truth"):
        auroc = errors.get("entropy_auroc")
        lines.append(
            f"**Errors** against this CamVid frame's labels (red): {100 * (errors['error_rate'] or 0):.1f}% of the "
            "labelled pixels are wrong"
            + (f"; ranked by entropy, the errors come out less certain than the right pixels with AUROC {auroc:.2f} "
               "(1: every error less certain than every right pixel, 0.5: chance)" if auroc is not None else "")
            + "."
        )
    lines.append(
        "**Boundary uncertainty** is the entropy of the class probabilities (0: sure, 1: all classes equally likely) "
        f"on a band of {100 * BF_TOLERANCE:.2g}% of the picture's diagonal around the predicted class boundaries; "
        "the rest of the picture is greyed."
    )
    if mutual_information_top is not None:
        lines.append(
            "**Mutual information** is how much the network's samples disagree about each pixel's class (in nats; "
            "0: they all agree). Each is a dropout pass, whose disagreement is the network's own uncertainty, "
            "which more training data would reduce; they are spread over the picture, its mirror image and two "
            "scales, so it counts how the views differ too (about half of it on a bundled frame). The entropy also "
            "counts what is ambiguous in the picture itself. Its colour scale runs from 0 to "
            f"this picture's highest value, {mutual_information_top:.2f} nats: compare pictures by the figures, "
            "not by the colours."
        )
    if not errors.get("ground_truth"):
        lines.append(
            "No ground truth for this picture, so no error map: only the bundled CamVid frames (or a copy of one, "
            "re-encoded or resized) come with labels."
        )
    return "\n\n".join(lines)


PIXEL_HINT = ("**Click or tap any map** (the overlay too) to read, at that pixel, each class's probability and the "
              "uncertainty figures the maps show there (the network does not run again); a ring marks the pixel on every "
              "map. On a keyboard: Tab to a map, then Enter, and the arrow keys to move (Shift: finer steps, one pixel where "
              "the map is shown at its full size).")
RANKS = ("1st", "2nd", "3rd")
PIXEL_ANCHOR = "segdemo-at"  # the readout's class naming the pixel read: segdemo-at-<x>-<y>-<width>-<height>


def pixel_markdown(readings: list[tuple[str, PixelReading]], class_names: list[str], void_index: int = 11,
                   chosen: int | None = None) -> str:
    """What each network said at the clicked pixel, a column a network: its three likeliest classes, the rest's
    share, the entropy on the boundary map's scale, the mutual information, and, on a CamVid frame, the label.
    ``chosen``: the class whose probability map the visitor drew, given a row of its own where a network does not
    rank it in its three (a click on "probability of Car" read Building, SignSymbol, Tree and "other 8")."""
    first = readings[0][1]
    width, height = first.size
    # the empty span names the pixel for the page's script (segdemo/pixel_readout.js), which rings it on every map
    lines = [f"**At pixel ({first.x}, {first.y})** of the {width}x{height} result:"
             f'<span class="{PIXEL_ANCHOR} {PIXEL_ANCHOR}-{first.x}-{first.y}-{width}-{height}"></span>', "",
             "| | " + " | ".join(label for label, _ in readings) + " |", "|---" * (len(readings) + 1) + "|"]
    for rank, name in enumerate(RANKS):
        cells = [_class_share(reading.classes[rank], class_names, bold=rank == 0) for _, reading in readings]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    ranked = [{index for index, _ in reading.classes[:len(RANKS)]} for _, reading in readings]
    apart = chosen is not None and 0 <= chosen < len(first.classes) and any(chosen not in top for top in ranked)
    if apart:  # the chosen class in each column, and the rest without it where it is not in the three
        lines.append(f"| {_class_name(chosen, class_names)} (chosen) | "
                     + " | ".join(_percent(dict(reading.classes)[chosen]) for _, reading in readings) + " |")
    rest = [sum(p for index, p in reading.classes[len(RANKS):] if not (apart and index == chosen))
            for _, reading in readings]
    others = len(first.classes) - len(RANKS)
    label = ("the rest" if any(chosen in top for top in ranked) else f"other {others - 1}") if apart else f"other {others}"
    lines.append(f"| {label} | " + " | ".join(_percent(share) for share in rest) + " |")
    lines.append("| entropy / log C | "
                 + " | ".join(f"{reading.normalised_entropy:.2f}" for _, reading in readings) + " |")
    if any(reading.mutual_information is not None for _, reading in readings):
        lines.append("| mutual info. | " + " | ".join(
            "–" if r.mutual_information is None else f"{r.mutual_information:.3f} nats" for _, r in readings) + " |")
    if first.truth is not None:
        if first.truth == void_index or first.truth >= len(class_names):
            lines.append("| label: void | " + " | ".join("–" for _ in readings) + " |")
        else:
            lines.append(f"| label: {class_names[first.truth]} | " + " | ".join(
                "right" if reading.classes[0][0] == first.truth else "**wrong**" for _, reading in readings) + " |")
    notes = [("the three likeliest of CamVid's 11 road-scene classes and the rest's share (they add up to 100% "
              "whatever the picture shows); entropy / log C: 0 sure, 1 all classes alike (the boundary map's scale)")]
    if any(reading.mutual_information is not None for _, reading in readings):
        notes.append("mutual information: how much the samples (dropout, mirror, scales) disagree, in nats")
    if first.truth is not None:
        notes.append("label: CamVid's, and whether each network's likeliest class matches it")
    note = "; ".join(notes)
    lines += ["", note[0].upper() + note[1:] + "."]
    return "\n".join(lines)


def _class_name(index: int, class_names: list[str]) -> str:
    return class_names[index] if index < len(class_names) else f"class {index}"


def _class_share(entry: tuple[int, float], class_names: list[str], bold: bool) -> str:
    index, probability = entry
    text = f"{_class_name(index, class_names)} {_percent(probability)}"
    return f"**{text}**" if bold else text


def _percent(probability: float) -> str:
    return "<0.1%" if probability < 0.0005 else f"{100 * probability:.1f}%"


def compare_maps_caption(models: list[LoadedModel]) -> str:
    """Under the Compare tab's maps: whose temperature calibrates each confidence map, and what the band is.

    The two maps sit side by side, so a visitor reads one network's 80% against
    the other's: each is its own network's calibrated probability, as /segment
    serves it, and the caption says by what temperature and on which frames.
    """
    lines = ["**Confidence** is each pixel's highest class probability, as the Segment tab draws it for each network, "
             "calibrated so that pixels shown at 80% are right about 80% of the time:"]
    lines += [f"- {model.entry.label}: " + (temperature_in_short(model.checkpoint.config) or
                                            f"{temperature_note(model.checkpoint.config)}.") for model in models]
    lines.append(
        "\n**Boundary uncertainty** is the entropy of the class probabilities (0: sure, 1: all classes equally "
        f"likely) on a band of {100 * BF_TOLERANCE:.2g}% of the picture's diagonal around each network's own "
        "predicted boundaries; the figures above measure it on the same pixels for both (the label's band on a "
        "bundled frame), as SegNet's own band is the wider."
    )
    return "\n".join(lines)


def models_summary(models: dict[str, LoadedModel]) -> str:
    """The Models tab's first lines: one row a model, its headline figures, before the long account of each. A first
    visitor met 190 words of definitions, then a paragraph a model, before any figure (helper-31's audit)."""
    rows, frames = [], ""
    for model in models.values():
        if not model.ready:
            rows.append(f"| {model.entry.label} | not available | | | |")
            continue
        evaluation = read_eval(model) or {}
        calibrated = (evaluation.get("calibration") or {}).get("calibrated") or {}
        frames = frames or (measured_frames(evaluation, model.checkpoint.config) if evaluation else "")

        def shown(value: float | None, places: int = 1) -> str:
            return "–" if value is None else f"{100 * value:.{places}f}"
        ece = f"{shown(calibrated.get('ece'))}%" if calibrated else "–"
        rows.append(f"| {model.entry.label} | {shown(evaluation.get('mean_iou'))} | "
                    f"{shown(evaluation.get('boundary_f1'))} | {ece} | {model.checkpoint.parameters / 1e6:.1f}M |")
    where = f" on CamVid {frames}" if frames else ""
    return (f"**The models at a glance**{where}; each model's account below says how:\n\n"
            "| Model | mIoU | BF | calibration error (ECE) | parameters |\n|---|---|---|---|---|\n" + "\n".join(rows))


def models_markdown(models: dict[str, LoadedModel]) -> str:
    """Each model's account: what it is, its size, how it was trained, its figures and calibration, its weights.
    The figures' definitions (``FIGURES_EXPLAINED``) are the tab's to show, folded."""
    devices = sorted({describe_device(next(m.checkpoint.model.parameters()).device) for m in models.values() if m.ready})
    parts = [f"**Served on:** {', '.join(devices)}."] if devices else []
    for name, model in models.items():
        spec = MODELS[name]
        if not model.ready:
            parts.append(f"## {model.entry.label}\n\nNot available: {model.error}")
            continue
        config = model.checkpoint.config
        params = model.checkpoint.parameters
        macs = count_macs(model.checkpoint.model, tuple(config["input_size"]))
        evaluation = read_eval(model)
        figures = ""
        if evaluation:
            figures = (
                f"CamVid {measured_frames(evaluation, config)} (labels at {evaluation['label_size'][1]}x{evaluation['label_size'][0]}): "
                f"**mIoU {100 * evaluation['mean_iou']:.1f}**, global accuracy {100 * evaluation['global_accuracy']:.1f}, "
                f"class accuracy {100 * evaluation['class_accuracy']:.1f}, BF {100 * evaluation['boundary_f1']:.1f}"
                + (
                    f" ({evaluation['samples']} MC samples"
                    + (f", {evaluation['mirrored_samples']} on the mirror image)" if evaluation.get("mirrored_samples") else ")")
                    if evaluation.get("samples", 1) > 1
                    else ""
                )
                + (f", at ×{scales_served(evaluation)} the working resolution" if len(evaluation.get("test_scales", [1])) > 1 else "")
                + "."
            )
        training = config.get("training", {})
        size = config["input_size"]
        parts.append(
            f"## {model.entry.label}\n\n{spec.description}. **{params:,} parameters**, {macs / 1e9:.2f} GMAC per "
            f"pass at its working resolution {size[1]}x{size[0]}; {training_line(training)}"
            + f".\n\n{figures}\n\n{calibration_line(config, evaluation)}\n\nWeights: {model.describe()}."
        )
    parts.append(
        "## The papers' figures beside ours\n\n"
        "The SegNet paper trained its compact Basic variants from scratch to about **47 mIoU** on CamVid; "
        "ENet reached **51 mIoU** with 0.37M parameters. Those are test-set figures at 360x480; ours are measured "
        "by `python -m segdemo.evaluate` on the frames named above (CamVid's test split is withheld from this project)."
    )
    return "\n\n".join(parts)


# What the Models tab's figures are, in words for a visitor who has not met them: each is named there by its
# abbreviation, as the papers and the docs name it.
FIGURES_EXPLAINED = (
    "**What the figures mean.** *mIoU* (mean intersection over union): for each class, the pixels that both the "
    "network and the label call that class, over those that either does, averaged over the 11 classes; 100 is "
    "perfect. *Global accuracy*: the share of pixels right; *class accuracy*: that share within each class, averaged. "
    "*BF* (boundary F1): how closely the edges between classes match the label's, within a few pixels. *ECE* "
    "(expected calibration error): how far the confidence shown is from how often it is right (pixels shown at 90% "
    "should be right 90% of the time); 0 is perfect. *NLL* and *Brier*: two more scores of the probabilities, lower "
    "is better. *T*: the temperature the network's scores are divided by before they become probabilities, fitted "
    "to make them honest. *AUROC*: how well the uncertainty tells wrong pixels from right ones (1: every wrong pixel "
    "less certain than every right one; 0.5: chance). *GMAC*: billions of multiply-adds in one pass of the network. "
    "The frames named are of a street the figures' networks never trained on: a twin of each model, trained the same "
    "way without that street, is measured on it."
)
# Classes a street hardly has, by sequence, with their share of its labelled pixels (counted from the CamVid labels
# of its 101 frames): a class's IoU is pooled over the street, so a few false pixels of it outweigh its true ones.
SCARCE_CLASSES = {"0006R0": {"Bicyclist": 0.0007}}


def scarce_classes_note(models: dict[str, LoadedModel]) -> str:
    """Under the per-class table: why a class the measured street hardly has scores 0 (or near it) for every model,
    where a visitor would read that the networks cannot see cyclists. Empty where no such class is scored low."""
    evaluations = [e for m in models.values() if m.ready and (e := read_eval(m))]
    if not evaluations:
        return ""
    names = evaluations[0]["class_names"]
    notes = []
    for sequence in evaluations[0].get("sequences") or []:
        for cls, share in SCARCE_CLASSES.get(sequence, {}).items():
            index = names.index(cls) if cls in names else None
            if index is not None and all((e["per_class_iou"][index] or 0) < 0.1 for e in evaluations):
                notes.append(f"{cls} is {share:.2%} of {sequence}'s labelled pixels")
    if not notes:
        return ""
    return ("Low for every network: " + "; ".join(notes) + ". A class's IoU is pooled over the whole street, so where "
            "it has almost none, a few pixels wrongly called that class outweigh its true ones.")


TRAINED_ON = {"cpu": "the CPU", "cuda": "a GPU"}
# a path in a checkpoint's history ("twins/bayesian_segnet_lite_crops_452", "weights/fcn8s_lite")
PATH = re.compile(r"(?<![\w`])[\w.-]+(?:/[\w.-]+)+")


def trained_on(device: str | None) -> str:
    return TRAINED_ON.get(device) or (f"`{device}`" if device else "an unrecorded device")


def training_line(training: dict[str, Any]) -> str:
    """How a checkpoint was trained, in one clause, from its config's ``training`` block."""
    if not training:
        return "trained from scratch on CamVid"
    frames = training.get("frames")
    where = f"{sum(frames.values())} CamVid frames of {', '.join(frames)}" if frames else "CamVid train"
    if training.get("excluded_frames"):
        where += f" (all but the {len(training['excluded_frames'])} bundled examples)"
    held_out = training.get("held_out") or []
    length = f"{training['budget_minutes']:g} minutes" if training.get("budget_minutes") else f"{training.get('epochs', '?')} epochs"
    crop = f"{training['size'][1]}x{training['size'][0]}"
    return (
        f"trained from scratch on {where}" + (f" ({'+'.join(held_out)} held out)" if held_out else "")
        + f", last phase {length} on {crop} crops on {trained_on(training.get('device'))}"
        # the init is a sentence, not a name: only its paths are code, or the whole of it is set as a code block
        + (f", continuing from {PATH.sub(lambda path: f'`{path.group(0)}`', training['init'])}" if training.get("init") else "")
    )


def read_eval(model: LoadedModel) -> dict[str, Any] | None:
    """The model's measured figures (its eval.json), or None: none measured, or a file that cannot be read, which the
    log says once (the Models tab and the captions then go without its figures)."""
    path = model.checkpoint.path / "eval.json" if model.checkpoint else None
    if path is None or not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        if str(path) not in _UNREADABLE_EVALS:
            _UNREADABLE_EVALS.add(str(path))
            log.warning("%s cannot be read (%s): the page shows the model without its measured figures", path, error)
        return None


_UNREADABLE_EVALS: set[str] = set()  # said once each (read_eval runs on every result)


def per_class_table(models: dict[str, LoadedModel]) -> tuple[list[str], list[list[Any]]]:
    evaluations = {name: read_eval(m) for name, m in models.items() if m.ready}
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
