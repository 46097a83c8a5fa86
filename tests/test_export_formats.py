"""Export of a synthetic plan: GeoJSON/GeoPackage read back by GDAL (pyogrio), COCO read
back by pycocotools, zone codes in ``text``, previews, empty documents, COCO merging."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pyogrio
import pyogrio.raw
import pytest
import shapely
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

from planseg import ingest
from planseg.export.coco import merge_coco, read_coco, write_coco
from planseg.export.config import ExportConfig
from planseg.export.document import export_document
from planseg.export.metrics import annotation_rle
from planseg.export.types import Detection, PageMasks
from planseg.synth import generate

DPI = 40.0
EXACT = {"simplify_px": 0.0, "min_area_px": 0.0}


@pytest.fixture(scope="module")
def synth_plan(tmp_path_factory) -> dict:
    """One synthetic A3 plan: its PDF, ground truth, and PageMasks whose detections are
    the ground-truth zones (so outputs can be checked against known masks)."""
    out = tmp_path_factory.mktemp("synth")
    generate(out, docs=1, seed=3, dpi=DPI, sheet="A3")
    gt = json.loads((out / "data" / "annotations.json").read_text())
    pages, sources = [], []
    for image in gt["images"]:
        anns = [a for a in gt["annotations"] if a["image_id"] == image["id"]]
        masks = [mask_utils.decode(annotation_rle(a, image["height"], image["width"]))
                 .astype(bool) for a in anns]
        raster = cv2.cvtColor(cv2.imread(str(out / "data" / "images" / image["file_name"])),
                              cv2.COLOR_BGR2RGB)
        pages.append(_page_masks(out / "pdfs" / image["pdf"], image, masks, raster))
        sources.append((anns, masks))
    return {"out": out, "gt": gt, "pages": pages, "sources": sources}


def _page_masks(pdf: Path, image: dict, masks: list[np.ndarray], raster: np.ndarray
                ) -> PageMasks:
    with ingest.open_document(pdf) as doc:  # the text layer and frames as segment sees them
        words = ingest.page_words(doc, image["page"] - 1)
        pixel_to_pdf, _ = ingest.page_transforms(doc, image["page"] - 1, DPI)
        assert ingest.page_pixel_size(doc, image["page"] - 1, DPI) == (image["width"],
                                                                         image["height"])
        assert ingest.read_georef(doc, image["page"] - 1) is None
    detections = [Detection.from_mask(m, score=0.5 + i / 100) for i, m in enumerate(masks)]
    return PageMasks(document=image["pdf"], page_number=image["page"],
                     width_px=image["width"], height_px=image["height"], dpi=DPI,
                     pixel_to_pdf=pixel_to_pdf, georef=None, words=words,
                     detections=detections, image=raster)


def _renamed(page: PageMasks, document: str, **changes) -> PageMasks:
    return PageMasks(**{**page.__dict__, "document": document, **changes})


def _read_geometries(path: Path) -> list:
    _, _, wkb, _ = pyogrio.raw.read(path)
    return list(shapely.from_wkb(wkb))


def test_geojson_and_gpkg_open_in_gdal_with_count_and_crs(synth_plan, tmp_path) -> None:
    pages = synth_plan["pages"]
    config = ExportConfig(formats=["geojson", "gpkg", "coco"], **EXACT)
    pages = [_renamed(p, "plans/doc-000.pdf") for p in pages]
    result = export_document(pages, tmp_path, config)
    zones = sum(len(p.detections) for p in pages)
    assert result.polygons == zones
    for suffix in ("geojson", "gpkg"):
        path = tmp_path / "plans" / f"doc-000.{suffix}"
        info = pyogrio.read_info(path)
        assert info["features"] == zones
        assert "planseg page points" in info["crs"]
        geometries = _read_geometries(path)
        assert len(geometries) == zones and all(g.is_valid for g in geometries)
    collection = json.loads((tmp_path / "plans" / "doc-000.geojson").read_text())
    assert collection["planseg:crs"]["frame"] == "page"
    feature = collection["features"][0]
    assert {"document", "page", "score", "predicted_iou", "stability_score", "area_pt2",
            "text", "fill_rgb"} <= set(feature["properties"])
    assert "area_m2" not in feature["properties"]  # not georeferenced


def test_page_frame_is_points_y_up(synth_plan, tmp_path) -> None:
    page = synth_plan["pages"][0]
    export_document([_renamed(page, "doc.pdf")], tmp_path,
                    ExportConfig(formats=["geojson"], **EXACT))
    export_document([_renamed(page, "px/doc.pdf")], tmp_path,
                    ExportConfig(formats=["geojson"], crs="pixel", **EXACT))
    in_pt = json.loads((tmp_path / "doc.geojson").read_text())["features"][0]
    in_px = json.loads((tmp_path / "px" / "doc.geojson").read_text())["features"][0]
    x0, y0, x1, y1 = shapely.geometry.shape(in_px["geometry"]).bounds
    scale, height_pt = 72 / DPI, page.height_px * 72 / DPI
    expected = (x0 * scale, height_pt - y1 * scale, x1 * scale, height_pt - y0 * scale)
    assert shapely.geometry.shape(in_pt["geometry"]).bounds == pytest.approx(expected)
    assert in_pt["properties"]["area_pt2"] == pytest.approx(
        shapely.geometry.shape(in_pt["geometry"]).area, rel=1e-6)
    assert "pixels at 40 dpi" in pyogrio.read_info(tmp_path / "px" / "doc.geojson")["crs"]


def test_coco_annotations_match_source_masks(synth_plan, tmp_path) -> None:
    config = ExportConfig(formats=["coco"], **EXACT)
    result = export_document(synth_plan["pages"], tmp_path, config)
    write_coco(tmp_path / "coco.json", merge_coco(None, [result.coco]))
    coco = COCO(str(tmp_path / "coco.json"))
    image = coco.loadImgs(coco.getImgIds())[0]
    assert image["file_name"] == "doc-000.pdf#page=1"
    assert (image["pdf"], image["page"], image["dpi"]) == ("doc-000.pdf", 1, DPI)
    _, masks = synth_plan["sources"][0]
    anns = coco.loadAnns(coco.getAnnIds(imgIds=[image["id"]]))
    assert len(anns) == len(masks)
    for ann, source in zip(anns, masks, strict=True):
        assert ann["category_id"] == 1 and ann["iscrowd"] == 0
        assert {"score", "predicted_iou", "stability_score", "bbox", "area"} <= set(ann)
        mask = coco.annToMask(ann).astype(bool)
        assert (mask & source).sum() / (mask | source).sum() >= 0.98
    assert coco.loadCats(1)[0]["name"] == "zone"


def test_zone_codes_and_fill_colours(synth_plan) -> None:
    from planseg.export.features import page_features

    anns, _ = synth_plan["sources"][0]
    features = page_features(synth_plan["pages"][0], ExportConfig())
    by_detection = {f.detection_index: f for f in features}
    checked = 0
    for index, ann in enumerate(anns):
        words = by_detection[index].properties["text"].split()
        assert ann["zone_code"] in words
        if not ann.get("hatched"):
            fill = np.array(by_detection[index].properties["fill_rgb"])
            assert np.abs(fill - np.array(ann["fill_rgb"])).max() <= 12
            checked += 1
    assert checked > 0


def test_empty_document_gives_valid_empty_outputs(synth_plan, tmp_path) -> None:
    page = synth_plan["pages"][0]
    empty = _renamed(page, "empty.pdf", detections=[])
    config = ExportConfig(formats=["geojson", "gpkg", "coco"], previews=True)
    result = export_document([empty], tmp_path, config)
    for suffix in ("geojson", "gpkg"):
        assert pyogrio.read_info(tmp_path / f"empty.{suffix}")["features"] == 0
    collection = json.loads((tmp_path / "empty.geojson").read_text())
    assert collection["type"] == "FeatureCollection" and collection["features"] == []
    assert len(result.coco["images"]) == 1 and result.coco["annotations"] == []
    assert (tmp_path / "previews" / "empty-p1.png").is_file()


def test_preview_overlay(synth_plan, tmp_path) -> None:
    page = synth_plan["pages"][0]
    export_document([_renamed(page, "a/doc.pdf")], tmp_path,
                    ExportConfig(formats=[], previews=True, preview_opacity=0.8))
    preview = cv2.imread(str(tmp_path / "previews" / "a" / "doc-p1.png"))
    assert preview.shape[:2] == (page.height_px, page.width_px)
    assert np.abs(preview.astype(int)[..., ::-1] - page.image).mean() > 5


def test_partitioned_export_does_not_overlap(synth_plan, tmp_path) -> None:
    page = synth_plan["pages"][0]
    bigger = [Detection.from_mask(cv2.dilate(mask.astype(np.uint8), np.ones((9, 9))) > 0,
                                  score=0.5 + i / 100)
              for i, mask in enumerate(synth_plan["sources"][0][1])]
    export_document([_renamed(page, "doc.pdf", detections=bigger)], tmp_path,
                    ExportConfig(formats=["geojson"], partition=True))
    geometries = _read_geometries(tmp_path / "doc.geojson")
    union = shapely.union_all(geometries)
    assert sum(g.area for g in geometries) - union.area < 1e-6 * union.area
    assert all(g.is_valid for g in geometries)


def test_merge_coco_replaces_a_documents_pages(synth_plan) -> None:
    page = synth_plan["pages"][0]
    config = ExportConfig(formats=["coco"])
    first = export_document([_renamed(page, "b.pdf")], Path("/nonexistent"), config).coco
    other = export_document([_renamed(page, "a.pdf")], Path("/nonexistent"), config).coco
    merged = merge_coco(merge_coco(None, [first]), [other])
    assert [im["pdf"] for im in merged["images"]] == ["a.pdf", "b.pdf"]
    fewer = _renamed(page, "b.pdf", detections=page.detections[:2])
    again = merge_coco(merged, [export_document([fewer], Path("/x"), config).coco])
    assert len(again["images"]) == 2
    b_id = next(im["id"] for im in again["images"] if im["pdf"] == "b.pdf")
    assert sum(a["image_id"] == b_id for a in again["annotations"]) == 2
    assert [a["id"] for a in again["annotations"]] == list(range(1, len(again["annotations"]) + 1))


def test_read_coco_rejects_non_coco(tmp_path) -> None:
    from planseg.errors import DatasetError

    (tmp_path / "x.json").write_text('{"images": 3}')
    with pytest.raises(DatasetError, match="annotations"):
        read_coco(tmp_path / "x.json")


def test_update_coco_file_keeps_every_page_processed_so_far(synth_plan, tmp_path) -> None:
    from planseg.export.coco import update_coco_file

    page = synth_plan["pages"][0]
    config = ExportConfig(formats=["coco"])
    path = tmp_path / "coco.json"
    for name in ("b.pdf", "a.pdf", "b.pdf"):  # b is redone: its page must not double
        update_coco_file(path, [export_document([_renamed(page, name)], tmp_path, config).coco])
    coco = COCO(str(path))
    assert sorted(im["file_name"] for im in coco.dataset["images"]) == [
        "a.pdf#page=1", "b.pdf#page=1"]
    assert len(coco.dataset["annotations"]) == 2 * len(page.detections)
    update_coco_file(path, [], drop_pdfs=["a.pdf"])
    assert [im["pdf"] for im in read_coco(path)["images"]] == ["b.pdf"]


def test_multi_page_document_ids_and_separately_vectorised_pages(synth_plan, tmp_path) -> None:
    from planseg.export.document import PageExport, write_document
    from planseg.export.features import page_features

    first = _renamed(synth_plan["pages"][0], "two.pdf")
    second = _renamed(first, "two.pdf", page_number=2)
    config = ExportConfig(formats=["geojson", "coco"])
    whole = export_document([first, second], tmp_path / "whole", config)
    # the segment runner's way: pages vectorised apart (workers), numbered and written once
    exports = [PageExport(page, page_features(page, config)) for page in (first, second)]
    parts = write_document(exports, config, tmp_path / "parts")
    for folder in ("whole", "parts"):
        collection = json.loads((tmp_path / folder / "two.geojson").read_text())
        ids = [f["id"] for f in collection["features"]]
        assert ids == list(range(1, 2 * len(first.detections) + 1))
        assert [f["properties"]["page"] for f in collection["features"]].count(2) == len(
            first.detections)
    assert whole.coco == parts.coco
    assert [im["file_name"] for im in whole.coco["images"]] == ["two.pdf#page=1",
                                                                 "two.pdf#page=2"]


# --- legend classes in every format ---------------------------------------------------------

def _gt_legend(anns: list[dict]):
    """The page legend as the legend reader would give it, from the synth GT's classes."""
    from planseg.ingest.legend_types import LegendEntry, PageLegend

    colours = {a["zone_code"]: tuple(a["fill_rgb"]) for a in anns}
    return PageLegend(entries=[LegendEntry(rgb=rgb, hatch_rgb=None, code=code,
                                           label=f"Zone {code}", box_pt=(0, 0, 20, 10))
                               for code, rgb in sorted(colours.items())], source="vector")


