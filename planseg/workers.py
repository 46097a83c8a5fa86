"""Worker processes, one abstraction for every pipeline (``rasterize`` and ``segment``).

A :class:`concurrent.futures.Executor`: a process pool, or :class:`InlineExecutor` that runs
each task in the calling process when it is submitted (``workers=0``: tests, debugging).
Pool workers log as the process that made the pool does, and end with it
(:func:`start_worker`).
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from multiprocessing.connection import wait
from typing import Any, Literal

from planseg.logs import log_options, setup_logging

StartMethod = Literal["fork", "forkserver", "spawn"]


class InlineExecutor(Executor):
    """Runs each task at submit time in this process (``workers=0``)."""

    def submit(self, fn: Callable, /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # delivered through the future like a pool would
            future.set_exception(exc)
        return future


def make_executor(workers: int, start_method: StartMethod = "forkserver") -> Executor:
    """A pool of ``workers`` processes started with ``start_method``, or an
    :class:`InlineExecutor` for ``workers=0``. ``forkserver`` (the default) never forks the
    calling process: a fork of a process whose torch/OpenMP thread pools have run can hang."""
    if workers == 0:
        return InlineExecutor()
    return ProcessPoolExecutor(max_workers=workers,
                               mp_context=multiprocessing.get_context(start_method),
                               initializer=start_worker, initargs=(log_options(),))


def start_worker(options: dict | None) -> None:
    """Pool worker initializer: the owner's log settings (``options`` from
    :func:`planseg.logs.log_options`; a forkserver or spawn worker starts without them, and
    what export logs once per page - legend notes, the base map left out - was lost, or
    written as plain text in a JSON-lines run), then :func:`exit_with_owner`."""
    if options is not None:
        setup_logging(**options)
    exit_with_owner()


def exit_with_owner() -> None:
    """Pool worker initializer: a daemon thread that ends this worker as soon as the pool's
    owner (the ``planseg`` process) has exited. A killed run (``kill -9``, a cron timeout)
    otherwise leaves its workers to finish their tasks as orphans - a SAM page can take a
    minute - burning CPU and writing previews beside the re-run that has taken the folder
    over. It waits on multiprocessing's sentinel of the owner (for fork, forkserver and
    spawn workers alike), which the kernel closes when the owner exits, even while it is a
    zombie nobody has reaped: no polling, no pid that could be reused, no signal sent."""
    owner = multiprocessing.parent_process()
    if owner is None:  # not started by multiprocessing: nothing to watch
        return

    def watch() -> None:
        wait([owner.sentinel])
        os._exit(1)  # no cleanup: the owner, who would use any result, is gone

    threading.Thread(target=watch, name="planseg-owner-watch", daemon=True).start()


def map_unordered(fn: Callable[[Any], Any], tasks: list[Any], workers: int | None,
                  cleanup: Callable[[], None] | None = None) -> Iterator[Any]:
    """``fn`` over ``tasks``, results as they finish, from ``workers`` processes (unset: the
    CPU count; one task per process at most). One worker runs the tasks here, lazily, one
    at a time (then ``cleanup``), so the caller records each before the next starts. Pools
    fork (fastest: PyMuPDF is already imported) unless torch is loaded, whose thread pools
    do not survive a fork (then spawn)."""
    workers = min(workers or os.cpu_count() or 1, max(len(tasks), 1))
    if workers == 1:
        try:
            yield from map(fn, tasks)
        finally:
            if cleanup is not None:
                cleanup()
        return
    method: StartMethod = ("spawn" if "torch" in sys.modules or sys.platform != "linux"
                           else "fork")
    with make_executor(workers, method) as pool:
        yield from _results(as_completed([pool.submit(fn, task) for task in tasks]))


def _results(futures: Iterable[Future]) -> Iterator[Any]:
    for future in futures:
        yield future.result()
