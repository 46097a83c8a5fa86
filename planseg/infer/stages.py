"""The pipeline's work units that run in worker processes (no torch): render a tile, export a
page, write a finished document's files (with :mod:`planseg.export.document`).

Each function takes and returns small picklable values: a tile's pixels go to the device
process, a page's RLE detections go to an export worker which renders the page image itself
(for fill colours and previews) so full-page rasters never cross a process boundary and no
process holds more than one page image at a time.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from planseg.export.config import ExportConfig
from planseg.export.document import DocumentExport, number_features, preview_path
from planseg.export.document import write_document as export_document_files
from planseg.export.features import PageFeature, page_features
from planseg.export.types import Detection, PageMasks
from planseg.ingest.documents import Document, open_document

log = logging.getLogger(__name__)

#: Largest page whose image is rendered for fill colours and previews. Export's colour and
#: vectorising steps hold several page-sized int64 arrays for a page-sized mask (an A0 sheet
#: at 300 DPI, 140 Mpx, peaked at 5.7 GiB), so beyond this the page goes without.
IMAGE_BUDGET_PX = 50_000_000
_OPEN: list[Document] = []  # this process's most recently used document (workers reuse it)


def cached_document(path: Path) -> Document:
    """Open ``path`` once per process while consecutive tasks use it (tiles of one page)."""
    if _OPEN and _OPEN[0].path == Path(path):
        return _OPEN[0]
    close_cached_document()
    _OPEN.append(open_document(Path(path)))
    return _OPEN[0]


def close_cached_document() -> None:
    """Close the cached document, if any."""
    while _OPEN:
        _OPEN.pop().close()


def render_tile(path: Path, page_index: int, dpi: float, max_pixels: int,
                clip_xyxy_px: tuple[int, int, int, int]) -> np.ndarray:
    """HxWx3 uint8 RGB pixels of full-page rectangle ``clip_xyxy_px`` (exclusive end)."""
    from planseg.ingest.render import render_page

    doc = cached_document(path)
    return render_page(doc, page_index, dpi=dpi, max_pixels=max_pixels,
                       clip_xyxy_px=clip_xyxy_px).image


@dataclass
class PageExport:
    """A vectorised page: ``page`` without its image, its features (ids 1..n within the
    page, renumbered per document later) and the preview written, if any."""

    page: PageMasks
    features: list[PageFeature]
    paths: list[Path] = field(default_factory=list)


def export_page(path: Path, document: str, page_index: int, dpi: float, max_pixels: int,
                detections: list[Detection], config: ExportConfig,
                out_dir: Path) -> PageExport:
    """Vectorise one page's detections (full-page pixel frame) and write its preview."""
    from planseg.ingest import page_pixel_size, page_transforms, page_words, read_georef
    from planseg.ingest.render import render_page

    doc = cached_document(path)
    width_px, height_px = page_pixel_size(doc, page_index, dpi)
    pixel_to_pdf, _ = page_transforms(doc, page_index, dpi)
    # The image only feeds fill colours and previews; a page over the budget goes without
    # rather than exhausting memory.
    image = (render_page(doc, page_index, dpi=dpi, max_pixels=max_pixels).image
             if math.prod((width_px, height_px)) <= min(max_pixels, IMAGE_BUDGET_PX) else None)
    page = PageMasks(document=document, page_number=page_index + 1, width_px=width_px,
                     height_px=height_px, dpi=dpi, pixel_to_pdf=pixel_to_pdf,
                     georef=read_georef(doc, page_index), words=page_words(doc, page_index),
                     detections=detections, image=image)
    features = page_features(page, config, first_id=1)
    result = PageExport(page=page, features=features)
    if config.previews:
        from planseg.export.preview import write_preview

        preview = preview_path(out_dir, document, page.page_number)
        write_preview(preview, image, features, size_px=(width_px, height_px),
                      opacity=config.preview_opacity)
        result.paths.append(preview)
    page.image = None  # the parent needs detections and transforms only
    return result


def write_document(pages: list[PageExport], config: ExportConfig,
                   out_dir: Path) -> DocumentExport:
    """Write one document's formats from its exported pages (in page order) with the export
    stage's writer; feature ids run 1.. through the document. The returned paths include
    the pages' previews."""
    features = number_features([page.features for page in pages])
    result = export_document_files([page.page for page in pages], features, out_dir, config)
    result.paths[:0] = [path for page in pages for path in page.paths]
    return result
