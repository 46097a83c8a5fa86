"""The base map under a plan: grey footprints the legend does not name are not zones.

Plans are drawn over a cadastral or topographic base: a Bebauungsplan over the ALK's
building footprints, a policies map over Ordnance Survey. In a vector PDF each footprint is
a filled path like a zone, all of one neutral grey (Plochingen: 191 footprints in
(173, 173, 173) beside 26 land-use areas). The legend says what the plan's zones are; a grey
it does not name, filling many drawn shapes, is the base, and a planner does not want it
among the zones.

A page's polygons are base map when all of these hold: the legend was read and has entries
(without one nothing tells base from plan), no legend swatch is within the class colour
threshold of its fill (a grey the legend names stays, even where two such greys are too close
for colour to classify), the polygon is unclassified, it is a drawn zone
(``source`` "vector": its colour is the path's exact fill, so "one grey" is exact), its fill
is a neutral grey (CIELAB chroma at most :data:`GREY_MAX_CHROMA`, neither paper nor ink),
and at least ``export.base_map_min_count`` polygons of the page share that exact fill.
Colour regions of scans are never dropped: their colours are noisy, and a grey zone the
legend fails to match is still a zone.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

import numpy as np

from planseg.export.classes import delta_e_matrix, max_delta_e

if TYPE_CHECKING:
    from planseg.export.config import ExportConfig
    from planseg.export.features import PageFeature
    from planseg.ingest.legend_types import PageLegend

GREY_MAX_CHROMA = 5.0  # CIELAB a*b* chroma: a grey, not a tint
GREY_L = (30.0, 95.0)  # darker is ink, lighter is paper (never zones anyway)


def base_map_features(features: list[PageFeature], legend: PageLegend | None,
                      config: ExportConfig) -> list[bool]:
    """For each of a page's ``features`` (class properties already assigned), whether it is
    base map (see the module's rules; ``config.base_map_min_count`` and the legend's class
    colour threshold, :func:`~planseg.export.classes.max_delta_e`)."""
    if legend is None or not legend.entries:
        return [False] * len(features)
    fills = [_grey_fill(f) for f in features]
    counts = Counter(fill for fill in fills if fill is not None)
    greys = [fill for fill, count in counts.items()
             if count >= config.base_map_min_count and _is_grey(fill)]
    if greys:
        nearest = delta_e_matrix(greys, [e.rgb for e in legend.entries]).min(axis=1)
        greys = [grey for grey, distance in zip(greys, nearest, strict=True)
                 if distance > max_delta_e(legend, config)]  # a grey the legend names
    return [fill in greys for fill in fills]


def _grey_fill(feature: PageFeature) -> tuple[int, ...] | None:
    """The exact fill of an unclassified drawn zone, else None."""
    properties = feature.properties
    if properties.get("source") != "vector" or properties.get("class_source") is not None:
        return None
    fill = properties.get("fill_rgb")
    return None if fill is None else tuple(int(c) for c in fill)


def _is_grey(rgb: tuple[int, ...]) -> bool:
    """Whether 8-bit sRGB ``rgb`` is a neutral grey between ink and paper."""
    from skimage.color import rgb2lab  # ~0.3 s import: only for pages with a legend

    lightness, a, b = rgb2lab(np.asarray(rgb, np.float64).reshape(1, 1, 3) / 255)[0, 0]
    return bool(np.hypot(a, b) <= GREY_MAX_CHROMA and GREY_L[0] < lightness < GREY_L[1])
