"""A page's vector drawing -> painted shapes in painter's order (shapely, no torch).

Frame: everything here is in MuPDF's *page space* - points of the unrotated page, origin at
the CropBox's top-left corner, y down - which is what ``page.get_cdrawings()`` reports;
:mod:`planseg.ingest.vector` maps results to the PDF frame at the end.

Each drawing MuPDF reports becomes at most two shapes, in the order it was painted: its fill
(a :class:`Fill`, every fill is kept, opaque or not) and, for an opaque solid stroke at least
``cut_stroke_min_width_pt`` wide, a *cutter* (the stroke's outline, buffered by half its width).
Thin strokes are dropped as they are read, so memory grows with fills, not with line work.
Clip paths (``extended=True``) are intersected into what they clip; a transparency group with
opacity < 1 makes its content semi-transparent.
"""

from __future__ import annotations

import functools
import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from planseg.ingest.legend_vector import VectorShapes, gc_paused
from planseg.ingest.vector_config import VectorConfig

log = logging.getLogger(__name__)

RGB = tuple[int, int, int]
_CAPS = {0: "flat", 1: "round", 2: "square"}
_JOINS = {0: "mitre", 1: "round", 2: "bevel"}
_MAX_CURVE_STEPS = 256  # Wang's formula bound; a hostile curve cannot blow up the point count


@dataclass
class Fill:
    """One filled path; ``order`` is its painter's position (2 x drawing index; a stroke of
    the same drawing is painted at ``order + 1``). ``geometry`` is valid, page space."""

    order: int
    geometry: BaseGeometry
    rgb: RGB
    layer: str | None
    opaque: bool
    is_rect: bool  # an axis-aligned rectangle: frame and legend-swatch candidate


@dataclass
class Drawing:
    """What :func:`read_drawing` kept of a page (page space)."""

    fills: list[Fill] = field(default_factory=list)
    cutter_orders: list[int] = field(default_factory=list)  # thick opaque strokes
    cutter_geometries: list[BaseGeometry] = field(default_factory=list)
    frame_rects: list[tuple[float, float, float, float]] = field(default_factory=list)  # xyxy
    paths: int = 0  # drawings MuPDF reported (fills, strokes; not clips or groups)
    skipped: int = 0  # paths with NaN/huge coordinates or no area
    stopped: str | None = None  # why reading stopped early (a budget), None if it did not


def read_drawing(page: Any, config: VectorConfig, deadline: float,
                 shapes: VectorShapes | None = None) -> Drawing:
    """Read ``page`` (a :class:`pymupdf.Page`) into a :class:`Drawing`, in painter's order.

    Stops keeping shapes once ``config.max_paths`` drawings were seen or ``deadline``
    (``time.perf_counter()`` value) passed, and says so in ``Drawing.stopped``; MuPDF still
    interprets the rest of the page, but nothing more is stored. Raises what MuPDF raises for
    a broken content stream. ``shapes``: the legend's swatch collector, fed every path in the
    same pass (:meth:`VectorShapes.take` from the reader's own callback: a second callback
    cost a Python call and the same dict lookups again for each of 25,000 paths).
    """
    reader = _Reader(config, deadline, shapes)
    # a callback instead of the returned list: each path is reduced (or dropped) as it comes,
    # and it is faster. The callback must never raise: an exception inside it crashes MuPDF.
    with gc_paused():  # nothing read here holds a cycle; see gc_paused
        page.get_cdrawings(extended=True, callback=reader)
    return reader.drawing


