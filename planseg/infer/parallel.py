"""Launching: one device process, spawned ranks, or torchrun/SLURM ranks; sharding; gathering.

``--devices N`` starts N processes with Lightning Fabric (``ddp_spawn``: CPU processes in
tests, one per GPU in production); ``--num-nodes M`` expects the processes to be started by
torchrun or SLURM (one per device on every node, Fabric reads the cluster environment).

Work split: every rank computes the same deterministic shard of the job list (largest
files first, each to the least-loaded rank), so no document is given twice - unlike a
``DistributedSampler``, which pads the last batch with duplicates. Each rank writes its
documents' files and receipts; outcomes are gathered to rank 0, and the single lock holder
folds the receipts into ``coco.json`` and the ledger once. Outputs are identical to a
one-process run because each document's outputs depend only on the document: the model's
among them, whatever share of the CPU cores a rank gets
(:func:`~planseg.infer.model.same_results_on_any_thread_count`).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from planseg.errors import PlansegError
from planseg.infer.batch import Prepared, RunSummary, finish, prepare
from planseg.infer.config import SegmentConfig
from planseg.infer.ledger import STATE_DIR, DocumentKey, Ledger
from planseg.infer.lock import OutputLock
from planseg.infer.model import (
    build_mask_generator,
    load_segment_model,
    power_of_two_threads,
    same_results_on_any_thread_count,
    single_device,
    torch_accelerator,
)
from planseg.infer.pipeline import DocumentJob, Outcome, Pipeline, Progress
from planseg.logs import log_options
from planseg.workers import make_executor

if TYPE_CHECKING:
    from planseg.models.checkpoints import LoadedModel

log = logging.getLogger(__name__)
ABSORB_EVERY_S = 30.0  # how often coco.json catches up with finished documents during a run


def launched_externally() -> bool:
    """True inside a rank started by torchrun (or another torch.distributed launcher)."""
    return "LOCAL_RANK" in os.environ and "WORLD_SIZE" in os.environ


def shard(jobs: Sequence[DocumentJob], rank: int, world_size: int) -> list[DocumentJob]:
    """This rank's jobs: greedy balance by file size (ties by name), deterministic on every
    rank; each job goes to exactly one rank; returned in name order."""
    loads = [0] * world_size
    mine = []
    for job in sorted(jobs, key=lambda j: (-_size(j.path), j.name)):
        target = min(range(world_size), key=lambda r: (loads[r], r))
        loads[target] += max(1, _size(job.path))
        if target == rank:
            mine.append(job)
    return sorted(mine, key=lambda j: j.name)


def segment_shard(config: SegmentConfig, sam: Any, jobs: Sequence[DocumentJob], device: str,
                  progress: Progress | None = None) -> Iterator[Outcome]:
    """Segment ``jobs`` in this process on ``device``; yields outcomes as documents finish.
    ``sam`` None: a model-free engine, whose plans never ask for masks (torch not needed)."""
    executor = make_executor(config.resolved_workers())
    try:
        if sam is None:
            yield from Pipeline(config, None, Ledger(Path(config.out)), executor,
                                progress).run(jobs)
            return
        import torch

        generator = build_mask_generator(sam.to(device).eval(), config.amg)
        with same_results_on_any_thread_count(device, config.threads), torch.inference_mode():
            yield from Pipeline(config, generator, Ledger(Path(config.out)), executor,
                                progress).run(jobs)
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


def segment_shard_absorbing(prepared: Prepared,
                            progress: Progress | None = None) -> list[Outcome]:
    """A one-process run: segment every job here, folding receipts into ``coco.json`` every
    :data:`ABSORB_EVERY_S` so a long run's results show up while it goes."""
    config = prepared.config
    outcomes = []
    last_absorb = time.monotonic()
    sam = prepared.loaded.sam
    device = "cpu" if sam is None else single_device(config.accelerator)
    for outcome in segment_shard(config, sam, prepared.todo, device, progress):
        outcomes.append(outcome)
        if time.monotonic() - last_absorb > ABSORB_EVERY_S:
            prepared.ledger.absorb(prepared.coco_path)
            last_absorb = time.monotonic()
    return outcomes


