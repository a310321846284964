"""Train a network on CamVid: ``python -m segdemo.train --model fcn8s_lite --budget-minutes 90``.

Cross-entropy with SegNet's median-frequency class balancing (void ignored),
AdamW with a linear warm-up and a cosine decay over a number of epochs or over
a budget of training minutes, crops cut from frames held in memory at full
resolution with scale, flip and light augmentation (``segdemo.data.augment``),
optional auxiliary decoder heads and a weight average (``segdemo.training_aids``).

Speed on a CPU: bf16 autocast with channels-last tensors where the CPU has
bf16 instructions (``--precision``; fp32 master weights either way), which
halves a step on this project's 2-core build machine. CUDA gets the same.

Validation: ``--holdout 0006R0`` keeps a whole sequence out of training and
validates on it, the way CamVid's test split is a street the network never
saw; without it, the val split is used. Figures are measured against the
full-resolution labels at the serving size (``--serve-size``).

Interruption: the run saves ``OUT/state/`` every ``--save-minutes``, and when
Ctrl-C or SIGTERM asks it to stop; ``--resume OUT`` continues the same
schedule (step, learning rate, seconds trained). An ``--out`` that holds
another run is refused rather than written over.
Writes ``OUT/best/`` and ``OUT/last/`` (config.json + model.safetensors, the
averaged weights when ``--ema`` is on), ``OUT/log.csv``, ``OUT/log.json`` and
``OUT/curves.png``.
"""

from __future__ import annotations

import argparse
import copy
import csv
import functools
import json
import math
import random
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from safetensors.torch import load_file

from .checkpoints import CONFIG_NAME, WEIGHTS_NAME, make_config, save_checkpoint
from .classes import CAMVID_CLASSES, CAMVID_MEAN, CAMVID_STD, NUM_CLASSES
from .data.augment import PASTED_CLASSES, Augmentation, make_batch
from .data.camvid import (
    DEFAULT_ROOT, FULL_SIZE, CamVid, enet_weights, median_frequency_weights, normalize, read_split, sequence_of, uniform_weights,
)
from .evaluate import evaluate_model
from .models import build, count_parameters, model_kwargs, model_names
from .run_state import STATE_DIR, StopRequests, load_run_state, read_progress, save_run_state
from .training_aids import AuxiliaryHeads, WeightAverage, segmentation_loss


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def learning_rate(step: int, progress: float, warmup: int, base_lr: float) -> float:
    """Linear warm-up over ``warmup`` steps, times a cosine decay to 1% of ``base_lr`` as ``progress`` goes 0 to 1."""
    warm = min(1.0, (step + 1) / max(1, warmup))
    return base_lr * warm * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(1.0, max(0.0, progress)))))


