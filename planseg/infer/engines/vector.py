"""The vector engine: a page's zones are the filled paths of its own drawing, exactly.

Reads the page with :func:`planseg.ingest.vector.read_vector_page` (no pixels, no model) and
turns each zone into a :class:`~planseg.export.types.Detection` carrying its exact outline in
the page's pixel frame (an affine map of the PDF points, not a raster round trip), its fill
colour, score 1 and no predicted IoU or stability score.
"""

from __future__ import annotations

import logging

from planseg.export.types import Detection
from planseg.infer.config import SegmentConfig
from planseg.infer.engines.base import PagePlan
from planseg.ingest.documents import Document
from planseg.ingest.render import page_pixel_size
from planseg.ingest.vector import VectorPage, read_vector_page, zones_px

log = logging.getLogger(__name__)


class VectorEngine:
    """Plans every page from its drawing; a page without vector zones gets none (warned)."""

    name = "vector"

    def __init__(self, config: SegmentConfig) -> None:
        self.config = config

    def plan_page(self, doc: Document, page_index: int) -> PagePlan:
        """The page's vector zones as final detections."""
        page = read_vector_page(doc, page_index, self.config.vector,
                                legend=self.config.export.classes)
        if page.fallback is not None or (page.page_kind == "map" and not page.zones):
            log.warning("%s page %d: no vector zones (%s); engine vector runs no model",
                        doc.path.name, page_index + 1, page.fallback or "no filled zones")
        return vector_plan(doc, page_index, page, self.config.dpi)


def vector_plan(doc: Document, page_index: int, page: VectorPage, dpi: float) -> PagePlan:
    """A plan whose detections are ``page``'s zones, mapped into the pixel frame at ``dpi``."""
    width_px, height_px = page_pixel_size(doc, page_index, dpi)
    detections = []
    for zone, outline in zip(page.zones, zones_px(doc, page_index, page, dpi), strict=True):
        x0, y0, x1, y1 = outline.bounds
        detections.append(Detection(
            rle=None, geometry_px=outline, bbox_xywh=(x0, y0, x1 - x0, y1 - y0), score=1.0,
            predicted_iou=None, stability_score=None, fill_rgb=zone.fill_rgb,
            source="vector"))
    return PagePlan(page_index=page_index, width_px=width_px, height_px=height_px,
                    engine="vector", page_kind=page.page_kind, detections=detections,
                    legend=page.legend)
