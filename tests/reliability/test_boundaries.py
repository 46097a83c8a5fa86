"""Boundaries: writes only under --out and the temp dir; output names from hostile input
names stay inside --out; a page over the pixel budget is refused without exhausting memory;
reading 210 pages, and segmenting them, keeps a flat RSS."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from segment_fixtures import read_json

from planseg.errors import ExitCode
from reliability.corpus import pdf_bytes, segment_command

pytestmark = pytest.mark.reliability
TOY_MODEL = Path(__file__).resolve().parents[1] / "data" / "amg_toy_tiny.pt"

HOSTILE_NAMES = ["..pdf", "...pdf", "-rf.pdf", "C:\\Windows\\evil.pdf", "a\\..\\..\\b.pdf",
                 " lead and trail .pdf", "\u202egnp.pdf", "日本語 計画.pdf", "e\u0301\u0301.pdf",
                 "...", ".hidden.pdf", "..", "new\nline.pdf"]


def _tree(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


@pytest.mark.slow
def test_writes_stay_under_out_and_tmp_and_hostile_names_cannot_escape(fast_config,
                                                                       tmp_path) -> None:
    inputs, out, tmp, home, cwd = (tmp_path / n for n in ("in", "out", "tmp", "home", "cwd"))
    for folder in (inputs / "...", tmp, home, cwd):
        folder.mkdir(parents=True)
    data = pdf_bytes()
    for name in HOSTILE_NAMES:
        target = (inputs / "..." / name[:-4]) if name in ("...", "..") else inputs / name
        if name == "..":
            target = inputs / "..." / ".. .pdf"
        elif name == "...":
            target = inputs / "..." / "....pdf"
        target.write_bytes(data)
    before = _tree(tmp_path)
    env = {**os.environ, "TMPDIR": str(tmp), "HOME": str(home)}
    result = subprocess.run(segment_command(inputs, out, fast_config), capture_output=True,
                            text=True, timeout=300, env=env, cwd=cwd)
    assert result.returncode == 0, result.stderr
    new = _tree(tmp_path) - before
    # (pymupdf 2.0 broke this: its layout add-on imports onnxruntime, which writes a device
    # id under ~/.cache/Microsoft; hence pymupdf < 2 in pyproject.toml)
    allowed = ("out", "tmp")
    outside = [p for p in new if not p.startswith(allowed)]
    assert not outside, outside
    real_out = out.resolve()
    produced = [p for p in out.rglob("*") if p.is_file()]
    assert all(p.resolve().is_relative_to(real_out) for p in produced)
    documents = read_json(out / "run.json")["documents"]
    assert len(documents["done"]) == len(HOSTILE_NAMES)
    geojsons = [p for p in produced if p.suffix == ".geojson"]
    assert len(geojsons) == len(HOSTILE_NAMES)  # one per input: no two names collided


def _rss_series(command: list[str], env: dict | None = None
                ) -> tuple[int, str, list[tuple[float, int]]]:
    """(exit code, stderr, [(seconds, RSS bytes)]) of a subprocess sampled every 20 ms."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True, env=env)
    watched, series, started = psutil.Process(process.pid), [], time.perf_counter()
    try:
        while process.poll() is None:
            try:
                series.append((time.perf_counter() - started, watched.memory_info().rss))
            except psutil.NoSuchProcess:
                break
            time.sleep(0.02)
        _, stderr = process.communicate(timeout=600)
    finally:  # a test timeout must not leave the run going
        if process.poll() is None:
            process.kill()
            process.wait()
    return process.returncode, stderr, series


def _peak_rss(command: list[str], env: dict | None = None) -> tuple[int, str, int]:
    """(exit code, stderr, peak RSS in bytes) of a subprocess."""
    code, stderr, series = _rss_series(command, env)
    return code, stderr, max((rss for _, rss in series), default=0)


