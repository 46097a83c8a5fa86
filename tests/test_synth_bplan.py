"""``planseg synth --look bplan``: a Bebauungsplan drawing of the classic layout that
``planseg label`` still reads exactly (issue 19's new style family).

Small A4 sheets at low dpi keep the tests fast; one dataset per style is made per module.
"""

from __future__ import annotations

import json
from pathlib import Path

import pymupdf
import pytest
import yaml
from typer.testing import CliRunner

from planseg.cli import app
from planseg.config import load_config
from planseg.export.label import run as label_run
from planseg.export.label_config import LabelConfig
from planseg.export.metrics import class_metrics, coco_metrics
from planseg.synth import generate

DPI = 60
SEED = 4  # 3 docs: text-only pages, a two-sheet plan, a map on page 3 (as test_synth)
runner = CliRunner()
# pycocotools 2.0.x on numpy 2 warns on every decode; not ours to fix
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


@pytest.fixture(scope="module")
def bplan_ds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bplan")
    generate(out, docs=3, seed=SEED, dpi=DPI, sheet="A4", look="bplan")
    return out


def _json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _map_pages(root: Path) -> list[tuple[str, int]]:
    coco = _json(root / "data" / "annotations.json")
    zoned = {a["image_id"] for a in coco["annotations"]}
    return [(i["pdf"], i["page"]) for i in coco["images"] if i["id"] in zoned]


def test_label_reads_bplan_pages_against_the_generators_truth(bplan_ds: Path,
                                                              tmp_path: Path) -> None:
    """Dense signatures, parcels, envelopes and casings are line work: every zone is still
    one fill, and the legend (same tints, same signatures) still names its class."""
    summary = label_run(load_config(LabelConfig, None, {
        "inputs": [bplan_ds / "pdfs"], "out": tmp_path / "out", "dpi": DPI, "workers": 1}))
    assert summary.failures == [] and summary.labelled == len(_map_pages(bplan_ds))
    gt = _json(bplan_ds / "data" / "annotations.json")
    labels = _json(tmp_path / "out" / "data" / "annotations.json")
    metrics = coco_metrics(gt, labels)
    assert metrics["ap50"] >= 0.98 and metrics["matched_fraction"] >= 0.98, metrics
    assert metrics["unmatched_pred_pages"] == 0
    assert class_metrics(gt, labels)["class_accuracy"] >= 0.98


def test_bplan_draws_the_classic_layout_with_its_own_line_work(bplan_ds: Path,
                                                               tmp_path: Path) -> None:
    """Same seed: the zones (masks) are the classic look's, the drawing is not: pale tints,
    most zones under a signature, and far more strokes (parcels, envelopes, casings)."""
    generate(tmp_path / "classic", docs=3, seed=SEED, dpi=DPI, sheet="A4")
    bplan = _json(bplan_ds / "data" / "annotations.json")
    classic = _json(tmp_path / "classic" / "data" / "annotations.json")
    assert [(a["image_id"], a["area"], a["zone_code"]) for a in bplan["annotations"]] == [
        (a["image_id"], a["area"], a["zone_code"]) for a in classic["annotations"]]
    assert bplan["info"]["look"] == "bplan" and "look" not in classic["info"]
    # tints are at least 45% white
    assert min(min(a["fill_rgb"]) for a in bplan["annotations"]) >= 0.55 * 255
    assert sum(a["hatched"] for a in bplan["annotations"]) >= 0.6 * len(bplan["annotations"])
    for pdf, page_number in _map_pages(bplan_ds):
        with (pymupdf.open(bplan_ds / "pdfs" / pdf) as ours,
              pymupdf.open(tmp_path / "classic" / "pdfs" / pdf) as theirs):
            strokes = sum(len(d["items"]) for d in ours[page_number - 1].get_drawings()
                          if d["type"] == "s")
            before = sum(len(d["items"]) for d in theirs[page_number - 1].get_drawings()
                         if d["type"] == "s")
            assert strokes > 5 * before
            # no stroke wide enough to cut a fill in the vector reader (2.5 pt)
            assert max(d["width"] or 0 for d in ours[page_number - 1].get_drawings()
                       if d["type"] == "s") < 2.5


def test_bplan_same_seed_same_bytes(bplan_ds: Path, tmp_path: Path) -> None:
    generate(tmp_path, docs=3, seed=SEED, dpi=DPI, sheet="A4", look="bplan")
    for pdf in (bplan_ds / "pdfs").iterdir():
        assert (tmp_path / "pdfs" / pdf.name).read_bytes() == pdf.read_bytes()
    assert ((tmp_path / "data" / "annotations.json").read_bytes()
            == (bplan_ds / "data" / "annotations.json").read_bytes())


def test_cli_look_bplan_with_scan_style(tmp_path: Path) -> None:
    """``--look bplan --style scan``: image-only pages whose truth is the vector look's zones
    moved by the skew (same zone codes, same count)."""
    out = tmp_path / "scan"
    result = runner.invoke(app, ["synth", str(out), "--docs", "2", "--seed", "1", "--dpi",
                                 "30", "--sheet", "A4", "--look", "bplan", "--style", "scan"])
    assert result.exit_code == 0, result.output
    assert yaml.safe_load((out / "synth.yaml").read_text())["look"] == "bplan"
    for pdf in (out / "pdfs").iterdir():
        with pymupdf.open(pdf) as doc:
            assert all(not page.get_drawings() and len(page.get_images()) == 1 for page in doc)
    generate(tmp_path / "vector", docs=2, seed=1, dpi=30, sheet="A4", look="bplan")
    scanned = _json(out / "data" / "annotations.json")["annotations"]
    vector = _json(tmp_path / "vector" / "data" / "annotations.json")["annotations"]
    assert [a["zone_code"] for a in scanned] == [a["zone_code"] for a in vector]
    result = runner.invoke(app, ["synth", str(tmp_path / "o"), "--look", "watercolour"])
    assert result.exit_code != 0


def test_lineplan_is_the_same_plan_in_black_and_white(bplan_ds: Path, tmp_path: Path) -> None:
    """``--look lineplan``: the bplan layout (same zones, same truth) printed in black and
    white: no coloured pixel, and no vector zones worth reading (a white fill is paper)."""

    from planseg.infer.config import SegmentConfig
    from planseg.ingest.documents import open_document
    from planseg.ingest.render import render_page
    from planseg.ingest.vector import read_vector_page

    generate(tmp_path / "lp", docs=3, seed=SEED, dpi=DPI, sheet="A4", look="lineplan")
    bplan = _json(bplan_ds / "data" / "annotations.json")
    lineplan = _json(tmp_path / "lp" / "data" / "annotations.json")
    assert [a["segmentation"] for a in lineplan["annotations"]] == \
        [a["segmentation"] for a in bplan["annotations"]]
    maps = {(im["pdf"], im["page"]) for im in lineplan["images"]
            if any(a["image_id"] == im["id"] for a in lineplan["annotations"])}
    assert maps
    for pdf, page_number in sorted(maps):
        with open_document(tmp_path / "lp" / "pdfs" / pdf) as doc:
            image = render_page(doc, page_number - 1, dpi=DPI).image.astype(int)
            assert (image.max(axis=2) - image.min(axis=2)).max() <= 2  # grey only
            # at most a road background: auto reads such a page from its pixels
            assert read_vector_page(doc, page_number - 1).coverage < \
                SegmentConfig().vector_min_coverage
