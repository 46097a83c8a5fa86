"""How much AMG AP a perfect IoU head would add: the same AMG masks scored twice, ranked by
the model's predicted IoU (what ``segment`` reports) and by their true best IoU with any
ground-truth zone (an oracle), and with the oracle also dropping masks below a true IoU (a
perfect ``pred_iou_thresh``). The gap is what better-calibrated scores alone can give.

Run: ``.venv/bin/python benchmarks/amg_ranking_headroom.py --data DATA [--model M]
[--points-per-side 16] [--pred-iou-thresh T] [--stability-score-thresh S]`` where DATA is a
``planseg train`` dataset (its val split is scored; e.g. ``bench_train_scan.py``'s
WORK/data). Thresholds default to the model's calibrated ``amg_defaults``.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from pycocotools import mask as mask_utils
from segment_anything.modeling import Sam

from planseg.models.checkpoints import load_model
from planseg.train.config import DatasetConfig, ValidationConfig
from planseg.train.data import PageRecord, load_splits
from planseg.train.validate import amg_generator, amg_predictions, coco_segm_metrics


@dataclass
class HeldOutAmg:
    """The AMG's masks on a dataset's annotated val pages, as COCO ground truth and
    predictions, with the model and thresholds that made them."""

    model: str
    sam: Sam
    thresholds: dict
    points_per_side: int
    pages: list[PageRecord]
    gt: dict
    predictions: list[dict]


def held_out_amg(description: str) -> HeldOutAmg:
    """Parse ``--data --model --points-per-side --pred-iou-thresh --stability-score-thresh``
    (thresholds default to the model's calibrated ``amg_defaults``) and run the AMG."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--model", default="planseg-default")
    parser.add_argument("--points-per-side", type=int, default=16)
    parser.add_argument("--pred-iou-thresh", type=float)
    parser.add_argument("--stability-score-thresh", type=float)
    parser.add_argument("--box-nms-thresh", type=float,
                        help="box IoU above which the AMG drops the lower-scored mask "
                             "(default: SAM's 0.7)")
    args = parser.parse_args()
    loaded = load_model(args.model)
    thresholds = dict(loaded.meta.get("amg_defaults", {}))
    for key in ("pred_iou_thresh", "stability_score_thresh"):
        if getattr(args, key) is not None:
            thresholds[key] = getattr(args, key)
    pages = [p for p in load_splits(args.data, DatasetConfig(cache=False), None).val if p.rles]
    config = ValidationConfig(points_per_side=args.points_per_side, **thresholds)
    nms = {} if args.box_nms_thresh is None else {"box_nms_thresh": args.box_nms_thresh}
    gt, predictions = amg_predictions(loaded.sam, pages, config,
                                      amg_generator(loaded.sam, config, **nms))
    thresholds.update(nms)
    return HeldOutAmg(args.model, loaded.sam, thresholds, args.points_per_side, pages, gt,
                      predictions)


def main() -> None:
    run = held_out_amg(__doc__.splitlines()[0])
    gt, by_head, pages = run.gt, run.predictions, run.pages
    by_truth = []
    for page in pages:
        mine = [p for p in by_head if p["image_id"] == page.image_id]
        if not mine:
            continue
        ious = mask_utils.iou([p["segmentation"] for p in mine], list(page.rles),
                              [0] * len(page.rles))
        by_truth += [{**p, "score": float(row.max())} for p, row in zip(mine, ious, strict=True)]
    head, oracle = coco_segm_metrics(gt, by_head), coco_segm_metrics(gt, by_truth)
    print(f"model {run.model}, thresholds {run.thresholds or 'SAM defaults'}, {len(pages)} pages, "
          f"{len(by_head) / max(1, len(pages)):.1f} masks/page")
    print(f"ranked by the IoU head: AP50 {head['ap50']:.3f}, AP {head['ap']:.3f}")
    print(f"ranked by true IoU (oracle): AP50 {oracle['ap50']:.3f}, AP {oracle['ap']:.3f}")
    for floor in (0.6, 0.7):  # an oracle filter too: what a perfect pred_iou_thresh could do
        kept = [p for p in by_truth if p["score"] >= floor]
        filtered = coco_segm_metrics(gt, kept)
        print(f"ranked by true IoU, masks below {floor} dropped: AP50 {filtered['ap50']:.3f}, "
              f"AP {filtered['ap']:.3f}, {len(kept) / max(1, len(pages)):.1f} masks/page")


if __name__ == "__main__":
    main()
