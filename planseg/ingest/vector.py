"""Zones from a page's own vector drawing: exact polygons in the PDF frame, no pixels, no torch.

Frames: zones and the map frame are returned in the *PDF frame* - the file's default user
space in points, y up (MediaBox coordinates), as in :mod:`planseg.ingest.render`; map them to
pixels with ``page_transforms(doc, page_index, dpi)[1]``. Internally everything is computed in
MuPDF's page space (unrotated page, y down; see :mod:`planseg.ingest.vector_paths`) and mapped
once at the end through the same matrices ``page_transforms`` uses.

The recipe (:func:`read_vector_page`):
1. read the drawing in painter's order (fills; thick opaque strokes as cutters; clips applied);
2. find the map frame (:func:`planseg.ingest.mapframe.map_frame`);
3. pick the candidate fills: opaque, not paper or ink coloured, not a legend swatch, not the frame's
   background; cut to the frame;
4. painter's order: every later opaque fill (any colour) and thick stroke cuts itself out of
   the earlier candidates it intersects (an STRtree query, not all pairs);
5. pieces of one colour that touch are one zone; slivers, small holes and symbols dropped;
6. page kind from the text layer and the zones' coverage; a text page has no zones.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
import shapely.affinity
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from planseg.ingest.documents import Document
from planseg.ingest.legend import read_drawn_legend
from planseg.ingest.legend_types import PageLegend
from planseg.ingest.legend_vector import VectorShapes
from planseg.ingest.mapframe import is_background, legend_swatches, map_frame, page_kind
from planseg.ingest.render import page_space_to_pdf, page_transforms
from planseg.ingest.vector_config import VectorConfig
from planseg.ingest.vector_paths import RGB, Drawing, Fill, read_drawing

log = logging.getLogger(__name__)

LAYER_MIN_ZONES = 3  # semi-transparent fills of a map without opaque zones: a zoning layer...
LAYER_MIN_COLOURS = 2  # ... when this many zones of this many colours, else a highlight


@dataclass(frozen=True)
class VectorZone:
    """One zone: ``geometry_pt`` (PDF frame, points, y up) is valid and keeps its holes."""

    geometry_pt: Polygon | MultiPolygon
    fill_rgb: tuple[int, int, int]  # the path's fill colour, 0..255
    layer: str | None  # optional-content layer (OCG) name of its largest piece, if any


@dataclass
class VectorPage:
    """What the vector reader found on one page (geometry in the PDF frame)."""

    zones: list[VectorZone]  # top-to-bottom, then left-to-right, of representative points
    frame_pt: Polygon  # the map frame; the whole (cropped) page where none was found
    coverage: float  # area of the zones / area of the frame, 0..1
    page_kind: str  # "map", "text" or "blank"
    paths: int  # drawings read (fills and strokes)
    fallback: str | None  # why the vector reading gave up (caller falls back to pixels)
    # the page's legend, read from the same pass over the drawing (read_drawn_legend); None
    # where it was not asked for, the page is not a map, the reading gave up, or it needs
    # the page's pixels
    legend: PageLegend | None = None


_ROUNDS = 4  # painter's-order cuts applied pairwise before falling back to unions


class _OverBudget(Exception):
    """The page's time budget ran out in the middle of the geometry."""


def read_vector_page(doc: Document, page_index: int, config: VectorConfig | None = None,
                     *, legend: bool = False) -> VectorPage:
    """Read the zones of page ``page_index`` (0-based) from its vector drawing, and with
    ``legend`` its legend in the same pass (``VectorPage.legend``; a caller that exports
    classes asks for it instead of reading the page again with ``read_legend``).

    Never raises for what is in the page: a broken content stream, a page over its budget
    (``config.max_paths``, ``config.max_seconds``) or a geometry failure gives a page without
    zones whose ``fallback`` says why. Image documents give no zones (``page_kind`` "map").
    """
    config = config or VectorConfig()
    deadline = time.perf_counter() + config.max_seconds
    page = doc.load_page(page_index)
    to_pdf = page_space_to_pdf(doc, page_index)
    page_rect = shapely.box(0.0, 0.0, page.cropbox.width, page.cropbox.height)
    try:
        shapes = VectorShapes() if legend else None
        drawing = read_drawing(page, config, deadline, shapes)
    except Exception as exc:  # MuPDF errors on a broken content stream
        return _given_up(page_rect, to_pdf, 0, f"drawing cannot be read ({_short(exc)})")
    if drawing.stopped is not None:
        return _given_up(page_rect, to_pdf, drawing.paths, drawing.stopped)
    frame = map_frame(drawing.frame_rects, page_rect, config, drawing.fills)
    words = page.get_text("words")  # once, for the page kind and the legend
    try:
        zones = find_zones(drawing, frame, config, deadline)
        kind = page_kind(page, drawing.paths, _coverage(zones, frame), config, words)
        if kind == "map" and not zones and config.transparent_zones is None:
            zones = transparent_layer(drawing, frame, config, deadline)
    except _OverBudget:
        return _given_up(frame, to_pdf, drawing.paths,
                         f"geometry took over {config.max_seconds:g} s (max_seconds)")
    except shapely.errors.GEOSException as exc:
        return _given_up(frame, to_pdf, drawing.paths, f"geometry failed ({_short(exc)})")
    coverage = _coverage(zones, frame)
    if kind != "map":
        zones, coverage = [], 0.0
    zones = [VectorZone(_to_pdf(z.geometry_pt, to_pdf), z.fill_rgb, z.layer) for z in zones]
    zones.sort(key=_reading_order)
    # a text or blank page has no polygons to classify: its legend is not read
    legend_read = None if shapes is None or kind != "map" else \
        read_drawn_legend(doc, page_index, shapes, words)
    return VectorPage(zones, _to_pdf(frame, to_pdf), coverage, kind, drawing.paths, None,
                      legend_read)


