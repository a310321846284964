"""What a new overlay opacity costs: re-blending the shown result against running the request again.

Moving the opacity slider blends the overlay again from the picture,
classes and boundaries the result left in Gradio's cache
(``SegmentationService.reblend_segment``: read, blend, write);
before, a visitor pressed Segment and waited for the network. Both handlers
are timed in this one run, on a 480x360 CamVid frame and on a 12-megapixel
photo (returned at 2048x1536), with the default model. Beside them, what
each request spends writing the files a re-blend reads (the layer; Compare's
picture) and the class map a visitor can download.

    .venv/bin/python benchmarks/reblend.py --json benchmarks/results/reblend-cpu.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
FRAME = ROOT / "examples" / "camvid_0006R0_f01290.jpg"
sys.path.insert(0, str(ROOT))


def median_ms(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--model", default="fcn8s_lite")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    from segdemo.imagefiles import write_images
    from segdemo.service import SegmentationService
    from segdemo.visualize import OverlayLayer, class_map
    from segdemo.zoo import load_zoo

    service = SegmentationService(load_zoo())
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        photo = Path(folder) / "photo.jpg"
        with Image.open(FRAME) as frame:
            frame.resize((4000, 3000)).save(photo, quality=92)
        for name, picture in (("480x360 CamVid frame", FRAME), ("12 MP photo", photo)):
            shown = service.segment(str(picture), args.model, 0.55, 1, 0)[-1]
            opacities = iter([0.05 * (i % 20) for i in range(10_000)])
            reblend = median_ms(lambda: service.reblend_segment(shown, next(opacities), "info"), args.repeats)
            request = median_ms(lambda: service.segment(str(picture), args.model, next(opacities), 1, 0), args.repeats)
            # what keeping them costs each request: the layer's file, and (Compare) the picture's PNG
            layer = OverlayLayer.load(shown.layer_files[0])
            with Image.open(shown.picture_file) as returned:
                returned.load()
            save_layer = median_ms(lambda: layer.save(Path(folder) / "layer.npz"), args.repeats)
            save_picture = median_ms(lambda: write_images({"picture": returned}), args.repeats)
            classes = write_images({"class_map": class_map(layer.labels, layer.palette)})["class_map"]
            save_classes = median_ms(lambda: write_images({"class_map": class_map(layer.labels, layer.palette)}),
                                     args.repeats)
            rows.append({"picture": name, "returned": list(returned.size), "reblend_ms": round(reblend, 1),
                         "segment_ms": round(request, 1), "speedup": round(request / reblend, 1),
                         "layer_file_ms": round(save_layer, 1), "layer_file_bytes": Path(shown.layer_files[0]).stat().st_size,
                         "picture_png_ms": round(save_picture, 1), "class_map_png_ms": round(save_classes, 1),
                         "class_map_bytes": Path(classes).stat().st_size})

    print(f"model {args.model}, {args.threads} threads, median of {args.repeats}")
    print("| picture | returned at | re-blend | Segment again | ratio |\n|---|---|---|---|---|")
    for row in rows:
        w, h = row["returned"]
        print(f"| {row['picture']} | {w}x{h} | {row['reblend_ms']:.0f} ms | {row['segment_ms']:.0f} ms | {row['speedup']:.0f}x |")
    for row in rows:
        print(f"{row['picture']}: the layer's file {row['layer_file_bytes'] / 1000:.0f} kB written in "
              f"{row['layer_file_ms']:.1f} ms, the picture's PNG in {row['picture_png_ms']:.1f} ms, the class map's "
              f"{row['class_map_bytes'] / 1000:.0f} kB PNG in {row['class_map_png_ms']:.1f} ms")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"model": args.model, "threads": args.threads, "repeats": args.repeats,
                                         "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
