"""Legend swatches found in pixels, for pages whose map is an image (scans, born-digital
rasters): small near-uniform rectangles standing out from the paper.

Frames: the page is rendered with :func:`planseg.ingest.render.render_page` (full displayed
page, pixel (col, row), y down); swatch boxes are returned in the displayed page frame
(points, top-left origin, y down), ``point = pixel * 72 / dpi``.
"""

from __future__ import annotations

import cv2
import numpy as np

from planseg.ingest.documents import Document
from planseg.ingest.legend_types import Swatch
from planseg.ingest.render import render_page

_MAX_PIXELS = 6_000_000  # enough for 9 pt swatches on A0; a legend needs no more
_MAX_DPI = 100.0
_INK_DISTANCE = 40.0  # RGB distance from the paper tone that counts as "drawn"
_MIN_SIDE_PT, _MAX_WIDTH_PT, _MAX_HEIGHT_PT = 4.0, 150.0, 60.0


def raster_swatches(doc: Document, page_index: int) -> list[Swatch]:
    """Rectangles (axis-aligned within 5 degrees: scans are skewed) of 4-150 x 4-60 pt whose
    outline fills at least 85 % of its rotated box, with their dominant and hatch colours;
    boxes are the axis-aligned bounds."""
    page = doc.load_page(page_index)
    dpi = min(_MAX_DPI, 72.0 * float(np.sqrt(_MAX_PIXELS / (page.rect.width
                                                             * page.rect.height))))
    image = cv2.medianBlur(render_page(doc, page_index, dpi=dpi).image, 3)
    paper = paper_rgb(image)
    ink = (np.linalg.norm(image.astype(np.float32) - paper, axis=2) > _INK_DISTANCE)
    contours, _ = cv2.findContours(ink.astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    scale = 72.0 / dpi
    swatches = []
    for contour in contours:
        x, y, w, h = cv2.boundingRect(contour)
        if not _swatch_sized(w * scale, h * scale):
            continue
        (_, (rect_w, rect_h), angle) = cv2.minAreaRect(contour)  # a scan is skewed a little
        tilt = min(angle % 90, 90 - angle % 90)
        if tilt > 5 or cv2.contourArea(contour) < 0.85 * rect_w * rect_h:
            continue
        colours = dominant_colours(image[y:y + h, x:x + w], paper)
        if colours is None:
            continue
        box = (x * scale, y * scale, (x + w) * scale, (y + h) * scale)
        swatches.append(Swatch(box, colours[0], colours[1]))
    return _distinct_boxes(swatches)


def paper_rgb(image: np.ndarray) -> np.ndarray:
    """The paper tone: the median colour of the page's outer 2 % band (float RGB)."""
    height, width = image.shape[:2]
    band = max(2, int(0.02 * min(height, width)))
    border = np.concatenate([image[:band].reshape(-1, 3), image[-band:].reshape(-1, 3),
                             image[:, :band].reshape(-1, 3), image[:, -band:].reshape(-1, 3)])
    return np.median(border, axis=0).astype(np.float32)


def dominant_colours(patch: np.ndarray, paper: np.ndarray,
                     ) -> tuple[tuple[int, int, int], tuple[int, int, int] | None] | None:
    """(fill, hatch or None) of a swatch patch (HxWx3 uint8): the fill is the mean of the
    pixels near the median colour inside the box (an inset, away from its outline), robust to
    hatch lines and a code written on it; a hatch is a second colour, far from the fill, on a
    good share of the pixels (on small swatches a code inside can pass for one)."""
    h, w = patch.shape[:2]
    dy, dx = max(1, int(0.25 * h)), max(1, int(0.15 * w))
    inner = patch[dy:h - dy, dx:w - dx].reshape(-1, 3).astype(np.float32)
    if len(inner) < 4:
        return None
    near = np.linalg.norm(inner - np.median(inner, axis=0), axis=1) < 30
    if not near.any():  # no colour near the median (two halves of unlike colours): no swatch
        return None
    fill = inner[near].mean(axis=0)
    others = inner[~near]
    band = np.concatenate([patch[dy:2 * dy + 1, dx:w - dx], patch[h - 2 * dy - 1:h - dy,
                                                                  dx:w - dx]]).reshape(-1, 3)
    band_other = np.linalg.norm(band.astype(np.float32) - fill, axis=1) >= 30
    hatch = None  # blur and noise give a few off pixels: a hatch is many, and far off
    if len(others) >= 0.12 * len(inner) and band_other.mean() >= 0.10:
        median = np.median(others, axis=0)
        if np.linalg.norm(median - fill) >= 45:
            hatch = _rgb8(median)
    return _rgb8(fill), hatch


def _rgb8(colour: np.ndarray) -> tuple[int, int, int]:
    r, g, b = (int(round(float(c))) for c in colour)
    return r, g, b


def _swatch_sized(width: float, height: float) -> bool:
    low, high = min(width, height), max(width, height)
    return low >= _MIN_SIDE_PT and high <= _MAX_WIDTH_PT and low <= _MAX_HEIGHT_PT \
        and high / low <= 8.0


def _distinct_boxes(swatches: list[Swatch]) -> list[Swatch]:
    """Drop a box found twice (outer and inner contour of one outlined swatch): keep inner."""
    kept: list[Swatch] = []
    for swatch in sorted(swatches, key=lambda s: (s.box[2] - s.box[0]) * (s.box[3] - s.box[1])):
        if not any(_contains(swatch.box, other.box) for other in kept):
            kept.append(swatch)
    return kept


def _contains(outer: tuple[float, ...], inner: tuple[float, ...]) -> bool:
    return outer[0] <= inner[0] + 0.5 and outer[1] <= inner[1] + 0.5 and \
        outer[2] >= inner[2] - 0.5 and outer[3] >= inner[3] - 0.5
