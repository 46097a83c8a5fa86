"""Swatch-like shapes in a page's vector drawing, for the legend reader
(:mod:`planseg.ingest.legend`): small filled paths and stroke-only boxes, with the hatch drawn
over them. Frames: MuPDF's unrotated page (points, y down) in, the displayed page out
(:func:`transform_box` with the page's rotation matrix).
"""

from __future__ import annotations

import gc
import marshal
import struct
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from planseg.ingest.legend_types import RGB8, Box, Swatch
from planseg.ingest.render import IDENTITY

PAPER_RGB: RGB8 = (255, 255, 255)  # what an unfilled (outlined or hatched) swatch shows
_MIN_SIDE_PT, _MAX_WIDTH_PT, _MAX_HEIGHT_PT = 3.0, 150.0, 60.0
_MAX_ITEMS = 16  # path items of a "short polygon"
_INNER_MIN_SHARE = 0.2  # a fill inside an empty box colours it from this share of its area
_INK_MAX = 40  # a fill whose every channel is at most this is ink (a symbol), not a colour
# the small strokes' flat records (VectorShapes): a box, and a one-segment stroke's box, ends
# (x0 y0 x1 y1 as drawn), painter's position and colour index
_pack_box = struct.Struct("<4d").pack
_pack_line = struct.Struct("<8d2q").pack
_LINE_DTYPE = np.dtype([("box", "<f8", 4), ("ends", "<f8", 4), ("seqno", "<i8"),
                        ("colour", "<i8")])


