"""Vector zones from synthetic PDFs drawn with PyMuPDF: polygons match what was drawn, painter's
order cuts (opaque fills, wide strokes) and non-cuts (thin outlines, transparency), fill rules,
clips, Béziers, the frame, page kinds, and the PDF frame on rotated and cropped pages."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pymupdf
import pytest
import shapely

from planseg.ingest.documents import open_document
from planseg.ingest.render import render_page
from planseg.ingest.vector import VectorPage, read_vector_page
from planseg.ingest.vector_config import VectorConfig

RED, BLUE, GREEN, WHITE = (1, 0, 0), (0, 0, 1), (0, 0.6, 0), (1, 1, 1)
FRAME = pymupdf.Rect(40, 40, 440, 340)  # page space (y down); the map frame of most tests


def _page(doc: pymupdf.Document, frame: bool = True) -> pymupdf.Page:
    page = doc.new_page(width=600, height=400)
    if frame:
        page.draw_rect(FRAME, color=(0, 0, 0), width=1)
    return page


def _read(doc: pymupdf.Document, tmp_path: Path, config: VectorConfig | None = None,
          page_index: int = 0) -> VectorPage:
    path = tmp_path / "page.pdf"
    doc.save(path)
    with open_document(path) as opened:
        return read_vector_page(opened, page_index, config)


def _polygon(doc_points: list[tuple[float, float]], page_height: float = 400) -> shapely.Polygon:
    """A page-space (y down) polygon in the PDF frame of an unrotated, uncropped page."""
    return shapely.Polygon([(x, page_height - y) for x, y in doc_points])


def _rect_pdf(rect: pymupdf.Rect, page_height: float = 400) -> shapely.Polygon:
    return shapely.box(rect.x0, page_height - rect.y1, rect.x1, page_height - rect.y0)


def _iou(a: shapely.Geometry, b: shapely.Geometry) -> float:
    return shapely.intersection(a, b).area / shapely.union(a, b).area


def _by_colour(page: VectorPage, rgb: tuple[int, int, int]) -> list:
    return [z for z in page.zones if z.fill_rgb == rgb]


def test_filled_rectangles_come_back_exactly(tmp_path):
    doc = pymupdf.open()
    page = _page(doc)
    page.draw_rect((60, 60, 200, 160), fill=RED, width=0)
    page.draw_rect((220, 180, 400, 320), fill=BLUE, color=(0, 0, 0), width=0.5)
    result = _read(doc, tmp_path)
    assert result.fallback is None and result.page_kind == "map"
    assert [z.fill_rgb for z in result.zones] == [(255, 0, 0), (0, 0, 255)]  # top first
    assert _iou(result.zones[0].geometry_pt, _rect_pdf(pymupdf.Rect(60, 60, 200, 160))) > 0.999
    assert _iou(result.zones[1].geometry_pt, _rect_pdf(pymupdf.Rect(220, 180, 400, 320))) > 0.999
    assert _iou(result.frame_pt, _rect_pdf(FRAME)) > 0.999
    expected = (140 * 100 + 180 * 140) / FRAME.get_area()
    assert result.coverage == pytest.approx(expected, rel=1e-6)
    assert all(z.geometry_pt.is_valid for z in result.zones)


def test_large_rectangular_zones_are_zones_not_the_map_frame(tmp_path):
    """Two outlined rectangles, each over frame_min_share of the page: a rectangle that
    holds no other zone-coloured fill is a zone, not a neatline (it once became the frame,
    and the other zone fell outside it)."""
    doc = pymupdf.open()
    page = _page(doc, frame=False)
    left, right = pymupdf.Rect(20, 20, 300, 380), pymupdf.Rect(300, 20, 580, 380)
    page.draw_rect(left, fill=RED, color=(0, 0, 0), width=1)
    page.draw_rect(right, fill=BLUE, color=(0, 0, 0), width=1)
    result = _read(doc, tmp_path)
    assert sorted(z.fill_rgb for z in result.zones) == [(0, 0, 255), (255, 0, 0)]
    assert _iou(result.frame_pt, shapely.box(0, 0, 600, 400)) > 0.999  # the whole page
    assert _iou(_by_colour(result, (255, 0, 0))[0].geometry_pt, _rect_pdf(left)) > 0.999


def test_later_white_strip_cuts_a_zone_in_two(tmp_path):
    doc = pymupdf.open()
    page = _page(doc)
    page.draw_rect((60, 60, 420, 160), fill=RED, width=0)
    page.draw_rect((200, 50, 220, 170), fill=WHITE, width=0)  # a road drawn over the zone
    zones = _read(doc, tmp_path).zones
    assert len(zones) == 2
    assert sorted(round(z.geometry_pt.area) for z in zones) == [140 * 100, 200 * 100]


def test_later_fill_of_another_colour_cuts_and_is_a_zone_itself(tmp_path):
    doc = pymupdf.open()
    page = _page(doc)
    page.draw_rect((60, 60, 260, 260), fill=RED, width=0)
    page.draw_rect((160, 160, 360, 300), fill=BLUE, width=0)
    result = _read(doc, tmp_path)
    red, blue = _by_colour(result, (255, 0, 0)), _by_colour(result, (0, 0, 255))
    assert red[0].geometry_pt.area == pytest.approx(200 * 200 - 100 * 100)
    assert blue[0].geometry_pt.area == pytest.approx(200 * 140)


def test_wide_white_stroke_cuts_buffered_by_half_its_width(tmp_path):
    doc = pymupdf.open()
    page = _page(doc)
    page.draw_rect((60, 60, 420, 160), fill=RED, width=0)
    page.draw_line((240, 40), (240, 180), color=WHITE, width=10)
    zones = _read(doc, tmp_path).zones
    assert len(zones) == 2
    assert sum(z.geometry_pt.area for z in zones) == pytest.approx(360 * 100 - 10 * 100)


def test_thin_outline_and_dashed_wide_line_do_not_cut(tmp_path):
    doc = pymupdf.open()
    page = _page(doc)
    page.draw_rect((60, 60, 420, 160), fill=RED, width=0)
    page.draw_rect((60, 60, 420, 160), color=(0, 0, 0), width=1.0)  # the zone's boundary
    page.draw_line((100, 110), (400, 110), color=(0, 0, 0), width=0.5)  # a parcel line
    page.draw_line((240, 40), (240, 180), color=WHITE, width=10, dashes="[4 4] 0")
    page.insert_text((200, 100), "R1 zone label", fontsize=14)  # text never cuts
    zones = _read(doc, tmp_path).zones
    assert len(zones) == 1 and zones[0].geometry_pt.area == pytest.approx(360 * 100)


def test_even_odd_hole_and_non_zero_fill(tmp_path):
    doc = pymupdf.open()
    page = _page(doc)
    outer = [(60, 60), (200, 60), (200, 200), (60, 200), (60, 60)]
    inner = [(95, 95), (165, 95), (165, 165), (95, 165), (95, 95)]
    for offset, even_odd in ((0, True), (200, False)):
        shape = page.new_shape()
        shape.draw_polyline([(x + offset, y) for x, y in outer])
        shape.draw_polyline([(x + offset, y) for x, y in inner])  # same turning direction
        shape.finish(fill=RED if even_odd else BLUE, color=None, even_odd=even_odd, width=0)
        shape.commit()
    result = _read(doc, tmp_path)
    holed, full = _by_colour(result, (255, 0, 0))[0], _by_colour(result, (0, 0, 255))[0]
    assert len(holed.geometry_pt.interiors) == 1
    assert holed.geometry_pt.area == pytest.approx(140 * 140 - 70 * 70)
    # non-zero: both rings turn the same way, so the inner square stays filled
    assert full.geometry_pt.area == pytest.approx(140 * 140)


def test_touching_pieces_of_one_colour_merge_separate_pieces_stay_separate(tmp_path):
    doc = pymupdf.open()
    page = _page(doc)
    page.draw_rect((60, 60, 160, 160), fill=RED, width=0)
    page.draw_rect((160, 60, 260, 160), fill=RED, width=0)  # shares an edge: one zone
    page.draw_rect((300, 60, 400, 160), fill=RED, width=0)  # apart: its own zone
    zones = _by_colour(_read(doc, tmp_path), (255, 0, 0))
    assert sorted(round(z.geometry_pt.area) for z in zones) == [10_000, 20_000]
    assert all(z.geometry_pt.geom_type == "Polygon" for z in zones)


def test_bezier_circle_area_within_tolerance(tmp_path):
    doc = pymupdf.open()
    page = _page(doc)
    page.draw_circle((240, 190), 80, fill=GREEN, color=None, width=0)  # 4 cubic Béziers
    zone = _read(doc, tmp_path).zones[0]
    # the 4-Bézier circle itself differs from a true circle by < 0.03 % in radius
    assert zone.geometry_pt.area == pytest.approx(math.pi * 80**2, rel=2e-3)
    centre = zone.geometry_pt.centroid
    assert (centre.x, centre.y) == pytest.approx((240, 400 - 190), abs=0.05)


def test_semi_transparent_fill_cuts_nothing_and_is_no_zone_by_default(tmp_path):
    doc = pymupdf.open()
    page = _page(doc)
    page.draw_rect((60, 60, 260, 260), fill=RED, width=0)
    page.draw_rect((160, 160, 360, 300), fill=BLUE, width=0, fill_opacity=0.5)
    result = _read(doc, tmp_path)
    assert [z.fill_rgb for z in result.zones] == [(255, 0, 0)]
    assert result.zones[0].geometry_pt.area == pytest.approx(200 * 200)
    with_overlays = _read(doc, tmp_path, VectorConfig(transparent_zones=True))
    assert {z.fill_rgb for z in with_overlays.zones} == {(255, 0, 0), (0, 0, 255)}
    assert _by_colour(with_overlays, (255, 0, 0))[0].geometry_pt.area == pytest.approx(40_000)


def test_a_page_drawn_only_with_opacity_has_its_transparent_fills_as_zones(tmp_path):
    # a GIS export whose zoning layer has 40 % transparency: no opaque zone on the page
    doc = pymupdf.open()
    page = _page(doc)
    for rect, rgb in (((60, 60, 200, 260), RED), ((200, 60, 330, 260), BLUE),
                      ((330, 60, 430, 260), RED)):
        page.draw_rect(rect, fill=rgb, width=0, fill_opacity=0.4)
    zones = _read(doc, tmp_path).zones
    assert sorted(round(z.geometry_pt.area) for z in zones) == [20_000, 26_000, 28_000]
    assert {z.fill_rgb for z in zones} == {(255, 0, 0), (0, 0, 255)}
    assert _read(doc, tmp_path, VectorConfig(transparent_zones=False)).zones == []


def test_a_translucent_highlight_or_a_shaded_text_page_has_no_zones(tmp_path):
    # a scanned plan with its boundary highlighted: the scan's pixels hold the zones
    doc = pymupdf.open()
    page = _page(doc)
    image = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 40, 30), False)
    image.set_rect(image.irect, (200, 220, 180))
    page.insert_image(pymupdf.Rect(40, 40, 560, 360), pixmap=image)
    page.draw_polyline([(80, 80), (400, 90), (380, 300), (90, 280)], fill=RED, width=0,
                       fill_opacity=0.3, closePath=True)
    assert _read(doc, tmp_path).zones == []
    assert len(_read(doc, tmp_path, VectorConfig(transparent_zones=True)).zones) == 1
    # a page of regulations with shaded boxes (three, two colours) stays a text page
    doc = pymupdf.open()
    page = doc.new_page(width=600, height=400)
    for row in range(34):
        page.insert_text((30, 20 + 11 * row), "Art. 12 Die Grundflächenzahl beträgt 0,4 " * 3,
                         fontsize=8)
    for i, rgb in enumerate((RED, BLUE, RED)):
        page.draw_rect((30, 40 + 110 * i, 570, 120 + 110 * i), fill=rgb, width=0,
                       fill_opacity=0.15)
    text_page = _read(doc, tmp_path)
    assert (text_page.page_kind, text_page.zones) == ("text", [])


def test_clip_path_is_applied(tmp_path):
    doc = pymupdf.open()
    page = _page(doc, frame=False)
    # PDF content stream (y up): clip to a 100 x 80 rectangle, then fill a larger one
    _set_content(doc, page, b"q 100 100 100 80 re W n 1 0 0 rg 50 50 300 300 re f Q")
    zones = _read(doc, tmp_path).zones
    assert len(zones) == 1
    assert _iou(zones[0].geometry_pt, shapely.box(100, 100, 200, 180)) > 0.999


def test_layer_name_is_recorded(tmp_path):
    doc = pymupdf.open()
    page = _page(doc)
    layer = doc.add_ocg("Zoning districts")
    page.draw_rect((60, 60, 200, 160), fill=RED, width=0, oc=layer)
    page.draw_rect((220, 60, 400, 160), fill=BLUE, width=0)
    result = _read(doc, tmp_path)
    assert {z.fill_rgb: z.layer for z in result.zones} == {(255, 0, 0): "Zoning districts",
                                                            (0, 0, 255): None}


def test_background_legend_swatches_scale_bar_and_symbols_are_not_zones(tmp_path):
    doc = pymupdf.open()
    page = _page(doc)
    page.draw_rect(FRAME, fill=(0.95, 0.95, 0.9), width=0)  # the frame's background
    page.draw_rect((60, 60, 200, 160), fill=RED, width=0)
    for i, colour in enumerate((RED, BLUE, GREEN)):  # legend column right of the frame
        page.draw_rect((460, 60 + 20 * i, 484, 72 + 20 * i), fill=colour, width=0)
    for i, colour in enumerate((GREEN, BLUE, GREEN, BLUE)):  # legend column inside the frame
        page.draw_rect((380, 200 + 20 * i, 404, 212 + 20 * i), fill=colour, width=0)
    for i in range(4):  # a scale bar: blocks in a row
        page.draw_rect((60 + 30 * i, 300, 90 + 30 * i, 306), fill=(0, 0, 0), width=0)
    page.draw_circle((300, 100), 5, fill=(0, 0, 0), width=0)  # a symbol below the size floor
    result = _read(doc, tmp_path)
    assert [z.fill_rgb for z in result.zones] == [(255, 0, 0)]
    assert _iou(result.zones[0].geometry_pt, _rect_pdf(pymupdf.Rect(60, 60, 200, 160))) > 0.999


def test_white_mask_over_the_margin_cuts_but_is_no_zone(tmp_path):
    doc = pymupdf.open()
    page = _page(doc, frame=False)
    shape = page.new_shape()  # land use under the mask (not a rectangle: no frame here)
    shape.draw_polyline([(20, 20), (580, 20), (580, 380), (300, 390), (20, 380), (20, 20)])
    shape.finish(fill=GREEN, color=None, width=0)
    shape.commit()
    page.draw_rect((100, 100, 300, 300), fill=RED, width=0)
    shape = page.new_shape()  # paper-white mask with a window: even-odd frame shape
    shape.draw_rect((0, 0, 600, 400))
    shape.draw_rect((50, 50, 550, 350))
    shape.finish(fill=WHITE, color=None, even_odd=True, width=0)
    shape.commit()
    result = _read(doc, tmp_path)
    assert sorted(z.fill_rgb for z in result.zones) == [(0, 153, 0), (255, 0, 0)]
    green = _by_colour(result, (0, 153, 0))[0].geometry_pt
    assert green.area == pytest.approx(500 * 300 - 200 * 200)  # the window, less the red


def test_text_page_and_blank_page(tmp_path):
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    text = " ".join(["building height shall not exceed twelve metres"] * 15)
    for top in range(60, 780, 120):
        assert page.insert_textbox((60, top, 535, top + 110), text, fontsize=9) > 0
    page.draw_rect((60, 40, 535, 52), fill=(0.8, 0.8, 0.8), width=0)  # a shaded table header
    doc.new_page(width=595, height=842)
    first = _read(doc, tmp_path)
    assert first.page_kind == "text" and first.zones == [] and first.coverage == 0
    assert _read(doc, tmp_path, page_index=1).page_kind == "blank"


def test_image_document_gives_no_zones(tmp_path):
    pix = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 64, 48), False)
    pix.set_rect(pix.irect, (200, 30, 30))
    pix.save(tmp_path / "scan.png")
    with open_document(tmp_path / "scan.png") as doc:
        result = read_vector_page(doc, 0)
    assert result.zones == [] and result.page_kind == "map" and result.fallback is None


@pytest.mark.parametrize("rotate", [0, 90, 270])
def test_zones_land_on_their_pixels_on_rotated_cropped_pages(tmp_path, rotate):
    doc = pymupdf.open()
    page = doc.new_page(width=400, height=300)
    page.draw_rect((130, 70, 210, 130), fill=RED, width=0)
    shape = page.new_shape()
    shape.draw_polyline([(220, 150), (300, 150), (300, 230), (260, 230), (260, 190),
                         (220, 190), (220, 150)])
    shape.finish(fill=BLUE, color=None, width=0)
    shape.commit()
    page.set_mediabox(pymupdf.Rect(0, 0, 400, 300))
    page.set_cropbox(pymupdf.Rect(100, 50, 350, 260))  # CropBox not at the origin
    page.set_rotation(rotate)
    path = tmp_path / "rotated.pdf"
    doc.save(path)
    with open_document(path) as opened:
        result = read_vector_page(opened, 0)
        rendered = render_page(opened, 0, dpi=144)
    assert {z.fill_rgb for z in result.zones} == {(255, 0, 0), (0, 0, 255)}
    for zone in result.zones:
        drawn = np.all(rendered.image == np.array(zone.fill_rgb, dtype=np.uint8), axis=-1)
        mask = _mask_px(zone.geometry_pt, rendered.pdf_to_pixel, drawn.shape)
        assert (mask & drawn).sum() / (mask | drawn).sum() > 0.95


def _mask_px(geometry_pt: shapely.Geometry, pdf_to_pixel: np.ndarray,
             shape: tuple[int, int]) -> np.ndarray:
    """HxW bool: pixels whose centre lies in ``geometry_pt`` mapped to the pixel frame."""
    geometry = shapely.transform(geometry_pt, lambda xy: xy @ pdf_to_pixel[:2, :2].T
                                 + pdf_to_pixel[:2, 2])
    rows, cols = np.mgrid[0:shape[0], 0:shape[1]]
    return shapely.contains_xy(geometry, cols + 0.5, rows + 0.5)


def _set_content(doc: pymupdf.Document, page: pymupdf.Page, content: bytes) -> None:
    """Replace the page's content stream with ``content`` (raw PDF operators, y up)."""
    xref = doc.get_new_xref()
    doc.update_object(xref, "<<>>")
    doc.update_stream(xref, content)
    doc.xref_set_key(page.xref, "Contents", f"{xref} 0 R")


def test_config_problems_name_every_bad_key():
    config = VectorConfig(max_paths=0, max_seconds=0, frame_min_share=2,
                          non_zone_rgb=[(256, 0, 0)], min_zone_area_pt2=-1)
    keys = {problem.split(":")[0] for problem in config.problems()}
    assert keys == {"max_paths", "max_seconds", "frame_min_share", "non_zone_rgb",
                    "min_zone_area_pt2"}
    assert VectorConfig().problems() == []
