"""Colour regions of a raster page: the zones of a planning map as areas of one colour.

The recipe (:func:`read_raster_page`):

1. denoise (a small median: scan and JPEG noise) and absorb strokes (a median wider than the
   hatch spacing: hatch lines, outlines and label strokes are a minority of every window, so
   the window takes the fill's colour while edges between fills stay put);
2. decide the page kind (:mod:`.regions_kind`) and find the map frame (:mod:`.regions_frame`);
3. find the page's colours as the peaks of a CIELAB histogram of the frame (as many as the
   data has: a flat fill is a sharp peak, two shades of one class stay two peaks);
4. give every pixel its nearest colour; paper-like and ink-dark colours are not zones;
5. connected components per colour; small ones (symbols, label remains) and strips (roads)
   are not zones; zones then grow into the unassigned pixels (outlines, labels) so that
   neighbours meet on their shared line and labels leave no holes.

Each :class:`Region` carries a prompt point at its pole of inaccessibility (the maximum of
its distance transform: far from every boundary, hatch and label) for a later SAM pass.
Frame: the full-page pixel raster at ``dpi`` (col, row; origin top-left, y down).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np
from scipy import ndimage
from skimage.feature import peak_local_max
from skimage.segmentation import expand_labels

from planseg.ingest.mapframe import PageKind
from planseg.ingest.regions_config import RegionsConfig
from planseg.ingest.regions_frame import RasterFrame, raster_map_frame
from planseg.ingest.regions_kind import (
    area_px,
    pixel_classes,
    raster_page_kind,
    rgb_to_lab,
    window_px,
)

Crop = tuple[slice, slice]  # (rows, cols) of a page: a region's bounding box


@dataclass
class Region:
    """One colour region (a zone candidate) of a page.

    ``mask``: HxW bool over the full page; ``rgb``: its dominant colour (median of the
    hatch-free page over the region); ``point_xy``: (col, row) of its pole of
    inaccessibility, a prompt point; ``score``: 0..1, the share of the region whose colour
    is its own (1 for a flat fill, less for hatched, labelled or noisy regions).
    """

    mask: np.ndarray
    rgb: tuple[int, int, int]
    point_xy: tuple[int, int]
    score: float
    crop: Crop  # the rows and columns of the page that hold the mask

    @property
    def bbox_xywh(self) -> tuple[float, float, float, float]:
        """The mask's box in pixels (exclusive width and height)."""
        view = self.mask[self.crop]
        rows, cols = np.nonzero(view.any(axis=1))[0], np.nonzero(view.any(axis=0))[0]
        col0, row0 = _shifted((int(cols[0]), int(rows[0])), self.crop)
        return (float(col0), float(row0), float(cols[-1] - cols[0] + 1),
                float(rows[-1] - rows[0] + 1))


@dataclass
class RasterPage:
    """What the colour reader found on a page: its kind, its map frame and its regions
    (none unless the page is a map); ``gaps_xy``: (col, row) prompt points of the map's
    zone-sized areas that no region covers (white zones, hatch-only zones, the zones of a
    line plan), one at each area's pole of inaccessibility."""

    page_kind: PageKind
    frame: RasterFrame
    regions: list[Region]
    gaps_xy: list[tuple[int, int]] = field(default_factory=list)


