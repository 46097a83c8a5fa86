"""Render a page (or one rectangle of it) to RGB pixels with the exact pixel <-> PDF transform.

Frames (see the project contracts):

* PDF frame: the file's default user space in points, y up (MediaBox coordinates).
* Pixel frame: (col, row) of the full displayed page raster at ``dpi`` - rotated by the page's
  /Rotate and cut to its CropBox - origin at the top-left corner of pixel (0, 0), y down.

The transform comes from MuPDF's own page matrix (``pdf_page_transform``: CropBox origin,
rotation, y flip, UserUnit), the same matrix the rasteriser uses, so it is exact by construction;
the tests check it against drawn marks anyway.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pymupdf

from planseg.errors import CorruptDocumentError, PageTooLargeError
from planseg.ingest.documents import Document, cached_document

log = logging.getLogger(__name__)

DEFAULT_DPI = 150.0
#: Budget used when the caller gives none: 200 Mpx is a 600 MB RGB raster.
DEFAULT_MAX_PIXELS = 200_000_000
_mupdf = pymupdf.mupdf


@dataclass
class RenderedPage:
    """A rendered page or tile.

    ``image`` is HxWx3 uint8 RGB; it covers full-page pixels ``offset_px`` (x0, y0) to
    (x0 + W, y0 + H). ``pixel_to_pdf`` (3x3 float64, column vectors [col, row, 1]) maps the
    FULL-page pixel frame to the PDF frame; ``pdf_to_pixel`` is its inverse.
    """

    image: np.ndarray
    page_index: int
    dpi: float
    offset_px: tuple[int, int]
    page_width_px: int
    page_height_px: int
    pixel_to_pdf: np.ndarray
    pdf_to_pixel: np.ndarray


def pdf_to_display_pt(doc: Document, page_index: int) -> np.ndarray:
    """3x3 affine from the PDF frame to displayed-page points (top-left origin, y down)."""
    page = doc.load_page(page_index)
    mediabox, ctm = _mupdf.FzRect(), _mupdf.FzMatrix()
    _mupdf.pdf_page_transform(_mupdf.pdf_page_from_fz_page(page.this), mediabox, ctm)
    return np.array([[ctm.a, ctm.c, ctm.e], [ctm.b, ctm.d, ctm.f], [0.0, 0.0, 1.0]])


#: The 3x3 identity, shared and read-only: :func:`page_rotation_pt` of an unrotated page, so
#: callers can skip transforming by testing ``is IDENTITY``.
IDENTITY = np.eye(3)
IDENTITY.setflags(write=False)


def page_rotation_pt(page: pymupdf.Page) -> np.ndarray:
    """3x3 affine from MuPDF's unrotated page space (what ``get_text`` and ``get_drawings``
    report: points, y down) to displayed-page points (after /Rotate); :data:`IDENTITY` for an
    unrotated page."""
    m = page.rotation_matrix
    matrix = np.array([[m.a, m.c, m.e], [m.b, m.d, m.f], [0.0, 0.0, 1.0]])
    return IDENTITY if np.array_equal(matrix, IDENTITY) else matrix


def page_space_to_pdf(doc: Document, page_index: int) -> np.ndarray:
    """3x3 affine from MuPDF's unrotated page space to the PDF frame - the same matrices
    :func:`page_transforms` is built from."""
    rotation = page_rotation_pt(doc.load_page(page_index))
    return np.linalg.inv(pdf_to_display_pt(doc, page_index)) @ rotation


def page_transforms(doc: Document, page_index: int, dpi: float) -> tuple[np.ndarray, np.ndarray]:
    """(pixel_to_pdf, pdf_to_pixel) 3x3 float64 affines for the full page raster at ``dpi``."""
    scale = dpi / 72.0
    pdf_to_pixel = np.diag([scale, scale, 1.0]) @ pdf_to_display_pt(doc, page_index)
    return np.linalg.inv(pdf_to_pixel), pdf_to_pixel


def page_size_pt(doc: Document, page_index: int) -> tuple[float, float]:
    """(width_pt, height_pt) of the displayed (rotated, cropped) page."""
    rect = doc.load_page(page_index).rect
    return rect.width, rect.height


def page_pixel_size(doc: Document, page_index: int, dpi: float) -> tuple[int, int]:
    """(width_px, height_px) of the displayed page raster at ``dpi``, as MuPDF rounds it."""
    width_pt, height_pt = page_size_pt(doc, page_index)
    return _pixel_size(width_pt, height_pt, dpi)


def _pixel_size(width_pt: float, height_pt: float, dpi: float) -> tuple[int, int]:
    scale = dpi / 72.0
    box = _mupdf.fz_round_rect(_mupdf.fz_transform_rect(
        _mupdf.FzRect(0, 0, width_pt, height_pt), _mupdf.fz_scale(scale, scale)))
    return box.x1 - box.x0, box.y1 - box.y0


def resolve_dpi(doc: Document, page_index: int, dpi: float | None,
                max_pixels: int | None) -> float:
    """The DPI to render at: ``dpi`` if given, else the largest under ``max_pixels``, else 150."""
    if dpi is not None:
        if not dpi > 0:
            raise ValueError(f"dpi must be positive, got {dpi}")
        return float(dpi)
    if max_pixels is None:
        return DEFAULT_DPI
    width_pt, height_pt = page_size_pt(doc, page_index)
    fit = 72.0 * math.sqrt(max_pixels / (width_pt * height_pt))
    while fit > 0 and math.prod(_pixel_size(width_pt, height_pt, fit)) > max_pixels:
        fit *= 0.999  # MuPDF rounds edges outwards; shrink until the rounded raster fits
    return fit


def render_page(doc: Document, page_index: int, *, dpi: float | None = None,
                max_pixels: int | None = None,
                clip_xyxy_px: tuple[int, int, int, int] | None = None) -> RenderedPage:
    """Render page ``page_index`` (0-based) to HxWx3 uint8 RGB.

    ``dpi`` fixes the resolution; without it the page is fitted under ``max_pixels`` (or
    rendered at 150 DPI). ``clip_xyxy_px`` (full-page pixel frame, exclusive end) renders only
    that rectangle - a tile - without rasterising the rest of the page; the result's pixels are
    those of the full render. Raises :class:`PageTooLargeError` when the raster to allocate
    exceeds ``max_pixels`` (default :data:`DEFAULT_MAX_PIXELS`) and
    :class:`CorruptDocumentError` when MuPDF cannot render the page.
    """
    dpi = resolve_dpi(doc, page_index, dpi, max_pixels)
    width_px, height_px = page_pixel_size(doc, page_index, dpi)
    clip = _check_clip(clip_xyxy_px, width_px, height_px)
    check_pixel_budget(doc, page_index, clip, dpi, max_pixels)
    pix = render_pixmap(doc, page_index, dpi, clip)
    pixel_to_pdf, pdf_to_pixel = page_transforms(doc, page_index, dpi)
    return RenderedPage(image=pixmap_to_array(pix), page_index=page_index, dpi=dpi,
                        offset_px=(clip[0], clip[1]), page_width_px=width_px,
                        page_height_px=height_px, pixel_to_pdf=pixel_to_pdf,
                        pdf_to_pixel=pdf_to_pixel)


def render_tile(path: Path, page_index: int, dpi: float, max_pixels: int,
                clip_xyxy_px: tuple[int, int, int, int]) -> np.ndarray:
    """HxWx3 uint8 RGB pixels of full-page rectangle ``clip_xyxy_px`` (exclusive end) of the
    document at ``path``; a worker-process task (the document stays open for the next tile)."""
    doc = cached_document(path)
    return render_page(doc, page_index, dpi=dpi, max_pixels=max_pixels,
                       clip_xyxy_px=clip_xyxy_px).image


def render_pixmap(doc: Document, page_index: int, dpi: float,
                  clip_xyxy_px: tuple[int, int, int, int]) -> pymupdf.Pixmap:
    """The RGB :class:`pymupdf.Pixmap` of full-page pixels ``clip_xyxy_px`` at ``dpi``."""
    scale = dpi / 72.0
    x0, y0, x1, y1 = clip_xyxy_px
    full = (x0, y0) == (0, 0) and (x1, y1) == page_pixel_size(doc, page_index, dpi)
    try:  # same matrix as the full render, so a tile's pixels are the full render's pixels
        source = doc.load_page(page_index) if full else doc.display_list(page_index)
        pix = source.get_pixmap(matrix=pymupdf.Matrix(scale, scale), alpha=False,
                                colorspace=pymupdf.csRGB,
                                clip=pymupdf.Rect(x0 / scale, y0 / scale, x1 / scale, y1 / scale))
    except Exception as exc:
        raise CorruptDocumentError(f"page {page_index + 1} cannot be rendered ({exc})",
                                   path=doc.path) from exc
    if (pix.x, pix.y, pix.width, pix.height) != (x0, y0, x1 - x0, y1 - y0):
        pix = _realign(pix, clip_xyxy_px)
    return pix


def pixmap_to_array(pix: pymupdf.Pixmap) -> np.ndarray:
    """HxWx3 uint8 copy of an RGB pixmap's samples (independent of MuPDF's memory)."""
    rows = np.frombuffer(pix.samples_mv, dtype=np.uint8).reshape(pix.height, pix.stride)
    return rows[:, : pix.width * pix.n].reshape(pix.height, pix.width, pix.n)[..., :3].copy()


def _realign(pix: pymupdf.Pixmap, clip: tuple[int, int, int, int]) -> pymupdf.Pixmap:
    """Paste a pixmap whose rounding differs from ``clip`` onto a white pixmap of exactly it."""
    log.debug("realigning pixmap %s to clip %s", pix.irect, clip)
    exact = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(*clip), False)
    exact.set_rect(pymupdf.IRect(exact.irect), (255, 255, 255))
    exact.copy(pix, pymupdf.IRect(pix.irect) & pymupdf.IRect(exact.irect))
    return exact


def _check_clip(clip: tuple[int, int, int, int] | None, width_px: int,
                height_px: int) -> tuple[int, int, int, int]:
    if clip is None:
        return 0, 0, width_px, height_px
    x0, y0, x1, y1 = (int(v) for v in clip)
    if not (0 <= x0 < x1 <= width_px and 0 <= y0 < y1 <= height_px):
        raise ValueError(f"clip_xyxy_px {clip} is not inside the page raster "
                         f"0..{width_px} x 0..{height_px}")
    return x0, y0, x1, y1


def check_pixel_budget(doc: Document, page_index: int, clip: tuple[int, int, int, int],
                       dpi: float, max_pixels: int | None,
                       advice: str = "lower --dpi, raise --max-pixels or render in tiles"
                       ) -> None:
    """Raise :class:`PageTooLargeError` if the ``clip`` raster exceeds ``max_pixels`` (or, when
    None, :data:`DEFAULT_MAX_PIXELS`). ``advice`` ends the message: what the calling command's
    user can change (segment tiles by itself, so "render in tiles" is no advice there)."""
    budget = DEFAULT_MAX_PIXELS if max_pixels is None else max_pixels
    width, height = clip[2] - clip[0], clip[3] - clip[1]
    if width * height > budget:
        raise PageTooLargeError(
            f"page {page_index + 1} would be {width} x {height} px at {dpi:g} DPI, over the "
            f"pixel budget of {budget} px; {advice}", path=doc.path)
