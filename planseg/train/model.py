"""The SAM to fine-tune: resolved from a registry name or checkpoint, frozen per ``method``."""

from __future__ import annotations

import logging

from segment_anything.modeling import Sam

from planseg.errors import ModelError
from planseg.models.lora import apply_lora
from planseg.models.registry import ARCHITECTURES, build_sam
from planseg.train.config import ModelConfig

log = logging.getLogger(__name__)


def load_base(name: str) -> tuple[Sam, str]:
    """(SAM, architecture name) for a registry name, ``planseg-default`` or checkpoint path."""
    try:  # INTEGRATION: planseg.models.checkpoints is written in parallel
        from planseg.models.checkpoints import load_model
    except ImportError:
        if name in ARCHITECTURES:
            return build_sam(name, seed=0), name  # the contract: registry names are seeded 0
        raise ModelError(f"cannot load model {name!r} yet: only registry names "
                         f"({', '.join(ARCHITECTURES)}) are available in this build") from None
    loaded = load_model(name)
    return loaded.sam, loaded.arch


def lora_settings(config: ModelConfig) -> dict:
    """The ``lora_config`` mapping stored in LoRA checkpoints."""
    return {"r": config.lora_r, "lora_alpha": config.lora_alpha,
            "lora_dropout": config.lora_dropout,
            "target_modules": list(config.lora_target_modules)}


def build_model(config: ModelConfig) -> tuple[Sam, str, str]:
    """(SAM ready to train, architecture, base name): parts frozen, LoRA injected."""
    sam, arch = load_base(config.name)
    for part, frozen in config.frozen().items():
        for param in getattr(sam, part).parameters():
            param.requires_grad = not frozen
    if config.method == "lora":
        apply_lora(sam, lora_settings(config))
    trainable = sum(p.numel() for p in sam.parameters() if p.requires_grad)
    total = sum(p.numel() for p in sam.parameters())
    log.info("model %s (%s, method %s): %d of %d parameters trainable", config.name, arch,
             config.method, trainable, total)
    return sam, arch, config.name
