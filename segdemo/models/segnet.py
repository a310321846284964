"""SegNet (Badrinarayanan, Kendall, Cipolla 2017) and Bayesian SegNet (Kendall et al., BMVC 2017; arXiv 2015).

SegNet's encoder is the 13 convolutional layers of VGG16 with batch norm; each
of its five max-pools remembers where the maxima were. The decoder mirrors the
encoder and upsamples with those *pooling indices* (no learned upsampling),
then densifies the sparse maps with trainable convolutions. There are no fully
connected layers, so SegNet has about 29.5M parameters against FCN's 134M.

SegNet-Basic is the paper's smaller network for its controlled comparison with
FCN: 4 encoders and 4 decoders of 64 features with 7x7 kernels, batch norm and
no ReLU in the decoder. Two departures from the authors' Caffe model: its
convolutions have no biases (batch norm right after cancels them), and the
input goes in without the local response normalisation (LRN, 5 channels) the
Caffe model begins with; the input here is standardised by CamVid's channel
statistics instead.

Bayesian SegNet inserts dropout (p=0.5) after the central encoder and decoder
units and keeps it on at test time: each forward pass is then a Monte-Carlo
sample from an approximate posterior over the weights (see
``segdemo.inference``). The deterministic stem before the first dropout is
exposed as ``forward_stem`` so that Monte-Carlo sampling computes it only once.

Layer names follow the authors' Caffe models: ``conv1_1``, ``conv1_1_bn``,
``relu1_1``, ``conv5_3_D``, ``encdrop3``, ``conv_classifier``.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .vgg import VGG16_STAGES, basic_unit, caffe_relu_name, he_init

# Bayesian SegNet's "central encoder-decoder" dropout: after encoder units 3-5
# and decoder units 5-3 (Kendall et al., Table 1, the best configuration).
BAYESIAN_SEGNET_DROPOUT_UNITS: tuple[int, ...] = (3, 4, 5)
# For the 4-unit SegNet-Basic the central units are 3 and 4.
BAYESIAN_SEGNET_BASIC_DROPOUT_UNITS: tuple[int, ...] = (3, 4)


class Dropout(nn.Dropout):
    """Dropout whose keep mask is drawn as ``uniform >= p``: the same Bernoulli(1 - p) mask.

    torch's CPU ``bernoulli_`` is three times slower than ``rand``, and
    Bayesian SegNet draws a mask at every dropout of every Monte-Carlo sample.
    The uniforms are drawn in logical (N,C,H,W) order whatever the memory
    layout, so a seed gives the same masks to a channels-last model.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        if self.p >= 1:
            return torch.zeros_like(x)
        keep = (torch.rand(x.shape, dtype=x.dtype, device=x.device) >= self.p).to(x.dtype).mul_(1.0 / (1.0 - self.p))
        return x.mul_(keep) if self.inplace else x * keep


def _conv_bn_relu(prefix: str, in_channels: int, out_channels: int) -> list[tuple[str, nn.Module]]:
    """A 3x3 convolution, its batch norm and ReLU, named as the Caffe model names them: conv1_1, conv1_1_bn,
    relu1_1 (decoder: conv5_3_D, conv5_3_D_bn, relu5_3_D)."""
    return [
        (prefix, nn.Conv2d(in_channels, out_channels, 3, padding=1)),
        (f"{prefix}_bn", nn.BatchNorm2d(out_channels)),
        (caffe_relu_name(prefix), nn.ReLU(inplace=True)),
    ]



def _max_pool(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Size]:
    """2x2 max-pool that also returns the argmax indices and the size to unpool back to."""
    size = x.shape
    pooled, indices = F.max_pool2d(x, kernel_size=2, stride=2, return_indices=True)
    return pooled, indices, size


