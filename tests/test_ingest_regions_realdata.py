"""Colour regions on the real image-only plans in ../shared/realdata/planning (skipped where
absent). Values read off the rendered pages by eye, 2026-11-30."""

from __future__ import annotations

from pathlib import Path

import pytest

from planseg.ingest.documents import open_document
from planseg.ingest.regions import read_raster_page
from planseg.ingest.regions_config import RegionsConfig
from planseg.ingest.render import render_page

PLANNING = Path(__file__).resolve().parents[1].parent / "shared" / "realdata" / "planning"


def planning_map(name: str) -> Path:
    path = PLANNING / name
    if not path.is_file():
        pytest.skip(f"real documents not available ({path} is absent)")
    return path


@pytest.fixture(scope="module")
def plainfield():
    """us_vt_plainfield_scan.pdf at 72 DPI: a photocopied colour zoning map in 17 image
    strips, no text layer; the map (a tilted quadrilateral) covers about a fifth of the page,
    inside wide white margins."""
    with open_document(planning_map("us_vt_plainfield_scan.pdf")) as doc:
        image = render_page(doc, 0, dpi=72).image
    return image, read_raster_page(image, 72, RegionsConfig())


def test_a_scanned_map_with_wide_margins_is_a_map(plainfield) -> None:
    """Its colour covers 23 % of the page (under the 25 % rule) and its faint boundary
    lines break into glyph-sized pieces, which once made it a "text" page; its one
    connected coloured area (20 % of the page) says map."""
    _, page = plainfield
    assert page.page_kind == "map"


def test_the_scanned_districts_come_out(plainfield) -> None:
    """The page shows Forest/Agriculture (blue-grey) over most of the town, two Reserve
    areas (green, east and north), Rural Residential and the Village District (yellow-green,
    north-west), and ponds: at least 5 regions, the largest most of the map."""
    image, page = plainfield
    areas = sorted((int(r.mask.sum()) for r in page.regions), reverse=True)
    assert len(areas) >= 5
    coloured = sum(areas)
    assert areas[0] > 0.5 * coloured  # Forest/Agriculture
    assert coloured < 0.35 * image.shape[0] * image.shape[1]  # not the white margins
