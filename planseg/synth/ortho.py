"""The ``ortho`` look: a zoning plan printed over an aerial photograph.

What makes it a different domain from the classic look (plans published over orthophotos):
- the map frame shows a procedural orthophoto (numpy noise, nothing downloaded): a land-cover
  mosaic of meadows, fields with crop rows, tree canopy, houses in gardens (gabled roofs with
  shadows), paved yards and industrial sheds, on the plan's own roads (asphalt, lane marks).
  The mosaic is the parcel grid, so its edges cross zone edges, and land cover follows the
  zone class only loosely: texture everywhere, and no texture edge to trust;
- zones are semi-transparent vector fills (opacity 0.3-0.5 per map) of saturated class
  colours, on most maps with a coloured line just inside each zone edge;
- legend swatches are the same fills at the same opacity, over the white paper.

The photo is a raster image under everything (JPEG, ``_PX_PER_PT``); the fills are vector.
``planseg label`` and ``segment`` read them as zones by default (no opaque fill on the page
is a zone, so its semi-transparent fills are; elsewhere they are mostly overlays). The truth is
the layout's geometry, as for every look; its ``fill_rgb`` is the fill's own colour (what a
zone shows varies with the photo under it). Everything draws from the look's own random
stream. Frames: page frame in points, y down; the photo raster in pixels at ``_PX_PER_PT``
from the frame's top-left corner (see :mod:`planseg.synth.raster`).
"""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pymupdf
import shapely
from shapely import affinity
from shapely.geometry import Polygon

from planseg.synth.bplan import parcel_cells
from planseg.synth.draw import ClassicOverlays, add_polygon_path, draw_swatch
from planseg.synth.layout import MapLayout
from planseg.synth.palette import RGB, ZoneStyle
from planseg.synth.raster import fill_polygon, jpeg_bytes, smooth_noise

_PX_PER_PT = 1.5  # 108 dpi: roofs and crowns a few pixels wide at any dataset dpi
_JPEG_QUALITY = 85
_MAX_STROKE_PT = 2.3  # below VectorConfig.cut_stroke_min_width_pt (2.5): strokes never cut
MEADOW, FIELD, TREES, HOUSES, PAVED, SHEDS = range(6)  # land cover of a parcel
# chance of each cover (order above) by the zone class at the parcel's centre
_COVER_BY_CLASS: dict[str, tuple[float, ...]] = {
    "R": (0.15, 0.0, 0.15, 0.7, 0.0, 0.0), "W": (0.1, 0.0, 0.1, 0.7, 0.1, 0.0),
    "M": (0.05, 0.0, 0.05, 0.7, 0.2, 0.0), "B": (0.05, 0.0, 0.05, 0.5, 0.3, 0.1),
    "C": (0.0, 0.0, 0.05, 0.45, 0.4, 0.1), "I": (0.05, 0.0, 0.0, 0.1, 0.35, 0.5),
    "G": (0.3, 0.0, 0.2, 0.4, 0.1, 0.0), "P": (0.4, 0.0, 0.6, 0.0, 0.0, 0.0),
    "A": (0.2, 0.75, 0.05, 0.0, 0.0, 0.0), "S": (0.3, 0.1, 0.1, 0.2, 0.3, 0.0)}
_LOOSE = 0.2  # chance that a parcel ignores its zone's class
_CROPS: tuple[RGB, ...] = ((0.66, 0.60, 0.36), (0.42, 0.52, 0.24), (0.50, 0.39, 0.28),
                           (0.58, 0.62, 0.34))
_ROOFS: tuple[RGB, ...] = ((0.62, 0.30, 0.22), (0.48, 0.32, 0.26), (0.50, 0.50, 0.52),
                           (0.32, 0.32, 0.34), (0.66, 0.42, 0.30))


def ortho_palette(rng: np.random.Generator, palette: list[ZoneStyle]) -> list[ZoneStyle]:
    """The classic palette made vivid enough to show at 30-50 % opacity over a photo
    (saturation x1.6, a little darker); hatches kept. No draws from ``rng``."""
    del rng
    out = []
    for style in palette:
        rgb = np.asarray(style.fill_rgb)
        vivid = np.clip(rgb.mean() + 1.6 * (rgb - rgb.mean()) - 0.05, 0.0, 1.0)
        out.append(replace(style, fill_rgb=tuple(float(c) for c in vivid)))
    return out


