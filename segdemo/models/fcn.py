"""Fully Convolutional Networks (Long, Shelhamer, Darrell 2015) on VGG16, and FCN-Basic.

VGG16's classifier is *convolutionalised*: fc6 becomes a 7x7 convolution with
4096 filters, fc7 a 1x1 convolution with 4096, each followed by ReLU and
dropout, and ``score_fr`` scores every class at 1/32 of the input resolution.
The dropout (p = 0.5, as the paper's) drops whole channels (``nn.Dropout2d``,
Tompson et al. 2015's spatial dropout), where Caffe's Dropout layer dropped
single activations: on a convolutional map neighbouring activations are
nearly the same, so dropping single ones regularises little. A departure
from the paper; the shipped FCN was trained with it.

- FCN-32s upsamples those scores 32x in one step (``upscore``).
- FCN-16s upsamples 2x (``upscore2``), adds the scores of pool4
  (``score_pool4``), then upsamples 16x (``upscore16``).
- FCN-8s also adds the scores of pool3 (``score_pool3``) after another 2x
  (``upscore_pool4``) and upsamples 8x (``upscore8``).

Upsampling layers are transposed convolutions without bias, initialised to
bilinear interpolation; the 2x ones are learned, the final one stays fixed to
bilinear as in the paper. The coarse, heavily upsampled scores are why FCN's
maps look smooth and miss thin structures.

Alignment: the Caffe models padded conv1_1 by 100 pixels and cropped with
hand-derived offsets. Here the input is padded to a multiple of 32, fc6 is
'same'-padded, every upsampling is exactly centre-aligned (kernel 2s, stride
s, padding s/2) so skip maps meet pixel for pixel, and the output is cropped
back to the input's size. The 100-pixel padding also kept every output pixel
under the whole kernel of the final, fixed upsampling; without it the
outermost s/2 rows and columns would get part of it (0.56 of their scores on
an edge at s = 8, 0.32 in a corner), and FCN's maps would look unsure all
along the picture's edges. So the final upsampling is divided by the share
of its kernel inside the map, which makes it exactly bilinear interpolation
(``F.interpolate``, ``align_corners=False``) up to the edges. The learned 2x
upsamplings keep Caffe's arithmetic: the weights learned it. Parameter counts
are unchanged (FCN-8s with 20 outputs: 134,473,084; the paper's PASCAL
network has 21, 20 classes and background: 134,489,759; at CamVid's 11,
``build("fcn8s")``'s default: 134,348,929).

FCN-Basic is the SegNet paper's controlled counterpart of SegNet-Basic: the
same 4-unit encoder (64 features, 7x7, BN, no biases) and an FCN decoder that
reduces each encoder map to class scores, adds it to the 2x deconvolved scores
from below and convolves the sum (11 channels, 7x7) -- about 0.65M parameters.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

from .vgg import VGG16_STAGES, basic_unit, he_init


def bilinear_kernel(channels: int, kernel_size: int) -> torch.Tensor:
    """Weights that make a per-channel transposed convolution do bilinear upsampling."""
    factor = (kernel_size + 1) // 2
    center = factor - 1 if kernel_size % 2 == 1 else factor - 0.5
    coords = torch.arange(kernel_size, dtype=torch.float32)
    filt_1d = 1 - (coords - center).abs() / factor
    filt = filt_1d[:, None] * filt_1d[None, :]
    weight = torch.zeros(channels, channels, kernel_size, kernel_size)
    weight[range(channels), range(channels)] = filt
    return weight


def upsampling(channels: int, factor: int, learned: bool) -> nn.ConvTranspose2d:
    """Centre-aligned ``factor``-times upsampling initialised to bilinear, no bias."""
    layer = nn.ConvTranspose2d(channels, channels, 2 * factor, stride=factor, padding=factor // 2, bias=False)
    with torch.no_grad():
        layer.weight.copy_(bilinear_kernel(channels, 2 * factor))
    layer.weight.requires_grad_(learned)
    return layer


def final_upsampling(layer: nn.ConvTranspose2d, score: torch.Tensor) -> torch.Tensor:
    """The fixed bilinear upsampling ``layer`` of ``score``, divided by the share of its kernel inside the map
    (1 but for the outermost factor/2 rows and columns): bilinear interpolation up to the edges, as the Caffe
    nets' 100-pixel padding made it (see the module's docstring)."""
    ones = torch.ones(1, 1, *score.shape[-2:], device=score.device, dtype=layer.weight.dtype)
    coverage = F.conv_transpose2d(ones, layer.weight[:1, :1], stride=layer.stride, padding=layer.padding)
    upsampled = layer(score)
    return upsampled / coverage.to(upsampled.dtype)


def _pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    h, w = x.shape[-2:]
    pad_h, pad_w = (-h) % multiple, (-w) % multiple
    if pad_h or pad_w:
        x = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
    return x


class FCN(nn.Module):
    """FCN-32s, FCN-16s or FCN-8s (``stride``) on VGG16.

    ``width`` scales the VGG convolutions, ``fc_channels`` the convolutionalised
    fc6/fc7 and ``batch_norm`` adds BN after each VGG convolution; the paper's
    network is ``width=1, fc_channels=4096, batch_norm=False``.
    """

    def __init__(
        self,
        num_classes: int = 21,
        stride: int = 8,
        width: float = 1.0,
        fc_channels: int = 4096,
        batch_norm: bool = False,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        if stride not in (8, 16, 32):
            raise ValueError(f"FCN stride must be 8, 16 or 32, not {stride}")
        self.num_classes = num_classes
        self.stride = stride
        stages = [tuple(max(1, round(c * width)) for c in stage) for stage in VGG16_STAGES]
        in_channels = 3
        for unit, stage in enumerate(stages, start=1):
            layers: list[tuple[str, nn.Module]] = []
            for index, out_channels in enumerate(stage, start=1):
                layers.append((f"conv{unit}_{index}", nn.Conv2d(in_channels, out_channels, 3, padding=1)))
                if batch_norm:
                    layers.append((f"conv{unit}_{index}_bn", nn.BatchNorm2d(out_channels)))
                layers.append((f"relu{unit}_{index}", nn.ReLU(inplace=True)))
                in_channels = out_channels
            layers.append((f"pool{unit}", nn.MaxPool2d(2, stride=2, ceil_mode=True)))
            setattr(self, f"block{unit}", nn.Sequential(OrderedDict(layers)))

        self.fc6 = nn.Conv2d(in_channels, fc_channels, 7, padding=3)
        self.relu6 = nn.ReLU(inplace=True)
        self.drop6 = nn.Dropout2d(dropout)
        self.fc7 = nn.Conv2d(fc_channels, fc_channels, 1)
        self.relu7 = nn.ReLU(inplace=True)
        self.drop7 = nn.Dropout2d(dropout)
        self.score_fr = nn.Conv2d(fc_channels, num_classes, 1)

        if stride == 32:
            self.upscore = upsampling(num_classes, 32, learned=False)
        else:
            self.upscore2 = upsampling(num_classes, 2, learned=True)
            self.score_pool4 = nn.Conv2d(stages[3][-1], num_classes, 1)
        if stride == 16:
            self.upscore16 = upsampling(num_classes, 16, learned=False)
        if stride == 8:
            self.score_pool3 = nn.Conv2d(stages[2][-1], num_classes, 1)
            self.upscore_pool4 = upsampling(num_classes, 2, learned=True)
            self.upscore8 = upsampling(num_classes, 8, learned=False)
        self._init_weights()

    def _init_weights(self) -> None:
        for name, module in self.named_modules():
            if isinstance(module, nn.Conv2d):
                if name.startswith("score"):
                    # The paper zero-initialises the score layers.
                    nn.init.zeros_(module.weight)
                else:
                    nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu")
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        x = _pad_to_multiple(x, 32)
        pool3 = self.block3(self.block2(self.block1(x)))
        pool4 = self.block4(pool3)
        pool5 = self.block5(pool4)
        fc7 = self.drop7(self.relu7(self.fc7(self.drop6(self.relu6(self.fc6(pool5))))))
        score = self.score_fr(fc7)
        if self.stride == 32:
            score = final_upsampling(self.upscore, score)
        else:
            score = self.upscore2(score) + self.score_pool4(pool4)
            if self.stride == 16:
                score = final_upsampling(self.upscore16, score)
            else:
                score = self.upscore_pool4(score) + self.score_pool3(pool3)
                score = final_upsampling(self.upscore8, score)
        return score[..., :h, :w]


class FCNBasic(nn.Module):
    """FCN-Basic: SegNet-Basic's encoder with FCN's decoding (skip scores + learned 2x deconvolutions)."""

    def __init__(self, num_classes: int = 11, features: int = 64, kernel_size: int = 7) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.num_units = 4
        for unit in range(1, self.num_units + 1):
            in_channels = 3 if unit == 1 else features
            setattr(self, f"enc{unit}", basic_unit(f"conv{unit}", in_channels, features, kernel_size))
        self.score_pool4 = nn.Conv2d(features, num_classes, 1)
        for unit in range(self.num_units, 0, -1):
            # score_conv{u}: the dimensionality reduction of encoder u's map
            # (before its pool); upscore{u}: the learned 2x deconvolution.
            setattr(self, f"score_conv{unit}", nn.Conv2d(features, num_classes, 1))
            setattr(self, f"upscore{unit}", upsampling(num_classes, 2, learned=True))
            decoder = basic_unit(f"conv_decode{unit}", num_classes, num_classes, kernel_size, relu=False)
            setattr(self, f"dec{unit}", decoder)
        he_init(self)  # leaves the bilinear deconvolutions as they are

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        x = _pad_to_multiple(x, 2**self.num_units)
        encoder_maps = []
        for unit in range(1, self.num_units + 1):
            x = getattr(self, f"enc{unit}")(x)
            encoder_maps.append(x)
            x = F.max_pool2d(x, 2, 2)
        score = self.score_pool4(x)
        for unit in range(self.num_units, 0, -1):
            score = getattr(self, f"upscore{unit}")(score) + getattr(self, f"score_conv{unit}")(encoder_maps[unit - 1])
            score = getattr(self, f"dec{unit}")(score)
        return score[..., :h, :w]
