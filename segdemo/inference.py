"""One call from a picture to everything the demo shows: ``predict(image, checkpoint)``.

The image is brought upright and to RGB (``segdemo.images``), resized to the
network's working resolution keeping its aspect ratio (same pixel count as
the checkpoint's ``input_size``), segmented, and the class probabilities are
resized back to the picture's own size (capped at ``MAX_OUTPUT_SIDE``), so
that labels, overlays and maps line up pixel for pixel with what was uploaded.

Bayesian models are sampled T times with their dropout on, half of the
samples on the picture's mirror image (flipped back before averaging): the
two views' dropout samples average into better labels and better-calibrated
probabilities than T samples of one view, at almost the same cost
(``MIRROR_SAMPLES``; measured in docs/models.md). The encoder part before the
first dropout cannot change between samples, so it runs once per view and
only the rest runs, batched over the samples.

A checkpoint may also name ``test_scales`` (config.json; default ``[1.0]``):
the working resolution times each scale, every view's class scores resized
back to the working grid. A deterministic pass averages the scales' logits;
a Bayesian model spreads its samples over the scales (within each of the two
mirror halves). This is multi-scale testing as segmentation benchmarks use
it; docs/models.md gives what it buys on held-out frames, the README what it costs.

On a GPU (``segdemo.devices``) the same code runs the network in half
precision (bf16, or fp16 where bf16 is not native) on channels-last tensors,
makes the maps on the GPU and brings them back in one copy; on the CPU the
network runs in fp32 and nothing is copied.
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
import time
import weakref
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from .calibration import scale_logits, tempered_mean
from .checkpoints import Checkpoint
from .data import normalize
from .devices import choose_device, describe_device, serving_autocast, to_host, without_onednn_if_it_fails
from .images import ImageError, LoadedImage, Source, load_image, needs_loading, size_within
from .models import is_bayesian
from .uncertainty import BoundaryUncertainty, boundary_uncertainty, entropy, mutual_information

MAX_OUTPUT_SIDE = 2048  # results for larger pictures are returned at this long side
DEFAULT_SAMPLES = 8
MAX_SAMPLES = 32
# Half of a Bayesian model's Monte-Carlo samples see the mirrored picture. On the
# held-out 0006R0 frames this takes the Bayesian SegNet-lite twin (T=8, one scale)
# from 42.1 to 42.8 mIoU and its ECE from 2.2% to 0.9% at the same temperature
# (docs/models.md), for one more stem pass.
MIRROR_SAMPLES = True
SINGLE_SCALE = (1.0,)


def mirrored_samples(samples: int, mirror: bool = MIRROR_SAMPLES) -> int:
    """How many of a Bayesian model's ``samples`` run on the mirror image: the last half, none for one pass."""
    return samples // 2 if mirror and samples > 1 else 0


def samples_per_scale(samples: int, scales: Sequence[float]) -> list[int]:
    """``samples`` shared out over ``scales`` in order, the first ones taking one more where it does not divide."""
    share, extra = divmod(samples, len(scales))
    return [share + (1 if i < extra else 0) for i in range(len(scales))]


def scaled_input(x: torch.Tensor, scale: float) -> torch.Tensor:
    """A normalised batch resized by ``scale`` (antialiased when shrinking); ``x`` itself at 1."""
    if scale == 1.0:
        return x
    size = tuple(max(16, round(side * scale)) for side in x.shape[-2:])
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=scale < 1.0)


