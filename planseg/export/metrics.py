"""Scores of predicted masks against ground truth: class-agnostic COCO segmentation metrics
and, where the ground truth has classes, class-aware ones (``planseg evaluate``, validation).

Both inputs are COCO dicts. Prediction images are matched to ground-truth images by
(``pdf``, ``page``) when both carry them, else by ``file_name``; a ground-truth page with no
matching prediction page keeps its zones, which then count as misses. Predictions on pages
absent from the ground truth are ignored (and counted in ``unmatched_pred_pages``).

Classes are compared by code: a GT zone's is its ``zone_code`` or ``class`` field, else its
category's ``code`` or name (when the categories are more than a lone ``zone``); a
prediction's is its ``class_code`` (what ``planseg segment`` writes), else read the same way.
"""

from __future__ import annotations

import contextlib
import copy
import io
import logging
from typing import Any

import cv2
import numpy as np
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from planseg.export.rle import rle_coded

log = logging.getLogger(__name__)

METRIC_KEYS = ("ap", "ap50", "ap75", "ar", "matched_fraction", "mean_best_iou")
MATCH_IOU = 0.5  # a prediction and a GT zone are "matched" at IoU >= this


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
    return rle_coded(seg)


def match_pages(gt: dict, predictions: dict) -> dict[int, int]:
    """Map prediction image id -> ground-truth image id for pages both files contain. Also
    an image segmented as a document (``pdf`` = its path, page 1) to the GT image of that
    ``file_name`` (e.g. ``planseg segment DATA/images`` against ``DATA/annotations.json``)."""
    by_key = {page_key(image): image["id"] for image in gt.get("images", [])}
    by_key.update({("file", str(image["file_name"])): image["id"]
                   for image in gt.get("images", []) if image.get("file_name") is not None})
    matched: dict[int, int] = {}
    for image in predictions.get("images", []):
        gt_id = by_key.get(page_key(image))
        if gt_id is None and image.get("file_name") is not None:
            gt_id = by_key.get(("file", str(image["file_name"])))
        if gt_id is None and image.get("page") == 1 and image.get("pdf") is not None:
            gt_id = by_key.get(("file", str(image["pdf"])))
        if gt_id is not None:
            matched[image["id"]] = gt_id
    return matched


def coco_metrics(gt: dict, predictions: dict) -> dict[str, Any]:
    """Class-agnostic COCOeval (segm) of ``predictions`` against ``gt``; both COCO dicts.

    Returns ``ap`` (AP@[.5:.95]), ``ap50``, ``ap75``, ``ar`` (AR@[.5:.95], all detections),
    ``matched_fraction`` (share of GT zones whose best prediction IoU >= 0.5),
    ``mean_best_iou`` (mean over GT zones of the best IoU), plus counts
    ``gt_pages``, ``matched_pages``, ``unmatched_pred_pages``, ``gt_zones``, ``predictions``,
    ``polygons_per_gt_zone`` (predictions on pages with GT zones / GT zones; None without GT
    zones) and ``predictions_on_empty_pages`` (predictions on GT pages that have no zones).
    Ground-truth crowd annotations are ignored as COCO does.
    """
    matched = match_pages(gt, predictions)
    preds = _predictions_in_gt_frame(gt, predictions, matched)
    gt_zones = [a for a in gt.get("annotations", []) if not a.get("iscrowd", 0)]
    result: dict[str, Any] = {
        "gt_pages": len(gt.get("images", [])), "matched_pages": len(set(matched.values())),
        "unmatched_pred_pages": len(predictions.get("images", [])) - len(matched),
        "gt_zones": len(gt_zones), "predictions": len(preds)}
    zoned_pages = {a["image_id"] for a in gt_zones}
    on_zoned = sum(p["image_id"] in zoned_pages for p in preds)
    result["polygons_per_gt_zone"] = on_zoned / len(gt_zones) if gt_zones else None
    result["predictions_on_empty_pages"] = len(preds) - on_zoned
    result.update(_cocoeval(gt, preds))
    result.update(_best_iou_stats(gt, preds))
    return result


