"""Legend swatches found in pixels, for pages whose map is an image (scans, born-digital
rasters): small near-uniform rectangles standing out from the paper.

Why it looks the way it does: on a scan the swatches of a legend column sit a few points
apart, and blur, JPEG ringing and noise bridge those gaps at one "ink" threshold, so a column
reads as one tall box. The page is therefore rendered at the resolution of its own images
(where the gaps are widest) and outlined at several thresholds; a box that only encloses
smaller swatch boxes (a merged column) gives way to them, while a box with only small things
inside (the code printed in it, pieces of a hatch) keeps them out.

Frames: the page is rendered with :func:`planseg.ingest.render.render_page` (full displayed
page, pixel (col, row), y down); swatch boxes are returned in the displayed page frame
(points, top-left origin, y down), ``point = pixel * 72 / dpi``.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import pymupdf

from planseg.ingest.documents import Document
from planseg.ingest.legend_types import Swatch
from planseg.ingest.render import render_page

_MAX_PIXELS = 6_000_000  # enough for 9 pt swatches on A0; a legend needs no more
_MAX_DPI, _DEFAULT_DPI = 200.0, 150.0  # a 300 dpi scan's legend reads as well at 200
#: RGB distances from the paper tone that count as "drawn": the lowest finds faint swatches
#: without an outline; the higher ones cut the blurred gaps between outlined swatches
_INK_DISTANCES = (40.0, 80.0, 120.0)
_MIN_SIDE_PT, _MAX_WIDTH_PT, _MAX_HEIGHT_PT = 4.0, 150.0, 60.0
_MODE_RADIUS = 20.0  # RGB distance around a swatch's fill that scan noise stays within
_SAME_COLOUR = 25.0  # RGB distance under which two scanned colours are one (noise, JPEG)

BoxPx = tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive), pixel frame


def raster_swatches(doc: Document, page_index: int) -> list[Swatch]:
    """Rectangles (axis-aligned within 5 degrees: scans are skewed) of 4-150 x 4-60 pt whose
    outline fills at least 85 % of its rotated box, with their dominant and hatch colours;
    boxes are the axis-aligned bounds (displayed page, points)."""
    page = doc.load_page(page_index)
    dpi = legend_dpi(page)
    image = cv2.medianBlur(render_page(doc, page_index, dpi=dpi).image, 3)
    paper = paper_rgb(image)
    ink_distance = np.linalg.norm(image.astype(np.float32) - paper, axis=2)
    scale = 72.0 / dpi
    boxes: list[BoxPx] = []
    for threshold in _INK_DISTANCES:
        boxes += rectangles_px((ink_distance > threshold).astype(np.uint8), scale)
    colours_of = {}  # hatch cells go first: the cells of a hatched swatch must not hide it
    for box in set(boxes):
        colours = dominant_colours(image[box[1]:box[3], box[0]:box[2]], paper)
        if colours is not None and stands_alone(image, box, colours[0], paper, dpi):
            colours_of[box] = colours
    kept = resolve_nesting(list(colours_of), lambda a, b: np.linalg.norm(
        np.subtract(colours_of[a][0], colours_of[b][0])) < _SAME_COLOUR)
    return [Swatch(tuple(v * scale for v in box), *colours_of[box])
            for box in kept if not _label_glyph(box, kept)]


def legend_dpi(page: pymupdf.Page) -> float:
    """The DPI to look for swatches at: the finest resolution of the page's images (a scan
    is read at its own pixels; rendering below them blurs the gaps between swatches away),
    at most 200 and within the pixel budget; 150 for a page without images."""
    native = 0.0
    for info in page.get_image_info():
        x0, y0, x1, y1 = info.get("bbox", (0, 0, 0, 0))
        if x1 - x0 > 1 and y1 - y0 > 1:
            native = max(native, 72.0 * min(info["width"] / (x1 - x0),
                                            info["height"] / (y1 - y0)))
    budget = 72.0 * float(np.sqrt(_MAX_PIXELS / max(page.rect.width * page.rect.height, 1.0)))
    return max(1.0, min(native or _DEFAULT_DPI, _MAX_DPI, budget))


def rectangles_px(ink: np.ndarray, scale: float) -> list[BoxPx]:
    """Bounding boxes of the contours (outer and holes) of a HxW uint8 0/1 ``ink`` mask that
    are swatch-sized rectangles: ``scale`` points per pixel, tilted at most 5 degrees, the
    contour filling at least 85 % of its rotated box."""
    contours, _ = cv2.findContours(ink, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    boxes = []
    for contour in contours:
        x, y, w, h = cv2.boundingRect(contour)
        if not _swatch_sized(w * scale, h * scale):
            continue
        (_, (rect_w, rect_h), angle) = cv2.minAreaRect(contour)  # a scan is skewed a little
        tilt = min(angle % 90, 90 - angle % 90)
        if tilt > 5 or cv2.contourArea(contour) < 0.85 * rect_w * rect_h:
            continue
        boxes.append((x, y, x + w, y + h))
    return boxes


def resolve_nesting(boxes: list[BoxPx],
                    same_colour: Callable[[BoxPx, BoxPx], bool] | None = None,
                    ) -> list[BoxPx]:
    """One box per swatch from boxes found at several thresholds, smallest first:

    - a box around one that fills most of it (>= 60 %) is the same swatch (its outline's
      outer edge, or a lower threshold): the outer one stays where ``same_colour(outer,
      inner)`` says they agree (a faint swatch shrinks at a higher threshold), else the
      inner one (the outer one took in something else);
    - a box around two or more that together fill half of it is a merged column: they stay;
    - a box around only small ones is a swatch with a code or hatch pieces in it: it stays
      and they go.
    """
    kept: list[BoxPx] = []
    for box in sorted(set(boxes), key=_area):
        inside = [k for k in kept if _contains(box, k)]
        if inside:
            areas = [_area(k) for k in inside]
            biggest = inside[int(np.argmax(areas))]
            if max(areas) >= 0.6 * _area(box):
                if len(inside) == 1 and same_colour is not None and same_colour(box, biggest):
                    kept[kept.index(biggest)] = box
                continue
            if len(inside) >= 2 and sum(areas) >= 0.5 * _area(box):
                continue
            kept = [k for k in kept if k not in inside]
        kept.append(box)
    return kept


def stands_alone(image: np.ndarray, box: BoxPx, fill: tuple[int, int, int],
                 paper: np.ndarray, dpi: float) -> bool:
    """False when the colour of ``box`` (pixel frame) goes on across a thin line past one of
    its sides: a cell between the lines of a hatched zone, not a swatch. Past a side, the
    strips 1-1.8 pt and 1.8-3 pt out (beyond a hatch line, at most 0.9 pt) must not both
    have the fill as their median colour; between legend swatches the first falls in the
    gap (2 pt or more, blurred grey on a poor scan), the second in the neighbour, which may
    be a like shade. Paper-coloured boxes (empty legend boxes, table cells) are not tested."""
    fill_rgb = np.asarray(fill, np.float32)
    if np.linalg.norm(fill_rgb - paper) < _SAME_COLOUR:
        return True
    steps = np.maximum(1, np.round(np.array([1.0, 1.8, 3.0]) * dpi / 72)).astype(int)
    steps[1:] = np.maximum(steps[1:], steps[:-1] + 1)
    for side in range(4):
        medians = [_side_strip_median(image, box, side, int(a), int(b))
                   for a, b in zip(steps[:-1], steps[1:], strict=True)]
        if all(m is not None and np.linalg.norm(m - fill_rgb) < _SAME_COLOUR
               for m in medians):
            return False
    return True


def _side_strip_median(image: np.ndarray, box: BoxPx, side: int, near: int,
                       far: int) -> np.ndarray | None:
    """Median colour (float RGB) of the strip ``near``-``far`` pixels outside side ``side``
    (0 top, 1 bottom, 2 left, 3 right) of ``box``; None where it leaves the image."""
    x0, y0, x1, y1 = box
    height, width = image.shape[:2]
    strip = (image[y0 - far:y0 - near, x0:x1] if side == 0 and y0 - far >= 0 else
             image[y1 + near:y1 + far, x0:x1] if side == 1 and y1 + far <= height else
             image[y0:y1, x0 - far:x0 - near] if side == 2 and x0 - far >= 0 else
             image[y0:y1, x1 + near:x1 + far] if side == 3 and x1 + far <= width else None)
    if strip is None or strip.size == 0:
        return None
    return np.median(strip.reshape(-1, 3).astype(np.float32), axis=0)


def _label_glyph(box: BoxPx, boxes: list[BoxPx]) -> bool:
    """``box`` starts just right of a box 1.25-3 times as tall and lies within its rows: the
    first letters of that swatch's label (a blurred code such as "R2" outlines as a small box)."""
    x0, y0, _, y1 = box
    for _, oy0, ox1, oy1 in boxes:
        tall = oy1 - oy0
        if 0.3 * tall <= (y1 - y0) < 0.8 * tall and oy0 - 1 <= y0 and y1 <= oy1 + 1 \
                and ox1 <= x0 <= ox1 + tall:
            return True
    return False


