"""``planseg models``: list architectures and official checkpoints, inspect, verify, export."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from planseg.cli import PlansegGroup

models_app = typer.Typer(cls=PlansegGroup, no_args_is_help=True,
                         help="List, inspect, verify and export SAM models.")

_JSON = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of text.")]


@models_app.command("list")
def list_command(json_output: _JSON = False) -> None:
    """List architectures (input size, parameters) and official SAM files with SHA-256.

    Check a downloaded official checkpoint with `planseg models verify FILE`.
    """
    from planseg.models.catalog import list_models

    listing = list_models()
    if json_output:
        typer.echo(json.dumps(listing))
        return
    typer.echo("Architectures:")
    for arch in listing["architectures"]:
        typer.echo(f"  {arch['name']:<6} {arch['img_size_px']:>5} px  "
                   f"{arch['parameters']:>12,} params  {arch['description']}")
    typer.echo(f"Official SAM checkpoints ({listing['sha256_source']}):")
    for known in listing["official_checkpoints"]:
        typer.echo(f"  {known['filename']:<22} {known['arch']:<6} "
                   f"{known['size_bytes']:>14,} bytes  sha256 {known['sha256']}")
    default = listing["default_model"]
    state = "installed" if default["installed"] else "not installed"
    typer.echo(f"Default model: {default['name']} ({state}: {default['path']})")


@models_app.command("info")
def info_command(
    model: Annotated[str, typer.Argument(
        help="Checkpoint path, architecture name or planseg-default.")],
    json_output: _JSON = False,
) -> None:
    """Show a model's architecture, parameter count, origin, SHA-256 and training metadata."""
    from planseg.models.catalog import describe
    from planseg.models.checkpoints import load_model

    info = describe(load_model(model))
    if json_output:
        typer.echo(json.dumps(info, default=str))
        return
    for key, value in info.items():
        shown = json.dumps(value, default=str) if isinstance(value, dict | list) else value
        typer.echo(f"{key}: {shown}")


@models_app.command("verify")
def verify_command(
    path: Annotated[Path, typer.Argument(dir_okay=False, help="Downloaded checkpoint file.")],
) -> None:
    """Check a checkpoint file against the published SHA-256 of the official SAM files.

    Exit 0 when it matches one; exit 2 when it is damaged, different or unknown.
    """
    from planseg.models.catalog import verify_checkpoint

    known = verify_checkpoint(path)
    typer.echo(f"{path}: OK, {known.filename} ({known.arch}), sha256 {known.sha256}")


@models_app.command("export")
def export_command(
    model: Annotated[str, typer.Argument(
        help="Checkpoint path (official, planseg or LoRA), architecture name or "
             "planseg-default.")],
    to: Annotated[Path, typer.Option("--to", dir_okay=False,
                                     help="Output file: a plain fp32 state_dict.")],
) -> None:
    """Write a plain fp32 state_dict (LoRA merged) that stock segment-anything loads.

    For vit_b/vit_l/vit_h: segment_anything.sam_model_registry["vit_b"](checkpoint=FILE).
    """
    from planseg.models.catalog import export_state_dict
    from planseg.models.checkpoints import load_model

    result = export_state_dict(load_model(model), to)
    how = (f"segment_anything.sam_model_registry[{result['arch']!r}](checkpoint={str(to)!r})"
           if result["official_arch"] else
           f"planseg.models.registry.build_sam({result['arch']!r}).load_state_dict(...) "
           "or planseg segment --model FILE")
    typer.echo(f"wrote {to} ({result['arch']}, {result['tensors']} tensors); load with {how}")


def register(app: typer.Typer) -> None:
    """Attach ``planseg models ...`` to the main app."""
    app.add_typer(models_app, name="models")
