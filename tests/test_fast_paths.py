"""Every speed-up on the serving path gives the plain path's answer, within a stated tolerance.

- folded batch norm + channels-last (``prepare_for_inference``): class
  probabilities within 1e-4, the same labels wherever the top two classes
  are more than 1e-3 apart, and identical Monte-Carlo masks for a seed.
  SegNet's decoder places each value where its encoder's 2x2 max-pool found
  the maximum, so where two activations of a window tie to float rounding
  the folded model may pick the other one (one index in 30,192 at the first
  pool of the shipped SegNet on ``odd_input()``): that moves a value by one
  pixel and changes the probabilities near it by up to a few 1e-3, as
  rightly as the plain model. For SegNet models up to 1% of the pixels may
  differ by more than 1e-4, and none by more than 0.02;
- the ``rand >= p`` dropout: a Bernoulli(1 - p) keep mask scaled by 1/(1 - p);
- labels and confidence from one ``max``, entropy from ``entr``, per-class
  confidence from ``bincount``: equal to the straightforward formulas;
- a large photo scaled down to the results' size as it is decoded, before its
  colours are converted (``load_image(max_side=...)``): the same picture (no
  level more than 4 apart, under 0.1% of them more than 1: measured 4 and
  0.02%, where edges are averaged before the profile's curve rather than
  after), the same words about the upload, and the same labels wherever the
  network is sure (the top two classes over 0.2 apart; 97% of all of them,
  measured 98.2-99.0% on a turned phone photo): the network's input is
  scaled from the 2048-pixel copy, not from the photo, which moves the
  probabilities by up to 0.14 where the picture has fine detail;
- pictures written as PNG at zlib level 1: lossless, byte for byte the pixels;
- heatmaps with a cached colour bar: the same picture every time.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import ROOT
from icc_profiles import display_p3
from segdemo import visualize
from segdemo.checkpoints import load_checkpoint
from segdemo.data import normalize
from segdemo.imagefiles import ImageWriter, write_images
from segdemo.images import load_image
from segdemo.inference import MAX_OUTPUT_SIDE, class_probabilities, predict, prepare_for_inference
from segdemo.models import build, is_bayesian
from segdemo.models.segnet import Dropout
from segdemo.uncertainty import EPS, entropy
from segdemo.zoo import WEIGHTS_DIR, ZOO

PROBABILITY_TOLERANCE = 1e-4
POOL_TIE_PIXELS = 0.01  # SegNet: share of pixels a flipped max-pool index may move (see the docstring)
POOL_TIE_TOLERANCE = 0.02


def odd_input(seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    picture = torch.randint(0, 256, (1, 3, 75, 103), generator=generator, dtype=torch.uint8)
    return normalize(picture)


def assert_same_answer(plain: torch.Tensor, fast: torch.Tensor, pooling_indices: bool = False) -> None:
    """``pooling_indices``: the model unpools with max-pool indices, which a rounding tie can flip."""
    difference = (plain - fast).abs().amax(dim=-3)  # per pixel (and per sample), over the classes
    if pooling_indices:
        assert (difference > PROBABILITY_TOLERANCE).float().mean() <= POOL_TIE_PIXELS
        assert difference.max() < POOL_TIE_TOLERANCE
    else:
        assert difference.max() < PROBABILITY_TOLERANCE
    top2 = plain.topk(2, dim=-3).values
    clear = (top2.select(-3, 0) - top2.select(-3, 1)) > 1e-3
    assert torch.equal(plain.argmax(dim=-3)[clear], fast.argmax(dim=-3)[clear])


@pytest.mark.parametrize("name", list(ZOO))
def test_the_prepared_shipped_models_answer_like_the_plain_ones(name):
    plain = load_checkpoint(WEIGHTS_DIR / name).model
    fast = prepare_for_inference(copy.deepcopy(plain))
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fast.modules())
    unpools = "segnet" in name
    x = odd_input()
    with torch.no_grad():
        assert_same_answer(
            class_probabilities(plain, x)[0], class_probabilities(fast, x.contiguous(memory_format=torch.channels_last))[0], unpools
        )
        if is_bayesian(plain):  # the same seed draws the same dropout masks in either layout
            mean_plain, samples_plain = class_probabilities(plain, x, samples=4, seed=3)
            mean_fast, samples_fast = class_probabilities(fast, x.contiguous(memory_format=torch.channels_last), samples=4, seed=3)
            assert_same_answer(mean_plain, mean_fast, unpools)
            assert_same_answer(samples_plain, samples_fast, unpools)


@pytest.mark.parametrize("name", ["segnet_basic", "fcn_basic", "fcn8s_lite", "bayesian_segnet_lite"])
def test_preparing_any_family_keeps_its_answers(name):
    torch.manual_seed(0)
    plain = build(name).eval()
    with torch.no_grad():  # non-trivial batch-norm statistics, so that folding them is tested
        for module in plain.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)
    fast = prepare_for_inference(copy.deepcopy(plain))
    x = odd_input(1)
    with torch.no_grad():
        assert_same_answer(class_probabilities(plain, x)[0], class_probabilities(fast, x)[0])


def test_predict_gives_the_same_labels_with_a_prepared_model():
    checkpoint = load_checkpoint(WEIGHTS_DIR / "fcn8s_lite")
    fast = copy.copy(checkpoint)
    fast.model = prepare_for_inference(copy.deepcopy(checkpoint.model))
    picture = Image.open(next((WEIGHTS_DIR.parent / "examples").glob("*.jpg"))).convert("RGB")
    a, b = predict(picture, checkpoint), predict(picture, fast)
    assert (a.probabilities - b.probabilities).abs().max() < PROBABILITY_TOLERANCE
    assert (a.labels != b.labels).float().mean() < 1e-3  # only pixels whose top two classes tie


def test_dropout_keeps_each_unit_with_probability_one_minus_p_and_rescales():
    torch.manual_seed(0)
    layer = Dropout(0.5)
    x = torch.ones(1_000_000)
    assert torch.equal(layer.eval()(x), x)
    out = layer.train()(x)
    kept = out != 0
    assert abs(kept.float().mean().item() - 0.5) < 0.003
    assert torch.all(out[kept] == 2.0)
    assert torch.equal(Dropout(0.0).train()(x), x)
    assert torch.count_nonzero(Dropout(1.0).train()(x)) == 0
    layer = Dropout(0.25).train()
    assert abs(layer(x).mean().item() - 1.0) < 0.005  # the expectation is preserved


def test_dropout_draws_the_same_mask_in_either_memory_layout():
    x = torch.randn(2, 8, 5, 7)
    layer = Dropout(0.5).train()
    torch.manual_seed(4)
    a = layer(x)
    torch.manual_seed(4)
    b = layer(x.contiguous(memory_format=torch.channels_last))
    assert torch.equal(a, b)


def test_one_max_gives_argmax_labels_and_confidence_and_bincount_the_class_confidences():
    picture = Image.fromarray(np.random.default_rng(1).integers(0, 255, (64, 80, 3), dtype=np.uint8))
    prediction = predict(picture, load_checkpoint(WEIGHTS_DIR / "fcn8s_lite"))
    assert torch.equal(prediction.labels, prediction.probabilities.argmax(dim=0))
    assert torch.equal(prediction.confidence, prediction.probabilities.max(dim=0).values)
    expected = {
        int(c): float(prediction.confidence[prediction.labels == c].double().mean())
        for c in prediction.labels.unique()
    }
    got = prediction.class_confidences()
    assert got.keys() == expected.keys()
    assert all(abs(got[c] - expected[c]) < 1e-9 for c in expected)


def test_entropy_from_entr_equals_minus_sum_p_log_p():
    probs = torch.softmax(torch.randn(7, 11, 9, 13) * 3, dim=1)
    probs[0, :, 0, 0] = 0.0
    probs[0, 3, 0, 0] = 1.0  # a certain pixel: 0 log 0 counts as 0
    reference = -(probs * probs.clamp(min=EPS).log()).sum(dim=1)
    assert torch.allclose(entropy(probs, dim=1), reference, atol=1e-6)
    assert entropy(probs, dim=1)[0, 0, 0] == 0


@pytest.mark.parametrize("name", list(ZOO))
def test_a_large_photo_scaled_down_as_it_is_decoded_gives_the_full_photos_answer(name, tmp_path):
    """A 3000x2250 photo tagged Display P3 and turned by its EXIF orientation, as phones save them."""
    photo = Image.open(ROOT / "examples" / "camvid_0006R0_f03570.jpg").convert("RGB").resize((3000, 2250),
                                                                                             Image.BICUBIC)
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "phone.jpg"
    photo.save(path, quality=92, icc_profile=display_p3(), exif=exif)
    checkpoint = load_checkpoint(WEIGHTS_DIR / name)
    full = load_image(path)
    scaled = load_image(path, max_side=MAX_OUTPUT_SIDE)
    assert scaled.image.size == (1536, 2048) and scaled.original_size == full.original_size == (2250, 3000)
    plain = predict(full.image, checkpoint, notes=full.notes)
    fast = predict(scaled.image, checkpoint, notes=scaled.notes, upload_size=scaled.original_size)
    assert fast.notes == plain.notes and "the upload is 2250x3000" in fast.notes[-1]
    assert fast.original_size == plain.original_size == (3000, 2250)
    difference = np.abs(np.asarray(fast.image, int) - np.asarray(plain.image, int))
    assert difference.max() <= 4 and (difference > 1).mean() < 1e-3
    same = torch.as_tensor(fast.labels) == torch.as_tensor(plain.labels)
    top2 = torch.as_tensor(plain.probabilities).topk(2, dim=0).values
    assert same.float().mean() >= 0.97 and same[(top2[0] - top2[1]) > 0.2].float().mean() >= 0.9999


def test_pictures_are_written_losslessly_into_gradios_cache(tmp_path, monkeypatch):
    """Colour pictures as lossless WebP, a palette picture (a class map: its indices are the classes) and a grey
    one as PNG; every pixel as it was, and, for the palette, every index and the palette."""
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))
    rng = np.random.default_rng(0)
    palette = Image.fromarray(rng.integers(0, 12, (21, 34), dtype=np.uint8), mode="P")
    palette.putpalette(rng.integers(0, 255, 36, dtype=np.uint8).tolist())
    pictures = {
        "noise": Image.fromarray(rng.integers(0, 255, (37, 53, 3), dtype=np.uint8)),
        "see-through": Image.fromarray(rng.integers(0, 255, (19, 23, 4), dtype=np.uint8)),  # alpha 0 keeps its RGB
        "grey": Image.fromarray(rng.integers(0, 255, (20, 30), dtype=np.uint8)),
        "classes": palette,
        "absent": None,
    }
    paths = write_images(pictures)
    assert paths["absent"] is None
    for name, container in (("noise", "WEBP"), ("see-through", "WEBP"), ("grey", "PNG"), ("classes", "PNG")):
        path = paths[name]
        assert path.startswith(str(tmp_path.resolve())) and path.endswith("." + container.lower())
        with Image.open(path) as written:
            assert written.format == container and written.mode == pictures[name].mode
            assert np.array_equal(np.asarray(written), np.asarray(pictures[name])), name
            if name == "classes":
                assert written.getpalette()[:36] == pictures[name].getpalette()[:36]
    other = ImageWriter()
    other.add("noise", pictures["noise"])
    assert other.paths()["noise"] != paths["noise"]  # every request gets its own folder


def test_heatmaps_map_values_to_the_colormap_and_reuse_an_identical_colour_bar():
    values = torch.tensor([[0.0, 0.5, 1.0, float("nan")]]).repeat(40, 1)
    background = Image.new("RGB", (4, 40), (200, 200, 200))
    first = visualize.heatmap(values, 0.0, 1.0, "viridis", "confidence", background=background)
    second = visualize.heatmap(values, 0.0, 1.0, "viridis", "confidence", background=background)
    assert np.array_equal(np.asarray(first), np.asarray(second))
    pixels = np.asarray(first)
    lut = visualize._lut("viridis")
    assert first.height == 40 and first.width > 4
    assert tuple(pixels[0, 0]) == tuple(lut[0])
    assert tuple(pixels[0, 1]) == tuple(lut[128])
    assert tuple(pixels[0, 2]) == tuple(lut[255])
    assert tuple(pixels[0, 3]) == (90, 90, 90)  # no value: the picture, dimmed grey (0.35 * 200 + 20)
