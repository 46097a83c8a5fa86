"""Pool workers end with the process that made the pool, even when it is killed with
``kill -9`` and left unreaped (a zombie): a real pool (fork, forkserver, spawn) in a child
process that is then killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

OWNER = """
import sys, time
from pathlib import Path
from planseg.workers import make_executor

def task(path):
    import os, time
    Path(path).write_text(str(os.getpid()))
    time.sleep(120)  # a long page

if __name__ == "__main__":
    pool = make_executor(1, sys.argv[2])
    pool.submit(task, sys.argv[1])
    time.sleep(120)
"""


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, exited but not reaped, does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(sys.platform != "linux", reason="fork, forkserver and /proc: Linux")
@pytest.mark.parametrize("method", ["fork", "forkserver", "spawn"])
def test_a_killed_owner_takes_its_workers_with_it(tmp_path: Path, method: str) -> None:
    script, pid_file = tmp_path / "owner.py", tmp_path / "worker.pid"
    script.write_text(OWNER)
    owner = subprocess.Popen([sys.executable, str(script), str(pid_file), method])
    try:
        deadline = time.monotonic() + 60
        while not pid_file.exists() or not pid_file.read_text():
            assert time.monotonic() < deadline, "the worker never started its task"
            time.sleep(0.05)
        worker = int(pid_file.read_text())
        assert _alive(worker)
        os.kill(owner.pid, signal.SIGKILL)  # and not reaped yet: a zombie
        deadline = time.monotonic() + 10
        while _alive(worker):
            assert time.monotonic() < deadline, "the worker outlived its owner by 10 s"
            time.sleep(0.1)
    finally:
        owner.kill()
        owner.wait()
