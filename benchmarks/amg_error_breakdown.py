"""Where a model's AMG AP goes: each AMG mask classified against the ground truth, and how well
the model segments a zone from *every* grid point inside it (as the AMG prompts), not only
from the point nearest the zone's centroid (as training mostly prompts).

Masks, in descending predicted IoU (COCOeval's greedy order at IoU 0.5): true positive
(first match of a zone), duplicate (IoU >= 0.5 with a zone already matched), near miss (best
IoU 0.3-0.5), partial (0.1-0.3), background (< 0.1). Duplicates cap AP50 whatever the IoU
head does: ranking the masks by their true IoU still puts them among the true positives.

Run: ``.venv/bin/python benchmarks/amg_error_breakdown.py --data DATA [--model M]
[--points-per-side 16] [--pred-iou-thresh T] [--stability-score-thresh S]`` where DATA is a
``planseg train`` dataset (its val split is scored; e.g. ``bench_train_scan.py``'s
WORK/data). Thresholds default to the model's calibrated ``amg_defaults``.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import torch
from amg_ranking_headroom import held_out_amg  # benchmarks/ is the script's sys.path[0]
from pycocotools import mask as mask_utils

from planseg.train.data import PageRecord
from planseg.train.prompts import amg_grid_xy, center_point
from planseg.train.samples import read_image
from planseg.train.transforms import image_to_tensor, preprocess_batch, resize_image, resize_masks
from planseg.train.validate import head_choice_iou

KINDS = ("true positive", "duplicate", "near miss", "partial", "background")


def classify(predictions: list[dict], page: PageRecord) -> tuple[Counter, list[tuple]]:
    """Count the page's AMG masks by kind (see the module docstring); for each duplicate, its
    (mask IoU, box IoU) with the zone's first mask: box NMS keeps it below 0.7 box IoU."""
    counts: Counter = Counter()
    overlaps: list[tuple] = []
    if not predictions:
        return counts, overlaps
    ordered = sorted(predictions, key=lambda p: -p["score"])
    rles = [p["segmentation"] for p in ordered]
    ious = mask_utils.iou(rles, list(page.rles), [0] * len(page.rles))
    first: dict[int, int] = {}  # zone -> index of its true positive
    for index, row in enumerate(ious):
        free = [j for j in np.argsort(-row) if row[j] >= 0.5 and j not in first]
        if free:
            first[int(free[0])] = index
            counts["true positive"] += 1
        elif row.max() >= 0.5:
            counts["duplicate"] += 1
            found = first[int(np.argmax(row))]  # every zone it reaches 0.5 with is taken
            boxes = [mask_utils.toBbox(rles[i]).tolist() for i in (found, index)]
            overlaps.append((float(mask_utils.iou([rles[index]], [rles[found]], [0])[0, 0]),
                             float(mask_utils.iou(boxes[1:], boxes[:1], [0])[0, 0])))
        else:
            counts["near miss" if row.max() >= 0.3 else "partial" if row.max() >= 0.1
                   else "background"] += 1
    return counts, overlaps


@torch.no_grad()
def point_ious(sam, page: PageRecord, points_per_side: int) -> tuple[list[float], list[float]]:
    """(IoU from the centroid point per zone, IoU from every grid point inside a zone): the
    output the IoU head picks, in the model-input frame."""
    image = resize_image(read_image(page.path), sam.image_encoder.img_size)
    h, w = image.shape[:2]
    embedding = sam.image_encoder(preprocess_batch(sam, [image_to_tensor(image)]))
    grid = amg_grid_xy(points_per_side, w, h)
    centre, everywhere = [], []
    for mask in resize_masks(page.decode(), (h, w)):
        if not mask.any():
            continue
        inside = grid[mask[np.clip(grid[:, 1].astype(int), 0, h - 1),
                           np.clip(grid[:, 0].astype(int), 0, w - 1)]]
        target = torch.from_numpy(mask)[None, None].float()
        for points, into in ((center_point(mask)[None], centre), (inside, everywhere)):
            for start in range(0, len(points), 64):
                xy = torch.as_tensor(points[start:start + 64], dtype=torch.float32)[:, None]
                labels = torch.ones(len(xy), 1, dtype=torch.int64)
                into += head_choice_iou(sam, embedding, (xy, labels),
                                        target.expand(len(xy), -1, -1, -1)).tolist()
    return centre, everywhere


def main() -> None:
    run = held_out_amg(__doc__.splitlines()[0])
    pages, predictions = run.pages, run.predictions
    counts: Counter = Counter()
    centre, everywhere, overlaps = [], [], []
    for page in pages:
        page_counts, page_overlaps = classify(
            [p for p in predictions if p["image_id"] == page.image_id], page)
        counts += page_counts
        overlaps += page_overlaps
        c, e = point_ious(run.sam, page, run.points_per_side)
        centre += c
        everywhere += e
    zones = sum(len(p.rles) for p in pages)
    print(f"model {run.model}, thresholds {run.thresholds or 'SAM defaults'}, {len(pages)} pages, "
          f"{zones} zones, {len(predictions)} AMG masks")
    print(" | ".join(f"{kind} {counts[kind]}" for kind in KINDS))
    print(f"zones found (IoU >= 0.5): {counts['true positive'] / zones:.2f}")
    if overlaps:
        mask_iou_median, box_iou_median = np.median(np.array(overlaps), axis=0)
        print(f"a duplicate vs its zone's first mask, median: mask IoU {mask_iou_median:.2f}, "
              f"box IoU {box_iou_median:.2f}")
    print(f"prompted IoU from the centroid point: {np.mean(centre):.3f} ({len(centre)} zones); "
          f"from every {run.points_per_side}-grid point inside a zone: "
          f"{np.mean(everywhere):.3f} ({len(everywhere)} points)")


if __name__ == "__main__":
    main()
