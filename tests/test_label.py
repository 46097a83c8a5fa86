"""``planseg label``: vector zones of real PDFs (made by ``planseg synth``) as COCO training
data, scored against synth's own ground truth; resume, splits, scan copies, bad files, and
label -> train -> segment end to end.

Small A4 sheets at low dpi keep the tests fast; the synth documents are made once per module.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from pycocotools import mask as mask_utils
from typer.testing import CliRunner

from planseg.cli import app
from planseg.config import load_config
from planseg.errors import ConfigError, ExitCode
from planseg.export.label import run
from planseg.export.label_config import LabelConfig
from planseg.export.metrics import class_metrics, coco_metrics
from planseg.synth import generate

DPI = 60
SEED = 4  # 3 docs: text-only pages, a two-sheet plan, a map on page 3 (as test_synth)
REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata" / "planning"
runner = CliRunner()
# pycocotools 2.0.x on numpy 2 warns on every decode; not ours to fix
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


@pytest.fixture(scope="module")
def synth_ds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth")
    generate(out, docs=3, seed=SEED, dpi=DPI, sheet="A4")
    return out


def _label(inputs: Path, out: Path, **settings):
    values = {"inputs": [inputs], "out": out, "dpi": DPI, "workers": 1, **settings}
    return run(load_config(LabelConfig, None, values))


def _json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _mtimes(out: Path) -> dict[str, int]:
    return {p.relative_to(out).as_posix(): p.stat().st_mtime_ns for p in out.rglob("*")
            if p.is_file()}


def _rgb(path: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def test_labels_score_against_synth_ground_truth(synth_ds: Path, tmp_path: Path) -> None:
    summary = _label(synth_ds / "pdfs", tmp_path / "out")
    assert summary.failures == [] and summary.labelled == 4
    gt = _json(synth_ds / "data" / "annotations.json")
    labels = _json(tmp_path / "out" / "data" / "annotations.json")
    metrics = coco_metrics(gt, labels)
    assert metrics["ap50"] >= 0.98 and metrics["matched_fraction"] >= 0.98, metrics
    assert metrics["unmatched_pred_pages"] == 0
    # every zone's class comes from the page's legend, and it is synth's code
    assert all(a.get("zone_code") for a in labels["annotations"])
    assert class_metrics(gt, labels)["class_accuracy"] >= 0.98
    by_id = {c["id"]: c for c in labels["categories"]}
    assert by_id[1]["name"] == "zone" and {a["category_id"] for a in labels["annotations"]} == {1}
    for ann in labels["annotations"]:
        assert by_id[ann["class_category_id"]]["zone_code"] == ann["zone_code"]
    image = labels["images"][0]
    assert image["pdf"].startswith("doc-") and image["page"] >= 1 and image["dpi"] == DPI
    png = _rgb(tmp_path / "out" / "data" / "images" / image["file_name"])
    assert png.shape[:2] == (image["height"], image["width"])


def test_text_pages_are_listed_and_skipped(synth_ds: Path, tmp_path: Path) -> None:
    summary = _label(synth_ds / "pdfs", tmp_path / "out")
    gt = _json(synth_ds / "data" / "annotations.json")
    zoned = {(i["pdf"], i["page"]) for i in gt["images"]
             if any(a["image_id"] == i["id"] for a in gt["annotations"])}
    report = _json(tmp_path / "out" / "label.json")
    skipped = {(p["pdf"], p["page"]) for p in report["pages"] if p["status"] == "skipped"}
    assert skipped == {(i["pdf"], i["page"]) for i in gt["images"]} - zoned
    assert all(p["reason"] == "text page" for p in report["pages"] if p["status"] == "skipped")
    assert len(summary.skipped) == len(skipped)
    labels = _json(tmp_path / "out" / "data" / "annotations.json")
    assert {(i["pdf"], i["page"]) for i in labels["images"]} == zoned


def test_rerun_rewrites_nothing_and_changed_settings_redo(synth_ds: Path,
                                                          tmp_path: Path) -> None:
    out = tmp_path / "out"
    _label(synth_ds / "pdfs", out)
    before = _mtimes(out)
    again = _label(synth_ds / "pdfs", out)
    assert again.labelled == 0 and again.reused == 9
    assert _mtimes(out) == before
    redone = _label(synth_ds / "pdfs", out, dpi=40)
    assert redone.labelled == 4 and redone.reused == 0
    labels = _json(out / "data" / "annotations.json")
    assert {i["dpi"] for i in labels["images"]} == {40}
    image = labels["images"][0]
    assert _rgb(out / "data" / "images" / image["file_name"]).shape[:2] == (
        image["height"], image["width"])
    records = list((out / ".planseg-label" / "pages").glob("*.json"))
    assert len(records) == 9  # the 60-dpi records are gone


def test_val_fraction_splits_by_document_and_layouts_switch(synth_ds: Path,
                                                            tmp_path: Path) -> None:
    out = tmp_path / "out"
    _label(synth_ds / "pdfs", out, val_fraction=0.34)
    train, val = _json(out / "train" / "annotations.json"), _json(out / "val" / "annotations.json")
    train_docs, val_docs = {i["pdf"] for i in train["images"]}, {i["pdf"] for i in val["images"]}
    assert train_docs and val_docs and not train_docs & val_docs
    assert not (out / "data").exists()
    for split, coco in (("train", train), ("val", val)):
        for image in coco["images"]:
            assert (out / split / "images" / image["file_name"]).is_file()
    again = _label(synth_ds / "pdfs", out)  # no split: one pool, nothing rendered again
    assert again.labelled == 0
    assert not (out / "train").exists() and not (out / "val").exists()
    pool = _json(out / "data" / "annotations.json")
    assert len(pool["images"]) == len(train["images"]) + len(val["images"])


def test_scan_copies_follow_the_geometry_and_the_seed(synth_ds: Path, tmp_path: Path) -> None:
    pdf = synth_ds / "pdfs" / "doc-001.pdf"
    _label(pdf, tmp_path / "a", scan_copies=2, seed=7)
    labels = _json(tmp_path / "a" / "data" / "annotations.json")
    scans = [i for i in labels["images"] if i.get("scan_copy")]
    assert len(scans) == 2 * (len(labels["images"]) - len(scans))
    checked = 0
    for image in scans:
        assert image["file_name"].endswith(f"-scan{image['scan_copy']}.jpg")
        rgb = _rgb(tmp_path / "a" / "data" / "images" / image["file_name"]).astype(float)
        for ann in (a for a in labels["annotations"] if a["image_id"] == image["id"]):
            rle = mask_utils.merge(mask_utils.frPyObjects(
                ann["segmentation"], image["height"], image["width"]))
            mask = mask_utils.decode(rle).astype(np.uint8)
            inner = cv2.erode(mask, np.ones((5, 5), np.uint8)).astype(bool)
            if inner.sum() < 300:
                continue  # too thin to read a colour through blur and labels
            # the median colour inside the mask is the zone's faded fill (hatch and labels
            # are a minority); a mask off by the skew would mix neighbouring zones
            median = np.median(rgb[inner], axis=0)
            assert np.abs(median - ann["fill_rgb"]).max() < 18, (image["file_name"], ann["id"])
            checked += 1
    assert checked >= 8
    _label(pdf, tmp_path / "b", scan_copies=2, seed=7)
    _label(pdf, tmp_path / "c", scan_copies=2, seed=8)
    name = scans[0]["file_name"]
    same = (tmp_path / "b" / "data" / "images" / name).read_bytes()
    assert (tmp_path / "a" / "data" / "images" / name).read_bytes() == same
    assert (tmp_path / "c" / "data" / "images" / name).read_bytes() != same


def test_bad_file_fails_alone_with_one_line(synth_ds: Path, tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    shutil.copy(synth_ds / "pdfs" / "doc-001.pdf", inputs / "good.pdf")
    good = (inputs / "good.pdf").read_bytes()
    (inputs / "broken.pdf").write_bytes(good[: len(good) // 2])
    result = runner.invoke(app, ["label", str(inputs), "--out", str(tmp_path / "out"),
                                 "--dpi", str(DPI), "--workers", "1"])
    assert result.exit_code == ExitCode.input_failed, result.output
    lines = [x for x in result.output.splitlines() if "broken.pdf" in x]
    assert len(lines) == 1 and "truncated" in lines[0], result.output
    labels = _json(tmp_path / "out" / "data" / "annotations.json")
    assert {i["pdf"] for i in labels["images"]} == {"good.pdf"}
    failures = _json(tmp_path / "out" / "label.json")["failures"]
    assert len(failures) == 1 and failures[0].startswith(str(inputs / "broken.pdf") + ": ")


def test_bad_settings_and_foreign_folder_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(LabelConfig, None, {"inputs": [tmp_path], "out": tmp_path / "o",
                                        "dpi": 1, "scan_copies": -1, "val_fraction": 1.5})
    for key in ("dpi", "scan_copies", "val_fraction"):
        assert key in str(caught.value)
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "notes.txt").write_text("mine")
    result = runner.invoke(app, ["label", str(tmp_path), "--out", str(tmp_path / "foreign")])
    assert result.exit_code == ExitCode.usage and "no previous label run" in result.output


TRAIN_CONFIG = """\
num_epochs: 1
batch_size: 2
fabric: {accelerator: cpu}
validation: {points_per_side: 4}
prompts: {points_per_side: 8}
dataset: {max_instances: 4}
"""
SEGMENT_CONFIG = """\
dpi: 50
amg: {points_per_side: 4, pred_iou_thresh: 0.0, stability_score_thresh: 0.0}
"""


@pytest.mark.slow
def test_label_train_segment_end_to_end(synth_ds: Path, tmp_path: Path) -> None:
    """The three commands of the README, on three tiny documents with one scan copy each."""
    data, run_dir = tmp_path / "data", tmp_path / "run"
    result = runner.invoke(app, ["label", str(synth_ds / "pdfs"), "--out", str(data),
                                 "--dpi", "30", "--val-fraction", "0.34", "--scan-copies", "1",
                                 "--workers", "1"])
    assert result.exit_code == 0, result.output
    (tmp_path / "train.yaml").write_text(TRAIN_CONFIG)
    result = runner.invoke(app, ["train", "--data", str(data), "--out", str(run_dir),
                                 "--model", "tiny", "--config", str(tmp_path / "train.yaml")])
    assert result.exit_code == 0, result.output
    assert (run_dir / "best.pt").is_file()
    val = _json(data / "val" / "annotations.json")
    scan = next(i for i in val["images"] if i.get("scan_copy"))
    (tmp_path / "segment.yaml").write_text(SEGMENT_CONFIG)
    result = runner.invoke(app, ["segment", str(data / "val" / "images" / scan["file_name"]),
                                 "--out", str(tmp_path / "seg"), "--model",
                                 str(run_dir / "best.pt"), "--engine", "sam", "--config",
                                 str(tmp_path / "segment.yaml"), "--workers", "0"])
    assert result.exit_code == 0, result.output
    geojson = list((tmp_path / "seg").rglob("*.geojson"))
    assert len(geojson) == 1 and _json(geojson[0])["type"] == "FeatureCollection"


@pytest.mark.slow
@pytest.mark.skipif(not REALDATA.is_dir(), reason="../shared/realdata/planning not present")
def test_real_maps_label_or_are_listed(tmp_path: Path) -> None:
    """The vector maps give zones, the two image-only maps are listed as skipped (README of
    ../shared/realdata/planning: five vector PDFs, two image-only)."""
    summary = _label(REALDATA, tmp_path / "out", dpi=30)
    assert summary.failures == []
    report = {p["pdf"]: p for p in _json(tmp_path / "out" / "label.json")["pages"]}
    for scan in ("us_vt_plainfield_scan.pdf", "uk_cumbria_policiesmap_raster.pdf"):
        assert report[scan]["status"] == "skipped", report[scan]
    labelled = [name for name, page in report.items() if page["status"] == "labelled"]
    assert len(labelled) >= 4, report
    labels = _json(tmp_path / "out" / "data" / "annotations.json")
    assert len(labels["annotations"]) >= 100
