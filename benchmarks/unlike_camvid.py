"""How often FCN and the Bayesian SegNet disagree on a street they never saw, and on pictures unlike CamVid.

    python benchmarks/unlike_camvid.py [--frames 101] [--twins]

The two networks were trained apart, on the same road scenes: where a
picture is like those scenes they mostly agree; where it is not (a face, an
animal, a page of text) each maps it to road-scene classes its own way, and
they disagree on much of it. Their confidence tells no such thing: a flat
grey picture is called Sky at 96%. This prints the share of pixels on which
the two disagree:

* on CamVid 0006R0, a street the twins (``twins/``, the runs that held it
  out) never saw, as a test street is for the shipped weights: the twins'
  disagreement there is what the shipped pair's is on an unseen street;
* on the bundled examples (0006R0 frames the shipped weights did not train on);
* on pictures unlike CamVid, made here from pictures installed with matplotlib
  and Gradio, and from a CamVid frame turned, inverted or shrunk.

Each as served (FCN at its scales, SegNet's 8 samples, seed 0, as the
Compare tab runs them; ``segdemo.analysis.UNLIKE_CAMVID`` is set from these),
and with either network in one quick pass (one scale, dropout off) against
the other as served: what a check beside the one network the Segment tab
runs would cost one more pass to see.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageOps

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from segdemo.checkpoints import load_checkpoint  # noqa: E402
from segdemo.images import load_image  # noqa: E402
from segdemo.inference import predict  # noqa: E402

CAMVID = ROOT.parent / "shared" / "data" / "camvid"
SHIPPED = (ROOT / "weights" / "fcn8s_lite", ROOT / "weights" / "bayesian_segnet_lite")
TWINS = (ROOT / "twins" / "gpu_recipe" / "fcn8s_lite", ROOT / "twins" / "gpu_h200" / "bayesian_segnet_lite")


def unlike_pictures(street: Image.Image) -> dict[str, Image.Image]:
    """Pictures a visitor may upload that are nothing like a CamVid frame, and a street made strange."""
    found: dict[str, Image.Image] = {}
    packages = Path(np.__file__).resolve().parent.parent
    for name, path in (("portrait", "matplotlib/mpl-data/sample_data/grace_hopper.jpg"),
                       ("cheetah", "gradio/media_assets/images/cheetah.jpg"),
                       ("lion", "gradio/media_assets/images/lion.jpg"),
                       ("cartoon", "gradio/media_assets/images/groot.jpeg"),
                       ("tower", "gradio/media_assets/images/tower.jpg")):
        if (packages / path).is_file():
            found[name] = load_image(packages / path).image
    page = Image.new("RGB", (850, 1100), (250, 250, 245))
    draw = ImageDraw.Draw(page)
    for line in range(35):
        draw.text((60, 60 + 28 * line), f"Lorem ipsum dolor sit amet, consectetur adipiscing elit {line}",
                  fill=(20, 20, 20))
    found["document"] = page
    found["noise"] = Image.fromarray(np.random.default_rng(0).integers(0, 256, (360, 480, 3), dtype=np.uint8))
    found["flat red"] = Image.new("RGB", (480, 360), (200, 30, 30))
    found["flat grey"] = Image.new("RGB", (480, 360), (128, 128, 128))
    found["street turned 90°"] = street.rotate(90, expand=True)
    found["street upside down"] = street.rotate(180)
    found["street inverted"] = ImageOps.invert(street)
    found["street 40x30"] = street.resize((40, 30), Image.LANCZOS)
    found["street in grey"] = ImageOps.grayscale(street).convert("RGB")
    found["street at night (x0.15)"] = Image.fromarray((np.asarray(street) * 0.15).astype(np.uint8))
    return found


def disagreements(image: Image.Image, fcn, segnet) -> tuple[float, float, float]:
    """Share of pixels the two label differently: both as served; FCN served, SegNet quick; SegNet served, FCN
    quick."""
    fcn_served = predict(image, fcn, seed=0).labels
    segnet_served = predict(image, segnet, samples=8, seed=0).labels
    fcn_quick = predict(image, fcn, scales=(1.0,)).labels
    segnet_quick = predict(image, segnet, samples=1, scales=(1.0,), mirror=False).labels
    share = lambda a, b: float((a != b).float().mean())  # noqa: E731
    return share(fcn_served, segnet_served), share(fcn_served, segnet_quick), share(segnet_served, fcn_quick)


def summary(name: str, values: list[tuple[float, float, float]]) -> str:
    columns = []
    for column in zip(*values):
        columns.append(f"{100 * min(column):5.1f} {100 * statistics.median(column):5.1f} {100 * max(column):5.1f}")
    return f"{name:<32} {len(values):>3}  " + "   ".join(columns)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=101, help="how many 0006R0 frames the twins are run on")
    args = parser.parse_args(argv)
    shipped = [load_checkpoint(path) for path in SHIPPED]
    twins = [load_checkpoint(path) for path in TWINS]
    print("% of pixels on which FCN and SegNet disagree: min median max, for each pair of runs:")
    print(f"{'pictures':<32} {'n':>3}  {'both as served':<17}   {'SegNet quick':<17}   FCN quick")
    frames = sorted((CAMVID / "train").glob("0006R0_*.png"))[: args.frames]
    street = [disagreements(load_image(path).image, *twins) for path in frames]
    print(summary("0006R0, twins (never saw it)", street))
    for threshold in (0.15, 0.20, 0.25):
        over = [sum(value[i] > threshold for value in street) for i in range(3)]
        print(f"  frames over {threshold:.0%}: {over[0]} / {over[1]} / {over[2]} of {len(street)}")
    examples = sorted((ROOT / "examples").glob("*.jpg"))
    print(summary("bundled examples, shipped", [disagreements(load_image(p).image, *shipped) for p in examples]))
    first = load_image(examples[0]).image
    for name, image in unlike_pictures(first).items():
        print(summary(f"{name}, shipped", [disagreements(image, *shipped)]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