class OrthoLook(ClassicOverlays):
    """One map over an orthophoto (:class:`planseg.synth.draw.MapOverlays`)."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.opacity = float(rng.uniform(0.3, 0.5))
        self.outlines = bool(rng.random() < 0.6)
        self.sun_pt = tuple(float(v) for v in rng.uniform(0.8, 2.5, size=2))  # shadow offset
        self.grade = rng.uniform(0.92, 1.08, size=3).astype(np.float32)  # colour balance

    def road_colour(self, rgb: RGB) -> RGB:
        """Light: the road centre lines come out mid grey over the asphalt."""
        return (0.95, 0.95, 0.95)

    def paint_zones(self, page: pymupdf.Page, layout: MapLayout, road_rgb: RGB) -> None:
        """The photo over the frame, then each zone as a semi-transparent fill."""
        frame = pymupdf.Rect(*layout.frame_xyxy_pt)
        page.insert_image(frame, stream=jpeg_bytes(self.photo(layout), _JPEG_QUALITY),
                          keep_proportion=False)
        for zone in layout.zones:
            shape = page.new_shape()
            add_polygon_path(shape, zone.geometry)
            shape.finish(color=None, fill=zone.style.fill_rgb, fill_opacity=self.opacity,
                         even_odd=True, width=0)
            shape.commit()

    def paint_swatch(self, page: pymupdf.Page, rect: pymupdf.Rect, style: ZoneStyle) -> None:
        """The zone's fill at the map's opacity (and its hatch) on the paper."""
        draw_swatch(page, rect, style, fill_opacity=self.opacity)

    def over_zones(self, page: pymupdf.Page, layout: MapLayout) -> None:
        """On most maps a line in a dark tone of the zone colour just inside each edge."""
        if not self.outlines:
            return
        width = min(_MAX_STROKE_PT, float(self.rng.uniform(0.9, 1.8)) * layout.scale)
        for zone in layout.zones:
            inset = zone.geometry.buffer(-width / 2, join_style="mitre")
            parts = [p for p in getattr(inset, "geoms", [inset]) if p.geom_type == "Polygon"
                     and not p.is_empty]
            if not parts:
                continue
            shape = page.new_shape()
            for part in parts:
                add_polygon_path(shape, part)
            shape.finish(color=tuple(0.7 * c for c in zone.style.fill_rgb), width=width,
                         lineJoin=1, closePath=False)
            shape.commit()

    def photo(self, layout: MapLayout) -> np.ndarray:
        """HxWx3 float32 RGB in [0, 1]: the orthophoto of the map frame."""
        fx0, fy0, fx1, fy1 = layout.frame_xyxy_pt
        origin = (fx0, fy0)
        height, width = int(np.ceil((fy1 - fy0) * _PX_PER_PT)), int(np.ceil((fx1 - fx0)
                                                                            * _PX_PER_PT))
        parcels = parcel_cells(self.rng, layout)
        covers = self._covers(parcels, layout)
        owner = np.full((height, width), -1, dtype=np.int32)  # parcel index of each pixel
        for index, parcel in enumerate(parcels):
            fill_polygon(owner, parcel, index, origin, _PX_PER_PT)
        cover = np.where(owner >= 0, covers[owner], MEADOW)
        # one colour cast per parcel; the extra last row is the cast of pixels in no parcel
        tint = self.rng.normal(1.0, 0.05, size=(len(parcels) + 1, 3)).astype(np.float32)
        image = self._ground(cover, height, width) * tint[owner]
        for index in np.flatnonzero(covers == FIELD):
            self._field(image, owner, int(index), parcels[index], origin)
        self._buildings(image, parcels, covers, origin)
        self._roads(image, layout, origin)
        light = 1.0 + 0.06 * smooth_noise(self.rng, height, width, 200 * _PX_PER_PT)
        image = cv2.GaussianBlur(image * light[..., None] * self.grade, (0, 0), 0.6)
        image += 0.012 * self.rng.standard_normal((height, width, 1), dtype=np.float32)
        return np.clip(image, 0.0, 1.0)

    def _covers(self, parcels: list[Polygon], layout: MapLayout) -> np.ndarray:
        """Land cover of each parcel, from the zone class at its centre (loosely)."""
        centres = shapely.get_coordinates(shapely.centroid(parcels))
        classes = np.full(len(parcels), "", dtype=object)
        for zone in layout.zones:
            classes[shapely.contains_xy(zone.geometry, centres[:, 0], centres[:, 1])] = \
                zone.style.code[:-1]
        covers = np.empty(len(parcels), dtype=np.int64)
        for index, prefix in enumerate(classes):
            odds = _COVER_BY_CLASS.get(prefix, (0.5, 0.0, 0.2, 0.0, 0.3, 0.0))
            if self.rng.random() < _LOOSE:
                odds = (1.0,) * len(odds)
            covers[index] = self.rng.choice(len(odds), p=np.asarray(odds) / sum(odds))
        return covers

    def _ground(self, cover: np.ndarray, height: int, width: int) -> np.ndarray:
        """HxWx3 textures of the non-built covers, picked per pixel by ``cover``."""
        mid = smooth_noise(self.rng, height, width, 6 * _PX_PER_PT)[..., None]
        fine = smooth_noise(self.rng, height, width, 1.2)[..., None]
        meadow = np.float32([0.34, 0.44, 0.21]) * (1 + 0.15 * mid + 0.08 * fine)
        paved = np.float32([0.56, 0.54, 0.51]) * (1 + 0.06 * mid + 0.06 * fine)
        crowns = smooth_noise(self.rng, height, width, 2.5 * _PX_PER_PT)[..., None]
        canopy = np.float32([0.17, 0.27, 0.13]) * np.clip(0.9 + 0.45 * crowns, 0.25, 1.8)
        image = meadow
        image = np.where((cover == PAVED)[..., None] | (cover == SHEDS)[..., None], paved,
                         image)
        image = np.where((cover == TREES)[..., None], canopy, image)
        gardens = 0.6 * meadow + 0.4 * paved  # lawns, paths, drives
        return np.where((cover == HOUSES)[..., None], gardens, image).astype(np.float32)

    def _field(self, image: np.ndarray, owner: np.ndarray, index: int, parcel: Polygon,
               origin: tuple[float, float]) -> None:
        """A crop colour with rows at the parcel's own angle, in place."""
        x0, y0, x1, y1 = ((v - o) * _PX_PER_PT for v, o in
                          zip(parcel.bounds, (*origin, *origin), strict=True))
        bx0, by0 = max(int(x0), 0), max(int(y0), 0)
        bx1, by1 = min(int(np.ceil(x1)), image.shape[1]), min(int(np.ceil(y1)), image.shape[0])
        if bx1 <= bx0 or by1 <= by0:
            return
        ys, xs = np.mgrid[by0:by1, bx0:bx1].astype(np.float32)
        angle = float(self.rng.uniform(0, np.pi))
        period_px = float(self.rng.uniform(1.5, 3.0)) * _PX_PER_PT
        rows = 1.0 + 0.12 * np.sin(2 * np.pi * (xs * np.cos(angle) + ys * np.sin(angle))
                                   / period_px)
        crop = np.float32(_CROPS[int(self.rng.integers(len(_CROPS)))])
        inside = owner[by0:by1, bx0:bx1] == index
        window = image[by0:by1, bx0:bx1]
        window[inside] = (crop * rows[..., None])[inside]

    def _buildings(self, image: np.ndarray, parcels: list[Polygon], covers: np.ndarray,
                   origin: tuple[float, float]) -> None:
        """A gabled house (or a flat shed) in built parcels, each after its shadow; a few
        garden trees."""
        shadow = np.zeros(image.shape[:2], dtype=np.uint8)
        roofs: list[tuple[Polygon, RGB]] = []
        for parcel, cover in zip(parcels, covers, strict=True):
            if cover not in (HOUSES, SHEDS) or self.rng.random() < 0.15:
                continue
            share = (0.45, 0.7) if cover == HOUSES else (0.6, 0.85)
            house = _inside(parcel, self.rng.uniform(*share, size=2))
            if house is None:
                continue
            fill_polygon(shadow, affinity.translate(house, *self.sun_pt), 1, origin,
                         _PX_PER_PT)
            if cover == SHEDS:
                grey = float(self.rng.uniform(0.66, 0.8))
                roofs.append((house, (grey, grey, grey + 0.02)))
            else:
                colour = _ROOFS[int(self.rng.integers(len(_ROOFS)))]
                roofs += [(half, tuple(c * s for c in colour))  # type: ignore[misc]
                          for half, s in zip(_gable_halves(house), (1.0, 0.78), strict=True)]
            if cover == HOUSES:
                self._garden_trees(image, parcel, house, origin)
        image[shadow.astype(bool)] *= 0.55
        for roof, colour in roofs:
            fill_polygon(image, roof, colour, origin, _PX_PER_PT)

    def _garden_trees(self, image: np.ndarray, parcel: Polygon, house: Polygon,
                      origin: tuple[float, float]) -> None:
        """0-3 round crowns (a shaded disc) in the garden, clear of the house."""
        x0, y0, x1, y1 = parcel.bounds
        for _ in range(int(self.rng.integers(0, 4))):
            x, y = self.rng.uniform((x0, y0), (x1, y1))
            radius = float(self.rng.uniform(1.5, 3.5))
            if not parcel.contains(shapely.Point(x, y)) or house.distance(
                    shapely.Point(x, y)) < radius:
                continue
            centre = tuple(int(round(((v - o) * _PX_PER_PT - 0.5) * 16)) for v, o in
                           zip((x, y), origin, strict=True))
            green = (0.16, 0.26, 0.12) if self.rng.random() < 0.5 else (0.22, 0.33, 0.15)
            cv2.circle(image, centre, int(radius * _PX_PER_PT * 16), green, -1, cv2.LINE_AA,
                       shift=4)

    def _roads(self, image: np.ndarray, layout: MapLayout, origin: tuple[float, float]) -> None:
        """Asphalt over the road corridors, dashed light lane marks on their centre lines."""
        if not layout.roads:
            return
        asphalt = np.zeros(image.shape[:2], dtype=np.uint8)
        for road in layout.roads:
            fill_polygon(asphalt, road, 1, origin, _PX_PER_PT)
        grey = np.float32(self.rng.uniform(0.36, 0.46))
        grain = smooth_noise(self.rng, *image.shape[:2], 1.5)
        image[asphalt.astype(bool)] = (grey * (1 + 0.05 * grain[asphalt.astype(bool)]))[:, None]
        mark = (0.85, 0.85, 0.8)
        for line in layout.road_lines:
            for start in np.arange(0.0, line.length - 4.0, 10.0):
                a, b = line.interpolate(start), line.interpolate(start + 4.0)
                ends = [tuple(int(round(((v - o) * _PX_PER_PT - 0.5) * 16)) for v, o in
                              zip((p.x, p.y), origin, strict=True)) for p in (a, b)]
                cv2.line(image, ends[0], ends[1], mark, 1, cv2.LINE_AA, shift=4)


def _inside(parcel: Polygon, share_xy: np.ndarray) -> Polygon | None:
    """The parcel's minimum rotated rectangle scaled by ``share_xy`` about its centre, shrunk
    further (up to twice) until it lies inside the parcel; None if it never does."""
    rect = parcel.minimum_rotated_rectangle
    for shrink in (1.0, 0.8, 0.64):
        house = affinity.scale(rect, *(share_xy * shrink))
        if house.geom_type == "Polygon" and house.within(parcel):
            return house
    return None


def _gable_halves(house: Polygon) -> list[Polygon]:
    """A rotated rectangle split along its long axis (the ridge): two roof planes."""
    corners = np.asarray(house.exterior.coords)[:4]
    if np.hypot(*(corners[1] - corners[0])) < np.hypot(*(corners[2] - corners[1])):
        corners = np.roll(corners, -1, axis=0)  # corners[0] -> [1] is a long side
    mid_a, mid_b = (corners[0] + corners[3]) / 2, (corners[1] + corners[2]) / 2
    return [Polygon([corners[0], corners[1], mid_b, mid_a]),
            Polygon([mid_a, mid_b, corners[2], corners[3]])]
