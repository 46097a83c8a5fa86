"""What a training run leaves in RUN/: checkpoints, metrics.csv, curves.png, progress display.

``RUN/last.ckpt`` (full Fabric state, written by the loop), ``RUN/best.pt`` (a planseg
checkpoint, or a LoRA checkpoint with only adapter weights), ``RUN/best_state_dict.pth`` (plain
SAM ``state_dict``, LoRA merged, loadable by ``segment_anything.sam_model_registry[arch]`` for
the official architectures), ``RUN/config.yaml``, ``RUN/metrics.csv``, ``RUN/curves.png`` and
TensorBoard event files under ``RUN/tensorboard``. Every file is written atomically.
"""

from __future__ import annotations

import copy
import csv
import io
from pathlib import Path

import torch
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from segment_anything.modeling import Sam

from planseg import __version__
from planseg.fsio import atomic_path, atomic_write_text
from planseg.models.checkpoints import save_planseg_checkpoint
from planseg.models.lora import adapter_state_dict, is_lora, merge_lora

METRIC_COLUMNS = ("epoch", "step", "lr", "train_loss", "train_focal", "train_dice",
                  "train_iou_mse", "samples", "val_prompted_iou", "val_ap", "val_ap50",
                  "val_ap75", "val_mean_best_iou", "val_masks_per_page", "seconds", "val_seconds")


def write_metrics_csv(path: Path, history: list[dict]) -> None:
    """All epochs so far as CSV (rewritten atomically each epoch, so a kill never truncates)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=METRIC_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for row in history:
        writer.writerow({k: row.get(k, "") for k in METRIC_COLUMNS})
    atomic_write_text(path, buffer.getvalue())


def plot_curves(path: Path, history: list[dict]) -> None:
    """Training losses and validation metrics per epoch, as a PNG (matplotlib, Agg)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    epochs = [row["epoch"] for row in history]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for key in ("train_loss", "train_focal", "train_dice", "train_iou_mse"):
        left.plot(epochs, [row.get(key, float("nan")) for row in history], marker=".", label=key)
    left.set(xlabel="epoch", ylabel="loss", yscale="log", title="training")
    left.legend()
    for key in ("val_prompted_iou", "val_ap", "val_ap50", "val_ap75"):
        right.plot(epochs, [row.get(key, float("nan")) for row in history], marker=".",
                   label=key)
    right.set(xlabel="epoch", ylim=(0, 1), title="validation")
    right.legend()
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)


def save_best(run_dir: Path, sam: Sam, *, arch: str, base: str, lora_config: dict | None,
              train_config: dict, metrics: dict) -> None:
    """Write RUN/best.pt and RUN/best_state_dict.pth from the current weights."""
    if lora_config is not None and is_lora(sam):
        payload = {"planseg_checkpoint": 1, "kind": "lora", "arch": arch, "base": base,
                   "lora_config": lora_config, "adapter_state_dict": adapter_state_dict(sam),
                   "train_config": train_config, "metrics": metrics,
                   "planseg_version": __version__}
        with atomic_path(run_dir / "best.pt") as tmp:
            torch.save(payload, tmp)
        plain = merge_lora(copy.deepcopy(sam).cpu())
    else:
        save_planseg_checkpoint(run_dir / "best.pt", sam, arch, train_config=train_config,
                                metrics=metrics, extra={"base": base})
        plain = sam
    state = {k: v.detach().cpu().float() if v.is_floating_point() else v.detach().cpu()
             for k, v in plain.state_dict().items()}
    with atomic_path(run_dir / "best_state_dict.pth") as tmp:
        torch.save(state, tmp)


def add_to_checkpoint(path: Path, entries: dict) -> None:
    """Add plain-valued ``entries`` (such as ``amg_defaults``) to a planseg checkpoint file,
    atomically, so a kill leaves the old file or the new one."""
    payload = torch.load(path, weights_only=True)
    payload.update(entries)
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def make_progress(enabled: bool) -> Progress:
    """A rich progress display with the running loss and ETA (disabled: renders nothing)."""
    return Progress(TextColumn("[bold]epoch {task.fields[epoch]}"), BarColumn(),
                    MofNCompleteColumn(), TextColumn("loss {task.fields[loss]:.4f}"),
                    TimeElapsedColumn(), TimeRemainingColumn(), disable=not enabled,
                    transient=False)
