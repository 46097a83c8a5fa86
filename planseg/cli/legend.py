"""``planseg legend``: print the legend read from each page, to check it before a bulk run."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated, Any

import typer

from planseg.errors import ExitCode

log = logging.getLogger("planseg.cli")


def legend(
    inputs: Annotated[list[Path], typer.Argument(
        help="PDF/PNG/JPEG/TIFF files or folders (searched recursively).")],
    json_output: Annotated[bool, typer.Option(
        "--json", help="One JSON object on stdout: documents -> pages -> legend entries.")]
    = False,
) -> None:
    """Print each page's legend: swatch colour, code and name (and the notes on pages where
    it could not be read). Exit code 1 when some files could not be read."""
    from planseg.errors import InputError
    from planseg.ingest.documents import discover, open_document
    from planseg.ingest.legend import read_legend

    documents: list[dict[str, Any]] = []
    failed = False
    for item in discover(inputs):
        try:
            if isinstance(item, InputError):
                raise item
            with open_document(item.path) as doc:
                pages = [{"page": i + 1, **read_legend(doc, i).to_json()}
                         for i in range(doc.page_count)]
        except InputError as exc:
            log.error("%s", exc)
            failed = True
            continue
        documents.append({"document": item.name, "pages": pages})
    if json_output:
        typer.echo(json.dumps({"documents": documents}, ensure_ascii=False))
    else:
        _print_tables(documents)
    if failed:
        raise typer.Exit(int(ExitCode.input_failed))


def _print_tables(documents: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console()
    for document in documents:
        for page in document["pages"]:
            title = f"{document['document']} page {page['page']}: {page['source'] or 'no legend'}"
            table = Table(title=title, title_justify="left")
            for column in ("colour", "hatch", "code", "name"):
                table.add_column(column)
            for entry in page["entries"]:
                table.add_row(_swatch(entry["rgb"]), _swatch(entry["hatch_rgb"]),
                              entry["code"] or "-", entry["label"] or "-")
            if page["entries"]:
                console.print(table)
            else:
                console.print(Text(title, style="bold"))
            for note in page["notes"]:
                console.print(Text(f"  note: {note}", style="dim"))


def _swatch(hex_rgb: str | None):
    from rich.text import Text

    if hex_rgb is None:
        return "-"
    return Text.assemble(("\u2588\u2588", hex_rgb), f" {hex_rgb}")


def register(app: typer.Typer) -> None:
    """Attach ``planseg legend`` to the main app."""
    app.command("legend")(legend)
