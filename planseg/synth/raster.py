"""Raster helpers of the looks that paint pixels (``handcolour``, ``ortho``): value noise,
polygons burnt into a pixel window, and the image bytes a PDF page embeds.

Frame: a raster at ``px_per_pt`` pixels per point whose pixel (0, 0) starts at the page
point ``origin_pt``; pixel (i, j) is centred on ``origin_pt + ((j + 0.5), (i + 0.5)) /
px_per_pt`` (OpenCV's integer coordinates are pixel centres, hence the half pixel).
"""

from __future__ import annotations

import cv2
import numpy as np
from shapely.geometry import Polygon


def smooth_noise(rng: np.random.Generator, height_px: int, width_px: int,
                 cell_px: float) -> np.ndarray:
    """HxW float32 value noise with features about ``cell_px`` wide, mean 0, std 1
    (a coarse Gaussian grid upsampled bicubically)."""
    grid_h = max(2, int(np.ceil(height_px / cell_px)) + 1)
    grid_w = max(2, int(np.ceil(width_px / cell_px)) + 1)
    grid = rng.standard_normal((grid_h, grid_w), dtype=np.float32)
    noise = cv2.resize(grid, (width_px, height_px), interpolation=cv2.INTER_CUBIC)
    spread = float(noise.std())
    return (noise - float(noise.mean())) / spread if spread > 1e-6 else noise


def fill_polygon(canvas: np.ndarray, polygon: Polygon, value: float | tuple[float, ...],
                 origin_pt: tuple[float, float], px_per_pt: float) -> None:
    """Burn ``polygon`` (page frame, points; holes left unfilled) into ``canvas`` (HxW or
    HxWxC) in place with ``value``, at sub-pixel precision (4 fractional bits)."""
    def ring_px(ring) -> np.ndarray:
        xy = (np.asarray(ring.coords)[:, :2] - origin_pt) * px_per_pt - 0.5
        return np.round(xy * 16).astype(np.int32)

    holes = [ring_px(r) for r in polygon.interiors]
    if not holes:
        cv2.fillPoly(canvas, [ring_px(polygon.exterior)], value, lineType=cv2.LINE_8, shift=4)
        return
    mask = np.zeros(canvas.shape[:2], dtype=np.uint8)
    cv2.fillPoly(mask, [ring_px(polygon.exterior)], 1, lineType=cv2.LINE_8, shift=4)
    cv2.fillPoly(mask, holes, 0, lineType=cv2.LINE_8, shift=4)
    canvas[mask.astype(bool)] = value


def signed_distance_px(polygon: Polygon, origin_pt: tuple[float, float], px_per_pt: float,
                       shape_hw: tuple[int, int]) -> np.ndarray:
    """HxW float32 distance (pixels) from each pixel centre to the polygon's edge, positive
    inside, negative outside (for a window of ``shape_hw`` pixels)."""
    mask = np.zeros(shape_hw, dtype=np.uint8)
    fill_polygon(mask, polygon, 1, origin_pt, px_per_pt)
    inside = cv2.distanceTransform(mask, cv2.DIST_L2, 5)
    outside = cv2.distanceTransform(1 - mask, cv2.DIST_L2, 5)
    return inside - outside


def jpeg_bytes(rgb: np.ndarray, quality: int) -> bytes:
    """JPEG of an HxWx3 float RGB image in [0, 1]."""
    return jpeg_uint8_bytes(np.clip(rgb * 255 + 0.5, 0, 255).astype(np.uint8), quality)


def jpeg_uint8_bytes(rgb: np.ndarray, quality: int) -> bytes:
    """JPEG of an HxWx3 uint8 RGB image (the looks' rasters and ``--style scan`` pages)."""
    ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
                            [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:  # pragma: no cover - cv2 only fails on empty images
        raise RuntimeError("JPEG encoding failed")
    return jpeg.tobytes()


def png_rgba_bytes(rgba: np.ndarray) -> bytes:
    """PNG of an HxWx4 float RGBA image in [0, 1] (PyMuPDF embeds alpha as a soft mask)."""
    bgra = np.clip(rgba * 255 + 0.5, 0, 255).astype(np.uint8)[..., [2, 1, 0, 3]]
    ok, png = cv2.imencode(".png", bgra)
    if not ok:  # pragma: no cover - cv2 only fails on empty images
        raise RuntimeError("PNG encoding failed")
    return png.tobytes()
