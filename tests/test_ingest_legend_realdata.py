"""Legends of the real maps in ../shared/realdata/planning (skipped where the folder is absent).

Every expected value was written down by looking at the page rendered with PyMuPDF (the legend
cropped and zoomed); colours are the PDF's own fill values for the swatch the eye picks out.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from planseg.ingest.documents import open_document
from planseg.ingest.legend import read_legend
from planseg.ingest.legend_types import PageLegend

REALDATA = Path(__file__).resolve().parents[1].parent / "shared" / "realdata" / "planning"
pytestmark = pytest.mark.skipif(not REALDATA.is_dir(), reason="no ../shared/realdata/planning")


def _legend(name: str) -> PageLegend:
    with open_document(REALDATA / name) as doc:
        return read_legend(doc, 0)


def _triples(legend: PageLegend) -> list[tuple[str | None, str | None, str]]:
    return [(e.code, e.label, e.hex) for e in legend.entries]


def test_brattleboro_zoning_districts() -> None:
    # "ZONING DISTRICTS" box right of the map: 12 swatches, top to bottom UC ... IN; labels are
    # "URBAN CENTER (UC)" etc. (the README's "13 districts" counts the map, the legend has 12)
    legend = _legend("us_vt_brattleboro_zoning.pdf")
    assert legend.source == "vector" and len(legend.entries) == 12 and not legend.notes
    triples = _triples(legend)
    assert triples[0] == ("UC", "URBAN CENTER", "#801006")  # dark red, first row
    assert triples[5] == ("RN-36", "RESIDENTIAL NEIGHBORHOOD 3600", "#ffff00")  # bright yellow
    assert triples[8] == ("RL", "RURAL", "#9cb55a")  # olive green
    assert triples[-1] == ("IN", "INDUSTRIAL", "#8e69af")  # purple, last row
    assert [c for c, _, _ in triples] == ["UC", "VC", "SC", "NC", "MU", "RN-36", "RN-54", "RR",
                                          "RL", "WF", "IT", "IN"]


def test_newport_form_based_code_legend() -> None:
    # "FORM BASED CODE LEGEND": "Conventional Zoning" column (8 swatches; line symbols such as
    # "Town Line" are not swatches) and "Downtown Regulating Map" column (18 swatches)
    legend = _legend("us_vt_newport_zoning.pdf")
    assert legend.source == "vector" and len(legend.entries) == 26
    by_label = {e.label: e for e in legend.entries}
    assert by_label["Commercial B"].hex == "#ff0000"  # solid red
    assert by_label["General Residential"].hex == "#cccccc"  # light grey
    industrial = by_label["Industrial"]  # magenta diagonal hatch on white, no fill
    assert (industrial.hex, industrial.hatch_rgb) == ("#ffffff", (230, 0, 169))
    main_street = by_label["Main Street"]  # "Form 1 - Main Street": yellow hatch
    assert (main_street.code, main_street.hatch_rgb) == ("Form 1", (255, 255, 0))
    assert by_label["Existing Walking Path"].hex == "#686868"  # dark grey, last row
    assert by_label["Primary Transit Street - Type 2"].hex == "#00c5ff"  # sky blue


def test_weston_key_with_codes_left_of_the_swatches() -> None:
    # untitled key under the title: red code letters left of orange-outlined swatches
    legend = _legend("us_vt_weston_zoning.pdf")
    assert legend.source == "vector"
    assert [(c, n) for c, n, _ in _triples(legend)] == [
        ("C", "Conservation"), ("Re", "Resource"), ("S", "Shoreland"),
        ("R", "Rural (low density)"), ("RR", "Rural Residential"), ("V", "Village"),
        ("Com", "Commercial"), ("I", "Industrial")]
    colours = {c: h for c, _, h in _triples(legend)}
    assert colours["C"] == "#d5edd5" and colours["Com"] == "#ffcccc" and colours["I"] == "#f1ccff"


def test_strafford_districts_and_overlay() -> None:
    # "Districts": 6 swatches (the first an empty white box), "Overlay District": 1 hatched box
    legend = _legend("us_vt_strafford_zoning.pdf")
    assert legend.source == "vector" and len(legend.entries) == 7
    by_label = {e.label: e for e in legend.entries}
    assert by_label["RURAL RESIDENTIAL I"].hex == "#ffffff"
    assert by_label["LAND FOREST CONSERVATION"].hex == "#73b273"  # mid green
    assert by_label["MILLER POND SHORELINE"].hex == "#ffbebe"  # pink, last row
    mine = by_label["Elizabeth Mine Possible Groundwater Hazard Zone"]  # two-line label
    assert mine.hatch_rgb == (64, 101, 235)  # blue diagonal hatch


def test_plochingen_zeichenerklaerung() -> None:
    # "Zeichenerklärung": a column of boxes, most of them symbols in white boxes; the colour
    # classes are magenta Gemeinbedarf, orange Straßenverkehrsflächen, green Grünfläche
    legend = _legend("de_plochingen_bplan.pdf")
    assert legend.source == "vector" and 20 <= len(legend.entries) <= 32
    by_label = {e.label: e for e in legend.entries}
    assert by_label["Fläche für Gemeinbedarf"].hex == "#ff7fff"
    assert by_label["Öffentliche Straßenverkehrsflächen"].hex == "#ffbf00"
    assert by_label["Öffentliche Grünfläche"].hex == "#00ff00"
    assert by_label["Flächen für Versorgungsanlagen"].hex == "#ffff00"  # a square in its box
    assert by_label["Flachdach"].code == "FD"  # "FD" in the box, "FD - Flachdach" beside it
    assert all(1820 < e.box_pt[0] < 1830 for e in legend.entries)  # nothing from the map


@pytest.mark.parametrize("name", ["us_vt_plainfield_scan.pdf", "uk_cumbria_policiesmap_raster.pdf"])
def test_raster_maps_do_not_crash(name: str) -> None:
    legend = _legend(name)
    assert isinstance(legend, PageLegend) and (legend.entries or legend.notes)