def segment_spawned(config: SegmentConfig, jobs: Sequence[DocumentJob]) -> list[Outcome]:
    """Run ``jobs`` on ``config.devices`` processes started here (``ddp_spawn``); returns
    every rank's outcomes."""
    from lightning.fabric import Fabric

    fabric = Fabric(accelerator=torch_accelerator(config.accelerator), devices=config.devices,
                    num_nodes=config.num_nodes, strategy="ddp_spawn")
    results = fabric.launch(_rank_main, config, _plain(jobs), log_options())
    return [Outcome(**r) for r in results]


def run_external(config: SegmentConfig) -> RunSummary:
    """One rank of a torchrun/SLURM launch: rank 0 takes the lock, plans and finishes the
    run; every rank segments its shard. Ranks other than 0 return an empty summary."""
    import torch.distributed as dist
    from lightning.fabric import Fabric

    started = time.perf_counter()
    fabric = Fabric(accelerator=torch_accelerator(config.accelerator), devices=config.devices,
                    num_nodes=config.num_nodes, strategy="ddp")
    fabric.launch()
    lock = OutputLock(Path(config.out) / STATE_DIR)
    plan: list = [None, None]  # [plain jobs, error message]
    prepared = None
    if fabric.global_rank == 0:
        try:
            lock.acquire()
            prepared = prepare(config)
            plan[0] = _plain(prepared.todo)
        except PlansegError as exc:
            plan[1] = str(exc)
            error = exc
    dist.broadcast_object_list(plan, src=0)
    if plan[1] is not None:
        if fabric.global_rank == 0:
            lock.release()
            raise error
        raise PlansegError(f"rank 0 stopped the run: {plan[1]}")
    try:
        if prepared is None:
            results = _rank_main(fabric, config, plan[0])
        else:  # rank 0 loaded the model to plan: reuse it and its resolved settings
            results = _rank_main(fabric, prepared.config, plan[0], loaded=prepared.loaded)
        if prepared is None:
            return RunSummary()
        return finish(prepared, [Outcome(**r) for r in results], started)
    finally:
        lock.release()


def _rank_main(fabric: Any, config: SegmentConfig, plain_jobs: list[tuple[str, str, dict]],
               log_options: dict | None = None, loaded: LoadedModel | None = None) -> list[dict]:
    import torch.distributed as dist

    if log_options is not None:  # a spawned process starts without the CLI's log set-up
        from planseg.logs import setup_logging

        setup_logging(**log_options)
    if not config.threads and fabric.device.type == "cpu":
        # CPU processes share the cores: split them instead of oversubscribing, in a power of
        # two like a one-process run's threads, so that both compute the same bits
        share = (os.cpu_count() or 1) // fabric.world_size
        config = replace(config, threads=power_of_two_threads(share))
    jobs = [DocumentJob(name, Path(path), DocumentKey(**key)) for name, path, key in plain_jobs]
    mine = shard(jobs, fabric.global_rank, fabric.world_size)
    log.info("rank %d/%d: %d documents", fabric.global_rank, fabric.world_size, len(mine))
    if loaded is None:
        loaded, config = load_segment_model(config, announce=False)
    outcomes = [asdict(o) for o in segment_shard(config, loaded.sam, mine, str(fabric.device))]
    gathered: list[list[dict] | None] = [None] * fabric.world_size
    dist.all_gather_object(gathered, outcomes)
    # Leave together and tear gloo down before the process exits: exiting while a peer's
    # gloo threads are still live aborted a spawned rank now and then ("terminate called
    # without an active exception").
    dist.barrier()
    dist.destroy_process_group()
    return [o for part in gathered for o in (part or [])]


def _plain(jobs: Sequence[DocumentJob]) -> list[tuple[str, str, dict]]:
    """Jobs as plain tuples: Fabric's launcher refuses frozen dataclasses in arguments."""
    return [(j.name, str(j.path), asdict(j.key)) for j in jobs]


def _size(path: Path) -> int:
    try:
        return Path(path).stat().st_size
    except OSError:
        return 0