def _classified_features(page: PageMasks, anns: list[dict], config: ExportConfig,
                         legend=None) -> list:
    """The pipeline's way: vectorise, then assign each polygon a class from the legend."""
    from planseg.export.classes import assign_classes
    from planseg.export.features import page_features

    features = page_features(page, config)
    classes = assign_classes([f.properties.get("fill_rgb") for f in features],
                             [f.properties["text"] for f in features],
                             _gt_legend(anns) if legend is None else legend, config)
    for feature, props in zip(features, classes, strict=True):
        feature.properties.update(props)
    return features


def _write_formats(out: Path, page: PageMasks, features: list, formats: list[str]) -> None:
    """GeoJSON / GeoPackage of a one-page document, straight through the writers."""
    from planseg.export.crs import resolve_frame
    from planseg.export.geojson import feature_collection, write_geojson
    from planseg.export.gpkg import write_gpkg

    stem = Path(page.document).stem
    if "geojson" in formats:
        write_geojson(out / f"{stem}.geojson",
                      feature_collection([page], [features], resolve_frame("auto", [page])))
    if "gpkg" in formats:
        write_gpkg(out / f"{stem}.gpkg", [page], [features],
                   resolve_frame("auto", [page], native=True))


def _write_classified(synth_plan, out: Path, document: str,
                      config: ExportConfig) -> tuple[PageMasks, list]:
    anns, _ = synth_plan["sources"][0]
    page = _renamed(synth_plan["pages"][0], document)
    features = _classified_features(page, anns, config)
    _write_formats(out, page, features, config.formats)
    return page, features


