"""Fit a checkpoint's softmax temperature and store it in its config.json.

    python -m segdemo.calibrate --checkpoint weights/fcn8s_lite --split val
    python -m segdemo.calibrate --checkpoint weights/fcn8s_lite --split train --sequence 0006R0
    python -m segdemo.calibrate --checkpoint DIR --split train --sequence 0006R0 0001TP \
        --exclude-frames STEM... --share 0006R0=171 0001TP=62

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

For a Bayesian model the temperature can apply in two places
(``--scope``, stored as ``temperature_scope``): to the logits of each
Monte-Carlo sample before the samples are averaged ("samples"), or to the
averaged probabilities, softmax(log p / T) ("averaged", the default). Both
are fitted and measured on the same pixels, the one not chosen under
``other_scope``. Scaling each sample keeps one T for any number of samples
and makes the entropy and the mutual information come from the same tempered
samples; but on every set of Bayesian SegNet-lite weights trained here the
averaged scope calibrated better, on the frames fitted and cross-fitted
between the two halves of the held-out street (``benchmarks/calibrators.py``,
docs/calibration.md), so that is what is served: the confidence and entropy maps come from
the rescaled average, the mutual information from the untempered samples
(the network's own disagreement, which no temperature of the average
changes). Either way T is fitted at the number of samples served by default
(8), half of them on the mirrored frames as ``predict`` samples them, and
that number is stored with it; a single pass (dropout off, or FCN) is the
same under both scopes.

The frames can mix parts that stand for different kinds of unseen frames,
weighted by ``--share SEQUENCE=WEIGHT``: each sequence's pixels are drawn in
that proportion (fewer per frame where a sequence has more frames than its
share), so the NLL the temperature minimises is that of the mix. The share
comes from which frames of which street the target frames hold (e.g. the
CamVid test split: 171 frames of an unseen street, 62 of an unseen stretch
of a seen one), never from their figures.

Only config.json changes ("temperature", "temperature_fitted_on"): the zoo's
sha256 pin covers model.safetensors alone.
"""

from __future__ import annotations

import argparse
import math
import time
from collections import Counter
from pathlib import Path
from typing import Any, Mapping, Sequence

import torch
from tqdm import tqdm

from .calibration import (
    bilinear_sources,
    expected_calibration_error,
    fit_temperature,
    mixture_nll,
    mixture_probabilities,
    TEMPERATURE_SCOPES,
)
from .checkpoints import CheckpointError, load_checkpoint, read_config, write_temperature
from .data.camvid import DEFAULT_ROOT, CamVid, sequence_of
from .evaluate import network_input
from .hub import sha256_of
from .inference import DEFAULT_SAMPLES, SINGLE_SCALE, class_logits, mirrored_samples
from .models import is_bayesian

