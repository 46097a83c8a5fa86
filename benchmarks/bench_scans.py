"""Issue 18's ablation: what colour regions and SAM each add on scans and images.

Generates held-out ``planseg synth OUT --docs D --seed S --sheet A4 --dpi 72`` pages in both
styles (clean vector renders and ``--style scan``), passes the rendered PNGs as images (no
vector engine can help) to ``planseg segment`` in fresh processes, one per variant, and scores
each run with :func:`planseg.export.metrics.coco_metrics` against the generator's ground
truth (re-keyed by image file, see ``bench_regions.keyed_by_image``):

- ``grid``: today's SAM automatic mask generator (``--engine sam``, ``amg.prompts: grid``,
  ``export.partition: false``) - on the first ``--grid-pages`` map pages and one text page
  only (about a minute a page on 2 cores);
- ``regions``: the colour regions alone (``--engine regions``);
- ``sam@regions``: SAM prompted at the regions' points, its mask kept wherever it passes
  the AMG thresholds (``amg.keep: sam``);
- ``default``: colours and SAM together as ``planseg segment`` runs them by default
  (``amg.keep: better``, the partition), and ``default, overlaps`` without the partition.

Printed per style: AP50, AP, polygons per GT zone, polygons on text pages, run seconds per
page (``run.json``: no interpreter start), and every variant also on the grid's pages (the
like-for-like rows for the speed ratio). The model is the packaged default unless
``--model``.

``--speed-pages N`` instead prints the CPU seconds (process time: the machine is shared) of
one page through the SAM engine in this process, grid vs default, per map page and per text
page, and their ratio.

Run: ``.venv/bin/python benchmarks/bench_scans.py [--docs 6] [--seed 12345] [--grid-pages 2]
[--model planseg-default] [--work DIR] [--speed-pages N] [--synth DIR --styles NAME]
[--variants regions,default]``
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import yaml
from bench_regions import keyed_by_image, planseg, subset

VARIANTS: dict[str, tuple[str, dict]] = {
    "grid": ("sam", {"amg": {"prompts": "grid"}, "export": {"partition": False}}),
    "regions": ("regions", {}),
    "sam@regions": ("sam", {"amg": {"keep": "sam"}}),
    "default, overlaps": ("sam", {"export": {"partition": False}}),
    "default": ("sam", {}),
}


AMG_EXTRA: dict = {}  # --amg KEY=VALUE: thresholds of a checkpoint without amg_defaults


def segment(variant: str, pages: Path, out: Path, dpi: float, model: str) -> tuple[dict, float]:
    """COCO predictions of one variant on the images in ``pages`` and its run seconds."""
    engine, settings = VARIANTS[variant]
    settings = {**settings, "amg": {**settings.get("amg", {}), **AMG_EXTRA}}
    config = out.with_suffix(".yaml")
    out.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(yaml.safe_dump(settings))
    planseg("segment", str(pages), "--out", str(out), "--dpi", f"{dpi:g}", "--engine", engine,
            "--model", model, "--config", str(config))
    run = json.loads((out / "run.json").read_text())
    return json.loads((out / "coco.json").read_text()), float(run["seconds"])


def row(label: str, gt: dict, predictions: dict, seconds: float, pages: int) -> str:
    from planseg.export.metrics import coco_metrics

    m = coco_metrics(gt, predictions)
    return (f"| {label} | {m['ap50']:.3f} | {m['ap']:.3f} | {m['polygons_per_gt_zone']:.2f} | "
            f"{m['predictions_on_empty_pages']} | {seconds / max(pages, 1):.2f} |")


def style_rows(style: str, root: Path, work: Path, dpi: float, grid_pages: int,
               model: str, variants: list[str]) -> list[str]:
    """The table rows of one synth style."""
    gt = keyed_by_image(json.loads((root / "data" / "annotations.json").read_text()))
    zoned = {a["image_id"] for a in gt["annotations"]}
    maps = [i["file_name"] for i in gt["images"] if i["id"] in zoned]
    texts = [i["file_name"] for i in gt["images"] if i["id"] not in zoned]
    images = root / "data" / "images"
    few = set(maps[:grid_pages] + texts[:1])
    few_dir = work / style / "few"
    few_dir.mkdir(parents=True)
    for name in sorted(few):
        shutil.copy(images / name, few_dir / name)
    rows = []
    for variant in variants:
        if variant == "grid":
            if grid_pages:
                coco, seconds = segment(variant, few_dir, work / style / "grid", dpi, model)
                rows.append(row(f"{style}, grid pages: {variant}", subset(gt, few), coco,
                                seconds, len(few)))
            continue
        coco, seconds = segment(variant, images, work / style / variant, dpi, model)
        rows.append(row(f"{style}, all pages: {variant}", gt, coco, seconds,
                        len(gt["images"])))
        if grid_pages:
            few_coco, few_s = segment(variant, few_dir, work / style / f"{variant}-few", dpi,
                                      model)
            rows.append(row(f"{style}, grid pages: {variant}", subset(gt, few), few_coco,
                            few_s, len(few)))
    return rows


def page_seconds(pages: list[tuple[Path, str]], model: str,
                 dpi: float) -> dict[str, list[float]]:
    """Seconds (process CPU time: the machine is shared) of one page through the SAM
    engine in this process, model loaded once: ``grid`` (plan, render, automatic mask
    generator) and ``default`` (plan with the colour regions, render, prompted masks,
    fusion), keyed ``"<variant> <kind>"``; ``pages``: (image, kind "map" or "text")."""
    from dataclasses import replace

    from planseg.infer.config import SegmentConfig
    from planseg.infer.engines.sam import SamEngine
    from planseg.infer.fusion import fuse_tile_masks
    from planseg.infer.model import build_mask_generator, load_segment_model
    from planseg.infer.prompted import prompted_records
    from planseg.infer.tiles import tile_masks, tile_prompts
    from planseg.ingest.documents import open_document
    from planseg.ingest.render import render_tile

    config = SegmentConfig(dpi=dpi, model=model)
    loaded, config = load_segment_model(config, announce=False)
    generator = build_mask_generator(loaded.sam, config.amg)
    grid = replace(config, amg=replace(config.amg, prompts="grid"))
    seconds: dict[str, list[float]] = {}
    for path, kind in pages:
        for variant, run_config in (("grid", grid), ("default", config)):
            started = time.process_time()
            with open_document(path) as doc:
                plan = SamEngine(run_config).plan_page(doc, 0)
            for index, tile in enumerate(plan.tiles):
                image = render_tile(path, 0, dpi, config.max_pixels, tile.xyxy)
                if plan.prompts_xy:
                    points, ids = tile_prompts(plan.prompts_xy, plan.tiles, index)
                    records = tile_masks(prompted_records(generator, image, points, ids),
                                         tile, index, plan.width_px, plan.height_px, 2)
                    fuse_tile_masks(plan.candidates, records, keep=config.amg.keep,
                                    sam_min_iou=config.amg.sam_min_iou)
                else:
                    generator.generate(image)
            seconds.setdefault(f"{variant} {kind}", []).append(time.process_time() - started)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=6)
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--dpi", type=float, default=72.0)
    parser.add_argument("--grid-pages", type=int, default=2,
                        help="map pages per style for today's grid AMG (0: skip it)")
    parser.add_argument("--model", default="planseg-default")
    parser.add_argument("--styles", default="vector,scan")
    parser.add_argument("--synth", type=Path, default=None,
                        help="score these existing `planseg synth` outputs' images instead "
                             "(one folder per style, named in --styles order, comma-separated)")
    parser.add_argument("--variants", default=",".join(VARIANTS),
                        help="which variants to run (comma-separated)")
    parser.add_argument("--work", type=Path, default=None, help="keep outputs here")
    parser.add_argument("--speed-pages", type=int, default=0,
                        help="instead of the table: CPU seconds per map and text page, grid "
                             "vs default, on this many map pages (and one text page) per "
                             "style, in this process")
    parser.add_argument("--amg", action="append", default=[], metavar="KEY=VALUE",
                        help="an amg.* setting for every variant (YAML value), e.g. the "
                             "calibrated thresholds of a checkpoint that does not carry them")
    args = parser.parse_args()
    for item in args.amg:
        key, _, value = item.partition("=")
        AMG_EXTRA[key] = yaml.safe_load(value)
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        print("| style, pages: variant | AP50 | AP | polygons / GT zone | on text pages | "
              "run s / page |\n|---|---:|---:|---:|---:|---:|")
        given = args.synth.as_posix().split(",") if args.synth else []
        for index, style in enumerate(args.styles.split(",")):
            root = Path(given[index]) if given else work / f"synth-{style}"
            if not given:
                planseg("synth", str(root), "--docs", str(args.docs), "--seed",
                         str(args.seed), "--sheet", "A4", "--dpi", f"{args.dpi:g}", "--style",
                         style)
            if args.speed_pages:
                speed_rows(style, root, args.speed_pages, args.model, args.dpi)
                continue
            for line in style_rows(style, root, work / "runs", args.dpi, args.grid_pages,
                                   args.model, args.variants.split(",")):
                print(line, flush=True)


def speed_rows(style: str, root: Path, count: int, model: str, dpi: float) -> None:
    """Print CPU seconds per map page and per text page, grid vs default, on ``count`` map
    pages and one text page of ``root``."""
    gt = json.loads((root / "data" / "annotations.json").read_text())
    zoned = {a["image_id"] for a in gt["annotations"]}
    maps = [i["file_name"] for i in gt["images"] if i["id"] in zoned][:count]
    texts = [i["file_name"] for i in gt["images"] if i["id"] not in zoned][:1]
    images = root / "data" / "images"
    seconds = page_seconds([(images / n, "map") for n in maps]
                           + [(images / n, "text") for n in texts], model, dpi)
    mean = {key: sum(v) / len(v) for key, v in seconds.items()}
    for kind in ("map", "text"):
        grid, default = mean.get(f"grid {kind}"), mean.get(f"default {kind}")
        if grid is not None and default is not None:
            print(f"| {style}: CPU s per {kind} page | grid {grid:.2f} | default {default:.2f} "
                  f"| {grid / default:.1f}x |", flush=True)


if __name__ == "__main__":
    main()
