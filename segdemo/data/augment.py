"""Training batches cut from frames held in memory, with tensor ops only.

Why not torchvision's per-item transforms: on a 2-core CPU every millisecond
spent in Python-level augmentation is taken from the network, and one
DataLoader worker would take a whole core. Here a batch of 8 costs a few
milliseconds on the training thread.

What a batch sees, and why:
- **scale**: each frame is resized by a factor drawn log-uniformly from
  ``scale`` (relative to the stored 360x480 frames), then cropped. Objects then
  appear at every size between the two ends, so a network trained on small
  crops can be served on whole frames at any scale inside the range; the wide
  range is a regulariser for streets the network never saw.
- **flip** left-right.
- **light**: brightness, contrast, saturation and gamma jitter per frame. Gamma
  above 1 darkens mid-tones the way CamVid's dusk sequence (0001TP) is dark.
- **copy-paste** (off unless ``paste`` > 0): the pixels of the thin, rare
  classes (Pole, SignSymbol, Pedestrian, Bicyclist) of another frame of the
  batch, pasted with their labels onto a frame at the same place, in the
  manner of Ghiasi et al.'s "Simple Copy-Paste" (2021). CamVid's 367 training
  frames hold few of these objects, and a network that has seen each of them
  only against its own street learns the street; pasted, they appear against
  others. Pasting comes before the light jitter, so a pasted object takes its
  new frame's light. ``pasted_classes`` widens it to other object classes
  (Fence, Car: ``--paste-classes``).
- **colour cast** (off unless ``colour_cast`` > 0): each channel of a frame
  multiplied by its own gain in 1 +- ``colour_cast``, the way a camera's white
  balance moves from one day, street and hour to the next: a red-orange dusk,
  a blue overcast noon. Brightness, contrast and saturation alone keep every
  frame's hue.
Labels are resized with nearest neighbour; what a crop takes from outside the
frame is void, which the loss ignores.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..classes import CAMVID_CLASSES, VOID_INDEX

PASTED_CLASSES: tuple[int, ...] = tuple(
    CAMVID_CLASSES.index(name) for name in ("Pole", "SignSymbol", "Pedestrian", "Bicyclist")
)


@dataclass(frozen=True)
class Augmentation:
    crop: tuple[int, int]  # (h, w) of every training sample
    scale: tuple[float, float] = (0.5, 1.5)  # resize range, relative to the stored frames
    flip: bool = True
    brightness: tuple[float, float] = (0.6, 1.3)
    contrast: tuple[float, float] = (0.7, 1.3)
    saturation: tuple[float, float] = (0.7, 1.3)
    gamma: tuple[float, float] = (0.8, 1.5)
    light: bool = True
    colour_cast: float = 0.0  # per-channel gain in 1 +- colour_cast (0: off)
    paste: float = 0.0  # chance that a frame receives another frame's pasted objects
    pasted_classes: tuple[int, ...] = PASTED_CLASSES


def _uniform(
    low: float, high: float, n: int, generator: torch.Generator, device: torch.device | str = "cpu"
) -> torch.Tensor:
    """``n`` draws from U(low, high), taken from the CPU ``generator`` (the same stream wherever the frames are held)."""
    return (low + (high - low) * torch.rand(n, generator=generator)).to(device)


def scale_and_crop(
    image: torch.Tensor, label: torch.Tensor, factor: float, crop: tuple[int, int], generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """One uint8 frame (3,H,W) and its uint8 labels (H,W), resized by ``factor`` and cut to ``crop`` at random.

    Returns a float image in 0..1 (3,h,w) and int64 labels (h,w); padding is black and void.
    """
    height, width = image.shape[-2:]
    size = (max(1, round(height * factor)), max(1, round(width * factor)))
    x = F.interpolate(image[None].float().div_(255.0), size=size, mode="bilinear", align_corners=False, antialias=factor < 1)[0]
    y = F.interpolate(label[None, None].float(), size=size, mode="nearest")[0, 0].long()
    pad_h, pad_w = max(0, crop[0] - size[0]), max(0, crop[1] - size[1])
    if pad_h or pad_w:
        x = F.pad(x, (0, pad_w, 0, pad_h), value=0.0)
        y = F.pad(y, (0, pad_w, 0, pad_h), value=VOID_INDEX)
    top = int(torch.randint(0, x.shape[-2] - crop[0] + 1, (1,), generator=generator))
    left = int(torch.randint(0, x.shape[-1] - crop[1] + 1, (1,), generator=generator))
    return x[:, top : top + crop[0], left : left + crop[1]], y[top : top + crop[0], left : left + crop[1]]


def jitter_light(images: torch.Tensor, aug: Augmentation, generator: torch.Generator) -> torch.Tensor:
    """Per-frame brightness, contrast, saturation, colour cast and gamma on 0..1 images (N,3,H,W), clamped to 0..1."""
    n, device = images.shape[0], images.device
    shape = (n, 1, 1, 1)
    gray = (0.299 * images[:, 0] + 0.587 * images[:, 1] + 0.114 * images[:, 2]).unsqueeze(1)
    saturation = _uniform(*aug.saturation, n, generator, device).view(shape)
    images = gray + (images - gray) * saturation
    contrast = _uniform(*aug.contrast, n, generator, device).view(shape)
    mean = gray.mean(dim=(2, 3), keepdim=True)
    images = mean + (images - mean) * contrast
    images = images * _uniform(*aug.brightness, n, generator, device).view(shape)
    if aug.colour_cast > 0:
        images = images * _uniform(1 - aug.colour_cast, 1 + aug.colour_cast, 3 * n, generator, device).view(n, 3, 1, 1)
    gamma = _uniform(*aug.gamma, n, generator, device).view(shape)
    return images.clamp_(0.0, 1.0).pow_(gamma)


def copy_paste(
    images: torch.Tensor, labels: torch.Tensor, chance: float, classes: tuple[int, ...], generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Paste the pixels of ``classes`` from another frame of the batch onto each frame, with probability ``chance``.

    Images (N,3,h,w) and labels (N,h,w) of one crop size; the source of frame i is
    frame (i + k) mod N for one random k in 1..N-1, so no frame is its own source.
    Returns new tensors; the inputs are left as they were.
    """
    n = images.shape[0]
    if n < 2 or chance <= 0:
        return images, labels
    shift = int(torch.randint(1, n, (1,), generator=generator))
    source_images, source_labels = images.roll(shift, dims=0), labels.roll(shift, dims=0)
    chosen = (torch.rand(n, generator=generator) < chance).view(n, 1, 1).to(labels.device)
    wanted = torch.tensor(classes, dtype=labels.dtype, device=labels.device)
    mask = torch.isin(source_labels, wanted) & chosen
    return torch.where(mask.unsqueeze(1), source_images, images), torch.where(mask, source_labels, labels)


