"""Hostile drawings for the vector-zone reader: 200,000 filled paths, NaN and huge coordinates,
degenerate and self-intersecting paths, a broken content stream, budgets exceeded. The reader
never raises for what is in a page: it returns zones, or none with a one-line ``fallback``."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pymupdf
import pytest

from planseg.ingest.documents import open_document
from planseg.ingest.vector import VectorPage, read_vector_page
from planseg.ingest.vector_config import VectorConfig

pytestmark = pytest.mark.reliability


def write_content_pdf(path: Path, content: bytes, size_pt: tuple[float, float] = (600, 400),
                      compress: bool = True) -> Path:
    """A one-page PDF whose content stream is ``content`` (raw PDF operators, y up)."""
    doc = pymupdf.open()
    page = doc.new_page(width=size_pt[0], height=size_pt[1])
    xref = doc.get_new_xref()
    doc.update_object(xref, "<<>>")
    doc.update_stream(xref, content, compress=compress)
    doc.xref_set_key(page.xref, "Contents", f"{xref} 0 R")
    doc.save(path)
    return path


def many_fills_content(count: int, seed: int = 0) -> bytes:
    """``count`` overlapping filled rectangles in four colours on a 14400 x 14400 pt page:
    each later one cuts the earlier ones it overlaps (painter's order at scale)."""
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(count)))
    cell = 14000 / side
    i = np.arange(count)
    x = 200 + (i % side) * cell + rng.uniform(-0.3, 0.3, count) * cell
    y = 200 + (i // side) * cell + rng.uniform(-0.3, 0.3, count) * cell
    w, h = cell * rng.uniform(0.8, 1.4, (2, count))
    colours = ("1 0 0", "0 0 1", "0 0.6 0", "0.9 0.8 0.2")
    lines = [f"{colours[k % 4]} rg {a:.2f} {b:.2f} {c:.2f} {d:.2f} re f"
             for k, (a, b, c, d) in enumerate(zip(x, y, w, h, strict=True))]
    return "\n".join(lines).encode()


def _read(path: Path, config: VectorConfig | None = None) -> VectorPage:
    with open_document(path) as doc:
        return read_vector_page(doc, 0, config)


@pytest.mark.slow
def test_200k_filled_paths_within_budget(tmp_path):
    path = write_content_pdf(tmp_path / "many.pdf", many_fills_content(200_000), (14400, 14400))
    started = time.perf_counter()
    result = _read(path)
    seconds = time.perf_counter() - started
    assert result.fallback is None and result.paths == 200_000
    assert seconds < VectorConfig().max_seconds
    assert len(result.zones) > 50_000  # touching same-colour pieces merge; most stay apart
    assert 0.5 < result.coverage <= 1.0


def test_page_over_max_paths_falls_back_before_the_geometry(tmp_path):
    path = write_content_pdf(tmp_path / "many.pdf", many_fills_content(5_000), (14400, 14400))
    result = _read(path, VectorConfig(max_paths=1_000))
    assert result.zones == [] and result.paths == 5_000
    assert result.fallback is not None and "max_paths" in result.fallback


def test_page_over_max_seconds_falls_back(tmp_path):
    path = write_content_pdf(tmp_path / "many.pdf", many_fills_content(20_000), (14400, 14400))
    result = _read(path, VectorConfig(max_seconds=0.01))
    assert result.zones == [] and "max_seconds" in (result.fallback or "")


def test_nan_huge_degenerate_and_self_intersecting_paths(tmp_path):
    content = b"\n".join([
        b"1 0 0 rg 100 100 m 1e30 100 l 1e30 1e30 l h f",  # huge: skipped
        b"1 0 0 rg 100 100 m nan 100 l 200 nan l h f",  # not numbers: MuPDF reads 0 or skips
        b"0 0 1 rg 50 50 m 50 50 l 50 50 l h f",  # a point
        b"0 0 1 rg 50 60 m 250 60 l 450 60 l h f",  # a line: no area
        b"0 0 1 rg 0 0 0 0 re f",  # an empty rectangle
        b"0 0.6 0 rg 100 200 m 300 300 l 300 200 l 100 300 l h f",  # bow tie: two triangles
        b"0 0.6 0 rg 400 300 m 400 300 l 500 300 l 500 380 l 400 380 l h f",  # repeated point
        b"1 0 0 rg 1 0 0 1 0 0 cm 200 20 100 20 re f",  # fine
    ])
    path = write_content_pdf(tmp_path / "bad.pdf", content)
    result = _read(path)
    assert result.fallback is None
    assert all(z.geometry_pt.is_valid and not z.geometry_pt.is_empty for z in result.zones)
    green = [z for z in result.zones if z.fill_rgb == (0, 153, 0)]
    assert sum(z.geometry_pt.area for z in green) == pytest.approx(2 * 100 * 50 + 100 * 80)
    assert max(abs(v) for z in result.zones for v in z.geometry_pt.bounds) < 1e6


def test_broken_content_stream_gives_a_reason_or_zones_never_an_exception(tmp_path):
    garbage = bytes(np.random.default_rng(3).integers(0, 256, 4000, dtype=np.uint8))
    for name, content in {
        "garbage": garbage,
        "unbalanced": b"Q Q q 1 0 0 rg 10 10 200 200 re f BT /F9 12 Tf (x) Tj",
        "operands": b"1 0 rg re f 10 10 m l l c h f 1 0 0 1 cm",
        "truncated": b"1 0 0 rg 10 10 200 200 re f 0 0 1 rg 50 5",
    }.items():
        result = _read(write_content_pdf(tmp_path / f"{name}.pdf", content))
        assert isinstance(result, VectorPage), name
        assert result.fallback is None or result.fallback.count("\n") == 0


def test_corrupt_compressed_stream(tmp_path):
    path = write_content_pdf(tmp_path / "ok.pdf", b"1 0 0 rg 50 50 300 200 re f",
                             compress=True)
    data = path.read_bytes()
    start = data.index(b"stream\n") + len(b"stream\n")
    broken = data[:start + 2] + b"\x00" * 4 + data[start + 6:]  # damage the deflate data
    (tmp_path / "broken.pdf").write_bytes(broken)
    result = _read(tmp_path / "broken.pdf")
    assert isinstance(result, VectorPage)
