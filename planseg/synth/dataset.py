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
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from planseg import __version__
from planseg.config import load_config, write_resolved_config
from planseg.errors import ConfigError
from planseg.fsio import atomic_write_bytes, atomic_write_json
from planseg.synth.config import Sheet, Style, SynthConfig
from planseg.synth.document import SynthDocument, make_document

log = logging.getLogger(__name__)

CATEGORIES = [{"id": 1, "name": "zone", "supercategory": "zone"}]
_OWNED = ("pdfs", "data", "train", "val")  # folders a re-run replaces
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
             sheet: Sheet | None = None) -> SynthSummary:
    """Generate ``docs`` synthetic zoning plans with COCO ground truth under ``out_dir``.

    Raises :class:`ConfigError` for bad values (every problem at once) or an output folder
    that holds something other than a previous synth run.
    """
    overrides = {"out_dir": out_dir, "docs": docs, "seed": seed, "dpi": dpi, "style": style,
                 "val_fraction": val_fraction, "sheet": sheet}
    return run(load_config(SynthConfig, None, overrides))


def run(config: SynthConfig) -> SynthSummary:
    """Generate the dataset described by ``config`` (see the module docstring for the layout)."""
    started = time.perf_counter()
    out = Path(config.out_dir)
    _prepare_output(out)
    split_of = _assign_splits(config)
    names = _doc_names(config.docs)
    coco = {split: _empty_coco(config) for split in sorted(set(split_of.values()))}
    pdfs = []
    for doc_index, name in enumerate(names):
        rng = np.random.default_rng([config.seed, doc_index])
        document = make_document(rng, dpi=config.dpi, style=config.style, sheet=config.sheet)
        pdf_path = out / "pdfs" / f"{name}.pdf"
        atomic_write_bytes(pdf_path, document.pdf)
        pdfs.append(pdf_path)
        split = split_of[pdf_path.name]
        _add_document(coco[split], out / split / "images", name, document, config.dpi)
        log.debug("wrote %s (%s, %d pages)", pdf_path, document.sheet, len(document.pages))
    annotations = {}
    for split, data in coco.items():
        annotations[split] = out / split / "annotations.json"
        atomic_write_json(annotations[split], data)
    write_resolved_config(config, out / "synth.yaml")
    summary = SynthSummary(
        out_dir=out, pdfs=pdfs, annotations=annotations,
        images=sum(len(d["images"]) for d in coco.values()),
        zones=sum(len(d["annotations"]) for d in coco.values()),
        seconds=time.perf_counter() - started, split_of=split_of)
    log.info("synth: %d documents, %d pages, %d zones in %.1f s -> %s", len(pdfs),
             summary.images, summary.zones, summary.seconds, out)
    return summary


def _prepare_output(out: Path) -> None:
    """Re-running replaces a previous synth run; any other non-empty folder is refused."""
    if out.exists() and not out.is_dir():
        raise ConfigError("output exists and is not a folder; choose a folder path", path=out)
    if out.is_dir() and any(out.iterdir()):
        if not (out / "synth.yaml").is_file():
            raise ConfigError("output folder is not empty and holds no previous synth run "
                              "(no synth.yaml); choose an empty or new folder", path=out)
        for name in _OWNED:
            shutil.rmtree(out / name, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)


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