def test_classes_read_back_by_gdal_from_geojson_and_gpkg(synth_plan, tmp_path) -> None:
    config = ExportConfig(formats=["geojson", "gpkg"], **EXACT)
    _, features = _write_classified(synth_plan, tmp_path, "cls.pdf", config)
    anns, _ = synth_plan["sources"][0]
    expected = [anns[f.detection_index]["zone_code"] for f in features]
    assert [f.properties["class_source"] for f in features] == ["both"] * len(features)
    for suffix in ("geojson", "gpkg"):
        path = tmp_path / f"cls.{suffix}"
        _, _, _, values = pyogrio.raw.read(path, layer="cls")
        fields = list(pyogrio.read_info(path, layer="cls")["fields"])
        column = dict(zip(fields, values, strict=True))
        assert list(column["class_code"]) == expected, suffix
        assert list(column["class_label"]) == [f"Zone {c}" for c in expected]
        assert set(column["class_source"]) == {"both"}
        assert np.all(np.asarray(column["class_distance"], float) <= config.class_max_delta_e)
    collection = json.loads((tmp_path / "cls.geojson").read_text())
    for feature, ann in zip(collection["features"],
                            [anns[f.detection_index] for f in features], strict=True):
        assert feature["properties"]["class_rgb"] == ann["fill_rgb"]
        colour = "#{:02x}{:02x}{:02x}".format(*ann["fill_rgb"])
        assert (feature["properties"]["fill"], feature["properties"]["stroke"]) == (colour,
                                                                                    colour)


