"""The regions engine: a raster page's zones as its areas of one colour, without a model.

Renders the page at the run's DPI and reads it with
:func:`planseg.ingest.regions.read_raster_page`: the page kind (no zones on text, table or
blank pages), the map frame (nothing outside the neatline: legend, title block, scale bar,
north arrow), then one :class:`~planseg.export.types.Detection` per colour region inside it,
a mask over the full page in the run's pixel frame. A page over ``regions.max_pixels`` gets no
zones, logged once (the auto engine then gives it to SAM: this engine loads no model).

Each region also has a prompt point (its pole of inaccessibility): the SAM engine with
``amg.prompts: regions`` (:mod:`planseg.infer.engines.sam`) prompts SAM there.
"""

from __future__ import annotations

import logging

from planseg.export.rle import encode_mask
from planseg.export.types import Detection
from planseg.infer.config import SegmentConfig
from planseg.infer.engines.base import PagePlan
from planseg.ingest.documents import Document
from planseg.ingest.regions import RasterPage, Region, read_raster_page
from planseg.ingest.regions_config import RegionsConfig
from planseg.ingest.render import page_pixel_size, page_size_pt, render_page
from planseg.ingest.text import page_words

log = logging.getLogger(__name__)


class RegionsEngine:
    """Colour regions on map pages, nothing on text, blank and too large pages."""

    name = "regions"

    def __init__(self, config: SegmentConfig) -> None:
        self.config = config
        self.regions: RegionsConfig = config.regions

    def plan_page(self, doc: Document, page_index: int) -> PagePlan:
        """The page's colour regions as final detections (full-page pixel frame at
        ``config.dpi``); none for a page over ``regions.max_pixels``."""
        width_px, height_px = page_pixel_size(doc, page_index, self.config.dpi)
        raster = self.read_page(doc, page_index)
        if raster is None:  # this engine loads no model: no zones
            return PagePlan(page_index=page_index, width_px=width_px, height_px=height_px,
                            engine=self.name, page_kind="map", detections=[])
        return PagePlan(page_index=page_index, width_px=width_px, height_px=height_px,
                        engine=self.name if raster.page_kind == "map" else "none",
                        page_kind=raster.page_kind,
                        detections=[region_detection(region) for region in raster.regions])

    def read_page(self, doc: Document, page_index: int) -> RasterPage | None:
        """The page's kind, frame and colour regions at ``config.dpi``; None (logged once)
        for a page over ``regions.max_pixels``."""
        width_px, height_px = page_pixel_size(doc, page_index, self.config.dpi)
        if width_px * height_px > self.regions.max_pixels:
            log.warning("%s page %d: %d x %d px is over regions.max_pixels (%d); no colour "
                        "regions", doc.path.name, page_index + 1, width_px, height_px,
                        self.regions.max_pixels)
            return None
        page = render_page(doc, page_index, dpi=self.config.dpi,
                           max_pixels=self.config.max_pixels)
        return read_raster_page(page.image, self.config.dpi, self.regions,
                                words_per_kpt2(doc, page_index))


def words_per_kpt2(doc: Document, page_index: int) -> float | None:
    """Words of the page's text layer per 1000 square points of page; None without words
    (a scan or an image: the pixels decide)."""
    words = page_words(doc, page_index)
    if not words:
        return None
    width_pt, height_pt = page_size_pt(doc, page_index)
    return 1000.0 * len(words) / max(width_pt * height_pt, 1.0)


def region_detection(region: Region) -> Detection:
    """A mask :class:`Detection` (COCO RLE over the full page) of ``region``; its score is
    the region's colour homogeneity, and it has no predicted IoU or stability score."""
    return Detection(rle=encode_mask(region.mask), bbox_xywh=region.bbox_xywh,
                     score=region.score, predicted_iou=None, stability_score=None,
                     fill_rgb=region.rgb, source="regions")
