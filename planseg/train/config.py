"""Typed configuration of ``planseg train``: one dataclass, nested sections, every key documented.

Every training setting of the seed project has a key here (the README's *Configuration
reference* lists them with defaults, generated from :func:`planseg.config.config_help`).
``None`` means "the library's default" (SAM's AMG thresholds) or "derived from another key"
(freeze flags follow ``method``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

Method = Literal["full", "decoder", "lora"]
SchedulerKind = Literal["plateau", "step", "cosine", "none"]
Precision = Literal["32", "32-true", "bf16-mixed", "16-mixed"]


def _help(text: str, default=None, factory=None):
    """A dataclass field with the help line shown in the README's *Configuration reference*."""
    if factory is not None:
        return field(default_factory=factory, metadata={"help": text})
    return field(default=default, metadata={"help": text})


@dataclass
class DatasetConfig:
    """Where the pages and masks come from and how they are cut into model inputs."""

    auto_split: bool = _help(
        "With a DATA/data layout, split pages into train/val at train time (seeded).", True)
    val_size: float = _help(
        "Fraction (0..1) or count (>= 1) of pages held out when auto_split is used.", 0.2)
    split_seed: int = _help("Seed of the dataset train/val split.", 0)
    keep_negatives: bool = _help(
        "Keep images without annotations as negative samples (false: skip them).", False)
    crops_per_page: int = _help(
        "Random crops (containing annotations) per page larger than the model input, per "
        "epoch, in addition to the resized whole page.", 1)
    crop_px: int | None = _help(
        "Side of those crops in page pixels (None: the model's input size, i.e. native scale).")
    max_instances: int = _help(
        "Most masks (prompts) sampled per image and step.", 16)
    min_mask_px: int = _help(
        "Masks smaller than this many model-input pixels after resizing/cropping are dropped.", 16)
    cache: bool = _help(
        "Cache the parsed and validated dataset metadata (keyed by the annotation file's hash).",
        True)
    cache_dir: Path | None = _help("Folder of the metadata cache (None: RUN/cache).")


@dataclass
class PromptConfig:
    """How prompts are sampled (fresh every epoch from a seeded generator)."""

    use_points: bool = _help("Prompt with single positive points (how the AMG prompts).", True)
    use_boxes: bool = _help("Also prompt with noisy boxes (the usual fine-tuning recipe).", False)
    box_probability: float = _help(
        "When both points and boxes are on: probability that an image is box-prompted.", 0.5)
    box_noise_std: float = _help("Box corner noise, std as a fraction of the box side.", 0.1)
    box_noise_max_px: float = _help("Largest box corner shift, model-input pixels.", 20.0)
    use_center: bool = _help(
        "First point is the interior point nearest the mask centroid (false: a random one).",
        True)
    snap_to_grid: bool = _help(
        "Snap that point to the nearest AMG grid point inside the mask (points_per_side).", True)
    points_per_side: int = _help(
        "AMG grid density used for snapping (SAM's default is 32).", 32)
    random_point_probability: float = _help(
        "Probability that a mask is prompted by a random interior point instead.", 0.25)
    positive_points: int = _help("Extra random positive points per mask.", 0)
    negative_points: int = _help(
        "Random negative points per mask (outside it, near its box).", 0)
    correction_rounds: int = _help(
        "Iterative correction rounds: a point in the largest error region, single mask.", 0)
    use_masks: bool = _help(
        "In correction rounds, give the previous round's prediction as a mask prompt "
        "(never the ground truth).", False)
    use_logits: bool = _help(
        "That mask prompt is the previous round's raw logits (false: its thresholded mask).",
        True)
    multimask_output: bool = _help(
        "Train SAM's three multimask outputs with min-loss assignment (as the AMG decodes).",
        True)


@dataclass
class LossConfig:
    """Loss weights (seed defaults: focal 20, dice 1, IoU 1; focal alpha 0.8, gamma 2)."""

    focal_weight: float = _help("Weight of the sigmoid focal loss.", 20.0)
    dice_weight: float = _help("Weight of the dice loss.", 1.0)
    iou_weight: float = _help("Weight of the IoU-head MSE (on every output).", 1.0)
    focal_alpha: float = _help("Focal loss alpha (weight of positive pixels).", 0.8)
    focal_gamma: float = _help("Focal loss gamma.", 2.0)
    resolution: Literal["input", "low"] = _help(
        "Where masks are compared: input (logits upscaled to the model input, as the AMG "
        "thresholds them) or low (the decoder's 1/4-scale logits vs block-averaged targets: "
        "16x fewer pixels, much faster on CPU).", "low")


