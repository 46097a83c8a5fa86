"""One synthetic planning document: its PDF bytes and its rendered pages with ground truth."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import cv2
import numpy as np
import pymupdf
from shapely import affinity

from planseg.synth.bplan import BplanLook, bplan_palette
from planseg.synth.coco import zone_annotation_fields
from planseg.synth.draw import ClassicOverlays, MapOverlays, draw_map
from planseg.synth.furniture import draw_legend_style, draw_panel, draw_text_page
from planseg.synth.handcolour import HandcolourLook, handcolour_palette
from planseg.synth.layout import MapLayout, make_map_layout
from planseg.synth.ortho import OrthoLook, ortho_palette
from planseg.synth.palette import RGB, ZoneStyle, class_category_id, make_palette
from planseg.synth.scan import (
    ScanParams,
    draw_scan_params,
    faded_rgb,
    scan_document,
    skew_affine_pt,
)

# landscape (width, height) in points, as PyMuPDF's paper_size gives them
SHEETS_PT: dict[str, tuple[float, float]] = {"A4": (842.0, 595.0), "A3": (1191.0, 842.0),
                                             "A2": (1684.0, 1191.0)}
_FIXED_DATE = "D:20240101000000Z"  # fixed metadata dates: same seed -> same PDF bytes

PaletteOf = Callable[[np.random.Generator, list[ZoneStyle]], list[ZoneStyle]]
OverlaysOf = Callable[[np.random.Generator], MapOverlays]
#: Every look but classic: (its palette made of the classic one, its drawing of one map),
#: both drawing from the look's own random stream. One module per look.
LOOKS: dict[str, tuple[PaletteOf, OverlaysOf]] = {
    "bplan": (partial(bplan_palette, mono=False), partial(BplanLook, mono=False)),
    "lineplan": (partial(bplan_palette, mono=True), partial(BplanLook, mono=True)),
    "handcolour": (handcolour_palette, HandcolourLook),
    "ortho": (ortho_palette, OrthoLook),
}


@dataclass
class RenderedSynthPage:
    """One page of a generated document, rendered at the dataset dpi (pixel frame)."""

    page_number: int  # 1-based
    png: bytes
    width_px: int
    height_px: int
    annotations: list[dict] = field(default_factory=list)  # COCO fields minus ids


@dataclass
class SynthDocument:
    """A generated PDF and its pages."""

    pdf: bytes
    sheet: str
    pages: list[RenderedSynthPage]


def make_document(rng: np.random.Generator, *, dpi: float, style: str,
                  sheet: str | None, look: str = "classic") -> SynthDocument:
    """Draw one zoning-plan PDF and its GT: 1-2 map sheets, sometimes text-only pages.

    ``look`` "bplan" draws the same layout as a Bebauungsplan (:mod:`planseg.synth.bplan`),
    "lineplan" as its black-and-white print, "handcolour" as an old plan coloured by hand
    (:mod:`planseg.synth.handcolour`), "ortho" over an aerial photo
    (:mod:`planseg.synth.ortho`); see :data:`LOOKS`.
    """
    # the document's structure comes first from the stream, so it survives drawing changes
    sheet = sheet or ("A3" if rng.random() < 0.6 else "A2")
    n_text = 0 if rng.random() < 0.6 else int(rng.integers(1, 3))
    first_map = int(rng.integers(n_text + 1))
    n_maps = 1 if rng.random() < 0.85 else 2
    page_size = SHEETS_PT[sheet]
    # the legend layout has its own stream: spawning leaves ``rng``'s draws unchanged
    legend_rng = rng.spawn(1)[0]
    # so has the look: classic never spawns it, so its bytes stay what they were
    look_rng = rng.spawn(1)[0] if look != "classic" else None
    doc = pymupdf.open()
    layouts: dict[int, MapLayout] = {}  # page_index -> map drawn there
    for index in range(n_text + n_maps):
        if first_map <= index < first_map + n_maps:
            palette = make_palette(rng)
            if look_rng is not None:
                palette = LOOKS[look][0](look_rng, palette)
            layouts[index] = make_map_layout(rng, page_size, palette)
            page = doc.new_page(width=page_size[0], height=page_size[1])
            overlays = ClassicOverlays() if look_rng is None else LOOKS[look][1](look_rng)
            draw_map(page, layouts[index], rng, overlays)
            draw_panel(page, layouts[index], rng, draw_legend_style(legend_rng),
                       overlays.paint_swatch)
        else:  # text pages are portrait sheets of the same size
            draw_text_page(doc.new_page(width=page_size[1], height=page_size[0]), rng)
    scans: list[ScanParams] | None = None
    if style == "scan":
        scans = [draw_scan_params(rng) for _ in range(doc.page_count)]
        doc = scan_document(doc, scans, rng, scan_dpi=max(dpi, 150.0))
    doc.set_metadata({"title": "Synthetic zoning plan", "producer": "planseg synth",
                      "creator": "planseg synth", "creationDate": _FIXED_DATE,
                      "modDate": _FIXED_DATE})
    pdf = doc.tobytes(garbage=3, deflate=True, no_new_id=True)
    return SynthDocument(pdf, sheet, _render_pages(pdf, dpi, layouts, scans))


def _render_pages(pdf: bytes, dpi: float, layouts: dict[int, MapLayout],
                  scans: list[ScanParams] | None) -> list[RenderedSynthPage]:
    """Render the *saved* PDF (what users get) and attach each map page's annotations."""
    scale = dpi / 72.0
    pages = []
    with pymupdf.open("pdf", pdf) as doc:
        for index, page in enumerate(doc):
            pix = page.get_pixmap(matrix=pymupdf.Matrix(scale, scale), alpha=False)
            record = RenderedSynthPage(index + 1, _png(pix), pix.width, pix.height)
            if index in layouts:
                scan = None if scans is None else scans[index]
                record.annotations = _zone_annotations(layouts[index], scale, scan,
                                                       pix.height, pix.width)
            pages.append(record)
    return pages


