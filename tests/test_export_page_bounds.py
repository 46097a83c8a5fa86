"""Polygons never leave the page raster, whatever the simplification does at its edges."""

from __future__ import annotations

import numpy as np
import shapely

from planseg.export.rle import encode_mask
from planseg.export.vectorize import VectorizeConfig, rle_to_geometry


def test_masks_touching_the_page_edge_stay_inside_the_page() -> None:
    rng = np.random.default_rng(0)
    height, width = 120, 160
    page = shapely.box(0, 0, width, height)
    for trial in range(40):
        mask = np.zeros((height, width), bool)
        # a jagged wedge cut by the left/top/right page edges: sharp angles at the border
        x0, y0 = rng.integers(0, 40, 2)
        for row in range(y0, height):
            mask[row, : max(1, x0 + (row * int(rng.integers(1, 4))) % width)] = True
        mask[:, -int(rng.integers(1, 5)):] = trial % 2 == 0
        geometry = rle_to_geometry(encode_mask(mask), VectorizeConfig(simplify_px=2.0))
        assert geometry is not None and geometry.is_valid
        assert geometry.within(page), (trial, geometry.bounds)
