"""planseg's automatic mask generator: SamAutomaticMaskGenerator's semantics, built for throughput.

Same pipeline as ``segment_anything.SamAutomaticMaskGenerator`` (point grid per crop layer,
three multimask outputs per point, predicted-IoU and stability-score filters, masks touching a
crop edge dropped, box NMS within and across crops, small-region postprocessing) and the same
``output_mode="coco_rle"`` records, but:

- candidates are filtered on the decoder's low-resolution logits (``Bx3x(img_size/4)^2``):
  predicted IoU exactly, stability score with a safety margin; only survivors are upsampled to
  the crop, where the stability score is computed again exactly as the reference does (the
  reference upsamples every candidate to full resolution in float32 before filtering);
- masks are kept as COCO RLE, full-resolution masks exist only for a chunk of survivors;
- all points of a crop are decoded in ``points_per_batch`` batches with no per-mask host sync;
- grid points on blank paper (near-white, flat neighbourhood) are skipped (``skip_blank_points``);
- bf16 autocast on CUDA; one image embedding per crop (reusable via :func:`embed_image`).
"""

from __future__ import annotations

import math
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from pycocotools import mask as mask_utils
from segment_anything import SamPredictor
from segment_anything.modeling import Sam
from segment_anything.utils.amg import (
    MaskData,
    batch_iterator,
    batched_mask_to_box,
    box_xyxy_to_xywh,
    build_all_layer_point_grids,
    calculate_stability_score,
    generate_crop_boxes,
    is_box_near_crop_edge,
    uncrop_boxes_xyxy,
    uncrop_points,
)
from torchvision.ops.boxes import batched_nms, box_area

from planseg.errors import ConfigError
from planseg.infer.amg_filters import (
    blank_point_mask,
    encode_rles,
    pad_masks,
    remove_small_regions_rles,
)
from planseg.infer.amg_window import WindowUpsampler, window_rle
from planseg.infer.config import AmgConfig


@dataclass
class ImageEmbedding:
    """One image's encoder output, reusable for any number of prompts.

    features: 1xCxhxw on the model's device (C=256, h=w=img_size/16).
    input_size: (h, w) of the image resized to the encoder (before padding).
    original_size: (h, w) pixels of the embedded image.
    """

    features: torch.Tensor
    input_size: tuple[int, int]
    original_size: tuple[int, int]


def _autocast(device: torch.device, bf16: bool) -> Any:
    if bf16 and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return nullcontext()


@torch.no_grad()
def embed_image(sam: Sam, image: np.ndarray, *, bf16: bool = True) -> ImageEmbedding:
    """Encode an HxWx3 uint8 RGB image once (SamPredictor's preprocessing; bf16 on CUDA)."""
    predictor = SamPredictor(sam)
    with _autocast(sam.device, bf16):
        predictor.set_image(image)
    return ImageEmbedding(predictor.features, tuple(predictor.input_size),
                          tuple(predictor.original_size))


