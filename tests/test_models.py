"""The networks: exact parameter counts, any input size, pooling indices, Bayesian sampling."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from segdemo.models import MODELS, build, count_macs, count_parameters, is_bayesian
from segdemo.models.fcn import final_upsampling, upsampling
from segdemo.models.segnet import _max_pool, _max_unpool
from segdemo.models.vgg import VGG16_STAGES

PAPER_SIZE = ["fcn32s", "fcn16s", "fcn8s", "segnet", "bayesian_segnet"]
# every other registered name: a network added to segdemo.models meets the tests of any input size here, which a
# visitor's picture of any size would otherwise be the first to try
COMPACT = [name for name in MODELS if name not in PAPER_SIZE]
BAYESIAN_COMPACT = [name for name in COMPACT if MODELS[name].kwargs.get("dropout_units")]  # sampled at serving


def conv(cin: int, cout: int, k: int, bias: bool = True) -> int:
    return cin * cout * k * k + (cout if bias else 0)


def vgg16_conv_parameters(bn: bool) -> int:
    total, cin = 0, 3
    for stage in VGG16_STAGES:
        for cout in stage:
            total += conv(cin, cout, 3) + (2 * cout if bn else 0)
            cin = cout
    return total


def fcn_parameters(stride: int, c: int) -> int:
    """Counted from the paper's layer list: VGG16 convs, fc6 7x7x4096, fc7 1x1x4096, scores, upsamplings."""
    total = vgg16_conv_parameters(bn=False) + conv(512, 4096, 7) + conv(4096, 4096, 1) + conv(4096, c, 1)
    if stride == 32:
        return total + c * c * 64 * 64
    total += c * c * 4 * 4 + conv(512, c, 1)  # upscore2, score_pool4
    if stride == 16:
        return total + c * c * 32 * 32
    return total + conv(256, c, 1) + c * c * 4 * 4 + c * c * 16 * 16  # score_pool3, upscore_pool4, upscore8


def segnet_parameters(c: int) -> int:
    """Encoder: VGG16-BN convs. Decoder: the mirror image, the last conv scoring c classes without BN."""
    encoder = vgg16_conv_parameters(bn=True)
    decoder_convs = []
    flat = [ch for stage in VGG16_STAGES for ch in stage]
    ins = list(reversed(flat))
    outs = list(reversed([3] + flat[:-1]))
    for cin, cout in zip(ins, outs):
        decoder_convs.append((cin, cout))
    decoder_convs[-1] = (64, c)
    decoder = sum(conv(cin, cout, 3) + 2 * cout for cin, cout in decoder_convs[:-1]) + conv(64, c, 3)
    return encoder + decoder


def on_meta(name: str, **kwargs) -> torch.nn.Module:
    with torch.device("meta"):
        return build(name, **kwargs)


def test_fcn8s_with_20_classes_has_the_papers_parameter_count():
    assert count_parameters(on_meta("fcn8s", num_classes=20)) == 134_473_084
    assert count_parameters(on_meta("fcn8s", num_classes=21)) == 134_489_759  # PASCAL's 20 classes and background


@pytest.mark.parametrize("name,stride", [("fcn32s", 32), ("fcn16s", 16), ("fcn8s", 8)])
@pytest.mark.parametrize("classes", [11, 20, 21])
def test_fcn_parameter_counts_match_the_layer_list(name, stride, classes):
    assert count_parameters(on_meta(name, num_classes=classes)) == fcn_parameters(stride, classes)


def test_fcn_parameter_counts_for_20_classes():
    counts = {name: count_parameters(on_meta(name, num_classes=20)) for name in ("fcn32s", "fcn16s", "fcn8s")}
    assert counts == {"fcn32s": 135_980_884, "fcn16s": 134_768_744, "fcn8s": 134_473_084}


def test_segnet_parameter_count_is_about_29_5_million():
    count = count_parameters(on_meta("segnet", num_classes=11))
    assert count == segnet_parameters(11) == 29_449_355
    assert count_parameters(on_meta("bayesian_segnet", num_classes=11)) == count  # dropout adds nothing


