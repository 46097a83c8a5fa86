"""What an engine returns for a page, and the protocol every engine follows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from planseg.export.types import Detection
from planseg.ingest.documents import Document
from planseg.ingest.legend_types import PageLegend
from planseg.ingest.tiling import Tile


@dataclass
class PagePlan:
    """How one page is segmented. Frames: full-page pixels at the run's DPI.

    ``detections``: the page's final detections, or None when the device must segment
    ``tiles`` (the whole page as one tile when it fits ``tiling.tile_px``): with SAM's
    automatic mask generator, or prompted at ``prompts_xy`` where there are any.
    """

    page_index: int
    width_px: int
    height_px: int
    engine: str  # what segmented it: "sam", "vector", "regions", "none" (text, blank page)
    tiles: list[Tile] = field(default_factory=list)
    detections: list[Detection] | None = None
    page_kind: str | None = None  # "map", "text" or "blank" where the engine decided it
    # amg.prompts regions: SAM is prompted at ``prompts_xy`` (page px) instead of a grid;
    # prompt i < len(candidates) is inside colour region ``candidates[i]``, the rest are
    # uncovered areas; planseg.infer.fusion keeps one mask per zone
    candidates: list[Detection] = field(default_factory=list)
    prompts_xy: list[tuple[int, int]] = field(default_factory=list)
    legend: PageLegend | None = None  # read in the engine's own pass; None: export reads it


class Engine(Protocol):
    """Plans pages; runs in a worker process (picklable settings in, picklable plan out)."""

    name: str

    def plan_page(self, doc: Document, page_index: int) -> PagePlan: ...
