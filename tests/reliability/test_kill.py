"""``kill -9`` of a real ``planseg segment`` process at ten different delays, each followed by
a re-run: the final outputs equal one uninterrupted run's, and a reader polling the output
folder throughout never sees a partial or corrupt file (every write is an atomic rename).

(``kill`` of ``planseg train`` mid-epoch then ``--resume`` is proven by
tests/test_train_loop.py::test_sigkill_mid_epoch_then_resume_matches_uninterrupted.)"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
import yaml
from segment_fixtures import output_files, read_json, write_plan_pdf

from reliability.corpus import segment, segment_command

pytestmark = pytest.mark.reliability

#: kill moments as fractions of one uninterrupted run's wall time (so they interrupt it on
#: fast and slow machines alike): from interpreter start-up to the last document's outputs
KILL_FRACTIONS = (0.05, 0.3, 0.45, 0.55, 0.62, 0.7, 0.77, 0.84, 0.9, 0.96)
DOCUMENTS = ["doc-0.pdf", "doc-1.pdf", "doc-2.pdf"]


@pytest.fixture(scope="module")
def reference(tmp_path_factory, fast_config) -> tuple[Path, dict[str, bytes], float]:
    """(inputs, outputs, wall seconds) of one uninterrupted ``planseg segment`` process."""
    root = tmp_path_factory.mktemp("kill-reference")
    for index, name in enumerate(DOCUMENTS):
        write_plan_pdf(root / "in" / name, pages=1 + index % 2, seed=index)
    started = time.monotonic()
    result = subprocess.run(segment_command(root / "in", root / "out", fast_config),
                            capture_output=True, text=True, timeout=240)
    wall_s = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    return root / "in", output_files(root / "out"), wall_s


class Reader(threading.Thread):
    """Polls every visible file under ``out`` and parses it; records what did not parse."""

    def __init__(self, out: Path) -> None:
        super().__init__(daemon=True)
        self.out, self.stop, self.bad, self.reads = out, threading.Event(), [], 0

    def run(self) -> None:
        while not self.stop.is_set():
            for path in list(self.out.rglob("*")):
                if path.name.startswith(".") or not path.suffix:
                    continue  # temp files being written; the lock and folders
                try:
                    data = path.read_bytes()
                except (FileNotFoundError, IsADirectoryError):
                    continue  # replaced or removed between listing and reading
                self.reads += 1
                try:
                    if path.suffix in (".json", ".geojson"):
                        json.loads(data)
                    elif path.suffix == ".yaml":
                        yaml.safe_load(data)
                except ValueError as exc:
                    self.bad.append(f"{path}: {exc}")
            time.sleep(0.02)


@pytest.mark.slow
def test_kill_9_at_ten_delays_then_rerun_equals_uninterrupted(reference, fast_config,
                                                                tmp_path) -> None:
    inputs, expected, wall_s = reference
    interrupted = 0
    for trial, fraction in enumerate(KILL_FRACTIONS):
        delay_s = fraction * wall_s
        out = tmp_path / f"out-{trial}"
        out.mkdir()
        reader = Reader(out)
        reader.start()
        process = subprocess.Popen(segment_command(inputs, out, fast_config),
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay_s)
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            interrupted += 1
        process.wait()
        reader.stop.set()
        reader.join()
        result = segment(inputs, out, fast_config)  # the re-run
        assert result.exit_code == 0, (delay_s, result.output)
        assert not reader.bad, (delay_s, reader.bad)
        assert output_files(out) == expected, delay_s
        documents = read_json(out / "run.json")["documents"]
        assert sorted(documents["done"] + documents["skipped"]) == DOCUMENTS
        assert not [p for p in out.rglob(".*.tmp")], delay_s  # no temp file left behind
    assert interrupted >= 8  # the delays really interrupt runs (machine speed permitting)
