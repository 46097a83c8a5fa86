"""Prompt sampling for training, in the model-input pixel frame (x = col, y = row, y down).

The automatic mask generator (AMG) prompts one positive point per cell of a regular grid and
decodes three masks per point, so the main training prompt is the same: one positive point,
the mask's interior point nearest its centroid, snapped to the AMG grid point inside the mask.
Random interior points, extra positive/negative points, noisy boxes and correction points
(in the largest error region) are optional. Points are pixel indices as floats: SAM's prompt
encoder adds 0.5 itself. Every function takes a ``numpy.random.Generator`` so prompts are
fresh every epoch yet reproducible (the caller seeds it with (seed, epoch, sample index)).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from planseg.train.config import PromptConfig

# What a thresholded previous-round mask becomes as a mask prompt: SAM's mask input is logits.
MASK_PROMPT_LOGIT = 8.0


@dataclass
class Prompts:
    """Prompts for K masks of one image.

    points_xy: KxPx2 float32 (model-input pixels) or None; labels: KxP int64 (1 positive,
    0 negative, -1 padding) or None; boxes_xyxy: Kx4 float32 or None.
    """

    points_xy: np.ndarray | None
    labels: np.ndarray | None
    boxes_xyxy: np.ndarray | None


def amg_grid_xy(points_per_side: int, width_px: int, height_px: int) -> np.ndarray:
    """The AMG's point grid (``segment_anything.utils.amg.build_point_grid``) scaled to an
    image of ``width_px`` x ``height_px``: (n*n, 2) float64 xy."""
    offset = 1.0 / (2 * points_per_side)
    side = np.linspace(offset, 1 - offset, points_per_side)
    xs, ys = np.meshgrid(side * width_px, side * height_px)
    return np.stack([xs.ravel(), ys.ravel()], axis=1)


def center_point(mask: np.ndarray) -> np.ndarray:
    """The mask pixel nearest the mask's centroid, as (x, y) float64. mask: HxW bool, not empty."""
    rows, cols = np.nonzero(mask)
    cx, cy = cols.mean(), rows.mean()
    nearest = np.argmin((cols - cx) ** 2 + (rows - cy) ** 2)
    return np.array([cols[nearest], rows[nearest]], dtype=np.float64)


def snap_to_grid(mask: np.ndarray, point_xy: np.ndarray, grid_xy: np.ndarray) -> np.ndarray:
    """The grid point inside ``mask`` nearest ``point_xy`` (the point unchanged if none is)."""
    h, w = mask.shape
    cols = np.clip(grid_xy[:, 0].astype(int), 0, w - 1)
    rows = np.clip(grid_xy[:, 1].astype(int), 0, h - 1)
    inside = grid_xy[mask[rows, cols]]
    if len(inside) == 0:
        return point_xy
    return inside[np.argmin(((inside - point_xy) ** 2).sum(axis=1))]