LOW, HIGH = 0.05, 20.0  # the temperatures searched
SCOPE_WORDS = {"samples": "each sample's logits", "averaged": "the averaged probabilities"}


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
    scales: Sequence[float] = SINGLE_SCALE,
    pixels_by_sequence: Mapping[str, int] | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Logits (P,4,S,C) of the bilinear neighbours of randomly chosen labelled pixels, their weights (P,4), labels (P,).

    ``pixels_by_sequence`` overrides ``pixels_per_image`` for the frames of the sequences it names.
    """
    model.eval()
    generator = torch.Generator().manual_seed(seed)
    all_logits, all_weights, all_labels = [], [], []
    for start in tqdm(range(0, len(dataset), batch_size), desc="calibrate", disable=not progress, leave=False):
        batch = [dataset[i] for i in range(start, min(start + batch_size, len(dataset)))]
        images = torch.stack([image for image, _ in batch])
        x = network_input(model, images, input_size, mean, std)
        logits = class_logits(model, x, samples=samples, scales=scales).cpu()
        h, w = logits.shape[-2:]
        for index, ((_, label), frame) in enumerate(zip(batch, logits), start=start):
            count = (pixels_by_sequence or {}).get(sequence_of(dataset.pairs[index][0]), pixels_per_image)
            H, W = label.shape
            valid = torch.nonzero((label != ignore_index).flatten()).flatten()
            if valid.numel() == 0:
                continue
            chosen = valid[torch.randperm(valid.numel(), generator=generator)[:count]]
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


def frames_trained_on(config: Mapping[str, Any], split: str, images: Sequence[Path]) -> list[str]:
    """The stems of these frames of ``split`` that the checkpoint trained on, in its last phase or an earlier one.

    Read from config.json's ``training`` block (splits, held-out sequences,
    excluded frames; ``earlier_phases`` where recorded). A checkpoint without
    one (made outside segdemo.train) cannot be checked and gives [].
    """
    training = config.get("training") or {}
    phases = [phase for phase in (training, *training.get("earlier_phases", [])) if phase.get("splits")]
    seen = []
    for image in images:
        stem, sequence = Path(image).stem, sequence_of(Path(image))
        if any(split in phase["splits"] and sequence not in phase.get("held_out", [])
               and stem not in phase.get("excluded_frames", []) for phase in phases):
            seen.append(stem)
    return seen


def adopt_temperature(checkpoint: Path, donor: Path, dry_run: bool = False) -> tuple[float, Path | None]:
    """Store ``donor``'s fitted temperature (scope, test scales, what it was fitted on) in ``checkpoint``'s config.json;
    the temperature and the file written (None for a dry run, which only checks that the donor can lend it).

    For weights whose twin cannot hold out every kind of frame the temperature
    should be fitted on (the twin of the shipped FCN trained on all of 0001TP's
    train frames): a run of the same recipe that did hold them out fits it, and
    the measuring twin serves it. ``temperature_fitted_on`` keeps the donor's
    record and adds ``donor`` (its folder, sha256 and held-out frames).
    """
    config, donor_config = read_config(checkpoint), read_config(donor)
    for key in ("architecture", "model_kwargs", "num_classes", "input_size"):
        if donor_config.get(key) != config.get(key):
            raise CheckpointError(f"{donor} cannot lend its temperature to {checkpoint}: {key} differs")
    if "temperature" not in donor_config or not donor_config.get("temperature_fitted_on"):
        raise CheckpointError(f"{donor} has no fitted temperature: run python -m segdemo.calibrate on it first")
    training = donor_config.get("training") or {}
    fitted_on = {
        **donor_config["temperature_fitted_on"],
        "donor": {
            "name": donor_name(Path(donor)),
            "sha256": sha256_of(Path(donor) / "model.safetensors"),
            "held_out": training.get("held_out", []),
            "excluded_frames": training.get("excluded_frames", []),
        },
    }
    if dry_run:
        return donor_config["temperature"], None
    return donor_config["temperature"], write_temperature(
        checkpoint, donor_config["temperature"], fitted_on, donor_config.get("temperature_scope", "samples"),
        tuple(donor_config.get("test_scales", (1.0,))),
    )


def donor_name(donor: Path) -> str:
    """The donor's folder relative to the working directory (the repository root), or its name if outside it."""
    try:
        return donor.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return donor.name


def parse_shares(words: Sequence[str]) -> dict[str, float]:
    """``["0006R0=171", "0001TP=62"]`` -> {"0006R0": 171.0, "0001TP": 62.0}; a clear ValueError otherwise."""
    shares: dict[str, float] = {}
    for word in words:
        sequence, _, weight = word.partition("=")
        try:
            value = float(weight)
        except ValueError:
            value = float("nan")
        if not sequence or not math.isfinite(value) or value <= 0:
            raise ValueError(f"--share takes SEQUENCE=WEIGHT with a positive weight, not {word!r}")
        shares[sequence] = value
    return shares


def pixels_by_share(frames: Mapping[str, int], shares: Mapping[str, float], pixels_per_image: int) -> dict[str, int]:
    """Pixels to draw per frame of each sequence so that each sequence's total is in proportion to its share.

    The sequence with the most share per frame gets ``pixels_per_image`` a
    frame, the others proportionally fewer: every frame still contributes and
    no frame is asked for more pixels than the plain fit would draw.
    """
    unshared = sorted(set(frames) - set(shares))
    missing = sorted(set(shares) - set(frames))
    if unshared or missing:
        raise ValueError(
            "--share must name each sequence of the frames fitted on, and no other"
            + (f"; no share for {', '.join(unshared)}" if unshared else "")
            + (f"; no frames of {', '.join(missing)}" if missing else "")
        )
    per_frame = {sequence: shares[sequence] / frames[sequence] for sequence in frames}
    densest = max(per_frame.values())
    return {sequence: max(1, round(pixels_per_image * value / densest)) for sequence, value in per_frame.items()}


