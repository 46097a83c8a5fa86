"""``planseg rasterize``: pages of PDFs and images to PNG, with a COCO images.json."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from planseg.errors import ExitCode


def rasterize(
    inputs: Annotated[list[Path] | None, typer.Argument(
        help="PDF/PNG/JPEG/TIFF files or folders (searched recursively).")] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Output folder: OUT/<document>/page-0001.png and OUT/images.json.")]
    = None,
    dpi: Annotated[float | None, typer.Option(
        help="Resolution; unset: 150, or the largest under --max-pixels if that is given.")]
    = None,
    max_pixels: Annotated[int | None, typer.Option(
        help="Pixel budget per page; with --dpi, larger pages fail instead of shrinking.")]
    = None,
    workers: Annotated[int | None, typer.Option(
        help="Rendering processes; unset: the CPU count.")] = None,
    config: Annotated[Path | None, typer.Option(
        "--config", exists=True, dir_okay=False,
        help="YAML/TOML file with these settings; flags override it.")] = None,
) -> None:
    """Render every page to PNG: OUT/<document>/page-0001.png + OUT/images.json.

    images.json is COCO (images, no annotations); each image carries pdf,
    page, dpi and pixel_to_pdf (full-page pixel -> PDF points), ready to
    import into annotation tools. Re-runs skip pages already rendered from
    the same input bytes and settings. Exit code 1 when some files or pages
    failed (the others are still written).
    """
    from planseg.config import load_config
    from planseg.ingest.rasterize import run
    from planseg.ingest.rasterize_config import RasterizeConfig

    overrides = {"inputs": inputs or None, "out": out, "dpi": dpi, "max_pixels": max_pixels,
                 "workers": workers}
    summary = run(load_config(RasterizeConfig, config, overrides))
    if summary.failures:
        raise typer.Exit(int(ExitCode.input_failed))


def register(app: typer.Typer) -> None:
    """Attach ``planseg rasterize`` to the main app."""
    app.command("rasterize")(rasterize)
