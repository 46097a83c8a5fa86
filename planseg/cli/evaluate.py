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
         ("predictions", "predictions"), ("polygons per GT zone", "polygons_per_gt_zone"),
         ("predictions on pages without GT zones", "predictions_on_empty_pages"))
_CLASS_ROWS = (("class accuracy (matched, IoU >= 0.5)", "class_accuracy"),
               ("matched with a class", "class_coverage"), ("matched", "class_matched"),
               ("class-aware AP [.5:.95]", "class_ap"), ("class-aware AP50", "class_ap50"),
               ("class-aware AP75", "class_ap75"))
_PER_CLASS = (("GT zones", "gt_zones"), ("matched", "matched"), ("correct", "correct"),
              ("accuracy", "accuracy"), ("AP50", "ap50"), ("AP [.5:.95]", "ap"))


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
    the share of GT zones matched at IoU >= 0.5, the mean best IoU and polygons per GT zone.
    Where the GT has classes (categories, or zone_code/class fields), also the class
    accuracy of matched polygons, class-aware AP and a per-class table.

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
    columns = [report["metrics"]]
    if report["baseline_metrics"] is not None:
        table.add_column("baseline", justify="right")
        columns.append(report["baseline_metrics"])
    for label, key in _ROWS:
        table.add_row(label, *(_cell(c[key]) for c in columns))
    classes = [report["class_metrics"], report.get("baseline_class_metrics")][:len(columns)]
    if classes[0] is not None:
        table.add_section()
        for label, key in _CLASS_ROWS:
            table.add_row(label, *(_cell(c[key]) for c in classes))
    Console().print(table)
    if classes[0] is not None:
        Console().print(_per_class_table(classes[0]))
    if report["figures"]:
        Console().print(f"{len(report['figures'])} figures in {Path(report['figures'][0]).parent}")


def _per_class_table(metrics: dict[str, Any]):
    from rich.table import Table

    table = Table(title="per class (predicted)")
    table.add_column("class")
    for label, _ in _PER_CLASS:
        table.add_column(label, justify="right")
    for row in metrics["per_class"]:
        table.add_row(row["code"], *(_cell(row[key]) for _, key in _PER_CLASS))
    return table


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def register(app: typer.Typer) -> None:
    """Attach ``planseg evaluate`` to the main app."""
    app.command("evaluate")(evaluate)
