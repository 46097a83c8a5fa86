"""``planseg rasterize``: every page of a folder of documents to PNG, plus a COCO images.json.

Layout: ``OUT/<document name>/page-0001.png`` (document name = path relative to the input
folder) and ``OUT/images.json`` (COCO images, no annotations, each with ``pdf``, ``page``,
``dpi`` and the ``pixel_to_pdf`` transform), ready for annotation tools.

Pages are rendered by worker processes that write their PNG atomically and send back only a
small record, so memory does not grow with the number of pages. A page is skipped on re-runs
when ``OUT/.planseg-rasterize.jsonl`` (one line per finished page) lists it under the same key
- SHA-256 of the input bytes, page, dpi and pixel budget - and its PNG is still there.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from planseg.config import write_resolved_config
from planseg.errors import InputError, OutputError
from planseg.fsio import atomic_path, atomic_write_json, sha256_file, sha256_json
from planseg.ingest.documents import (
    DocumentRef,
    cached_document,
    close_cached_document,
    discover_for_output,
    open_document,
)
from planseg.ingest.rasterize_config import RasterizeConfig
from planseg.ingest.render import (
    check_pixel_budget,
    page_pixel_size,
    page_transforms,
    render_pixmap,
    resolve_dpi,
)
from planseg.workers import map_unordered

log = logging.getLogger(__name__)

STATE_NAME = ".planseg-rasterize.jsonl"
IMAGES_NAME = "images.json"
CONFIG_NAME = "rasterize.yaml"
_RENDER_VERSION = 1  # bump when the pixels for the same key would change


@dataclass
class RasterizeSummary:
    """What a run did: pages written and skipped, and one message per failed file or page."""

    written: int = 0
    skipped: int = 0
    failures: list[str] = field(default_factory=list)
    images_json: Path | None = None


@dataclass(frozen=True)
class PageTask:
    """One page to render (picklable: sent to a worker process)."""

    path: Path
    name: str
    page_index: int
    key: str
    sha256: str
    out_png: Path
    file_name: str
    dpi: float | None
    max_pixels: int | None


def run(config: RasterizeConfig) -> RasterizeSummary:
    """Render every page of ``config.inputs`` into ``config.out``; see the module docstring.

    Input problems are logged and listed in the summary (the batch goes on); an output that
    cannot be written raises :class:`OutputError`.
    """
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    write_resolved_config(config, out / CONFIG_NAME)
    summary = RasterizeSummary()
    state = _load_state(out / STATE_NAME)
    records: dict[str, dict[str, Any]] = {}
    tasks = _plan(config, out, state, records, summary)
    with open(out / STATE_NAME, "a", encoding="utf-8") as journal:
        for outcome in map_unordered(render_task, tasks, config.workers, close_cached_document):
            _collect(outcome, journal, records, summary)
    summary.images_json = _write_images_json(out, records)
    _compact_state(out / STATE_NAME, state, records)
    log.info("rasterize: %d pages written, %d skipped (unchanged), %d failed -> %s",
             summary.written, summary.skipped, len(summary.failures), summary.images_json)
    return summary


def _plan(config: RasterizeConfig, out: Path, state: dict[str, dict[str, Any]],
          records: dict[str, dict[str, Any]], summary: RasterizeSummary) -> list[PageTask]:
    """Tasks for pages not already rendered; skipped pages go straight into ``records``."""
    tasks: list[PageTask] = []
    for item in discover_for_output(config.inputs, out):
        if isinstance(item, str):
            _fail(summary, item)
            continue
        try:
            tasks += _document_tasks(item, config, out, state, records, summary)
        except InputError as exc:
            _fail(summary, str(exc))
    return tasks


def _document_tasks(ref: DocumentRef, config: RasterizeConfig, out: Path,
                    state: dict[str, dict[str, Any]], records: dict[str, dict[str, Any]],
                    summary: RasterizeSummary) -> list[PageTask]:
    with open_document(ref.path) as doc:  # validates the file before any worker sees it
        page_count = doc.page_count
    digest = sha256_file(ref.path)
    tasks = []
    for page_index in range(page_count):
        file_name = f"{ref.name}/page-{page_index + 1:04d}.png"
        key = sha256_json({"sha256": digest, "page": page_index, "dpi": config.dpi,
                           "max_pixels": config.max_pixels, "version": _RENDER_VERSION})
        done = state.get(file_name)
        if done is not None and done.get("key") == key and (out / file_name).is_file():
            records[file_name] = done["image"]
            summary.skipped += 1
            continue
        tasks.append(PageTask(ref.path, ref.name, page_index, key, digest, out / file_name,
                              file_name, config.dpi, config.max_pixels))
    return tasks


# worker-local: the last document opened, reused for its next page; keyed by content hash so
# a file rewritten between two in-process runs is opened afresh


def render_task(task: PageTask) -> dict[str, Any]:
    """Render one page to its PNG (atomically); return a small outcome record.

    Runs in a worker process; every failure comes back as data, except an output error.
    """
    try:
        doc = cached_document(task.path, task.sha256)
        dpi = resolve_dpi(doc, task.page_index, task.dpi, task.max_pixels)
        width, height = page_pixel_size(doc, task.page_index, dpi)
        check_pixel_budget(doc, task.page_index, (0, 0, width, height), dpi, task.max_pixels)
        pix = render_pixmap(doc, task.page_index, dpi, (0, 0, width, height))
        with atomic_path(task.out_png) as tmp:
            pix.save(tmp, output="png")
        pixel_to_pdf, _ = page_transforms(doc, task.page_index, dpi)
    except InputError as exc:
        return {"status": "failed", "message": str(exc)}
    except OutputError as exc:
        return {"status": "output_error", "message": str(exc), "path": exc.path}
    except Exception as exc:  # a MuPDF surprise on one page must not stop the batch
        return {"status": "failed",
                "message": f"{task.path}: page {task.page_index + 1} failed ({exc})"}
    image = {"file_name": task.file_name, "width": width, "height": height, "pdf": task.name,
             "page": task.page_index + 1, "dpi": dpi,
             "pixel_to_pdf": [[float(v) for v in row] for row in pixel_to_pdf]}
    return {"status": "written", "key": task.key, "image": image}


def _collect(outcome: dict[str, Any], journal, records: dict[str, dict[str, Any]],
             summary: RasterizeSummary) -> None:
    if outcome["status"] == "output_error":
        raise OutputError(outcome["message"].split(": ", 1)[-1], path=outcome["path"])
    if outcome["status"] == "failed":
        _fail(summary, outcome["message"])
        return
    image = outcome["image"]
    records[image["file_name"]] = image
    summary.written += 1
    journal.write(json.dumps({"key": outcome["key"], "image": image}) + "\n")
    journal.flush()  # a crash after this line still skips the page next time


def _fail(summary: RasterizeSummary, message: str) -> None:
    log.error("%s", message)
    summary.failures.append(message)


def _load_state(path: Path) -> dict[str, dict[str, Any]]:
    """Finished pages by file_name; a torn last line (crash mid-write) is ignored."""
    state: dict[str, dict[str, Any]] = {}
    if not path.is_file():
        return state
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
            state[entry["image"]["file_name"]] = entry
        except (ValueError, KeyError, TypeError):
            log.debug("ignoring damaged line in %s", path)
    return state


def _compact_state(path: Path, state: dict[str, dict[str, Any]],
                   records: dict[str, dict[str, Any]]) -> None:
    """Rewrite the journal with one line per page (latest wins), atomically."""
    merged = dict(state)
    merged.update(_load_state(path))
    with atomic_path(path) as tmp:
        tmp.write_text("".join(json.dumps(entry) + "\n" for entry in merged.values()),
                       encoding="utf-8")


def _write_images_json(out: Path, records: dict[str, dict[str, Any]]) -> Path:
    """COCO file of the pages of this run's inputs, sorted by document then page."""
    ordered = sorted(records.values(), key=lambda image: (image["pdf"], image["page"]))
    coco = {
        "info": {"description": "pages rendered by planseg rasterize; pixel_to_pdf maps "
                                "[col, row, 1] (full-page pixels) to PDF user-space points"},
        "images": [{"id": index, **image} for index, image in enumerate(ordered, start=1)],
        "annotations": [],
        "categories": [{"id": 1, "name": "zone", "supercategory": "zone"}],
    }
    path = out / IMAGES_NAME
    if path.is_file() and _same_json(path, coco):
        return path  # unchanged: keep the file (and its mtime)
    atomic_write_json(path, coco, indent=1)
    return path


def _same_json(path: Path, obj: Any) -> bool:
    try:
        return json.loads(path.read_text(encoding="utf-8")) == obj
    except (OSError, ValueError):
        return False