def paper_rgb(image: np.ndarray) -> np.ndarray:
    """The paper tone: the median colour of the page's outer 2 % band (float RGB)."""
    height, width = image.shape[:2]
    band = max(2, int(0.02 * min(height, width)))
    border = np.concatenate([image[:band].reshape(-1, 3), image[-band:].reshape(-1, 3),
                             image[:, :band].reshape(-1, 3), image[:, -band:].reshape(-1, 3)])
    return np.median(border, axis=0).astype(np.float32)


def dominant_colours(patch: np.ndarray, paper: np.ndarray,
                     ) -> tuple[tuple[int, int, int], tuple[int, int, int] | None] | None:
    """(fill, hatch or None) of a swatch patch (HxWx3 uint8), or None when no colour
    dominates it (two unlike halves, a glyph). Read inside an inset, away from the outline.

    The fill is the densest colour (a mode, refined by two mean-shift steps): under a hatch
    blurred at scan resolution the median is a mix of fill and lines, while the fill between
    the lines is still the most frequent colour, as it is around a code written on the
    swatch. A hatch is a second colour, far from the fill, on a good share of the pixels."""
    h, w = patch.shape[:2]
    dy, dx = max(1, int(0.25 * h)), max(1, int(0.15 * w))
    inner_2d = patch[dy:h - dy, dx:w - dx].astype(np.float32)
    inner = inner_2d.reshape(-1, 3)
    if len(inner) < 4:
        return None
    fill, share = _mode(inner)
    off = np.linalg.norm(inner - fill, axis=1) >= 30
    others = inner[off]
    second = _mode(others)[1] * len(others) / len(inner) if len(others) >= 4 else 0.0
    if share < 0.3 or (second > 0.8 * share and _pieces(off.reshape(inner_2d.shape[:2])) < 3):
        return None  # no colour dominates, and the other is no hatch but a block of its own
    band = np.concatenate([patch[dy:2 * dy + 1, dx:w - dx], patch[h - 2 * dy - 1:h - dy,
                                                                  dx:w - dx]]).reshape(-1, 3)
    band_other = np.linalg.norm(band.astype(np.float32) - fill, axis=1) >= 30
    hatch = None  # blur and noise give a few off pixels: a hatch is many, and far off
    mixed = _mixed_ends(inner, fill) if share < 0.75 else None
    if mixed is not None:
        fill, line = mixed
        hatch = _rgb8(line)
    elif len(others) >= 0.12 * len(inner) and band_other.mean() >= 0.10:
        median = np.median(others, axis=0)
        if np.linalg.norm(median - fill) >= 45:
            hatch = _rgb8(median)
            fill = _unmixed_fill(inner, fill, median)
    return _rgb8(fill), hatch


