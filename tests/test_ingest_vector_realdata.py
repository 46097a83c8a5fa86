"""Vector zones against ground truth: planseg's own synth generator (exact COCO masks), real
zoning maps in ../shared/realdata/planning (values read off each page by eye; skipped where the
folder is absent) and GDAL's PDF driver as an independent oracle (skipped without ``ogrinfo``)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
import shapely
from conftest import REALDATA
from pycocotools import mask as mask_utils

from planseg.ingest.documents import open_document
from planseg.ingest.render import page_transforms
from planseg.ingest.vector import VectorPage, fill_regions, read_vector_page
from planseg.ingest.vector_config import VectorConfig

PLANNING = REALDATA / "planning"


@pytest.fixture(scope="module")
def synth_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from planseg.synth import generate

    out = tmp_path_factory.mktemp("synth")
    generate(out, docs=2, seed=7, dpi=100, sheet="A4")
    return out


def _zone_mask_px(geometry_pt: shapely.Geometry, pdf_to_pixel: np.ndarray, height: int,
                  width: int) -> np.ndarray:
    """HxW bool mask of a PDF-frame zone under pycocotools' polygon rule (the GT's rule)."""
    geometry = shapely.transform(geometry_pt, lambda xy: xy @ pdf_to_pixel[:2, :2].T
                                 + pdf_to_pixel[:2, 2])
    mask = np.zeros((height, width), dtype=bool)
    for polygon in shapely.get_parts(geometry):
        mask |= _ring_mask(polygon.exterior, height, width)
        for hole in polygon.interiors:
            mask &= ~_ring_mask(hole, height, width)
    return mask


def _ring_mask(ring: shapely.LinearRing, height: int, width: int) -> np.ndarray:
    flat = np.asarray(ring.coords)[:-1].ravel().tolist()
    return mask_utils.decode(mask_utils.merge(
        mask_utils.frPyObjects([flat], height, width))).astype(bool)


def _gt_mask(annotation: dict, height: int, width: int) -> np.ndarray:
    segmentation = annotation["segmentation"]
    if isinstance(segmentation, list):
        rle = mask_utils.merge(mask_utils.frPyObjects(segmentation, height, width))
    else:
        rle = {"size": segmentation["size"], "counts": segmentation["counts"].encode("ascii")}
    return mask_utils.decode(rle).astype(bool)


def test_synth_zones_match_the_generators_ground_truth(synth_dataset):
    coco = json.loads((synth_dataset / "data" / "annotations.json").read_text())
    by_image = defaultdict(list)
    for annotation in coco["annotations"]:
        by_image[annotation["image_id"]].append(annotation)
    ious = []
    for image in coco["images"]:
        with open_document(synth_dataset / "pdfs" / image["pdf"]) as doc:
            result = read_vector_page(doc, image["page"] - 1)
            pdf_to_pixel = page_transforms(doc, image["page"] - 1, image["dpi"])[1]
        gt = by_image[image["id"]]
        if not gt:  # text-only page
            assert result.zones == [] and result.page_kind == "text"
            continue
        assert result.page_kind == "map" and result.fallback is None
        h, w = image["height"], image["width"]
        masks = [_zone_mask_px(z.geometry_pt, pdf_to_pixel, h, w) for z in result.zones]
        for annotation in gt:
            truth = _gt_mask(annotation, h, w)
            best = max((m & truth).sum() / (m | truth).sum() for m in masks)
            ious.append(best)
            assert best >= 0.9, (image["file_name"], annotation["zone_code"], best)
        assert len(result.zones) <= 1.1 * len(gt)  # one polygon per zone, not blobs
    assert len(ious) == 30 and float(np.mean(ious)) > 0.97


def _read_real(name: str) -> VectorPage:
    path = PLANNING / name
    if not path.is_file():
        pytest.skip(f"real documents not available ({path} is absent)")
    with open_document(path) as doc:
        return read_vector_page(doc, 0)


def _colours(page: VectorPage) -> set[tuple[int, int, int]]:
    return {z.fill_rgb for z in page.zones}


def _hex(*codes: str) -> set[tuple[int, int, int]]:
    return {tuple(int(c[i:i + 2], 16) for i in (0, 2, 4)) for c in codes}  # type: ignore[misc]


def test_brattleboro_districts():
    """Values read off the page: the legend "ZONING DISTRICTS" lists 12 districts, each a
    swatch colour drawn once as a (multi-ring) district path; Rural (RL, olive green) is the
    single large district in the west."""
    page = _read_real("us_vt_brattleboro_zoning.pdf")
    legend = _hex("801006", "F3B6B5", "F24956", "D95A00", "FAA805", "FFFF00", "FFFF99",
                  "E0E6C3", "9CB55A", "00A9E6", "78611D", "8E69AF")
    assert legend <= _colours(page)
    rural = [z for z in page.zones if z.fill_rgb == (0x9C, 0xB5, 0x5A)]
    assert len(rural) == 1 and rural[0].geometry_pt.geom_type == "Polygon"
    assert rural[0].geometry_pt.area > 0.25 * page.frame_pt.area
    # the legend column (x about 987-1005 pt) holds swatches only: no zone starts there
    assert not [z for z in page.zones if z.geometry_pt.bounds[0] > 980]
    assert page.page_kind == "map" and page.fallback is None


def test_newport_zones():
    """From the legend "Conventional Zoning": Commercial B red, Urban Recreational green,
    Urban Residential yellow, General Residential grey - the largest district on the map."""
    page = _read_real("us_vt_newport_zoning.pdf")
    assert _hex("FF0000", "00FF00", "FFFF00", "CCCCCC") <= _colours(page)
    largest = max(page.zones, key=lambda z: z.geometry_pt.area)
    assert largest.fill_rgb == (204, 204, 204)
    assert page.paths > 25_000 and page.fallback is None


def test_weston_districts_and_frame():
    """The key lists 8 districts (C, Re, S, R, RR, V, Com, I) with these swatch colours; the
    sheet border (42..1668 x 40..2543 pt from the top-left) is the frame."""
    page = _read_real("us_vt_weston_zoning.pdf")
    districts = _hex("D5EDD5", "EEFCEB", "CCFFFF", "FEFDE5", "FCFBBD", "FFEDCC", "FFCCCC",
                     "F1CCFF")
    assert districts <= _colours(page)
    x0, y0, x1, y1 = page.frame_pt.bounds
    assert (x0, 2592 - y1, x1, 2592 - y0) == pytest.approx((42, 40, 1668, 2543), abs=25)


def test_strafford_frame_excludes_the_legend_below_the_map():
    """The map frame is the rectangle 17..776 x 16..1009 pt from the top; legend and title
    lie below it. Land Forest Conservation (green) and Rural Residential II (pale yellow)
    are districts; Rural Residential I is paper white (not read: see non_zone_rgb)."""
    page = _read_real("us_vt_strafford_zoning.pdf")
    assert page.frame_pt.bounds == pytest.approx((17, 1224 - 1009, 776, 1224 - 16), abs=1)
    assert _hex("73B273", "FFFFBE") <= _colours(page)
    assert all(z.geometry_pt.bounds[1] >= 1224 - 1009 - 1 for z in page.zones)


def test_plochingen_frame_is_the_inner_map_rectangle():
    """The sheet has a border, an inner border and the plan's frame (185..1607 x 82..1448 pt
    from the CropBox's top-left); the magenta "Fläche für Gemeinbedarf" is the largest zone."""
    page = _read_real("de_plochingen_bplan.pdf")
    width = page.frame_pt.bounds[2] - page.frame_pt.bounds[0]
    assert width == pytest.approx(1607 - 185, abs=5)
    largest = max(page.zones, key=lambda z: z.geometry_pt.area)
    assert largest.fill_rgb == (255, 127, 255)


