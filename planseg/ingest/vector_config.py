"""Settings of the vector-zone reader (a plain dataclass, cheap to import for the CLI).

Lengths are PDF points (1/72 inch), areas square points; shares are fractions 0..1 of the map
frame's area (or the page's, where named so).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class VectorConfig:
    """How :func:`planseg.ingest.vector.read_vector_page` turns a page's drawing into zones."""

    max_paths: int = field(default=250_000, metadata={
        "help": "Drawings per page beyond which the page is given up (fallback to pixels)."})
    max_seconds: float = field(default=60.0, metadata={
        "help": "Seconds per page beyond which the page is given up (fallback to pixels)."})
    bezier_tolerance_pt: float = field(default=0.05, metadata={
        "help": "Largest distance between a Bezier curve and its flattened polyline."})
    cut_stroke_min_width_pt: float = field(default=2.5, metadata={
        "help": "Opaque solid strokes at least this wide cut earlier fills (roads drawn as "
                "wide lines); thinner strokes (outlines, hatch) cut nothing."})
    min_piece_area_pt2: float = field(default=4.0, metadata={
        "help": "Sliver floor: visible pieces and holes smaller than this are dropped."})
    min_zone_area_pt2: float = field(default=200.0, metadata={
        "help": "Size floor: zones (touching pieces of one colour) smaller than this are "
                "symbols, not zones."})
    frame_min_share: float = field(default=0.25, metadata={
        "help": "Map frame: the smallest drawn or clip rectangle covering at least this share "
                "of the page; the whole page where none does."})
    background_min_share: float = field(default=0.9, metadata={
        "help": "A fill covering at least this share of the map frame is its background."})
    swatch_max_area_pt2: float = field(default=2500.0, metadata={
        "help": "Legend swatches: filled rectangles up to this area ..."})
    swatch_min_count: int = field(default=3, metadata={
        "help": "... of which at least this many share their left edge, width and height."})
    non_zone_rgb: list[tuple[int, int, int]] = field(
        default_factory=lambda: [(255, 255, 255), (0, 0, 0)], metadata={
            "help": "Paper and ink: fills of these colours (label boxes, margin masks, legend "
                    "and title boxes; north arrows, scale bars, outlined text) cut earlier "
                    "fills but are never zones."})
    transparent_zones: bool | None = field(default=None, metadata={
        "help": "Semi-transparent fills become zones: true always, false never (overlays), "
                "unset only on map pages whose opaque fills give no zones and where they "
                "form a layer (at least 3 zones, 2 colours: a plan exported with layer "
                "opacity, zones over an aerial photo); they never cut."})
    text_min_words_per_kpt2: float = field(default=0.8, metadata={
        "help": "A page with at least this many words per 1000 square points ..."})
    text_max_coverage: float = field(default=0.1, metadata={
        "help": "... and whose zones cover less than this share of the frame is a text page."})
    max_coordinate_pt: float = field(default=1e6, metadata={
        "help": "Paths with a coordinate beyond this magnitude (or NaN) are skipped."})

    def problems(self) -> list[str]:
        """Every invalid setting, named by key."""
        found = []
        if self.max_paths < 1:
            found.append(f"max_paths: must be at least 1, got {self.max_paths}")
        if self.swatch_min_count < 1:
            found.append(f"swatch_min_count: must be at least 1, got {self.swatch_min_count}")
        for key in ("max_seconds", "bezier_tolerance_pt", "max_coordinate_pt",
                "text_min_words_per_kpt2"):
            if not getattr(self, key) > 0:
                found.append(f"{key}: must be positive, got {getattr(self, key)}")
        for key in ("cut_stroke_min_width_pt", "min_piece_area_pt2", "min_zone_area_pt2",
                    "swatch_max_area_pt2"):
            if not getattr(self, key) >= 0:
                found.append(f"{key}: must be zero or more, got {getattr(self, key)}")
        for key in ("frame_min_share", "background_min_share",
                    "text_max_coverage"):
            if not 0 <= getattr(self, key) <= 1:
                found.append(f"{key}: must be between 0 and 1, got {getattr(self, key)}")
        for rgb in self.non_zone_rgb:
            if len(rgb) != 3 or not all(isinstance(c, int) and 0 <= c <= 255 for c in rgb):
                found.append(f"non_zone_rgb: each colour must be three integers 0..255, "
                             f"got {rgb}")
        return found
