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
Labels are resized with nearest neighbour; what a crop takes from outside the
frame is void, which the loss ignores.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..classes import VOID_INDEX


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


def _uniform(low: float, high: float, n: int, generator: torch.Generator) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, generator=generator)


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
    """Per-frame brightness, contrast, saturation and gamma on 0..1 images (N,3,H,W), clamped to 0..1."""
    n = images.shape[0]
    shape = (n, 1, 1, 1)
    gray = (0.299 * images[:, 0] + 0.587 * images[:, 1] + 0.114 * images[:, 2]).unsqueeze(1)
    saturation = _uniform(*aug.saturation, n, generator).view(shape)
    images = gray + (images - gray) * saturation
    contrast = _uniform(*aug.contrast, n, generator).view(shape)
    mean = gray.mean(dim=(2, 3), keepdim=True)
    images = mean + (images - mean) * contrast
    images = images * _uniform(*aug.brightness, n, generator).view(shape)
    gamma = _uniform(*aug.gamma, n, generator).view(shape)
    return images.clamp_(0.0, 1.0).pow_(gamma)


def make_batch(
    images: torch.Tensor, labels: torch.Tensor, indices: list[int], aug: Augmentation, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """A training batch: float images in 0..1 (N,3,h,w) and int64 labels (N,h,w) from stored uint8 frames."""
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
    batch = torch.stack(xs)
    if aug.light:
        batch = jitter_light(batch, aug, generator)
    return batch, torch.stack(ys)
