"""What a phone photo costs before any network runs: decoding it in each format, against the same photo as JPEG.

A 12-megapixel (4032x3024) photo-like picture (a CamVid frame scaled up,
with a little noise so that it does not compress like a drawing) is saved
as JPEG, HEIC, AVIF, WebP and TIFF, and each file is decoded by
``segdemo.images.load_image``, as every upload is. For TIFF and HEIC, which
Chrome and Firefox cannot draw, the page is sent the PNG the networks will
see (``SegmentationService.picture_for_the_browser``: decode, scale to
2048x1536, write): timed too. JPEG is the peer: phones' other format, and
the one libjpeg could decode at reduced scale. The JPEG and HEIC are also
saved with an embedded colour profile, as cameras and iPhones save them:
sRGB (checked and left as it is) and Display P3 (converted to sRGB,
``segdemo.colour_profiles``), and the HEIC with Display P3 described by CICP
code points (an nclx box) instead of a profile.

    .venv/bin/python benchmarks/uploads.py --json benchmarks/results/uploads-cpu.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

import numpy as np
from PIL import Image, ImageCms, features

ROOT = Path(__file__).resolve().parent.parent
FRAME = ROOT / "examples" / "camvid_0006R0_f01290.jpg"
SIZE = (4032, 3024)  # an iPhone's 12-megapixel photo
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # icc_profiles: the Display P3 profile the tests build

from icc_profiles import display_p3  # noqa: E402
from reblend import median_ms  # noqa: E402  (the warm-up, then the median of the repeats, in ms)


def photo_like(size: tuple[int, int]) -> Image.Image:
    with Image.open(FRAME) as frame:
        smooth = np.asarray(frame.convert("RGB").resize(size, Image.BICUBIC)).astype(np.int16)
    grain = np.random.default_rng(0).integers(-6, 7, smooth.shape, dtype=np.int16)
    return Image.fromarray(np.clip(smooth + grain, 0, 255).astype(np.uint8))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--size", type=int, nargs=2, default=SIZE, metavar=("WIDTH", "HEIGHT"))
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)

    import gradio as gr

    from segdemo.images import BROWSER_FORMATS, load_image, read_header
    from segdemo.service import SegmentationService


    service = SegmentationService({})  # the page's PNG needs no model
    size = tuple(args.size)
    picture = photo_like(size)
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    saves = {"JPEG": ("JPEG", {"quality": 92}),
             "JPEG, sRGB profile": ("JPEG", {"quality": 92, "icc_profile": srgb}),
             "JPEG, Display P3 profile": ("JPEG", {"quality": 92, "icc_profile": display_p3()}),
             "HEIC": ("HEIF", {"quality": 85}),
             "HEIC, Display P3 profile": ("HEIF", {"quality": 85, "icc_profile": display_p3()}),
             # the same colours described by CICP code points instead of a profile (an nclx box)
             "HEIC, Display P3 described": ("HEIF", {"quality": 85, "color_primaries": 12,
                                                     "transfer_characteristics": 13, "matrix_coefficients": 6,
                                                     "full_range_flag": 1}),
             "WebP": ("WEBP", {"quality": 90}), "TIFF": ("TIFF", {})}
    if features.check("avif"):
        saves["AVIF"] = ("AVIF", {"quality": 80})
    rows = []
    # what the page would be told (outside a request Gradio prints it) is not part of the figures
    with tempfile.TemporaryDirectory() as folder, mock.patch.object(gr, "Info", lambda *args, **kwargs: None):
        for number, (name, (file_format, options)) in enumerate(saves.items()):
            path = Path(folder) / f"photo{number}.{name.split(',')[0].lower()}"
            started = time.perf_counter()
            picture.save(path, format=file_format, **options)
            encode_s = time.perf_counter() - started
            decode = median_ms(lambda: load_image(path), args.repeats)
            page_png = None
            if read_header(path).format not in BROWSER_FORMATS:
                page_png = median_ms(lambda: service.picture_for_the_browser(str(path)), args.repeats)
            converted = any("converted to sRGB" in note for note in load_image(path).notes)
            rows.append({"format": name, "file_bytes": path.stat().st_size, "encode_s": round(encode_s, 1),
                         "converted_to_srgb": converted,
                         "decode_ms": round(decode, 1),
                         "page_png_ms": None if page_png is None else round(page_png, 1)})
    jpeg = next(row for row in rows if row["format"] == "JPEG")
    for row in rows:
        row["decode_vs_jpeg"] = round(row["decode_ms"] / jpeg["decode_ms"], 2)

    import torch  # only for the thread count it reports: Pillow and libheif choose their own

    print(f"{size[0]}x{size[1]} photo-like picture, median of {args.repeats}, {torch.get_num_threads()} CPU threads")
    print("| format | file | decoded by load_image | against JPEG | the page's PNG |\n|---|---|---|---|---|")
    for row in rows:
        png = "–" if row["page_png_ms"] is None else f"{row['page_png_ms']:.0f} ms"
        print(f"| {row['format']} | {row['file_bytes'] / 1e6:.1f} MB | {row['decode_ms']:.0f} ms | "
              f"{row['decode_vs_jpeg']:.2f}x | {png} |")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"size": list(size), "repeats": args.repeats, "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
