"""glibc malloc settings for planseg's allocation pattern.

Why: SAM inference and training allocate and free tensors of a few to tens of MiB many times
per tile. With glibc's defaults the freed memory at the top of the heap is returned to the
kernel (trim threshold) and medium blocks come from fresh ``mmap`` calls, so every tile pays
page faults to zero the same memory again: on the 2-core box, ``planseg segment`` with the
default model spent 11.4 s of 35.9 s in the kernel for 8 A4 pages. A fixed mmap threshold
of 32 MiB (glibc's largest dynamic one) with a 256 MiB trim threshold keeps that memory
mapped: 3.7 s in the kernel, 1.30x faster end to end, peak RSS +2.8 %
(``benchmarks/bench_segment.py --only malloc``, numbers in ``benchmarks/RESULTS.md``).

The settings go into the environment too, so the processes planseg starts (spawned Fabric
ranks, render/export workers) apply them from their first allocation. A user's own malloc
configuration wins: when ``MALLOC_MMAP_THRESHOLD_``, ``MALLOC_TRIM_THRESHOLD_`` or
``GLIBC_TUNABLES`` is already set, nothing is changed. Other C libraries: nothing is done.
"""

from __future__ import annotations

import ctypes
import os
import sys

#: environment variable -> (mallopt parameter number, value)
SETTINGS = {
    "MALLOC_MMAP_THRESHOLD_": (-3, 32 * 2**20),  # M_MMAP_THRESHOLD
    "MALLOC_TRIM_THRESHOLD_": (-1, 256 * 2**20),  # M_TRIM_THRESHOLD
}
_USER_CONFIG = (*SETTINGS, "GLIBC_TUNABLES")


def tune_malloc() -> bool:
    """Apply :data:`SETTINGS` to this process (``mallopt``) and its future children (the
    environment). Returns whether they were applied."""
    if sys.platform != "linux" or any(name in os.environ for name in _USER_CONFIG):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # glibc; musl has no mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    if not all(mallopt(param, value) == 1 for param, value in SETTINGS.values()):
        return False
    for name, (_, value) in SETTINGS.items():
        os.environ[name] = str(value)
    return True
