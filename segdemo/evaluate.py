"""Evaluate a checkpoint on a CamVid split: ``python -m segdemo.evaluate --checkpoint weights/NAME``.

The network runs at the checkpoint's working resolution (``input_size`` in
its config, or ``--input-size``); its class scores are resized bilinearly to
the label resolution (360x480 for CamVid) before the argmax, so every figure
is measured against the full-resolution ground truth.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from .checkpoints import load_checkpoint
from .data.camvid import DEFAULT_ROOT, CamVid, normalize
from .inference import class_probabilities
from .metrics import SegmentationMeter
from .models import is_bayesian


@torch.no_grad()
def predict_scores(
    model: nn.Module,
    images: torch.Tensor,
    input_size: tuple[int, int],
    mean: tuple[float, ...],
    std: tuple[float, ...],
    out_size: tuple[int, int] | None = None,
    samples: int = 1,
    seed: int | None = 0,
) -> torch.Tensor:
    """Class probabilities (N,C,H,W) for uint8 images (N,3,h,w), run at ``input_size``, resized to ``out_size``.

    Bayesian models with ``samples > 1`` average that many Monte-Carlo
    dropout samples (the Bayesian SegNet paper's evaluation).
    """
    device = next(model.parameters()).device
    x = normalize(images.to(device), mean, std)
    if tuple(x.shape[-2:]) != tuple(input_size):
        x = F.interpolate(x, size=input_size, mode="bilinear", align_corners=False, antialias=True)
    probs, _ = class_probabilities(model, x, samples=samples, seed=seed)
    out_size = out_size or tuple(images.shape[-2:])
    if tuple(probs.shape[-2:]) != tuple(out_size):
        probs = F.interpolate(probs, size=out_size, mode="bilinear", align_corners=False)
    return probs


def evaluate_model(
    model: nn.Module,
    dataset: CamVid,
    input_size: tuple[int, int],
    mean: tuple[float, ...],
    std: tuple[float, ...],
    batch_size: int = 4,
    boundary_f1: bool = True,
    progress: bool = False,
    samples: int = 1,
) -> dict[str, Any]:
    """Metrics of ``model`` (put in eval mode) over every frame of ``dataset``."""
    was_training = model.training
    model.eval()
    meter = SegmentationMeter(num_classes=model.num_classes, with_boundary_f1=boundary_f1)
    indices = range(0, len(dataset), batch_size)
    for start in tqdm(indices, desc="evaluate", disable=not progress, leave=False):
        batch = [dataset[i] for i in range(start, min(start + batch_size, len(dataset)))]
        images = torch.stack([image for image, _ in batch])
        labels = torch.stack([label for _, label in batch])
        scores = predict_scores(model, images, input_size, mean, std, tuple(labels.shape[-2:]), samples=samples)
        pred = scores.argmax(dim=1)
        meter.update(pred, labels)
    model.train(was_training)
    return meter.summary()


def format_table(summary: dict[str, Any], class_names: list[str]) -> str:
    """A plain-text table of the headline figures and per-class IoU (in %)."""
    lines = [
        f"global accuracy  {100 * summary['global_accuracy']:6.2f}",
        f"class accuracy   {100 * summary['class_accuracy']:6.2f}",
        f"mIoU             {100 * summary['mean_iou']:6.2f}",
        f"boundary F1      {100 * summary['boundary_f1']:6.2f}",
        "",
        f"{'class':<12} {'IoU':>6} {'acc':>6}",
    ]
    for name, iou, acc in zip(class_names, summary["per_class_iou"], summary["per_class_accuracy"]):
        iou_s = "   n/a" if math.isnan(iou) else f"{100 * iou:6.2f}"
        acc_s = "   n/a" if math.isnan(acc) else f"{100 * acc:6.2f}"
        lines.append(f"{name:<12} {iou_s} {acc_s}")
    return "\n".join(lines)


def _json_safe(value: Any) -> Any:
    """NaN (a class absent from the split) becomes null, which JSON allows."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", required=True, type=Path, help="folder with config.json + model.safetensors")
    parser.add_argument("--data", type=Path, default=DEFAULT_ROOT, help="CamVid-layout folder (default: shared/data/camvid)")
    parser.add_argument("--split", default="val", help="split file to read: val, train, test, ...")
    parser.add_argument("--input-size", type=int, nargs=2, metavar=("H", "W"), help="override the working resolution")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--samples", type=int, default=8, help="Monte-Carlo samples for Bayesian models (1: dropout off)")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch's default)")
    parser.add_argument("--out", type=Path, help="JSON to write (default: CHECKPOINT/eval.json for val, eval-SPLIT.json otherwise)")
    args = parser.parse_args(argv)

    if args.threads:
        torch.set_num_threads(args.threads)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    checkpoint = load_checkpoint(args.checkpoint, device=device)
    config = checkpoint.config
    input_size = tuple(args.input_size) if args.input_size else checkpoint.input_size
    dataset = CamVid(root=args.data, split=args.split)
    started = time.perf_counter()
    samples = args.samples if is_bayesian(checkpoint.model) else 1
    summary = evaluate_model(
        checkpoint.model, dataset, input_size, config["mean"], config["std"], args.batch_size, progress=True, samples=samples
    )
    elapsed = time.perf_counter() - started
    print(
        f"{config['architecture']} on {args.data.name}/{args.split} ({len(dataset)} images) at input "
        f"{input_size[0]}x{input_size[1]}" + (f", {samples} MC samples" if samples > 1 else "")
    )
    print(format_table(summary, config["class_names"]))
    result = {
        "architecture": config["architecture"],
        "split": args.split,
        "images": len(dataset),
        "data": str(args.data),
        "input_size": list(input_size),
        "samples": samples,
        "label_size": list(dataset.labels[0].shape),
        "class_names": config["class_names"],
        **summary,
        "seconds": round(elapsed, 1),
        "device": device,
    }
    out = args.out or args.checkpoint / ("eval.json" if args.split == "val" else f"eval-{args.split}.json")
    out.write_text(json.dumps(_json_safe(result), indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
