"""``planseg synth``: synthetic zoning plans with COCO ground truth."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from planseg.synth.config import SynthConfig  # a plain dataclass: cheap to import


def _default(name: str) -> str:
    """The config's default, shown in --help (flags default to None = "not given")."""
    return str(getattr(SynthConfig(), name))


class StyleChoice(StrEnum):
    """Values of ``--style``."""

    vector = "vector"
    scan = "scan"


class LookChoice(StrEnum):
    """Values of ``--look``."""

    classic = "classic"
    bplan = "bplan"
    lineplan = "lineplan"
    handcolour = "handcolour"
    ortho = "ortho"


class SheetChoice(StrEnum):
    """Values of ``--sheet``."""

    A4 = "A4"
    A3 = "A3"
    A2 = "A2"


def synth(
    out: Annotated[Path, typer.Argument(help="Output folder (new, empty, or a previous synth "
                                        "run, which is replaced).")],
    docs: Annotated[int | None, typer.Option(
        help="Number of documents.", show_default=_default("docs"))] = None,
    seed: Annotated[int | None, typer.Option(
        help="Random seed: same seed, same bytes.", show_default=_default("seed"))] = None,
    dpi: Annotated[float | None, typer.Option(
        help="Resolution of the rendered pages and ground truth.",
        show_default=_default("dpi"))] = None,
    style: Annotated[StyleChoice | None, typer.Option(
        help="vector PDFs, or scan: skewed noisy JPEG pages without a text layer.",
        show_default=_default("style"))] = None,
    val_fraction: Annotated[float | None, typer.Option(
        help="Split documents into OUT/train and OUT/val; unset: one pool in OUT/data.")]
    = None,
    sheet: Annotated[SheetChoice | None, typer.Option(
        help="Sheet size of the map pages; unset: a seeded mix of A3 and A2.")] = None,
    look: Annotated[LookChoice | None, typer.Option(
        help="classic, or bplan: a German Bebauungsplan (pastel tints under dense hatch and "
             "dot signatures, parcel grid, building envelopes, street casings), or lineplan: "
             "its black-and-white print, or handcolour: an old plan coloured by hand (uneven "
             "paint spilling past the outlines, no vector zones), or ortho: semi-transparent "
             "zones over an aerial photo; works with either --style.",
        show_default=_default("look"))] = None,
    config: Annotated[Path | None, typer.Option(
        "--config", exists=True, dir_okay=False,
        help="YAML/TOML file with these settings; flags override it.")] = None,
) -> None:
    """Generate synthetic zoning-plan PDFs with COCO ground truth (pages rendered at --dpi).

    Writes OUT/pdfs/*.pdf, OUT/data/{images/,annotations.json} (or OUT/train and OUT/val
    with --val-fraction) and the resolved settings in OUT/synth.yaml.
    """
    from planseg.config import load_config
    from planseg.synth import run

    overrides = {"out_dir": out, "docs": docs, "seed": seed, "dpi": dpi,
                 "style": style.value if style else None, "val_fraction": val_fraction,
                 "sheet": sheet.value if sheet else None, "look": look.value if look else None}
    run(load_config(SynthConfig, config, overrides))  # logs a one-line summary


def register(app: typer.Typer) -> None:
    """Attach ``planseg synth`` to the main app."""
    app.command("synth")(synth)
