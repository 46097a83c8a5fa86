"""``planseg synth --look handcolour`` and ``--look ortho``: the classic layout and truth drawn
as an old hand-coloured plan and as a plan over an aerial photo (issue 18's new styles).

What is checked on the rendered pages against the generator's own zone masks: hand-coloured
paint spills past the outlines and leaves slivers where classic fills meet them exactly; an
ortho zone shows photo texture where a classic zone is flat. Small A4 sheets; one dataset
per look per module.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pymupdf
import pytest
import yaml
from pycocotools import mask as mask_utils
from typer.testing import CliRunner

from planseg.cli import app
from planseg.config import load_config
from planseg.export.label import run as label_run
from planseg.export.label_config import LabelConfig
from planseg.export.metrics import class_metrics, coco_metrics
from planseg.export.rle import decode_rle, rle_coded
from planseg.synth import generate

DPI = 100  # a mm is ~4 pixels: enough to see 0.5-2 mm of spilled paint
PX_PER_PT = DPI / 72
SEED = 4  # 3 docs: text-only pages, a two-sheet plan, a map on page 3 (as test_synth)
LOOKS = ("handcolour", "ortho")
runner = CliRunner()
# pycocotools 2.0.x on numpy 2 warns on every decode; not ours to fix
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


@pytest.fixture(scope="module")
def datasets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """look -> a 3-document A4 dataset of that look, same seed (classic included)."""
    root = tmp_path_factory.mktemp("looks")
    for look in ("classic", *LOOKS):
        generate(root / look, docs=3, seed=SEED, dpi=DPI, sheet="A4", look=look)
    return {look: root / look for look in ("classic", *LOOKS)}


def _json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _map_pages(root: Path) -> list[tuple[np.ndarray, list[np.ndarray]]]:
    """(HxWx3 float32 RGB page, its zones' HxW bool masks) of every map page."""
    coco = _json(root / "data" / "annotations.json")
    pages = []
    for image in coco["images"]:
        height, width = image["height"], image["width"]
        masks = []
        for annotation in coco["annotations"]:
            if annotation["image_id"] != image["id"]:
                continue
            segmentation = annotation["segmentation"]
            rle = (mask_utils.merge(mask_utils.frPyObjects(segmentation, height, width))
                   if isinstance(segmentation, list) else rle_coded(segmentation))
            masks.append(decode_rle(rle).astype(bool))
        if masks:
            bgr = cv2.imread(str(root / "data" / "images" / image["file_name"]))
            pages.append((cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB).astype(np.float32), masks))
    return pages


def _distance_pt(mask: np.ndarray) -> np.ndarray:
    """Distance (points) of each pixel to the nearest pixel outside ``mask``."""
    return cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 5) / PX_PER_PT


