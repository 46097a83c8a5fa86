"""COCO RLE helpers, including decoding just a box of a mask (the vectoriser's fast path).

COCO RLE stores a HxW mask column-major (Fortran order) as alternating run lengths starting
with a run of zeros; ``counts`` is compressed in COCO's LEB128-like text form.
"""

from __future__ import annotations

import numpy as np
from pycocotools import mask as mask_utils


def rle_text(rle: dict) -> dict:
    """COCO compressed RLE as JSON wants it: ``{"size": [H, W], "counts": str}`` (the form
    planseg keeps and passes between processes)."""
    counts = rle["counts"]
    return {"size": [int(rle["size"][0]), int(rle["size"][1])],
            "counts": counts.decode("ascii") if isinstance(counts, bytes) else counts}


def rle_coded(rle: dict) -> dict:
    """COCO RLE as pycocotools' functions want it (``counts`` bytes; lists left as they are)."""
    counts = rle["counts"]
    return {"size": list(rle["size"]),
            "counts": counts.encode("ascii") if isinstance(counts, str) else counts}


def encode_mask(mask: np.ndarray) -> dict:
    """HxW bool/uint8 mask -> COCO RLE ``{"size": [H, W], "counts": str}``."""
    return rle_text(mask_utils.encode(np.asfortranarray(mask.astype(np.uint8))))


def decode_rle(rle: dict) -> np.ndarray:
    """COCO RLE -> HxW bool mask over the whole raster."""
    coded = rle_coded(rle)
    if isinstance(coded["counts"], list):  # uncompressed RLE
        coded = mask_utils.frPyObjects(coded, *rle["size"])
    return mask_utils.decode(coded).astype(bool)


def rle_counts(rle: dict) -> np.ndarray:
    """Run lengths of a COCO RLE as int64 (compressed string or uncompressed list)."""
    counts = rle["counts"]
    if isinstance(counts, list):
        return np.asarray(counts, dtype=np.int64)
    data = rle_coded(rle)["counts"]
    # COCO's LEB128 variant, vectorised: 5 payload bits per char (offset 48), bit 5 = "more",
    # bit 4 of a value's last char = sign; then values from index 2 on are deltas against
    # the run two places earlier.
    chunks = np.frombuffer(data, dtype=np.uint8).astype(np.int64) - 48
    last = (chunks & 0x20) == 0
    group = np.concatenate(([0], np.cumsum(last)[:-1]))
    first = np.flatnonzero(np.concatenate(([True], last[:-1])))
    position = np.arange(chunks.size) - first[group]
    values = np.bincount(group, weights=(chunks & 0x1F) << (5 * position)).astype(np.int64)
    sign = (chunks[last] & 0x10) != 0
    values -= np.where(sign, np.left_shift(1, 5 * (position[last] + 1)), 0)
    values[2::2] = np.cumsum(values[2::2])
    values[3::2] = np.cumsum(values[3::2])  # runs[1] is not a delta, runs[3] = v3 + runs[1]
    values[3::2] += values[1] if values.size > 3 else 0
    return values


def decode_rle_box(rle: dict, box_xyxy: tuple[int, int, int, int], *,
                   counts: np.ndarray | None = None) -> np.ndarray:
    """Decode only ``box_xyxy`` (pixels, exclusive end) of a COCO RLE: (y1-y0)x(x1-x0) bool.

    Work and memory scale with the box, not the page (a full decode of an A3 page at 150 DPI
    writes ~4 million bytes per mask): each box column starts from the mask's value at its
    top row (found by binary search over the runs), then run starts/ends inside the box
    toggle it. ``counts``: the run lengths if already parsed (:func:`rle_counts`).
    """
    height = int(rle["size"][0])
    x0, y0, x1, y1 = box_xyxy
    counts = rle_counts(rle) if counts is None else counts
    ends = np.cumsum(counts)
    starts, ends = (ends - counts)[1::2], ends[1::2]  # runs of ones, flat column-major
    keep = ends > starts
    starts, ends = starts[keep], ends[keep]
    out = np.zeros((x1 - x0, y1 - y0), dtype=np.int32)  # column-major view of the box
    if out.size == 0 or starts.size == 0:
        return out.T.astype(bool)
    top = np.arange(x0, x1, dtype=np.int64) * height + y0
    run = np.searchsorted(starts, top, side="right") - 1
    out[:, 0] = (run >= 0) & (top < ends[np.maximum(run, 0)])
    for flat, step in ((starts, 1), (ends, -1)):
        col, row = np.divmod(flat, height)
        inside = (col >= x0) & (col < x1) & (row > y0) & (row < y1)
        out[col[inside] - x0, row[inside] - y0] += step  # flat positions are unique
    return (np.cumsum(out, axis=1) > 0).T


def rle_area(rle: dict) -> int:
    """Number of foreground pixels."""
    return int(rle_counts(rle)[1::2].sum())
