"""Tiling: RLE moved from tile to page frame exactly; zones cut by tile borders come out whole."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import shapely
from pycocotools import mask as mask_utils
from segment_fixtures import ColourRegions, read_json, write_plan_pdf

from planseg.export.config import ExportConfig
from planseg.fsio import sha256_file
from planseg.infer.config import AmgConfig, SegmentConfig, TilingConfig
from planseg.infer.ledger import DocumentKey, Ledger
from planseg.infer.pipeline import DocumentJob, Pipeline
from planseg.infer.tiles import page_tiles, shift_mask_rle
from planseg.workers import InlineExecutor


@pytest.mark.parametrize(("tile_hw", "offset", "page_hw"), [
    ((30, 20), (5, 7), (50, 40)),  # inside the page
    ((50, 20), (3, 0), (50, 40)),  # full page height: runs join across columns
    ((50, 40), (0, 0), (50, 40)),  # the whole page
    ((10, 10), (30, 40), (50, 40)),  # bottom-right corner
])
def test_shift_mask_rle_matches_encoding_the_placed_mask(tile_hw, offset, page_hw) -> None:
    rng = np.random.default_rng(sum(tile_hw) + sum(offset))
    for density in (0.0, 0.5, 1.0):
        mask = rng.random(tile_hw) < density
        page = np.zeros(page_hw, dtype=bool)
        page[offset[1]:offset[1] + tile_hw[0], offset[0]:offset[0] + tile_hw[1]] = mask
        shifted = shift_mask_rle(mask, offset[0], offset[1], page_hw[1], page_hw[0])
        expected = mask_utils.encode(np.asfortranarray(page.astype(np.uint8)))
        assert shifted["counts"] == expected["counts"]
        assert np.array_equal(mask_utils.decode(shifted).astype(bool), page)


def test_small_page_is_one_tile_large_page_is_tiled() -> None:
    tiling = TilingConfig(tile_px=128, overlap_px=32)
    assert len(page_tiles(128, 100, tiling)) == 1
    tiles = page_tiles(414, 585, tiling)
    assert len(tiles) > 4
    assert max(t.x1 for t in tiles) == 414 and max(t.y1 for t in tiles) == 585


def _segment_zones(tmp_path: Path, pdf: Path, tiling: TilingConfig, name: str) -> list:
    out = tmp_path / name
    config = SegmentConfig(inputs=[pdf], out=out, dpi=50, workers=0, tiling=tiling, engine="sam",
                           amg=AmgConfig(prompts="grid"),  # the generator here is no SAM
                           export=ExportConfig(formats=["geojson"], crs="pixel",
                                               simplify_px=0.0, partition=False))
    job = DocumentJob(pdf.name, pdf, DocumentKey(sha256_file(pdf), "colour-regions", "t"))
    outcomes = list(Pipeline(config, ColourRegions(), Ledger(out), InlineExecutor()).run([job]))
    assert [o.error for o in outcomes] == [None]
    collection = read_json(out / pdf.with_suffix(".geojson").name)
    return [shapely.geometry.shape(f["geometry"]) for f in collection["features"]]


def test_zones_cut_by_tile_borders_come_out_as_one_polygon_each(tmp_path: Path) -> None:
    # At 50 DPI the A4 page is 414 x 585 px; 128 px tiles with 32 px overlap put tile borders
    # through both zones, and the large zone (about 160 x 415 px) is wider and taller than
    # any tile, so it is cut in every tile that sees it.
    pdf = write_plan_pdf(tmp_path / "plan.pdf", zones=[
        ((150, 100, 230, 180), (0.9, 0.3, 0.3)),  # small, straddles the first column border
        ((320, 100, 550, 700), (0.3, 0.6, 0.9)),  # larger than a tile
    ])
    whole = _segment_zones(tmp_path, pdf, TilingConfig(tile_px=1024), "whole")
    tiled = _segment_zones(tmp_path, pdf, TilingConfig(tile_px=128, overlap_px=32), "tiled")
    assert len(whole) == 2
    assert len(tiled) == 2, [g.bounds for g in tiled]
    for expected in whole:
        match = max(tiled, key=lambda g: g.intersection(expected).area)
        assert match.geom_type == "Polygon"
        assert match.symmetric_difference(expected).area <= 0.01 * expected.area
