"""coco_metrics: class-agnostic COCO segmentation scores with page matching; class_metrics:
class accuracy, class-aware AP and the per-class table where the ground truth has classes."""

from __future__ import annotations

import copy

import cv2
import numpy as np
import pytest

from planseg.export.classes import rgb_hex
from planseg.export.metrics import class_metrics, coco_metrics
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


def test_images_segmented_as_documents_match_their_gt_images() -> None:
    """``planseg segment DATA/images`` names a page by the image's path (pdf = "p1.png",
    page 1); the GT names it by file_name "p1.png" (with the PDF it was rendered from)."""
    gt = _coco(2)
    pred = copy.deepcopy(gt)
    for image in gt["images"]:
        image["file_name"] = f"doc-p{image['page']}.png"
    for image in pred["images"]:
        image.update(pdf=f"doc-p{image['page']}.png", page=1,
                     file_name=f"doc-p{image['page']}.png#page=1")
    metrics = coco_metrics(gt, pred)
    assert metrics["ap"] == pytest.approx(1.0) and metrics["unmatched_pred_pages"] == 0


def _box_poly(bbox: list[int]) -> list[int]:
    x, y, w, h = bbox
    return [x, y, x + w, y, x + w, y + h, x, y + h]


# --- classes and polygons per GT zone ---------------------------------------------------------

ZONES = [((4, 4, 30, 30), "A"), ((40, 4, 30, 30), "A"), ((80, 4, 30, 30), "B"),
         ((4, 50, 40, 40), "C")]  # (x, y, w, h), zone code


def _box_rle(x: int, y: int, w: int, h: int) -> dict:
    mask = np.zeros((H, W), np.uint8)
    mask[y:y + h, x:x + w] = 1
    return encode_mask(mask)


def _classed_gt(*, by_category: bool = False) -> dict:
    """One page, four zones; classes as ``zone_code`` fields (synth's way) or as
    categories."""
    codes = sorted({code for _, code in ZONES})
    gt = {"images": [{"id": 1, "file_name": "doc.pdf#page=1", "width": W, "height": H,
                      "pdf": "doc.pdf", "page": 1}],
          "annotations": [], "categories": [{"id": 1, "name": "zone"}]}
    if by_category:
        gt["categories"] = [{"id": 10 + i, "name": code} for i, code in enumerate(codes)]
    for index, (box, code) in enumerate(ZONES, start=1):
        ann = {"id": index, "image_id": 1, "segmentation": _box_rle(*box), "iscrowd": 0,
               "area": box[2] * box[3], "bbox": list(box)}
        if by_category:
            ann["category_id"] = 10 + codes.index(code)
        else:
            ann.update(category_id=1, zone_code=code)
        gt["annotations"].append(ann)
    return gt


def _classed_predictions() -> dict:
    """zone 1 right (A), zone 2 wrong (B for A), zone 3 right (B), zone 4 missed (IoU < 0.5,
    C), zone 1 again at a lower score (A: a duplicate, unmatched)."""
    preds = [((4, 4, 30, 30), "A", 0.9), ((40, 4, 30, 30), "B", 0.8),
             ((80, 4, 30, 30), "B", 0.7), ((4, 50, 15, 15), "C", 0.6),
             ((4, 4, 30, 30), "A", 0.5)]
    return {"images": [{"id": 7, "file_name": "doc.pdf#page=1", "width": W, "height": H,
                        "pdf": "doc.pdf", "page": 1}],
            "annotations": [{"id": i, "image_id": 7, "category_id": 1,
                             "segmentation": _box_rle(*box), "score": score,
                             "class_code": code}
                            for i, (box, code, score) in enumerate(preds, start=1)],
            "categories": [{"id": 1, "name": "zone"}]}


def test_class_accuracy_and_class_aware_ap_by_hand() -> None:
    metrics = class_metrics(_classed_gt(), _classed_predictions())
    assert metrics["class_matched"] == 3  # zones 1-3; the duplicate finds zone 1 taken
    assert metrics["class_accuracy"] == pytest.approx(2 / 3)
    assert metrics["class_coverage"] == 1.0
    rows = {row["code"]: row for row in metrics["per_class"]}
    assert [row["code"] for row in metrics["per_class"]] == ["A", "B", "C"]
    assert (rows["A"]["gt_zones"], rows["A"]["matched"], rows["A"]["correct"],
            rows["A"]["accuracy"]) == (2, 2, 1, 0.5)
    assert (rows["B"]["matched"], rows["B"]["correct"], rows["B"]["accuracy"]) == (1, 1, 1.0)
    assert (rows["C"]["matched"], rows["C"]["accuracy"]) == (0, None)
    # COCO's 101-point interpolated AP50: A finds 1 of 2 zones first (precision 1 up to
    # recall 0.5: 51/101), B's true hit comes after a false one (precision 0.5 throughout),
    # C's only prediction misses
    assert rows["A"]["ap50"] == pytest.approx(51 / 101)
    assert rows["B"]["ap50"] == pytest.approx(0.5)
    assert rows["C"]["ap50"] == 0.0
    assert metrics["class_ap50"] == pytest.approx((51 / 101 + 0.5 + 0.0) / 3)
    assert metrics["class_ap"] == pytest.approx(metrics["class_ap50"])  # exact boxes


