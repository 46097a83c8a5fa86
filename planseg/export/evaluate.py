"""Score predicted masks against ground truth: class-agnostic COCO segmentation metrics.

Both inputs are COCO dicts. Prediction images are matched to ground-truth images by
(``pdf``, ``page``) when both carry them, else by ``file_name``; a ground-truth page with no
matching prediction page keeps its zones, which then count as misses. Predictions on pages
absent from the ground truth are ignored (and counted in ``unmatched_pred_pages``).
"""

from __future__ import annotations

import contextlib
import copy
import io
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

log = logging.getLogger(__name__)

METRIC_KEYS = ("ap", "ap50", "ap75", "ar", "matched_fraction", "mean_best_iou")


def page_key(image: dict) -> tuple:
    """Key that identifies a page across COCO files: (pdf, page) if present, else file_name."""
    if image.get("pdf") is not None and image.get("page") is not None:
        return ("pdf", str(image["pdf"]), int(image["page"]))
    return ("file", str(image.get("file_name")))


def annotation_rle(ann: dict, height: int, width: int) -> dict:
    """Any COCO segmentation (polygons, RLE str/bytes, uncompressed RLE) -> compressed RLE."""
    seg = ann["segmentation"]
    if isinstance(seg, list):
        return mask_utils.merge(mask_utils.frPyObjects(seg, height, width))
    if isinstance(seg.get("counts"), list):
        return mask_utils.frPyObjects(seg, height, width)
    counts = seg["counts"]
    return {"size": list(seg["size"]),
            "counts": counts.encode("ascii") if isinstance(counts, str) else counts}


def match_pages(gt: dict, predictions: dict) -> dict[int, int]:
    """Map prediction image id -> ground-truth image id for pages both files contain."""
    by_key = {page_key(image): image["id"] for image in gt.get("images", [])}
    matched: dict[int, int] = {}
    for image in predictions.get("images", []):
        gt_id = by_key.get(page_key(image))
        if gt_id is None and image.get("file_name") is not None:
            gt_id = by_key.get(("file", str(image["file_name"])))
        if gt_id is not None:
            matched[image["id"]] = gt_id
    return matched


def coco_metrics(gt: dict, predictions: dict) -> dict[str, Any]:
    """Class-agnostic COCOeval (segm) of ``predictions`` against ``gt``; both COCO dicts.

    Returns ``ap`` (AP@[.5:.95]), ``ap50``, ``ap75``, ``ar`` (AR@[.5:.95], all detections),
    ``matched_fraction`` (share of GT zones whose best prediction IoU >= 0.5),
    ``mean_best_iou`` (mean over GT zones of the best IoU), plus counts
    ``gt_pages``, ``matched_pages``, ``unmatched_pred_pages``, ``gt_zones``, ``predictions``.
    Ground-truth crowd annotations are ignored as COCO does.
    """
    matched = match_pages(gt, predictions)
    preds = _predictions_in_gt_frame(gt, predictions, matched)
    gt_zones = [a for a in gt.get("annotations", []) if not a.get("iscrowd", 0)]
    result: dict[str, Any] = {
        "gt_pages": len(gt.get("images", [])), "matched_pages": len(set(matched.values())),
        "unmatched_pred_pages": len(predictions.get("images", [])) - len(matched),
        "gt_zones": len(gt_zones), "predictions": len(preds)}
    result.update(_cocoeval(gt, preds))
    result.update(_best_iou_stats(gt, preds))
    return result


def _predictions_in_gt_frame(gt: dict, predictions: dict,
                             matched: dict[int, int]) -> list[dict]:
    """Prediction annotations re-keyed to GT image ids as RLE in the GT page's pixel size."""
    gt_images = {image["id"]: image for image in gt.get("images", [])}
    pred_images = {image["id"]: image for image in predictions.get("images", [])}
    out = []
    for ann in predictions.get("annotations", []):
        gt_id = matched.get(ann["image_id"])
        if gt_id is None:
            continue
        src, dst = pred_images[ann["image_id"]], gt_images[gt_id]
        rle = annotation_rle(ann, int(src["height"]), int(src["width"]))
        if (src["height"], src["width"]) != (dst["height"], dst["width"]):
            rle = _resize_rle(rle, int(dst["height"]), int(dst["width"]))
        out.append({"image_id": gt_id, "category_id": 1, "segmentation": rle,
                    "score": float(ann.get("score", 1.0))})
    return out


def _resize_rle(rle: dict, height: int, width: int) -> dict:
    """Rescale a mask to another raster size (pages rendered at another DPI)."""
    mask = mask_utils.decode(rle)
    resized = cv2.resize(mask, (width, height), interpolation=cv2.INTER_NEAREST)
    return mask_utils.encode(np.asfortranarray(resized))


def _gt_for_cocoeval(gt: dict) -> dict:
    images = {image["id"]: image for image in gt.get("images", [])}
    dataset = {"images": list(images.values()),
               "categories": [{"id": 1, "name": "zone"}], "annotations": []}
    for index, ann in enumerate(gt.get("annotations", []), start=1):
        ann = copy.copy(ann)
        ann.update(category_id=1, id=index, iscrowd=int(ann.get("iscrowd", 0)))
        if "area" not in ann:
            image = images[ann["image_id"]]
            ann["area"] = float(mask_utils.area(
                annotation_rle(ann, image["height"], image["width"])))
        dataset["annotations"].append(ann)
    return dataset


