"""``planseg segment`` end to end: output layout, cron re-runs, bad documents, the lock.

Real PDFs (PyMuPDF), the real CLI, the ``tiny`` registry model with SAM's reference or
planseg's mask generator; A4 pages at 50 DPI with a 4x4 point grid keep each page ~1 s.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from segment_fixtures import mtimes, output_files, read_json, write_fast_config, write_plan_pdf
from typer.testing import CliRunner

from planseg.cli import app
from planseg.errors import ExitCode
from planseg.infer.lock import OutputLock

runner = CliRunner()


def segment(inputs: Path, out: Path, config: Path, *extra: str):
    return runner.invoke(app, ["segment", str(inputs), "--out", str(out), "--model", "tiny",
                               "--config", str(config), "--workers", "0", *extra])


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(inputs, out, config) of one uninterrupted run over two good documents (3 pages)."""
    root = tmp_path_factory.mktemp("clean")
    inputs = root / "in"
    write_plan_pdf(inputs / "a.pdf", pages=2, seed=1)
    write_plan_pdf(inputs / "sub" / "b.pdf", seed=2)
    config = write_fast_config(root)
    result = segment(inputs, root / "out", config)
    assert result.exit_code == 0, result.output
    return inputs, root / "out", config


def copy_run(clean_run: tuple[Path, Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    inputs, out, _ = clean_run
    shutil.copytree(inputs, tmp_path / "in")
    shutil.copytree(out, tmp_path / "out")  # copy2: mtimes kept
    return tmp_path / "in", tmp_path / "out"


def test_output_layout_and_coco_fields(clean_run) -> None:
    _, out, _ = clean_run
    assert sorted(output_files(out)) == ["a.geojson", "coco.json", "sub/b.geojson"]
    assert (out / "config.yaml").is_file()
    coco = read_json(out / "coco.json")
    assert coco["categories"] == [{"id": 1, "name": "zone"}]
    assert [(im["file_name"], im["pdf"], im["page"]) for im in coco["images"]] == [
        ("a.pdf#page=1", "a.pdf", 1), ("a.pdf#page=2", "a.pdf", 2),
        ("sub/b.pdf#page=1", "sub/b.pdf", 1)]
    for image in coco["images"]:
        assert (image["width"], image["height"], image["dpi"]) == (414, 585, 50.0)
    assert coco["annotations"], "the random tiny model still gives masks with thresholds 0"
    for ann in coco["annotations"]:
        assert {"id", "image_id", "segmentation", "bbox", "area", "score", "predicted_iou",
                "stability_score"} <= set(ann)
        assert (ann["iscrowd"], ann["category_id"]) == (0, 1)
        assert all(len(ring) >= 6 for ring in ann["segmentation"])
        x, y, w, h = ann["bbox"]
        # On the page raster; the vectoriser's mitred half-pixel buffer after simplification
        # can poke a few pixels past the page edge (reported to the export owner).
        assert -3 <= x and x + w <= 417 and -3 <= y and y + h <= 588
        assert ann["image_id"] in {im["id"] for im in coco["images"]}
    geojson = read_json(out / "a.geojson")
    assert geojson["type"] == "FeatureCollection"
    assert {f["properties"]["page"] for f in geojson["features"]} <= {1, 2}
    assert [f["id"] for f in geojson["features"]] == list(range(1, len(geojson["features"]) + 1))
    summary = read_json(out / "run.json")
    assert summary["documents"] == {"done": ["a.pdf", "sub/b.pdf"], "skipped": [], "failed": []}
    assert summary["pages"] == 3 and summary["polygons"] == len(coco["annotations"])
    assert summary["model"]["name"] == "tiny" and len(summary["model"]["identity"]) == 64
    assert len(summary["config_hash"]) == 64 and summary["version"]


def test_rerun_skips_everything_and_rewrites_nothing(clean_run) -> None:
    inputs, out, config = clean_run
    before, contents = mtimes(out), output_files(out)
    result = segment(inputs, out, config)
    assert result.exit_code == 0, result.output
    after = mtimes(out)
    assert {k: v for k, v in after.items() if k != "run.json"} == {
        k: v for k, v in before.items() if k != "run.json"}
    assert output_files(out) == contents
    assert read_json(out / "run.json")["documents"]["skipped"] == ["a.pdf", "sub/b.pdf"]


def test_changed_pdf_redoes_only_that_document(clean_run, tmp_path: Path) -> None:
    inputs, out = copy_run(clean_run, tmp_path)
    before = mtimes(out)
    write_plan_pdf(inputs / "sub" / "b.pdf", seed=5)  # new bytes
    result = segment(inputs, out, clean_run[2])
    assert result.exit_code == 0, result.output
    after = mtimes(out)
    assert after["a.geojson"] == before["a.geojson"]
    assert after["sub/b.geojson"] != before["sub/b.geojson"]
    documents = read_json(out / "run.json")["documents"]
    assert (documents["done"], documents["skipped"]) == (["sub/b.pdf"], ["a.pdf"])
    pdfs = [im["pdf"] for im in read_json(out / "coco.json")["images"]]
    assert pdfs == ["a.pdf", "a.pdf", "sub/b.pdf"]  # b's page replaced, not appended


@pytest.mark.slow
def test_changed_setting_redoes_all_and_force_redoes_all(clean_run, tmp_path: Path) -> None:
    inputs, out = copy_run(clean_run, tmp_path)
    result = segment(inputs, out, clean_run[2], "--force")
    assert result.exit_code == 0, result.output
    assert read_json(out / "run.json")["documents"]["done"] == ["a.pdf", "sub/b.pdf"]
    assert output_files(out) == output_files(clean_run[1])  # same bytes: deterministic
    other = write_fast_config(tmp_path, "export:\n  min_area_px: 64\n")
    result = segment(inputs, out, other, "--previews")
    assert result.exit_code == 0, result.output
    assert read_json(out / "run.json")["documents"]["done"] == ["a.pdf", "sub/b.pdf"]
    previews = sorted(p.relative_to(out).as_posix() for p in (out / "previews").rglob("*.png"))
    assert previews == ["previews/a-p1.png", "previews/a-p2.png", "previews/sub/b-p1.png"]


@pytest.mark.slow
def test_bad_document_is_recorded_and_the_batch_goes_on(clean_run, tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    shutil.copytree(clean_run[0], inputs)
    (inputs / "broken.pdf").write_bytes(b"%PDF-1.7\n1 0 obj\n<<")  # truncated
    (inputs / "notes.pdf").write_bytes(b"plain text, not a PDF")
    out = tmp_path / "out"
    result = segment(inputs, out, clean_run[2])
    assert result.exit_code == ExitCode.input_failed, result.output
    failed = read_json(out / "run.json")["documents"]["failed"]
    assert [f["document"] for f in failed] == ["broken.pdf", "notes.pdf"]
    assert all(f["error"] and "\n" not in f["error"] for f in failed)
    error_lines = [line for line in result.output.splitlines() if line.startswith("ERROR")]
    assert len(error_lines) == 2 and "broken.pdf" in error_lines[0]
    assert "Traceback" not in result.output
    assert output_files(out) == output_files(clean_run[1])  # good documents complete


def test_second_run_exits_75_naming_the_lock_holder(clean_run, tmp_path: Path) -> None:
    inputs, out = copy_run(clean_run, tmp_path)
    with OutputLock(out / ".planseg"):  # this test process is the live holder
        result = segment(inputs, out, clean_run[2])
    assert result.exit_code == ExitCode.locked
    assert f"PID {os.getpid()}" in result.output
    assert not (out / ".planseg" / "lock").exists()  # released by its holder


def test_stale_lock_of_a_dead_process_is_taken_over(clean_run, tmp_path: Path) -> None:
    inputs, out = copy_run(clean_run, tmp_path)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    lock = out / ".planseg" / "lock"
    lock.write_text(json.dumps({"pid": dead.pid, "host": socket.gethostname(),
                                "started": "earlier"}))
    result = segment(inputs, out, clean_run[2])
    assert result.exit_code == 0, result.output
    assert "stale lock" in result.output
    assert not lock.exists()


@pytest.mark.slow
def test_changed_model_redoes_all_and_checkpoint_files_work(clean_run, tmp_path: Path) -> None:
    from planseg.models.checkpoints import save_planseg_checkpoint
    from planseg.models.registry import build_sam

    inputs, out = copy_run(clean_run, tmp_path)
    checkpoint = tmp_path / "other.pt"
    save_planseg_checkpoint(checkpoint, build_sam("tiny", seed=7), "tiny", train_config={},
                            metrics={})
    result = runner.invoke(app, ["segment", str(inputs), "--out", str(out), "--model",
                                 str(checkpoint), "--config", str(clean_run[2]), "--workers",
                                 "0"])
    assert result.exit_code == 0, result.output
    summary = read_json(out / "run.json")
    assert summary["documents"]["done"] == ["a.pdf", "sub/b.pdf"]
    assert summary["model"]["identity"] != read_json(clean_run[1] / "run.json")["model"][
        "identity"]


def test_checkpoint_amg_defaults_fill_only_unset_settings(tmp_path: Path) -> None:
    """A checkpoint's calibrated ``amg_defaults`` replace SAM's thresholds the user left
    unset (a random tiny SAM passes none of SAM's 0.88/0.95 filters, all of 0/0), and an
    explicit setting still wins."""
    from planseg.models.checkpoints import save_planseg_checkpoint
    from planseg.models.registry import build_sam

    write_plan_pdf(tmp_path / "in" / "a.pdf", seed=1)
    checkpoint = tmp_path / "calibrated.pt"
    save_planseg_checkpoint(checkpoint, build_sam("tiny", seed=0), "tiny", train_config={},
                            metrics={}, extra={"amg_defaults": {
                                "pred_iou_thresh": 0.0, "stability_score_thresh": 0.0}})
    plain = tmp_path / "plain.yaml"
    plain.write_text("engine: sam\ndpi: 50\namg:\n  prompts: grid\n  points_per_side: 4\n")
    strict = tmp_path / "strict.yaml"
    strict.write_text("engine: sam\ndpi: 50\namg:\n  prompts: grid\n  points_per_side: 4\n"
                      "  pred_iou_thresh: 0.88\n"
                      "  stability_score_thresh: 0.95\n")
    polygons = {}
    for name, config in (("plain", plain), ("strict", strict)):
        result = runner.invoke(app, ["segment", str(tmp_path / "in"), "--out",
                                     str(tmp_path / name), "--model", str(checkpoint),
                                     "--config", str(config), "--workers", "0"])
        assert result.exit_code == 0, result.output
        polygons[name] = read_json(tmp_path / name / "run.json")["polygons"]
    assert polygons["plain"] > 0 and polygons["strict"] == 0, polygons
    resolved = (tmp_path / "plain" / "config.yaml").read_text()
    assert "pred_iou_thresh: 0.0" in resolved and "stability_score_thresh: 0.0" in resolved


def test_unexpected_error_fails_the_document_and_keeps_its_traceback(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug (an exception that is not a PlansegError, injected into the export step of one
    page) fails that document with a one-line reason, the batch goes on, and the traceback
    is appended to DIR/.planseg/errors.log for diagnosis without -v."""
    from planseg.infer import pipeline

    write_plan_pdf(tmp_path / "in" / "a.pdf", seed=1)
    write_plan_pdf(tmp_path / "in" / "b.pdf", seed=2)
    real_export = pipeline.export_pdf_page

    def export_pdf_page(source, *args, **kwargs):
        if source.document == "b.pdf":
            raise IndexError("injected fault")
        return real_export(source, *args, **kwargs)

    monkeypatch.setattr(pipeline, "export_pdf_page", export_pdf_page)
    result = segment(tmp_path / "in", tmp_path / "out", write_fast_config(tmp_path))
    assert result.exit_code == ExitCode.input_failed, result.output
    summary = read_json(tmp_path / "out" / "run.json")["documents"]
    assert summary["done"] == ["a.pdf"]
    assert summary["failed"] == [{"document": "b.pdf", "error": "IndexError: injected fault"}]
    logged = (tmp_path / "out" / ".planseg" / "errors.log").read_text()
    assert "IndexError: injected fault" in logged and "Traceback" in logged
    assert "in export_pdf_page" in logged
