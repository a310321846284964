"""What a network said at one pixel of a shown result, or of one class everywhere, read back from its result.

The maps show one figure a pixel (the top class's probability, the entropy,
the mutual information); a visitor who wonders why a rider is half
Pedestrian, or how unsure a boundary pixel is, wants the whole distribution
there. Every map is drawn from class probabilities that the network gave on
its working grid (about 480x360) and ``inference.predict`` upsampled
bilinearly to the returned size. Each result keeps that grid beside its
pictures, swept with them, and a click interpolates the four grid points
around the pixel as torch did, so the figures are the very ones the maps show
(within 0.001), with no network run. The same grid gives the probability of
any one class at every pixel (where does each network see a Bicyclist?),
upsampled as the maps were.

The grid is 11 classes x about 173,000 points whatever the picture's size:
3.8 MB as float16, more than a 480x360 result's pictures together. It is kept
in steps of 1/65535 (a class under 1.5e-5 reads as 0, which moves the entropy
by under 0.001 nats), high and low bytes apart in an .npz: the high bytes,
nearly all 0, deflated, the low ones stored. 2.1-2.5 MB, written in under
10 ms beside the pictures' encoding (deflating both: 1.1-1.7 MB in 20-30 ms).
"""

from __future__ import annotations

import io
import math
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .inference import Prediction


@dataclass(frozen=True)
class PixelReading:
    """One pixel of a result: its classes, most likely first, and the uncertainty figures the maps show there."""

    x: int
    y: int
    size: tuple[int, int]  # (width, height) of the result
    classes: tuple[tuple[int, float], ...]  # (class index, probability), every class, most likely first
    normalised_entropy: float  # entropy / log C: the boundary-uncertainty map's scale
    mutual_information: float | None  # nats; Bayesian models only
    truth: int | None  # the ground truth's class index (a bundled CamVid frame), else None

    @property
    def confidence(self) -> float:
        return self.classes[0][1]


FULL_SCALE = 65535  # a probability is kept in steps of 1/FULL_SCALE


def save_grid(path: str | Path, prediction: Prediction, truth: torch.Tensor | None = None) -> str:
    """Keep what ``read_pixel`` needs of a result in ``path``: an .npz that ``numpy.load`` reads (module docstring)."""
    if prediction.grid_probabilities is None:
        raise ValueError("the prediction carries no working-grid probabilities")
    height, width = prediction.labels.shape
    fixed = np.rint(np.clip(prediction.grid_probabilities.numpy(), 0.0, 1.0) * FULL_SCALE).astype(np.uint16)
    arrays = {"high": (fixed >> 8).astype(np.uint8), "low": (fixed & 255).astype(np.uint8),  # apart: the high ones deflate
              "size": np.array([width, height])}
    if prediction.grid_mutual_information is not None:
        arrays["mutual_information"] = prediction.grid_mutual_information.numpy().astype(np.float16)
    if truth is not None:
        arrays["truth"] = truth.numpy().astype(np.uint8)
    with zipfile.ZipFile(path, "w") as archive:
        for name, array in arrays.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(array), allow_pickle=False)
            # the low bytes are noise to zlib: 3x its time for a third off their size, so they are stored as they are
            archive.writestr(f"{name}.npy", member.getvalue(), compresslevel=1,
                             compress_type=zipfile.ZIP_STORED if name == "low" else zipfile.ZIP_DEFLATED)
    return str(path)


def read_pixel(path: str | Path, x: int, y: int) -> PixelReading | None:
    """The result's figures at (x, y) of its returned size; None for a point outside the picture (a map's key).

    Raises OSError, ValueError or KeyError where the file is gone or damaged.
    """
    with np.load(path, allow_pickle=False) as grid:
        width, height = (int(v) for v in grid["size"])
        if not (0 <= x < width and 0 <= y < height):
            return None
        fixed = (grid["high"].astype(np.uint16) << 8) | grid["low"]
        probabilities = _interpolate(fixed, x, y, width, height) / FULL_SCALE
        mutual = (max(float(_interpolate(grid["mutual_information"][None], x, y, width, height)[0]), 0.0)
                  if "mutual_information" in grid else None)
        truth = int(grid["truth"][y, x]) if "truth" in grid else None
    probabilities = probabilities / max(float(probabilities.sum()), 1e-12)  # as predict renormalises
    logs = np.log(np.clip(probabilities, 1e-12, None))
    entropy = float(-(probabilities * logs).sum()) / math.log(len(probabilities))
    order = np.argsort(-probabilities, kind="stable")
    return PixelReading(x, y, (width, height), tuple((int(c), float(probabilities[c])) for c in order),
                        min(max(entropy, 0.0), 1.0), mutual, truth)