def test_basic_variants_match_the_segnet_papers_sizes():
    segnet_basic = count_parameters(build("segnet_basic"))
    fcn_basic = count_parameters(build("fcn_basic"))
    # 4 encoders + 4 decoders of 64 7x7 filters without bias, BN, a 1x1 classifier.
    expected = conv(3, 64, 7, False) + 7 * conv(64, 64, 7, False) + 8 * 2 * 64 + conv(64, 11, 1)
    assert segnet_basic == expected == 1_416_075  # the paper: about 1.425M
    assert 0.60e6 < fcn_basic < 0.70e6  # the paper: 0.65M
    assert fcn_basic == 647_155


def test_fcn_has_the_papers_layer_names():
    names = {name for name, _ in on_meta("fcn8s").named_modules()}
    for layer in ("fc6", "fc7", "score_fr", "score_pool4", "score_pool3", "upscore2", "upscore_pool4", "upscore8"):
        assert layer in names
    assert "block1.conv1_1" in names and "block5.pool5" in names


def test_segnet_has_the_papers_layer_names():
    names = {name for name, _ in on_meta("bayesian_segnet").named_modules()}
    for layer in ("enc1.conv1_1", "enc5.conv5_3", "dec5.conv5_3_D", "dec1.conv1_1_D", "encdrop3", "encdrop5", "decdrop3"):
        assert layer in names
    assert "encdrop2" not in names and "decdrop2" not in names
    # the ReLUs too, as the Caffe model names them (conv1_1's is relu1_1)
    assert {"enc1.relu1_1", "enc5.relu5_3", "dec5.relu5_3_D"} <= names and not any(n.endswith("_relu") for n in names)


@pytest.mark.parametrize("name", list(MODELS))
def test_every_network_says_how_many_classes_it_scores(name):
    """checkpoints.make_config and evaluate read ``num_classes``; a network without it trained an epoch and then
    failed at its first validation, with nothing saved."""
    assert on_meta(name, num_classes=7).num_classes == 7


def test_a_network_class_without_num_classes_is_refused_when_built(monkeypatch):
    from segdemo.models import ModelSpec

    class NoCount(torch.nn.Module):
        def __init__(self, num_classes: int = 11) -> None:
            super().__init__()
            self.score = torch.nn.Conv2d(3, num_classes, 1)

    monkeypatch.setitem(MODELS, "no_count", ModelSpec(NoCount, {}, "FCN", "a network that forgot num_classes"))
    with pytest.raises(TypeError, match="no_count: NoCount sets no self.num_classes"):
        build("no_count")


@pytest.mark.parametrize("name", COMPACT)
@pytest.mark.parametrize("size", [(361, 479), (45, 61), (7, 5), (1, 1)])
def test_compact_outputs_have_the_inputs_size(name, size):
    model = build(name).eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3, *size))
    assert out.shape == (1, 11, *size)


@pytest.mark.parametrize("name", PAPER_SIZE)
def test_paper_size_outputs_have_the_inputs_size(name):
    torch.manual_seed(0)
    model = build(name, num_classes=11).eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3, 67, 99))
    assert out.shape == (1, 11, 67, 99)
    assert torch.isfinite(out).all()


def test_max_unpooling_puts_values_back_at_the_pooled_positions():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 9, 11)  # odd sizes: the last row and column are never pooled
    pooled, indices, size = _max_pool(x)
    restored = _max_unpool(pooled, indices, size)
    assert restored.shape == x.shape
    for n in range(2):
        for ch in range(3):
            for i in range(4):
                for j in range(5):
                    window = x[n, ch, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2]
                    r, c = divmod(int(window.argmax()), 2)
                    assert restored[n, ch, 2 * i + r, 2 * j + c] == window.max()
    nonzero = restored != 0
    assert int(nonzero.sum()) == pooled.numel()
    assert torch.equal(restored[nonzero], x[nonzero])
    # the aten call skips F.max_unpool2d's checks, not its result
    reference = F.max_unpool2d(pooled, indices, kernel_size=2, stride=2, output_size=size[-2:])
    assert torch.equal(restored, reference)


