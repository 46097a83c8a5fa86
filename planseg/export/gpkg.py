"""GeoPackage output through pyogrio (GDAL): one layer per document, CRS stored natively.

Coordinates are the document's GeoPDF CRS when every page shares one (``native``), else
WGS84, page points or pixels as for GeoJSON, each with its CRS definition in the file.
All geometries are written as MultiPolygon so the layer has one geometry type.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon

from planseg.errors import OutputError
from planseg.export.crs import Frame, frame_crs, to_frame
from planseg.export.features import PageFeature
from planseg.export.types import PageMasks
from planseg.fsio import atomic_path

_NUMERIC = ("page", "score", "predicted_iou", "stability_score", "area_pt2", "area_m2")


def write_gpkg(path: Path, pages: Sequence[PageMasks],
               features: Sequence[Sequence[PageFeature]], frame: Frame,
               *, layer: str | None = None) -> None:
    """Write the document's features to a GeoPackage atomically."""
    import pyogrio.raw  # GDAL is loaded only when GeoPackage output is asked for

    rows = [(page, f) for page, fs in zip(pages, features, strict=True) for f in fs]
    geometries = [_multi(to_frame(f.geometry_px, page, frame)) for page, f in rows]
    crs = frame_crs(frame, pages[0]) if pages else None
    names, columns = _columns([f for _, f in rows])
    with atomic_path(path) as tmp:
        # GDAL creates the file itself and wants the .gpkg extension
        staging = tmp.with_name(tmp.name + ".gpkg")
        try:
            pyogrio.raw.write(
                str(staging), np.array(shapely.to_wkb(geometries), dtype=object)
                if geometries else np.array([], dtype=object),
                columns, names, driver="GPKG", layer=layer or Path(path).stem,
                geometry_type="MultiPolygon", crs=crs.to_wkt() if crs is not None else None,
                promote_to_multi=True)
            os.replace(staging, tmp)
        except RuntimeError as exc:  # pyogrio's errors (DataSourceError, ...)
            raise OutputError(f"GDAL cannot write the GeoPackage ({exc})", path=path) from exc
        finally:
            staging.unlink(missing_ok=True)


def _columns(features: Sequence[PageFeature]) -> tuple[list[str], list[np.ndarray]]:
    """Attribute columns: id, document, numbers, text and fill colour as ``#rrggbb``."""
    def prop(name: str) -> list:
        return [f.properties.get(name) for f in features]

    names = ["id", "document", *_NUMERIC, "text", "fill_rgb"]
    columns = [np.array([f.id for f in features], dtype=np.int64),
               np.array(prop("document"), dtype=object)]
    columns += [np.array([np.nan if v is None else v for v in prop(name)], dtype=np.float64)
                for name in _NUMERIC]
    columns[2] = columns[2].astype(np.int64) if features else np.array([], dtype=np.int64)
    columns.append(np.array(prop("text"), dtype=object))
    columns.append(np.array([None if c is None else "#{:02x}{:02x}{:02x}".format(*c)
                             for c in prop("fill_rgb")], dtype=object))
    return names, columns


def _multi(geometry: Polygon | MultiPolygon) -> MultiPolygon:
    return geometry if isinstance(geometry, MultiPolygon) else MultiPolygon([geometry])
