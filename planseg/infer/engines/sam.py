"""The SAM engine: every page goes to the device, as tiles, for the automatic mask generator."""

from __future__ import annotations

from planseg.infer.config import SegmentConfig
from planseg.infer.engines.base import PagePlan
from planseg.infer.tiles import page_tiles
from planseg.ingest.documents import Document
from planseg.ingest.render import check_pixel_budget, page_pixel_size


class SamEngine:
    """Plans a page as the tiles SAM's automatic mask generator runs on."""

    name = "sam"

    def __init__(self, config: SegmentConfig) -> None:
        self.config = config

    def plan_page(self, doc: Document, page_index: int) -> PagePlan:
        """The page's tiles; refuses a page over the pixel budget before any rendering."""
        width_px, height_px = page_pixel_size(doc, page_index, self.config.dpi)
        check_pixel_budget(doc, page_index, (0, 0, width_px, height_px), self.config.dpi,
                           self.config.max_pixels, advice="lower --dpi or raise max_pixels")
        return PagePlan(page_index=page_index, width_px=width_px, height_px=height_px,
                        engine=self.name,
                        tiles=page_tiles(width_px, height_px, self.config.tiling))
