"""Zone classes of a synthetic zoning plan: codes ("B2"), names, fill colours and hatches.

Every document draws its own palette (a subset of classes, jittered colours, some hatched) so a
model cannot learn one fixed colour table. Colours are RGB floats in [0, 1] (PyMuPDF's form).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

RGB = tuple[float, float, float]
PatternKind = Literal["hatch", "cross", "dots"]

# prefix, long name, base fill colour (roughly the colours German/US zoning plans use)
_CLASSES: tuple[tuple[str, str, RGB], ...] = (
    ("R", "Residential", (0.98, 0.90, 0.55)),
    ("W", "General residential", (0.96, 0.72, 0.55)),
    ("M", "Mixed use", (0.88, 0.68, 0.45)),
    ("B", "Business", (0.95, 0.62, 0.62)),
    ("C", "Commercial centre", (0.90, 0.45, 0.50)),
    ("I", "Industrial", (0.72, 0.64, 0.86)),
    ("G", "Public facilities", (0.62, 0.76, 0.95)),
    ("P", "Parks and open space", (0.62, 0.85, 0.58)),
    ("A", "Agriculture", (0.84, 0.90, 0.66)),
    ("S", "Special use", (0.80, 0.80, 0.80)),
)


@dataclass(frozen=True)
class Hatch:
    """Parallel hatch lines drawn over a zone fill (page frame, points)."""

    angle_deg: float
    spacing_pt: float
    width_pt: float
    rgb: RGB


@dataclass(frozen=True)
class Pattern:
    """A dense signature over a zone fill (the ``bplan`` look): hatch, cross-hatch or a dot
    grid, all thin strokes (page frame, points), so the fill stays the zone's only area."""

    kind: PatternKind
    angle_deg: float
    spacing_pt: float  # between hatch lines or dot centres
    size_pt: float  # line width, or dot diameter
    rgb: RGB


@dataclass(frozen=True)
class ZoneStyle:
    """One legend entry: a zone code and how zones with that code are drawn."""

    code: str
    name: str
    fill_rgb: RGB
    hatch: Hatch | None
    pattern: Pattern | None = None  # only the bplan look draws one


_DIGITS = range(1, 5)


def class_categories() -> list[dict]:
    """COCO categories of every zone class synth can draw, ids 2.. (1 stays "zone"): name and
    ``zone_code`` the code, ``zone_name`` its long name, ``color`` the class's nominal fill
    ``#rrggbb`` (documents jitter it by up to 0.04 per channel)."""
    categories = []
    for prefix, name, base in _CLASSES:
        for digit in _DIGITS:
            rgb = _shaded(base, digit, np.zeros(3))
            hex_rgb = "#" + "".join(f"{round(c * 255):02x}" for c in rgb)
            categories.append({"id": len(categories) + 2, "name": f"{prefix}{digit}",
                               "supercategory": "zone", "zone_code": f"{prefix}{digit}",
                               "zone_name": name, "color": hex_rgb})
    return categories


def class_category_id(code: str) -> int:
    """The :func:`class_categories` id of a zone code such as ``"B2"``."""
    prefix, digit = code[:-1], int(code[-1])
    index = next(i for i, (p, _, _) in enumerate(_CLASSES) if p == prefix)
    return 2 + index * len(_DIGITS) + (digit - 1)


def _shaded(base: RGB, digit: int, jitter: np.ndarray) -> RGB:
    """Digits darken the class colour a little; jitter keeps palettes varied."""
    shade = 1.0 - 0.07 * (digit - 1)
    return tuple(float(np.clip(c * shade + j, 0.25, 1.0))  # type: ignore[return-value]
                 for c, j in zip(base, jitter, strict=True))


def make_palette(rng: np.random.Generator) -> list[ZoneStyle]:
    """Draw 4-8 zone codes for one document, each with a distinct jittered colour."""
    n_classes = int(rng.integers(4, 9))
    class_ids = rng.choice(len(_CLASSES), size=n_classes, replace=False)
    styles: list[ZoneStyle] = []
    for class_id in sorted(int(i) for i in class_ids):
        prefix, name, base = _CLASSES[class_id]
        for digit in sorted(rng.choice(np.arange(1, 5), size=int(rng.integers(1, 3)),
                                       replace=False)):
            fill = _shaded(base, int(digit), rng.uniform(-0.04, 0.04, size=3))
            styles.append(ZoneStyle(f"{prefix}{digit}", name, fill, _maybe_hatch(rng, fill)))
    return styles


def _maybe_hatch(rng: np.random.Generator, fill: RGB) -> Hatch | None:
    if rng.random() > 0.25:
        return None
    dark = tuple(float(c * 0.55) for c in fill)
    return Hatch(angle_deg=float(rng.choice([45.0, -45.0, 0.0, 90.0])),
                 spacing_pt=float(rng.uniform(4.0, 9.0)),
                 width_pt=float(rng.uniform(0.4, 0.9)), rgb=dark)  # type: ignore[arg-type]
