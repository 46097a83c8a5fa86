"""``planseg segment`` as a library call: ``run(config) -> RunSummary``, the whole recipe.

1. take ``DIR/.planseg/lock`` (exit 75 if a live run holds it);
2. plan: fold an interrupted run's receipts, key documents, skip those done
   (:func:`planseg.infer.batch.prepare`);
3. launch: one process (:func:`~planseg.infer.parallel.segment_shard`), ``--devices`` spawned
   ranks (:func:`~planseg.infer.parallel.segment_spawned`), or - under torchrun / SLURM - every
   rank calls :func:`~planseg.infer.parallel.run_external`, which does 1-4 across ranks;
4. finish: fold the new receipts, write ``run.json`` (:func:`planseg.infer.batch.finish`).

A page's path through a device process is in :mod:`planseg.infer.pipeline`.
"""

from __future__ import annotations

import time
from pathlib import Path

from planseg.infer.batch import RunSummary, finish, prepare
from planseg.infer.config import SegmentConfig
from planseg.infer.ledger import STATE_DIR
from planseg.infer.lock import OutputLock
from planseg.infer.parallel import (
    launched_externally,
    run_external,
    segment_shard_absorbing,
    segment_spawned,
)
from planseg.infer.pipeline import Progress


def run(config: SegmentConfig, progress: Progress | None = None) -> RunSummary:
    """Segment every document under ``config.inputs`` into ``config.out``."""
    if config.devices * config.num_nodes > 1 and launched_externally():
        return run_external(config)  # every torchrun/SLURM rank calls run()
    started = time.perf_counter()
    with OutputLock(Path(config.out) / STATE_DIR):
        prepared = prepare(config)
        if not prepared.todo:
            outcomes = []
        elif config.devices > 1 or config.num_nodes > 1:
            outcomes = segment_spawned(prepared.config, prepared.todo)
        else:
            outcomes = segment_shard_absorbing(prepared, progress)
        return finish(prepared, outcomes, started)
