"""Validation: prompted mean IoU, and the automatic mask generator scored with COCOeval.

The prompted IoU answers "does the decoder segment what a single AMG-style point asks for"
(output chosen by the IoU head, as the AMG does). The AMG pass runs the real generator on
every validation page (whole page, in its original pixel frame) and scores it class-agnostic
with COCOeval segm; its AP decides which checkpoint is the best.
"""

from __future__ import annotations

import logging

import torch
from segment_anything.modeling import Sam

from planseg.export.metrics import coco_metrics
from planseg.infer.amg import FastMaskGenerator
from planseg.infer.config import AmgConfig
from planseg.train.config import ValidationConfig
from planseg.train.data import PageRecord
from planseg.train.losses import mask_iou
from planseg.train.samples import PageViews, read_image
from planseg.train.step import decode, upscale_logits
from planseg.train.transforms import preprocess_batch

log = logging.getLogger(__name__)


@torch.no_grad()
def prompted_mean_iou(sam: Sam, views: PageViews, device: torch.device) -> float:
    """Mean IoU over validation masks of the output with the highest predicted IoU, prompted
    by the centre/grid point (``views`` built with ``train=False``). NaN without masks."""
    ious: list[torch.Tensor] = []
    for index in range(len(views)):
        sample = views[(0, index, False)]
        if len(sample["masks"]) == 0 or sample["points"] is None:
            continue
        image = sample["image"].to(device)
        embedding = sam.image_encoder(preprocess_batch(sam, [image]))
        points = (sample["points"].to(device), sample["labels"].to(device))
        target = sample["masks"].to(device)[:, None].float()
        ious.append(head_choice_iou(sam, embedding, points, target).cpu())
    return float(torch.cat(ious).mean()) if ious else float("nan")


def head_choice_iou(sam: Sam, embedding: torch.Tensor, points: tuple,
                    target: torch.Tensor) -> torch.Tensor:
    """IoU with ``target`` (Nx1xhxw, model-input frame) of the multimask output the IoU head
    ranks first for each of N point prompts, as the AMG would pick it: N floats."""
    low_res, iou_pred = decode(sam, embedding, points, None, None, True)
    logits = upscale_logits(sam, low_res, tuple(target.shape[-2:]))
    chosen = iou_pred.argmax(dim=1)
    rows = torch.arange(len(chosen), device=chosen.device)
    return mask_iou(logits[rows, chosen][:, None], target)[:, 0]


def amg_generator(sam: Sam, config: ValidationConfig, **amg_settings) -> FastMaskGenerator:
    """The generator ``planseg segment`` runs, with the validation's AMG settings plus any
    ``amg_settings`` validation has no key for (benchmarks: ``box_nms_thresh``)."""
    options = {k: getattr(config, k) for k in
               ("points_per_side", "pred_iou_thresh", "stability_score_thresh")}
    return FastMaskGenerator(sam, AmgConfig(**options, **amg_settings))


@torch.no_grad()
def amg_metrics(sam: Sam, pages: list[PageRecord], config: ValidationConfig) -> dict:
    """Run the AMG on every page and score it (ap, ap50, ap75, mean_best_iou, masks_per_page)."""
    gt, predictions = amg_predictions(sam, pages, config)
    metrics = coco_segm_metrics(gt, predictions)
    metrics["masks_per_page"] = len(predictions) / max(1, len(pages))
    return metrics


def amg_predictions(sam: Sam, pages: list[PageRecord], config: ValidationConfig,
                    generator: FastMaskGenerator | None = None) -> tuple[dict, list[dict]]:
    """The pages as a COCO ground truth and the AMG's masks on them as COCO predictions
    (RLE segmentation, score = predicted IoU). ``generator``: default :func:`amg_generator`
    of ``config``."""
    generator = generator or amg_generator(sam, config)
    images, annotations, predictions = [], [], []
    for page in pages:
        images.append({"id": page.image_id, "file_name": page.file_name, "pdf": page.pdf,
                       "page": page.page_number, "width": page.width_px,
                       "height": page.height_px})
        for ann_id, rle, box in zip(page.ann_ids, page.rles, page.boxes_xywh, strict=True):
            annotations.append({"id": len(annotations) + 1, "image_id": page.image_id,
                                "category_id": 1, "segmentation": rle, "bbox": list(box),
                                "iscrowd": 0,
                                "source_id": ann_id})
        for record in generator.generate(read_image(page.path)):
            predictions.append({"image_id": page.image_id, "category_id": 1,
                                "segmentation": record["segmentation"],
                                "score": float(record["predicted_iou"])})
    gt = {"images": images, "annotations": annotations,
          "categories": [{"id": 1, "name": "zone"}]}
    return gt, predictions


def coco_segm_metrics(gt: dict, predictions: list[dict]) -> dict:
    """Class-agnostic COCOeval segm AP/AP50/AP75 and mean best IoU of ``predictions``
    (annotations with segmentation RLE and score) on the ``gt`` COCO dict's pages."""
    result = coco_metrics(gt, {"images": gt["images"], "annotations": predictions})
    return {k: float(result[k]) for k in ("ap", "ap50", "ap75", "mean_best_iou")}
