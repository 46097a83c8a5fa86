"""The map frame (neatline) of a raster page: the rule of :func:`planseg.ingest.mapframe.map_frame`
(the smallest rectangle covering at least ``frame_min_share`` of the page, else the page),
applied to rectangles found in the pixels instead of drawn ones.

Frame: the full-page pixel raster (col, row; origin top-left, y down).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from planseg.ingest.regions_config import RegionsConfig
from planseg.ingest.regions_kind import window_px


@dataclass
class RasterFrame:
    """The map area of a page: ``mask`` HxW bool (inside the neatline); ``corners_xy`` the
    neatline's 4x2 float32 corners in pixels (a rotated rectangle: scans are skewed), or None
    when no neatline was found and the frame is the whole page."""

    mask: np.ndarray
    corners_xy: np.ndarray | None

    @property
    def found(self) -> bool:
        """Whether a neatline was found (else the frame is the whole page)."""
        return self.corners_xy is not None


def raster_map_frame(lines: np.ndarray, dpi: float, config: RegionsConfig) -> RasterFrame:
    """The smallest near-rectangular contour of the dark ``lines`` (HxW bool, at ``dpi``)
    that covers at least ``config.frame_min_share`` of the page; the whole page where none
    does.

    A neatline and the zone outlines joined to it form one dark network whose outer contour
    is the frame; a legend box or title block outside it is a smaller rectangle. Lines are
    dilated by one pixel and long straight runs are redrawn across small gaps
    (:func:`bridge_gaps`) so that a scan's broken strokes still close; each large contour is
    opened (``config.frame_open_mm``) before the rectangle test, which cuts off tick marks
    and boxes joined to the frame by a line running on from one of its edges.
    """
    height, width = lines.shape
    closed = bridge_gaps(cv2.dilate(lines.astype(np.uint8), np.ones((3, 3), np.uint8)), config)
    contours, _ = cv2.findContours(closed, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    floor = config.frame_min_share * height * width
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE,
                                     (window_px(config.frame_open_mm, dpi),) * 2)
    best: tuple[float, np.ndarray] | None = None
    for contour in contours:
        if cv2.contourArea(contour) < floor:
            continue
        found = _rectangle(contour, (height, width), disc, config)
        if found is not None and found[0] >= floor and (best is None or found[0] < best[0]):
            best = found
    if best is None:
        return RasterFrame(mask=np.ones((height, width), dtype=bool), corners_xy=None)
    mask = np.zeros((height, width), dtype=np.uint8)
    cv2.fillPoly(mask, [np.round(best[1]).astype(np.int32)], 1)
    return RasterFrame(mask=mask.astype(bool), corners_xy=best[1].astype(np.float32))


def _rectangle(contour: np.ndarray, shape: tuple[int, int], disc: np.ndarray,
               config: RegionsConfig) -> tuple[float, np.ndarray] | None:
    """(area px, 4x2 corners) of the rotated rectangle that ``contour``, filled and opened
    with ``disc``, is (its largest part covering ``config.frame_min_rectangularity`` of its
    minimum-area rectangle); None when it is no rectangle."""
    filled = np.zeros(shape, dtype=np.uint8)
    cv2.drawContours(filled, [contour], -1, 1, thickness=cv2.FILLED)
    parts, _ = cv2.findContours(cv2.morphologyEx(filled, cv2.MORPH_OPEN, disc),
                                cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not parts:
        return None
    part = max(parts, key=cv2.contourArea)
    area = cv2.contourArea(part)
    (cx, cy), (w, h), angle = cv2.minAreaRect(part)
    if area < config.frame_min_rectangularity * w * h:
        return None
    # Shrink by the dilation: the frame runs along the neatline's centre.
    return area, cv2.boxPoints(((cx, cy), (w - 2.0, h - 2.0), angle))


def bridge_gaps(lines: np.ndarray, config: RegionsConfig) -> np.ndarray:
    """``lines`` (HxW uint8 0/1) with every near-horizontal or near-vertical straight run
    at least ``config.frame_min_side`` of the page's shorter side redrawn, across gaps of up
    to ``config.frame_max_gap`` of it (probabilistic Hough transform): a neatline broken by a
    scan closes again.

    Only runs that survive an opening with a bar of 3% of the side (a skew of a degree or
    two stays inside a dilated stroke) go to the transform: it is slow on a page of
    hatching, and a frame is drawn along the sheet's axes anyway."""
    side = min(lines.shape)
    bar = max(3, int(0.03 * side))
    runs = cv2.morphologyEx(lines, cv2.MORPH_OPEN, np.ones((1, bar), np.uint8)) | \
        cv2.morphologyEx(lines, cv2.MORPH_OPEN, np.ones((bar, 1), np.uint8))
    segments = cv2.HoughLinesP(runs, 1, np.pi / 360,
                               threshold=max(1, int(0.5 * config.frame_min_side * side)),
                               minLineLength=config.frame_min_side * side,
                               maxLineGap=config.frame_max_gap * side)
    bridged = lines.copy()
    for x0, y0, x1, y1 in segments.reshape(-1, 4) if segments is not None else ():
        cv2.line(bridged, (int(x0), int(y0)), (int(x1), int(y1)), 1, 2)
    return bridged
