"""Real PDF text on the map: zone codes (with a small regulation line) and road names.

Every text box is checked with shapely before it is written: zone labels stay inside their
zone (they are part of its mask), road names stay inside the road corridors (never on a zone).
Page frame: points, y down.
"""

from __future__ import annotations

import numpy as np
import pymupdf
import shapely
from shapely.geometry import Polygon
from shapely.ops import polylabel

from planseg.synth.layout import MapLayout, Zone

_CODE_FONT, _TEXT_FONT = "hebo", "helv"  # base-14 fonts: real text, nothing embedded
_RULES = ("GRZ 0.4", "GFZ 1.2", "II", "III o", "FAR 0.8", "H 12 m", "max. 3 storeys", "o")
_STREETS = ("Main Street", "Mill Road", "Oak Avenue", "Ringweg", "Kirchgasse",
            "Bahnhofstrasse", "Station Road", "Lindenallee", "Park Lane", "Elm Street")


def draw_zone_label(page: pymupdf.Page, zone: Zone, rng: np.random.Generator,
                    scale: float) -> None:
    """Zone code at the pole of inaccessibility; big zones get a regulation line below it."""
    centre = polylabel(zone.geometry, tolerance=1.0)
    radius = zone.geometry.boundary.distance(centre)
    fontsize = min(14.0 * scale, (radius - 2.0) / 0.85)
    if fontsize < 4.0:
        return  # too small to label legibly; the zone keeps its code in the ground truth
    inside = zone.geometry.buffer(-1.5 * scale)
    code_box = _centred_text(page, zone.style.code, _CODE_FONT, fontsize, centre.x, centre.y,
                             inside)
    if code_box is None or rng.random() < 0.4:
        return
    rule = _RULES[int(rng.integers(len(_RULES)))]
    _centred_text(page, rule, _TEXT_FONT, 0.6 * fontsize, centre.x, code_box[3] + 0.7 * fontsize,
                  inside)


def _centred_text(page: pymupdf.Page, text: str, font: str, fontsize: float, cx: float,
                  cy: float, inside: Polygon) -> tuple[float, float, float, float] | None:
    """Write ``text`` centred on (cx, cy) if its box lies in ``inside``; return the box."""
    width = pymupdf.get_text_length(text, fontname=font, fontsize=fontsize)
    baseline = cy + 0.35 * fontsize
    text_box = (cx - width / 2, baseline - 0.8 * fontsize, cx + width / 2,
                baseline + 0.25 * fontsize)
    if not inside.contains(shapely.box(*text_box)):
        return None
    page.insert_text((cx - width / 2, baseline), text, fontsize=fontsize, fontname=font,
                     color=(0, 0, 0))
    return text_box


def draw_road_names(page: pymupdf.Page, layout: MapLayout, rng: np.random.Generator) -> None:
    """A street name along the longest straight piece of each road, if it fits inside."""
    corridors = shapely.union_all(layout.roads).buffer(-0.8 * layout.scale)
    for line, half_width in zip(layout.road_lines, layout.road_half_widths_pt, strict=True):
        coords = np.asarray(line.coords)
        lengths = np.hypot(*np.diff(coords, axis=0).T)
        i = int(np.argmax(lengths))
        start, end = coords[i], coords[i + 1]
        if end[0] < start[0]:  # keep the text upright
            start, end = end, start
        name = _STREETS[int(rng.integers(len(_STREETS)))]
        _road_text(page, name, start, end, 1.1 * half_width, corridors)


def _road_text(page: pymupdf.Page, name: str, start: np.ndarray, end: np.ndarray,
               fontsize: float, corridors) -> None:
    direction = (end - start) / np.hypot(*(end - start))
    down = np.array([-direction[1], direction[0]])  # the text's "down" in a y-down frame
    length = pymupdf.get_text_length(name, fontname=_TEXT_FONT, fontsize=fontsize)
    origin = (start + end) / 2 - direction * length / 2 + down * 0.35 * fontsize
    corners = [origin + down * 0.25 * fontsize, origin + direction * length
               + down * 0.25 * fontsize, origin + direction * length - down * 0.8 * fontsize,
               origin - down * 0.8 * fontsize]
    if not corridors.contains(Polygon(corners)):
        return
    angle_deg = float(np.degrees(np.arctan2(direction[1], direction[0])))
    point = pymupdf.Point(*origin)
    # PyMuPDF's Matrix(deg) turns counter-clockwise on the page; our angle is y-down
    page.insert_text(point, name, fontsize=fontsize, fontname=_TEXT_FONT, color=(0.2, 0.2, 0.2),
                     morph=(point, pymupdf.Matrix(-angle_deg)))
