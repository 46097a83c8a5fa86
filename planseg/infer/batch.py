"""A run's bookkeeping, done by the lock holder: plan what to do, then record what happened.

:func:`prepare`: fold receipts a killed run left behind into ``coco.json`` and the ledger ->
load the model (its identity keys the ledger) -> discover documents -> key each by (bytes
SHA-256, model identity, settings hash) and skip those the ledger has done. :func:`finish`:
fold the new receipts, record outcomes, write ``DIR/run.json``. Every file is replaced
atomically; a document that cannot be read is recorded with a one-line reason.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from planseg import __version__
from planseg.config import config_to_dict, write_resolved_config
from planseg.errors import InputError
from planseg.fsio import atomic_write_json, remove_stale_temp_files, sha256_file
from planseg.infer.config import SegmentConfig
from planseg.infer.ledger import DocumentKey, Ledger
from planseg.infer.model import load_segment_model
from planseg.infer.pipeline import DocumentJob, Outcome
from planseg.ingest.documents import discover

if TYPE_CHECKING:
    from planseg.infer.model import NoModel
    from planseg.models.checkpoints import LoadedModel

log = logging.getLogger(__name__)

RUN_NAME = "run.json"
COCO_NAME = "coco.json"
CONFIG_NAME = "config.yaml"


@dataclass
class RunSummary:
    """What one run did; written to ``DIR/run.json``."""

    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)  # {"document", "error"}
    pages: int = 0
    engines: dict[str, int] = field(default_factory=dict)  # pages per engine ("none": text)
    polygons: int = 0
    seconds: float = 0.0
    model: dict = field(default_factory=dict)  # name, arch, identity
    config_hash: str = ""
    version: str = __version__

    def to_json(self) -> dict:
        return {"version": self.version, "model": self.model, "config_hash": self.config_hash,
                "documents": {"done": self.done, "skipped": self.skipped,
                              "failed": self.failed},
                "pages": self.pages, "engines": dict(sorted(self.engines.items())),
                "polygons": self.polygons,
                "seconds": round(self.seconds, 3)}


@dataclass
class Prepared:
    """A run's plan, made by the lock holder: what to do and what is already known.
    ``config``: the run's settings with the model's calibrated AMG defaults filled in."""

    config: SegmentConfig
    ledger: Ledger
    coco_path: Path | None
    summary: RunSummary
    todo: list[DocumentJob]
    loaded: LoadedModel | NoModel


def prepare(config: SegmentConfig) -> Prepared:
    """Fold an interrupted run's receipts, discover and key documents, skip those done.
    The caller holds the output folder's lock."""
    out = Path(config.out)
    if remove_stale_temp_files(out):
        log.info("removed temp files left by an interrupted run")
    ledger = Ledger(out)
    coco_path = out / COCO_NAME if "coco" in config.export.formats else None
    if ledger.absorb(coco_path):
        log.info("recorded documents finished by an interrupted run")
    loaded, config = load_segment_model(config)
    summary = RunSummary(config_hash=config.settings_hash(), model={
        "name": config.model, "arch": loaded.arch, "identity": loaded.sha256})
    jobs = _jobs(config, loaded.sha256, summary)
    todo = [j for j in jobs if config.force or not ledger.is_done(j.name, j.key)]
    summary.skipped = [j.name for j in jobs if j not in todo]
    if summary.skipped:
        log.info("%d documents up to date, skipped", len(summary.skipped))
    _write_config_if_changed(config, out / CONFIG_NAME)
    return Prepared(config, ledger, coco_path, summary, todo, loaded)


def finish(prepared: Prepared, outcomes: list[Outcome], started: float) -> RunSummary:
    """Fold the new receipts, record outcomes, write ``run.json``. The caller holds the lock."""
    summary = prepared.summary
    prepared.ledger.absorb(prepared.coco_path)
    _record(summary, outcomes)
    prepared.ledger.forget([f["document"] for f in summary.failed])
    summary.seconds = time.perf_counter() - started
    atomic_write_json(Path(prepared.config.out) / RUN_NAME, summary.to_json(), indent=2)
    log.info("done: %d documents segmented, %d skipped, %d failed; %d pages, %d polygons in "
             "%.1f s", len(summary.done), len(summary.skipped), len(summary.failed),
             summary.pages, summary.polygons, summary.seconds)
    return summary


def _jobs(config: SegmentConfig, model_identity: str, summary: RunSummary) -> list[DocumentJob]:
    settings = config.settings_hash()
    jobs = []
    for item in discover(list(config.inputs)):
        if isinstance(item, InputError):
            _fail(summary, item.path or "?", item.reason)
            continue
        try:
            digest = sha256_file(item.path)
        except OSError as exc:
            _fail(summary, item.name, f"cannot read the file ({exc.strerror})")
            continue
        jobs.append(DocumentJob(name=item.name, path=item.path,
                                key=DocumentKey(digest, model_identity, settings)))
    return jobs


def _record(summary: RunSummary, outcomes: list[Outcome]) -> None:
    for outcome in sorted(outcomes, key=lambda o: o.name):
        if outcome.error is None:
            summary.done.append(outcome.name)
            summary.pages += outcome.pages
            for engine, pages in outcome.engines.items():
                summary.engines[engine] = summary.engines.get(engine, 0) + pages
            summary.polygons += outcome.polygons
        else:
            _fail(summary, outcome.name, outcome.error)
    summary.failed.sort(key=lambda f: f["document"])


def _fail(summary: RunSummary, document: str, reason: str) -> None:
    log.error("%s: %s", document, reason)  # the one stderr line per failed document
    summary.failed.append({"document": document, "error": reason})


def _write_config_if_changed(config: SegmentConfig, path: Path) -> None:
    text = yaml.safe_dump(config_to_dict(config), sort_keys=False)
    try:
        if path.read_text(encoding="utf-8") == text:
            return  # an up-to-date re-run rewrites nothing
    except OSError:
        pass
    write_resolved_config(config, path)
