"""One page of ``planseg label``: its vector zones -> a page image and COCO annotations.

Runs in a worker process (no torch). Frames: zones are read in the PDF frame (points, y up)
and mapped once into the pixel frame of the page raster at ``dpi`` - (col, row), origin at the
top-left corner of pixel (0, 0), y down - with the affine of
:func:`planseg.ingest.render.page_transforms`, as the vector engine does. A scan copy's masks
are the same polygons moved by the scan's skew (:func:`planseg.synth.scan.skew_affine_px`).

A page's result is one JSON record (its images, each with its annotations; class properties
still raw) written atomically to the label cache; the run builds the COCO files from them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely
import shapely.affinity
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from planseg.errors import InputError, OutputError
from planseg.export.classes import assign_classes
from planseg.export.features import words_inside
from planseg.export.label_config import DEFAULT_LABEL_DPI
from planseg.export.types import PageMasks
from planseg.export.vectorize import coco_polygons, rasterize
from planseg.fsio import atomic_path, atomic_write_bytes, atomic_write_json
from planseg.ingest.documents import Document, cached_document
from planseg.ingest.legend import read_legend
from planseg.ingest.render import (
    check_pixel_budget,
    page_pixel_size,
    page_size_pt,
    page_transforms,
    pixmap_to_array,
    render_pixmap,
    resolve_dpi,
)
from planseg.ingest.text import page_words
from planseg.ingest.vector import VectorPage, read_vector_page
from planseg.ingest.vector import zones_px as vector_zones_px
from planseg.ingest.vector_config import VectorConfig
from planseg.synth.scan import draw_scan_params, faded_rgb, scan_jpeg, skew_affine_px

Areal = Polygon | MultiPolygon
_MIN_PART_PX2 = 0.01  # polygon parts below this vanish when rounded; COCO readers refuse them


@dataclass(frozen=True)
class LabelTask:
    """One page to label (picklable: sent to a worker process). ``stem``: the page's image
    file name without extension, relative to the images folder (``<doc>/page-0001``)."""

    path: Path
    name: str
    page_index: int
    key: str
    sha256: str
    record_path: Path
    staging: Path
    stem: str
    dpi: float | None
    max_pixels: int | None
    scan_copies: int
    seed: int
    vector: VectorConfig


def label_task(task: LabelTask) -> dict[str, Any]:
    """Label one page, write its record (and images) atomically; return a small outcome.

    Every failure comes back as data (the batch goes on), except an output error.
    """
    where = f"{task.path}: page {task.page_index + 1}"
    try:
        record = _label(task)
    except InputError as exc:
        return {"status": "failed", "message": f"{exc} (page {task.page_index + 1})"}
    except OutputError as exc:
        return {"status": "output_error", "message": exc.reason, "path": exc.path}
    except Exception as exc:  # a MuPDF or geometry surprise on one page must not stop the batch
        return {"status": "failed", "message": f"{where} failed ({type(exc).__name__}: {exc})"}
    atomic_write_json(task.record_path, record)
    return {"status": record["status"], "key": task.key}


def _label(task: LabelTask) -> dict[str, Any]:
    doc = cached_document(task.path, task.sha256)
    page = read_vector_page(doc, task.page_index, task.vector)
    base = {"key": task.key, "pdf": task.name, "page": task.page_index + 1}
    reason = skip_reason(page)
    if reason is not None:
        return {**base, "status": "skipped", "reason": reason, "images": []}
    dpi = _page_dpi(doc, task)
    width, height = page_pixel_size(doc, task.page_index, dpi)
    check_pixel_budget(doc, task.page_index, (0, 0, width, height), dpi, task.max_pixels,
                       advice="lower --dpi or raise --max-pixels")
    pix = render_pixmap(doc, task.page_index, dpi, (0, 0, width, height))
    file_name = f"{task.stem}.png"
    with atomic_path(task.staging / file_name) as tmp:
        pix.save(tmp, output="png")
    zones_px = vector_zones_px(doc, task.page_index, page, dpi)
    classes = _classes(doc, task.page_index, page, zones_px, dpi, (width, height))
    fills = [list(zone.fill_rgb) for zone in page.zones]
    image = {"file_name": file_name, "width": width, "height": height, "pdf": task.name,
             "page": task.page_index + 1, "dpi": dpi}
    images = [{"image": image, "annotations": _annotations(zones_px, fills, classes,
                                                           width, height)}]
    if task.scan_copies:
        images += _scan_copies(task, doc, pixmap_to_array(pix), image, zones_px, fills,
                               classes)
    return {**base, "status": "labelled", "zones": len(page.zones), "images": images}


def skip_reason(page: VectorPage) -> str | None:
    """Why a page gives no training zones (None: it does): the vector reader gave up, a text
    or blank page, or no filled zones (a scan, an image page, a line drawing)."""
    if page.fallback is not None:
        return f"vector reading gave up: {page.fallback}"
    if page.page_kind != "map":
        return f"{page.page_kind} page"
    if not page.zones:
        return "no vector zones (a scan, an image or a drawing without filled areas)"
    return None


def _page_dpi(doc: Document, task: LabelTask) -> float:
    """``task.dpi``, or 100 lowered to fit ``task.max_pixels`` on a larger page."""
    if task.dpi is not None or task.max_pixels is None:
        return float(task.dpi or DEFAULT_LABEL_DPI)
    return min(DEFAULT_LABEL_DPI, resolve_dpi(doc, task.page_index, None, task.max_pixels))


def _classes(doc: Document, page_index: int, page: VectorPage, zones_px: list[Areal],
             dpi: float, size_px: tuple[int, int]) -> list[dict[str, Any]]:
    """Each zone's legend class properties (``class_code``, ... None when undecided): its
    exact fill colour and the words written inside it, matched to the page's legend."""
    pixel_to_pdf, _ = page_transforms(doc, page_index, dpi)
    words_page = PageMasks(document="", page_number=page_index + 1, width_px=size_px[0],
                           height_px=size_px[1], dpi=dpi, pixel_to_pdf=pixel_to_pdf,
                           georef=None, words=page_words(doc, page_index), detections=[])
    texts = words_inside(words_page, zones_px)
    legend = read_legend(doc, page_index)
    return assign_classes([zone.fill_rgb for zone in page.zones], texts, legend)