def _png(pix: pymupdf.Pixmap) -> bytes:
    """PNG bytes of an RGB pixmap; OpenCV's fast zlib level (noisy scans compress slowly)."""
    rgb = np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.width, 3)
    ok, png = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:  # pragma: no cover - cv2 only fails on empty images
        raise RuntimeError("PNG encoding failed")
    return png.tobytes()


def _zone_annotations(layout: MapLayout, scale: float, scan: ScanParams | None,
                      height_px: int, width_px: int) -> list[dict]:
    """COCO annotation fields of every zone with pixels, in the (skewed) page raster."""
    skew_pt = np.eye(3) if scan is None else skew_affine_pt(scan, layout.page_size_pt)
    to_px = np.diag([scale, scale, 1.0]) @ skew_pt
    matrix = [to_px[0, 0], to_px[0, 1], to_px[1, 0], to_px[1, 1], to_px[0, 2], to_px[1, 2]]
    polygons_px = [affinity.affine_transform(z.geometry, matrix) for z in layout.zones]
    annotations = []
    fields = zone_annotation_fields(polygons_px, height_px, width_px)
    for zone, zone_fields in zip(layout.zones, fields, strict=True):
        if zone_fields is None:
            continue
        fill: RGB = zone.style.fill_rgb if scan is None else faded_rgb(zone.style.fill_rgb, scan)
        annotations.append({
            "category_id": 1, "iscrowd": 0, **zone_fields,
            "zone_code": zone.style.code, "zone_name": zone.style.name,
            "class_category_id": class_category_id(zone.style.code),
            "fill_rgb": [int(round(c * 255)) for c in fill],
            "hatched": zone.style.hatch is not None or zone.style.pattern is not None,
        })
    return annotations
