"""``planseg train``: fine-tune SAM on COCO-annotated pages with Lightning Fabric."""

from __future__ import annotations

import logging
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from planseg.cli.choices import AcceleratorChoice

log = logging.getLogger("planseg.cli.train")


class MethodChoice(StrEnum):
    """Values of ``--method``."""

    full = "full"
    decoder = "decoder"
    lora = "lora"


class PrecisionChoice(StrEnum):
    """Values of ``--precision``."""

    p32 = "32"
    bf16_mixed = "bf16-mixed"
    fp16_mixed = "16-mixed"


def train(
    ctx: typer.Context,
    data: Annotated[Path | None, typer.Option(
        "--data", help="Dataset: DATA/data/{images/,annotations.json} or DATA/train + "
                       "DATA/val (e.g. from `planseg synth`).")] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Run folder: last.ckpt, best.pt, config.yaml, metrics.csv, curves.png, "
                      "tensorboard/.")] = None,
    config: Annotated[Path | None, typer.Option(
        "--config", exists=True, dir_okay=False,
        help="YAML/TOML file with any training key (README: Configuration reference); "
             "flags override it.")]
    = None,
    model: Annotated[str | None, typer.Option(
        "--model", help="Registry name (tiny, small, vit_b, planseg-default, ...) or checkpoint "
                        "path. [default: planseg-default]")] = None,
    method: Annotated[MethodChoice | None, typer.Option(
        help="full, decoder (mask decoder only) or lora (image-encoder adapters). "
             "[default: full]")] = None,
    epochs: Annotated[int | None, typer.Option(help="Training epochs. [default: 10]")] = None,
    accelerator: Annotated[AcceleratorChoice | None, typer.Option(
        help="Fabric accelerator. [default: auto]")] = None,
    devices: Annotated[int | None, typer.Option(
        help="Devices (processes) per node; > 1 runs DDP. [default: 1]")] = None,
    num_nodes: Annotated[int | None, typer.Option(
        help="Nodes, for torchrun / SLURM launches. [default: 1]")] = None,
    strategy: Annotated[str | None, typer.Option(
        help="Fabric strategy (auto, ddp, fsdp, ...). [default: auto]")] = None,
    precision: Annotated[PrecisionChoice | None, typer.Option(
        help="32, bf16-mixed or 16-mixed (GPU). [default: 32]")] = None,
    resume: Annotated[bool | None, typer.Option(
        "--resume", help="Continue exactly from RUN/last.ckpt.")] = None,
) -> None:
    """Fine-tune Segment Anything so its automatic mask generator segments planning maps.

    Trains the way the AMG infers (single grid points, three masks, IoU head on every output),
    validates with the AMG and COCOeval, and keeps the best checkpoint by AMG AP in RUN/best.pt.
    """
    from planseg.config import load_config
    from planseg.logs import progress_enabled
    from planseg.train import run
    from planseg.train.config import TrainConfig

    options = ctx.obj  # GlobalOptions from the main callback (None when called bare)
    overrides = {
        "data": data, "out": out, "resume": resume, "num_epochs": epochs,
        "model.name": model, "model.method": method.value if method else None,
        "fabric.accelerator": accelerator.value if accelerator else None,
        "fabric.devices": devices, "fabric.num_nodes": num_nodes, "fabric.strategy": strategy,
        "fabric.precision": precision.value if precision else None,
        "progress": progress_enabled(getattr(options, "log_format", "text"))
        and not getattr(options, "quiet", False)}
    summary = run(load_config(TrainConfig, config, overrides))
    if summary.get("history") and summary.get("rank", 0) == 0:
        last = summary["history"][-1]
        log.info("trained %d epochs (%d steps, %.3f s/step) -> %s; last val AP %s",
                 summary["epochs"], summary["steps"], summary["seconds_per_step"],
                 summary["run_dir"], last.get("val_ap", "n/a"))


def register(app: typer.Typer) -> None:
    """Attach ``planseg train`` to the main app."""
    app.command("train")(train)
