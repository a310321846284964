"""Train a network on CamVid: ``python -m segdemo.train --model bayesian_segnet_lite --size 180 240``.

Cross-entropy with SegNet's median-frequency class balancing (void ignored),
AdamW with a linear warm-up and cosine decay, joint image/mask augmentation,
validation on the val split after every ``--val-every`` epochs against the
full-resolution labels, and the best-mIoU weights kept in the checkpoint
format. Writes ``OUT/best/`` (config.json + model.safetensors), ``OUT/log.csv``,
``OUT/log.json`` and ``OUT/curves.png``. Uses CUDA with bf16 autocast when
present, the CPU otherwise.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import random
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader
from tqdm import tqdm

from safetensors.torch import load_file

from .checkpoints import WEIGHTS_NAME, make_config, save_checkpoint
from .classes import CAMVID_MEAN, CAMVID_STD, NUM_CLASSES, VOID_INDEX
from .data.camvid import DEFAULT_ROOT, FULL_SIZE, CamVid, median_frequency_weights, normalize, train_transform
from .evaluate import evaluate_model
from .models import build, count_parameters, model_names


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def lr_at(step: int, total: int, warmup: int, base_lr: float) -> float:
    """Linear warm-up then cosine decay to 1% of ``base_lr``."""
    if step < warmup:
        return base_lr * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return base_lr * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def train_step(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    images: torch.Tensor,
    labels: torch.Tensor,
    class_weights: torch.Tensor,
    mean: tuple[float, ...] = CAMVID_MEAN,
    std: tuple[float, ...] = CAMVID_STD,
    autocast: bool = False,
) -> float:
    """One optimisation step on a batch of uint8 images and int64 labels; returns the loss."""
    device = class_weights.device
    x = normalize(images.to(device, non_blocking=True), mean, std)
    y = labels.to(device, non_blocking=True)
    with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=autocast):
        logits = model(x)
    loss = F.cross_entropy(logits.float(), y, weight=class_weights, ignore_index=VOID_INDEX)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return float(loss.detach())


def plot_curves(history: list[dict[str, Any]], path: Path) -> None:
    """Training loss and validation mIoU/BF against epoch, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [row["epoch"] for row in history]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    left.plot(epochs, [row["train_loss"] for row in history], color="tab:blue")
    left.set(xlabel="epoch", ylabel="weighted cross-entropy", title="training loss")
    val = [row for row in history if row.get("val_mean_iou") is not None]
    right.plot([r["epoch"] for r in val], [100 * r["val_mean_iou"] for r in val], marker="o", label="mIoU")
    right.plot([r["epoch"] for r in val], [100 * r["val_boundary_f1"] for r in val], marker="s", label="BF")
    right.plot([r["epoch"] for r in val], [100 * r["val_global_accuracy"] for r in val], marker="^", label="global acc.")
    right.set(xlabel="epoch", ylabel="%", title="CamVid val")
    right.legend()
    for axis in (left, right):
        axis.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


ENCODER_PREFIXES = ("block", "enc")  # FCN's VGG blocks and SegNet's encoder units share layer names inside