def kept_truth(path: str | Path) -> np.ndarray | None:
    """(H,W) uint8: the ground truth a result kept at its returned size (a bundled CamVid frame's label), None for a
    picture with none: the Compare tab draws its ground-truth map again from it in other class colours. Raises
    OSError, ValueError or KeyError where the file is gone or damaged."""
    with np.load(path, allow_pickle=False) as grid:
        return grid["truth"] if "truth" in grid else None


def class_probability(path: str | Path, class_index: int) -> np.ndarray:
    """(H,W) float32: the probability of class ``class_index`` at every pixel of the result's returned size,
    upsampled from the grid as ``predict`` upsampled all classes (before its renormalisation, which moves a value by
    under 1e-6: bilinear weights sum to 1). Raises OSError, ValueError or KeyError where the file is gone or damaged,
    IndexError for a class the grid does not have.

    In numpy, not torch: it runs on Gradio's own threads (no network runs, so it is not queued), and torch called
    from a new thread starts OpenMP threads of its own there (``segdemo.worker``: two more per thread, up to 40)."""
    with np.load(path, allow_pickle=False) as grid:
        width, height = (int(v) for v in grid["size"])
        high, low = grid["high"], grid["low"]
        if not 0 <= class_index < len(high):
            raise IndexError(f"class {class_index} of {len(high)}")
        fixed = (high[class_index].astype(np.int32) << 8) | low[class_index]
    return np.clip(_resize_bilinear(fixed.astype(np.float32) / FULL_SCALE, height, width), 0.0, 1.0)


def _resize_bilinear(grid: np.ndarray, height: int, width: int) -> np.ndarray:
    """An (h,w) float32 grid resized to (height, width) as torch's bilinear ``interpolate`` with
    ``align_corners=False`` resizes it (``_source``'s rule, a row and a column at a time)."""
    rows = [_source(y, grid.shape[0], height) for y in range(height)]
    columns = [_source(x, grid.shape[1], width) for x in range(width)]
    y0, y1, fy = (np.array(values) for values in zip(*rows))
    x0, x1, fx = (np.array(values) for values in zip(*columns))
    fy, fx = fy.astype(np.float32)[:, None], fx.astype(np.float32)
    top = grid[y0][:, x0] * (1 - fx) + grid[y0][:, x1] * fx
    bottom = grid[y1][:, x0] * (1 - fx) + grid[y1][:, x1] * fx
    return (top * (1 - fy) + bottom * fy).astype(np.float32, copy=False)


def _interpolate(grid: np.ndarray, x: int, y: int, width: int, height: int) -> np.ndarray:
    """(C,) values at output pixel (x, y) of a (C,h,w) grid resized to (height, width) as torch's bilinear
    ``interpolate`` with ``align_corners=False`` resizes it."""
    y0, y1, fy = _source(y, grid.shape[1], height)
    x0, x1, fx = _source(x, grid.shape[2], width)
    corners = grid[:, [y0, y0, y1, y1], [x0, x1, x0, x1]].astype(np.float64)
    weights = np.array([(1 - fy) * (1 - fx), (1 - fy) * fx, fy * (1 - fx), fy * fx])
    return corners @ weights


def _source(index: int, grid_size: int, output_size: int) -> tuple[int, int, float]:
    """The two grid indices around output ``index`` and the weight of the second (torch's rule: the centre of an
    output pixel mapped onto the grid, clamped at its first point)."""
    position = max((index + 0.5) * grid_size / output_size - 0.5, 0.0)
    first = min(int(position), grid_size - 1)
    return first, min(first + 1, grid_size - 1), position - first