def _annotations(zones_px: list[Areal], fills: list[list[int]], classes: list[dict],
                 width: int, height: int) -> list[dict[str, Any]]:
    """COCO annotation fields of the zones that keep pixels on a ``width`` x ``height``
    raster (ids, categories and class names are added when the dataset is written)."""
    page_box = shapely.box(0, 0, width, height)
    out = []
    for geometry, fill, properties in zip(zones_px, fills, classes, strict=True):
        fields = annotation_fields(geometry.intersection(page_box))
        if fields is not None:
            out.append({**fields, "fill_rgb": fill, "class": properties})
    return out


def annotation_fields(geometry: BaseGeometry) -> dict[str, Any] | None:
    """``segmentation`` (COCO polygons, holes as keyholes), ``area`` (pixels COCO's
    rasteriser sets) and ``bbox`` (xywh of those pixels) of a pixel-frame geometry lying on
    the raster; None when it sets no pixel."""
    parts = [p for p in getattr(geometry, "geoms", [geometry])
             if isinstance(p, Polygon | MultiPolygon) and p.area > _MIN_PART_PX2]
    polygons = [q for p in parts for q in getattr(p, "geoms", [p]) if q.area > _MIN_PART_PX2]
    if not polygons:
        return None
    areal = polygons[0] if len(polygons) == 1 else MultiPolygon(polygons)
    x0, y0, x1, y1 = areal.bounds
    box = (math.floor(x0), math.floor(y0), math.ceil(x1), math.ceil(y1))
    mask = rasterize(areal, box)
    if not mask.any():
        return None
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    bbox = [float(box[0] + cols[0]), float(box[1] + rows[0]),
            float(cols[-1] - cols[0] + 1), float(rows[-1] - rows[0] + 1)]
    return {"segmentation": coco_polygons(areal), "area": int(mask.sum()), "bbox": bbox}


def _scan_copies(task: LabelTask, doc: Document, image_rgb: np.ndarray, image: dict,
                 zones_px: list[Areal], fills: list[list[int]],
                 classes: list[dict]) -> list[dict[str, Any]]:
    """``task.scan_copies`` degraded JPEG copies of the page raster, each with the zones
    moved by its skew; copy k draws from the random stream (seed, page key, k)."""
    scale = image["dpi"] / 72.0
    size_pt = page_size_pt(doc, task.page_index)
    out = []
    for copy in range(1, task.scan_copies + 1):
        rng = np.random.default_rng([task.seed, int(task.key[:15], 16), copy])
        params = draw_scan_params(rng)
        file_name = f"{task.stem}-scan{copy}.jpg"
        jpeg = scan_jpeg(image_rgb, params, rng, scale, size_pt)
        atomic_write_bytes(task.staging / file_name, jpeg)
        skew = skew_affine_px(params, size_pt, scale)
        matrix = [skew[0, 0], skew[0, 1], skew[1, 0], skew[1, 1], skew[0, 2], skew[1, 2]]
        moved = [shapely.affinity.affine_transform(g, matrix) for g in zones_px]
        faded = [[round(c * 255) for c in faded_rgb(tuple(v / 255 for v in fill), params)]
                 for fill in fills]
        out.append({"image": {**image, "file_name": file_name, "scan_copy": copy},
                    "annotations": _annotations(moved, faded, classes, image["width"],
                                                image["height"])})
    return out
