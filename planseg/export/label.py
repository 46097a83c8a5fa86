"""``planseg label``: the vector zones of every page as a COCO training set (free labels).

The recipe (:func:`run`):
1. find the documents; a page is done when the label cache holds its record under the same
   key - SHA-256 of the input bytes, page, dpi, pixel budget, scan copies, seed and vector
   settings - and its image files are still there;
2. label the other pages in worker processes (:mod:`planseg.export.label_page`): pages
   without vector zones (text pages, scans, pages the vector reader gave up on) are recorded
   as skipped, with the reason;
3. split the labelled documents into train and val (``val_fraction``), move each page's
   images into its split's folder and write the COCO files (:mod:`planseg.export.label_coco`);
4. write ``OUT/label.json``: every page's outcome and every failure.

Layout (``OUT``)::

    label.yaml, label.json              resolved settings; per-page outcomes and failures
    data/images/<doc>/page-0001.png     page images (no val_fraction) ...
    data/images/<doc>/page-0001-scan1.jpg   ... and their scan copies
    data/annotations.json               COCO, as ``planseg train --data OUT`` reads it
    train/..., val/...                  the same, split by document (with val_fraction)
    .planseg-label/                     the cache: one JSON record per page

``OUT`` holds the pages of the last run's inputs: files of other pages are removed. Every file
is written atomically and left untouched (mtime included) when a re-run would not change it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from planseg.config import config_to_dict
from planseg.errors import ConfigError, InputError, OutputError
from planseg.export.label_coco import (
    CACHE_DIR,
    CONFIG_NAME,
    SUMMARY_NAME,
    read_json,
    write_dataset,
    write_if_changed,
    write_yaml_if_changed,
)
from planseg.export.label_config import LabelConfig
from planseg.export.label_page import LabelTask, label_task
from planseg.fsio import sha256_file, sha256_json
from planseg.ingest.documents import (
    DocumentRef,
    close_cached_document,
    discover_for_output,
    open_document,
)
from planseg.workers import map_unordered

log = logging.getLogger(__name__)

_LABEL_VERSION = 1  # bump when the record for the same key would change


@dataclass
class LabelSummary:
    """What a run did: pages labelled now, reused from the cache, skipped (no vector zones,
    listed in ``skipped`` as "doc page N: reason"), and one message per failed file or page."""

    labelled: int = 0
    reused: int = 0
    skipped: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    images: int = 0
    annotations: int = 0
    splits: dict[str, Path] = field(default_factory=dict)  # split -> annotations.json


def run(config: LabelConfig) -> LabelSummary:
    """Label every page of ``config.inputs`` into ``config.out``; see the module docstring.

    Input problems are logged and listed in the summary (the batch goes on); an output that
    cannot be written raises :class:`OutputError`, a foreign output folder
    :class:`ConfigError`.
    """
    out = Path(config.out)
    _check_output(out)
    write_yaml_if_changed(out / CONFIG_NAME, config_to_dict(config))
    summary = LabelSummary()
    tasks, keys = _plan(config, out, summary)
    for outcome in map_unordered(label_task, tasks, config.workers, close_cached_document):
        _collect(outcome, summary)
    records = [record for key in keys if (record := read_json(_record_path(out, key)))]
    _prune_cache(out, set(keys))
    summary.skipped = [f"{r['pdf']} page {r['page']}: {r['reason']}" for r in records
                       if r["status"] == "skipped"]
    for line in summary.skipped:
        log.info("skipped %s", line)
    written = write_dataset(out, records, config.val_fraction, config.seed)
    summary.splits, summary.images, summary.annotations = written
    write_if_changed(out / SUMMARY_NAME, _summary_json(records, summary))
    log.info("label: %d pages labelled, %d unchanged, %d without vector zones, %d failed; "
             "%d images, %d zones -> %s", summary.labelled, summary.reused,
             len(summary.skipped), len(summary.failures), summary.images,
             summary.annotations, out)
    return summary


def _check_output(out: Path) -> None:
    """``OUT`` must be new, empty, or a previous label run (it prunes files it does not know)."""
    if out.exists() and not out.is_dir():
        raise ConfigError("output exists and is not a folder; choose a folder path", path=out)
    if out.is_dir() and any(out.iterdir()) and not (out / CONFIG_NAME).is_file():
        raise ConfigError(f"output folder is not empty and holds no previous label run (no "
                          f"{CONFIG_NAME}); choose an empty or new folder", path=out)
    out.mkdir(parents=True, exist_ok=True)


def _plan(config: LabelConfig, out: Path,
          summary: LabelSummary) -> tuple[list[LabelTask], list[str]]:
    """Tasks for pages not labelled yet, and the keys of every page of the inputs (in
    document then page order); failures go straight into ``summary``."""
    tasks: list[LabelTask] = []
    keys: list[str] = []
    for item in discover_for_output(config.inputs, out):
        if isinstance(item, str):
            _fail(summary, item)
            continue
        try:
            document_tasks = _document_tasks(item, config, out)
        except InputError as exc:
            _fail(summary, str(exc))
            continue
        for task in document_tasks:
            keys.append(task.key)
            if _is_done(out, task):
                summary.reused += 1
            else:
                tasks.append(task)
    return tasks, keys


def _document_tasks(ref: DocumentRef, config: LabelConfig, out: Path) -> list[LabelTask]:
    with open_document(ref.path) as doc:  # validates the file before any worker sees it
        page_count = doc.page_count
    digest = sha256_file(ref.path)
    settings = {"dpi": config.dpi, "max_pixels": config.max_pixels,
                "scan_copies": config.scan_copies, "seed": config.seed,
                "vector": config_to_dict(config.vector), "version": _LABEL_VERSION}
    tasks = []
    for page_index in range(page_count):
        key = sha256_json({"sha256": digest, "page": page_index, **settings})
        tasks.append(LabelTask(
            ref.path, ref.name, page_index, key, digest, _record_path(out, key),
            out / CACHE_DIR / "images", f"{ref.name}/page-{page_index + 1:04d}", config.dpi,
            config.max_pixels, config.scan_copies, config.seed, config.vector))
    return tasks


def _record_path(out: Path, key: str) -> Path:
    return out / CACHE_DIR / "pages" / f"{key}.json"


def _is_done(out: Path, task: LabelTask) -> bool:
    """The page's record is cached and its images are in the staging or a split folder."""
    record = read_json(task.record_path)
    if record is None or record.get("key") != task.key:
        return False
    folders = [out / CACHE_DIR / "images"] + [out / s / "images" for s in ("data", "train",
                                                                          "val")]
    return all(any((folder / entry["image"]["file_name"]).is_file() for folder in folders)
               for entry in record["images"])


