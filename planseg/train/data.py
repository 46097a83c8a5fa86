"""COCO datasets of rendered pages: loading, validation, splitting and a metadata cache.

Layouts: ``DATA/data/{images/,annotations.json}`` (split at train time by a seeded
``val_size``, grouped by source PDF so pages of one document never straddle the split) or
``DATA/train/...`` + ``DATA/val/...``. Every problem in an annotation file is collected and
raised as one :class:`DatasetError` with image/annotation ids. Masks are kept as compressed
COCO RLE (pixel frame of the full page image) until a sample needs them.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from pycocotools import mask as mask_utils

from planseg.errors import DatasetError
from planseg.export.rle import rle_text
from planseg.fsio import atomic_write_json, sha256_file, sha256_json
from planseg.train.config import DatasetConfig

log = logging.getLogger(__name__)

CACHE_VERSION = 1
BOX_TOLERANCE_PX = 1.0  # COCO tools round boxes; a pixel of slack is not a problem


@dataclass(frozen=True)
class PageRecord:
    """One annotated page image. ``rles``: compressed COCO RLE dicts (counts str) over the full
    image; ``boxes_xywh`` in the same pixel frame; ``page_number`` 1-based when known."""

    image_id: int
    file_name: str
    path: str
    width_px: int
    height_px: int
    ann_ids: tuple[int, ...]
    rles: tuple[dict, ...]
    boxes_xywh: tuple[tuple[float, float, float, float], ...]
    pdf: str | None = None
    page_number: int | None = None

    def decode(self, indices: list[int] | None = None) -> np.ndarray:
        """Decode masks (all, or ``indices``) to KxHxW bool."""
        chosen = range(len(self.rles)) if indices is None else indices
        if not chosen:
            return np.zeros((0, self.height_px, self.width_px), dtype=bool)
        rles = [self.rles[i] for i in chosen]
        return mask_utils.decode(rles).transpose(2, 0, 1).astype(bool)


@dataclass
class DatasetSplits:
    """Train and validation pages, plus what loading decided (for the run summary)."""

    train: list[PageRecord]
    val: list[PageRecord]
    notes: list[str]


def load_splits(data_dir: Path, config: DatasetConfig, cache_dir: Path | None) -> DatasetSplits:
    """Load ``data_dir`` in either layout; raise one :class:`DatasetError` listing all problems."""
    data_dir = Path(data_dir)
    train_dir, val_dir, flat_dir = data_dir / "train", data_dir / "val", data_dir / "data"
    notes: list[str] = []
    if (train_dir / "annotations.json").is_file() and (val_dir / "annotations.json").is_file():
        problems: list[str] = []
        train = _load_cached(train_dir, config, cache_dir, problems, notes, "train")
        val = _load_cached(val_dir, config, cache_dir, problems, notes, "val")
        _raise_if(problems, data_dir)
        return DatasetSplits(train, val, notes)
    for folder in (flat_dir, train_dir, data_dir):
        if (folder / "annotations.json").is_file():
            break
    else:
        raise DatasetError("no annotations.json found: expected DATA/data/annotations.json or "
                           "DATA/train/ + DATA/val/ (make one with `planseg synth`)",
                           path=data_dir)
    problems = []
    pages = _load_cached(folder, config, cache_dir, problems, notes, folder.name)
    _raise_if(problems, data_dir)
    if not config.auto_split:
        raise DatasetError("no validation set: add DATA/val/ or set dataset.auto_split: true",
                           path=data_dir)
    train, val = split_pages(pages, config.val_size, config.split_seed)
    notes.append(f"auto split (seed {config.split_seed}): {len(train)} train pages, "
                 f"{len(val)} validation pages")
    return DatasetSplits(train, val, notes)


def split_pages(pages: list[PageRecord], val_size: float,
                seed: int) -> tuple[list[PageRecord], list[PageRecord]]:
    """Seeded split by document (``pdf``, else file name) into (train, val), both non-empty."""
    groups = sorted({p.pdf or p.file_name for p in pages})
    if len(groups) < 2:
        raise DatasetError(f"cannot split {len(pages)} page(s) from {len(groups)} document(s) "
                           "into train and validation: add pages or a DATA/val/ folder")
    wanted = val_size * len(groups) if val_size < 1 else val_size
    n_val = min(max(1, math.ceil(wanted - 1e-9)), len(groups) - 1)
    order = np.random.default_rng(seed).permutation(len(groups))
    val_groups = {groups[i] for i in order[:n_val]}
    train = [p for p in pages if (p.pdf or p.file_name) not in val_groups]
    val = [p for p in pages if (p.pdf or p.file_name) in val_groups]
    return train, val


def _raise_if(problems: list[str], where: Path) -> None:
    if problems:
        shown = "; ".join(problems[:50]) + (f"; ... {len(problems) - 50} more"
                                            if len(problems) > 50 else "")
        raise DatasetError(f"{len(problems)} problem(s) in the dataset: {shown}", path=where)


def _load_cached(folder: Path, config: DatasetConfig, cache_dir: Path | None,
                 problems: list[str], notes: list[str], label: str) -> list[PageRecord]:
    """Load one annotations.json, through the metadata cache when enabled."""
    ann_path = folder / "annotations.json"
    cache_file = None
    if config.cache and cache_dir is not None:
        images = sorted((folder / "images").glob("*")) if (folder / "images").is_dir() else []
        stamp = [(p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in images]
        key = sha256_json([CACHE_VERSION, sha256_file(ann_path), str(folder.resolve()),
                           config.keep_negatives, stamp])
        cache_file = Path(cache_dir) / f"dataset-{key[:24]}.json"
        if cache_file.is_file():
            cached = json.loads(cache_file.read_text(encoding="utf-8"))
            notes.extend(cached["notes"])
            return [_record_from_json(r) for r in cached["pages"]]
    local_notes: list[str] = []
    pages = load_coco(ann_path, folder / "images", keep_negatives=config.keep_negatives,
                      problems=problems, notes=local_notes, label=label)
    notes.extend(local_notes)
    if cache_file is not None and not problems:
        atomic_write_json(cache_file, {"notes": local_notes,
                                       "pages": [asdict(p) for p in pages]})
    return pages


def _record_from_json(data: dict) -> PageRecord:
    data = dict(data)
    for key in ("ann_ids", "rles"):
        data[key] = tuple(data[key])
    data["boxes_xywh"] = tuple(tuple(b) for b in data["boxes_xywh"])
    return PageRecord(**data)


def load_coco(ann_path: Path, images_dir: Path, *, keep_negatives: bool, problems: list[str],
              notes: list[str], label: str = "") -> list[PageRecord]:
    """Parse and validate one COCO file; problems are appended (not raised), with ids."""
    try:
        coco = json.loads(Path(ann_path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        problems.append(f"{ann_path}: cannot read annotations ({exc})")
        return []
    if not isinstance(coco, dict) or not isinstance(coco.get("images"), list):
        problems.append(f"{ann_path}: not a COCO file (no 'images' list)")
        return []
    images = _check_images(coco["images"], Path(images_dir), problems)
    per_image: dict[int, list[tuple[int, dict, tuple]]] = {i: [] for i in images}
    annotations = coco.get("annotations") or []
    if not isinstance(annotations, list):
        problems.append(f"{ann_path}: 'annotations' is not a list")
        annotations = []
    for ann in annotations:
        checked = _check_annotation(ann, images, problems)
        if checked is not None:
            per_image[ann["image_id"]].append(checked)
    pages, negatives = [], []
    for image_id, (img, path) in images.items():
        anns = per_image[image_id]
        if not anns:
            negatives.append(image_id)
            if not keep_negatives:
                continue
        pages.append(PageRecord(
            image_id=image_id, file_name=img["file_name"], path=str(path),
            width_px=int(img["width"]), height_px=int(img["height"]),
            ann_ids=tuple(a[0] for a in anns), rles=tuple(a[1] for a in anns),
            boxes_xywh=tuple(a[2] for a in anns), pdf=img.get("pdf"),
            page_number=img.get("page")))
    if negatives:
        fate = "kept as negatives" if keep_negatives else "skipped (dataset.keep_negatives)"
        notes.append(f"{label}: {len(negatives)} image(s) without annotations {fate}: ids "
                     + ", ".join(map(str, negatives[:20])) + (" ..." if len(negatives) > 20
                                                              else ""))
    return pages


def _check_images(entries: list, images_dir: Path,
                  problems: list[str]) -> dict[int, tuple[dict, Path]]:
    """Valid images by id; escaping, missing or mis-sized files become problems."""
    root = images_dir.resolve()
    images: dict[int, tuple[dict, Path]] = {}
    for img in entries:
        image_id = img.get("id") if isinstance(img, dict) else None
        name = img.get("file_name") if isinstance(img, dict) else None
        if not isinstance(image_id, int) or not isinstance(name, str) or not name:
            problems.append(f"image entry {img!r:.80}: needs an integer id and a file_name")
            continue
        if image_id in images:
            problems.append(f"image {image_id}: duplicate image id")
            continue
        path = (root / name).resolve()
        if Path(name).is_absolute() or not path.is_relative_to(root):
            problems.append(f"image {image_id}: file_name {name!r} escapes the dataset folder "
                            "(refused, not read)")
            continue
        if not path.is_file():
            problems.append(f"image {image_id}: image file {name!r} is missing")
            continue
        size = _image_size(path)
        declared = (img.get("width"), img.get("height"))
        if size is None:
            problems.append(f"image {image_id}: {name!r} is not a readable image")
        elif declared != size:
            problems.append(f"image {image_id}: declared width/height {declared} but "
                            f"{name!r} is {size[0]}x{size[1]}")
        else:
            images[image_id] = (img, path)
    return images


def _image_size(path: Path) -> tuple[int, int] | None:
    try:
        with Image.open(path) as image:  # reads the header only
            return image.size
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


def _check_annotation(ann: dict, images: dict[int, tuple[dict, Path]],
                      problems: list[str]) -> tuple[int, dict, tuple] | None:
    """(ann id, compressed RLE, bbox xywh) or None after recording the problem."""
    ann_id = ann.get("id") if isinstance(ann, dict) else None
    where = f"annotation {ann_id} (image {ann.get('image_id') if isinstance(ann, dict) else '?'})"
    if not isinstance(ann, dict) or not isinstance(ann.get("image_id"), int) \
            or ann["image_id"] not in images:
        if isinstance(ann, dict) and not isinstance(ann.get("image_id"), int):
            problems.append(f"{where}: no integer image_id")
        return None  # annotations of refused/missing images: that image's problem says why
    if ann.get("iscrowd"):
        return None  # crowd regions are not instances; SAM is trained on instances only
    img = images[ann["image_id"]][0]
    h, w = int(img["height"]), int(img["width"])
    rle = _to_rle(ann.get("segmentation"), h, w, where, problems)
    if rle is None:
        return None
    bbox = ann.get("bbox") or [float(v) for v in mask_utils.toBbox(rle)]
    if not isinstance(bbox, (list, tuple)) or len(bbox) != 4 \
            or not all(isinstance(v, (int, float)) for v in bbox):
        problems.append(f"{where}: bbox {bbox!r} is not [x, y, w, h]")
        return None
    x, y, bw, bh = map(float, bbox)
    tol = BOX_TOLERANCE_PX
    if bw <= 0 or bh <= 0 or x < -tol or y < -tol or x + bw > w + tol or y + bh > h + tol:
        problems.append(f"{where}: box {[x, y, bw, bh]} lies outside the {w}x{h} image "
                        "or is empty")
        return None
    if mask_utils.area(rle) == 0:
        problems.append(f"{where}: mask is empty (degenerate segmentation)")
        return None
    return ann_id, rle, (x, y, bw, bh)


def _to_rle(seg, h: int, w: int, where: str, problems: list[str]) -> dict | None:
    """Polygons or RLE -> one compressed RLE with str counts, or None after a problem."""
    if isinstance(seg, dict):
        if list(seg.get("size", [])) != [h, w]:
            problems.append(f"{where}: RLE size {seg.get('size')} is not the image's [{h}, {w}]")
            return None
        try:
            rle = mask_utils.frPyObjects(seg, h, w) if isinstance(seg.get("counts"), list) \
                else {"size": [h, w], "counts": seg["counts"]}
            rle = {"size": [h, w], "counts": rle["counts"]}
            mask_utils.area(rle)  # validates the counts
        except (TypeError, ValueError, KeyError) as exc:
            problems.append(f"{where}: invalid RLE ({exc})")
            return None
    elif isinstance(seg, list) and seg:
        bad = [i for i, poly in enumerate(seg) if not _polygon_ok(poly)]
        if bad:
            problems.append(f"{where}: degenerate polygon(s) {bad} (need >= 3 distinct points, "
                            "finite coordinates and a non-zero area)")
            return None
        rle = mask_utils.merge(mask_utils.frPyObjects(seg, h, w))
    else:
        problems.append(f"{where}: missing segmentation")
        return None
    return rle_text({"size": [h, w], "counts": rle["counts"]})


def _polygon_ok(poly) -> bool:
    if not isinstance(poly, list) or len(poly) < 6 or len(poly) % 2:
        return False
    try:
        xy = np.asarray(poly, dtype=np.float64).reshape(-1, 2)
    except (TypeError, ValueError):
        return False
    if not np.isfinite(xy).all() or len(np.unique(xy, axis=0)) < 3:
        return False
    x, y = xy[:, 0], xy[:, 1]
    return abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))) > 1e-9