class FastMaskGenerator:
    """Drop-in for ``SamAutomaticMaskGenerator(sam, output_mode="coco_rle", ...)``."""

    def __init__(self, sam: Sam, config: AmgConfig | None = None) -> None:
        self.sam = sam
        self.config = config if config is not None else AmgConfig()
        problems = self.config.problems()
        if problems:
            raise ConfigError("bad mask generator settings: " + "; ".join(problems))
        self.params = self.config.resolved()
        p = self.params
        self.point_grids = build_all_layer_point_grids(
            p["points_per_side"], p["crop_n_layers"], p["crop_n_points_downscale_factor"])
        self.transform = SamPredictor(sam).transform
        self.blank_points_skipped = 0

    @torch.no_grad()
    def generate(self, image: np.ndarray,
                 embedding: ImageEmbedding | None = None) -> list[dict[str, Any]]:
        """Masks of an HxWx3 uint8 RGB image as ``coco_rle`` records (image pixel frame).

        ``embedding``: :func:`embed_image` of this same image, reused for the whole-image crop.
        Records: segmentation (COCO RLE, counts str), area (px), bbox (xywh px),
        predicted_iou, point_coords ([[x, y]] px), stability_score, crop_box (xywh px).
        """
        p = self.params
        data = self._generate_masks(image, embedding)
        if p["min_mask_region_area"] > 0 and len(data["rles"]) > 0:
            keep, rles, boxes = remove_small_regions_rles(
                data["rles"], data["boxes"], p["min_mask_region_area"],
                max(p["box_nms_thresh"], p["crop_nms_thresh"]))
            data.filter(torch.as_tensor(keep, dtype=torch.long))
            data["rles"], data["boxes"] = rles, boxes
        return [{
            "segmentation": rle,
            "area": int(mask_utils.area(rle)),
            "bbox": box_xyxy_to_xywh(data["boxes"][i]).tolist(),
            "predicted_iou": data["iou_preds"][i].item(),
            "point_coords": [data["points"][i].tolist()],
            "stability_score": data["stability_score"][i].item(),
            "crop_box": box_xyxy_to_xywh(data["crop_boxes"][i]).tolist(),
        } for i, rle in enumerate(data["rles"])]

    def _generate_masks(self, image: np.ndarray, embedding: ImageEmbedding | None) -> MaskData:
        orig_size = image.shape[:2]
        crop_boxes, layer_idxs = generate_crop_boxes(
            orig_size, self.params["crop_n_layers"], self.params["crop_overlap_ratio"])
        data = MaskData()
        self.blank_points_skipped = 0
        for crop_box, layer_idx in zip(crop_boxes, layer_idxs, strict=True):
            reuse = embedding if layer_idx == 0 else None
            data.cat(self._process_crop(image, crop_box, layer_idx, reuse))
        if len(crop_boxes) > 1 and len(data["rles"]) > 0:
            # Prefer masks from smaller crops, as the reference does.
            scores = 1 / box_area(data["crop_boxes"])
            keep = batched_nms(data["boxes"].float(), scores, torch.zeros(len(scores)),
                               iou_threshold=self.params["crop_nms_thresh"])
            data.filter(keep)
        return data

    def _process_crop(self, image: np.ndarray, crop_box: list[int], layer_idx: int,
                      embedding: ImageEmbedding | None) -> MaskData:
        x0, y0, x1, y1 = crop_box
        crop = image[y0:y1, x0:x1, :]
        if embedding is None or embedding.original_size != crop.shape[:2]:
            embedding = embed_image(self.sam, crop, bf16=self.config.bf16)
        points = self._crop_points(crop, layer_idx)
        low, iou_preds, point_xy = self._decode_and_prefilter(embedding, points)
        data = self._upsample_survivors(embedding, low, iou_preds, point_xy, crop_box,
                                        image.shape[:2])
        if len(data["rles"]) == 0:
            return data
        keep = batched_nms(data["boxes"].float(), data["iou_preds"],
                           torch.zeros(len(data["boxes"])),
                           iou_threshold=self.params["box_nms_thresh"])
        data.filter(keep)
        data["boxes"] = uncrop_boxes_xyxy(data["boxes"], crop_box)
        data["points"] = uncrop_points(data["points"], crop_box)
        data["crop_boxes"] = torch.tensor([crop_box] * len(data["rles"]))
        return data

    def _crop_points(self, crop: np.ndarray, layer_idx: int) -> np.ndarray:
        """Grid points of this crop layer in crop pixels (x, y), blank-paper points removed."""
        h, w = crop.shape[:2]
        grid = self.point_grids[layer_idx]
        points = grid * np.array(crop.shape[:2])[None, ::-1]
        if not self.config.skip_blank_points or len(points) == 0:
            return points
        per_side = max(1, round(math.sqrt(len(grid))))
        half_px = max(1, int(min(h, w) / per_side / 2))
        blank = blank_point_mask(crop, points, half_px, white_level=self.config.blank_white_level,
                                 max_std=self.config.blank_max_std)
        self.blank_points_skipped += int(blank.sum())
        return points[~blank]

    def decode_points(self, embedding: ImageEmbedding, points_xy: np.ndarray
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """Low-res logits ``(B*3)xhxw`` float32 and predicted IoUs ``B*3`` for B point prompts."""
        sam = self.sam
        coords = self.transform.apply_coords(points_xy, embedding.original_size)
        coords_t = torch.as_tensor(coords, device=sam.device)[:, None, :]
        labels = torch.ones(coords_t.shape[0], 1, dtype=torch.int, device=sam.device)
        with _autocast(sam.device, self.config.bf16):
            sparse, dense = sam.prompt_encoder(points=(coords_t, labels), boxes=None, masks=None)
            low, iou = sam.mask_decoder(
                image_embeddings=embedding.features, image_pe=sam.prompt_encoder.get_dense_pe(),
                sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense,
                multimask_output=True)
        return low.float().flatten(0, 1), iou.float().flatten(0, 1)

    def _decode_and_prefilter(self, embedding: ImageEmbedding, points: np.ndarray
                              ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Decode every point; keep candidates passing the IoU and low-res stability filters.

        Returns low-res logits Mxhxw, predicted IoUs M and prompt points Mx2 (crop px), all on
        the model's device; M is only known at the end (one host sync per crop, not per mask).
        """
        p, thr = self.params, self.sam.mask_threshold
        kept_low, kept_iou, kept_pts = [], [], []
        device = self.sam.device
        for (batch,) in batch_iterator(p["points_per_batch"], points):
            low, iou = self.decode_points(embedding, batch)
            pts = torch.as_tensor(batch.repeat(3, axis=0), device=device)
            keep = torch.ones_like(iou, dtype=torch.bool)
            if p["pred_iou_thresh"] > 0.0:
                keep &= iou > p["pred_iou_thresh"]
            if p["stability_score_thresh"] > 0.0:
                stab = calculate_stability_score(low, thr, p["stability_score_offset"])
                keep &= stab >= p["stability_score_thresh"] - self.config.stability_prefilter_margin
            kept_low.append(low[keep])
            kept_iou.append(iou[keep])
            kept_pts.append(pts[keep])
        if not kept_low:
            # Every point was on blank paper: nothing to decode.
            return (torch.zeros(0, 1, 1, device=device), torch.zeros(0, device=device),
                    torch.zeros(0, 2, device=device))
        return torch.cat(kept_low), torch.cat(kept_iou), torch.cat(kept_pts)

    def _upsample_survivors(self, embedding: ImageEmbedding, low: torch.Tensor,
                            iou_preds: torch.Tensor, points: torch.Tensor, crop_box: list[int],
                            orig_size: tuple[int, ...]) -> MaskData:
        """Full-resolution masks of the survivors, chunk by chunk, as RLEs in the image frame."""
        p, thr = self.params, self.sam.mask_threshold
        windowed = self.config.windowed_upsample
        if windowed is None:
            windowed = self.sam.device.type == "cpu"
        if windowed and p["stability_score_thresh"] > 0.0 and p["stability_score_offset"] > 0:
            return self._upsample_windowed(embedding, low, iou_preds, points, crop_box,
                                           orig_size)
        orig_h, orig_w = orig_size
        data = MaskData(rles=[], boxes=torch.zeros(0, 4, dtype=torch.long),
                        iou_preds=torch.zeros(0), points=torch.zeros(0, 2, dtype=torch.float64),
                        stability_score=torch.zeros(0))
        for start in range(0, low.shape[0], self.config.upsample_batch):
            chunk = slice(start, start + self.config.upsample_batch)
            full = self.sam.postprocess_masks(low[chunk, None], embedding.input_size,
                                              embedding.original_size)[:, 0]
            stab = calculate_stability_score(full, thr, p["stability_score_offset"])
            keep = stab >= p["stability_score_thresh"] if p["stability_score_thresh"] > 0.0 \
                else torch.ones_like(stab, dtype=torch.bool)
            masks = full[keep] > thr
            boxes = batched_mask_to_box(masks)
            inside = ~is_box_near_crop_edge(boxes, crop_box, [0, 0, orig_w, orig_h])
            masks, boxes = masks[inside], boxes[inside]
            data.cat(MaskData(
                rles=encode_rles(pad_masks(masks, crop_box, orig_h, orig_w)),
                boxes=boxes.cpu(), iou_preds=iou_preds[chunk][keep][inside].cpu(),
                points=points[chunk][keep][inside].cpu().double(),
                stability_score=stab[keep][inside].cpu()))
        return data

    def _upsample_windowed(self, embedding: ImageEmbedding, low: torch.Tensor,
                           iou_preds: torch.Tensor, points: torch.Tensor, crop_box: list[int],
                           orig_size: tuple[int, ...]) -> MaskData:
        """As :meth:`_upsample_survivors`, one survivor at a time inside its active window."""
        p, thr = self.params, self.sam.mask_threshold
        offset, orig_h, orig_w = p["stability_score_offset"], orig_size[0], orig_size[1]
        upsampler = WindowUpsampler(tuple(low.shape[-2:]), self.sam.image_encoder.img_size,
                                    embedding.input_size, embedding.original_size,
                                    low.device)
        kept, rles, boxes, scores = [], [], [], []
        for i in range(low.shape[0]):
            window = upsampler.window(low[i], thr - offset)
            if window is None:
                continue
            logits, row0, col0 = window
            unions = (logits > thr - offset).sum(dtype=torch.int32)
            stability = (logits > thr + offset).sum(dtype=torch.int32) / unions
            if not bool(stability >= p["stability_score_thresh"]):
                continue
            mask = logits > thr
            rows, cols = torch.nonzero(mask.any(1))[:, 0], torch.nonzero(mask.any(0))[:, 0]
            boxes.append([col0 + int(cols[0]), row0 + int(rows[0]),
                          col0 + int(cols[-1]), row0 + int(rows[-1])])
            rles.append(window_rle(mask.cpu().numpy(), row0 + crop_box[1], col0 + crop_box[0],
                                   orig_h, orig_w))
            kept.append(i)
            scores.append(float(stability))
        box_t = torch.as_tensor(boxes, dtype=torch.long).reshape(-1, 4)
        inside = ~is_box_near_crop_edge(box_t, crop_box, [0, 0, orig_w, orig_h])
        index = torch.as_tensor(kept, dtype=torch.long)[inside]
        return MaskData(rles=[r for r, ok in zip(rles, inside.tolist(), strict=True) if ok],
                        boxes=box_t[inside], iou_preds=iou_preds.cpu()[index],
                        points=points.cpu().double()[index],
                        stability_score=torch.as_tensor(scores)[inside])
