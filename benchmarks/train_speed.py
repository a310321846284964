"""How long one training step takes, fp32 against bf16 autocast + channels-last, in one run.

    python benchmarks/train_speed.py                      # both shipped architectures, 180x240 and 360x480
    python benchmarks/train_speed.py --threads 1 2 --sizes 192 256

Each configuration runs a few warm-up steps, then times ``--steps`` steps of
``segdemo.train.train_step`` on random batches (the network's cost does not
depend on the pixels), and prints the median with the ratio to fp32 measured
in the same run. Run it on an otherwise idle machine: a training run beside it
measures nothing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from segdemo.classes import NUM_CLASSES  # noqa: E402
from segdemo.data.augment import Augmentation, make_batch  # noqa: E402
from segdemo.models import build  # noqa: E402
from segdemo.train import cpu_has_bf16, train_step  # noqa: E402
from segdemo.training_aids import AuxiliaryHeads  # noqa: E402


def time_steps(name: str, size: tuple[int, int], batch: int, bf16: bool, auxiliary: bool, steps: int) -> float:
    """Median seconds of one optimisation step."""
    torch.manual_seed(0)
    model = build(name).train()
    heads = AuxiliaryHeads(model) if auxiliary else None
    modules = [model] + ([heads] if heads else [])
    if bf16:
        for module in modules:
            module.to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW([p for m in modules for p in m.parameters()], lr=1e-3)
    images = torch.rand(batch, 3, *size)
    labels = torch.randint(0, NUM_CLASSES, (batch, *size))
    weights = torch.ones(NUM_CLASSES)
    times = []
    for index in range(steps + 2):
        tick = time.perf_counter()
        train_step(model, optimizer, images, labels, weights, autocast=bf16, auxiliary=heads, channels_last=bf16)
        if index >= 2:
            times.append(time.perf_counter() - tick)
    return statistics.median(times)


def time_batches(crop: tuple[int, int], batch: int, repeats: int = 20) -> float:
    """Median seconds to cut one augmented batch from frames held at 360x480 (``segdemo.data.augment``)."""
    frames = torch.randint(0, 256, (32, 3, 360, 480), dtype=torch.uint8)
    labels = torch.randint(0, NUM_CLASSES, (32, 360, 480)).to(torch.uint8)
    augmentation = Augmentation(crop=crop, scale=(0.5, 1.5))
    generator = torch.Generator().manual_seed(0)
    times = []
    for _ in range(repeats):
        tick = time.perf_counter()
        make_batch(frames, labels, list(range(batch)), augmentation, generator)
        times.append(time.perf_counter() - tick)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["bayesian_segnet_lite", "fcn8s_lite"])
    parser.add_argument("--sizes", type=int, nargs="+", default=[180, 240, 360, 480], help="H W pairs")
    parser.add_argument("--threads", type=int, nargs="+", default=[2])
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    sizes = list(zip(args.sizes[::2], args.sizes[1::2]))
    print(f"torch {torch.__version__}, CPU bf16 native: {cpu_has_bf16()}, batch {args.batch_size}")
    rows = []
    for threads in args.threads:
        torch.set_num_threads(threads)
        for name in args.models:
            auxiliary = "segnet" in name  # the recipe's SegNet trains with its decoder heads
            for size in sizes:
                fp32 = time_steps(name, size, args.batch_size, False, auxiliary, args.steps)
                bf16 = time_steps(name, size, args.batch_size, True, auxiliary, args.steps)
                rows.append({"model": name, "size": list(size), "threads": threads, "auxiliary_heads": auxiliary,
                             "fp32_s": round(fp32, 3), "bf16_channels_last_s": round(bf16, 3),
                             "speedup": round(fp32 / bf16, 2)})
                print(f"{name:22s} {size[0]}x{size[1]} {threads} thr{' +aux' if auxiliary else ''}: "
                      f"fp32 {fp32:.3f} s, bf16+channels-last {bf16:.3f} s, {fp32 / bf16:.2f}x", flush=True)
        for size in sizes:
            seconds = time_batches(size, args.batch_size)
            rows.append({"data_batch": list(size), "threads": threads, "seconds": round(seconds, 4)})
            print(f"one augmented batch of {args.batch_size} at {size[0]}x{size[1]}, {threads} thr: {1000 * seconds:.1f} ms")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
