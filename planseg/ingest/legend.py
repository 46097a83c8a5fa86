"""Read a map page's legend: the colour swatches, each with its class code and name.

Frames: MuPDF gives drawings and words in the *unrotated* page (points, y down); a legend is
laid out as the page is *displayed* ("text right of the swatch"), so everything is first moved
to the displayed page (points, top-left origin, y down, after /Rotate), paired and grouped
there, and each swatch box is converted to the PDF frame (user space, points, y up) at the end.

How a legend is recognised (the rules, in order):

1. Swatches. Vector pages: small filled paths (a rectangle or a short polygon, 4-150 pt by
   3-60 pt) and stroke-only rectangles (an empty or hatched box); stroked lines drawn over a
   swatch after it are its hatch (the colour with the longest run inside the box). Raster pages
   (no swatch in the drawings, an image on the page): near-uniform rectangles found in the
   rendered pixels (:mod:`planseg.ingest.legend_raster`).
2. Labels (pages with a text layer; :mod:`planseg.ingest.legend_lines`). The text line
   starting just right of a swatch and beside it is its label (continuation lines under it
   join it); a short code written inside the swatch or just left of it is its code. The code
   is split from the name: ``RS-2 Residential Single``, ``B2 - Zona B: ...``, ``URBAN CENTER
   (UC)``. On text pages a swatch without a label right of it is dropped (a map symbol, not a
   legend entry); when two boxes claim one label, the inner one (a swatch inside a symbol
   frame) wins.
3. Grouping. Swatches of the same size aligned in a column (or a row) form a legend; at least
   two labelled swatches (three on pages without text) with at least two colours; a column's
   labels start at one x. Several groups are all returned, with a note when they lie far
   apart (two legends); repeated colours and hatched swatches get a note too.

Bad input never raises: entries may be empty and ``notes`` say why.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np
import pymupdf

from planseg.errors import InputError
from planseg.ingest.documents import Document
from planseg.ingest.legend_lines import (
    FEW_LINES,
    LinesBeside,
    TextLine,
    has_label,
    label_of,
    split_code,
    text_lines,
)
from planseg.ingest.legend_raster import raster_swatches
from planseg.ingest.legend_types import (
    Box,
    LegendEntry,
    PageLegend,
    Swatch,
    rgb_to_hex,
)
from planseg.ingest.legend_vector import (
    VectorShapes,
    collect_shapes,
    gc_paused,
    overlaps,
    transform_box,
)
from planseg.ingest.render import page_rotation_pt, pdf_to_display_pt

log = logging.getLogger(__name__)

__all__ = ["read_drawn_legend", "read_legend", "split_code"]  # split_code: legend_lines'


def read_legend(doc: Document, page_index: int, *, drawings: list[dict] | None = None,
                words: list[tuple] | None = None, shapes: VectorShapes | None = None,
                ) -> PageLegend:
    """The legend of page ``page_index`` (0-based); never raises.

    ``drawings`` (the page's ``get_drawings()``/``get_cdrawings()`` list) or ``shapes`` (a
    :class:`VectorShapes` fed every path of the page) and ``words`` (``get_text("words")``)
    may be passed when the caller already has them (a vector reader does), so the page's
    content is interpreted once. Entry boxes are in the PDF frame; see the module docstring
    for the rules.
    """
    legend = _safely(doc, page_index, drawings, words, shapes, raster=True)
    assert legend is not None  # with raster=True there is always an answer
    return legend


def read_drawn_legend(doc: Document, page_index: int, shapes: VectorShapes,
                      words: list[tuple] | None = None) -> PageLegend | None:
    """:func:`read_legend` from ``shapes`` collected in another pass over the page's drawing
    (the vector zone reader's), or None where the answer needs the page's pixels (no legend
    in the drawing and an image on the page, or a path the collector could not read): this
    never renders, the caller then asks :func:`read_legend`. Never raises."""
    if shapes.failed is not None:
        log.debug("page %d: legend shapes incomplete (%r)", page_index + 1, shapes.failed)
        return None
    return _safely(doc, page_index, None, words, shapes, raster=False)


def _safely(doc: Document, page_index: int, drawings: list[dict] | None,
            words: list[tuple] | None, shapes: VectorShapes | None, *,
            raster: bool) -> PageLegend | None:
    try:
        page = doc.load_page(page_index)
        # the cyclic collector off while reading: on a big map a legend's thousands of
        # short-lived objects (text lines, stroke records) set off a dozen collections of the
        # young generation per page (Plochingen: 36 against 25 without a legend) and promoted
        # what was alive then, which brought the next full collection (~40 ms) sooner; nothing
        # read here holds a cycle
        with gc_paused():
            return _read(doc, page, page_index, drawings, words, shapes, raster)
    except InputError as exc:
        return PageLegend([], None, [f"no legend read: {exc.reason}"])
    except Exception as exc:  # a legend must never stop a page: report and go on
        log.debug("legend of page %d failed", page_index + 1, exc_info=True)
        return PageLegend([], None, [f"no legend read: {type(exc).__name__}: {exc}"])


def _read(doc: Document, page: pymupdf.Page, page_index: int, drawings: list[dict] | None,
          words: list[tuple] | None, shapes: VectorShapes | None,
          raster: bool) -> PageLegend | None:
    to_display = page_rotation_pt(page)  # unrotated page -> displayed page
    lines = text_lines(page.get_text("words") if words is None else words, to_display)
    if shapes is None:
        shapes = collect_shapes(page) if drawings is None else VectorShapes(drawings)
    swatches, notes = _on_page(shapes.swatches(to_display), page.rect)
    entries, found = assemble(swatches, lines, with_text=True)
    entries = [replace(e, hatch_rgb=shapes.hatch(s.ref)) for e, s in entries]
    source = "vector" if entries else None
    if not entries and page.get_images():
        if not raster:
            return None

        swatches, notes = _on_page(raster_swatches(doc, page_index), page.rect)
        for with_text in ([True, False] if lines else [False]):  # OCR text may miss the legend
            entries, found = assemble(swatches, lines if with_text else [], with_text=with_text)
            entries = [e for e, _ in entries]
            if entries:
                source = "raster-text" if with_text else "raster"
                break
    display_to_pdf = np.linalg.inv(pdf_to_display_pt(doc, page_index))
    pdf_entries = [replace(e, box_pt=transform_box(display_to_pdf, e.box_pt)) for e in entries]
    notes += found + _entry_notes(pdf_entries)
    for note in notes:
        log.debug("page %d legend: %s", page_index + 1, note)
    return PageLegend(pdf_entries, source, notes)


def _on_page(swatches: list[Swatch], rect: pymupdf.Rect) -> tuple[list[Swatch], list[str]]:
    """Swatches that show on the displayed page; a note for those drawn outside it."""
    inside = [s for s in swatches if overlaps(s.box, (rect.x0, rect.y0, rect.x1, rect.y1))]
    if len(inside) == len(swatches):
        return inside, []
    return inside, [f"{len(swatches) - len(inside)} swatch-like shapes lie outside the "
                    f"visible page and are ignored"]


def assemble(swatches: list[Swatch], lines: list[TextLine], *, with_text: bool,
             ) -> tuple[list[tuple[LegendEntry, Swatch]], list[str]]:
    """Legend entries (boxes still in the displayed frame) with their swatches, and notes.
    ``with_text``: only swatches with a label or a code count (pages with a text layer)."""
    if not swatches:
        return [], ["no legend found: no swatch-like shape on the page"]
    line_boxes = np.array([line.box for line in lines]).reshape(-1, 4)
    labelled = has_label(np.array([s.box for s in swatches]), line_boxes) if with_text \
        else np.ones(len(swatches), dtype=bool)
    candidates, label_x = [], []
    beside = LinesBeside(line_boxes)
    for swatch, with_label in zip(swatches, labelled, strict=True):
        if not with_label:
            continue  # the test label_of would make, for all swatches at once
        if with_text:
            near = beside(swatch.box)
            code, label, x = label_of(swatch.box, lines, line_boxes) if near is None else \
                label_of(swatch.box, [lines[i] for i in near],
                         line_boxes[near] if len(near) > FEW_LINES else None)
        else:
            code, label, x = None, None, np.nan
        if with_text and np.isnan(x):
            continue  # on text pages a swatch has its label right of it
        candidates.append((LegendEntry(swatch.rgb, swatch.hatch_rgb, code, label, swatch.box),
                           swatch))
        label_x.append(x)
    if with_text:
        candidates, label_x = _innermost(candidates, label_x)
    boxes = np.array([e.box_pt for e, _ in candidates]).reshape(-1, 4)
    groups = [g for g in _groups(boxes, np.array(label_x))
              if len(g) >= (2 if with_text else 3) and len({candidates[i][0].rgb for i in g}) > 1]
    if not groups:
        return [], [f"no legend found: {len(swatches)} swatch-like shapes, {len(candidates)} "
                    f"{'with a label' if with_text else 'kept'}, none aligned with a like one"]
    return [candidates[i] for group in groups for i in group], _far_apart(boxes, groups)


def _innermost(candidates: list[tuple[LegendEntry, Swatch]], label_x: list[float],
               ) -> tuple[list[tuple[LegendEntry, Swatch]], list[float]]:
    """One swatch per label where nested shapes share it: the one aligned with the most like
    ones (:func:`_groups`), then the innermost (a swatch in a frame). A legend of outlined
    boxes with a sample or symbol inside some of them is a column of the boxes: the samples,
    of other sizes, align with nothing."""
    boxes = np.array([e.box_pt for e, _ in candidates]).reshape(-1, 4)
    aligned = np.zeros(len(candidates), dtype=int)
    for group in _groups(boxes, np.array(label_x)):
        aligned[group] = len(group)
    best: dict[tuple, tuple[tuple[int, float], int]] = {}  # label -> (rank, index)
    for i, (entry, _) in enumerate(candidates):
        key = (entry.code, entry.label, label_x[i])
        ranked = ((-int(aligned[i]), _area(entry.box_pt)), i)  # a tie keeps the first
        if key not in best or ranked < best[key]:
            best[key] = ranked
    keep = sorted(i for _, i in best.values())
    return [candidates[i] for i in keep], [label_x[i] for i in keep]


def _area(box: Box) -> float:
    return (box[2] - box[0]) * (box[3] - box[1])


def _groups(boxes: np.ndarray, label_x: np.ndarray) -> list[list[int]]:
    """Swatches of a like size in a column (labels starting at one x) or a row, as index
    lists in reading order (column by column, top to bottom); groups top-left first."""
    if len(boxes) == 0:
        return []
    x0, y0, x1, y1 = (boxes[:, i][:, None] for i in range(4))
    w, h = x1 - x0, y1 - y0
    big_w, big_h = np.maximum(w, w.T), np.maximum(h, h.T)
    alike = (np.abs(w - w.T) <= 0.2 * big_w + 1) & (np.abs(h - h.T) <= 0.2 * big_h + 1)
    dx, dy = np.abs(x0 - x0.T), np.abs(y0 - y0.T)
    v_gap = np.maximum(y0 - y1.T, y0.T - y1)
    h_gap = np.maximum(x0 - x1.T, x0.T - x1)
    lx = label_x[:, None]
    same_start = np.isnan(lx) | np.isnan(lx.T) | (np.abs(lx - lx.T) <= 3 + 0.05 * dy)
    column = (dx <= 2 + 0.05 * dy) & (v_gap <= 3 * big_h + 4) & (v_gap > -0.5 * big_h) \
        & same_start
    labelled = ~np.isnan(lx) & ~np.isnan(lx.T)
    row = (dy <= 1 + 0.02 * dx) & (h_gap <= 12 * big_h + 20) & (h_gap > 0) & labelled
    linked = alike & (column | row)
    seen = np.zeros(len(boxes), dtype=bool)
    groups = []
    for start in range(len(boxes)):
        if seen[start]:
            continue
        seen[start], stack, members = True, [start], []
        while stack:
            i = stack.pop()
            members.append(i)
            for j in np.flatnonzero(linked[i] & ~seen):
                seen[j] = True
                stack.append(int(j))
        groups.append(_reading_order(boxes, members))
    return sorted(groups, key=lambda g: (round(boxes[g, 1].min()), round(boxes[g, 0].min())))


def _reading_order(boxes: np.ndarray, members: list[int]) -> list[int]:
    by_x = sorted(members, key=lambda i: boxes[i, 0])
    columns, start = {}, None
    for i in by_x:
        if start is None or boxes[i, 0] - start > 0.5 * (boxes[i, 2] - boxes[i, 0]):
            start = boxes[i, 0]
        columns[i] = start
    return sorted(members, key=lambda i: (columns[i], boxes[i, 1]))


def _far_apart(boxes: np.ndarray, groups: list[list[int]]) -> list[str]:
    if len(groups) < 2:
        return []
    height = float(np.median(boxes[:, 3] - boxes[:, 1]))
    extents = [(boxes[g, 0].min(), boxes[g, 1].min(), boxes[g, 2].max(), boxes[g, 3].max())
               for g in groups]
    far = [(a, b) for i, a in enumerate(extents) for b in extents[i + 1:]
           if max(b[0] - a[2], a[0] - b[2], b[1] - a[3], a[1] - b[3]) > 8 * height + 40]
    if not far:
        return []
    places = ", ".join(f"({e[0]:.0f}, {e[1]:.0f})" for e in extents)
    return [f"{len(groups)} legend groups far apart on the page (top-left at {places} pt, "
            f"displayed page); entries of all are returned"]


def _entry_notes(entries: list[LegendEntry]) -> list[str]:
    notes = []
    seen: dict[tuple, list[str]] = {}
    for entry in entries:
        key = (entry.rgb, entry.hatch_rgb)
        seen.setdefault(key, []).append(entry.code or entry.label or "?")
    for (rgb, _), names in seen.items():
        if len(names) > 1:
            notes.append(f"swatch colour {rgb_to_hex(rgb)} repeats ({', '.join(names)}): "
                         f"colour alone cannot tell these classes apart")
    hatched = sum(entry.hatch_rgb is not None for entry in entries)
    if hatched:
        notes.append(f"{hatched} hatched swatches: rgb is the colour under the hatch, "
                     f"hatch_rgb the lines")
    return notes
