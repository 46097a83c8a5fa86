"""COCO ground truth for one map page: zone polygons (pixel frame) -> exact, disjoint masks.

Pixel frame: (x, y) = (col, row) of the page raster at the run's dpi, origin at the top-left
corner of pixel (0, 0), so a page point maps to ``pixel = point * dpi / 72``.

Masks are rasterised with pycocotools' own polygon rule (``frPyObjects``), the rule every COCO
reader applies to polygon annotations; it tiles polygons that share edges without overlap.
A zone with holes is its exterior minus its interior rings under the same rule and is written
as RLE. If rounding at a T-junction ever makes two masks share a pixel, the later zone gives
the pixel up and is written as RLE too, so what a reader decodes is always a partition.
"""

from __future__ import annotations

import numpy as np
from pycocotools import mask as mask_utils
from shapely.geometry import Polygon

_DECIMALS = 2  # pixel coordinates are rounded *before* rasterising, so JSON == masks


def zone_masks(polygons_px: list[Polygon], height_px: int, width_px: int,
               ) -> list[tuple[np.ndarray, dict | list[list[float]]] | None]:
    """Rasterise zones (pixel frame) into disjoint HxW bool masks plus their COCO segmentation.

    Returns one entry per polygon: ``(mask, segmentation)`` where segmentation is a COCO
    polygon list (zone without holes) or an RLE dict with ``counts`` as str; ``None`` for a
    zone that covers no pixel centre at this dpi.
    """
    claimed = np.zeros((height_px, width_px), dtype=bool)
    results: list[tuple[np.ndarray, dict | list[list[float]]] | None] = []
    for polygon in polygons_px:
        exterior = _ring_coords(polygon.exterior.coords)
        holes = [_ring_coords(r.coords) for r in polygon.interiors]
        mask = _rasterise(exterior, height_px, width_px)
        for hole in holes:
            mask &= ~_rasterise(hole, height_px, width_px)
        stolen = mask & claimed
        if stolen.any():
            mask &= ~claimed
        claimed |= mask
        if not mask.any():
            results.append(None)
            continue
        use_rle = bool(holes) or bool(stolen.any())
        results.append((mask, encode_rle(mask) if use_rle else [exterior]))
    return results


def annotation_fields(mask: np.ndarray, segmentation: dict | list[list[float]]) -> dict:
    """``segmentation``, ``area`` (pixel count) and ``bbox`` (xywh, pixel frame) of one mask."""
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    bbox = [float(v) for v in mask_utils.toBbox(rle)]
    return {"segmentation": segmentation, "area": int(mask.sum()), "bbox": bbox}


def encode_rle(mask: np.ndarray) -> dict:
    """COCO RLE of an HxW bool mask, ``{"size": [H, W], "counts": str}`` (JSON-ready)."""
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(v) for v in rle["size"]], "counts": rle["counts"].decode("ascii")}


def _ring_coords(coords) -> list[float]:
    """Flattened [x0, y0, x1, y1, ...] of a ring without its closing duplicate point."""
    xy = np.round(np.asarray(coords, dtype=np.float64)[:-1], _DECIMALS)
    return [float(v) for v in xy.ravel()]


def _rasterise(ring: list[float], height_px: int, width_px: int) -> np.ndarray:
    rles = mask_utils.frPyObjects([ring], height_px, width_px)
    return mask_utils.decode(mask_utils.merge(rles)).astype(bool)
