"""``planseg segment`` end to end on CPU: throughput, flat memory, data-parallel scaling.

Every measurement runs the real command in a fresh process (``python -m planseg segment``)
on PDFs drawn with PyMuPDF (A4 plan-like pages: filled zones with outlines and labels), and
reads the peak RSS of that process tree from ``getrusage(RUSAGE_CHILDREN)`` in a fresh
wrapper process (``--workers 0`` keeps the whole pipeline in one process, so its peak is the
run's peak).

1. Pages per minute with the default settings (150 DPI, SAM's 32x32 grid) and the default
   model (``planseg-default`` when packaged, else the ``small`` architecture, random weights:
   the same compute).
2. Peak RSS of a 50-page document vs a 1-page document: required within 10%.
3. Peak RSS of an A0 sheet at 300 DPI (9933 x 14043 px, tiled): required < 4 GiB.
4. ``--devices 2 --accelerator cpu`` with one torch thread per process vs one process with
   one thread on the same documents: required >= 1.6x (needs >= 2 idle cores). Both runs pay
   the interpreter start; the 2-process one also ~7 s to spawn and initialise its ranks, so
   the ratio grows with the job (60 one-page documents by default: a bulk job, not a demo).
5. planseg's malloc settings (:mod:`planseg.malloc`) vs glibc's defaults (``GLIBC_TUNABLES``
   set to a default value, which makes planseg leave malloc alone), same documents, one
   process, one thread: wall, kernel (sys) time and peak RSS.

Run: ``.venv/bin/python benchmarks/bench_segment.py [--only throughput,rss,a0,devices,malloc]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pymupdf

REPO = Path(__file__).resolve().parents[1]
A4_PT = (595.0, 842.0)
A0_PT = (2384.0, 3370.0)
GIB = 1024 ** 3


def draw_plan(path: Path, pages: int, size_pt: tuple[float, float] = A4_PT, seed: int = 0
              ) -> Path:
    """A plan-like PDF: a grid of filled zones with black outlines and a code in each."""
    doc = pymupdf.open()
    width, height = size_pt
    for page_index in range(pages):
        page = doc.new_page(width=width, height=height)
        cols, rows = 4, 6
        cell_w, cell_h = (width - 80) / cols, (height - 80) / rows
        for r in range(rows):
            for c in range(cols):
                k = (seed + page_index + r * cols + c) % 7
                rect = pymupdf.Rect(40 + c * cell_w, 40 + r * cell_h,
                                    40 + (c + 1) * cell_w, 40 + (r + 1) * cell_h)
                page.draw_rect(rect, color=(0, 0, 0), fill=(0.3 + 0.1 * k, 0.8 - 0.07 * k,
                                                             0.5 + 0.05 * (k % 3)),
                               width=max(1.0, width / 600))
                page.insert_text(rect.tl + (8, 8 + width / 60), f"Z{k}",
                                 fontsize=max(8.0, width / 60))
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(path)
    doc.close()
    return path


def default_model() -> str:
    weights = REPO / "planseg" / "models" / "weights" / "planseg-default.pt"
    return "planseg-default" if weights.is_file() else "small"


def segment(inputs: Path, out: Path, *args: str, env: dict | None = None
            ) -> tuple[float, int, dict]:
    """(wall seconds, peak RSS bytes of the process tree's largest process, run.json); the
    run's kernel CPU seconds are added to the summary as ``sys_seconds``."""
    command = [sys.executable, "-m", "planseg", "-q", "segment", str(inputs), "--out",
               str(out), *args]
    wrapper = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
               "rc = subprocess.run(sys.argv[1:]).returncode; "
               "r = resource.getrusage(resource.RUSAGE_CHILDREN); "
               "print(time.perf_counter() - t, r.ru_maxrss, rc, r.ru_stime)")
    result = subprocess.run([sys.executable, "-c", wrapper, *command], capture_output=True,
                            text=True, check=True, env={**os.environ, **(env or {})})
    seconds, rss_kib, rc, sys_seconds = result.stdout.split()
    if rc != "0":
        raise RuntimeError(f"segment exited {rc}: {result.stderr[-2000:]}")
    summary = json.loads((out / "run.json").read_text())
    return float(seconds), int(rss_kib) * 1024, {**summary, "sys_seconds": float(sys_seconds)}


def config_file(folder: Path, text: str) -> Path:
    path = folder / f"config-{abs(hash(text)) % 10**6}.yaml"
    path.write_text(text)
    return path


def bench_throughput(tmp: Path, pages: int) -> None:
    model = default_model()
    inputs = tmp / "throughput"
    for index in range(pages):
        draw_plan(inputs / f"plan-{index}.pdf", 1, seed=index)
    seconds, rss, summary = segment(inputs, tmp / "out-throughput", "--model", model)
    busy = summary["seconds"]
    print(f"throughput: model {model}, {pages} A4 pages at 150 DPI (4 tiles of 1024 px each), "
          f"default AMG grid: {seconds:.1f} s wall ({60 * pages / seconds:.2f} pages/min), "
          f"{busy:.1f} s inside run ({60 * pages / busy:.2f} pages/min); peak RSS "
          f"{rss / GIB:.2f} GiB")