def test_unclassified_columns_keep_their_types_in_gpkg(synth_plan, tmp_path) -> None:
    """A document where no polygon has a class (no legend): the class columns exist in the
    GeoPackage as TEXT / REAL, every value null; GeoJSON still styles by fill colour."""
    from planseg.ingest.legend_types import PageLegend

    anns, _ = synth_plan["sources"][0]
    page = _renamed(synth_plan["pages"][0], "plain.pdf")
    config = ExportConfig(formats=["geojson", "gpkg"], **EXACT)
    features = _classified_features(page, anns, config, legend=PageLegend())
    _write_formats(tmp_path, page, features, config.formats)
    info = pyogrio.read_info(tmp_path / "plain.gpkg", layer="plain")
    types = dict(zip(info["fields"], info["dtypes"], strict=True))
    assert [types[k] for k in ("class_code", "class_label", "class_rgb", "class_source",
                               "class_distance")] == ["object"] * 4 + ["float64"]
    _, _, _, values = pyogrio.raw.read(tmp_path / "plain.gpkg", layer="plain")
    column = dict(zip(info["fields"], values, strict=True))
    assert all(v is None for v in column["class_code"])
    assert np.isnan(np.asarray(column["class_distance"], float)).all()
    feature = json.loads((tmp_path / "plain.geojson").read_text())["features"][0]
    assert feature["properties"]["class_code"] is None
    assert feature["properties"]["fill"] == "#{:02x}{:02x}{:02x}".format(
        *feature["properties"]["fill_rgb"])


