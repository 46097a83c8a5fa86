"""Two ``planseg segment`` runs on one output folder: the second exits 75 and touches
nothing; the lock a ``kill -9``-ed run leaves behind is stale and taken over."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest
from segment_fixtures import output_files

from planseg.errors import ExitCode
from reliability.corpus import segment, segment_command

pytestmark = pytest.mark.reliability


@pytest.mark.slow
def test_second_run_exits_75_and_a_killed_runs_lock_is_taken_over(baseline, fast_config,
                                                                    tmp_path) -> None:
    inputs, expected = baseline
    out = tmp_path / "out"
    first = subprocess.Popen(segment_command(inputs, out, fast_config),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        lock = out / ".planseg" / "lock"
        deadline = time.monotonic() + 120
        while not lock.exists() and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert lock.exists(), "the first run never took the lock"
        before = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
        second = segment(inputs, out, fast_config)
        assert second.exit_code == ExitCode.locked, second.output
        assert f"PID {first.pid}" in second.output
    finally:
        os.kill(first.pid, signal.SIGKILL)  # leave a stale lock behind
        first.wait()
    assert lock.exists()
    for path, mtime in before.items():  # the refused run wrote nothing
        assert not path.exists() or path.stat().st_mtime_ns >= mtime
    third = segment(inputs, out, fast_config)
    assert third.exit_code == 0, third.output
    assert "stale lock" in third.output
    assert output_files(out) == expected
    assert not lock.exists()
