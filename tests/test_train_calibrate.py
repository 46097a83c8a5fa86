"""AMG threshold calibration with the packaged default model on real AMG output: the one-pass
shortcut (filter by predicted IoU after NMS) must score exactly what a separate AMG run at
each threshold pair scores, and the choice must follow the stated rule."""

from __future__ import annotations

from dataclasses import replace

import pytest
from train_toy import make_dataset

from planseg.models.checkpoints import load_model
from planseg.train.calibrate import AP_TOLERANCE, calibrate_thresholds
from planseg.train.config import DatasetConfig, ValidationConfig
from planseg.train.data import load_splits
from planseg.train.validate import amg_generator, amg_metrics, amg_predictions

GRID = [(0.25, 0.5), (0.55, 0.5), (0.7, 0.5), (0.25, 0.7), (0.7, 0.9)]


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> list:
    data = make_dataset(tmp_path_factory.mktemp("calibrate"), train_pages=1, val_pages=3)
    return load_splits(data, DatasetConfig(cache=False), None).val


def test_one_pass_per_stability_scores_what_separate_runs_score(pages):
    sam = load_model("planseg-default").sam
    defaults, trials = calibrate_thresholds(sam, pages, 8, GRID)
    assert [(t["pred_iou_thresh"], t["stability_score_thresh"]) for t in trials] == sorted(
        GRID, key=lambda pair: (pair[1], pair[0]))
    for trial in trials:
        separate = amg_metrics(sam, pages, ValidationConfig(
            points_per_side=8, pred_iou_thresh=trial["pred_iou_thresh"],
            stability_score_thresh=trial["stability_score_thresh"]))
        for key in ("ap", "ap50", "masks_per_page"):
            assert trial[key] == pytest.approx(separate[key], abs=1e-4), (trial, key)
    assert len({t["masks_per_page"] for t in trials}) > 2  # the thresholds do filter
    top = max(t["ap"] for t in trials)
    near_top = [t for t in trials if t["ap"] >= top - AP_TOLERANCE]
    chosen = next(t for t in trials if t["pred_iou_thresh"] == defaults["pred_iou_thresh"]
                  and t["stability_score_thresh"] == defaults["stability_score_thresh"])
    assert chosen in near_top
    assert chosen["masks_per_page"] == min(t["masks_per_page"] for t in near_top)


def test_calibration_needs_an_annotated_page(pages):
    empty = [replace(pages[0], ann_ids=(), rles=(), boxes_xywh=())]
    with pytest.raises(ValueError, match="annotated page"):
        calibrate_thresholds(load_model("tiny").sam, empty, 4, GRID)


def test_unset_validation_thresholds_come_from_the_starting_model():
    calibrated = {"pred_iou_thresh": 0.4, "stability_score_thresh": 0.7, "other": 1}
    unset = ValidationConfig().with_thresholds(calibrated)
    assert (unset.pred_iou_thresh, unset.stability_score_thresh) == (0.4, 0.7)
    user = ValidationConfig(pred_iou_thresh=0.6).with_thresholds(calibrated)
    assert (user.pred_iou_thresh, user.stability_score_thresh) == (0.6, 0.7)
    assert ValidationConfig().with_thresholds({}).pred_iou_thresh is None


def test_amg_predictions_runs_the_generator_it_is_given(pages):
    """Benchmarks pass a generator with settings validation has no key for (box NMS)."""
    sam = load_model("planseg-default").sam
    config = ValidationConfig(points_per_side=8, pred_iou_thresh=0.25,
                              stability_score_thresh=0.5)
    _, usual = amg_predictions(sam, pages, config)
    _, fewer = amg_predictions(sam, pages, config,
                               amg_generator(sam, config, box_nms_thresh=0.2))
    assert 0 < len(fewer) < len(usual)