def test_unclassified_predictions_count_as_wrong() -> None:
    pred = _classed_predictions()
    for ann in pred["annotations"]:
        ann["class_code"] = None
    metrics = class_metrics(_classed_gt(), pred)
    assert (metrics["class_matched"], metrics["class_accuracy"],
            metrics["class_coverage"]) == (3, 0.0, 0.0)
    assert metrics["class_ap"] == 0.0


def _colour_only(colours: list[tuple[int, int, int]]) -> dict:
    """The hand-made predictions with colour-only classes (a legend read without text)."""
    pred = _classed_predictions()
    hexes = sorted({rgb_hex(rgb) for rgb in colours})
    # as planseg writes them: a category per colour class, named by its hex colour
    pred["categories"] += [{"id": 2 + i, "name": name, "code": None, "label": None}
                           for i, name in enumerate(hexes)]
    for ann, rgb in zip(pred["annotations"], colours, strict=True):
        ann["class_code"] = None
        ann["class_rgb"] = list(rgb)
        ann["category_id"] = 2 + hexes.index(rgb_hex(rgb))
    return pred


def test_colour_only_classes_are_named_by_the_gt_class_they_group() -> None:
    red, blue, grey = (200, 0, 0), (0, 0, 200), (90, 90, 90)
    # zones 1 and 2 (A, A) red, zone 3 (B) blue: every colour class groups one GT class
    metrics = class_metrics(_classed_gt(), _colour_only([red, red, blue, grey, red]))
    assert (metrics["class_matched"], metrics["class_accuracy"]) == (3, 1.0)
    # zone 2 (A) blue: blue groups A once and B once, red already names A, so blue is B
    metrics = class_metrics(_classed_gt(), _colour_only([red, blue, blue, grey, red]))
    assert metrics["class_accuracy"] == pytest.approx(2 / 3)
    # one-to-one: zones 1 and 2 (both A) in two colours cannot both be A
    metrics = class_metrics(_classed_gt(), _colour_only([red, grey, blue, grey, red]))
    assert metrics["class_accuracy"] == pytest.approx(2 / 3)


def test_classes_from_categories_on_both_sides() -> None:
    """GT classes as COCO categories, predictions' classes as categories with a ``code``
    (ids differ between the files: they are mapped by code)."""
    gt = _classed_gt(by_category=True)
    pred = _classed_predictions()
    pred["categories"] = [{"id": 1, "name": "zone"},
                          {"id": 2, "name": "A Residential", "code": "A"},
                          {"id": 3, "name": "B Business", "code": "B"},
                          {"id": 4, "name": "C Commercial", "code": "C"}]
    for ann in pred["annotations"]:
        ann["category_id"] = {"A": 2, "B": 3, "C": 4}[ann.pop("class_code")]
    metrics = class_metrics(gt, pred)
    assert metrics["class_accuracy"] == pytest.approx(2 / 3)
    assert metrics["class_ap50"] == pytest.approx((51 / 101 + 0.5) / 3)


def test_gt_without_classes_has_no_class_metrics() -> None:
    assert class_metrics(_coco(1), _coco(1)) is None


def test_classed_gt_against_itself_is_all_correct() -> None:
    gt = _classed_gt()
    metrics = class_metrics(gt, copy.deepcopy(gt))
    assert (metrics["class_matched"], metrics["class_accuracy"]) == (4, 1.0)
    assert metrics["class_ap"] == pytest.approx(1.0)


def test_polygons_per_gt_zone_and_predictions_on_empty_pages() -> None:
    gt = _coco(2)
    gt["annotations"] = [a for a in gt["annotations"] if a["image_id"] == 1]  # page 2: none
    pred = _coco(2)
    pred["annotations"].append(dict(pred["annotations"][0], id=99))  # a 4th on page 1
    metrics = coco_metrics(gt, pred)
    assert metrics["polygons_per_gt_zone"] == pytest.approx(4 / 3)
    assert metrics["predictions_on_empty_pages"] == 3
    empty = {"images": gt["images"], "annotations": [], "categories": gt["categories"]}
    assert coco_metrics(empty, pred)["polygons_per_gt_zone"] is None


def test_evaluate_cli_prints_the_class_table(tmp_path) -> None:
    import json

    from typer.testing import CliRunner

    from planseg.cli import app

    (tmp_path / "gt.json").write_text(json.dumps(_classed_gt()))
    (tmp_path / "pred.json").write_text(json.dumps(_classed_predictions()))
    args = ["evaluate", "--pred", str(tmp_path / "pred.json"), "--gt", str(tmp_path / "gt.json")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "class accuracy" in result.output and "per class" in result.output
    assert "polygons per GT zone" in result.output
    report = json.loads(CliRunner().invoke(app, [*args, "--json"]).stdout.splitlines()[-1])
    assert report["class_metrics"]["class_accuracy"] == pytest.approx(2 / 3)
    assert report["metrics"]["polygons_per_gt_zone"] == pytest.approx(5 / 4)
