"""The regions engine on synth documents: detections in the full-page pixel frame (checked
against the generator's ground truth), text pages planned as no zones, huge pages to SAM."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from planseg.export.metrics import annotation_rle
from planseg.export.rle import decode_rle, rle_coded
from planseg.infer.config import SegmentConfig
from planseg.infer.engines.regions import RegionsEngine
from planseg.ingest.documents import open_document
from planseg.ingest.regions_config import RegionsConfig
from planseg.synth.dataset import generate

DPI = 72.0


@pytest.fixture(scope="module")
def synth(tmp_path_factory) -> Path:
    """Four synth documents (A4, 72 DPI): maps and pages of written rules."""
    out = tmp_path_factory.mktemp("synth")
    generate(out, docs=4, seed=12345, dpi=DPI, sheet="A4")
    return out


def _plans(synth: Path, config: SegmentConfig) -> dict[tuple[str, int], object]:
    engine = RegionsEngine(config)
    plans = {}
    for pdf in sorted((synth / "pdfs").glob("*.pdf")):
        with open_document(pdf) as doc:
            for page_index in range(doc.page_count):
                plans[(pdf.name, page_index + 1)] = engine.plan_page(doc, page_index)
    return plans


def test_detections_match_the_ground_truth_in_the_page_frame(synth):
    gt = json.loads((synth / "data" / "annotations.json").read_text())
    plans = _plans(synth, SegmentConfig(dpi=DPI))
    maps = 0
    for image in gt["images"]:
        plan = plans[(image["pdf"], image["page"])]
        assert (plan.width_px, plan.height_px) == (image["width"], image["height"])
        truth = [annotation_rle(a, image["height"], image["width"])
                 for a in gt["annotations"] if a["image_id"] == image["id"]]
        if not truth:
            assert (plan.page_kind, plan.engine, plan.detections) == ("text", "none", [])
            continue
        maps += 1
        assert plan.page_kind == "map" and plan.engine == "regions"
        assert len(plan.detections) <= 1.2 * len(truth)
        found = [rle_coded(d.rle) for d in plan.detections]
        best = mask_utils.iou(found, truth, [0] * len(truth)).max(axis=0)
        assert np.median(best) >= 0.9 and (best >= 0.5).mean() >= 0.9
        for detection in plan.detections:
            assert detection.source == "regions" and detection.fill_rgb is not None
            assert detection.rle["size"] == [plan.height_px, plan.width_px]
            x, y, w, h = detection.bbox_xywh
            rows, cols = np.nonzero(decode_rle(detection.rle))
            assert (x, y, w, h) == (cols.min(), rows.min(), np.ptp(cols) + 1, np.ptp(rows) + 1)
    assert maps >= 2 and len(plans) > maps  # the seed draws maps and text pages


def test_a_page_over_the_pixel_limit_gets_no_zones(synth):
    """The regions engine loads no model, so it cannot hand a page to SAM (a run with
    ``--engine regions`` has no generator); the auto engine does that
    (tests/test_segment_engines.py::test_a_page_over_the_regions_budget)."""
    config = SegmentConfig(dpi=DPI, regions=RegionsConfig(max_pixels=1000))
    plan = RegionsEngine(config).plan_page(open_document(synth / "pdfs" / "doc-000.pdf"), 0)
    assert plan.engine == "regions" and plan.detections == [] and not plan.tiles
