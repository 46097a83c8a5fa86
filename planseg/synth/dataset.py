"""``planseg synth``: write N synthetic documents and their COCO ground truth.

Output layout (``OUT``)::

    synth.yaml                         resolved configuration
    pdfs/doc-000.pdf ...               the documents
    data/images/doc-000-p1.png ...     every page rendered at dpi   (no --val-fraction)
    data/annotations.json              COCO: one image per page, one annotation per zone
    train/..., val/...                 the same, split by document  (with --val-fraction)

Every document draws from its own random stream ``(seed, doc_index)``, so documents do not
depend on each other and the same seed gives the same bytes. Text-only pages are images with
no annotations (negatives for training).
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from planseg import __version__
from planseg.config import load_config, write_resolved_config
from planseg.errors import ConfigError
from planseg.fsio import atomic_write_bytes, atomic_write_json
from planseg.synth.config import Look, Sheet, Style, SynthConfig
from planseg.synth.document import SynthDocument, make_document
from planseg.synth.palette import class_categories

log = logging.getLogger(__name__)

# id 1 "zone" is every annotation's category_id (class-agnostic training and scoring); the
# class categories (ids 2..) name each zone class with its colour, and an annotation's
# ``class_category_id`` points at its own
CATEGORIES = [{"id": 1, "name": "zone", "supercategory": "zone"}, *class_categories()]
_OWNED = ("pdfs", "data", "train", "val")  # folders a re-run replaces
_STAGING = ".synth-partial"  # where a run writes before moving its outputs into place
_SPLIT_STREAM = 2**31 - 1  # random stream id of the train/val split (not a doc index)


@dataclass
class SynthSummary:
    """What :func:`generate` wrote."""

    out_dir: Path
    pdfs: list[Path]
    annotations: dict[str, Path]  # split name ("data", "train", "val") -> annotations.json
    images: int = 0
    zones: int = 0
    seconds: float = 0.0
    split_of: dict[str, str] = field(default_factory=dict)  # pdf file name -> split name


def generate(out_dir: Path, *, docs: int, seed: int, dpi: float = 100,
             style: Style = "vector", val_fraction: float | None = None,
             sheet: Sheet | None = None, look: Look = "classic") -> SynthSummary:
    """Generate ``docs`` synthetic zoning plans with COCO ground truth under ``out_dir``.

    Raises :class:`ConfigError` for bad values (every problem at once) or an output folder
    that holds something other than a previous synth run.
    """
    overrides = {"out_dir": out_dir, "docs": docs, "seed": seed, "dpi": dpi, "style": style,
                 "val_fraction": val_fraction, "sheet": sheet, "look": look}
    return run(load_config(SynthConfig, None, overrides))


def run(config: SynthConfig) -> SynthSummary:
    """Generate the dataset described by ``config`` (see the module docstring for the layout).

    Everything is written to ``OUT/.synth-partial`` first and moved into place at the end, so
    an interrupted run leaves a previous dataset in ``OUT`` intact.
    """
    started = time.perf_counter()
    out = Path(config.out_dir)
    _check_output(out)
    staging = out / _STAGING
    shutil.rmtree(staging, ignore_errors=True)  # leftovers of an interrupted run
    split_of = _assign_splits(config)
    coco = {split: _empty_coco(config) for split in sorted(set(split_of.values()))}
    for doc_index, name in enumerate(_doc_names(config.docs)):
        rng = np.random.default_rng([config.seed, doc_index])
        document = make_document(rng, dpi=config.dpi, style=config.style, sheet=config.sheet,
                                 look=config.look)
        atomic_write_bytes(staging / "pdfs" / f"{name}.pdf", document.pdf)
        split = split_of[f"{name}.pdf"]
        _add_document(coco[split], staging / split / "images", name, document, config.dpi)
        log.debug("made %s.pdf (%s, %d pages)", name, document.sheet, len(document.pages))
    for split, data in coco.items():
        atomic_write_json(staging / split / "annotations.json", data)
    write_resolved_config(config, staging / "synth.yaml")
    _publish(staging, out)
    summary = SynthSummary(
        out_dir=out, pdfs=[out / "pdfs" / name for name in split_of],
        annotations={split: out / split / "annotations.json" for split in coco},
        images=sum(len(d["images"]) for d in coco.values()),
        zones=sum(len(d["annotations"]) for d in coco.values()),
        seconds=time.perf_counter() - started, split_of=split_of)
    log.info("synth: %d documents, %d pages, %d zones in %.1f s -> %s", config.docs,
             summary.images, summary.zones, summary.seconds, out)
    return summary


def _check_output(out: Path) -> None:
    """``OUT`` must be new, empty, or a previous (maybe interrupted) synth run."""
    if out.exists() and not out.is_dir():
        raise ConfigError("output exists and is not a folder; choose a folder path", path=out)
    if out.is_dir() and any(out.iterdir()):
        if not ((out / "synth.yaml").is_file() or (out / _STAGING).is_dir()):
            raise ConfigError("output folder is not empty and holds no previous synth run "
                              "(no synth.yaml); choose an empty or new folder", path=out)


def _publish(staging: Path, out: Path) -> None:
    """Replace the previous run's folders with the staged ones; synth.yaml moves in last."""
    for name in _OWNED:
        shutil.rmtree(out / name, ignore_errors=True)
        if (staging / name).exists():
            os.replace(staging / name, out / name)
    os.replace(staging / "synth.yaml", out / "synth.yaml")
    staging.rmdir()


def _doc_names(docs: int) -> list[str]:
    width = max(3, len(str(docs - 1)))
    return [f"doc-{i:0{width}d}" for i in range(docs)]


def _assign_splits(config: SynthConfig) -> dict[str, str]:
    """PDF file name -> split; a seeded choice of whole documents for val."""
    names = [f"{n}.pdf" for n in _doc_names(config.docs)]
    if config.val_fraction is None:
        return {n: "data" for n in names}
    n_val = min(max(1, round(config.docs * config.val_fraction)), config.docs - 1)
    order = np.random.default_rng([config.seed, _SPLIT_STREAM]).permutation(config.docs)
    val = {names[int(i)] for i in order[:n_val]}
    return {n: ("val" if n in val else "train") for n in names}


def _empty_coco(config: SynthConfig) -> dict:
    info = {"description": "planseg synthetic zoning plans", "version": __version__,
            "seed": config.seed, "style": config.style, "dpi": config.dpi}
    if config.look != "classic":  # classic datasets keep their bytes
        info["look"] = config.look
    return {"info": info, "licenses": [], "images": [], "annotations": [],
            "categories": CATEGORIES}


def _add_document(coco: dict, images_dir: Path, name: str, document: SynthDocument,
                  dpi: float) -> None:
    """Write the document's page PNGs and append its images/annotations (ids from 1)."""
    for page in document.pages:
        file_name = f"{name}-p{page.page_number}.png"
        atomic_write_bytes(images_dir / file_name, page.png)
        image_id = len(coco["images"]) + 1
        coco["images"].append({"id": image_id, "file_name": file_name,
                               "width": page.width_px, "height": page.height_px,
                               "pdf": f"{name}.pdf", "page": page.page_number, "dpi": dpi})
        for annotation in page.annotations:
            coco["annotations"].append({"id": len(coco["annotations"]) + 1,
                                        "image_id": image_id, **annotation})
