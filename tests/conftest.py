"""Shared fixtures: a tiny synthetic dataset in the CamVid layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from segdemo.classes import CAMVID_PALETTE


def write_camvid_layout(root: Path, counts: dict[str, int], size: tuple[int, int] = (48, 64), seed: int = 0) -> Path:
    """Frames whose colour is the class palette plus noise: learnable in a few steps."""
    rng = np.random.default_rng(seed)
    h, w = size
    palette = np.array(CAMVID_PALETTE, dtype=np.int16)
    for split, count in counts.items():
        (root / split).mkdir(parents=True, exist_ok=True)
        (root / f"{split}annot").mkdir(parents=True, exist_ok=True)
        lines = []
        for index in range(count):
            label = np.zeros((h, w), dtype=np.uint8)
            label[: h // 3] = 0  # sky
            label[h // 3 : 2 * h // 3] = rng.choice([1, 5, 8])
            label[2 * h // 3 :] = 3  # road
            label[h // 2 : h // 2 + 6, w // 3 : w // 3 + 10] = 9  # a pedestrian
            label[-3:, -5:] = 11  # some void
            colour = palette[np.minimum(label, 10)] + rng.integers(-20, 21, size=(h, w, 3))
            image = np.clip(colour, 0, 255).astype(np.uint8)
            name = f"{split}_{index:03d}.png"
            Image.fromarray(image).save(root / split / name)
            Image.fromarray(label).save(root / f"{split}annot" / name)
            lines.append(f"{split}/{name} {split}annot/{name}")
        (root / f"{split}.txt").write_text("\n".join(lines) + "\n")
    return root


@pytest.fixture(scope="session")
def tiny_camvid(tmp_path_factory) -> Path:
    return write_camvid_layout(tmp_path_factory.mktemp("camvid"), {"train": 8, "val": 3, "test": 2})
