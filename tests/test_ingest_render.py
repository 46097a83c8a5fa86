"""Rendering: the pixel <-> PDF transform lands drawn marks on the predicted pixels, for rotated
and cropped pages; tiles equal the same region of the full render; the pixel budget holds."""

from __future__ import annotations

import numpy as np
import pytest
from test_ingest_fixtures import PageSpec, build_pdf

from planseg.errors import PageTooLargeError
from planseg.ingest import open_document, page_pixel_size, plan_tiles, render_page

# Offset MediaBox and an inner CropBox so that forgetting either offset (or the y flip) moves
# the square by tens of pixels.
MEDIABOX = (10, 20, 310, 220)
CROPBOX = (50, 40, 250, 200)
SQUARE = (100.0, 150.0, 10.0)  # lower-left x, y and side, PDF points


def _red_mask(image: np.ndarray) -> np.ndarray:
    r, g, b = (image[..., i].astype(int) for i in range(3))
    return (r > 200) & (g < 60) & (b < 60)


def _predicted_box_px(pdf_to_pixel: np.ndarray) -> tuple[float, float, float, float]:
    x, y, side = SQUARE
    corners = np.array([[x, x + side, x + side, x], [y, y, y + side, y + side], [1, 1, 1, 1]])
    cols, rows, _ = pdf_to_pixel @ corners
    return cols.min(), rows.min(), cols.max(), rows.max()


@pytest.mark.parametrize("rotate", [0, 90, 180, 270])
@pytest.mark.parametrize("cropped", [False, True])
def test_square_lands_on_predicted_pixels(tmp_path, rotate, cropped):
    spec = PageSpec(mediabox=MEDIABOX, cropbox=CROPBOX if cropped else None, rotate=rotate,
                    squares=[SQUARE])
    path = build_pdf(tmp_path / "p.pdf", [spec])
    with open_document(path) as doc:
        page = render_page(doc, 0, dpi=144)  # 2 px per point
    width_pt, height_pt = ((200, 160) if cropped else (300, 200))
    if rotate in (90, 270):
        width_pt, height_pt = height_pt, width_pt
    assert page.image.shape == (height_pt * 2, width_pt * 2, 3)
    assert (page.page_width_px, page.page_height_px) == (width_pt * 2, height_pt * 2)
    ys, xs = np.nonzero(_red_mask(page.image))
    x0, y0, x1, y1 = _predicted_box_px(page.pdf_to_pixel)
    # pixel (c, r) covers [c, c+1): the square's filled pixels span [x0, x1) exactly
    assert abs(xs.min() - x0) <= 1 and abs(xs.max() + 1 - x1) <= 1
    assert abs(ys.min() - y0) <= 1 and abs(ys.max() + 1 - y1) <= 1
    assert np.allclose(page.pixel_to_pdf @ page.pdf_to_pixel, np.eye(3), atol=1e-12)


def test_display_corner_maps_to_cropbox_corner(tmp_path):
    """Pixel (0, 0) of a 90-degree page is the CropBox's lower-left corner (rotated clockwise)."""
    path = build_pdf(tmp_path / "p.pdf", [PageSpec(mediabox=MEDIABOX, cropbox=CROPBOX,
                                                   rotate=90)])
    with open_document(path) as doc:
        page = render_page(doc, 0, dpi=72)
    assert np.allclose(page.pixel_to_pdf @ [0, 0, 1], [50, 40, 1])
    assert np.allclose(page.pixel_to_pdf @ [160, 200, 1], [250, 200, 1])


@pytest.mark.parametrize("rotate", [0, 90])
def test_tiles_equal_full_render(tmp_path, rotate):
    spec = PageSpec(mediabox=MEDIABOX, cropbox=CROPBOX, rotate=rotate,
                    squares=[SQUARE, (60, 45, 33.3), (200.5, 120.25, 40)],
                    words=[("Z-12", 120, 60, 14)])
    path = build_pdf(tmp_path / "p.pdf", [spec])
    dpi = 100  # 200 pt -> 277.8 px: fractional page edge
    with open_document(path) as doc:
        full = render_page(doc, 0, dpi=dpi)
        assert (full.page_width_px, full.page_height_px) == page_pixel_size(doc, 0, dpi)
        for tile in plan_tiles(full.page_width_px, full.page_height_px, 96, 17):
            part = render_page(doc, 0, dpi=dpi, clip_xyxy_px=tile.xyxy)
            assert part.offset_px == (tile.x0, tile.y0)
            assert np.array_equal(part.pdf_to_pixel, full.pdf_to_pixel)
            expected = full.image[tile.y0:tile.y1, tile.x0:tile.x1]
            assert part.image.shape == expected.shape
            assert np.array_equal(part.image, expected)


def test_pixel_budget(tmp_path):
    path = build_pdf(tmp_path / "big.pdf", [PageSpec(mediabox=(0, 0, 720, 720))])
    with open_document(path) as doc:
        with pytest.raises(PageTooLargeError) as caught:
            render_page(doc, 0, dpi=72, max_pixels=500 * 500)
        assert "big.pdf" in str(caught.value) and "pixel budget" in str(caught.value)
        fitted = render_page(doc, 0, max_pixels=500 * 500)  # no dpi: fit under the budget
        assert fitted.image.shape[0] * fitted.image.shape[1] <= 500 * 500
        assert fitted.image.shape[0] >= 495
        tile = render_page(doc, 0, dpi=72, max_pixels=500 * 500, clip_xyxy_px=(0, 0, 400, 400))
        assert tile.image.shape == (400, 400, 3)  # a tile under budget renders on a big page
        default = render_page(doc, 0)
        assert default.dpi == 150 and default.image.shape == (1500, 1500, 3)


def test_bad_clip_is_rejected(tmp_path):
    path = build_pdf(tmp_path / "p.pdf", [PageSpec()])
    with open_document(path) as doc, pytest.raises(ValueError, match="clip_xyxy_px"):
        render_page(doc, 0, dpi=72, clip_xyxy_px=(0, 0, 201, 10))


def test_realign_pastes_a_misrounded_pixmap_onto_the_exact_clip():
    """The safety net for MuPDF rounding a clip differently: pixels keep their page place."""
    import pymupdf

    from planseg.ingest.render import _realign, pixmap_to_array

    doc = pymupdf.open()
    page = doc.new_page(width=100, height=100)
    page.draw_rect(pymupdf.Rect(10, 10, 50, 50), fill=(1, 0, 0), color=None)
    exact = _realign(page.get_pixmap(clip=pymupdf.Rect(0, 0, 60, 60)), (5, 5, 70, 70))
    image = pixmap_to_array(exact)
    assert tuple(exact.irect) == (5, 5, 70, 70) and image.shape == (65, 65, 3)
    assert _red_mask(image)[10, 10] and not _red_mask(image)[0, 0]  # page px (15,15), (5,5)
    assert (image[60:, 60:] == 255).all()  # outside the source pixmap: white
