"""Draw a :class:`~planseg.synth.layout.MapLayout` as real PDF vector content with PyMuPDF.

Drawing order on the map (why it keeps the ground truth exact): map background (the road
colour) -> zone fills (a look may paint both differently: ``paint_zones``, e.g. a raster
image) -> hatches and patterns clipped to each zone -> a look's overlays
(``bplan``: parcels, buildings, envelopes) -> zone boundary strokes -> road centre lines (and
a look's street casings) -> zone codes and street names as real text (``labels``). Roads are
the gaps between zones (see ``layout``), so nothing but thin strokes (boundaries, patterns,
overlays; none as wide as the strokes the vector reader treats as cutters) and labels (inside
the zone, part of it) covers a fill.
Coordinates are the page frame (points, y down), which is what PyMuPDF's drawing API takes.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Protocol

import numpy as np
import pymupdf
import shapely
from shapely.geometry import MultiLineString, Polygon, box

from planseg.synth.labels import draw_road_names, draw_zone_label
from planseg.synth.layout import MapLayout, Zone
from planseg.synth.palette import Hatch, Pattern, ZoneStyle

RGB = tuple[float, float, float]


class MapOverlays(Protocol):
    """What a look changes on the classic map (``bplan.BplanLook``, ``handcolour``,
    ``ortho``); draws from its own random stream, so the classic drawing's draws stay the same.
    :class:`ClassicOverlays` is the classic drawing (nothing added)."""

    def paint_zones(self, page: pymupdf.Page, layout: MapLayout, road_rgb: RGB) -> None:
        """The map background and the zones' areas, under everything else."""

    def paint_swatch(self, page: pymupdf.Page, rect: pymupdf.Rect, style: ZoneStyle) -> None:
        """A legend swatch's area (its outline and label are the legend's)."""

    def over_zones(self, page: pymupdf.Page, layout: MapLayout) -> None:
        """Drawn over the fills and patterns, under the zone boundaries."""

    def over_roads(self, page: pymupdf.Page, layout: MapLayout) -> None:
        """Drawn after the road centre lines, before the labels."""

    def road_colour(self, rgb: RGB) -> RGB:
        """The look's colour of the map background (the roads) drawn ``rgb`` classically."""


class ClassicOverlays:
    """The classic map: flat vector fills on the road colour, flat swatches, no line work
    added. Looks subclass it and change what they draw differently."""

    def paint_zones(self, page: pymupdf.Page, layout: MapLayout, road_rgb: RGB) -> None:
        """The road colour over the frame, then each zone as one flat (even-odd) fill."""
        draw_flat_zones(page, layout, road_rgb)

    def paint_swatch(self, page: pymupdf.Page, rect: pymupdf.Rect, style: ZoneStyle) -> None:
        """The zone fill with its hatch or signature."""
        draw_swatch(page, rect, style)

    def over_zones(self, page: pymupdf.Page, layout: MapLayout) -> None:
        """Nothing."""

    def over_roads(self, page: pymupdf.Page, layout: MapLayout) -> None:
        """Nothing."""

    def road_colour(self, rgb: RGB) -> RGB:
        """``rgb`` unchanged."""
        return rgb


def add_polygon_path(shape: pymupdf.Shape, polygon: Polygon) -> None:
    """Append the exterior and every hole of ``polygon`` as closed sub-paths of ``shape``."""
    for ring in (polygon.exterior, *polygon.interiors):
        shape.draw_polyline([tuple(p) for p in np.asarray(ring.coords)])


def draw_map(page: pymupdf.Page, layout: MapLayout, rng: np.random.Generator,
             overlays: MapOverlays | None = None) -> None:
    """Draw the map frame contents: background, zones, hatches, boundaries, codes, frame
    (``overlays``: a look's painting and extra line work, see the module docstring for the
    order; None: the classic drawing)."""
    overlays = overlays or ClassicOverlays()
    road_rgb = overlays.road_colour(_road_colour(rng))
    overlays.paint_zones(page, layout, road_rgb)
    for zone in layout.zones:
        if zone.style.hatch is not None:
            draw_hatch(page, zone.geometry, zone.style.hatch)
        if zone.style.pattern is not None:
            draw_pattern(page, zone.geometry, zone.style.pattern)
    overlays.over_zones(page, layout)
    _draw_boundaries(page, layout.zones, rng, layout.scale)
    _draw_road_centrelines(page, layout, road_rgb)
    overlays.over_roads(page, layout)
    for zone in layout.zones:
        draw_zone_label(page, zone, rng, layout.scale)
    draw_road_names(page, layout, rng)
    frame = pymupdf.Rect(*layout.frame_xyxy_pt)
    page.draw_rect(frame, color=(0, 0, 0), width=1.5 * layout.scale)


def draw_flat_zones(page: pymupdf.Page, layout: MapLayout, road_rgb: RGB) -> None:
    """The classic zone painting: ``road_rgb`` over the map frame, then one flat even-odd
    vector fill per zone (what the vector reader and ``planseg label`` read)."""
    page.draw_rect(pymupdf.Rect(*layout.frame_xyxy_pt), color=None, fill=road_rgb, width=0)
    for zone in layout.zones:
        shape = page.new_shape()
        add_polygon_path(shape, zone.geometry)
        shape.finish(color=None, fill=zone.style.fill_rgb, even_odd=True, width=0)
        shape.commit()


