"""SAM prompted at the colour regions (``amg.prompts: regions``): the device side answers
each point with SamPredictor's best mask, prompts go to one tile each, the SAM engine plans
map pages as prompts and text pages as nothing, and the fusion keeps one mask per zone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from segment_anything import SamPredictor

from planseg.export.rle import decode_rle
from planseg.export.types import Detection
from planseg.infer.amg import FastMaskGenerator
from planseg.infer.config import AmgConfig, SegmentConfig
from planseg.infer.engines.sam import SamEngine
from planseg.infer.fusion import fuse_page
from planseg.infer.prompted import prompted_records
from planseg.infer.tiles import tile_prompts
from planseg.ingest.documents import open_document
from planseg.ingest.tiling import Tile, plan_tiles
from planseg.models.registry import build_sam
from planseg.synth.dataset import generate
from tests.amg_toy import zoning_page

TOY_WEIGHTS = Path(__file__).parent / "data" / "amg_toy_tiny.pt"


@pytest.fixture(scope="module")
def toy_sam() -> torch.nn.Module:
    """The toy-trained tiny SAM of test_amg (its masks mean something)."""
    sam = build_sam("tiny", seed=0)
    state = torch.load(TOY_WEIGHTS, weights_only=True)
    sam.load_state_dict({k: v.float() for k, v in state.items()})
    return sam.eval()


def test_each_point_gets_sam_predictors_best_mask(toy_sam) -> None:
    image, truth = zoning_page(100)
    points = np.array([_inside(mask) for mask in truth], dtype=np.float64)
    generator = FastMaskGenerator(toy_sam, AmgConfig(pred_iou_thresh=0.0,
                                                     stability_score_thresh=0.0))
    records = prompted_records(generator, image, points, np.arange(len(points)) + 10)
    predictor = SamPredictor(toy_sam)
    predictor.set_image(image)
    assert [r["prompt_index"] for r in records] == list(range(10, 10 + len(points)))
    for record, point in zip(records, points, strict=True):
        masks, scores, _ = predictor.predict(point_coords=point[None], point_labels=np.ones(1),
                                             multimask_output=True)
        best = masks[int(np.argmax(scores))]
        ours = decode_rle(record["segmentation"]).astype(bool)
        union = np.logical_or(best, ours).sum()
        assert np.logical_and(best, ours).sum() / max(union, 1) >= 0.99
        assert record["predicted_iou"] == pytest.approx(float(scores.max()), abs=1e-4)
        assert record["point_coords"] == [point.tolist()]


def test_thresholds_drop_points_whose_best_mask_is_weak(toy_sam) -> None:
    image, truth = zoning_page(101)
    points = np.array([_inside(mask) for mask in truth], dtype=np.float64)
    loose = prompted_records(FastMaskGenerator(toy_sam, AmgConfig(
        pred_iou_thresh=0.0, stability_score_thresh=0.0)), image, points, np.arange(len(points)))
    cut = float(np.median([r["predicted_iou"] for r in loose]))
    strict = prompted_records(FastMaskGenerator(toy_sam, AmgConfig(
        pred_iou_thresh=cut, stability_score_thresh=0.0)), image, points, np.arange(len(points)))
    assert 0 < len(strict) < len(loose)
    assert all(r["predicted_iou"] > cut for r in strict)


def test_every_prompt_goes_to_exactly_one_tile_where_it_lies_deepest() -> None:
    tiles = plan_tiles(2000, 1500, 1024, 256)
    rng = np.random.default_rng(0)
    points = [(int(x), int(y)) for x, y in zip(rng.integers(0, 2000, 300),
                                               rng.integers(0, 1500, 300), strict=True)]
    owners: dict[int, int] = {}
    for index, tile in enumerate(tiles):
        local, mine = tile_prompts(points, tiles, index)
        for (x, y), p in zip(local, mine, strict=True):
            assert p not in owners
            owners[int(p)] = index
            assert 0 <= x < tile.width_px and 0 <= y < tile.height_px
            assert (x + tile.x0, y + tile.y0) == points[p]
    assert sorted(owners) == list(range(len(points)))

    def depth(point: tuple[int, int], tile: Tile) -> int:
        x, y = point
        return min(x - tile.x0, y - tile.y0, tile.x1 - 1 - x, tile.y1 - 1 - y)

    for p, owner in owners.items():  # in an overlap, the tile whose edges are furthest
        assert depth(points[p], tiles[owner]) == max(depth(points[p], t) for t in tiles)


def _box(x0: int, y0: int, x1: int, y1: int, shape=(100, 200)) -> np.ndarray:
    mask = np.zeros(shape, dtype=bool)
    mask[y0:y1, x0:x1] = True
    return mask


def _region(mask: np.ndarray, score: float = 0.95) -> Detection:
    detection = Detection.from_mask(mask, score=score)
    detection.source, detection.predicted_iou, detection.stability_score = "regions", None, None
    detection.fill_rgb = (200, 10, 10)
    return detection


def _sam(mask: np.ndarray, iou: float) -> Detection:
    return Detection.from_mask(mask, score=iou, predicted_iou=iou, stability_score=0.97)


def _masks(detections: list[Detection]) -> list[np.ndarray]:
    return [decode_rle(d.rle).astype(bool) for d in detections]


def test_a_confident_mask_joins_the_regions_the_colours_split() -> None:
    left, right, other = _box(10, 10, 50, 90), _box(50, 10, 90, 90), _box(100, 10, 190, 90)
    regions = [_region(left), _region(right), _region(other)]
    zone = left | right
    fused = fuse_page(regions, [_sam(zone, 0.95)], [0], keep="better", sam_min_iou=0.9)
    assert len(fused) == 2
    assert any(np.array_equal(m, zone) for m in _masks(fused))
    joined = next(d for d in fused if d.source == "sam")
    assert joined.fill_rgb == (200, 10, 10)  # the region's colour, for the legend class
    # not confident: the colours stand
    unsure = fuse_page(regions, [_sam(zone, 0.6)], [0], keep="better", sam_min_iou=0.9)
    assert [d.source for d in unsure] == ["regions"] * 3
    # SAM's mask (even confident) that spills into a region it does not hold: colours stand
    spill = zone | _box(100, 10, 130, 90)
    fused = fuse_page(regions, [_sam(spill, 0.97)], [0], keep="better", sam_min_iou=0.9)
    assert [d.source for d in fused] == ["regions"] * 3


def test_agreeing_masks_redraw_the_edge_and_keep_modes_choose() -> None:
    region = _box(10, 10, 60, 60)
    sam = _box(12, 10, 60, 62)
    for keep, confident, expected in (("better", 0.95, "sam"), ("better", 0.8, "regions"),
                                      ("sam", 0.5, "sam"), ("regions", 0.99, "regions")):
        fused = fuse_page([_region(region)], [_sam(sam, confident)], [0], keep=keep,
                          sam_min_iou=0.9)
        assert [d.source for d in fused] == [expected], keep


def test_uncovered_area_masks_become_zones_when_confident_and_outside_regions() -> None:
    region = _box(10, 10, 60, 90)
    white_zone = _box(100, 10, 180, 90)
    fused = fuse_page([_region(region)], [_sam(white_zone, 0.95)], [1], keep="better",
                      sam_min_iou=0.9)
    assert len(fused) == 2 and any(np.array_equal(m, white_zone) for m in _masks(fused))
    unsure = fuse_page([_region(region)], [_sam(white_zone, 0.5)], [1], keep="better",
                       sam_min_iou=0.9)
    assert len(unsure) == 1
    overlapping = fuse_page([_region(region)], [_sam(_box(10, 10, 80, 90), 0.95)], [1],
                            keep="better", sam_min_iou=0.9)
    assert len(overlapping) == 1


def test_duplicate_sam_masks_of_two_prompts_are_one_zone() -> None:
    left, right = _box(10, 10, 50, 90), _box(50, 10, 90, 90)
    zone = left | right
    fused = fuse_page([_region(left), _region(right)], [_sam(zone, 0.95), _sam(zone, 0.94)],
                      [0, 1], keep="better", sam_min_iou=0.9)
    assert len(fused) == 1 and fused[0].predicted_iou == pytest.approx(0.95)


@pytest.fixture(scope="module")
def scans(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("scans")
    generate(out, docs=4, seed=12345, dpi=72.0, sheet="A4", style="scan")
    return out


def _plans(folder: Path, config: SegmentConfig) -> list:
    engine = SamEngine(config)
    plans = []
    for pdf in sorted((folder / "pdfs").glob("*.pdf")):
        with open_document(pdf) as doc:
            plans += [engine.plan_page(doc, i) for i in range(doc.page_count)]
    return plans


def test_sam_engine_prompts_map_pages_inside_their_regions_and_skips_text(scans) -> None:
    plans = _plans(scans, SegmentConfig(dpi=72.0))
    maps = [p for p in plans if p.page_kind == "map"]
    texts = [p for p in plans if p.page_kind == "text"]
    assert maps and texts
    for plan in texts:
        assert (plan.engine, plan.tiles, plan.detections) == ("none", [], [])
    for plan in maps:
        assert plan.engine == "sam" and plan.detections is None and plan.tiles
        assert len(plan.candidates) >= 5
        assert len(plan.prompts_xy) >= len(plan.candidates)
        for candidate, (x, y) in zip(plan.candidates, plan.prompts_xy, strict=False):
            assert decode_rle(candidate.rle)[y, x]  # each region's point lies inside it
    # pages all: text pages go to SAM's grid; prompts grid: every page is the plain AMG
    everything = _plans(scans, SegmentConfig(dpi=72.0, pages="all"))
    assert all(p.engine == "sam" and p.tiles for p in everything)
    grid = _plans(scans, SegmentConfig(dpi=72.0, amg=AmgConfig(prompts="grid")))
    assert all(p.engine == "sam" and p.tiles and not p.prompts_xy and p.page_kind is None
               for p in grid)


def test_page_tiles_for_a_single_tile_take_all_prompts() -> None:
    tiles = [Tile(0, 0, 300, 200)]
    local, mine = tile_prompts([(5, 5), (299, 199)], tiles, 0)
    assert mine.tolist() == [0, 1] and local.tolist() == [[5, 5], [299, 199]]


def _inside(mask: np.ndarray) -> tuple[int, int]:
    """A pixel deep inside ``mask`` (its distance-transform maximum), (x, y)."""
    import cv2

    distance = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 5)
    row, col = np.unravel_index(int(distance.argmax()), distance.shape)
    return int(col), int(row)


def test_prompt_settings_are_checked_all_at_once(tmp_path: Path) -> None:
    from planseg.config import load_config
    from planseg.errors import ConfigError

    path = tmp_path / "bad.yaml"
    path.write_text("amg:\n  prompts: dots\n  keep: both\n  sam_min_iou: 1.5\n")
    with pytest.raises(ConfigError) as info:
        load_config(SegmentConfig, path)
    assert "amg.prompts: 'dots'" in str(info.value) and "amg.keep: 'both'" in str(info.value)
    path.write_text("amg:\n  sam_min_iou: 1.5\n")  # values are checked once the types pass
    with pytest.raises(ConfigError, match="sam_min_iou: must be within 0..1"):
        load_config(SegmentConfig, path)
