"""Fit a checkpoint's softmax temperature and store it in its config.json.

    python -m segdemo.calibrate --checkpoint weights/fcn8s_lite --split val
    python -m segdemo.calibrate --checkpoint weights/fcn8s_lite --split train --sequence 0006R0

Temperature scaling (Guo et al. 2017) divides the logits by one scalar T
before the softmax, chosen to minimise the negative log-likelihood of the true
labels on frames the model was **not trained on** (fitting on training frames
would learn the network's over-confidence on what it memorised). ``predict``
then applies it, so every map the app draws is calibrated; evaluate reports
ECE before and after.

The NLL is that of the probabilities exactly as served: the network runs at
its working resolution, each Monte-Carlo sample's logits are divided by T
and softmaxed, the samples are averaged, and the result is resized
bilinearly to the label resolution. For a random subset of labelled pixels
per frame (void excluded) the logits of the four working-resolution
neighbours and their bilinear weights are kept, so the fit holds a few
hundred MB at most and needs one pass of the network.

For a Bayesian model the logits of **each sample** are scaled before the
samples are averaged (not the averaged probabilities afterwards): the
temperature belongs to the network's logits, which every dropout sample
shares, so one T serves any number of samples, including the dropout-off
pass; and the entropy and mutual information the app shows then come from
the same calibrated samples, keeping mutual information = entropy of the
mean - mean entropy exact. Averaging samples already softens the
probabilities, so T is fitted at the number of samples served by default
(8), half of them on the mirrored frames as ``predict`` samples them, and
that number is stored with it. The alternative (one T applied to
the averaged probabilities) is fitted and measured as well and stored under
``scaled_after_averaging``: on the shipped Bayesian SegNet it calibrates a
little better (README), which is the price of the consistency above.

Only config.json changes ("temperature", "temperature_fitted_on"): the zoo's
sha256 pin covers model.safetensors alone.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from .calibration import (
    PROB_FLOOR,
    bilinear_sources,
    expected_calibration_error,
    fit_temperature,
    mixture_nll,
    mixture_probabilities,
    rescale_probabilities,
)
from .checkpoints import CheckpointError, load_checkpoint, write_temperature
from .data.camvid import DEFAULT_ROOT, CamVid, sequence_of
from .evaluate import network_input
from .inference import DEFAULT_SAMPLES, class_logits, mirrored_samples
from .models import is_bayesian

LOW, HIGH = 0.05, 20.0  # the temperatures searched


@torch.no_grad()
def collect_pixels(
    model: torch.nn.Module,
    dataset: CamVid,
    input_size: tuple[int, int],
    mean: tuple[float, ...],
    std: tuple[float, ...],
    samples: int = 1,
    pixels_per_image: int = 1024,
    seed: int = 0,
    ignore_index: int = 11,
    batch_size: int = 4,
    progress: bool = False,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Logits (P,4,S,C) of the bilinear neighbours of randomly chosen labelled pixels, their weights (P,4), labels (P,)."""
    model.eval()
    generator = torch.Generator().manual_seed(seed)
    all_logits, all_weights, all_labels = [], [], []
    for start in tqdm(range(0, len(dataset), batch_size), desc="calibrate", disable=not progress, leave=False):
        batch = [dataset[i] for i in range(start, min(start + batch_size, len(dataset)))]
        images = torch.stack([image for image, _ in batch])
        logits = class_logits(model, network_input(model, images, input_size, mean, std), samples=samples).cpu()
        h, w = logits.shape[-2:]
        for (_, label), frame in zip(batch, logits):
            H, W = label.shape
            valid = torch.nonzero((label != ignore_index).flatten()).flatten()
            if valid.numel() == 0:
                continue
            chosen = valid[torch.randperm(valid.numel(), generator=generator)[:pixels_per_image]]
            rows, cols = chosen // W, chosen % W
            r0, r1, wy = (t[rows] for t in bilinear_sources(H, h))
            c0, c1, wx = (t[cols] for t in bilinear_sources(W, w))
            corners = [(r0, c0), (r0, c1), (r1, c0), (r1, c1)]
            all_logits.append(torch.stack([frame[:, :, r, c].permute(2, 0, 1) for r, c in corners], dim=1))
            all_weights.append(torch.stack([(1 - wy) * (1 - wx), (1 - wy) * wx, wy * (1 - wx), wy * wx], dim=1).float())
            all_labels.append(label.flatten()[chosen])
    if not all_labels:
        raise ValueError("these frames have no labelled pixels to fit a temperature on")
    return torch.cat(all_logits), torch.cat(all_weights), torch.cat(all_labels)


