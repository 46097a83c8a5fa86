"""Settings of the colour-region reader for raster pages (a plain dataclass, cheap to import).

Lengths are millimetres on the page (so one setting suits every DPI), areas square
millimetres; colour distances are CIELAB Delta E (CIE76, L in 0..100); shares are fractions
0..1 of the page's area (or the map frame's, where named so).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from planseg.ingest.vector_config import VectorConfig

_VECTOR = VectorConfig()  # the frame and text-page rules are shared with the vector reader


@dataclass
class RegionsConfig:
    """How :func:`planseg.ingest.regions.read_raster_page` finds a raster page's zones."""

    max_pixels: int = field(default=40_000_000, metadata={
        "help": "Pages larger than this at the run's DPI are left to SAM's tiles (the colour "
                "reader holds a few full-page arrays)."})
    denoise_mm: float = field(default=0.35, metadata={
        "help": "Median window that removes scan and JPEG noise before anything else."})
    hatch_window_mm: float = field(default=3.0, metadata={
        "help": "Median window that absorbs hatch lines, outlines and label strokes into the "
                "zone colour; wider than the hatch spacing (lines are a minority of it)."})
    colour_bin_de: float = field(default=1.5, metadata={
        "help": "Bin of the CIELAB histogram whose peaks are the page's colours."})
    mode_merge_de: float = field(default=2.0, metadata={
        "help": "Histogram peaks closer than this are one colour (the stronger one)."})
    assign_max_de: float = field(default=6.0, metadata={
        "help": "Pixels further than this from every colour are left to their neighbours."})
    ink_max_l: float = field(default=30.0, metadata={
        "help": "Colours darker than this lightness are ink (lines, text), never zones."})
    paper_max_de: float = field(default=5.0, metadata={
        "help": "Colours this close to the paper are not zones (blank paper, white roads)."})
    min_region_mm2: float = field(default=25.0, metadata={
        "help": "Regions smaller than this are symbols or label remains, not zones."})
    strip_max_elongation: float = field(default=15.0, metadata={
        "help": "Regions whose area over the square of their widest inscribed diameter is "
                "above this are strips (roads, rivers, leftover outlines), not zones."})
    expand_mm: float = field(default=3.0, metadata={
        "help": "Zones grow this far into unassigned pixels (outlines, labels, hatch remains) "
                "so that neighbours meet on their shared boundary line."})
    gap_open_mm: float = field(default=6.0, metadata={
        "help": "Areas no colour covers are prompted to SAM at least half this far from "
                "every region (roads and the seams between zones are narrower)..."})
    gap_grid_mm: float = field(default=15.0, metadata={
        "help": "... at grid points this far apart..."})
    gap_min_line_share: float = field(default=0.03, metadata={
        "help": "... whose neighbourhood is at least this share line pixels (hatch, texture: "
                "blank paper gets no prompt); a paper area bounded by lines gets one point "
                "at its centre instead."})
    frame_min_share: float = field(default=_VECTOR.frame_min_share, metadata={
        "help": "Map frame: the smallest dark rectangle covering at least this share of the "
                "page (the vector reader's rule); the whole page where none does."})
    frame_min_rectangularity: float = field(default=0.9, metadata={
        "help": "A contour is a frame when its area is at least this share of its rotated "
                "bounding rectangle's (scans are skewed)."})
    frame_min_side: float = field(default=0.2, metadata={
        "help": "Straight dark runs at least this share of the page's shorter side are "
                "redrawn across small gaps before the frame is looked for."})
    frame_max_gap: float = field(default=0.015, metadata={
        "help": "... across gaps of up to this share of the page's shorter side."})
    frame_open_mm: float = field(default=3.0, metadata={
        "help": "Opening of a frame candidate before its rectangle test: cuts off tick marks "
                "and boxes joined to the neatline by a line."})
    line_max_l: float = field(default=55.0, metadata={
        "help": "Pixels darker than this lightness are lines and glyphs (neatline, text)."})
    line_min_contrast: float = field(default=20.0, metadata={
        "help": "... or darker than their surroundings by this much lightness (thin strokes, "
                "anti-aliased to grey at low DPI)."})
    line_max_mm: float = field(default=1.5, metadata={
        "help": "Strokes up to this wide count as lines by their contrast."})
    frame_line_max_mm: float = field(default=2.5, metadata={
        "help": "For the frame only, strokes up to this wide count as lines by their contrast "
                "(a scan's faint, blurred neatline)..."})
    frame_line_min_contrast: float = field(default=15.0, metadata={
        "help": "... when darker than their surroundings by this much lightness."})
    text_max_colour_share: float = field(default=0.25, metadata={
        "help": "A page whose coloured (neither paper nor ink) area is at least this share of "
                "the page is a map, whatever its text."})
    map_min_area_share: float = field(default=0.05, metadata={
        "help": "... and so is a page with one connected coloured area of at least this share "
                "(a scanned map with wide margins); blurred text lines never join that large "
                "(synth scans: text pages <= 0.001, maps >= 0.47; us_vt_plainfield_scan 0.20)."})
    blank_max_ink_share: float = field(default=0.002, metadata={
        "help": "A page with less ink and less colour than this share of the page is blank."})
    text_min_glyph_share: float = field(default=0.5, metadata={
        "help": "A page without colour whose ink is at least this share glyph-sized "
                "components is text (or a table); otherwise a line drawing (a map)."})
    glyph_max_mm: float = field(default=6.0, metadata={
        "help": "Ink components whose box is at most this on its longer side are glyphs."})
    text_min_words_per_kpt2: float = field(default=_VECTOR.text_min_words_per_kpt2, metadata={
        "help": "With a text layer: a page without colour and with at least this many words "
                "per 1000 square points is text (the vector reader's rule)."})

    def problems(self) -> list[str]:
        """Values that cannot work, one line each (collected by planseg.config)."""
        found = []
        if self.max_pixels < 1:
            found.append(f"max_pixels: must be at least 1, got {self.max_pixels}")
        for key in ("gap_open_mm", "gap_grid_mm", "denoise_mm", "hatch_window_mm",
                    "colour_bin_de", "assign_max_de",
                    "strip_max_elongation", "glyph_max_mm", "frame_open_mm", "line_max_mm",
                    "line_min_contrast", "frame_line_max_mm", "frame_line_min_contrast",
                    "text_min_words_per_kpt2"):
            if not getattr(self, key) > 0:
                found.append(f"{key}: must be positive, got {getattr(self, key)}")
        for key in ("mode_merge_de", "paper_max_de", "min_region_mm2", "expand_mm"):
            if not getattr(self, key) >= 0:
                found.append(f"{key}: must be zero or more, got {getattr(self, key)}")
        for key in ("ink_max_l", "line_max_l"):
            if not 0 <= getattr(self, key) <= 100:
                found.append(f"{key}: must be a lightness 0..100, got {getattr(self, key)}")
        for key in ("frame_min_share", "frame_min_rectangularity", "frame_min_side",
                    "frame_max_gap", "text_max_colour_share", "map_min_area_share",
                    "blank_max_ink_share", "text_min_glyph_share"):
            if not 0 <= getattr(self, key) <= 1:
                found.append(f"{key}: must be between 0 and 1, got {getattr(self, key)}")
        return found
