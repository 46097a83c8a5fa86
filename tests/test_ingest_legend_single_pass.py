"""The legend read in the vector reader's one pass over a page equals the legend read alone.

:func:`planseg.ingest.vector.read_vector_page` feeds every path to the legend's swatch
collector while it reads the zones (``VectorPage.legend``), so export does not interpret a big
map's content a second time; these tests hold that shortcut to the standalone reader on synth
pages (hatched swatches, codes in swatches), rotated pages drawn through a form (clips and
groups in the extended drawing list), bad input and the real maps.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pymupdf
import pytest

from planseg.export.config import ExportConfig
from planseg.export.document import PageSource, export_pdf_page
from planseg.infer.engines.vector import vector_plan
from planseg.ingest.documents import open_document
from planseg.ingest.legend import read_legend
from planseg.ingest.vector import read_vector_page
from planseg.synth.document import make_document
from tests.test_ingest_legend import ROWS, _legend_pdf

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
REALDATA = Path(__file__).resolve().parents[1].parent / "shared" / "realdata" / "planning"


def _synth(tmp_path: Path, seed: int) -> Path:
    document = make_document(np.random.default_rng([seed, 0]), dpi=30, style="vector",
                             sheet="A4")
    path = tmp_path / f"synth-{seed}.pdf"
    path.write_bytes(document.pdf)
    return path


def _rotated_legend_pdf(path: Path, rotate: int, origin=(60.0, 80.0)) -> Path:
    """A legend drawn upright as displayed, placed through a form on a /Rotate page; its
    second swatch hatched."""
    return _legend_pdf(path, ROWS, rotate=rotate, origin=origin, hatched=(1,))


def _assert_same_legend(path: Path) -> None:
    with open_document(path) as doc:
        for index in range(doc.page_count):
            alone = read_legend(doc, index)
            page = read_vector_page(doc, index, legend=True)
            if page.page_kind != "map":  # no polygons to classify: no legend read
                assert page.legend is None, (path.name, index)
            else:
                assert page.legend == alone, (path.name, index)
            listed = read_legend(doc, index, drawings=doc.load_page(index).get_drawings())
            assert listed == alone, (path.name, index)


@pytest.mark.parametrize("seed", [0, 4, 7, 14])
def test_synth_pages_read_the_same_legend_in_one_pass(tmp_path: Path, seed: int) -> None:
    path = _synth(tmp_path, seed)
    _assert_same_legend(path)
    with open_document(path) as doc:  # the synth map pages do have a legend
        legends = [read_vector_page(doc, i, legend=True).legend for i in range(doc.page_count)]
        assert any(legend is not None and legend.source == "vector" for legend in legends)


@pytest.mark.parametrize("rotate", [0, 90, 270])
def test_rotated_form_pages_read_the_same_legend_in_one_pass(tmp_path: Path,
                                                            rotate: int) -> None:
    path = _rotated_legend_pdf(tmp_path / f"rotated-{rotate}.pdf", rotate)
    _assert_same_legend(path)
    with open_document(path) as doc:
        legend = read_vector_page(doc, 0, legend=True).legend
    assert [e.code for e in legend.entries] == ["RS-2", "C-1", "B2", None]
    assert [e.hatch_rgb is not None for e in legend.entries] == [False, True, False, False]


def test_bad_pages_read_the_same_legend_in_one_pass(tmp_path: Path) -> None:
    outside = _rotated_legend_pdf(tmp_path / "outside.pdf", 0, origin=(60.0, 400.0))
    _assert_same_legend(outside)
    text = tmp_path / "text.pdf"
    pdf = pymupdf.open()
    pdf.new_page().insert_text((72, 72), "Zoning text without any legend")
    pdf.save(text)
    _assert_same_legend(text)


def test_a_page_needing_pixels_leaves_the_legend_to_the_raster_reader(tmp_path: Path) -> None:
    png = tmp_path / "map.png"
    source = _rotated_legend_pdf(tmp_path / "source.pdf", 0)
    with pymupdf.open(source) as pdf:
        pdf[0].get_pixmap(dpi=100).save(png)
    with open_document(png) as doc:
        assert read_vector_page(doc, 0, legend=True).legend is None  # no drawing: cannot say
        assert read_legend(doc, 0).source in ("raster", "raster-text")


def test_export_classes_are_the_same_with_the_engine_legend(tmp_path: Path) -> None:
    path = _synth(tmp_path, 7)
    with open_document(path) as doc:
        index = next(i for i in range(doc.page_count) if read_vector_page(doc, i).zones)
        page = read_vector_page(doc, index, legend=True)
        detections = vector_plan(doc, index, page, 30.0).detections
    config = ExportConfig(previews=False)
    properties = []
    for legend in (None, page.legend):
        source = PageSource(path, path.name, index, 30.0, 10**8, "vector", page.page_kind,
                            legend)
        features = export_pdf_page(source, detections, config, tmp_path).features
        properties.append([f.properties for f in features])
    assert properties[0] == properties[1]
    assert sum(p["class_code"] is not None for p in properties[0]) == len(properties[0])


@pytest.mark.skipif(not REALDATA.is_dir(), reason="no ../shared/realdata/planning")
@pytest.mark.parametrize("name", ["us_vt_newport_zoning.pdf", "us_vt_brattleboro_zoning.pdf",
                                  "us_vt_weston_zoning.pdf", "us_vt_strafford_zoning.pdf",
                                  "de_plochingen_bplan.pdf"])
def test_real_maps_read_the_same_legend_in_one_pass(name: str) -> None:
    with open_document(REALDATA / name) as doc:
        shared = read_vector_page(doc, 0, legend=True).legend
        assert shared == read_legend(doc, 0) and shared.source == "vector"
        assert read_vector_page(doc, 0).legend is None  # not asked for: not read
