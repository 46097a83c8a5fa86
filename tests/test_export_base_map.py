"""The base map under a plan (grey building footprints the legend does not name) is left out
of the zones; a grey the legend names, too few grey shapes, or ``drop_base_map: false`` keep
them. Through the real ``planseg segment --engine vector`` on PyMuPDF pages, and on the real
Plochingen Bebauungsplan (skipped where ../shared is absent)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pymupdf
import pytest
from conftest import REALDATA
from typer.testing import CliRunner

from planseg.cli import app
from planseg.export.base_map import base_map_features
from planseg.export.classes import assign_classes
from planseg.export.config import ExportConfig
from planseg.export.features import PageFeature
from planseg.ingest.legend_types import LegendEntry, PageLegend

GREY = (173 / 255,) * 3
TAN, GREEN, BLUE = (0.96, 0.80, 0.55), (0.55, 0.85, 0.50), (0.55, 0.70, 0.95)


def _plan_pdf(path: Path, footprints: int, legend_grey: bool = False) -> Path:
    """A framed map of two zones (tan, green) with ``footprints`` grey squares drawn over
    them, and a legend naming tan, green and blue (and the grey with ``legend_grey``)."""
    doc = pymupdf.open()
    page = doc.new_page(width=600, height=400)
    page.draw_rect(pymupdf.Rect(20, 20, 420, 380), color=(0, 0, 0), width=1.5)
    # zones as polygons (a filled rectangle this large would be taken for the map frame)
    page.draw_polyline([(20, 20), (260, 20), (180, 380), (20, 380)], color=None, fill=TAN,
                       closePath=True)
    page.draw_polyline([(260, 20), (420, 20), (420, 380), (180, 380)], color=None,
                       fill=GREEN, closePath=True)
    for i in range(footprints):  # buildings: L-shaped, no two alike (not legend swatches)
        x, y, w, h = 40 + (i % 6) * 60, 60 + (i // 6) * 120, 22 + i, 16 + i % 5
        page.draw_polyline([(x, y), (x + w, y), (x + w, y + h), (x + 6, y + h), (x + 6, y + 6),
                            (x, y + 6)], color=(0, 0, 0), width=0.3, fill=GREY,
                           closePath=True)
    page.insert_text((440, 60), "Legend", fontsize=11)
    rows = [(TAN, "R1 Residential"), (GREEN, "P1 Parks"), (BLUE, "G1 Public facilities")]
    rows += [(GREY, "S1 Special use")] if legend_grey else []
    for i, (rgb, label) in enumerate(rows):
        top = 72 + i * 18
        page.draw_rect(pymupdf.Rect(440, top, 464, top + 12), color=(0, 0, 0), fill=rgb)
        page.insert_text((470, top + 9), label, fontsize=8)
    doc.save(path)
    return path


def _segment(pdf: Path, out: Path, *settings: str) -> list[dict]:
    """The features of ``planseg segment --engine vector`` on ``pdf``."""
    args = ["segment", str(pdf), "--out", str(out), "--engine", "vector"]
    if settings:
        config = out.parent / f"{out.name}.yaml"
        config.write_text("export:\n" + "".join(f"  {s}\n" for s in settings))
        args += ["--config", str(config)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return json.loads((out / f"{pdf.stem}.geojson").read_text())["features"]


def _greys(features: list[dict]) -> list[dict]:
    return [f for f in features if f["properties"]["fill_rgb"] == [173, 173, 173]]


def test_grey_footprints_the_legend_does_not_name_are_left_out(tmp_path: Path) -> None:
    pdf = _plan_pdf(tmp_path / "plan.pdf", footprints=12)
    features = _segment(pdf, tmp_path / "out")
    assert not _greys(features)
    assert sorted(f["properties"]["class_code"] for f in features) == ["P1", "R1"]
    assert [f["properties"]["id"] for f in features] == [1, 2]
    kept = _segment(pdf, tmp_path / "keep", "drop_base_map: false")
    assert len(_greys(kept)) == 12 and len(kept) == 14
    assert all(f["properties"]["class_code"] is None for f in _greys(kept))


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_the_base_map_left_out_is_logged_from_worker_processes(tmp_path: Path,
                                                               log_format: str) -> None:
    # export runs in forkserver pool workers: their log lines reach the user too, in the
    # run's format (a JSON-lines run stays JSON lines)
    pdf = _plan_pdf(tmp_path / "plan.pdf", footprints=12)
    result = subprocess.run(
        [sys.executable, "-m", "planseg", "--log-format", log_format, "segment", str(pdf),
         "--out", str(tmp_path / "out"), "--engine", "vector", "--workers", "2"],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    said = [line for line in result.stderr.splitlines() if "left out as base map" in line]
    assert len(said) == 1 and "12 grey shapes" in said[0], result.stderr
    if log_format == "json":
        assert json.loads(said[0])["logger"] == "planseg.export.document"


def test_a_named_grey_or_a_few_grey_shapes_stay_zones(tmp_path: Path) -> None:
    named = _segment(_plan_pdf(tmp_path / "named.pdf", 12, legend_grey=True),
                     tmp_path / "named")
    assert len(_greys(named)) == 12
    assert {f["properties"]["class_code"] for f in _greys(named)} == {"S1"}
    few = _segment(_plan_pdf(tmp_path / "few.pdf", 9), tmp_path / "few")
    assert len(_greys(few)) == 9
    fewer = _segment(_plan_pdf(tmp_path / "fewer.pdf", 9), tmp_path / "fewer",
                     "base_map_min_count: 9")
    assert not _greys(fewer)


def test_a_grey_the_legend_names_stays_even_when_colour_cannot_classify_it() -> None:
    # two building classes in one grey (plain and hatched): colour cannot tell them apart,
    # so the footprints stay unclassified, but the legend names their grey: not base map
    grey, box = (173, 173, 173), (0.0, 0.0, 20.0, 10.0)
    entries = [LegendEntry(grey, None, None, "Gebäude Bestand", box),
               LegendEntry(grey, (0, 0, 0), None, "Gebäude, abzubrechen", box),
               LegendEntry((250, 230, 140), None, "WA", "Wohngebiet", box)]
    features = [PageFeature(i + 1, 1, i, None, {"source": "vector", "fill_rgb": list(grey)})
                for i in range(12)]
    for named in (True, False):
        legend = PageLegend(entries if named else entries[2:], "vector", [])
        for feature, classes in zip(features, assign_classes(
                [list(grey)] * 12, [""] * 12, legend), strict=True):
            feature.properties.update(classes)
        assert all(f.properties["class_source"] is None for f in features)
        config = ExportConfig(base_map_min_count=10, class_max_delta_e_vector=4.0)
        assert base_map_features(features, legend, config) == [not named] * 12


@pytest.mark.skipif(not (REALDATA / "planning").is_dir(), reason="../shared/realdata absent")
def test_plochingen_gives_its_land_use_areas_not_the_cadastral_buildings(
        tmp_path: Path) -> None:
    # Read off the page: a magenta Gemeinbedarf area fills most of the plan's boundary, with
    # green, orange and yellow areas at its north end; about 190 grey ALK buildings around
    features = _segment(REALDATA / "planning" / "de_plochingen_bplan.pdf", tmp_path / "out")
    assert 15 <= len(features) <= 40
    assert not _greys(features)
    largest = max(features, key=lambda f: f["properties"]["area_pt2"])
    assert largest["properties"]["class_label"] == "Fläche für Gemeinbedarf"
    labels = {f["properties"]["class_label"] for f in features}
    assert {"Öffentliche Grünfläche", "Öffentliche Straßenverkehrsflächen"} <= labels
