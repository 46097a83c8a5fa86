"""A tiny COCO dataset of coloured zoning-map-like polygons drawn with OpenCV (train tests).

Used until/unless ``planseg synth`` is available; pages are small so a tiny SAM trains on them
in seconds. Each page: a white background, 2-4 filled axis-aligned blocks and triangles in
distinct colours with dark outlines, annotated as COCO polygons (category 1, "zone").
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

COLORS = [(230, 80, 80), (80, 170, 90), (70, 110, 220), (240, 200, 60), (170, 90, 200)]


def draw_page(rng: np.random.Generator, width: int, height: int) -> tuple[np.ndarray, list]:
    """(HxWx3 uint8 RGB image, list of polygons [x0, y0, x1, y1, ...]) for one page."""
    image = np.full((height, width, 3), 255, dtype=np.uint8)
    polygons = []
    cols, rows = 2, 2
    cell_w, cell_h = width // cols, height // rows
    for index in range(int(rng.integers(2, 5))):
        cx, cy = index % cols, index // cols
        x0 = cx * cell_w + int(rng.integers(4, cell_w // 4))
        y0 = cy * cell_h + int(rng.integers(4, cell_h // 4))
        x1 = (cx + 1) * cell_w - int(rng.integers(4, cell_w // 4))
        y1 = (cy + 1) * cell_h - int(rng.integers(4, cell_h // 4))
        if rng.random() < 0.3:
            pts = np.array([[x0, y1], [x1, y1], [(x0 + x1) // 2, y0]], dtype=np.int32)
        else:
            pts = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.int32)
        color = COLORS[int(rng.integers(len(COLORS)))]
        cv2.fillPoly(image, [pts], color)
        cv2.polylines(image, [pts], True, (30, 30, 30), 1)
        polygons.append([float(v) + 0.5 for v in pts.reshape(-1)])
    return image, polygons


def write_split(folder: Path, pages: int, seed: int, size: tuple[int, int] = (192, 160),
                start_id: int = 1, large_every: int = 0) -> dict:
    """Write folder/images/*.png and folder/annotations.json; return the COCO dict."""
    rng = np.random.default_rng(seed)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    coco = {"images": [], "annotations": [], "categories": [{"id": 1, "name": "zone"}]}
    for i in range(pages):
        image_id = start_id + i
        width, height = size if not (large_every and i % large_every == 0) else \
            (size[0] * 2, size[1] * 2)
        image, polygons = draw_page(rng, width, height)
        name = f"doc-{image_id:03d}-p1.png"
        cv2.imwrite(str(folder / "images" / name), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        coco["images"].append({"id": image_id, "file_name": name, "width": width,
                               "height": height, "pdf": f"doc-{image_id:03d}.pdf", "page": 1,
                               "dpi": 100})
        for polygon in polygons:
            xs, ys = polygon[0::2], polygon[1::2]
            coco["annotations"].append({
                "id": len(coco["annotations"]) + 1, "image_id": image_id, "category_id": 1,
                "segmentation": [polygon], "iscrowd": 0,
                "bbox": [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)],
                "area": (max(xs) - min(xs)) * (max(ys) - min(ys))})
    (folder / "annotations.json").write_text(json.dumps(coco))
    return coco


def make_dataset(root: Path, *, train_pages: int = 4, val_pages: int = 2, seed: int = 0,
                 size: tuple[int, int] = (192, 160), large_every: int = 0) -> Path:
    """DATA/train + DATA/val layout; returns DATA."""
    write_split(root / "train", train_pages, seed, size, 1, large_every)
    write_split(root / "val", val_pages, seed + 1, size, 1000)
    return root
