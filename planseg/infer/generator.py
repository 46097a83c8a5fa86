"""The mask generator that turns a tile into masks.

The generator contract (``generate(image HxWx3 uint8) -> list[record]`` with
``SamAutomaticMaskGenerator(output_mode="coco_rle")`` records: ``segmentation`` COCO RLE over
the given image, ``bbox`` xywh pixels, ``predicted_iou``, ``stability_score``) is what
:mod:`planseg.infer.tiles` consumes; :class:`planseg.infer.amg.FastMaskGenerator` is the one
the pipeline builds, tests may pass any other.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from planseg.infer.amg import AmgConfig


class MaskGenerator(Protocol):
    """Anything with SamAutomaticMaskGenerator's ``generate`` in ``coco_rle`` mode."""

    def generate(self, image: np.ndarray) -> list[dict[str, Any]]: ...


def build_mask_generator(sam: Any, amg: AmgConfig) -> MaskGenerator:
    """planseg's fast generator for ``sam`` with the run's AMG settings."""
    from planseg.infer.amg import FastMaskGenerator

    return FastMaskGenerator(sam, amg)
