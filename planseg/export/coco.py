"""COCO output: pages as images, polygons as annotations (pixel frame of the page raster).

``DIR/coco.json`` layout (the segment issue): images ``{id, file_name: "<pdf>#page=<n>",
width, height, pdf, page, dpi}`` plus ``engine`` and ``page_kind`` where the engine set them;
annotations ``{id, image_id, category_id, segmentation:
[[x0, y0, x1, y1, ...], ...], bbox: [x, y, w, h], area, iscrowd: 0, score, predicted_iou,
stability_score}`` plus, for a polygon given a legend class, its ``class_code``,
``class_label``, ``class_rgb``, ``class_source`` and ``class_distance``; categories: id 1
``zone`` (unclassified polygons), then one per legend class met in the run (code and name;
see :func:`planseg.export.classes.build_categories`), each with its ``color`` [r, g, b].

COCO polygons have no holes: each part's holes are joined to its exterior by a zero-width
"keyhole" bridge walked out and back, which COCO's even-odd rasteriser (``annToMask``) fills
correctly. ``merge_coco`` lets a batch runner keep one file covering every page processed
so far: a document's pages replace its earlier pages, ids are renumbered in (pdf, page) order
and categories rebuilt from the annotations' classes, so the file does not depend on the
order documents finished in and a re-run rewrites it byte for byte.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

from planseg.errors import DatasetError
from planseg.export.classes import (
    CLASS_KEYS,
    ZONE_CATEGORY,
    build_categories,
    category_ids,
    class_key,
)
from planseg.export.features import PageFeature
from planseg.export.types import PageMasks
from planseg.export.vectorize import coco_polygons
from planseg.fsio import atomic_write_json

CATEGORIES = [ZONE_CATEGORY]


def empty_coco() -> dict:
    """A valid COCO dict with no images."""
    return {"images": [], "annotations": [], "categories": [dict(c) for c in CATEGORIES]}


def page_image(page: PageMasks, image_id: int) -> dict:
    """COCO image record of a page."""
    image = {"id": image_id, "file_name": f"{page.document}#page={page.page_number}",
             "width": int(page.width_px), "height": int(page.height_px),
             "pdf": page.document, "page": int(page.page_number), "dpi": float(page.dpi)}
    if page.engine is not None:
        image["engine"] = page.engine
    if page.page_kind is not None:
        image["page_kind"] = page.page_kind
    return image


def feature_annotation(page: PageMasks, feature: PageFeature, image_id: int,
                       annotation_id: int) -> dict:
    """COCO annotation (pixel frame) of one vectorised feature."""
    x0, y0, x1, y1 = feature.geometry_px.bounds
    detection = page.detections[feature.detection_index]
    annotation = {
        "id": annotation_id, "image_id": image_id, "category_id": ZONE_CATEGORY["id"],
        "segmentation": coco_polygons(feature.geometry_px),
        "bbox": [round(x0, 3), round(y0, 3), round(x1 - x0, 3), round(y1 - y0, 3)],
        "area": round(float(feature.geometry_px.area), 3), "iscrowd": 0,
        "score": float(detection.score), "predicted_iou": _number(detection.predicted_iou),
        "stability_score": _number(detection.stability_score)}
    if class_key(feature.properties) is not None:  # the class travels with the annotation
        annotation.update({key: feature.properties.get(key) for key in CLASS_KEYS})
    return annotation


def _number(value: float | None) -> float | None:
    return None if value is None else float(value)


def document_coco(pages: Sequence[PageMasks],
                  features: Sequence[Sequence[PageFeature]]) -> dict:
    """COCO dict of one document's pages (ids local, renumbered by :func:`merge_coco`)."""
    coco = empty_coco()
    for image_id, (page, page_feats) in enumerate(zip(pages, features, strict=True), start=1):
        coco["images"].append(page_image(page, image_id))
        for feature in page_feats:
            annotation_id = len(coco["annotations"]) + 1
            coco["annotations"].append(feature_annotation(page, feature, image_id,
                                                          annotation_id))
    return with_categories(coco)


def with_categories(coco: dict) -> dict:
    """Set ``coco``'s categories (in place) from its annotations' legend classes and each
    annotation's ``category_id`` (1, ``zone``, when unclassified); returns ``coco``."""
    coco["categories"] = build_categories(coco["annotations"])
    ids = category_ids(coco["categories"])
    for ann in coco["annotations"]:
        ann["category_id"] = ids.get(class_key(ann), ZONE_CATEGORY["id"])
    return coco


def merge_coco(base: dict | None, documents: Iterable[dict],
               drop_pdfs: Iterable[str] = ()) -> dict:
    """Merge per-document COCO dicts into ``base``: pages of a document already in ``base``
    (same ``pdf``) are replaced, ``drop_pdfs`` are removed; ids renumbered in (pdf, page)
    order and categories rebuilt from the annotations' classes (merged by code and name,
    ids sorted by code then name), so the result does not depend on the order documents
    finished in."""
    documents = list(documents)
    replaced = {im["pdf"] for doc in documents for im in doc["images"]} | set(drop_pdfs)
    pages: list[tuple[dict, list[dict]]] = []
    for coco in ([base] if base else []) + documents:
        anns_by_image: dict[int, list[dict]] = {}
        for ann in coco["annotations"]:
            anns_by_image.setdefault(ann["image_id"], []).append(ann)
        for image in coco["images"]:
            if coco is base and image.get("pdf") in replaced:
                continue
            pages.append((image, anns_by_image.get(image["id"], [])))
    pages.sort(key=lambda p: (str(p[0].get("pdf", "")), int(p[0].get("page", 0)),
                              str(p[0].get("file_name", ""))))
    merged = empty_coco()
    for image_id, (image, anns) in enumerate(pages, start=1):
        merged["images"].append({**image, "id": image_id})
        for ann in anns:
            merged["annotations"].append(
                {**ann, "id": len(merged["annotations"]) + 1, "image_id": image_id})
    return with_categories(merged)


def read_coco(path: Path) -> dict:
    """Load a COCO file; raises DatasetError naming the file when unusable."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DatasetError(f"cannot read COCO file ({exc})", path=path) from exc
    problems = [f"missing '{key}' list" for key in ("images", "annotations")
                if not isinstance(data.get(key) if isinstance(data, dict) else None, list)]
    if problems:
        raise DatasetError("not a COCO file: " + "; ".join(problems), path=path)
    data.setdefault("categories", [dict(c) for c in CATEGORIES])
    return data


def write_coco(path: Path, coco: dict) -> None:
    """Write a COCO dict atomically."""
    atomic_write_json(path, coco)


def update_coco_file(path: Path, documents: Iterable[dict],
                     drop_pdfs: Iterable[str] = ()) -> dict:
    """Merge finished documents' COCO parts into the COCO file at ``path`` (created if
    absent) and rewrite it atomically; returns the merged dict. Single writer only: the
    caller holds the output folder's lock."""
    base = read_coco(path) if Path(path).exists() else None
    merged = merge_coco(base, documents, drop_pdfs)
    write_coco(path, merged)
    return merged