def _max_unpool(x: torch.Tensor, indices: torch.Tensor, size: torch.Size) -> torch.Tensor:
    """Place each value back where its encoder maximum was; zeros elsewhere (odd sizes kept).

    The aten op is what ``F.max_unpool2d`` calls after validating the size;
    here the size is the encoder's own, and that check's lazy imports cost
    0.35 s on a cold start.
    """
    return torch.ops.aten.max_unpool2d(x, indices, [int(size[-2]), int(size[-1])])


def _pad_to_min_size(x: torch.Tensor, minimum: int) -> torch.Tensor:
    """Inputs smaller than the total pooling factor are replicate-padded (then cropped back)."""
    h, w = x.shape[-2:]
    pad_h, pad_w = max(0, minimum - h), max(0, minimum - w)
    if pad_h or pad_w:
        x = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
    return x


def _check_units(units: tuple[int, ...], num_units: int) -> None:
    """Dropout units are numbered 1..num_units: a unit outside them would quietly build a network without it."""
    outside = [unit for unit in units if unit not in range(1, num_units + 1)]
    if outside:
        raise ValueError(f"dropout units must be numbered 1 to {num_units}, not {outside}")


class _PoolingIndicesEncoderDecoder(nn.Module):
    """What SegNet and SegNet-Basic share: encoder units ``enc1..encN`` that max-pool and keep the indices,
    decoder units ``decN..dec1`` that unpool with them, and the Bayesian variant's dropout after the units
    in ``dropout_units``. Each network builds its own units; this runs them.

    A forward pass is split in two so that Monte-Carlo samples share the deterministic part: the stem
    (the encoder units before the first dropout) runs once per image, the head once per sample.
    """

    num_units: int
    dropout_units: tuple[int, ...]

    def _encode(self, x: torch.Tensor, units: range) -> tuple[torch.Tensor, list[tuple[torch.Tensor, torch.Size]]]:
        switches = []
        for unit in units:
            x, indices, size = _max_pool(getattr(self, f"enc{unit}")(x))
            switches.append((indices, size))
            if unit in self.dropout_units:
                x = getattr(self, f"encdrop{unit}")(x)
        return x, switches

    def _decode(self, x: torch.Tensor, switches: list[tuple[torch.Tensor, torch.Size]]) -> torch.Tensor:
        for unit in range(self.num_units, 0, -1):
            indices, size = switches[unit - 1]
            x = getattr(self, f"dec{unit}")(_max_unpool(x, indices, size))
            if unit in self.dropout_units:
                x = getattr(self, f"decdrop{unit}")(x)
        return x

    def _first_stochastic_unit(self) -> int:
        return min(self.dropout_units) if self.dropout_units else self.num_units + 1

    def forward_stem(self, x: torch.Tensor) -> dict[str, Any]:
        """Deterministic part: the encoder units before the first dropout (run once per image)."""
        size = x.shape[-2:]
        x = _pad_to_min_size(x, 2**self.num_units)
        features, switches = self._encode(x, range(1, self._first_stochastic_unit()))
        return {"features": features, "switches": switches, "size": size}

    def forward_head(self, stem: dict[str, Any], samples: int = 1) -> torch.Tensor:
        """Stochastic part: the remaining encoder units and the whole decoder.

        With ``samples > 1`` each image's stem output is repeated so that all
        Monte-Carlo samples run as one batch (image-major order).
        """
        features, switches = _repeat_stem(stem, samples)
        x, deeper = self._encode(features, range(self._first_stochastic_unit(), self.num_units + 1))
        x = self._decode(x, switches + deeper)
        h, w = stem["size"]
        return x[..., :h, :w]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_stem(x))


