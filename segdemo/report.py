"""Print the README's tables from the measured files: ``python -m segdemo.report [--readme README.md] [--plots docs]``.

Every figure comes from ``weights/<name>/eval.json`` (written by
``segdemo.evaluate``) and ``config.json``; nothing is typed by hand. The
models table, the calibration table ("Can you trust the confidence map?")
and, with ``--plots``, its two plots (``segdemo.trustplots``), each also
drawn stacked for a phone.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .checkpoints import load_checkpoint, measured_frames
from .models import MODELS, count_macs, count_parameters
from .zoo import WEIGHTS_DIR


def _pct(value: float | None) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{100 * value:.1f}"


def samples_served(evaluation: dict[str, Any]) -> str:
    """"8 (4 mirrored)": the Monte-Carlo samples behind the figures, and how many saw the mirror image."""
    samples = evaluation.get("samples", 1)
    if samples <= 1:
        return "–"
    mirrored = evaluation.get("mirrored_samples", 0)
    return f"{samples} ({mirrored} mirrored)" if mirrored else str(samples)


def scales_served(evaluation: dict[str, Any]) -> str:
    """"0.75, 1, 1.25": the multiples of the working resolution behind the figures ("1" for one scale)."""
    return ", ".join(f"{s:g}" for s in evaluation.get("test_scales", [1.0]))


def models_table(weights: Path = WEIGHTS_DIR) -> str:
    """Headline figures per shipped model, then per-class IoU, as Markdown."""
    rows, per_class, names, header = [], {}, [], None
    for folder in sorted(p for p in weights.iterdir() if (p / "eval.json").is_file()):
        checkpoint = load_checkpoint(folder)
        evaluation = json.loads((folder / "eval.json").read_text())
        h, w = checkpoint.input_size
        rows.append(
            f"| `{folder.name}` | {MODELS[folder.name].description} | {count_parameters(checkpoint.model) / 1e6:.2f}M "
            f"| {count_macs(checkpoint.model, (h, w)) / 1e9:.2f} | {w}x{h} × {scales_served(evaluation)} "
            f"| {_pct(evaluation['global_accuracy'])} | {_pct(evaluation['class_accuracy'])} "
            f"| **{_pct(evaluation['mean_iou'])}** | {_pct(evaluation['boundary_f1'])} "
            f"| {samples_served(evaluation)} | {measured_frames(evaluation, checkpoint.config)} |"
        )
        per_class[folder.name] = evaluation["per_class_iou"]
        names.append(folder.name)
        header = evaluation["class_names"]
    lines = [
        "| model | what it is | params | GMAC/pass | works at × scales | global acc. | class acc. | mIoU | BF | MC samples | measured on |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        *rows,
    ]
    if header:
        lines += ["", "| class | " + " | ".join(f"`{n}`" for n in names) + " |", "|---" * (len(names) + 1) + "|"]
        for index, cls in enumerate(header):
            lines.append(f"| {cls} | " + " | ".join(_pct(per_class[n][index]) for n in names) + " |")
    return "\n".join(lines)


BEGIN, END = "<!-- models-table: python -m segdemo.report --readme README.md -->", "<!-- /models-table -->"
TRUST_BEGIN, TRUST_END = "<!-- trust-table: python -m segdemo.report --readme README.md -->", "<!-- /trust-table -->"
Cell = Callable[[dict], str]  # one model's cell of a table row


def _evaluations(weights: Path = WEIGHTS_DIR) -> dict[str, dict]:
    """Folder name -> parsed eval.json, for every shipped model that has one."""
    return {
        folder.name: json.loads((folder / "eval.json").read_text())
        for folder in sorted(p for p in weights.iterdir() if (p / "eval.json").is_file())
    }


def _fitted_on(calibration: dict) -> str:
    fitted = calibration.get("temperature_fitted_on")
    if not fitted:
        return "none fitted"
    where = f"{fitted['split']}" + (f" {'+'.join(fitted['sequences'])}" if fitted.get("sequences") else "")
    if fitted.get("shares"):  # a mix of unseen streets and unseen stretches, weighted (segdemo.calibrate --share)
        where += " weighted " + ":".join(f"{weight:g}" for weight in fitted["shares"].values())
    twin = " by the twin run that held them out" if fitted.get("twin") else ""
    if fitted.get("donor"):  # fitted on another run of the recipe, which held out every frame of the fit
        twin = " by a run of the same recipe that held them out"
    return f"{where}, {fitted['images']} frames{twin}" + ("; the frames measured here" if calibration.get("fitted_on_these_frames") else "")


def _temperature_applied_to(evaluation: dict) -> str:
    """Where the temperature acts (eval.json's calibration.temperature_scope; older files: each sample's logits)."""
    calibration = evaluation["calibration"]
    if calibration.get("samples", 1) < 2:
        return "the logits"
    if calibration.get("temperature_scope", "samples") == "averaged":
        return "the samples' averaged probabilities"
    return "each sample's logits"


def trust_table(weights: Path = WEIGHTS_DIR) -> str:
    """Calibration and error-detection figures per shipped model, side by side, as Markdown (from eval.json)."""
    evaluations = {n: e for n, e in _evaluations(weights).items() if "calibration" in e and "error_detection" in e}
    if not evaluations:
        return "(no eval.json with calibration figures yet: run scripts/refresh_eval.sh)"
    names = list(evaluations)

    def row(title: str, cell) -> str:
        return f"| {title} | " + " | ".join(cell(evaluations[n]) for n in names) + " |"

    def change(key: str, scale: float = 1.0, digits: int = 3, unit: str = "") -> Cell:
        def cell(e: dict) -> str:
            c = e["calibration"]
            return f"{scale * c['uncalibrated'][key]:.{digits}f}{unit} → **{scale * c['calibrated'][key]:.{digits}f}{unit}**"
        return cell

    def single_pass(e: dict) -> str:
        blocks = e["calibration"].get("by_samples", {}).get("1")
        return "–" if not blocks else f"{100 * blocks['uncalibrated']['ece']:.1f}% → {100 * blocks['calibrated']['ece']:.1f}%"

    def auroc(region: str, score: str) -> Cell:
        def cell(e: dict) -> str:
            block = e["error_detection"][region]
            value = block.get(score, {}).get("auroc") if score in e["error_detection"]["scores"] else None
            return "–" if value is None else f"{value:.3f}"
        return cell

    def kept(region: str, fraction: float) -> Cell:
        def cell(e: dict) -> str:
            block = e["error_detection"][region]
            curve = block["entropy"]["kept"]
            index = min(range(len(curve["fraction"])), key=lambda i: abs(curve["fraction"][i] - fraction))
            return f"{100 * curve['accuracy'][index]:.1f}% (all: {100 * (1 - block['error_rate']):.1f}%)"
        return cell

    first = evaluations[names[0]]
    lines = [
        f"Measured on CamVid {first['split']}"
        + (f" ({', '.join(first.get('sequences') or [])})" if first.get("sequences") else "")
        + f", {first['images']} frames at {first['label_size'][1]}x{first['label_size'][0]}"
        + (" by the twin runs that held them out (the shipped weights trained on every frame)"
           if any(e.get("measured_on") == "twin" for e in evaluations.values()) else "")
        + ", void excluded; "
        "ECE over 15 equal-width confidence bins; the band is the labelled pixels within 0.75% of the diagonal "
        "(4.5 pixels) of a ground-truth boundary (between two classes, or a class and void).",
        "",
        "| | " + " | ".join(f"`{n}`" for n in names) + " |",
        "|---" * (len(names) + 1) + "|",
        row("temperature T (fitted on)", lambda e: f"{e['calibration']['temperature']:.3f} ({_fitted_on(e['calibration'])})"),
        row("MC samples served", lambda e: samples_served(e).replace("–", "1")),
        row("scales (× working resolution)", scales_served),
        row("T applied to", _temperature_applied_to),
        row("ECE, T = 1 → calibrated", change("ece", 100, 1, "%")),
        row("NLL (nats/pixel), T = 1 → calibrated", change("nll")),
        row("Brier score, T = 1 → calibrated", change("brier")),
        row("mean confidence, T = 1 → calibrated (accuracy)", lambda e: (
            f"{100 * e['calibration']['uncalibrated']['mean_confidence']:.1f}% → "
            f"{100 * e['calibration']['calibrated']['mean_confidence']:.1f}% ({100 * e['calibration']['calibrated']['accuracy']:.1f}%)"
        )),
        row("ECE with dropout off (1 pass), T = 1 → calibrated", single_pass),
        row("AUROC of entropy for errors, all pixels", auroc("all", "entropy")),
        row("AUROC of entropy for errors, boundary band", auroc("band", "entropy")),
        row("AUROC of mutual information, all pixels", auroc("all", "mutual_information")),
        row("AUROC of mutual information, boundary band", auroc("band", "mutual_information")),
        row("accuracy of the 50% most certain pixels", kept("all", 0.5)),
        row("accuracy of the 50% most certain band pixels", kept("band", 0.5)),
        row("share of labelled pixels in the band", lambda e: f"{100 * e['error_detection']['band']['pixels'] / max(e['error_detection']['all']['pixels'], 1):.1f}%"),
    ]
    return "\n".join(lines)


def plot_evaluations(weights: Path = WEIGHTS_DIR) -> dict[str, dict]:
    """The shipped models' eval.json by the label the app shows: what the plots are drawn from."""
    return {_label(n): e for n, e in _evaluations(weights).items()}


