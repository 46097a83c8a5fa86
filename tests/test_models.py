"""planseg.models: safe loading of every checkpoint kind, errors, identity, `planseg models`."""

from __future__ import annotations

import copy
import json
import pickle
import zipfile
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from planseg.cli import app
from planseg.errors import ExitCode, ModelError
from planseg.fsio import sha256_file
from planseg.models import checkpoints, known
from planseg.models.checkpoints import load_model, model_identity, save_planseg_checkpoint
from planseg.models.known import KnownCheckpoint
from planseg.models.registry import build_sam

runner = CliRunner()


def _equal_weights(a: torch.nn.Module | dict, b: torch.nn.Module | dict) -> bool:
    sa = a if isinstance(a, dict) else a.state_dict()
    sb = b if isinstance(b, dict) else b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k].float(), sb[k].float()) for k in sa)


@pytest.fixture
def tiny_sam():
    return build_sam("tiny", seed=1)


@pytest.fixture
def tiny_ckpt(tmp_path: Path, tiny_sam) -> Path:
    path = tmp_path / "tiny.pt"
    save_planseg_checkpoint(path, tiny_sam, "tiny", train_config={"lr": 1e-4, "seed": 7},
                            metrics={"val_ap": 0.42}, extra={"recipe": {"command": "x"}})
    return path


@pytest.fixture(scope="session")
def vit_b_pth(tmp_path_factory) -> Path:
    """An official-format ViT-B file: a plain state dict (random weights) saved with
    torch.save, ~375 MB, built once per session."""
    path = tmp_path_factory.mktemp("official") / "vit_b_random.pth"
    torch.save(build_sam("vit_b", seed=0).state_dict(), path)
    return path


# --- official state dicts, architecture detection -------------------------------------------

@pytest.mark.slow
def test_official_vit_b_state_dict_is_detected_and_loaded(vit_b_pth: Path) -> None:
    loaded = load_model(vit_b_pth)
    assert loaded.arch == "vit_b"
    assert "detected from tensor shapes" in loaded.meta["origin"]
    assert loaded.sha256 == sha256_file(vit_b_pth) == model_identity(loaded)
    assert _equal_weights(loaded.sam, torch.load(vit_b_pth, weights_only=True))
    assert loaded.sam.pixel_mean.flatten().tolist() == pytest.approx([123.675, 116.28, 103.53])


@pytest.mark.slow
def test_export_output_loads_in_stock_segment_anything(vit_b_pth: Path, tmp_path: Path) -> None:
    from segment_anything import sam_model_registry

    out = tmp_path / "exported.pth"
    result = runner.invoke(app, ["models", "export", str(vit_b_pth), "--to", str(out)])
    assert result.exit_code == 0, result.output
    assert "sam_model_registry['vit_b']" in result.output
    stock = sam_model_registry["vit_b"]()
    stock.load_state_dict(torch.load(out, map_location="cpu", weights_only=True))  # strict
    assert _equal_weights(stock, torch.load(vit_b_pth, weights_only=True))


@pytest.mark.parametrize("arch", ["tiny", "small"])
def test_small_architectures_are_detected_from_plain_state_dicts(tmp_path, arch) -> None:
    sam = build_sam(arch, seed=5)
    torch.save(sam.state_dict(), tmp_path / "plain.pth")
    loaded = load_model(tmp_path / "plain.pth")
    assert loaded.arch == arch and _equal_weights(loaded.sam, sam)
    image = torch.zeros(1, 3, sam.image_encoder.img_size, sam.image_encoder.img_size)
    with torch.no_grad():  # the meta-built module is fully materialised: it runs
        assert torch.allclose(loaded.sam.image_encoder(image), sam.image_encoder(image))


# --- registry names and identity -------------------------------------------------------------

def test_registry_name_is_a_seeded_random_init() -> None:
    first, second = load_model("tiny"), load_model("tiny")
    assert _equal_weights(first.sam, build_sam("tiny", seed=0))
    assert model_identity(first) == model_identity(second)
    assert model_identity(first) != model_identity(load_model("small"))
    assert first.source == "tiny" and not first.sam.training


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_load_model_onto_cuda(tiny_ckpt: Path) -> None:
    loaded = load_model(tiny_ckpt, device="cuda")
    assert {p.device.type for p in loaded.sam.parameters()} == {"cuda"}
    assert loaded.sam.pixel_mean.device.type == "cuda"
    with torch.no_grad():
        out = loaded.sam.image_encoder(torch.zeros(1, 3, 256, 256, device="cuda"))
    assert out.shape == (1, 64, 16, 16)


# --- planseg checkpoints ---------------------------------------------------------------------