def random_points(region: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` random pixels of ``region`` (HxW bool) as (count, 2) float64 xy (repeats
    allowed; empty region -> random pixels of the image)."""
    rows, cols = np.nonzero(region)
    if len(rows) == 0:
        h, w = region.shape
        return np.stack([rng.integers(0, w, count), rng.integers(0, h, count)], 1).astype(float)
    picks = rng.integers(0, len(rows), count)
    return np.stack([cols[picks], rows[picks]], axis=1).astype(np.float64)


def negative_region(mask: np.ndarray, margin_fraction: float = 0.25) -> np.ndarray:
    """Pixels outside ``mask`` but inside its box grown by ``margin_fraction`` of its side."""
    rows, cols = np.nonzero(mask)
    h, w = mask.shape
    region = np.zeros_like(mask)
    if len(rows) == 0:
        return ~mask
    my = int((rows.max() - rows.min() + 1) * margin_fraction) + 1
    mx = int((cols.max() - cols.min() + 1) * margin_fraction) + 1
    region[max(rows.min() - my, 0):rows.max() + my + 1,
           max(cols.min() - mx, 0):cols.max() + mx + 1] = True
    region &= ~mask
    return region if region.any() else ~mask


def noisy_box(mask: np.ndarray, rng: np.random.Generator, std_fraction: float,
              max_px: float) -> np.ndarray:
    """The mask's xyxy box with Gaussian corner noise (std ``std_fraction`` of the side,
    clipped to ``max_px``), kept inside the image. Returns (4,) float64."""
    rows, cols = np.nonzero(mask)
    h, w = mask.shape
    box = np.array([cols.min(), rows.min(), cols.max(), rows.max()], dtype=np.float64)
    side = np.array([box[2] - box[0], box[3] - box[1]] * 2) + 1
    noise = np.clip(rng.normal(0, 1, 4) * std_fraction * side, -max_px, max_px)
    box = box + noise
    box[[0, 2]] = np.clip(box[[0, 2]], 0, w - 1)
    box[[1, 3]] = np.clip(box[[1, 3]], 0, h - 1)
    return np.array([min(box[0], box[2]), min(box[1], box[3]),
                     max(box[0], box[2]), max(box[1], box[3])])


def first_point(mask: np.ndarray, rng: np.random.Generator, config: PromptConfig,
                grid_xy: np.ndarray, deterministic: bool = False) -> np.ndarray:
    """The single positive point the AMG would use for this mask (see module docstring)."""
    if not mask.any():  # a negative image: any point, its target is "nothing"
        return random_points(mask | True, 1, rng)[0]
    random_pick = not deterministic and rng.random() < config.random_point_probability
    if random_pick or not config.use_center:
        return random_points(mask, 1, rng)[0]
    point = center_point(mask)
    return snap_to_grid(mask, point, grid_xy) if config.snap_to_grid else point


def sample_prompts(masks: np.ndarray, rng: np.random.Generator, config: PromptConfig,
                   *, deterministic: bool = False) -> Prompts:
    """Prompts for K masks (KxHxW bool, model-input frame) of one image.

    ``deterministic`` (validation): the centre/grid point only, no boxes, no extra points.
    """
    k, h, w = masks.shape
    grid = amg_grid_xy(config.points_per_side, w, h)
    use_box = config.use_boxes and not deterministic and (
        not config.use_points or rng.random() < config.box_probability)
    if use_box:
        boxes = np.stack([noisy_box(m | (not m.any()), rng, config.box_noise_std,
                                    config.box_noise_max_px) for m in masks]) if k else None
        return Prompts(None, None, None if boxes is None else boxes.astype(np.float32))
    extra_pos = 0 if deterministic else config.positive_points
    extra_neg = 0 if deterministic else config.negative_points
    points = np.zeros((k, 1 + extra_pos + extra_neg, 2), dtype=np.float32)
    labels = np.zeros((k, 1 + extra_pos + extra_neg), dtype=np.int64)
    for i, mask in enumerate(masks):
        points[i, 0] = first_point(mask, rng, config, grid, deterministic)
        points[i, 1:1 + extra_pos] = random_points(mask, extra_pos, rng)
        points[i, 1 + extra_pos:] = random_points(negative_region(mask), extra_neg, rng)
        labels[i, :1 + extra_pos] = 1
    return Prompts(points, labels, None)


def correction_point(predicted: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, int]:
    """A point in the largest error region of ``predicted`` vs ``target`` (HxW bool), at its
    most interior pixel: (xy float64, label 1 if the region is missed foreground else 0)."""
    error = (predicted ^ target).astype(np.uint8)
    if not error.any():
        return center_point(target) if target.any() else np.zeros(2), int(target.any())
    count, components, stats, _ = cv2.connectedComponentsWithStats(error, connectivity=4)
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    region = np.pad(components == largest, 1).astype(np.uint8)
    distance = cv2.distanceTransform(region, cv2.DIST_L2, 3)[1:-1, 1:-1]
    row, col = np.unravel_index(int(np.argmax(distance)), distance.shape)
    return np.array([col, row], dtype=np.float64), int(target[row, col])
