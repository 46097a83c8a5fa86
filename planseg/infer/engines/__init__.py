"""Engines: how a page becomes detections - the seam where a way of segmenting plugs in.

A segment worker process opens a document and asks the run's :class:`Engine` to plan each
page (:func:`plan_document`). The plan either holds the page's final detections (an engine
that needs no model, e.g. one reading the page's own drawing) or the tiles the device
process must run the mask generator on (SAM's automatic mask generator). The pipeline
(:mod:`planseg.infer.pipeline`) does the rest the same way for every engine: device work
where the plan asks for it, then export in a worker.

Engines: ``sam`` (:mod:`.sam`), ``vector`` (:mod:`.vector`, the page's own drawing),
``regions`` (:mod:`.regions`, colour regions of the pixels) and ``auto`` (:mod:`.auto`, which
picks one of them, or no zones for a text page, per page).
Adding an engine: a module here with a class that has ``name`` and ``plan_page``, and one
entry in :func:`build_engine`. Nothing here imports torch.
"""

from __future__ import annotations

from pathlib import Path

from planseg.infer.config import SegmentConfig
from planseg.infer.engines.auto import AutoEngine
from planseg.infer.engines.base import Engine, PagePlan
from planseg.infer.engines.regions import RegionsEngine
from planseg.infer.engines.sam import SamEngine
from planseg.infer.engines.vector import VectorEngine
from planseg.ingest.documents import cached_document

__all__ = ["Engine", "PagePlan", "build_engine", "plan_document"]


def build_engine(config: SegmentConfig) -> Engine:
    """The engine the run's settings name (``config.engine``)."""
    engines: dict[str, type[Engine]] = {"auto": AutoEngine, "vector": VectorEngine,
                                         "regions": RegionsEngine, "sam": SamEngine}
    return engines[config.engine](config)


def plan_document(path: Path, config: SegmentConfig) -> list[PagePlan]:
    """A worker task: every page of the document at ``path`` planned by the run's engine.
    Raises the document's :class:`~planseg.errors.InputError` when it cannot be read or a
    page is over the pixel budget (before anything is rendered)."""
    engine = build_engine(config)
    doc = cached_document(path)
    return [engine.plan_page(doc, page_index) for page_index in range(doc.page_count)]
