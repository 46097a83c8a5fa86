"""coco_metrics: class-agnostic COCO segmentation scores with page matching."""

from __future__ import annotations

import copy

import cv2
import numpy as np
import pytest

from planseg.export.evaluate import coco_metrics
from planseg.export.rle import decode_rle, encode_mask

H, W = 96, 128
BOXES = [(4, 4, 40, 30), (60, 8, 50, 40), (10, 50, 70, 36)]  # x, y, w, h


def _coco(pages: int, *, polygons: bool = False) -> dict:
    images, annotations = [], []
    for page in range(1, pages + 1):
        images.append({"id": page, "file_name": f"doc.pdf#page={page}", "width": W,
                       "height": H, "pdf": "doc.pdf", "page": page, "dpi": 72})
        for x, y, w, h in BOXES:
            mask = np.zeros((H, W), np.uint8)
            mask[y:y + h, x:x + w] = 1
            seg = ([[x, y, x + w, y, x + w, y + h, x, y + h]] if polygons
                   else encode_mask(mask))
            annotations.append({"id": len(annotations) + 1, "image_id": page,
                                "category_id": 1, "segmentation": seg, "bbox": [x, y, w, h],
                                "area": w * h, "iscrowd": 0, "score": 0.9})
    return {"images": images, "annotations": annotations,
            "categories": [{"id": 1, "name": "zone"}]}


def test_gt_against_itself_scores_one() -> None:
    gt = _coco(2)
    metrics = coco_metrics(gt, copy.deepcopy(gt))
    for key in ("ap", "ap50", "ap75", "ar", "matched_fraction", "mean_best_iou"):
        assert metrics[key] == pytest.approx(1.0), key
    assert metrics["matched_pages"] == 2


def test_polygon_predictions_match_rle_ground_truth() -> None:
    metrics = coco_metrics(_coco(1), _coco(1, polygons=True))
    assert metrics["ap"] == pytest.approx(1.0)


def test_eroded_predictions_score_lower() -> None:
    gt = _coco(1)
    pred = copy.deepcopy(gt)
    for ann in pred["annotations"]:
        mask = decode_rle(ann["segmentation"]).astype(np.uint8)
        ann["segmentation"] = encode_mask(cv2.erode(mask, np.ones((7, 7), np.uint8)))
    metrics = coco_metrics(gt, pred)
    assert metrics["ap"] < 0.9
    assert 0.5 < metrics["mean_best_iou"] < 0.9
    assert metrics["matched_fraction"] == 1.0


def test_more_than_100_predictions_per_page_still_score() -> None:
    """The AMG returns > 100 masks per page: exact matches ranked first keep AP at 1
    (pycocotools' summarize() reported -1 -> 0 once maxDets exceeded 100)."""
    gt = _coco(1)
    pred = copy.deepcopy(gt)
    junk = np.zeros((H, W), np.uint8)
    junk[90:94, 120:126] = 1  # overlaps no zone
    pred["annotations"] += [{"id": 100 + i, "image_id": 1, "category_id": 1,
                             "segmentation": encode_mask(junk), "score": 0.1}
                            for i in range(150)]
    metrics = coco_metrics(gt, pred)
    for key in ("ap", "ap50", "ap75", "ar"):
        assert metrics[key] == pytest.approx(1.0), key


def test_missing_prediction_page_counts_as_misses() -> None:
    gt = _coco(2)
    pred = copy.deepcopy(gt)
    pred["images"] = pred["images"][:1]
    pred["annotations"] = [a for a in pred["annotations"] if a["image_id"] == 1]
    metrics = coco_metrics(gt, pred)
    assert metrics["ar"] == pytest.approx(0.5)
    assert metrics["matched_fraction"] == pytest.approx(0.5)
    assert metrics["ap"] < 0.6
    assert metrics["matched_pages"] == 1


def test_pages_match_by_pdf_and_page_not_image_id() -> None:
    gt = _coco(2)
    pred = copy.deepcopy(gt)
    for image in pred["images"]:
        image["id"] += 100
        image["file_name"] = "elsewhere/" + image["file_name"]
    for ann in pred["annotations"]:
        ann["image_id"] += 100
    assert coco_metrics(gt, pred)["ap"] == pytest.approx(1.0)


def test_file_name_fallback_and_unmatched_prediction_pages() -> None:
    gt = _coco(1)
    for image in gt["images"]:
        del image["pdf"], image["page"]
    pred = copy.deepcopy(gt)
    pred["images"].append({"id": 9, "file_name": "other.png", "width": W, "height": H})
    pred["annotations"].append(dict(pred["annotations"][0], id=99, image_id=9))
    metrics = coco_metrics(gt, pred)
    assert metrics["ap"] == pytest.approx(1.0)
    assert metrics["unmatched_pred_pages"] == 1


def test_no_predictions_scores_zero() -> None:
    gt = _coco(1)
    metrics = coco_metrics(gt, {"images": [], "annotations": [], "categories": []})
    assert metrics["ap"] == 0.0 and metrics["matched_fraction"] == 0.0


def test_predictions_at_other_dpi_are_rescaled() -> None:
    gt = _coco(1)
    pred = copy.deepcopy(gt)
    pred["images"][0].update(width=2 * W, height=2 * H)
    for ann in pred["annotations"]:
        ann["segmentation"] = [[2 * v for v in _box_poly(ann["bbox"])]]
    assert coco_metrics(gt, pred)["ap"] == pytest.approx(1.0)


def _box_poly(bbox: list[int]) -> list[int]:
    x, y, w, h = bbox
    return [x, y, x + w, y, x + w, y + h, x, y + h]
