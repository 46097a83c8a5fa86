"""Legend reading and class assignment: what they add to a vector page's time (issue 17's
target: under 10 %).

A vector page's time is what ``planseg segment --engine vector`` spends on it: the engine's
:func:`~planseg.ingest.vector.read_vector_page` plus the export worker's
:func:`~planseg.export.document.export_pdf_page` (words, georeferencing, polygons, classes).
Three ways are timed on the same page, in the same process, alternating, after a warm-up
round (imports and first calls paid once, as in a long-lived worker):

- ``base``: no legend at all - the reader without its legend (``legend=False``) and an export
  handed an empty legend (every polygon unclassified, no colour matching);
- ``shared``: the reader reads the legend in its own pass over the drawing
  (``VectorPage.legend``) and export assigns the classes from it;
- ``alone``: the reader without its legend and export reading the legend itself
  (:func:`~planseg.ingest.legend.read_legend`: a second pass over the page's content).

``share`` = (way - base) / base, best of ``--repeats`` rounds (the machine is shared: the
least disturbed round), wall and CPU (process) time; the median wall share too.
Each page runs in a fresh process. Pages: the vector maps in ../shared/realdata/planning and
the map pages of ``planseg synth`` documents (seed 7, ``--synth-docs``).

Second table, the page's time as a user of ``planseg segment`` meets it: the whole command
(:func:`planseg.infer.run.run`, ``--engine vector --force``, in-process workers so one
process's CPU time counts everything) on a folder of documents, with ``export.classes`` true
(the default) against false (no legend read, no classes), alternating, after a warm-up run;
per page = run time / pages of the folder. Folders: each real map alone, and the synth
documents (map and text pages) together. Classes on also leaves out the base map
(``export.drop_base_map``, which needs the legend: Plochingen writes 26 polygons instead of
217), so the table also times classes on with the base map kept - the same polygons as
classes off: the legend's own cost.

Run: ``.venv/bin/python benchmarks/bench_legend.py [--repeats 7] [--synth-docs 4]
[--tables pages,runs]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PLANNING = REPO.parent / "shared" / "realdata" / "planning"
VECTOR_MAPS = ("us_vt_newport_zoning.pdf", "us_vt_brattleboro_zoning.pdf",
               "us_vt_weston_zoning.pdf", "us_vt_strafford_zoning.pdf", "de_plochingen_bplan.pdf")
DPI = 150.0  # segment's default
TARGET = 0.10


def measure(path: Path, page_index: int, repeats: int) -> dict:
    """Time the three ways on one page in this process; medians in seconds."""
    from planseg.export.config import ExportConfig
    from planseg.export.document import PageSource, export_pdf_page
    from planseg.infer.engines.vector import vector_plan
    from planseg.ingest.documents import cached_document
    from planseg.ingest.legend import read_legend
    from planseg.ingest.legend_types import PageLegend
    from planseg.ingest.vector import read_vector_page

    # the base map kept: the same polygons in every way (leaving it out needs the legend)
    config = ExportConfig(previews=False, drop_base_map=False)
    doc = cached_document(path)

    def one_page(way: str) -> tuple[PageLegend | None, int]:
        page = read_vector_page(doc, page_index, legend=way == "shared")
        detections = vector_plan(doc, page_index, page, DPI).detections
        legend = {"base": PageLegend(), "shared": page.legend, "alone": None}[way]
        source = PageSource(path, path.name, page_index, DPI, 10**9, "vector", page.page_kind,
                            legend)
        with tempfile.TemporaryDirectory() as out:
            features = export_pdf_page(source, detections, config, Path(out)).features
        return page.legend, sum(f.properties["class_code"] is not None
                                or f.properties["class_label"] is not None for f in features)

    ways = ("base", "shared", "alone")
    classified = {way: one_page(way)[1] for way in ways}  # warm-up round
    wall, cpu = timed_rounds(ways, repeats, one_page)
    shared = read_vector_page(doc, page_index, legend=True)
    return {"wall": {w: min(t) for w, t in wall.items()},
            "cpu": {w: min(t) for w, t in cpu.items()},
            "wall_median": {w: statistics.median(t) for w, t in wall.items()},
            "entries": len(shared.legend.entries) if shared.legend else None,
            "same_legend": shared.legend == read_legend(doc, page_index),
            "classified": classified, "zones": len(shared.zones)}


def timed_rounds(ways: tuple, repeats: int, fn: Callable[[Any], object],
                 ) -> tuple[dict[Any, list[float]], dict[Any, list[float]]]:
    """``fn(way)`` for every way, ``repeats`` rounds, the order rotated each round (no way
    always runs first): wall and CPU seconds of each call, per way."""
    wall: dict[Any, list[float]] = {way: [] for way in ways}
    cpu: dict[Any, list[float]] = {way: [] for way in ways}
    for round_index in range(repeats):
        shift = round_index % len(ways)
        for way in ways[shift:] + ways[:shift]:
            started, started_cpu = time.perf_counter(), time.process_time()
            fn(way)
            wall[way].append(time.perf_counter() - started)
            cpu[way].append(time.process_time() - started_cpu)
    return wall, cpu


def in_fresh_process(*args: str) -> dict:
    """This script with ``args`` in a fresh process: the JSON of its last line."""
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure_run(folder: Path, repeats: int) -> dict:
    """``planseg segment --engine vector`` on ``folder`` with classes on, off, and on with the
    base map kept ("keep"), best of ``repeats`` rotated rounds after a warm-up round: CPU and
    wall seconds, pages."""
    from planseg.config import load_config
    from planseg.infer.config import SegmentConfig
    from planseg.infer.run import run

    with tempfile.TemporaryDirectory() as tmp:
        ways = {True: {}, False: {"export.classes": False},
                "keep": {"export.drop_base_map": False}}
        configs = {way: load_config(SegmentConfig, None, {
            "inputs": [folder], "out": Path(tmp) / str(way), "engine": "vector",
            "workers": 0, "force": True, "dpi": DPI, **overrides})
            for way, overrides in ways.items()}  # built outside the timed calls
        pages = run(configs[True]).pages  # warm-up round
        for way in (False, "keep"):
            run(configs[way])
        wall, cpu = timed_rounds(tuple(ways), repeats, lambda way: run(configs[way]))
    return {"pages": pages, "cpu": {str(w): min(t) for w, t in cpu.items()},
            "wall": {str(w): min(t) for w, t in wall.items()}}


def run_table(folders: list[tuple[str, Path]], repeats: int) -> tuple[float, float]:
    """Print the whole-command table; return the worst CPU shares (classes on, base map
    kept)."""
    print("\n| folder | pages | classes off s/page | classes on s/page | share (CPU) | "
          "share (wall) | base map kept: share (CPU) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    worst = worst_keep = 0.0
    for label, folder in folders:
        r = in_fresh_process("--run-one", str(folder), "--repeats", str(repeats))
        pages, cpu, wall = r["pages"], r["cpu"], r["wall"]
        share = cpu["True"] / cpu["False"] - 1
        worst = max(worst, share)
        worst_keep = max(worst_keep, cpu["keep"] / cpu["False"] - 1)
        print(f"| {label} | {pages} | {cpu['False'] / pages:.3f} | {cpu['True'] / pages:.3f} | "
              f"{share:+.1%} | {wall['True'] / wall['False'] - 1:+.1%} | "
              f"{cpu['keep'] / cpu['False'] - 1:+.1%} |", flush=True)
    return worst, worst_keep


def synth_pages(folder: Path, docs: int) -> list[tuple[str, Path, int]]:
    """The map pages (pages with filled drawings) of ``docs`` synth documents, seed 7."""
    import pymupdf

    from planseg.synth import generate

    summary = generate(folder / "synth", docs=docs, seed=7, dpi=100)
    pages = []
    for pdf in summary.pdfs:
        with pymupdf.open(pdf) as doc:
            pages += [(f"synth {pdf.stem} p{i + 1}", pdf, i) for i, page in enumerate(doc)
                      if any(d.get("fill") is not None for d in page.get_cdrawings())]
    return pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--synth-docs", type=int, default=4)
    parser.add_argument("--one", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--tables", default="pages,runs",
                        help="pages (reader + export per page), runs (the whole command)")
    parser.add_argument("--run-one", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(Path(args.one[0]), int(args.one[1]), args.repeats)))
        return
    if args.run_one:
        print(json.dumps(measure_run(args.run_one, args.repeats)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        pages = [(name, PLANNING / name, 0) for name in VECTOR_MAPS if (PLANNING / name).is_file()]
        pages += synth_pages(Path(tmp), args.synth_docs)
        if "pages" not in args.tables:
            pages = []
        print("| page | zones | legend entries | classified | base s | shared s | share "
              "(wall) | share (CPU) | share (wall, median) | alone s | alone share (wall) | "
              "same legend |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
        worst = 0.0
        for label, path, page_index in pages:
            r = in_fresh_process("--one", str(path), str(page_index), "--repeats",
                                 str(args.repeats))
            wall, cpu = r["wall"], r["cpu"]
            share = wall["shared"] / wall["base"] - 1
            share_cpu = cpu["shared"] / cpu["base"] - 1
            alone = wall["alone"] / wall["base"] - 1
            median = r["wall_median"]["shared"] / r["wall_median"]["base"] - 1
            worst = max(worst, share_cpu)
            print(f"| {label} | {r['zones']} | {r['entries']} | {r['classified']['shared']} | "
                  f"{wall['base']:.3f} | {wall['shared']:.3f} | {share:+.1%} | "
                  f"{share_cpu:+.1%} | {median:+.1%} | {wall['alone']:.3f} | {alone:+.1%} | "
                  f"{r['same_legend']} |", flush=True)
        print(f"worst CPU share with the shared pass: {worst:+.1%} (target < {TARGET:.0%})")
        folders = []
        for name in VECTOR_MAPS:
            if (PLANNING / name).is_file():  # a folder holding a link to the one map
                folder = Path(tmp) / "maps" / Path(name).stem
                folder.mkdir(parents=True)
                (folder / name).symlink_to(PLANNING / name)
                folders.append((name, folder))
        folders.append((f"synth ({args.synth_docs} documents)", Path(tmp) / "synth" / "pdfs"))
        if "runs" in args.tables:
            worst_run, worst_keep = run_table(folders, args.repeats)
            print(f"worst CPU share of the whole command: {worst_run:+.1%}, base map kept "
                  f"{worst_keep:+.1%} (target < {TARGET:.0%})")


if __name__ == "__main__":
    main()
