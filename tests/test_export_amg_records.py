"""Real ``SamAutomaticMaskGenerator`` records (tiny random SAM) -> Detection -> every format."""

from __future__ import annotations

import json

import numpy as np
import pyogrio
import pytest
from pycocotools.coco import COCO

from planseg.export.coco import merge_coco, write_coco
from planseg.export.config import ExportConfig
from planseg.export.document import export_document
from planseg.export.rle import decode_rle
from planseg.export.types import Detection, PageMasks


@pytest.fixture(scope="module")
def amg_records() -> tuple[np.ndarray, list[dict]]:
    pytest.importorskip("torch")
    from segment_anything import SamAutomaticMaskGenerator

    from planseg.models.registry import build_sam

    image = np.full((96, 128, 3), 255, np.uint8)
    image[10:60, 10:70] = (200, 60, 60)
    image[40:90, 60:120] = (60, 60, 200)
    generator = SamAutomaticMaskGenerator(
        build_sam("tiny", seed=0).eval(), points_per_side=4, pred_iou_thresh=0.0,
        stability_score_thresh=0.0, output_mode="coco_rle")
    records = generator.generate(image)
    assert records, "the tiny random model gave no masks; lower the thresholds"
    return image, records


@pytest.mark.slow  # imports torch and runs SAM's generator: ~5 s on the shared CPU
def test_amg_records_export_to_every_format(amg_records, tmp_path) -> None:
    image, records = amg_records
    detections = [Detection.from_amg_record(r) for r in records]
    for detection, record in zip(detections, records, strict=True):
        assert isinstance(detection.rle["counts"], str)
        assert decode_rle(detection.rle).sum() == record["area"]
    page = PageMasks(document="amg.pdf", page_number=1, width_px=128, height_px=96, dpi=72.0,
                     pixel_to_pdf=np.array([[1.0, 0, 0], [0, -1.0, 96.0], [0, 0, 1]]),
                     georef=None, words=[], detections=detections, image=image)
    config = ExportConfig(formats=["geojson", "gpkg", "coco"], previews=True,
                          simplify_px=0, min_area_px=0)
    result = export_document([page], tmp_path, config)
    nonempty = sum(r["area"] > 0 for r in records)
    assert result.polygons == nonempty
    assert pyogrio.read_info(tmp_path / "amg.gpkg")["features"] == nonempty
    collection = json.loads((tmp_path / "amg.geojson").read_text())
    scores = sorted(f["properties"]["predicted_iou"] for f in collection["features"])
    assert scores == pytest.approx(sorted(r["predicted_iou"] for r in records if r["area"]),
                                   abs=1e-6)  # properties keep 6 decimals
    write_coco(tmp_path / "coco.json", merge_coco(None, [result.coco]))
    coco = COCO(str(tmp_path / "coco.json"))
    by_score = {round(r["predicted_iou"], 6): r for r in records}
    for ann in coco.dataset["annotations"]:
        source = decode_rle(Detection.from_amg_record(
            by_score[round(ann["predicted_iou"], 6)]).rle)
        mask = coco.annToMask(ann).astype(bool)
        assert (mask & source).sum() / (mask | source).sum() >= 0.98