def _spill_and_slivers(rgb: np.ndarray, masks: list[np.ndarray]) -> tuple[float, float]:
    """Share of the road pixels 2-5 pt outside a zone that show that zone's colour (paint
    past the outline), and share of a zone's pixels 1.5-4 pt inside its edge that show
    paper (paint stopping short). Ink (dark pixels) is left out of both."""
    union = np.any(masks, axis=0)
    outside_any = _distance_pt(~union)
    height, width = union.shape
    # paper: the page margin left of the map frame (a hand-coloured plan's paper raster)
    paper = np.median(rgb[height // 3: 2 * height // 3, int(2 * PX_PER_PT): int(10 * PX_PER_PT)]
                      .reshape(-1, 3), axis=0)
    light = rgb.mean(axis=2) > 90
    to_paper = np.linalg.norm(rgb - paper, axis=2)
    spilled = band = stopped = edge = 0
    pad = int(6 * PX_PER_PT)
    for full_mask in masks:
        ys, xs = np.nonzero(full_mask)  # a window around the zone: the page is big
        window = (slice(max(ys.min() - pad, 0), ys.max() + pad + 1),
                  slice(max(xs.min() - pad, 0), xs.max() + pad + 1))
        mask, colours = full_mask[window], rgb[window]
        inside, outside = _distance_pt(mask), _distance_pt(~mask)
        deep = (inside >= 6) & light[window]
        if deep.sum() < 50:
            continue
        to_zone = np.linalg.norm(colours - np.median(colours[deep], axis=0), axis=2)
        near = (~union[window] & (outside >= 2) & (outside <= 5)
                & (outside <= outside_any[window] + 0.01))
        spilled += int((near & (to_zone < 40) & (to_zone < to_paper[window])).sum())
        band += int(near.sum())
        rim = mask & (inside >= 1.5) & (inside <= 4) & light[window]
        stopped += int((rim & (to_paper[window] < 20)).sum())
        edge += int(rim.sum())
    return spilled / band, stopped / edge


def _texture(rgb: np.ndarray, masks: list[np.ndarray]) -> float:
    """Median over zones of the median local standard deviation (9x9 pixels, grey levels)
    inside each zone, 3 pixels clear of its edge."""
    grey = rgb.mean(axis=2)
    mean = cv2.blur(grey, (9, 9))
    local_sd = np.sqrt(np.maximum(cv2.blur(grey * grey, (9, 9)) - mean * mean, 0.0))
    per_zone = []
    for mask in masks:
        inner = cv2.erode(mask.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
        if inner.sum() >= 200:
            per_zone.append(float(np.median(local_sd[inner])))
    return float(np.median(per_zone))


@pytest.mark.parametrize("look", LOOKS)
def test_look_draws_the_classic_zones(datasets: dict[str, Path], look: str) -> None:
    """Same seed, same truth: every zone's mask and code is the classic look's."""
    ours = _json(datasets[look] / "data" / "annotations.json")
    classic = _json(datasets["classic"] / "data" / "annotations.json")
    assert [(a["image_id"], a["segmentation"], a["zone_code"]) for a in ours["annotations"]] \
        == [(a["image_id"], a["segmentation"], a["zone_code"]) for a in classic["annotations"]]
    assert ours["info"]["look"] == look and ours["images"] == classic["images"]
    if look == "handcolour":  # the colour is all a hand-coloured plan has
        assert not any(a["hatched"] for a in ours["annotations"])


@pytest.mark.parametrize("look", LOOKS)
def test_look_same_seed_same_bytes(datasets: dict[str, Path], look: str,
                                   tmp_path: Path) -> None:
    """The painted rasters draw from the look's seeded stream: same seed, same bytes
    (documents are independent, so one document is enough to compare)."""
    generate(tmp_path, docs=1, seed=SEED, dpi=DPI, sheet="A4", look=look)
    assert (tmp_path / "pdfs" / "doc-000.pdf").read_bytes() == \
        (datasets[look] / "pdfs" / "doc-000.pdf").read_bytes()
    for png in (tmp_path / "data" / "images").iterdir():
        assert png.read_bytes() == (datasets[look] / "data" / "images" / png.name).read_bytes()


def test_handcolour_paint_misses_the_outlines(datasets: dict[str, Path]) -> None:
    """Hand-coloured paint crosses the black outlines on every map and stops short of them
    in places, unevenly laid; classic fills meet the outlines exactly and are flat."""
    for rgb, masks in _map_pages(datasets["handcolour"]):
        spill, slivers = _spill_and_slivers(rgb, masks)
        assert spill > 0.02 and slivers > 0.002, (spill, slivers)
        assert _texture(rgb, masks) > 3.0
    for rgb, masks in _map_pages(datasets["classic"]):
        spill, slivers = _spill_and_slivers(rgb, masks)
        assert spill < 0.01 and slivers == 0.0, (spill, slivers)
        assert _texture(rgb, masks) < 1.0


def test_ortho_zones_are_transparent_fills_over_a_photo(datasets: dict[str, Path]) -> None:
    """Under every ortho zone the photo shows through (texture where classic is flat); on
    the PDF page the photo is one image filling the map frame and every zone fill is
    30-50 % opaque."""
    for (rgb, masks), (classic_rgb, _) in zip(_map_pages(datasets["ortho"]),
                                              _map_pages(datasets["classic"]), strict=True):
        assert _texture(rgb, masks) > 4.0 > 1.0 > _texture(classic_rgb, masks)
    coco = _json(datasets["ortho"] / "data" / "annotations.json")
    maps = {(i["pdf"], i["page"]) for i in coco["images"]
            if any(a["image_id"] == i["id"] for a in coco["annotations"])}
    for pdf, page_number in sorted(maps):
        with pymupdf.open(datasets["ortho"] / "pdfs" / pdf) as doc:
            page = doc[page_number - 1]
            (photo,) = page.get_image_info()
            opacities = {round(d["fill_opacity"], 3) for d in page.get_drawings()
                         if d["type"] == "f" and d["fill_opacity"] < 1}
            page_area = page.rect.get_area()
        assert pymupdf.Rect(photo["bbox"]).get_area() > 0.5 * page_area
        assert len(opacities) == 1 and 0.3 <= opacities.pop() <= 0.5


def test_label_reads_ortho_zones_and_skips_handcolour_maps(
        datasets: dict[str, Path], tmp_path: Path) -> None:
    """Ortho zones are vector fills, semi-transparent, on pages with no opaque zone:
    ``planseg label`` reads them exactly by default (legend classes too) and skips them with
    ``vector.transparent_zones: false`` (overlays). A hand-coloured map's colour is a
    raster: its map pages are skipped."""
    def label(look: str, name: str, **vector) -> tuple:
        summary = label_run(load_config(LabelConfig, None, {
            "inputs": [datasets[look] / "pdfs"], "out": tmp_path / name, "dpi": DPI,
            "workers": 1, "vector": vector}))
        return summary, tmp_path / name / "data" / "annotations.json"

    maps = len(_map_pages(datasets["ortho"]))
    summary, labels_path = label("ortho", "default")
    assert summary.failures == [] and summary.labelled == maps
    gt, labels = _json(datasets["ortho"] / "data" / "annotations.json"), _json(labels_path)
    metrics = coco_metrics(gt, labels)
    assert metrics["ap50"] >= 0.98 and metrics["matched_fraction"] >= 0.98, metrics
    assert class_metrics(gt, labels)["class_accuracy"] >= 0.98
    summary, _ = label("ortho", "overlays", transparent_zones=False)
    assert summary.labelled == 0
    assert sum("no vector zones" in s for s in summary.skipped) == maps
    summary, _ = label("handcolour", "handcolour")
    assert summary.labelled == 0
    assert sum("no vector zones" in s for s in summary.skipped) == len(
        _map_pages(datasets["handcolour"]))


@pytest.mark.parametrize("look", LOOKS)
def test_cli_look_with_scan_style(look: str, tmp_path: Path) -> None:
    """``--look X --style scan``: image-only pages whose truth is the vector look's zones
    moved by the skew (same zone codes, same count)."""
    out = tmp_path / "scan"
    result = runner.invoke(app, ["synth", str(out), "--docs", "1", "--seed", "1", "--dpi",
                                 "30", "--sheet", "A4", "--look", look, "--style", "scan"])
    assert result.exit_code == 0, result.output
    assert yaml.safe_load((out / "synth.yaml").read_text())["look"] == look
    with pymupdf.open(out / "pdfs" / "doc-000.pdf") as doc:
        assert all(not page.get_drawings() and len(page.get_images()) == 1 for page in doc)
    generate(tmp_path / "vector", docs=1, seed=1, dpi=30, sheet="A4", look=look)
    scanned = _json(out / "data" / "annotations.json")["annotations"]
    vector = _json(tmp_path / "vector" / "data" / "annotations.json")["annotations"]
    assert scanned and [a["zone_code"] for a in scanned] == [a["zone_code"] for a in vector]
