"""The data export consumes: one page's masks with everything needed to place them.

The segment runner (and tests) build :class:`PageMasks`; every writer in ``planseg.export``
reads it. Masks stay COCO RLE over the FULL page raster at ``dpi`` (pixel frame: (col, row),
origin at the top-left corner of pixel (0, 0), y down) so a page of hundreds of masks stays
small in memory and crosses process boundaries cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from planseg.export.rle import encode_mask, rle_text

if TYPE_CHECKING:  # planseg.ingest has no torch either; imported lazily only for typing
    from planseg.ingest import PageGeoref, Word
    from planseg.ingest.legend_types import PageLegend


@dataclass
class Detection:
    """One zone found on a page: a mask (SAM) or an exact outline (the page's drawing).

    ``rle``: COCO RLE ``{"size": [H, W], "counts": str}`` over the full page raster, or None
    for an exact outline; ``geometry_px``: the exact outline (shapely, full-page pixel frame),
    or None for a mask; ``bbox_xywh``: its box in pixels; scores as the engine reports them
    (None where it has none: a drawn zone has no predicted IoU); ``fill_rgb``: the zone's
    exact fill colour where known; ``source``: the engine that found it.
    """

    rle: dict | None
    bbox_xywh: tuple[float, float, float, float]
    score: float
    predicted_iou: float | None
    stability_score: float | None
    geometry_px: Any = None
    fill_rgb: tuple[int, int, int] | None = None
    source: str = "sam"

    @classmethod
    def from_mask(cls, mask: np.ndarray, *, score: float = 1.0, predicted_iou: float | None = None,
                  stability_score: float = 1.0) -> Detection:
        """Build from a full-page HxW bool/uint8 mask (for tests and non-SAM sources)."""
        rle = encode_mask(mask)
        ys, xs = np.nonzero(mask)
        bbox = ((float(xs.min()), float(ys.min()), float(xs.max() - xs.min() + 1),
                 float(ys.max() - ys.min() + 1)) if xs.size else (0.0, 0.0, 0.0, 0.0))
        return cls(rle=rle, bbox_xywh=bbox, score=float(score),
                   predicted_iou=float(score if predicted_iou is None else predicted_iou),
                   stability_score=float(stability_score))

    @classmethod
    def from_amg_record(cls, record: dict[str, Any], *, score: float | None = None) -> Detection:
        """Build from a ``SamAutomaticMaskGenerator(output_mode="coco_rle")`` record.

        ``score`` defaults to the record's ``predicted_iou`` (SAM's own ranking score).
        The record's ``bbox`` must already be in the full-page frame (tiles shifted).
        """
        rle = rle_text(record["segmentation"])
        predicted_iou = float(record["predicted_iou"])
        return cls(rle=rle, bbox_xywh=tuple(float(v) for v in record["bbox"]),
                   score=predicted_iou if score is None else float(score),
                   predicted_iou=predicted_iou,
                   stability_score=float(record["stability_score"]))


@dataclass
class PageMasks:
    """Everything export needs about one page.

    ``document``: the document's name (posix path relative to the input folder);
    ``page_number``: 1-based; ``width_px``/``height_px``: the full page raster at ``dpi``;
    ``pixel_to_pdf``: 3x3 float64, full-page pixel frame -> PDF frame (points, y up);
    ``georef``: the page's GeoPDF georeferencing or None; ``words``: the text layer in reading
    order; ``image``: optional HxWx3 uint8 RGB raster of the full page (fill colours, previews);
    ``legend``: its legend, read by ingest, from which polygons take their classes.
    """

    document: str
    page_number: int
    width_px: int
    height_px: int
    dpi: float
    pixel_to_pdf: np.ndarray
    georef: PageGeoref | None
    words: list[Word]
    detections: list[Detection]
    image: np.ndarray | None = field(default=None, repr=False)
    engine: str | None = None  # the engine that planned the page (coco.json image field)
    page_kind: str | None = None  # "map", "text" or "blank" where the engine decided it
    legend: PageLegend | None = None  # the page's legend, for classes
