"""The engine seam end to end: ``planseg segment --engine auto|vector|sam`` on real PDFs made by
``planseg synth`` and PyMuPDF, scored against the generator's ground truth."""

from __future__ import annotations

import json
from pathlib import Path

import pymupdf
import pytest
from typer.testing import CliRunner

from planseg.cli import app
from planseg.export.metrics import coco_metrics

runner = CliRunner()
#: a random tiny SAM passes no threshold of SAM's: these settings let its masks through
TINY_AMG = "amg:\n  points_per_side: 4\n  pred_iou_thresh: 0.0\n  stability_score_thresh: 0.0\n"


@pytest.fixture(scope="module")
def synth_docs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two synthetic A4 vector plans (map pages and text-only pages) with COCO GT at 50 DPI."""
    out = tmp_path_factory.mktemp("synth")
    result = runner.invoke(app, ["synth", str(out), "--docs", "2", "--seed", "7", "--sheet",
                                 "A4", "--dpi", "50"])
    assert result.exit_code == 0, result.output
    return out


def _segment(inputs: Path, out: Path, *extra: str):
    return runner.invoke(app, ["segment", str(inputs), "--out", str(out), "--dpi", "50",
                               "--workers", "0", *extra])


def _read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def test_auto_reads_vector_plans_exactly_one_polygon_per_zone(synth_docs: Path,
                                                              tmp_path: Path) -> None:
    result = _segment(synth_docs / "pdfs", tmp_path / "out", "--model", "tiny")
    assert result.exit_code == 0, result.output
    gt = _read(synth_docs / "data" / "annotations.json")
    pred = _read(tmp_path / "out" / "coco.json")
    metrics = coco_metrics(gt, pred)
    assert metrics["ap50"] >= 0.98 and metrics["ap"] >= 0.9
    assert metrics["polygons_per_gt_zone"] <= 1.1
    assert metrics["predictions_on_empty_pages"] == 0  # text-only pages get no polygons
    kinds = {(im["engine"], im["page_kind"]) for im in pred["images"]}
    assert kinds == {("vector", "map"), ("none", "text")}
    run = _read(tmp_path / "out" / "run.json")
    assert sum(run["engines"].values()) == run["pages"] and run["engines"]["vector"] >= 2
    features = [f for name in ("doc-000", "doc-001")
                for f in _read(tmp_path / "out" / f"{name}.geojson")["features"]]
    assert {f["properties"]["source"] for f in features} == {"vector"}
    assert all(f["properties"]["predicted_iou"] is None for f in features)
    # the synth legend names every class: each zone knows its code, as the GT says
    assert all(f["properties"]["class_code"] for f in features)


def test_classes_off_reads_no_legend_and_leaves_every_polygon_unclassified(
        synth_docs: Path, tmp_path: Path) -> None:
    config = tmp_path / "no-classes.yaml"
    config.write_text("export:\n  classes: false\n")
    result = _segment(synth_docs / "pdfs", tmp_path / "out", "--engine", "vector",
                      "--config", str(config))
    assert result.exit_code == 0, result.output
    features = [f for name in ("doc-000", "doc-001")
                for f in _read(tmp_path / "out" / f"{name}.geojson")["features"]]
    assert features and all(f["properties"]["class_code"] is None
                            and f["properties"]["class_label"] is None for f in features)
    coco = _read(tmp_path / "out" / "coco.json")
    assert [c["name"] for c in coco["categories"]] == ["zone"]
    # the zones themselves do not depend on the legend
    gt = _read(synth_docs / "data" / "annotations.json")
    assert coco_metrics(gt, coco)["ap50"] >= 0.98


def test_engine_vector_needs_no_model_and_warns_on_pages_without_zones(
        synth_docs: Path, tmp_path: Path) -> None:
    image = tmp_path / "in" / "scan.png"
    image.parent.mkdir()
    pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 64, 48), False).save(image)
    (tmp_path / "in" / "plan.pdf").write_bytes((synth_docs / "pdfs" / "doc-000.pdf").read_bytes())
    result = _segment(tmp_path / "in", tmp_path / "out", "--engine", "vector",
                      "--model", str(tmp_path / "no-such-model.pt"))
    assert result.exit_code == 0, result.output
    assert "scan.png page 1: no vector zones" in result.output
    images = {im["pdf"]: im for im in _read(tmp_path / "out" / "coco.json")["images"]}
    assert images["scan.png"]["engine"] == "vector"
    assert not _read(tmp_path / "out" / "scan.geojson")["features"]
    assert _read(tmp_path / "out" / "plan.geojson")["features"]


def _outline_only_pdf(path: Path) -> Path:
    """A map whose zones are outlines with no fill (as over an orthophoto): no vector zones."""
    doc = pymupdf.open()
    page = doc.new_page(width=300, height=300)
    page.draw_rect(pymupdf.Rect(20, 20, 150, 280), color=(0.8, 0, 0), width=3)
    page.draw_rect(pymupdf.Rect(150, 20, 280, 280), color=(0, 0, 0.8), width=3)
    doc.save(path)
    return path


@pytest.mark.parametrize("case", ["outlines only", "over the path budget"])
def test_auto_falls_back_to_the_pixels(case: str, synth_docs: Path, tmp_path: Path) -> None:
    """A map page without usable vector zones goes to its pixels: SAM prompted at its colour
    regions where it has areas of colour (here: a vector plan over the reading budget), SAM
    alone where it has none (zone outlines only: prompted inside each outlined area)."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    config = tmp_path / "c.yaml"
    config.write_text(TINY_AMG)
    if case == "outlines only":
        _outline_only_pdf(inputs / "plan.pdf")
    else:  # a real map page whose drawing is over vector.max_paths
        (inputs / "plan.pdf").write_bytes((synth_docs / "pdfs" / "doc-000.pdf").read_bytes())
        config.write_text(config.read_text() + "vector:\n  max_paths: 5\n")
    result = _segment(inputs, tmp_path / "out", "--model", "tiny", "--config", str(config))
    assert result.exit_code == 0, result.output
    images = _read(tmp_path / "out" / "coco.json")["images"]
    features = _read(tmp_path / "out" / "plan.geojson")["features"]
    assert features and "map" in {im["page_kind"] for im in images}
    if case == "outlines only":
        assert {im["engine"] for im in images} == {"sam"}
        assert {f["properties"]["source"] for f in features} == {"sam"}
    else:
        assert "segmenting its pixels" in result.output
        engines = {im["page_kind"]: im["engine"] for im in images}
        assert engines == {"map": "sam", "text": "none"}  # scanned-style text: no zones
        # SAM prompted at the colours; a random tiny model is never sure: the colours stand
        assert {f["properties"]["source"] for f in features} == {"regions"}


