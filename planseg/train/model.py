"""The SAM to fine-tune: resolved from a registry name or checkpoint, frozen per ``method``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import NamedTuple

from segment_anything.modeling import Sam

from planseg.models.checkpoints import DEFAULT_MODEL_NAME, load_model
from planseg.models.lora import apply_lora
from planseg.models.registry import ARCHITECTURES
from planseg.train.config import ModelConfig

log = logging.getLogger(__name__)


class StartingModel(NamedTuple):
    """The SAM a run starts from. ``base``: its reference for LoRA checkpoints (file bases
    made absolute so they are found later); ``amg_defaults``: its calibrated AMG thresholds
    (empty unless it is a calibrated planseg checkpoint such as ``planseg-default``)."""

    sam: Sam
    arch: str
    base: str
    amg_defaults: dict


def load_base(name: str) -> StartingModel:
    """The starting model for a registry name, ``planseg-default`` or a checkpoint path."""
    loaded = load_model(name)
    base = name if name in ARCHITECTURES or name == DEFAULT_MODEL_NAME \
        else str(Path(name).resolve())
    return StartingModel(loaded.sam, loaded.arch, base,
                         dict(loaded.meta.get("amg_defaults", {})))


def lora_settings(config: ModelConfig) -> dict:
    """The ``lora_config`` mapping stored in LoRA checkpoints."""
    return {"r": config.lora_r, "lora_alpha": config.lora_alpha,
            "lora_dropout": config.lora_dropout,
            "target_modules": list(config.lora_target_modules)}


def build_model(config: ModelConfig) -> StartingModel:
    """The starting model with its SAM ready to train: parts frozen, LoRA injected."""
    start = load_base(config.name)
    sam, arch = start.sam, start.arch
    sam.train()
    for part, frozen in config.frozen().items():
        for param in getattr(sam, part).parameters():
            param.requires_grad = not frozen
    if config.method == "lora":
        apply_lora(sam, lora_settings(config))
    trainable = sum(p.numel() for p in sam.parameters() if p.requires_grad)
    total = sum(p.numel() for p in sam.parameters())
    log.info("model %s (%s, method %s): %d of %d parameters trainable", config.name, arch,
             config.method, trainable, total)
    return start
