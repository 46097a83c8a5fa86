"""Fine-tuning for the automatic mask generator vs the usual box-prompted recipe (issue 4).

Starting from a model (default ``planseg-default``), fine-tune on 20 annotated pages of
``planseg synth --style scan`` within the same CPU time budget with two recipes, and score
the AMG (class-agnostic COCOeval segm AP50) on held-out scan pages before and after:

- planseg: single positive points snapped to the AMG grid, three multimask outputs with the
  min-loss assignment, IoU head supervised on every output (the defaults);
- usual: noisy boxes only, a single output mask (``prompts.use_points: false``,
  ``prompts.use_boxes: true``, ``prompts.multimask_output: false``).

Each model is scored twice: at the starting model's calibrated AMG thresholds, and at the
thresholds ``planseg train``'s calibration (:mod:`planseg.train.calibrate`) picks for it on
the first pages of the 20 training pages (the held-out pages never choose anything). The
"before" row at its calibrated thresholds is what calibration alone gives, without new
weights.

Issue 19's variant (``--look bplan --train-from label``): the training pages are *vector*
pages of the ``bplan`` look annotated by ``planseg label --scan-copies N`` (the workflow:
vector plans annotate themselves, each page also as N degraded scan copies), and the
held-out pages are ``synth --style scan --look bplan`` documents of other seeds.

Run: ``.venv/bin/python benchmarks/bench_train_scan.py --work /tmp/scan-bench
[--model planseg-default] [--minutes 15] [--points-per-side 16] [--dpi 100]
[--look classic|bplan|lineplan|handcolour|ortho] [--train-from synth|label] [--scan-copies 2]
[--label-set KEY=VALUE ...] [--recipes planseg,usual] [--set KEY=VALUE ...]``
(``--recipes ""``: only the starting model's row) and copy the printed Markdown table into
``benchmarks/RESULTS.md``. Needs the packaged default model (or pass an architecture name /
checkpoint path with ``--model``). ``--look ortho`` pages' zones are semi-transparent fills:
``planseg label`` reads them by default (no opaque zone on the page) since session 9.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import get_args

import yaml

from planseg.config import load_config
from planseg.models.checkpoints import load_model
from planseg.synth import generate
from planseg.synth.config import Look
from planseg.train import run
from planseg.train.calibrate import CALIBRATION_GRID, calibrate_thresholds
from planseg.train.config import DatasetConfig, TrainConfig, ValidationConfig
from planseg.train.data import load_splits
from planseg.train.validate import amg_metrics

RECIPES = {
    "planseg": ("planseg (points on the AMG grid, 3 masks, IoU head on all)", {}),
    "usual": ("usual (noisy boxes, single mask)", {
        "prompts.use_points": False, "prompts.use_boxes": True,
        "prompts.multimask_output": False}),
}


def finetune_settings(minutes: float, extra: list[str]) -> dict:
    """What both recipes share: ``planseg train``'s defaults (AdamW 1e-4, whole pages plus one
    crop each) within the time budget, plus any ``--set KEY=VALUE`` (YAML values). The run's
    own AMG validation and calibration are off: the final weights are scored and calibrated
    here, the same way for every row."""
    settings = {"num_epochs": 1000, "max_minutes": minutes, "validation.amg": False,
                "validation.calibrate": False}
    for item in extra:
        key, _, value = item.partition("=")
        settings[key] = yaml.safe_load(value)
    return settings


def make_data(work: Path, train_pages: int, val_docs: int, dpi: float, look: str = "classic",
              train_from: str = "synth", scan_copies: int = 2,
              label_settings: dict | None = None) -> Path:
    """DATA/train with ``train_pages`` annotated pages, DATA/val (scans) from other seeds.

    ``train_from`` "synth": the pages are ``synth --style scan`` pages with synth's truth;
    "label": vector pages annotated by ``planseg label --scan-copies`` (each page and its
    copies; ``train_pages`` counts the vector pages), with ``label_settings`` (dotted keys) as
    its config file."""
    data = work / "data"
    if (data / "val" / "annotations.json").exists():
        return data
    style = "scan" if train_from == "synth" else "vector"
    generate(work / "synth-train", docs=train_pages, seed=11, style=style, dpi=dpi, look=look)
    generate(work / "synth-val", docs=val_docs, seed=12, style="scan", dpi=dpi, look=look)
    source = work / "synth-train" / "data"
    if train_from == "label":
        source = work / "label" / "data"
        label_config = work / "label.yaml"
        label_config.write_text(yaml.safe_dump(_nested(label_settings or {})))
        planseg_cli("label", str(work / "synth-train" / "pdfs"), "--out", str(work / "label"),
                    "--dpi", f"{dpi:g}", "--scan-copies", str(scan_copies),
                    "--config", str(label_config))
    coco = json.loads((source / "annotations.json").read_text())
    zoned = {a["image_id"] for a in coco["annotations"]}
    pages = sorted({(i["pdf"], i["page"]) for i in coco["images"] if i["id"] in zoned})
    chosen = set(pages[:train_pages])  # a labelled page comes with all its scan copies
    keep = {i["id"] for i in coco["images"] if (i["pdf"], i["page"]) in chosen
            and i["id"] in zoned}
    coco["images"] = [i for i in coco["images"] if i["id"] in keep]
    coco["annotations"] = [a for a in coco["annotations"] if a["image_id"] in keep]
    for image in coco["images"]:
        target = data / "train/images" / image["file_name"]
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source / "images" / image["file_name"], target)
    (data / "train/annotations.json").write_text(json.dumps(coco))
    shutil.copytree(work / "synth-val/data", data / "val")
    return data


def _nested(settings: dict) -> dict:
    """{"vector.transparent_zones": True} -> {"vector": {"transparent_zones": True}}."""
    nested: dict = {}
    for key, value in settings.items():
        *sections, name = key.split(".")
        target = nested
        for section in sections:
            target = target.setdefault(section, {})
        target[name] = value
    return nested


def planseg_cli(*args: str) -> None:
    """One planseg command in a subprocess (the user's workflow), failing loudly."""
    command = [sys.executable, "-m", "planseg", *args]
    print("+", " ".join(command), flush=True)
    subprocess.run(command, check=True)


def pages_of(data: Path, split: str) -> list:
    """The annotated pages of DATA's ``train`` (the 20 fine-tuning pages) or ``val``
    (held-out) split."""
    splits = load_splits(data, DatasetConfig(cache=False), None)
    return [p for p in getattr(splits, split) if p.rles]


def evaluate(model: str | Path, data: Path, start: dict, points_per_side: int) -> dict:
    """The model's held-out AMG metrics at the starting model's thresholds (``start``) and at
    the thresholds calibrated for it on the first fine-tuning pages, as ``planseg train``
    calibrates best.pt: {"at_start": metrics, "thresholds": {...}, "calibrated": metrics}."""
    sam = load_model(model).sam
    heldout = pages_of(data, "val")
    calibration_pages = pages_of(data, "train")[:ValidationConfig().calibration_pages]
    thresholds, _ = calibrate_thresholds(sam, calibration_pages, points_per_side)
    return {
        "at_start": amg_metrics(sam, heldout, ValidationConfig(
            points_per_side=points_per_side, **start)),
        "thresholds": thresholds,
        "calibrated": amg_metrics(sam, heldout, ValidationConfig(
            points_per_side=points_per_side, **thresholds)),
    }


def before_metrics(work: Path, model: str, data: Path, start: dict,
                   points_per_side: int) -> dict:
    """The starting model's :func:`evaluate`, cached in WORK (the same for every recipe run)."""
    key = json.dumps([model, load_model(model).sha256, start, points_per_side,
                      ValidationConfig().calibration_pages, CALIBRATION_GRID], sort_keys=True)
    cache = work / "before.json"
    if cache.exists() and json.loads(cache.read_text())["key"] == key:
        return json.loads(cache.read_text())["metrics"]
    metrics = evaluate(model, data, start, points_per_side)
    cache.write_text(json.dumps({"key": key, "metrics": metrics}))
    return metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--model", default="planseg-default")
    parser.add_argument("--minutes", type=float, default=15.0)
    parser.add_argument("--train-pages", type=int, default=20)
    parser.add_argument("--val-docs", type=int, default=6)
    parser.add_argument("--points-per-side", type=int, default=16)
    parser.add_argument("--dpi", type=float, default=100.0, help="synth page resolution")
    parser.add_argument("--look", choices=list(get_args(Look)), default="classic",
                        help="synth look of every page")
    parser.add_argument("--train-from", choices=["synth", "label"], default="synth",
                        help="synth scan pages with synth's truth, or vector pages through "
                             "planseg label --scan-copies")
    parser.add_argument("--scan-copies", type=int, default=2,
                        help="with --train-from label: scan copies per labelled page")
    parser.add_argument("--label-set", action="append", default=[], metavar="KEY=VALUE",
                        help="with --train-from label: a planseg label setting (repeatable), "
                             "e.g. vector.transparent_zones=true for --look ortho")
    parser.add_argument("--recipes", default="planseg,usual")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a training setting for both recipes (repeatable)")
    args = parser.parse_args()
    label_settings = {k: yaml.safe_load(v) for k, _, v in
                      (item.partition("=") for item in args.label_set)}
    data = make_data(args.work, args.train_pages, args.val_docs, args.dpi, args.look,
                     args.train_from, args.scan_copies, label_settings)
    # the AMG thresholds segment would use with the starting model (its calibrated
    # amg_defaults, else SAM's)
    start = load_model(args.model).meta.get("amg_defaults", {})
    print("starting model's AMG thresholds:", start or "SAM's defaults")
    rows = [("before fine-tuning", before_metrics(args.work, args.model, data, start,
                                                   args.points_per_side), 0.0, 0)]
    shared = finetune_settings(args.minutes, args.set)
    print("fine-tuning settings of both recipes:", shared)
    for key in filter(None, args.recipes.split(",")):
        name, overrides = RECIPES[key]
        out = args.work / f"run-{key}"
        shutil.rmtree(out, ignore_errors=True)
        config = load_config(TrainConfig, None, {
            "data": data, "out": out, "model.name": args.model, "fabric.accelerator": "cpu",
            **shared, **overrides})
        started = time.perf_counter()
        summary = run(config)
        minutes = (time.perf_counter() - started) / 60
        after = evaluate(_last_weights(out, summary), data, start, args.points_per_side)
        rows.append((name, after, minutes, summary["steps"]))
    print(f"| model | AP50 at {_pair(start)} | calibrated thresholds | AMG AP50 | AMG AP | "
          "masks/page | train min | steps |")
    print("|---|---|---|---|---|---|---|---|")
    for name, result, minutes, steps in rows:
        calibrated = result["calibrated"]
        print(f"| {name} | {result['at_start']['ap50']:.3f} | {_pair(result['thresholds'])} | "
              f"{calibrated['ap50']:.3f} | {calibrated['ap']:.3f} | "
              f"{calibrated['masks_per_page']:.1f} | {minutes:.1f} | {steps} |")


def _pair(thresholds: dict) -> str:
    """"0.4 / 0.7" for (pred_iou_thresh, stability_score_thresh); SAM's when unset."""
    if not thresholds:
        return "SAM's thresholds"
    return f"{thresholds['pred_iou_thresh']:g} / {thresholds['stability_score_thresh']:g}"


def _last_weights(out: Path, summary: dict) -> Path:
    """The weights after the budget: with AMG validation off, best.pt follows the prompted
    IoU, so score the final state instead (written as a planseg checkpoint here)."""
    import torch

    from planseg.models.checkpoints import save_planseg_checkpoint

    state = torch.load(out / "last.ckpt", weights_only=True)["model"]
    sam = load_model(summary["arch"]).sam
    sam.load_state_dict({k.removeprefix("sam."): v for k, v in state.items()})
    path = out / "final.pt"
    save_planseg_checkpoint(path, sam, summary["arch"], train_config={}, metrics={})
    return path


if __name__ == "__main__":
    main()
