"""COCO RLE helpers, including decoding just a box of a mask (the vectoriser's fast path).

COCO RLE stores a HxW mask column-major (Fortran order) as alternating run lengths starting
with a run of zeros; ``counts`` is compressed in COCO's LEB128-like text form.
"""

from __future__ import annotations

import numpy as np
from pycocotools import mask as mask_utils


def encode_mask(mask: np.ndarray) -> dict:
    """HxW bool/uint8 mask -> COCO RLE ``{"size": [H, W], "counts": str}``."""
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(rle["size"][0]), int(rle["size"][1])],
            "counts": rle["counts"].decode("ascii")}


def decode_rle(rle: dict) -> np.ndarray:
    """COCO RLE -> HxW bool mask over the whole raster."""
    counts = rle["counts"]
    coded = {"size": rle["size"],
             "counts": counts.encode("ascii") if isinstance(counts, str) else counts}
    if isinstance(coded["counts"], list):  # uncompressed RLE
        coded = mask_utils.frPyObjects(coded, *rle["size"])
    return mask_utils.decode(coded).astype(bool)


def rle_counts(rle: dict) -> np.ndarray:
    """Run lengths of a COCO RLE as int64 (compressed string or uncompressed list)."""
    counts = rle["counts"]
    if isinstance(counts, list):
        return np.asarray(counts, dtype=np.int64)
    data = counts.encode("ascii") if isinstance(counts, str) else counts
    runs: list[int] = []
    value, shift, more = 0, 0, False
    for byte in data:  # COCO's variant of LEB128: 5 payload bits per char, sign in bit 5
        chunk = byte - 48
        value |= (chunk & 0x1F) << (5 * shift)
        more = bool(chunk & 0x20)
        shift += 1
        if not more:
            if chunk & 0x10:
                value |= -1 << (5 * shift)
            if len(runs) > 2:
                value += runs[-2]
            runs.append(value)
            value, shift = 0, 0
    return np.asarray(runs, dtype=np.int64)


def decode_rle_box(rle: dict, box_xyxy: tuple[int, int, int, int]) -> np.ndarray:
    """Decode only ``box_xyxy`` (pixels, exclusive end) of a COCO RLE: (y1-y0)x(x1-x0) bool.

    Touches only the columns in the box, so cost scales with the mask's bounding box rather
    than the page (a full decode of an A3 page at 150 DPI writes ~4 million bytes per mask).
    """
    height = int(rle["size"][0])
    x0, y0, x1, y1 = box_xyxy
    ends = np.cumsum(rle_counts(rle))
    starts = ends - rle_counts(rle)
    ones = slice(1, None, 2)  # runs alternate 0, 1, 0, ... starting with zeros
    lo, hi = x0 * height, x1 * height
    run_starts = np.clip(starts[ones], lo, hi) - lo
    run_ends = np.clip(ends[ones], lo, hi) - lo
    keep = run_ends > run_starts
    edges = np.zeros(hi - lo + 1, dtype=np.int32)
    np.add.at(edges, run_starts[keep], 1)
    np.add.at(edges, run_ends[keep], -1)
    columns = np.cumsum(edges[:-1]).astype(bool).reshape(x1 - x0, height)
    return columns[:, y0:y1].T


def rle_area(rle: dict) -> int:
    """Number of foreground pixels."""
    return int(rle_counts(rle)[1::2].sum())
