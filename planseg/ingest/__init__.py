"""Ingest: open planning PDFs and images, render pages exactly, read georeferencing and text.

Does not import torch. Frames: see :mod:`planseg.ingest.render`.
"""

from __future__ import annotations

from planseg.ingest.documents import Document, DocumentRef, discover, open_document
from planseg.ingest.georef import GeoViewport, PageGeoref, read_georef
from planseg.ingest.render import (
    RenderedPage,
    page_pixel_size,
    page_transforms,
    render_page,
)
from planseg.ingest.text import Word, page_words
from planseg.ingest.tiling import Tile, plan_tiles

__all__ = [
    "Document",
    "DocumentRef",
    "GeoViewport",
    "PageGeoref",
    "RenderedPage",
    "Tile",
    "Word",
    "discover",
    "open_document",
    "page_pixel_size",
    "page_transforms",
    "page_words",
    "plan_tiles",
    "read_georef",
    "render_page",
]
