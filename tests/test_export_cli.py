"""``planseg evaluate`` through the real CLI app (CliRunner): exit codes, JSON, figures."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from planseg.cli import app
from planseg.errors import ExitCode
from planseg.export.rle import decode_rle, encode_mask
from planseg.synth import generate

runner = CliRunner()


@pytest.fixture(scope="module")
def synth_gt(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synth")
    generate(out, docs=2, seed=5, dpi=30, sheet="A4")
    return out / "data" / "annotations.json"


def _eroded(gt_path: Path, out: Path) -> Path:
    """Predictions = ground truth eroded by 4 px, as RLE (what planseg segment scores)."""
    from planseg.export.metrics import annotation_rle

    coco = json.loads(gt_path.read_text())
    sizes = {im["id"]: (im["height"], im["width"]) for im in coco["images"]}
    pred = copy.deepcopy(coco)
    for ann in pred["annotations"]:
        rle = annotation_rle(ann, *sizes[ann["image_id"]])
        rle["counts"] = rle["counts"].decode() if isinstance(rle["counts"], bytes) else \
            rle["counts"]
        mask = decode_rle(rle).astype(np.uint8)
        ann["segmentation"] = encode_mask(cv2.erode(mask, np.ones((9, 9), np.uint8)))
        ann["score"] = 0.9
    out.write_text(json.dumps(pred))
    return out


def test_json_report_gt_against_itself(synth_gt: Path) -> None:
    result = runner.invoke(app, ["evaluate", "--pred", str(synth_gt), "--gt", str(synth_gt),
                                 "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["metrics"]["ap"] == pytest.approx(1.0)
    assert report["metrics"]["matched_fraction"] == 1.0
    assert report["baseline_metrics"] is None


def test_table_with_baseline_and_figures(synth_gt: Path, tmp_path: Path) -> None:
    eroded = _eroded(synth_gt, tmp_path / "eroded.json")
    figures = tmp_path / "figures"
    result = runner.invoke(app, ["evaluate", "--pred", str(synth_gt), "--gt", str(synth_gt),
                                 "--baseline", str(eroded), "--figures", str(figures)])
    assert result.exit_code == 0, result.output
    assert "AP50" in result.stdout and "baseline" in result.stdout
    panels = sorted(figures.glob("*.png"))
    images = json.loads(synth_gt.read_text())["images"]
    assert [p.name for p in panels] == sorted(
        f"{im['pdf'][:-4]}-p{im['page']}.png" for im in images)
    panel = cv2.imread(str(panels[0]))
    image = min(images, key=lambda im: (im["pdf"], im["page"]))
    scale = min(1.0, 900 / max(image["width"], image["height"]))
    assert panel.shape[1] == 4 * round(image["width"] * scale) + 3 * 8  # four panels
    assert (figures / "evaluate.yaml").is_file()


def test_eroded_predictions_score_lower(synth_gt: Path, tmp_path: Path) -> None:
    eroded = _eroded(synth_gt, tmp_path / "eroded.json")
    result = runner.invoke(app, ["evaluate", "--pred", str(eroded), "--gt", str(synth_gt),
                                 "--json"])
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout.strip().splitlines()[-1])["metrics"]
    assert metrics["ap"] < 0.9 and metrics["mean_best_iou"] < 1.0


def test_exit_codes(synth_gt: Path, tmp_path: Path) -> None:
    missing = runner.invoke(app, ["evaluate", "--gt", str(synth_gt)])
    assert missing.exit_code == ExitCode.usage and "pred: required" in missing.output
    absent = runner.invoke(app, ["evaluate", "--pred", str(tmp_path / "none.json"),
                                 "--gt", str(synth_gt)])
    assert absent.exit_code == ExitCode.usage and "none.json" in absent.output
    (tmp_path / "bad.json").write_text("{not json")
    bad = runner.invoke(app, ["evaluate", "--pred", str(tmp_path / "bad.json"),
                              "--gt", str(synth_gt)])
    assert bad.exit_code == ExitCode.usage and "cannot read COCO" in bad.output


def test_config_file_supplies_paths(synth_gt: Path, tmp_path: Path) -> None:
    config = tmp_path / "evaluate.yaml"
    config.write_text(f"pred: {synth_gt}\ngt: {synth_gt}\n")
    result = runner.invoke(app, ["evaluate", "--config", str(config), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.strip().splitlines()[-1])["metrics"]["ap"] == 1.0
