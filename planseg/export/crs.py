"""Output coordinate frames: pixel, page points, WGS84 and the GeoPDF's native CRS.

- ``pixel``: the full-page raster at the run's dpi, (col, row), y down (as COCO).
- ``page``: PDF points from the displayed page's bottom-left corner, y up, so plans draw
  upright in GIS tools: ``x_pt = col * 72 / dpi``, ``y_pt = height_pt - row * 72 / dpi``.
- ``wgs84``: longitude/latitude (RFC 7946, OGC:CRS84 axis order) through the page's GeoPDF
  georeferencing: pixel -> PDF frame (``pixel_to_pdf``) -> ``georef.pdf_to_wgs84``.
- ``native``: the GeoPDF's own CRS (``georef.pdf_to_crs``), used for GeoPackage.

``auto`` resolves per document: ``wgs84`` (``native`` for GeoPackage) when every page is
georeferenced, else ``page``. Areas in square metres are geodesic, on the WGS84 ellipsoid,
never in degrees.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np
import pyproj
import shapely
from shapely.geometry.base import BaseGeometry

from planseg.export.types import PageMasks

log = logging.getLogger(__name__)

Frame = Literal["pixel", "page", "wgs84", "native"]
_POINT_M = 0.0254 / 72
_GEOD = pyproj.Geod(ellps="WGS84")


def resolve_frame(choice: str, pages: Sequence[PageMasks], *, native: bool = False) -> Frame:
    """The frame one document is written in. ``native`` prefers the GeoPDF CRS over WGS84
    (GeoPackage can store any CRS) when all pages share it."""
    if choice in ("page", "pixel"):
        return choice  # type: ignore[return-value]
    if choice != "auto":
        raise ValueError(f"unknown crs choice {choice!r}")
    georefs = [p.georef for p in pages]
    if pages and all(g is not None for g in georefs):
        if native and len({g.crs.to_wkt() for g in georefs}) == 1:
            return "native"
        return "wgs84"
    if any(g is not None for g in georefs):
        log.warning("%s: only some pages are georeferenced; writing page coordinates",
                    pages[0].document)
    return "page"


def pixel_to_frame(page: PageMasks, frame: Frame) -> Callable[[np.ndarray], np.ndarray]:
    """Function mapping Nx2 float64 pixel (col, row) coordinates to ``frame`` (Nx2)."""
    scale = 72.0 / page.dpi
    if frame == "pixel":
        return lambda xy: xy
    if frame == "page":
        height_pt = page.height_px * scale
        return lambda xy: np.column_stack([xy[:, 0] * scale, height_pt - xy[:, 1] * scale])
    if page.georef is None:
        raise ValueError(f"{page.document} page {page.page_number} is not georeferenced")
    project = page.georef.pdf_to_wgs84 if frame == "wgs84" else page.georef.pdf_to_crs

    def to_crs(xy: np.ndarray) -> np.ndarray:
        x_pt, y_pt = pixel_to_pdf(page, xy)
        return np.column_stack(project(x_pt, y_pt))

    return to_crs


def pixel_to_pdf(page: PageMasks, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nx2 pixel coordinates -> (x_pt, y_pt) arrays in the PDF frame (y up)."""
    matrix = np.asarray(page.pixel_to_pdf, dtype=np.float64)
    homogeneous = np.column_stack([xy, np.ones(len(xy))]) @ matrix.T
    return homogeneous[:, 0] / homogeneous[:, 2], homogeneous[:, 1] / homogeneous[:, 2]


def to_frame(geometry_px: BaseGeometry, page: PageMasks, frame: Frame) -> BaseGeometry:
    """Geometry in the pixel frame -> the same geometry in ``frame``; y-flips are re-oriented
    so exteriors stay counter-clockwise in the output frame (RFC 7946)."""
    moved = shapely.transform(geometry_px, pixel_to_frame(page, frame))
    if not moved.is_valid:  # rounding in a projection can pinch a 1-px neck
        repaired = shapely.make_valid(moved)
        moved = shapely.union_all([p for p in getattr(repaired, "geoms", [repaired])
                                   if shapely.get_type_id(p) in (3, 6)])  # polygonal parts
    return shapely.orient_polygons(moved)


def area_pt2(geometry_px: BaseGeometry, dpi: float) -> float:
    """Area in square PDF points of a pixel-frame geometry."""
    return float(geometry_px.area * (72.0 / dpi) ** 2)


def area_m2(geometry_px: BaseGeometry, page: PageMasks) -> float | None:
    """Geodesic area in square metres (WGS84 ellipsoid), None when not georeferenced."""
    if page.georef is None:
        return None
    lonlat = shapely.transform(geometry_px, pixel_to_frame(page, "wgs84"))
    area, _ = _GEOD.geometry_area_perimeter(lonlat)
    return abs(float(area))


def frame_crs(frame: Frame, page: PageMasks) -> pyproj.CRS | None:
    """The pyproj CRS of a frame: WGS84 / the GeoPDF CRS / an engineering CRS for pages."""
    if frame == "wgs84":
        return pyproj.CRS("OGC:CRS84")
    if frame == "native":
        return page.georef.crs if page.georef is not None else None
    return pyproj.CRS.from_wkt(engineering_wkt(frame, page.dpi))


def engineering_wkt(frame: Literal["page", "pixel"], dpi: float) -> str:
    """WKT2 engineering CRS for page points (y up) or raster pixels (y down), so GDAL and
    QGIS show a plan's true size instead of guessing WGS84."""
    if frame == "page":
        name, unit, metres, y_axis = "planseg page points (y up)", "PDF point", _POINT_M, "north"
    else:
        name, unit, metres, y_axis = (f"planseg page pixels at {dpi:g} dpi (y down)",
                                      "pixel", 0.0254 / dpi, "south")
    length = f'LENGTHUNIT["{unit}",{metres!r}]'
    return (f'ENGCRS["{name}",EDATUM["PDF page"],CS[Cartesian,2],'
            f'AXIS["x",east,ORDER[1],{length}],AXIS["y",{y_axis},ORDER[2],{length}]]')


def crs_member(frame: Frame, pages: Sequence[PageMasks]) -> dict:
    """The GeoJSON top-level ``"planseg:crs"`` member describing the coordinates."""
    dpi = pages[0].dpi if pages else None
    descriptions = {
        "wgs84": ("OGC:CRS84", "degrees", "longitude/latitude from the GeoPDF georeferencing"),
        "page": ("page", "pt", "PDF points from the page's bottom-left corner, y up"),
        "pixel": ("pixel", "px", "pixels of the page raster at dpi, origin top-left, y down"),
        "native": ("native", "crs units", "the GeoPDF's own CRS"),
    }
    name, units, text = descriptions[frame]
    member = {"frame": frame, "crs": name, "units": units, "description": text}
    if frame in ("page", "pixel"):
        member["dpi"] = dpi
    return member
