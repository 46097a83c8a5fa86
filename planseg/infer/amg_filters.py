"""Pure helpers of :mod:`planseg.infer.amg`: blank-paper points, RLE encoding, small regions.

Frames: images are HxWx3 uint8 RGB; points are (x, y) = (col, row) pixels of the image they
are given with; masks are boolean ``NxHxW`` torch tensors; RLEs are COCO compressed RLE dicts
``{"size": [H, W], "counts": str}`` (column-major, pycocotools' convention).
"""

from __future__ import annotations

import numpy as np
import torch
from pycocotools import mask as mask_utils
from segment_anything.utils.amg import remove_small_regions
from torchvision.ops.boxes import batched_nms

from planseg.export.rle import rle_text


def blank_point_mask(image: np.ndarray, points_xy: np.ndarray, half_px: int, *,
                     white_level: int, max_std: float) -> np.ndarray:
    """Which points sit on blank paper: a near-white, flat ``(2*half_px+1)^2`` neighbourhood.

    image: HxWx3 uint8 RGB. points_xy: Nx2 float (x, y) pixels of ``image``.
    A neighbourhood is blank when every pixel's darkest channel is >= ``white_level`` and the
    grey level's standard deviation is <= ``max_std``. Windows are clipped at the border.
    Returns: N bool. Uses integral images, so the cost is one pass over the image.
    """
    darkest = image.min(axis=2)
    ink = (darkest < white_level).astype(np.int64)
    grey = image.astype(np.float64).mean(axis=2)
    sums = [_integral(a) for a in (ink, grey, grey * grey)]
    h, w = darkest.shape
    cols = np.clip(np.floor(points_xy[:, 0]).astype(np.int64), 0, w - 1)
    rows = np.clip(np.floor(points_xy[:, 1]).astype(np.int64), 0, h - 1)
    r0, r1 = np.maximum(rows - half_px, 0), np.minimum(rows + half_px + 1, h)
    c0, c1 = np.maximum(cols - half_px, 0), np.minimum(cols + half_px + 1, w)
    n_ink, total, total_sq = (s[r1, c1] - s[r0, c1] - s[r1, c0] + s[r0, c0] for s in sums)
    count = (r1 - r0) * (c1 - c0)
    variance = np.maximum(total_sq / count - (total / count) ** 2, 0.0)
    return (n_ink == 0) & (np.sqrt(variance) <= max_std)


def _integral(a: np.ndarray) -> np.ndarray:
    """(H+1)x(W+1) summed-area table with a zero first row and column."""
    out = np.zeros((a.shape[0] + 1, a.shape[1] + 1), dtype=np.float64 if a.dtype.kind == "f"
                   else np.int64)
    out[1:, 1:] = a.cumsum(0).cumsum(1)
    return out


def encode_rles(masks: torch.Tensor) -> list[dict]:
    """COCO compressed RLEs (counts as str) of boolean masks ``NxHxW`` (any device)."""
    if masks.shape[0] == 0:
        return []
    # pycocotools wants HxWxN in Fortran order, i.e. the bytes of an N x W x H C-order array.
    columns = masks.transpose(1, 2).contiguous().to("cpu", torch.uint8).numpy()
    return [rle_text(rle) for rle in mask_utils.encode(columns.transpose(2, 1, 0))]


def pad_masks(masks: torch.Tensor, crop_box_xyxy: list[int], orig_h: int,
              orig_w: int) -> torch.Tensor:
    """Place crop-frame masks ``NxhxW`` into the full image frame ``NxHxW`` (zeros outside)."""
    x0, y0, x1, y1 = crop_box_xyxy
    if (x0, y0, x1, y1) == (0, 0, orig_w, orig_h):
        return masks
    pad = (x0, orig_w - x1, y0, orig_h - y1)
    return torch.nn.functional.pad(masks, pad, value=False)


def remove_small_regions_rles(rles: list[dict], boxes_xyxy: torch.Tensor, min_area: int,
                              nms_thresh: float) -> tuple[list[int], list[dict], torch.Tensor]:
    """``SamAutomaticMaskGenerator.postprocess_small_regions`` on COCO RLEs.

    Fills holes and removes islands smaller than ``min_area`` px, then box-NMS prefers masks
    that did not change. Returns (kept indices into ``rles``, their RLEs, their xyxy boxes).
    """
    masks, unchanged = [], []
    for rle in rles:
        mask = mask_utils.decode(rle).astype(bool)
        mask, changed_holes = remove_small_regions(mask, min_area, mode="holes")
        mask, changed_islands = remove_small_regions(mask, min_area, mode="islands")
        masks.append(torch.as_tensor(mask))
        unchanged.append(float(not (changed_holes or changed_islands)))
    from segment_anything.utils.amg import batched_mask_to_box

    stacked = torch.stack(masks)
    boxes = batched_mask_to_box(stacked)
    keep = batched_nms(boxes.float(), torch.as_tensor(unchanged), torch.zeros(len(boxes)),
                       iou_threshold=nms_thresh).tolist()
    out_rles, out_boxes = [], []
    for i in keep:
        changed = unchanged[i] == 0.0
        out_rles.append(encode_rles(stacked[i:i + 1])[0] if changed else rles[i])
        out_boxes.append(boxes[i] if changed else boxes_xyxy[i])
    return keep, out_rles, torch.stack(out_boxes) if out_boxes else boxes_xyxy[:0]
