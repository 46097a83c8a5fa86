"""SAM models: the architecture registry and everything about weights files.

- ``registry``: named architectures (official ``vit_b``/``vit_l``/``vit_h``, planseg ``small``
  and ``tiny``) built from ``segment_anything.modeling`` classes.
- ``checkpoints``: ``load_model`` (registry name, ``planseg-default``, official ``.pth``,
  planseg or LoRA checkpoint; always ``weights_only``), ``save_planseg_checkpoint``,
  ``model_identity``.
- ``state_dicts``: architecture detection from tensor shapes, strict loading with clear errors.
- ``known``: the official SAM checkpoint files and their SHA-256.
- ``catalog``: what ``planseg models list/info/verify/export`` report and write.
- ``lora``: LoRA adapters (peft) and merging them.
"""