def test_engine_sam_ignores_the_drawing(synth_docs: Path, tmp_path: Path) -> None:
    """``--engine sam`` never takes the vector zones: with ``amg.prompts: grid`` it is the
    automatic mask generator on every page, text pages too (planseg before engines); with
    the default region prompts, map pages get SAM prompted at their colours (every zone
    exactly once: the default model and 0.9 keep the regions) and text pages nothing."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "plan.pdf").write_bytes((synth_docs / "pdfs" / "doc-001.pdf").read_bytes())
    grid = tmp_path / "grid.yaml"
    grid.write_text(TINY_AMG + "  prompts: grid\n")
    result = _segment(inputs, tmp_path / "out", "--model", "tiny", "--engine", "sam",
                      "--config", str(grid))
    assert result.exit_code == 0, result.output
    pred = _read(tmp_path / "out" / "coco.json")
    assert {im["engine"] for im in pred["images"]} == {"sam"}
    assert all("page_kind" not in im for im in pred["images"])  # the grid decides no kinds
    on_text_pages = [a for a in pred["annotations"] if a["image_id"] != pred["images"][0]["id"]]
    assert on_text_pages  # the grid segments text pages too
    assert _read(tmp_path / "out" / "run.json")["engines"] == {"sam": len(pred["images"])}

    result = _segment(inputs, tmp_path / "prompted", "--engine", "sam", "--dpi", "72")
    assert result.exit_code == 0, result.output
    pred = _read(tmp_path / "prompted" / "coco.json")
    kinds = {(im["engine"], im["page_kind"]) for im in pred["images"]}
    assert kinds == {("sam", "map"), ("none", "text")}
    text_ids = {im["id"] for im in pred["images"] if im["page_kind"] == "text"}
    assert not [a for a in pred["annotations"] if a["image_id"] in text_ids]
    gt = _read(synth_docs / "data" / "annotations.json")
    gt = {**gt, "images": [im for im in gt["images"] if im["pdf"] == "doc-001.pdf"]}
    gt["images"] = [{**im, "pdf": "plan.pdf"} for im in gt["images"]]
    ids = {im["id"] for im in gt["images"]}
    gt["annotations"] = [a for a in gt["annotations"] if a["image_id"] in ids]
    scores = coco_metrics(gt, pred)
    assert scores["ap50"] >= 0.95 and scores["polygons_per_gt_zone"] <= 1.2


def test_changing_the_engine_redoes_the_document(synth_docs: Path, tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "plan.pdf").write_bytes((synth_docs / "pdfs" / "doc-000.pdf").read_bytes())
    assert _segment(inputs, tmp_path / "out", "--engine", "vector").exit_code == 0
    again = _segment(inputs, tmp_path / "out", "--engine", "vector")
    assert _read(tmp_path / "out" / "run.json")["documents"]["skipped"] == ["plan.pdf"]
    assert again.exit_code == 0
    assert _segment(inputs, tmp_path / "out", "--engine", "auto", "--model",
                    "tiny").exit_code == 0
    assert _read(tmp_path / "out" / "run.json")["documents"]["done"] == ["plan.pdf"]


def test_pages_all_sends_text_pages_to_sam(synth_docs: Path, tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "plan.pdf").write_bytes((synth_docs / "pdfs" / "doc-000.pdf").read_bytes())
    config = tmp_path / "c.yaml"
    config.write_text(TINY_AMG)
    result = _segment(inputs, tmp_path / "out", "--model", "tiny", "--pages", "all",
                      "--config", str(config))
    assert result.exit_code == 0, result.output
    pred = _read(tmp_path / "out" / "coco.json")
    by_kind = {im["page_kind"]: im for im in pred["images"]}
    assert by_kind["text"]["engine"] == "sam" and by_kind["map"]["engine"] == "vector"
    assert any(a["image_id"] == by_kind["text"]["id"] for a in pred["annotations"])


def test_a_page_over_the_regions_budget(synth_docs: Path, tmp_path: Path) -> None:
    """engine regions loads no model: a page over regions.max_pixels gets no zones and the
    document still succeeds (it once asked the absent model for masks); auto sends that page
    to SAM instead."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 120, 90), False).save(inputs / "a.png")
    config = tmp_path / "c.yaml"
    config.write_text("regions:\n  max_pixels: 1000\n" + TINY_AMG)
    for engine, expected in (("regions", "regions"), ("auto", "sam")):
        out = tmp_path / engine
        result = _segment(inputs, out, "--engine", engine, "--model", "tiny",
                          "--config", str(config))
        assert result.exit_code == 0, result.output
        assert "over regions.max_pixels" in result.output
        assert [im["engine"] for im in _read(out / "coco.json")["images"]] == [expected]
