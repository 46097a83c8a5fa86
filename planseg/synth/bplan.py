"""The ``bplan`` look: a German Bebauungsplan (PlanZV) drawing of the same zone layout.

What makes it a different domain from the classic look, as in real Bebauungspläne:
- pale (pastel) zone tints, each class with a dense signature drawn over the tint in a darker
  tone of the class colour: fine hatch, cross-hatch or a dot grid (``Pattern``);
- a thin cadastral parcel grid over every zone, with outlines of existing buildings;
- thick blue dash-dot building envelopes (Baugrenzen) inset in the larger zones, lines that
  cross no zone edge but split a zone visually;
- street casings: a firm line on each road edge and a thin second line inside the road.

The ``lineplan`` look is its black-and-white print: white zones told apart by black
signatures alone, black line work. It has no vector zones (a white fill is paper to the
vector reader) and no colours: the colour regions find nothing, SAM is all there is.

Everything is line work (strokes thinner than the vector reader's cutting strokes) over the
zone fills, so each zone is still one vector fill and ``planseg label`` reads it exactly; the
legend swatches carry the same tint and signature. All draws come from the look's own random
stream (spawned from the document's), so the classic look's draws are untouched. Page
frame: points, y down.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pymupdf
import shapely
from shapely import affinity
from shapely.geometry import MultiPoint, Polygon

from planseg.synth.draw import ClassicOverlays, add_polygon_path
from planseg.synth.layout import MapLayout
from planseg.synth.palette import RGB, Pattern, ZoneStyle

_MAX_STROKE_PT = 2.3  # below VectorConfig.cut_stroke_min_width_pt (2.5): strokes never cut
_ENVELOPE_BLUE: RGB = (0.12, 0.25, 0.78)
_CASING_COLOURS: tuple[RGB, ...] = ((0.10, 0.50, 0.20), (0.0, 0.0, 0.0), (0.35, 0.35, 0.35))
_PARCEL_PT = 34.0  # typical parcel side at A3 scale (points)


def bplan_palette(rng: np.random.Generator, palette: list[ZoneStyle], *,
                  mono: bool = False) -> list[ZoneStyle]:
    """The classic palette as a Bebauungsplan draws it: each colour mixed towards white and
    (for most classes) a dense signature in a dark tone of the class colour. ``mono`` (the
    ``lineplan`` look): a black-and-white print of it, every zone white under a black
    signature (hatch where the colour print had none): classes differ by signature alone."""
    out = []
    for style in palette:
        tint = float(rng.uniform(0.45, 0.7))  # share of white in the pastel
        fill = tuple(float(c + (1 - c) * tint) for c in style.fill_rgb)
        pattern = _pattern(rng, style.fill_rgb)
        if mono:
            fill = (1.0, 1.0, 1.0)
            pattern = replace(pattern, rgb=(0.0, 0.0, 0.0)) if pattern is not None else (
                Pattern("hatch", float(rng.choice([45.0, -45.0, 0.0, 90.0])),
                        float(rng.uniform(2.0, 4.0)), 0.35, (0.0, 0.0, 0.0)))
        out.append(replace(style, fill_rgb=fill, hatch=None,  # type: ignore[arg-type]
                           pattern=pattern))
    return out


def _pattern(rng: np.random.Generator, base: RGB) -> Pattern | None:
    kind = ("hatch", "cross", "dots", None)[int(rng.choice(4, p=[0.35, 0.2, 0.3, 0.15]))]
    if kind is None:
        return None
    dark = tuple(float(c * rng.uniform(0.35, 0.6)) for c in base)
    angle = float(rng.choice([45.0, -45.0, 30.0, 60.0, 0.0, 90.0]))
    if kind == "dots":
        return Pattern("dots", 0.0, float(rng.uniform(2.5, 4.5)), float(rng.uniform(0.7, 1.3)),
                       dark)  # type: ignore[arg-type]
    return Pattern(kind, angle, float(rng.uniform(1.8, 3.5)),  # type: ignore[arg-type]
                   float(rng.uniform(0.25, 0.5)), dark)


class BplanLook(ClassicOverlays):
    """The look's line work for one map (:class:`planseg.synth.draw.MapOverlays`); zones and
    swatches are the classic flat fills."""

    def __init__(self, rng: np.random.Generator, *, mono: bool = False) -> None:
        self.rng = rng
        self.mono = mono  # the lineplan look: every line black

    def over_zones(self, page: pymupdf.Page, layout: MapLayout) -> None:
        """Parcels and existing buildings (maybe), then building envelopes."""
        if self.rng.random() < 0.85:
            parcels = parcel_cells(self.rng, layout)
            zones_area = shapely.union_all([z.geometry for z in layout.zones])
            edges = shapely.union_all([p.boundary for p in parcels])
            stroke_lines(page, shapely.intersection(edges, zones_area), (0.3, 0.3, 0.3),
                         float(self.rng.uniform(0.25, 0.45)) * layout.scale)
            # each zone shrunk on its own: a building inside the union crosses no zone edge
            cores = shapely.union_all([z.geometry.buffer(-1.5) for z in layout.zones])
            _buildings(page, self.rng, parcels, cores, layout.scale)
        _envelopes(page, self.rng, layout, (0.0, 0.0, 0.0) if self.mono else _ENVELOPE_BLUE)

    def road_colour(self, rgb: RGB) -> RGB:
        """The classic road colour; its grey in the black-and-white print."""
        grey = float(np.mean(rgb))
        return (grey, grey, grey) if self.mono else rgb

    def over_roads(self, page: pymupdf.Page, layout: MapLayout) -> None:
        """Street casings: a firm line on the road edge, a thin one just inside the road."""
        if not layout.roads:
            return
        roads = shapely.union_all(layout.roads)
        inside = shapely.box(*layout.frame_xyxy_pt).buffer(-0.5)
        colour = _CASING_COLOURS[int(self.rng.integers(len(_CASING_COLOURS)))]
        colour = (0.0, 0.0, 0.0) if self.mono else colour
        k = layout.scale
        firm = min(_MAX_STROKE_PT, float(self.rng.uniform(0.9, 1.6)) * k)
        stroke_lines(page, shapely.intersection(roads.boundary, inside), colour, firm)
        offset = float(self.rng.uniform(1.5, 2.8)) * k
        stroke_lines(page, shapely.intersection(roads.buffer(-offset).boundary, inside),
                     (0.2, 0.2, 0.2), 0.35 * k)


def parcel_cells(rng: np.random.Generator, layout: MapLayout) -> list[Polygon]:
    """Voronoi cells of seeds squeezed along one direction (long narrow plots), clipped to
    the frame."""
    frame = shapely.box(*layout.frame_xyxy_pt)
    side = _PARCEL_PT * layout.scale * float(rng.uniform(0.8, 1.3))
    count = int(frame.area / side**2)
    x0, y0, x1, y1 = frame.bounds
    points = rng.uniform((x0, y0), (x1, y1), size=(count, 2))
    cells = shapely.voronoi_polygons(MultiPoint(points), extend_to=frame)
    return [c for c in (frame.intersection(g) for g in cells.geoms)
            if c.geom_type == "Polygon" and not c.is_empty]


def _buildings(page: pymupdf.Page, rng: np.random.Generator, parcels: list[Polygon],
               cores, scale: float) -> None:
    """Outlines of existing buildings: a shrunk rotated rectangle in some parcels."""
    shape = page.new_shape()
    drawn = 0
    for parcel in parcels:
        if rng.random() > 0.45:
            continue
        rect = parcel.minimum_rotated_rectangle
        house = affinity.scale(rect, *rng.uniform(0.35, 0.6, size=2))
        if house.geom_type != "Polygon" or not house.within(cores):
            continue
        add_polygon_path(shape, house)
        drawn += 1
    if drawn:
        shape.finish(color=(0.15, 0.15, 0.15), width=0.5 * scale, closePath=False)
        shape.commit()


def _envelopes(page: pymupdf.Page, rng: np.random.Generator, layout: MapLayout,
               colour: RGB) -> None:
    """Baugrenzen: a thick (blue) dash-dot line inset in most larger zones."""
    k = layout.scale
    width = min(_MAX_STROKE_PT, float(rng.uniform(1.3, 1.9)) * k)
    shape = page.new_shape()
    drawn = 0
    for zone in layout.zones:
        if zone.geometry.area < 2500 * k * k or rng.random() > 0.75:
            continue
        inset = zone.geometry.buffer(-float(rng.uniform(5.0, 12.0)) * k, join_style="mitre")
        parts = [p for p in getattr(inset, "geoms", [inset]) if p.geom_type == "Polygon"]
        if not parts:
            continue
        largest = max(parts, key=lambda p: p.area).simplify(1.0)
        if largest.area < 400 * k * k:
            continue
        add_polygon_path(shape, Polygon(largest.exterior))
        drawn += 1
    if drawn:
        shape.finish(color=colour, width=width, dashes=f"[{8 * k:g} {2 * k:g} "
                     f"{1.5 * k:g} {2 * k:g}] 0", closePath=False)
        shape.commit()


def stroke_lines(page: pymupdf.Page, lines, rgb: RGB, width_pt: float) -> None:
    """Stroke every line piece of a (multi)line geometry as one path."""
    pieces = [g for g in getattr(lines, "geoms", [lines])
              if g.geom_type in ("LineString", "LinearRing") and not g.is_empty]
    pieces += [h for g in getattr(lines, "geoms", []) if g.geom_type == "MultiLineString"
               for h in g.geoms]
    if not pieces:
        return
    shape = page.new_shape()
    for line in pieces:
        shape.draw_polyline([tuple(p) for p in np.asarray(line.coords)])
    shape.finish(color=rgb, width=width_pt, closePath=False)
    shape.commit()
