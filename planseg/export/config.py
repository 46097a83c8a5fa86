"""Export settings: which files, which coordinates, how masks become polygons."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from planseg.export.vectorize import VectorizeConfig

FORMATS = ("geojson", "coco", "gpkg")


@dataclass
class ExportConfig:
    """One section of the segment command's config (``export.*``); flags override it."""

    formats: list[str] = field(default_factory=lambda: ["geojson", "coco"], metadata={
        "help": "output formats: geojson (one FeatureCollection per document), coco "
                "(DIR/coco.json), gpkg (one GeoPackage per document)"})
    crs: Literal["auto", "page", "pixel"] = field(default="auto", metadata={
        "help": "auto: WGS84 lon/lat for georeferenced pages, else PDF points y up; "
                "page: always PDF points; pixel: raster pixels y down"})
    partition: bool = field(default=True, metadata={
        "help": "make a page's mask polygons (colour regions, SAM) a gap-free, "
                "non-overlapping coverage, the higher score winning contested pixels; false "
                "keeps every candidate mask whole, overlaps and all (vector zones are exact "
                "and disjoint either way)"})
    simplify_px: float = field(default=1.0, metadata={
        "help": "polygon simplification tolerance in pixels (0: exact pixel edges)"})
    min_area_px: float = field(default=16.0, metadata={
        "help": "drop polygon parts (and fill holes) smaller than this many pixels"})
    previews: bool = field(default=False, metadata={
        "help": "write DIR/previews/<document>-p<page>.png overlays"})
    preview_opacity: float = field(default=0.45, metadata={
        "help": "fill opacity of polygons in previews, 0..1"})
    classes: bool = field(default=True, metadata={
        "help": "read each map page's legend and give its polygons their classes "
                "(class_code, class_label, ...); false: no legend is read, every polygon "
                "stays unclassified"})
    drop_base_map: bool = field(default=True, metadata={
        "help": "leave out the base map under the plan: drawn shapes of one neutral grey the "
                "page's legend does not name, at least base_map_min_count of them "
                "(cadastral building footprints); false keeps them as unclassified zones"})
    base_map_min_count: int = field(default=10, metadata={
        "help": "how many drawn shapes of one unnamed grey make it the base map"})
    class_max_delta_e: float = field(default=8.0, metadata={
        "help": "a polygon takes a legend swatch's class by colour only within this CIEDE2000 "
                "distance of the swatch, for legends read from pixels (scans)"})
    class_max_delta_e_vector: float = field(default=4.0, metadata={
        "help": "the same for legends read from the PDF's drawings (exact swatch colours)"})
    class_ambiguous_delta_e: float = field(default=3.0, metadata={
        "help": "swatches of other classes within this CIEDE2000 distance of the nearest one "
                "make colour ambiguous: the code written in the zone decides, else none"})

    def problems(self) -> list[str]:
        """Checks reported together by planseg.config."""
        found = [f"formats: unknown format {f!r} (known: {', '.join(FORMATS)})"
                 for f in self.formats if f not in FORMATS]
        if self.base_map_min_count < 1:
            found.append(f"base_map_min_count: must be >= 1, got {self.base_map_min_count}")
        if not 0.0 <= self.preview_opacity <= 1.0:
            found.append(f"preview_opacity: must be within 0..1, got {self.preview_opacity}")
        found += [f"{name}: must be >= 0, got {getattr(self, name)}"
                  for name in ("class_max_delta_e", "class_max_delta_e_vector",
                               "class_ambiguous_delta_e")
                  if getattr(self, name) < 0]
        return found + self.vectorize_config().problems()

    def vectorize_config(self) -> VectorizeConfig:
        """The vectoriser's part of this config."""
        return VectorizeConfig(simplify_px=self.simplify_px, min_area_px=self.min_area_px)
