"""Evaluate a checkpoint on a CamVid split: ``python -m segdemo.evaluate --checkpoint weights/NAME``.

The network runs at the checkpoint's working resolution (``input_size`` in
its config, or ``--input-size``); its class probabilities are resized bilinearly to
the label resolution (360x480 for CamVid) before the argmax, so every figure
is measured against the full-resolution ground truth.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from .checkpoints import CheckpointError, load_checkpoint
from .data.camvid import DEFAULT_ROOT, CamVid, normalize, sequence_of
from .inference import MIRROR_SAMPLES, SINGLE_SCALE, class_logits, class_probabilities, mirrored_samples
from .metrics import SegmentationMeter
from .models import is_bayesian
from .trust import TrustMeter


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
    temperature: float = 1.0,
    mirror: bool = MIRROR_SAMPLES,
    temperature_scope: str = "samples",
    scales: Sequence[float] = SINGLE_SCALE,
) -> torch.Tensor:
    """Class probabilities (N,C,H,W) for uint8 images (N,3,h,w), run at ``input_size``, resized to ``out_size``.

    Bayesian models with ``samples > 1`` average that many Monte-Carlo
    dropout samples (the Bayesian SegNet paper's evaluation), half of them on
    the mirrored images unless ``mirror`` is off, as ``predict`` does. ``temperature``
    (applied where ``temperature_scope`` says) calibrates them as ``predict`` does,
    and ``scales`` (the checkpoint's ``test_scales``) are the resolutions it runs at.
    """
    x = network_input(model, images, input_size, mean, std)
    probs, _ = class_probabilities(
        model, x, samples=samples, seed=seed, temperature=temperature, mirror=mirror, temperature_scope=temperature_scope,
        scales=scales,
    )
    out_size = out_size or tuple(images.shape[-2:])
    if tuple(probs.shape[-2:]) != tuple(out_size):
        probs = F.interpolate(probs, size=out_size, mode="bilinear", align_corners=False)
    return probs


def network_input(
    model: nn.Module, images: torch.Tensor, input_size: tuple[int, int], mean: tuple[float, ...], std: tuple[float, ...]
) -> torch.Tensor:
    """uint8 images (N,3,h,w) normalised and resized (antialiased) to the working resolution, on the model's device."""
    device = next(model.parameters()).device
    x = normalize(images.to(device), mean, std)
    if tuple(x.shape[-2:]) != tuple(input_size):
        x = F.interpolate(x, size=input_size, mode="bilinear", align_corners=False, antialias=True)
    return x


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
    temperature: float = 1.0,
    trust: TrustMeter | None = None,
    mirror: bool = MIRROR_SAMPLES,
    temperature_scope: str = "samples",
    scales: Sequence[float] = SINGLE_SCALE,
) -> dict[str, Any]:
    """Metrics of ``model`` (put in eval mode) over every frame of ``dataset``.

    The label maps come from the probabilities at ``temperature`` (as served).
    With a ``trust`` meter the same pass also feeds its calibration and
    error-detection figures (``meter.summary()`` after the call).
    """
    was_training = model.training
    model.eval()
    meter = SegmentationMeter(num_classes=model.num_classes, with_boundary_f1=boundary_f1)
    indices = range(0, len(dataset), batch_size)
    for start in tqdm(indices, desc="evaluate", disable=not progress, leave=False):
        batch = [dataset[i] for i in range(start, min(start + batch_size, len(dataset)))]
        images = torch.stack([image for image, _ in batch])
        labels = torch.stack([label for _, label in batch])
        if trust is None:
            scores = predict_scores(
                model, images, input_size, mean, std, tuple(labels.shape[-2:]), samples=samples,
                temperature=temperature, mirror=mirror, temperature_scope=temperature_scope, scales=scales,
            )
        else:
            x = network_input(model, images, input_size, mean, std)
            single = class_logits(model, x, samples=1, scales=scales) if trust.wants_single_pass else None
            scores = trust.update(class_logits(model, x, samples=samples, mirror=mirror, scales=scales), labels, single)
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


def format_trust(confidence: dict[str, Any]) -> str:
    """Calibration before/after temperature scaling and the error-detection AUROCs, as plain text."""
    calibration, errors = confidence["calibration"], confidence["error_detection"]
    lines = [f"temperature      {calibration['temperature']:.3f}"]
    for name, block in (("T=1", calibration["uncalibrated"]), ("as served", calibration["calibrated"])):
        lines.append(
            f"{name:<16} ECE {100 * block['ece']:5.2f}%  NLL {block['nll']:.4f}  Brier {block['brier']:.4f}"
        )
    for count, blocks in calibration.get("by_samples", {}).items():
        lines.append(
            f"{count} sample(s)      ECE {100 * blocks['uncalibrated']['ece']:5.2f}% at T=1, "
            f"{100 * blocks['calibrated']['ece']:5.2f}% with the temperature"
        )
    for region in ("all", "band"):
        aurocs = ", ".join(
            f"{score} {errors[region][score]['auroc']:.3f}" for score in errors["scores"] if errors[region][score]["auroc"] is not None
        )
        lines.append(f"AUROC ({region:<4})     {aurocs}  (error rate {100 * (errors[region]['error_rate'] or 0):.1f}%)")
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
    parser.add_argument(
        "--sequence", nargs="+", default=[], help="only frames of these sequences (e.g. --split train --sequence 0006R0)"
    )
    parser.add_argument("--input-size", type=int, nargs=2, metavar=("H", "W"), help="override the working resolution")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--samples", type=int, default=8, help="Monte-Carlo samples for Bayesian models (1: dropout off)")
    parser.add_argument(
        "--no-mirror", action="store_true", help="sample every Monte-Carlo pass on the picture itself, none on its mirror image"
    )
    parser.add_argument(
        "--scales", type=float, nargs="+", help="run at the working resolution times these (default: the checkpoint's test_scales)"
    )
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch's default)")
    parser.add_argument("--out", type=Path, help="JSON to write (default: CHECKPOINT/eval.json for val, eval-SPLIT.json otherwise)")
    args = parser.parse_args(argv)

    if args.threads:
        torch.set_num_threads(args.threads)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    try:  # a wrong path or split gets one line, not a traceback
        checkpoint = load_checkpoint(args.checkpoint, device=device)
        dataset = CamVid(root=args.data, split=args.split, sequences=tuple(args.sequence))
    except (CheckpointError, FileNotFoundError, ValueError) as error:
        parser.exit(2, f"evaluate: {error}\n")
    config = checkpoint.config
    input_size = tuple(args.input_size) if args.input_size else checkpoint.input_size
    started = time.perf_counter()
    samples = args.samples if is_bayesian(checkpoint.model) else 1
    scales = tuple(args.scales) if args.scales else checkpoint.test_scales
    trust = TrustMeter(
        temperature=checkpoint.temperature, samples=samples, ignore_index=config.get("void_index", 11),
        temperature_scope=checkpoint.temperature_scope,
    )
    summary = evaluate_model(
        checkpoint.model, dataset, input_size, config["mean"], config["std"], args.batch_size, progress=True,
        samples=samples, temperature=checkpoint.temperature, trust=trust, mirror=not args.no_mirror,
        temperature_scope=checkpoint.temperature_scope, scales=scales,
    )
    elapsed = time.perf_counter() - started
    sequences = sorted({sequence_of(image) for image, _ in dataset.pairs})
    confidence = trust.summary()
    fitted_on = config.get("temperature_fitted_on")
    confidence["calibration"]["temperature_fitted_on"] = fitted_on
    confidence["calibration"]["fitted_on_these_frames"] = bool(  # by this network: a donor's fit is another's
        fitted_on and not fitted_on.get("donor") and fitted_on.get("split") == args.split and set(fitted_on.get("sequences") or sequences) & set(sequences)
    )
    print(
        f"{config['architecture']} on {args.data.name}/{args.split} ({len(dataset)} images) at input "
        f"{input_size[0]}x{input_size[1]}"
        + (f", {samples} MC samples ({mirrored_samples(samples, not args.no_mirror)} on the mirror image)" if samples > 1 else "")
        + (f", at scales {', '.join(f'{s:g}' for s in scales)}" if scales != SINGLE_SCALE else "")
    )
    print(format_table(summary, config["class_names"]))
    print(format_trust(confidence))
    result = {
        "architecture": config["architecture"],
        "split": args.split,
        "sequences": sequences,
        "images": len(dataset),
        "data": args.data.name,
        "input_size": list(input_size),
        "samples": samples,
        "mirrored_samples": mirrored_samples(samples, not args.no_mirror),
        "test_scales": list(scales),
        "label_size": list(dataset.labels[0].shape),
        "class_names": config["class_names"],
        **summary,
        **confidence,
        "seconds": round(elapsed, 1),
        "device": device,
    }
    suffix = "" if args.split == "val" and not args.sequence else "-" + "-".join([args.split, *args.sequence])
    out = args.out or args.checkpoint / f"eval{suffix}.json"
    out.write_text(json.dumps(_json_safe(result), indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
