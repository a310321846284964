"""Wide-gamut ICC profiles for the tests, built from their published primaries.

Display P3 is what iPhones tag their photos with, Adobe RGB (1998) what cameras offer as the alternative to sRGB.
No profile file ships with Pillow or with this machine, and a profile is small enough to write out: an ICC v2
matrix/TRC display profile is a 128-byte header, a tag table, the white point, three colorants (the primaries in
XYZ, adapted to the D50 of the profile connection space by Bradford, as the ICC specification asks) and a tone
curve per channel. littlecms reads it like any profile a camera writes. A CMYK profile is a table instead
(A2B0: the colour of each corner of the ink cube), which lets a test invent a press no formula could imitate.
"""

from __future__ import annotations

import struct

import numpy as np

D65 = (0.3127, 0.3290)
D50_XYZ = np.array([0.9642, 1.0, 0.8249])
BRADFORD = np.array([[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]])

SRGB_PRIMARIES = ((0.64, 0.33), (0.30, 0.60), (0.15, 0.06))
ADOBE_RGB = {"description": "Adobe RGB (1998) compatible, segdemo tests",
             "primaries": ((0.64, 0.33), (0.21, 0.71), (0.15, 0.06)), "gamma": 563 / 256}
DISPLAY_P3 = {"description": "Display P3 compatible, segdemo tests",
              "primaries": ((0.680, 0.320), (0.265, 0.690), (0.150, 0.060)), "srgb_curve": True}


def xy_to_xyz(x: float, y: float) -> np.ndarray:
    return np.array([x / y, 1.0, (1 - x - y) / y])


def rgb_to_xyz_matrix(primaries, white=D65) -> np.ndarray:
    """Columns: the XYZ of full red, green and blue, scaled so that white has Y = 1."""
    columns = np.stack([xy_to_xyz(*xy) for xy in primaries], axis=1)
    scale = np.linalg.solve(columns, xy_to_xyz(*white))
    return columns * scale


def to_d50(white=D65) -> np.ndarray:
    """Bradford chromatic adaptation from ``white`` to D50."""
    source, target = BRADFORD @ xy_to_xyz(*white), BRADFORD @ D50_XYZ
    return np.linalg.inv(BRADFORD) @ np.diag(target / source) @ BRADFORD


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _xyz_tag(xyz) -> bytes:
    return b"XYZ " + bytes(4) + b"".join(_s15(v) for v in xyz)


def _desc_tag(text: str) -> bytes:
    ascii_text = text.encode("ascii") + b"\0"
    body = b"desc" + bytes(4) + struct.pack(">I", len(ascii_text)) + ascii_text
    return body + bytes(4 + 4) + bytes(2 + 1 + 67)  # no Unicode or ScriptCode description


def _text_tag(text: str) -> bytes:
    return b"text" + bytes(4) + text.encode("ascii") + b"\0"


def _curve_tag(gamma: float | None, srgb_curve: bool) -> bytes:
    if srgb_curve:  # sRGB's own curve, sampled: Display P3 uses it
        x = np.linspace(0, 1, 1024)
        y = np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)
        samples = np.rint(y * 65535).astype(int)
        return b"curv" + bytes(4) + struct.pack(">I", x.size) + struct.pack(f">{x.size}H", *samples)
    return b"curv" + bytes(4) + struct.pack(">IH", 1, round(gamma * 256))


def _pad(data: bytes) -> bytes:
    return data + bytes(-len(data) % 4)


def _assemble(device_class: bytes, colour_space: bytes, tags: list[tuple[bytes, bytes]]) -> bytes:
    """The 128-byte header (profile connection space XYZ, D50), the tag table, then the tags, 4-byte aligned."""
    offset = 128 + 4 + 12 * len(tags)
    table, data = [struct.pack(">I", len(tags))], b""
    for signature, body in tags:
        table.append(signature + struct.pack(">II", offset + len(data), len(body)))
        data += _pad(body)
    header = (struct.pack(">I", offset + len(data)) + b"lcms" + bytes([2, 0x10, 0, 0]) + device_class + colour_space
              + b"XYZ " + bytes(12) + b"acsp" + b"APPL" + bytes(4) + bytes(4) + bytes(4) + bytes(8)
              + struct.pack(">I", 0) + b"".join(_s15(v) for v in D50_XYZ) + b"lcms" + bytes(16) + bytes(28))
    assert len(header) == 128, len(header)
    return header + b"".join(table) + data


