"""What FCN and SegNet share: VGG16's layout, on which both papers build, and the units and initialisation of the
SegNet paper's controlled comparison (SegNet-Basic against FCN-Basic)."""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

# VGG16's 13 convolutions, grouped by the pooling stage they precede.
VGG16_STAGES: tuple[tuple[int, ...], ...] = ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512))


def basic_unit(name: str, in_channels: int, out_channels: int, kernel_size: int, relu: bool = True) -> nn.Sequential:
    """One SegNet-Basic / FCN-Basic layer: a bias-free kxk convolution, BN and (in encoders) ReLU."""
    layers: list[tuple[str, nn.Module]] = [
        (name, nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=False)),
        (f"{name}_bn", nn.BatchNorm2d(out_channels)),
    ]
    if relu:
        layers.append((caffe_relu_name(name), nn.ReLU(inplace=True)))
    return nn.Sequential(OrderedDict(layers))


def caffe_relu_name(conv: str) -> str:
    """The ReLU after convolution ``conv``, as the Caffe models name it: conv1_1's is relu1_1 (parameter-free: no
    checkpoint names it)."""
    return conv.replace("conv", "relu", 1)


def he_init(model: nn.Module) -> None:
    """He initialisation for convolutions, unit BN: what the SegNet paper used for SegNet-Basic's controlled
    comparison; its full SegNet starts its encoder from ImageNet-trained VGG16 instead."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