def read_raster_page(image: np.ndarray, dpi: float, config: RegionsConfig,
                     words_per_kpt2: float | None = None) -> RasterPage:
    """Kind, frame and colour regions of a page. ``image``: HxWx3 uint8 RGB of the full page
    at ``dpi``; ``words_per_kpt2``: its text layer's word density (None without one)."""
    denoised = cv2.medianBlur(image, window_px(config.denoise_mm, dpi))
    fill = cv2.medianBlur(denoised, window_px(config.hatch_window_mm, dpi))
    fill_lab = rgb_to_lab(fill)
    classes = pixel_classes(image, fill_lab, dpi, config)
    kind = raster_page_kind(classes, dpi, config, words_per_kpt2)
    frame = raster_map_frame(classes.frame_lines, dpi, config)
    if kind != "map":
        return RasterPage(page_kind=kind, frame=frame, regions=[])
    regions = colour_regions(fill, fill_lab, frame.mask, classes.paper, dpi, config)
    if len(regions) < 2 and frame.corners_xy is not None:
        # a "neatline" around one colour is the outline of a large zone, not the map's frame
        frame = RasterFrame(mask=np.ones(frame.mask.shape, dtype=bool), corners_xy=None)
        regions = colour_regions(fill, fill_lab, frame.mask, classes.paper, dpi, config)
    min_px = area_px(config.min_region_mm2, dpi)
    return RasterPage(page_kind=kind, frame=frame,
                      regions=[_region(mask, crop, fill, fill_lab, colour, min_px, config)
                               for mask, colour, crop in regions],
                      gaps_xy=uncovered_points(frame.mask, [(m, c) for m, _, c in regions],
                                               classes.lines, dpi, config))


