"""The engines side by side on the same pages: ``planseg segment --engine vector|auto|sam``.

Each run is the real command in a fresh process on the Quick start's documents (``planseg
synth --docs 2 --seed 7 --sheet A4``, segmented at 100 DPI: 2 map pages, 4 text pages), with
the packaged default model, and is scored against the generator's ground truth. Printed per
engine: wall seconds of the command, the run's own seconds (``run.json``: planning, model and
export, no interpreter start), seconds per page, AP50 / AP, polygons per GT zone and polygons
on text pages; then the ratio SAM / vector per page, measured in this run. With ``--real``, the
vector engine on the real maps in ``../shared/realdata/planning`` (wall seconds per map).

Run: ``.venv/bin/python benchmarks/bench_engines.py [--engines vector,auto,sam] [--real]``
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REALDATA = REPO.parent / "shared" / "realdata" / "planning"
REAL_MAPS = ("us_vt_newport_zoning", "us_vt_brattleboro_zoning", "us_vt_weston_zoning",
             "us_vt_strafford_zoning", "de_plochingen_bplan")


def planseg(*args: str) -> float:
    """Run ``python -m planseg ARGS`` in a fresh process; its wall seconds."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "planseg", "-q", *args], check=True, cwd=REPO)
    return time.perf_counter() - started


def engine_row(engine: str, docs: Path, work: Path) -> dict:
    """Segment ``docs`` with ``engine``; its timings and scores against the synth GT."""
    from planseg.export.metrics import coco_metrics

    out = work / engine
    wall = planseg("segment", str(docs / "pdfs"), "--out", str(out), "--dpi", "100",
                   "--engine", engine)
    run = json.loads((out / "run.json").read_text())
    gt = json.loads((docs / "data" / "annotations.json").read_text())
    metrics = coco_metrics(gt, json.loads((out / "coco.json").read_text()))
    return {"engine": engine, "wall_s": wall, "run_s": run["seconds"], "pages": run["pages"],
            "engines": run["engines"], "ap50": metrics["ap50"], "ap": metrics["ap"],
            "per_zone": metrics["polygons_per_gt_zone"],
            "on_text_pages": metrics["predictions_on_empty_pages"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default="vector,auto,sam")
    parser.add_argument("--real", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        docs = work / "examples"
        planseg("synth", str(docs), "--docs", "2", "--seed", "7", "--sheet", "A4")
        rows = [engine_row(e, docs, work) for e in args.engines.split(",")]
        print(f"{'engine':<7} {'wall s':>7} {'run s':>7} {'s/page':>7} {'AP50':>6} {'AP':>6} "
              f"{'per zone':>8} {'on text':>7}  pages by engine")
        for r in rows:
            print(f"{r['engine']:<7} {r['wall_s']:7.1f} {r['run_s']:7.1f} "
                  f"{r['run_s'] / r['pages']:7.2f} {r['ap50']:6.3f} {r['ap']:6.3f} "
                  f"{r['per_zone']:8.2f} {r['on_text_pages']:7d}  {r['engines']}")
        by_engine = {r["engine"]: r for r in rows}
        if "sam" in by_engine and "vector" in by_engine:
            sam, vector = by_engine["sam"], by_engine["vector"]
            print(f"SAM / vector per page, run seconds: {sam['run_s'] / vector['run_s']:.0f}x; "
                  f"wall (interpreter start included): {sam['wall_s'] / vector['wall_s']:.0f}x")
        if args.real and REALDATA.is_dir():
            for name in REAL_MAPS:
                wall = planseg("segment", str(REALDATA / f"{name}.pdf"), "--out",
                               str(work / "real" / name), "--engine", "vector")
                run = json.loads((work / "real" / name / "run.json").read_text())
                print(f"{name:<26} vector: {wall:5.1f} s wall, {run['seconds']:5.1f} s run, "
                      f"{run['polygons']} polygons")


if __name__ == "__main__":
    main()
