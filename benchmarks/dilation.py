"""What the boundary measures cost: segdemo's disk dilation against the union of box dilations it replaced.

``metrics.disk_dilate`` draws the band of the boundary-uncertainty map (one
mask, every request) and the BF score's tolerance (a mask per class: the
Compare tab's figures for a bundled frame, ``evaluate``'s BF). Its radius is
0.75% of the picture's diagonal: 4.5 pixels at 480x360, 19.2 at 2048x1536,
where a photo of a bundled frame is scored. The peer, kept here to be
measured, is the exact method it replaced (one pair of cumulative sums per
distinct width of the disk); both answers are checked to be identical. Then
the Compare request itself on a 12-megapixel copy of a bundled frame, whose
ground truth it finds, so it scores both networks' BF at 2048x1536.

    .venv/bin/python benchmarks/dilation.py --json benchmarks/results/dilation-cpu.json
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import timeit
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
FRAME = ROOT / "examples" / "camvid_0006R0_f01290.jpg"
sys.path.insert(0, str(ROOT))


def box_union_dilate(masks: torch.Tensor, radius: float) -> torch.Tensor:
    """The previous ``disk_dilate``: the disk as a union of centred rectangles, each two windowed sums of a cumsum."""
    r = math.floor(radius)
    if r < 1:
        return masks
    widest: dict[int, int] = {}
    for dy in range(r + 1):
        widest[math.floor(math.sqrt(radius**2 - dy**2))] = dy
    out = torch.zeros_like(masks, dtype=torch.bool)
    for half_width, half_height in widest.items():
        out |= _box(_box(masks, half_height, dim=-2), half_width, dim=-1)
    return out


def _box(masks: torch.Tensor, half: int, dim: int) -> torch.Tensor:
    if half == 0:
        return masks
    length = masks.shape[dim]
    padded = F.pad(masks.to(torch.int32), (half + 1, half) if dim == -1 else (0, 0, half + 1, half))
    cumulative = padded.cumsum(dim=dim)
    return (cumulative.narrow(dim, 2 * half + 1, length) - cumulative.narrow(dim, 0, length)) > 0


def median_ms(fn, repeats: int) -> float:
    """The median of ``repeats`` timed calls after a warm-up, in ms."""
    fn()
    return 1000 * statistics.median(timeit.repeat(fn, number=1, repeat=repeats))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    from segdemo.metrics import BF_TOLERANCE, class_boundaries, disk_dilate, label_edges

    rows = []
    label = torch.from_numpy(np.array(Image.open(ROOT / "examples" / "camvid_0006R0_f01290_label.png")))
    for size in ((480, 360), (2048, 1536)):
        w, h = size
        labels = F.interpolate(label[None, None].float(), size=(h, w), mode="nearest")[0, 0].long()
        radius = BF_TOLERANCE * math.hypot(h, w)
        for what, masks in (("band (1 mask)", label_edges(labels).unsqueeze(0)),
                            ("BF (11 class masks)", class_boundaries(labels, 11))):
            assert torch.equal(disk_dilate(masks, radius), box_union_dilate(masks, radius))
            ours = median_ms(lambda m=masks, rad=radius: disk_dilate(m, rad), args.repeats)
            peer = median_ms(lambda m=masks, rad=radius: box_union_dilate(m, rad), args.repeats)
            rows.append({"size": f"{w}x{h}", "masks": what, "radius": round(radius, 1), "segdemo_ms": round(ours, 1),
                         "box_union_ms": round(peer, 1), "speed-up": round(peer / ours, 1)})
            print(f"{w}x{h} {what:20s} radius {radius:4.1f}: {ours:8.1f} ms against {peer:8.1f} ms, {peer / ours:5.1f}x")

    from segdemo.service import SegmentationService
    from segdemo.zoo import load_zoo

    service = SegmentationService(load_zoo())
    with tempfile.TemporaryDirectory() as folder:
        photo = Path(folder) / "photo.jpg"
        Image.open(FRAME).convert("RGB").resize((4000, 3000), Image.BICUBIC).save(photo, quality=92)
        compare = median_ms(lambda: service.compare(str(photo), 0.55, 8, 0), max(1, args.repeats // 2))
        headline = service.compare(str(photo), 0.55, 8, 0)[6]
    assert "ground truth is known" in headline, "the photo was not recognised as the bundled frame"
    print(f"Compare on a 12 MP copy of a bundled frame (scored at 2048x1536): {compare / 1000:.2f} s")
    figures = {"threads": args.threads, "torch": torch.__version__, "dilation": rows, "compare_12mp_example_s": round(compare / 1000, 2)}
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
