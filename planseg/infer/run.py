"""``planseg segment`` as a library call: ``run(config) -> RunSummary``.

Order of work: take ``DIR/.planseg/lock`` (exit 75 if a live run holds it) -> fold receipts
a killed run left behind into ``coco.json`` and the ledger -> discover documents -> key each
by (bytes SHA-256, model identity, settings hash) and skip those the ledger has done ->
segment the rest (one process, or ``--devices``/``--num-nodes`` processes) -> fold the new
receipts -> write ``DIR/run.json``. Every file is replaced atomically; a document that cannot
be read is recorded with a one-line reason and the batch goes on.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from planseg import __version__
from planseg.config import config_to_dict, write_resolved_config
from planseg.errors import ConfigError, InputError
from planseg.fsio import atomic_write_json, remove_stale_temp_files, sha256_file
from planseg.infer.amg import SAM_PARAMETERS
from planseg.infer.config import DEFAULT_MODEL, SegmentConfig
from planseg.infer.ledger import STATE_DIR, DocumentKey, Ledger
from planseg.infer.lock import OutputLock
from planseg.infer.pipeline import DocumentJob, Outcome, Progress

log = logging.getLogger(__name__)

RUN_NAME = "run.json"
COCO_NAME = "coco.json"
CONFIG_NAME = "config.yaml"
ABSORB_EVERY_S = 30.0  # how often coco.json catches up with finished documents during a run


@dataclass
class RunSummary:
    """What one run did; written to ``DIR/run.json``."""

    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)  # {"document", "error"}
    pages: int = 0
    polygons: int = 0
    seconds: float = 0.0
    model: dict = field(default_factory=dict)  # name, arch, identity
    config_hash: str = ""
    version: str = __version__

    def to_json(self) -> dict:
        return {"version": self.version, "model": self.model, "config_hash": self.config_hash,
                "documents": {"done": self.done, "skipped": self.skipped,
                              "failed": self.failed},
                "pages": self.pages, "polygons": self.polygons,
                "seconds": round(self.seconds, 3)}


def run(config: SegmentConfig, progress: Progress | None = None) -> RunSummary:
    """Segment every document under ``config.inputs`` into ``config.out``."""
    if config.devices * config.num_nodes > 1 and launched_externally():
        from planseg.infer.parallel import run_external

        return run_external(config)  # every torchrun/SLURM rank calls run()
    started = time.perf_counter()
    with OutputLock(Path(config.out) / STATE_DIR):
        prepared = prepare(config)
        outcomes = (_segment(config, prepared, progress) if prepared.todo else [])
        return finish(prepared, outcomes, started)


@dataclass
class Prepared:
    """A run's plan, made by the lock holder: what to do and what is already known."""

    config: SegmentConfig
    ledger: Ledger
    coco_path: Path | None
    summary: RunSummary
    todo: list[DocumentJob]
    sam: object = None  # the loaded model, reused by a single-process run


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
    loaded = load_segment_model(config)
    summary = RunSummary(config_hash=config.settings_hash(), model={
        "name": config.model, "arch": loaded.arch, "identity": loaded.sha256})
    jobs = _jobs(config, loaded.sha256, summary)
    todo = [j for j in jobs if config.force or not ledger.is_done(j.name, j.key)]
    summary.skipped = [j.name for j in jobs if j not in todo]
    if summary.skipped:
        log.info("%d documents up to date, skipped", len(summary.skipped))
    _write_config_if_changed(config, out / CONFIG_NAME)
    return Prepared(config, ledger, coco_path, summary, todo, loaded.sam)


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


def launched_externally() -> bool:
    """True inside a rank started by torchrun (or another torch.distributed launcher)."""
    return "LOCAL_RANK" in os.environ and "WORLD_SIZE" in os.environ


def load_segment_model(config: SegmentConfig, *, announce: bool = True):
    """Load ``config.model`` and fill the AMG settings the user left unset (None) from the
    checkpoint's calibrated ``amg_defaults``, if it has them: SAM's default thresholds
    (0.88 / 0.95) suit SAM's own IoU head, not every fine-tuned model's. ``announce``: log
    what was chosen (once per run: device processes load quietly)."""
    from planseg.models.checkpoints import load_model

    if announce and config.model == DEFAULT_MODEL:
        log.info("the default model suits clean planning-map styles; for real work use a SAM "
                 "checkpoint fine-tuned with `planseg train` (--model PATH)")
    loaded = load_model(config.model)
    applied = {key: value for key, value in loaded.meta.get("amg_defaults", {}).items()
               if key in SAM_PARAMETERS and getattr(config.amg, key) is None}
    for key, value in applied.items():
        setattr(config.amg, key, value)
    if announce and applied:
        log.info("AMG settings calibrated for this model: %s (set amg.* to override)",
                 ", ".join(f"{k}={v}" for k, v in applied.items()))
    return loaded


def _jobs(config: SegmentConfig, model_identity: str, summary: RunSummary) -> list[DocumentJob]:
    from planseg.ingest import discover

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


def _segment(config: SegmentConfig, prepared: Prepared,
             progress: Progress | None) -> list[Outcome]:
    if config.devices > 1 or config.num_nodes > 1:
        from planseg.infer.parallel import segment_distributed

        return segment_distributed(config, prepared.todo)
    from planseg.infer.parallel import segment_shard

    outcomes = []
    last_absorb = time.monotonic()
    for outcome in segment_shard(config, prepared.sam, prepared.todo, _device(config),
                                 progress):
        outcomes.append(outcome)
        if time.monotonic() - last_absorb > ABSORB_EVERY_S:
            prepared.ledger.absorb(prepared.coco_path)
            last_absorb = time.monotonic()
    return outcomes


def _device(config: SegmentConfig) -> str:
    import torch

    if config.accelerator == "gpu" and not torch.cuda.is_available():
        raise ConfigError("accelerator: gpu asked for but no CUDA device is available")
    return "cuda" if config.accelerator != "cpu" and torch.cuda.is_available() else "cpu"


def _record(summary: RunSummary, outcomes: list[Outcome]) -> None:
    for outcome in sorted(outcomes, key=lambda o: o.name):
        if outcome.error is None:
            summary.done.append(outcome.name)
            summary.pages += outcome.pages
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
