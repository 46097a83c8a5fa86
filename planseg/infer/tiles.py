"""Segment a page in tiles and put the tiles' masks back together as one page's detections.

Frames: a tile's generator records are in the tile's own pixels; everything returned here is
COCO RLE over the FULL page raster (pixel frame, column-major RLE as COCO stores it).

Small pages (both sides <= ``tile_px``) are one tile and pass straight through. On a tiled
page a mask that touches an *inner* tile edge (one that is not the page border) is cut: it
is dropped when a neighbouring tile saw the same zone whole (the cut piece lies mostly inside
a whole mask), and pieces of a zone larger than any tile - cut in every tile that sees it -
are joined: two pieces from different tiles are one zone when they agree inside the
rectangle both tiles cover. Whole masks seen by two tiles are merged by mask IoU (the
reference AMG's box NMS alone would keep a zone and a cut-off copy of it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from pycocotools import mask as mask_utils

from planseg.export.rle import rle_coded
from planseg.export.types import Detection
from planseg.infer.config import TilingConfig
from planseg.ingest.tiling import Tile, plan_tiles

_CONTAINED = 0.5  # a cut piece this much inside a whole mask is that mask's piece


def page_tiles(width_px: int, height_px: int, tiling: TilingConfig) -> list[Tile]:
    """The page as one tile if it fits ``tile_px``, else the ingest tiling plan."""
    if width_px <= tiling.tile_px and height_px <= tiling.tile_px:
        return [Tile(0, 0, width_px, height_px)]
    return plan_tiles(width_px, height_px, tiling.tile_px, tiling.overlap_px)


@dataclass
class TileMask:
    """One generator mask moved to the page frame; ``cut``: it touches an inner tile edge."""

    tile_index: int
    rle: dict  # pycocotools RLE (bytes counts) over the full page
    record: dict[str, Any]
    cut: bool

    @property
    def box_xyxy(self) -> np.ndarray:
        """Page-frame box (x0, y0, x1, y1), float64, exclusive end."""
        x, y, w, h = mask_utils.toBbox(self.rle)
        return np.array([x, y, x + w, y + h])

    def detection(self) -> Detection:
        """This mask as a page :class:`Detection`: its record's scores, the page-frame RLE
        and box."""
        return Detection.from_amg_record({**self.record, "segmentation": self.rle,
                                          "bbox": mask_utils.toBbox(self.rle)})


def shift_mask_rle(mask: np.ndarray, x0: int, y0: int, page_w: int, page_h: int) -> dict:
    """COCO RLE over the ``page_w`` x ``page_h`` page of an HxW bool ``mask`` whose top-left
    pixel is page pixel (``x0``, ``y0``), built from runs without a page-sized array."""
    height, width = mask.shape
    padded = np.zeros((width, height + 2), dtype=np.int8)
    padded[:, 1:-1] = mask.T  # column-major like COCO, a zero above and below each column
    steps = np.diff(padded, axis=1)
    start_col, start_row = np.nonzero(steps == 1)  # C order = ascending flat page index
    end_col, end_row = np.nonzero(steps == -1)
    starts = (start_col + x0).astype(np.int64) * page_h + start_row + y0
    ends = (end_col + x0).astype(np.int64) * page_h + end_row + y0
    if starts.size:
        gap = starts[1:] != ends[:-1]  # runs touching across a column join (full-height tiles)
        starts, ends = starts[np.r_[True, gap]], ends[np.r_[gap, True]]
    counts = np.empty(2 * starts.size + 1, dtype=np.int64)
    counts[0:-1:2] = starts - np.r_[0, ends[:-1]]
    counts[1::2] = ends - starts
    counts[-1] = page_w * page_h - (ends[-1] if ends.size else 0)
    if counts.size > 1 and counts[-1] == 0:
        counts = counts[:-1]  # COCO ends on the last run, with no empty run after it
    return mask_utils.frPyObjects({"size": [page_h, page_w], "counts": counts.tolist()},
                                  page_h, page_w)


def tile_masks(records: Sequence[dict], tile: Tile, tile_index: int, page_w: int, page_h: int,
               margin_px: int) -> list[TileMask]:
    """Generator ``records`` of ``tile`` (tile pixels) as page-frame :class:`TileMask`."""
    inner = (tile.x0 > 0, tile.y0 > 0, tile.x1 < page_w, tile.y1 < page_h)  # left top right bottom
    out = []
    for record in records:
        x, y, w, h = record["bbox"]
        touches = (x <= margin_px, y <= margin_px, x + w >= tile.width_px - margin_px,
                   y + h >= tile.height_px - margin_px)
        mask = mask_utils.decode(rle_coded(record["segmentation"])).astype(bool)
        out.append(TileMask(tile_index=tile_index, record=record,
                            rle=shift_mask_rle(mask, tile.x0, tile.y0, page_w, page_h),
                            cut=any(t and i for t, i in zip(touches, inner, strict=True))))
    return out


def merge_tile_masks(masks: Sequence[TileMask], tiles: Sequence[Tile],
                     duplicate_iou: float) -> list[Detection]:
    """One page's detections from all its tiles' masks (see the module docstring)."""
    ranked = sorted(masks, key=_rank)
    whole = _KeptMasks()
    for candidate in (m for m in ranked if not m.cut):
        if not any(k.tile_index != candidate.tile_index
                   for k in whole.duplicates(candidate, duplicate_iou)):
            whole.add(candidate)
    pieces = [m for m in ranked if m.cut and not whole.contains(m)]
    for group in _join_pieces(pieces, tiles, duplicate_iou):
        rle = group[0].rle if len(group) == 1 else mask_utils.merge([m.rle for m in group])
        joined = TileMask(tile_index=-1, rle=rle, record=group[0].record, cut=False)
        if not whole.contains(joined) and not whole.duplicates(joined, duplicate_iou):
            whole.add(joined)
    return sorted((m.detection() for m in whole.masks), key=detection_order)


class _KeptMasks:
    """Masks kept so far with their boxes, so each test only looks at overlapping boxes (an
    A0 sheet has thousands of masks; all-pairs RLE comparisons would dominate)."""

    def __init__(self) -> None:
        self.masks: list[TileMask] = []
        self._boxes = np.zeros((0, 4))

    def add(self, mask: TileMask) -> None:
        self.masks.append(mask)
        self._boxes = np.vstack([self._boxes, mask.box_xyxy])

    def near(self, mask: TileMask) -> list[TileMask]:
        hits = _overlaps(mask.box_xyxy, self._boxes)
        return [self.masks[i] for i in np.flatnonzero(hits)]

    def duplicates(self, candidate: TileMask, threshold: float) -> list[TileMask]:
        near = self.near(candidate)
        if not near:
            return []
        ious = mask_utils.iou([candidate.rle], [k.rle for k in near], [0] * len(near))[0]
        return [k for k, iou in zip(near, ious, strict=True) if iou >= threshold]

    def contains(self, mask: TileMask) -> bool:
        """True if ``mask`` lies mostly inside one kept mask."""
        near = self.near(mask)
        if not near:
            return False
        # With iscrowd=1 pycocotools divides the intersection by the first mask's area only.
        contained = mask_utils.iou([mask.rle], [k.rle for k in near], [1] * len(near))[0]
        return bool(np.max(contained) >= _CONTAINED)


def _overlaps(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Which of ``boxes`` (Nx4 xyxy) overlap ``box`` with positive area."""
    return ((boxes[:, 0] < box[2]) & (box[0] < boxes[:, 2])
            & (boxes[:, 1] < box[3]) & (box[1] < boxes[:, 3]))


