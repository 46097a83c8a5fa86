"""``planseg synth``: the ground truth is checked against the rendered pixels and the PDFs.

Small A4 sheets at low dpi keep every test fast; one dataset per style is generated per
module and shared.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import cv2
import numpy as np
import pymupdf
import pytest
from pycocotools.coco import COCO
from typer.testing import CliRunner

from planseg.cli import app
from planseg.errors import ConfigError, ExitCode
from planseg.synth import generate

DPI = 60
SEED = 4  # 3 docs: text-only pages, a two-sheet plan, a map on page 3
runner = CliRunner()
# pycocotools 2.0.x on numpy 2 warns on every decode; not ours to fix
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


@pytest.fixture(scope="module")
def vector_ds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("vector")
    generate(out, docs=3, seed=SEED, dpi=DPI, sheet="A4")
    return out


@pytest.fixture(scope="module")
def scan_ds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("scan")
    generate(out, docs=2, seed=1, dpi=DPI, sheet="A4", style="scan")
    return out


def _coco(root: Path, split: str = "data") -> COCO:
    return COCO(str(root / split / "annotations.json"))


def _image_rgb(root: Path, split: str, image: dict) -> np.ndarray:
    bgr = cv2.imread(str(root / split / "images" / image["file_name"]))
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _word_mask(root: Path, image: dict) -> np.ndarray:
    """Pixels under (or next to) any word of the PDF page: the zone labels."""
    mask = np.zeros((image["height"], image["width"]), dtype=bool)
    scale = image["dpi"] / 72
    with pymupdf.open(root / "pdfs" / image["pdf"]) as doc:
        for word in doc[image["page"] - 1].get_text("words"):
            x0, y0, x1, y1 = (int(round(v * scale)) for v in word[:4])
            mask[max(0, y0 - 1):y1 + 2, max(0, x0 - 1):x1 + 2] = True
    return mask


def _on_fill_fraction(rgb: np.ndarray, mask: np.ndarray, fill_rgb: list[int],
                      tolerance: float) -> float:
    distance = np.linalg.norm(rgb[mask].astype(float) - np.array(fill_rgb), axis=1)
    return float((distance < tolerance).mean())


def _eroded(mask: np.ndarray, radius_px: int) -> np.ndarray:
    kernel = np.ones((2 * radius_px + 1, 2 * radius_px + 1), np.uint8)
    return cv2.erode(mask.astype(np.uint8), kernel).astype(bool)


def test_coco_loads_with_contract_fields(vector_ds: Path) -> None:
    coco = _coco(vector_ds)
    assert coco.loadCats(1) == [{"id": 1, "name": "zone", "supercategory": "zone"}]
    for image in coco.imgs.values():
        rgb = _image_rgb(vector_ds, "data", image)
        assert rgb.shape[:2] == (image["height"], image["width"])
        assert (vector_ds / "pdfs" / image["pdf"]).is_file()
        assert image["dpi"] == DPI and image["page"] >= 1
        assert image["file_name"] == f"{image['pdf'][:-4]}-p{image['page']}.png"
    for ann in coco.anns.values():
        mask = coco.annToMask(ann).astype(bool)
        rows, cols = np.nonzero(mask)
        x, y, w, h = ann["bbox"]
        assert (x, y, x + w, y + h) == (cols.min(), rows.min(), cols.max() + 1, rows.max() + 1)
        assert ann["area"] == mask.sum()
        assert ann["iscrowd"] == 0 and ann["category_id"] == 1
        assert ann["zone_code"][0].isalpha() and ann["zone_code"][1:].isdigit()
        category = coco.loadCats(ann["class_category_id"])[0]
        assert (category["zone_code"], category["zone_name"]) == (ann["zone_code"],
                                                                  ann["zone_name"])
        nominal = [int(category["color"][i:i + 2], 16) for i in (1, 3, 5)]
        assert max(abs(a - b) for a, b in zip(nominal, ann["fill_rgb"], strict=True)) <= 11


def test_masks_lie_on_their_zone_fill(vector_ds: Path) -> None:
    coco = _coco(vector_ds)
    checked = misplaced_fail = 0
    for image in coco.imgs.values():
        rgb = _image_rgb(vector_ds, "data", image)
        words = _word_mask(vector_ds, image)
        for ann in coco.loadAnns(coco.getAnnIds(imgIds=image["id"])):
            core = _eroded(coco.annToMask(ann), 2) & ~words  # off boundary strokes and labels
            if ann["hatched"] or core.sum() < 30:
                continue
            assert _on_fill_fraction(rgb, core, ann["fill_rgb"], 20) > 0.95, ann["id"]
            checked += 1
            # the check has teeth: the same mask 10 px off mostly leaves the zone's colour
            shifted = np.roll(core, 10, axis=1) & ~words
            misplaced_fail += _on_fill_fraction(rgb, shifted, ann["fill_rgb"], 20) <= 0.95
    assert checked >= 20 and misplaced_fail >= checked // 2


def test_masks_of_a_page_do_not_overlap(vector_ds: Path) -> None:
    coco = _coco(vector_ds)
    for image in coco.imgs.values():
        anns = coco.loadAnns(coco.getAnnIds(imgIds=image["id"]))
        if anns:
            cover = sum(coco.annToMask(a).astype(np.int32) for a in anns)
            assert cover.max() == 1


def test_every_zone_fill_drawn_in_the_map_is_annotated(vector_ds: Path) -> None:
    """Count the fill paths inside the map frame of the PDF: one per annotated zone."""
    coco = _coco(vector_ds)
    for image in coco.imgs.values():
        anns = coco.loadAnns(coco.getAnnIds(imgIds=image["id"]))
        if not anns:
            continue
        with pymupdf.open(vector_ds / "pdfs" / image["pdf"]) as doc:
            fills = [d for d in doc[image["page"] - 1].get_drawings() if d["fill"] is not None]
        frame = fills[0]["rect"]  # the map background is drawn first
        zone_fills = [d for d in fills[1:] if d["rect"] in frame + (-1, -1, 1, 1) and
                      d["rect"] != frame]
        assert len(zone_fills) == len(anns)
        drawn = sorted(tuple(round(c * 255) for c in d["fill"]) for d in zone_fills)
        assert drawn == sorted(tuple(a["fill_rgb"]) for a in anns)


def test_zones_count_holes_and_non_convex_shapes(vector_ds: Path) -> None:
    coco = _coco(vector_ds)
    holes = non_convex = 0
    for image in coco.imgs.values():
        anns = coco.loadAnns(coco.getAnnIds(imgIds=image["id"]))
        assert not anns or 8 <= len(anns) <= 30
        for ann in anns:
            mask = coco.annToMask(ann)
            contours, hierarchy = cv2.findContours(mask, cv2.RETR_CCOMP,
                                                   cv2.CHAIN_APPROX_SIMPLE)
            has_hole = bool((hierarchy[0][:, 3] >= 0).any())
            assert not has_hole or isinstance(ann["segmentation"], dict)
            holes += has_hole
            hull = cv2.convexHull(np.concatenate(contours))
            non_convex += mask.sum() < 0.9 * cv2.contourArea(hull)
    assert holes >= 1 and non_convex >= 1


def test_text_only_pages_have_no_annotations(vector_ds: Path) -> None:
    coco = _coco(vector_ds)
    maps: dict[str, int] = {}
    text_pages = 0
    for image in coco.imgs.values():
        with pymupdf.open(vector_ds / "pdfs" / image["pdf"]) as doc:
            text = doc[image["page"] - 1].get_text()
        count = len(coco.getAnnIds(imgIds=image["id"]))
        if "Textual provisions" in text:
            assert count == 0
            text_pages += 1
        else:
            assert "ZONING PLAN" in text and count >= 8  # the legend heading varies by seed
            maps[image["pdf"]] = maps.get(image["pdf"], 0) + 1
    # seed 4: text pages, a two-sheet document, a map on page 3 after two text pages
    assert text_pages >= 1 and len(maps) == 3 and max(maps.values()) == 2
    assert any(i["page"] == 3 and coco.getAnnIds(imgIds=i["id"]) for i in coco.imgs.values())


def test_zone_codes_are_pdf_text_inside_their_zone(vector_ds: Path) -> None:
    coco = _coco(vector_ds)
    labels = 0
    for image in coco.imgs.values():
        anns = coco.loadAnns(coco.getAnnIds(imgIds=image["id"]))
        if not anns:
            continue
        owner = np.zeros((image["height"], image["width"]), dtype=np.int64)
        for ann in anns:
            owner[coco.annToMask(ann).astype(bool)] = ann["id"]
        codes = {a["id"]: a["zone_code"] for a in anns}
        scale = image["dpi"] / 72
        with pymupdf.open(vector_ds / "pdfs" / image["pdf"]) as doc:
            words = doc[image["page"] - 1].get_text("words")
        for x0, y0, x1, y1, text, *_ in words:
            col, row = int((x0 + x1) / 2 * scale), int((y0 + y1) / 2 * scale)
            on_zone = owner[row, col]
            if re.fullmatch(r"[A-Z][0-9]", text) and on_zone:  # a code on a zone is its own
                assert codes[on_zone] == text
                labels += 1
            if text in ("Street", "Road", "Avenue", "Lane"):  # street names stay on roads
                assert not on_zone
    assert labels >= 20


def test_same_seed_same_bytes_other_seed_differs(vector_ds: Path, tmp_path: Path) -> None:
    generate(tmp_path / "again", docs=3, seed=SEED, dpi=DPI, sheet="A4")
    generate(tmp_path / "other", docs=3, seed=SEED + 1, dpi=DPI, sheet="A4")
    first = (vector_ds / "data" / "annotations.json").read_bytes()
    assert (tmp_path / "again" / "data" / "annotations.json").read_bytes() == first
    assert (tmp_path / "other" / "data" / "annotations.json").read_bytes() != first
    for pdf in (vector_ds / "pdfs").iterdir():
        assert (tmp_path / "again" / "pdfs" / pdf.name).read_bytes() == pdf.read_bytes()


def test_scan_style_has_no_text_layer_and_aligned_truth(scan_ds: Path) -> None:
    for pdf in sorted((scan_ds / "pdfs").iterdir()):
        with pymupdf.open(pdf) as doc:
            for page in doc:
                assert page.get_text().strip() == ""
                assert not page.get_drawings() and len(page.get_images()) == 1
    coco = _coco(scan_ds)
    checked = 0
    for image in coco.imgs.values():
        rgb = _image_rgb(scan_ds, "data", image)
        for ann in coco.loadAnns(coco.getAnnIds(imgIds=image["id"])):
            core = _eroded(coco.annToMask(ann), 2)
            if ann["hatched"] or core.sum() < 30:
                continue  # labels are pixels now, hence the looser check below
            median = np.median(rgb[core].astype(float), axis=0)
            assert np.linalg.norm(median - ann["fill_rgb"]) < 15, ann["id"]
            assert _on_fill_fraction(rgb, core, ann["fill_rgb"], 40) > 0.75, ann["id"]
            checked += 1
    assert checked >= 10


def test_scan_truth_follows_the_skew(scan_ds: Path, tmp_path: Path) -> None:
    """Same seed, vector style: same zones; the scanned ground truth is moved by the skew."""
    generate(tmp_path, docs=2, seed=1, dpi=DPI, sheet="A4")
    scanned, vector = _coco(scan_ds), _coco(tmp_path)
    assert [a["zone_code"] for a in scanned.anns.values()] == [
        a["zone_code"] for a in vector.anns.values()]
    moved = [np.abs(np.subtract(a["bbox"], b["bbox"])).max()
             for a, b in zip(scanned.anns.values(), vector.anns.values(), strict=True)]
    assert max(moved) >= 2


def test_val_fraction_splits_by_document(tmp_path: Path) -> None:
    summary = generate(tmp_path, docs=3, seed=2, dpi=30, sheet="A4", val_fraction=0.34)
    assert set(summary.annotations) == {"train", "val"} and not (tmp_path / "data").exists()
    pdfs = {}
    for split in ("train", "val"):
        data = json.loads((tmp_path / split / "annotations.json").read_text())
        pdfs[split] = {image["pdf"] for image in data["images"]}
        for image in data["images"]:
            assert (tmp_path / split / "images" / image["file_name"]).is_file()
    assert len(pdfs["val"]) == 1 and len(pdfs["train"]) == 2
    assert pdfs["train"] | pdfs["val"] == {p.name for p in (tmp_path / "pdfs").iterdir()}


def test_default_sheets_are_a3_or_a2_landscape_maps(tmp_path: Path) -> None:
    generate(tmp_path, docs=4, seed=0, dpi=12)
    sizes = set()
    for pdf in (tmp_path / "pdfs").iterdir():
        with pymupdf.open(pdf) as doc:
            sizes |= {(round(p.rect.width), round(p.rect.height)) for p in doc
                      if "ZONING PLAN" in p.get_text()}
    assert sizes <= {(1191, 842), (1684, 1191)} and sizes


def test_bad_values_are_reported_together(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        generate(tmp_path / "o", docs=0, seed=0, dpi=5, val_fraction=1.5)
    assert all(key in str(error.value) for key in ("docs", "dpi", "val_fraction"))


def test_cli_writes_the_dataset_and_resolved_config(tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["synth", str(out), "--docs", "2", "--seed", "3", "--dpi", "30", "--sheet", "A4"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (out / "pdfs").iterdir()) == ["doc-000.pdf", "doc-001.pdf"]
    data = json.loads((out / "data" / "annotations.json").read_text())
    assert data["annotations"] and (out / "synth.yaml").read_text().startswith(f"out_dir: {out}")
    # re-running over a previous synth run replaces it (no stale documents left behind)
    result = runner.invoke(app, [*args[:3], "1", *args[4:]])
    assert result.exit_code == 0
    assert [p.name for p in (out / "pdfs").iterdir()] == ["doc-000.pdf"]


def test_cli_refuses_a_foreign_folder_and_bad_flags(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    result = runner.invoke(app, ["synth", str(tmp_path), "--docs", "1"])
    assert result.exit_code == ExitCode.usage and "synth.yaml" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
    result = runner.invoke(app, ["synth", str(tmp_path / "o"), "--docs", "0"])
    assert result.exit_code == ExitCode.usage and "docs" in result.output
    result = runner.invoke(app, ["synth", str(tmp_path / "o"), "--style", "watercolour"])
    assert result.exit_code == ExitCode.usage


def test_interrupted_rerun_keeps_the_previous_dataset(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Fault injection: the second document of a re-run fails half-way."""
    import planseg.synth.dataset as dataset

    generate(tmp_path, docs=2, seed=0, dpi=20, sheet="A4")
    before = (tmp_path / "data" / "annotations.json").read_bytes()
    real, calls = dataset.make_document, []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real(*args, **kwargs)

    monkeypatch.setattr(dataset, "make_document", failing)
    with pytest.raises(OSError):
        generate(tmp_path, docs=3, seed=1, dpi=20, sheet="A4")
    assert (tmp_path / "data" / "annotations.json").read_bytes() == before
    assert sorted(p.name for p in (tmp_path / "pdfs").iterdir()) == ["doc-000.pdf", "doc-001.pdf"]
    monkeypatch.setattr(dataset, "make_document", real)
    generate(tmp_path, docs=3, seed=1, dpi=20, sheet="A4")  # the leftovers do not block it
    assert len(list((tmp_path / "pdfs").iterdir())) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "pdfs", "synth.yaml"]
