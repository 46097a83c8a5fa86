"""Types for a page's legend: the swatches a map explains its colours with.

Frames: every box is in the PDF frame (the file's default user space, points, y up), like the
rest of planseg's page geometry; colours are 8-bit sRGB.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

LegendSource = Literal["vector", "raster-text", "raster"]
Box = tuple[float, float, float, float]  # x0, y0, x1, y1
RGB8 = tuple[int, int, int]


@dataclass(frozen=True)
class LegendEntry:
    """One legend swatch. Frames: PDF frame (default user space, points, y up)."""

    rgb: tuple[int, int, int]
    """Swatch fill colour (the dominant colour for raster swatches)."""
    hatch_rgb: tuple[int, int, int] | None
    """Colour of the hatch/pattern lines drawn over the swatch, if any."""
    code: str | None
    """The class code, e.g. "RS-2", "B2"; None where the label has no code."""
    label: str | None
    """The name without the code, e.g. "Residential Single"; None where there is no text."""
    box_pt: tuple[float, float, float, float]
    """Swatch box x0, y0, x1, y1 in the PDF frame (x0 < x1, y0 < y1)."""

    @property
    def hex(self) -> str:
        """The fill colour as ``#rrggbb``."""
        return rgb_to_hex(self.rgb)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict; colours as ``#rrggbb`` strings, ``box_pt`` as a 4-list."""
        return {"rgb": rgb_to_hex(self.rgb),
                "hatch_rgb": None if self.hatch_rgb is None else rgb_to_hex(self.hatch_rgb),
                "code": self.code, "label": self.label,
                "box_pt": [round(v, 3) for v in self.box_pt]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LegendEntry:
        """Inverse of :meth:`to_json`."""
        hatch = data.get("hatch_rgb")
        x0, y0, x1, y1 = (float(v) for v in data["box_pt"])
        return cls(rgb=hex_to_rgb(data["rgb"]),
                   hatch_rgb=None if hatch is None else hex_to_rgb(hatch),
                   code=data.get("code"), label=data.get("label"), box_pt=(x0, y0, x1, y1))


@dataclass
class PageLegend:
    """The legend read from one page.

    ``source`` is "vector" (swatches from the page's drawings), "raster-text" (swatches found in
    pixels, labels from the text layer), "raster" (pixels only: code and label None), or None
    when no legend was found. ``notes`` are one-line reasons meant for the log once per page
    (no legend, two legends, repeated colours, ...).
    """

    entries: list[LegendEntry] = field(default_factory=list)
    source: LegendSource | None = None
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict: ``{"source", "notes", "entries": [...]}``."""
        return {"source": self.source, "notes": list(self.notes),
                "entries": [entry.to_json() for entry in self.entries]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PageLegend:
        """Inverse of :meth:`to_json`."""
        return cls(entries=[LegendEntry.from_json(e) for e in data.get("entries", [])],
                   source=data.get("source"), notes=list(data.get("notes", [])))


def rgb_to_hex(rgb: tuple[int, int, int]) -> str:
    """``(r, g, b)`` 0..255 -> ``"#rrggbb"``."""
    r, g, b = rgb
    return f"#{r:02x}{g:02x}{b:02x}"


def hex_to_rgb(text: str) -> tuple[int, int, int]:
    """``"#rrggbb"`` (``#`` optional) -> ``(r, g, b)``; raises ValueError on anything else."""
    digits = text.removeprefix("#")
    if len(digits) != 6:
        raise ValueError(f"not a #rrggbb colour: {text!r}")
    value = int(digits, 16)
    return (value >> 16) & 255, (value >> 8) & 255, value & 255


@dataclass(frozen=True)
class Swatch:
    """A swatch-like shape: box in the displayed page (points, y down), colours 0-255.

    ``ref`` indexes the vector reader's shapes (its hatch is looked up once it has a label).
    """

    box: Box
    rgb: RGB8
    hatch_rgb: RGB8 | None = None
    ref: int = -1