def detections_from_records(records: Sequence[dict]) -> list[Detection]:
    """A single-tile page: the generator's records are already in the page frame."""
    return sorted((Detection.from_amg_record(r) for r in records), key=detection_order)


def detection_order(detection: Detection) -> tuple:
    """Deterministic order: best score first, then position."""
    return (-round(detection.score, 6), tuple(round(v, 3) for v in detection.bbox_xywh),
            detection.rle["counts"])


def _rank(mask: TileMask) -> tuple:
    return (-float(mask.record["predicted_iou"]), -float(mask.record["stability_score"]),
            mask.tile_index, tuple(mask.record["bbox"]))


def _join_pieces(pieces: Sequence[TileMask], tiles: Sequence[Tile],
                 threshold: float) -> list[list[TileMask]]:
    """Groups of pieces that agree inside the overlap of their tiles (union-find)."""
    parent = list(range(len(pieces)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    boxes = np.array([p.box_xyxy for p in pieces]).reshape(-1, 4)
    for i, a in enumerate(pieces):
        for j in np.flatnonzero(_overlaps(boxes[i], boxes)):
            b = pieces[j]
            if j > i and a.tile_index != b.tile_index and _agree(a, b, tiles, threshold):
                parent[root(j)] = root(i)
    groups: dict[int, list[TileMask]] = {}
    for i, piece in enumerate(pieces):
        groups.setdefault(root(i), []).append(piece)
    return list(groups.values())


def _agree(a: TileMask, b: TileMask, tiles: Sequence[Tile], threshold: float) -> bool:
    ta, tb = tiles[a.tile_index], tiles[b.tile_index]
    x0, y0, x1, y1 = max(ta.x0, tb.x0), max(ta.y0, tb.y0), min(ta.x1, tb.x1), min(ta.y1, tb.y1)
    if x1 <= x0 or y1 <= y0:
        return False
    height, width = a.rle["size"]
    shared = mask_utils.frPyObjects(np.array([[x0, y0, x1 - x0, y1 - y0]], dtype=np.float64),
                                    height, width)[0]
    a_in = mask_utils.merge([a.rle, shared], intersect=True)
    b_in = mask_utils.merge([b.rle, shared], intersect=True)
    if mask_utils.area(a_in) == 0 or mask_utils.area(b_in) == 0:
        return False
    return float(mask_utils.iou([a_in], [b_in], [0])[0][0]) >= threshold


def tile_prompts(points_xy: Sequence[tuple[int, int]], tiles: Sequence[Tile],
                 tile_index: int) -> tuple[np.ndarray, np.ndarray]:
    """The prompt points (page pixels) that tile ``tile_index`` answers, in its own pixels
    (Nx2 float64), and their indices into ``points_xy`` (N int64). Each point goes to the
    one tile where it lies deepest (furthest from that tile's edges), so its mask is the
    least likely to be cut by an inner edge."""
    if not len(points_xy):
        return np.zeros((0, 2)), np.zeros(0, dtype=np.int64)
    points = np.asarray(points_xy, dtype=np.float64).reshape(-1, 2)
    bounds = np.array([t.xyxy for t in tiles], dtype=np.float64)  # T x 4
    depth = np.minimum.reduce([points[:, None, 0] - bounds[None, :, 0],
                               points[:, None, 1] - bounds[None, :, 1],
                               bounds[None, :, 2] - 1 - points[:, None, 0],
                               bounds[None, :, 3] - 1 - points[:, None, 1]])
    mine = np.flatnonzero(depth.argmax(axis=1) == tile_index)
    tile = tiles[tile_index]
    return points[mine] - np.array([tile.x0, tile.y0], dtype=np.float64), mine