def _cocoeval(gt: dict, preds: list[dict]) -> dict[str, float]:
    zeros = {"ap": 0.0, "ap50": 0.0, "ap75": 0.0, "ar": 0.0}
    if not preds or not gt.get("annotations"):
        return zeros  # pycocotools cannot load an empty result list
    quiet = io.StringIO()
    with contextlib.redirect_stdout(quiet):  # pycocotools prints progress to stdout
        coco_gt = COCO()
        coco_gt.dataset = _gt_for_cocoeval(gt)
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes(copy.deepcopy(preds))
        evaluator = COCOeval(coco_gt, coco_dt, iouType="segm")
        evaluator.params.useCats = 0
        per_image = np.bincount([p["image_id"] for p in preds]).max()
        evaluator.params.maxDets = [1, 10, max(100, int(per_image))]  # AMG gives >100/page
        evaluator.evaluate()
        evaluator.accumulate()
    # Read the accumulated tables instead of summarize(): its AP lines ask for maxDets=100
    # and find nothing (AP -1) once maxDets[2] is raised above 100 as it is here.
    precision = evaluator.eval["precision"][:, :, 0, 0, -1]  # [iou thr, recall], all areas
    recall = evaluator.eval["recall"][:, 0, 0, -1]  # [iou thr]
    iou_thrs = list(np.round(evaluator.params.iouThrs, 2))
    return {"ap": _mean_valid(precision), "ap50": _mean_valid(precision[iou_thrs.index(0.5)]),
            "ap75": _mean_valid(precision[iou_thrs.index(0.75)]), "ar": _mean_valid(recall)}


def _mean_valid(values: np.ndarray) -> float:
    """COCOeval's mean over entries that exist (-1 marks none, e.g. no GT): 0 if none."""
    valid = values[values > -1]
    return float(valid.mean()) if valid.size else 0.0


def _best_iou_stats(gt: dict, preds: list[dict]) -> dict[str, float]:
    images = {image["id"]: image for image in gt.get("images", [])}
    preds_by_image: dict[int, list[dict]] = {}
    for pred in preds:
        preds_by_image.setdefault(pred["image_id"], []).append(pred["segmentation"])
    best: list[float] = []
    for ann in gt.get("annotations", []):
        if ann.get("iscrowd", 0):
            continue
        image = images[ann["image_id"]]
        candidates = preds_by_image.get(ann["image_id"], [])
        if not candidates:
            best.append(0.0)
            continue
        gt_rle = annotation_rle(ann, int(image["height"]), int(image["width"]))
        ious = mask_utils.iou(candidates, [gt_rle], [0])
        best.append(float(np.max(ious)))
    if not best:
        return {"matched_fraction": 0.0, "mean_best_iou": 0.0}
    values = np.asarray(best)
    return {"matched_fraction": float((values >= 0.5).mean()),
            "mean_best_iou": float(values.mean())}


@dataclass
class EvaluateConfig:
    """``planseg evaluate``: score predicted masks against ground truth (COCO files)."""

    pred: Path | None = field(default=None, metadata={
        "help": "COCO file of predictions (e.g. DIR/coco.json of planseg segment)"})
    gt: Path | None = field(default=None, metadata={
        "help": "COCO file of ground truth (e.g. planseg synth's annotations.json)"})
    baseline: Path | None = field(default=None, metadata={
        "help": "optional second prediction file scored and drawn beside the first"})
    figures: Path | None = field(default=None, metadata={
        "help": "folder for per-page comparison panels (original | GT | predicted)"})
    max_figures: int | None = field(default=None, metadata={
        "help": "write panels for at most this many pages (all when unset)"})

    def problems(self) -> list[str]:
        """Missing required files, reported together."""
        found = [f"{name}: required" for name in ("pred", "gt") if getattr(self, name) is None]
        if self.max_figures is not None and self.max_figures < 0:
            found.append(f"max_figures: must be >= 0, got {self.max_figures}")
        return found


def run(config: EvaluateConfig) -> dict[str, Any]:
    """Score ``config.pred`` (and ``config.baseline``) against ``config.gt``; write figures.

    Returns ``{"gt", "pred", "metrics", "baseline", "baseline_metrics", "figures"}``
    (paths as strings; baseline entries None without a baseline). Raises DatasetError
    naming a file that cannot be read.
    """
    from planseg.export.coco import read_coco  # keeps coco_metrics importable on its own

    gt = read_coco(config.gt)
    pred = read_coco(config.pred)
    baseline = read_coco(config.baseline) if config.baseline is not None else None
    report: dict[str, Any] = {
        "gt": str(config.gt), "pred": str(config.pred), "metrics": coco_metrics(gt, pred),
        "baseline": None if baseline is None else str(config.baseline),
        "baseline_metrics": None if baseline is None else coco_metrics(gt, baseline),
        "figures": []}
    if config.figures is not None:
        from planseg.config import write_resolved_config
        from planseg.export.figures import write_figures

        panels = [("predicted", pred)] + ([("baseline", baseline)] if baseline else [])
        paths = write_figures(config.figures, gt, config.gt, panels,
                              max_pages=config.max_figures)
        write_resolved_config(config, Path(config.figures) / "evaluate.yaml")
        report["figures"] = [str(p) for p in paths]
    log.info("AP %.3f, AP50 %.3f over %d GT pages", report["metrics"]["ap"],
             report["metrics"]["ap50"], report["metrics"]["gt_pages"])
    return report
