"""PDF builders for the ingest tests (imported by the other ``test_ingest_*`` files).

Pages are written through PyMuPDF's xref API with raw content streams in PDF user space, so
where a mark sits in the PDF frame is known exactly, independent of PyMuPDF's own conventions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pymupdf

HELVETICA = "<</Font <</F1 <</Type/Font/Subtype/Type1/BaseFont/Helvetica>> >> >>"


@dataclass
class PageSpec:
    """One page: boxes in PDF user space ([x0 y0 x1 y1]), /Rotate, and drawing operators."""

    mediabox: tuple[float, float, float, float] = (0, 0, 200, 150)
    cropbox: tuple[float, float, float, float] | None = None
    rotate: int = 0
    squares: list[tuple[float, float, float]] = field(default_factory=list)  # (x, y, side) pt
    words: list[tuple[str, float, float, float]] = field(default_factory=list)  # text, x, y, size


def content_stream(spec: PageSpec) -> bytes:
    """Filled red squares (lower-left corner x, y) and Helvetica words at baseline x, y."""
    ops = ["1 0 0 rg"] + [f"{x} {y} {s} {s} re f" for x, y, s in spec.squares]
    ops += [f"BT /F1 {size} Tf {x} {y} Td ({text}) Tj ET" for text, x, y, size in spec.words]
    return "\n".join(ops).encode()


def build_pdf(path: Path, pages: Sequence[PageSpec]) -> Path:
    """Write a PDF with ``pages`` to ``path`` and return it."""
    doc = pymupdf.open()
    for spec in pages:
        page = doc.new_page()
        doc.xref_set_key(page.xref, "MediaBox", _array(spec.mediabox))
        if spec.cropbox is not None:
            doc.xref_set_key(page.xref, "CropBox", _array(spec.cropbox))
        doc.xref_set_key(page.xref, "Rotate", str(spec.rotate))
        doc.xref_set_key(page.xref, "Resources", HELVETICA)
        stream_xref = doc.get_new_xref()
        doc.update_object(stream_xref, "<<>>")
        doc.update_stream(stream_xref, content_stream(spec))
        doc.xref_set_key(page.xref, "Contents", f"{stream_xref} 0 R")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    doc.save(path)
    doc.close()
    return path


def simple_pdf(path: Path, pages: int = 1, size_pt: tuple[float, float] = (200, 150)) -> Path:
    """A small PDF with one red square and one word per page."""
    spec = PageSpec(mediabox=(0, 0, *size_pt), squares=[(20, 20, 30)],
                    words=[("R1", 60, 60, 12)])
    return build_pdf(path, [spec] * pages)


def _array(box: Sequence[float]) -> str:
    return "[" + " ".join(f"{v:g}" for v in box) + "]"


def test_builder_writes_pages_with_boxes(tmp_path):
    path = build_pdf(tmp_path / "b.pdf", [PageSpec(mediabox=(10, 20, 110, 220),
                                                   cropbox=(20, 30, 100, 200), rotate=90)])
    with pymupdf.open(path) as doc:
        page = doc[0]
        assert page.rotation == 90
        assert (page.rect.width, page.rect.height) == (170, 80)
