"""GeoPDF georeferencing: fixtures with an analytic UTM mapping in both encodings (to 1 cm),
non-geographic viewports, and the six real GeoPDFs against GDAL's reference values (to 1 m)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pymupdf
import pyproj
import pytest
from test_ingest_fixtures import PageSpec, build_pdf

from planseg.ingest import open_document, read_georef

UTM32 = pyproj.CRS.from_epsg(32632)
MAP_BBOX = (50.0, 50.0, 550.0, 350.0)  # PDF points
E0, N0, METRES_PER_PT = 500_123.25, 5_400_456.75, 2.5


def _analytic(x_pt, y_pt):
    """The mapping the fixtures encode: 2.5 m per point from the map's lower-left corner."""
    return (E0 + (np.asarray(x_pt) - MAP_BBOX[0]) * METRES_PER_PT,
            N0 + (np.asarray(y_pt) - MAP_BBOX[1]) * METRES_PER_PT)


def _page(tmp_path: Path, name: str, key: str, value: str, objstms: bool = False) -> Path:
    """A page with ``key`` set to ``value``.

    MuPDF keeps PDF reals as 32-bit floats (about 0.4 m in a latitude), so an exact number
    array is written as a same-length string placeholder ``(#...#)`` and the saved bytes are
    patched afterwards; the xref offsets stay valid.
    """
    exact = {}
    for index, array in enumerate(re.findall(r"\{\{(.*?)\}\}", value)):
        placeholder = "(" + f"#{index}".ljust(len(array) + 2, "#") + ")"
        exact[placeholder] = f"[{array}]".ljust(len(placeholder))
        value = value.replace("{{" + array + "}}", placeholder, 1)
    path = build_pdf(tmp_path / f"{name}.pdf", [PageSpec(mediabox=(0, 0, 600, 400))])
    doc = pymupdf.open(path)
    doc.xref_set_key(doc[0].xref, key, value)
    out = tmp_path / f"{name}-geo.pdf"
    doc.save(out, use_objstms=objstms)
    data = out.read_bytes()
    for placeholder, text in exact.items():
        assert data.count(placeholder.encode()) == 1, "placeholder must survive uncompressed"
        data = data.replace(placeholder.encode(), text.encode())
    out.write_bytes(data)
    return out


def _iso_vp(gcs: str) -> str:
    x0, y0, x1, y1 = MAP_BBOX
    unit = [(0, 0), (0, 1), (1, 1), (1, 0)]
    to_geo = pyproj.Transformer.from_crs(UTM32, UTM32.geodetic_crs, always_xy=True)
    gpts = []
    for u, v in unit:
        lon, lat = to_geo.transform(*_analytic(x0 + u * (x1 - x0), y0 + v * (y1 - y0)))
        gpts += [f"{lat:.12f}", f"{lon:.12f}"]
    lpts = " ".join(f"{u} {v}" for u, v in unit)
    return (f"[<< /Type /Viewport /Name (Map) /BBox [{x0} {y0} {x1} {y1}] /Measure << "
            f"/Type /Measure /Subtype /GEO /Bounds [{lpts}] /LPTS [{lpts}] "
            f"/GPTS {{{{{' '.join(gpts)}}}}} /GCS {gcs} >> >>]")


def _ogc_lgidict(mapping: str, projection: str) -> str:
    x0, y0, x1, y1 = MAP_BBOX
    return (f"[<< /Type /LGIDict /Version (2.1) /Description (Map) {mapping} "
            f"/Neatline [({x0}) ({y0}) ({x1}) ({y0}) ({x1}) ({y1}) ({x0}) ({y1})] "
            f"/Projection {projection} >>]")


UTM_PROJECTION = ("<< /Type /Projection /ProjectionType (UT) /Zone 32 /Hemisphere (N) "
                  "/Datum (WGE) /Units (m) >>")
CTM = (f"/CTM [({METRES_PER_PT}) (0) (0) ({METRES_PER_PT}) "
       f"({E0 - MAP_BBOX[0] * METRES_PER_PT}) ({N0 - MAP_BBOX[1] * METRES_PER_PT})]")


def _registration() -> str:
    corners = [(MAP_BBOX[0], MAP_BBOX[1]), (MAP_BBOX[2], MAP_BBOX[1]), (MAP_BBOX[2], MAP_BBOX[3])]
    pairs = " ".join("[({}) ({}) ({!r}) ({!r})]".format(x, y, *map(float, _analytic(x, y)))
                     for x, y in corners)
    return f"/Registration [{pairs}]"


ENCODINGS = {
    "iso-epsg": ("VP", _iso_vp("<< /Type /PROJCS /EPSG 32632 >>")),
    "iso-wkt": ("VP", _iso_vp(f"<< /Type /PROJCS /WKT ({UTM32.to_wkt('WKT1_GDAL')}) >>")),
    "ogc-ctm": ("LGIDict", _ogc_lgidict(CTM, UTM_PROJECTION)),
    "ogc-registration": ("LGIDict", _ogc_lgidict(_registration(), UTM_PROJECTION)),
}


