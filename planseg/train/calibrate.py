"""AMG threshold calibration: the (predicted IoU, stability) filters that suit a trained model.

SAM's defaults (0.88 / 0.95) suit SAM's own IoU head. A head fine-tuned briefly, or a small
model's, is calibrated lower, and at SAM's thresholds the AMG can return nothing at all. So
``planseg train`` scores the AMG on validation pages over :data:`CALIBRATION_GRID` and stores
the best pair in ``best.pt`` as ``amg_defaults``, which ``planseg segment`` applies where the
user sets no threshold.

One AMG pass per stability value is enough: the predicted-IoU filter keeps the masks scored
above a threshold, and greedy box NMS only lets a mask be suppressed by a higher-scored one,
so filtering by predicted IoU before NMS or after it keeps the same masks.
"""

from __future__ import annotations

from segment_anything.modeling import Sam

from planseg.train.config import ValidationConfig
from planseg.train.data import PageRecord
from planseg.train.validate import amg_predictions, coco_segm_metrics

#: (pred_iou_thresh, stability_score_thresh) pairs tried; SAM's defaults last
CALIBRATION_GRID = [(i, s) for i in (0.25, 0.4, 0.55, 0.7) for s in (0.3, 0.5, 0.7, 0.9)] + [
    (0.88, 0.95)]
#: AP barely moves with extra low-scored masks, but each is a polygon a user must sift: of
#: the settings within this much of the best AP, the sparsest wins
AP_TOLERANCE = 0.01


def calibrate_thresholds(sam: Sam, pages: list[PageRecord], points_per_side: int | None,
                         grid: list[tuple[float, float]] = CALIBRATION_GRID
                         ) -> tuple[dict, list[dict]]:
    """(``amg_defaults``, one dict of metrics per grid pair) for ``sam`` on ``pages``.

    ``amg_defaults`` is ``{"pred_iou_thresh": i, "stability_score_thresh": s}``. Pages
    without annotations are skipped (COCOeval scores nothing on them).
    """
    pages = [p for p in pages if p.rles]
    if not pages:
        raise ValueError("AMG calibration needs at least one annotated page")
    trials = []
    for stability in sorted({s for _, s in grid}):
        ious = sorted(i for i, s in grid if s == stability)
        gt, predictions = amg_predictions(sam, pages, ValidationConfig(
            points_per_side=points_per_side, pred_iou_thresh=ious[0],
            stability_score_thresh=stability))
        for iou in ious:
            kept = [p for p in predictions if p["score"] > iou]
            metrics = coco_segm_metrics(gt, kept)
            trials.append({"pred_iou_thresh": iou, "stability_score_thresh": stability,
                           **{k: round(v, 4) for k, v in metrics.items()},
                           "masks_per_page": round(len(kept) / len(pages), 4)})
    top = max(t["ap"] for t in trials)
    best = min((t for t in trials if t["ap"] >= top - AP_TOLERANCE),
               key=lambda t: (t["masks_per_page"], -t["ap"]))
    return {k: best[k] for k in ("pred_iou_thresh", "stability_score_thresh")}, trials
