"""Preview PNGs: the page with semi-transparent polygons (``--previews``).

A polygon with a legend class is filled in its class colour and labelled with its code; one
without is filled in a colour of its own and labelled with its id.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from planseg.export.features import PageFeature
from planseg.export.vectorize import Areal
from planseg.fsio import atomic_write_bytes

_GOLDEN = 0.618033988749895


def palette_rgb(index: int) -> tuple[int, int, int]:
    """A distinct, saturated RGB colour for the ``index``-th mask (golden-ratio hues)."""
    hue = int(((index * _GOLDEN) % 1.0) * 180)
    hsv = np.array([[[hue, 200, 230]]], dtype=np.uint8)
    r, g, b = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0]
    return int(r), int(g), int(b)


def draw_geometries(image: np.ndarray, geometries: Sequence[Areal], *, opacity: float = 0.45,
                    labels: Sequence[str] | None = None,
                    colours: Sequence[Sequence[int] | None] | None = None) -> np.ndarray:
    """HxWx3 uint8 RGB page + pixel-frame geometries -> new HxWx3 uint8 RGB overlay:
    each geometry filled at ``opacity`` in ``colours[i]`` (RGB; a palette colour of its own
    where None or not given), outlined, labelled at an interior point."""
    fill = image.copy()
    height, width = image.shape[:2]
    outlines = []
    for index, geometry in enumerate(geometries):
        given = colours[index] if colours is not None else None
        colour = palette_rgb(index) if given is None else tuple(int(c) for c in given)
        x0, y0, x1, y1 = (int(v) for v in np.round(geometry.bounds))
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(width, x1), min(height, y1)
        for polygon in getattr(geometry, "geoms", [geometry]):
            rings = [_cv_ring(polygon.exterior.coords)]
            holes = [_cv_ring(h.coords) for h in polygon.interiors]
            outlines.append((rings + holes, colour))
            if x1 <= x0 or y1 <= y0:
                continue
            mask = np.zeros((y1 - y0, x1 - x0), dtype=np.uint8)  # the box only: cheap
            offset = (-x0 * 16, -y0 * 16)
            cv2.fillPoly(mask, rings, 1, shift=4, offset=offset)
            if holes:
                cv2.fillPoly(mask, holes, 0, shift=4, offset=offset)
            fill[y0:y1, x0:x1][mask.astype(bool)] = colour
    out = cv2.addWeighted(fill, opacity, image, 1.0 - opacity, 0.0)
    for rings, colour in outlines:
        cv2.polylines(out, rings, True, colour, 1, cv2.LINE_AA, shift=4)
    for geometry, text in zip(geometries, labels or [], strict=False):
        point = geometry.representative_point()
        _put_label(out, text, (int(point.x), int(point.y)))
    return out


def write_preview(path: Path, image: np.ndarray | None, features: Sequence[PageFeature],
                  *, size_px: tuple[int, int], opacity: float = 0.45) -> None:
    """Write a page overlay PNG atomically; a white page when the raster is unknown.
    ``size_px``: (width, height) of the page raster the features are in. Classified
    features are drawn in their class colour with their code, the others with their id."""
    base = image if image is not None else np.full((size_px[1], size_px[0], 3), 255, np.uint8)
    overlay = draw_geometries(
        base, [f.geometry_px for f in features], opacity=opacity,
        labels=[f.properties.get("class_code") or str(f.id) for f in features],
        colours=[f.properties.get("class_rgb") for f in features])
    write_png(path, overlay)


def write_png(path: Path, image_rgb: np.ndarray) -> None:
    """Encode an HxWx3 uint8 RGB image as PNG and write it atomically."""
    ok, data = cv2.imencode(".png", cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise ValueError(f"cannot encode PNG for {path}")
    atomic_write_bytes(path, data.tobytes())


def _cv_ring(coords) -> np.ndarray:
    # 4 fractional bits: pixel-edge coordinates (x.0) land between pixel centres (x.5)
    return np.round((np.asarray(coords)[:, :2] - 0.5) * 16).astype(np.int32)


def _put_label(image: np.ndarray, text: str, origin: tuple[int, int]) -> None:
    scale = max(0.35, min(image.shape[:2]) / 1500)
    (width, height), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    x, y = origin[0] - width // 2, origin[1] + height // 2
    cv2.putText(image, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 3,
                cv2.LINE_AA)
    cv2.putText(image, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 1,
                cv2.LINE_AA)