class _Reader:
    """The ``get_cdrawings`` callback: keeps a stack of clips/groups and the shapes."""

    def __init__(self, config: VectorConfig, deadline: float,
                 shapes: VectorShapes | None = None) -> None:
        self.config = config
        self.shapes = shapes
        self.deadline = deadline
        self.drawing = Drawing()
        self.stack: list[tuple[int, BaseGeometry | None, bool]] = []  # level, clip, opaque

    def __call__(self, item: dict) -> None:
        try:
            self._take(item)
        except Exception as exc:  # never let an exception into MuPDF (see read_drawing)
            self.drawing.skipped += 1
            log.debug("drawing skipped (%s: %s)", type(exc).__name__, exc)

    def _take(self, item: dict) -> None:
        drawing = self.drawing
        level = int(item.get("level", 0))
        while self.stack and self.stack[-1][0] >= level:
            self.stack.pop()
        kind = item["type"]
        if kind in ("clip", "group"):
            self._push(item, level, kind)
            return
        if self.shapes is not None:
            self.shapes.take(item, kind)  # never raises
        drawing.paths += 1
        if drawing.stopped is not None:
            return
        if drawing.paths > self.config.max_paths:
            drawing.stopped = f"more than {self.config.max_paths} drawings (max_paths)"
        elif drawing.paths % 1000 == 0 and time.perf_counter() > self.deadline:
            drawing.stopped = f"reading took over {self.config.max_seconds:g} s (max_seconds)"
        else:
            self._paint(item, kind)

    def _push(self, item: dict, level: int, kind: str) -> None:
        clip, opaque = (self.stack[-1][1], self.stack[-1][2]) if self.stack else (None, True)
        if kind == "group":
            opaque = opaque and float(item.get("opacity", 1.0)) >= 1.0
        else:
            rings = path_rings(item["items"], self.config)
            own = fill_geometry(rings, bool(item.get("even_odd")), self.config)
            if _is_rect_item(item["items"]):
                self.drawing.frame_rects.append(tuple(item["items"][0][1]))
            if own is None:
                own = shapely.Polygon()  # a degenerate clip shows nothing
            clip = own if clip is None else shapely.intersection(clip, own)
        self.stack.append((level, clip, opaque))

    def _paint(self, item: dict, kind: str) -> None:
        clip, opaque = (self.stack[-1][1], self.stack[-1][2]) if self.stack else (None, True)
        order = 2 * self.drawing.paths
        fills = "f" in kind and item.get("fill") is not None
        cuts = "s" in kind and self._cuts(item, opaque)
        if "s" in kind and _is_rect_item(item["items"]):
            self.drawing.frame_rects.append(tuple(item["items"][0][1]))
        if not (fills or cuts):
            return  # thin line work: never turned into geometry (most of a map's drawings)
        rings = path_rings(item["items"], self.config)
        if rings is None:
            self.drawing.skipped += 1
            return
        if fills:
            self._add_fill(item, rings, clip, opaque, order)
        if cuts:
            geometry = stroke_geometry(rings, item, float(item["width"]))
            if clip is not None:
                geometry = shapely.intersection(geometry, clip)
            if not geometry.is_empty:
                self.drawing.cutter_orders.append(order + 1)
                self.drawing.cutter_geometries.append(geometry)

    def _add_fill(self, item: dict, rings: list[np.ndarray], clip: BaseGeometry | None,
                  opaque: bool, order: int) -> None:
        if _is_rect_item(item["items"]):  # fast path: most fills of a big page are rectangles
            x0, y0, x1, y1 = item["items"][0][1]
            geometry = shapely.box(x0, y0, x1, y1) if x0 != x1 and y0 != y1 else None
        else:
            geometry = fill_geometry(rings, bool(item.get("even_odd")), self.config)
        if geometry is None:
            self.drawing.skipped += 1
            return
        is_rect = _is_rect_item(item["items"]) or _is_rect_geometry(geometry)
        if clip is not None and not shapely.contains(clip, geometry):
            geometry = shapely.intersection(geometry, clip)
        if geometry.is_empty:
            return
        rgb = tuple(int(round(255 * min(max(float(c), 0.0), 1.0))) for c in item["fill"])
        if len(rgb) != 3:  # MuPDF converts to RGB; anything else is not a colour we know
            return
        opaque = opaque and float(item.get("fill_opacity") or 1.0) >= 1.0
        if is_rect:
            self.drawing.frame_rects.append(geometry.bounds)
        self.drawing.fills.append(Fill(order, geometry, rgb, item.get("layer") or None,  # type: ignore[arg-type]
                                       opaque, is_rect))

    def _cuts(self, item: dict, opaque: bool) -> bool:
        width = float(item.get("width") or 0.0)
        solid = str(item.get("dashes", "[] 0")).replace(" ", "").startswith("[]")
        return (opaque and solid and width >= self.config.cut_stroke_min_width_pt
                and float(item.get("stroke_opacity") or 1.0) >= 1.0 and math.isfinite(width))


def path_rings(items: list[tuple], config: VectorConfig) -> list[np.ndarray] | None:
    """The sub-paths of a path as (N, 2) float64 point arrays (page space), Béziers
    flattened; a new sub-path starts where the pen jumps and at every rect and quad.
    None when a coordinate is NaN or beyond ``config.max_coordinate_pt``."""
    rings: list[np.ndarray] = []
    current: list[Any] = []
    for item in items:
        op = item[0]
        if op in ("re", "qu"):
            rings.append(_box_ring(item))
            continue
        start = item[1]
        if not current or current[-1] != tuple(start):
            _flush(current, rings)
            current = [tuple(start)]
        if op == "l":
            current.append(tuple(item[2]))
        elif op == "c":
            current.extend(map(tuple, flatten_cubic(np.array(item[1:5], dtype=float),
                                                    config.bezier_tolerance_pt)[1:]))
    _flush(current, rings)
    for ring in rings:
        if not np.isfinite(ring).all() or np.abs(ring).max() > config.max_coordinate_pt:
            return None
    return rings


def _flush(points: list[Any], rings: list[np.ndarray]) -> None:
    if len(points) >= 2:
        rings.append(np.array(points, dtype=float))


def _box_ring(item: tuple) -> np.ndarray:
    if item[0] == "re":
        x0, y0, x1, y1 = item[1]
        ring = np.array([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], dtype=float)
        return ring if len(item) < 3 or item[2] >= 0 else ring[::-1]
    ul, ur, ll, lr = item[1]  # MuPDF's quad order
    return np.array([ul, ur, lr, ll], dtype=float)


