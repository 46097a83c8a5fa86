"""Colour regions, page kinds and the map frame on real rendered pages (drawn with PyMuPDF).

The map: a neatline around three zones of close but distinct colours (one hatched, one with
a label) split by dark boundary lines, and a legend box with swatches of the same colours
outside the neatline, beside a page of text and a blank page.
"""

from __future__ import annotations

import cv2
import numpy as np
import pymupdf
import pytest

from planseg.ingest.documents import open_document
from planseg.ingest.regions import pole_of_inaccessibility, read_raster_page
from planseg.ingest.regions_config import RegionsConfig
from planseg.ingest.render import render_page

DPI = 100.0
SCALE = DPI / 72.0
FRAME = (30.0, 30.0, 430.0, 370.0)  # points, y down
ZONES = {  # polygon (points) -> fill RGB 0..1
    "west": ([(30, 30), (200, 30), (170, 370), (30, 370)], (0.96, 0.62, 0.62)),
    "north": ([(200, 30), (430, 30), (430, 180), (185, 200)], (0.62, 0.76, 0.95)),
    "south": ([(185, 200), (430, 180), (430, 370), (170, 370)], (0.80, 0.88, 0.62)),
}


def _draw_map(page: pymupdf.Page) -> None:
    for points, rgb in ZONES.values():
        page.draw_polyline(points + points[:1], color=None, fill=rgb, width=0, closePath=True)
    for y in range(36, 370, 7):  # hatch of the west zone, a darker shade of its fill
        x1 = 200 - (y - 30) * 30 / 340
        page.draw_line((31, y), (x1 - 1, y), color=(0.55, 0.35, 0.35), width=0.6)
    for points, _ in ZONES.values():
        page.draw_polyline(points + points[:1], color=(0.1, 0.1, 0.1), width=1.0,
                           closePath=True)
    page.insert_text((280, 100), "G2", fontsize=14, color=(0, 0, 0))
    page.insert_text((270, 118), "max. 3 storeys", fontsize=7, color=(0, 0, 0))
    page.draw_rect(pymupdf.Rect(*FRAME), color=(0, 0, 0), width=1.5)
    legend = pymupdf.Rect(450, 40, 570, 160)
    page.draw_rect(legend, color=(0, 0, 0), width=0.8)
    for i, (_, rgb) in enumerate(ZONES.values()):
        page.draw_rect(pymupdf.Rect(458, 50 + 30 * i, 498, 70 + 30 * i), color=(0, 0, 0),
                       fill=rgb, width=0.5)
        page.insert_text((505, 64 + 30 * i), f"Zone {i}", fontsize=8)


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, np.ndarray]:
    """HxWx3 uint8 renders at DPI of a map, a text page and a blank page."""
    path = tmp_path_factory.mktemp("regions") / "plan.pdf"
    pdf = pymupdf.open()
    _draw_map(pdf.new_page(width=595, height=400))
    text = pdf.new_page(width=595, height=842)
    words = " ".join(["setback", "storey", "dwelling", "parking", "permitted"] * 4)
    for line in range(60):
        text.insert_text((50, 60 + 12 * line), f"{line} {words}", fontsize=8)
    pdf.new_page(width=595, height=842)
    pdf.save(path)
    with open_document(path) as doc:
        return {name: render_page(doc, i, dpi=DPI).image
                for i, name in enumerate(("map", "text", "blank"))}


def _zone_mask(points: list[tuple[float, float]], shape: tuple[int, ...]) -> np.ndarray:
    mask = np.zeros(shape[:2], dtype=np.uint8)
    cv2.fillPoly(mask, [np.round(np.array(points) * SCALE).astype(np.int32)], 1)
    return mask.astype(bool)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