def fit(logits: torch.Tensor, weights: torch.Tensor, labels: torch.Tensor) -> dict[str, Any]:
    """The NLL-minimising temperature, with NLL and ECE (on these pixels) before and after.

    With Monte-Carlo samples, the alternative not served (one temperature on
    the averaged probabilities) is fitted and measured too, under
    ``"scaled_after_averaging"``, so the choice made above stays checked.
    """
    temperature = fit_temperature(lambda t: mixture_nll(logits, weights, labels, t), LOW, HIGH)
    figures: dict[str, Any] = {"temperature": temperature}
    for name, t in (("before", 1.0), ("after", temperature)):
        probs = mixture_probabilities(logits, weights, t)
        top, predicted = probs.max(dim=1)
        figures[f"nll_{name}"] = mixture_nll(logits, weights, labels, t)
        figures[f"ece_{name}"] = expected_calibration_error(top, predicted == labels)
    if logits.shape[2] > 1:
        averaged = mixture_probabilities(logits, weights, 1.0)

        def nll_after_averaging(t: float) -> float:
            p_true = rescale_probabilities(averaged, t).gather(1, labels.long()[:, None])[:, 0]
            return float(-p_true.clamp(min=PROB_FLOOR).log().mean())

        alternative = fit_temperature(nll_after_averaging, LOW, HIGH)
        top, predicted = rescale_probabilities(averaged, alternative).max(dim=1)
        figures["scaled_after_averaging"] = {
            "temperature": round(alternative, 4),
            "nll_after": round(nll_after_averaging(alternative), 5),
            "ece_after": round(expected_calibration_error(top, predicted == labels), 5),
        }
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", required=True, type=Path, help="folder with config.json + model.safetensors")
    parser.add_argument("--data", type=Path, default=DEFAULT_ROOT, help="CamVid-layout folder (default: shared/data/camvid)")
    parser.add_argument("--split", default="val", help="split to fit on: frames the model was not trained on")
    parser.add_argument("--sequence", nargs="+", default=[], help="only frames of these sequences (e.g. --split train --sequence 0006R0)")
    parser.add_argument("--samples", type=int, default=DEFAULT_SAMPLES, help="Monte-Carlo samples for Bayesian models")
    parser.add_argument("--pixels-per-image", type=int, default=1024, help="labelled pixels drawn per frame")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch's default)")
    parser.add_argument("--dry-run", action="store_true", help="print the temperature, leave config.json alone")
    parser.add_argument("--remove", action="store_true", help="remove the stored temperature (back to T = 1)")
    args = parser.parse_args(argv)

    try:
        if args.remove:
            print(f"removed the temperature from {write_temperature(args.checkpoint, None)}")
            return 0
        if args.threads:
            torch.set_num_threads(args.threads)
        device = "cuda" if torch.cuda.is_available() else "cpu"
        checkpoint = load_checkpoint(args.checkpoint, device=device)
        dataset = CamVid(root=args.data, split=args.split, sequences=tuple(args.sequence))
    except (CheckpointError, FileNotFoundError, ValueError) as error:
        parser.exit(2, f"calibrate: {error}\n")
    config = checkpoint.config
    samples = max(1, args.samples) if is_bayesian(checkpoint.model) else 1
    started = time.perf_counter()
    logits, weights, labels = collect_pixels(
        checkpoint.model, dataset, checkpoint.input_size, config["mean"], config["std"], samples,
        args.pixels_per_image, args.seed, config.get("void_index", 11), progress=True,
    )
    figures = fit(logits, weights, labels)
    temperature = figures["temperature"]
    sequences = sorted({sequence_of(image) for image, _ in dataset.pairs})
    print(
        f"{config['architecture']}: T = {temperature:.4f} fitted on {args.data.name}/{args.split} "
        f"({', '.join(sequences)}; {len(dataset)} images, {labels.numel()} pixels"
        + (f", {samples} MC samples" if samples > 1 else "")
        + f") in {time.perf_counter() - started:.0f} s\n"
        f"  NLL {figures['nll_before']:.4f} -> {figures['nll_after']:.4f}, "
        f"ECE {100 * figures['ece_before']:.2f}% -> {100 * figures['ece_after']:.2f}% (on these pixels)"
    )
    if "scaled_after_averaging" in figures:
        other = figures["scaled_after_averaging"]
        print(
            f"  not served: T = {other['temperature']:.4f} on the averaged probabilities instead would give "
            f"NLL {other['nll_after']:.4f}, ECE {100 * other['ece_after']:.2f}%"
        )
    if not LOW * 1.01 < temperature < HIGH / 1.01:
        print(f"warning: the temperature is at the edge of the searched range [{LOW}, {HIGH}]")
    fitted_on: dict[str, Any] = {
        "split": args.split,
        "sequences": sequences,
        "images": len(dataset),
        "data": args.data.name,
        "pixels": int(labels.numel()),
        "samples": samples,
        "mirrored_samples": mirrored_samples(samples),
        **{k: round(v, 5) for k, v in figures.items() if isinstance(v, float) and k != "temperature" and math.isfinite(v)},
        **({"scaled_after_averaging": figures["scaled_after_averaging"]} if "scaled_after_averaging" in figures else {}),
    }
    if args.dry_run:
        print("dry run: config.json not changed")
        return 0
    print(f"wrote the temperature into {write_temperature(args.checkpoint, temperature, fitted_on)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
