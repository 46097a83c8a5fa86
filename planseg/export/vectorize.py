"""Masks -> valid shapely polygons in the pixel frame, with holes and several parts.

Coordinates are the full-page pixel frame: (x, y) = (col, row), origin at the top-left corner
of pixel (0, 0), y down, so the unit square [c, c+1] x [r, r+1] is pixel (c, r). Contours are
traced with ``cv2.findContours`` (RETR_CCOMP: each 8-connected component's outer border and its
holes' borders) on the mask's bounding-box crop only, decoded straight from the RLE runs, which
costs ~the box rather than the page. OpenCV traces the centres of boundary pixels; each
diagonal step is replaced by two axis steps through the foreground pixel beside it, so that
growing an outer border (and shrinking a hole border) by half a pixel with mitred joins lands
exactly on the pixel edges: at ``simplify_px=0`` the polygon rasterises back to the mask (COCO's
rasteriser: a square [0, 10]^2 covers 100 pixels), 1-px slivers and 1-px holes included; only
pixels that touch at a corner alone are joined by a thin strip (8-connectivity).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np
import shapely
from pycocotools import mask as mask_utils
from shapely.geometry import LineString, MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry

from planseg.export.rle import decode_rle_box, rle_counts

Areal = Polygon | MultiPolygon


@dataclass
class VectorizeConfig:
    """How masks become polygons (all lengths in pixels of the page raster)."""

    simplify_px: float = field(default=1.0, metadata={
        "help": "Douglas-Peucker tolerance in pixels; 0 keeps every pixel step. 1 px removes "
                "staircases but keeps the corners of straight-edged zones."})
    min_area_px: float = field(default=16.0, metadata={
        "help": "parts (and holes) smaller than this many square pixels are dropped (filled)"})

    def problems(self) -> list[str]:
        """Range checks, reported together by planseg.config."""
        found = []
        if self.simplify_px < 0:
            found.append(f"simplify_px: must be >= 0, got {self.simplify_px}")
        if self.min_area_px < 0:
            found.append(f"min_area_px: must be >= 0, got {self.min_area_px}")
        return found


def rle_bbox_xyxy(rle: dict, *, counts: np.ndarray | None = None
                  ) -> tuple[int, int, int, int] | None:
    """Exact bounding box (x0, y0, x1, y1 exclusive, pixels) of a COCO RLE; None if empty.
    ``counts``: the run lengths if already parsed."""
    height = int(rle["size"][0])
    counts = rle_counts(rle) if counts is None else counts
    ends = np.cumsum(counts)
    starts = (ends - counts)[1::2]
    ends = ends[1::2]
    keep = ends > starts
    if not keep.any():
        return None
    starts, last = starts[keep], ends[keep] - 1
    col0, col1 = starts // height, last // height
    single = col0 == col1  # runs inside one column give exact rows; others span full height
    y0 = int(np.min(np.where(single, starts % height, 0)))
    y1 = int(np.max(np.where(single, last % height, height - 1))) + 1
    return int(col0.min()), y0, int(col1.max()) + 1, y1


def rle_to_geometry(rle: dict, config: VectorizeConfig | None = None) -> Areal | None:
    """COCO RLE over the page -> Polygon/MultiPolygon in the pixel frame, or None if empty.

    Decodes only the mask's bounding box (the fast path); see :func:`mask_to_geometry`.
    """
    counts = rle_counts(rle)
    box = rle_bbox_xyxy(rle, counts=counts)
    if box is None:
        return None
    crop = decode_rle_box(rle, box, counts=counts)
    geometry = mask_to_geometry(crop, offset_xy_px=(box[0], box[1]), config=config)
    height, width = rle["size"]
    if geometry is None or geometry.within(shapely.box(0, 0, width, height)):
        return geometry
    # a mitred half-pixel buffer after simplification can poke past the page edge by ~2 px
    return clean_geometry(shapely.clip_by_rect(geometry, 0, 0, width, height),
                          config or VectorizeConfig())


def mask_to_geometry(mask: np.ndarray, *, offset_xy_px: tuple[int, int] = (0, 0),
                     config: VectorizeConfig | None = None) -> Areal | None:
    """HxW bool/uint8 mask -> valid Polygon/MultiPolygon (pixel frame), or None if nothing left.

    ``offset_xy_px`` is the position of ``mask[0, 0]`` in the page raster (for crops).
    Simplifies by ``config.simplify_px``, repairs with ``make_valid`` and drops parts/holes
    below ``config.min_area_px``.
    """
    config = config or VectorizeConfig()
    outline = trace_mask(mask, offset_xy_px, simplify_px=config.simplify_px)
    if outline is None:
        return None
    return clean_geometry(outline, config)


def trace_mask(mask: np.ndarray, offset_xy_px: tuple[int, int] = (0, 0), *,
               simplify_px: float = 0.0) -> Areal | None:
    """Pixel-edge outline of a mask (exact when ``simplify_px`` is 0; no area filter).

    Simplifying the pixel-centre outline before growing it by half a pixel is cheaper than
    simplifying afterwards (fewer vertices to buffer) and keeps edges on the pixel grid.
    """
    padded = cv2.copyMakeBorder(mask.astype(np.uint8), 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    parts = []
    for shell, holes in _rings(padded, offset_xy_px):
        part = _centre_outline(shell, simplify_px).buffer(0.5, cap_style="square",
                                                          join_style="mitre")
        # a hole border runs through the centres of the foreground pixels around the hole:
        # half a pixel inwards it is the hole's pixel edges
        hole_areas = [_centre_outline(h, simplify_px).buffer(-0.5, cap_style="square",
                                                             join_style="mitre")
                      for h in holes if len(h) >= 3]
        hole_areas = [h for h in hole_areas if not h.is_empty]
        if hole_areas:
            part = part.difference(shapely.union_all(hole_areas))
        parts.append(part)
    if not parts:
        return None
    return _areal(shapely.union_all(parts) if len(parts) > 1 else parts[0])


def _rings(padded: np.ndarray, offset_xy_px: tuple[int, int]
           ) -> list[tuple[np.ndarray, list[np.ndarray]]]:
    """(outer ring, hole rings) of every 8-connected component of a 1-px-padded uint8 mask:
    Nx2 float64 pixel-centre paths in the page frame with only axis steps where possible.

    RETR_CCOMP gives each component's outer border (islands inside holes included) with its
    holes as children; hole borders run through the foreground pixels around the hole.
    """
    contours, hierarchy = cv2.findContours(padded, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE)
    if not contours:
        return []
    shift = np.array(offset_xy_px, dtype=np.float64) - 0.5  # padding (-1) + pixel centre (+.5)
    rings = [_square_steps(c.reshape(-1, 2), padded) + shift for c in contours]
    out = []
    for index, (_, _, child, parent) in enumerate(hierarchy[0]):
        if parent != -1:
            continue
        holes = []
        while child != -1:
            holes.append(rings[child])
            child = hierarchy[0][child][0]
        out.append((rings[index], holes))
    return out


def _square_steps(ring: np.ndarray, image: np.ndarray) -> np.ndarray:
    """Replace each diagonal step of an 8-connected border by two axis steps through the
    foreground pixel beside it, then drop collinear points.

    Grown by half a pixel, a path of axis steps between pixel centres is exactly the union of
    those pixels' squares; a diagonal step would instead add a slanted strip (about 0.15 px²
    per step too much). The tracer keeps the outer-side neighbour of a diagonal step as
    background, so at most the inner one is foreground; with neither (pixels touching only
    at a corner) the diagonal stays.
    """
    if len(ring) < 2:
        return ring.astype(np.float64)
    step = np.roll(ring, -1, axis=0) - ring
    diagonal = np.abs(step).sum(axis=1) == 2
    if diagonal.any():
        via_x = ring + step * np.array([1, 0])
        via_y = ring + step * np.array([0, 1])
        use_x = image[via_x[:, 1], via_x[:, 0]] > 0
        use_y = image[via_y[:, 1], via_y[:, 0]] > 0
        inserted = np.where(use_x[:, None], via_x, via_y)
        insert = diagonal & (use_x | use_y)
        path = np.empty((len(ring) + int(insert.sum()), 2), dtype=ring.dtype)
        at = np.arange(len(ring)) + np.concatenate(([0], np.cumsum(insert)[:-1]))
        path[at] = ring
        path[at[insert] + 1] = inserted[insert]
        ring = path
    if len(ring) < 3:
        return ring.astype(np.float64)
    incoming = ring - np.roll(ring, 1, axis=0)
    outgoing = np.roll(ring, -1, axis=0) - ring
    turns = incoming[:, 0] * outgoing[:, 1] - incoming[:, 1] * outgoing[:, 0] != 0
    reverses = (incoming * outgoing).sum(axis=1) < 0  # 1-px spikes: keep their tip
    keep = turns | reverses
    return ring[keep].astype(np.float64) if keep.sum() >= 1 else ring[:1].astype(np.float64)


def _centre_outline(ring: np.ndarray, simplify_px: float = 0.0) -> BaseGeometry:
    """Region through the centres of the boundary pixels (Douglas-Peucker simplified by
    ``simplify_px`` first, which also makes the repair below rare); lines/points for 1-px
    parts."""
    if simplify_px > 0 and len(ring) > 3:
        closed = np.vstack([ring, ring[:1]])
        ring = shapely.get_coordinates(
            shapely.simplify(LineString(closed), simplify_px, preserve_topology=False))[:-1]
    if len(ring) == 1:
        return Point(ring[0])
    if len(ring) == 2:
        return LineString(ring)
    polygon = Polygon(ring)
    if polygon.is_valid and polygon.area > 0:
        return polygon
    # a 1-px wide strip traced out and back, or a ring touching itself at a 1-px neck:
    # keep the repaired area and the centre line of the thin parts ("structure" is ~10x
    # faster than the default "linework" repair and gives the same area here)
    return shapely.union_all([shapely.make_valid(polygon, method="structure"),
                              LineString(np.vstack([ring, ring[:1]]))])


def clean_geometry(geometry: BaseGeometry, config: VectorizeConfig) -> Areal | None:
    """Make valid, drop parts and fill holes below the minimum area."""
    if not geometry.is_valid:
        geometry = shapely.make_valid(geometry)
    polygons = []
    for part in _polygons(geometry):
        if part.area < max(config.min_area_px, 1e-9):
            continue
        holes = [h for h in part.interiors if Polygon(h).area >= config.min_area_px]
        polygons.append(Polygon(part.exterior, holes))
    return _areal(MultiPolygon(polygons)) if polygons else None


def _polygons(geometry: BaseGeometry) -> list[Polygon]:
    if isinstance(geometry, Polygon):
        return [] if geometry.is_empty else [geometry]
    if hasattr(geometry, "geoms"):
        return [p for g in geometry.geoms for p in _polygons(g)]
    return []


def _areal(geometry: BaseGeometry) -> Areal | None:
    """Polygon when one part, MultiPolygon when several, None when empty."""
    parts = _polygons(geometry)
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else MultiPolygon(parts)


def coco_polygons(geometry: Areal) -> list[list[float]]:
    """Pixel-frame Polygon/MultiPolygon -> COCO polygon list, one flat ring per part.

    COCO polygons have no holes: each hole is joined to its exterior by a zero-width
    "keyhole" bridge walked out and back, which COCO's even-odd rasteriser fills correctly.
    """
    out = []
    for polygon in getattr(geometry, "geoms", [geometry]):
        ring = np.asarray(polygon.exterior.coords)[:-1]
        anchor = ring[:1]
        for hole in polygon.interiors:
            ring = np.concatenate([ring, anchor, np.asarray(hole.coords), anchor])
        out.append([round(float(v), 3) for v in ring.reshape(-1)])
    return out


def rasterize(geometry: Areal, box_xyxy: tuple[int, int, int, int]) -> np.ndarray:
    """(y1-y0)x(x1-x0) bool mask of a pixel-frame geometry over a box of the page, with
    COCO's rasteriser (pixel (c, r) is inside when the polygon covers it; the inverse of
    :func:`trace_mask`)."""
    x0, y0, x1, y1 = box_xyxy
    local = shapely.transform(geometry, lambda xy: xy - np.array([x0, y0], dtype=np.float64))
    rles = mask_utils.frPyObjects(coco_polygons(local), y1 - y0, x1 - x0)
    return mask_utils.decode(mask_utils.merge(rles)).astype(bool)