def make_batch(
    images: torch.Tensor, labels: torch.Tensor, indices: list[int], aug: Augmentation, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """A training batch: float images in 0..1 (N,3,h,w) and int64 labels (N,h,w) from stored uint8 frames.

    The batch is made where the frames are held: on a GPU, frames held there
    cost no host work and no copy per step. The random draws come from the CPU
    ``generator`` either way, so a seed gives the same crops on both.
    """
    low, high = math.log(aug.scale[0]), math.log(aug.scale[1])
    factors = torch.exp(_uniform(low, high, len(indices), generator)).tolist()
    flips = (torch.rand(len(indices), generator=generator) < 0.5).tolist()
    xs, ys = [], []
    for index, factor, flip in zip(indices, factors, flips):
        x, y = scale_and_crop(images[index], labels[index], factor, aug.crop, generator)
        if aug.flip and flip:
            x, y = x.flip(-1), y.flip(-1)
        xs.append(x)
        ys.append(y)
    batch, batch_labels = torch.stack(xs), torch.stack(ys)
    if aug.paste > 0:
        batch, batch_labels = copy_paste(batch, batch_labels, aug.paste, aug.pasted_classes, generator)
    if aug.light:
        batch = jitter_light(batch, aug, generator)
    return batch, batch_labels
