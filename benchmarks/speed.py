"""Speed of the shipped models against their peers, measured in one run: ``python benchmarks/speed.py``.

For each shipped model, on a 480x360 picture and a 12-megapixel photo:
- the bare forward pass (median of repeated runs after warm-up) at the
  model's working resolution, with its multiply-accumulate count;
- the whole request through the real Gradio server with gradio_client, and
  its ratio to the bare forward;
- for the Bayesian model, the cost of each extra Monte-Carlo sample as a
  fraction of a full pass.
Peers measured in the same run at the same input: torchvision's
``fcn_resnet50`` (random weights: timing only) and the paper-size SegNet and
FCN-8s. Also the server's peak resident memory and its cold start.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from segdemo.checkpoints import load_checkpoint  # noqa: E402
from segdemo.inference import class_probabilities, working_size  # noqa: E402
from segdemo.models import build, count_macs, is_bayesian  # noqa: E402
from segdemo.zoo import WEIGHTS_DIR, ZOO  # noqa: E402


def median_seconds(fn, repeats: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


@torch.no_grad()
def forward_seconds(model: torch.nn.Module, size: tuple[int, int], repeats: int, samples: int = 1) -> float:
    x = torch.randn(1, 3, *size)
    model.eval()
    return median_seconds(lambda: class_probabilities(model, x, samples=samples, seed=0), repeats)


class TorchvisionOut(torch.nn.Module):
    """torchvision's segmentation models return {"out": scores}; time them like ours."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)["out"]


def peak_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--skip-server", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {platform.processor() or platform.machine()}, {args.threads} threads, "
          f"{'CUDA ' + torch.cuda.get_device_name() if torch.cuda.is_available() else 'CPU only'}")

    photo_sizes = {"480x360": (360, 480), "12MP 4000x3000": (3000, 4000)}
    rows = []
    forwards: dict[str, float] = {}
    for name in ZOO:
        checkpoint = load_checkpoint(WEIGHTS_DIR / name)
        model = checkpoint.model
        for label, (h, w) in photo_sizes.items():
            size = working_size(h, w, checkpoint.input_size)
            seconds = forward_seconds(model, size, args.repeats)
            forwards[f"{name}@{label}"] = seconds
            rows.append((name, label, f"{size[1]}x{size[0]}", count_macs(model, size) / 1e9, seconds))
        if is_bayesian(model):
            for label, (h, w) in photo_sizes.items():
                size = working_size(h, w, checkpoint.input_size)
                forwards[f"{name}@{label}@T8"] = forward_seconds(model, size, args.repeats, samples=8)
            size = working_size(360, 480, checkpoint.input_size)
            one = forward_seconds(model, size, args.repeats, samples=2)
            eight = forwards[f"{name}@480x360@T8"]
            per_sample = (eight - one) / 6
            print(f"{name}: T=8 Monte-Carlo pass {eight * 1000:.0f} ms; each extra sample costs "
                  f"{per_sample * 1000:.1f} ms = {per_sample / forwards[f'{name}@480x360']:.2f} of a full pass "
                  f"(the encoder before the first dropout runs once)")

    from torchvision.models.segmentation import fcn_resnet50

    peers = {
        "torchvision fcn_resnet50": TorchvisionOut(
            fcn_resnet50(weights=None, weights_backbone=None, num_classes=11, aux_loss=False)
        ),
        "SegNet (paper size)": build("segnet"),
        "FCN-8s (paper size)": build("fcn8s"),
    }
    for name, model in peers.items():
        size = (180, 240)
        seconds = forward_seconds(model, size, max(3, args.repeats // 2))
        rows.append((name, "480x360", "240x180", count_macs(model, size) / 1e9, seconds))
        forwards[f"{name}@480x360"] = seconds

    print("\n| model | picture | network input | GMAC | forward (ms, median) |")
    print("|---|---|---|---|---|")
    for name, label, size, gmac, seconds in rows:
        print(f"| {name} | {label} | {size} | {gmac:.2f} | {seconds * 1000:.0f} |")
    default = forwards["bayesian_segnet_lite@480x360"]
    print(f"\ntorchvision fcn_resnet50 / SegNet-lite forward at the same input: "
          f"{forwards['torchvision fcn_resnet50@480x360'] / default:.1f}x")

    if args.skip_server:
        return 0
    from conftest import start_app, stop_app
    from gradio_client import Client, handle_file

    folder = Path(tempfile.mkdtemp(prefix="segdemo-speed-"))
    source = Image.open(next((ROOT / "examples").glob("*.jpg"))).convert("RGB")
    files = {"480x360": folder / "small.png", "12MP 4000x3000": folder / "big.jpg"}
    source.save(files["480x360"])
    source.resize((4000, 3000)).save(files["12MP 4000x3000"], quality=90)
    started = time.perf_counter()
    process, url, _ = start_app()
    client = Client(url, verbose=False)
    client.predict(handle_file(str(files["480x360"])), "fcn8s_lite", 0.5, 1, 0, api_name="/segment")
    cold = time.perf_counter() - started
    print(f"\ncold start (process start until the first answer): {cold:.1f} s")
    print("\n| model | picture | request (ms, median) | request / bare forward |")
    print("|---|---|---|---|")
    try:
        for name in ZOO:
            for label, path in files.items():
                samples = 8 if is_bayesian(load_checkpoint(WEIGHTS_DIR / name).model) else 1
                seconds = median_seconds(
                    lambda: client.predict(handle_file(str(path)), name, 0.5, samples, 0, api_name="/segment"),
                    max(3, args.repeats // 2),
                    warmup=1,
                )
                bare = forwards[f"{name}@{label}" + ("@T8" if samples > 1 else "")]
                print(f"| {name}{' (T=8)' if samples > 1 else ''} | {label} | {seconds * 1000:.0f} | {seconds / bare:.1f} |")
        print(f"\nserver peak resident memory: {peak_rss_mb(process.pid):.0f} MB")
    finally:
        stop_app(process)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
