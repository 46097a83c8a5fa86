"""The Fabric training loop end to end on CPU with the tiny SAM: outputs, exact resume
(in process and after SIGKILL), DDP over gloo with real processes, LoRA, CLI errors."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from train_toy import make_dataset
from typer.testing import CliRunner

from planseg.cli import app
from planseg.config import load_config
from planseg.errors import ConfigError
from planseg.models.checkpoints import load_model
from planseg.models.lora import apply_lora, merge_lora_checkpoint
from planseg.models.registry import build_sam
from planseg.train import run
from planseg.train.calibrate import CALIBRATION_GRID
from planseg.train.config import DatasetConfig, LossConfig, PromptConfig, TrainConfig
from planseg.train.data import load_splits
from planseg.train.samples import PageViews
from planseg.train.step import PromptedSamLoss

FAST = {"model.name": "tiny", "fabric.accelerator": "cpu", "num_epochs": 2, "batch_size": 2,
        "validation.points_per_side": 4, "prompts.points_per_side": 8,
        "dataset.max_instances": 4}


def _config(data: Path, out: Path, **extra) -> TrainConfig:
    return load_config(TrainConfig, None, {**FAST, "data": data, "out": out, **extra})


def _model_state(run_dir: Path) -> dict[str, torch.Tensor]:
    checkpoint = torch.load(run_dir / "last.ckpt", weights_only=True)
    return {k.removeprefix("sam."): v for k, v in checkpoint["model"].items()}


def _samples(run_dir: Path) -> list[int]:
    with open(run_dir / "metrics.csv", newline="") as handle:
        return [int(row["samples"]) for row in csv.DictReader(handle)]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("train") / "data", train_pages=5, val_pages=2)


@pytest.fixture(scope="module")
def two_epochs(data, tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("runs") / "full"
    return out, run(_config(data, out))


@pytest.mark.slow
def test_two_epoch_run_writes_every_output(two_epochs):
    out, summary = two_epochs
    for name in ("last.ckpt", "best.pt", "best_state_dict.pth", "config.yaml", "metrics.csv",
                 "curves.png"):
        assert (out / name).stat().st_size > 0, name
    assert list((out / "tensorboard").glob("events.out.tfevents.*"))
    assert summary["epochs"] == 2 and summary["steps"] == 2 * 3  # 5 views, batch 2
    assert _samples(out) == [5, 5]
    assert yaml.safe_load((out / "config.yaml").read_text())["model"]["name"] == "tiny"
    best = torch.load(out / "best.pt", weights_only=True)
    assert best["planseg_checkpoint"] == 1 and best["kind"] == "model" and best["arch"] == "tiny"
    assert best["train_config"]["num_epochs"] == 2 and "val_ap" in best["metrics"]
    # the AMG thresholds calibrated for best.pt, the choice among the grid's trials
    assert summary["amg_defaults"] == best["amg_defaults"]
    assert len(best["amg_calibration"]) == len(CALIBRATION_GRID)
    assert (best["amg_defaults"]["pred_iou_thresh"],
            best["amg_defaults"]["stability_score_thresh"]) in CALIBRATION_GRID
    fresh = build_sam("tiny")
    fresh.load_state_dict(torch.load(out / "best_state_dict.pth", weights_only=True))
    loaded = load_model(out / "best.pt")
    assert loaded.arch == "tiny"
    for key, value in loaded.sam.state_dict().items():
        assert torch.equal(value, best["state_dict"][key])


@pytest.mark.slow
def test_resume_continues_exactly(data, two_epochs, tmp_path):
    out = tmp_path / "resumed"
    run(_config(data, out, num_epochs=1))
    with pytest.raises(ConfigError, match="--resume"):
        run(_config(data, out, num_epochs=2))
    summary = run(_config(data, out, num_epochs=2, resume=True))
    assert summary["epochs"] == 2 and _samples(out) == [5, 5]
    expected, got = _model_state(two_epochs[0]), _model_state(out)
    assert expected.keys() == got.keys()
    assert all(torch.equal(expected[k], got[k]) for k in expected)


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "planseg", "--log-format", "json", "train", *args]


@pytest.mark.slow
def test_sigkill_mid_epoch_then_resume_matches_uninterrupted(data, two_epochs, tmp_path):
    out = tmp_path / "killed"
    common = ["--data", str(data), "--out", str(out), "--model", "tiny", "--accelerator", "cpu",
              "--epochs", "2", "--config", str(_fast_file(tmp_path))]
    # bitwise equality needs the same float reduction order as the in-process baseline
    env = {**os.environ, "OMP_NUM_THREADS": str(torch.get_num_threads())}
    process = subprocess.Popen(_cli(*common), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, env=env)
    deadline = time.monotonic() + 120
    while not (out / "last.ckpt").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)  # epoch 2 has just begun
    process.wait()
    assert (out / "last.ckpt").exists()
    assert _samples(out) == [5]  # killed before epoch 2 ended
    done = subprocess.run(_cli(*common, "--resume"), capture_output=True, text=True,
                          timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    expected, got = _model_state(two_epochs[0]), _model_state(out)
    assert all(torch.equal(expected[k], got[k]) for k in expected)


def _fast_file(folder: Path) -> Path:
    nested: dict = {}
    for key, value in FAST.items():
        if key in ("model.name", "fabric.accelerator", "num_epochs"):
            continue  # given as flags
        *parents, leaf = key.split(".")
        node = nested
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    path = folder / "fast.yaml"
    path.write_text(yaml.safe_dump(nested))
    return path


@pytest.mark.slow
def test_ddp_two_cpu_processes_count_each_sample_once(data, two_epochs, tmp_path):
    out = tmp_path / "ddp"
    done = subprocess.run(_cli("--data", str(data), "--out", str(out), "--model", "tiny",
                               "--accelerator", "cpu", "--devices", "2", "--epochs", "2",
                               "--config", str(_fast_file(tmp_path))),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    # 5 views over 2 ranks: 3 keys each, one a flagged duplicate that counts zero
    assert _samples(out) == _samples(two_epochs[0]) == [5, 5]
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    assert sum("trained 2 epochs" in line["message"] for line in lines) == 1  # rank 0 only


@pytest.mark.slow
def test_lora_trains_only_adapters_and_merges(data, tmp_path):
    out = tmp_path / "lora"
    run(_config(data, out, num_epochs=1, **{"model.method": "lora", "model.lora_r": 4}))
    base = build_sam("tiny", seed=0).state_dict()
    trained = _model_state(out)
    lora_keys = {k for k in trained if "lora_" in k}
    assert lora_keys and all(".attn." in k for k in lora_keys)
    for key, value in trained.items():
        if key not in lora_keys:
            assert torch.equal(value, base[key.replace(".base_layer", "")]), key
    assert any(trained[k].abs().sum() > 0 for k in lora_keys if "lora_B" in k)
    checkpoint = torch.load(out / "best.pt", weights_only=True)
    assert checkpoint["kind"] == "lora" and set(checkpoint["adapter_state_dict"]) == lora_keys
    adapted = apply_lora(build_sam("tiny", seed=0), checkpoint["lora_config"])
    adapted.load_state_dict(checkpoint["adapter_state_dict"], strict=False)
    merged = merge_lora_checkpoint(checkpoint, build_sam("tiny", seed=0))
    image = torch.rand(1, 3, 256, 256) * 255
    with torch.no_grad():
        expected = adapted.image_encoder(adapted.preprocess(image))
        got = merged.image_encoder(merged.preprocess(image))
    assert torch.allclose(expected, got, atol=1e-4)
    assert set(merged.state_dict()) == set(base)
    via_loader = load_model(out / "best.pt").sam.state_dict()  # the models package merges too
    assert all(torch.allclose(via_loader[k], v, atol=1e-6) for k, v in merged.state_dict().items())
    plain = torch.load(out / "best_state_dict.pth", weights_only=True)
    assert all(torch.allclose(plain[k], v, atol=1e-6) for k, v in merged.state_dict().items())


@pytest.mark.slow
def test_loss_decreases_on_a_fixed_batch(data):
    pages = load_splits(data, DatasetConfig(cache=False), None).train
    prompts = PromptConfig(points_per_side=8, random_point_probability=0.0)
    views = PageViews(pages, img_size=256, dataset=DatasetConfig(max_instances=4),
                      prompts=prompts, seed=0)
    batch = [views[(0, i, False)] for i in range(2)]
    model = PromptedSamLoss(build_sam("tiny", seed=0), prompts, LossConfig()).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(30):
        loss = model(batch)["loss"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.8 * losses[0]
    assert sum(losses[-5:]) < sum(losses[:5])


def test_cli_reports_a_bad_dataset_with_exit_code_2(tmp_path):
    data = make_dataset(tmp_path / "d", train_pages=2, val_pages=2)
    coco = json.loads((data / "val" / "annotations.json").read_text())
    coco["images"][0]["file_name"] = "../../../etc/passwd"
    coco["images"][1]["file_name"] = "missing.png"
    (data / "val" / "annotations.json").write_text(json.dumps(coco))
    result = CliRunner().invoke(app, ["train", "--data", str(data), "--out",
                                      str(tmp_path / "run"), "--model", "tiny",
                                      "--accelerator", "cpu"])
    assert result.exit_code == 2
    assert not (tmp_path / "run" / "last.ckpt").exists()


@pytest.mark.parametrize("resolution", ["low", "input"])
def test_every_prompt_kind_trains(data, resolution):
    pages = load_splits(data, DatasetConfig(cache=False), None).train
    prompts = PromptConfig(points_per_side=8, use_boxes=True, box_probability=0.5,
                           positive_points=1, negative_points=2, correction_rounds=2,
                           use_masks=True, use_logits=False)
    views = PageViews(pages, img_size=256, dataset=DatasetConfig(max_instances=3),
                      prompts=prompts, seed=0)
    batch = [views[(0, i, False)] for i in range(4)]
    assert {b["boxes"] is None for b in batch} == {True, False}  # both kinds in the batch
    model = PromptedSamLoss(build_sam("tiny", seed=0), prompts,
                            LossConfig(resolution=resolution)).train()
    losses = model(batch)
    losses["loss"].backward()
    assert torch.isfinite(losses["loss"]) and losses["loss"] > 0
    assert model.sam.prompt_encoder.mask_downscaling[0].weight.grad is not None  # mask prompts
    assert model.sam.mask_decoder.output_hypernetworks_mlps[0].layers[0].weight.grad is not None


def test_low_res_targets_align_with_the_decoder_grid():
    from planseg.train.step import low_res_target

    masks = torch.zeros(1, 250, 180, dtype=torch.bool)
    masks[0, 8:16, 4:12] = True
    target = low_res_target(masks, 256, 64)
    assert target.shape == (1, 1, 63, 45)
    assert target[0, 0, 2:4, 1:3].eq(1).all() and target.sum() == 4


@pytest.mark.slow
def test_time_budget_stops_at_an_epoch_boundary(data, tmp_path):
    summary = run(_config(data, tmp_path / "budget", num_epochs=3, max_minutes=1e-6))
    assert summary["epochs"] == 1 and _samples(tmp_path / "budget") == [5]
    assert (tmp_path / "budget" / "best.pt").exists()


@pytest.mark.slow
def test_fine_tuning_validates_at_the_starting_models_calibrated_thresholds(
        data, two_epochs, tmp_path):
    start = two_epochs[0] / "best.pt"
    calibrated = torch.load(start, weights_only=True)["amg_defaults"]
    inherited = run(_config(data, tmp_path / "inherit", **{
        "model.name": str(start), "num_epochs": 1, "validation.calibrate": False}))
    used = yaml.safe_load((tmp_path / "inherit" / "config.yaml").read_text())["validation"]
    assert {k: used[k] for k in calibrated} == calibrated
    assert inherited["amg_defaults"] is None
    assert "amg_defaults" not in torch.load(tmp_path / "inherit" / "best.pt", weights_only=True)
    run(_config(data, tmp_path / "explicit", **{
        "model.name": str(start), "num_epochs": 1, "validation.calibrate": False,
        "validation.pred_iou_thresh": 0.123}))
    used = yaml.safe_load((tmp_path / "explicit" / "config.yaml").read_text())["validation"]
    assert used["pred_iou_thresh"] == 0.123
    assert used["stability_score_thresh"] == calibrated["stability_score_thresh"]
