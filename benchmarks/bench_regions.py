"""The colour-region engine beside SAM's grid on held-out synth pages passed as images.

Generates ``planseg synth OUT --docs 6 --seed 12345 --sheet A4 --dpi 72`` in both styles
(vector renders and ``--style scan``), then segments the rendered PNGs - images, so no vector
engine can help - with the regions engine (its ``plan_page`` in this process, one page at a
time, timed) and, on the first ``--sam-pages`` map pages plus one text page of each style,
with ``planseg segment --engine sam`` and the default model at the same DPI (a fresh
process, timed by its ``run.json``). Scored with :func:`planseg.export.metrics.coco_metrics`
against the generator's ground truth; printed per style and engine: AP50, AP, polygons per
GT zone, polygons on text pages, seconds per map page and per text page, and the regions
engine on the SAM pages alone (the like-for-like row). Predictions are scaled to the ground
truth's raster by ``coco_metrics`` (MuPDF reads synth's PNGs as 96 DPI images, so
``--dpi 72`` segments them at 3/4 of their size; ``--segment-dpi 96`` at their own).

The ground truth names pages by their PDF (``doc-000.pdf`` page 1); predictions on images
are named by the image (``doc-000-p1.png`` page 1), so a copy of the ground truth is
re-keyed by image file before scoring.

Run: ``.venv/bin/python benchmarks/bench_regions.py [--sam-pages 2] [--work DIR]``
(``--sam-pages 0`` skips SAM: about a minute per page on 2 cores at 72 DPI).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def planseg(*args: str) -> None:
    """Run ``python -m planseg ARGS`` in a fresh process."""
    subprocess.run([sys.executable, "-m", "planseg", "-q", *args], check=True, cwd=REPO)


def keyed_by_image(gt: dict) -> dict:
    """The ground truth with each page named by its image, as a segment run on images
    names it (``pdf`` = the image's file name, ``page`` 1)."""
    gt = dict(gt)
    gt["images"] = [{**image, "pdf": image["file_name"], "page": 1} for image in gt["images"]]
    return gt


def regions_predictions(images: list[Path], dpi: float) -> tuple[dict, dict[str, float]]:
    """COCO predictions of the regions engine on ``images`` and each image's seconds."""
    from planseg.export.rle import decode_rle
    from planseg.infer.config import SegmentConfig
    from planseg.infer.engines.regions import RegionsEngine
    from planseg.ingest.documents import open_document

    engine = RegionsEngine(SegmentConfig(dpi=dpi))
    coco: dict = {"images": [], "annotations": [], "categories": [{"id": 1, "name": "zone"}]}
    seconds: dict[str, float] = {}
    for image_id, path in enumerate(images, start=1):
        started = time.perf_counter()
        with open_document(path) as doc:
            plan = engine.plan_page(doc, 0)
        seconds[path.name] = time.perf_counter() - started
        coco["images"].append({"id": image_id, "file_name": path.name, "pdf": path.name,
                               "page": 1, "width": plan.width_px, "height": plan.height_px,
                               "page_kind": plan.page_kind})
        for detection in plan.detections or []:
            assert decode_rle(detection.rle).shape == (plan.height_px, plan.width_px)
            coco["annotations"].append({
                "id": len(coco["annotations"]) + 1, "image_id": image_id, "category_id": 1,
                "segmentation": detection.rle, "score": detection.score})
    return coco, seconds


def sam_predictions(images: list[Path], dpi: float, work: Path) -> tuple[dict, float]:
    """COCO predictions of ``planseg segment --engine sam`` on ``images`` and its seconds
    (``run.json``: planning, model and export, no interpreter start)."""
    folder = work / "pages"
    folder.mkdir(parents=True)
    for path in images:
        shutil.copy(path, folder / path.name)
    out = work / "out"
    planseg("segment", str(folder), "--out", str(out), "--dpi", f"{dpi:g}", "--engine", "sam")
    run = json.loads((out / "run.json").read_text())
    return json.loads((out / "coco.json").read_text()), float(run["seconds"])


def subset(coco: dict, names: set[str]) -> dict:
    """``coco`` restricted to the pages whose file is in ``names``."""
    images = [image for image in coco["images"] if image["file_name"] in names]
    ids = {image["id"] for image in images}
    return {**coco, "images": images,
            "annotations": [a for a in coco["annotations"] if a["image_id"] in ids]}


def row(label: str, gt: dict, predictions: dict, map_s: float, text_s: float | None) -> str:
    """One printed line of scores and seconds."""
    from planseg.export.metrics import coco_metrics

    m = coco_metrics(gt, predictions)
    text = "-" if text_s is None else f"{text_s:.2f}"
    return (f"{label:<28} {m['ap50']:6.3f} {m['ap']:6.3f} {m['polygons_per_gt_zone']:8.2f} "
            f"{m['predictions_on_empty_pages']:7d} {map_s:9.2f} {text:>9}")


def style_rows(style: str, root: Path, dpi: float, sam_pages: int, work: Path) -> list[str]:
    """The table rows of one synth style."""
    gt = keyed_by_image(json.loads((root / "data" / "annotations.json").read_text()))
    zoned = {a["image_id"] for a in gt["annotations"]}
    maps = [i["file_name"] for i in gt["images"] if i["id"] in zoned]
    texts = [i["file_name"] for i in gt["images"] if i["id"] not in zoned]
    images = sorted((root / "data" / "images").iterdir())
    coco, seconds = regions_predictions(images, dpi)
    mean = lambda names: sum(seconds[n] for n in names) / max(len(names), 1)  # noqa: E731
    rows = [row(f"{style}: regions, all pages", gt, coco, mean(maps), mean(texts))]
    if sam_pages:
        names = set(maps[:sam_pages] + texts[:1])
        chosen = [p for p in images if p.name in names]
        sam, sam_s = sam_predictions(chosen, dpi, work / style)
        rows.append(row(f"{style}: regions, SAM's pages", subset(gt, names),
                        subset(coco, names), mean(maps[:sam_pages]), mean(texts[:1])))
        rows.append(row(f"{style}: SAM grid (run s/page)", subset(gt, names), sam,
                        sam_s / len(names), None))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=6)
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--dpi", type=float, default=72.0)
    parser.add_argument("--segment-dpi", type=float, default=None,
                        help="DPI of the segment runs (default --dpi); MuPDF reads a PNG "
                             "without a resolution as 96 DPI, so 96 segments synth's PNGs "
                             "at their native size")
    parser.add_argument("--sam-pages", type=int, default=2, help="map pages per style for SAM")
    parser.add_argument("--work", type=Path, default=None, help="keep outputs here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        rows = []
        for style in ("vector", "scan"):
            root = work / f"synth-{style}"
            planseg("synth", str(root), "--docs", str(args.docs), "--seed", str(args.seed),
                    "--sheet", "A4", "--dpi", f"{args.dpi:g}", "--style", style)
            rows += style_rows(style, root, args.segment_dpi or args.dpi, args.sam_pages,
                               work / "sam")
        print(f"{'':<28} {'AP50':>6} {'AP':>6} {'per zone':>8} {'on text':>7} "
              f"{'s/map pg':>9} {'s/text pg':>9}")
        print("\n".join(rows))


if __name__ == "__main__":
    main()
