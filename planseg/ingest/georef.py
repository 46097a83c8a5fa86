"""Georeferencing of a PDF page: PDF frame -> the document's CRS and WGS84.

Two encodings are read (see :mod:`planseg.ingest.georef_iso` and
:mod:`planseg.ingest.georef_ogc`): ISO 32000 viewports (``/VP`` with ``/Measure /Subtype
/GEO``) and the older OGC best practice (``/LGIDict``). Each georeferenced area of the page is a
:class:`GeoViewport` with an affine PDF -> CRS map. A page may carry several (a map and a locator
inset): a point uses the smallest viewport that contains it, the largest is the *primary* one
whose CRS and neatline the page reports.
"""

from __future__ import annotations

import logging
from functools import cached_property

import numpy as np
import pymupdf
import pyproj

from planseg.ingest import georef_iso, georef_ogc
from planseg.ingest.documents import Document
from planseg.ingest.viewport import GeoEncoding, GeoViewport, apply_affine

log = logging.getLogger(__name__)

_WGS84 = pyproj.CRS.from_epsg(4326)


class PageGeoref:
    """The georeferencing of one page: ``viewports`` with the primary (largest) first."""

    def __init__(self, viewports: list[GeoViewport]) -> None:
        if not viewports:
            raise ValueError("PageGeoref needs at least one viewport")
        self.viewports = sorted(viewports, key=lambda v: -v.area_pt2)

    @property
    def primary(self) -> GeoViewport:
        return self.viewports[0]

    @property
    def crs(self) -> pyproj.CRS:
        """The primary viewport's CRS: the CRS of :meth:`pdf_to_crs`."""
        return self.primary.crs

    @property
    def encoding(self) -> GeoEncoding:
        return self.primary.encoding

    @property
    def neatline_pdf(self) -> list[tuple[float, float]] | None:
        """The primary map area's outline (PDF frame), or None when the file gives none."""
        return self.primary.neatline_pdf

    def viewport_index(self, x_pt: np.ndarray, y_pt: np.ndarray) -> np.ndarray:
        """Per point, the index of the smallest viewport containing it (0 when none does)."""
        x_pt, y_pt = np.asarray(x_pt, dtype=float), np.asarray(y_pt, dtype=float)
        chosen = np.zeros(x_pt.shape, dtype=int)
        for index in range(len(self.viewports) - 1, 0, -1):  # smallest last: it wins
            x0, y0, x1, y1 = self.viewports[index].bbox_pdf
            inside = (x_pt >= min(x0, x1)) & (x_pt <= max(x0, x1)) & \
                     (y_pt >= min(y0, y1)) & (y_pt <= max(y0, y1))
            chosen = np.where(inside & (chosen == 0), index, chosen)
        return chosen

    def pdf_to_crs(self, x_pt: np.ndarray, y_pt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """PDF-frame points (any shape, float64) to :attr:`crs` coordinates (x, y)."""
        x_pt, y_pt = np.asarray(x_pt, dtype=float), np.asarray(y_pt, dtype=float)
        out_x, out_y = np.empty_like(x_pt), np.empty_like(y_pt)
        chosen = self.viewport_index(x_pt, y_pt)
        for index in np.unique(chosen):
            mask = chosen == index
            viewport = self.viewports[index]
            vx, vy = apply_affine(viewport.pdf_to_crs, x_pt[mask], y_pt[mask])
            if index != 0 and viewport.crs != self.crs:
                vx, vy = _transformer(viewport.crs, self.crs).transform(vx, vy)
            out_x[mask], out_y[mask] = vx, vy
        return out_x, out_y

    def pdf_to_wgs84(self, x_pt: np.ndarray, y_pt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """PDF-frame points to WGS84 (lon, lat) degrees."""
        x, y = self.pdf_to_crs(x_pt, y_pt)
        lon, lat = self._to_wgs84.transform(x, y)
        return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)

    @cached_property
    def _to_wgs84(self) -> pyproj.Transformer:
        return _transformer(self.crs, _WGS84)

    def __repr__(self) -> str:
        names = ", ".join(v.name for v in self.viewports)
        return f"PageGeoref({self.encoding}, crs={self.crs.name!r}, viewports=[{names}])"


def read_georef(doc: Document, page_index: int) -> PageGeoref | None:
    """The page's georeferencing, or None when it has none (logged at DEBUG, with the reason).

    A ``/VP`` whose ``/Measure`` is not geographic (e.g. a CAD scale ruler ``/Subtype /RL``)
    does not count. ISO 32000 viewports win over an OGC ``/LGIDict`` when a page has both.
    """
    page = doc.load_page(page_index)
    if not 0 < page.xref < doc.pdf.xref_length():
        # a repaired file whose page object MuPDF rebuilt outside the cross-reference table:
        # there is no page dictionary to read keys from
        log.warning("%s page %d: page object outside the cross-reference table; "
                    "georeferencing ignored", doc.path, page_index + 1)
        return None
    for reader in (georef_iso.read_viewports, georef_ogc.read_viewports):
        try:
            viewports = reader(doc.pdf, page.xref, page_index)
        except pymupdf.mupdf.FzErrorBase as exc:  # a damaged page dictionary: like no georef
            log.warning("%s page %d: unreadable georeferencing ignored (%s)",
                        doc.path, page_index + 1, " ".join(str(exc).split()))
            continue
        if viewports:
            return PageGeoref(viewports)
    log.debug("%s page %d: not georeferenced", doc.path, page_index + 1)
    return None


def _transformer(src: pyproj.CRS, dst: pyproj.CRS) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(src, dst, always_xy=True)
