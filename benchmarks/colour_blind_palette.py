"""How far apart the class colours stay for colour-blind eyes, in CamVid's palette and in the colour-blind-safe one.

    python benchmarks/colour_blind_palette.py            # the closest pairs of both palettes
    python benchmarks/colour_blind_palette.py --search   # and the safe palette's three colours found again

Each palette is seen eight ways: with normal vision, and as a protanope, a deuteranope and a tritanope see it
(Machado, Oliveira and Fernandes 2009, severity 1, in linear sRGB); each in flat colours (the legend's swatches,
the class keys and the ground-truth map, whose void grey is counted with the classes there) and as the overlay
shows them, blended at opacity 0.55 over mid grey (128) and rounded as ``segdemo.visualize.blend`` rounds. Two
colours' distance is CIEDE2000 (Sharma, Wu and Dalal 2005) between their CIELAB (D65) values, each simulated
colour rounded to 8 bits as a simulated picture shows it. About 1 is just noticeable; under 5, two neighbouring
regions read as one.

The table lists the pairs closer than ``--under`` for a colour-blind eye in either palette, with how often the two
classes touch in the bundled CamVid labels (pixel pairs side by side or one above the other): the borders a
visitor has to see.

``--search``: on a grid of 8 levels a channel, the colours for Pedestrian, Fence and SignSymbol whose largest
shift from CamVid's own (CIEDE2000, normal vision) is the smallest, then their total, such that no pair with one
of them is closer, in any of the eight views, than the closest pair of the colours left as they were.
"""

from __future__ import annotations

import argparse
import sys
from itertools import combinations
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from segdemo.classes import (  # noqa: E402
    CAMVID_CLASSES,
    CAMVID_PALETTE,
    COLOUR_BLIND_SAFE_CHANGES,
    COLOUR_BLIND_SAFE_PALETTE,
    VOID_INDEX,
)
from segdemo.visualize import VOID_GREY  # noqa: E402

