"""TrainConfig: every seed-project key exists and is documented; problems reported at once."""

from __future__ import annotations

import pytest

from planseg.config import config_help, load_config
from planseg.errors import ConfigError
from planseg.train.config import ModelConfig, TrainConfig
from planseg.train.schedule import lr_factor

SEED_PROJECT_KEYS = [  # the seed project's training settings and their planseg keys
    "fabric.accelerator", "fabric.devices", "fabric.num_nodes", "seed", "dataloader_seed",
    "dataset.split_seed", "batch_size", "num_workers", "num_epochs",
    "validation.eval_interval", "prompts.use_boxes", "prompts.use_points",
    "prompts.use_masks", "prompts.use_logits", "prompts.multimask_output",
    "optim.learning_rate", "optim.weight_decay", "optim.scheduler", "optim.decay_factor",
    "optim.decay_steps", "optim.warmup_steps", "optim.patience", "optim.threshold",
    "optim.cooldown", "optim.min_lr", "loss.focal_weight", "loss.dice_weight",
    "loss.iou_weight", "loss.focal_alpha", "loss.focal_gamma", "model.freeze_image_encoder",
    "model.freeze_prompt_encoder", "model.freeze_mask_decoder", "dataset.auto_split",
    "dataset.val_size", "prompts.positive_points", "prompts.negative_points",
    "prompts.use_center", "prompts.snap_to_grid", "dataset.cache"]


def test_every_key_has_help_and_seed_keys_exist():
    rows = {key: (default, text) for key, default, text in config_help(TrainConfig)}
    assert set(SEED_PROJECT_KEYS) <= set(rows)
    assert not [key for key, (_, text) in rows.items() if not text]
    assert rows["loss.focal_weight"][0] == "20.0" and rows["loss.focal_alpha"][0] == "0.8"


def test_problems_are_reported_together():
    with pytest.raises(ConfigError) as caught:
        load_config(TrainConfig, None, {"batch_size": 0, "prompts.use_masks": True,
                                        "prompts.use_points": False, "optim.nope": 1})
    message = str(caught.value)
    assert "optim.nope: unknown key" in message
    with pytest.raises(ConfigError) as caught:
        load_config(TrainConfig, None, {"batch_size": 0, "prompts.use_masks": True,
                                        "prompts.use_points": False})
    message = str(caught.value)
    for part in ("data: required", "out: required", "batch_size: must be >= 1",
                 "prompts.use_masks: needs prompts.correction_rounds",
                 "at least one of use_points, use_boxes"):
        assert part in message


def test_freeze_flags_follow_method_unless_set():
    assert ModelConfig(method="decoder").frozen() == {
        "image_encoder": True, "prompt_encoder": True, "mask_decoder": False}
    assert ModelConfig(method="lora").frozen()["mask_decoder"] is True
    assert ModelConfig(method="lora", freeze_mask_decoder=False).frozen()["mask_decoder"] is False
    assert not any(ModelConfig(method="full").frozen().values())


def test_schedules():
    config = load_config(TrainConfig, None, {"data": "d", "out": "o", "optim.warmup_steps": 4,
                                             "optim.decay_steps": "10,20"}).optim
    assert [lr_factor(s, config, 30) for s in (0, 3, 4, 10, 25)] == \
        pytest.approx([0.25, 1.0, 1.0, 0.1, 0.01])
    config.scheduler, config.min_lr, config.warmup_steps = "cosine", 1e-5, 0
    assert lr_factor(0, config, 30) == pytest.approx(1.0)
    assert lr_factor(30, config, 30) == pytest.approx(0.1)