class VectorShapes:
    """Swatch-like paths of a page's drawings (``get_drawings``/``get_cdrawings`` dicts, in the
    unrotated page frame) and the small stroked paths that may hatch them.

    Built from a list (``VectorShapes(page.get_cdrawings())``) or fed one path at a time as a
    ``get_cdrawings(extended=True, callback=...)`` callback (``VectorShapes()`` then
    ``shapes(item)`` or :meth:`take` per item; clip and group items are skipped), so the
    vector zone reader's one pass over a page's content serves the legend too. Both give the
    same shapes. As a callback it never raises (an exception inside a MuPDF callback crashes
    MuPDF): a path it cannot read sets ``failed`` and the shapes are not to be used."""

    def __init__(self, drawings: Iterable[dict] = ()) -> None:
        self._found: dict[tuple[int, ...], tuple[int, Box, RGB8 | None]] = {}
        self._seqno = 0  # painter's position among paths (clips and groups not counted)
        # the small strokes, compact: boxes, 4 floats each, and one record each, (seqno, colour,
        # items) as one ``marshal`` string, exact (floats as their bytes): keeping each small
        # stroke's items as Python objects to the end of the pass (25,000 on Newport's map)
        # made MuPDF's every later allocation land in fresh memory and cost more than the
        # rest of the legend (+60 ms against +20 stored like this). Paths ``marshal`` cannot
        # write (``get_drawings``' Points) are kept as they are.
        self._stroke_boxes = bytearray()  # _pack_box records
        self._stroke_records: list[bytes | tuple] = []
        self._stroke_sides: np.ndarray | None = None  # the boxes as (4, N), for hatch()
        # but one-segment strokes (three in four of a map's small strokes) go to one flat
        # record each (_pack_line: box, the segment's ends as drawn, seqno, colour index into
        # _line_colours), packed by one ``struct`` call: no marshal record, no object per
        # stroke, and no per-float argument parsing (an ``array.extend`` of floats parses each
        # one: on Plochingen the packed records cost 70 M instructions less, 12,500 lines)
        self._lines = bytearray()
        self._line_colours: dict[tuple | None, int] = {}  # raw colour -> its index
        self._line_table: np.ndarray | None = None  # _lines as a _LINE_DTYPE array, for hatch()
        self._line_sides: np.ndarray | None = None  # its boxes as (4, M)
        self._line_colour_list: list[tuple | None] = []  # _line_colours' keys by index
        self._colours: dict[tuple, RGB8] = {}
        self.failed: Exception | None = None  # why a path fed as a callback was not read
        for path in drawings:
            rect = path["rect"]
            if not isinstance(rect, tuple):  # get_drawings' Rect: indexing it is slow
                path = {**path, "rect": (rect.x0, rect.y0, rect.x1, rect.y1)}
            self.take(path)
            if self.failed is not None:
                raise self.failed

    def __call__(self, item: dict) -> None:
        """The ``get_cdrawings`` callback: :meth:`take` for every item."""
        self.take(item)

    def take(self, path: dict, kind: str | None = None) -> None:
        """Take the next item in painter's order (clips and groups are skipped; ``kind``:
        its "type" where the caller has read it, never a clip or group). Never raises: an item
        it cannot read sets ``failed``. The vector zone reader calls this from its own
        callback (one call per path, not a second callback with its own dict lookups).

        This runs for every path of a page (25,000 on a big map), most of them line work, so
        it is one flat function: a small stroke is stored compactly (see ``__init__``),
        and most paths are too thin for a swatch (two comparisons)."""
        if self.failed is not None:
            return
        try:
            if kind is None:
                kind = path.get("type")
                if kind == "clip" or kind == "group":
                    return
            kind = kind or ""
            seqno = self._seqno
            self._seqno = seqno + 1
            rect = path["rect"]
            x0, y0, x1, y1 = rect
            width, height = x1 - x0, y1 - y0
            if "s" in kind and width < 400 and height < 400:
                items = path["items"]
                colour = path.get("color")
                # (a colour that cannot be a dict key - never from MuPDF - takes a record)
                if len(items) == 1 and items[0][0] == "l" and colour.__hash__ is not None:
                    try:
                        colour_id = self._line_colours[colour]
                    except KeyError:
                        colour_id = self._line_colours[colour] = len(self._line_colours)
                    _, p, q = items[0]
                    self._lines += _pack_line(x0, y0, x1, y1, p[0], p[1], q[0], q[1], seqno,
                                              colour_id)
                    if kind == "s":
                        return  # a line: no box (_is_box), and no fill
                else:
                    self._stroke_boxes += _pack_box(x0, y0, x1, y1)
                    record = (seqno, colour, items)
                    try:
                        record = marshal.dumps(record)
                    except ValueError:
                        pass  # get_drawings' Points: kept as they are
                    self._stroke_records.append(record)
                    if kind == "s" and len(items) > 4:
                        return  # a long outline: no box (_is_box), and no fill
            if width >= _MIN_SIDE_PT and height >= _MIN_SIDE_PT:
                self._swatch(path, kind, seqno, rect, width, height)
        except Exception as exc:
            self.failed = exc

    def _swatch(self, path: dict, kind: str, seqno: int, rect: Box, width: float,
                height: float) -> None:
        """Keep ``path`` if it is swatch-like: a small filled box or short polygon, or an
        outlined box."""
        if not _swatch_sized(width, height):
            return
        items = path["items"]
        if "f" in kind:
            if path.get("fill") is not None and len(items) <= _MAX_ITEMS and _boxy(items, rect):
                self._found[_key(rect)] = (seqno, rect, _rgb8(path["fill"]))
        elif kind == "s" and len(items) <= 4 and _is_box(items):
            key = _key(rect)
            if key not in self._found:
                self._found[key] = (seqno, rect, None)  # an empty (maybe hatched) box

    @property
    def shapes(self) -> list[tuple[int, Box, RGB8 | None]]:
        """(seqno, rect, fill rgb or None for an empty box) of each swatch-like shape; the
        index in this list is a swatch's ``ref``."""
        return list(self._found.values())

    def swatches(self, to_display: np.ndarray) -> list[Swatch]:
        """Every swatch-like shape, boxed in the displayed frame (hatch not looked up yet).
        An empty box shows paper, or the colour of a fill drawn inside it (see
        :meth:`_inner_colours`)."""
        inner = self._inner_colours()
        return [Swatch(transform_box(to_display, rect), rgb or inner.get(ref, PAPER_RGB),
                       None, ref) for ref, (_, rect, rgb) in enumerate(self._found.values())]

    def _inner_colours(self) -> dict[int, RGB8]:
        """For each empty box (by ref) that holds a coloured fill of at least
        :data:`_INNER_MIN_SHARE` of its area, the largest such fill's colour. Legends that
        draw every row as an outlined box of one size put a colour sample inside the box of
        a colour class (Plochingen's yellow Versorgungsanlagen square in an 85 x 28 pt box):
        the box is the aligned swatch, the sample its colour. Paper and ink fills (symbols)
        do not count."""
        shapes = list(self._found.values())
        filled = [(rect, rgb) for _, rect, rgb in shapes
                  if rgb is not None and rgb != PAPER_RGB and max(rgb) > _INK_MAX]
        if not filled or all(rgb is not None for _, _, rgb in shapes):
            return {}
        boxes = np.array([rect for rect, _ in filled], dtype=np.float64)
        areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
        out = {}
        for ref, (_, (x0, y0, x1, y1), rgb) in enumerate(shapes):
            if rgb is not None:
                continue
            inside = (boxes[:, 0] >= x0) & (boxes[:, 1] >= y0) & (boxes[:, 2] <= x1) \
                & (boxes[:, 3] <= y1) & (areas >= _INNER_MIN_SHARE * (x1 - x0) * (y1 - y0))
            if inside.any():
                out[ref] = filled[int(np.flatnonzero(inside)[areas[inside].argmax()])][1]
        return out

    def _colour(self, raw: tuple) -> RGB8:
        """:func:`_rgb8`, once per colour of the page (a hatch has hundreds of strokes)."""
        try:
            return self._colours[raw]
        except KeyError:
            colour = self._colours[raw] = _rgb8(raw)
            return colour

    def hatch(self, ref: int) -> RGB8 | None:
        """The colour of the lines hatching shape ``ref``: drawn over it (after its fill),
        mostly inside it, crossing it at least once; the longest-running colour."""
        seqno, rect, rgb = self.shapes[ref]  # a few labelled swatches: the list is short
        x0, y0, x1, y1 = rect
        if self._stroke_sides is None:  # built once, for the few swatches that have a label
            self._stroke_sides = _sides(np.frombuffer(bytes(self._stroke_boxes), "<f8"))
            self._line_table = np.frombuffer(bytes(self._lines), _LINE_DTYPE)
            self._line_sides = _sides(self._line_table["box"])
            self._line_colour_list = list(self._line_colours)  # in index order
        sides = self._stroke_sides
        strokes = []  # (seqno, colour, [(start, end)]) of the strokes that may hatch it
        for i in _overlapping(sides, rect):
            record = self._stroke_records[i]
            stroke_seqno, raw_colour, items = \
                marshal.loads(record) if isinstance(record, bytes) else record
            if raw_colour is None or (rgb is not None and stroke_seqno < seqno):
                continue  # no stroke colour, or under the fill: hidden
            if _is_box(items) and max(abs(a - b) for a, b in
                                      zip(sides[:, i].tolist(), rect, strict=True)) < 1.5:
                continue  # the swatch's own outline
            strokes.append((stroke_seqno, raw_colour,
                            [(item[1], item[-1]) for item in items if item[0] in ("l", "c")]))
        near = self._line_table[_overlapping(self._line_sides, rect)]
        raw_colours = self._line_colour_list
        for stroke_seqno, colour_id, (px, py, qx, qy) in zip(
                near["seqno"].tolist(), near["colour"].tolist(), near["ends"].tolist(),
                strict=True):
            raw_colour = raw_colours[colour_id]
            if raw_colour is None or (rgb is not None and stroke_seqno < seqno):
                continue
            strokes.append((stroke_seqno, raw_colour, [((px, py), (qx, qy))]))
        strokes.sort(key=lambda stroke: stroke[0])  # painter's order, as the runs are summed
        segments = [(self._colour(raw_colour), p, q) for _, raw_colour, ends in strokes
                    for p, q in ends]  # (colour, start, end) of the lines and curves
        ends = np.array([(p[0], p[1], q[0], q[1]) for _, p, q in segments],
                        dtype=np.float64).reshape(-1, 4)
        inside, total = _clipped_lengths(ends, rect)
        runs: dict[RGB8, float] = {}
        for i in np.flatnonzero(inside > 0.4 * total).tolist():  # mostly inside: not a
            colour = segments[i][0]  # neighbour's clipped hatch; summed in painter's order
            runs[colour] = runs.get(colour, 0.0) + float(inside[i])
        if not runs:
            return None
        colour, run = max(runs.items(), key=lambda kv: kv[1])
        return colour if run >= 0.8 * min(x1 - x0, y1 - y0) else None  # one full crossing