def zones_px(doc: Document, page_index: int, page: VectorPage,
             dpi: float) -> list[Polygon | MultiPolygon]:
    """``page``'s zone outlines in the full-page pixel frame at ``dpi``: the PDF points mapped
    by :func:`~planseg.ingest.render.page_transforms`' affine (no raster round trip)."""
    _, pdf_to_pixel = page_transforms(doc, page_index, dpi)
    (a, b, xoff), (d, e, yoff) = pdf_to_pixel[:2]
    return [shapely.affinity.affine_transform(zone.geometry_pt, [a, b, d, e, xoff, yoff])
            for zone in page.zones]


def fill_regions(doc: Document, page_index: int,
                 config: VectorConfig | None = None) -> list[tuple[RGB, BaseGeometry]]:
    """Every opaque fill of the page *before* painter's order - (fill_rgb, area painted, clips
    applied, PDF frame) in drawing order. For checks against other readers (GDAL's)."""
    config = config or VectorConfig()
    page = doc.load_page(page_index)
    drawing = read_drawing(page, config, time.perf_counter() + config.max_seconds)
    to_pdf = page_space_to_pdf(doc, page_index)
    return [(f.rgb, _to_pdf(f.geometry, to_pdf)) for f in drawing.fills if f.opaque]


def find_zones(drawing: Drawing, frame: Polygon, config: VectorConfig,
               deadline: float) -> list[VectorZone]:
    """Zones of ``drawing`` inside ``frame`` (page space; see the module's recipe 3-5);
    semi-transparent fills only with ``config.transparent_zones`` true."""
    return _zones(drawing, frame, config, deadline, bool(config.transparent_zones))


def transparent_layer(drawing: Drawing, frame: Polygon, config: VectorConfig,
                      deadline: float) -> list[VectorZone]:
    """For a map page whose opaque fills give no zones: its semi-transparent fills as zones
    when they look like a zoning layer drawn with opacity (a GIS layer's transparency, zones
    over an aerial photo) - at least :data:`LAYER_MIN_ZONES` zones of at least
    :data:`LAYER_MIN_COLOURS` colours - else none: one or two translucent shapes over a
    scan are a highlight (the plan's boundary), and the scan's pixels hold its zones."""
    if all(f.opaque for f in drawing.fills):
        return []
    zones = _zones(drawing, frame, config, deadline, True)
    if len(zones) < LAYER_MIN_ZONES or len({z.fill_rgb for z in zones}) < LAYER_MIN_COLOURS:
        return []
    return zones


def _zones(drawing: Drawing, frame: Polygon, config: VectorConfig, deadline: float,
           transparent: bool) -> list[VectorZone]:
    """:func:`find_zones` with semi-transparent fills as zones or not."""
    swatches = legend_swatches(drawing.fills, config)
    paper = {tuple(rgb) for rgb in config.non_zone_rgb}
    candidates = [f for f in drawing.fills if (f.opaque or transparent)
                  and f.rgb not in paper and f.order not in swatches
                  and not is_background(f, frame, config)]
    if not candidates:
        return []
    geometries = shapely.intersection(np.array([f.geometry for f in candidates]), frame)
    cutters = [f for f in drawing.fills if f.opaque]
    visible = occlude(geometries, np.array([f.order for f in candidates]),
                      [f.geometry for f in cutters] + drawing.cutter_geometries,
                      np.array([f.order for f in cutters] + drawing.cutter_orders), deadline)
    return merge_pieces(visible, candidates, config)


