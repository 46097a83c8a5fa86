"""Map furniture outside the map frame (legend, north arrow, scale bar, title block) and
text-only pages. None of it is a zone: legend swatches are deliberate look-alike negatives.

Coordinates are the page frame (points, y down).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pymupdf

from planseg.synth.draw import draw_swatch
from planseg.synth.layout import MapLayout
from planseg.synth.palette import ZoneStyle

_TOWNS = ("Altenburg", "Riverside", "Lindenfeld", "Oakridge", "Neustadt", "Brookhaven",
          "Eichwald", "Millbrook", "Sonnenberg", "Fairview")
_WORDS = ("zone", "building", "height", "plot", "ratio", "floor", "area", "permitted", "use",
          "shall", "not", "exceed", "storeys", "setback", "metres", "from", "the", "street",
          "line", "residential", "commercial", "parking", "spaces", "per", "dwelling", "unit",
          "green", "roof", "trees", "planted", "boundary", "development", "plan", "section")


#: Legend headings, in the languages of the plans planseg reads.
LEGEND_HEADINGS = ("Legend", "Legende", "Legenda", "Zeichenerkl\u00e4rung", "Leyenda",
                   "L\u00e9gende", "Key", "Zoning Districts")
#: How a label carries its code ("swatch": the code is written inside the swatch instead).
LABEL_FORMATS = ("{code}  {name}", "{code} - {name}", "{code}: {name}", "{name} ({code})",
                 "swatch")


@dataclass(frozen=True)
class LegendStyle:
    """How one map's legend is laid out (drawn from its own random stream, so varying it
    leaves every zone, colour and other furniture of the document unchanged)."""

    heading: str
    label_format: str
    boxed: bool
    at_bottom: bool  # legend just above the title block (scale bar under the north arrow)
    swatch_w: float  # at A3 scale, points
    swatch_h: float
    row_gap: float


def draw_legend_style(rng: np.random.Generator) -> LegendStyle:
    """A random legend layout."""
    return LegendStyle(
        heading=LEGEND_HEADINGS[int(rng.integers(len(LEGEND_HEADINGS)))],
        label_format=LABEL_FORMATS[int(rng.integers(len(LABEL_FORMATS)))],
        boxed=bool(rng.random() < 0.6), at_bottom=bool(rng.random() < 0.4),
        swatch_w=float(rng.uniform(20.0, 30.0)), swatch_h=float(rng.uniform(9.0, 14.0)),
        row_gap=float(rng.uniform(3.0, 7.0)))


#: Paints a legend swatch's area: (page, swatch rectangle, zone style) -> None.
SwatchPainter = Callable[[pymupdf.Page, pymupdf.Rect, ZoneStyle], None]


def draw_panel(page: pymupdf.Page, layout: MapLayout, rng: np.random.Generator,
               legend: LegendStyle | None = None,
               paint_swatch: SwatchPainter = draw_swatch) -> None:
    """North arrow, legend, scale bar and title block in the column right of the frame.

    Sizes are given for A3 and multiplied by ``layout.scale`` (bigger sheets, bigger type).
    ``legend`` None draws the original fixed layout ("Legend", ``R1  Residential``, boxed);
    ``paint_swatch`` paints each swatch's area (a look's own painting; flat fills by default).
    """
    x0, y0, x1, y1 = layout.panel_xyxy_pt
    k = layout.scale
    legend = legend or LegendStyle("Legend", LABEL_FORMATS[0], True, False, 24.0, 12.0, 5.0)
    _north_arrow(page, (x0 + x1) / 2, y0 + 30 * k, k)
    if legend.at_bottom:
        height = 24 * k + len(layout.palette) * (legend.swatch_h + legend.row_gap) * k
        _legend(page, layout.palette, legend, x0, y1 - 130 * k - height, x1, k,
                paint_swatch)
        _scale_bar(page, rng, x0 + 6 * k, y0 + 70 * k, x1 - 6 * k, k)
    else:
        y = _legend(page, layout.palette, legend, x0, y0 + 70 * k, x1, k, paint_swatch)
        _scale_bar(page, rng, x0 + 6 * k, min(y + 30 * k, y1 - 150 * k), x1 - 6 * k, k)
    _title_block(page, rng, pymupdf.Rect(x0, y1 - 110 * k, x1, y1), k)
    if rng.random() < 0.6:
        _grid_ticks(page, layout, rng, k)


def _grid_ticks(page: pymupdf.Page, layout: MapLayout, rng: np.random.Generator,
                k: float) -> None:
    """Projected-coordinate ticks and numbers above and below the frame (GeoPDF look)."""
    fx0, fy0, fx1, fy1 = layout.frame_xyxy_pt
    metres_per_pt = float(rng.choice([0.5, 1.0, 2.0])) / k
    step_m = int(rng.choice([100, 200, 250]))
    while step_m / metres_per_pt < 70 * k:
        step_m *= 2
    step_pt = step_m / metres_per_pt
    easting = int(rng.integers(3_000, 7_000)) * 100 + float(rng.uniform(0, step_m))
    first = (np.ceil(easting / step_m) * step_m - easting) / metres_per_pt  # a round value
    x = fx0 + first
    while x < fx1 - 20 * k:
        label = f"{round(easting + (x - fx0) * metres_per_pt):,}".replace(",", " ")
        for y, direction in ((fy0, -1), (fy1, 1)):
            page.draw_line((x, y), (x, y + direction * 3 * k), color=(0, 0, 0), width=0.4 * k)
        width = pymupdf.get_text_length(label, fontsize=4.5 * k)
        page.insert_text((x - width / 2, fy0 - 4 * k), label, fontsize=4.5 * k)
        x += step_pt


def _north_arrow(page: pymupdf.Page, cx: float, cy: float, k: float) -> None:
    shape = page.new_shape()
    shape.draw_polyline([(cx, cy - 20 * k), (cx + 8 * k, cy + 12 * k), (cx, cy + 5 * k),
                         (cx - 8 * k, cy + 12 * k), (cx, cy - 20 * k)])
    shape.finish(color=(0, 0, 0), fill=(0, 0, 0), width=0.8 * k)
    shape.commit()
    page.insert_text((cx - 4 * k, cy - 24 * k), "N", fontsize=11 * k, fontname="hebo")


def _legend(page: pymupdf.Page, palette: list[ZoneStyle], legend: LegendStyle, x0: float,
            y: float, x1: float, k: float, paint_swatch: SwatchPainter) -> float:
    """One swatch (painted as the look paints zones) + code + name per zone style; returns
    the y below the legend."""
    top = y - 14 * k
    page.insert_text((x0 + 4 * k, y), legend.heading, fontsize=11 * k, fontname="hebo")
    y += 10 * k
    width, height = legend.swatch_w * k, legend.swatch_h * k
    for style in palette:
        swatch = pymupdf.Rect(x0 + 6 * k, y, x0 + 6 * k + width, y + height)
        paint_swatch(page, swatch, style)
        page.draw_rect(swatch, color=(0, 0, 0), width=0.5 * k)
        if legend.label_format == "swatch":
            _code_in_swatch(page, style.code, swatch, k)
            label = style.name
        else:
            label = legend.label_format.format(code=style.code, name=style.name)
        baseline = y + height / 2 + 2.5 * k
        page.insert_text((swatch.x1 + 6 * k, baseline), label, fontsize=7 * k, fontname="helv")
        y += height + legend.row_gap * k
    if legend.boxed:
        page.draw_rect(pymupdf.Rect(x0 + 2 * k, top, x1 - 2 * k, y + 2 * k),
                       color=(0.3, 0.3, 0.3), width=0.5 * k)
    return y


def _code_in_swatch(page: pymupdf.Page, code: str, swatch: pymupdf.Rect, k: float) -> None:
    fontsize = min(7 * k, 0.6 * swatch.height)
    text_w = pymupdf.get_text_length(code, fontname="hebo", fontsize=fontsize)
    page.insert_text((swatch.x0 + (swatch.width - text_w) / 2,
                      swatch.y0 + swatch.height / 2 + 0.35 * fontsize), code,
                     fontsize=fontsize, fontname="hebo")


def _scale_bar(page: pymupdf.Page, rng: np.random.Generator, x0: float, y: float,
               x1: float, k: float) -> None:
    segments = 4
    step_m = int(rng.choice([25, 50, 100, 250]))
    seg_w = (x1 - x0 - 20 * k) / segments
    for i in range(segments):
        rect = pymupdf.Rect(x0 + i * seg_w, y, x0 + (i + 1) * seg_w, y + 5 * k)
        page.draw_rect(rect, color=(0, 0, 0), fill=(0, 0, 0) if i % 2 == 0 else (1, 1, 1),
                       width=0.5 * k)
        page.insert_text((rect.x0 - 2 * k, y + 14 * k), str(i * step_m), fontsize=6 * k)
    page.insert_text((x0 + segments * seg_w - 2 * k, y + 14 * k), f"{segments * step_m} m",
                     fontsize=6 * k)


def _title_block(page: pymupdf.Page, rng: np.random.Generator, rect: pymupdf.Rect,
                 k: float) -> None:
    page.draw_rect(rect, color=(0, 0, 0), width=1.0 * k)
    town = _TOWNS[int(rng.integers(len(_TOWNS)))]
    lines = [("ZONING PLAN", 12, "hebo"),
             (f"City of {town}", 9, "helv"),
             (f"Plan no. {int(rng.integers(1, 99)):02d}-{int(rng.integers(100, 999))}", 8,
              "helv"),
             (f"Scale 1:{int(rng.choice([1000, 2000, 2500, 5000]))}", 8, "helv"),
             (f"Adopted {int(rng.integers(1995, 2026))}-{int(rng.integers(1, 13)):02d}-"
              f"{int(rng.integers(1, 29)):02d}", 7, "helv")]
    y = rect.y0 + 18 * k
    for text, size, font in lines:
        page.insert_text((rect.x0 + 8 * k, y), text, fontsize=size * k, fontname=font)
        page.draw_line((rect.x0, y + 5 * k), (rect.x1, y + 5 * k), color=(0.5, 0.5, 0.5),
                       width=0.3 * k)
        y += (size + 10) * k


def draw_text_page(page: pymupdf.Page, rng: np.random.Generator) -> None:
    """A page of planning regulations: headings and paragraphs of real text, no zones."""
    k = min(page.rect.width, page.rect.height) / 842  # type sizes grow with the sheet
    margin = 60.0 * k
    width = page.rect.width - 2 * margin
    y = margin
    page.insert_text((margin, y), "Textual provisions", fontsize=16 * k, fontname="hebo")
    y += 30 * k
    section = 1
    while y < page.rect.height - margin - 60 * k:
        page.insert_text((margin, y), f"\u00a7 {section}", fontsize=11 * k, fontname="hebo")
        words = rng.choice(_WORDS, size=int(rng.integers(40, 120)))
        para = pymupdf.Rect(margin, y + 6 * k, margin + width, y + 130 * k)
        spare = page.insert_textbox(para, " ".join(words).capitalize() + ".", fontsize=9 * k,
                                    fontname="helv")
        y = para.y1 - max(spare, 0) + 22 * k
        section += 1