def test_planseg_checkpoint_round_trip(tiny_ckpt: Path, tiny_sam) -> None:
    raw = torch.load(tiny_ckpt, weights_only=True)
    assert raw["planseg_checkpoint"] == 1 and raw["kind"] == "model" and raw["arch"] == "tiny"
    loaded = load_model(tiny_ckpt)
    assert loaded.arch == "tiny" and _equal_weights(loaded.sam, tiny_sam)
    assert loaded.meta["train_config"] == {"lr": 1e-4, "seed": 7}
    assert loaded.meta["metrics"] == {"val_ap": 0.42}
    assert loaded.meta["recipe"] == {"command": "x"}
    assert loaded.meta["planseg_version"] and "planseg checkpoint" in loaded.meta["origin"]
    assert model_identity(loaded) == sha256_file(tiny_ckpt)
    other = tiny_ckpt.parent / "other.pt"
    save_planseg_checkpoint(other, build_sam("tiny", seed=2), "tiny", train_config={},
                            metrics={})
    assert model_identity(load_model(other)) != model_identity(loaded)


def test_checkpoint_metadata_is_kept_readable_with_weights_only(tmp_path, tiny_sam) -> None:
    import numpy as np

    path = tmp_path / "meta.pt"
    save_planseg_checkpoint(path, tiny_sam, "tiny", metrics={"ap": np.float64(0.25)},
                            train_config={"data": {"root": tmp_path}, "sizes": (1, 2)})
    meta = load_model(path).meta
    assert meta["metrics"] == {"ap": 0.25} and type(meta["metrics"]["ap"]) is float
    assert meta["train_config"] == {"data": {"root": str(tmp_path)}, "sizes": [1, 2]}
    with pytest.raises(ModelError, match="train_config.model is a Sam"):
        save_planseg_checkpoint(tmp_path / "bad.pt", tiny_sam, "tiny", metrics={},
                                train_config={"model": tiny_sam})
    assert not (tmp_path / "bad.pt").exists()


def test_half_checkpoint_stores_fp16_and_loads_fp32(tmp_path: Path, tiny_sam, tiny_ckpt) -> None:
    half = tmp_path / "half.pt"
    save_planseg_checkpoint(half, tiny_sam, "tiny", train_config={}, metrics={}, half=True)
    raw = torch.load(half, weights_only=True)["state_dict"]
    assert {v.dtype for v in raw.values()} == {torch.float16}
    assert half.stat().st_size < 0.6 * tiny_ckpt.stat().st_size
    loaded = load_model(half)
    assert {p.dtype for p in loaded.sam.parameters()} == {torch.float32}
    expected = {k: v.half().float() for k, v in tiny_sam.state_dict().items()}
    assert _equal_weights(loaded.sam, expected)


def test_planseg_default_loads_the_packaged_file(monkeypatch, tmp_path, tiny_sam) -> None:
    packaged = tmp_path / "weights" / "planseg-default.pt"
    monkeypatch.setattr(checkpoints, "DEFAULT_MODEL_PATH", packaged)
    with pytest.raises(ModelError, match="packaged default model is missing") as error:
        load_model("planseg-default")
    assert str(packaged) in str(error.value)
    save_planseg_checkpoint(packaged, tiny_sam, "tiny", train_config={}, metrics={}, half=True)
    loaded = load_model("planseg-default")
    assert loaded.source == "planseg-default" and loaded.arch == "tiny"


# --- LoRA checkpoints ------------------------------------------------------------------------

def _lora_checkpoint(tmp_path: Path, tiny_ckpt: Path, base: str, arch: str = "tiny"):
    from planseg.models.lora import adapter_state_dict, apply_lora, merge_lora

    lora_config = {"r": 2, "lora_alpha": 4, "lora_dropout": 0.0,
                   "target_modules": ["qkv", "proj"]}
    adapted = apply_lora(load_model(tiny_ckpt).sam, lora_config)
    with torch.no_grad():  # lora_B starts at zero; make the adapters change the weights
        for name, param in adapted.named_parameters():
            if "lora_B" in name:
                param.normal_(std=0.1, generator=torch.Generator().manual_seed(3))
    ckpt = {"planseg_checkpoint": 1, "kind": "lora", "arch": arch, "base": base,
            "lora_config": lora_config, "adapter_state_dict": adapter_state_dict(adapted),
            "train_config": {"method": "lora"}, "metrics": {}, "planseg_version": "0.1.0"}
    path = tmp_path / "lora.pt"
    torch.save(ckpt, path)
    return path, merge_lora(copy.deepcopy(adapted))


