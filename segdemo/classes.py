"""CamVid's 11 classes and their palettes (CamVid's own and a colour-blind-safe one): the one place they are defined.

Label PNGs store the class index per pixel; index 11 is void (unlabelled) and
is ignored by the loss and by every metric.
"""

from __future__ import annotations

from collections.abc import Sequence

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

# CamVid's palette with three classes moved, for visitors with colour-blind eyes: under simulated protanopia and
# deuteranopia, Building and Pedestrian (3.3 CIEDE2000), Road and Fence (3.9) and Sky and SignSymbol (5.8) all but
# merged. Pedestrian, Fence and SignSymbol are the nearest colours to CamVid's own (13.6, 13.9 and 20.6 apart for
# normal vision) that leave no pair closer, in any of the simulated views, than the closest pair of the colours left
# as they were: benchmarks/colour_blind_palette.py finds them (--search) and prints the figures (README.md).
COLOUR_BLIND_SAFE_CHANGES: dict[str, tuple[int, int, int]] = {
    "SignSymbol": (216, 160, 216),
    "Fence": (40, 48, 64),
    "Pedestrian": (80, 88, 64),
}
COLOUR_BLIND_SAFE_PALETTE: tuple[tuple[int, int, int], ...] = tuple(
    COLOUR_BLIND_SAFE_CHANGES.get(name, colour) for name, colour in zip(CAMVID_CLASSES, CAMVID_PALETTE)
)


def class_palette(
    class_names: Sequence[str], palette: Sequence[Sequence[int]], colour_blind_safe: bool
) -> list[tuple[int, int, int]]:
    """The colours to draw ``class_names`` in: their own ``palette``, or the colour-blind-safe one where it is asked
    for and the classes are CamVid's 11 in CamVid's order. It was chosen for CamVid's pairs of classes, so a
    checkpoint with classes of its own keeps its own colours."""
    if colour_blind_safe and tuple(class_names) == CAMVID_CLASSES:
        return list(COLOUR_BLIND_SAFE_PALETTE)
    return [(int(r), int(g), int(b)) for r, g, b in palette]


NUM_CLASSES = len(CAMVID_CLASSES)
VOID_INDEX = 11

# Per-channel statistics of the CamVid train images (RGB, 0..1), used to
# normalise inputs; measured once with segdemo.data.camvid.channel_stats.
CAMVID_MEAN: tuple[float, float, float] = (0.4123, 0.4256, 0.4331)
CAMVID_STD: tuple[float, float, float] = (0.2993, 0.3035, 0.2996)