@dataclass
class OptimConfig:
    """AdamW, the learning-rate scheduler, accumulation and clipping."""

    learning_rate: float = _help("AdamW learning rate.", 1e-4)
    weight_decay: float = _help("AdamW weight decay.", 1e-4)
    scheduler: SchedulerKind = _help(
        "plateau (ReduceLROnPlateau on the validation AMG AP), step (warmup + step decay), "
        "cosine (warmup + cosine to min_lr) or none.", "step")
    warmup_steps: int = _help("Linear warmup, optimizer steps (step and cosine).", 0)
    decay_factor: float = _help("Multiply the LR by this at each decay step / plateau.", 0.1)
    decay_steps: list[int] = _help(
        "Optimizer steps at which the step scheduler decays the LR.", factory=list)
    patience: int = _help("ReduceLROnPlateau patience, validations.", 2)
    threshold: float = _help("ReduceLROnPlateau improvement threshold.", 1e-4)
    cooldown: int = _help("ReduceLROnPlateau cooldown, validations.", 0)
    min_lr: float = _help("Lowest learning rate (plateau and cosine).", 0.0)
    grad_accumulation: int = _help("Batches accumulated per optimizer step.", 1)
    grad_clip: float | None = _help("Clip gradient norm to this (None: no clipping).", 1.0)


@dataclass
class ModelConfig:
    """Which SAM to start from and which parts to train."""

    name: str = _help(
        "Registry name (tiny, small, vit_b, planseg-default, ...) or checkpoint path.",
        "planseg-default")
    method: Method = _help(
        "full: all unfrozen parts; decoder: mask decoder only; lora: adapters on the "
        "image encoder's attention (saves only adapter weights).", "full")
    freeze_image_encoder: bool | None = _help(
        "Freeze the image encoder (None: false for full, true for decoder/lora).")
    freeze_prompt_encoder: bool | None = _help(
        "Freeze the prompt encoder (None: false for full, true for decoder/lora).")
    freeze_mask_decoder: bool | None = _help(
        "Freeze the mask decoder (None: false for full/decoder, true for lora).")
    lora_r: int = _help("LoRA rank.", 8)
    lora_alpha: int = _help("LoRA alpha (scaling = alpha / r).", 16)
    lora_dropout: float = _help("LoRA dropout.", 0.0)
    lora_target_modules: list[str] = _help(
        "Image-encoder attention Linear layers that get adapters.",
        factory=lambda: ["qkv", "proj"])

    def frozen(self) -> dict[str, bool]:
        """Resolved freeze flags per SAM part, after the ``method`` defaults."""
        defaults = {"full": (False, False, False), "decoder": (True, True, False),
                    "lora": (True, True, True)}[self.method]
        flags = (self.freeze_image_encoder, self.freeze_prompt_encoder, self.freeze_mask_decoder)
        names = ("image_encoder", "prompt_encoder", "mask_decoder")
        return {n: d if f is None else f for n, f, d in zip(names, flags, defaults, strict=True)}


@dataclass
class FabricConfig:
    """Passed to ``lightning.Fabric``: one CPU, several GPUs (DDP), several nodes."""

    accelerator: str = _help("auto, cpu, gpu, cuda, mps.", "auto")
    devices: int = _help("Devices (processes) per node.", 1)
    num_nodes: int = _help("Nodes (torchrun / SLURM).", 1)
    strategy: str = _help(
        "Fabric strategy (auto: DDP with unused-parameter detection when > 1 device).", "auto")
    precision: Precision = _help("32, bf16-mixed or 16-mixed (GPU only).", "32")