def build_rgb_profile(description: str, primaries, gamma: float | None = None, srgb_curve: bool = False) -> bytes:
    """The bytes of an ICC v2 RGB display profile with these primaries, a D65 white and one tone curve."""
    adapted = to_d50() @ rgb_to_xyz_matrix(primaries)
    curve = _curve_tag(gamma, srgb_curve)
    tags = [(b"desc", _desc_tag(description)), (b"cprt", _text_tag("No copyright, use freely")),
            (b"wtpt", _xyz_tag(D50_XYZ)), (b"rXYZ", _xyz_tag(adapted[:, 0])), (b"gXYZ", _xyz_tag(adapted[:, 1])),
            (b"bXYZ", _xyz_tag(adapted[:, 2])), (b"rTRC", curve), (b"gTRC", curve), (b"bTRC", curve)]
    return _assemble(b"mntr", b"RGB ", tags)


def adobe_rgb() -> bytes:
    return build_rgb_profile(ADOBE_RGB["description"], ADOBE_RGB["primaries"], gamma=ADOBE_RGB["gamma"])


def display_p3() -> bytes:
    return build_rgb_profile(DISPLAY_P3["description"], DISPLAY_P3["primaries"], srgb_curve=True)



def _srgb_to_pcs_xyz(rgb: np.ndarray) -> np.ndarray:
    """sRGB values in 0..1 to D50 XYZ, the profile connection space."""
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    return to_d50() @ rgb_to_xyz_matrix(SRGB_PRIMARIES) @ linear


def _lut16_tag(corners: np.ndarray, inputs: int) -> bytes:
    """A lut16Type (mft2) of 2 grid points a channel, identity curves, and XYZ outputs at the lattice's corners."""
    entries = 2  # each identity curve: 0 -> 0, 1 -> 65535
    body = b"mft2" + bytes(4) + struct.pack(">BBBB", inputs, 3, 2, 0)
    body += b"".join(_s15(v) for v in np.eye(3).ravel())  # the matrix, used only with XYZ input
    body += struct.pack(">HH", entries, entries)
    body += struct.pack(f">{inputs * entries}H", *([0, 65535] * inputs))
    encoded = np.clip(np.rint(corners * 32768), 0, 65535).astype(int)  # u1Fixed15: 0x8000 is 1.0
    body += struct.pack(f">{encoded.size}H", *encoded.ravel())
    body += struct.pack(f">{3 * entries}H", *([0, 65535] * 3))
    return body


def build_cmyk_profile(description: str, ink_to_rgb) -> bytes:
    """An ICC v2 CMYK output profile whose inks give ``ink_to_rgb(c, m, y, k)`` (sRGB, 0..1) at the lattice's
    corners; littlecms interpolates between them. Only A2B0 (device to PCS) is written: an upload's profile is
    only ever read in that direction."""
    corners = []
    for c in (0, 1):
        for m in (0, 1):
            for y in (0, 1):
                for k in (0, 1):  # the last input channel varies fastest in the CLUT
                    corners.append(_srgb_to_pcs_xyz(np.array(ink_to_rgb(c, m, y, k), dtype=float)))
    tags = [(b"desc", _desc_tag(description)), (b"cprt", _text_tag("No copyright, use freely")),
            (b"wtpt", _xyz_tag(D50_XYZ)), (b"A2B0", _lut16_tag(np.array(corners), 4))]
    return _assemble(b"prtr", b"CMYK", tags)


def swapped_ink_cmyk() -> bytes:
    """A press whose cyan ink prints yellow and whose yellow prints cyan: a profile whose effect no formula for
    CMYK could produce, so a test can tell that the profile, not the formula, converted the picture."""
    def ink_to_rgb(c: int, m: int, y: int, k: int) -> tuple[float, float, float]:
        return ((1 - y) * (1 - k), (1 - m) * (1 - k), (1 - c) * (1 - k))
    return build_cmyk_profile("Swapped-ink press, segdemo tests", ink_to_rgb)
