"""The README's hand-measured figures of ``label`` and ``train``, re-measured by one script.

1. ``planseg label`` seconds per labelled page: ``planseg synth`` A3/A2 plans at 100 DPI, without
   and with ``--scan-copies 2``, and the vector maps of ``../shared/realdata/planning`` when
   present (one worker, fresh processes; label.json counts the pages).
2. ``planseg train`` seconds per step (``metrics.csv``: an epoch's ``seconds`` / its steps) of
   the ``small`` architecture, 2 pages a step, on the synth labels of 1., one epoch, and the
   seconds of its validation (AMG on the held-out pages, then ``best.pt``'s threshold
   calibration: the run's wall time minus training).

Run: ``.venv/bin/python benchmarks/bench_label_train.py [--docs 4] [--no-train]``
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REALDATA = REPO.parent / "shared" / "realdata" / "planning"


def planseg(*args: str) -> float:
    """Run ``python -m planseg ARGS`` in a fresh process; its wall seconds."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "planseg", "-q", *args], check=True, cwd=REPO)
    return time.perf_counter() - started


def label_row(name: str, inputs: Path, out: Path, *extra: str) -> None:
    wall = planseg("label", str(inputs), "--out", str(out), "--dpi", "100", "--workers", "1",
                   *extra)
    labelled = json.loads((out / "label.json").read_text())["counts"]["labelled"]
    print(f"label {name:<28} {labelled:3d} pages  {wall:7.1f} s  "
          f"{wall / max(labelled, 1):6.2f} s/page (interpreter start included)")


def train_row(data: Path, work: Path) -> None:
    config = work / "train.yaml"
    config.write_text("num_epochs: 1\nbatch_size: 2\n")
    out = work / "run"
    wall = planseg("train", "--data", str(data), "--out", str(out), "--model", "small",
                   "--config", str(config))
    with open(out / "metrics.csv", newline="") as handle:
        row = list(csv.DictReader(handle))[-1]
    steps = math.ceil(float(row["samples"]) / 2)
    seconds = float(row["seconds"])
    print(f"train small: {steps} steps of 2 pages in {seconds:.1f} s = "
          f"{seconds / steps:.2f} s/step; validation {float(row['val_seconds'] or 0):.1f} s; "
          f"whole command {wall:.1f} s (start, validation, calibration of best.pt included)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=4)
    parser.add_argument("--no-train", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        planseg("synth", str(work / "synth"), "--docs", str(args.docs), "--seed", "7")
        label_row("synth (A3/A2)", work / "synth" / "pdfs", work / "labels")
        label_row("synth, --scan-copies 2", work / "synth" / "pdfs", work / "labels-scan",
                  "--scan-copies", "2")
        if REALDATA.is_dir():
            label_row("real vector maps", REALDATA, work / "labels-real")
        if not args.no_train:
            train_row(work / "labels", work)


if __name__ == "__main__":
    main()