def _scanned(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A scan-like copy (yellowed paper, blur, noise, a 0.6 degree skew, JPEG at 60) and
    the 2x3 affine of its skew."""
    rng = np.random.default_rng(5)
    height, width = image.shape[:2]
    turn = cv2.getRotationMatrix2D((width / 2, height / 2), 0.6, 1.0)
    out = cv2.warpAffine(image, turn, (width, height), borderValue=(255, 255, 255))
    out = cv2.GaussianBlur(out.astype(np.float32) * [1.0, 0.97, 0.9], (3, 3), 0.8)
    out = np.clip(out + rng.normal(0, 4, out.shape), 0, 255).astype(np.uint8)
    _, jpeg = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, 60])
    return cv2.imdecode(jpeg, cv2.IMREAD_UNCHANGED), turn


def test_text_page_is_text_and_has_no_regions(pages):
    page = read_raster_page(pages["text"], DPI, RegionsConfig())
    assert page.page_kind == "text"
    assert page.regions == []


def test_text_layer_decides_a_dense_page_is_text(pages):
    page = read_raster_page(pages["text"], DPI, RegionsConfig(text_min_glyph_share=1.0),
                            words_per_kpt2=2.0)
    assert page.page_kind == "text"


def test_blank_page_is_blank(pages):
    assert read_raster_page(pages["blank"], DPI, RegionsConfig()).page_kind == "blank"


def test_one_region_per_zone_through_hatch_label_and_boundaries(pages):
    page = read_raster_page(pages["map"], DPI, RegionsConfig())
    assert page.page_kind == "map"
    assert len(page.regions) == len(ZONES)
    for name, (points, rgb) in ZONES.items():
        truth = _zone_mask(points, pages["map"].shape)
        best = max(page.regions, key=lambda r: _iou(r.mask, truth))
        assert _iou(best.mask, truth) >= 0.9, name
        if name != "west":  # the hatched zone's colour mixes in its hatch
            assert np.abs(np.array(best.rgb) - np.array(rgb) * 255).max() <= 6, name
        x, y = best.point_xy
        assert truth[y, x]
        assert 0.0 < best.score <= 1.0


def test_frame_is_the_neatline_and_excludes_the_legend(pages):
    page = read_raster_page(pages["map"], DPI, RegionsConfig())
    assert page.frame.found
    x0, y0, x1, y1 = (round(v * SCALE) for v in FRAME)
    xs, ys = page.frame.corners_xy[:, 0], page.frame.corners_xy[:, 1]
    assert abs(xs.min() - x0) <= 3 and abs(xs.max() - x1) <= 3
    assert abs(ys.min() - y0) <= 3 and abs(ys.max() - y1) <= 3
    legend = np.zeros(page.frame.mask.shape, dtype=bool)
    legend[round(40 * SCALE):round(160 * SCALE), round(450 * SCALE):round(570 * SCALE)] = True
    assert not (page.frame.mask & legend).any()
    assert not any((region.mask & legend).any() for region in page.regions)


def test_no_frame_means_the_whole_page(pages):
    page = read_raster_page(pages["map"], DPI, RegionsConfig(frame_min_share=0.99))
    assert not page.frame.found and page.frame.mask.all()


def test_scan_style_page_still_gives_one_region_per_zone(pages):
    scan, turn = _scanned(pages["map"])
    page = read_raster_page(scan, DPI, RegionsConfig())
    assert page.page_kind == "map" and page.frame.found
    assert len(page.regions) == len(ZONES)
    height, width = scan.shape[:2]
    for name, (points, _) in ZONES.items():
        truth = cv2.warpAffine(_zone_mask(points, scan.shape).astype(np.uint8), turn,
                               (width, height), flags=cv2.INTER_NEAREST).astype(bool)
        assert max(_iou(r.mask, truth) for r in page.regions) >= 0.8, name


def test_pole_of_inaccessibility_is_the_centre_of_a_disc():
    mask = np.zeros((60, 90), dtype=bool)
    cv2.circle(mask.view(np.uint8), (50, 30), 20, 1, -1)
    mask[:, :5] = True  # a thin strip far from the disc does not move the pole
    assert pole_of_inaccessibility(mask) == (50, 30)


def test_config_problems_name_the_bad_keys():
    problems = RegionsConfig(hatch_window_mm=0, ink_max_l=120, frame_min_share=2).problems()
    assert any(p.startswith("hatch_window_mm") for p in problems)
    assert any(p.startswith("ink_max_l") for p in problems)
    assert any(p.startswith("frame_min_share") for p in problems)
    assert RegionsConfig().problems() == []


def test_areas_the_colours_miss_get_prompt_points(tmp_path):
    """A tinted zone is a region; a white zone bounded by lines gets one point at its
    centre; a hatch-only zone (black lines on white: no colour) gets grid points; blank
    paper and the road between zones get none."""
    tinted = [(30, 30), (200, 30), (200, 370), (30, 370)]
    white = [(215, 30), (430, 30), (430, 190), (215, 190)]
    hatched = [(215, 205), (430, 205), (430, 370), (215, 370)]
    pdf = pymupdf.open()
    page = pdf.new_page(width=595, height=400)
    page.draw_polyline(tinted + tinted[:1], color=None, fill=(0.96, 0.62, 0.62), width=0)
    for x in range(215, 560, 6):  # diagonal hatch clipped to the hatched zone
        start, end = (x, 370), (x - 165, 205)
        if end[0] < 215:
            end = (215, 370 - (x - 215))
        if start[0] > 430:
            start = (430, 370 - (x - 430))
        if start[1] >= 205 and end[1] <= 370:
            page.draw_line(start, end, color=(0, 0, 0), width=0.5)
    for points in (tinted, white, hatched):
        page.draw_polyline(points + points[:1], color=(0, 0, 0), width=1.0, closePath=True)
    page.draw_rect(pymupdf.Rect(*FRAME), color=(0, 0, 0), width=1.5)
    path = tmp_path / "gaps.pdf"
    pdf.save(path)
    with open_document(path) as doc:
        image = render_page(doc, 0, dpi=DPI).image
    raster = read_raster_page(image, DPI, RegionsConfig())
    assert raster.page_kind == "map" and len(raster.regions) == 1
    masks = {name: _zone_mask(points, image.shape)
             for name, points in (("tinted", tinted), ("white", white), ("hatched", hatched))}
    where = [next((n for n, m in masks.items() if m[y, x]), "outside")
             for x, y in raster.gaps_xy]
    assert where.count("white") == 1
    assert where.count("hatched") >= 4
    assert set(where) == {"white", "hatched"}
