"""Print the README's models table from the measured files: ``python -m segdemo.report``.

Every figure comes from ``weights/<name>/eval.json`` (written by
``segdemo.evaluate``) and ``config.json``; nothing is typed by hand.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from .checkpoints import load_checkpoint
from .models import MODELS, count_macs, count_parameters
from .zoo import WEIGHTS_DIR


def _pct(value: float | None) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{100 * value:.1f}"


def models_table(weights: Path = WEIGHTS_DIR) -> str:
    """Headline figures per shipped model, then per-class IoU, as Markdown."""
    rows, per_class, names, header = [], {}, [], None
    for folder in sorted(p for p in weights.iterdir() if (p / "eval.json").is_file()):
        checkpoint = load_checkpoint(folder)
        evaluation = json.loads((folder / "eval.json").read_text())
        h, w = checkpoint.input_size
        training = checkpoint.config.get("training", {})
        samples = evaluation.get("samples", 1)
        rows.append(
            f"| `{folder.name}` | {MODELS[folder.name].description} | {count_parameters(checkpoint.model) / 1e6:.2f}M "
            f"| {count_macs(checkpoint.model, (h, w)) / 1e9:.2f} | {w}x{h} "
            f"| {_pct(evaluation['global_accuracy'])} | {_pct(evaluation['class_accuracy'])} "
            f"| **{_pct(evaluation['mean_iou'])}** | {_pct(evaluation['boundary_f1'])} "
            f"| {samples if samples > 1 else '–'} | {checkpoint.config.get('best_epoch', '?')}/{training.get('epochs', '?')} |"
        )
        per_class[folder.name] = evaluation["per_class_iou"]
        names.append(folder.name)
        header = evaluation["class_names"]
    lines = [
        "| model | what it is | params | GMAC/pass | works at | global acc. | class acc. | mIoU | BF | MC samples | best epoch |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        *rows,
    ]
    if header:
        lines += ["", "| class | " + " | ".join(f"`{n}`" for n in names) + " |", "|---" * (len(names) + 1) + "|"]
        for index, cls in enumerate(header):
            lines.append(f"| {cls} | " + " | ".join(_pct(per_class[n][index]) for n in names) + " |")
    return "\n".join(lines)


BEGIN, END = "<!-- models-table: python -m segdemo.report --readme README.md -->", "<!-- /models-table -->"


def update_readme(path: Path) -> None:
    """Replace the table between the README's markers with the freshly measured one."""
    text = path.read_text()
    start, stop = text.index(BEGIN) + len(BEGIN), text.index(END)
    path.write_text(text[:start] + "\n" + models_table() + "\n" + text[stop:])


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--readme", type=Path, help="rewrite the table inside this README's markers")
    args = parser.parse_args(argv)
    if args.readme:
        update_readme(args.readme)
        print(f"updated {args.readme}")
    else:
        print(models_table())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
