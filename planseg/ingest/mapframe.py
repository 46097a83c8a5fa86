"""Where the map is on a page and what kind of page it is (rules of the vector-zone reader).

Frame: MuPDF's page space (points of the unrotated page, origin at the CropBox's top-left,
y down), as in :mod:`planseg.ingest.vector_paths`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any, Literal

import shapely
from shapely.geometry import Polygon

from planseg.ingest.vector_config import VectorConfig
from planseg.ingest.vector_paths import Fill

PageKind = Literal["map", "text", "blank"]


def map_frame(frame_rects: Sequence[tuple[float, float, float, float]], page_rect: Polygon,
              config: VectorConfig, fills: Sequence[Fill] = ()) -> Polygon:
    """The map frame (neatline): the smallest drawn rectangle (stroked or filled) or
    rectangular clip, cut to the page, that covers at least ``config.frame_min_share`` of the
    page and holds at least two of the page's ``fills`` in zone colours (their box centres,
    fills smaller than it); the page itself where none does. The smallest, because sheets
    nest the map frame inside a border that also holds the legend and the title block;
    holding fills, because a large rectangular zone is a zone, not the frame of its map."""
    floor = config.frame_min_share * page_rect.area
    paper_and_ink = {tuple(rgb) for rgb in config.non_zone_rgb}  # label boxes hold nothing
    bounds = shapely.bounds([f.geometry for f in fills if f.rgb not in paper_and_ink])
    bounds = bounds.reshape(-1, 4)
    centres_x, centres_y = (bounds[:, 0] + bounds[:, 2]) / 2, (bounds[:, 1] + bounds[:, 3]) / 2
    areas = (bounds[:, 2] - bounds[:, 0]) * (bounds[:, 3] - bounds[:, 1])
    best = page_rect
    for xyxy in sorted(set(frame_rects)):
        rect = shapely.box(*xyxy).intersection(page_rect)
        if rect.geom_type != "Polygon" or not floor <= rect.area < best.area:
            continue
        x0, y0, x1, y1 = rect.bounds
        inside = ((centres_x > x0) & (centres_x < x1) & (centres_y > y0) & (centres_y < y1)
                  & (areas < 0.9 * rect.area))
        if int(inside.sum()) >= 2:
            best = rect
    return best


def legend_swatches(fills: Sequence[Fill], config: VectorConfig) -> set[int]:
    """Orders of fills that are legend swatches or scale-bar blocks: filled rectangles of at
    most ``config.swatch_max_area_pt2`` of which at least ``config.swatch_min_count`` share
    their size and their left edge (a legend column) or their top edge (a scale bar), to
    0.5 pt."""
    lines: dict[tuple[str, int, int, int], list[int]] = defaultdict(list)
    for fill in fills:
        if not fill.is_rect:
            continue
        x0, y0, x1, y1 = fill.geometry.bounds
        if (x1 - x0) * (y1 - y0) <= config.swatch_max_area_pt2:
            size = (round(2 * (x1 - x0)), round(2 * (y1 - y0)))
            lines[("column", round(2 * x0), *size)].append(fill.order)
            lines[("row", round(2 * y0), *size)].append(fill.order)
    return {order for orders in lines.values() if len(orders) >= config.swatch_min_count
            for order in orders}


def is_background(fill: Fill, frame: Polygon, config: VectorConfig) -> bool:
    """A fill covering ``config.background_min_share`` of the frame is its background."""
    x0, y0, x1, y1 = fill.geometry.bounds
    if (x1 - x0) * (y1 - y0) < config.background_min_share * frame.area:
        return False  # cheap test first: most fills are far smaller than the frame
    covered = shapely.intersection(fill.geometry, frame).area
    return covered >= config.background_min_share * frame.area


def page_kind(page: Any, paths: int, coverage: float, config: VectorConfig,
              words: list[tuple] | None = None) -> PageKind:
    """"text" with at least ``config.text_min_words_per_kpt2`` words per 1000 pt² of page
    and zones covering less than ``config.text_max_coverage`` of the frame (a table counts
    as text); "blank" with no drawings, no words and no images; "map" otherwise.

    Word density, not word-box area: map labels are few and large (and rotated labels have
    huge boxes), a page of regulations is thousands of small words (about 2 per 1000 pt² at
    9 pt; the maps in ../shared/realdata have 0.1-0.5). ``words``: the page's
    ``get_text("words")`` where the caller has it (extracting text again costs as much)."""
    words_count = len(page.get_text("words") if words is None else words)
    if not words_count and paths == 0 and not page.get_images():
        return "blank"
    density = 1000.0 * words_count / max(abs(page.rect), 1.0)
    if density >= config.text_min_words_per_kpt2 and coverage < config.text_max_coverage:
        return "text"
    return "map"
