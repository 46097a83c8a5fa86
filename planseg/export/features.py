"""Vectorised page features: pixel-frame geometry plus the properties every format writes.

Properties: ``document``, ``page`` (1-based), ``source`` (the engine: ``vector``,
``regions`` or ``sam``),
``score``, ``predicted_iou``,
``stability_score``, ``area_pt2``, ``area_m2`` (georeferenced pages only), ``text`` (words
of the page's text layer whose box centre lies inside the polygon, in reading order) and
``fill_rgb`` (a drawn zone's exact fill, else the dominant colour under the polygon, [r, g, b],
when the page image is known).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from planseg.export.config import ExportConfig
from planseg.export.crs import area_m2, area_pt2
from planseg.export.partition import partition_page
from planseg.export.types import PageMasks
from planseg.export.vectorize import Areal, rasterize, rle_to_geometry

_QUANT_SHIFT = 4  # 16 levels per channel: anti-aliasing and scan noise fall into one bin


@dataclass
class PageFeature:
    """One polygon of a page: ``geometry_px`` in the pixel frame, ``detection_index`` into
    ``PageMasks.detections``, ``id`` 1-based and unique within the document."""

    id: int
    page_number: int
    detection_index: int
    geometry_px: Areal
    properties: dict


def page_features(page: PageMasks, config: ExportConfig | None = None, *,
                  first_id: int = 1) -> list[PageFeature]:
    """Vectorise one page's detections (or their partition) and compute properties."""
    config = config or ExportConfig()
    vector_config = config.vectorize_config()
    if page.detections and all(d.geometry_px is not None for d in page.detections):
        # exact outlines (the page's own drawing): already valid and disjoint, kept as drawn
        geometries = {i: d.geometry_px for i, d in enumerate(page.detections)}
    elif config.partition:
        geometries = partition_page(page.detections, page.width_px, page.height_px,
                                    vector_config)
    else:
        geometries = {i: rle_to_geometry(d.rle, vector_config)
                      for i, d in enumerate(page.detections)}
    kept = [(i, g) for i, g in sorted(geometries.items()) if g is not None]
    texts = words_inside(page, [g for _, g in kept])
    features = []
    for offset, ((index, geometry), text) in enumerate(zip(kept, texts, strict=True)):
        features.append(PageFeature(
            id=first_id + offset, page_number=page.page_number, detection_index=index,
            geometry_px=geometry, properties=_properties(page, index, geometry, text)))
    return features


def _properties(page: PageMasks, index: int, geometry: Areal, text: str) -> dict:
    detection = page.detections[index]
    properties = {
        "document": page.document, "page": page.page_number, "source": detection.source,
        "score": _rounded(detection.score),
        "predicted_iou": _rounded(detection.predicted_iou),
        "stability_score": _rounded(detection.stability_score),
        "area_pt2": round(area_pt2(geometry, page.dpi), 3),
    }
    metres = area_m2(geometry, page)
    if metres is not None:
        properties["area_m2"] = round(metres, 3)
    properties["text"] = text
    if detection.fill_rgb is not None:
        properties["fill_rgb"] = [int(v) for v in detection.fill_rgb]
    elif page.image is not None:
        properties["fill_rgb"] = dominant_rgb(page.image, geometry)
    return properties


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(float(value), 6)


def words_inside(page: PageMasks, geometries: list[Areal]) -> list[str]:
    """For each pixel-frame geometry, the page words whose box centre lies inside it,
    space-joined in the text layer's reading order ("" when none)."""
    if not page.words or not geometries:
        return [""] * len(geometries)
    boxes = np.array([w.box_pdf for w in page.words], dtype=np.float64)
    centres_pdf = np.column_stack([(boxes[:, 0] + boxes[:, 2]) / 2,
                                   (boxes[:, 1] + boxes[:, 3]) / 2, np.ones(len(boxes))])
    to_pixel = np.linalg.inv(np.asarray(page.pixel_to_pdf, dtype=np.float64))
    centres = centres_pdf @ to_pixel.T
    xs, ys = centres[:, 0] / centres[:, 2], centres[:, 1] / centres[:, 2]
    out = []
    for geometry in geometries:
        inside = shapely.contains_xy(geometry, xs, ys)
        out.append(" ".join(page.words[i].text for i in np.flatnonzero(inside)))
    return out


def dominant_rgb(image: np.ndarray, geometry: Areal) -> list[int] | None:
    """Most frequent colour (quantised to 16 levels/channel, reported as the mean of that
    bin) of the HxWx3 uint8 ``image`` pixels whose centres fall inside ``geometry``."""
    height, width = image.shape[:2]
    x0, y0, x1, y1 = geometry.bounds
    x0, y0 = max(0, int(np.floor(x0))), max(0, int(np.floor(y0)))
    x1, y1 = min(width, int(np.ceil(x1))), min(height, int(np.ceil(y1)))
    if x1 <= x0 or y1 <= y0:
        return None
    mask = rasterize(geometry, (x0, y0, x1, y1))
    pixels = image[y0:y1, x0:x1][mask].astype(np.int64)
    if pixels.size == 0:
        return None
    quant = pixels >> _QUANT_SHIFT
    codes = (quant[:, 0] << 8) | (quant[:, 1] << 4) | quant[:, 2]
    top = np.bincount(codes).argmax()
    return [int(round(v)) for v in pixels[codes == top].mean(axis=0)]
