"""SAM preprocessing exactly as the model expects it at inference.

Images: ``ResizeLongestSide(img_size).apply_image`` (PIL bilinear resize of HxWx3 uint8, the
longest side to ``img_size``), then ``Sam.preprocess`` (pixel mean/std normalisation, zero
padding at the bottom and right to ``img_size`` x ``img_size``) - the very calls
``SamPredictor.set_image`` makes, so training and the AMG see identical inputs.
Masks follow the same resize (bilinear on 0/1 then >= 0.5, so edges land where the image's do).
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
from segment_anything.modeling import Sam
from segment_anything.utils.transforms import ResizeLongestSide


def resize_image(image: np.ndarray, img_size: int) -> np.ndarray:
    """HxWx3 uint8 RGB -> hxwx3 uint8 with the longest side ``img_size`` (SAM's transform)."""
    return ResizeLongestSide(img_size).apply_image(image)


def resize_masks(masks: np.ndarray, shape_hw: tuple[int, int]) -> np.ndarray:
    """KxHxW bool -> Kxhxw bool at ``shape_hw`` (bilinear on 0/1, threshold 0.5)."""
    h, w = shape_hw
    if masks.shape[1:] == (h, w):
        return masks.astype(bool)
    out = np.zeros((len(masks), h, w), dtype=bool)
    for i, mask in enumerate(masks):
        out[i] = cv2.resize(mask.astype(np.float32), (w, h),
                            interpolation=cv2.INTER_LINEAR) >= 0.5
    return out


def image_to_tensor(image: np.ndarray) -> torch.Tensor:
    """hxwx3 uint8 -> 3xhxw uint8 tensor (float conversion happens on the device)."""
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))


def preprocess_batch(sam: Sam, images: list[torch.Tensor]) -> torch.Tensor:
    """Resized 3xhxw uint8 tensors (h, w <= img_size) -> Bx3xSxS float, via ``Sam.preprocess``
    (normalise first, then pad with zeros bottom/right: padding is 0 after normalisation)."""
    return torch.stack([sam.preprocess(image.float()) for image in images])
