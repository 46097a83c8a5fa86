"""The segment pipeline of one device process: plan -> render -> model -> export, overlapped.

A page's path: a worker plans its document (:func:`planseg.infer.engines.plan_document`: the
run's engine decides per page) -> a page whose plan holds detections goes straight to export;
otherwise its tiles are rendered by workers (:func:`planseg.ingest.render.render_tile`), the
mask generator runs on them here, in the process that owns the device, and the tiles' masks
are merged (:mod:`planseg.infer.tiles`) -> a worker vectorises the page and draws its preview
(:func:`planseg.export.document.export_pdf_page`) -> when all its pages are in, the document's
files are written here (:func:`planseg.export.document.write_document`), then its receipt
(see :mod:`planseg.infer.ledger`).

The stages are joined by bounded windows of in-flight work - documents planned ahead, at most
``window`` tiles rendered ahead and ``window`` pages being exported - so memory stays flat
however many pages a document has. ``workers=0`` runs every stage in this process (tests,
debugging).
"""

from __future__ import annotations

import logging
import time
import traceback
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from planseg.errors import InputError, OutputError
from planseg.export.document import PageExport, PageSource, export_pdf_page, write_document
from planseg.export.types import Detection
from planseg.infer.config import SegmentConfig
from planseg.infer.engines import PagePlan, plan_document
from planseg.infer.fusion import fuse_tile_masks
from planseg.infer.ledger import STATE_DIR, DocumentKey, Ledger, LedgerEntry
from planseg.infer.model import MaskGenerator
from planseg.infer.tiles import (
    detections_from_records,
    merge_tile_masks,
    tile_masks,
    tile_prompts,
)
from planseg.ingest.render import render_tile

log = logging.getLogger(__name__)
#: Tracebacks of unexpected document failures, appended under DIR/.planseg/
TRACEBACK_LOG = "errors.log"


@dataclass(frozen=True)
class DocumentJob:
    """One document to segment: its name (output identity), file and ledger key."""

    name: str
    path: Path
    key: DocumentKey


@dataclass
class Outcome:
    """How one document went: ``error`` is None when its outputs and receipt are written."""

    name: str
    pages: int = 0
    polygons: int = 0
    seconds: float = 0.0
    error: str | None = None
    engines: dict[str, int] = field(default_factory=dict)  # pages per engine that did them


class Progress(Protocol):
    """Receives progress events (rich bars on a terminal, log lines otherwise)."""

    def add_documents(self, count: int) -> None: ...
    def add_pages(self, count: int) -> None: ...
    def page_done(self) -> None: ...
    def document_done(self, outcome: Outcome) -> None: ...


class NullProgress:
    """Progress sink that ignores events."""

    def add_documents(self, count: int) -> None:
        pass

    def add_pages(self, count: int) -> None:
        pass

    def page_done(self) -> None:
        pass

    def document_done(self, outcome: Outcome) -> None:
        pass


@dataclass
class _Doc:
    job: DocumentJob
    started: float
    page_count: int = 0
    planned: bool = False
    plans: dict[int, PagePlan] = field(default_factory=dict)
    masks: dict[int, list] = field(default_factory=dict)  # page -> tile masks / records
    tiles_seen: dict[int, int] = field(default_factory=dict)
    exports: dict[int, PageExport] = field(default_factory=dict)
    error: str | None = None


@dataclass
class _TileTask:
    doc: _Doc
    page_index: int
    tile_index: int
    future: Future