@pytest.mark.parametrize("name", ["us_vt_plainfield_scan.pdf",
                                  "uk_cumbria_policiesmap_raster.pdf"])
def test_image_only_maps_give_no_zones(name):
    page = _read_real(name)
    assert page.zones == [] and page.page_kind == "map" and page.fallback is None


def _gdal_fills(path: Path) -> dict[tuple[int, int, int], shapely.Geometry]:
    """GDAL's filled paths, united per BRUSH colour, in PDF points (GDAL_PDF_DPI=72)."""
    env = {**os.environ, "OGR_PDF_READ_NON_STRUCTURED": "YES", "GDAL_PDF_DPI": "72"}
    text = subprocess.run(["ogrinfo", "-al", "-q", str(path)], env=env, capture_output=True,
                          text=True, check=True, timeout=120).stdout
    by_colour = defaultdict(list)
    for block in text.split("OGRFeature(")[1:]:
        brush = re.search(r"BRUSH\(fc:#([0-9A-Fa-f]{6})", block)
        wkt = re.search(r"^\s+((?:MULTI)?POLYGON .*)$", block, re.MULTILINE)
        if brush and wkt:
            geometry = shapely.make_valid(shapely.from_wkt(wkt.group(1)))
            by_colour[next(iter(_hex(brush.group(1))))].append(geometry)
    return {rgb: shapely.union_all(parts) for rgb, parts in by_colour.items()}


@pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="GDAL's ogrinfo is not installed")
@pytest.mark.parametrize("name", ["us_vt_brattleboro_zoning.pdf", "us_vt_weston_zoning.pdf"])
def test_fills_lie_inside_gdals_fills_of_their_colour(name):
    path = PLANNING / name
    if not path.is_file():
        pytest.skip(f"real documents not available ({path} is absent)")
    """Fills that can be zones (big enough, not paper or ink) lie inside GDAL's fills of
    their colour. The others are left out: GDAL 3.6 skips or recolours some small symbols
    (Weston's road markers, Brattleboro's north arrow and one legend swatch, seen by eye) and
    white and black label boxes."""
    gdal = _gdal_fills(path)
    floor, non_zone = VectorConfig().min_zone_area_pt2, set(VectorConfig().non_zone_rgb)
    with open_document(path) as doc:
        ours = defaultdict(list)
        for rgb, geometry in fill_regions(doc, 0):
            if geometry.area >= floor and rgb not in non_zone:
                ours[rgb].append(geometry)
    assert len(ours) >= 8
    assert set(ours) <= set(gdal)  # the same colours (GDAL rounds them the same way)
    for rgb, parts in ours.items():
        mine = shapely.union_all(parts)
        outside = shapely.difference(mine, shapely.buffer(gdal[rgb], 0.5)).area
        assert outside <= 0.001 * mine.area + 1.0, (rgb, outside, mine.area)
