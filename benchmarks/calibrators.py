"""Would a richer calibrator than one temperature do better on an unseen street? Measured, not served.

    python benchmarks/calibrators.py --checkpoint runs/twins/bayesian_segnet_lite --sequence 0006R0

Compares, on labelled pixels of frames the network never trained on
(``segdemo.calibrate.collect_pixels``: 1024 a frame, the probabilities exactly
as served):

- **scalar**: one temperature, what segdemo serves (Guo et al. 2017);
- **per class**: a temperature per *predicted* class (11 scalars). Dividing a
  pixel's logits by one positive number never changes its argmax, so the
  label map stays exactly the network's; it can undo what median-frequency
  class weights do to the probabilities (rare classes over-confident, Road
  and Sky under-confident).

For a Bayesian model both are tried on each sample's logits and on the
averaged probabilities of each source position before the bilinear resize
(the checkpoint's ``temperature_scope`` says which one is served). Each is fitted by NLL and measured twice: on the
pixels it was fitted on, and **cross-fitted** between the first and second
half of the sequence (fit on one, measure ECE on the other), which is what a
calibrator fitted on one street meets on the next. With ``--across-sequences``
and two sequences, the two parts are two whole streets instead (for a network
that trained on neither: fit on 0006R0, measure on 0001TP at dusk, and back).
``--exclude-frames`` leaves out frames a network did train on, so that a part
can be the unseen stretch of a street whose other frames were in training.
Then, for each part, where its calibration error sits under the served
temperature fitted on the other part: each true class's share, accuracy and
confidence, and the commonest confusions. Prints a table; writes JSON with ``--json``.

With ``--across-sequences`` and ``--share A=WA B=WB`` (the proportion the
test split holds such frames, as ``segdemo.calibrate --share`` fits), it also
asks whether fitting on both kinds of frames carries better than fitting on
the first alone: each sequence is split into its first and second half of
frames, and for each of the four pairings of halves the served temperature
is fitted on a half of A alone and on that half plus a half of B (their
pixels drawn in the shares' proportion), and both are measured on the two
other halves mixed in the same proportion (``"mixed_cross_fit"``); the same
for the prior correction and one temperature, label kept (``ece_prior_*``).

Several ``--checkpoint`` make a **deep ensemble** (Lakshminarayanan et al. 2017):
networks of one input size, scales and sample count, each run on the same pixels,
their probabilities averaged with equal weights. Their samples are stacked as if
they were one network's Monte-Carlo samples, so "per sample" divides each
member's logits by T and "after averaging" rescales the ensemble's average.
``--scales`` runs every network at other test scales than its config.json serves
(an ensemble of two FCNs at one scale costs what one FCN costs at three).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from segdemo.calibrate import collect_pixels, parse_shares  # noqa: E402
from segdemo.calibration import PROB_FLOOR, expected_calibration_error  # noqa: E402
from segdemo.checkpoints import load_checkpoint  # noqa: E402
from segdemo.data.camvid import DEFAULT_ROOT, CamVid  # noqa: E402
from segdemo.inference import DEFAULT_SAMPLES  # noqa: E402
from segdemo.models import is_bayesian  # noqa: E402


def per_sample(z: torch.Tensor, w: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """(P,C) served probabilities with each sample's logits divided by T[class predicted at that source]."""
    predicted = z.softmax(3).mean(2).argmax(2)
    p = (z / t[predicted][..., None, None]).softmax(3).mean(2)
    return (p * w[..., None]).sum(1)


