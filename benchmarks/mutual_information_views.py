"""How much of the Bayesian SegNet's served mutual information is dropout's, and how much its views'.

    python benchmarks/mutual_information_views.py [--picture examples/camvid_0006R0_f03570.jpg]

As served, the SegNet's samples are spread over the picture and its mirror
image and over two scales (``segdemo.inference``), and the mutual
information H[mean p] - mean H[p] is taken over all of them: so it counts
the views' disagreement as well as dropout's. This prints the picture's
mean mutual information (nats) as served, with the mirror or the second
scale left out, with one view alone (dropout's own disagreement, what the
Bayesian SegNet paper samples; its released code, test_bayesian_segnet.py,
shows the samples' softmax variance averaged over classes, not the mutual
information), and over the four views with dropout off (the views' own).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from segdemo.checkpoints import load_checkpoint  # noqa: E402
from segdemo.data import normalize  # noqa: E402
from segdemo.images import load_image  # noqa: E402
from segdemo.inference import _to_grid, predict, scaled_input, set_mc_dropout, working_size  # noqa: E402
from segdemo.uncertainty import mutual_information  # noqa: E402

WEIGHTS = ROOT / "weights" / "bayesian_segnet_lite"
PICTURE = ROOT / "examples" / "camvid_0006R0_f03570.jpg"


def views_without_dropout(checkpoint, image, scales) -> float:
    """The mean mutual information between the picture's views (mirror x scales), each one pass with dropout off."""
    model, config = checkpoint.model, checkpoint.config
    work_h, work_w = working_size(image.height, image.width, checkpoint.input_size)
    small = image.resize((work_w, work_h))
    x = normalize(torch.from_numpy(np.asarray(small).copy()).permute(2, 0, 1)[None], config["mean"], config["std"])
    set_mc_dropout(model, False)
    views = []
    with torch.no_grad():
        for flip in (False, True):
            for scale in scales:
                logits = _to_grid(model(scaled_input(x.flip(-1) if flip else x, scale)), x.shape[-2:])
                views.append(F.softmax(logits.flip(-1) if flip else logits, dim=1)[0])
    return float(mutual_information(torch.stack(views)).mean())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--picture", type=Path, default=PICTURE)
    parser.add_argument("--samples", type=int, default=8)
    args = parser.parse_args(argv)
    checkpoint = load_checkpoint(WEIGHTS)
    image = load_image(args.picture).image
    served = checkpoint.test_scales
    print(f"{args.picture.name}, {args.samples} samples, seed 0; served scales {served}; "
          "mean mutual information (nats)")
    for name, mirror, scales in (("as served: mirror and scales", True, served),
                                 ("mirror, one scale", True, (1.0,)),
                                 ("no mirror, served scales", False, served),
                                 ("one view: dropout alone", False, (1.0,))):
        prediction = predict(image, checkpoint, samples=args.samples, seed=0, mirror=mirror, scales=scales)
        print(f"  {name:38s} {float(prediction.mutual_information.mean()):.4f}")
    print(f"  {'dropout off, the 4 views alone':38s} {views_without_dropout(checkpoint, image, served):.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