class Pipeline:
    """Segments documents with ``generator``; yields one :class:`Outcome` per document."""

    def __init__(self, config: SegmentConfig, generator: MaskGenerator | None, ledger: Ledger,
                 executor: Executor, progress: Progress | None = None,
                 window: int | None = None) -> None:
        self.config = config
        self.generator = generator
        self.ledger = ledger
        self.executor = executor
        self.progress = progress or NullProgress()
        self.window = window or 2 * max(1, config.resolved_workers()) + 2
        self.out_dir = Path(config.out)
        self.traceback_log = self.out_dir / STATE_DIR / TRACEBACK_LOG
        self._exports: deque[tuple[_Doc, int, Future]] = deque()
        self._open: dict[str, _Doc] = {}  # documents started and not yet finished, in order

    def run(self, jobs: Sequence[DocumentJob]) -> Iterator[Outcome]:
        """Process ``jobs``; outcomes come in the order documents finish."""
        self.progress.add_documents(len(jobs))
        rendering: deque[_TileTask] = deque()
        for task in self._tile_tasks(jobs):
            if task is not None:
                rendering.append(task)
            while len(rendering) >= self.window:
                yield from self._segment_tile(rendering.popleft())
            if task is None:  # a page done without the device: keep exports flowing
                self._collect_exports(block=len(self._exports) >= self.window)
                yield from self._finish_ready()
        while rendering:
            yield from self._segment_tile(rendering.popleft())
        while self._exports:
            self._collect_exports(block=True)
            yield from self._finish_ready()
        yield from self._finish_ready()

    def _tile_tasks(self, jobs: Sequence[DocumentJob]) -> Iterator[_TileTask | None]:
        """Tile render tasks in document and page order; None after a page whose plan held
        its detections (sent to export at once)."""
        for job, planned in self._planned(jobs):
            doc = _Doc(job=job, started=time.perf_counter())
            self._open[job.name] = doc
            try:
                plans = planned.result()
            except Exception as exc:  # a bad document is recorded; the batch goes on
                doc.error = fail_reason(exc, self.traceback_log)
                continue
            doc.page_count, doc.planned = len(plans), True
            doc.plans = {plan.page_index: plan for plan in plans}
            self.progress.add_pages(doc.page_count)
            for plan in plans:
                if plan.detections is not None:
                    self._page_segmented(doc, plan.page_index, plan.detections)
                    yield None
                for tile_index, tile in enumerate(plan.tiles if plan.detections is None else []):
                    future = self.executor.submit(
                        render_tile, job.path, plan.page_index, self.config.dpi,
                        self.config.max_pixels, tile.xyxy)
                    yield _TileTask(doc, plan.page_index, tile_index, future)

    def _planned(self, jobs: Sequence[DocumentJob]) -> Iterator[tuple[DocumentJob, Future]]:
        """Each job with its plan being made by a worker, a few documents ahead."""
        ahead: deque[tuple[DocumentJob, Future]] = deque()
        pending = iter(jobs)
        lookahead = max(1, self.config.resolved_workers())
        for job in pending:
            ahead.append((job, self.executor.submit(plan_document, job.path, self.config)))
            if len(ahead) > lookahead:
                yield ahead.popleft()
        yield from ahead

    def _segment_tile(self, task: _TileTask) -> Iterator[Outcome]:
        doc = task.doc
        if doc.error is None:
            try:
                self._generate(task)
            except Exception as exc:  # this document fails, the batch goes on
                doc.error = fail_reason(exc, self.traceback_log)
        doc.tiles_seen[task.page_index] = doc.tiles_seen.get(task.page_index, 0) + 1
        tiles = doc.plans[task.page_index].tiles
        if doc.tiles_seen[task.page_index] == len(tiles):
            masks = doc.masks.pop(task.page_index, [])
            if doc.error is None:
                self._page_segmented(doc, task.page_index, self._page_detections(
                    doc.plans[task.page_index], masks))
            else:
                self.progress.page_done()
        self._collect_exports(block=len(self._exports) >= self.window)
        yield from self._finish_ready()

    def _generate(self, task: _TileTask) -> None:
        image = task.future.result()
        plan = task.doc.plans[task.page_index]
        tiles = plan.tiles
        if plan.prompts_xy:  # amg.prompts regions: SAM answers this tile's prompt points
            from planseg.infer.prompted import prompted_records

            points, indices = tile_prompts(plan.prompts_xy, tiles, task.tile_index)
            records = prompted_records(self.generator, image, points, indices)
        else:
            records = self.generator.generate(image)
        if len(tiles) > 1 or plan.prompts_xy:
            records = tile_masks(records, tiles[task.tile_index], task.tile_index,
                                 plan.width_px, plan.height_px,
                                 self.config.tiling.edge_margin_px)
        task.doc.masks.setdefault(task.page_index, []).extend(records)

    def _page_detections(self, plan: PagePlan, masks: list) -> list[Detection]:
        """A page's detections from its tiles' generator records / tile masks."""
        if plan.prompts_xy:
            amg = self.config.amg
            return fuse_tile_masks(plan.candidates, masks, keep=amg.keep,
                                   sam_min_iou=amg.sam_min_iou)
        if len(plan.tiles) == 1:
            return detections_from_records(masks)
        return merge_tile_masks(masks, plan.tiles, self.config.tiling.duplicate_iou)

    def _page_segmented(self, doc: _Doc, page_index: int,
                        detections: list[Detection]) -> None:
        """Send a page's detections (full-page pixel frame) to an export worker."""
        self.progress.page_done()
        plan = doc.plans[page_index]
        source = PageSource(doc.job.path, doc.job.name, page_index, self.config.dpi,
                            self.config.max_pixels, plan.engine, plan.page_kind, plan.legend)
        future = self.executor.submit(export_pdf_page, source, detections, self.config.export,
                                      self.out_dir)
        self._exports.append((doc, page_index, future))

    def _collect_exports(self, *, block: bool) -> None:
        """Take finished page exports in order; ``block``: wait for the oldest one."""
        while self._exports and (block or self._exports[0][2].done()):
            doc, page_index, future = self._exports.popleft()
            try:
                doc.exports[page_index] = future.result()
            except Exception as exc:  # this document fails, the batch goes on
                doc.error = doc.error or fail_reason(exc, self.traceback_log)
            block = False

    def _finish_ready(self) -> Iterator[Outcome]:
        """Finish documents in start order once all their pages are exported (or failed)."""
        for name in list(self._open):
            doc = self._open[name]
            if not doc.planned and doc.error is None:
                break
            pending = any(d is doc for d, _, _ in self._exports)
            if doc.error is None and (pending or len(doc.exports) < doc.page_count):
                break
            if doc.error is not None and pending:
                break
            del self._open[name]
            outcome = self._finish(doc)
            self.progress.document_done(outcome)
            yield outcome

    def _finish(self, doc: _Doc) -> Outcome:
        seconds = time.perf_counter() - doc.started
        outcome = Outcome(name=doc.job.name, pages=doc.page_count, seconds=round(seconds, 3))
        if doc.error is not None:  # logged once, by the run, with every other failure
            outcome.error = doc.error
            return outcome
        pages = [doc.exports[i] for i in range(doc.page_count)]
        try:
            files = write_document(pages, self.config.export, self.out_dir)
        except Exception as exc:  # OutputError (disk full) re-raised: it stops the run
            outcome.error = fail_reason(exc, self.traceback_log)
            return outcome
        outcome.polygons = files.polygons
        for plan in doc.plans.values():
            outcome.engines[plan.engine] = outcome.engines.get(plan.engine, 0) + 1
        outputs = sorted(p.relative_to(self.out_dir).as_posix() for p in files.paths)
        self.ledger.write_receipt(doc.job.name, LedgerEntry(
            key=doc.job.key, outputs=outputs, pages=doc.page_count, polygons=files.polygons,
            seconds=outcome.seconds), files.coco)
        log.info("%s: %d pages, %d polygons, %.1f s", doc.job.name, doc.page_count,
                 files.polygons, seconds)
        return outcome


def fail_reason(exc: BaseException, traceback_log: Path | None = None) -> str:
    """One-line reason for a document's failure (OutputError is never one: it aborts).
    An unexpected exception (a bug, not bad input) also gets its traceback appended to
    ``traceback_log``, so a failure seen once in a cron run can be diagnosed without -v."""
    if isinstance(exc, OutputError):
        raise exc
    if isinstance(exc, InputError):
        return exc.reason
    log.debug("document failed", exc_info=exc)
    reason = " ".join(f"{type(exc).__name__}: {exc}".split())
    if traceback_log is not None:
        try:
            with open(traceback_log, "a", encoding="utf-8") as handle:
                handle.write(f"--- {time.strftime('%Y-%m-%dT%H:%M:%S')} {reason}\n")
                handle.writelines(traceback.format_exception(exc))
        except OSError:
            pass  # the one-line reason still reaches run.json and stderr
    return reason
