"""The page's text layer: words with boxes in the PDF frame, in reading order."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from planseg.ingest.documents import Document
from planseg.ingest.render import page_rotation_pt, page_space_to_pdf


@dataclass(frozen=True)
class Word:
    """One word of the text layer; ``box_pdf`` is xyxy in the PDF frame (y up: y0 < y1)."""

    text: str
    box_pdf: tuple[float, float, float, float]


def page_words(doc: Document, page_index: int) -> list[Word]:
    """The words of page ``page_index`` in reading order of the displayed page.

    MuPDF groups words into blocks and lines; blocks are ordered top-to-bottom then
    left-to-right as the page is displayed (after /Rotate), words keep MuPDF's order inside a
    block. Boxes are the words' axis-aligned bounds in the PDF frame, so they line up with
    ``RenderedPage.pixel_to_pdf``. Scanned pages (no text layer) give an empty list.
    """
    page = doc.load_page(page_index)
    raw = page.get_text("words")  # boxes in the UNROTATED page (top-left origin, y down)
    if not raw:
        return []
    rotation = page_rotation_pt(page)  # unrotated -> displayed points
    unrotated_to_pdf = page_space_to_pdf(doc, page_index)
    blocks: dict[int, list[tuple[str, np.ndarray]]] = defaultdict(list)
    for x0, y0, x1, y1, text, block_no, _line_no, _word_no in raw:
        blocks[block_no].append((text, _corners(x0, y0, x1, y1)))
    ordered = sorted(blocks.values(), key=lambda words: _display_top_left(words, rotation))
    return [Word(text=text, box_pdf=_bounds(unrotated_to_pdf @ corners))
            for words in ordered for text, corners in words]


def _corners(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    return np.array([[x0, x1, x1, x0], [y0, y0, y1, y1], [1.0, 1.0, 1.0, 1.0]])


def _bounds(corners: np.ndarray) -> tuple[float, float, float, float]:
    xs, ys = corners[0], corners[1]
    return float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())


def _display_top_left(words: list[tuple[str, np.ndarray]],
                      rotation: np.ndarray) -> tuple[float, float]:
    x0, y0, _, _ = _bounds(rotation @ np.hstack([corners for _, corners in words]))
    return round(y0, 1), round(x0, 1)