def test_learned_upsampling_starts_as_centre_aligned_bilinear():
    torch.manual_seed(0)
    x = torch.randn(1, 5, 6, 7)
    for factor in (2, 8):
        layer = upsampling(5, factor, learned=True)
        up = layer(x)
        assert up.shape == (1, 5, 6 * factor, 7 * factor)
        reference = F.interpolate(x, scale_factor=factor, mode="bilinear", align_corners=False)
        inner = slice(factor, -factor)
        assert torch.allclose(up[..., inner, inner], reference[..., inner, inner], atol=1e-5)
    assert upsampling(5, 8, learned=False).weight.requires_grad is False


@pytest.mark.parametrize("factor", [8, 16, 32])
def test_fcn_final_upsampling_is_bilinear_up_to_the_edges(factor):
    """The fixed layer alone leaves the outermost factor/2 rows and columns 0.5-0.56 of their scores (0.27-0.32 in
    the corners): FCN's maps were unsure along the picture's edges. Divided by its kernel's share inside the map,
    it is bilinear interpolation everywhere."""
    torch.manual_seed(0)
    x = torch.randn(1, 4, 5, 7)
    layer = upsampling(4, factor, learned=False)
    reference = F.interpolate(x, scale_factor=factor, mode="bilinear", align_corners=False)
    assert torch.allclose(final_upsampling(layer, x), reference, atol=1e-5)
    assert not torch.allclose(layer(x)[..., 0, :], reference[..., 0, :], atol=0.1)  # what it was


@pytest.mark.parametrize("name", ["fcn32s", "fcn16s", "fcn8s_lite"])
def test_fcn_scores_are_not_weakened_along_the_edges(name):
    """Scores that are constant before the final upsampling stay constant after it, edges and corners too."""
    model = build(name, num_classes=3).eval()
    final = {"fcn32s": "upscore", "fcn16s": "upscore16"}.get(name, "upscore8")
    captured = {}
    layer = getattr(model, final)
    layer.register_forward_pre_hook(lambda module, args: (torch.ones_like(args[0]),))
    layer.register_forward_hook(lambda module, args, out: captured.setdefault("up", out))
    with torch.no_grad():
        out = model(torch.randn(1, 3, 64, 96))
    assert torch.allclose(out, torch.ones_like(out), atol=1e-5), "the fixed upsampling weakened the edges"
    assert captured["up"][..., 0, 0].max() < 0.5  # the layer alone would have


def test_fcn_final_upsampling_is_fixed_and_skips_are_learned():
    model = on_meta("fcn8s")
    assert not model.upscore8.weight.requires_grad
    assert model.upscore2.weight.requires_grad and model.upscore_pool4.weight.requires_grad


@pytest.mark.parametrize("name", BAYESIAN_COMPACT)
def test_bayesian_stem_once_then_batched_head_equals_full_passes(name):
    torch.manual_seed(0)
    model = build(name).eval()
    x = torch.randn(2, 3, 64, 80)
    with torch.no_grad():
        full = model(x)
        batched = model.forward_head(model.forward_stem(x), samples=3)
    assert batched.shape == (6, 11, 64, 80)
    for image in range(2):
        for sample in range(3):
            assert torch.allclose(batched[image * 3 + sample], full[image], atol=1e-5)


@pytest.mark.parametrize("name", BAYESIAN_COMPACT)
def test_bayesian_models_sample_when_dropout_is_on(name):
    torch.manual_seed(0)
    model = build(name).eval()
    assert is_bayesian(model)
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.train()
    x = torch.randn(1, 3, 64, 80)
    with torch.no_grad():
        samples = model.forward_head(model.forward_stem(x), samples=4)
    assert not torch.allclose(samples[0], samples[1])


def test_only_bayesian_names_carry_dropout():
    for name in MODELS:
        model = on_meta(name)
        assert is_bayesian(model) == name.startswith("bayesian"), name


def test_mac_count_by_hand():
    # SegNet-Basic at 32x32: enc1 at 32x32, enc2 16x16, enc3 8x8, enc4 4x4; decoders mirror; 1x1 classifier.
    model = build("segnet_basic")
    k = 7 * 7
    expected = 32 * 32 * 64 * 3 * k  # enc1
    expected += sum(s * s * 64 * 64 * k for s in (16, 8, 4))  # enc2-4
    expected += sum(s * s * 64 * 64 * k for s in (4, 8, 16, 32))  # dec4-1
    expected += 32 * 32 * 11 * 64  # classifier
    assert count_macs(model, (32, 32)) == expected
