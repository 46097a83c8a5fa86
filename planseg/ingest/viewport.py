"""A georeferenced area of a page and the affine helpers its readers share.

The two encodings' readers (:mod:`planseg.ingest.georef_iso`, :mod:`planseg.ingest.georef_ogc`)
build :class:`GeoViewport`; :mod:`planseg.ingest.georef` combines them per page. Kept apart so
the readers and the combiner import it, and not each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pyproj

GeoEncoding = Literal["iso32000", "ogc"]


@dataclass(frozen=True)
class GeoViewport:
    """One georeferenced area of a page.

    ``bbox_pdf``: xyxy region of the page (PDF frame) it applies to. ``pdf_to_crs``: 3x3 affine
    from the PDF frame to ``crs`` coordinates (x = easting/longitude, y = northing/latitude).
    ``neatline_pdf``: the map area's outline in the PDF frame, if the file states one.
    """

    name: str
    encoding: GeoEncoding
    crs: pyproj.CRS
    bbox_pdf: tuple[float, float, float, float]
    pdf_to_crs: np.ndarray
    neatline_pdf: list[tuple[float, float]] | None

    @property
    def area_pt2(self) -> float:
        x0, y0, x1, y1 = self.bbox_pdf
        return abs((x1 - x0) * (y1 - y0))


def apply_affine(matrix: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Apply a 3x3 affine (column vectors [x, y, 1]) to coordinate arrays."""
    return (matrix[0, 0] * x + matrix[0, 1] * y + matrix[0, 2],
            matrix[1, 0] * x + matrix[1, 1] * y + matrix[1, 2])


def fit_affine(src_xy: np.ndarray, dst_xy: np.ndarray) -> np.ndarray:
    """Least-squares 3x3 affine mapping Nx2 ``src_xy`` onto Nx2 ``dst_xy``.

    Three or more non-collinear points give a full affine. Two points (some OGC files) give an
    axis-aligned scale and offset per axis (north-up map), as GDAL does.
    """
    src, dst = np.asarray(src_xy, dtype=float), np.asarray(dst_xy, dtype=float)
    matrix = np.eye(3)
    design = np.column_stack([src, np.ones(len(src))])
    if len(src) >= 3 and np.linalg.matrix_rank(design) == 3:
        solution, *_ = np.linalg.lstsq(design, dst, rcond=None)  # 3x2
        matrix[:2, :] = solution.T
        return matrix
    if len(src) < 2 or np.ptp(src[:, 0]) == 0 or np.ptp(src[:, 1]) == 0:
        raise ValueError("control points do not span an area")
    for axis in (0, 1):
        scale = (dst[-1, axis] - dst[0, axis]) / (src[-1, axis] - src[0, axis])
        matrix[axis, axis] = scale
        matrix[axis, 2] = dst[0, axis] - scale * src[0, axis]
    return matrix
