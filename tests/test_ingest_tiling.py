"""Tiling plans cover the page exactly, with the requested overlap, at every edge."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planseg.ingest import Tile, plan_tiles


def _coverage(tiles: list[Tile], width: int, height: int) -> np.ndarray:
    count = np.zeros((height, width), dtype=int)
    for tile in tiles:
        assert 0 <= tile.x0 < tile.x1 <= width and 0 <= tile.y0 < tile.y1 <= height
        count[tile.y0:tile.y1, tile.x0:tile.x1] += 1
    return count


@settings(max_examples=150, deadline=None)
@given(width=st.integers(1, 700), height=st.integers(1, 700), tile=st.integers(16, 256),
       overlap_fraction=st.floats(0, 0.9))
def test_tiles_cover_every_pixel(width, height, tile, overlap_fraction):
    overlap = int(tile * overlap_fraction)
    tiles = plan_tiles(width, height, tile, overlap)
    assert (_coverage(tiles, width, height) >= 1).all()
    for t in tiles:  # full-size tiles unless the page side is shorter than a tile
        assert t.width_px == min(tile, width) and t.height_px == min(tile, height)
    xs = sorted({t.x0 for t in tiles})
    assert all(b - a <= tile - overlap for a, b in zip(xs, xs[1:], strict=False))  # overlap kept
    assert max(t.x1 for t in tiles) == width and max(t.y1 for t in tiles) == height


def test_known_plan():
    tiles = plan_tiles(250, 100, 100, 20)
    assert [t.xyxy for t in tiles] == [(0, 0, 100, 100), (80, 0, 180, 100), (150, 0, 250, 100)]


def test_page_smaller_than_a_tile_is_one_tile():
    assert plan_tiles(37, 12, 256, 32) == [Tile(0, 0, 37, 12)]


def test_exact_multiple_has_no_sliver():
    tiles = plan_tiles(300, 300, 100, 0)
    assert len(tiles) == 9 and (_coverage(tiles, 300, 300) == 1).all()


@pytest.mark.parametrize(("args", "match"), [
    ((0, 10, 8, 0), "page size"), ((10, 10, 8, 8), "overlap"), ((10, 10, 0, 0), "tile_px"),
    ((10, 10, 8, -1), "overlap"),
])
def test_invalid_arguments(args, match):
    with pytest.raises(ValueError, match=match):
        plan_tiles(*args)
