"""Build any of segdemo's networks by name: ``build("fcn8s")``, ``build("bayesian_segnet_basic")``.

Each name fixes an architecture and its defaults; keyword arguments override
them (``num_classes`` most often). The names are what ``config.json`` stores.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from torch import nn

from .fcn import FCN, FCNBasic
from .segnet import BAYESIAN_SEGNET_BASIC_DROPOUT_UNITS, BAYESIAN_SEGNET_DROPOUT_UNITS, SegNet, SegNetBasic


@dataclass(frozen=True)
class ModelSpec:
    """What a name means: the class, its default arguments and a line for people."""

    cls: type[nn.Module]
    kwargs: dict[str, Any] = field(default_factory=dict)
    family: str = ""
    description: str = ""


MODELS: dict[str, ModelSpec] = {
    "fcn32s": ModelSpec(FCN, {"stride": 32}, "FCN", "FCN-32s on VGG16 (Long et al. 2015)"),
    "fcn16s": ModelSpec(FCN, {"stride": 16}, "FCN", "FCN-16s on VGG16, skip from pool4"),
    "fcn8s": ModelSpec(FCN, {"stride": 8}, "FCN", "FCN-8s on VGG16, skips from pool4 and pool3"),
    "fcn_basic": ModelSpec(FCNBasic, {}, "FCN", "FCN-Basic, the SegNet paper's compact FCN"),
    "fcn8s_lite": ModelSpec(
        FCN,
        {"stride": 8, "width": 0.25, "fc_channels": 256, "batch_norm": True},
        "FCN",
        "FCN-8s on a quarter-width VGG16 with BN, fc6/fc7 of 256",
    ),
    "segnet": ModelSpec(SegNet, {}, "SegNet", "SegNet on VGG16-BN (Badrinarayanan et al. 2017)"),
    "bayesian_segnet": ModelSpec(
        SegNet,
        {"dropout": 0.5, "dropout_units": BAYESIAN_SEGNET_DROPOUT_UNITS},
        "SegNet",
        "Bayesian SegNet: MC dropout after the central encoder/decoder units (Kendall et al. 2015)",
    ),
    "segnet_basic": ModelSpec(SegNetBasic, {}, "SegNet", "SegNet-Basic, the SegNet paper's compact SegNet"),
    "bayesian_segnet_basic": ModelSpec(
        SegNetBasic,
        {"dropout": 0.5, "dropout_units": BAYESIAN_SEGNET_BASIC_DROPOUT_UNITS},
        "SegNet",
        "Bayesian SegNet-Basic: MC dropout after encoders 3-4 and decoders 4-3",
    ),
    "segnet_lite": ModelSpec(SegNet, {"width": 0.25}, "SegNet", "SegNet on a quarter-width VGG16-BN"),
    "bayesian_segnet_lite": ModelSpec(
        SegNet,
        {"width": 0.25, "dropout": 0.5, "dropout_units": BAYESIAN_SEGNET_DROPOUT_UNITS},
        "SegNet",
        "Bayesian SegNet on a quarter-width VGG16-BN",
    ),
}


def model_names() -> list[str]:
    return list(MODELS)


def model_kwargs(name: str, **overrides: Any) -> dict[str, Any]:
    """The full argument set a name builds with: its defaults updated by ``overrides``."""
    if name not in MODELS:
        raise KeyError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
    kwargs = dict(MODELS[name].kwargs)
    kwargs.update(overrides)
    return {k: list(v) if isinstance(v, tuple) else v for k, v in kwargs.items()}


def build(name: str, num_classes: int = 11, **overrides: Any) -> nn.Module:
    """The network called ``name`` with freshly initialised weights."""
    kwargs = model_kwargs(name, **overrides)
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in kwargs.items()}
    model = MODELS[name].cls(num_classes=num_classes, **kwargs)
    if not isinstance(getattr(model, "num_classes", None), int):  # config.json and evaluate read it
        raise TypeError(f"{name}: {type(model).__name__} sets no self.num_classes (an int): config.json and "
                        "evaluate read it")
    return model


def is_bayesian(model: nn.Module) -> bool:
    """True when the network carries Monte-Carlo dropout."""
    return bool(getattr(model, "dropout_units", ()))


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def count_macs(model: nn.Module, input_size: tuple[int, int]) -> int:
    """Multiply-accumulates of one forward pass at ``input_size`` (convolutions and deconvolutions)."""
    import torch

    total = 0

    def hook(module: nn.Module, inputs: tuple, output: "torch.Tensor") -> None:
        nonlocal total
        if isinstance(module, nn.Conv2d):
            per_output = module.in_channels // module.groups * module.kernel_size[0] * module.kernel_size[1]
            total += output[0].numel() * per_output
        elif isinstance(module, nn.ConvTranspose2d):
            per_input = module.out_channels // module.groups * module.kernel_size[0] * module.kernel_size[1]
            total += inputs[0][0].numel() * per_input

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    was_training = model.training
    try:
        device = next(model.parameters()).device
        with torch.no_grad():
            model.eval()(torch.zeros(1, 3, *input_size, device=device))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return total


__all__ = ["FCN", "FCNBasic", "MODELS", "SegNet", "SegNetBasic", "build", "count_macs", "count_parameters", "is_bayesian", "model_names"]
