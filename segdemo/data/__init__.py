"""Data for the networks: the CamVid reader (``segdemo.data.camvid``) and input normalisation.

``normalize`` lives here rather than in ``camvid`` so that serving a picture
does not import torchvision's transforms (about 1.6 s of a cold start).
"""

from __future__ import annotations

import torch

from ..classes import CAMVID_MEAN, CAMVID_STD


def normalize(images: torch.Tensor, mean=CAMVID_MEAN, std=CAMVID_STD) -> torch.Tensor:
    """uint8 or 0..1 float images (N,3,H,W) to the normalised float input the networks take."""
    if images.dtype == torch.uint8:
        images = images.float() / 255.0
    mean_t = torch.tensor(mean, dtype=images.dtype, device=images.device).view(-1, 1, 1)
    std_t = torch.tensor(std, dtype=images.dtype, device=images.device).view(-1, 1, 1)
    return (images - mean_t) / std_t