class SegNet(_PoolingIndicesEncoderDecoder):
    """SegNet on VGG16-BN; ``width`` scales every layer's channels (1.0 = the paper's)."""

    def __init__(
        self,
        num_classes: int = 11,
        width: float = 1.0,
        dropout: float = 0.0,
        dropout_units: tuple[int, ...] = BAYESIAN_SEGNET_DROPOUT_UNITS,
    ) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.dropout = dropout
        self.dropout_units = tuple(dropout_units) if dropout > 0 else ()
        _check_units(self.dropout_units, len(VGG16_STAGES))
        stages = [tuple(max(1, round(c * width)) for c in stage) for stage in VGG16_STAGES]

        in_channels = 3
        for unit, stage in enumerate(stages, start=1):
            layers: list[tuple[str, nn.Module]] = []
            for index, out_channels in enumerate(stage, start=1):
                layers += _conv_bn_relu(f"conv{unit}_{index}", in_channels, out_channels)
                in_channels = out_channels
            setattr(self, f"enc{unit}", nn.Sequential(OrderedDict(layers)))
            if unit in self.dropout_units:
                setattr(self, f"encdrop{unit}", Dropout(dropout))

        # The decoder mirrors the encoder: conv{u}_{k}_D runs from the last
        # convolution of unit u back to its first; the very last one is the
        # classifier and has neither batch norm nor ReLU.
        for unit in range(len(stages), 0, -1):
            stage = stages[unit - 1]
            layers = []
            channels_in = stage[-1]
            for index in range(len(stage), 0, -1):
                is_classifier = unit == 1 and index == 1
                if index > 1:
                    channels_out = stage[index - 2]
                elif unit > 1:
                    channels_out = stages[unit - 2][-1]
                else:
                    channels_out = num_classes
                name = f"conv{unit}_{index}_D"
                if is_classifier:
                    layers.append((name, nn.Conv2d(channels_in, channels_out, 3, padding=1)))
                else:
                    layers += _conv_bn_relu(name, channels_in, channels_out)
                channels_in = channels_out
            setattr(self, f"dec{unit}", nn.Sequential(OrderedDict(layers)))
            if unit in self.dropout_units:
                setattr(self, f"decdrop{unit}", Dropout(dropout))
        self.num_units = len(stages)
        he_init(self)


class SegNetBasic(_PoolingIndicesEncoderDecoder):
    """SegNet-Basic: 4 encoders and 4 decoders of 64 features, 7x7 kernels, BN, no biases.

    As in the paper, the decoder has no ReLU; a 1x1 ``conv_classifier`` maps
    the last decoder's 64 features to class scores.
    """

    def __init__(
        self,
        num_classes: int = 11,
        features: int = 64,
        kernel_size: int = 7,
        dropout: float = 0.0,
        dropout_units: tuple[int, ...] = BAYESIAN_SEGNET_BASIC_DROPOUT_UNITS,
    ) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.num_units = 4
        self.dropout = dropout
        self.dropout_units = tuple(dropout_units) if dropout > 0 else ()
        _check_units(self.dropout_units, self.num_units)
        for unit in range(1, self.num_units + 1):
            in_channels = 3 if unit == 1 else features
            setattr(self, f"enc{unit}", basic_unit(f"conv{unit}", in_channels, features, kernel_size))
            if unit in self.dropout_units:
                setattr(self, f"encdrop{unit}", Dropout(dropout))
        for unit in range(self.num_units, 0, -1):
            setattr(self, f"dec{unit}", basic_unit(f"conv_decode{unit}", features, features, kernel_size, relu=False))
            if unit in self.dropout_units:
                setattr(self, f"decdrop{unit}", Dropout(dropout))
        self.conv_classifier = nn.Conv2d(features, num_classes, 1)
        he_init(self)

    def forward_head(self, stem: dict[str, Any], samples: int = 1) -> torch.Tensor:
        """Stochastic part: the remaining encoders, the decoders and the classifier."""
        return self.conv_classifier(super().forward_head(stem, samples))


def _repeat_stem(stem: dict[str, Any], samples: int) -> tuple[torch.Tensor, list[tuple[torch.Tensor, torch.Size]]]:
    features = stem["features"]
    switches = list(stem["switches"])
    if samples > 1:
        features = features.repeat_interleave(samples, dim=0)
        switches = [(indices.repeat_interleave(samples, dim=0), size) for indices, size in switches]
    return features, switches
