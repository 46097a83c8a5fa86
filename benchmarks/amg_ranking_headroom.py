"""How much AMG AP a perfect IoU head would add: the same AMG masks scored twice, ranked by
the model's predicted IoU (what ``segment`` reports) and by their true best IoU with any
ground-truth zone (an oracle). The gap is what better-calibrated scores alone can give.

Run: ``.venv/bin/python benchmarks/amg_ranking_headroom.py --data DATA [--model M]
[--points-per-side 16] [--pred-iou-thresh T] [--stability-score-thresh S]`` where DATA is a
``planseg train`` dataset (its val split is scored; e.g. ``bench_train_scan.py``'s
WORK/data). Thresholds default to the model's calibrated ``amg_defaults``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from pycocotools import mask as mask_utils

from planseg.models.checkpoints import load_model
from planseg.train.config import DatasetConfig, ValidationConfig
from planseg.train.data import load_splits
from planseg.train.samples import read_image
from planseg.train.validate import amg_generator, coco_segm_metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--model", default="planseg-default")
    parser.add_argument("--points-per-side", type=int, default=16)
    parser.add_argument("--pred-iou-thresh", type=float)
    parser.add_argument("--stability-score-thresh", type=float)
    args = parser.parse_args()
    loaded = load_model(args.model)
    thresholds = dict(loaded.meta.get("amg_defaults", {}))
    for key in ("pred_iou_thresh", "stability_score_thresh"):
        if getattr(args, key) is not None:
            thresholds[key] = getattr(args, key)
    generator = amg_generator(loaded.sam, ValidationConfig(
        points_per_side=args.points_per_side, **thresholds))
    pages = load_splits(args.data, DatasetConfig(cache=False), None).val
    images, zones, by_head, by_truth = [], [], [], []
    for page in pages:
        images.append({"id": page.image_id, "file_name": page.file_name, "pdf": page.pdf,
                       "page": page.page_number, "width": page.width_px,
                       "height": page.height_px})
        for rle, box in zip(page.rles, page.boxes_xywh, strict=True):
            zones.append({"id": len(zones) + 1, "image_id": page.image_id, "category_id": 1,
                          "segmentation": rle, "bbox": list(box), "iscrowd": 0})
        records = generator.generate(read_image(page.path))
        if not records:
            continue
        ious = mask_utils.iou([r["segmentation"] for r in records], list(page.rles),
                              [0] * len(page.rles))
        for record, row in zip(records, ious, strict=True):
            base = {"image_id": page.image_id, "category_id": 1,
                    "segmentation": record["segmentation"]}
            by_head.append({**base, "score": float(record["predicted_iou"])})
            by_truth.append({**base, "score": float(row.max())})
    gt = {"images": images, "annotations": zones, "categories": [{"id": 1, "name": "zone"}]}
    head, oracle = coco_segm_metrics(gt, by_head), coco_segm_metrics(gt, by_truth)
    print(f"model {args.model}, thresholds {thresholds or 'SAM defaults'}, {len(pages)} pages, "
          f"{len(by_head) / max(1, len(pages)):.1f} masks/page")
    print(f"ranked by the IoU head: AP50 {head['ap50']:.3f}, AP {head['ap']:.3f}")
    print(f"ranked by true IoU (oracle): AP50 {oracle['ap50']:.3f}, AP {oracle['ap']:.3f}")


if __name__ == "__main__":
    main()