def _predictions_in_gt_frame(gt: dict, predictions: dict,
                             matched: dict[int, int]) -> list[dict]:
    """Prediction annotations re-keyed to GT image ids as RLE in the GT page's pixel size."""
    gt_images = {image["id"]: image for image in gt.get("images", [])}
    pred_images = {image["id"]: image for image in predictions.get("images", [])}
    classes = _category_classes(predictions)
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
                    "score": float(ann.get("score", 1.0)),
                    "class_code": _pred_class(ann, classes), "class_rgb": ann.get("class_rgb")})
    return out


def _resize_rle(rle: dict, height: int, width: int) -> dict:
    """Rescale a mask to another raster size (pages rendered at another DPI)."""
    mask = mask_utils.decode(rle)
    resized = cv2.resize(mask, (width, height), interpolation=cv2.INTER_NEAREST)
    return mask_utils.encode(np.asfortranarray(resized))


def _gt_for_cocoeval(gt: dict, category_ids: dict[str, int] | None = None) -> dict:
    """GT as COCOeval wants it: one ``zone`` category, or with ``category_ids`` (class code
    -> id) one category per class, GT zones without a class left out."""
    images = {image["id"]: image for image in gt.get("images", [])}
    categories = ([{"id": 1, "name": "zone"}] if category_ids is None else
                  [{"id": i, "name": code} for code, i in category_ids.items()])
    dataset = {"images": list(images.values()), "categories": categories, "annotations": []}
    by_id = _category_classes(gt) if category_ids is not None else {}
    for index, ann in enumerate(gt.get("annotations", []), start=1):
        category = 1 if category_ids is None else category_ids.get(_gt_class(ann, by_id))
        if category is None:
            continue
        ann = copy.copy(ann)
        ann.update(category_id=category, id=index, iscrowd=int(ann.get("iscrowd", 0)))
        if "area" not in ann:
            image = images[ann["image_id"]]
            ann["area"] = float(mask_utils.area(
                annotation_rle(ann, image["height"], image["width"])))
        dataset["annotations"].append(ann)
    return dataset


def _cocoeval(gt: dict, preds: list[dict], category_ids: dict[str, int] | None = None
              ) -> dict[str, Any]:
    """AP/AP50/AP75/AR of ``preds``: class-agnostic, or with ``category_ids`` (class code ->
    id; each pred's ``category_id`` set to its class's) class-aware, then also ``per_class``
    {code: {"ap", "ap50"}}."""
    zeros: dict[str, Any] = {"ap": 0.0, "ap50": 0.0, "ap75": 0.0, "ar": 0.0}
    if category_ids is not None:
        zeros["per_class"] = {code: {"ap": 0.0, "ap50": 0.0} for code in category_ids}
    dataset = _gt_for_cocoeval(gt, category_ids)
    if not preds or not dataset["annotations"]:
        return zeros  # pycocotools cannot load an empty result list
    quiet = io.StringIO()
    with contextlib.redirect_stdout(quiet):  # pycocotools prints progress to stdout
        coco_gt = COCO()
        coco_gt.dataset = dataset
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes(copy.deepcopy(preds))
        evaluator = COCOeval(coco_gt, coco_dt, iouType="segm")
        evaluator.params.useCats = int(category_ids is not None)
        per_image = np.bincount([p["image_id"] for p in preds]).max()
        evaluator.params.maxDets = [1, 10, max(100, int(per_image))]  # AMG gives >100/page
        evaluator.evaluate()
        evaluator.accumulate()
    # Read the accumulated tables instead of summarize(): its AP lines ask for maxDets=100
    # and find nothing (AP -1) once maxDets[2] is raised above 100 as it is here.
    precision = evaluator.eval["precision"][:, :, :, 0, -1]  # [iou thr, recall, category]
    recall = evaluator.eval["recall"][:, :, 0, -1]  # [iou thr, category]
    at50 = list(np.round(evaluator.params.iouThrs, 2)).index(0.5)
    at75 = list(np.round(evaluator.params.iouThrs, 2)).index(0.75)
    result = {"ap": _mean_valid(precision), "ap50": _mean_valid(precision[at50]),
              "ap75": _mean_valid(precision[at75]), "ar": _mean_valid(recall)}
    if category_ids is not None:
        column = {cat: k for k, cat in enumerate(evaluator.params.catIds)}
        result["per_class"] = {
            code: {"ap": _mean_valid(precision[:, :, column[i]]),
                   "ap50": _mean_valid(precision[at50, :, column[i]])}
            if i in column else {"ap": 0.0, "ap50": 0.0} for code, i in category_ids.items()}
    return result


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


