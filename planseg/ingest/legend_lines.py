"""Legend labels from a page's text layer: the words as line runs in the displayed page frame,
the label (and code) written beside a swatch, and a label's code split from its name.

Split from :mod:`planseg.ingest.legend`, which pairs these lines with swatches and groups the
entries. Frame: the displayed page (points, top-left origin, y down, after /Rotate).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from planseg.ingest.legend_types import Box
from planseg.ingest.legend_vector import transform_box
from planseg.ingest.render import IDENTITY

_CODE = r"[A-Z][A-Za-z]{0,3}(?:[-./]?[0-9]{1,3}[A-Za-z]?)?(?:-[A-Z0-9]{1,3})?"
_CODE_RE = re.compile(_CODE)
_PAREN_RE = re.compile(rf"^(?P<name>.*\S)\s*\((?P<code>{_CODE})\)$")
_SEP_RE = re.compile(r"^(?P<code>[A-Za-z]{1,6}\s?-?[0-9]{1,3}[A-Za-z]?|" + _CODE +
                     r")(?:\s+[-\u2013\u2014]\s+|\s*[:=]\s*)(?P<name>\S.*)$")
_SPACE_RE = re.compile(rf"^(?P<code>{_CODE})\s+(?P<name>\S.*)$")
_SIDE_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.\-/]{0,5}$")
FEW_LINES = 24  # label_of: up to this many lines in plain Python, more with numpy
HEADING_RE = re.compile(r"\b(legend|legende|legenda|zeichenerkl\u00e4rung|leyenda|l\u00e9gende|"
                        r"key|districts?|zones)\b", re.IGNORECASE)


@dataclass(frozen=True)
class TextLine:
    """A run of words on one line (split at wide gaps), box in the displayed page frame."""

    box: Box
    text: str


def text_lines(words: list[tuple], to_display: np.ndarray) -> list[TextLine]:
    """A page's ``get_text("words")`` (unrotated frame) as line runs in the displayed page
    frame (empty without text)."""
    runs: dict[tuple[int, int], list[tuple[Box, str]]] = {}
    upright = to_display is IDENTITY  # most pages: no box to turn (a thousand words)
    for x0, y0, x1, y1, text, block, line, _ in words:
        box = (x0, y0, x1, y1) if upright else transform_box(to_display, (x0, y0, x1, y1))
        runs.setdefault((block, line), []).append((box, text))
    lines = []
    for words in runs.values():
        if len(words) == 1:  # most lines of a map's text layer: one word, nothing to split
            lines.append(_line(words))
            continue
        words.sort(key=lambda w: w[0][0])
        height = max(b[3] - b[1] for b, _ in words)
        current = [words[0]]
        for word in words[1:]:
            if word[0][0] - current[-1][0][2] > 1.5 * height:  # a wide gap: another column
                lines.append(_line(current))
                current = []
            current.append(word)
        lines.append(_line(current))
    return lines


def _line(words: list[tuple[Box, str]]) -> TextLine:
    # plain min/max: a line has a few words, where numpy's per-call cost was most of
    # reading a legend on a page with a thousand lines
    if len(words) == 1:
        (x0, y0, x1, y1), text = words[0]
        return TextLine((float(x0), float(y0), float(x1), float(y1)), text)
    return TextLine((float(min(b[0] for b, _ in words)), float(min(b[1] for b, _ in words)),
                     float(max(b[2] for b, _ in words)), float(max(b[3] for b, _ in words))),
                    " ".join(t for _, t in words))


def split_code(text: str) -> tuple[str | None, str | None]:
    """(code, name) of a legend label: ``"RS-2 Residential Single"`` -> ("RS-2", "Residential
    Single"), ``"URBAN CENTER (UC)"`` -> ("UC", "URBAN CENTER"), ``"Conservation"`` -> (None,
    "Conservation"). A bare leading word counts as a code only if it has a digit or a hyphen,
    or is 1-4 capitals before a name that is not all capitals."""
    text = " ".join(text.split())
    if not text:
        return None, None
    match = _PAREN_RE.match(text)
    if match:
        return match["code"], match["name"]
    match = _SEP_RE.match(text)
    if match and (re.search(r"[0-9]", match["code"]) or match["code"].isupper()):
        return match["code"], match["name"].strip()
    match = _SPACE_RE.match(text)
    if match:
        code, name = match["code"], match["name"]
        if re.search(r"[0-9-]", code) or (code.isupper() and not name.isupper()):
            return code, name
    return None, text


def has_label(boxes: np.ndarray, line_boxes: np.ndarray) -> np.ndarray:
    """(S,) bool: a text line starts just right of swatch box i and beside it - the same
    arithmetic as :func:`label_of`'s ``right``, for S boxes at once (a map has hundreds of
    swatch-like shapes and a thousand lines; one numpy call per shape was most of the time).
    Only the pairs whose line starts within a swatch's reach are compared: lines sorted by
    their start, two binary searches per swatch (an S x L matrix was 15 ms on Plochingen)."""
    out = np.zeros(len(boxes), dtype=bool)
    if not len(boxes) or not len(line_boxes):
        return out
    order = np.argsort(line_boxes[:, 0], kind="stable")
    starts = line_boxes[order, 0]
    x1, y0, y1 = boxes[:, 2], boxes[:, 1], boxes[:, 3]
    height = y1 - y0
    first = np.searchsorted(starts, x1 - 1, side="left")  # lx0 >= x1 - 1
    end = np.searchsorted(starts, x1 + np.maximum(1.5 * height, 10.0), side="right")
    counts = np.maximum(end - first, 0)
    swatch = np.repeat(np.arange(len(boxes)), counts)
    line = order[np.arange(counts.sum()) + np.repeat(first - np.cumsum(counts) + counts, counts)]
    ly0, ly1 = line_boxes[line, 1], line_boxes[line, 3]
    overlap = np.minimum(ly1, y1[swatch]) - np.maximum(ly0, y0[swatch])
    beside = overlap >= 0.4 * np.minimum(ly1 - ly0, height[swatch])
    out[swatch[beside]] = True
    return out


class LinesBeside:
    """Indices (ascending) of the text lines that can be beside or inside a box: those whose
    top lies from one line height above the box to its bottom (lines sorted by top, binary
    search), so :func:`label_of` compares a few lines instead of all. None (use every line)
    when a line box is not finite or upside down, where that bound does not hold.

    Where that band holds many lines (a wide map has a hundred at one height), only those
    reaching to within :func:`label_of`'s ``reach`` of the box sideways are kept: a line right
    of the box starts by ``x1 + reach``, one left of it ends from ``x0 - reach``, one inside
    it overlaps it - for boxes and lines with x0 <= x1 (else the band is returned whole)."""

    def __init__(self, line_boxes: np.ndarray) -> None:
        heights = line_boxes[:, 3] - line_boxes[:, 1]
        self.usable = bool(np.isfinite(line_boxes).all() and (heights >= 0).all())
        self.order = np.argsort(line_boxes[:, 1], kind="stable")
        self.tops = line_boxes[self.order, 1]
        self.reach = float(heights.max()) + 1.0 if len(heights) else 1.0  # 1 pt to spare
        self.starts, self.ends = line_boxes[self.order, 0], line_boxes[self.order, 2]
        self.sideways = bool((self.ends >= self.starts).all())

    def __call__(self, box: Box) -> list[int] | None:
        if not self.usable:
            return None
        x0, y0, x1, y1 = box
        first, end = np.searchsorted(self.tops, (y0 - self.reach, y1 + 1.0), side="left")
        band = self.order[first:end]
        reach = max(1.5 * (y1 - y0), 10.0)  # as in label_of
        if end - first > FEW_LINES and self.sideways and x1 >= x0 \
                and math.isfinite(x0 - reach) and math.isfinite(x1 + reach):
            band = band[(self.starts[first:end] <= x1 + reach)
                        & (self.ends[first:end] >= x0 - reach)]
        return sorted(band.tolist())


def label_of(box: Box, lines: list[TextLine], line_boxes: np.ndarray | None = None,
             ) -> tuple[str | None, str | None, float]:
    """(code, name, x0 of the label) written beside a swatch: the label starting just right
    of it (continuation lines below it joined), else a code inside it or just left of it.

    ``lines``: the lines near the box (:class:`LinesBeside`), ``line_boxes`` their boxes
    (N, 4), needed only for many lines. A few lines (a synth page: 1-10) are compared in
    plain Python, where a dozen numpy calls per swatch were most of assembling the legend;
    many (a wide map: a hundred at one height) with numpy. Both do the same float64
    arithmetic, NaN included (:func:`_min`, :func:`_max` are ``np.minimum``/``np.maximum``).
    """
    if line_boxes is not None and len(lines) > FEW_LINES:
        return _label_of_numpy(box, lines, line_boxes)
    x0, y0, x1, y1 = box
    height = y1 - y0
    reach = max(1.5 * height, 10.0)
    right, inside, left = [], [], []
    for i, line in enumerate(lines):
        lx0, ly0, lx1, ly1 = line.box
        overlap = _min(ly1, y1) - _max(ly0, y0)
        beside = overlap >= 0.4 * _min(ly1 - ly0, height)
        if beside and lx0 >= x1 - 1 and lx0 <= x1 + reach:
            right.append(i)
        cx, cy = (lx0 + lx1) / 2, (ly0 + ly1) / 2
        if x0 < cx and cx < x1 and y0 < cy and cy < y1:
            inside.append(i)
        if beside and lx1 <= x0 + 1 and lx1 >= x0 - reach:
            left.append(i)
    code, label, label_x = None, None, math.nan
    if right:
        label_x = min(lines[i].box[0] for i in right)
        column = sorted((i for i in right if lines[i].box[0] - label_x <= 3.0),
                        key=lambda i: lines[i].box[1])
        code, label = split_code(" ".join(lines[i].text for i in column))
    return _side_code(code, label, label_x, lines, inside, left[-1:])


def _label_of_numpy(box: Box, lines: list[TextLine], line_boxes: np.ndarray,
                    ) -> tuple[str | None, str | None, float]:
    """:func:`label_of` for many lines at once."""
    x0, y0, x1, y1 = box
    height = y1 - y0
    lx0, ly0, lx1, ly1 = line_boxes.T
    overlap = np.minimum(ly1, y1) - np.maximum(ly0, y0)
    beside = overlap >= 0.4 * np.minimum(ly1 - ly0, height)
    right = np.flatnonzero(beside & (lx0 >= x1 - 1) & (lx0 <= x1 + max(1.5 * height, 10.0)))
    code, label, label_x = None, None, math.nan
    if right.size:
        label_x = float(lx0[right].min())
        column = sorted((i for i in right if lx0[i] - label_x <= 3.0), key=lambda i: ly0[i])
        code, label = split_code(" ".join(lines[i].text for i in column))
    cx, cy = (lx0 + lx1) / 2, (ly0 + ly1) / 2
    inside = np.flatnonzero((x0 < cx) & (cx < x1) & (y0 < cy) & (cy < y1))
    left = np.flatnonzero(beside & (lx1 <= x0 + 1) & (lx1 >= x0 - max(1.5 * height, 10.0)))
    return _side_code(code, label, label_x, lines, inside.tolist(), left[-1:].tolist())


def _side_code(code: str | None, label: str | None, label_x: float, lines: list[TextLine],
               inside: list[int], left: list[int]) -> tuple[str | None, str | None, float]:
    """A code written inside the swatch (or else the line just left of it) where the label
    right of it had none; an unreadable label dropped."""
    for side in (inside, left):
        text = " ".join(lines[i].text for i in side)
        if code is None and len(text) <= 8 and _SIDE_CODE_RE.match(text.replace(" ", "")):
            code = text
    if label is not None and "\ufffd" in label:
        label = None  # unreadable text (a font without a Unicode map)
    return code, label, label_x


def _min(a: float, b: float) -> float:
    """``np.minimum`` of two floats: NaN if either is NaN (``min`` would depend on order)."""
    return a if a <= b or a != a else b


def _max(a: float, b: float) -> float:
    """``np.maximum`` of two floats: NaN if either is NaN."""
    return a if a >= b or a != a else b
