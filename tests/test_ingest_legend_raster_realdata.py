"""Legends read from pixels on the real image-only maps in ../shared/realdata/planning
(skipped where the folder is absent).

Expected values were written down on 2026-11-30 by looking at each page rendered with PyMuPDF
(the legend cropped, 250-600 dpi) and by sampling each swatch's centre column at 300 dpi.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from planseg.export.classes import delta_e_2000
from planseg.ingest.documents import open_document
from planseg.ingest.legend import read_legend
from planseg.ingest.legend_types import PageLegend

REALDATA = Path(__file__).resolve().parents[1].parent / "shared" / "realdata" / "planning"
pytestmark = [pytest.mark.skipif(not REALDATA.is_dir(), reason="no ../shared/realdata/planning"),
              pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")]


def _legend(name: str) -> PageLegend:
    with open_document(REALDATA / name) as doc:
        return read_legend(doc, 0)


# Plainfield, VT: "Legend" / "Zoning" bottom left, five swatches without outlines, 15 x 7 pt,
# 3 pt apart, labels in capitals right of them (no text layer). Colours sampled at 300 dpi.
PLAINFIELD_ZONING = [
    ("FLOODPLAIN", (158, 232, 232), 893.5),  # light cyan
    ("FOREST/AGRICULTURE", (118, 194, 206), 903.0),  # teal blue
    ("RESERVE", (129, 214, 170), 912.5),  # sea green
    ("RURAL RESIDENTIAL", (188, 212, 177), 922.0),  # grey green
    ("VILLAGE DISTRICT", (234, 247, 168), 932.0),  # pale yellow
]


def test_plainfield_zoning_swatches_are_read_from_the_scan() -> None:
    """The second legend column ("Rivers, Lakes, and Ponds", a lone blue swatch, then line
    symbols for streams and roads) has no column of swatches: it is not a legend group."""
    legend = _legend("us_vt_plainfield_scan.pdf")
    assert legend.source == "raster"
    assert len(legend.entries) == len(PLAINFIELD_ZONING)
    height_pt = 1224.0  # entry boxes are in the PDF frame (y up)
    for entry, (name, rgb, top_pt) in zip(legend.entries, PLAINFIELD_ZONING, strict=True):
        assert entry.code is None and entry.label is None  # no text layer to name them
        assert delta_e_2000(rgb, [entry.rgb])[0] < 3.0, name
        x0, y0, x1, y1 = entry.box_pt
        # the pale yellow one touches a margin line at the faintest ink threshold and is
        # outlined a little inside its edge (37.8-49.8 pt): same row, same colour
        assert 35 <= x0 <= 38.5 and 49 <= x1 <= 53, name
        assert abs((height_pt - y1) - top_pt) < 1.5, name
        assert entry.hatch_rgb is None, name


def test_cumbria_policies_map_has_no_colour_legend() -> None:
    """Its only key ("Broad Areas for Waste Development") is one point symbol over a list
    BRO1-BRO5; the rest of the page is an Ordnance Survey base with lettered inset frames.
    Nothing on it is a column of colour swatches."""
    legend = _legend("uk_cumbria_policiesmap_raster.pdf")
    assert legend.entries == [] and legend.source is None and legend.notes
