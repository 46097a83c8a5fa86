"""Geometry of one synthetic zoning map: a planar partition of the map frame into zones.

All geometry is in the *page frame*: points, origin at the top-left corner of the displayed
page, y down (PyMuPDF's page coordinates), so ``pixel = point * dpi / 72``.

How the partition is built (and why the ground truth stays exact):
1. Voronoi cells of random seeds (one Lloyd step for even sizes), clipped to the map frame.
2. A few neighbouring cells are merged -> non-convex zones.
3. Roads (buffered polylines crossing the frame) are *cut out* of the zones: roads are gaps
   between zones, never drawn over them, so a zone's mask is exactly its drawn fill.
4. A few small zones are placed strictly inside bigger ones; the outer zone gets a hole.
Zones never overlap; together with the roads they tile the frame (minus dropped slivers,
which show the map background and belong to no zone).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from shapely import affinity
from shapely.geometry import LineString, MultiPoint, Point, Polygon, box
from shapely.geometry.polygon import orient

from planseg.synth.palette import ZoneStyle

MIN_ZONES, MAX_ZONES = 8, 30
_MIN_AREA_FRACTION = 0.003  # zones smaller than this share of the frame are dropped


@dataclass
class Zone:
    """One annotated zone: its code/style and its polygon (page frame, points, y down)."""

    style: ZoneStyle
    geometry: Polygon  # valid, exterior counter-clockwise in y-up terms, may have holes


@dataclass
class MapLayout:
    """Everything drawn on a map page, in the page frame (points, y down)."""

    page_size_pt: tuple[float, float]  # (width, height)
    frame_xyxy_pt: tuple[float, float, float, float]  # map frame
    panel_xyxy_pt: tuple[float, float, float, float]  # legend / title column right of it
    zones: list[Zone]
    roads: list[Polygon]  # road corridors clipped to the frame (not zones)
    road_lines: list[LineString]  # their centre lines, inside the corridors
    road_half_widths_pt: list[float]  # corridor half width of each centre line
    palette: list[ZoneStyle]
    scale: float  # drawing scale of lines and type: 1 on A3, ~1.4 on A2, ~0.7 on A4


def make_map_layout(rng: np.random.Generator, page_size_pt: tuple[float, float],
                    palette: list[ZoneStyle]) -> MapLayout:
    """Lay out a landscape map page: frame, zones (8-30), roads, panel."""
    width, height = page_size_pt
    margin = 0.025 * min(width, height)
    panel_w = 0.22 * width
    frame = (margin, margin, width - panel_w - 2 * margin, height - margin)
    panel = (width - panel_w - margin, margin, width - margin, height - margin)
    frame_poly = box(*frame)
    scale = min(width, height) / 842.0
    for _ in range(50):
        roads, road_lines, half_widths = _roads(rng, frame_poly, scale)
        polygons = _partition(rng, frame_poly, roads, scale)
        if MIN_ZONES <= len(polygons) <= MAX_ZONES:
            break
    else:  # pragma: no cover - the seed counts make this practically unreachable
        raise RuntimeError("could not draw a zone partition with 8-30 zones")
    zones = _assign_codes(rng, polygons, palette)
    return MapLayout(page_size_pt, frame, panel, zones, roads, road_lines, half_widths,
                     palette, scale)


def _partition(rng: np.random.Generator, frame: Polygon, roads: list[Polygon],
               scale: float) -> list[Polygon]:
    # bigger sheets show more zones (A4 7-12 seeds, A3 7-17, A2 10-24)
    seeds = int(rng.integers(max(7, round(7 * scale)), round(17 * scale) + 1))
    cells = _voronoi_cells(rng, frame, seeds)
    cells = _merge_neighbours(rng, cells, int(rng.integers(1, max(2, len(cells) // 4) + 1)))
    road_area = shapely.union_all(roads) if roads else Polygon()
    min_area = _MIN_AREA_FRACTION * frame.area
    parts = []
    for cell in cells:
        parts += [p for p in _polygons(cell.difference(road_area)) if p.area >= min_area]
    holes = int(rng.integers(1, 4))
    parts = sorted(parts, key=lambda p: -p.area)[:MAX_ZONES - holes]
    parts = _punch_holes(rng, parts, holes, min_area)
    return [orient(p, 1.0) for p in parts]


def _voronoi_cells(rng: np.random.Generator, frame: Polygon, n: int) -> list[Polygon]:
    x0, y0, x1, y1 = frame.bounds
    points = rng.uniform((x0, y0), (x1, y1), size=(n, 2))
    for _ in range(2):  # Lloyd relaxation: fewer needle-thin cells
        cells = _clipped_voronoi(points, frame)
        points = np.array([[c.centroid.x, c.centroid.y] for c in cells])
    cells = _clipped_voronoi(points, frame)
    return sorted(cells, key=lambda c: (round(c.centroid.y, 6), round(c.centroid.x, 6)))


def _clipped_voronoi(points: np.ndarray, frame: Polygon) -> list[Polygon]:
    diagram = shapely.voronoi_polygons(MultiPoint(points), extend_to=frame)
    cells = [frame.intersection(g) for g in diagram.geoms]
    return [p for c in cells for p in _polygons(c)]


def _merge_neighbours(rng: np.random.Generator, cells: list[Polygon], merges: int,
                      ) -> list[Polygon]:
    cells = list(cells)
    for _ in range(merges):
        if len(cells) <= MIN_ZONES:
            break
        i = int(rng.integers(len(cells)))
        shared = [(cells[i].boundary.intersection(c.boundary).length, j)
                  for j, c in enumerate(cells) if j != i]
        length, j = max(shared)
        if length < 1.0:
            continue
        merged = shapely.union(cells[i], cells[j])
        if merged.geom_type != "Polygon":
            continue
        cells = [c for k, c in enumerate(cells) if k not in (i, j)] + [merged]
    return cells


def _roads(rng: np.random.Generator, frame: Polygon, scale: float,
           ) -> tuple[list[Polygon], list[LineString], list[float]]:
    """1-3 road corridors (mitred buffers of bent polylines) crossing the whole frame."""
    x0, y0, x1, y1 = frame.bounds
    roads, lines, half_widths = [], [], []
    for _ in range(int(rng.integers(1, 4))):
        horizontal = rng.random() < 0.5
        ts = np.sort(rng.uniform(0.15, 0.85, size=int(rng.integers(0, 3))))
        along = np.concatenate([[-0.05], ts, [1.05]])
        across = rng.uniform(0.15, 0.85) + np.cumsum(rng.normal(0, 0.08, size=along.size))
        if horizontal:
            coords = np.c_[x0 + along * (x1 - x0), y0 + across * (y1 - y0)]
        else:
            coords = np.c_[x0 + across * (x1 - x0), y0 + along * (y1 - y0)]
        centre = LineString(coords)
        half_width = float(rng.uniform(4.0, 9.0)) * scale
        corridor = centre.buffer(half_width, cap_style="flat",
                                 join_style="mitre")
        roads += _polygons(corridor.intersection(frame))
        clipped = centre.intersection(frame.buffer(-1.0))
        for part in getattr(clipped, "geoms", [clipped]):
            if part.geom_type == "LineString" and not part.is_empty:
                lines.append(part)
                half_widths.append(half_width)
    return roads, lines, half_widths


def _punch_holes(rng: np.random.Generator, parts: list[Polygon], count: int,
                 min_area: float) -> list[Polygon]:
    """Place ``count`` small zones strictly inside larger ones (the outer zone gets a hole)."""
    parts = sorted(parts, key=lambda p: -p.area)
    for _ in range(count):
        host_index = int(rng.integers(min(4, len(parts))))
        inner = _blob_inside(rng, parts[host_index], min_area)
        if inner is None:
            continue
        parts[host_index] = parts[host_index].difference(inner)
        parts.append(inner)
    return parts


def _blob_inside(rng: np.random.Generator, host: Polygon, min_area: float) -> Polygon | None:
    radius = float(np.sqrt(max(min_area, 0.06 * host.area) / np.pi))
    core = host.buffer(-(radius * 1.3 + 4.0))
    if core.is_empty:
        return None
    x0, y0, x1, y1 = core.bounds
    for _ in range(30):
        centre = Point(rng.uniform(x0, x1), rng.uniform(y0, y1))
        if core.contains(centre):
            break
    else:
        return None
    if rng.random() < 0.5:  # star-shaped, often non-convex
        angles = np.sort(rng.uniform(0, 2 * np.pi, size=int(rng.integers(7, 13))))
        radii = radius * rng.uniform(0.6, 1.2, size=angles.size)
        blob = Polygon(np.c_[centre.x + radii * np.cos(angles), centre.y + radii * np.sin(angles)])
    else:  # a rotated rectangle, like a school or a park block
        half_w, half_h = radius * rng.uniform(0.7, 1.2, size=2)
        blob = affinity.rotate(
            box(centre.x - half_w, centre.y - half_h, centre.x + half_w, centre.y + half_h),
            float(rng.uniform(0, 90)))
    blob = blob.buffer(0)
    if blob.geom_type != "Polygon" or not blob.buffer(2.0).within(host):
        return None
    return blob


def _assign_codes(rng: np.random.Generator, polygons: list[Polygon],
                  palette: list[ZoneStyle]) -> list[Zone]:
    """Random codes, avoiding (where the palette allows) the code of a touching zone."""
    zones: list[Zone] = []
    for polygon in polygons:
        taken = {z.style.code for z in zones if z.geometry.distance(polygon) < 1e-6}
        free = [s for s in palette if s.code not in taken] or palette
        style = free[int(rng.integers(len(free)))]
        zones.append(Zone(style, polygon))
    return zones


def _polygons(geometry) -> list[Polygon]:
    """The non-empty polygons of any (multi)geometry."""
    if geometry.is_empty:
        return []
    if geometry.geom_type == "Polygon":
        return [geometry]
    return [g for g in getattr(geometry, "geoms", []) if g.geom_type == "Polygon"
            and not g.is_empty]