def test_lora_checkpoint_is_merged_onto_its_base(tmp_path, tiny_ckpt, tiny_sam) -> None:
    path, expected = _lora_checkpoint(tmp_path, tiny_ckpt, base=tiny_ckpt.name)  # relative
    loaded = load_model(path)
    assert loaded.arch == "tiny" and "merged onto tiny.pt" in loaded.meta["origin"]
    assert _equal_weights(loaded.sam, expected)
    assert not _equal_weights(loaded.sam, tiny_sam)
    assert not any("lora" in k for k in loaded.sam.state_dict())
    out = tmp_path / "merged.pth"
    assert runner.invoke(app, ["models", "export", str(path), "--to", str(out)]).exit_code == 0
    plain = build_sam("tiny")
    plain.load_state_dict(torch.load(out, weights_only=True))
    assert _equal_weights(plain, expected)


def test_lora_checkpoint_for_another_architecture_is_refused(tmp_path, tiny_ckpt) -> None:
    path, _ = _lora_checkpoint(tmp_path, tiny_ckpt, base="small")
    with pytest.raises(ModelError, match="LoRA adapters do not fit|is for tiny but"):
        load_model(path)


# --- unsafe pickles --------------------------------------------------------------------------

class _Payload:
    """Unpickling this creates ``marker``: what a malicious checkpoint would do."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.parametrize("writer", ["pickle", "torch.save"])
def test_malicious_pickle_is_refused_without_running(tmp_path: Path, writer: str) -> None:
    control = tmp_path / "control-ran"
    pickle.loads(pickle.dumps(_Payload(control))).close()
    assert control.exists()  # the payload is real: plain unpickling runs it
    marker = tmp_path / "payload-ran"
    evil = tmp_path / "evil.pth"
    payload = {"image_encoder.pos_embed": _Payload(marker)}
    if writer == "pickle":
        evil.write_bytes(pickle.dumps(payload))
    else:
        torch.save(payload, evil)
    # torch names the blocked callable when it gets that far (not for a protocol-5 FRAME)
    named = r" \((io|builtins)\.open\)" if writer == "torch.save" else ""
    with pytest.raises(ModelError, match=f"refused: unpickling needs arbitrary code{named}, "
                                         "which was not run"):
        load_model(evil)
    assert not marker.exists()
    result = runner.invoke(app, ["models", "info", str(evil)])
    assert result.exit_code == ExitCode.usage and "refused" in result.output
    assert not marker.exists()


# --- every error, one line naming the path ---------------------------------------------------

def _truncated_zip(path: Path) -> None:
    torch.save(build_sam("tiny").state_dict(), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _truncated_legacy(path: Path) -> None:
    torch.save(build_sam("tiny").state_dict(), path, _use_new_zipfile_serialization=False)
    data = path.read_bytes()
    path.write_bytes(data[:200])


def _zip_not_torch(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")


def _state(path: Path, edit) -> None:
    state = dict(build_sam("tiny").state_dict())
    edit(state)
    torch.save(state, path)


def _planseg(path: Path, **changes) -> None:
    ckpt = {"planseg_checkpoint": 1, "kind": "model", "arch": "tiny",
            "state_dict": build_sam("tiny").state_dict(), "train_config": {}, "metrics": {},
            "planseg_version": "0.1.0", **changes}
    torch.save(ckpt, path)


ERROR_CASES = {
    "missing": (lambda p: None, "checkpoint file not found"),
    "empty": (lambda p: p.write_bytes(b""), "checkpoint file is empty"),
    "text": (lambda p: p.write_text("not a model\n"), "not a PyTorch checkpoint"),
    "zip": (_zip_not_torch, "a zip archive but not a PyTorch checkpoint"),
    "truncated": (_truncated_zip, "truncated"),
    "truncated_legacy": (_truncated_legacy, "truncated"),
    "list": (lambda p: torch.save([1, 2], p), "holds a list, not a dict"),
    "whole_module": (lambda p: torch.save(build_sam("tiny"), p),  # a pickled nn.Module
                     r"refused: unpickling needs arbitrary code \(segment_anything\.modeling"
                     r"\.sam\.Sam\)"),
    "no_sam_keys": (lambda p: torch.save({"weight": torch.zeros(2)}, p), "not a SAM state dict"),
    "missing_keys": (lambda p: _state(p, lambda s: s.pop("mask_decoder.iou_token.weight")),
                     r"1 missing keys for tiny \(mask_decoder\.iou_token\.weight\)"),
    "unexpected_keys": (lambda p: _state(p, lambda s: s.update(extra=torch.zeros(1))),
                        r"1 unexpected keys \(extra\)"),
    "no_architecture": (lambda p: _state(p, lambda s: s.update(
        {"image_encoder.patch_embed.proj.weight": torch.zeros(100, 3, 16, 16)})),
        "tensor shapes match no architecture: embed dim 100, 2 blocks, 256 px"),
    "wrong_shape": (lambda p: _state(p, lambda s: s.update(
        {"mask_decoder.iou_token.weight": torch.zeros(2, 64)})),
        r"wrong shape for tiny \(mask_decoder\.iou_token\.weight \(2, 64\) != \(1, 64\)\)"),
    "unknown_kind": (lambda p: _planseg(p, kind="optimizer"), "unknown kind 'optimizer'"),
    "unknown_arch": (lambda p: _planseg(p, arch="vit_z"), "unknown architecture 'vit_z'"),
    "future_format": (lambda p: _planseg(p, planseg_checkpoint=9), "format 9 is not supported"),
}


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_bad_checkpoints_raise_one_line_errors_naming_the_path(tmp_path, case) -> None:
    make, message = ERROR_CASES[case]
    path = tmp_path / f"{case}.pth"
    make(path)
    with pytest.raises(ModelError, match=message) as error:
        load_model(path)
    text = str(error.value)
    assert text.startswith(f"{path}: ") and "\n" not in text
    assert error.value.exit_code == ExitCode.usage


def test_unknown_name_is_an_error() -> None:
    with pytest.raises(ModelError, match="unknown model 'vit_q'"):
        load_model("vit_q")


# --- planseg models CLI ----------------------------------------------------------------------

def test_models_list_shows_architectures_and_official_checksums() -> None:
    result = runner.invoke(app, ["models", "list"])
    assert result.exit_code == 0, result.output
    assert "369,800 params" in result.output  # tiny, counted by ArchSpec.parameter_count
    for official in known.KNOWN_CHECKPOINTS:
        assert official.filename in result.output and official.sha256 in result.output
    listing = json.loads(runner.invoke(app, ["models", "list", "--json"]).output)
    sizes = {a["name"]: a["img_size_px"] for a in listing["architectures"]}
    assert sizes == {"vit_h": 1024, "vit_l": 1024, "vit_b": 1024, "small": 512, "tiny": 256}


def test_models_info(tiny_ckpt: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["models", "info", str(tiny_ckpt), "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info["arch"] == "tiny" and info["parameters"] == 369800
    assert info["metrics"] == {"val_ap": 0.42} and info["train_config"]["seed"] == 7
    assert info["sha256"] == sha256_file(tiny_ckpt)
    missing = runner.invoke(app, ["models", "info", str(tmp_path / "nope.pth")])
    assert missing.exit_code == ExitCode.usage and "not found" in missing.output


def test_models_verify(tmp_path: Path, monkeypatch) -> None:
    file = tmp_path / "sam_vit_b_01ec64.pth"
    file.write_bytes(b"not the official weights")
    wrong_size = runner.invoke(app, ["models", "verify", str(file)])
    assert wrong_size.exit_code == ExitCode.usage and "differs from the published" in \
        wrong_size.output
    unknown = tmp_path / "mine.pth"
    unknown.write_bytes(b"x")
    result = runner.invoke(app, ["models", "verify", str(unknown)])
    assert result.exit_code == ExitCode.usage and "matches no known" in result.output
    # A known list holding this file's hash, and one with the right size but another hash.
    good = KnownCheckpoint("sam_vit_b_01ec64.pth", "vit_b", sha256_file(file),
                           file.stat().st_size)
    monkeypatch.setattr(known, "KNOWN_CHECKPOINTS", (good,))
    result = runner.invoke(app, ["models", "verify", str(file)])
    assert result.exit_code == 0 and "OK, sam_vit_b_01ec64.pth (vit_b)" in result.output
    bad = KnownCheckpoint(good.filename, "vit_b", "0" * 64, good.size_bytes)
    monkeypatch.setattr(known, "KNOWN_CHECKPOINTS", (bad,))
    result = runner.invoke(app, ["models", "verify", str(file)])
    assert result.exit_code == ExitCode.usage and "does not match the published" in result.output


def test_models_export_writes_a_strict_plain_state_dict(tiny_ckpt, tiny_sam, tmp_path) -> None:
    out = tmp_path / "out" / "plain.pth"
    result = runner.invoke(app, ["models", "export", str(tiny_ckpt), "--to", str(out)])
    assert result.exit_code == 0, result.output
    state = torch.load(out, weights_only=True)
    assert all(v.dtype == torch.float32 for v in state.values())
    fresh = build_sam("tiny")
    fresh.load_state_dict(state)  # strict
    assert _equal_weights(fresh, tiny_sam)
    assert sorted(p.name for p in out.parent.iterdir()) == ["plain.pth"]  # no temp left
    failed = runner.invoke(app, ["models", "export", str(tmp_path / "x.pt"), "--to", str(out)])
    assert failed.exit_code == ExitCode.usage
