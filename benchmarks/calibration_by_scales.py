"""At which test scales does one temperature carry best to frames it was not fitted on? Measured, not served.

    python benchmarks/calibration_by_scales.py --checkpoint twins/dusk_stretch/fcn8s_lite \\
        --sequence 0006R0 0001TP --exclude-frames STEM... --share 0006R0=171 0001TP=62 \\
        --scale-sets 0.75,1,1.25 1 --json benchmarks/results/calibration-by-scales-fcn8s_lite_dusk_stretch.json

Multi-scale testing (a checkpoint's ``test_scales``) buys accuracy, but a served temperature is only as good
as it is on the next street, and the scales change how the network's confidence follows its accuracy from
one stretch of street to another. For each set of scales this collects the same labelled pixels as
``benchmarks/calibrators.py`` (``segdemo.calibrate.collect_pixels``: 1024 a frame, the probabilities as
served, with the checkpoint's sample count and temperature scope) and reports each part's accuracy and
mean confidence at T = 1 and how one temperature carries:

- one sequence: fitted on one half of its frames, measured on the other (both ways);
- two sequences: fitted on one street, measured on the other (both ways);
- two sequences and ``--share``: the mixed cross-fit of ``benchmarks/calibrators.py`` (fitted on a half of
  each, their pixels in that proportion, measured on the two other halves mixed the same way; mean over the
  four pairings), which is how the served temperature is fitted for the test split's mix of frames; and one
  temperature fitted on all of the mix, with each part's ECE under it beside the pooled one.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from calibrators import (after_averaging, collect_members, draw_in_proportion, fit, half_figures, measure,  # noqa: E402
                         mixed_cross_fit, per_sample)
from segdemo.calibrate import parse_shares  # noqa: E402
from segdemo.checkpoints import load_checkpoint  # noqa: E402
from segdemo.data.camvid import DEFAULT_ROOT, CamVid  # noqa: E402
from segdemo.inference import DEFAULT_SAMPLES  # noqa: E402
from segdemo.models import is_bayesian  # noqa: E402


def parse_scale_set(text: str) -> tuple[float, ...]:
    """"0.75,1,1.25" -> (0.75, 1.0, 1.25)."""
    try:
        scales = tuple(float(part) for part in text.split(","))
    except ValueError:
        raise ValueError(f"a set of scales is numbers separated by commas, e.g. 0.75,1,1.25: not {text!r}") from None
    if any(not 0.25 <= s <= 4 for s in scales):
        raise ValueError(f"scales must lie in 0.25-4: {text}")
    return scales


def carry(served, z, w, y, sizes: list[int], frame_counts: list[int], shares: list[float] | None) -> dict:
    """How one temperature fitted on one part of the pixels does on the other: parts are the halves of one
    sequence's frames, or two sequences; with ``shares``, the mixed cross-fit over both sequences' halves."""
    ones = torch.ones(z.shape[-1], dtype=torch.float64)
    if len(sizes) == 2:
        first = torch.arange(len(y)) < sizes[0]
    else:
        first = torch.arange(len(y)) < sizes[0] * (frame_counts[0] // 2) // frame_counts[0]
    parts = [half_figures(served, z[part], w[part], y[part], ones) for part in (first, ~first)]
    result = {"parts": parts, "temperature": round(float(fit(served, z, w, y, 1)[0]), 3),
              "part_temperatures": [], "cross_fit_ece": []}
    for fitted_on in (first, ~first):
        t = fit(served, z[fitted_on], w[fitted_on], y[fitted_on], 1)
        result["part_temperatures"].append(round(float(t[0]), 3))
        result["cross_fit_ece"].append(measure(served, z[~fitted_on], w[~fitted_on], y[~fitted_on], t)[0])
    if shares:
        # One temperature fitted on all of both parts in proportion (as served), and each part's own error under
        # it: a pooled ECE can be low because one part's over-confidence and the other's under-confidence cancel.
        mix = draw_in_proportion(torch.nonzero(first)[:, 0], torch.nonzero(~first)[:, 0], shares,
                                 torch.Generator().manual_seed(0))
        t = fit(served, z[mix], w[mix], y[mix], 1)

        def under_t(part: torch.Tensor) -> dict[str, float]:
            ece = measure(served, z[part], w[part], y[part], t)[0]
            return {**half_figures(served, z[part], w[part], y[part], t), "ece": ece}

        result["fitted_on_mix"] = {"temperature": round(float(t[0]), 3), "pooled": under_t(mix),
                                   "parts": [under_t(mix[first[mix]]), under_t(mix[~first[mix]])]}
        mixed = mixed_cross_fit(served, z, w, y, sizes, frame_counts, shares,
                                generator=torch.Generator().manual_seed(0))
        result["mixed_cross_fit"] = {"ece_mixed": mixed["ece_mixed"], "ece_first_alone": mixed["ece_first_alone"],
                                     "pairings": [p["ece_mixed"] for p in mixed["pairings"]]}
    return result


def describe(row: dict, names: list[str]) -> str:
    """One line per set of scales: each part's accuracy and confidence at T = 1, and how the temperature carries."""
    parts = "  ".join(f"{name}: {100 * part['accuracy']:.1f}% right, {100 * part['confidence']:.1f}% sure"
                      for name, part in zip(names, row["parts"]))
    cross = row["cross_fit_ece"]
    line = (f"x {','.join(f'{s:g}' for s in row['scales']):14s} {parts}  T {row['temperature']} "
            f"({row['part_temperatures'][0]} / {row['part_temperatures'][1]})  cross-fitted ECE "
            f"{100 * cross[0]:.2f}% on {names[1]}, {100 * cross[1]:.2f}% on {names[0]}")
    if "mixed_cross_fit" in row:
        on_mix = row["fitted_on_mix"]
        line += (f"  mixed cross-fit {100 * row['mixed_cross_fit']['ece_mixed']:.2f}%; fitted on the mix "
                 f"(T {on_mix['temperature']}): ECE {100 * on_mix['parts'][0]['ece']:.2f}% on {names[0]}, "
                 f"{100 * on_mix['parts'][1]['ece']:.2f}% on {names[1]}, {100 * on_mix['pooled']['ece']:.2f}% pooled")
    return line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--data", type=Path, default=DEFAULT_ROOT)
    parser.add_argument("--split", default="train")
    parser.add_argument("--sequence", nargs="+", default=["0006R0"], help="one or two sequences it never trained on")
    parser.add_argument("--exclude-frames", nargs="+", default=[], metavar="STEM",
                        help="frames of those sequences the checkpoint did train on (image stems): left out")
    parser.add_argument("--share", nargs="+", default=[], metavar="SEQUENCE=WEIGHT",
                        help="with two --sequence: also the mixed cross-fit, their pixels in this proportion")
    parser.add_argument("--scale-sets", nargs="+", required=True, metavar="S1,S2,...",
                        help="sets of test scales to compare, e.g. 0.75,1,1.25 1")
    parser.add_argument("--samples", type=int, default=DEFAULT_SAMPLES)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    try:
        shares = parse_shares(args.share)
        scale_sets = [parse_scale_set(text) for text in args.scale_sets]
    except ValueError as error:
        parser.error(str(error))
    if len(args.sequence) not in (1, 2):
        parser.error("--sequence takes one sequence (its halves) or two (one street against the other)")
    if shares and set(shares) != set(args.sequence):
        parser.error("--share needs two --sequence and a weight for each")
    if args.threads:
        torch.set_num_threads(args.threads)
    checkpoint = load_checkpoint(args.checkpoint)
    bayesian = is_bayesian(checkpoint.model)
    samples = args.samples if bayesian else 1
    served = after_averaging if bayesian and checkpoint.temperature_scope == "averaged" else per_sample
    datasets = [CamVid(root=args.data, split=args.split, sequences=(s,), exclude_frames=tuple(args.exclude_frames))
                for s in args.sequence]
    frame_counts = [len(d) for d in datasets]
    if min(frame_counts) < (2 if shares or len(datasets) == 1 else 1):
        parser.error(f"too few frames to split into the parts compared: {dict(zip(args.sequence, frame_counts))}")
    rows = []
    for scales in scale_sets:
        started = time.perf_counter()
        collected = [collect_members([checkpoint], d, samples, 1024, scales) for d in datasets]
        z, w, y = (torch.cat(parts) for parts in zip(*collected))
        sizes = [len(part[2]) for part in collected]
        row = {"scales": list(scales), **carry(served, z.double(), w.double(), y.long(), sizes, frame_counts,
                                             [shares[s] for s in args.sequence] if shares else None),
               "seconds": round(time.perf_counter() - started)}
        rows.append(row)
        print(describe(row, args.sequence if len(args.sequence) == 2 else ["1st half", "2nd half"]), flush=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        scope = "averaged" if served is after_averaging else "samples"
        args.json.write_text(json.dumps({"checkpoint": str(args.checkpoint), "sequences": args.sequence,
                                         "excluded_frames": sorted(args.exclude_frames), "frames": frame_counts,
                                         "samples": samples, "scope": scope,
                                         **({"shares": shares} if shares else {}), "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
