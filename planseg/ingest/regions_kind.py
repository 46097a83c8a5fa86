"""What a raster page's pixels are (paper, lines, colour) and what kind of page it is.

Frame: the full-page pixel raster at ``dpi`` (col, row; origin top-left, y down). Images are
HxWx3 uint8 RGB; CIELAB arrays are HxWx3 float32 with L in 0..100 (OpenCV's float scale).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from planseg.ingest.mapframe import PageKind
from planseg.ingest.regions_config import RegionsConfig

MM_PER_INCH = 25.4


def window_px(mm: float, dpi: float, minimum: int = 3) -> int:
    """An odd window size in pixels covering ``mm`` millimetres at ``dpi`` (at least
    ``minimum``): what median filters and structuring elements take."""
    size = max(minimum, int(round(mm * dpi / MM_PER_INCH)))
    return size if size % 2 else size + 1


def area_px(mm2: float, dpi: float) -> float:
    """``mm2`` square millimetres in pixels at ``dpi``."""
    return mm2 * (dpi / MM_PER_INCH) ** 2


def rgb_to_lab(image: np.ndarray) -> np.ndarray:
    """HxWx3 uint8 RGB (sRGB) -> HxWx3 float32 CIELAB (L 0..100, a and b about -128..127)."""
    return cv2.cvtColor(image.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)


#: Paper is near-neutral: white, grey or a scan's yellowed tint (synth scans: chroma < 15).
PAPER_MAX_CHROMA = 25.0


def paper_lab(lab: np.ndarray) -> np.ndarray:
    """(3,) float32: the paper's colour, the commonest near-neutral colour (4-unit Lab bins,
    chroma under :data:`PAPER_MAX_CHROMA`, at least 2 % of the page) among the brighter half
    of the page, else the commonest colour there; refined as the median of that bin's pixels.
    The brighter half, because a map can cover more of the sheet than its margins do; near
    neutral, because a zone of one light colour can cover more of it than the paper."""
    pixels = lab.reshape(-1, 3)
    bright = pixels[pixels[:, 0] >= np.median(pixels[:, 0])]
    bins = np.floor(bright / 4.0).astype(np.int32) + np.array([0, 40, 40], dtype=np.int32)
    keys = (bins[:, 0] << 16) | (bins[:, 1] << 8) | bins[:, 2]  # L/4 < 26, a/4 and b/4 < 40
    distinct, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    a_bin, b_bin = ((distinct >> 8) & 0xFF) - 40, (distinct & 0xFF) - 40
    chroma = 4.0 * np.hypot(a_bin + 0.5, b_bin + 0.5)
    neutral = (chroma < PAPER_MAX_CHROMA) & (counts >= 0.02 * len(pixels))
    best = np.flatnonzero(neutral)[counts[neutral].argmax()] if neutral.any() else counts.argmax()
    return np.median(bright[inverse == best], axis=0).astype(np.float32)


@dataclass
class PixelClasses:
    """Per-pixel classes of a page (HxW bool each, full-page pixel frame).

    ``lines``: dark strokes (outlines, glyphs) of the page as rendered; ``frame_lines``: the
    same found more eagerly (a wider, fainter stroke still counts: a scan's neatline), for
    the frame only, where words running together do no harm; ``colour``: pixels of the
    hatch-free page that are neither paper nor ink - candidate zone fill; ``paper``: the
    paper's CIELAB colour, (3,) float32.
    """

    lines: np.ndarray
    frame_lines: np.ndarray
    colour: np.ndarray
    paper: np.ndarray


def pixel_classes(image: np.ndarray, fill_lab: np.ndarray, dpi: float,
                  config: RegionsConfig) -> PixelClasses:
    """Lines from ``image`` (HxWx3 uint8 RGB as rendered: any median would erase one-pixel
    strokes), colour from ``fill_lab`` (HxWx3 float32 CIELAB of the page with strokes and
    hatch absorbed by a wide median), both at ``dpi``.

    A line pixel is dark (``config.line_max_l``) or darker than its surroundings by
    ``config.line_min_contrast`` (a black-hat of ``config.line_max_mm``): a thin stroke over
    white paper is anti-aliased to a mid grey at low DPI."""
    paper = paper_lab(fill_lab)
    lightness = cv2.cvtColor(image, cv2.COLOR_RGB2Lab)[..., 0].astype(np.float32) * (100 / 255)
    dark = lightness < config.line_max_l
    lines = dark | (_contrast(lightness, config.line_max_mm, dpi) > config.line_min_contrast)
    frame_lines = dark | (_contrast(lightness, config.frame_line_max_mm, dpi)
                          > config.frame_line_min_contrast)
    distance = np.linalg.norm(fill_lab - paper, axis=2)
    # Twice the paper tolerance: a scan's paper shades towards its edges.
    colour = (distance > 2 * config.paper_max_de) & (fill_lab[..., 0] >= config.ink_max_l)
    return PixelClasses(lines=lines, frame_lines=frame_lines, colour=colour, paper=paper)


def _contrast(lightness: np.ndarray, width_mm: float, dpi: float) -> np.ndarray:
    """HxW float32: how much darker each pixel is than its surroundings (a black-hat with a
    disc of ``width_mm``: strokes narrower than it stand out)."""
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (window_px(width_mm, dpi),) * 2)
    return cv2.morphologyEx(lightness, cv2.MORPH_BLACKHAT, disc)


def raster_page_kind(classes: PixelClasses, dpi: float, config: RegionsConfig,
                     words_per_kpt2: float | None = None) -> PageKind:
    """"blank" when colour and lines each cover less than ``config.blank_max_ink_share`` of
    the page; "text" (a table too) when colour covers less than
    ``config.text_max_colour_share``, no connected coloured area covers
    ``config.map_min_area_share``, and either the text layer is dense (``words_per_kpt2``,
    None without a text layer) or the lines are mostly glyph-sized components; "map"
    otherwise (colour regions, or a line drawing).

    Colour alone does not decide: dense paragraphs on a scan blur into grey bands that a
    wide median does not remove, so a page of text shows some "colour" too."""
    colour_share = float(classes.colour.mean())
    if colour_share < config.blank_max_ink_share and \
            float(classes.lines.mean()) < config.blank_max_ink_share:
        return "blank"
    if colour_share >= config.text_max_colour_share or \
            largest_area_share(classes.colour) >= config.map_min_area_share:
        return "map"
    if words_per_kpt2 is not None and words_per_kpt2 >= config.text_min_words_per_kpt2:
        return "text"
    return "text" if glyph_share(classes.lines, dpi, config) >= config.text_min_glyph_share \
        else "map"


def largest_area_share(mask: np.ndarray) -> float:
    """Share of the page (HxW bool ``mask``) covered by its largest connected component."""
    count, _, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    return float(stats[1:, cv2.CC_STAT_AREA].max() / mask.size) if count > 1 else 0.0


def glyph_share(lines: np.ndarray, dpi: float, config: RegionsConfig) -> float:
    """Share of line pixels (HxW bool) in connected components whose box is at most
    ``config.glyph_max_mm`` on its longer side: letters, digits, small symbols."""
    count, _, stats, _ = cv2.connectedComponentsWithStats(lines.astype(np.uint8), connectivity=8)
    stats = stats[1:]  # row 0 is the background
    if count <= 1:
        return 0.0
    longest = np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT])
    small = longest <= config.glyph_max_mm * dpi / MM_PER_INCH
    return float(stats[small, cv2.CC_STAT_AREA].sum() / stats[:, cv2.CC_STAT_AREA].sum())
