"""Coordinates: georeferenced pages land on the analytic WGS84/native positions; areas in m²."""

from __future__ import annotations

import json
import re

import numpy as np
import pymupdf
import pyogrio
import pyogrio.raw
import pyproj
import pytest
import shapely

from planseg import ingest
from planseg.export.config import ExportConfig
from planseg.export.crs import area_m2, resolve_frame, to_frame
from planseg.export.document import export_document
from planseg.export.types import Detection, PageMasks

DPI = 50.0
W_PT, H_PT = 864.0, 576.0  # 600 x 400 px at 50 DPI
H_PX, W_PX = 400, 600
UTM32N = pyproj.CRS.from_epsg(32632)
_TO_WGS84 = pyproj.Transformer.from_crs(UTM32N, "OGC:CRS84", always_xy=True)
_GEOD = pyproj.Geod(ellps="WGS84")
# ISO 32000 control points: LPTS (fractions of the viewport BBox) -> GPTS (lat, lon).
LPTS = [(0.0, 0.0), (0.0, 1.0), (1.0, 0.0)]
GPTS = [(48.125, 11.5), (48.127, 11.5), (48.125, 11.504)]
_written_gpts: list[tuple[float, float]] = []  # as MuPDF wrote them (it rounds reals)


def _analytic_pdf_to_utm() -> np.ndarray:
    """3x3 affine PDF points -> UTM 32N through the three control points, as written."""
    to_utm = pyproj.Transformer.from_crs(UTM32N.geodetic_crs, UTM32N, always_xy=True)
    utm = np.array([to_utm.transform(lon, lat) for lat, lon in _written_gpts])
    page = np.array([(u * W_PT, v * H_PT, 1.0) for u, v in LPTS])
    affine = np.eye(3)
    affine[:2] = np.linalg.solve(page, utm).T
    return affine


@pytest.fixture
def geopdf_page(tmp_path) -> PageMasks:
    """A GeoPDF written with PyMuPDF's xref API (ISO 32000 /VP, UTM 32N), read back through
    planseg.ingest, with one 400 x 200 px zone and the code "B2" drawn inside it."""
    path = tmp_path / "geo.pdf"
    with pymupdf.open() as doc:
        page = doc.new_page(width=W_PT, height=H_PT)
        page.insert_text((300, 290), "B2", fontsize=14)  # display y down: inside the zone
        page.insert_text((20, 20), "Legend", fontsize=10)  # outside
        lpts = " ".join(f"{u:g} {v:g}" for u, v in LPTS)
        gpts = " ".join(f"{lat!r} {lon!r}" for lat, lon in GPTS)
        measure = (f"<< /Type /Measure /Subtype /GEO /LPTS [{lpts}] /GPTS [{gpts}] "
                   "/GCS << /Type /PROJCS /EPSG 32632 >> >>")
        doc.xref_set_key(page.xref, "VP", f"[<< /Type /Viewport /BBox [0 0 {W_PT:g} {H_PT:g}] "
                                          f"/Name (map) /Measure {measure} >>]")
        doc.save(path)
    with pymupdf.open(path) as doc:
        written = re.search(r"/GPTS\s*\[([^\]]*)\]", doc.xref_object(doc[0].xref, compressed=True))
    values = [float(v) for v in written.group(1).split()]
    _written_gpts[:] = list(zip(values[0::2], values[1::2], strict=True))
    with ingest.open_document(path) as doc:
        georef = ingest.read_georef(doc, 0)
        words = ingest.page_words(doc, 0)
        pixel_to_pdf, _ = ingest.page_transforms(doc, 0, DPI)
        assert ingest.page_pixel_size(doc, 0, DPI) == (W_PX, H_PX)
    assert georef is not None and georef.crs.to_epsg() == 32632
    return _page(georef, words=words, pixel_to_pdf=pixel_to_pdf)


def _page(georef=None, document: str = "geo.pdf", words=(), pixel_to_pdf=None) -> PageMasks:
    mask = np.zeros((H_PX, W_PX), bool)
    mask[100:300, 50:450] = True  # 400 x 200 px = 576 x 288 pt
    scale = 72.0 / DPI
    if pixel_to_pdf is None:
        pixel_to_pdf = np.array([[scale, 0, 0], [0, -scale, H_PX * scale], [0, 0, 1]])
    return PageMasks(document=document, page_number=1, width_px=W_PX, height_px=H_PX,
                     dpi=DPI, pixel_to_pdf=pixel_to_pdf, georef=georef, words=list(words),
                     detections=[Detection.from_mask(mask)])


def _analytic_utm(col: float, row: float) -> tuple[float, float]:
    x_pt, y_pt = col * 72 / DPI, H_PT - row * 72 / DPI
    east, north, _ = _analytic_pdf_to_utm() @ np.array([x_pt, y_pt, 1.0])
    return east, north


def _analytic_lonlat(col: float, row: float) -> tuple[float, float]:
    return _TO_WGS84.transform(*_analytic_utm(col, row))


CORNERS_PX = [(50, 100), (450, 100), (450, 300), (50, 300)]