def _collect(outcome: dict[str, Any], summary: LabelSummary) -> None:
    if outcome["status"] == "output_error":
        raise OutputError(outcome["message"], path=outcome["path"])
    if outcome["status"] == "failed":
        _fail(summary, outcome["message"])
    elif outcome["status"] == "labelled":
        summary.labelled += 1


def _fail(summary: LabelSummary, message: str) -> None:
    log.error("%s", message)
    summary.failures.append(message)


def _prune_cache(out: Path, keys: set[str]) -> None:
    """Drop the records of pages that are not among this run's inputs and settings."""
    for path in (out / CACHE_DIR / "pages").glob("*.json"):
        if path.stem not in keys:
            path.unlink(missing_ok=True)


def _summary_json(records: list[dict[str, Any]], summary: LabelSummary) -> dict[str, Any]:
    """``label.json``: one entry per page of the inputs and the failures (no timings, so an
    unchanged re-run leaves the file as it was)."""
    pages = []
    for record in records:
        entry = {"pdf": record["pdf"], "page": record["page"], "status": record["status"]}
        if record["status"] == "skipped":
            entry["reason"] = record["reason"]
        else:
            entry.update(split=record.get("split"), zones=record["zones"],
                         images=[e["image"]["file_name"] for e in record["images"]])
        pages.append(entry)
    return {"pages": pages, "failures": summary.failures,
            "counts": {"labelled": sum(r["status"] == "labelled" for r in records),
                       "skipped": len(summary.skipped), "failed": len(summary.failures),
                       "images": summary.images, "annotations": summary.annotations}}
