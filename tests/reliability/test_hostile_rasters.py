"""Hostile pixels for the colour-region reader: degenerate, uniform and noise images give a page
kind and no zones, never an exception (a crash would fail the document, not the batch, but a
scan of nothing must not cost a document)."""

from __future__ import annotations

import numpy as np
import pytest

from planseg.ingest.regions import read_raster_page
from planseg.ingest.regions_config import RegionsConfig

pytestmark = pytest.mark.reliability

RNG = np.random.default_rng(0)
CASES = {
    "one pixel": np.full((1, 1, 3), 200, np.uint8),
    "two rows": np.full((2, 500, 3), 100, np.uint8),
    "all black": np.zeros((300, 300, 3), np.uint8),
    "all white": np.full((300, 300, 3), 255, np.uint8),
    "one colour, no paper": np.full((300, 300, 3), (200, 120, 40), np.uint8),
    "uniform noise": RNG.integers(0, 256, (300, 400, 3), dtype=np.uint8),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_images_give_no_zones_and_no_exception(name: str) -> None:
    page = read_raster_page(CASES[name], 72.0, RegionsConfig())
    assert page.page_kind in ("map", "text", "blank")
    assert page.regions == []
    assert page.frame.mask.shape == CASES[name].shape[:2]