def write_plots(directory: Path, weights: Path = WEIGHTS_DIR) -> list[Path]:
    """docs/reliability.png and docs/uncertainty_errors.png from the shipped models' eval.json (with their stacked
    and dark versions: ``trustplots.PLOT_FILES``)."""
    from .trustplots import write_plots as draw

    return draw(plot_evaluations(weights), directory)


def _label(name: str) -> str:
    from .zoo import ZOO

    return ZOO[name].label if name in ZOO else name


def _replace_between(text: str, begin: str, end: str, body: str) -> str:
    start, stop = text.index(begin) + len(begin), text.index(end)
    return text[:start] + "\n" + body + "\n" + text[stop:]


def update_readme(path: Path) -> None:
    """Replace the tables between the README's markers with the freshly measured ones."""
    text = _replace_between(path.read_text(), BEGIN, END, models_table())
    if TRUST_BEGIN in text:
        text = _replace_between(text, TRUST_BEGIN, TRUST_END, trust_table())
    path.write_text(text)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--readme", type=Path, help="rewrite the tables inside this README's markers")
    parser.add_argument("--plots", type=Path, metavar="DIR", help="also draw the calibration plots into DIR (docs)")
    args = parser.parse_args(argv)
    if args.plots:
        for path in write_plots(args.plots):
            print(f"wrote {path}")
    if args.readme:
        update_readme(args.readme)
        print(f"updated {args.readme}")
    else:
        print(models_table())
        print()
        print(trust_table())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