@dataclass
class ValidationConfig:
    """Validation: prompted IoU and the automatic mask generator scored with COCOeval."""

    eval_interval: int = _help("Validate every N epochs (and after the last).", 1)
    max_pages: int | None = _help("Validate on at most this many pages (None: all).")
    amg: bool = _help("Run the automatic mask generator and COCOeval (AP decides best.pt).",
                      True)
    points_per_side: int | None = _help("AMG points_per_side (None: SAM's default).")
    pred_iou_thresh: float | None = _help(
        "AMG pred_iou_thresh (None: the starting model's calibrated amg_defaults, else SAM's "
        "default).")
    stability_score_thresh: float | None = _help(
        "AMG stability_score_thresh (None: as pred_iou_thresh).")
    max_masks_per_page: int = _help("Prompted-IoU masks evaluated per validation page.", 32)
    calibrate: bool = _help(
        "After training, choose the AMG thresholds that maximise AMG AP for best.pt on "
        "validation pages and store them in it (amg_defaults, used by planseg segment).", True)
    calibration_pages: int = _help("Validation pages the calibration runs the AMG on.", 4)

    def with_thresholds(self, amg_defaults: dict) -> ValidationConfig:
        """A copy whose unset (None) AMG thresholds are taken from ``amg_defaults``."""
        filled = {k: v for k, v in amg_defaults.items()
                  if k in ("pred_iou_thresh", "stability_score_thresh")
                  and getattr(self, k) is None}
        return replace(self, **filled)


@dataclass
class TrainConfig:
    """Everything ``planseg train`` needs; written to RUN/config.yaml and into checkpoints."""

    data: Path | None = _help("Dataset folder: DATA/data/{images,annotations.json} or "
                              "DATA/train + DATA/val.")
    out: Path | None = _help("Run folder (checkpoints, logs, metrics).")
    resume: bool = _help("Continue exactly from RUN/last.ckpt.", False)
    num_epochs: int = _help("Training epochs.", 10)
    max_minutes: float | None = _help(
        "Time budget: start no new epoch once the next one would end past it (None: no "
        "limit; use validation.eval_interval 1 so the last epoch is validated).")
    batch_size: int = _help("Images per batch (per device).", 2)
    num_workers: int = _help("DataLoader worker processes.", 0)
    seed: int = _help("Seed of model init, prompts and dropout (device seed).", 0)
    dataloader_seed: int = _help("Seed of the per-epoch shuffling of the data order.", 0)
    log_every: int = _help("Log the training loss every N optimizer steps.", 10)
    progress: bool = _help("Show a rich progress bar (the CLI turns it off for logs/JSON).",
                           False)
    dataset: DatasetConfig = _help("", factory=DatasetConfig)
    prompts: PromptConfig = _help("", factory=PromptConfig)
    loss: LossConfig = _help("", factory=LossConfig)
    optim: OptimConfig = _help("", factory=OptimConfig)
    model: ModelConfig = _help("", factory=ModelConfig)
    fabric: FabricConfig = _help("", factory=FabricConfig)
    validation: ValidationConfig = _help("", factory=ValidationConfig)

    def problems(self) -> list[str]:
        """Cross-field checks; :func:`planseg.config.load_config` raises them all at once."""
        found = []
        if self.data is None:
            found.append("data: required (--data DATA)")
        if self.out is None:
            found.append("out: required (--out RUN)")
        for key in ("num_epochs", "batch_size", "log_every"):
            if getattr(self, key) < 1:
                found.append(f"{key}: must be >= 1")
        if self.num_workers < 0:
            found.append("num_workers: must be >= 0")
        p, d, o = self.prompts, self.dataset, self.optim
        if not (p.use_points or p.use_boxes):
            found.append("prompts: at least one of use_points, use_boxes must be true")
        if p.use_masks and p.correction_rounds < 1:
            found.append("prompts.use_masks: needs prompts.correction_rounds >= 1 (mask prompts "
                         "come from the previous round, never from the ground truth)")
        if d.val_size <= 0:
            found.append("dataset.val_size: must be > 0")
        if o.grad_accumulation < 1:
            found.append("optim.grad_accumulation: must be >= 1")
        if self.fabric.precision == "16-mixed" and self.fabric.accelerator == "cpu":
            found.append("fabric.precision: 16-mixed needs a GPU (use bf16-mixed on CPU)")
        if self.validation.eval_interval < 1:
            found.append("validation.eval_interval: must be >= 1")
        if self.validation.calibration_pages < 1:
            found.append("validation.calibration_pages: must be >= 1")
        return found