@pytest.mark.parametrize(("encoding", "objstms"), [
    (encoding, False) for encoding in sorted(ENCODINGS)] + [
    ("ogc-ctm", True), ("ogc-registration", True)])  # OGC numbers are strings: exact in objstms
def test_fixture_geopdf_matches_analytic_mapping(tmp_path, encoding, objstms):
    key, value = ENCODINGS[encoding]
    path = _page(tmp_path, encoding, key, value, objstms)
    rng = np.random.default_rng(0)
    x = rng.uniform(MAP_BBOX[0], MAP_BBOX[2], 50)
    y = rng.uniform(MAP_BBOX[1], MAP_BBOX[3], 50)
    with open_document(path) as doc:
        georef = read_georef(doc, 0)
    assert georef is not None and georef.encoding == encoding.split("-")[0].replace("iso",
                                                                                    "iso32000")
    assert georef.crs.equals(UTM32) or georef.crs.to_epsg() == 32632
    east, north = georef.pdf_to_crs(x, y)
    want_east, want_north = _analytic(x, y)
    assert np.max(np.hypot(east - want_east, north - want_north)) < 0.01  # 1 cm
    lon, lat = georef.pdf_to_wgs84(x, y)
    want_lon, want_lat = pyproj.Transformer.from_crs(UTM32, 4326, always_xy=True).transform(
        want_east, want_north)
    _, _, dist = pyproj.Geod(ellps="WGS84").inv(lon, lat, want_lon, want_lat)
    assert np.max(dist) < 0.01
    neat = np.array(georef.neatline_pdf)
    assert neat[:, 0].min() == pytest.approx(MAP_BBOX[0]) and neat[:, 1].max() == pytest.approx(
        MAP_BBOX[3])


def test_transverse_mercator_on_nad27(tmp_path):
    """OGC TC projection on datum NAS-E: NAD27 geographic coordinates, not WGS84's."""
    projection = ("<< /Type /Projection /ProjectionType (TC) /CentralMeridian (-112.188) "
                  "/OriginLatitude (0) /ScaleFactor (0.9996) /FalseEasting (500000) "
                  "/FalseNorthing (0) /Datum (NAS-E) /Units (m) >>")
    ctm = "/CTM [(10) (0) (0) (10) (480000) (3980000)]"
    path = _page(tmp_path, "tc", "LGIDict", _ogc_lgidict(ctm, projection))
    with open_document(path) as doc:
        georef = read_georef(doc, 0)
    assert "1927" in georef.crs.geodetic_crs.datum.name
    x, y = np.array([60.0, 500.0]), np.array([70.0, 300.0])
    east, north = georef.pdf_to_crs(x, y)
    assert np.allclose(east, 480000 + 10 * x) and np.allclose(north, 3980000 + 10 * y)
    to_nad27 = pyproj.Transformer.from_crs(georef.crs, georef.crs.geodetic_crs, always_xy=True)
    lon, lat = to_nad27.transform(east, north)
    tmerc = pyproj.Proj("+proj=tmerc +lat_0=0 +lon_0=-112.188 +k=0.9996 +x_0=500000 +y_0=0 "
                        "+ellps=clrk66")
    want_lon, want_lat = tmerc(east, north, inverse=True)
    assert np.allclose(lon, want_lon, atol=1e-9) and np.allclose(lat, want_lat, atol=1e-9)
    wgs_lon, wgs_lat = georef.pdf_to_wgs84(x, y)  # a datum shift of some tens of metres
    _, _, shift = pyproj.Geod(ellps="WGS84").inv(wgs_lon, wgs_lat, want_lon, want_lat)
    assert np.all(shift < 300)


def test_smallest_viewport_wins(tmp_path):
    """A locator inset inside the main map uses its own mapping."""
    main = _iso_vp("<< /Type /PROJCS /EPSG 32632 >>")[1:-1]
    inset = ("<< /Type /Viewport /Name (Inset) /BBox [60 60 110 100] /Measure << /Type /Measure "
             "/Subtype /GEO /LPTS [0 0 0 1 1 1 1 0] /GPTS [40 5 41 5 41 6 40 6] "
             "/GCS << /Type /GEOGCS /EPSG 4326 >> >> >>")
    path = _page(tmp_path, "inset", "VP", f"[{main} {inset}]")
    with open_document(path) as doc:
        georef = read_georef(doc, 0)
    assert [v.name for v in georef.viewports] == ["Map", "Inset"]
    lon, lat = georef.pdf_to_wgs84(np.array([60.0, 300.0]), np.array([60.0, 300.0]))
    assert lon[0] == pytest.approx(5.0) and lat[0] == pytest.approx(40.0)
    assert 8 < lon[1] < 10  # the main map, UTM zone 32


@pytest.mark.parametrize("value", [
    None,  # a plain page
    "[<< /Type /Viewport /BBox [0 0 600 400] /Measure << /Type /Measure /Subtype /RL "
    "/R (1 in = 1 ft) /X [<< /U (ft) /C 0.0138 >>] /D [<< /U (ft) /C 1 >>] "
    "/A [<< /U (sq ft) /C 1 >>] >> >>]",  # a CAD scale ruler
])
def test_not_georeferenced(tmp_path, value):
    path = (build_pdf(tmp_path / "plain.pdf", [PageSpec()]) if value is None
            else _page(tmp_path, "ruler", "VP", value))
    with open_document(path) as doc:
        assert read_georef(doc, 0) is None


