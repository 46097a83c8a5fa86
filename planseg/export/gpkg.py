"""GeoPackage output through pyogrio (GDAL): one layer per document, CRS stored natively.

Coordinates are the document's GeoPDF CRS when every page shares one (``native``), else
WGS84, page points or pixels as for GeoJSON, each with its CRS definition in the file.
All geometries are written as MultiPolygon so the layer has one geometry type.

The file also carries a QGIS style (the ``layer_styles`` table QGIS itself reads and writes,
registered in ``gpkg_contents``): a categorized renderer on ``class_code`` filling each legend
class in its swatch colour, so QGIS opens the layer looking like the plan.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon

from planseg.errors import OutputError
from planseg.export.classes import build_categories, rgb_hex
from planseg.export.crs import Frame, frame_crs, to_frame
from planseg.export.features import PageFeature
from planseg.export.types import PageMasks
from planseg.fsio import atomic_path

_NUMERIC = ("page", "score", "predicted_iou", "stability_score", "area_pt2", "area_m2")
_CLASS_TEXT = ("class_code", "class_label")
_GEOMETRY_COLUMN = "geom"  # GDAL's default for GeoPackage layers


def write_gpkg(path: Path, pages: Sequence[PageMasks],
               features: Sequence[Sequence[PageFeature]], frame: Frame,
               *, layer: str | None = None) -> None:
    """Write the document's features to a GeoPackage atomically."""
    import pyogrio.raw  # GDAL is loaded only when GeoPackage output is asked for

    rows = [(page, f) for page, fs in zip(pages, features, strict=True) for f in fs]
    geometries = [_multi(to_frame(f.geometry_px, page, frame)) for page, f in rows]
    crs = frame_crs(frame, pages[0]) if pages else None
    names, columns = _columns([f for _, f in rows])
    layer = layer or Path(path).stem
    with atomic_path(path) as tmp:
        # GDAL creates the file itself and wants the .gpkg extension
        staging = tmp.with_name(tmp.name + ".gpkg")
        try:
            pyogrio.raw.write(
                str(staging), np.array(shapely.to_wkb(geometries), dtype=object)
                if geometries else np.array([], dtype=object),
                columns, names, driver="GPKG", layer=layer,
                geometry_type="MultiPolygon", crs=crs.to_wkt() if crs is not None else None,
                promote_to_multi=True)
            add_layer_style(staging, layer, [f.properties for _, f in rows])
            os.replace(staging, tmp)
        except (RuntimeError, sqlite3.Error) as exc:  # pyogrio's errors (DataSourceError...)
            raise OutputError(f"GDAL cannot write the GeoPackage ({exc})", path=path) from exc
        finally:
            staging.unlink(missing_ok=True)


def _columns(features: Sequence[PageFeature]) -> tuple[list[str], list[np.ndarray]]:
    """Attribute columns: id, document, numbers, text, fill colour as ``#rrggbb``, the
    legend class (code, label, colour as ``#rrggbb``, source, ΔE2000 distance) and the engine
    that found the polygon (``source``). Text columns
    are object arrays, so a column that is None throughout is still written as TEXT."""
    def prop(name: str) -> list:
        return [f.properties.get(name) for f in features]

    names = ["id", "document", *_NUMERIC, "text", "fill_rgb"]
    columns = [np.array([f.id for f in features], dtype=np.int64),
               np.array(prop("document"), dtype=object)]
    columns += [np.array([np.nan if v is None else v for v in prop(name)], dtype=np.float64)
                for name in _NUMERIC]
    columns[2] = columns[2].astype(np.int64) if features else np.array([], dtype=np.int64)
    columns.append(np.array(prop("text"), dtype=object))
    columns.append(np.array([rgb_hex(c) for c in prop("fill_rgb")], dtype=object))
    names += [*_CLASS_TEXT, "class_rgb", "class_source", "class_distance"]
    columns += [np.array(prop(name), dtype=object) for name in _CLASS_TEXT]
    columns.append(np.array([rgb_hex(c) for c in prop("class_rgb")], dtype=object))
    columns.append(np.array(prop("class_source"), dtype=object))
    columns.append(np.array([np.nan if v is None else v for v in prop("class_distance")],
                            dtype=np.float64))
    names.append("source")
    columns.append(np.array(prop("source"), dtype=object))
    return names, columns


