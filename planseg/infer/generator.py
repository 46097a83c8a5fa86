"""Which mask generator turns a tile into masks: planseg's fast one, or segment_anything's.

The generator contract (``generate(image HxWx3 uint8) -> list[record]`` with
``SamAutomaticMaskGenerator(output_mode="coco_rle")`` records: ``segmentation`` COCO RLE over
the given image, ``bbox`` xywh pixels, ``predicted_iou``, ``stability_score``) is what
:mod:`planseg.infer.tiles` consumes. Until ``planseg.infer.amg`` is importable the reference
generator is used with the same parameters.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

log = logging.getLogger(__name__)


class MaskGenerator(Protocol):
    """Anything with SamAutomaticMaskGenerator's ``generate`` in ``coco_rle`` mode."""

    def generate(self, image: np.ndarray) -> list[dict[str, Any]]: ...


@dataclass
class ReferenceAmgConfig:
    """SamAutomaticMaskGenerator's parameters; None = segment_anything's own default.

    INTEGRATION: stand-in for ``planseg.infer.amg.AmgConfig`` until that module lands.
    """

    points_per_side: int | None = None
    points_per_batch: int | None = None
    pred_iou_thresh: float | None = None
    stability_score_thresh: float | None = None
    stability_score_offset: float | None = None
    box_nms_thresh: float | None = None
    crop_n_layers: int | None = None
    crop_nms_thresh: float | None = None
    crop_overlap_ratio: float | None = None
    crop_n_points_downscale_factor: int | None = None
    min_mask_region_area: int | None = None


def build_mask_generator(sam: Any, amg: Any) -> MaskGenerator:
    """planseg's FastMaskGenerator for its AmgConfig, else the reference generator."""
    if not isinstance(amg, ReferenceAmgConfig):
        from planseg.infer.amg import FastMaskGenerator

        return FastMaskGenerator(sam, amg)
    from segment_anything import SamAutomaticMaskGenerator

    given = {k: v for k, v in dataclasses.asdict(amg).items() if v is not None}
    reference = {f.name for f in dataclasses.fields(ReferenceAmgConfig)}
    return SamAutomaticMaskGenerator(sam, output_mode="coco_rle",
                                     **{k: v for k, v in given.items() if k in reference})