@pytest.mark.slow
def test_page_over_the_pixel_budget_is_refused_in_bounded_memory(tmp_path) -> None:
    """A 14400x14400 pt page (the PDF maximum) at 300 DPI is 3.6 Gpx (10.8 GB of RGB):
    refused by the default 200 Mpx budget with a one-line reason, the other page done."""
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "huge.pdf").write_bytes(pdf_bytes(size_pt=(14400.0, 14400.0)))
    (tmp_path / "in" / "small.pdf").write_bytes(pdf_bytes(size_pt=(200.0, 150.0)))
    config = tmp_path / "c.yaml"
    config.write_text("dpi: 300\namg:\n  points_per_side: 2\n  pred_iou_thresh: 0.0\n"
                      "  stability_score_thresh: 0.0\n")
    code, stderr, peak = _peak_rss(segment_command(tmp_path / "in", tmp_path / "out", config))
    assert code == ExitCode.input_failed, stderr
    failed = read_json(tmp_path / "out" / "run.json")["documents"]["failed"]
    assert [f["document"] for f in failed] == ["huge.pdf"]
    assert "pixel" in failed[0]["error"].lower() and "\n" not in failed[0]["error"]
    assert "Traceback" not in stderr
    assert peak < 2 * 1024**3, peak  # nowhere near the 10.8 GB the raster would need


_READ_PAGES = """
import sys, psutil
from pathlib import Path
from planseg.ingest import open_document, page_words, read_georef, render_page
rss = []
with open_document(Path(sys.argv[1])) as doc:
    pages = doc.page_count
    for page_index in range(pages):
        render_page(doc, page_index, dpi=50)
        page_words(doc, page_index)
        read_georef(doc, page_index)
        rss.append(psutil.Process().memory_info().rss)
print(pages, max(rss[:20]), max(rss[-20:]))
"""


def test_reading_210_pages_keeps_a_flat_rss(tmp_path) -> None:
    """Ingest over 210 A4 pages (render, words, georef) in a fresh process: the RSS after
    the last pages is within 64 MiB of the RSS after the first 20."""
    path = tmp_path / "long.pdf"
    path.write_bytes(pdf_bytes(pages=210))
    done = subprocess.run([sys.executable, "-c", _READ_PAGES, str(path)], capture_output=True,
                          text=True, timeout=300, check=True)
    pages, early, late = map(int, done.stdout.split())
    assert pages == 210
    assert late - early < 64 * 1024**2, (early, late)


@pytest.mark.slow
def test_segmenting_210_pages_keeps_a_flat_rss(tmp_path) -> None:
    """``planseg segment`` over one 210-page A4 document, all stages in one process, with
    the toy-trained tiny SAM (clean masks of each page's zone, so the document's polygons,
    held until its files are written, stay small): the peak RSS of the 8th and 9th tenths of
    the run is within 64 MiB of that of its 3rd and 4th (after start-up). A page
    image, tile or mask array kept per page would add > 0.2 MiB a page, > 80 MiB in between."""
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "long.pdf").write_bytes(pdf_bytes(pages=210))
    config = tmp_path / "c.yaml"
    config.write_text("dpi: 50\nthreads: 1\namg:\n  points_per_side: 2\n"
                      "  pred_iou_thresh: 0.0\n  stability_score_thresh: 0.0\n")
    command = [*segment_command(tmp_path / "in", tmp_path / "out", config), "--model",
               str(TOY_MODEL)]  # the last --model wins
    code, stderr, series = _rss_series(command)
    assert code == 0, stderr
    summary = read_json(tmp_path / "out" / "run.json")
    assert (summary["documents"]["done"], summary["pages"]) == (["long.pdf"], 210)
    assert summary["polygons"] >= 210  # the export path ran on every page
    end = series[-1][0]
    deciles = [max((rss >> 20 for t, rss in series if d * end / 10 <= t < (d + 1) * end / 10),
                   default=0) for d in range(10)]
    # MiB per tenth of the run: start-up (torch, the model) fills the first two; the last
    # holds interpreter exit (a ~100 MiB blip after the outputs are written)
    assert max(deciles[7:9]) - max(deciles[2:4]) < 64, deciles
