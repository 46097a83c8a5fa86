"""Vector zones: seconds per page and peak RSS of ``read_vector_page``, each page in a fresh
process (so the RSS is that page's, imports included).

Pages: every vector map in ../shared/realdata/planning (Newport, 36 x 45 in with ~25,000
drawings, must read in < 10 s), the map page of a ``planseg synth`` A4 document, and a
generated page of 200,000 overlapping filled rectangles (must finish within the default
``max_seconds`` in bounded memory). Prints one line per page and the ratios to the targets.

Run: ``.venv/bin/python benchmarks/bench_vector.py [--paths 200000]``
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PLANNING = REPO.parent / "shared" / "realdata" / "planning"
VECTOR_MAPS = ("us_vt_newport_zoning.pdf", "us_vt_brattleboro_zoning.pdf",
               "us_vt_weston_zoning.pdf", "us_vt_strafford_zoning.pdf", "de_plochingen_bplan.pdf")
NEWPORT_LIMIT_S = 10.0


def measure(path: Path, page_index: int) -> dict:
    """Read one page in this process; seconds of the read and this process's peak RSS."""
    from planseg.ingest.documents import open_document
    from planseg.ingest.vector import read_vector_page

    with open_document(path) as doc:
        started = time.perf_counter()
        page = read_vector_page(doc, page_index)
        seconds = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    return {"seconds": seconds, "peak_rss_mib": peak_mib, "paths": page.paths,
            "zones": len(page.zones), "coverage": page.coverage, "kind": page.page_kind,
            "fallback": page.fallback}


def in_fresh_process(path: Path, page_index: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--one", str(path), str(page_index)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def synth_page(folder: Path) -> tuple[Path, int]:
    """The first map page of a synth A4 document (seed 7)."""
    import pymupdf

    from planseg.synth import generate

    summary = generate(folder / "synth", docs=1, seed=7, dpi=100, sheet="A4")
    pdf = summary.pdfs[0]
    with pymupdf.open(pdf) as doc:
        index = next(i for i, page in enumerate(doc) if page.get_cdrawings())
    return pdf, index


def many_paths_page(folder: Path, count: int) -> Path:
    sys.path.insert(0, str(REPO / "tests"))
    from reliability.test_hostile_drawings import many_fills_content, write_content_pdf

    return write_content_pdf(folder / f"fills-{count}.pdf", many_fills_content(count),
                             (14400, 14400))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, default=200_000)
    parser.add_argument("--one", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(Path(args.one[0]), int(args.one[1]))))
        return
    from planseg.ingest.vector_config import VectorConfig

    with tempfile.TemporaryDirectory() as tmp:
        pages = [(name, PLANNING / name, 0) for name in VECTOR_MAPS if (PLANNING / name).is_file()]
        pdf, index = synth_page(Path(tmp))
        pages.append(("synth A4 map page", pdf, index))
        pages.append((f"{args.paths} filled paths", many_paths_page(Path(tmp), args.paths), 0))
        results = {}
        for label, path, page_index in pages:
            results[label] = r = in_fresh_process(path, page_index)
            print(f"{label:32s} {r['seconds']:7.2f} s  peak RSS {r['peak_rss_mib']:7.0f} MiB  "
                  f"{r['paths']:7d} drawings  {r['zones']:6d} zones  coverage "
                  f"{r['coverage']:.2f}  {r['kind']}  fallback={r['fallback']}", flush=True)
    newport = results.get("us_vt_newport_zoning.pdf")
    if newport:
        print(f"newport: {newport['seconds']:.2f} s = {newport['seconds'] / NEWPORT_LIMIT_S:.2f}"
              f" x the {NEWPORT_LIMIT_S:g} s target; "
              f"{1e6 * newport['seconds'] / newport['paths']:.0f} us per drawing")
    many = results[f"{args.paths} filled paths"]
    budget = VectorConfig().max_seconds
    print(f"{args.paths} paths: {many['seconds']:.1f} s = {many['seconds'] / budget:.2f} x the "
          f"max_seconds budget ({budget:g} s); peak RSS {many['peak_rss_mib']:.0f} MiB = "
          f"{1024 * 1024 * many['peak_rss_mib'] / args.paths / 1024:.1f} KiB per path")


if __name__ == "__main__":
    main()
