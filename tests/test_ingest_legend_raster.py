"""Legend swatches read from pixels: scanned synth pages checked against their vector twins,
small scans drawn here (a merged column, a hatched swatch, a hatched zone, label glyphs) and
hostile pages that must give no swatch and no exception.

The vector twin of a synth scan page is the same document drawn without the scan step: the
same seed gives the same zones, palette and legend layout (the scan parameters are drawn after
the drawing), so its exactly-read vector legend says which rows the scan's legend has.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pymupdf
import pytest

from planseg.export.classes import delta_e_2000
from planseg.ingest.documents import open_document
from planseg.ingest.legend import read_legend
from planseg.ingest.legend_raster import dominant_colours, raster_swatches, resolve_nesting
from planseg.synth.document import make_document

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

SCAN_DPI = 150.0  # the drawn scans below: pixels per inch of the embedded image
PAPER = (246, 244, 236)
FILLS = [(250, 228, 140), (244, 184, 140), (150, 194, 242), (158, 216, 148), (200, 200, 200),
         (226, 115, 128)]


def _pdf_of_image(path: Path, image: np.ndarray, dpi: float = SCAN_DPI) -> Path:
    """A one-page PDF showing ``image`` (HxWx3 uint8 RGB) at ``dpi``, as a scanner writes it
    (a JPEG filling the page, no text layer)."""
    height, width = image.shape[:2]
    ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR),
                            [cv2.IMWRITE_JPEG_QUALITY, 70])
    assert ok
    with pymupdf.open() as pdf:
        page = pdf.new_page(width=width * 72 / dpi, height=height * 72 / dpi)
        page.insert_image(page.rect, stream=jpeg.tobytes())
        pdf.save(path)
    return path


def _px(points: float) -> int:
    return round(points * SCAN_DPI / 72)


def _scanned(image: np.ndarray, seed: int = 0, blur_px: float = 1.1) -> np.ndarray:
    """Blur and grain like a poor scan (the synth scan style's worst settings)."""
    blurred = cv2.GaussianBlur(image, (0, 0), blur_px).astype(np.int16)
    grain = np.random.default_rng(seed).normal(0, 5, image.shape[:2])[..., None]
    return np.clip(blurred + grain, 0, 255).astype(np.uint8)


def _legend_column(image: np.ndarray, x_pt: float, y_pt: float, fills: list, *,
                   gap_pt: float = 2.2, size_pt=(16.0, 7.0), hatch_rows=()) -> list:
    """Outlined swatches drawn top to bottom (a 0.4 pt black outline, ``gap_pt`` apart), a
    short dark label right of each; returns their boxes in points."""
    boxes = []
    w, h = size_pt
    for row, fill in enumerate(fills):
        top = y_pt + row * (h + gap_pt)
        x0, y0, x1, y1 = _px(x_pt), _px(top), _px(x_pt + w), _px(top + h)
        image[y0:y1, x0:x1] = fill
        if row in hatch_rows:  # vertical hatch lines every 3 pt, 0.8 pt wide
            for x in range(x0 + _px(1.5), x1 - 1, _px(3)):
                image[y0:y1, x:x + _px(0.8)] = (70, 70, 70)
        cv2.rectangle(image, (x0, y0), (x1 - 1, y1 - 1), (0, 0, 0), 1)
        # its code, capitals 60 % of the swatch's height, 4 pt right of it
        scale = cv2.getFontScaleFromHeight(cv2.FONT_HERSHEY_SIMPLEX, int(0.6 * (y1 - y0)), 2)
        cv2.putText(image, f"R{row + 1}", (x1 + _px(4), y1 - int(0.2 * (y1 - y0))),
                    cv2.FONT_HERSHEY_SIMPLEX, scale, (40, 40, 40), 2)
        boxes.append((x_pt, top, x_pt + w, top + h))
    return boxes


def _page(width_pt: float = 300, height_pt: float = 200) -> np.ndarray:
    return np.full((_px(height_pt), _px(width_pt), 3), PAPER, np.uint8)


def _read(path: Path):
    with open_document(path) as doc:
        return raster_swatches(doc, 0), read_legend(doc, 0)


# ---------------------------------------------------------------- drawn scans


def test_a_blurred_column_of_close_swatches_reads_one_swatch_each(tmp_path: Path) -> None:
    """Six outlined swatches 2.2 pt apart: blur and grain bridge the gaps at the lowest ink
    threshold (one tall box); every swatch must still come out, with its own colour."""
    image = _page()
    boxes = _legend_column(image, 40, 30, FILLS)
    swatches, legend = _read(_pdf_of_image(tmp_path / "column.pdf", _scanned(image)))
    assert legend.source == "raster" and len(legend.entries) == len(FILLS)
    for (x0, y0, x1, y1), fill, swatch in zip(boxes, FILLS, swatches_by_row(swatches),
                                              strict=True):
        assert abs(swatch.box[1] - y0) < 1.5 and abs(swatch.box[3] - y1) < 1.5
        assert abs(swatch.box[0] - x0) < 1.5 and abs(swatch.box[2] - x1) < 1.5
        assert delta_e_2000(fill, [swatch.rgb])[0] < 2.5


def swatches_by_row(swatches: list) -> list:
    """The swatches of the column at x < 100 pt (the drawn legends' column), top first."""
    return sorted((s for s in swatches if s.box[0] < 100), key=lambda s: s.box[1])


def test_a_hatched_swatch_is_one_swatch_with_its_fill_and_hatch(tmp_path: Path) -> None:
    """The cells between the hatch lines of a swatch are rectangles too; they must not
    replace the swatch, and its fill is the colour between the lines, not a mix."""
    image = _page()
    _legend_column(image, 40, 30, FILLS[:4], size_pt=(24.0, 12.0), hatch_rows=(2,))
    swatches, legend = _read(_pdf_of_image(tmp_path / "hatched.pdf", _scanned(image)))
    assert len(legend.entries) == 4
    hatched = swatches_by_row(swatches)[2]
    assert hatched.hatch_rgb is not None and max(hatched.hatch_rgb) < 160  # dark lines
    assert delta_e_2000(FILLS[2], [hatched.rgb])[0] < 6  # blur leaves a little of the lines


def test_the_cells_of_a_hatched_zone_are_no_legend(tmp_path: Path) -> None:
    """A zone hatched with horizontal lines is a column of same-size rectangles of one
    colour: a legend in every way but the colour going on across each line."""
    image = _page(400, 300)
    image[_px(40):_px(260), _px(150):_px(190)] = FILLS[2]
    for y in range(_px(40), _px(260), _px(7)):
        image[y:y + _px(0.7)] = np.where(image[y:y + _px(0.7)] == FILLS[2], 60, image[y:y + 1])
    swatches, legend = _read(_pdf_of_image(tmp_path / "hatched-zone.pdf", _scanned(image)))
    assert not [s for s in swatches if 140 < s.box[0] < 200]
    assert legend.entries == [] and legend.source is None


def test_label_glyphs_beside_swatches_are_no_swatches(tmp_path: Path) -> None:
    """A code written right of each swatch blurs into a small box of its own, and a column
    of them is aligned like a legend; they are its labels, not swatches."""
    image = _page()
    _legend_column(image, 40, 30, FILLS[:5], size_pt=(20.0, 9.0))
    swatches, _ = _read(_pdf_of_image(tmp_path / "glyphs.pdf", _scanned(image)))
    assert len(swatches) == 5 and all(s.box[0] < 45 for s in swatches)


def test_a_same_size_box_inside_wins_over_its_outline() -> None:
    """Boxes in pixels: an outline's outer and inner edge (one swatch), a merged column
    around two swatches, a swatch around a small code glyph."""
    outline = [(10, 10, 50, 30), (11, 11, 49, 29)]
    column = [(100, 10, 140, 62), (100, 10, 140, 30), (100, 40, 140, 62)]
    with_glyph = [(200, 10, 240, 30), (215, 15, 222, 24)]
    kept = set(resolve_nesting(outline + column + with_glyph))
    assert kept == {(11, 11, 49, 29), (100, 10, 140, 30), (100, 40, 140, 62),
                    (200, 10, 240, 30)}


def test_a_code_on_a_swatch_leaves_its_fill_alone() -> None:
    patch = np.full((24, 48, 3), (150, 194, 242), np.uint8)
    cv2.putText(patch, "G2", (14, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1)
    fill, _ = dominant_colours(patch, np.array(PAPER, np.float32))
    assert fill == (150, 194, 242)


# ---------------------------------------------------------------- hostile pages


@pytest.mark.parametrize("kind", ["white", "one colour", "black", "noise", "one pixel"])
def test_hostile_raster_pages_give_no_swatch_and_no_exception(tmp_path: Path,
                                                              kind: str) -> None:
    rng = np.random.default_rng(3)
    image = {"white": _page(), "one colour": np.full_like(_page(), (150, 194, 242)),
             "black": np.zeros_like(_page()),
             "noise": rng.integers(0, 256, _page().shape, dtype=np.uint8),
             "one pixel": np.full((1, 1, 3), 128, np.uint8)}[kind]
    swatches, legend = _read(_pdf_of_image(tmp_path / "hostile.pdf", image))
    assert legend.entries == [] and legend.source is None and legend.notes
    assert len(swatches) < 3  # noise may hold a stray rectangle, never a legend


# ---------------------------------------------------------------- synth scans


def _twins(seed: int, doc: int, sheet: str | None):
    scan = make_document(np.random.default_rng([seed, doc]), dpi=30, style="scan", sheet=sheet)
    vector = make_document(np.random.default_rng([seed, doc]), dpi=30, style="vector",
                           sheet=sheet)
    return scan, vector


# pages whose scanned legend was read short before (merged column, shades of one class side
# by side, a vertically hatched swatch), or padded with label glyphs and hatch cells
@pytest.mark.parametrize(("seed", "doc", "sheet", "page_index"), [
    (3, 4, "A4", 1), (3, 2, "A4", 0), (1, 1, "A4", 0), (3, 1, "A4", 0), (2, 5, None, 1)])
def test_scanned_synth_legend_has_every_row_of_its_vector_twin(
        tmp_path: Path, seed: int, doc: int, sheet: str | None, page_index: int) -> None:
    scan, vector = _twins(seed, doc, sheet)
    paths = {}
    for name, document in (("scan", scan), ("vector", vector)):
        paths[name] = tmp_path / f"{name}.pdf"
        paths[name].write_bytes(document.pdf)
    with open_document(paths["vector"]) as pdf:
        rows = read_legend(pdf, page_index).entries
    with open_document(paths["scan"]) as pdf:
        legend = read_legend(pdf, page_index)
    assert legend.source == "raster" and len(legend.entries) == len(rows)
    faded = {a["zone_code"]: (a["fill_rgb"], a["hatched"])
             for a in scan.pages[page_index].annotations}  # GT: the faded fill of each zone
    for row, entry in zip(rows, legend.entries, strict=True):
        size = (entry.box_pt[2] - entry.box_pt[0], entry.box_pt[3] - entry.box_pt[1])
        assert abs(size[0] - (row.box_pt[2] - row.box_pt[0])) < 2.5
        assert abs(size[1] - (row.box_pt[3] - row.box_pt[1])) < 2.5
        if row.code in faded:
            fill, hatched = faded[row.code]
            # plain swatches read to within scan noise; a hatch 2-3 pt apart on an A4
            # swatch 7 pt high blurs into its fill (no pixel is pure): up to ~10 there
            assert delta_e_2000(fill, [entry.rgb])[0] < (10.5 if hatched else 3.0), row.code


def test_a_scanned_page_as_png_reads_the_same_rows(tmp_path: Path) -> None:
    """The rendered page image (no PDF, no text layer, no dpi in the file) reads like the
    PDF it came from: the image's own pixels are the resolution."""
    scan, vector = _twins(3, 4, "A4")
    with pymupdf.open("pdf", scan.pdf) as pdf:
        png = tmp_path / "page.png"
        pdf[1].get_pixmap(dpi=150).save(png)
    (tmp_path / "vector.pdf").write_bytes(vector.pdf)
    with open_document(tmp_path / "vector.pdf") as pdf:
        rows = read_legend(pdf, 1).entries
    with open_document(png) as doc:
        legend = read_legend(doc, 0)
    assert legend.source == "raster" and len(legend.entries) == len(rows) == 9