def _sides(boxes: np.ndarray) -> np.ndarray:
    """Boxes (N x 4 floats, x0 y0 x1 y1) as (4, N): one contiguous row per side, which
    :func:`_overlapping` compares three times faster than the columns of (N, 4)."""
    return np.ascontiguousarray(np.reshape(boxes, (-1, 4)).T)


def _overlapping(sides: np.ndarray, box: Box) -> list[int]:
    """Indices of the boxes ``sides`` ((4, N), see :func:`_sides`) that overlap ``box`` (open
    intervals)."""
    x0, y0, x1, y1 = box
    return np.flatnonzero((sides[0] < x1) & (sides[2] > x0) & (sides[1] < y1)
                          & (sides[3] > y0)).tolist()


def collect_shapes(page: Any) -> VectorShapes:
    """The swatch-like shapes of ``page`` (a :class:`pymupdf.Page`) in one callback pass over
    its drawing: no list of every path is built (half the time on a big map). Raises what
    reading a path raised."""
    shapes = VectorShapes()
    with gc_paused():
        page.get_cdrawings(callback=shapes)
    if shapes.failed is not None:
        raise shapes.failed
    return shapes


@contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off for a pass over a page's drawing. MuPDF's path dicts
    hold no cycles (reference counting frees them); the collector would only scan them, and
    the zone reader's shapes, again and again."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _key(rect: Box) -> tuple[int, ...]:
    """Same box within 0.5 pt: the top one (painted last) wins."""
    return tuple(round(v * 2) for v in rect)