def test_gpkg_carries_a_qgis_style_naming_every_class(synth_plan, tmp_path) -> None:
    import sqlite3
    import xml.etree.ElementTree as ET

    config = ExportConfig(formats=["gpkg"], **EXACT)
    _, features = _write_classified(synth_plan, tmp_path, "styled.pdf", config)
    codes = sorted({f.properties["class_code"] for f in features})
    with sqlite3.connect(tmp_path / "styled.gpkg") as db:
        rows = db.execute("SELECT f_table_name, f_geometry_column, styleName, styleQML, "
                          "useAsDefault FROM layer_styles").fetchall()
        geometry_column = db.execute("SELECT column_name FROM gpkg_geometry_columns WHERE "
                                     "table_name = 'styled'").fetchone()[0]
    assert len(rows) == 1
    table, column, _, qml, default = rows[0]
    assert (table, column, default) == ("styled", geometry_column, 1)
    renderer = ET.fromstring(qml).find("renderer-v2")
    assert (renderer.get("type"), renderer.get("attr")) == ("categorizedSymbol", "class_code")
    categories = {c.get("value"): c for c in renderer.iter("category")}
    assert sorted(v for v in categories if v) == codes
    symbols = {s.get("name"): s for s in renderer.find("symbols")}
    for feature in features:
        category = categories[feature.properties["class_code"]]
        colour = symbols[category.get("symbol")].find("layer/Option/Option[@name='color']")
        assert colour.get("value") == ",".join(map(str, feature.properties["class_rgb"])) + ",255"
    # GDAL lists the style table next to the features and reads the same row
    layers = [name for name, _ in pyogrio.list_layers(tmp_path / "styled.gpkg")]
    assert layers == ["styled", "layer_styles"]
    _, _, _, values = pyogrio.raw.read(tmp_path / "styled.gpkg", layer="layer_styles",
                                       read_geometry=False)
    info = pyogrio.read_info(tmp_path / "styled.gpkg", layer="layer_styles")
    style = dict(zip(info["fields"], (v[0] for v in values), strict=True))
    assert style["f_table_name"] == "styled" and style["styleQML"] == qml
    assert {"f_table_catalog", "f_table_schema", "styleSLD", "description", "owner", "ui",
            "update_time"} <= set(style)