# Machado, Oliveira and Fernandes (2009), severity 1: what each dichromat sees of a colour, in linear sRGB
MACHADO = {
    "protan": np.array([[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                        [-0.003882, -0.048116, 1.051998]]),
    "deutan": np.array([[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                        [-0.011820, 0.042940, 0.968881]]),
    "tritan": np.array([[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602],
                        [0.004733, 0.691367, 0.303900]]),
}
VISIONS = ("normal", "protan", "deutan", "tritan")
SHOWN = ("flat", "overlay")
VIEWS = tuple((vision, shown) for vision in VISIONS for shown in SHOWN)
OVERLAY_OPACITY = 0.55  # the app's default
OVERLAY_GROUND = 128.0  # a mid grey for the picture under the overlay
SRGB_TO_XYZ = np.array([[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750],
                        [0.0193339, 0.1191920, 0.9503041]])
D65 = SRGB_TO_XYZ.sum(axis=1)  # the XYZ of sRGB's white
FLAT_NAMES = (*CAMVID_CLASSES, "void")  # the flat colours: the classes, and the ground-truth map's void grey
Palette = tuple[tuple[int, int, int], ...]


def linear(rgb: np.ndarray) -> np.ndarray:
    """8-bit sRGB to linear light (0..1)."""
    c = np.asarray(rgb, dtype=np.float64) / 255
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def simulate(rgb: np.ndarray, vision: str) -> np.ndarray:
    """8-bit sRGB as ``vision`` sees it, as 8-bit sRGB: rounded, as a simulated picture shows it."""
    rgb = np.asarray(rgb, dtype=np.float64)
    if vision == "normal":
        return rgb
    seen = np.clip(linear(rgb) @ MACHADO[vision].T, 0, 1)
    return np.round(255 * np.where(seen <= 0.0031308, 12.92 * seen, 1.055 * seen ** (1 / 2.4) - 0.055))


def to_lab(rgb: np.ndarray) -> np.ndarray:
    """8-bit sRGB to CIELAB, D65 white."""
    t = (linear(rgb) @ SRGB_TO_XYZ.T) / D65
    f = np.where(t > (6 / 29) ** 3, np.cbrt(t), t / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)


def delta_e_2000(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIEDE2000 between CIELAB colours (broadcast), as Sharma, Wu and Dalal (2005) give it."""
    L1, a1, b1 = np.moveaxis(np.asarray(lab1, dtype=np.float64), -1, 0)
    L2, a2, b2 = np.moveaxis(np.asarray(lab2, dtype=np.float64), -1, 0)
    c_mean = (np.hypot(a1, b1) + np.hypot(a2, b2)) / 2
    g = 0.5 * (1 - np.sqrt(c_mean**7 / (c_mean**7 + 25.0**7)))
    a1, a2 = (1 + g) * a1, (1 + g) * a2
    c1, c2 = np.hypot(a1, b1), np.hypot(a2, b2)
    h1, h2 = np.degrees(np.arctan2(b1, a1)) % 360, np.degrees(np.arctan2(b2, a2)) % 360
    chroma = c1 * c2 != 0
    dh = h2 - h1
    dh = np.where(chroma, np.where(dh > 180, dh - 360, np.where(dh < -180, dh + 360, dh)), 0)
    d_hue = 2 * np.sqrt(c1 * c2) * np.sin(np.radians(dh / 2))
    l_mean, c_mean = (L1 + L2) / 2, (c1 + c2) / 2
    h_sum = h1 + h2
    h_mean = np.where(~chroma, h_sum, np.where(np.abs(h1 - h2) <= 180, h_sum / 2,
                                               np.where(h_sum < 360, (h_sum + 360) / 2, (h_sum - 360) / 2)))
    t = (1 - 0.17 * np.cos(np.radians(h_mean - 30)) + 0.24 * np.cos(np.radians(2 * h_mean))
         + 0.32 * np.cos(np.radians(3 * h_mean + 6)) - 0.20 * np.cos(np.radians(4 * h_mean - 63)))
    rotation = -np.sin(np.radians(60 * np.exp(-(((h_mean - 275) / 25) ** 2)))) * 2 * np.sqrt(
        c_mean**7 / (c_mean**7 + 25.0**7))
    s_l = 1 + 0.015 * (l_mean - 50) ** 2 / np.sqrt(20 + (l_mean - 50) ** 2)
    s_c, s_h = 1 + 0.045 * c_mean, 1 + 0.015 * c_mean * t
    d_l, d_c, d_h = (L2 - L1) / s_l, (c2 - c1) / s_c, d_hue / s_h
    return np.sqrt(d_l**2 + d_c**2 + d_h**2 + rotation * d_c * d_h)


def shown_as(colours: np.ndarray, shown: str) -> np.ndarray:
    """The colours as flat swatches, or as the overlay blends them over the mid grey (float32 and rounded, as
    ``segdemo.visualize.blend``)."""
    colours = np.asarray(colours, dtype=np.float32)
    if shown == "flat":
        return colours
    ground = np.full_like(colours, OVERLAY_GROUND)
    return ((1 - OVERLAY_OPACITY) * ground + OVERLAY_OPACITY * colours).round()


def seen_lab(colours: np.ndarray, view: tuple[str, str]) -> np.ndarray:
    """CIELAB of the colours as ``view`` (vision, shown) gives them."""
    vision, shown = view
    return to_lab(simulate(shown_as(colours, shown), vision))


def named_colours(palette: Palette, view: tuple[str, str]) -> tuple[tuple[str, ...], np.ndarray]:
    """The names and colours a view compares: the classes, and void's grey where the colours are flat."""
    if view[1] == "flat":
        return FLAT_NAMES, np.asarray([*palette, VOID_GREY], dtype=np.float64)
    return CAMVID_CLASSES, np.asarray(palette, dtype=np.float64)


def distances(palette: Palette) -> dict[tuple[str, str], dict[tuple[str, str], float]]:
    """For each view, each pair's CIEDE2000 (the pair named in CamVid's order, void last)."""
    out = {}
    for view in VIEWS:
        names, colours = named_colours(palette, view)
        lab = seen_lab(colours, view)
        out[view] = {(names[i], names[j]): float(delta_e_2000(lab[i], lab[j]))
                     for i, j in combinations(range(len(names)), 2)}
    return out


def closest(palette: Palette) -> dict[tuple[str, str], tuple[float, str, str]]:
    """For each view, the closest pair and its distance: the figure a safe palette keeps high."""
    return {view: min((d, *pair) for pair, d in pairs.items()) for view, pairs in distances(palette).items()}


def touching(label_files: list[Path] | None = None) -> dict[tuple[str, str], int]:
    """How many pixel pairs, side by side or one above the other, fall on two classes' border in the bundled
    labels (void left out), by pair of classes in CamVid's order."""
    counts = np.zeros((len(CAMVID_CLASSES), len(CAMVID_CLASSES)), dtype=np.int64)
    for path in label_files or sorted((ROOT / "examples").glob("*_label.png")):
        labels = np.asarray(Image.open(path)).astype(np.int64)
        for a, b in ((labels[:, :-1], labels[:, 1:]), (labels[:-1], labels[1:])):
            border = (a != b) & (a != VOID_INDEX) & (b != VOID_INDEX)
            np.add.at(counts, (np.minimum(a, b)[border], np.maximum(a, b)[border]), 1)
    return {(CAMVID_CLASSES[i], CAMVID_CLASSES[j]): int(counts[i, j])
            for i, j in combinations(range(len(CAMVID_CLASSES)), 2)}


def search(grid_step: int = 8, kept: int = 400) -> dict[str, tuple[int, int, int]]:
    """The three moved classes' colours, found again as the module's docstring says (``kept``: the nearest
    candidates of each class tried together; 400 and 1500 give the same three)."""
    moved = list(COLOUR_BLIND_SAFE_CHANGES)
    assert len(moved) == 3, "the search pairs up three classes"
    fixed = [name for name in FLAT_NAMES if name not in moved]
    camvid = dict(zip(FLAT_NAMES, [*CAMVID_PALETTE, VOID_GREY]))
    levels = np.unique(np.r_[np.arange(0, 256, grid_step), 255])
    grid = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), -1).reshape(-1, 3).astype(np.float64)
    targets, grid_lab, fixed_lab = {}, {}, {}
    for view in VIEWS:  # the closest pair left as it was: no pair with a moved colour may come closer
        names = [name for name in fixed if view[1] == "flat" or name != "void"]
        fixed_lab[view] = seen_lab(np.asarray([camvid[name] for name in names]), view)
        targets[view] = min(float(delta_e_2000(a, b)) for a, b in combinations(fixed_lab[view], 2))
        grid_lab[view] = seen_lab(grid, view)
    far_enough = np.ones(len(grid), dtype=bool)
    for view in VIEWS:
        nearest = delta_e_2000(grid_lab[view][:, None], fixed_lab[view][None]).min(axis=1)
        far_enough &= nearest >= targets[view]
    normal = to_lab(grid)
    candidates = []  # per moved class: the grid indices of its nearest allowed colours, and their shifts
    for name in moved:
        shift = delta_e_2000(normal, to_lab(np.asarray(camvid[name], dtype=np.float64)))
        allowed = np.flatnonzero(far_enough)
        allowed = allowed[np.argsort(shift[allowed], kind="stable")][:kept]
        candidates.append((allowed, shift[allowed]))

    def apart(first: np.ndarray, second: np.ndarray) -> np.ndarray:
        ok = np.ones((len(first), len(second)), dtype=bool)
        for view in VIEWS:
            ok &= delta_e_2000(grid_lab[view][first][:, None], grid_lab[view][second][None]) >= targets[view]
        return ok

    (a, shift_a), (b, shift_b), (c, shift_c) = candidates
    ab, ac, bc = apart(a, b), apart(a, c), apart(b, c)
    best: tuple[float, float, int, int, int] | None = None
    for i in range(len(a)):
        js, ks = np.flatnonzero(ab[i]), np.flatnonzero(ac[i])
        j, k = np.nonzero(bc[np.ix_(js, ks)])
        if not len(j):
            continue
        largest = np.maximum(shift_a[i], np.maximum(shift_b[js[j]], shift_c[ks[k]]))
        total = shift_a[i] + shift_b[js[j]] + shift_c[ks[k]]
        q = np.lexsort((total, largest))[0]
        if best is None or (largest[q], total[q]) < best[:2]:
            best = (float(largest[q]), float(total[q]), i, int(js[j[q]]), int(ks[k[q]]))
    if best is None:
        raise RuntimeError("no three colours keep every pair apart; try more candidates")
    chosen = (a[best[2]], b[best[3]], c[best[4]])
    return {name: tuple(int(v) for v in grid[index]) for name, index in zip(moved, chosen)}


def shift(name: str, palette: Palette) -> float:
    """How far a class's colour moved from CamVid's, for normal vision (CIEDE2000)."""
    index = CAMVID_CLASSES.index(name)
    return float(delta_e_2000(to_lab(np.asarray(palette[index], dtype=np.float64)),
                              to_lab(np.asarray(CAMVID_PALETTE[index], dtype=np.float64))))


VIEW_NAMES = {"normal": "normal vision", "protan": "protanopia", "deutan": "deuteranopia", "tritan": "tritanopia"}


def both(distances: dict, vision: str, pair: tuple[str, str]) -> str:
    """A pair's distance for ``vision`` as "flat/overlay" (void is on no overlay)."""
    overlay = distances[(vision, "overlay")].get(pair)
    return f"{distances[(vision, 'flat')][pair]:.1f}/" + ("-" if overlay is None else f"{overlay:.1f}")


def report(palettes: dict[str, Palette], under: float) -> str:
    """The closest pair of each palette in each view, then the pairs under ``under`` for a colour-blind eye."""
    lines = ["Closest pair, CIEDE2000 (flat: swatches, keys, ground truth with its void grey; overlay: 0.55 over "
             "grey 128)", f"{'view':<28}" + "".join(f"{name:<28}" for name in palettes)]
    closest_pairs = {name: closest(palette) for name, palette in palettes.items()}
    for view in VIEWS:
        row = f"{VIEW_NAMES[view[0]] + ', ' + view[1]:<28}"
        for name in palettes:
            d, a, b = closest_pairs[name][view]
            row += f"{d:5.1f} {a + '/' + b:<22}"
        lines.append(row)
    every = {name: distances(palette) for name, palette in palettes.items()}
    borders = touching()
    pairs = sorted({pair for name in palettes for view in VIEWS if view[0] != "normal"
                    for pair, d in every[name][view].items() if d < under},
                   key=lambda pair: min(every[name][view].get(pair, np.inf) for name in palettes for view in VIEWS
                                        if view[0] != "normal"))
    lines += ["", f"Pairs under {under:g} for a colour-blind eye in either palette: flat/overlay for each "
              "dichromacy, and the pixel pairs on their border in the bundled labels"]
    header = f"{'pair':<22}{'border':>7}"
    for name in palettes:
        header += f"  {name + ':':<10}" + "".join(f"{vision:>10}" for vision in VISIONS[1:])
    lines.append(header)
    for pair in pairs:
        row = f"{'/'.join(pair):<22}{'-' if 'void' in pair else borders[pair]:>7}"
        for name in palettes:
            row += " " * 12 + "".join(f"{both(every[name], vision, pair):>10}" for vision in VISIONS[1:])
        lines.append(row)
    return "\n".join(line.rstrip() for line in lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--under", type=float, default=10.0, help="list the pairs closer than this (CIEDE2000)")
    parser.add_argument("--search", action="store_true", help="find the safe palette's three colours again")
    args = parser.parse_args(argv)
    print(report({"CamVid": CAMVID_PALETTE, "colour-blind-safe": COLOUR_BLIND_SAFE_PALETTE}, args.under))
    print()
    print("Moved for the colour-blind-safe palette (shift from CamVid's colour, normal vision):")
    for name, colour in COLOUR_BLIND_SAFE_CHANGES.items():
        camvid = CAMVID_PALETTE[CAMVID_CLASSES.index(name)]
        print(f"  {name:<11} {camvid} -> {colour}  {shift(name, COLOUR_BLIND_SAFE_PALETTE):.1f}")
    if args.search:
        found = search()
        print(f"\nFound again: {found}; {'the same' if found == COLOUR_BLIND_SAFE_CHANGES else 'NOT the same'} as "
              "segdemo.classes.COLOUR_BLIND_SAFE_CHANGES")
        return 0 if found == COLOUR_BLIND_SAFE_CHANGES else 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
