"""Coordinates: georeferenced pages land on the analytic WGS84/native positions; areas in m²."""

from __future__ import annotations

import json

import numpy as np
import pyogrio
import pyogrio.raw
import pyproj
import pytest
import shapely

from planseg.export.config import ExportConfig
from planseg.export.crs import area_m2, resolve_frame, to_frame
from planseg.export.document import export_document
from planseg.export.types import Detection, PageMasks

DPI = 50.0
H_PX, W_PX = 400, 600
METRES_PER_PT = 0.5  # a 1:1417 plan
ORIGIN_EN = (690_000.0, 5_335_000.0)  # UTM 32N, near Munich
UTM32N = pyproj.CRS.from_epsg(32632)
_TO_WGS84 = pyproj.Transformer.from_crs(UTM32N, "OGC:CRS84", always_xy=True)
_GEOD = pyproj.Geod(ellps="WGS84")


class AffineGeoref:
    """The planseg.ingest PageGeoref contract with an analytic PDF -> UTM affine map,
    so expected coordinates are known exactly."""

    crs = UTM32N
    neatline_pdf = None

    def pdf_to_crs(self, x_pt: np.ndarray, y_pt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (ORIGIN_EN[0] + np.asarray(x_pt) * METRES_PER_PT,
                ORIGIN_EN[1] + np.asarray(y_pt) * METRES_PER_PT)

    def pdf_to_wgs84(self, x_pt, y_pt) -> tuple[np.ndarray, np.ndarray]:
        return _TO_WGS84.transform(*self.pdf_to_crs(x_pt, y_pt))


def _page(georef=None, document: str = "geo.pdf") -> PageMasks:
    mask = np.zeros((H_PX, W_PX), bool)
    mask[100:300, 50:450] = True  # 400 x 200 px = 576 x 288 pt = 288 m x 144 m
    scale = 72.0 / DPI
    return PageMasks(document=document, page_number=1, width_px=W_PX, height_px=H_PX,
                     dpi=DPI, pixel_to_pdf=np.array([[scale, 0, 0], [0, -scale, H_PX * scale],
                                                     [0, 0, 1]]),
                     georef=georef, words=[], detections=[Detection.from_mask(mask)])


def _analytic_lonlat(col: float, row: float) -> tuple[float, float]:
    x_pt, y_pt = col * 72 / DPI, (H_PX - row) * 72 / DPI
    return _TO_WGS84.transform(ORIGIN_EN[0] + x_pt * METRES_PER_PT,
                               ORIGIN_EN[1] + y_pt * METRES_PER_PT)


def test_georeferenced_page_lands_within_half_a_metre(tmp_path) -> None:
    page = _page(AffineGeoref())
    export_document([page], tmp_path, ExportConfig(formats=["geojson"], simplify_px=0))
    collection = json.loads((tmp_path / "geo.geojson").read_text())
    assert collection["planseg:crs"]["frame"] == "wgs84" and "crs" not in collection
    assert pyogrio.read_info(tmp_path / "geo.geojson")["crs"] == "EPSG:4326"
    polygon = shapely.geometry.shape(collection["features"][0]["geometry"])
    vertices = np.asarray(polygon.exterior.coords)[:-1]
    assert len(vertices) == 4
    for col, row in [(50, 100), (450, 100), (450, 300), (50, 300)]:
        lon, lat = _analytic_lonlat(col, row)
        _, _, distances = _GEOD.inv(np.full(4, lon), np.full(4, lat), vertices[:, 0],
                                    vertices[:, 1])
        assert distances.min() < 0.5
    props = collection["features"][0]["properties"]
    # UTM scale factor near Munich differs from 1 by ~2e-4; the geodesic area is the truth
    assert props["area_m2"] == pytest.approx(288 * 144, rel=2e-3)
    assert props["area_pt2"] == pytest.approx(576 * 288)
    assert shapely.is_ccw(polygon.exterior)  # RFC 7946 winding


def test_gpkg_keeps_the_native_crs(tmp_path) -> None:
    page = _page(AffineGeoref())
    export_document([page], tmp_path, ExportConfig(formats=["gpkg"], simplify_px=0))
    info = pyogrio.read_info(tmp_path / "geo.gpkg")
    assert info["crs"] == "EPSG:32632" and info["features"] == 1
    _, _, wkb, _ = pyogrio.raw.read(tmp_path / "geo.gpkg")
    x0, y0, x1, y1 = shapely.from_wkb(wkb[0]).bounds
    assert (x0, y1) == pytest.approx((ORIGIN_EN[0] + 50 * 72 / DPI * METRES_PER_PT,
                                      ORIGIN_EN[1] + 300 * 72 / DPI * METRES_PER_PT), abs=0.01)
    assert (x1 - x0, y1 - y0) == pytest.approx((288.0, 144.0), abs=0.01)


def test_frames_resolve_per_document() -> None:
    geo, plain = _page(AffineGeoref()), _page()
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
