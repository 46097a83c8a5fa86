"""``--style scan``: turn a vector document into a "scanned" one (one JPEG per page, no
vector or text layer) and report the geometric transform so the ground truth follows it.

The degradation of a page, in order: render at the scan dpi -> fade colours towards the paper
tone -> rotate slightly and shift (scanner skew) -> Gaussian blur -> sensor noise -> JPEG.
The skew is an affine map of the page frame (points, y down); rasterising zone geometry
transformed by the same map gives masks aligned with the scanned pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import pymupdf

from planseg.synth.raster import jpeg_uint8_bytes

RGB = tuple[float, float, float]


@dataclass(frozen=True)
class ScanParams:
    """How one page was "scanned" (every page of a scan is skewed a little differently)."""

    angle_deg: float  # skew, counter-clockwise as seen on the page
    shift_pt: tuple[float, float]  # (dx, dy) page frame, y down
    fade: float  # 0 = original colours, 1 = paper tone
    paper_rgb: RGB  # in [0, 1]
    blur_sigma_px: float  # at the scan dpi
    noise_sigma: float  # grey levels (0-255)
    jpeg_quality: int


def draw_scan_params(rng: np.random.Generator) -> ScanParams:
    """Random but plausible scanner settings."""
    return ScanParams(
        angle_deg=float(rng.uniform(-1.5, 1.5)),
        shift_pt=(float(rng.uniform(-4, 4)), float(rng.uniform(-4, 4))),
        fade=float(rng.uniform(0.08, 0.25)),
        paper_rgb=_paper_tone(rng),
        blur_sigma_px=float(rng.uniform(0.4, 1.1)),
        noise_sigma=float(rng.uniform(2.0, 7.0)),
        jpeg_quality=int(rng.integers(45, 80)),
    )


def _paper_tone(rng: np.random.Generator) -> RGB:
    """Off-white to yellowed paper: red >= green >= blue."""
    red = float(rng.uniform(0.94, 1.0))
    green = red - float(rng.uniform(0.0, 0.04))
    return (red, green, green - float(rng.uniform(0.03, 0.10)))


def skew_affine_pt(params: ScanParams, page_size_pt: tuple[float, float]) -> np.ndarray:
    """3x3 float64 affine, page frame (points, y down) -> same frame after the skew.

    A rotation by ``angle_deg`` about the page centre followed by ``shift_pt``.
    """
    width, height = page_size_pt
    theta = np.deg2rad(params.angle_deg)
    # y points down, so a visually counter-clockwise turn is a negative angle in this frame
    c, s = np.cos(-theta), np.sin(-theta)
    rotation = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    to_centre = np.array([[1.0, 0.0, -width / 2], [0.0, 1.0, -height / 2], [0.0, 0.0, 1.0]])
    back = np.array([[1.0, 0.0, width / 2 + params.shift_pt[0]],
                     [0.0, 1.0, height / 2 + params.shift_pt[1]], [0.0, 0.0, 1.0]])
    return back @ rotation @ to_centre


def faded_rgb(rgb: RGB, params: ScanParams) -> RGB:
    """The colour a uniform ``rgb`` area shows after the fade (noise and blur average out)."""
    return tuple(float(c * (1 - params.fade) + p * params.fade)
                 for c, p in zip(rgb, params.paper_rgb, strict=True))  # type: ignore[return-value]


def scan_document(src: pymupdf.Document, params: list[ScanParams], rng: np.random.Generator,
                  scan_dpi: float) -> pymupdf.Document:
    """A new document whose page i is the degraded JPEG raster of ``src`` page i (params[i])."""
    out = pymupdf.open()
    for page, page_params in zip(src, params, strict=True):
        jpeg = _scan_page(page, page_params, rng, scan_dpi)
        target = out.new_page(width=page.rect.width, height=page.rect.height)
        target.insert_image(target.rect, stream=jpeg, keep_proportion=False)
    return out


def _scan_page(page: pymupdf.Page, params: ScanParams, rng: np.random.Generator,
               scan_dpi: float) -> bytes:
    """Render, degrade and JPEG-encode one page."""
    scale = scan_dpi / 72.0
    pix = page.get_pixmap(matrix=pymupdf.Matrix(scale, scale), alpha=False)
    image = np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.width, 3)
    return scan_jpeg(image, params, rng, scale, (page.rect.width, page.rect.height))


def scan_jpeg(image: np.ndarray, params: ScanParams, rng: np.random.Generator, scale: float,
              page_size_pt: tuple[float, float]) -> bytes:
    """Degrade an HxWx3 uint8 RGB page raster (``scale`` pixels per point, pixel frame y
    down) like a cheap scan and JPEG-encode it; same size out. Geometry in the pixel frame
    follows with :func:`skew_affine_px` (uint8 OpenCV ops: this is the hot path)."""
    height, width = image.shape[:2]
    paper = np.array(params.paper_rgb) * 255
    levels = np.arange(256, dtype=np.float64)[:, None]
    fade_lut = np.round(levels * (1 - params.fade) + paper * params.fade).astype(np.uint8)
    faded = cv2.LUT(image, fade_lut.reshape(256, 1, 3))
    skew = skew_affine_pt(params, page_size_pt)
    warped = cv2.warpAffine(faded, _pixel_affine(skew, scale)[:2], (width, height),
                            flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                            borderValue=tuple(float(v) for v in paper))
    blurred = cv2.GaussianBlur(warped, (0, 0), params.blur_sigma_px)
    # luminance grain: one noise plane shared by the three channels (a third of the draws)
    grain = rng.standard_normal((height, width), dtype=np.float32)
    grain = (grain * params.noise_sigma).astype(np.int16)[..., None]
    degraded = np.clip(blurred.astype(np.int16) + grain, 0, 255).astype(np.uint8)
    return jpeg_uint8_bytes(degraded, params.jpeg_quality)


def skew_affine_px(params: ScanParams, page_size_pt: tuple[float, float],
                   scale: float) -> np.ndarray:
    """:func:`skew_affine_pt` in the continuous pixel frame of a raster at ``scale`` pixels
    per point (3x3 float64): where a point of the unscanned raster lands in the scan."""
    to_px = np.diag([scale, scale, 1.0])
    return to_px @ skew_affine_pt(params, page_size_pt) @ np.linalg.inv(to_px)


def _pixel_affine(skew_pt: np.ndarray, scale: float) -> np.ndarray:
    """The skew in OpenCV's pixel convention (pixel centres at integer coordinates).

    Continuous pixel frame q = scale * p (pixel (0,0) spans [0,1)); OpenCV's centre-based
    frame is q - 0.5, so M_cv = T(-0.5) S skew S^-1 T(+0.5).
    """
    to_px = np.diag([scale, scale, 1.0])
    half = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 0.5], [0.0, 0.0, 1.0]])
    return np.linalg.inv(half) @ to_px @ skew_pt @ np.linalg.inv(to_px) @ half
