"""Fine-tuning for the automatic mask generator vs the usual box-prompted recipe (issue 4).

Starting from a model (default ``planseg-default``), fine-tune on 20 annotated pages of
``planseg synth --style scan`` within the same CPU time budget with two recipes, and score
the AMG (class-agnostic COCOeval segm AP50) on held-out scan pages before and after:

- planseg: single positive points snapped to the AMG grid, three multimask outputs with the
  min-loss assignment, IoU head supervised on every output (the defaults);
- usual: noisy boxes only, a single output mask (``prompts.use_points: false``,
  ``prompts.use_boxes: true``, ``prompts.multimask_output: false``).

Run: ``.venv/bin/python benchmarks/bench_train_scan.py --work /tmp/scan-bench
[--model planseg-default] [--minutes 15] [--points-per-side 16] [--dpi 100]
[--recipes planseg,usual] [--set KEY=VALUE ...]`` and copy the printed
Markdown table into ``benchmarks/RESULTS.md``. Needs the packaged default model (or pass an
architecture name / checkpoint path with ``--model``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import yaml

from planseg.config import load_config
from planseg.models.checkpoints import load_model
from planseg.synth import generate
from planseg.train import run
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
    crop each) within the time budget, plus any ``--set KEY=VALUE`` (YAML values)."""
    settings = {"num_epochs": 1000, "max_minutes": minutes, "validation.amg": False}
    for item in extra:
        key, _, value = item.partition("=")
        settings[key] = yaml.safe_load(value)
    return settings


def make_data(work: Path, train_pages: int, val_docs: int, dpi: float) -> Path:
    """DATA/train with ``train_pages`` annotated scan pages, DATA/val from other seeds."""
    data = work / "data"
    if (data / "val" / "annotations.json").exists():
        return data
    generate(work / "synth-train", docs=train_pages, seed=11, style="scan", dpi=dpi)
    generate(work / "synth-val", docs=val_docs, seed=12, style="scan", dpi=dpi)
    coco = json.loads((work / "synth-train/data/annotations.json").read_text())
    keep = sorted({a["image_id"] for a in coco["annotations"]})[:train_pages]
    coco["images"] = [i for i in coco["images"] if i["id"] in keep]
    coco["annotations"] = [a for a in coco["annotations"] if a["image_id"] in keep]
    (data / "train" / "images").mkdir(parents=True)
    for image in coco["images"]:
        shutil.copy(work / "synth-train/data/images" / image["file_name"],
                    data / "train/images" / image["file_name"])
    (data / "train/annotations.json").write_text(json.dumps(coco))
    shutil.copytree(work / "synth-val/data", data / "val")
    return data


def amg_ap50(model: str | Path, data: Path, validation: ValidationConfig) -> dict:
    """AMG metrics of a model on the held-out pages."""
    pages = load_splits(data, DatasetConfig(cache=False), None).val
    return amg_metrics(load_model(model).sam, pages, validation)


def before_metrics(work: Path, model: str, data: Path, validation: ValidationConfig) -> dict:
    """The starting model's score, cached in WORK (it is the same for every recipe run)."""
    key = json.dumps([model, load_model(model).sha256, vars(validation)], default=str,
                     sort_keys=True)
    cache = work / "before.json"
    if cache.exists() and json.loads(cache.read_text())["key"] == key:
        return json.loads(cache.read_text())["metrics"]
    metrics = amg_ap50(model, data, validation)
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
    parser.add_argument("--recipes", default="planseg,usual")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a training setting for both recipes (repeatable)")
    args = parser.parse_args()
    data = make_data(args.work, args.train_pages, args.val_docs, args.dpi)
    # the AMG thresholds segment would use with the starting model (its calibrated
    # amg_defaults, else SAM's), the same for every row
    thresholds = load_model(args.model).meta.get("amg_defaults", {})
    validation = ValidationConfig(points_per_side=args.points_per_side, **thresholds)
    print("AMG thresholds:", thresholds or "SAM's defaults")
    before = before_metrics(args.work, args.model, data, validation)
    rows = [("before fine-tuning", before, 0.0, 0)]
    shared = finetune_settings(args.minutes, args.set)
    print("fine-tuning settings of both recipes:", shared)
    for key in args.recipes.split(","):
        name, overrides = RECIPES[key]
        out = args.work / f"run-{key}"
        shutil.rmtree(out, ignore_errors=True)
        config = load_config(TrainConfig, None, {
            "data": data, "out": out, "model.name": args.model, "fabric.accelerator": "cpu",
            **shared, **overrides})
        started = time.perf_counter()
        summary = run(config)
        minutes = (time.perf_counter() - started) / 60
        after = amg_ap50(_last_weights(out, summary), data, validation)
        rows.append((name, after, minutes, summary["steps"]))
    print("| model | AMG AP50 | AMG AP | masks/page | train min | steps |")
    print("|---|---|---|---|---|---|")
    for name, metrics, minutes, steps in rows:
        print(f"| {name} | {metrics['ap50']:.3f} | {metrics['ap']:.3f} | "
              f"{metrics['masks_per_page']:.1f} | {minutes:.1f} | {steps} |")


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
