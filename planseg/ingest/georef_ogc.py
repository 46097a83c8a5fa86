"""OGC best-practice GeoPDF (TerraGo, ArcGIS): the page's ``/LGIDict`` (one or an array).

Each LGIDict maps the page to a CRS by ``/CTM`` (a PDF matrix from the PDF frame to CRS units)
or, without it, by ``/Registration`` pairs ``[x_pt y_pt X Y]``; ``/Neatline`` outlines the map
area in the PDF frame; ``/Projection`` describes the CRS by an OGC projection code and datum
code (``TC`` transverse Mercator on ``NAS-E`` = NAD27, ``UT`` UTM, ``GEOGRAPHIC``...).
Numbers are often written as strings, which :func:`planseg.ingest.pdfobj.numbers` accepts.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pymupdf
import pyproj
from pyproj.crs import ProjectedCRS
from pyproj.crs import coordinate_operation as ops
from pyproj.crs.coordinate_system import Cartesian2DCS
from pyproj.crs.enums import Cartesian2DCSAxis

from planseg.ingest.pdfobj import numbers, read_object, resolve
from planseg.ingest.viewport import GeoViewport, fit_affine

log = logging.getLogger(__name__)

# OGC best-practice datum codes (a prefix names the datum, the suffix its region) -> EPSG
_DATUM_PREFIX_EPSG = {"WGE": 4326, "WGC": 4322, "NAR": 4269, "NAS": 4267, "EUR": 4230}
_ELLIPSOIDS = {"WE": "WGS84", "RF": "GRS80", "CC": "clrk66", "IN": "intl", "BR": "bessel",
               "WD": "WGS72", "CD": "clrk80"}
_AXES = {"M": Cartesian2DCSAxis.EASTING_NORTHING, "FT": Cartesian2DCSAxis.EASTING_NORTHING_FT,
         "USFT": Cartesian2DCSAxis.EASTING_NORTHING_US_FT}


def read_viewports(pdf: pymupdf.Document, page_xref: int, page_index: int) -> list[GeoViewport]:
    """Georeferenced areas from the page's /LGIDict (or the catalog's, for 1-page files)."""
    source = _lgidict_source(pdf, page_xref)
    if source is None:
        return []
    value = resolve(pdf, read_object(pdf, source).get("LGIDict"))
    entries = value if isinstance(value, list) else [value]
    found = []
    for position, entry in enumerate(entries):
        try:
            viewport = _viewport(pdf, resolve(pdf, entry), position)
        except (ValueError, TypeError, KeyError, pyproj.exceptions.CRSError) as exc:
            log.warning("page %d: ignoring LGIDict %d (%s)", page_index + 1, position, exc)
            continue
        found.append(viewport)
    return found


def _lgidict_source(pdf: pymupdf.Document, page_xref: int) -> int | None:
    """The xref of the object holding /LGIDict: the page, or the catalog of a 1-page file
    (version 2.0 of the best practice put it there)."""
    holders = [page_xref] + ([pdf.pdf_catalog()] if pdf.page_count == 1 else [])
    for xref in holders:
        if pdf.xref_get_key(xref, "LGIDict")[0] not in ("null", "undefined"):
            return xref
    return None


def _viewport(pdf: pymupdf.Document, lgi: dict[str, Any], position: int) -> GeoViewport:
    crs = projection_to_crs(resolve(pdf, lgi["Projection"]))
    neatline = None
    if lgi.get("Neatline") is not None:
        flat = np.array(numbers(pdf, lgi["Neatline"])).reshape(-1, 2)
        neatline = [(float(x), float(y)) for x, y in flat]
    if lgi.get("CTM") is not None:
        a, b, c, d, e, f = numbers(pdf, lgi["CTM"])
        pdf_to_crs = np.array([[a, c, e], [b, d, f], [0.0, 0.0, 1.0]])
    else:
        pairs = np.array([numbers(pdf, p) for p in resolve(pdf, lgi["Registration"])])
        pdf_to_crs = fit_affine(pairs[:, :2], pairs[:, 2:4])
    if neatline is not None:
        xs, ys = zip(*neatline, strict=True)
        bbox = (min(xs), min(ys), max(xs), max(ys))
    else:
        pairs = np.array([numbers(pdf, p) for p in resolve(pdf, lgi.get("Registration") or [])])
        if len(pairs) < 2:
            raise ValueError("no /Neatline and too few /Registration points to bound the map")
        bbox = (pairs[:, 0].min(), pairs[:, 1].min(), pairs[:, 0].max(), pairs[:, 1].max())
    name = str(resolve(pdf, lgi.get("Description")) or f"LGIDict{position}")
    return GeoViewport(name=name, encoding="ogc", crs=crs, bbox_pdf=bbox,
                       pdf_to_crs=pdf_to_crs, neatline_pdf=neatline)


def datum_to_crs(datum: Any) -> pyproj.CRS:
    """Geographic CRS of an OGC datum: a code such as ``WGE`` or ``NAS-E``, or a dictionary
    with ``/Ellipsoid`` (code) and optional ``/ToWGS84`` << /dx /dy /dz ... >>."""
    if isinstance(datum, dict):
        ellipsoid = str(datum.get("Ellipsoid", "WE"))
        if ellipsoid not in _ELLIPSOIDS:
            raise ValueError(f"unsupported ellipsoid code {ellipsoid!r}")
        shift = datum.get("ToWGS84") or {}
        towgs84 = ",".join(str(float(shift.get(k, 0))) for k in
                           ("dx", "dy", "dz", "rx", "ry", "rz", "sf"))
        return pyproj.CRS.from_proj4(f"+proj=longlat +ellps={_ELLIPSOIDS[ellipsoid]} "
                                     f"+towgs84={towgs84} +no_defs")
    code = str(datum).upper()
    epsg = _DATUM_PREFIX_EPSG.get(code[:3])
    if epsg is None:
        raise ValueError(f"unsupported datum code {datum!r}")
    return pyproj.CRS.from_epsg(epsg)


def projection_to_crs(projection: dict[str, Any]) -> pyproj.CRS:
    """A pyproj CRS from an OGC best-practice /Projection dictionary."""
    geographic = datum_to_crs(projection.get("Datum", "WGE"))
    kind = str(projection.get("ProjectionType", "")).upper()
    if kind in ("GEOGRAPHIC", "GEO", "GEOG"):
        return geographic
    conversion = _conversion(kind, projection)
    units = str(projection.get("Units", "M")).upper()
    if units not in _AXES:
        raise ValueError(f"unsupported /Units {units!r}")
    return ProjectedCRS(conversion=conversion, geodetic_crs=geographic,
                        cartesian_cs=Cartesian2DCS(axis=_AXES[units]),
                        name=f"{geographic.name} / {kind}")


def _conversion(kind: str, p: dict[str, Any]) -> Any:
    def num(key: str, default: float = 0.0) -> float:
        return float(p.get(key, default))

    if kind == "UT":
        south = str(p.get("Hemisphere", "N")).upper().startswith("S")
        return ops.UTMConversion(int(num("Zone")), hemisphere="S" if south else "N")
    if kind in ("TC", "MC"):  # natural origin + scale factor
        cls = ops.TransverseMercatorConversion if kind == "TC" else ops.MercatorAConversion
        # Mercator's natural origin is on the equator whatever /OriginLatitude says
        return cls(latitude_natural_origin=num("OriginLatitude") if kind == "TC" else 0.0,
                   longitude_natural_origin=num("CentralMeridian"),
                   scale_factor_natural_origin=num("ScaleFactor", 1.0),
                   false_easting=num("FalseEasting"), false_northing=num("FalseNorthing"))
    if kind in ("LE", "AC"):  # conics with two standard parallels
        cls = (ops.LambertConformalConic2SPConversion if kind == "LE"
               else ops.AlbersEqualAreaConversion)
        return cls(latitude_first_parallel=num("StandardParallelOne"),
                   latitude_second_parallel=num("StandardParallelTwo"),
                   latitude_false_origin=num("OriginLatitude"),
                   longitude_false_origin=num("CentralMeridian"),
                   easting_false_origin=num("FalseEasting"),
                   northing_false_origin=num("FalseNorthing"))
    raise ValueError(f"unsupported /ProjectionType {kind!r}")
