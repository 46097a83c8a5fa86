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

from planseg.export.rle import encode_mask, rle_coded

_DECIMALS = 2  # pixel coordinates are rounded *before* rasterising, so JSON == masks


def zone_annotation_fields(polygons_px: list[Polygon], height_px: int, width_px: int,
                           ) -> list[dict | None]:
    """COCO ``segmentation``, ``area`` and ``bbox`` of each zone (pixel frame), disjoint.

    ``segmentation`` is a COCO polygon list (zone without holes) or an RLE dict with
    ``counts`` as str; ``area`` is the pixel count and ``bbox`` xywh of the decoded mask.
    ``None`` for a zone that covers no pixel at this dpi. Only one full-page mask is kept
    at a time (an A2 sheet at 300 dpi is 35 Mpx).
    """
    claimed = np.zeros((height_px, width_px), dtype=bool)
    results: list[dict | None] = []
    for polygon in polygons_px:
        exterior = _ring_coords(polygon.exterior.coords)
        holes = [_ring_coords(r.coords) for r in polygon.interiors]
        mask = _rasterise(exterior, height_px, width_px)
        for hole in holes:
            mask &= ~_rasterise(hole, height_px, width_px)
        stolen = bool((mask & claimed).any())
        if stolen:
            mask &= ~claimed
        claimed |= mask
        if not mask.any():
            results.append(None)
            continue
        rle = encode_mask(mask)
        results.append({"segmentation": rle if holes or stolen else [exterior],
                        "area": int(mask.sum()), "bbox": _bbox_xywh(rle)})
    return results


def _bbox_xywh(rle: dict) -> list[float]:
    return [float(v) for v in mask_utils.toBbox(rle_coded(rle))]


def _ring_coords(coords) -> list[float]:
    """Flattened [x0, y0, x1, y1, ...] of a ring without its closing duplicate point."""
    xy = np.round(np.asarray(coords, dtype=np.float64)[:-1], _DECIMALS)
    return [float(v) for v in xy.ravel()]


def _rasterise(ring: list[float], height_px: int, width_px: int) -> np.ndarray:
    rles = mask_utils.frPyObjects([ring], height_px, width_px)
    return mask_utils.decode(mask_utils.merge(rles)).astype(bool)
