"""Rebuild the embedded default model ``planseg-default`` from scratch, on a CPU.

Recipe: ``planseg synth`` pages of both styles (vector and scan) -> ``planseg train`` of the
``small`` architecture from random initialisation within a time budget -> the best checkpoint
(by AMG AP on held-out pages) stored as fp16 in ``planseg/models/weights/planseg-default.pt``
with this recipe inside it, and the AMG thresholds that maximise AMG AP on held-out pages
(``amg_defaults``: ``planseg segment`` uses them where the user sets none). Run from the
repository root (``--store-only`` redoes just the calibration and storing)::

    .venv/bin/python benchmarks/build_default_model.py --work /tmp/default-model --minutes 95
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "planseg" / "models" / "weights" / "planseg-default.pt"
SYNTH = [  # (subfolder, docs, seed, style)
    ("vector", 96, 101, "vector"),
    ("scan", 48, 202, "scan"),
]
DPI = 72
CALIBRATION_PAGES = 4


def planseg(*args: str) -> None:
    """Run one planseg command in a subprocess, failing loudly."""
    command = [sys.executable, "-m", "planseg", *args]
    print("+", " ".join(command), flush=True)
    subprocess.run(command, check=True)


def merge_datasets(parts: list[Path], out: Path) -> dict[str, int]:
    """Merge several ``synth --val-fraction`` layouts into one train/val layout (ids renumbered)."""
    counts = {}
    for split in ("train", "val"):
        merged = {"images": [], "annotations": [], "categories": None}
        (out / split / "images").mkdir(parents=True, exist_ok=True)
        for part in parts:
            coco = json.loads((part / split / "annotations.json").read_text())
            merged["categories"] = coco["categories"]
            id_map = {}
            for image in coco["images"]:
                new_name = f"{part.name}-{image['file_name']}"
                shutil.copy(part / split / "images" / image["file_name"],
                            out / split / "images" / new_name)
                id_map[image["id"]] = len(merged["images"]) + 1
                merged["images"].append({**image, "id": id_map[image["id"]],
                                         "file_name": new_name,
                                         "pdf": f"{part.name}/{image['pdf']}"})
            for ann in coco["annotations"]:
                merged["annotations"].append({**ann, "id": len(merged["annotations"]) + 1,
                                              "image_id": id_map[ann["image_id"]]})
        (out / split / "annotations.json").write_text(json.dumps(merged))
        counts[split] = len(merged["images"])
    return counts


# num_epochs sizes the cosine schedule to the budget (~150 s per epoch on 2 quiet cores);
# max_minutes only guards against a slower machine.
TRAIN_CONFIG = {
    "batch_size": 2,
    "num_epochs": 34,
    "seed": 0,
    "dataset": {"crops_per_page": 1, "max_instances": 16},
    "optim": {"learning_rate": 1e-3, "scheduler": "cosine", "warmup_steps": 100,
              "min_lr": 1e-5},
    "validation": {"eval_interval": 3, "max_pages": 8, "points_per_side": 16},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--minutes", type=float, default=95.0)
    parser.add_argument("--store-only", action="store_true",
                        help="skip synth and training: calibrate and store WORK/run again")
    parser.add_argument("--styles", default="vector,scan",
                        help="synth styles to train on (vector-only builds a start model that "
                             "has never seen scans, for the fine-tuning experiment of issue 4)")
    parser.add_argument("--epochs", type=int, default=TRAIN_CONFIG["num_epochs"],
                        help="epochs of the cosine schedule (size it to --minutes)")
    parser.add_argument("--target", type=Path, default=TARGET,
                        help="where to store the model (default: the packaged default)")
    args = parser.parse_args()
    args.synth = [part for part in SYNTH if part[3] in args.styles.split(",")]
    if not args.synth:
        parser.error(f"--styles {args.styles!r}: none of {', '.join(p[3] for p in SYNTH)}")
    if args.store_only:
        config = yaml.safe_load((args.work / "train.yaml").read_text())
        counts = {split: len(json.loads((args.work / "data" / split / "annotations.json")
                                        .read_text())["images"]) for split in ("train", "val")}
        with open(args.work / "run" / "metrics.csv") as rows:
            seconds = sum(float(r["seconds"] or 0) + float(r["val_seconds"] or 0)
                          for r in csv.DictReader(rows))
        store(args, config, counts, seconds)
        return
    started = time.time()
    parts = []
    for name, docs, seed, style in args.synth:
        planseg("synth", str(args.work / name), "--docs", str(docs), "--seed", str(seed),
                "--dpi", str(DPI), "--style", style, "--val-fraction", "0.1")
        parts.append(args.work / name)
    counts = merge_datasets(parts, args.work / "data")
    config = {**TRAIN_CONFIG, "num_epochs": args.epochs, "max_minutes": args.minutes}
    (args.work / "train.yaml").write_text(yaml.safe_dump(config))
    planseg("train", "--data", str(args.work / "data"), "--out", str(args.work / "run"),
            "--model", "small", "--accelerator", "cpu", "--config", str(args.work / "train.yaml"))
    store(args, config, counts, time.time() - started)


def store(args: argparse.Namespace, config: dict, counts: dict[str, int], seconds: float) -> None:
    """Save best.pt as fp16 at ``--target`` (the embedded default unless given), with its
    recipe."""
    import torch

    from planseg.models.checkpoints import load_model, save_planseg_checkpoint

    best = load_model(args.work / "run" / "best.pt")
    if not best.meta.get("metrics", {}).get("val_ap"):
        # no validation reached AMG AP > 0 (an under-trained model passes none of SAM's default
        # filters), so best-by-AP carries no signal: ship the last, most-trained weights
        state = torch.load(args.work / "run" / "last.ckpt", weights_only=True)["model"]
        best.sam.load_state_dict({k.removeprefix("sam."): v for k, v in state.items()})
        with open(args.work / "run" / "metrics.csv") as rows:  # and the last epoch's metrics
            best.meta["metrics"] = {k: float(v) for k, v in list(csv.DictReader(rows))[-1]
                                    .items() if v}
    recipe = {
        "command": "python benchmarks/build_default_model.py --work DIR "
                   f"--minutes {args.minutes:g} --styles {args.styles} --epochs {args.epochs}",
        "synth": [{"docs": d, "seed": s, "style": st, "dpi": DPI}
                  for _, d, s, st in args.synth],
        "pages": counts, "train_config": config, "seconds": round(seconds),
        "note": "suits clean planning-map styles; fine-tune a SAM checkpoint with "
                "`planseg train` for real work",
    }
    extra = {"recipe": recipe}
    save_planseg_checkpoint(args.target, best.sam, best.arch,
                            train_config=best.meta.get("train_config", {}),
                            metrics=best.meta.get("metrics", {}), extra=extra, half=True)
    shipped = load_model(args.target)  # calibrate the fp16 weights segment will actually load
    extra["amg_defaults"], extra["amg_calibration"] = calibrate(shipped.sam, args.work / "data")
    print("AMG thresholds:", extra["amg_defaults"])
    save_planseg_checkpoint(args.target, shipped.sam, shipped.arch,
                            train_config=best.meta.get("train_config", {}),
                            metrics=best.meta.get("metrics", {}), extra=extra, half=True)
    print(f"wrote {args.target} ({args.target.stat().st_size / 1e6:.1f} MB) in "
          f"{seconds / 60:.1f} min")


def calibrate(sam, data: Path) -> tuple[dict, list[dict]]:
    """The AMG thresholds that maximise AMG AP on the first held-out pages (``planseg train``'s
    calibration, see :mod:`planseg.train.calibrate`)."""
    from planseg.train.calibrate import calibrate_thresholds
    from planseg.train.config import DatasetConfig
    from planseg.train.data import load_splits

    pages = [p for p in load_splits(data, DatasetConfig(cache=False), None).val if p.rles]
    defaults, trials = calibrate_thresholds(sam, pages[:CALIBRATION_PAGES], points_per_side=16)
    for trial in trials:
        print(trial, flush=True)
    return defaults, trials


if __name__ == "__main__":
    main()