def flatten_cubic(control: np.ndarray, tolerance_pt: float) -> np.ndarray:
    """(N, 2) points on the cubic Bézier with 4x2 ``control`` points, at most
    ``tolerance_pt`` from the curve (Wang's formula for the number of segments)."""
    second = np.abs(control[:-2] - 2 * control[1:-1] + control[2:]).max(axis=0)
    reach = float(np.hypot(*second)) if np.isfinite(second).all() else 0.0
    steps = int(min(max(math.ceil(math.sqrt(0.75 * reach / tolerance_pt)), 1),
                    _MAX_CURVE_STEPS))
    return _bernstein(steps) @ control


@functools.lru_cache(maxsize=_MAX_CURVE_STEPS)
def _bernstein(steps: int) -> np.ndarray:
    """(steps + 1, 4) cubic Bernstein weights at evenly spaced t in [0, 1]."""
    t = np.linspace(0.0, 1.0, steps + 1)[:, None]
    u = 1.0 - t
    return np.hstack([u**3, 3 * u * u * t, 3 * u * t * t, t**3])


def fill_geometry(rings: list[np.ndarray] | None, even_odd: bool,
                  config: VectorConfig) -> BaseGeometry | None:
    """The area a fill of ``rings`` paints (valid Polygon/MultiPolygon, page space) under the
    even-odd or non-zero rule; None when it paints no area."""
    rings = [r for r in rings or [] if len(r) >= 3]
    if not rings:
        return None
    if len(rings) == 1:
        polygon = shapely.polygons(rings[0])
        geometry = polygon if shapely.is_valid(polygon) else _even_odd(rings)
    elif even_odd:
        geometry = _even_odd(rings)
    else:
        geometry = _non_zero(rings)
    geometry = shapely.make_valid(geometry, method="structure", keep_collapsed=False)
    geometry = _polygonal(geometry)
    return None if geometry.is_empty or geometry.area <= 0 else geometry


def _even_odd(rings: list[np.ndarray]) -> BaseGeometry:
    # MakeValid's "linework" method nodes every ring and alternates inside/outside across
    # each edge: exactly the even-odd rule (also for one self-intersecting ring).
    polygon = shapely.Polygon(rings[0], holes=rings[1:])
    return shapely.make_valid(polygon, method="linework")


def _non_zero(rings: list[np.ndarray]) -> BaseGeometry:
    """Non-zero winding: node all rings into faces, keep faces whose winding number != 0."""
    closed = [np.vstack([r, r[:1]]) for r in rings]
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(
        shapely.union_all([shapely.LineString(r) for r in closed]))))
    if len(faces) == 0:
        return shapely.Polygon()
    points = shapely.point_on_surface(faces)
    winding = np.zeros(len(faces), dtype=int)
    for ring in closed:
        # y down: a ring that is counter-clockwise in numbers turns clockwise on the page;
        # only the relative sign between rings matters for non-zero
        sign = 1 if shapely.is_ccw(shapely.linearrings(ring)) else -1
        inside = shapely.contains(shapely.make_valid(shapely.polygons(ring)), points)
        winding += sign * inside
    return shapely.union_all(faces[winding != 0])


def stroke_geometry(rings: list[np.ndarray], item: dict, width: float) -> BaseGeometry:
    """The area a stroke of ``width`` paints along the sub-paths ``rings`` (page space)."""
    close_all = bool(item.get("closePath"))
    lines = []
    for ring in rings:
        closed = close_all or len(ring) > 2 and np.array_equal(ring[0], ring[-1])
        lines.append(np.vstack([ring, ring[:1]]) if closed and not np.array_equal(
            ring[0], ring[-1]) else ring)
    caps = item.get("lineCap") or (0,)
    cap = _CAPS.get(int(caps[0]) if isinstance(caps, tuple | list) else int(caps), "flat")
    join = _JOINS.get(int(item.get("lineJoin") or 0), "mitre")
    geometry = shapely.buffer(shapely.multilinestrings(lines), width / 2, cap_style=cap,
                              join_style=join, mitre_limit=10.0)
    return _polygonal(geometry)


def _polygonal(geometry: BaseGeometry) -> BaseGeometry:
    """Only the polygons of ``geometry`` (make_valid may return lines and points too)."""
    if geometry.geom_type in ("Polygon", "MultiPolygon"):
        return geometry
    parts = [g for g in shapely.get_parts(geometry) if g.geom_type in ("Polygon",
                                                                      "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def _is_rect_item(items: list[tuple]) -> bool:
    return len(items) == 1 and items[0][0] == "re"


def _is_rect_geometry(geometry: BaseGeometry) -> bool:
    """An axis-aligned rectangle (what a frame or a legend swatch drawn with lines is)."""
    x0, y0, x1, y1 = geometry.bounds
    return geometry.geom_type == "Polygon" and geometry.area >= 0.999 * (x1 - x0) * (y1 - y0)
