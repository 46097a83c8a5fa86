"""Rasterisation: ``planseg rasterize`` vs poppler's ``pdftoppm -png``, and tile-by-tile memory.

1. Throughput: the same PDFs (planseg synth vector plans, or PyMuPDF-drawn plan-like pages if
   ``planseg.synth`` is unavailable), the same DPI, the same number of processes, PNG output,
   both measured end to end in one run (process start-up included): ``planseg rasterize
   --workers N`` as one command, ``pdftoppm -png -r DPI`` run on N files at a time. Required:
   planseg / pdftoppm throughput ratio >= 1.0.
2. Peak RSS (fresh process) rendering a synthetic A0 sheet at 300 DPI tile by tile with
   ``render_page(clip_xyxy_px=...)``: required < 1.5 GiB. The full-page render is measured too,
   for contrast.

Needs poppler's pdftoppm (Debian/Ubuntu: ``apt-get install -y poppler-utils``); this script
installs nothing. Run: ``.venv/bin/python benchmarks/bench_rasterize.py [--docs 6] [--dpi 150]
[--workers N] [--repeat 2]``
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pymupdf

A0_PT = (2384.0, 3370.0)
TILE_PX = 1024
RSS_LIMIT_GIB = 1.5


def make_pdfs(folder: Path, docs: int) -> tuple[list[Path], str]:
    """Plan PDFs to rasterise: planseg synth output when available, else PyMuPDF drawings."""
    try:
        from planseg.synth import generate

        generate(folder / "synth", docs=docs, seed=7, dpi=20, style="vector")
        return sorted((folder / "synth" / "pdfs").glob("*.pdf")), "planseg synth (vector)"
    except ImportError:
        pdfs = []
        for index in range(docs):
            pdfs.append(folder / f"plan-{index:03d}.pdf")
            draw_plan(pdfs[-1], (1191.0, 842.0), polygons=400, seed=index)
        return pdfs, "PyMuPDF-drawn A3 plans"


def draw_plan(path: Path, size_pt: tuple[float, float], polygons: int, seed: int) -> None:
    """One page of filled, outlined polygons with zone codes: a plan-like vector page."""
    rng = np.random.default_rng(seed)
    doc = pymupdf.open()
    page = doc.new_page(width=size_pt[0], height=size_pt[1])
    for index in range(polygons):
        cx, cy = rng.uniform(0, size_pt[0]), rng.uniform(0, size_pt[1])
        radius = rng.uniform(15, 80)
        angles = np.sort(rng.uniform(0, 2 * np.pi, rng.integers(4, 9)))
        points = [(cx + radius * np.cos(a), cy + radius * np.sin(a)) for a in angles]
        page.draw_polyline(points + points[:1], color=(0, 0, 0), width=0.8,
                           fill=tuple(rng.uniform(0.4, 1.0, 3)), closePath=True)
        page.insert_text((cx - 8, cy + 3), f"Z{index % 40}", fontsize=7)
    doc.save(path, deflate=True)
    doc.close()


def time_planseg(pdf_dir: Path, out: Path, dpi: float, workers: int) -> float:
    planseg = Path(sys.executable).with_name("planseg")
    started = time.perf_counter()
    subprocess.run([str(planseg), "-q", "rasterize", str(pdf_dir), "--out", str(out),
                    "--dpi", str(dpi), "--workers", str(workers)], check=True)
    return time.perf_counter() - started


def time_pdftoppm(pdfs: list[Path], out: Path, dpi: float, workers: int) -> float:
    out.mkdir(parents=True, exist_ok=True)

    def one(pdf: Path) -> None:
        subprocess.run(["pdftoppm", "-png", "-r", str(dpi), str(pdf), str(out / pdf.stem)],
                       check=True)

    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:  # N pdftoppm processes at a time
        list(pool.map(one, pdfs))
    return time.perf_counter() - started


_RSS_PROBE = """
import resource, sys, time
from planseg.ingest import open_document, plan_tiles, render_page, page_pixel_size
path, dpi, mode = sys.argv[1], float(sys.argv[2]), sys.argv[3]
started = time.perf_counter()
with open_document(path) as doc:
    width, height = page_pixel_size(doc, 0, dpi)
    if mode == "tiles":
        tiles = plan_tiles(width, height, {tile}, 0)
        for tile in tiles:
            render_page(doc, 0, dpi=dpi, clip_xyxy_px=tile.xyxy)
    else:
        tiles = [None]
        render_page(doc, 0, dpi=dpi, max_pixels=width * height)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB
print(width, height, len(tiles), peak, time.perf_counter() - started)
""".replace("{tile}", str(TILE_PX))


def a0_peak_rss(folder: Path, mode: str) -> tuple[int, int, int, float, float]:
    """(width_px, height_px, tiles, peak RSS GiB, seconds) in a fresh process."""
    path = folder / "a0.pdf"
    if not path.exists():
        draw_plan(path, A0_PT, polygons=3000, seed=99)
    result = subprocess.run([sys.executable, "-c", _RSS_PROBE, str(path), "300", mode],
                            check=True, capture_output=True, text=True)
    width, height, tiles, peak, seconds = result.stdout.split()
    return int(width), int(height), int(tiles), float(peak), float(seconds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=6)
    parser.add_argument("--dpi", type=float, default=150)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeat", type=int, default=2, help="interleaved rounds; best kept")
    args = parser.parse_args()
    if shutil.which("pdftoppm") is None:
        print("pdftoppm not found: install poppler-utils first, e.g. "
              "`sudo apt-get install -y poppler-utils` (Debian/Ubuntu); this script installs "
              "nothing", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="bench-rasterize-") as tmp:
        folder = Path(tmp)
        pdfs, source = make_pdfs(folder, args.docs)
        pdf_dir = pdfs[0].parent
        pages = sum(pymupdf.open(p).page_count for p in pdfs)
        ours, theirs = [], []
        for round_index in range(args.repeat):  # interleaved: both see the same machine load
            ours.append(time_planseg(pdf_dir, folder / f"planseg-{round_index}", args.dpi,
                                     args.workers))
            theirs.append(time_pdftoppm(pdfs, folder / f"poppler-{round_index}", args.dpi,
                                        args.workers))
        ours_s, theirs_s = min(ours), min(theirs)
        tiles = a0_peak_rss(folder, "tiles")
        full = a0_peak_rss(folder, "full")
    pdftoppm_version = subprocess.run(["pdftoppm", "-v"], capture_output=True,
                                      text=True).stderr.splitlines()[0]
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.1f}; PyMuPDF {pymupdf.__version__} "
          f"(MuPDF {pymupdf.mupdf_version}); {pdftoppm_version}")
    print(f"inputs: {len(pdfs)} PDFs, {pages} pages ({source}), {args.dpi:g} DPI, "
          f"{args.workers} processes, best of {args.repeat}")
    print()
    print("| tool | seconds | pages/s |")
    print("|---|---:|---:|")
    print(f"| planseg rasterize | {ours_s:.2f} | {pages / ours_s:.2f} |")
    print(f"| pdftoppm -png | {theirs_s:.2f} | {pages / theirs_s:.2f} |")
    ratio = theirs_s / ours_s
    print(f"| **throughput ratio planseg / pdftoppm** | **{ratio:.2f}** (required >= 1.0) | |")
    print()
    print("| A0 at 300 DPI | raster | tiles | peak RSS GiB | seconds |")
    print("|---|---|---:|---:|---:|")
    for label, (w, h, n, peak, sec) in (("tile by tile", tiles), ("full page", full)):
        print(f"| {label} | {w} x {h} px | {n} | {peak:.2f} | {sec:.1f} |")
    ok = ratio >= 1.0 and tiles[3] < RSS_LIMIT_GIB
    print(f"\n{'PASS' if ok else 'FAIL'}: ratio {ratio:.2f} >= 1.0, tile peak RSS "
          f"{tiles[3]:.2f} GiB < {RSS_LIMIT_GIB} GiB")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
