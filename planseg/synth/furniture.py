"""Map furniture outside the map frame (legend, north arrow, scale bar, title block) and
text-only pages. None of it is a zone: legend swatches are deliberate look-alike negatives.

Coordinates are the page frame (points, y down).
"""

from __future__ import annotations

import numpy as np
import pymupdf
from shapely.geometry import box

from planseg.synth.draw import draw_hatch
from planseg.synth.layout import MapLayout
from planseg.synth.palette import ZoneStyle

_TOWNS = ("Altenburg", "Riverside", "Lindenfeld", "Oakridge", "Neustadt", "Brookhaven",
          "Eichwald", "Millbrook", "Sonnenberg", "Fairview")
_WORDS = ("zone", "building", "height", "plot", "ratio", "floor", "area", "permitted", "use",
          "shall", "not", "exceed", "storeys", "setback", "metres", "from", "the", "street",
          "line", "residential", "commercial", "parking", "spaces", "per", "dwelling", "unit",
          "green", "roof", "trees", "planted", "boundary", "development", "plan", "section")


def draw_panel(page: pymupdf.Page, layout: MapLayout, rng: np.random.Generator) -> None:
    """North arrow, legend, scale bar and title block in the column right of the frame."""
    x0, y0, x1, y1 = layout.panel_xyxy_pt
    _north_arrow(page, (x0 + x1) / 2, y0 + 30)
    y = _legend(page, layout.palette, x0, y0 + 70, x1)
    _scale_bar(page, rng, x0 + 6, min(y + 30, y1 - 150), x1 - 6)
    _title_block(page, rng, pymupdf.Rect(x0, y1 - 110, x1, y1))


def _north_arrow(page: pymupdf.Page, cx: float, cy: float) -> None:
    shape = page.new_shape()
    shape.draw_polyline([(cx, cy - 20), (cx + 8, cy + 12), (cx, cy + 5), (cx - 8, cy + 12),
                         (cx, cy - 20)])
    shape.finish(color=(0, 0, 0), fill=(0, 0, 0), width=0.8)
    shape.commit()
    page.insert_text((cx - 4, cy - 24), "N", fontsize=11, fontname="hebo")


def _legend(page: pymupdf.Page, palette: list[ZoneStyle], x0: float, y: float,
            x1: float) -> float:
    """One swatch + code + name per zone style; returns the y below the legend."""
    page.insert_text((x0 + 4, y), "Legend", fontsize=11, fontname="hebo")
    y += 10
    for style in palette:
        swatch = pymupdf.Rect(x0 + 6, y, x0 + 30, y + 12)
        page.draw_rect(swatch, color=None, fill=style.fill_rgb, width=0)
        if style.hatch is not None:
            draw_hatch(page, box(*swatch), style.hatch)
        page.draw_rect(swatch, color=(0, 0, 0), width=0.5)
        label = f"{style.code}  {style.name}"
        page.insert_text((x0 + 36, y + 9), label, fontsize=7, fontname="helv")
        y += 17
    page.draw_rect(pymupdf.Rect(x0 + 2, y - 17 * len(palette) - 22, x1 - 2, y + 2),
                   color=(0.3, 0.3, 0.3), width=0.5)
    return y


def _scale_bar(page: pymupdf.Page, rng: np.random.Generator, x0: float, y: float,
               x1: float) -> None:
    segments = 4
    step_m = int(rng.choice([25, 50, 100, 250]))
    seg_w = (x1 - x0 - 20) / segments
    for i in range(segments):
        rect = pymupdf.Rect(x0 + i * seg_w, y, x0 + (i + 1) * seg_w, y + 5)
        page.draw_rect(rect, color=(0, 0, 0), fill=(0, 0, 0) if i % 2 == 0 else (1, 1, 1),
                       width=0.5)
        page.insert_text((rect.x0 - 2, y + 14), str(i * step_m), fontsize=6)
    page.insert_text((x0 + segments * seg_w - 2, y + 14), f"{segments * step_m} m", fontsize=6)


def _title_block(page: pymupdf.Page, rng: np.random.Generator, rect: pymupdf.Rect) -> None:
    page.draw_rect(rect, color=(0, 0, 0), width=1.0)
    town = _TOWNS[int(rng.integers(len(_TOWNS)))]
    lines = [("ZONING PLAN", 12, "hebo"),
             (f"City of {town}", 9, "helv"),
             (f"Plan no. {int(rng.integers(1, 99)):02d}-{int(rng.integers(100, 999))}", 8,
              "helv"),
             (f"Scale 1:{int(rng.choice([1000, 2000, 2500, 5000]))}", 8, "helv"),
             (f"Adopted {int(rng.integers(1995, 2026))}-{int(rng.integers(1, 13)):02d}-"
              f"{int(rng.integers(1, 29)):02d}", 7, "helv")]
    y = rect.y0 + 18
    for text, size, font in lines:
        page.insert_text((rect.x0 + 8, y), text, fontsize=size, fontname=font)
        page.draw_line((rect.x0, y + 5), (rect.x1, y + 5), color=(0.5, 0.5, 0.5), width=0.3)
        y += size + 10


def draw_text_page(page: pymupdf.Page, rng: np.random.Generator) -> None:
    """A page of planning regulations: headings and paragraphs of real text, no zones."""
    margin = 60.0
    width = page.rect.width - 2 * margin
    y = margin
    page.insert_text((margin, y), "Textual provisions", fontsize=16, fontname="hebo")
    y += 30
    section = 1
    while y < page.rect.height - margin - 60:
        page.insert_text((margin, y), f"\u00a7 {section}", fontsize=11, fontname="hebo")
        words = rng.choice(_WORDS, size=int(rng.integers(40, 120)))
        para = pymupdf.Rect(margin, y + 6, margin + width, y + 130)
        spare = page.insert_textbox(para, " ".join(words).capitalize() + ".", fontsize=9,
                                    fontname="helv")
        y = para.y1 - max(spare, 0) + 22
        section += 1