def _to_grid(logits: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Class scores resized (bilinearly) to the working grid ``size`` unless they are on it."""
    if tuple(logits.shape[-2:]) == tuple(size):
        return logits
    return F.interpolate(logits, size=size, mode="bilinear", align_corners=False)

_locks: "weakref.WeakKeyDictionary[nn.Module, threading.Lock]" = weakref.WeakKeyDictionary()
_locks_guard = threading.Lock()


def default_device() -> torch.device:
    """Where the models serve (``SEGDEMO_DEVICE``, else CUDA when there is one): see ``segdemo.devices``."""
    return choose_device()


def _model_lock(model: nn.Module) -> threading.Lock:
    """Sampling switches dropout on inside a shared model: one request at a time per model."""
    with _locks_guard:
        if model not in _locks:
            _locks[model] = threading.Lock()
        return _locks[model]


def working_size(height: int, width: int, input_size: tuple[int, int], min_side: int = 16) -> tuple[int, int]:
    """The (h, w) with the picture's aspect ratio and about the pixel count of ``input_size``.

    Extreme aspect ratios are clamped so that neither side falls under
    ``min_side`` nor grows beyond four times the working resolution's long side.
    """
    area = input_size[0] * input_size[1]
    scale = math.sqrt(area / (height * width))
    max_side = 4 * max(input_size)
    h = int(min(max(round(height * scale), min_side), max_side))
    w = int(min(max(round(width * scale), min_side), max_side))
    return h, w


def output_size(height: int, width: int, max_side: int = MAX_OUTPUT_SIDE, max_width: int | None = None
                ) -> tuple[int, int]:
    """(H, W) of the results: the picture's own size, or scaled down so that its long side is at most ``max_side``
    and its width at most ``max_width`` (the page's: ``segdemo.page_widths``)."""
    out_w, out_h = size_within(width, height, max_side)
    if max_width is not None and out_w > max_width:
        out_h, out_w = max(1, round(height * max_width / width)), max(1, int(max_width))
    return out_h, out_w


def picture_at_output_size(image: Image.Image, max_side: int = MAX_OUTPUT_SIDE, max_width: int | None = None
                           ) -> Image.Image:
    """The picture as the results show it: itself, or scaled down to ``output_size``."""
    out_h, out_w = output_size(image.height, image.width, max_side, max_width)
    if (out_w, out_h) == image.size:
        return image
    return image.resize((out_w, out_h), Image.BILINEAR, reducing_gap=3.0)


def prepare_for_inference(model: nn.Module) -> nn.Module:
    """Serve a model faster, in place: batch norm folded into its convolution, channels-last weights.

    In eval mode a BatchNorm after a convolution is an affine map, so it folds
    into that convolution's weights (torch's ``fuse_conv_bn_eval``), saving a
    pass over every feature map, and oneDNN's convolutions run faster on
    channels-last tensors: together 25-50% off a CPU pass of the shipped
    models (``benchmarks/speed.py``). ``predict`` hands such a model a
    channels-last input too. Outputs equal the plain model's within float
    rounding (tested). Dropout layers are kept, so Monte-Carlo sampling works
    as before. Not for training: the folded model has no batch norm left.
    """
    model.eval()
    for module in model.modules():
        if not isinstance(module, nn.Sequential):
            continue
        names = list(module._modules)
        for first, second in zip(names, names[1:]):
            conv, norm = module._modules[first], module._modules[second]
            if isinstance(conv, nn.Conv2d) and isinstance(norm, nn.BatchNorm2d) and norm.track_running_stats:
                module._modules[first] = fuse_conv_bn_eval(conv, norm)
                module._modules[second] = nn.Identity()
    return model.to(memory_format=torch.channels_last)


def _wants_channels_last(model: nn.Module) -> bool:
    weight = next((m.weight for m in model.modules() if isinstance(m, nn.Conv2d)), None)
    return weight is not None and weight.is_contiguous(memory_format=torch.channels_last) and not weight.is_contiguous()


def set_mc_dropout(model: nn.Module, active: bool) -> None:
    """Dropout layers on (sampling) or off (weight averaging); everything else stays in eval mode."""
    model.eval()
    for module in model.modules():
        if isinstance(module, (nn.Dropout, nn.Dropout2d)):
            module.train(active)


@torch.no_grad()
def class_probabilities(
    model: nn.Module,
    x: torch.Tensor,
    samples: int = 1,
    seed: int | None = 0,
    temperature: float = 1.0,
    mirror: bool = MIRROR_SAMPLES,
    temperature_scope: str = "samples",
    scales: Sequence[float] = SINGLE_SCALE,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Mean softmax (N,C,H,W) of a normalised batch, and the (N,T,C,H,W) samples for Bayesian models.

    Bayesian models with ``samples >= 2`` are sampled with dropout on, seeded
    so that the same image and seed give the same answer; otherwise dropout is
    off and a single pass is made. With ``mirror`` the second half of the
    samples runs on the horizontally flipped batch and is flipped back.

    ``temperature`` (the checkpoint's, see ``segdemo.calibrate``) divides the
    logits before the softmax; 1.0 leaves them untouched. For a Bayesian
    model, ``temperature_scope`` (the checkpoint's) says whether each sample's
    logits are scaled before the average ("samples") or the averaged
    probabilities afterwards ("averaged"; the samples returned are then the
    untempered ones): ``segdemo.calibration.tempered_mean``. ``scales``: the
    checkpoint's ``test_scales`` (see the module docstring).
    """
    if not is_bayesian(model) or samples < 2:
        return F.softmax(scale_logits(_deterministic_logits(model, x, scales), temperature), dim=1), None
    logits = _sampled_logits(model, x, samples, seed, mirror, scales).float()
    return tempered_mean(logits.view(x.shape[0], samples, *logits.shape[1:]), temperature, temperature_scope)


@torch.no_grad()
def class_logits(
    model: nn.Module,
    x: torch.Tensor,
    samples: int = 1,
    seed: int | None = 0,
    mirror: bool = MIRROR_SAMPLES,
    scales: Sequence[float] = SINGLE_SCALE,
) -> torch.Tensor:
    """Raw class scores (N,S,C,H,W) in float32: S=1 for a single pass with dropout off, else S dropout samples.

    The same passes as ``class_probabilities``, before any softmax or
    temperature: what calibration is fitted and measured on.
    """
    if not is_bayesian(model) or samples < 2:
        return _deterministic_logits(model, x, scales).unsqueeze(1)
    logits = _sampled_logits(model, x, samples, seed, mirror, scales).float()
    return logits.view(x.shape[0], samples, *logits.shape[1:])


def _deterministic_logits(model: nn.Module, x: torch.Tensor, scales: Sequence[float] = SINGLE_SCALE) -> torch.Tensor:
    """(N,C,H,W) float32 logits with dropout off: the mean over ``scales`` of each scale's scores on the working grid.

    A Bayesian model's lock is held as while sampling: a sampling call on another thread switches its dropout on."""
    total = None
    with _model_lock(model) if is_bayesian(model) else contextlib.nullcontext():
        set_mc_dropout(model, False)
        for scale in scales:
            logits = _to_grid(model(scaled_input(x, scale)).float(), x.shape[-2:])
            total = logits if total is None else total + logits
    assert total is not None, "at least one scale"
    return total if len(scales) == 1 else total / len(scales)


def _sampled_logits(
    model: nn.Module,
    x: torch.Tensor,
    samples: int,
    seed: int | None,
    mirror: bool = False,
    scales: Sequence[float] = SINGLE_SCALE,
) -> torch.Tensor:
    """(N*T,C,H,W) logits of T seeded dropout samples per image (image-major), the stem run once per view.

    With ``mirror`` the last T//2 samples of each image come from its
    horizontal mirror image, flipped back so that every sample lines up with
    the picture. Each half is shared out over ``scales`` (``samples_per_scale``),
    every scale's scores resized back to the working grid.
    """
    with _model_lock(model):
        set_mc_dropout(model, True)
        try:
            devices = [x.device] if x.device.type == "cuda" else []
            # a seed draws from a generator of its own and leaves the global one as it was; without a seed the
            # global one is drawn from and moves on (restored too, every unseeded call drew the same masks)
            with torch.random.fork_rng(devices=devices) if seed is not None else contextlib.nullcontext():
                if seed is not None:
                    torch.manual_seed(seed)
                mirrored = mirrored_samples(samples, mirror)
                views = []  # (N, samples of the view, C, H, W) each
                for flip, count in ((False, samples - mirrored), (True, mirrored)):
                    source = x.flip(-1) if flip else x
                    for scale, share in zip(scales, samples_per_scale(count, scales)):
                        if share == 0:
                            continue
                        logits = model.forward_head(model.forward_stem(scaled_input(source, scale)), samples=share)
                        logits = _to_grid(logits, x.shape[-2:])
                        views.append((logits.flip(-1) if flip else logits).unflatten(0, (x.shape[0], share)))
                logits = views[0] if len(views) == 1 else torch.cat(views, dim=1)
        finally:
            set_mc_dropout(model, False)
    return logits.flatten(0, 1)


@dataclass
class Prediction:
    """Everything about one picture, at the returned size (``labels.shape``)."""

    image: Image.Image  # the RGB picture at the returned size
    labels: torch.Tensor  # (H,W) int64 class index
    probabilities: torch.Tensor  # (C,H,W) mean class probabilities
    confidence: torch.Tensor  # (H,W) max probability
    entropy: torch.Tensor  # (H,W) predictive entropy, nats
    mutual_information: torch.Tensor | None  # (H,W) nats, Bayesian models only
    boundary: BoundaryUncertainty  # on normalised entropy (entropy / log C)
    samples: int  # Monte-Carlo samples taken (1 = deterministic pass)
    working_size: tuple[int, int]
    original_size: tuple[int, int]  # (H, W) of the upright upload
    seconds: float  # whole call
    forward_seconds: float  # network only
    device: str
    notes: list[str]
    temperature: float = 1.0  # the checkpoint's softmax temperature (1.0: not calibrated)
    mirrored_samples: int = 0  # of ``samples``, how many ran on the mirror image
    seed: int | None = None  # the dropout masks' seed, where samples were drawn: the same seed, the same answer
    scales: tuple[float, ...] = SINGLE_SCALE  # the working resolution times these (the checkpoint's test_scales)
    # What the maps were upsampled from: the mean class probabilities (C,h,w) and the mutual information (h,w) on
    # the working grid (``segdemo.pixel_readout`` reads a clicked pixel's figures back from them)
    grid_probabilities: torch.Tensor | None = None
    grid_mutual_information: torch.Tensor | None = None

    @property
    def num_classes(self) -> int:
        return int(self.probabilities.shape[0])

    def class_shares(self) -> list[tuple[int, float]]:
        """(class, share of pixels) for the classes present, largest first."""
        counts = torch.bincount(self.labels.flatten(), minlength=self.num_classes).double()
        shares = counts / counts.sum()
        return [(int(c), float(shares[c])) for c in torch.argsort(shares, descending=True) if shares[c] > 0]

    def class_confidences(self) -> dict[int, float]:
        """Mean confidence of the pixels labelled with each class present."""
        counts = torch.bincount(self.labels.flatten(), minlength=self.num_classes)
        sums = torch.bincount(self.labels.flatten(), weights=self.confidence.flatten().double(), minlength=self.num_classes)
        return {int(c): float(sums[c] / counts[c]) for c in torch.nonzero(counts).flatten()}

    def summary(self) -> dict[str, Any]:
        out = {
            "mean_confidence": float(self.confidence.mean()),
            "mean_entropy": float(self.entropy.mean()),
            "boundary_band_uncertainty": self.boundary.band_mean,
            "interior_uncertainty": self.boundary.interior_mean,
            "band_to_interior_ratio": self.boundary.ratio,
            "band_share": float(self.boundary.band.float().mean()),
            "samples": self.samples,
            "mirrored_samples": self.mirrored_samples,
            "seed": self.seed,
            "scales": list(self.scales),
        }
        if self.mutual_information is not None:
            out["mean_mutual_information"] = float(self.mutual_information.mean())
        return out


def predict(
    image: Image.Image | LoadedImage | Source,
    checkpoint: Checkpoint,
    samples: int = DEFAULT_SAMPLES,
    seed: int | None = 0,
    max_output_side: int = MAX_OUTPUT_SIDE,
    notes: list[str] | None = None,
    mirror: bool = MIRROR_SAMPLES,
    scales: Sequence[float] | None = None,
    upload_size: tuple[int, int] | None = None,
    max_output_width: int | None = None,
) -> Prediction:
    """Segment one picture with a loaded checkpoint.

    ``image``: an upright RGB PIL image is taken as it stands; anything else (a path, bytes, a numpy array, a
    ``LoadedImage``, a PIL image in another mode or with an EXIF rotation) goes through
    ``segdemo.images.load_image`` first, as the app's uploads do: 16-bit and float pictures scaled to 8 bits,
    transparency on white, turned upright; an unreadable one raises ``segdemo.images.ImageError``.
    ``samples``: Monte-Carlo dropout samples of a Bayesian model (1 to ``MAX_SAMPLES``, clamped), half of them on
    the mirror image where ``mirror``; ``seed`` draws their dropout masks (the same seed, the same answer; None:
    from torch's global generator). A deterministic network runs once and ignores both. ``scales`` overrides the
    checkpoint's ``test_scales`` (``(1.0,)``: one scale). ``upload_size``: (width, height) of the upload where
    ``image`` is a copy scaled down from it (``load_image(max_side=...)``), for what the result says of it.
    ``max_output_width``: the widest the page shows the results (``segdemo.page_widths``).
    """
    started = time.perf_counter()
    notes = list(notes or [])
    if isinstance(image, LoadedImage):
        image = image.image
    elif needs_loading(image):  # a path, an array, a 16-bit, transparent or sideways picture...
        if isinstance(image, (str, os.PathLike)) and not os.path.exists(image):
            # load_image's own words are for a visitor ("The uploaded file could not be found."), whose path is
            # the server's; a caller of predict wants to see which path it gave
            raise ImageError(f"There is no file at {os.fspath(image)}.")
        loaded = load_image(image)
        image, notes = loaded.image, notes + loaded.notes
    model, config = checkpoint.model, checkpoint.config
    device = next(model.parameters()).device
    width, height = image.size
    out_h, out_w = output_size(height, width, max_output_side, max_output_width)
    work_h, work_w = working_size(height, width, checkpoint.input_size)
    samples = max(1, min(int(samples), MAX_SAMPLES)) if is_bayesian(model) else 1
    scales = tuple(float(s) for s in scales) if scales is not None else checkpoint.test_scales

    small = image.resize((work_w, work_h), Image.BILINEAR, reducing_gap=3.0)
    x = torch.from_numpy(np.asarray(small).copy()).permute(2, 0, 1).unsqueeze(0).to(device)
    x = normalize(x, config["mean"], config["std"])
    if _wants_channels_last(model):
        x = x.contiguous(memory_format=torch.channels_last)
    forward_started = time.perf_counter()
    with serving_autocast(device):  # half precision on a GPU, fp32 on the CPU; probabilities come out in fp32
        mean_probs, sample_probs = without_onednn_if_it_fails(lambda: class_probabilities(
            model, x, samples=samples, seed=seed, temperature=checkpoint.temperature, mirror=mirror,
            temperature_scope=checkpoint.temperature_scope, scales=scales,
        ))
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    forward_seconds = time.perf_counter() - forward_started

    # The maps are made where the network ran and brought back in one copy (on the CPU, nothing moves).
    mi = mutual_information(sample_probs[0]) if sample_probs is not None else None
    probs = F.interpolate(mean_probs, size=(out_h, out_w), mode="bilinear", align_corners=False)[0]
    probs = probs / probs.sum(dim=0, keepdim=True).clamp(min=1e-12)
    mi_grid = mi
    if mi is not None:
        mi = F.interpolate(mi[None, None], size=(out_h, out_w), mode="bilinear", align_corners=False)[0, 0].clamp(min=0)
    top, labels = probs.max(dim=0)  # one pass; torch's CPU argmax over dim 0 is 30x slower
    ent = entropy(probs, dim=0)
    grid_probs, grid_mi = mean_probs[0], mi_grid
    probs, top, labels, ent, mi, grid_probs, grid_mi = to_host(probs, top, labels, ent, mi, grid_probs, grid_mi)
    normalised = ent / math.log(probs.shape[0])
    shown = picture_at_output_size(image, max_output_side, max_output_width)
    for_the_page = (out_h, out_w) != output_size(height, width, max_output_side)
    width, height = upload_size or (width, height)
    if (out_w, out_h) != (width, height):
        notes.append(f"results shown at {out_w}x{out_h}" + (", as wide as this page shows them" if for_the_page else "")
                     + f" (the upload is {width}x{height})")
    return Prediction(
        image=shown,
        labels=labels,
        probabilities=probs,
        confidence=top,
        entropy=ent,
        mutual_information=mi,
        boundary=boundary_uncertainty(normalised, labels),
        samples=samples if sample_probs is not None else 1,
        working_size=(work_h, work_w),
        original_size=(height, width),
        seconds=time.perf_counter() - started,
        forward_seconds=forward_seconds,
        device=describe_device(device),
        notes=notes,
        temperature=checkpoint.temperature,
        mirrored_samples=mirrored_samples(samples, mirror) if sample_probs is not None else 0,
        seed=seed if sample_probs is not None else None,
        scales=scales,
        grid_probabilities=grid_probs,
        grid_mutual_information=grid_mi,
    )