def occlude(geometries: np.ndarray, orders: np.ndarray, cutters: list[BaseGeometry],
            cutter_orders: np.ndarray, deadline: float) -> np.ndarray:
    """Each of ``geometries`` minus the ``cutters`` painted after it (higher order).

    Only the pairs an STRtree finds intersecting are cut, so the cost follows the overlaps
    actually drawn, not the square of the number of shapes. Raises :class:`_OverBudget`.
    """
    if not cutters:
        return geometries
    tree = shapely.STRtree(cutters)
    source, target = tree.query(geometries, predicate="intersects")
    later = cutter_orders[target] > orders[source]
    source, target = source[later], target[later]
    by_source = np.argsort(source, kind="stable")
    source, target = source[by_source], target[by_source]
    starts = np.flatnonzero(np.r_[True, source[1:] != source[:-1]]) if len(source) else \
        np.zeros(0, dtype=int)
    rank = np.arange(len(source)) - np.repeat(starts, np.diff(np.r_[starts, len(source)]))
    result = geometries.copy()
    cutter_array = np.array(cutters, dtype=object)
    # rounds: in round k every shape loses its k-th cutter, one vectorised call per round;
    # the few shapes with more than _ROUNDS cutters lose the union of the rest at once
    for k in range(_ROUNDS):
        if time.perf_counter() > deadline:
            raise _OverBudget
        now = rank == k
        result[source[now]] = shapely.difference(result[source[now]], cutter_array[target[now]])
    rest = rank >= _ROUNDS
    for n, index in enumerate(np.unique(source[rest])):
        if n % 256 == 0 and time.perf_counter() > deadline:
            raise _OverBudget
        cut = shapely.union_all(cutter_array[target[rest & (source == index)]])
        result[index] = shapely.difference(result[index], cut)
    return result


def merge_pieces(visible: np.ndarray, candidates: list[Fill],
                 config: VectorConfig) -> list[VectorZone]:
    """Touching pieces of one colour -> one zone; drops slivers, small holes and symbols."""
    parts, owners = shapely.get_parts(visible, return_index=True)
    keep = shapely.area(parts) >= config.min_piece_area_pt2
    parts, owners = _drop_small_holes(parts[keep], config.min_piece_area_pt2), owners[keep]
    groups: dict[RGB, list[int]] = defaultdict(list)
    for i, owner in enumerate(owners):
        groups[candidates[owner].rgb].append(i)
    areas = shapely.area(parts)
    zones = []
    for rgb, member_list in groups.items():
        members = np.asarray(member_list)
        for component in _touching_groups(parts[members]):
            indices = members[component]
            pieces = parts[indices]
            geometry = pieces[0] if len(pieces) == 1 else shapely.union_all(pieces)
            if geometry.area < config.min_zone_area_pt2:
                continue
            largest = indices[int(np.argmax(areas[indices]))]
            zones.append(VectorZone(_polygonal(geometry), rgb, candidates[owners[largest]].layer))
    return zones


def _touching_groups(pieces: np.ndarray) -> list[np.ndarray]:
    """Indices of ``pieces`` grouped into connected components of 'intersects' (union-find)."""
    parent = np.arange(len(pieces))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return int(i)

    if len(pieces) > 1:
        left, right = shapely.STRtree(pieces).query(pieces, predicate="intersects")
        for a, b in zip(left[left < right], right[left < right], strict=True):
            parent[root(a)] = root(b)
    roots = np.array([root(i) for i in range(len(pieces))])
    order = np.argsort(roots, kind="stable")
    return np.split(order, np.flatnonzero(np.diff(roots[order])) + 1)


def _drop_small_holes(parts: np.ndarray, floor: float) -> np.ndarray:
    holed = np.flatnonzero(shapely.get_num_interior_rings(parts) > 0)
    for i in holed:
        polygon = parts[i]
        holes = [ring for ring in polygon.interiors if Polygon(ring).area >= floor]
        if len(holes) != len(polygon.interiors):
            parts[i] = Polygon(polygon.exterior, holes)
    return parts


def _polygonal(geometry: BaseGeometry) -> Polygon | MultiPolygon:
    if geometry.geom_type in ("Polygon", "MultiPolygon"):
        return geometry  # type: ignore[return-value]
    return MultiPolygon([g for g in shapely.get_parts(geometry) if g.geom_type == "Polygon"])


def _to_pdf(geometry: Any, to_pdf: np.ndarray) -> Any:
    return shapely.transform(geometry, lambda xy: xy @ to_pdf[:2, :2].T + to_pdf[:2, 2])


def _coverage(zones: list[VectorZone], frame: Polygon) -> float:
    """The share of ``frame`` the zones cover (0..1)."""
    if not frame.area:
        return 0.0
    return min(1.0, sum(z.geometry_pt.area for z in zones) / frame.area)


def _reading_order(zone: VectorZone) -> tuple[float, float]:
    point = zone.geometry_pt.representative_point()
    return (-round(point.y, 3), round(point.x, 3))  # y up: top of the page first


def _given_up(frame: Polygon, to_pdf: np.ndarray, paths: int, reason: str) -> VectorPage:
    log.warning("vector zones given up: %s", reason)
    return VectorPage([], _to_pdf(frame, to_pdf), 0.0, "map", paths, reason)


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."
