"""Helpers for the segment tests: PDFs drawn with PyMuPDF, a fast test config, output readers.

Not a test module (no ``test_`` prefix); imported by tests/test_segment_*.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pymupdf
from pycocotools import mask as mask_utils

A4_PT = (595.0, 842.0)
#: Fast settings: the SAM engine (these tests are about the model path; the PDFs here are
#: vector plans the auto engine would read without a model), the ``tiny`` registry model, a
#: 4x4 point grid, every mask kept (random weights never pass SAM's default quality
#: thresholds), A4 at 50 DPI = one tile.
FAST_CONFIG = """\
engine: sam
dpi: 50
amg:
  points_per_side: 4
  pred_iou_thresh: 0.0
  stability_score_thresh: 0.0
"""


def write_plan_pdf(path: Path, *, pages: int = 1, seed: int = 0,
                   zones: list[tuple[tuple[float, float, float, float], tuple]] | None = None
                   ) -> Path:
    """An A4 planning-style PDF: filled zones with black outlines and a label per page.

    ``zones``: (xyxy in PyMuPDF's top-left page points, fill RGB 0..1); default: two zones
    whose position depends on ``seed`` and the page.
    """
    doc = pymupdf.open()
    for page_index in range(pages):
        page = doc.new_page(width=A4_PT[0], height=A4_PT[1])
        shift = 10.0 * ((seed + page_index) % 7)
        for rect, fill in zones or [((40 + shift, 60, 300, 400), (0.9, 0.3, 0.3)),
                                    ((320, 100 + shift, 550, 700), (0.3, 0.6, 0.9))]:
            page.draw_rect(pymupdf.Rect(*rect), color=(0, 0, 0), fill=fill, width=1.5)
        page.insert_text((100, 200), f"WA{seed}", fontsize=14)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(path)
    doc.close()
    return path


def write_fast_config(folder: Path, extra: str = "") -> Path:
    """The fast test config as a YAML file in ``folder``."""
    path = folder / "segment.yaml"
    path.write_text(FAST_CONFIG + extra)
    return path


def output_files(out: Path) -> dict[str, bytes]:
    """Every output a reader would use (not the run summary or internal state) -> bytes."""
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and ".planseg" not in p.parts
            and p.name not in ("run.json", "config.yaml")}


def mtimes(out: Path) -> dict[str, int]:
    """Relative path -> mtime in ns of every file under ``out``, internal state included."""
    return {p.relative_to(out).as_posix(): p.stat().st_mtime_ns for p in out.rglob("*")
            if p.is_file()}


def read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


class ColourRegions:
    """A stand-in mask generator for tiling tests: one mask per connected region of each
    saturated fill colour - exactly the zones drawn - in SamAutomaticMaskGenerator's
    ``coco_rle`` record format. (The random-weight test models give arbitrary masks, which
    cannot show that a zone cut by a tile border comes back whole.)"""

    def generate(self, image: np.ndarray) -> list[dict]:
        rgb = image.astype(np.int16)
        saturated = (rgb.max(axis=2) - rgb.min(axis=2)) > 60
        records = []
        colours, counts = np.unique(image[saturated].reshape(-1, 3), axis=0, return_counts=True)
        chosen: list[np.ndarray] = []  # fills, not the anti-aliased shades along their edges
        for colour in colours[np.argsort(-counts, kind="stable")][: int((counts >= 200).sum())]:
            if all(np.abs(colour.astype(np.int16) - c).max() > 24 for c in chosen):
                chosen.append(colour.astype(np.int16))
        for colour in chosen:
            near = saturated & (np.abs(rgb - colour).max(axis=2) <= 8)
            count, labels, stats, _ = cv2.connectedComponentsWithStats(near.astype(np.uint8), 4)
            for label in range(1, count):
                x, y, w, h, area = (int(v) for v in stats[label])
                if area < 100 or min(w, h) < 4:  # edge shades, not zones
                    continue
                rle = mask_utils.encode(np.asfortranarray((labels == label).astype(np.uint8)))
                records.append({"segmentation": {"size": list(rle["size"]),
                                                 "counts": rle["counts"].decode("ascii")},
                                "area": area, "bbox": [x, y, w, h], "predicted_iou": 0.95,
                                "stability_score": 0.97, "point_coords": [[x, y]],
                                "crop_box": [0, 0, image.shape[1], image.shape[0]]})
        return records