def cpu_has_bf16() -> bool:
    """True when oneDNN can run bf16 convolutions natively (avx512_bf16 / AMX); emulated bf16 is slower than fp32."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def use_bf16(device: torch.device, precision: str) -> bool:
    """``--precision auto`` picks bf16 autocast on CUDA and on CPUs with native bf16, fp32 elsewhere."""
    if precision == "fp32":
        return False
    if precision == "bf16":
        return True
    return device.type == "cuda" or cpu_has_bf16()


def train_step(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    images: torch.Tensor,
    labels: torch.Tensor,
    class_weights: torch.Tensor,
    mean: tuple[float, ...] = CAMVID_MEAN,
    std: tuple[float, ...] = CAMVID_STD,
    autocast: bool = False,
    auxiliary: AuxiliaryHeads | None = None,
    auxiliary_weight: float = 0.4,
    channels_last: bool = False,
    lovasz_weight: float = 0.0,
    lovasz_pixels: int = 0,
    relaxation: int = 0,
    focal_gamma: float = 0.0,
) -> float:
    """One optimisation step on a batch of images (uint8, or float in 0..1) and int64 labels; returns the loss, or NaN
    where the step was skipped.

    With ``autocast`` the forward pass runs in bf16 (the weights and the
    optimiser stay fp32); the loss is always computed in fp32. A step whose
    loss or gradients are not finite changes no weight (as AMP's gradient
    scaler skips one): oneDNN's bf16 weight gradient of fc6, a 7x7 kernel over
    a 2x2 map (crops of 64 pixels or less), is now and then NaN, which one
    AdamW step spread over all of fc6 and every later step kept.
    """
    device = class_weights.device
    x = normalize(images.to(device, non_blocking=True), mean, std)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    y = labels.to(device, non_blocking=True)
    with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=autocast):
        logits = model(x)
        extra = auxiliary(tuple(y.shape[-2:])) if auxiliary is not None else []
    loss = segmentation_loss(logits, y, class_weights, extra, auxiliary_weight, lovasz_weight, lovasz_pixels, relaxation,
                             focal_gamma)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if not _finite_gradients(optimizer):
        optimizer.zero_grad(set_to_none=True)
        return float("nan")
    optimizer.step()
    return float(loss.detach())


def _finite_gradients(optimizer: torch.optim.Optimizer) -> bool:
    """Whether every gradient the optimizer would apply is finite (a NaN loss makes them all NaN)."""
    grads = [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
    return not grads or bool(torch.isfinite(torch.nn.utils.get_total_norm(grads)))


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


# Class weightings of the loss, from the steepest to the softest (ratio rarest/commonest on CamVid about 35, 10, 3).
MAX_SKIPPED_IN_A_ROW = 20  # steps without a finite gradient before a run is given up: it has diverged
CLASS_WEIGHTINGS = {
    "median-frequency": median_frequency_weights,  # SegNet's
    "enet": enet_weights,  # 1/ln(1.02+p), ENet's
    "espnet": functools.partial(enet_weights, c=1.10),  # 1/ln(1.10+p), ESPNet's
    "none": uniform_weights,  # plain cross-entropy
}
RUN_FILES = (STATE_DIR, f"{STATE_DIR}.old", "best", "last", "log.json")  # what a run leaves in its --out
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


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=model_names(), help="required unless --resume")
    parser.add_argument("--data", type=Path, help=f"CamVid-layout folder (default: {DEFAULT_ROOT}; with --resume: "
                        "the run's own, which --data replaces where the same frames have moved)")
    parser.add_argument("--splits", nargs="+", default=["train"], help="splits to train on (train val: every labelled frame)")
    parser.add_argument("--holdout", nargs="+", default=[], metavar="SEQ",
                        help="keep these sequences out of training and validate on them (e.g. 0006R0)")
    parser.add_argument("--exclude-frames", nargs="+", default=[], metavar="STEM",
                        help="single frames kept out of training, by image stem (0006R0_f01290): the app's bundled examples")
    parser.add_argument("--size", type=int, nargs=2, default=[180, 240], metavar=("H", "W"), help="training crop")
    parser.add_argument("--frame-size", type=int, nargs=2, default=list(FULL_SIZE), metavar=("H", "W"),
                        help="resolution the frames are held at; --scale is relative to it")
    parser.add_argument("--scale", type=float, nargs=2, default=[0.5, 1.0], help="random resize range of the frames")
    parser.add_argument("--serve-size", type=int, nargs=2, metavar=("H", "W"),
                        help="working resolution written to config.json and used to validate (default: --size)")
    parser.add_argument("--copy-paste", type=float, default=0.0, metavar="P",
                        help="chance that a training frame gets another frame's poles, signs, pedestrians and "
                             "bicyclists pasted in (0: off)")
    parser.add_argument("--paste-classes", nargs="+", choices=list(CAMVID_CLASSES), metavar="CLASS",
                        help="the classes --copy-paste moves (default: Pole SignSymbol Pedestrian Bicyclist)")
    parser.add_argument("--colour-cast", type=float, default=0.0, metavar="G",
                        help="multiply each colour channel of a frame by its own gain in 1 +- G, as white balance "
                             "differs between days and streets (0: off)")
    parser.add_argument("--no-light", action="store_true", help="no brightness/contrast/saturation/gamma jitter")
    parser.add_argument("--epochs", type=int, default=100, help="schedule length, unless --budget-minutes")
    parser.add_argument("--budget-minutes", type=float, default=0,
                        help="schedule length in minutes of training (the cosine decays over them; evaluation not counted)")
    parser.add_argument("--class-weighting", choices=list(CLASS_WEIGHTINGS), default="median-frequency",
                        help="SegNet's median-frequency balancing, ENet's softer 1/ln(1.02+p), ESPNet's softer still "
                             "1/ln(1.10+p), or none (plain cross-entropy)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--weight-decay", type=float, default=1e-4)
    parser.add_argument("--warmup-epochs", type=float, default=2.0)
    parser.add_argument("--dropout", type=float,
                        help="Bayesian SegNet's dropout rate (default: the model's 0.5); its placement stays Kendall et al.'s")
    parser.add_argument("--width", type=float,
                        help="scale of every VGG16 layer's channels (default: the model's, 0.25 for the -lite ones; "
                             "1.0 is the paper's)")
    parser.add_argument("--aux-weight", type=float, default=0.0,
                        help="weight of auxiliary 1x1 heads on SegNet decoder units 5-2 (0: none; 0.4 in our recipe)")
    parser.add_argument("--lovasz-weight", type=float, default=0.0,
                        help="add this much of the Lovász-softmax loss (a surrogate of 1 - IoU) to the cross-entropy")
    parser.add_argument("--lovasz-pixels", type=int, default=100_000,
                        help="valid pixels of a batch drawn at random for the Lovász loss (0: all; its sort is costly)")
    parser.add_argument("--label-relaxation", type=int, default=0, metavar="R",
                        help="boundary label relaxation (Zhu et al. 2019): within R pixels of a class boundary the "
                             "loss accepts any class labelled there (0: plain cross-entropy)")
    parser.add_argument("--focal-gamma", type=float, default=0.0, metavar="G",
                        help="focal loss (Lin et al. 2017) in place of the main scores' cross-entropy: each pixel's "
                             "term times (1 - p)^G; Mukhoti et al. 2020 calibrate with G=3 (0: cross-entropy)")
    parser.add_argument("--ema", type=float, default=0.0, help="decay of the weight average that is validated and saved (0: off)")
    parser.add_argument("--precision", choices=["auto", "bf16", "fp32"], default="auto",
                        help="auto: bf16 autocast + channels-last where the hardware has bf16")
    parser.add_argument("--val-every", type=int, default=2, help="validate every N epochs (and at the end)")
    parser.add_argument("--save-minutes", type=float, default=5.0, help="write OUT/state/ this often")
    parser.add_argument("--time-limit", type=float, default=0, help="wall-clock minutes; stop early, keeping the best weights")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch's default)")
    parser.add_argument("--out", type=Path, help="output folder (default: runs/MODEL)")
    parser.add_argument("--steps", type=int, default=0, help="schedule length in steps (smoke tests)")
    parser.add_argument("--stop-after-steps", type=int, default=0,
                        help="stop at this step as if interrupted, leaving OUT/state/ to --resume (tests)")
    parser.add_argument("--resume", type=Path,
                        help="continue the run saved in this folder, with its own arguments (--threads, "
                        "--stop-after-steps and a longer --budget-minutes may be given again)")
    parser.add_argument(
        "--init", type=Path, help="start from this checkpoint's weights (e.g. continue from the committed weights)"
    )
    parser.add_argument(
        "--init-encoder",
        type=Path,
        help="start the VGG encoder (conv1_1 to conv5_3) from this FCN or SegNet checkpoint's, as the papers start "
        "theirs from ImageNet's VGG16; the rest stays freshly initialised",
    )
    args = parser.parse_args(argv)
    if args.resume:
        try:
            saved = read_progress(args.resume)["args"]
        except FileNotFoundError as error:
            raise SystemExit(f"train: {error}") from None
        for key in ("resume", "stop_after_steps", "threads"):
            saved[key] = getattr(args, key)
        if args.budget_minutes and saved.get("budget_minutes"):
            # Lengthening a budget stretches the rest of the cosine: the learning rate moves up a little, no restart.
            saved["budget_minutes"] = max(args.budget_minutes, saved["budget_minutes"])
        saved.setdefault("exclude_frames", [])  # states written before --exclude-frames existed
        saved.setdefault("class_weighting", "median-frequency")
        saved.setdefault("lovasz_weight", 0.0)
        saved.setdefault("lovasz_pixels", 0)
        saved.setdefault("copy_paste", 0.0)
        saved.setdefault("paste_classes", None)
        saved.setdefault("colour_cast", 0.0)
        saved.setdefault("label_relaxation", 0)
        saved.setdefault("focal_gamma", 0.0)
        if args.budget_minutes and not saved.get("budget_minutes"):
            parser.error("--budget-minutes can only lengthen a run that was started with one; this one counts epochs")
        given_data = args.data
        args = argparse.Namespace(**saved)
        args.data = Path(given_data or args.data)
        if not args.data.is_dir():  # it had fallen back to the default CamVid: other frames, other class weights
            parser.error(f"the run's data {args.data} is not here: give --data, the folder its frames are in now")
        args.resume = Path(args.resume)
        args.out = args.resume  # where the state is: a run moved since it started writes on where it now is
        # --init and --init-encoder stay as the run was started (config.json's "init" says what it started from);
        # their weights are not loaded again: the state holds the weights
    elif not args.model:
        parser.error("--model is required (or --resume RUN)")
    else:
        args.data = args.data or DEFAULT_ROOT
    return args


def _json_args(args: argparse.Namespace) -> dict[str, Any]:
    return {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}


def _portable(path: Path | None) -> str | None:
    """A path as it may be written into a shipped config: relative to the repo, or just its name."""
    if path is None:
        return None
    resolved = Path(path).resolve()
    try:
        return str(resolved.relative_to(Path(__file__).resolve().parents[1]))
    except ValueError:
        return resolved.name


def load_frames(
    root: Path,
    splits: list[str],
    exclude: tuple[str, ...],
    frame_size: tuple[int, int],
    exclude_frames: tuple[str, ...] = (),
) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """Every frame of ``splits`` except the ``exclude`` sequences and ``exclude_frames``, as uint8 images (N,3,H,W), uint8 labels (N,H,W)."""
    images, labels, sequences = [], [], []
    for split in splits:
        data = CamVid(root=root, split=split, size=frame_size, exclude=exclude, exclude_frames=exclude_frames)
        images += data.images
        labels += [label.to(torch.uint8) for label in data.labels]
        sequences += [sequence_of(image) for image, _ in data.pairs]
    return torch.stack(images), torch.stack(labels), sequences


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for option, folder in (("--init", args.init), ("--init-encoder", args.init_encoder)):
        if folder and not args.resume and not (Path(folder) / WEIGHTS_NAME).is_file():
            raise SystemExit(f"train: {option} {folder} has no {WEIGHTS_NAME}")
    seed_everything(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    out = args.out = Path(args.out or Path("runs") / args.model)
    found = [name for name in RUN_FILES if (out / name).exists()]
    if found and not args.resume:  # it wrote over the run's logs and best weights, and its state with another's
        raise SystemExit(f"train: {out} already holds a run ({', '.join(found)}): continue it with --resume {out}, "
                         "or give another --out (or delete the folder to start over)")
    with StopRequests(out) as stop:
        return _train(args, stop)


def _train(args: argparse.Namespace, stop: StopRequests) -> int:
    """The run ``main`` checked the arguments of: stopped early by ``stop``, it saves its state and says so."""
    out = args.out
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    bf16 = use_bf16(device, args.precision)
    channels_last = bf16 or device.type == "cuda"
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    size = (args.size[0], args.size[1])
    serve_size = tuple(args.serve_size) if args.serve_size else size

    started = time.perf_counter()
    holdout = tuple(args.holdout)
    excluded_frames = tuple(sorted(set(args.exclude_frames)))
    images, labels, sequences, val_set = _load_data(args, holdout, excluded_frames)
    if len(images) < args.batch_size:  # no whole batch: an epoch took no step (best mIoU -100) or --steps crashed
        raise SystemExit(f"train: {len(images)} training frames, fewer than --batch-size {args.batch_size}: give "
                         f"--batch-size {len(images)} or less, or more frames")
    val_name = f"{'+'.join(holdout)} (held out)" if holdout else "val"
    class_weights = CLASS_WEIGHTINGS[args.class_weighting](list(labels.long()), NUM_CLASSES).to(device)
    if device.type == "cuda":
        # 468 frames at 360x480 are 240 MB: held on the GPU, batches are cut there (segdemo.data.augment) and no
        # host thread has to keep a fast GPU fed.
        images, labels = images.to(device), labels.to(device)
    counts = {s: sequences.count(s) for s in sorted(set(sequences))}
    print(f"loaded {len(images)} training frames {counts} and {len(val_set)} {val_name} frames "
          f"in {time.perf_counter() - started:.1f}s")
    print(f"{args.class_weighting} class weights:", [round(w, 3) for w in class_weights.tolist()])

    stop.training = True  # from here a signal lets the step finish and saves the state
    model, overrides = _build_model(args)
    if args.init and not args.resume:
        for note in init_differences(Path(args.init), args.model, overrides, serve_size):
            print(f"note: {note}")
    evaluated = copy.deepcopy(model)  # validation runs on a copy (before any hook is attached): the average, or the live weights
    try:
        auxiliary = AuxiliaryHeads(model) if args.aux_weight > 0 else None
    except ValueError as error:  # a network without SegNet's decoder stages
        raise SystemExit(f"train: --aux-weight: {error}") from None
    out.mkdir(parents=True, exist_ok=True)  # after the data and the network: a wrong --data leaves no empty folder
    modules: dict[str, torch.nn.Module] = {"model": model}
    if auxiliary is not None:
        modules["auxiliary"] = auxiliary
    for module in modules.values():
        module.to(device)
        if channels_last:
            module.to(memory_format=torch.channels_last)
    evaluated.to(device)  # validate where the model trains: a GPU run would otherwise validate on the host's CPU
    parameters = [p for module in modules.values() for p in module.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(parameters, lr=args.lr, weight_decay=args.weight_decay)
    average = WeightAverage(model, args.ema) if args.ema > 0 else None
    generator = torch.Generator().manual_seed(args.seed)
    print(f"{args.model}: {count_parameters(model):,} parameters, device {device}, {torch.get_num_threads()} threads, "
          f"{'bf16 autocast + channels-last' if bf16 else 'fp32'}"
          + (f", auxiliary heads on {', '.join(auxiliary.heads)}" if auxiliary else "")
          + (f", weight average {args.ema}" if average else ""))

    steps_per_epoch = len(images) // args.batch_size
    total_steps = args.steps or args.epochs * steps_per_epoch
    budget = args.budget_minutes * 60
    warmup = max(1, int(args.warmup_epochs * steps_per_epoch))
    pasted = tuple(CAMVID_CLASSES.index(name) for name in args.paste_classes) if args.paste_classes else PASTED_CLASSES
    augmentation = Augmentation(crop=size, scale=tuple(args.scale), light=not args.no_light, paste=args.copy_paste,
                                pasted_classes=pasted, colour_cast=args.colour_cast)
    history: list[dict[str, Any]] = []
    best_miou, step, epoch, trained_seconds = -1.0, 0, 0, 0.0
    if args.resume:
        averages, generators, progress = load_run_state(args.resume, modules=modules, optimizer=optimizer)
        if average is not None:  # read onto the CPU; on a GPU the average is updated from the model's own device
            average.state = {k: v.to(device) for k, v in averages["average"].items()}
            average.updates = progress["average_updates"]
        generator.set_state(generators["data"])
        torch.set_rng_state(generators["torch"])
        step, epoch, trained_seconds = progress["step"], progress["epoch"], progress["trained_seconds"]
        best_miou, history = progress["best_miou"], progress["history"]
        print(f"resumed {args.resume} at step {step}, epoch {epoch}, {trained_seconds / 60:.1f} min trained")

    config_extra = {"training": _training_record(args, bf16=bf16, device=device, counts=counts, pasted=pasted,
                                                 class_weights=class_weights, val_name=val_name)}

    def progress_now() -> float:
        return trained_seconds / budget if budget else (step - warmup) / max(1, total_steps - warmup)

    def finished() -> bool:
        return trained_seconds >= budget if budget else step >= total_steps

    def save_state() -> None:
        save_run_state(
            out,
            modules=modules,
            averages={"average": average.state} if average is not None else {},
            optimizer=optimizer,
            generators={"data": generator.get_state(), "torch": torch.get_rng_state()},
            progress={"args": _json_args(args), "step": step, "epoch": epoch, "trained_seconds": trained_seconds,
                      "best_miou": best_miou, "history": history,
                      "average_updates": average.updates if average is not None else 0},
        )

    def weights_to_ship() -> torch.nn.Module:
        if average is not None:
            return average.copy_to(evaluated)
        evaluated.load_state_dict(model.state_dict())
        return evaluated

    last_save, typical_step = time.perf_counter(), None
    interrupted = False
    skipped_in_a_row = 0
    while not finished() and not interrupted:
        epoch += 1
        model.train()
        losses = []
        skipped = 0  # steps of this epoch whose loss or gradients were not finite (``train_step``)
        order = torch.randperm(len(images), generator=generator).tolist()
        for first in range(0, steps_per_epoch * args.batch_size, args.batch_size):
            lr = learning_rate(step, progress_now(), warmup, args.lr)
            for group in optimizer.param_groups:
                group["lr"] = lr
            tick = time.perf_counter()
            x, y = make_batch(images, labels, order[first:first + args.batch_size], augmentation, generator)
            loss = train_step(model, optimizer, x, y, class_weights, autocast=bf16, auxiliary=auxiliary,
                              auxiliary_weight=args.aux_weight, channels_last=channels_last,
                              lovasz_weight=args.lovasz_weight, lovasz_pixels=args.lovasz_pixels,
                              relaxation=args.label_relaxation, focal_gamma=args.focal_gamma)
            if math.isnan(loss):  # skipped: its loss or gradients were not finite
                skipped += 1
                skipped_in_a_row += 1
                print(f"step {step + 1}: the loss or a gradient was not finite; the step was skipped", flush=True)
                if skipped_in_a_row >= MAX_SKIPPED_IN_A_ROW:
                    raise SystemExit(f"train: {skipped_in_a_row} steps in a row had a loss or gradient that was not "
                                     "finite: lower --lr, or train on larger crops")
            else:
                losses.append(loss)
                skipped_in_a_row = 0
            if average is not None:
                average.update(model)
            seconds = time.perf_counter() - tick
            # A step that spans a pause (a stopped process, a suspended VM) counts as a typical one.
            typical_step = seconds if typical_step is None else 0.95 * typical_step + 0.05 * min(seconds, 3 * typical_step)
            trained_seconds += min(seconds, 3 * typical_step)
            step += 1
            wall = (time.perf_counter() - started) / 60
            interrupted = stop.requested or bool(args.stop_after_steps and step >= args.stop_after_steps) or bool(
                args.time_limit and wall >= args.time_limit)
            if finished() or interrupted:
                break
        row: dict[str, Any] = {
            "epoch": epoch,
            "step": step,
            "lr": lr,
            "train_loss": sum(losses) / max(1, len(losses)),
            "skipped_steps": skipped,
            "minutes": round(trained_seconds / 60, 2),
            "wall_minutes": round((time.perf_counter() - started) / 60, 2),
        }
        # validated at an epoch's end and at the end; a run asked to stop is saved at once, not validated first
        if finished() or (not stop.requested and (epoch % args.val_every == 0 or interrupted)):
            summary = evaluate_model(weights_to_ship(), val_set, serve_size, CAMVID_MEAN, CAMVID_STD)
            row.update({f"val_{k}": v for k, v in summary.items() if not isinstance(v, list)})
            row["val_per_class_iou"] = [None if math.isnan(v) else round(v, 4) for v in summary["per_class_iou"]]
            if summary["mean_iou"] > best_miou:
                best_miou = summary["mean_iou"]
                config = make_config(args.model, model, serve_size, overrides=overrides, extra={**config_extra, "best_epoch": epoch})
                save_checkpoint(evaluated, config, out / "best")
                row["saved"] = True
        history.append(row)
        shown = ", ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()
                          if not isinstance(v, list))
        print(shown, flush=True)
        _write_logs(history, out)
        if interrupted or finished() or time.perf_counter() - last_save >= 60 * args.save_minutes:
            save_state()
            last_save = time.perf_counter()
    if finished():
        config = make_config(args.model, model, serve_size, overrides=overrides, extra={**config_extra, "last_epoch": epoch})
        save_checkpoint(weights_to_ship(), config, out / "last")
    plot_curves(history, out / "curves.png")
    stopped_by = f" by {stop.signal_name}" if stop.requested else ""
    state = "finished" if finished() else f"stopped at step {step}{stopped_by}; continue with --resume {out}"
    best = (f"best {val_name} mIoU {100 * best_miou:.2f}; checkpoints in {out}" if best_miou >= 0
            else "not validated yet, so no checkpoint written yet")
    print(f"{state}; {best}")
    return 0 if finished() or not stop.requested else stop.exit_code


def _load_data(
    args: argparse.Namespace, holdout: tuple[str, ...], excluded_frames: tuple[str, ...]
) -> tuple[torch.Tensor, torch.Tensor, list[str], CamVid]:
    """The training frames, preloaded, and the frames validated on: --holdout's sequences, else val.

    A wrong --data, split or sequence ends the run with one line, not a traceback.
    """
    try:
        images, labels, sequences = load_frames(
            args.data, list(args.splits), holdout, tuple(args.frame_size), excluded_frames
        )
        if holdout:
            val_split = next((s for s in ("val", "train", "test") if _has_frames(args.data, s, holdout)), None)
            if val_split is None:
                raise ValueError(f"no split of {args.data} has frames of --holdout {' '.join(holdout)}")
            val_set = CamVid(root=args.data, split=val_split, sequences=holdout)
        else:
            val_set = CamVid(root=args.data, split="val")
    except (FileNotFoundError, ValueError) as error:
        raise SystemExit(f"train: {error}") from None
    return images, labels, sequences, val_set


def _build_model(args: argparse.Namespace) -> tuple[torch.nn.Module, dict[str, Any]]:
    """The network to train, with --dropout and --width applied, from --init or --init-encoder's weights if given.

    Returns the overrides too: the checkpoint's config must build the same network.
    """
    overrides = {"dropout": args.dropout} if getattr(args, "dropout", None) is not None else {}
    if overrides and "dropout" not in model_kwargs(args.model):
        raise SystemExit(f"--dropout: {args.model} has no Monte-Carlo dropout")
    if getattr(args, "width", None) is not None:
        overrides["width"] = args.width
    model = build(args.model, num_classes=NUM_CLASSES, **overrides)
    if args.init and not args.resume:
        # Dropout has no weights, so SegNet and Bayesian SegNet share one state dict.
        model.load_state_dict(load_file(str(Path(args.init) / WEIGHTS_NAME)), strict=True)
        print(f"initialised from {args.init}")
    if args.init_encoder and not args.resume:
        copied = load_vgg_encoder(model, load_file(str(Path(args.init_encoder) / WEIGHTS_NAME)))
        print(f"encoder initialised from {args.init_encoder} ({copied} tensors)")
    return model, overrides


def init_differences(init: Path, name: str, overrides: dict[str, Any], serve_size: tuple[int, ...]) -> list[str]:
    """Where this run's network or serving size differs from the --init checkpoint's: --init carries the weights
    alone, so a fine-tune of the shipped Bayesian SegNet without ``--dropout 0.2`` sampled at another rate than
    the one its temperature was fitted at, and served at its crop size, said nothing of it."""
    try:
        config = json.loads((init / CONFIG_NAME).read_text())
    except (OSError, ValueError):
        return []
    notes = []
    built = model_kwargs(name, **overrides)
    for key, theirs in (config.get("model_kwargs") or {}).items():
        if key in built and built[key] != theirs:
            option = f" (--{key} {theirs} keeps it)" if key in ("dropout", "width") else ""
            notes.append(f"{init} was built with {key} {theirs}; this run builds {key} {built[key]}{option}")
    served = config.get("input_size")
    if isinstance(served, list) and len(served) == 2 and tuple(served) != tuple(serve_size):
        notes.append(f"{init} serves at {served[0]}x{served[1]}; this run validates and will serve at "
                     f"{serve_size[0]}x{serve_size[1]} (--serve-size {served[0]} {served[1]} keeps it)")
    return notes


def _training_record(
    args: argparse.Namespace,
    *,
    bf16: bool,
    device: torch.device,
    counts: dict[str, int],
    pasted: tuple[int, ...],
    class_weights: torch.Tensor,
    val_name: str,
) -> dict[str, Any]:
    """How the weights were trained, kept in their config.json so that a checkpoint says its own recipe."""
    return {
        "splits": list(args.splits),
        "held_out": list(args.holdout),
        "excluded_frames": sorted(set(args.exclude_frames)),
        "frames": counts,
        "epochs": args.epochs if not args.budget_minutes else None,
        "budget_minutes": args.budget_minutes or None,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "weight_decay": args.weight_decay,
        "size": list(args.size[:2]),
        "scale": list(args.scale),
        "light_jitter": not args.no_light,
        "copy_paste": args.copy_paste,
        "pasted_classes": [CAMVID_CLASSES[i] for i in pasted] if args.copy_paste else None,
        "colour_cast": args.colour_cast,
        "auxiliary_weight": args.aux_weight,
        "lovasz_weight": args.lovasz_weight,
        "lovasz_pixels": args.lovasz_pixels if args.lovasz_weight else None,
        "label_relaxation": args.label_relaxation,
        "focal_gamma": args.focal_gamma,
        "ema": args.ema,
        "precision": "bf16" if bf16 else "fp32",
        "seed": args.seed,
        "device": device.type,
        "class_weighting": args.class_weighting,
        "class_weights": [round(w, 4) for w in class_weights.tolist()],
        "init": _portable(args.init),
        "init_encoder": _portable(args.init_encoder),
        "validated_on": val_name,
    }


def _has_frames(root: Path, split: str, sequences: tuple[str, ...]) -> bool:
    """Whether ``split`` lists frames of ``sequences`` (reads only the split file)."""
    try:
        return bool(read_split(Path(root), split, sequences))
    except (FileNotFoundError, ValueError):
        return False

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
