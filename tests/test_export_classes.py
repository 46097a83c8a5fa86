"""Class assignment: polygon colour -> nearest legend swatch (CIEDE2000), the code written in
the zone deciding near, repeated or hatched swatches; the run's COCO categories."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from planseg.export.classes import (
    CLASS_KEYS,
    assign_class,
    assign_classes,
    build_categories,
    category_ids,
    delta_e_2000,
)
from planseg.export.config import ExportConfig
from planseg.ingest.legend_types import LegendEntry, PageLegend

BOX = (0.0, 0.0, 20.0, 10.0)


def _entry(rgb, code, label=None, hatch=None) -> LegendEntry:
    return LegendEntry(rgb=rgb, hatch_rgb=hatch, code=code, label=label, box_pt=BOX)


def _legend(*entries: LegendEntry) -> PageLegend:
    return PageLegend(entries=list(entries), source="vector", notes=[])


YELLOW, PINK, BLUE = (250, 230, 140), (242, 158, 158), (158, 194, 242)
PLAN = _legend(_entry(YELLOW, "R1", "Residential"), _entry(PINK, "B2", "Business"),
               _entry(BLUE, "G1", "Public facilities"))


def test_delta_e_known_values_and_ordering() -> None:
    white, black = (255, 255, 255), (0, 0, 0)
    assert delta_e_2000(white, [black])[0] == pytest.approx(100.0, abs=0.01)
    assert delta_e_2000(white, [white])[0] == pytest.approx(0.0, abs=1e-9)
    # sRGB red vs blue: 52.88 in CIEDE2000 (D65), a commonly quoted reference value
    assert delta_e_2000((255, 0, 0), [(0, 0, 255)])[0] == pytest.approx(52.88, abs=0.05)
    red = (200, 40, 40)
    darker, orange, green = (190, 40, 40), (220, 120, 30), (40, 160, 60)
    near, mid, far = delta_e_2000(red, [darker, orange, green])
    assert 0 < near < 5 < mid < far


def test_nearest_swatch_by_colour() -> None:
    props = assign_class([248, 228, 143], "", PLAN)
    assert props == {"class_code": "R1", "class_label": "Residential",
                     "class_rgb": list(YELLOW), "class_source": "colour",
                     "class_distance": pytest.approx(float(delta_e_2000((248, 228, 143),
                                                                        [YELLOW])[0]), abs=0.01)}
    assert assign_class([160, 195, 240], None, PLAN)["class_code"] == "G1"


def test_colour_beyond_threshold_stays_unclassified() -> None:
    ochre = [200, 170, 60]  # nearest: the yellow, but 15 away
    distances = delta_e_2000(ochre, [e.rgb for e in PLAN.entries])
    assert ExportConfig().class_max_delta_e < distances[0] < 16 < min(distances[1:])
    assert assign_class(ochre, "", PLAN) == dict.fromkeys(CLASS_KEYS)
    looser = ExportConfig(class_max_delta_e_vector=16.0)
    assert assign_class(ochre, "", PLAN, looser)["class_code"] == "R1"


def test_vector_legends_have_the_tighter_threshold() -> None:
    """Swatch colours from the PDF's drawings are exact (zones within 0.7 on synth pages),
    those read from pixels are faded like the zones: 5 apart is a match only for the latter."""
    fill = [236, 214, 150]
    distance = delta_e_2000(fill, [YELLOW])[0]
    config = ExportConfig()
    assert config.class_max_delta_e_vector < distance < config.class_max_delta_e
    scanned = PageLegend(entries=PLAN.entries, source="raster", notes=[])
    assert assign_class(fill, "", scanned)["class_code"] == "R1"
    assert assign_class(fill, "", PLAN)["class_code"] is None


def test_no_legend_or_unknown_colour_gives_all_none() -> None:
    empty = dict.fromkeys(CLASS_KEYS)
    assert assign_class([250, 230, 140], "R1", None) == empty
    assert assign_class([250, 230, 140], "R1", PageLegend(entries=[], source=None,
                                                          notes=["no legend"])) == empty
    assert assign_class(None, "", PLAN) == empty  # no colour, no code: nothing to go on


def test_text_decides_between_near_colours() -> None:
    b1, b2 = (242, 158, 158), (240, 155, 157)
    assert delta_e_2000(b1, [b2])[0] < ExportConfig().class_ambiguous_delta_e
    legend = _legend(_entry(b1, "B1", "Business"), _entry(b2, "B2", "Business"))
    fill = [241, 157, 158]
    assert assign_class(fill, "", legend)["class_code"] is None  # too close to call
    props = assign_class(fill, "Flurstück 12 B2 GRZ 0,4", legend)
    assert (props["class_code"], props["class_source"]) == ("B2", "both")
    assert props["class_distance"] == pytest.approx(
        float(delta_e_2000(fill, [b2])[0]), abs=0.01)


def test_code_must_be_a_whole_token() -> None:
    b1, b2 = (242, 158, 158), (240, 155, 157)
    legend = _legend(_entry(b1, "B1"), _entry(b2, "B2"), _entry((200, 200, 250), "WA 1"))
    fill = [241, 157, 158]
    assert assign_class(fill, "B21 AB2 B2x", legend)["class_code"] is None
    assert assign_class(fill, "(B2),", legend)["class_code"] == "B2"
    assert assign_class(None, "see WA 1 here", legend)["class_code"] == "WA 1"
    assert assign_class(None, "WA 12", legend)["class_code"] is None


def test_hatched_swatch_sharing_a_base_colour_needs_the_code() -> None:
    base = (232, 184, 140)
    legend = _legend(_entry(base, "W1", "General residential"),
                     _entry(base, "W1a", "General residential, planned", hatch=(128, 101, 77)))
    assert assign_class(list(base), "", legend)["class_code"] is None
    props = assign_class(list(base), "W1a", legend)
    assert (props["class_code"], props["class_source"]) == ("W1a", "both")
    assert props["class_distance"] == 0.0
    # a hatched swatch whose base colour no other swatch shares is matched by colour: on synth
    # pages hatched zones' dominant colour stays within 3.5 of the base fill (scans)
    alone = _legend(_entry(base, "W1a", hatch=(128, 101, 77)), _entry(BLUE, "G1"))
    assert assign_class([230, 186, 140], "", alone)["class_code"] == "W1a"


def test_repeated_swatch_colours_decided_by_text_or_none() -> None:
    legend = _legend(_entry(PINK, "B2", "Business"), _entry(PINK, "C1", "Commercial"),
                     _entry(YELLOW, "R1", "Residential"))
    assert assign_class(list(PINK), "", legend)["class_code"] is None
    assert assign_class(list(PINK), "C1", legend)["class_code"] == "C1"
    # the same class listed twice (e.g. two legends on the sheet) is not ambiguous
    twice = _legend(_entry(PINK, "B2", "Business"), _entry(PINK, "B2", "Business"))
    assert assign_class(list(PINK), "", twice)["class_code"] == "B2"


def test_code_in_zone_decides_where_no_colour_is_near() -> None:
    grey = [128, 128, 128]  # far from every swatch
    assert assign_class(grey, "", PLAN)["class_code"] is None
    props = assign_class(grey, "R1", PLAN)
    assert (props["class_code"], props["class_source"]) == ("R1", "text")
    assert props["class_distance"] > 20
    assert assign_class(None, "R1", PLAN)["class_distance"] is None  # no colour to measure


def test_a_clear_colour_is_not_overruled_by_other_codes_written_inside() -> None:
    # Plochingen: a Gemeinbedarf area (exact swatch colour) carries the codes of the rights
    # of way and planting rules drawn over it, whose swatches are white with black hatch
    overlay = (255, 255, 255)
    legend = _legend(_entry(PINK, None, "Fläche für Gemeinbedarf"),
                     _entry(overlay, "GR", "Gehrecht", hatch=(0, 0, 0)),
                     _entry(overlay, "Pfb 1", "Pflanzbindung", hatch=(0, 0, 0)))
    props = assign_class(list(PINK), "Lärmschutzwall Pfb 1 GR 3533", legend)
    assert (props["class_label"], props["class_source"]) == ("Fläche für Gemeinbedarf",
                                                             "colour")
    props = assign_class(list(BLUE), "R1", PLAN)  # one code of another class: colour still
    assert (props["class_code"], props["class_source"]) == ("G1", "colour")


def test_several_codes_in_zone_narrow_close_colours() -> None:
    props = assign_class(list(PINK), "R1 B2", PLAN)
    assert (props["class_code"], props["class_source"]) == ("B2", "both")
    b1, b2 = (242, 158, 158), (240, 155, 157)  # too close for colour alone
    legend = _legend(_entry(b1, "B1"), _entry(b2, "B2"), _entry(YELLOW, "R1"),
                     _entry(BLUE, "G1"))
    props = assign_class([241, 157, 158], "R1 B2", legend)
    assert (props["class_code"], props["class_source"]) == ("B2", "both")
    # neither close swatch's code is among those written: no guess
    assert assign_class([241, 157, 158], "R1 G1", legend)["class_code"] is None


def test_assign_classes_equals_one_by_one() -> None:
    fills = [[248, 228, 143], None, list(PINK), [10, 10, 10]]
    texts = ["", "G1", "B2", ""]
    batch = assign_classes(fills, texts, PLAN)
    assert batch == [assign_class(f, t, PLAN) for f, t in zip(fills, texts, strict=True)]
    assert [p["class_code"] for p in batch] == ["R1", "G1", "B2", None]


def _props(code, label, rgb) -> dict:
    return {"class_code": code, "class_label": label, "class_rgb": rgb}


def test_categories_sorted_by_code_then_label_in_any_order() -> None:
    items = [_props("R1", "Residential", [250, 230, 140]), _props("B2", "Business", [1, 2, 3]),
             _props("B2", "Business", [242, 158, 158]),
             _props("B2", "Business", [242, 158, 158]), _props(None, None, None),
             _props("B2", "Bureaux", [9, 9, 9]), _props(None, None, [10, 20, 30])]
    expected = build_categories(items)
    for order in itertools.permutations(items):
        assert build_categories(order) == expected
    assert expected[0] == {"id": 1, "name": "zone"}
    assert [(c["id"], c["name"]) for c in expected[1:]] == [
        (2, "#0a141e"), (3, "B2 Bureaux"), (4, "B2 Business"), (5, "R1 Residential")]
    business = expected[3]
    assert (business["code"], business["label"], business["color"]) == (
        "B2", "Business", [242, 158, 158])  # the most frequent swatch colour
    assert expected[1]["code"] is None and expected[1]["color"] == [10, 20, 30]
    ids = category_ids(expected)
    assert ids[("B2", "Business", "")] == 4 and ids[("", "", "#0a141e")] == 2


def test_categories_of_no_classes_is_zone_only() -> None:
    assert build_categories([]) == [{"id": 1, "name": "zone"}]
    assert np.all([c["id"] == 1 for c in build_categories([_props(None, None, None)])])


# two close shades of one family, as a scan reads them: < 3 ΔE apart, each zone colour alone
# within class_ambiguous_delta_e of both swatches
R1_SCAN, R2_SCAN, R3_SCAN = (232, 184, 140), (226, 178, 136), (231, 182, 143)
R1_ZONE, R2_ZONE = [234, 186, 142], [224, 176, 135]


def _scanned(*entries: LegendEntry) -> PageLegend:
    return PageLegend(entries=list(entries), source="raster", notes=[])


def test_page_colours_resolve_close_shades_one_to_one() -> None:
    """A page that shows both shades tells them apart by matching its zone colours to the
    swatches one-to-one; each zone alone is ambiguous."""
    entries = (_entry(R1_SCAN, "R1"), _entry(R2_SCAN, "R2"), _entry(BLUE, "G1"))
    config = ExportConfig()
    for fill in (R1_ZONE, R2_ZONE):
        near = sorted(delta_e_2000(fill, [R1_SCAN, R2_SCAN]))
        assert near[1] - near[0] < config.class_ambiguous_delta_e
        assert assign_class(fill, "", _scanned(*entries))["class_code"] is None
    fills = [R1_ZONE, R2_ZONE, R1_ZONE, R2_ZONE, [160, 195, 240], None]
    page = assign_classes(fills, [""] * len(fills), _scanned(*entries))
    assert [p["class_code"] for p in page] == ["R1", "R2", "R1", "R2", "G1", None]
    assert {p["class_source"] for p in page[:4]} == {"colour"}
    assert page[1]["class_distance"] == pytest.approx(
        float(delta_e_2000(R2_ZONE, [R2_SCAN])[0]), abs=0.01)
    # vector legends are exact: their results never come from the page's colours
    vector = assign_classes(fills, [""] * len(fills), _legend(*entries))
    assert [p["class_code"] for p in vector] == [None, None, None, None, "G1", None]


def test_page_colours_never_guess_without_a_one_to_one_match() -> None:
    """Only one shade on the page, or a close swatch no colour on the page claims: the
    page cannot tell the classes apart, so the zones stay unclassified."""
    two = _scanned(_entry(R1_SCAN, "R1"), _entry(R2_SCAN, "R2"), _entry(BLUE, "G1"))
    for fill in (R1_ZONE, R2_ZONE, [229, 181, 138]):
        alone = assign_classes([fill, fill, [160, 195, 240]], ["", "", ""], two)
        assert [p["class_code"] for p in alone] == [None, None, "G1"]
    three = _scanned(_entry(R1_SCAN, "R1"), _entry(R2_SCAN, "R2"), _entry(R3_SCAN, "R3"))
    fill_r3 = delta_e_2000(R1_ZONE, [R1_SCAN, R2_SCAN, R3_SCAN])
    assert fill_r3[2] - fill_r3[0] < ExportConfig().class_ambiguous_delta_e
    page = assign_classes([R1_ZONE, R2_ZONE], ["", ""], three)
    assert [p["class_code"] for p in page] == [None, None]
