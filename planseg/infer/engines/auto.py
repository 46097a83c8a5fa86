"""The auto engine: each page goes to the source of truth that suits it.

- the page's own vector zones when they cover at least ``vector_min_coverage`` of its map
  frame (a vector plan exported from GIS or CAD: exact and free);
- nothing on a text or blank page (the *norme tecniche*, a table, an empty back page),
  decided from the text layer, or from the pixels where there is none (``pages: all``: SAM
  segments those pages too);
- on other map pages (scans, images, image-only pages and pages whose drawing is over the
  reading budget or broken, logged once) the SAM engine with ``amg.prompts: regions``: SAM
  prompted inside each colour region, the better mask kept per zone, and SAM's grid where
  the colours find no zone (a black-and-white line plan, an orthophoto with outlines only);
- with ``amg.prompts: grid``, the colour regions alone on those pages, and SAM's automatic
  masks where the colours find no zone.
"""

from __future__ import annotations

import logging

from planseg.infer.config import SegmentConfig
from planseg.infer.engines.base import PagePlan
from planseg.infer.engines.sam import SamEngine
from planseg.infer.engines.vector import vector_plan
from planseg.ingest.documents import Document
from planseg.ingest.vector import read_vector_page

log = logging.getLogger(__name__)


class AutoEngine:
    """Vector zones where the drawing has them, no zones on text pages, colour regions on
    other maps, SAM where the colours find nothing."""

    name = "auto"

    def __init__(self, config: SegmentConfig) -> None:
        self.config = config
        self.sam = SamEngine(config)
        self.regions = self.sam.regions  # one colour reader for both paths

    def plan_page(self, doc: Document, page_index: int) -> PagePlan:
        """The plan of the engine this page suits (see the module docstring)."""
        page = read_vector_page(doc, page_index, self.config.vector,
                                legend=self.config.export.classes)
        if page.fallback is not None:
            log.warning("%s page %d: %s; segmenting its pixels", doc.path.name,
                        page_index + 1, page.fallback)
        elif page.page_kind in ("text", "blank"):
            return self.sam.not_a_map(doc, page_index, page.page_kind)
        elif page.zones and page.coverage >= self.config.vector_min_coverage:
            return vector_plan(doc, page_index, page, self.config.dpi)
        if self.config.amg.prompts == "regions":
            return self.sam.plan_page(doc, page_index)  # colours and SAM together
        plan = self.regions.plan_page(doc, page_index)
        if plan.engine == "none":  # a scanned text, table or blank page
            return self.sam.not_a_map(doc, page_index, plan.page_kind or "text")
        if plan.detections:
            return plan  # colour regions
        log.info("%s page %d: no colour regions; segmenting it with SAM", doc.path.name,
                 page_index + 1)
        plan = self.sam.plan_page(doc, page_index)
        plan.page_kind = "map"
        return plan