def fit(logits: torch.Tensor, weights: torch.Tensor, labels: torch.Tensor, scope: str = "averaged") -> dict[str, Any]:
    """The NLL-minimising temperature for ``scope``, with NLL and ECE (on these pixels) before and after.

    With Monte-Carlo samples the other scope is fitted and measured too, under
    ``"other_scope"``, so that the choice between them stays checked. A single
    pass has one scope: ``"samples"``.
    """
    scopes = list(TEMPERATURE_SCOPES) if logits.shape[2] > 1 else ["samples"]
    if scope not in TEMPERATURE_SCOPES:
        raise ValueError(f"temperature scope must be one of {TEMPERATURE_SCOPES}, not {scope!r}")
    scope = scope if scope in scopes else "samples"

    def fitted(which: str) -> tuple[float, float, float]:
        temperature = fit_temperature(lambda t: mixture_nll(logits, weights, labels, t, scope=which), LOW, HIGH)
        top, predicted = mixture_probabilities(logits, weights, temperature, scope=which).max(dim=1)
        nll = mixture_nll(logits, weights, labels, temperature, scope=which)
        return temperature, nll, expected_calibration_error(top, predicted == labels)

    top, predicted = mixture_probabilities(logits, weights, 1.0).max(dim=1)
    temperature, nll_after, ece_after = fitted(scope)
    figures: dict[str, Any] = {
        "temperature": temperature,
        "scope": scope,
        "nll_before": mixture_nll(logits, weights, labels, 1.0),
        "ece_before": expected_calibration_error(top, predicted == labels),
        "nll_after": nll_after,
        "ece_after": ece_after,
    }
    for other in (s for s in scopes if s != scope):
        t, nll, ece = fitted(other)
        figures["other_scope"] = {
            "scope": other, "temperature": round(t, 4), "nll_after": round(nll, 5), "ece_after": round(ece, 5)
        }
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", required=True, type=Path, help="folder with config.json + model.safetensors")
    parser.add_argument("--data", type=Path, default=DEFAULT_ROOT, help="CamVid-layout folder (default: shared/data/camvid)")
    parser.add_argument("--split", default="val", help="split to fit on: frames the model was not trained on")
    parser.add_argument("--sequence", nargs="+", default=[], help="only frames of these sequences (e.g. --split train --sequence 0006R0)")
    parser.add_argument("--exclude-frames", nargs="+", default=[], metavar="STEM",
                        help="leave out these frames (image stems), e.g. the part of a street the model trained on")
    parser.add_argument("--share", nargs="+", default=[], metavar="SEQUENCE=WEIGHT",
                        help="weight the sequences' pixels in this proportion (e.g. 0006R0=171 0001TP=62)")
    parser.add_argument("--samples", type=int, default=DEFAULT_SAMPLES, help="Monte-Carlo samples for Bayesian models")
    parser.add_argument(
        "--scope", choices=TEMPERATURE_SCOPES, default="averaged",
        help="Bayesian models: scale each sample's logits, or the averaged probabilities (default)",
    )
    parser.add_argument(
        "--scales", type=float, nargs="+",
        help="fit at the working resolution times these, and store them as the checkpoint's test_scales "
        "(default: the test_scales it has)",
    )
    parser.add_argument("--pixels-per-image", type=int, default=1024, help="labelled pixels drawn per frame")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch's default)")
    parser.add_argument("--dry-run", action="store_true", help="print the temperature, leave config.json alone")
    parser.add_argument("--remove", action="store_true", help="remove the stored temperature (back to T = 1)")
    parser.add_argument("--temperature-from", type=Path, metavar="DONOR",
                        help="fit nothing: store DONOR's fitted temperature (same architecture; a run of the same "
                        "recipe that held out the frames it was fitted on)")
    args = parser.parse_args(argv)

    try:
        if args.remove:
            if args.dry_run:
                print(f"dry run: would remove the temperature from {args.checkpoint}; config.json not changed")
            else:
                print(f"removed the temperature from {write_temperature(args.checkpoint, None)}")
            return 0
        if args.temperature_from:
            temperature, written = adopt_temperature(args.checkpoint, args.temperature_from, args.dry_run)
            print(f"dry run: {args.temperature_from}'s temperature is T = {temperature}; config.json not changed"
                  if written is None else f"wrote {args.temperature_from}'s temperature, T = {temperature}, into {written}")
            return 0
        if args.threads:
            torch.set_num_threads(args.threads)
        device = "cuda" if torch.cuda.is_available() else "cpu"
        checkpoint = load_checkpoint(args.checkpoint, device=device)
        dataset = CamVid(root=args.data, split=args.split, sequences=tuple(args.sequence),
                         exclude_frames=tuple(args.exclude_frames))
        frames = Counter(sequence_of(image) for image, _ in dataset.pairs)
        shares = parse_shares(args.share)
        per_frame = pixels_by_share(frames, shares, args.pixels_per_image) if shares else None
        seen = frames_trained_on(checkpoint.config, args.split, [image for image, _ in dataset.pairs])
        if seen:
            raise ValueError(
                f"{len(seen)} of these {len(dataset)} frames were trained on by {args.checkpoint} "
                f"({', '.join(seen[:3])}{', ...' if len(seen) > 3 else ''}): a temperature fitted on them learns "
                "the network's confidence on what it memorised. Fit on frames it held out (--sequence, "
                "--exclude-frames), or on a twin run that held them out."
            )
    except (CheckpointError, FileNotFoundError, ValueError) as error:
        parser.exit(2, f"calibrate: {error}\n")
    config = checkpoint.config
    samples = max(1, args.samples) if is_bayesian(checkpoint.model) else 1
    scales = tuple(args.scales) if args.scales else checkpoint.test_scales
    started = time.perf_counter()
    logits, weights, labels = collect_pixels(
        checkpoint.model, dataset, checkpoint.input_size, config["mean"], config["std"], samples,
        args.pixels_per_image, args.seed, config.get("void_index", 11), progress=True, scales=scales,
        pixels_by_sequence=per_frame,
    )
    figures = fit(logits, weights, labels, args.scope)
    temperature = figures["temperature"]
    sequences = sorted(frames)
    print(
        f"{config['architecture']}: T = {temperature:.4f} fitted on {args.data.name}/{args.split} "
        f"({', '.join(sequences)}; {len(dataset)} images, {labels.numel()} pixels"
        + (f", {samples} MC samples" if samples > 1 else "")
        + (f", applied to {SCOPE_WORDS[figures['scope']]}" if samples > 1 else "")
        + (f", at scales {', '.join(f'{s:g}' for s in scales)}" if scales != SINGLE_SCALE else "")
        + (f", pixels weighted {' : '.join(f'{s} {shares[s]:g}' for s in sequences)}" if shares else "")
        + f") in {time.perf_counter() - started:.0f} s"
        + f"\n  NLL {figures['nll_before']:.4f} -> {figures['nll_after']:.4f}, "
        f"ECE {100 * figures['ece_before']:.2f}% -> {100 * figures['ece_after']:.2f}% (on these pixels)"
    )
    if "other_scope" in figures:
        other = figures["other_scope"]
        print(
            f"  not served: T = {other['temperature']:.4f} applied to {SCOPE_WORDS[other['scope']]} instead would give "
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
        **({"excluded_frames": sorted(args.exclude_frames)} if args.exclude_frames else {}),
        **({"frames_by_sequence": dict(sorted(frames.items())), "shares": {s: shares[s] for s in sequences},
            "pixels_per_frame": dict(sorted(per_frame.items()))} if shares and per_frame else {}),
        "samples": samples,
        "mirrored_samples": mirrored_samples(samples),
        "test_scales": list(scales),
        **{k: round(v, 5) for k, v in figures.items() if isinstance(v, float) and k != "temperature" and math.isfinite(v)},
        **({"scope": figures["scope"], "other_scope": figures["other_scope"]} if "other_scope" in figures else {}),
    }
    if args.dry_run:
        print("dry run: config.json not changed")
        return 0
    print(f"wrote the temperature into {write_temperature(args.checkpoint, temperature, fitted_on, figures['scope'], scales)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
