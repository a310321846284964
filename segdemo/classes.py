"""CamVid's 11 classes and their palette: the one place both are defined.

Label PNGs store the class index per pixel; index 11 is void (unlabelled) and
is ignored by the loss and by every metric.
"""

from __future__ import annotations

CAMVID_CLASSES: tuple[str, ...] = (
    "Sky",
    "Building",
    "Pole",
    "Road",
    "Pavement",
    "Tree",
    "SignSymbol",
    "Fence",
    "Car",
    "Pedestrian",
    "Bicyclist",
)

CAMVID_PALETTE: tuple[tuple[int, int, int], ...] = (
    (128, 128, 128),
    (128, 0, 0),
    (192, 192, 128),
    (128, 64, 128),
    (60, 40, 222),
    (128, 128, 0),
    (192, 128, 128),
    (64, 64, 128),
    (64, 0, 128),
    (64, 64, 0),
    (0, 128, 192),
)

NUM_CLASSES = len(CAMVID_CLASSES)
VOID_INDEX = 11
VOID_COLOR: tuple[int, int, int] = (0, 0, 0)

# Per-channel statistics of the CamVid train images (RGB, 0..1), used to
# normalise inputs; measured once with segdemo.data.camvid.channel_stats.
CAMVID_MEAN: tuple[float, float, float] = (0.4123, 0.4256, 0.4331)
CAMVID_STD: tuple[float, float, float] = (0.2993, 0.3035, 0.2996)
