"""Vectoriser: valid polygons with holes and parts, exact pixel edges, COCO round trip."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pycocotools import mask as mask_utils
from shapely.geometry import MultiPolygon, Polygon

from planseg.export.rle import encode_mask
from planseg.export.vectorize import (
    VectorizeConfig,
    coco_polygons,
    mask_to_geometry,
    rasterize,
    rle_bbox_xyxy,
    rle_to_geometry,
)

EXACT = VectorizeConfig(simplify_px=0.0, min_area_px=0.0)
H, W = 60, 80


def _mask(*boxes: tuple[int, int, int, int], off: tuple[tuple[int, int, int, int], ...] = ()
          ) -> np.ndarray:
    """Union of boxes (x0, y0, x1, y1 exclusive) minus ``off`` boxes."""
    mask = np.zeros((H, W), bool)
    for x0, y0, x1, y1 in boxes:
        mask[y0:y1, x0:x1] = True
    for x0, y0, x1, y1 in off:
        mask[y0:y1, x0:x1] = False
    return mask


HARD_MASKS = {
    "rectangle": _mask((5, 10, 40, 30)),
    "hole": _mask((5, 10, 40, 30), off=((10, 15, 20, 20),)),
    "two holes and two parts": _mask((5, 5, 40, 30), (50, 40, 75, 55),
                                     off=((10, 10, 15, 15), (20, 20, 30, 25))),
    "1-px horizontal sliver": _mask((3, 5, 30, 6)),
    "1-px vertical sliver": _mask((7, 5, 8, 40)),
    "single pixel": _mask((3, 3, 4, 4)),
    "touching every border": _mask((0, 0, W, 5), (0, 0, 5, H), (0, H - 5, W, H), (W - 5, 0, W, H)),
    "whole raster": _mask((0, 0, W, H)),
    "corners touching": _mask((10, 10, 20, 20), (20, 20, 30, 30)),
    "1-px hole": _mask((10, 10, 30, 30), off=((20, 20, 21, 21),)),
    "1-px neck": _mask((10, 10, 15, 30), (16, 10, 20, 30), (15, 20, 16, 21)),
    "rectangle with sliver tail": _mask((10, 10, 30, 30), (30, 15, 60, 16)),
}


@pytest.mark.parametrize("name", sorted(HARD_MASKS))
def test_hard_masks_give_valid_geometry_that_rasterises_back(name: str) -> None:
    mask = HARD_MASKS[name]
    geometry = mask_to_geometry(mask, config=EXACT)
    assert geometry is not None and geometry.is_valid
    assert isinstance(geometry, Polygon | MultiPolygon)
    back = rasterize(geometry, (0, 0, W, H))
    iou = (back & mask).sum() / (back | mask).sum()
    assert iou >= 0.98 if mask.sum() > 40 else iou >= 0.5, iou
    assert rle_to_geometry(encode_mask(mask), EXACT).equals(geometry)


def test_axis_aligned_masks_are_exact() -> None:
    for name in ("rectangle", "hole", "two holes and two parts", "1-px horizontal sliver",
                 "1-px vertical sliver", "single pixel", "touching every border"):
        mask = HARD_MASKS[name]
        geometry = mask_to_geometry(mask, config=EXACT)
        assert geometry.area == mask.sum(), name
        assert np.array_equal(rasterize(geometry, (0, 0, W, H)), mask), name


def test_holes_and_parts_are_kept() -> None:
    geometry = mask_to_geometry(HARD_MASKS["two holes and two parts"], config=EXACT)
    assert isinstance(geometry, MultiPolygon) and len(geometry.geoms) == 2
    assert sorted(len(p.interiors) for p in geometry.geoms) == [0, 2]


def test_min_area_drops_small_parts_and_fills_small_holes() -> None:
    mask = _mask((5, 5, 40, 30), (50, 50, 52, 52), off=((10, 10, 12, 12),))
    geometry = mask_to_geometry(mask, config=VectorizeConfig(simplify_px=0, min_area_px=9))
    assert isinstance(geometry, Polygon) and not geometry.interiors
    assert geometry.area == 35 * 25
    assert mask_to_geometry(_mask((1, 1, 3, 3)), config=VectorizeConfig(min_area_px=9)) is None


def test_simplification_keeps_corners_of_straight_edged_zones() -> None:
    # an L-shaped zone drawn at an angle: staircase edges, six true corners
    canvas = np.zeros((300, 300), np.uint8)
    corners = np.array([[40, 60], [200, 20], [230, 140], [150, 160], [170, 250], [60, 260]])
    cv2.fillPoly(canvas, [corners.astype(np.int32)], 1)
    exact = mask_to_geometry(canvas.astype(bool), config=EXACT)
    simple = mask_to_geometry(canvas.astype(bool), config=VectorizeConfig(simplify_px=1.0))
    assert len(simple.exterior.coords) - 1 <= 12 < len(exact.exterior.coords)
    for corner in corners:
        assert simple.exterior.distance(shapely.Point(corner + 0.5)) < 2.0  # pixel centre
    assert abs(simple.area - exact.area) / exact.area < 0.01


def test_rle_bbox_is_exact() -> None:
    mask = _mask((7, 12, 33, 13), (20, 3, 21, 50))
    assert rle_bbox_xyxy(encode_mask(mask)) == (7, 3, 33, 50)
    assert rle_bbox_xyxy(encode_mask(np.zeros((5, 5), bool))) is None


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**31 - 1), st.floats(0.05, 0.7))
def test_random_masks_always_valid(seed: int, density: float) -> None:
    rng = np.random.default_rng(seed)
    small = rng.random((8, 10)) < density
    mask = cv2.resize(small.astype(np.uint8), (40, 32), interpolation=cv2.INTER_NEAREST)
    mask[rng.random(mask.shape) < 0.03] ^= 1  # speckle: 1-px parts and holes
    for config in (EXACT, VectorizeConfig()):
        geometry = mask_to_geometry(mask.astype(bool), config=config)
        if geometry is None:
            assert config.min_area_px > 0 or not mask.any()
            continue
        assert geometry.is_valid and not geometry.is_empty
        assert shapely.get_type_id(geometry) in (3, 6)  # Polygon, MultiPolygon


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_coco_polygons_round_trip_through_pycocotools(seed: int) -> None:
    rng = np.random.default_rng(seed)
    mask = np.zeros((120, 160), np.uint8)
    for _ in range(3):
        centre = rng.integers(20, 140), rng.integers(20, 100)
        axes = rng.integers(8, 40), rng.integers(8, 40)
        cv2.ellipse(mask, (int(centre[0]), int(centre[1])), (int(axes[0]), int(axes[1])),
                    float(rng.uniform(0, 180)), 0, 360, 1, -1)
    cv2.circle(mask, (80, 60), 6, 0, -1)  # often a hole
    if not mask.any():
        return
    geometry = mask_to_geometry(mask.astype(bool), config=EXACT)
    rles = mask_utils.frPyObjects(coco_polygons(geometry), 120, 160)
    back = mask_utils.decode(mask_utils.merge(rles)).astype(bool)
    source = mask.astype(bool)
    assert (back & source).sum() / (back | source).sum() >= 0.98


@pytest.mark.parametrize("seed", range(6))
def test_slanted_zones_with_holes_are_exact(seed: int) -> None:
    # staircase edges at every angle: the traced outline must give back every pixel
    rng = np.random.default_rng(seed)
    mask = np.zeros((160, 200), np.uint8)
    hull = cv2.convexHull((rng.random((8, 2)) * [180, 140] + 10).astype(np.int32))
    cv2.fillPoly(mask, [hull], 1)
    centre = hull.reshape(-1, 2).mean(axis=0).astype(int)
    cv2.circle(mask, (int(centre[0]), int(centre[1])), int(rng.integers(3, 15)), 0, -1)
    geometry = mask_to_geometry(mask.astype(bool), config=EXACT)
    assert geometry.is_valid
    assert np.array_equal(rasterize(geometry, (0, 0, 200, 160)), mask.astype(bool))
    assert geometry.area == mask.sum()


def test_noise_masks_stay_close() -> None:
    # pixels touching only at corners are joined by a thin strip (8-connectivity), so
    # salt-and-pepper masks are not exact, but close
    rng = np.random.default_rng(0)
    ious = []
    for _ in range(30):
        mask = rng.random((30, 40)) < rng.uniform(0.2, 0.8)
        geometry = mask_to_geometry(mask, config=EXACT)
        back = rasterize(geometry, (0, 0, 40, 30))
        ious.append((back & mask).sum() / (back | mask).sum())
    assert np.mean(ious) > 0.97 and min(ious) > 0.85
