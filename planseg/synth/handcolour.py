"""The ``handcolour`` look: an old plan coloured by hand, the colour a raster under the ink.

What makes it a different domain from the classic look (what a colour reader meets on
archive scans of plans coloured with a brush or a crayon):
- black line work on off-white paper: zone outlines, roads as the double line of the zone
  edges either side of them, a thin parcel grid;
- each zone painted by hand: uneven lightness (blotches, brush bands and fine streaks,
  pigment pooling along a watercolour's edge, crayon grain leaving paper specks), and paint
  that misses the outline, spilling over it by up to 2 mm in places and leaving unpainted
  slivers elsewhere; zones of one class share their colour only roughly (each zone mixed
  anew); paint spilled over paint is darker (glazes multiply);
- the legend swatches painted the same way.

Paper and paint are one raster image under all line work (JPEG, ``_PX_PER_PT``), so the map
has no vector zones: ``planseg label`` skips its map pages ("no vector zones", like a scan)
and the colour regions and SAM are all there is. The ground truth is the layout's geometry,
as for every look; its ``fill_rgb`` is the class colour as a zone shows it on average (the
paint at its mean density on the paper). Everything draws from the look's own random stream.
Frames: page frame in points, y down; rasters in pixels at ``_PX_PER_PT`` pixels per point,
y down, pixel (i, j) centred on point ((j + 0.5), (i + 0.5)) / ``_PX_PER_PT``.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pymupdf
import shapely
from shapely.geometry import Polygon

from planseg.synth.bplan import parcel_cells, stroke_lines
from planseg.synth.draw import ClassicOverlays
from planseg.synth.layout import MapLayout
from planseg.synth.palette import RGB, ZoneStyle
from planseg.synth.raster import jpeg_bytes, png_rgba_bytes, signed_distance_px, smooth_noise

_PX_PER_PT = 1.5  # 108 dpi: hand colour is low-frequency; a page stays a few megapixels
_MM_PT = 72 / 25.4
SPILL_MAX_PT = 2.0 * _MM_PT  # paint reaches at most 2 mm past the outline ...
SLIVER_MAX_PT = 1.5 * _MM_PT  # ... and stops at most 1.5 mm short of it
_JPEG_QUALITY = 88
_SWATCH_SPILL = 0.4  # a legend swatch is painted with more care (and is only 7-14 pt high)


def handcolour_palette(rng: np.random.Generator, palette: list[ZoneStyle]) -> list[ZoneStyle]:
    """The classic palette without hatches (the colour is all a hand-coloured plan has);
    the colours stay the classic ones, as the zones show them on average. No draws from
    ``rng`` (the look's stream; the signature is the looks' common one)."""
    del rng
    return [replace(style, hatch=None) for style in palette]


class HandcolourLook(ClassicOverlays):
    """One hand-coloured map (:class:`planseg.synth.draw.MapOverlays`): the paper and paint
    raster, black parcel lines, painted legend swatches."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        red = float(rng.uniform(0.93, 0.985))
        green = red - float(rng.uniform(0.01, 0.04))
        self.paper = np.array([red, green, green - float(rng.uniform(0.04, 0.10))],
                              dtype=np.float32)
        self.crayon = bool(rng.random() < 0.35)  # else watercolour
        self.density = float(rng.uniform(0.75, 0.92))  # mean share of the pigment laid down
        self.spill_bias_pt = float(rng.uniform(-0.3, 1.5))  # mean outward reach of the edge
        self.spill_amp_pt = float(rng.uniform(1.5, 3.0))  # how far the edge wanders
        self.mix_sigma = float(rng.uniform(0.015, 0.04))  # each zone's paint mixed anew
        self.stroke_angle = float(rng.uniform(0, np.pi))  # the hand's usual brush direction

    def road_colour(self, rgb: RGB) -> RGB:
        """Roads are unpainted paper (the road centre lines a darker paper tone)."""
        return tuple(float(c) for c in self.paper)  # type: ignore[return-value]

    def paint_zones(self, page: pymupdf.Page, layout: MapLayout, road_rgb: RGB) -> None:
        """The whole page as paper with every zone painted, one JPEG under the line work."""
        width_px, height_px = (int(np.ceil(s * _PX_PER_PT)) for s in layout.page_size_pt)
        transmit = np.ones((height_px, width_px, 3), dtype=np.float32)
        blotch = (smooth_noise(self.rng, height_px, width_px, 30 * _PX_PER_PT)
                  + 0.5 * smooth_noise(self.rng, height_px, width_px, 8 * _PX_PER_PT))
        frame_px = tuple(int(round(v * _PX_PER_PT)) for v in layout.frame_xyxy_pt)
        for zone in layout.zones:
            self._paint(transmit, (0.0, 0.0), zone.geometry, zone.style.fill_rgb, blotch,
                        frame_px)
        jpeg = jpeg_bytes(self._paper_texture(height_px, width_px) * transmit, _JPEG_QUALITY)
        page.insert_image(page.rect, stream=jpeg, keep_proportion=False)

    def over_zones(self, page: pymupdf.Page, layout: MapLayout) -> None:
        """A thin black parcel grid inside the zones (most maps)."""
        if self.rng.random() < 0.7:
            edges = shapely.union_all([p.boundary for p in parcel_cells(self.rng, layout)])
            zones_area = shapely.union_all([z.geometry for z in layout.zones])
            stroke_lines(page, shapely.intersection(edges, zones_area), (0.1, 0.1, 0.1),
                         float(self.rng.uniform(0.2, 0.4)) * layout.scale)

    def paint_swatch(self, page: pymupdf.Page, rect: pymupdf.Rect, style: ZoneStyle) -> None:
        """The swatch painted like a zone, spill included: an RGBA image over the page's
        paper (alpha and colour chosen so that paper under it shows exactly the paint)."""
        margin = _SWATCH_SPILL * SPILL_MAX_PT + 1.0
        width_px, height_px = (int(np.ceil((s + 2 * margin) * _PX_PER_PT))
                               for s in (rect.width, rect.height))
        x0, y0 = rect.x0 - margin, rect.y0 - margin  # whole pixels: the image is not stretched
        area = pymupdf.Rect(x0, y0, x0 + width_px / _PX_PER_PT, y0 + height_px / _PX_PER_PT)
        transmit = np.ones((height_px, width_px, 3), dtype=np.float32)
        blotch = smooth_noise(self.rng, height_px, width_px, 8 * _PX_PER_PT)
        self._paint(transmit, (area.x0, area.y0), shapely.box(*rect), style.fill_rgb, blotch,
                    (0, 0, width_px, height_px), _SWATCH_SPILL)
        # paper * transmit == paper * (1 - alpha) + colour * alpha, per channel
        alpha = (1.0 - transmit).max(axis=2, keepdims=True)
        colour = self.paper * (transmit - 1.0 + alpha) / np.maximum(alpha, 1e-6)
        page.insert_image(area, stream=png_rgba_bytes(np.concatenate([colour, alpha], axis=2)),
                          keep_proportion=False)

    def _pigment(self, shown_rgb: RGB) -> np.ndarray:
        """The pigment that shows ``shown_rgb`` on this paper at the mean density, mixed
        anew (jittered) for one zone: shown = paper * (1 - density * (1 - pigment))."""
        shown = np.asarray(shown_rgb, dtype=np.float32)
        pigment = 1.0 - (1.0 - shown / self.paper) / self.density
        pigment = pigment + self.rng.normal(0.0, self.mix_sigma, size=3)
        return np.clip(pigment, 0.0, 1.0).astype(np.float32)

    def _paint(self, transmit: np.ndarray, origin_pt: tuple[float, float], polygon: Polygon,
               shown_rgb: RGB, blotch: np.ndarray, clip_xyxy_px: tuple[int, ...],
               spill: float = 1.0) -> None:
        """Paint ``polygon`` (page frame) into ``transmit`` (HxWx3 float32 transmittance of a
        raster whose pixel (0, 0) starts at ``origin_pt``), in place, inside ``clip_xyxy_px``;
        ``blotch`` (HxW) is the raster's lightness noise, ``spill`` scales how far the paint
        edge wanders from the outline."""
        k = _PX_PER_PT
        reach = (spill * SPILL_MAX_PT + 2.0) * k
        ox, oy = origin_pt
        px0, py0, px1, py1 = polygon.bounds
        x0, y0, x1, y1 = (px0 - ox) * k, (py0 - oy) * k, (px1 - ox) * k, (py1 - oy) * k
        cx0, cy0, cx1, cy1 = clip_xyxy_px
        bx0, by0 = max(int(x0 - reach), cx0), max(int(y0 - reach), cy0)
        bx1, by1 = min(int(np.ceil(x1 + reach)), cx1), min(int(np.ceil(y1 + reach)), cy1)
        if bx1 <= bx0 or by1 <= by0:
            return
        window_pt = (ox + bx0 / k, oy + by0 / k)
        signed_px = signed_distance_px(polygon, window_pt, k, (by1 - by0, bx1 - bx0))
        wander = smooth_noise(self.rng, by1 - by0, bx1 - bx0, 14 * k)
        offset_pt = spill * np.clip(self.spill_bias_pt + self.spill_amp_pt * wander,
                                    -SLIVER_MAX_PT, SPILL_MAX_PT)
        edge_px = signed_px + offset_pt * k  # > 0: paint reaches here
        coverage = np.clip(edge_px + 0.5, 0.0, 1.0)
        density = self.density * (1.0 + 0.12 * blotch[by0:by1, bx0:bx1]
                                  + self._strokes(bx0, by0, by1 - by0, bx1 - bx0))
        if self.crayon:  # waxy grain: specks of paper where the crayon skipped
            grain = smooth_noise(self.rng, by1 - by0, bx1 - bx0, 1.2)
            density = density * np.clip(0.8 + 0.45 * grain, 0.15, 1.0)
        else:  # watercolour pools along the edge where it dried
            density = density + 0.3 * np.exp(-np.maximum(edge_px, 0.0) / (1.5 * k))
        absorbed = (coverage * np.clip(density, 0.0, 1.0))[..., None]
        transmit[by0:by1, bx0:bx1] *= 1.0 - absorbed * (1.0 - self._pigment(shown_rgb))

    def _strokes(self, x0_px: int, y0_px: int, height_px: int, width_px: int) -> np.ndarray:
        """Brush bands (each laid a little heavier or lighter, darker where two overlap)
        and fine streaks across them, along one direction per zone; HxW float32 around 0."""
        k = _PX_PER_PT
        angle = self.stroke_angle + float(self.rng.normal(0.0, 0.35))
        ys, xs = np.mgrid[y0_px:y0_px + height_px, x0_px:x0_px + width_px].astype(np.float32)
        across = -xs * np.sin(angle) + ys * np.cos(angle)
        across -= across.min()
        band_px = float(self.rng.uniform(10.0, 22.0)) * k
        index = (across // band_px).astype(np.int64)
        bands = self.rng.normal(0.0, 0.07, size=int(index.max()) + 1).astype(np.float32)
        phase = (across % band_px) / band_px
        overlap = 0.1 * np.exp(-(phase / 0.12) ** 2)
        streak_px = 1.5 * k
        streak = self.rng.normal(0.0, 1.0, size=int(across.max() / streak_px) + 2)
        fine = np.interp(across / streak_px, np.arange(streak.size), streak).astype(np.float32)
        return bands[index] + overlap + (0.1 if self.crayon else 0.05) * fine

    def _paper_texture(self, height_px: int, width_px: int) -> np.ndarray:
        """HxWx3 float32 paper: the tone, slowly yellowing unevenly, with fine fibres."""
        tone = 1.0 + 0.02 * smooth_noise(self.rng, height_px, width_px, 60 * _PX_PER_PT)
        fibre = 1.0 + 0.012 * smooth_noise(self.rng, height_px, width_px, 1.5)
        return (tone * fibre)[..., None] * self.paper