def after_averaging(z: torch.Tensor, w: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """(P,C) served probabilities with each source's averaged probabilities p rescaled: softmax(log p / T[argmax p])."""
    p = z.softmax(3).mean(2)
    p = (p.clamp(min=PROB_FLOOR).log() / t[p.argmax(2)][..., None]).softmax(2)
    return (p * w[..., None]).sum(1)


def fit(served, z, w, y, classes: int) -> torch.Tensor:
    """Temperatures (one, or one per class, broadcast to C) minimising the NLL, by L-BFGS on log T."""
    log_t = torch.zeros(classes, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([log_t], lr=0.5, max_iter=100, line_search_fn="strong_wolfe")
    size = z.shape[-1]

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        p_true = served(z, w, log_t.exp().expand(size)).gather(1, y[:, None])[:, 0]
        loss = -p_true.clamp(min=PROB_FLOOR).log().mean()
        loss.backward()
        return loss

    optimizer.step(closure)
    return log_t.detach().exp().expand(size).clone()


@torch.no_grad()
def measure(served, z, w, y, t) -> tuple[float, float]:
    p = served(z, w, t)
    top, predicted = p.max(1)
    return expected_calibration_error(top, predicted == y), float(-p.gather(1, y[:, None]).clamp(min=PROB_FLOOR).log().mean())


@torch.no_grad()
def half_figures(served, z, w, y, t) -> dict[str, float]:
    """Accuracy and mean confidence of a part of the pixels: a street's halves can differ in both, and then
    a temperature fitted on one half misses the other."""
    top, predicted = served(z, w, t).max(1)
    return {"pixels": len(y), "accuracy": float((predicted == y).double().mean()), "confidence": float(top.mean())}


@torch.no_grad()
def by_true_class(p: torch.Tensor, y: torch.Tensor, names: list[str], top: int = 6) -> dict:
    """Where a part's calibration error sits: for each true class, its share of the pixels, how often it is
    labelled right and how sure the label shown is, with ``gap``: share x (confidence - accuracy), each class's
    part of the over-confidence (summed: the part's mean confidence minus its accuracy); and the ``top``
    commonest confusions (true -> shown, share of the pixels)."""
    confidence, shown = p.max(1)
    classes = []
    for index, name in enumerate(names):
        mask = y == index
        if not bool(mask.any()):
            continue
        share = float(mask.double().mean())
        accuracy = float((shown[mask] == index).double().mean())
        sure = float(confidence[mask].double().mean())
        classes.append({"class": name, "share": round(share, 4), "accuracy": round(accuracy, 4),
                        "confidence": round(sure, 4), "gap": round(share * (sure - accuracy), 4)})
    wrong = y != shown
    counts = torch.bincount(y[wrong] * len(names) + shown[wrong], minlength=len(names) ** 2)
    confusions = [{"true": names[int(i) // len(names)], "shown": names[int(i) % len(names)],
                   "share": round(float(counts[i]) / len(y), 4)}
                  for i in counts.argsort(descending=True)[:top] if counts[i] > 0]
    return {"classes": classes, "confusions": confusions}


def fit_with_bias(z, w, y, bias: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """One temperature after a per-class bias on each sample's logits: the given bias, or one fitted with it."""
    classes = z.shape[-1]
    log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    learned = torch.zeros(classes, dtype=torch.float64, requires_grad=bias is None)
    params = [log_t] + ([learned] if bias is None else [])
    optimizer = torch.optim.LBFGS(params, lr=0.5, max_iter=200, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        b = learned if bias is None else bias
        p_true = per_sample(z + b, w, log_t.exp().expand(classes)).gather(1, y[:, None])[:, 0]
        loss = -p_true.clamp(min=PROB_FLOOR).log().mean()
        loss.backward()
        return loss

    optimizer.step(closure)
    return log_t.detach().exp().expand(classes).clone(), (learned if bias is None else bias).detach().clone()


@torch.no_grad()
def measure_keeping_labels(z, w, y, t, b) -> tuple[float, float]:
    """ECE of the calibrated probability of the network's own label, and the NLL of the calibrated distribution."""
    label = per_sample(z, w, torch.ones_like(t)).argmax(1)
    p = per_sample(z + b, w, t)
    return (expected_calibration_error(p.gather(1, label[:, None])[:, 0], label == y),
            float(-p.gather(1, y[:, None]).clamp(min=PROB_FLOOR).log().mean()))


def draw_in_proportion(first: torch.Tensor, second: torch.Tensor, shares: list[float],
                       generator: torch.Generator) -> torch.Tensor:
    """Pixel indices of two parts with their counts in the proportion ``shares``: the part with more pixels
    than its share is randomly thinned, the other kept whole (``segdemo.calibrate --share`` reaches the same
    proportion by drawing fewer pixels from each frame)."""
    keep_first = min(len(first), round(len(second) * shares[0] / shares[1]))
    keep_second = min(len(second), round(len(first) * shares[1] / shares[0]))
    first = first[torch.randperm(len(first), generator=generator)[:keep_first]]
    second = second[torch.randperm(len(second), generator=generator)[:keep_second]]
    return torch.cat([first, second])


def mixed_cross_fit(served, z, w, y, sizes: list[int], frame_counts: list[int], shares: list[float],
                    generator: torch.Generator, prior: torch.Tensor | None = None) -> dict:
    """Does one temperature fitted on halves of both sequences carry to their other halves better than one
    fitted on a half of the first alone? Pixels are in sequence order, ``sizes[i]`` of sequence i drawn
    evenly from its ``frame_counts[i]`` frames; each sequence's halves are its first and second half of frames.
    With ``prior`` (the prior correction's bias), the same is asked of the prior correction and one
    temperature, label kept."""
    halves = []
    start = 0
    for size, frames in zip(sizes, frame_counts):
        cut = start + size * (frames // 2) // frames
        halves.append((torch.arange(start, cut), torch.arange(cut, start + size)))
        start += size
    pairings = []
    for i in (0, 1):
        for j in (0, 1):
            fitted_on_mix = draw_in_proportion(halves[0][i], halves[1][j], shares, generator)
            m = draw_in_proportion(halves[0][1 - i], halves[1][1 - j], shares, generator)  # measured on
            alone = halves[0][i]
            t_alone = fit(served, z[alone], w[alone], y[alone], 1)
            t_mixed = fit(served, z[fitted_on_mix], w[fitted_on_mix], y[fitted_on_mix], 1)
            pairings.append({
                "fitted_on": [f"half {i + 1} of part 1", f"half {j + 1} of part 2"],
                "t_first_alone": round(float(t_alone[0]), 3), "t_mixed": round(float(t_mixed[0]), 3),
                "ece_first_alone": measure(served, z[m], w[m], y[m], t_alone)[0],
                "ece_mixed": measure(served, z[m], w[m], y[m], t_mixed)[0],
            })
            if prior is not None:
                for key, fitted_on in (("first_alone", alone), ("mixed", fitted_on_mix)):
                    t_prior, _ = fit_with_bias(z[fitted_on], w[fitted_on], y[fitted_on], prior)
                    pairings[-1][f"t_prior_{key}"] = round(float(t_prior[0]), 3)
                    pairings[-1][f"ece_prior_{key}"] = measure_keeping_labels(z[m], w[m], y[m], t_prior, prior)[0]
    keys = ["ece_first_alone", "ece_mixed"] + (["ece_prior_first_alone", "ece_prior_mixed"] if prior is not None else [])
    return {"pairings": pairings, **{key: sum(p[key] for p in pairings) / len(pairings) for key in keys}}


def collect_members(members: list, dataset: CamVid, samples: int, per_image: int,
                    scales: tuple[float, ...]) -> tuple[torch.Tensor, ...]:
    """``collect_pixels`` for each network on the same pixels (chosen by the labels and a fixed seed), the
    members' samples stacked on the samples axis: logits (P,4,members x samples,C), weights (P,4), labels (P,)."""
    parts = [collect_pixels(m.model, dataset, m.input_size, m.config["mean"], m.config["std"], samples, per_image,
                            scales=scales) for m in members]
    z, w, y = parts[0]
    for other_z, other_w, other_y in parts[1:]:
        if not (torch.equal(other_y, y) and torch.allclose(other_w, w)):
            raise ValueError("the ensemble's networks were measured on different pixels (output grids differ)")
    return torch.cat([part[0] for part in parts], dim=2), w, y


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", type=Path, nargs="+", required=True,
                        help="one network, or several of one input size and scales: their probabilities averaged")
    parser.add_argument("--data", type=Path, default=DEFAULT_ROOT)
    parser.add_argument("--split", default="train")
    parser.add_argument("--sequence", nargs="+", default=["0006R0"], help="frames the checkpoint never trained on")
    parser.add_argument("--samples", type=int, default=DEFAULT_SAMPLES)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--scales", type=float, nargs="+",
                        help="test scales for every network (default: the ones its config.json serves)")
    parser.add_argument("--across-sequences", action="store_true",
                        help="with two --sequence: cross-fit between the two streets instead of a street's halves")
    parser.add_argument("--exclude-frames", nargs="+", default=[], metavar="STEM",
                        help="frames of those sequences the checkpoint did train on (image stems): left out")
    parser.add_argument("--share", nargs="+", default=[], metavar="SEQUENCE=WEIGHT",
                        help="with --across-sequences: also cross-fit one temperature on both sequences' halves, "
                        "their pixels in this proportion (e.g. 0006R0=171 0001TP=62)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    try:
        shares = parse_shares(args.share)
    except ValueError as error:
        parser.error(str(error))
    if shares and (not args.across_sequences or set(shares) != set(args.sequence)):
        parser.error("--share needs --across-sequences and a weight for each of its two --sequence")
    if args.threads:
        torch.set_num_threads(args.threads)
    members = [load_checkpoint(path) for path in args.checkpoint]
    checkpoint = members[0]
    if args.across_sequences and len(args.sequence) != 2:
        parser.error("--across-sequences needs exactly two --sequence")
    kinds = {(m.input_size, tuple(args.scales or m.test_scales), is_bayesian(m.model)) for m in members}
    if len(kinds) > 1:
        parser.error("an ensemble's networks need one input size, one set of test scales and one sample count")
    scales = tuple(args.scales or checkpoint.test_scales)
    samples = args.samples if is_bayesian(checkpoint.model) else 1
    started = time.perf_counter()
    per_image = 1024
    groups = [(s,) for s in args.sequence] if args.across_sequences else [tuple(args.sequence)]
    collected, frames, frames_per_group = [], 0, []
    for sequences in groups:
        dataset = CamVid(root=args.data, split=args.split, sequences=sequences,
                         exclude_frames=tuple(args.exclude_frames))
        frames += len(dataset)
        frames_per_group.append(len(dataset))
        collected.append(collect_members(members, dataset, samples, per_image, scales))
    z, w, y = (torch.cat(parts) for parts in zip(*collected))
    z, w, y = z.double(), w.double(), y.long()
    samples *= len(members)
    if args.across_sequences:  # the two parts are the two streets: fitted on one, measured on the other
        first_half = torch.arange(len(y)) < len(collected[0][2])
        part_names = list(args.sequence)
    else:  # frames are listed in sequence order
        first_half = torch.arange(len(y)) < per_image * (len(dataset) // 2)
        part_names = ["1st half", "2nd half"]
    print(f"{' + '.join(m.config['architecture'] for m in members)}: {len(y)} pixels of {frames} frames "
          f"({'+'.join(args.sequence)}), {samples} sample(s) at scales {', '.join(map(str, scales))}, "
          f"collected in {time.perf_counter() - started:.0f} s")
    ways = {"single pass": per_sample}
    anatomy_way = per_sample
    if samples > 1:
        # One network: the scope its checkpoint serves. An ensemble: one temperature on its averaged probabilities.
        served_scope = checkpoint.temperature_scope if len(members) == 1 else "averaged"
        mark = " (served)" if len(members) == 1 else ""
        ways = {
            "per sample" + (mark if served_scope == "samples" else ""): per_sample,
            "after averaging" + (mark if served_scope == "averaged" else ""): after_averaging,
        }
        anatomy_way = per_sample if served_scope == "samples" else after_averaging
    ones = torch.ones(z.shape[-1], dtype=torch.float64)
    raw_ece, raw_nll = measure(per_sample, z, w, y, ones)
    rows = [{"calibrator": "none", "applied": "-", "ece": raw_ece, "nll": raw_nll, "cross_fit_ece": [raw_ece, raw_ece]}]
    halves = [half_figures(per_sample, z[part], w[part], y[part], ones) for part in (first_half, ~first_half)]
    for applied, served in ways.items():
        for name, classes in (("scalar", 1), ("per predicted class", z.shape[-1])):
            t = fit(served, z, w, y, classes)
            ece, nll = measure(served, z, w, y, t)
            cross, half_t = [], []
            for fitted_on in (first_half, ~first_half):
                t_half = fit(served, z[fitted_on], w[fitted_on], y[fitted_on], classes)
                cross.append(measure(served, z[~fitted_on], w[~fitted_on], y[~fitted_on], t_half)[0])
                half_t.append([round(float(v), 3) for v in (t_half if classes > 1 else t_half[:1])])
            rows.append({"calibrator": name, "applied": applied, "ece": ece, "nll": nll, "cross_fit_ece": cross,
                         "temperatures": [round(float(v), 3) for v in (t if classes > 1 else t[:1])],
                         "half_temperatures": half_t})
    prior = -torch.tensor(checkpoint.config.get("training", {}).get("class_weights") or [1.0] * z.shape[-1],
                          dtype=torch.float64).log()
    for name, bias in (("prior correction", prior), ("bias per class", None)):
        t, b = fit_with_bias(z, w, y, bias)
        ece, nll = measure_keeping_labels(z, w, y, t, b)
        cross = []
        for fitted_on in (first_half, ~first_half):
            t_half, b_half = fit_with_bias(z[fitted_on], w[fitted_on], y[fitted_on], bias)
            cross.append(measure_keeping_labels(z[~fitted_on], w[~fitted_on], y[~fitted_on], t_half, b_half)[0])
        rows.append({"calibrator": name, "applied": "per sample, label kept", "ece": ece, "nll": nll,
                     "cross_fit_ece": cross, "temperatures": [round(float(t[0]), 3)],
                     "biases": [round(float(v - b.mean()), 3) for v in b]})
    # Where each part's error sits, under the served temperature fitted on the other part.
    names = checkpoint.config.get("class_names") or [str(c) for c in range(z.shape[-1])]
    anatomy = []
    for fitted_on, measured in ((first_half, 1), (~first_half, 0)):
        t_other = fit(anatomy_way, z[fitted_on], w[fitted_on], y[fitted_on], 1)
        part = ~fitted_on
        entry = {"fitted_on": part_names[1 - measured], "measured_on": part_names[measured],
                 "temperature": round(float(t_other[0]), 3)}
        entry.update(by_true_class(anatomy_way(z[part], w[part], t_other), y[part], names))
        anatomy.append(entry)
    mixed, mixed_other = None, None
    if shares:
        sizes = [len(part[2]) for part in collected]
        mixed = mixed_cross_fit(anatomy_way, z, w, y, sizes, frames_per_group,
                                [shares[s] for s in args.sequence], generator=torch.Generator().manual_seed(0),
                                prior=prior)
        if samples > 1:  # the scope not served, on the same draws: would it carry better?
            other_way = after_averaging if anatomy_way is per_sample else per_sample
            mixed_other = mixed_cross_fit(other_way, z, w, y, sizes, frames_per_group,
                                          [shares[s] for s in args.sequence],
                                          generator=torch.Generator().manual_seed(0))
            mixed_other["applied"] = "after averaging" if other_way is after_averaging else "per sample"
    print(f"{'calibrator':22s} {'applied':20s} {'ECE':>7s} {'NLL':>7s}  "
          f"cross-fitted ECE (on {part_names[1]}, on {part_names[0]})")
    for row in rows:
        print(f"{row['calibrator']:22s} {row['applied']:20s} {100 * row['ece']:6.2f}% {row['nll']:7.4f}  "
              f"{100 * row['cross_fit_ece'][0]:.2f}%, {100 * row['cross_fit_ece'][1]:.2f}%")
    for name, half in zip(part_names, halves):
        print(f"{name}: accuracy {100 * half['accuracy']:.1f}%, mean confidence at T=1 {100 * half['confidence']:.1f}%")
    for row in rows:
        if row["calibrator"] == "scalar":
            print(f"scalar T ({row['applied']}): {row['temperatures'][0]} on all, "
                  f"{row['half_temperatures'][0][0]} on {part_names[0]}, {row['half_temperatures'][1][0]} on {part_names[1]}")
    for entry in anatomy:
        print(f"on {entry['measured_on']}, served T fitted on {entry['fitted_on']} ({entry['temperature']}): "
              "true class, share, accuracy, confidence, share x (confidence - accuracy)")
        for row in entry["classes"]:
            print(f"  {row['class']:12s} {100 * row['share']:5.1f}% {100 * row['accuracy']:5.1f}% "
                  f"{100 * row['confidence']:5.1f}% {100 * row['gap']:+6.2f}")
        print("  commonest confusions: " + ", ".join(f"{c['true']} -> {c['shown']} {100 * c['share']:.1f}%"
                                                     for c in entry["confusions"]))
    if mixed:
        print(f"mixed cross-fit (pixels {' : '.join(f'{s} {shares[s]:g}' for s in args.sequence)}; "
              f"mean ECE on the other halves over {len(mixed['pairings'])} pairings of halves): "
              f"T from a half of {args.sequence[0]} {100 * mixed['ece_first_alone']:.2f}%, "
              f"from it and a half of {args.sequence[1]} {100 * mixed['ece_mixed']:.2f}%; "
              f"prior correction and T, label kept: {100 * mixed['ece_prior_first_alone']:.2f}% and "
              f"{100 * mixed['ece_prior_mixed']:.2f}%")
    if mixed_other:
        print(f"  the scope not served ({mixed_other['applied']}): T from a half of {args.sequence[0]} "
              f"{100 * mixed_other['ece_first_alone']:.2f}%, from it and a half of {args.sequence[1]} "
              f"{100 * mixed_other['ece_mixed']:.2f}%")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"checkpoint": " + ".join(path.name for path in args.checkpoint),
                                         "members": [str(path) for path in args.checkpoint],
                                         "sequences": args.sequence,
                                         "excluded_frames": sorted(args.exclude_frames),
                                         "scales": list(scales),
                                         "frames": frames, "pixels": len(y), "samples": samples,
                                         "parts": part_names, "halves": halves, "rows": rows,
                                         "by_true_class": anatomy,
                                         **({"shares": shares, "mixed_cross_fit": mixed} if mixed else {}),
                                         **({"mixed_cross_fit_other_scope": mixed_other} if mixed_other else {})},
                                        indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
