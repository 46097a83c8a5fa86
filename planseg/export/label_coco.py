"""The COCO files of ``planseg label``: split by document, images placed, files written once.

The categories follow ``planseg synth``: every annotation has ``category_id`` 1 ("zone", what
class-agnostic training and scoring use); the legend classes met in the run are categories
2.. (:func:`planseg.export.classes.build_categories`, with synth's ``zone_code`` and
``zone_name`` keys too) and a classified annotation's ``class_category_id`` points at its own,
beside its ``zone_code``, ``zone_name``, ``class_source`` and ``class_distance``.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from planseg import __version__
from planseg.export.classes import build_categories, category_ids, class_key
from planseg.fsio import atomic_write_json, atomic_write_text

log = logging.getLogger(__name__)

CACHE_DIR = ".planseg-label"
CONFIG_NAME = "label.yaml"
SUMMARY_NAME = "label.json"
SPLITS = ("data", "train", "val")
_SPLIT_STREAM = 2**31 - 1  # random stream id of the train/val split (as synth's)


def write_dataset(out: Path, records: list[dict[str, Any]], val_fraction: float | None,
                  seed: int) -> tuple[dict[str, Path], int, int]:
    """Place the labelled pages' images in their split folders and write each split's
    ``annotations.json``; sets ``record["split"]``. Returns (split -> annotations.json,
    images, annotations)."""
    labelled = [r for r in records if r["status"] == "labelled"]
    split_of = assign_splits(sorted({r["pdf"] for r in labelled}), val_fraction, seed)
    for record in labelled:
        record["split"] = split_of[record["pdf"]]
        for entry in record["images"]:
            _place(out, entry["image"]["file_name"], record["split"])
    categories = _categories(labelled)
    ids = category_ids(categories)
    used = sorted(set(split_of.values())) or ["data"]
    paths, images, annotations = {}, 0, 0
    for split in used:
        coco = _coco([r for r in labelled if r["split"] == split], categories, ids)
        paths[split] = out / split / "annotations.json"
        write_if_changed(paths[split], coco)
        images, annotations = images + len(coco["images"]), annotations + len(
            coco["annotations"])
    _prune(out, labelled, used)
    return paths, images, annotations


def assign_splits(docs: list[str], val_fraction: float | None, seed: int) -> dict[str, str]:
    """Document name -> split: all "data" without ``val_fraction``, else a seeded choice of
    round(n * fraction) documents (at least one, never all) for "val", the rest "train"."""
    if val_fraction is None or len(docs) < 2:
        if val_fraction is not None:
            log.warning("val_fraction: %d labelled document(s) cannot be split into train and "
                        "val; writing one pool OUT/data", len(docs))
        return dict.fromkeys(docs, "data")
    n_val = min(max(1, round(len(docs) * val_fraction)), len(docs) - 1)
    order = np.random.default_rng([seed, _SPLIT_STREAM]).permutation(len(docs))
    val = {docs[int(i)] for i in order[:n_val]}
    return {doc: ("val" if doc in val else "train") for doc in docs}


def _place(out: Path, file_name: str, split: str) -> None:
    """Move an image into ``OUT/<split>/images``: a freshly rendered one from the staging
    folder (it replaces an older render), else from another split's folder (a rename: the
    bytes and mtime stay)."""
    target = out / split / "images" / file_name
    staged = out / CACHE_DIR / "images" / file_name
    if target.is_file() and not staged.is_file():
        return
    for folder in [out / CACHE_DIR / "images"] + [out / s / "images" for s in SPLITS]:
        source = folder / file_name
        if source.is_file() and source != target:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, target)
            return
    raise FileNotFoundError(f"{file_name}: labelled image vanished from {out}")


def _categories(labelled: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The run's categories: "zone" (id 1), then one per legend class met (ids 2..)."""
    classes = [ann["class"] for record in labelled for entry in record["images"]
               for ann in entry["annotations"]]
    categories = build_categories(classes)
    for category in categories[1:]:
        category.update(zone_code=category["code"], zone_name=category["label"])
    categories[0]["supercategory"] = "zone"
    return categories


def _coco(records: list[dict[str, Any]], categories: list[dict[str, Any]],
          ids: dict[tuple[str, str, str], int]) -> dict[str, Any]:
    """One split's COCO dict: images in document, page, copy order; ids from 1."""
    coco: dict[str, Any] = {
        "info": {"description": "planseg label: vector zones of planning PDFs",
                 "version": __version__},
        "licenses": [], "images": [], "annotations": [], "categories": categories}
    for record in records:
        for entry in record["images"]:
            image_id = len(coco["images"]) + 1
            coco["images"].append({"id": image_id, **entry["image"]})
            for ann in entry["annotations"]:
                coco["annotations"].append({"id": len(coco["annotations"]) + 1,
                                            "image_id": image_id, **_annotation(ann, ids)})
    return coco


def _annotation(ann: dict[str, Any], ids: dict[tuple[str, str, str], int]) -> dict[str, Any]:
    fields = {"category_id": 1, "iscrowd": 0, "segmentation": ann["segmentation"],
              "area": ann["area"], "bbox": ann["bbox"], "fill_rgb": ann["fill_rgb"]}
    properties = ann["class"]
    key = class_key(properties)
    if key is None:
        return fields
    for name, value in (("zone_code", properties["class_code"]),
                        ("zone_name", properties["class_label"])):
        if value is not None:
            fields[name] = value
    fields.update(class_category_id=ids[key], class_source=properties["class_source"],
                  class_distance=properties["class_distance"])
    return fields


def _prune(out: Path, labelled: list[dict[str, Any]], used: list[str]) -> None:
    """Remove what is not this run's: images of other pages or settings, the COCO file of
    an unused layout (``planseg train`` would read DATA/train + DATA/val first), empty
    folders and the staging leftovers."""
    wanted = {out / r["split"] / "images" / e["image"]["file_name"]
              for r in labelled for e in r["images"]}
    for split in SPLITS:
        if split not in used:
            (out / split / "annotations.json").unlink(missing_ok=True)
        _remove_unwanted(out / split / "images", wanted)
    _remove_unwanted(out / CACHE_DIR / "images", set())


def _remove_unwanted(folder: Path, wanted: set[Path]) -> None:
    if not folder.is_dir():
        return
    for path in sorted(folder.rglob("*"), reverse=True):  # files before their folders
        if path.is_dir():
            if not any(path.iterdir()):
                path.rmdir()
        elif path not in wanted:
            path.unlink()
    if not any(folder.iterdir()):
        folder.rmdir()
        if not any(folder.parent.iterdir()):
            folder.parent.rmdir()


def read_json(path: Path) -> dict[str, Any] | None:
    """A JSON file's object, or None when missing or damaged."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_if_changed(path: Path, obj: Any) -> None:
    """Write ``obj`` as JSON atomically unless the file already holds it (mtime kept)."""
    if read_json(path) != obj:
        atomic_write_json(path, obj)


def write_yaml_if_changed(path: Path, values: dict[str, Any]) -> None:
    """The resolved settings as YAML, atomically, unless the file already says the same."""
    text = yaml.safe_dump(values, sort_keys=False)
    try:
        if path.read_text(encoding="utf-8") == text:
            return
    except OSError:
        pass
    atomic_write_text(path, text)
