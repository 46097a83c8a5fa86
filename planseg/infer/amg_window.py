"""Windowed upsampling of low-resolution mask logits (the survivors' full-resolution step).

``Sam.postprocess_masks`` upsamples bilinearly (align_corners=False) from the decoder's
``h x w`` logits to the encoder's square input, crops the padding, and upsamples again to the
image. Both steps are linear and separable, so the result is ``A_h @ L @ A_w.T`` with
``A_h``: (H x h) and ``A_w``: (W x w) fixed matrices. Each output pixel is a convex
combination of a few neighbouring low-res logits, so where all of those are <= ``t`` the
output is <= ``t`` too. Only the window of output rows/columns reached by low-res logits above
``mask_threshold - stability_offset`` can count towards the stability score or the mask; this
module computes just that window, and writes its COCO RLE without a full-size mask.
Frames: rows/cols of the crop the logits belong to (RLEs: of the full image, via offsets).
"""

from __future__ import annotations

import numpy as np
import torch
from pycocotools import mask as mask_utils

from planseg.export.rle import rle_text


def _bilinear_matrix(n_in: int, n_out: int) -> torch.Tensor:
    """(n_out x n_in) float64 matrix of 1-D bilinear resizing, align_corners=False (PyTorch)."""
    dst = torch.arange(n_out, dtype=torch.float64)
    src = ((dst + 0.5) * (n_in / n_out) - 0.5).clamp(min=0)
    i0 = src.floor().long().clamp(max=n_in - 1)
    lam = src - i0
    i1 = (i0 + 1).clamp(max=n_in - 1)
    matrix = torch.zeros(n_out, n_in, dtype=torch.float64)
    rows = torch.arange(n_out)
    matrix.index_put_((rows, i0), 1 - lam, accumulate=True)
    matrix.index_put_((rows, i1), lam, accumulate=True)
    return matrix


class WindowUpsampler:
    """``Sam.postprocess_masks`` for one crop, restricted to each mask's active window."""

    def __init__(self, low_hw: tuple[int, int], img_size: int, input_hw: tuple[int, int],
                 orig_hw: tuple[int, int], device: torch.device) -> None:
        self.axes = []
        for n_low, n_input, n_orig in zip(low_hw, input_hw, orig_hw, strict=True):
            step1 = _bilinear_matrix(n_low, img_size)[:n_input]
            matrix = _bilinear_matrix(n_input, n_orig) @ step1          # (n_orig x n_low)
            nonzero = matrix != 0
            idx = torch.arange(n_low).expand_as(matrix)
            # For each low-res index: first/last output index it reaches; for each output
            # index: first/last low-res index it reads.
            reach_lo = torch.where(nonzero, torch.arange(n_orig)[:, None], n_orig).min(0).values
            reach_hi = torch.where(nonzero, torch.arange(n_orig)[:, None], -1).max(0).values
            read_lo = torch.where(nonzero, idx, n_low).min(1).values
            read_hi = torch.where(nonzero, idx, -1).max(1).values
            # low-res indices under the encoder's padding reach no output: lo n_orig, hi -1
            self.axes.append((matrix.float().to(device), reach_lo.to(device),
                              reach_hi.to(device), read_lo.tolist(), read_hi.tolist()))

    def window(self, low: torch.Tensor, floor: float
               ) -> tuple[torch.Tensor, int, int] | None:
        """Full-resolution logits of ``low`` (h x w) inside its active window.

        Returns (R x C float32 logits, row0, col0), or None when no low-res logit that
        reaches the image (not the encoder's padding) exceeds ``floor`` (then no output pixel
        does either).
        """
        active = low > floor
        rows, cols = active.any(1), active.any(0)
        if not bool(rows.any()):
            return None
        spans = []
        for axis, present in zip(self.axes, (rows, cols), strict=True):
            matrix, reach_lo, reach_hi, read_lo, read_hi = axis
            o0, o1 = int(reach_lo[present].min()), int(reach_hi[present].max()) + 1
            if o1 <= o0:  # only padding is active
                return None
            i0, i1 = read_lo[o0], read_hi[o1 - 1] + 1
            spans.append((matrix[o0:o1, i0:i1], o0, i0, i1))
        (mh, r0, ri0, ri1), (mw, c0, ci0, ci1) = spans
        return mh @ low[ri0:ri1, ci0:ci1] @ mw.T, r0, c0


def window_rle(mask: np.ndarray, row0: int, col0: int, height: int, width: int) -> dict:
    """COCO compressed RLE (counts str) of an HxW image that is ``mask`` (R x C bool) placed
    at (row0, col0) and False elsewhere; cost O(R*C), no HxW array."""
    padded = np.zeros((mask.shape[0] + 2, mask.shape[1]), dtype=np.int8)
    padded[1:-1] = mask
    # Transitions per column, listed column by column (COCO RLE is column-major).
    cols, rows = np.nonzero(np.diff(padded, axis=0).T)
    positions = (col0 + cols).astype(np.int64) * height + row0 + rows
    counts = np.diff(np.concatenate([[0], positions, [height * width]]))
    return rle_text(mask_utils.frPyObjects({"size": [height, width], "counts": counts.tolist()},
                                           height, width))
