"""The Fabric training script, in litgpt's shape: ``setup()`` -> ``fabric.launch(main)`` ->
``fit()`` / ``validate()``, with one ``state`` dict that ``fabric.save``/``fabric.load`` resume.

Reproducibility: every random choice about data (order, crops, masks, prompts) is drawn from
generators seeded by (seed, epoch, sample), and the torch RNG (dropout) is saved in
``last.ckpt``; so a run killed and resumed from its last epoch ends with exactly the weights of
an uninterrupted run on CPU, whatever the number of processes.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import replace
from pathlib import Path

import lightning as L
import torch
from lightning.fabric.loggers import TensorBoardLogger
from lightning.fabric.strategies import DDPStrategy
from torch.utils.data import DataLoader

from planseg.config import config_to_dict, write_resolved_config
from planseg.errors import ConfigError
from planseg.models.checkpoints import load_model
from planseg.train.calibrate import calibrate_thresholds
from planseg.train.config import TrainConfig, ValidationConfig
from planseg.train.data import PageRecord, load_splits
from planseg.train.model import build_model, lora_settings
from planseg.train.outputs import (
    add_to_checkpoint,
    make_progress,
    plot_curves,
    save_best,
    write_metrics_csv,
)
from planseg.train.samples import EpochSampler, PageViews, collate
from planseg.train.schedule import make_scheduler, scheduler_steps_per_batch
from planseg.train.step import PromptedSamLoss
from planseg.train.validate import amg_metrics, prompted_mean_iou

log = logging.getLogger(__name__)
LAST_CHECKPOINT = "last.ckpt"


def run(config: TrainConfig) -> dict:
    """Train as ``config`` says; return the run summary (see :func:`main`)."""
    return setup(config)


def setup(config: TrainConfig) -> dict:
    """Build ``L.Fabric`` from ``config.fabric`` and launch :func:`main` on every process."""
    run_dir = Path(config.out)
    if (run_dir / LAST_CHECKPOINT).exists() and not config.resume:
        raise ConfigError(f"{run_dir} already holds a run ({LAST_CHECKPOINT}); pass --resume to "
                          "continue it or choose a new --out")
    if config.resume and not (run_dir / LAST_CHECKPOINT).exists():
        raise ConfigError(f"--resume: {run_dir / LAST_CHECKPOINT} does not exist")
    f = config.fabric
    strategy: str | DDPStrategy = f.strategy
    if f.strategy in ("auto", "ddp") and f.devices * f.num_nodes > 1:
        # the unused multimask/single-mask heads and prompt types have no gradient each step
        strategy = DDPStrategy(find_unused_parameters=True)
    logger = TensorBoardLogger(root_dir=str(run_dir), name="tensorboard", version="")
    fabric = L.Fabric(accelerator=f.accelerator, devices=f.devices, num_nodes=f.num_nodes,
                      strategy=strategy, precision=f.precision, loggers=[logger])
    return fabric.launch(main, config)


def main(fabric: L.Fabric, config: TrainConfig) -> dict:
    """Build data, model, optimizer and state; fit; return the summary (every rank).

    Summary keys: run_dir, rank (this process's global rank), arch, epochs, steps,
    steps_per_epoch, seconds_per_step (training only, without validation), seconds (wall
    time of this invocation, validation included),
    train_pages, val_pages, train_views, best_score ([AMG AP, prompted IoU]), amg_defaults
    (the AMG thresholds calibrated for best.pt, or None), history (one dict per epoch, the
    rows of metrics.csv), dataset_notes.
    """
    fabric.seed_everything(config.seed)
    run_dir = Path(config.out)
    cache_dir = config.dataset.cache_dir or run_dir / "cache"
    splits = load_splits(Path(config.data), config.dataset, cache_dir)
    start = build_model(config.model)
    sam, arch, base = start.sam, start.arch, start.base
    # validate the AMG at the thresholds the starting model was calibrated for (SAM's 0.88 /
    # 0.95 pass nothing from a small model's head); config.yaml records what was used
    config = replace(config, validation=config.validation.with_thresholds(start.amg_defaults))
    img_size = sam.image_encoder.img_size
    model = PromptedSamLoss(sam, config.prompts, config.loss)
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ConfigError("model: every parameter is frozen; unfreeze a part or change method")
    optimizer = torch.optim.AdamW(params, lr=config.optim.learning_rate,
                                  weight_decay=config.optim.weight_decay)
    views = PageViews(splits.train, img_size=img_size, dataset=config.dataset,
                      prompts=config.prompts, seed=config.seed)
    sampler = EpochSampler(len(views), seed=config.dataloader_seed, rank=fabric.global_rank,
                           world_size=fabric.world_size)
    loader = DataLoader(views, batch_size=config.batch_size, sampler=sampler,
                        num_workers=config.num_workers, collate_fn=collate)
    steps_per_epoch = math.ceil(len(loader) / config.optim.grad_accumulation)
    scheduler = make_scheduler(optimizer, config.optim, steps_per_epoch * config.num_epochs)
    model, optimizer = fabric.setup(model, optimizer)
    loader = fabric.setup_dataloaders(loader, use_distributed_sampler=False)
    state = {"model": model, "optimizer": optimizer, "scheduler": scheduler, "epoch": 0,
             "step": 0, "best_score": [-1.0, -1.0], "history": [], "torch_rng": None}
    if config.resume:
        fabric.load(run_dir / LAST_CHECKPOINT, state)
        torch.set_rng_state(state["torch_rng"])
        if fabric.global_rank == 0:
            log.info("resumed %s at epoch %d, step %d", run_dir, state["epoch"], state["step"])
    if fabric.global_rank == 0:
        write_resolved_config(config, run_dir / "config.yaml")
        for note in splits.notes:
            log.info("dataset: %s", note)
    context = {"config": config, "run_dir": run_dir, "sam": sam, "arch": arch, "base": base,
               "val_pages": splits.val, "img_size": img_size}
    started = time.perf_counter()
    steps_before, epochs_before = state["step"], len(state["history"])
    fit(fabric, state, loader, sampler, context)
    amg_defaults = None
    if config.validation.calibrate and fabric.global_rank == 0:
        amg_defaults = calibrate_best(run_dir, config.validation, splits.val)
    amg_defaults = fabric.broadcast(amg_defaults, src=0)
    elapsed = time.perf_counter() - started
    steps = state["step"] - steps_before
    train_seconds = sum(row["seconds"] for row in state["history"][epochs_before:])
    leave_together(fabric)
    return {"run_dir": str(run_dir), "rank": fabric.global_rank, "arch": arch,
            "epochs": state["epoch"],
            "steps": state["step"], "steps_per_epoch": steps_per_epoch,
            "seconds_per_step": train_seconds / steps if steps else float("nan"),
            "seconds": elapsed, "train_pages": len(splits.train), "val_pages": len(splits.val),
            "train_views": len(views), "best_score": state["best_score"],
            "amg_defaults": amg_defaults,
            "history": state["history"], "dataset_notes": splits.notes}


def fit(fabric: L.Fabric, state: dict, loader, sampler: EpochSampler, context: dict) -> None:
    """Train from ``state['epoch']`` to ``num_epochs``, validating and checkpointing."""
    config: TrainConfig = context["config"]
    model, optimizer, scheduler = state["model"], state["optimizer"], state["scheduler"]
    accumulation = config.optim.grad_accumulation
    per_batch_scheduler = scheduler_steps_per_batch(config.optim)
    progress = make_progress(config.progress and fabric.global_rank == 0)
    budget_s = None if config.max_minutes is None else config.max_minutes * 60
    fit_started, last_epoch_s, first_epoch = time.perf_counter(), 0.0, state["epoch"]
    with progress:
        for epoch in range(state["epoch"], config.num_epochs):
            started = time.perf_counter()
            over = budget_s is not None and epoch > first_epoch \
                and started - fit_started + last_epoch_s > budget_s
            if fabric.broadcast(over, src=0):  # every rank takes rank 0's decision
                if fabric.global_rank == 0:
                    log.info("time budget of %.1f min reached after %d epochs",
                             config.max_minutes, epoch)
                break
            sampler.use_epoch(epoch)
            model.train()
            task = progress.add_task("train", total=len(loader), epoch=epoch + 1, loss=0.0)
            sums = torch.zeros(5, dtype=torch.float64)  # loss, focal, dice, iou, samples
            for batch_index, batch in enumerate(loader):
                last_of_group = (batch_index + 1) % accumulation == 0 \
                    or batch_index + 1 == len(loader)
                with fabric.no_backward_sync(model, enabled=not last_of_group):
                    losses = model(batch)
                    fabric.backward(losses["loss"] / accumulation)
                real = sum(not s["padding"] for s in batch)
                values = [losses[k].item() for k in ("loss", "focal", "dice", "iou")]
                sums += torch.tensor([v * real for v in values] + [real], dtype=torch.float64)
                if last_of_group:
                    if config.optim.grad_clip:
                        fabric.clip_gradients(model, optimizer, max_norm=config.optim.grad_clip)
                    optimizer.step()
                    optimizer.zero_grad()
                    state["step"] += 1
                    if per_batch_scheduler:
                        scheduler.step()
                    if state["step"] % config.log_every == 0:
                        fabric.log("train/loss_step", values[0], step=state["step"])
                        if not config.progress and fabric.global_rank == 0:
                            log.info("epoch %d step %d loss %.4f (%.2f s/batch)", epoch + 1,
                                     state["step"], values[0],
                                     (time.perf_counter() - started) / (batch_index + 1))
                progress.update(task, advance=1, loss=values[0])
            progress.remove_task(task)
            state["epoch"] = epoch + 1
            end_of_epoch(fabric, state, fabric.all_reduce(sums, reduce_op="sum"),
                         time.perf_counter() - started, context)
            last_epoch_s = time.perf_counter() - started


def end_of_epoch(fabric: L.Fabric, state: dict, sums: torch.Tensor, seconds: float,
                 context: dict) -> None:
    """Validate (when due), step the plateau scheduler, write metrics, best.pt, last.ckpt."""
    config: TrainConfig = context["config"]
    epoch, samples = state["epoch"], max(float(sums[4]), 1.0)
    row = {"epoch": epoch, "step": state["step"], "samples": int(sums[4]),
           "lr": state["optimizer"].param_groups[0]["lr"], "seconds": round(seconds, 3),
           "train_loss": float(sums[0]) / samples, "train_focal": float(sums[1]) / samples,
           "train_dice": float(sums[2]) / samples, "train_iou_mse": float(sums[3]) / samples}
    due = epoch % config.validation.eval_interval == 0 or epoch == config.num_epochs
    if due:
        row.update(fabric.broadcast(validate(fabric, context) if fabric.global_rank == 0
                                    else None, src=0))
        if config.optim.scheduler == "plateau":
            state["scheduler"].step(row.get("val_ap", row["val_prompted_iou"]))
    state["history"].append(row)
    state["torch_rng"] = torch.get_rng_state()
    if fabric.global_rank == 0:
        write_metrics_csv(context["run_dir"] / "metrics.csv", state["history"])
        plot_curves(context["run_dir"] / "curves.png", state["history"])
        if due:
            score = [row.get("val_ap", -1.0), _finite(row["val_prompted_iou"])]
            if score > state["best_score"] or not (context["run_dir"] / "best.pt").exists():
                state["best_score"] = score
                _save_best(context, row)
    state["best_score"] = fabric.broadcast(state["best_score"], src=0)
    fabric.log_dict({k: v for k, v in row.items() if k != "epoch"}, step=epoch)
    if fabric.global_rank == 0:
        log.info("%s", " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                for k, v in row.items()), extra={"metrics": row})
    save_last(fabric, context["run_dir"], state)


def validate(fabric: L.Fabric, context: dict) -> dict:
    """Prompted mean IoU and (unless disabled) AMG COCOeval AP on the validation pages."""
    config: TrainConfig = context["config"]
    sam, pages = context["sam"], context["val_pages"][:config.validation.max_pages]
    started = time.perf_counter()
    was_training = sam.training
    sam.eval()
    views = PageViews(pages, img_size=context["img_size"], dataset=config.dataset,
                      prompts=config.prompts, seed=config.seed, train=False,
                      max_instances=config.validation.max_masks_per_page)
    metrics = {"val_prompted_iou": prompted_mean_iou(sam, views, fabric.device)}
    if config.validation.amg:
        amg = amg_metrics(sam, pages, config.validation)
        metrics.update({f"val_{k}": v for k, v in amg.items()})
    sam.train(was_training)
    metrics["val_seconds"] = round(time.perf_counter() - started, 3)
    return metrics


def calibrate_best(run_dir: Path, validation: ValidationConfig,
                   pages: list[PageRecord]) -> dict | None:
    """Calibrate best.pt's AMG thresholds on the first ``calibration_pages`` annotated
    validation pages and store them in it; None (and a log line) when there is nothing to
    calibrate on."""
    annotated = [p for p in pages if p.rles][:validation.calibration_pages]
    if not annotated or not (run_dir / "best.pt").exists():
        log.info("AMG calibration skipped: no annotated validation page")
        return None
    started = time.perf_counter()
    sam = load_model(run_dir / "best.pt").sam
    defaults, trials = calibrate_thresholds(sam, annotated, validation.points_per_side)
    add_to_checkpoint(run_dir / "best.pt", {"amg_defaults": defaults,
                                            "amg_calibration": trials})
    chosen = next(t for t in trials if all(t[k] == v for k, v in defaults.items()))
    log.info("AMG thresholds calibrated for best.pt on %d pages in %.1f s: %s (AP %.3f, "
             "AP50 %.3f)", len(annotated), time.perf_counter() - started,
             ", ".join(f"{k}={v}" for k, v in defaults.items()), chosen["ap"], chosen["ap50"])
    return defaults


def leave_together(fabric: L.Fabric) -> None:
    """With several processes: leave together and tear gloo down before returning. A rank
    exiting while a peer's gloo threads were still live aborted now and then ("terminate
    called without an active exception", exit -6, seen under load after a finished run),
    as it did in segment's ranks before they did the same."""
    if fabric.world_size > 1 and torch.distributed.is_initialized():
        fabric.barrier()
        torch.distributed.destroy_process_group()


def _finite(value: float) -> float:
    return value if math.isfinite(value) else -1.0


def _save_best(context: dict, row: dict) -> None:
    config: TrainConfig = context["config"]
    save_best(context["run_dir"], context["sam"], arch=context["arch"], base=context["base"],
              lora_config=lora_settings(config.model) if config.model.method == "lora"
              else None, train_config=config_to_dict(config), metrics=row)


def save_last(fabric: L.Fabric, run_dir: Path, state: dict) -> None:
    """``fabric.save`` to a temp name, then an atomic rename: a kill never leaves half a file."""
    temporary = run_dir / f".{LAST_CHECKPOINT}.tmp"
    fabric.save(temporary, state)
    fabric.barrier()
    if fabric.global_rank == 0:
        temporary.replace(run_dir / LAST_CHECKPOINT)
    fabric.barrier()
