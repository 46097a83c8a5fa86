"""``planseg segment``: every page of every document -> polygons (GeoJSON, COCO, GeoPackage)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from planseg.cli.choices import AcceleratorChoice, CrsChoice, EngineChoice, PagesChoice
from planseg.errors import ExitCode

if TYPE_CHECKING:
    from planseg.infer.pipeline import Outcome

log = logging.getLogger("planseg.cli.segment")


def segment(
    ctx: typer.Context,
    inputs: Annotated[list[Path] | None, typer.Argument(
        help="PDF/PNG/JPEG/TIFF files or folders (searched recursively).")] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Output folder: DIR/<document>.geojson, DIR/coco.json, "
                            "DIR/run.json.")] = None,
    model: Annotated[str | None, typer.Option(
        help="planseg-default, a registry architecture or a checkpoint path. "
             "[default: planseg-default]")] = None,
    config: Annotated[Path | None, typer.Option(
        "--config", exists=True, dir_okay=False,
        help="YAML/TOML file with any segment key (README: Configuration reference); "
             "flags override it.")]
    = None,
    dpi: Annotated[float | None, typer.Option(help="Page resolution. [default: 150]")] = None,
    pages: Annotated[PagesChoice | None, typer.Option(
        help="maps: text, table and blank pages get no zones; all: SAM segments them too "
             "(engine auto). [default: maps]")] = None,
    engine: Annotated[EngineChoice | None, typer.Option(
        help="auto: the page's own vector zones where it has them, no zones on text pages, "
             "colour regions on other maps, SAM where they find none; vector, regions or "
             "sam: that engine on every page. [default: auto]")]
    = None,
    devices: Annotated[int | None, typer.Option(
        help="Device processes per node (GPUs, or CPU processes). [default: 1]")] = None,
    accelerator: Annotated[AcceleratorChoice | None, typer.Option(
        help="auto, cpu or gpu. [default: auto]")] = None,
    num_nodes: Annotated[int | None, typer.Option(
        help="Nodes, for torchrun / SLURM launches. [default: 1]")] = None,
    formats: Annotated[str | None, typer.Option(
        help="Comma-separated: geojson, coco, gpkg. [default: geojson,coco]")] = None,
    crs: Annotated[CrsChoice | None, typer.Option(
        help="auto (WGS84 for GeoPDFs, else PDF points), page or pixel. [default: auto]")]
    = None,
    previews: Annotated[bool | None, typer.Option(
        "--previews", help="Write DIR/previews/<document>-p<page>.png overlays.")] = None,
    force: Annotated[bool | None, typer.Option(
        "--force", help="Redo every document, even those up to date.")] = None,
    workers: Annotated[int | None, typer.Option(
        help="Render/export worker processes per device process; 0: in-process. "
             "[default: min(4, CPUs)]")] = None,
) -> None:
    """Segment every page with Segment Anything and write polygons.

    Re-runs skip documents already done with the same bytes, model and settings (exit 0);
    a document that cannot be read is recorded in DIR/run.json and the others go on
    (exit 1 at the end). A second run on the same DIR exits 75 at once.
    """
    from planseg.config import load_config
    from planseg.infer.config import SegmentConfig
    from planseg.infer.run import run
    from planseg.logs import progress_enabled

    overrides = {
        "inputs": inputs or None, "out": out, "model": model, "dpi": dpi, "devices": devices,
        "engine": engine.value if engine else None, "pages": pages.value if pages else None,
        "accelerator": accelerator.value if accelerator else None, "num_nodes": num_nodes,
        "workers": workers, "force": force, "export.formats": formats,
        "export.crs": crs.value if crs else None, "export.previews": previews}
    resolved = load_config(SegmentConfig, config, overrides)
    options = ctx.obj
    show_bars = (progress_enabled(getattr(options, "log_format", "text"))
                 and not getattr(options, "quiet", False))
    if show_bars:
        with RichProgress() as progress:
            summary = run(resolved, progress)
    else:
        summary = run(resolved)
    if summary.failed:
        raise typer.Exit(int(ExitCode.input_failed))


class RichProgress:
    """Documents and pages bars with ETA, for a person at a terminal."""

    def __init__(self) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self._bars = Progress(TextColumn("{task.description}"), BarColumn(),
                              MofNCompleteColumn(), TimeRemainingColumn(), transient=False)
        self._documents = self._bars.add_task("documents", total=0)
        self._pages = self._bars.add_task("pages", total=0)

    def __enter__(self) -> RichProgress:
        self._bars.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._bars.stop()

    def add_documents(self, count: int) -> None:
        task = self._bars.tasks[self._documents]
        self._bars.update(self._documents, total=(task.total or 0) + count)

    def add_pages(self, count: int) -> None:
        task = self._bars.tasks[self._pages]
        self._bars.update(self._pages, total=(task.total or 0) + count)

    def page_done(self) -> None:
        self._bars.advance(self._pages)

    def document_done(self, outcome: Outcome) -> None:
        self._bars.advance(self._documents)


def register(app: typer.Typer) -> None:
    """Attach ``planseg segment`` to the main app."""
    app.command("segment")(segment)
