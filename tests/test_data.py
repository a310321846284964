"""CamVid reading and joint augmentation."""

from __future__ import annotations

import math

import torch

from segdemo.classes import VOID_INDEX
from segdemo.data.camvid import CamVid, read_split, train_transform


def test_reads_the_layout_and_keeps_void(tiny_camvid):
    assert len(read_split(tiny_camvid, "train")) == 8
    data = CamVid(root=tiny_camvid, split="val")
    image, label = data[0]
    assert image.shape == (3, 48, 64) and image.dtype == torch.uint8
    assert label.shape == (48, 64) and label.dtype == torch.int64
    assert VOID_INDEX in label.unique().tolist()


def test_resizing_at_load_keeps_labels_discrete(tiny_camvid):
    data = CamVid(root=tiny_camvid, split="train", size=(24, 32))
    _, label = data[0]
    assert label.shape == (24, 32)
    assert set(label.unique().tolist()) <= {0, 1, 3, 5, 8, 9, 11}


def test_augmentation_moves_image_and_mask_together(tiny_camvid):
    """Without colour jitter, each pixel's colour must still match its (moved) label's colour."""
    data = CamVid(root=tiny_camvid, split="train", transform=train_transform((40, 56), scale=(0.6, 1.6), colour_jitter=False))
    plain = CamVid(root=tiny_camvid, split="train")
    torch.manual_seed(0)
    for index in range(len(data)):
        image, label = data[index]
        assert image.shape == (3, 40, 56) and label.shape == (40, 56)
        assert set(label.unique().tolist()) <= {0, 1, 3, 5, 8, 9, VOID_INDEX}
        reference_image, reference_label = plain[index]
        for cls in label.unique().tolist():
            if cls == VOID_INDEX:
                continue
            # interior pixels of class cls: far from any other class after the transform
            mask = label == cls
            inner = mask.clone()
            inner[1:] &= mask[:-1]
            inner[:-1] &= mask[1:]
            inner[:, 1:] &= mask[:, :-1]
            inner[:, :-1] &= mask[:, 1:]
            if inner.sum() == 0:
                continue
            mean_colour = image[:, inner].float().mean(dim=1)
            expected = reference_image[:, reference_label == cls].float().mean(dim=1)
            assert torch.allclose(mean_colour, expected, atol=25), (cls, mean_colour, expected)


def test_padding_is_void(tiny_camvid):
    data = CamVid(root=tiny_camvid, split="train", transform=train_transform((48, 64), scale=(0.5, 0.5), colour_jitter=False))
    _, label = data[0]
    assert (label == VOID_INDEX).float().mean() > 0.5  # half-size content inside a full-size crop


def test_enet_weights_boost_rare_classes_less_steeply_than_median_frequency():
    from segdemo.data.camvid import enet_weights, median_frequency_weights

    label = torch.full((100, 100), 3, dtype=torch.long)  # Road everywhere
    label[:40] = 0  # Sky
    label[50:60, :50] = 8  # Car
    label[70:72, :10] = 2  # a thin Pole
    label[-5:, -5:] = VOID_INDEX
    enet, median = enet_weights([label]), median_frequency_weights([label])
    p_pole = 20 / (100 * 100 - 25)
    assert enet[8] == 1 and abs(float(enet[2] / enet[8]) - math.log(1.02 + 0.05 * 1) / math.log(1.02 + p_pole)) < 0.05
    assert enet[2] > enet[8] > enet[3] and enet[5] == 0  # rarer weighs more; absent classes weigh nothing
    every = torch.cat([torch.full((2 ** c, 10), c, dtype=torch.long) for c in range(11)])  # 11 classes, sizes 1:1024
    enet, median = enet_weights([every]), median_frequency_weights([every])
    assert float(enet[0] / enet[10]) < float(median[0] / median[10])  # the softer of the two


def test_training_class_weightings_go_from_steepest_to_softest():
    from segdemo.train import CLASS_WEIGHTINGS

    every = torch.cat([torch.full((2 ** c, 10), c, dtype=torch.long) for c in range(11)])  # class 0 rarest, 10 commonest
    ratios = [float(w[0] / w[10]) for w in (weighting([every]) for weighting in CLASS_WEIGHTINGS.values())]
    assert list(CLASS_WEIGHTINGS) == ["median-frequency", "enet", "espnet", "none"]
    assert ratios[0] > ratios[1] > ratios[2] > ratios[3] == 1  # each boosts the rare class less steeply than the last
    absent = every[every != 4]
    assert CLASS_WEIGHTINGS["none"]([absent]).tolist() == [1.0] * 4 + [0.0] + [1.0] * 6  # plain CE; absent classes 0
    espnet = CLASS_WEIGHTINGS["espnet"]([every])
    p = 2 ** torch.arange(11, dtype=torch.float64) / (2 ** 11 - 1)
    assert torch.allclose(espnet.double(), (1 / torch.log(1.10 + p)) / (1 / math.log(1.10 + p[8])), rtol=1e-5)


def _one_frame(root, label) -> None:
    """A CamVid layout of one 48x64 train frame with this label picture."""
    import numpy as np
    from PIL import Image

    for folder in ("train", "trainannot"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((48, 64, 3), 90, np.uint8)).save(root / "train" / "a_000.png")
    label.save(root / "trainannot" / "a_000.png")
    (root / "train.txt").write_text("/SegNet/CamVid/train/a_000.png /SegNet/CamVid/trainannot/a_000.png\n")


def test_a_label_that_is_no_map_of_camvids_class_indices_is_refused_naming_its_file(tmp_path):
    """A colour-coded label had been read as grey levels, nearly all void, and measured 100% mIoU; one of another
    size stopped a batch with torch's error; indices past void became void without a word."""
    import numpy as np
    import pytest
    from PIL import Image

    indices = np.zeros((48, 64), np.uint8)
    cases = {
        "colour": (Image.fromarray(np.zeros((48, 64, 3), np.uint8)), r"a_000\.png is a RGB picture: a label is a "
                   r"single-channel PNG of class indices \(0-10, 11 void\)"),
        "size": (Image.fromarray(np.zeros((24, 32), np.uint8)), r"is 32x24 where its picture a_000\.png is 64x48"),
        "index": (Image.fromarray(np.where(np.arange(64) < 8, 20, indices).astype(np.uint8)),
                  r"holds class index 20: CamVid's are 0-10 and 11"),
        "void": (Image.fromarray(np.full((48, 64), 11, np.uint8)), r"are void everywhere: nothing to learn or measure"),
    }
    for name, (label, message) in cases.items():
        _one_frame(tmp_path / name, label)
        with pytest.raises(ValueError, match=message):
            CamVid(root=tmp_path / name, split="train")
    ignored = indices.copy()
    ignored[:4] = 255  # another dataset's ignore value: void
    _one_frame(tmp_path / "ignored", Image.fromarray(ignored))
    assert CamVid(root=tmp_path / "ignored", split="train").labels[0][:4].eq(VOID_INDEX).all()
