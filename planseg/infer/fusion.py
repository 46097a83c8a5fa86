"""Colour regions and SAM's masks of one page -> one mask per zone (``amg.prompts: regions``).

Each colour region prompted SAM at its pole of inaccessibility (:mod:`planseg.infer.prompted`);
zone-sized areas no colour covers did too. Which mask a zone keeps (``amg.keep``):

- ``better``: SAM's mask where it is confident (predicted IoU >= ``amg.sam_min_iou``) and
  either agrees with the region (mask IoU >= ``AGREE_IOU``: SAM redraws its edge) or joins
  regions the colours split (it holds each of them almost whole and almost nothing of any
  other region: a hatched zone the colours cut in pieces); the region's otherwise. A weak
  model's masks rarely pass, so the colours stand; a stronger checkpoint takes over where
  it is sure, which is where colours fail;
- ``sam``: SAM's mask wherever it passed the AMG thresholds, the region's elsewhere (what
  SAM prompted at the regions gives on its own, for the ablation);
- ``regions``: the regions' masks (SAM only adds zones in the uncovered areas).

A mask from an uncovered area's prompt is a zone when mostly outside every region and, on a
page where the colours found zones, confident (where they found none, SAM is all there is:
the AMG thresholds decide). Duplicates (two regions' prompts giving one SAM mask) are
removed by mask IoU and containment, the higher score kept. Masks are COCO RLE over the
full page (pycocotools' set operations: no page-sized array per mask). No torch here.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pycocotools import mask as mask_utils

from planseg.export.rle import rle_coded
from planseg.export.types import Detection
from planseg.infer.tiles import TileMask, detection_order

AGREE_IOU = 0.8  # SAM's mask and the region are the same zone
JOIN_HOLD = 0.8  # a joined region lies at least this much inside SAM's mask...
JOIN_FOREIGN = 0.1  # ... and the mask holds at most this share of regions it does not join
GAP_MAX_IN_REGIONS = 0.2  # an uncovered area's mask may overlap regions this much
DUPLICATE_IOU = 0.5
CONTAINED = 0.8


def fuse_page(regions: Sequence[Detection], prompted: Sequence[Detection],
              prompt_of: Sequence[int], *, keep: str, sam_min_iou: float) -> list[Detection]:
    """The page's zones from its colour ``regions`` (prompt ``i`` is region ``i``; prompts
    from ``len(regions)`` on are uncovered areas) and SAM's ``prompted`` masks, the
    ``k``-th answering prompt ``prompt_of[k]``. Page pixel frame, best score first."""
    region_rles = [rle_coded(d.rle) for d in regions]
    by_prompt = {p: d for p, d in zip(prompt_of, prompted, strict=True)}
    chosen: list[Detection] = []
    replaced: set[int] = set()
    for index, region in enumerate(regions):
        sam = by_prompt.get(index)
        if sam is None or keep == "regions":
            continue
        if keep == "sam":
            chosen.append(_coloured(sam, region))
            replaced.add(index)
            continue
        if sam.predicted_iou is None or sam.predicted_iou < sam_min_iou:
            continue
        joined = _joined_regions(rle_coded(sam.rle), region_rles, index)
        if joined:
            chosen.append(_coloured(sam, region))
            replaced.update(joined)
    chosen += [r for i, r in enumerate(regions) if i not in replaced]
    chosen += _gap_zones(prompted, prompt_of, len(regions), region_rles, keep, sam_min_iou)
    return _without_duplicates(chosen)


def fuse_tile_masks(regions: Sequence[Detection], masks: Sequence[TileMask], *, keep: str,
                    sam_min_iou: float) -> list[Detection]:
    """:func:`fuse_page` of SAM's prompted masks from a page's tiles (page frame); a mask cut
    by an inner tile edge is no zone's mask (the region stands)."""
    whole = [m for m in masks if not m.cut]
    return fuse_page(regions, [m.detection() for m in whole],
                     [int(m.record["prompt_index"]) for m in whole], keep=keep,
                     sam_min_iou=sam_min_iou)


def _joined_regions(sam_rle: dict, region_rles: list[dict], index: int) -> list[int]:
    """The regions SAM's mask stands for (``index`` among them), or [] when it is not a
    better mask of them: it agrees with region ``index``, or holds every region it
    touches either almost whole (joined) or hardly at all."""
    inside = mask_utils.iou(region_rles, [sam_rle], [1] * 1)[:, 0]  # |r & s| / |r|
    if float(mask_utils.iou([sam_rle], [region_rles[index]], [0])[0, 0]) >= AGREE_IOU:
        return [index]
    region_area = mask_utils.area(region_rles).astype(np.float64)
    joined = np.flatnonzero(inside >= JOIN_HOLD)
    if index not in joined or len(joined) < 2:
        return []
    foreign = np.setdiff1d(np.arange(len(region_rles)), joined)
    foreign_px = float((inside[foreign] * region_area[foreign]).sum())
    if foreign_px > JOIN_FOREIGN * float(mask_utils.area(sam_rle)):
        return []
    return joined.tolist()


def _gap_zones(prompted: Sequence[Detection], prompt_of: Sequence[int], first_gap: int,
               region_rles: list[dict], keep: str, sam_min_iou: float) -> list[Detection]:
    """SAM's masks from the uncovered areas' prompts that are zones: confident (``keep``
    better) and mostly outside every region."""
    out = []
    union = mask_utils.merge(region_rles) if region_rles else None
    for prompt, sam in zip(prompt_of, prompted, strict=True):
        if prompt < first_gap:
            continue
        if keep == "better" and region_rles and (sam.predicted_iou or 0.0) < sam_min_iou:
            continue  # beside zones the colours found, only a confident mask is added
        if union is not None:
            in_regions = float(mask_utils.iou([rle_coded(sam.rle)], [union], [1])[0, 0])
            if in_regions > GAP_MAX_IN_REGIONS:
                continue
        out.append(sam)
    return out


def _coloured(sam: Detection, region: Detection) -> Detection:
    """SAM's mask with the region's colour (the hatch-free median of the zone it redraws)."""
    return Detection(rle=sam.rle, bbox_xywh=sam.bbox_xywh, score=sam.score,
                     predicted_iou=sam.predicted_iou, stability_score=sam.stability_score,
                     fill_rgb=region.fill_rgb, source="sam")


def _without_duplicates(detections: list[Detection]) -> list[Detection]:
    """Best score first; a mask that repeats a kept one (mask IoU >= DUPLICATE_IOU, or
    CONTAINED of it inside a kept one or the other way) is dropped."""
    ranked = sorted(detections, key=detection_order)
    kept: list[Detection] = []
    kept_rles: list[dict] = []
    for detection in ranked:
        rle = rle_coded(detection.rle)
        if kept_rles:
            iou = mask_utils.iou([rle], kept_rles, [0] * len(kept_rles))[0]
            share_in_kept = mask_utils.iou([rle], kept_rles, [1] * len(kept_rles))[0]
            kept_in_share = mask_utils.iou(kept_rles, [rle], [1])[:, 0]
            if (iou >= DUPLICATE_IOU).any() or (share_in_kept >= CONTAINED).any() \
                    or (kept_in_share >= CONTAINED).any():
                continue
        kept.append(detection)
        kept_rles.append(rle)
    return kept
