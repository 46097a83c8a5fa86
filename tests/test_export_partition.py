"""--partition: overlapping masks -> gap-free, non-overlapping coverage sharing edges."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import shapely

from planseg.export.partition import partition_page
from planseg.export.types import Detection
from planseg.export.vectorize import VectorizeConfig, rasterize

H, W = 160, 200


def _blob_detections(seed: int, count: int = 25) -> tuple[list[Detection], list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    detections, masks = [], []
    for _ in range(count):
        mask = np.zeros((H, W), np.uint8)
        centre = rng.integers(0, W), rng.integers(0, H)
        points = (rng.normal(size=(6, 2)) * 25 + centre).astype(np.int32)
        cv2.fillPoly(mask, [cv2.convexHull(points)], 1)
        if mask.any():
            masks.append(mask.astype(bool))
            detections.append(Detection.from_mask(masks[-1], score=float(rng.random())))
    return detections, masks


def _pairwise_overlap(geometries: list) -> float:
    worst = 0.0
    tree = shapely.STRtree(geometries)
    for i, j in zip(*tree.query(geometries, predicate="intersects"), strict=True):
        if i < j:
            worst = max(worst, geometries[i].intersection(geometries[j]).area)
    return worst


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_exact_partition_has_no_overlap_and_keeps_the_union(seed: int) -> None:
    detections, masks = _blob_detections(seed)
    parts = partition_page(detections, W, H, VectorizeConfig(simplify_px=0, min_area_px=0))
    geometries = list(parts.values())
    assert all(g.is_valid for g in geometries)
    assert _pairwise_overlap(geometries) == 0.0
    union = shapely.union_all(geometries)
    assert union.area == np.any(masks, axis=0).sum()
    assert np.array_equal(rasterize(union, (0, 0, W, H)), np.any(masks, axis=0))
    assert shapely.coverage_is_valid(np.array(geometries))


@pytest.mark.parametrize("seed", [3, 4])
def test_simplified_partition_is_still_a_coverage(seed: int) -> None:
    detections, masks = _blob_detections(seed)
    parts = partition_page(detections, W, H, VectorizeConfig(simplify_px=1.5, min_area_px=16))
    geometries = list(parts.values())
    assert all(g.is_valid for g in geometries)
    assert _pairwise_overlap(geometries) < 1e-6  # a rounding area
    assert shapely.coverage_is_valid(np.array(geometries))
    union_area = shapely.union_all(geometries).area
    assert abs(union_area - np.any(masks, axis=0).sum()) / union_area < 0.02


def test_higher_score_wins_contested_pixels() -> None:
    left = np.zeros((H, W), bool)
    left[20:100, 10:120] = True
    right = np.zeros((H, W), bool)
    right[20:100, 80:190] = True
    detections = [Detection.from_mask(left, score=0.6), Detection.from_mask(right, score=0.9)]
    parts = partition_page(detections, W, H, VectorizeConfig(simplify_px=0, min_area_px=0))
    assert parts[1].area == right.sum()
    assert parts[0].area == (left & ~right).sum()
    assert parts[0].bounds == (10.0, 20.0, 80.0, 100.0)


def test_slivers_go_to_their_neighbour() -> None:
    big = np.zeros((H, W), bool)
    big[20:100, 20:120] = True
    lower = np.zeros((H, W), bool)
    lower[18:102, 18:122] = True  # lower score: only a 2-px frame around `big` is left
    detections = [Detection.from_mask(big, score=0.9), Detection.from_mask(lower, score=0.5)]
    parts = partition_page(detections, W, H, VectorizeConfig(simplify_px=0, min_area_px=1000))
    assert list(parts) == [0]  # the frame (< 1000 px) was handed to its neighbour
    assert parts[0].area == (big | lower).sum()


def test_empty_page() -> None:
    assert partition_page([], W, H) == {}