def load_vgg_encoder(model: torch.nn.Module, state: dict[str, torch.Tensor]) -> int:
    """Copy the 13 VGG convolutions (and their batch norms) of an FCN or SegNet state dict into ``model``.

    FCN names them ``block{i}.conv{i}_{j}``, SegNet ``enc{i}.conv{i}_{j}``;
    the shapes must match exactly. Returns how many tensors were copied.
    """
    own = model.state_dict()
    target_prefix = next((p for p in ENCODER_PREFIXES if any(k.startswith(f"{p}1.") for k in own)), None)
    if target_prefix is None:
        raise ValueError("this model has no VGG encoder to initialise")
    copied = {}
    for key, value in state.items():
        for prefix in ENCODER_PREFIXES:
            if key.startswith(prefix) and key[len(prefix)].isdigit() and ".conv" in key:
                target = target_prefix + key[len(prefix):]
                if target not in own or own[target].shape != value.shape:
                    raise ValueError(f"{key} does not fit this model's encoder ({target})")
                copied[target] = value
    if len(copied) == 0:
        raise ValueError("the checkpoint has no VGG encoder")
    model.load_state_dict(copied, strict=False)
    return len(copied)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, choices=model_names())
    parser.add_argument("--data", type=Path, default=DEFAULT_ROOT, help="CamVid-layout folder")
    parser.add_argument("--size", type=int, nargs=2, default=list(FULL_SIZE), metavar=("H", "W"), help="training resolution")
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--weight-decay", type=float, default=1e-4)
    parser.add_argument("--warmup-epochs", type=float, default=2.0)
    parser.add_argument("--scale", type=float, nargs=2, default=[0.75, 1.5], help="random scale range")
    parser.add_argument("--val-every", type=int, default=2, help="validate every N epochs (and at the end)")
    parser.add_argument("--time-limit", type=float, default=0, help="minutes; stop early, keeping the best weights")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch's default)")
    parser.add_argument("--workers", type=int, default=0, help="data loader worker processes")
    parser.add_argument("--out", type=Path, help="output folder (default: runs/MODEL)")
    parser.add_argument("--steps", type=int, default=0, help="stop after this many steps (smoke tests)")
    parser.add_argument(
        "--init", type=Path, help="start from this checkpoint's weights (e.g. fine-tune a Bayesian model from its plain twin)"
    )
    parser.add_argument(
        "--init-encoder",
        type=Path,
        help="start the VGG encoder (conv1_1 to conv5_3) from this FCN or SegNet checkpoint's, as the papers start "
        "theirs from ImageNet's VGG16; the rest stays freshly initialised",
    )
    args = parser.parse_args(argv)

    seed_everything(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    autocast = device.type == "cuda"
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    out = args.out or Path("runs") / args.model
    out.mkdir(parents=True, exist_ok=True)
    size = (args.size[0], args.size[1])

    started = time.perf_counter()
    train_set = CamVid(root=args.data, split="train", size=size, transform=train_transform(size, tuple(args.scale)))
    val_set = CamVid(root=args.data, split="val")
    class_weights = median_frequency_weights(train_set.labels, NUM_CLASSES).to(device)
    print(f"loaded {len(train_set)} train / {len(val_set)} val frames in {time.perf_counter() - started:.1f}s")
    print("median-frequency weights:", [round(w, 3) for w in class_weights.tolist()])

    model = build(args.model, num_classes=NUM_CLASSES)
    if args.init:
        # Dropout has no weights, so SegNet and Bayesian SegNet share one state dict.
        model.load_state_dict(load_file(str(args.init / WEIGHTS_NAME)), strict=True)
        print(f"initialised from {args.init}")
    if args.init_encoder:
        copied = load_vgg_encoder(model, load_file(str(args.init_encoder / WEIGHTS_NAME)))
        print(f"encoder initialised from {args.init_encoder} ({copied} tensors)")
    model = model.to(device)
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    print(f"{args.model}: {count_parameters(model):,} parameters, device {device}, {torch.get_num_threads()} threads")
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=args.lr, weight_decay=args.weight_decay)
    generator = torch.Generator().manual_seed(args.seed)
    loader = DataLoader(
        train_set,
        batch_size=args.batch_size,
        shuffle=True,
        drop_last=True,
        num_workers=args.workers,
        generator=generator,
        pin_memory=device.type == "cuda",
        persistent_workers=args.workers > 0,
    )
    steps_per_epoch = len(loader)
    total_steps = args.steps or args.epochs * steps_per_epoch
    warmup = max(1, int(args.warmup_epochs * steps_per_epoch))
    config_extra = {
        "training": {
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "lr": args.lr,
            "weight_decay": args.weight_decay,
            "size": list(size),
            "scale": list(args.scale),
            "seed": args.seed,
            "device": str(device),
            "class_weights": [round(w, 4) for w in class_weights.tolist()],
            "init": str(args.init) if args.init else None,
            "init_encoder": str(args.init_encoder) if args.init_encoder else None,
        }
    }

    history: list[dict[str, Any]] = []
    best_miou, step, stop = -1.0, 0, False
    for epoch in range(1, args.epochs + 1):
        model.train()
        losses = []
        bar = tqdm(loader, desc=f"epoch {epoch}/{args.epochs}", leave=False, dynamic_ncols=True)
        for images, labels in bar:
            for group in optimizer.param_groups:
                group["lr"] = lr_at(step, total_steps, warmup, args.lr)
            losses.append(train_step(model, optimizer, images, labels, class_weights, autocast=autocast))
            bar.set_postfix(loss=f"{losses[-1]:.3f}")
            step += 1
            minutes = (time.perf_counter() - started) / 60
            if (args.steps and step >= args.steps) or (args.time_limit and minutes >= args.time_limit):
                stop = True
                break
        row: dict[str, Any] = {
            "epoch": epoch,
            "step": step,
            "lr": optimizer.param_groups[0]["lr"],
            "train_loss": sum(losses) / max(1, len(losses)),
            "minutes": round((time.perf_counter() - started) / 60, 2),
        }
        if epoch % args.val_every == 0 or epoch == args.epochs or stop:
            summary = evaluate_model(model, val_set, size, CAMVID_MEAN, CAMVID_STD)
            row.update({f"val_{k}": v for k, v in summary.items() if not isinstance(v, list)})
            if summary["mean_iou"] > best_miou:
                best_miou = summary["mean_iou"]
                config = make_config(args.model, model, size, extra={**config_extra, "best_epoch": epoch})
                save_checkpoint(model, config, out / "best")
                row["saved"] = True
        history.append(row)
        shown = ", ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items())
        print(shown, flush=True)
        _write_logs(history, out)
        if stop:
            break
    plot_curves(history, out / "curves.png")
    print(f"best val mIoU {100 * best_miou:.2f}; checkpoint in {out / 'best'}")
    return 0


def _write_logs(history: list[dict[str, Any]], out: Path) -> None:
    (out / "log.json").write_text(json.dumps(history, indent=2) + "\n")
    keys: list[str] = []
    for row in history:
        keys += [k for k in row if k not in keys]
    with open(out / "log.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=keys)
        writer.writeheader()
        writer.writerows(history)


if __name__ == "__main__":
    raise SystemExit(main())