def add_layer_style(path: Path, layer: str, properties: Sequence[dict]) -> None:
    """Add (or replace) the default QGIS style of ``layer`` in the GeoPackage at ``path``: a
    ``layer_styles`` row whose QML categorizes on ``class_code`` with the colours of the
    classes found in ``properties`` (the features' properties)."""
    classes = [c for c in build_categories(properties)[1:] if c["code"] is not None]
    qml = categorized_qml("class_code", classes)
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute(_LAYER_STYLES_DDL)
        stamp = db.execute("SELECT last_change FROM gpkg_contents WHERE table_name = ?",
                           (layer,)).fetchone()
        db.execute("INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, "
                   "description, last_change) VALUES ('layer_styles', 'attributes', "
                   "'layer_styles', 'QGIS layer styles', ?)", (stamp[0] if stamp else None,))
        db.execute("DELETE FROM layer_styles WHERE f_table_name = ?", (layer,))
        db.execute(
            "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, "
            "f_geometry_column, styleName, styleQML, styleSLD, useAsDefault, description, "
            "owner, ui, update_time) VALUES ('', '', ?, ?, ?, ?, '', 1, ?, '', NULL, ?)",
            (layer, _GEOMETRY_COLUMN, layer, qml,
             f"planseg legend classes ({len(classes)})", stamp[0] if stamp else None))


# the schema QGIS creates in a GeoPackage (QgsOgrProviderUtils / saveStyle)
_LAYER_STYLES_DDL = """CREATE TABLE IF NOT EXISTS layer_styles (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, f_table_catalog TEXT(256),
    f_table_schema TEXT(256), f_table_name TEXT(256), f_geometry_column TEXT(256),
    styleName TEXT(30), styleQML TEXT, styleSLD TEXT, useAsDefault BOOLEAN,
    description TEXT, owner TEXT(30), ui TEXT(30),
    update_time DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))"""


def _multi(geometry: Polygon | MultiPolygon) -> MultiPolygon:
    return geometry if isinstance(geometry, MultiPolygon) else MultiPolygon([geometry])


_QML_HEADER = "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
_OUTLINE_RGBA = "35,35,35,255"
_UNCLASSIFIED_RGBA = "200,200,200,110"  # light, half transparent: the plan shows through


def categorized_qml(attribute: str, classes: Sequence[dict]) -> str:
    """QGIS style (QML text) of a polygon layer: a categorized renderer on ``attribute``, one
    solid fill per class (``classes``: COCO-style categories with ``code``, ``name`` and
    ``color`` [r, g, b]) and a catch-all category for unclassified polygons."""
    qgis = ET.Element("qgis", version="3.28.0", styleCategories="Symbology")
    renderer = ET.SubElement(qgis, "renderer-v2", type="categorizedSymbol", attr=attribute,
                             symbollevels="0", forceraster="0", enableorderby="0")
    categories = ET.SubElement(renderer, "categories")
    symbols = ET.SubElement(renderer, "symbols")
    seen: set[str] = set()
    for category in classes:
        if category["code"] in seen:  # one category per value: first (sorted) label wins
            continue
        seen.add(category["code"])
        name = str(len(seen) - 1)
        ET.SubElement(categories, "category", value=category["code"], symbol=name,
                      label=category["name"], render="true", type="string")
        rgb = category.get("color") or [200, 200, 200]
        symbols.append(_fill_symbol(name, ",".join(str(int(c)) for c in rgb) + ",255"))
    ET.SubElement(categories, "category", value="", symbol="other", label="unclassified",
                  render="true", type="string")  # "" is QGIS's "all other values"
    symbols.append(_fill_symbol("other", _UNCLASSIFIED_RGBA))
    source = ET.SubElement(renderer, "source-symbol")
    source.append(_fill_symbol("0", _UNCLASSIFIED_RGBA))
    ET.SubElement(qgis, "layerOpacity").text = "1"
    ET.indent(qgis)
    return _QML_HEADER + ET.tostring(qgis, encoding="unicode") + "\n"


def _fill_symbol(name: str, rgba: str) -> ET.Element:
    """A QGIS simple fill symbol; properties written both as QGIS >= 3.26 ``Option`` map and
    as the older ``prop`` list so every QGIS 3 reads them."""
    symbol = ET.Element("symbol", type="fill", name=name, alpha="1", clip_to_extent="1",
                        force_rhr="0")
    layer = ET.SubElement(symbol, "layer", attrib={"class": "SimpleFill", "pass": "0"},
                          enabled="1", locked="0")
    properties = {"color": rgba, "outline_color": _OUTLINE_RGBA, "outline_style": "solid",
                  "outline_width": "0.26", "outline_width_unit": "MM", "style": "solid"}
    options = ET.SubElement(layer, "Option", type="Map")
    for key, value in properties.items():
        ET.SubElement(options, "Option", name=key, type="QString", value=value)
    for key, value in properties.items():
        ET.SubElement(layer, "prop", k=key, v=value)
    return symbol
