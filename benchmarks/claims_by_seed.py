"""How far the Monte-Carlo seed moves the figures the Compare tab judges its claims on, and so how far apart SegNet's
and FCN's must be before a claim holds or fails rather than being "about the same" (``analysis.SAME_WITHIN``).

    python benchmarks/claims_by_seed.py [--seeds 10] [--out benchmarks/results/claims_by_seed.txt]

On each bundled CamVid frame (whose labels are known), FCN once and the Bayesian SegNet at seeds 0..N-1, both as
served (8 samples): each claim's figure, with the label and without it (as for a visitor's picture). For each
figure, the largest relative spread of SegNet's over the seeds (max - min against their mean) over the frames; then
each frame's verdicts, seed by seed, at the margins ``analysis.SAME_WITHIN`` holds now: read off the line the Compare
tab shows (``analysis.claims_line``), so they are the app's own, its "not judged" rules included (no claim on a
picture unlike CamVid; the riders not judged where both networks call most of the label's riders something else,
``analysis.RIDERS_FOUND``). FCN's single pass draws nothing: its figures do not move. About
6 minutes on 2 CPU cores shared with other work (3.5 minutes of CPU time), 2026-12-06.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from segdemo import analysis  # noqa: E402
from segdemo.analysis import (  # noqa: E402
    band_uncertainty, boundary_density, common_band, rider_mixing, rider_pixels, thin_iou, thin_share,
)
from segdemo.classes import VOID_INDEX  # noqa: E402
from segdemo.ground_truth import example_ground_truth  # noqa: E402
from segdemo.images import load_image  # noqa: E402
from segdemo.inference import predict  # noqa: E402
from segdemo.metrics import boundary_f1  # noqa: E402
from segdemo.zoo import DEFAULT_FCN, DEFAULT_SEGNET, load_zoo  # noqa: E402


def figures(fcn, segnet, truth) -> dict[str, tuple[float | None, float | None]]:
    """(SegNet's, FCN's) figure of each claim, with the label (``truth``) or, where None, without it."""
    pair = (segnet, fcn)
    band = common_band(fcn, segnet, truth)
    riders = rider_pixels(fcn, segnet, truth)
    out = {
        "band": tuple(band_uncertainty(p, band) for p in pair),
        "riders": tuple(rider_mixing(p, riders) for p in pair),
    }
    if truth is not None:
        out["detail"] = tuple(boundary_f1(p.labels, truth, p.probabilities.shape[0], VOID_INDEX) for p in pair)
        out["thin"] = tuple(thin_iou(p.labels, truth) for p in pair)
    else:
        out["detail"] = tuple(boundary_density(p.labels) for p in pair)
        out["thin"] = tuple(thin_share(p.labels) for p in pair)
    return out


# The names claims_line gives each claim, with the label and without it, and the mark of each of its verdicts.
CLAIM_NAMES = {
    "detail": ("SegNet's boundaries are more accurate", "SegNet draws more boundaries"),
    "thin": ("it finds thin structures better", "more thin structures"),
    "band": ("it is less sure where boundaries lie",),
    "riders": ("it mixes Pedestrian and Bicyclist more",),
}
MARKS = {"holds": "+", "does not hold": "x", "about the same": "="}


def verdicts(line: str) -> dict[str, str]:
    """The mark of each claim in a line of ``analysis.claims_line``: + holds, x does not hold, = about the same, -
    not judged (no figure to judge it on, the riders found by neither network, or no claim judged on the picture)."""
    if line.startswith("**No claim is judged"):
        return dict.fromkeys(CLAIM_NAMES, "-")
    marks = {}
    for claim, names in CLAIM_NAMES.items():
        found = re.search(rf"(?:\*\* |; )(?:{'|'.join(map(re.escape, names))}): ([^(;]*)", line)
        if found is None:
            raise ValueError(f"no {claim} claim in claims_line's {line!r}")
        said = found.group(1).strip()
        marks[claim] = next((mark for words, mark in MARKS.items() if said == words), "-")
    return marks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    models = load_zoo()
    fcn_model, segnet_model = models[DEFAULT_FCN].checkpoint, models[DEFAULT_SEGNET].checkpoint
    lines: list[str] = []
    spreads: dict[tuple[str, str], float] = {}
    by_frame: dict[str, dict[str, list[tuple[float | None, float | None]]]] = {}
    marks_by_frame: dict[str, dict[str, list[str]]] = {}
    for path in sorted((ROOT / "examples").glob("*.jpg")):
        image = load_image(path).image
        truth = example_ground_truth(image)
        fcn = predict(image, fcn_model)
        for seed in range(args.seeds):
            segnet = predict(image, segnet_model, seed=seed)
            for label, known in (("label", truth), ("no label", None)):
                frame = f"{path.stem} ({label})"
                for claim, pair in figures(fcn, segnet, known).items():
                    by_frame.setdefault(frame, {}).setdefault(claim, []).append(pair)
                for claim, mark in verdicts(analysis.claims_line(fcn, segnet, known)).items():
                    marks_by_frame.setdefault(frame, {}).setdefault(claim, []).append(mark)
    for frame, claims in by_frame.items():
        for claim, pairs in claims.items():
            values = [s for s, _ in pairs if s is not None]
            if len(values) == len(pairs) and values and sum(values):
                spread = (max(values) - min(values)) / (sum(values) / len(values))
                key = (claim, "label" if "(label)" in frame else "no label")
                spreads[key] = max(spreads.get(key, 0.0), spread)
    lines.append("Largest relative spread of SegNet's figure over the seeds (max - min against the mean), by claim:")
    for (claim, label), spread in sorted(spreads.items()):
        lines.append(f"  {claim:7s} {label:9s} {spread:6.1%}")
    lines.append(f"\nThe Compare tab's verdicts (analysis.claims_line) at analysis.SAME_WITHIN = {analysis.SAME_WITHIN}"
                 f" and analysis.RIDERS_FOUND = {analysis.RIDERS_FOUND}, seed by seed (+ holds, x does not hold, "
                 "= about the same, - not judged):")
    for frame, claims in marks_by_frame.items():
        row = []
        for claim in ("detail", "thin", "band", "riders"):
            marks = "".join(claims[claim])
            flips = len(Counter(marks)) > 1
            row.append(f"{claim} {marks}{' (changes)' if flips else ''}")
        lines.append(f"  {frame}: " + "; ".join(row))
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