def class_metrics(gt: dict, predictions: dict) -> dict[str, Any] | None:
    """Class-aware scores of ``predictions`` against a ``gt`` that has classes (None if it
    has none; see the module docstring for where classes are read).

    Returns ``class_matched`` (predictions matched one-to-one to a classed GT zone at IoU >=
    0.5, highest score first, as COCO matches), ``class_accuracy`` (share of those whose
    class is the GT zone's; unclassified predictions count as wrong; a colour-only class - a
    legend read without text - is named by the GT class it groups most often on its page,
    one-to-one; None without matches),
    ``class_coverage`` (share of those with any class), ``class_ap``/``class_ap50``/
    ``class_ap75`` (COCOeval with one category per GT class code; predictions without a
    class or with a code the GT lacks are left out) and ``per_class``: one row per GT code,
    sorted, ``{"code", "gt_zones", "matched", "correct", "accuracy", "ap", "ap50"}``.
    """
    if not _gt_has_classes(gt):
        return None
    by_id = _category_classes(gt)
    codes = sorted({c for a in gt.get("annotations", []) if not a.get("iscrowd", 0)
                    for c in [_gt_class(a, by_id)] if c is not None})
    category_ids = {code: i for i, code in enumerate(codes, start=1)}
    preds = _predictions_in_gt_frame(gt, predictions, match_pages(gt, predictions))
    pairs = _matched_pairs(gt, preds, by_id)
    aware = [{**p, "category_id": category_ids[p["class_code"]]} for p in preds
             if p.get("class_code") in category_ids]
    scores = _cocoeval(gt, aware, category_ids)
    rows = []
    for code in codes:
        mine = [(g, p) for g, p in pairs if g == code]
        correct = sum(p == g for g, p in mine)
        rows.append({"code": code, "matched": len(mine), "correct": correct,
                     "accuracy": correct / len(mine) if mine else None,
                     "gt_zones": sum(_gt_class(a, by_id) == code
                                     for a in gt["annotations"] if not a.get("iscrowd", 0)),
                     **scores["per_class"][code]})
    correct = sum(p == g for g, p in pairs)
    return {"class_matched": len(pairs),
            "class_accuracy": correct / len(pairs) if pairs else None,
            "class_coverage": sum(p is not None for _, p in pairs) / len(pairs)
            if pairs else None,
            "class_ap": scores["ap"], "class_ap50": scores["ap50"],
            "class_ap75": scores["ap75"], "per_class": rows}


def _matched_pairs(gt: dict, preds: list[dict], by_id: dict[int, str]
                   ) -> list[tuple[str, str | None]]:
    """(GT class, predicted class) of each prediction matched to a classed, non-crowd GT zone
    at IoU >= MATCH_IOU: greedy one-to-one, highest score first, best free GT zone."""
    images = {image["id"]: image for image in gt.get("images", [])}
    zones: dict[int, list[tuple[str, dict]]] = {}
    for ann in gt.get("annotations", []):
        code = _gt_class(ann, by_id)
        if code is not None and not ann.get("iscrowd", 0):
            image = images[ann["image_id"]]
            rle = annotation_rle(ann, int(image["height"]), int(image["width"]))
            zones.setdefault(ann["image_id"], []).append((code, rle))
    preds_by_image: dict[int, list[dict]] = {}
    for pred in preds:
        preds_by_image.setdefault(pred["image_id"], []).append(pred)
    pairs = []
    for image_id, page_zones in zones.items():
        page_preds = sorted(preds_by_image.get(image_id, []), key=lambda p: -p["score"])
        if not page_preds:
            continue
        ious = mask_utils.iou([p["segmentation"] for p in page_preds],
                              [rle for _, rle in page_zones], [0] * len(page_zones))
        free = np.ones(len(page_zones), bool)
        for row, pred in zip(np.atleast_2d(ious), page_preds, strict=True):
            candidates = np.where(free & (row >= MATCH_IOU), row, -1.0)
            if candidates.max() >= MATCH_IOU:
                best = int(candidates.argmax())
                free[best] = False
                pairs.append((page_zones[best][0], _pred_code_or_colour(pred, image_id)))
    return _name_colour_classes(pairs)