def test_georeferenced_page_lands_within_half_a_metre(geopdf_page, tmp_path) -> None:
    export_document([geopdf_page], tmp_path,
                    ExportConfig(formats=["geojson"], simplify_px=0, partition=False))
    collection = json.loads((tmp_path / "geo.geojson").read_text())
    assert collection["planseg:crs"]["frame"] == "wgs84" and "crs" not in collection
    assert pyogrio.read_info(tmp_path / "geo.geojson")["crs"] == "EPSG:4326"
    polygon = shapely.geometry.shape(collection["features"][0]["geometry"])
    vertices = np.asarray(polygon.exterior.coords)[:-1]
    assert len(vertices) == 4
    for col, row in CORNERS_PX:
        lon, lat = _analytic_lonlat(col, row)
        _, _, distances = _GEOD.inv(np.full(4, lon), np.full(4, lat), vertices[:, 0],
                                    vertices[:, 1])
        assert distances.min() < 0.5
    props = collection["features"][0]["properties"]
    lonlat = np.array([_analytic_lonlat(c, r) for c, r in CORNERS_PX])
    analytic_m2 = abs(_GEOD.polygon_area_perimeter(lonlat[:, 0], lonlat[:, 1])[0])
    assert props["area_m2"] == pytest.approx(analytic_m2, rel=1e-4)
    assert props["area_pt2"] == pytest.approx(576 * 288)
    assert props["text"] == "B2"  # the page's text layer, read by planseg.ingest
    assert shapely.is_ccw(polygon.exterior)  # RFC 7946 winding


def test_gpkg_keeps_the_native_crs(geopdf_page, tmp_path) -> None:
    export_document([geopdf_page], tmp_path, ExportConfig(formats=["gpkg"], simplify_px=0))
    info = pyogrio.read_info(tmp_path / "geo.gpkg")
    assert info["crs"] == "EPSG:32632" and info["features"] == 1
    _, _, wkb, _ = pyogrio.raw.read(tmp_path / "geo.gpkg")
    vertices = np.asarray(shapely.from_wkb(wkb[0]).geoms[0].exterior.coords)[:-1]
    for col, row in CORNERS_PX:
        east, north = _analytic_utm(col, row)
        assert np.hypot(vertices[:, 0] - east, vertices[:, 1] - north).min() < 0.5


def test_frames_resolve_per_document(geopdf_page) -> None:
    geo, plain = geopdf_page, _page()
    assert resolve_frame("auto", [geo]) == "wgs84"
    assert resolve_frame("auto", [geo], native=True) == "native"
    assert resolve_frame("auto", [geo, plain]) == "page"  # mixed: one frame for the file
    assert resolve_frame("auto", [plain]) == "page"
    assert resolve_frame("pixel", [geo]) == "pixel"
    assert area_m2(shapely.box(0, 0, 10, 10), plain) is None


def test_page_frame_spans_the_page_in_points() -> None:
    page = _page()
    moved = to_frame(shapely.box(0, 0, W_PX, H_PX), page, "page")
    assert moved.bounds == pytest.approx((0, 0, W_PX * 72 / DPI, H_PX * 72 / DPI))


# --- real GeoPDFs (../shared/realdata/geopdf), checked against GDAL's reference values ---

GDAL_REFERENCE = {  # file: (dpi, CRS of geotransform, origin x, origin y, pixel x, pixel y)
    "Add_Layer_PDF_TOPO_12SUE9706979349.pdf": (
        150.0, "native", 2862.838291960168135, 3981876.600212108343840, 4.064000000000479,
        -4.063999999998389),
    "Generate_MapBook_OriginalSources_00_Index.pdf": (
        150.0, "wgs84", -112.178804347660204, 36.040421195177842, 0.000029891304145,
        -0.000029891304145),
    # GDAL-written PDFs carry their own DPI; GDAL's raster is the page in points (72 DPI)
    "iso32000_gdal_wuhan.pdf": (
        72.0, "wgs84", 114.398252000000014, 30.525791000000002, 0.000018087271083,
        -0.000018087271083),
}


@pytest.mark.parametrize("name", sorted(GDAL_REFERENCE))
def test_real_geopdf_polygons_land_on_gdal_coordinates(realdata_geopdf, tmp_path, name) -> None:
    dpi, frame, origin_x, origin_y, pixel_x, pixel_y = GDAL_REFERENCE[name]
    with ingest.open_document(realdata_geopdf / name) as doc:
        width_px, height_px = ingest.page_pixel_size(doc, 0, dpi)
        pixel_to_pdf, _ = ingest.page_transforms(doc, 0, dpi)
        georef = ingest.read_georef(doc, 0)
    assert georef is not None
    box = (width_px // 4, height_px // 4, width_px // 2, height_px // 2)  # x0, y0, x1, y1
    mask = np.zeros((height_px, width_px), bool)
    mask[box[1]:box[3], box[0]:box[2]] = True
    page = PageMasks(document=name, page_number=1, width_px=width_px, height_px=height_px,
                     dpi=dpi, pixel_to_pdf=pixel_to_pdf, georef=georef, words=[],
                     detections=[Detection.from_mask(mask)])
    export_document([page], tmp_path, ExportConfig(formats=["geojson", "gpkg"], simplify_px=0))
    suffix = "gpkg" if frame == "native" else "geojson"
    _, _, wkb, _ = pyogrio.raw.read(tmp_path / name.replace(".pdf", f".{suffix}"))
    vertices = np.asarray(shapely.get_exterior_ring(shapely.from_wkb(wkb[0]).geoms[0]
                                                    if suffix == "gpkg" else
                                                    shapely.from_wkb(wkb[0])).coords)[:-1]
    for col, row in [(box[0], box[1]), (box[2], box[1]), (box[2], box[3]), (box[0], box[3])]:
        x, y = origin_x + col * pixel_x, origin_y + row * pixel_y
        if frame == "native":
            distances = np.hypot(vertices[:, 0] - x, vertices[:, 1] - y)
        else:
            distances = _GEOD.inv(np.full(len(vertices), x), np.full(len(vertices), y),
                                  vertices[:, 0], vertices[:, 1])[2]
        assert distances.min() < 0.5, (name, col, row, distances.min())