def _coco_file(synth_plan, out: Path, order: list[str], split: int) -> bytes:
    """coco.json after documents "a.pdf" (first ``split`` zones) and "b.pdf" (the rest,
    other classes) were merged in ``order``."""
    from planseg.export.coco import document_coco, update_coco_file

    anns, _ = synth_plan["sources"][0]
    config = ExportConfig(formats=["coco"], **EXACT)
    page = synth_plan["pages"][0]
    parts = {}
    for name, keep in (("a.pdf", slice(None, split)), ("b.pdf", slice(split, None))):
        part = _renamed(page, name, detections=page.detections[keep])
        features = _classified_features(part, anns, config)
        parts[name] = document_coco([part], [features])
    for name in order:
        update_coco_file(out / "coco.json", [parts[name]])
    return (out / "coco.json").read_bytes()


def test_coco_categories_merge_by_code_and_name_in_either_order(synth_plan, tmp_path) -> None:
    anns, _ = synth_plan["sources"][0]
    split = len(anns) // 2
    first = _coco_file(synth_plan, tmp_path / "ab", ["a.pdf", "b.pdf"], split)
    second = _coco_file(synth_plan, tmp_path / "ba", ["b.pdf", "a.pdf"], split)
    again = _coco_file(synth_plan, tmp_path / "ba", ["b.pdf", "a.pdf"], split)  # a re-run
    assert first == second == again
    coco = COCO(str(tmp_path / "ab" / "coco.json"))
    categories = coco.dataset["categories"]
    codes = sorted({a["zone_code"] for a in anns})
    assert categories[0]["name"] == "zone" and categories[0]["id"] == 1
    assert [c["code"] for c in categories[1:]] == codes  # one per code, both documents'
    assert [c["id"] for c in categories] == list(range(1, len(codes) + 2))
    colours = {a["zone_code"]: a["fill_rgb"] for a in anns}
    assert all(c["color"] == colours[c["code"]] for c in categories[1:])
    by_code = {c["code"]: c["id"] for c in categories[1:]}
    for ann in coco.dataset["annotations"]:
        assert ann["category_id"] == by_code[ann["class_code"]]
    assert len(coco.getAnnIds(catIds=[by_code[codes[0]]])) == sum(
        a["zone_code"] == codes[0] for a in anns)


def test_preview_fills_polygons_in_their_class_colour(synth_plan, tmp_path) -> None:
    from planseg.export.preview import write_preview

    page = synth_plan["pages"][0]
    anns, masks = synth_plan["sources"][0]
    features = _classified_features(page, anns, ExportConfig(**EXACT))
    marker = [0, 0, 255]  # no zone is pure blue: the fill must come from the class
    features[0].properties["class_rgb"] = marker
    write_preview(tmp_path / "p.png", page.image, features,
                  size_px=(page.width_px, page.height_px), opacity=1.0)
    preview = cv2.cvtColor(cv2.imread(str(tmp_path / "p.png")), cv2.COLOR_BGR2RGB)
    inside = cv2.erode(masks[features[0].detection_index].astype(np.uint8),
                       np.ones((5, 5), np.uint8)).astype(bool)
    share = (preview[inside] == marker).all(axis=1).mean()
    assert share > 0.8  # the rest is the code's label
    other = masks[features[1].detection_index] & ~cv2.dilate(
        masks[features[0].detection_index].astype(np.uint8), np.ones((5, 5))).astype(bool)
    assert (preview[other] == features[1].properties["class_rgb"]).all(axis=1).mean() > 0.5