def _swatch_sized(width: float, height: float) -> bool:
    if width < _MIN_SIDE_PT or height < _MIN_SIDE_PT:  # most line work: rejected here
        return False
    low, high = (width, height) if width < height else (height, width)
    return low >= _MIN_SIDE_PT and high <= _MAX_WIDTH_PT and low <= _MAX_HEIGHT_PT \
        and high / low <= 8.0


def _boxy(items: list, rect: Box) -> bool:
    """True for a path that fills most of its bounding box (a rectangle, not a building)."""
    if items[0][0] in ("re", "qu"):
        return len(items) == 1
    # the shoelace sum over each item's start and the last item's end, closed: one loop
    # (no point lists; a thousand fills on a bplan), the same float additions in order
    first = last = items[0][1]
    twice_area = 0.0
    for item in items[1:]:
        point = item[1]
        twice_area += last[0] * point[1] - point[0] * last[1]
        last = point
    end = items[-1][-1]
    twice_area += last[0] * end[1] - end[0] * last[1]
    twice_area += end[0] * first[1] - first[0] * end[1]
    return 0.5 * abs(twice_area) >= 0.8 * (rect[2] - rect[0]) * (rect[3] - rect[1])


def _is_box(items: list) -> bool:
    """A rectangle outline: one re/qu item, or 3-4 joined axis-parallel lines (not a hatch)."""
    count = len(items)
    if count == 1:  # most swatch-sized line work: one segment
        return items[0][0] in ("re", "qu")
    if (count != 3 and count != 4) or any(item[0] != "l" for item in items):
        return False
    joined = all(abs(a[2][0] - b[1][0]) < 0.1 and abs(a[2][1] - b[1][1]) < 0.1
                 for a, b in zip(items, items[1:], strict=False))
    straight = all(abs(i[1][0] - i[2][0]) < 0.1 or abs(i[1][1] - i[2][1]) < 0.1 for i in items)
    return joined and straight


