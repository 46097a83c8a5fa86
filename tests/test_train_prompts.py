"""Prompt sampling, SAM preprocessing and the loss, on small synthetic masks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from segment_anything.utils.amg import build_point_grid
from segment_anything.utils.transforms import ResizeLongestSide

from planseg.models.registry import build_sam
from planseg.train.config import LossConfig, PromptConfig
from planseg.train.losses import mask_iou, sam_loss
from planseg.train.prompts import (
    amg_grid_xy,
    center_point,
    correction_point,
    negative_region,
    noisy_box,
    sample_prompts,
    snap_to_grid,
)
from planseg.train.transforms import preprocess_batch, resize_image, resize_masks


def _ring(h=64, w=64) -> np.ndarray:
    yy, xx = np.mgrid[:h, :w]
    r = np.hypot(xx - w / 2, yy - h / 2)
    return (r > 12) & (r < 24)


def test_amg_grid_matches_segment_anything():
    grid = amg_grid_xy(8, 200, 100)
    assert np.allclose(grid, build_point_grid(8) * np.array([200, 100]))


def test_center_point_is_interior_even_when_centroid_is_not():
    ring = _ring()
    x, y = center_point(ring).astype(int)
    assert ring[y, x]


def test_snap_to_grid_picks_a_grid_point_inside_the_mask():
    ring = _ring()
    grid = amg_grid_xy(8, 64, 64)
    snapped = snap_to_grid(ring, center_point(ring), grid)
    assert any(np.allclose(snapped, g) for g in grid)
    assert ring[int(snapped[1]), int(snapped[0])]
    tiny = np.zeros((64, 64), bool)
    tiny[1, 1] = True  # no grid point inside: the point stays
    assert np.allclose(snap_to_grid(tiny, np.array([1.0, 1.0]), grid), [1, 1])


def test_boxes_are_noisy_but_bounded():
    mask = np.zeros((100, 100), bool)
    mask[20:60, 30:90] = True
    rng = np.random.default_rng(0)
    boxes = np.stack([noisy_box(mask, rng, 0.1, 5.0) for _ in range(200)])
    exact = np.array([30, 20, 89, 59])
    assert np.abs(boxes - exact).max() <= 5.0 + 1e-9
    assert boxes.std(axis=0).min() > 1.0
    assert (boxes[:, 2] >= boxes[:, 0]).all() and boxes.min() >= 0 and boxes.max() <= 99


def test_sample_prompts_extra_points_and_reproducibility():
    masks = np.stack([_ring(), np.pad(np.ones((20, 20), bool), 22)])
    config = PromptConfig(points_per_side=8, positive_points=2, negative_points=3)
    one = sample_prompts(masks, np.random.default_rng((0, 1, 2)), config)
    two = sample_prompts(masks, np.random.default_rng((0, 1, 2)), config)
    assert np.array_equal(one.points_xy, two.points_xy)
    assert one.points_xy.shape == (2, 6, 2) and one.labels.tolist()[0] == [1, 1, 1, 0, 0, 0]
    for mask, points, labels in zip(masks, one.points_xy.astype(int), one.labels, strict=True):
        inside = mask[points[:, 1], points[:, 0]]
        assert np.array_equal(inside, labels == 1)
        assert negative_region(mask)[points[labels == 0][:, 1], points[labels == 0][:, 0]].all()
    boxes = sample_prompts(masks, np.random.default_rng(0),
                           PromptConfig(use_points=False, use_boxes=True))
    assert boxes.points_xy is None and boxes.boxes_xyxy.shape == (2, 4)


def test_correction_point_lands_in_the_largest_error():
    target = np.zeros((50, 50), bool)
    target[10:40, 10:40] = True
    predicted = target.copy()
    predicted[10:40, 25:40] = False  # a missed half
    (x, y), label = correction_point(predicted, target)
    assert label == 1 and 25 <= x < 40 and 10 <= y < 40
    predicted = target.copy()
    predicted[0:8, :] = True  # a false positive band
    (x, y), label = correction_point(predicted, target)
    assert label == 0 and y < 8


def test_preprocessing_is_sams():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (90, 150, 3), dtype=np.uint8)
    resized = resize_image(image, 64)
    assert np.array_equal(resized, ResizeLongestSide(64).apply_image(image))
    sam = build_sam("tiny", seed=0)
    tensor = torch.from_numpy(resize_image(image, 256).transpose(2, 0, 1).copy())
    batch = preprocess_batch(sam, [tensor])
    expected = sam.preprocess(tensor[None].float())
    assert batch.shape == (1, 3, 256, 256) and torch.equal(batch, expected)
    h, w = tensor.shape[1:]
    assert (batch[0, :, h:, :] == 0).all() and (batch[0, :, :, w:] == 0).all()
    masks = resize_masks(np.ones((1, 90, 150), bool), (h, w))
    assert masks.shape == (1, h, w) and masks.all()


def test_min_loss_assignment_and_iou_head_on_every_output():
    target = torch.zeros(2, 1, 32, 32)
    target[:, :, 8:24, 8:24] = 1
    logits = torch.full((2, 3, 32, 32), -10.0)
    logits[0, 1] = target[0, 0] * 20 - 10  # prompt 0: output 1 is exact
    logits[1, 2] = target[1, 0] * 20 - 10  # prompt 1: output 2 is exact
    iou_pred = torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], requires_grad=True)
    parts = sam_loss(logits, iou_pred, target, LossConfig())
    assert parts.best_output.tolist() == [1, 2]
    assert torch.allclose(parts.true_iou, iou_pred.detach())
    assert parts.iou.item() == pytest.approx(0.0) and parts.dice.item() < 1e-3
    wrong = torch.zeros(2, 3, requires_grad=True)
    parts = sam_loss(logits, wrong, target, LossConfig())
    parts.total.backward()
    assert (wrong.grad != 0).sum() == 2  # only the exact outputs have a non-zero true IoU
    assert parts.iou.item() == pytest.approx(2 / 6)
    assert torch.equal(mask_iou(logits, target)[0], torch.tensor([0.0, 1.0, 0.0]))