def _pred_code_or_colour(pred: dict, image_id: int) -> str | None:
    """The prediction's class code; for a colour-only class (a legend read without text) a
    ``colour:`` key of its swatch colour on that page (see :func:`_name_colour_classes`)."""
    if pred.get("class_code") is not None:
        return str(pred["class_code"])
    rgb = pred.get("class_rgb")
    return None if rgb is None else f"colour:{image_id}:{tuple(int(v) for v in rgb)}"


def _name_colour_classes(pairs: list[tuple[str, str | None]]) -> list[tuple[str, str | None]]:
    """Give each colour-only class (one swatch of one page's legend) a GT code, one-to-one per
    page, so that as many matched zones as possible are right (``linear_sum_assignment``):
    a legend without names is scored on how well its colours group the zones. A colour class
    left without a GT code stays wrong."""
    from scipy.optimize import linear_sum_assignment

    pages: dict[str, dict[tuple[str, str], int]] = {}
    for gt_code, pred in pairs:
        if pred is not None and pred.startswith("colour:"):
            counts = pages.setdefault(pred.split(":")[1], {})
            counts[(pred, gt_code)] = counts.get((pred, gt_code), 0) + 1
    names: dict[str, str] = {}
    for counts in pages.values():
        colours = sorted({c for c, _ in counts})
        codes = sorted({g for _, g in counts})
        table = np.array([[counts.get((c, g), 0) for g in codes] for c in colours])
        for row, col in zip(*linear_sum_assignment(table, maximize=True), strict=True):
            if table[row, col] > 0:
                names[colours[row]] = codes[col]
    return [(g, names.get(p, p) if p is not None and p.startswith("colour:") else p)
            for g, p in pairs]


def _gt_has_classes(gt: dict) -> bool:
    """Whether the GT names classes: a ``zone_code``/``class`` field on an annotation, or
    categories other than a lone ``zone``."""
    categories = gt.get("categories") or []
    if any(c.get("name") != "zone" for c in categories):
        return True
    return any(a.get("zone_code") is not None or a.get("class") is not None
               for a in gt.get("annotations", []))


def _gt_class(ann: dict, by_id: dict[int, str]) -> str | None:
    """A GT zone's class code: ``zone_code``, ``class``, else its category's code or name."""
    for key in ("zone_code", "class"):
        if ann.get(key) is not None:
            return str(ann[key])
    return by_id.get(ann.get("category_id"))


def _pred_class(ann: dict, by_id: dict[int, str]) -> str | None:
    """A prediction's class code: ``class_code`` where the annotation has the field
    (planseg's; None: unclassified, or a colour-only class scored by its ``class_rgb``), else
    read as for GT zones (so a GT file scored against itself is all correct)."""
    if "class_code" in ann:  # planseg's own output: None is unclassified or colour-only
        return None if ann["class_code"] is None else str(ann["class_code"])
    return _gt_class(ann, by_id)


def _category_classes(coco: dict) -> dict[int, str]:
    """Category id -> class code (``code``, else the name) of a COCO file's categories;
    the ``zone`` category (unclassified) has none."""
    return {c["id"]: str(c.get("code") or c["name"]) for c in coco.get("categories") or []
            if c.get("name") != "zone" and (c.get("code") or c.get("name"))}
