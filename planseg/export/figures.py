"""Comparison panels for ``planseg evaluate --figures DIR``: one PNG per ground-truth page,
original page | ground-truth masks | predicted masks [| baseline masks], each mask in its
own colour over the faded page."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
from pycocotools import mask as mask_utils

from planseg.export.metrics import annotation_rle, match_pages
from planseg.export.preview import palette_rgb, write_png

log = logging.getLogger(__name__)

_PANEL_MAX_PX = 900  # longest side of one panel
_HEADER_PX = 36


def write_figures(out_dir: Path, gt: dict, gt_path: Path,
                  predictions: Sequence[tuple[str, dict]], *,
                  max_pages: int | None = None) -> list[Path]:
    """Write ``out_dir/<page>.png`` panels for the ground-truth pages (at most ``max_pages``).

    ``predictions``: (title, COCO dict) pairs, e.g. [("predicted", p), ("baseline", b)].
    Page images are looked up beside ``gt_path`` (``images/<file_name>`` or
    ``<file_name>``) or rendered from the ``pdf`` named by the image; else a white page.
    """
    paths = []
    by_gt: list[dict[int, list[dict]]] = [_annotations_by_gt_image(gt, p) for _, p in predictions]
    gt_anns = _group(gt.get("annotations", []))
    for image in sorted(gt.get("images", []), key=lambda i: i["id"])[:max_pages]:
        size = (int(image["height"]), int(image["width"]))
        page = load_page_image(image, Path(gt_path).parent)
        panels = [("original", page),
                  ("ground truth", colour_masks(page, _masks(gt_anns.get(image["id"], []),
                                                             size)))]
        for (title, _), anns in zip(predictions, by_gt, strict=True):
            panels.append((title, colour_masks(page, _masks(anns.get(image["id"], []), size))))
        path = Path(out_dir) / f"{_slug(image)}.png"
        write_png(path, compose(panels))
        paths.append(path)
    return paths


def colour_masks(page: np.ndarray, masks: Sequence[np.ndarray]) -> np.ndarray:
    """HxWx3 uint8: the page faded to 35 %, each HxW bool mask painted in its own colour."""
    canvas = (page.astype(np.float32) * 0.35 + 255 * 0.65)
    for index, mask in enumerate(masks):
        canvas[mask] = canvas[mask] * 0.3 + np.array(palette_rgb(index), np.float32) * 0.7
    return canvas.round().astype(np.uint8)


def compose(panels: Sequence[tuple[str, np.ndarray]]) -> np.ndarray:
    """Side-by-side panels, each scaled to ``_PANEL_MAX_PX`` with its title above."""
    tiles = []
    for title, image in panels:
        scale = min(1.0, _PANEL_MAX_PX / max(image.shape[:2]))
        size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
        small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        header = np.full((_HEADER_PX, small.shape[1], 3), 255, np.uint8)
        cv2.putText(header, title, (8, _HEADER_PX - 10), cv2.FONT_HERSHEY_SIMPLEX, 0.8,
                    (0, 0, 0), 2, cv2.LINE_AA)
        tiles.append(np.vstack([header, small]))
    height = max(t.shape[0] for t in tiles)
    gap = np.full((height, 8, 3), 255, np.uint8)
    padded = [np.pad(t, ((0, height - t.shape[0]), (0, 0), (0, 0)), constant_values=255)
              for t in tiles]
    return np.hstack([part for tile in padded for part in (tile, gap)][:-1])


def load_page_image(image: dict, root: Path) -> np.ndarray:
    """HxWx3 uint8 RGB page raster at the COCO image's size (white if not found)."""
    size = (int(image["width"]), int(image["height"]))
    name = str(image.get("file_name", "")).split("#page=")[0]
    for candidate in (root / "images" / name, root / name):
        if candidate.is_file() and candidate.suffix.lower() != ".pdf":
            raster = cv2.imread(str(candidate), cv2.IMREAD_COLOR)
            if raster is not None:
                return cv2.resize(cv2.cvtColor(raster, cv2.COLOR_BGR2RGB), size)
    pdf = image.get("pdf")
    for candidate in ([root / pdf, root.parent / "pdfs" / pdf, root / "pdfs" / pdf]
                      if pdf else []):
        if candidate.is_file():
            return _render_pdf_page(candidate, int(image.get("page", 1)) - 1, size)
    log.warning("no page image for %s; drawing on white", image.get("file_name"))
    return np.full((size[1], size[0], 3), 255, np.uint8)


def _render_pdf_page(path: Path, page_index: int, size: tuple[int, int]) -> np.ndarray:
    import pymupdf

    with pymupdf.open(path) as doc:
        page = doc[page_index]
        zoom = size[0] / page.rect.width
        pix = page.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), alpha=False)
        raster = np.frombuffer(pix.samples, np.uint8).reshape(pix.height, pix.width, pix.n)
    return cv2.resize(np.ascontiguousarray(raster[:, :, :3]), size)


def _annotations_by_gt_image(gt: dict, predictions: dict) -> dict[int, list[dict]]:
    matched = match_pages(gt, predictions)
    sizes = {i["id"]: (int(i["height"]), int(i["width"])) for i in predictions["images"]}
    out: dict[int, list[dict]] = {}
    for ann in predictions.get("annotations", []):
        if ann["image_id"] in matched:
            rle = annotation_rle(ann, *sizes[ann["image_id"]])
            out.setdefault(matched[ann["image_id"]], []).append({"segmentation": rle})
    return out


def _group(annotations: list[dict]) -> dict[int, list[dict]]:
    out: dict[int, list[dict]] = {}
    for ann in annotations:
        out.setdefault(ann["image_id"], []).append(ann)
    return out


def _masks(annotations: list[dict], size: tuple[int, int]) -> list[np.ndarray]:
    masks = []
    for ann in annotations:
        mask = mask_utils.decode(annotation_rle(ann, *size)).astype(bool)
        if mask.shape != size:  # prediction at another dpi
            mask = cv2.resize(mask.astype(np.uint8), size[::-1],
                              interpolation=cv2.INTER_NEAREST).astype(bool)
        masks.append(mask)
    return masks


def _slug(image: dict) -> str:
    if image.get("pdf") is not None and image.get("page") is not None:
        stem = str(image["pdf"]).rsplit(".", 1)[0]
        return f"{stem}-p{image['page']}".replace("/", "__")
    return str(image.get("file_name", image["id"])).rsplit(".", 1)[0].replace("/", "__")