# --- the six real GeoPDFs, against gdalinfo (GDAL 3.6.2) --------------------------------------

def _gdal_reference(readme: str, name: str) -> dict:
    section = readme.split(f"### {name}")[1].split("###")[0]
    number = r"(-?[\d.]+)"
    size = re.search(r"Size is (\d+), (\d+)", section)
    origin = re.search(rf"Origin = \({number},{number}\)", section)
    pixel = re.search(rf"Pixel Size = \({number},{number}\)", section)
    neat = re.search(r"NEATLINE=POLYGON \(\((.*?)\)\)", section).group(1)
    return {"size": tuple(map(int, size.groups())), "origin": tuple(map(float, origin.groups())),
            "pixel": tuple(map(float, pixel.groups())),
            "neatline": [tuple(map(float, p.split())) for p in neat.split(",")]}


REAL = ["Add_Layer_PDF_TOPO_12SUE9706979349.pdf", "Generate_MapBook_OriginalSources_00_Index.pdf",
        "Remove_MapFrame_12SUE9706979349_geo.pdf", "iso32000_gdal_road.pdf",
        "iso32000_gdal_wuhan.pdf", "iso32000_pdflib_hello.pdf"]


def _metres(crs: pyproj.CRS, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if crs.is_geographic:
        return pyproj.Geod(ellps="WGS84").inv(a[:, 0], a[:, 1], b[:, 0], b[:, 1])[2]
    return np.hypot(*(a - b).T)


@pytest.mark.parametrize("name", REAL)
def test_real_geopdf_matches_gdal(realdata_geopdf, name):
    ref = _gdal_reference((realdata_geopdf / "README.md").read_text(), name)
    with open_document(realdata_geopdf / name) as doc:
        georef = read_georef(doc, 0)
        width_pt, height_pt = doc.pdf[0].rect.width, doc.pdf[0].rect.height
    assert georef is not None
    # GDAL rasterises the page at 150 DPI, or 72 for files GDAL wrote itself (their raster
    # size is the page size in points). Its geotransform uses page point = col * 72 / dpi for
    # LGIDict files (as the README says) but, for ISO 32000 viewports, spreads the page over the
    # whole-pixel raster: col * width_pt / width_px (differs by up to 0.5 px: 1000 pt -> 2083).
    width_px, height_px = ref["size"]
    dpi = 72 if round(width_pt) == width_px else 150
    if georef.encoding == "iso32000":
        scale_x, scale_y = width_pt / width_px, height_pt / height_px
    else:
        scale_x = scale_y = 72 / dpi
    cols = np.array([0.0, width_px / 2, width_px, 17.0])
    rows = np.array([0.0, height_px / 2, height_px, 29.0])
    x_pt, y_pt = cols * scale_x, height_pt - rows * scale_y  # no /Rotate or CropBox here
    got = np.column_stack(georef.pdf_to_crs(x_pt, y_pt))
    (ox, oy), (px, py) = ref["origin"], ref["pixel"]
    want = np.column_stack([ox + cols * px, oy + rows * py])
    assert np.max(_metres(georef.crs, got, want)) < 1.0
    assert georef.neatline_pdf is not None
    neat = np.column_stack(georef.pdf_to_crs(*np.array(georef.neatline_pdf).T))
    for corner in np.array(ref["neatline"]):  # every GDAL corner is one of ours (< 1 m)
        assert np.min(_metres(georef.crs, neat, np.broadcast_to(corner, neat.shape))) < 1.0


@pytest.mark.parametrize(("kind", "method"), [
    ("UT", "Transverse Mercator"), ("TC", "Transverse Mercator"), ("MC", "Mercator"),
    ("LE", "Lambert Conic Conformal (2SP)"), ("AC", "Albers Equal Area")])
@pytest.mark.parametrize(("datum", "datum_name"), [("NAR-C", "1983"), ("WGE", "1984"),
                                                   ("EUR-M", "1950")])
def test_ogc_projection_codes(kind, method, datum, datum_name):
    from planseg.ingest.georef_ogc import projection_to_crs

    crs = projection_to_crs({"ProjectionType": kind, "Datum": datum, "Zone": 14,
                             "StandardParallelOne": "33", "StandardParallelTwo": "45",
                             "CentralMeridian": "-96", "OriginLatitude": "23", "Units": "M"})
    assert crs.is_projected and method in crs.coordinate_operation.method_name
    assert datum_name in crs.geodetic_crs.datum.name


def test_ogc_unknown_projection_is_ignored_not_guessed(tmp_path):
    projection = "<< /Type /Projection /ProjectionType (XX) /Datum (WGE) >>"
    path = _page(tmp_path, "xx", "LGIDict", _ogc_lgidict(CTM, projection))
    with open_document(path) as doc:
        assert read_georef(doc, 0) is None
