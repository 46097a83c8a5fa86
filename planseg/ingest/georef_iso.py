"""ISO 32000 geospatial viewports: ``/VP [<< /BBox /Measure << /Subtype /GEO ... >> >>]``.

``/LPTS`` are points in the viewport's BBox as fractions (0..1) of its width and height,
``/GPTS`` the matching (lat, lon) pairs in the geographic CRS behind ``/GCS``; ``/Bounds`` (same
unit square) outlines the map area. For a projected ``/GCS`` the GPTS are projected first, then
an affine is fitted from page points to CRS coordinates - the map is drawn in that projection.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pymupdf
import pyproj

from planseg.ingest.pdfobj import numbers, read_object, resolve
from planseg.ingest.viewport import GeoViewport, fit_affine

log = logging.getLogger(__name__)

_DEFAULT_BOUNDS = [0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.0]  # ISO 32000-2 default: the BBox


def read_viewports(pdf: pymupdf.Document, page_xref: int, page_index: int) -> list[GeoViewport]:
    """Geographic viewports of the page (none for a page without /VP or with only /RL ones)."""
    if pdf.xref_get_key(page_xref, "VP")[0] in ("null", "undefined"):
        return []  # the cheap check first: most pages have no /VP
    found = []
    for position, entry in enumerate(resolve(pdf, read_object(pdf, page_xref).get("VP")) or []):
        try:
            viewport = _viewport(pdf, resolve(pdf, entry), position)
        except (ValueError, TypeError, KeyError, pyproj.exceptions.CRSError) as exc:
            log.warning("page %d: ignoring malformed /VP viewport %d (%s)",
                        page_index + 1, position, exc)
            continue
        if viewport is not None:
            found.append(viewport)
    return found


def _viewport(pdf: pymupdf.Document, vp: dict[str, Any], position: int) -> GeoViewport | None:
    measure = resolve(pdf, vp.get("Measure"))
    if not isinstance(measure, dict) or measure.get("Subtype") != "GEO":
        return None  # e.g. /Subtype /RL: a scale ruler, not georeferencing
    x0, y0, x1, y1 = numbers(pdf, vp["BBox"])
    crs = gcs_to_crs(resolve(pdf, measure["GCS"]))
    gpts = np.array(numbers(pdf, measure["GPTS"])).reshape(-1, 2)  # (lat, lon) rows
    bounds = np.array(numbers(pdf, measure["Bounds"]) if "Bounds" in measure
                      else _DEFAULT_BOUNDS).reshape(-1, 2)
    lpts = bounds if measure.get("LPTS") is None else np.array(
        numbers(pdf, measure["LPTS"])).reshape(-1, 2)
    if len(lpts) != len(gpts):
        raise ValueError(f"{len(lpts)} LPTS for {len(gpts)} GPTS")
    page_xy = np.column_stack([x0 + lpts[:, 0] * (x1 - x0), y0 + lpts[:, 1] * (y1 - y0)])
    crs_xy = _geographic_to_crs(crs, lon=gpts[:, 1], lat=gpts[:, 0])
    neatline = [(x0 + u * (x1 - x0), y0 + v * (y1 - y0)) for u, v in bounds]
    name = str(resolve(pdf, vp.get("Name")) or f"VP{position}")
    return GeoViewport(name=name, encoding="iso32000", crs=crs,
                       bbox_pdf=(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)),
                       pdf_to_crs=fit_affine(page_xy, crs_xy), neatline_pdf=neatline)


def gcs_to_crs(gcs: dict[str, Any]) -> pyproj.CRS:
    """A pyproj CRS from an ISO 32000 /GCS dictionary (EPSG code preferred over WKT)."""
    if gcs.get("EPSG") is not None:
        return pyproj.CRS.from_epsg(int(gcs["EPSG"]))
    if gcs.get("WKT"):
        return pyproj.CRS.from_wkt(str(gcs["WKT"]))
    raise ValueError("/GCS has neither /EPSG nor /WKT")


def _geographic_to_crs(crs: pyproj.CRS, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    if crs.is_geographic:
        return np.column_stack([lon, lat])
    base = crs.geodetic_crs
    x, y = pyproj.Transformer.from_crs(base, crs, always_xy=True).transform(lon, lat)
    return np.column_stack([x, y])
