"""``--partition``: overlapping masks of a page -> a gap-free, non-overlapping polygon coverage.

Done on the raster, where "who owns this pixel" is unambiguous: masks are painted in
ascending score order onto one label image (the higher score wins contested pixels),
connected pieces below the minimum area are handed to the neighbour they touch most, then
each label becomes the union of its pixel runs, so neighbours share exactly the same pixel
edges. Edges are densified to every pixel corner so shared edges have identical vertices (a
valid coverage), and ``shapely.coverage_simplify`` simplifies shared edges once for both sides.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import cv2
import numpy as np
import shapely

from planseg.export.rle import decode_rle_box
from planseg.export.types import Detection
from planseg.export.vectorize import Areal, VectorizeConfig, clean_geometry, rle_bbox_xyxy

log = logging.getLogger(__name__)

Box = tuple[int, int, int, int]


def partition_page(detections: Sequence[Detection], width_px: int, height_px: int,
                   config: VectorizeConfig | None = None) -> dict[int, Areal]:
    """Non-overlapping polygons (pixel frame) keyed by the index of the detection owning them.

    Detections that lose all their pixels are absent. With ``config.simplify_px`` 0 the
    union of the result equals the union of the masks (except isolated pieces below
    ``config.min_area_px``, which are dropped).
    """
    if not detections:  # a text or blank page: no full-page label image to scan
        return {}
    config = config or VectorizeConfig()
    labels, boxes = paint_labels(detections, width_px, height_px)
    reassign_slivers(labels, boxes, config.min_area_px)
    exact = label_polygons(labels)
    if not exact:
        return {}
    keys = sorted(exact)
    geometries = shapely.segmentize(np.array([exact[k] for k in keys]), 1.0)
    if config.simplify_px > 0:
        geometries = shapely.coverage_simplify(geometries, config.simplify_px)
    result = {}
    for key, geometry in zip(keys, geometries, strict=True):
        cleaned = clean_geometry(geometry, config)
        if cleaned is not None:
            result[key - 1] = cleaned
    return result


def paint_labels(detections: Sequence[Detection], width_px: int,
                 height_px: int) -> tuple[np.ndarray, dict[int, Box]]:
    """HxW int32 label image (0 = no mask, i + 1 = detection i) and each label's box xyxy."""
    labels = np.zeros((height_px, width_px), dtype=np.int32)
    boxes: dict[int, Box] = {}
    order = sorted(range(len(detections)), key=lambda i: (detections[i].score, -i))
    for index in order:  # ascending score: later (higher) paints over earlier
        box = rle_bbox_xyxy(detections[index].rle)
        if box is None:
            continue
        x0, y0, x1, y1 = box
        crop = decode_rle_box(detections[index].rle, box)
        labels[y0:y1, x0:x1][crop] = index + 1
        boxes[index + 1] = box
    return labels, boxes


def reassign_slivers(labels: np.ndarray, boxes: dict[int, Box], min_area_px: float) -> None:
    """In place: connected pieces (8-connected) smaller than ``min_area_px`` join the
    neighbouring label they share most border pixels with; isolated pieces stay."""
    if min_area_px <= 0:
        return
    height, width = labels.shape
    for label in sorted(boxes):
        x0, y0, x1, y1 = _grow(boxes[label], 1, width, height)
        view = labels[y0:y1, x0:x1]
        own = (view == label).astype(np.uint8)
        count, components, stats, _ = cv2.connectedComponentsWithStats(own, connectivity=8)
        for component in range(1, count):
            if stats[component, cv2.CC_STAT_AREA] >= min_area_px:
                continue
            piece = components == component
            ring = cv2.dilate(piece.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
            around = view[ring & ~piece]
            around = around[(around != 0) & (around != label)]
            if around.size == 0:
                continue
            winner = int(np.bincount(around).argmax())
            view[piece] = winner
            boxes[winner] = _union_box(boxes[winner], (x0, y0, x1, y1))


def label_polygons(labels: np.ndarray) -> dict[int, Areal]:
    """Exact pixel-edge polygons of every non-zero label: unions of rectangles built from
    horizontal pixel runs, merged vertically where consecutive rows have the same run."""
    height, width = labels.shape
    change = np.ones((height, width), dtype=bool)
    change[:, 1:] = labels[:, 1:] != labels[:, :-1]
    rows, x_start = np.nonzero(change)
    x_end = np.append(x_start[1:], width)
    x_end[np.append(rows[1:] != rows[:-1], True)] = width  # last run of each row
    run_label = labels[rows, x_start]
    keep = run_label != 0
    if not keep.any():
        return {}
    rows, x_start, x_end, run_label = rows[keep], x_start[keep], x_end[keep], run_label[keep]
    order = np.lexsort((rows, x_end, x_start, run_label))
    rows, x_start, x_end, run_label = (a[order] for a in (rows, x_start, x_end, run_label))
    new = np.ones(rows.size, dtype=bool)
    new[1:] = ((run_label[1:] != run_label[:-1]) | (x_start[1:] != x_start[:-1])
               | (x_end[1:] != x_end[:-1]) | (rows[1:] != rows[:-1] + 1))
    first = np.flatnonzero(new)
    last = np.append(first[1:], rows.size) - 1
    rects = shapely.box(x_start[first], rows[first], x_end[first], rows[last] + 1)
    rect_label = run_label[first]
    polygons: dict[int, Areal] = {}
    bounds = np.flatnonzero(np.append(True, rect_label[1:] != rect_label[:-1]))
    for lo, hi in zip(bounds, np.append(bounds[1:], rect_label.size), strict=True):
        polygons[int(rect_label[lo])] = shapely.union_all(rects[lo:hi])
    return polygons


def _grow(box: Box, margin: int, width: int, height: int) -> Box:
    x0, y0, x1, y1 = box
    return max(0, x0 - margin), max(0, y0 - margin), min(width, x1 + margin), \
        min(height, y1 + margin)


def _union_box(a: Box, b: Box) -> Box:
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])
