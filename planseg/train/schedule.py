"""Learning-rate schedules: warmup + step decay, warmup + cosine, or ReduceLROnPlateau.

The step and cosine schedules are ``LambdaLR`` stepped after every optimizer step (their
``decay_steps``/``warmup_steps`` count optimizer steps); ReduceLROnPlateau is stepped after each
validation with the AMG AP (mode ``max``).
"""

from __future__ import annotations

import bisect
import math

import torch

from planseg.train.config import OptimConfig


def lr_factor(step: int, config: OptimConfig, total_steps: int) -> float:
    """Multiplier of the base learning rate after ``step`` optimizer steps."""
    return _Factor(config, total_steps)(step)


def make_scheduler(optimizer: torch.optim.Optimizer, config: OptimConfig, total_steps: int):
    """The scheduler ``config.scheduler`` names (``none``: a constant LambdaLR)."""
    if config.scheduler == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, mode="max", factor=config.decay_factor, patience=config.patience,
            threshold=config.threshold, cooldown=config.cooldown, min_lr=config.min_lr)
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, _Factor(config, total_steps))


def scheduler_steps_per_batch(config: OptimConfig) -> bool:
    """Whether the scheduler is stepped after every optimizer step (not per validation)."""
    return config.scheduler != "plateau"


class _Factor:
    """LambdaLR function as an object of plain values: LambdaLR saves its ``__dict__`` in the
    scheduler state, which must stay loadable with ``torch.load(weights_only=True)``."""

    def __init__(self, config: OptimConfig, total_steps: int) -> None:
        self.kind, self.warmup, self.total = config.scheduler, config.warmup_steps, total_steps
        self.factor, self.milestones = config.decay_factor, sorted(config.decay_steps)
        self.floor = config.min_lr / config.learning_rate if config.learning_rate else 0.0

    def __call__(self, step: int) -> float:
        if self.warmup and step < self.warmup:
            return (step + 1) / self.warmup
        if self.kind == "step":
            return self.factor ** bisect.bisect_right(self.milestones, step)
        if self.kind == "cosine":
            progress = min((step - self.warmup) / max(self.total - self.warmup, 1), 1.0)
            return self.floor + (1 - self.floor) * 0.5 * (1 + math.cos(math.pi * progress))
        return 1.0
