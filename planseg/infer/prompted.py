"""SAM prompted at given points: one mask per point (``amg.prompts: regions``).

Where the automatic mask generator decodes a grid of points and lets duplicates fight it out,
a colour region already says where a zone is: one positive point at its pole of
inaccessibility (far from every boundary, hatch and label) asks SAM for that zone alone.
Each point gets SAM's three multimask outputs; the one with the highest predicted IoU is
kept when it passes the same predicted-IoU and stability thresholds as the AMG's masks (the
run's ``amg.*``, calibrated per model). No box NMS: each mask belongs to its prompt, and
:mod:`planseg.infer.fusion` decides between it and the region.

Records are the AMG's ``coco_rle`` records (image pixel frame) plus ``prompt_index``, so the
tile machinery (:func:`planseg.infer.tiles.tile_masks`) moves them to the page unchanged.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from pycocotools import mask as mask_utils
from segment_anything.utils.amg import batched_mask_to_box, calculate_stability_score

from planseg.infer.amg import FastMaskGenerator, embed_image
from planseg.infer.amg_filters import encode_rles


@torch.no_grad()
def prompted_records(generator: FastMaskGenerator, image: np.ndarray, points_xy: np.ndarray,
                     prompt_indices: np.ndarray) -> list[dict[str, Any]]:
    """SAM's best mask for each prompt point of an HxWx3 uint8 RGB ``image``.

    ``points_xy``: Nx2 float (x, y) pixels of ``image``; ``prompt_indices``: N ints carried
    into the records (``prompt_index``) so a caller can tell whose mask it is. Points whose
    best mask fails the thresholds (or is empty) get no record.
    """
    if len(points_xy) == 0:
        return []
    sam, params = generator.sam, generator.params
    embedding = embed_image(sam, image, bf16=generator.config.bf16)
    records: list[dict[str, Any]] = []
    step = max(1, params["points_per_batch"])
    for start in range(0, len(points_xy), step):
        points = np.asarray(points_xy[start:start + step], dtype=np.float64)
        low, iou = generator.decode_points(embedding, points)
        low = low.view(len(points), 3, *low.shape[-2:])
        iou = iou.view(len(points), 3)
        best = iou.argmax(dim=1)
        rows = torch.arange(len(points), device=low.device)
        records += _best_masks(generator, embedding, low[rows, best], iou[rows, best], points,
                               prompt_indices[start:start + step], image.shape[:2])
    return records


def _best_masks(generator: FastMaskGenerator, embedding: Any, low: torch.Tensor,
                iou: torch.Tensor, points: np.ndarray, prompt_indices: np.ndarray,
                image_hw: tuple[int, int]) -> list[dict[str, Any]]:
    """Upsample the chosen low-res logits (Bxhxw) chunk by chunk, filter, encode."""
    sam, params = generator.sam, generator.params
    threshold, offset = sam.mask_threshold, params["stability_score_offset"]
    out = []
    for start in range(0, low.shape[0], generator.config.upsample_batch):
        chunk = slice(start, start + generator.config.upsample_batch)
        full = sam.postprocess_masks(low[chunk, None], embedding.input_size,
                                     embedding.original_size)[:, 0]
        stability = calculate_stability_score(full, threshold, offset)
        masks = full > threshold
        keep = (iou[chunk] > params["pred_iou_thresh"]) & masks.flatten(1).any(dim=1)
        keep &= stability >= params["stability_score_thresh"]
        boxes = batched_mask_to_box(masks)
        index = torch.nonzero(keep)[:, 0].tolist()
        for i, rle in zip(index, encode_rles(masks[keep]), strict=True):
            x0, y0, x1, y1 = boxes[i].tolist()
            out.append({
                "segmentation": rle, "area": int(mask_utils.area(rle)),
                "bbox": [x0, y0, x1 - x0, y1 - y0],
                "predicted_iou": float(iou[chunk][i]),
                "point_coords": [points[start + i].tolist()],
                "stability_score": float(stability[i]),
                "crop_box": [0, 0, image_hw[1], image_hw[0]],
                "prompt_index": int(prompt_indices[start + i]),
            })
    return out
