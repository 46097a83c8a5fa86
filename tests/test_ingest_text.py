"""Text layer: words with boxes in the PDF frame (rotation and CropBox undone), reading order;
scanned pages have none; on planseg synth output the zone codes sit inside their zones."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from test_ingest_fixtures import PageSpec, build_pdf

from planseg.ingest import open_document, page_words, render_page

WORDS = [("North", 60, 170, 12), ("Street", 110, 170, 12), ("WA-2", 60, 80, 12),
         ("MI", 130, 80, 12)]


@pytest.mark.parametrize("rotate", [0, 90, 180, 270])
def test_word_boxes_in_pdf_frame(tmp_path, rotate):
    spec = PageSpec(mediabox=(10, 20, 310, 220), cropbox=(40, 30, 250, 210), rotate=rotate,
                    words=WORDS)
    with open_document(build_pdf(tmp_path / "t.pdf", [spec])) as doc:
        words = page_words(doc, 0)
    by_text = {w.text: w.box_pdf for w in words}
    assert set(by_text) == {w[0] for w in WORDS}
    for text, x, y, size in WORDS:
        x0, y0, x1, y1 = by_text[text]
        assert x0 < x1 and y0 < y1  # y up
        assert abs(x0 - x) < 1.5 and y0 - 5 < y < y1 and y1 - y < size * 1.3


def test_reading_order_follows_displayed_page(tmp_path):
    spec = PageSpec(words=WORDS, mediabox=(0, 0, 300, 220))
    with open_document(build_pdf(tmp_path / "t.pdf", [spec])) as doc:
        assert [w.text for w in page_words(doc, 0)] == ["North", "Street", "WA-2", "MI"]


def test_scanned_image_has_no_words(tmp_path):
    path = tmp_path / "scan.png"
    cv2.imwrite(str(path), np.full((40, 40, 3), 200, np.uint8))
    with open_document(path) as doc:
        assert page_words(doc, 0) == []


def test_synth_zone_codes_lie_inside_their_zones(tmp_path):
    synth = pytest.importorskip("planseg.synth")
    synth.generate(tmp_path / "synth", docs=1, seed=3, dpi=40, sheet="A4")
    coco = json.loads((tmp_path / "synth" / "data" / "annotations.json").read_text())
    image = coco["images"][0]
    zones = [a for a in coco["annotations"] if a["image_id"] == image["id"] and a["zone_code"]]
    assert zones
    with open_document(tmp_path / "synth" / "pdfs" / image["pdf"]) as doc:
        page = render_page(doc, image["page"] - 1, dpi=image["dpi"])
        words = page_words(doc, image["page"] - 1)
    assert page.image.shape[:2] == (image["height"], image["width"])
    for zone in zones:  # every zone's code is a word whose centre lies in the zone's box
        x, y, w, h = zone["bbox"]
        centres = [((b[0] + b[2]) / 2, (b[1] + b[3]) / 2) for b in
                   (word.box_pdf for word in words if word.text == zone["zone_code"])]
        pixels = [page.pdf_to_pixel @ [cx, cy, 1] for cx, cy in centres]
        assert any(x <= col <= x + w and y <= row <= y + h for col, row, _ in pixels), zone
