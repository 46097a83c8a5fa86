"""The auto engine: each page goes to the source of truth that suits it.

- the page's own vector zones when they cover at least ``vector_min_coverage`` of its map
  frame (a vector plan exported from GIS or CAD: exact and free);
- nothing on a text or blank page (the *norme tecniche*, a table, an empty back page);
- SAM's automatic masks elsewhere: image-only pages and scans, pages whose zones are not
  filled paths (an orthophoto with outlines only), and pages whose drawing is over the
  reading budget or broken (logged once, one line).
"""

from __future__ import annotations

import logging

from planseg.infer.config import SegmentConfig
from planseg.infer.engines.base import PagePlan
from planseg.infer.engines.sam import SamEngine
from planseg.infer.engines.vector import vector_plan
from planseg.ingest.documents import Document
from planseg.ingest.render import page_pixel_size
from planseg.ingest.vector import read_vector_page

log = logging.getLogger(__name__)


class AutoEngine:
    """Vector zones where the drawing has them, no zones on text pages, SAM elsewhere."""

    name = "auto"

    def __init__(self, config: SegmentConfig) -> None:
        self.config = config
        self.sam = SamEngine(config)

    def plan_page(self, doc: Document, page_index: int) -> PagePlan:
        """The plan of the engine this page suits (see the module docstring)."""
        page = read_vector_page(doc, page_index, self.config.vector)
        if page.fallback is not None:
            log.warning("%s page %d: %s; segmenting its pixels with SAM", doc.path.name,
                        page_index + 1, page.fallback)
        elif page.page_kind in ("text", "blank"):
            width_px, height_px = page_pixel_size(doc, page_index, self.config.dpi)
            return PagePlan(page_index=page_index, width_px=width_px, height_px=height_px,
                            engine="none", page_kind=page.page_kind, detections=[])
        elif page.zones and page.coverage >= self.config.vector_min_coverage:
            return vector_plan(doc, page_index, page, self.config.dpi)
        plan = self.sam.plan_page(doc, page_index)
        plan.page_kind = page.page_kind
        return plan
