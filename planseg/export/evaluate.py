"""``planseg evaluate``: score a prediction file (and a baseline) against ground truth and
draw comparison figures. The scores themselves are :mod:`planseg.export.metrics`."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from planseg.config import write_resolved_config
from planseg.export.coco import read_coco
from planseg.export.figures import write_figures
from planseg.export.metrics import class_metrics, coco_metrics

log = logging.getLogger(__name__)


@dataclass
class EvaluateConfig:
    """``planseg evaluate``: score predicted masks against ground truth (COCO files)."""

    pred: Path | None = field(default=None, metadata={
        "help": "COCO file of predictions (e.g. DIR/coco.json of planseg segment)"})
    gt: Path | None = field(default=None, metadata={
        "help": "COCO file of ground truth (e.g. planseg synth's annotations.json)"})
    baseline: Path | None = field(default=None, metadata={
        "help": "optional second prediction file scored and drawn beside the first"})
    figures: Path | None = field(default=None, metadata={
        "help": "folder for per-page comparison panels (original | GT | predicted)"})
    max_figures: int | None = field(default=None, metadata={
        "help": "write panels for at most this many pages (all when unset)"})

    def problems(self) -> list[str]:
        """Missing required files, reported together."""
        found = [f"{name}: required" for name in ("pred", "gt") if getattr(self, name) is None]
        if self.max_figures is not None and self.max_figures < 0:
            found.append(f"max_figures: must be >= 0, got {self.max_figures}")
        return found


def run(config: EvaluateConfig) -> dict[str, Any]:
    """Score ``config.pred`` (and ``config.baseline``) against ``config.gt``; write figures.

    Returns ``{"gt", "pred", "metrics", "class_metrics", "baseline", "baseline_metrics",
    "baseline_class_metrics", "figures"}`` (paths as strings; class entries None when the GT
    has no classes, baseline entries None without a baseline). Raises DatasetError naming a
    file that cannot be read.
    """
    gt = read_coco(config.gt)
    pred = read_coco(config.pred)
    baseline = read_coco(config.baseline) if config.baseline is not None else None
    report: dict[str, Any] = {
        "gt": str(config.gt), "pred": str(config.pred), "metrics": coco_metrics(gt, pred),
        "class_metrics": class_metrics(gt, pred),
        "baseline": None if baseline is None else str(config.baseline),
        "baseline_metrics": None if baseline is None else coco_metrics(gt, baseline),
        "baseline_class_metrics": None if baseline is None else class_metrics(gt, baseline),
        "figures": []}
    if config.figures is not None:
        panels = [("predicted", pred)] + ([("baseline", baseline)] if baseline else [])
        paths = write_figures(config.figures, gt, config.gt, panels,
                              max_pages=config.max_figures)
        write_resolved_config(config, Path(config.figures) / "evaluate.yaml")
        report["figures"] = [str(p) for p in paths]
    log.info("AP %.3f, AP50 %.3f over %d GT pages", report["metrics"]["ap"],
             report["metrics"]["ap50"], report["metrics"]["gt_pages"])
    return report
