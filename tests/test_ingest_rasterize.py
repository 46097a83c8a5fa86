"""``planseg rasterize``: bad files fail alone (exit 1), good ones are written; re-runs skip
unchanged pages without rewriting them; images.json is valid COCO with exact transforms;
worker processes give the same bytes as one process."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from pycocotools.coco import COCO
from test_ingest_documents import make_bad_inputs
from test_ingest_fixtures import PageSpec, build_pdf, simple_pdf
from typer.testing import CliRunner

from planseg.cli import app
from planseg.errors import ExitCode
from planseg.ingest import RasterizeConfig, open_document, render_page, run

runner = CliRunner()


def _good_folder(folder: Path) -> Path:
    simple_pdf(folder / "a.pdf", pages=2)
    (folder / "sub").mkdir(parents=True, exist_ok=True)
    build_pdf(folder / "sub" / "rotated.pdf", [PageSpec(rotate=90, squares=[(30, 40, 20)])])
    cv2.imwrite(str(folder / "sub" / "scan.png"), np.full((50, 70, 3), 128, np.uint8))
    return folder


GOOD_PAGES = ["a.pdf/page-0001.png", "a.pdf/page-0002.png", "sub/rotated.pdf/page-0001.png",
              "sub/scan.png/page-0001.png"]


def _mtimes(out: Path) -> dict[str, int]:
    return {str(p.relative_to(out)): p.stat().st_mtime_ns for p in out.rglob("*.png")
            if p.is_file()}


def test_mixed_folder_writes_good_files_and_exits_1(tmp_path):
    inputs = _good_folder(tmp_path / "in")
    bad = make_bad_inputs(inputs / "bad")
    out = tmp_path / "out"
    result = runner.invoke(app, ["rasterize", str(inputs), "--out", str(out), "--dpi", "30",
                                 "--workers", "2"])
    assert result.exit_code == ExitCode.input_failed, result.output
    good = sorted(GOOD_PAGES + ["bad/good.pdf/page-0001.png", "bad/good.pdf/page-0002.png"])
    assert sorted(_mtimes(out)) == good
    for name, (_error, reason) in bad.items():
        line = next(x for x in result.output.splitlines() if f"bad/{name}:" in x)
        assert reason in line
    coco = json.loads((out / "images.json").read_text())
    assert [i["file_name"] for i in coco["images"]] == good


@pytest.mark.parametrize("workers", [1, 2])
def test_rerun_skips_unchanged_pages_without_rewriting(tmp_path, workers):
    inputs = _good_folder(tmp_path / "in")
    config = RasterizeConfig(inputs=[inputs], out=tmp_path / "out", dpi=30, workers=workers)
    first = run(config)
    assert (first.written, first.skipped, first.failures) == (4, 0, [])
    before = _mtimes(config.out)
    images_mtime = (config.out / "images.json").stat().st_mtime_ns
    second = run(config)
    assert (second.written, second.skipped) == (0, 4)
    assert _mtimes(config.out) == before
    assert (config.out / "images.json").stat().st_mtime_ns == images_mtime
    simple_pdf(inputs / "a.pdf", pages=2, size_pt=(220, 150))  # new bytes: re-render a.pdf only
    third = run(config)
    assert (third.written, third.skipped) == (2, 2)
    after = _mtimes(config.out)
    assert after["sub/scan.png/page-0001.png"] == before["sub/scan.png/page-0001.png"]
    assert after["a.pdf/page-0001.png"] != before["a.pdf/page-0001.png"]
    width = json.loads((config.out / "images.json").read_text())["images"][0]["width"]
    assert width == round(220 * 30 / 72)  # the new page size: the new file was read
    config.dpi = 40  # new settings: everything again
    assert run(config).written == 4


def test_torn_journal_line_is_ignored(tmp_path):
    inputs = _good_folder(tmp_path / "in")
    config = RasterizeConfig(inputs=[inputs], out=tmp_path / "out", dpi=30, workers=1)
    run(config)
    with open(config.out / ".planseg-rasterize.jsonl", "a") as journal:
        journal.write('{"key": "abc", "ima')  # a crash mid-line
    assert run(config).skipped == 4


def test_images_json_is_coco_with_exact_transforms(tmp_path):
    inputs = _good_folder(tmp_path / "in")
    out = tmp_path / "out"
    run(RasterizeConfig(inputs=[inputs], out=out, dpi=30, workers=2))
    coco = COCO(str(out / "images.json"))
    assert len(coco.getImgIds()) == 4 and coco.getAnnIds() == []
    for image in coco.loadImgs(coco.getImgIds()):
        png = cv2.imread(str(out / image["file_name"]))
        assert png.shape[:2] == (image["height"], image["width"])
        with open_document(inputs / image["pdf"]) as doc:
            page = render_page(doc, image["page"] - 1, dpi=image["dpi"])
        assert np.allclose(np.array(image["pixel_to_pdf"]), page.pixel_to_pdf)
        assert np.array_equal(png[..., ::-1], page.image)  # PNG is lossless, RGB
    assert (out / "rasterize.yaml").is_file()


def test_workers_give_same_bytes_as_one_process(tmp_path):
    inputs = _good_folder(tmp_path / "in")
    run(RasterizeConfig(inputs=[inputs], out=tmp_path / "one", dpi=30, workers=1))
    run(RasterizeConfig(inputs=[inputs], out=tmp_path / "two", dpi=30, workers=2))
    for name in GOOD_PAGES:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()


def test_bad_page_fails_alone(tmp_path):
    path = build_pdf(tmp_path / "in" / "mixed.pdf", [
        PageSpec(mediabox=(0, 0, 100, 100)), PageSpec(mediabox=(0, 0, 2000, 2000)),
        PageSpec(mediabox=(0, 0, 120, 80))])
    result = runner.invoke(app, ["rasterize", str(path), "--out", str(tmp_path / "out"),
                                 "--dpi", "72", "--max-pixels", "100000", "--workers", "1"])
    assert result.exit_code == ExitCode.input_failed
    assert sorted(_mtimes(tmp_path / "out")) == ["mixed.pdf/page-0001.png",
                                                 "mixed.pdf/page-0003.png"]
    assert "mixed.pdf: page 2 would be 2000 x 2000 px" in result.output


def test_max_pixels_alone_fits_each_page(tmp_path):
    path = build_pdf(tmp_path / "big.pdf", [PageSpec(mediabox=(0, 0, 2000, 1000))])
    summary = run(RasterizeConfig(inputs=[path], out=tmp_path / "out", max_pixels=20_000))
    image = json.loads(summary.images_json.read_text())["images"][0]
    assert image["width"] * image["height"] <= 20_000 and image["dpi"] < 10


def test_config_file_and_usage_errors(tmp_path):
    path = simple_pdf(tmp_path / "a.pdf")
    config = tmp_path / "r.yaml"
    config.write_text(f"inputs: [{path}]\nout: {tmp_path / 'out'}\ndpi: 20\n")
    result = runner.invoke(app, ["rasterize", "--config", str(config)])
    assert result.exit_code == 0, result.output
    image = json.loads((tmp_path / "out" / "images.json").read_text())["images"][0]
    assert image["dpi"] == 20
    result = runner.invoke(app, ["rasterize", str(path)])
    assert result.exit_code == ExitCode.usage and "out: the output folder is required" in \
        result.output
    result = runner.invoke(app, ["rasterize", str(path), "--out", "x", "--dpi", "-3"])
    assert result.exit_code == ExitCode.usage and "dpi: must be positive" in result.output


def test_synth_output_rasterizes_like_its_ground_truth(tmp_path):
    synth = pytest.importorskip("planseg.synth")
    synth.generate(tmp_path / "synth", docs=2, seed=1, dpi=40, sheet="A4")
    out = tmp_path / "out"
    summary = run(RasterizeConfig(inputs=[tmp_path / "synth" / "pdfs"], out=out, dpi=40,
                                  workers=2))
    assert summary.failures == []
    truth = json.loads((tmp_path / "synth" / "data" / "annotations.json").read_text())
    ours = {(i["pdf"], i["page"]): i for i in json.loads(summary.images_json.read_text())["images"]}
    for image in truth["images"]:
        mine = ours[(image["pdf"], image["page"])]
        assert (mine["width"], mine["height"]) == (image["width"], image["height"])
        a = cv2.imread(str(out / mine["file_name"])).astype(int)
        b = cv2.imread(str(tmp_path / "synth" / "data" / "images" / image["file_name"]))
        assert np.abs(a - b).mean() < 2  # same page, same pixel grid


def test_unwritable_output_stops_with_exit_74(tmp_path):
    path = simple_pdf(tmp_path / "a.pdf")
    (tmp_path / "out" / "a.pdf" / "page-0001.png").mkdir(parents=True)  # blocks the rename
    result = runner.invoke(app, ["rasterize", str(path), "--out", str(tmp_path / "out"),
                                 "--dpi", "20", "--workers", "1"])
    assert result.exit_code == ExitCode.output_failed
    assert "page-0001.png: cannot write output" in result.output


def test_output_inside_input_folder_is_not_an_input(tmp_path):
    inputs = _good_folder(tmp_path / "in")
    config = RasterizeConfig(inputs=[inputs], out=inputs / "pages", dpi=20, workers=1)
    assert run(config).written == 4
    second = run(config)  # the PNGs written under in/pages are not rasterised again
    assert (second.written, second.skipped, second.failures) == (0, 4, [])


def test_ingest_does_not_import_torch():
    import subprocess
    import sys

    code = ("import sys, planseg.ingest as i; "
            "[getattr(i, n) for n in i.__all__]; "
            "import planseg.cli.rasterize; print('torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"
