"""Worker processes, one abstraction for every pipeline (``rasterize`` and ``segment``).

A :class:`concurrent.futures.Executor`: a process pool, or :class:`InlineExecutor` that runs
each task in the calling process when it is submitted (``workers=0``: tests, debugging).
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from typing import Any, Literal

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
                               mp_context=multiprocessing.get_context(start_method))
