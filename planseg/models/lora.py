"""LoRA adapters on SAM's image-encoder attention (``peft``), and merging them back.

Adapters go on the ``Linear`` layers of every ViT block's attention (``qkv`` and ``proj`` by
default; the regex keeps them off the patch-embedding ``proj`` convolution and the mask
decoder). A LoRA checkpoint stores only the trainable weights (``adapter_state_dict``);
:func:`merge_lora_checkpoint` rebuilds a plain :class:`Sam` with ``W + B @ A * alpha / r``.
"""

from __future__ import annotations

import re

import torch
from peft import LoraConfig, inject_adapter_in_model
from peft.tuners.lora import LoraLayer
from segment_anything.modeling import Sam

ADAPTER_NAME = "default"
DEFAULT_LORA_CONFIG = {"r": 8, "lora_alpha": 16, "lora_dropout": 0.0,
                       "target_modules": ["qkv", "proj"]}


def _peft_config(lora_config: dict) -> LoraConfig:
    config = {**DEFAULT_LORA_CONFIG, **lora_config}
    names = "|".join(re.escape(n) for n in config["target_modules"])
    return LoraConfig(r=int(config["r"]), lora_alpha=int(config["lora_alpha"]),
                      lora_dropout=float(config["lora_dropout"]),
                      target_modules=rf"blocks\.\d+\.attn\.({names})", bias="none")


def apply_lora(sam: Sam, lora_config: dict) -> torch.nn.Module:
    """Inject LoRA adapters into ``sam.image_encoder`` in place and return ``sam``.

    Only the adapter weights (``lora_A``/``lora_B``) are left trainable in the image encoder;
    the caller decides about the prompt encoder and mask decoder.
    """
    inject_adapter_in_model(_peft_config(lora_config), sam.image_encoder,
                            adapter_name=ADAPTER_NAME)
    for name, param in sam.image_encoder.named_parameters():
        param.requires_grad = "lora_" in name
    return sam


def is_lora(sam: torch.nn.Module) -> bool:
    """Whether ``sam`` carries LoRA layers."""
    return any(isinstance(m, LoraLayer) for m in sam.modules())


def adapter_state_dict(sam: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The trainable weights of a LoRA-adapted SAM (adapters plus any unfrozen part), cloned."""
    trainable = {n for n, p in sam.named_parameters() if p.requires_grad}
    return {k: v.detach().cpu().clone() for k, v in sam.state_dict().items()
            if k in trainable or "lora_" in k}


def merge_lora(sam: torch.nn.Module) -> Sam:
    """Fold every LoRA layer into its base ``Linear`` (in place); returns a plain ``Sam``."""
    for name, module in list(sam.named_modules()):
        if isinstance(module, LoraLayer):
            module.merge()
            parent_name, _, child = name.rpartition(".")
            parent = sam.get_submodule(parent_name) if parent_name else sam
            setattr(parent, child, module.get_base_layer())
    return sam


def merge_lora_checkpoint(ckpt: dict, base_sam: Sam) -> Sam:
    """Apply a LoRA checkpoint (``kind: lora``, see planseg.models.checkpoints) to
    ``base_sam`` (modified in place) and return the merged plain :class:`Sam`."""
    apply_lora(base_sam, ckpt["lora_config"])
    missing = set(ckpt["adapter_state_dict"]) - set(base_sam.state_dict())
    if missing:
        raise KeyError(f"LoRA checkpoint weights do not fit the base model: "
                       f"{sorted(missing)[:5]}")
    base_sam.load_state_dict(ckpt["adapter_state_dict"], strict=False)
    merged = merge_lora(base_sam)
    for param in merged.parameters():
        param.requires_grad = True
    return merged
