"""``planseg evaluate``: score predicted masks against ground truth (COCO files)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

_ROWS = (("AP [.5:.95]", "ap"), ("AP50", "ap50"), ("AP75", "ap75"), ("AR [.5:.95]", "ar"),
         ("GT zones matched (IoU >= 0.5)", "matched_fraction"),
         ("mean best IoU", "mean_best_iou"), ("GT pages", "gt_pages"),
         ("pages with predictions", "matched_pages"), ("GT zones", "gt_zones"),
         ("predictions", "predictions"))


def evaluate(
    pred: Annotated[Path | None, typer.Option(
        "--pred", dir_okay=False, help="COCO file of predictions (e.g. DIR/coco.json).")]
    = None,
    gt: Annotated[Path | None, typer.Option(
        "--gt", dir_okay=False, help="COCO file of ground truth (e.g. synth's "
                                     "annotations.json).")] = None,
    json_output: Annotated[bool, typer.Option(
        "--json", help="Print the report as one JSON object instead of a table.")] = False,
    figures: Annotated[Path | None, typer.Option(
        "--figures", file_okay=False,
        help="Write per-page panels original | GT | predicted [| baseline] here.")] = None,
    baseline: Annotated[Path | None, typer.Option(
        "--baseline", dir_okay=False,
        help="A second prediction file (e.g. before fine-tuning), scored and drawn too.")]
    = None,
    max_figures: Annotated[int | None, typer.Option(
        help="Write panels for at most this many pages. [default: all]")] = None,
    config: Annotated[Path | None, typer.Option(
        "--config", exists=True, dir_okay=False,
        help="YAML/TOML file with these settings; flags override it.")] = None,
) -> None:
    """Score predicted masks against ground truth: class-agnostic COCO AP, AP50, AP75, AR,
    the share of GT zones matched at IoU >= 0.5 and the mean best IoU.

    Pages are matched by (pdf, page), else by file_name; GT pages without predictions
    count as misses.
    """
    from planseg.config import load_config
    from planseg.export.evaluate import EvaluateConfig, run

    overrides = {"pred": pred, "gt": gt, "baseline": baseline, "figures": figures,
                 "max_figures": max_figures}
    report = run(load_config(EvaluateConfig, config, overrides))
    if json_output:
        typer.echo(json.dumps(report))
    else:
        _print_table(report)


def _print_table(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{report['pred']} vs {report['gt']}")
    table.add_column("metric")
    table.add_column("predicted", justify="right")
    if report["baseline_metrics"] is not None:
        table.add_column("baseline", justify="right")
    for label, key in _ROWS:
        values = [report["metrics"][key]]
        if report["baseline_metrics"] is not None:
            values.append(report["baseline_metrics"][key])
        table.add_row(label, *(f"{v:.3f}" if isinstance(v, float) else str(v) for v in values))
    Console().print(table)
    if report["figures"]:
        Console().print(f"{len(report['figures'])} figures in {Path(report['figures'][0]).parent}")


def register(app: typer.Typer) -> None:
    """Attach ``planseg evaluate`` to the main app."""
    app.command("evaluate")(evaluate)
