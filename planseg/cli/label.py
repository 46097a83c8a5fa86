"""``planseg label``: the vector zones of planning PDFs as a COCO training set."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from planseg.errors import ExitCode


def label(
    inputs: Annotated[list[Path] | None, typer.Argument(
        help="PDF files or folders (searched recursively).")] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Dataset folder, as `planseg train --data` reads it.")] = None,
    dpi: Annotated[float | None, typer.Option(
        help="Resolution of page images and masks; unset: 100, lowered to fit "
             "--max-pixels.")] = None,
    max_pixels: Annotated[int | None, typer.Option(
        help="Pixel budget per page image; with --dpi, larger pages fail instead of "
             "shrinking.")] = None,
    val_fraction: Annotated[float | None, typer.Option(
        help="Share of the documents in OUT/val (split by document); unset: one pool "
             "OUT/data.")] = None,
    scan_copies: Annotated[int | None, typer.Option(
        help="Degraded 'scanned' copies per page (skew, blur, noise, paper tint, JPEG); "
             "the masks follow. Unset: 0.")] = None,
    seed: Annotated[int | None, typer.Option(
        help="Seed of the scan copies and the split. Unset: 0.")] = None,
    workers: Annotated[int | None, typer.Option(
        help="Page worker processes; unset: the CPU count.")] = None,
    config: Annotated[Path | None, typer.Option(
        "--config", exists=True, dir_okay=False,
        help="YAML/TOML file with these settings (and vector.*); flags override it.")] = None,
) -> None:
    """Write every page's vector zones as COCO training data: OUT/data/{images/,annotations.json}.

    Each filled zone of the drawing becomes a mask with its legend class where the legend
    names it; pages without vector zones (text pages, scans) are listed in OUT/label.json
    and skipped. Re-runs skip pages already labelled from the same bytes and settings.
    Exit code 1 when some files or pages failed (the others are still written).
    """
    from planseg.config import load_config
    from planseg.export.label import run
    from planseg.export.label_config import LabelConfig

    overrides = {"inputs": inputs or None, "out": out, "dpi": dpi, "max_pixels": max_pixels,
                 "val_fraction": val_fraction, "scan_copies": scan_copies, "seed": seed,
                 "workers": workers}
    summary = run(load_config(LabelConfig, config, overrides))
    if summary.failures:
        raise typer.Exit(int(ExitCode.input_failed))


def register(app: typer.Typer) -> None:
    """Attach ``planseg label`` to the main app."""
    app.command("label")(label)