def _clipped_lengths(ends: np.ndarray, box: Box) -> tuple[np.ndarray, np.ndarray]:
    """Lengths inside ``box`` and whole lengths, each (N,), of the segments ``ends`` ((N, 4)
    x0 y0 x1 y1): Liang-Barsky clipping for all at once, the same float operations as
    :func:`_clipped_length` (which takes over for a few segments, and where a coordinate is
    not finite)."""
    px, py, qx, qy = ends.T
    dx, dy = qx - px, qy - py
    # np.hypot, as it always was: math.hypot can differ in the last bit, and a hatch colour
    # on its threshold must not change
    total = np.hypot(dx, dy)
    if len(ends) < 48 or not np.isfinite(ends).all():  # a small swatch: numpy per call costs more
        return np.array([_clipped_length((a, b), (c, d), box, t) for (a, b, c, d), t
                         in zip(ends.tolist(), total.tolist(), strict=True)]), total
    t0, t1 = np.zeros(len(ends)), np.ones(len(ends))
    out = np.zeros(len(ends), dtype=bool)  # wholly outside
    with np.errstate(divide="ignore", invalid="ignore"):
        for denom, num in ((-dx, px - box[0]), (dx, box[2] - px), (-dy, py - box[1]),
                           (dy, box[3] - py)):
            out |= (denom == 0) & (num < 0)
            t = num / denom
            t0 = np.where(denom < 0, np.maximum(t0, t), t0)
            t1 = np.where(denom > 0, np.minimum(t1, t), t1)
    out |= t0 > t1  # t0 only grows and t1 only shrinks: as the early return below
    return np.where(out, 0.0, (t1 - t0) * total), total


def _clipped_length(p: tuple[float, float], q: tuple[float, float], box: Box,
                    length: float) -> float:
    """Length of segment p-q (``length`` long) inside ``box`` (Liang-Barsky clipping)."""
    (px, py), (qx, qy) = p, q
    dx, dy = qx - px, qy - py
    t0, t1 = 0.0, 1.0
    for denom, num in ((-dx, px - box[0]), (dx, box[2] - px), (-dy, py - box[1]),
                       (dy, box[3] - py)):
        if denom == 0:
            if num < 0:
                return 0.0
            continue
        t = num / denom
        if denom < 0:
            t0 = max(t0, t)
        else:
            t1 = min(t1, t)
        if t0 > t1:
            return 0.0
    return (t1 - t0) * length


def overlaps(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _rgb8(colour) -> RGB8:
    values = [float(c) for c in colour]
    if len(values) == 1:
        values *= 3
    elif len(values) == 4:  # CMYK, naive conversion (MuPDF normally hands RGB)
        c, m, y, k = values
        values = [(1 - c) * (1 - k), (1 - m) * (1 - k), (1 - y) * (1 - k)]
    return tuple(int(round(min(max(v, 0.0), 1.0) * 255)) for v in values[:3])  # type: ignore


def transform_box(matrix: np.ndarray, box: Box) -> Box:
    """Bounds of ``box`` mapped by a 3x3 affine (exact for the 90-degree turns used here)."""
    if matrix is IDENTITY:
        return tuple(box)  # type: ignore[return-value]
    x0, y0, x1, y1 = box
    corners = matrix @ np.array([[x0, x1, x1, x0], [y0, y0, y1, y1], [1.0, 1.0, 1.0, 1.0]])
    return (float(corners[0].min()), float(corners[1].min()), float(corners[0].max()),
            float(corners[1].max()))


# ---------------------------------------------------------------- labels and groups
