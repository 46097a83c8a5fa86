"""The SAM to fine-tune: resolved from a registry name or checkpoint, frozen per ``method``."""

from __future__ import annotations

import logging
from pathlib import Path

from segment_anything.modeling import Sam

from planseg.models.checkpoints import DEFAULT_MODEL_NAME, load_model
from planseg.models.lora import apply_lora
from planseg.models.registry import ARCHITECTURES
from planseg.train.config import ModelConfig

log = logging.getLogger(__name__)


def load_base(name: str) -> tuple[Sam, str, str]:
    """(SAM, architecture, base reference) for a registry name, ``planseg-default`` or a
    checkpoint path; file bases are made absolute so LoRA checkpoints find them later."""
    loaded = load_model(name)
    base = name if name in ARCHITECTURES or name == DEFAULT_MODEL_NAME \
        else str(Path(name).resolve())
    return loaded.sam, loaded.arch, base


def lora_settings(config: ModelConfig) -> dict:
    """The ``lora_config`` mapping stored in LoRA checkpoints."""
    return {"r": config.lora_r, "lora_alpha": config.lora_alpha,
            "lora_dropout": config.lora_dropout,
            "target_modules": list(config.lora_target_modules)}


def build_model(config: ModelConfig) -> tuple[Sam, str, str]:
    """(SAM ready to train, architecture, base name): parts frozen, LoRA injected."""
    sam, arch, base = load_base(config.name)
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
    return sam, arch, base
