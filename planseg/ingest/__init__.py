"""Ingest: open planning PDFs and images, render pages exactly, read georeferencing and text.

Does not import torch. Frames: see :mod:`planseg.ingest.render`. Names are imported lazily
(PEP 562) because PyMuPDF takes about a second to import and ``planseg --help`` must not wait.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "Document": "documents", "DocumentRef": "documents", "discover": "documents",
    "open_document": "documents",
    "GeoViewport": "viewport", "PageGeoref": "georef", "read_georef": "georef",
    "RenderedPage": "render", "page_pixel_size": "render", "page_transforms": "render",
    "render_page": "render",
    "Word": "text", "page_words": "text",
    "Tile": "tiling", "plan_tiles": "tiling",
    "RasterizeConfig": "rasterize_config", "RasterizeSummary": "rasterize", "run": "rasterize",
}
__all__ = [
    "Document", "DocumentRef", "GeoViewport", "PageGeoref", "RasterizeConfig",
    "RasterizeSummary", "RenderedPage", "Tile", "Word", "discover", "open_document",
    "page_pixel_size", "page_transforms", "page_words", "plan_tiles", "read_georef",
    "render_page", "run",
]

if TYPE_CHECKING:
    from planseg.ingest.documents import Document, DocumentRef, discover, open_document
    from planseg.ingest.georef import PageGeoref, read_georef
    from planseg.ingest.rasterize import RasterizeSummary, run
    from planseg.ingest.rasterize_config import RasterizeConfig
    from planseg.ingest.render import RenderedPage, page_pixel_size, page_transforms, render_page
    from planseg.ingest.text import Word, page_words
    from planseg.ingest.tiling import Tile, plan_tiles
    from planseg.ingest.viewport import GeoViewport


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'planseg.ingest' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"planseg.ingest.{_EXPORTS[name]}"), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return __all__
