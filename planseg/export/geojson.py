"""GeoJSON output: one FeatureCollection per document, written atomically.

The top-level ``"planseg:crs"`` member says which frame the coordinates are in (see
:mod:`planseg.export.crs`). WGS84 output follows RFC 7946 (no ``crs`` member); page and
pixel output also carry a GDAL-readable ``crs`` member naming an engineering CRS, so GIS
tools do not mistake PDF points for degrees.

Each feature's properties are its :class:`PageFeature` properties (legend class included:
``class_code``, ``class_label``, ``class_rgb``, ``class_source``, ``class_distance``) plus the
simplestyle-spec ``fill`` and ``stroke`` members (``#rrggbb``: the legend class colour, else
the polygon's own ``fill_rgb``) so web viewers draw the plan's colours.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from shapely.geometry import mapping

from planseg.export.classes import rgb_hex
from planseg.export.crs import Frame, crs_member, engineering_wkt, to_frame
from planseg.export.features import PageFeature
from planseg.export.types import PageMasks
from planseg.fsio import atomic_write_json


def feature_collection(pages: Sequence[PageMasks], features: Sequence[Sequence[PageFeature]],
                       frame: Frame) -> dict:
    """FeatureCollection of a document: ``features[i]`` are the features of ``pages[i]``.
    A document without polygons gives a valid empty collection."""
    collection: dict = {"type": "FeatureCollection", "planseg:crs": crs_member(frame, pages)}
    if frame in ("page", "pixel") and pages:
        collection["crs"] = {"type": "name",
                             "properties": {"name": engineering_wkt(frame, pages[0].dpi)}}
    collection["features"] = [
        {"type": "Feature", "id": feature.id,
         "properties": {"id": feature.id, **feature.properties,
                        **simplestyle(feature.properties)},
         "geometry": mapping(to_frame(feature.geometry_px, page, frame))}
        for page, page_features in zip(pages, features, strict=True)
        for feature in page_features]
    return collection


def simplestyle(properties: dict) -> dict[str, str]:
    """simplestyle-spec ``fill``/``stroke`` (``#rrggbb``) of a feature: its legend class
    colour, else its dominant colour; empty when neither is known."""
    colour = rgb_hex(properties.get("class_rgb") or properties.get("fill_rgb"))
    return {} if colour is None else {"fill": colour, "stroke": colour}


def write_geojson(path: Path, collection: dict) -> None:
    """Write a FeatureCollection atomically (readers never see a partial file)."""
    atomic_write_json(path, collection)