def bench_rss(tmp: Path, pages: int) -> None:
    config = config_file(tmp, "dpi: 72\namg:\n  points_per_side: 8\n")
    results = {}
    for count in (1, pages):
        inputs = tmp / f"rss-{count}"
        draw_plan(inputs / "plan.pdf", count)
        seconds, rss, _ = segment(inputs, tmp / f"out-rss-{count}", "--model", default_model(),
                                  "--config", str(config), "--workers", "0")
        results[count] = rss
        print(f"rss: {count}-page document, {seconds:.1f} s, peak RSS {rss / 2**20:.0f} MiB")
    ratio = results[pages] / results[1]
    print(f"rss: {pages}-page / 1-page peak RSS = {ratio:.3f} (required <= 1.10): "
          f"{'PASS' if ratio <= 1.10 else 'FAIL'}")


def bench_a0(tmp: Path) -> None:
    inputs = tmp / "a0"
    draw_plan(inputs / "a0.pdf", 1, size_pt=A0_PT)
    # Every mask kept (random weights pass no quality threshold), so tiles really merge and
    # thousands of polygons are vectorised: the memory of every stage, not just rendering.
    config = config_file(tmp, "dpi: 300\namg:\n  points_per_side: 4\n  pred_iou_thresh: 0\n"
                              "  stability_score_thresh: 0\n")
    seconds, rss, summary = segment(inputs, tmp / "out-a0", "--model", "tiny", "--config",
                                    str(config), "--workers", "0")
    print(f"a0: A0 at 300 DPI (9933 x 14043 px, 1024 px tiles), tiny model, 4x4 grid, "
          f"{summary['polygons']} polygons, {seconds:.1f} s, peak RSS {rss / GIB:.2f} GiB "
          f"(required < 4): {'PASS' if rss < 4 * GIB else 'FAIL'}")


def one_page_documents(tmp: Path, name: str, docs: int) -> tuple[Path, Path]:
    """(folder of ``docs`` one-page A4 plans, config: 72 DPI, 1 thread, 16 x 16 grid)."""
    inputs = tmp / name
    for index in range(docs):
        draw_plan(inputs / f"plan-{index}.pdf", 1, seed=index)
    return inputs, config_file(tmp, "dpi: 72\nthreads: 1\namg:\n  points_per_side: 16\n")


def bench_devices(tmp: Path, docs: int) -> None:
    inputs, config = one_page_documents(tmp, "devices", docs)
    timings = {}
    for devices in (1, 2):
        seconds, _, summary = segment(inputs, tmp / f"out-devices-{devices}", "--model",
                                      default_model(), "--config", str(config), "--workers",
                                      "0", "--devices", str(devices), "--accelerator", "cpu")
        timings[devices] = (seconds, summary["seconds"])
        print(f"devices: {devices} process(es) x 1 thread, {docs} pages: {seconds:.1f} s wall, "
              f"{summary['seconds']:.1f} s inside run")
    speedup = timings[1][0] / timings[2][0]
    print(f"devices: speed-up {speedup:.2f}x wall, "
          f"{timings[1][1] / timings[2][1]:.2f}x inside run (required >= 1.6; "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f})")


def bench_malloc(tmp: Path, docs: int) -> None:
    inputs, config = one_page_documents(tmp, "malloc", docs)
    runs = {}
    for name, env in (("glibc defaults", {"GLIBC_TUNABLES": "glibc.malloc.perturb=0"}),
                      ("planseg", {})):
        seconds, rss, summary = segment(inputs, tmp / f"out-malloc-{len(runs)}", "--model",
                                        default_model(), "--config", str(config),
                                        "--workers", "0", env=env)
        runs[name] = (seconds, rss)
        print(f"malloc: {name}, {docs} pages: {seconds:.1f} s wall, "
              f"{summary['sys_seconds']:.1f} s sys, peak RSS {rss / 2**20:.0f} MiB")
    (base_s, base_rss), (tuned_s, tuned_rss) = runs.values()
    print(f"malloc: planseg's settings {base_s / tuned_s:.2f}x faster, peak RSS "
          f"{tuned_rss / base_rss:.3f}x glibc's defaults")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="throughput,rss,a0,devices,malloc")
    parser.add_argument("--pages", type=int, default=50, help="pages of the long document")
    parser.add_argument("--throughput-pages", type=int, default=4)
    parser.add_argument("--docs", type=int, default=60,
                        help="documents for the devices and malloc runs")
    args = parser.parse_args()
    wanted = set(args.only.split(","))
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load "
          f"{os.getloadavg()[0]:.1f}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    with tempfile.TemporaryDirectory(prefix="bench-segment-") as folder:
        tmp = Path(folder)
        if "throughput" in wanted:
            bench_throughput(tmp, args.throughput_pages)
        if "rss" in wanted:
            bench_rss(tmp, args.pages)
        if "a0" in wanted:
            bench_a0(tmp)
        if "devices" in wanted:
            bench_devices(tmp, args.docs)
        if "malloc" in wanted:
            bench_malloc(tmp, args.docs)


if __name__ == "__main__":
    main()