def uncovered_points(frame_mask: np.ndarray, region_masks: list[tuple[np.ndarray, Crop]],
                     lines: np.ndarray, dpi: float, config: RegionsConfig
                     ) -> list[tuple[int, int]]:
    """(col, row) prompt points where SAM may find zones the colours did not, inside
    ``frame_mask`` (HxW bool) and outside every region (``region_masks``: HxW bool masks, each
    with the crop that holds it): the pole of inaccessibility of each
    zone-sized, non-strip area that ``lines`` (HxW bool) enclose (a paper-white zone, a zone
    of a line plan; not the paper margin at the frame's edge), then a grid of
    ``config.gap_grid_mm`` over what is left at least half ``config.gap_open_mm`` from
    everything else (hatch-only zones, an orthophoto; not roads): points whose
    neighbourhood holds lines (blank paper gets none)."""
    min_px = area_px(config.min_region_mm2, dpi)
    free = frame_mask.copy()
    for mask, crop in region_masks:
        free[crop] &= ~mask[crop]
    blank, _ = _components(free & ~lines, min_px, config)
    edge = _frame_edge(frame_mask)
    points = [_shifted(pole_of_inaccessibility(zone), crop) for crop, zone in blank
              if not (zone & edge[crop]).any()]  # else a margin of paper
    for crop, zone in blank:  # prompted once, or a margin of paper: no grid there
        free[crop] &= ~zone
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (window_px(config.gap_open_mm, dpi),) * 2)
    textured = cv2.erode(free.astype(np.uint8), disc).astype(bool)
    if not textured.any():
        return points
    step = window_px(config.gap_grid_mm, dpi)
    density = cv2.blur(lines.astype(np.float32), (step, step))
    rows, cols = np.mgrid[step // 2:lines.shape[0]:step, step // 2:lines.shape[1]:step]
    rows, cols = rows.ravel(), cols.ravel()
    chosen = textured[rows, cols] & (density[rows, cols] >= config.gap_min_line_share)
    return points + [(int(c), int(r)) for r, c in zip(rows[chosen], cols[chosen], strict=True)]


def _frame_edge(frame_mask: np.ndarray) -> np.ndarray:
    """HxW bool: the pixels on or outside the edge of the map frame or of the page (an area
    that reaches them is a margin of paper, not a zone enclosed by lines)."""
    inner = cv2.erode(np.pad(frame_mask, 1).astype(np.uint8), np.ones((3, 3), np.uint8))
    return ~inner[1:-1, 1:-1].astype(bool)


def _shifted(point_xy: tuple[int, int], crop: Crop) -> tuple[int, int]:
    """(col, row) in ``crop`` -> (col, row) on the page."""
    return point_xy[0] + crop[1].start, point_xy[1] + crop[0].start


def colour_regions(fill: np.ndarray, fill_lab: np.ndarray, frame_mask: np.ndarray,
                   paper: np.ndarray, dpi: float,
                   config: RegionsConfig) -> list[tuple[np.ndarray, np.ndarray, Crop]]:
    """(mask HxW bool, colour (3,) Lab, the crop holding the mask) of every zone inside
    ``frame_mask`` (HxW bool) of the hatch-free page ``fill`` (HxWx3 uint8 RGB; ``fill_lab``
    its HxWx3 float32 CIELAB); ``paper``: (3,) Lab."""
    min_px = area_px(config.min_region_mm2, dpi)
    if not frame_mask.any():
        return []
    modes = colour_modes(fill_lab[frame_mask], config, min_px)
    if len(modes) == 0:  # no colour holds enough pixels to be a zone
        return []
    nearest = assign_modes(fill, modes, config)
    nearest[~frame_mask] = -1
    is_zone_colour = (np.linalg.norm(modes - paper, axis=1) > config.paper_max_de) \
        & (modes[:, 0] >= config.ink_max_l)
    labels = np.zeros(nearest.shape, dtype=np.int32)  # 0: unassigned, 1: not a zone
    labels[(nearest >= 0) & ~is_zone_colour[np.maximum(nearest, 0)]] = 1
    labels[~frame_mask] = 1
    colours: list[np.ndarray] = []
    for k in np.flatnonzero(is_zone_colour):
        zones, strip_px = _components(nearest == k, min_px, config)
        if strip_px > sum(int(zone.sum()) for _, zone in zones):
            # Mostly strips: the map's background showing between zones (roads), whose
            # wider pieces (junctions, squares) are not zones either.
            labels[nearest == k] = 1
            continue
        for crop, zone in zones:
            labels[crop][zone] = len(colours) + 2
            colours.append(modes[k])
    labels = expand_labels(labels, distance=window_px(config.expand_mm, dpi, minimum=1))
    crops = ndimage.find_objects(labels)  # label L's box at L - 1
    return [(_label_mask(labels, index + 2, crops[index + 1]), colour, crops[index + 1])
            for index, colour in enumerate(colours)]


def _label_mask(labels: np.ndarray, label: int, crop: Crop) -> np.ndarray:
    """HxW bool ``labels == label``, compared inside ``crop`` only (a map has hundreds of
    regions: a full-page comparison each was a tenth of a large page's time), column-major
    (pycocotools encodes it without a transposed copy)."""
    mask = np.zeros(labels.shape, dtype=bool, order="F")
    mask[crop] = labels[crop] == label
    return mask


def colour_modes(pixels_lab: np.ndarray, config: RegionsConfig, min_count: float) -> np.ndarray:
    """(K, 3) float32 Lab: the peaks of the histogram of ``pixels_lab`` (N, 3) with bins of
    ``config.colour_bin_de``, lightly smoothed, that hold at least ``min_count`` pixels
    within one bin of the peak, strongest first, none within ``config.mode_merge_de`` of a
    stronger one. K follows the data."""
    step = config.colour_bin_de
    low = pixels_lab.min(axis=0)
    bins = np.floor((pixels_lab - low) / step).astype(np.int64)
    shape = tuple(int(v) + 1 for v in bins.max(axis=0))
    flat = np.ravel_multi_index(bins.T, shape)
    hist = np.bincount(flat, minlength=int(np.prod(shape))).reshape(shape).astype(np.float32)
    near = ndimage.uniform_filter(hist, size=3, mode="constant") * 27.0
    peaks = peak_local_max(ndimage.gaussian_filter(hist, 0.7), min_distance=1,
                           exclude_border=False)
    peaks = peaks[near[tuple(peaks.T)] >= min_count]
    peaks = peaks[np.argsort(-near[tuple(peaks.T)], kind="stable")]
    modes: list[np.ndarray] = []
    for peak in peaks:
        inside = np.ravel_multi_index(peak, shape) == flat
        colour = np.median(pixels_lab[inside], axis=0)
        if all(np.linalg.norm(colour - m) > config.mode_merge_de for m in modes):
            modes.append(colour)
    return np.asarray(modes, dtype=np.float32).reshape(-1, 3)


def assign_modes(image: np.ndarray, modes: np.ndarray, config: RegionsConfig) -> np.ndarray:
    """HxW int32: the index of the nearest of ``modes`` (K, 3) CIELAB for every pixel of
    ``image`` (HxWx3 uint8 RGB), -1 where none is within ``config.assign_max_de``. Computed
    once per distinct colour (a map has far fewer colours than pixels)."""
    if not len(modes):
        return np.full(image.shape[:2], -1, dtype=np.int32)
    keys = (image[..., 0].astype(np.int32) << 16) | (image[..., 1].astype(np.int32) << 8) \
        | image[..., 2]
    distinct, inverse = np.unique(keys.ravel(), return_inverse=True)
    rgb = np.stack([distinct >> 16, (distinct >> 8) & 255, distinct & 255], axis=1)
    lab = rgb_to_lab(rgb.astype(np.uint8)[:, None, :])[:, 0, :]
    distance = np.linalg.norm(lab[:, None, :] - modes[None], axis=2)
    nearest = np.where(distance.min(axis=1) <= config.assign_max_de, distance.argmin(axis=1), -1)
    return nearest[inverse.ravel()].astype(np.int32).reshape(image.shape[:2])


def _components(mask: np.ndarray, min_px: float,
                config: RegionsConfig) -> tuple[list[tuple[Crop, np.ndarray]], int]:
    """(zones, strip pixels) of ``mask`` (HxW bool): its connected components of at least
    ``min_px`` pixels that are not strips (area over the squared widest inscribed diameter
    at most ``config.strip_max_elongation``), each as its bounding box on the page and the
    component inside it (bool), and the pixel count of those that are strips."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8),
                                                               connectivity=4)
    zones, strip_px = [], 0
    for index in np.flatnonzero(stats[1:, cv2.CC_STAT_AREA] >= min_px) + 1:
        x, y, w, h, area = stats[index]
        component = labels[y:y + h, x:x + w] == index
        if area > config.strip_max_elongation * (2.0 * _inscribed_radius(component)) ** 2:
            strip_px += int(area)
            continue
        zones.append(((slice(int(y), int(y + h)), slice(int(x), int(x + w))), component))
    return zones, strip_px


def _inscribed_radius(mask: np.ndarray) -> float:
    """Radius in pixels of the largest disc inside ``mask`` (HxW bool)."""
    padded = np.pad(mask.astype(np.uint8), 1)
    return float(cv2.distanceTransform(padded, cv2.DIST_L2, 5).max())


def pole_of_inaccessibility(mask: np.ndarray) -> tuple[int, int]:
    """(col, row) of the pixel of ``mask`` (HxW bool) furthest from its outside: the
    maximum of its distance transform (the page border counts as outside)."""
    distance = cv2.distanceTransform(np.pad(mask.astype(np.uint8), 1), cv2.DIST_L2, 5)
    row, col = np.unravel_index(int(distance.argmax()), distance.shape)
    return int(col) - 1, int(row) - 1


def _region(mask: np.ndarray, crop: Crop, fill: np.ndarray, fill_lab: np.ndarray,
            colour: np.ndarray, min_px: float, config: RegionsConfig) -> Region:
    """A :class:`Region` for ``mask`` (held by ``crop``): median colour, prompt point and
    score: the share of its pixels of its own colour, scaled down below 4x the size floor
    ``min_px`` (small regions are more often remains of a hatch or a label than zones: they
    rank last). Computed inside the crop: the same pixels in the same order as the page."""
    inside = mask[crop]
    distance = np.linalg.norm(fill_lab[crop][inside] - colour, axis=1)
    rgb = np.median(fill[crop][inside], axis=0)
    size = min(1.0, float(inside.sum()) / (4.0 * min_px))
    return Region(mask=mask, rgb=(int(rgb[0]), int(rgb[1]), int(rgb[2])),
                  # the crop's outside is the mask's outside: the same pole as on the page
                  point_xy=_shifted(pole_of_inaccessibility(inside), crop),
                  score=float(np.mean(distance <= config.assign_max_de)) * (0.5 + 0.5 * size),
                  crop=crop)
