"""Which upload is one of the bundled CamVid frames, and that frame's label map at the upload's size.

The error maps and the per-frame scores need the label of the picture shown. A visitor's copy of an example
may come under another name, re-encoded or rescaled, so the frame is recognised by its pixels, never by its
file name (``bundled_example``).
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .images import load_image
from .inference import Prediction

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"
FINGERPRINT_SIZE = (32, 24)


def _fingerprint(image: Image.Image) -> np.ndarray:
    small = image.resize(FINGERPRINT_SIZE, Image.BILINEAR, reducing_gap=3.0)  # a 12 MP photo: ~10 ms, not ~50
    return np.asarray(small.convert("L"), dtype=np.float32)


def content_hash(image: Image.Image) -> str:
    """sha256 of the decoded RGB pixels and the size: the same picture whatever its file name or container."""
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    return hashlib.sha256(f"{rgb.width}x{rgb.height}:".encode() + rgb.tobytes()).hexdigest()


@dataclass(frozen=True)
class _Example:
    picture: Path
    label: Path
    size: tuple[int, int]
    aspect: float
    fingerprint: np.ndarray
    digest: str

    @property
    def frame(self) -> str:
        """The frame's name, as its downloads are named after it: ``f03570`` (of ``camvid_0006R0_f03570.jpg``)."""
        return self.picture.stem.rsplit("_", 1)[-1]


@functools.lru_cache(maxsize=1)
def _examples() -> tuple[_Example, ...]:
    """The bundled frames with a ``*_label.png``, decoded the way uploads are (``segdemo.images.load_image``)."""
    found = []
    for path in sorted(EXAMPLES_DIR.glob("*.jpg")):
        label = path.with_name(path.stem + "_label.png")
        if label.is_file():
            image = load_image(path).image
            found.append(
                _Example(path, label, image.size, image.width / image.height, _fingerprint(image), content_hash(image))
            )
    return tuple(found)


def _label_at(example: _Example, size: tuple[int, int]) -> torch.Tensor:
    with Image.open(example.label) as label:
        if label.size != size:
            label = label.resize(size, Image.NEAREST)
        return torch.from_numpy(np.asarray(label).astype(np.int64))


def example_ground_truth(image: Image.Image, tolerance: float = 4.0, pixel_tolerance: float = 8.0) -> torch.Tensor | None:
    """The label map of the bundled example whose pixels ``image`` has, at ``image``'s size, else None
    (``bundled_example``)."""
    example = bundled_example(image, tolerance, pixel_tolerance)
    return None if example is None else example_labels(example, image.size)


def example_labels(example: _Example, size: tuple[int, int]) -> torch.Tensor:
    """A bundled example's label map at ``size`` (nearest neighbour: labels are not blended)."""
    return _label_at(example, size)


def bundled_example(image: Image.Image, tolerance: float = 4.0, pixel_tolerance: float = 8.0) -> _Example | None:
    """The bundled example whose pixels ``image`` has, else None.

    Matched by content, never by file name: first the exact decoded pixels
    (``content_hash``); then, so that a re-encoded or rescaled copy still
    counts, a 32x24 thumbnail close to the example's and every pixel within
    ``pixel_tolerance`` grey levels on average of the example resized to
    ``image``'s size (JPEG at quality 40: 5.5; the same frame shifted by one
    pixel: 11.5, refused, since its labels would no longer line up).
    """
    same_size = [example for example in _examples() if example.size == image.size]
    if same_size:  # only then can the pixels be identical (a 12 MP photo is never hashed)
        digest = content_hash(image)
        for example in same_size:
            if example.digest == digest:
                return example
    aspect = image.width / image.height
    candidates = [example for example in _examples() if abs(aspect - example.aspect) < 0.01]
    fingerprint = _fingerprint(image) if candidates else None
    for example in candidates:
        if float(np.abs(fingerprint - example.fingerprint).mean()) < tolerance:
            with Image.open(example.picture) as original:
                resized = original.convert("RGB").resize(image.size, Image.BILINEAR)
            difference = np.abs(np.asarray(resized, dtype=np.float32) - np.asarray(image.convert("RGB"), dtype=np.float32))
            if float(difference.mean()) < pixel_tolerance:
                return example
    return None


def truth_at(truth: torch.Tensor | None, prediction: Prediction) -> torch.Tensor | None:
    """The ground truth at the prediction's size (results of huge uploads are returned smaller)."""
    if truth is None or tuple(truth.shape) == tuple(prediction.labels.shape):
        return truth
    h, w = prediction.labels.shape
    resized = Image.fromarray(truth.numpy().astype(np.uint8)).resize((w, h), Image.NEAREST)
    return torch.from_numpy(np.asarray(resized).astype(np.int64))