def _mixed_ends(pixels: np.ndarray, mode: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(fill, line colour) of a swatch whose colours run from one to the other (a hatch
    2-3 pt apart, blurred: few pixels are pure either way), or None when they do not spread
    beyond scan noise. The ends are the outer tenths along the colours' main axis; the fill
    is the end nearer the mode."""
    centred = pixels - pixels.mean(axis=0)
    axis = np.linalg.svd(centred[::max(1, len(centred) // 400)], full_matrices=False)[2][0]
    along = centred @ axis
    low, high = np.quantile(along, [0.1, 0.9])
    if high - low < 45:
        return None
    ends = pixels[along >= high].mean(axis=0), pixels[along <= low].mean(axis=0)
    if np.linalg.norm(ends[0] - mode) > np.linalg.norm(ends[1] - mode):
        ends = ends[::-1]
    return ends


def _unmixed_fill(pixels: np.ndarray, fill: np.ndarray, hatch: np.ndarray) -> np.ndarray:
    """The fill under a hatch: on a small scanned swatch blur mixes every pixel between
    the lines with the line colour, so the mode leans towards the hatch; the quarter of the
    fill-like pixels farthest from the hatch colour are the least mixed."""
    candidates = pixels[np.linalg.norm(pixels - fill, axis=1) < 2 * _MODE_RADIUS]
    away = np.linalg.norm(candidates - hatch, axis=1)
    return candidates[away >= np.quantile(away, 0.75)].mean(axis=0)


def _pieces(mask: np.ndarray) -> int:
    """Connected pieces (8-connected) of a HxW bool mask: the lines of a hatch are several."""
    return cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)[0] - 1


def _mode(pixels: np.ndarray) -> tuple[np.ndarray, float]:
    """(densest colour, share of ``pixels`` within 20 of it) of (N, 3) float32 colours: the
    sample colour with the most neighbours, then two mean-shift steps."""
    sample = pixels[::max(1, len(pixels) // 200)]  # a stride: deterministic, ~200 colours
    neighbours = (np.linalg.norm(sample[:, None] - sample[None], axis=2) < _MODE_RADIUS).sum(1)
    centre = sample[int(neighbours.argmax())]
    for _ in range(2):
        near = np.linalg.norm(pixels - centre, axis=1) < _MODE_RADIUS
        centre = pixels[near].mean(axis=0)
    near = np.linalg.norm(pixels - centre, axis=1) < _MODE_RADIUS
    return centre, float(near.mean())


def _rgb8(colour: np.ndarray) -> tuple[int, int, int]:
    r, g, b = (int(round(float(c))) for c in colour)
    return r, g, b


def _swatch_sized(width: float, height: float) -> bool:
    low, high = min(width, height), max(width, height)
    return low >= _MIN_SIDE_PT and high <= _MAX_WIDTH_PT and low <= _MAX_HEIGHT_PT \
        and high / low <= 8.0


def _area(box: BoxPx) -> int:
    return (box[2] - box[0]) * (box[3] - box[1])


def _contains(outer: BoxPx, inner: BoxPx) -> bool:
    """``inner`` lies in ``outer`` (one pixel of slack: contours at two thresholds differ)."""
    return outer[0] <= inner[0] + 1 and outer[1] <= inner[1] + 1 and \
        outer[2] >= inner[2] - 1 and outer[3] >= inner[3] - 1