def draw_swatch(page: pymupdf.Page, rect: pymupdf.Rect, style: ZoneStyle,
                fill_opacity: float = 1.0) -> None:
    """A flat legend swatch: the zone fill, its hatch (dense enough that a small swatch
    shows it) and its bplan signature (as dense as on the map)."""
    page.draw_rect(rect, color=None, fill=style.fill_rgb, width=0, fill_opacity=fill_opacity)
    if style.hatch is not None:
        spacing = min(style.hatch.spacing_pt, rect.height / 3)
        draw_hatch(page, box(*rect), replace(style.hatch, spacing_pt=spacing))
    if style.pattern is not None:
        draw_pattern(page, box(*rect), style.pattern)


def _road_colour(rng: np.random.Generator) -> RGB:
    options: list[RGB] = [(1.0, 1.0, 1.0), (0.93, 0.93, 0.93), (0.99, 0.96, 0.86)]
    return options[int(rng.integers(len(options)))]


def draw_hatch(page: pymupdf.Page, polygon: Polygon, hatch: Hatch) -> None:
    """Parallel lines at ``hatch.angle_deg`` clipped (with shapely) to the zone polygon."""
    cx, cy = polygon.centroid.x, polygon.centroid.y
    x0, y0, x1, y1 = polygon.bounds
    reach = float(np.hypot(x1 - x0, y1 - y0)) / 2 + hatch.spacing_pt
    theta = np.deg2rad(hatch.angle_deg)
    along, across = np.array([np.cos(theta), np.sin(theta)]), np.array(
        [-np.sin(theta), np.cos(theta)])
    offsets = np.arange(-reach, reach, hatch.spacing_pt)
    lines = [((cx, cy) + o * across - reach * along, (cx, cy) + o * across + reach * along)
             for o in offsets]
    clipped = MultiLineString([tuple(map(tuple, seg)) for seg in lines]).intersection(polygon)
    shape = page.new_shape()
    for line in getattr(clipped, "geoms", [clipped]):
        if line.geom_type == "LineString" and not line.is_empty:
            shape.draw_polyline([tuple(p) for p in line.coords])
    shape.finish(color=hatch.rgb, width=hatch.width_pt, closePath=False)
    shape.commit()


def draw_pattern(page: pymupdf.Page, polygon: Polygon, pattern: Pattern) -> None:
    """A bplan signature clipped to ``polygon``: hatch, cross-hatch, or a staggered dot grid
    (each dot a round-capped stroke a third of its diameter long: strokes, never fills)."""
    if pattern.kind in ("hatch", "cross"):
        for angle in (0.0, 90.0)[: 1 + (pattern.kind == "cross")]:
            draw_hatch(page, polygon, Hatch(pattern.angle_deg + angle, pattern.spacing_pt,
                                            pattern.size_pt, pattern.rgb))
        return
    x0, y0, x1, y1 = polygon.bounds
    row_pitch = pattern.spacing_pt * np.sqrt(3) / 2
    rows = np.arange(y0 + row_pitch / 2, y1, row_pitch)
    xs, ys = [], []
    for i, y in enumerate(rows):  # every other row shifted by half a pitch
        cols = np.arange(x0 + (i % 2 + 0.5) * pattern.spacing_pt / 2, x1, pattern.spacing_pt)
        xs.append(cols)
        ys.append(np.full(cols.size, y))
    if not xs:
        return
    x, y = np.concatenate(xs), np.concatenate(ys)
    keep = shapely.contains_xy(polygon.buffer(-pattern.size_pt), x, y)
    if not keep.any():
        return
    half = pattern.size_pt / 6
    shape = page.new_shape()
    for cx, cy in zip(x[keep], y[keep], strict=True):
        shape.draw_line((cx - half, cy), (cx + half, cy))
    shape.finish(color=pattern.rgb, width=pattern.size_pt, lineCap=1, closePath=False)
    shape.commit()


def _draw_boundaries(page: pymupdf.Page, zones: list[Zone], rng: np.random.Generator,
                     scale: float) -> None:
    """Stroke every zone outline once (a dark line centred on the zone edge)."""
    width = float(rng.uniform(0.5, 1.2)) * scale
    grey = float(rng.uniform(0.0, 0.3))
    dashes = "[4 2] 0" if rng.random() < 0.2 else None
    shape = page.new_shape()
    for zone in zones:
        add_polygon_path(shape, zone.geometry)
    shape.finish(color=(grey, grey, grey), width=width, dashes=dashes, lineJoin=1,
                 closePath=False)
    shape.commit()


def _draw_road_centrelines(page: pymupdf.Page, layout: MapLayout, road_rgb: RGB) -> None:
    """A thin dashed centre line in each road: decoration inside the gaps, never on a zone."""
    if not layout.road_lines:
        return
    shape = page.new_shape()
    for line in layout.road_lines:
        shape.draw_polyline([tuple(p) for p in line.coords])
    dark = tuple(c * 0.6 for c in road_rgb)
    shape.finish(color=dark, width=0.4, dashes="[6 4] 0", closePath=False)
    shape.commit()
