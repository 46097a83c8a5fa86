"""The SAM engine: pages go to the device, as tiles, for SAM.

``amg.prompts: grid`` is segment_anything's automatic mask generator on every page, exactly.
``amg.prompts: regions`` (the default) reads the page's colours first
(:class:`~planseg.infer.engines.regions.RegionsEngine`): a text, table or blank page gets no
zones (``pages: all`` sends it to the grid), a map page is prompted at one point inside each
colour region and each zone-sized area no colour covers, and the device keeps one mask per
zone (:mod:`planseg.infer.fusion`); a map where the colours find nothing goes to the grid.
"""

from __future__ import annotations

from planseg.infer.config import SegmentConfig
from planseg.infer.engines.base import PagePlan
from planseg.infer.engines.regions import RegionsEngine, region_detection
from planseg.infer.tiles import page_tiles
from planseg.ingest.documents import Document
from planseg.ingest.render import check_pixel_budget, page_pixel_size


class SamEngine:
    """Plans a page as the tiles SAM runs on, with the prompts it gets there."""

    name = "sam"

    def __init__(self, config: SegmentConfig) -> None:
        self.config = config
        self.regions = RegionsEngine(config)

    def plan_page(self, doc: Document, page_index: int) -> PagePlan:
        """The page's tiles (and prompts); refuses a page over the pixel budget before any
        rendering."""
        plan = self.grid_plan(doc, page_index)
        if self.config.amg.prompts == "grid":
            return plan
        raster = self.regions.read_page(doc, page_index)
        if raster is None:  # too large for the colour reader: the grid, tile by tile
            plan.page_kind = "map"
            return plan
        if raster.page_kind != "map":
            return self.not_a_map(doc, page_index, raster.page_kind)
        plan.page_kind = "map"
        plan.candidates = [region_detection(region) for region in raster.regions]
        plan.prompts_xy = [region.point_xy for region in raster.regions] + raster.gaps_xy
        return plan

    def not_a_map(self, doc: Document, page_index: int, kind: str) -> PagePlan:
        """No zones (engine ``none``) on a text, table or blank page; SAM's grid with
        ``pages: all``."""
        if self.config.pages == "all":
            plan = self.grid_plan(doc, page_index)
        else:
            width_px, height_px = page_pixel_size(doc, page_index, self.config.dpi)
            plan = PagePlan(page_index=page_index, width_px=width_px, height_px=height_px,
                            engine="none", detections=[])
        plan.page_kind = kind
        return plan

    def grid_plan(self, doc: Document, page_index: int) -> PagePlan:
        """The page's tiles for the automatic mask generator."""
        width_px, height_px = page_pixel_size(doc, page_index, self.config.dpi)
        check_pixel_budget(doc, page_index, (0, 0, width_px, height_px), self.config.dpi,
                           self.config.max_pixels, advice="lower --dpi or raise max_pixels")
        return PagePlan(page_index=page_index, width_px=width_px, height_px=height_px,
                        engine=self.name,
                        tiles=page_tiles(width_px, height_px, self.config.tiling))
