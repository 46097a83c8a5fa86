"""What ``planseg models`` reports and does: list, describe, verify, export.

Library side of the CLI: plain dicts out, :class:`~planseg.errors.ModelError` on failure.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from planseg.errors import ModelError
from planseg.fsio import atomic_path, sha256_file
from planseg.models.checkpoints import DEFAULT_MODEL_NAME, DEFAULT_MODEL_PATH, LoadedModel
from planseg.models.known import (
    KNOWN_CHECKPOINTS,
    SHA256_SOURCE,
    KnownCheckpoint,
    known_checkpoint_for_name,
    known_checkpoint_for_sha256,
)
from planseg.models.registry import ARCHITECTURES
from planseg.models.state_dicts import check_state_dict, float_state_dict

log = logging.getLogger(__name__)

_META_KEYS = ("planseg_version", "base", "lora_config", "train_config", "metrics", "amg_defaults",
              "recipe")


def list_models() -> dict:
    """Architectures (name, input size px, parameter count), known official checkpoint files
    and whether the packaged default model is installed, as plain JSON-able values."""
    archs = [{"name": spec.name, "img_size_px": spec.img_size,
              "parameters": spec.parameter_count(), "official": spec.official,
              "description": spec.description} for spec in ARCHITECTURES.values()]
    known = [{"filename": k.filename, "arch": k.arch, "sha256": k.sha256,
              "size_bytes": k.size_bytes, "url": k.url} for k in KNOWN_CHECKPOINTS]
    default = {"name": DEFAULT_MODEL_NAME, "path": str(DEFAULT_MODEL_PATH),
               "installed": DEFAULT_MODEL_PATH.is_file()}
    return {"architectures": archs, "official_checkpoints": known,
            "sha256_source": SHA256_SOURCE, "default_model": default}


def describe(loaded: LoadedModel) -> dict:
    """Architecture, parameter count, origin, identity and training metadata of a model."""
    info = {"source": loaded.source, "arch": loaded.arch,
            "img_size_px": ARCHITECTURES[loaded.arch].img_size,
            "parameters": sum(p.numel() for p in loaded.sam.parameters()),
            "origin": loaded.meta.get("origin", ""), "sha256": loaded.sha256}
    info.update({k: loaded.meta[k] for k in _META_KEYS if k in loaded.meta})
    return info


def verify_checkpoint(path: Path) -> KnownCheckpoint:
    """The official checkpoint whose published SHA-256 the file at ``path`` has.

    Raises ModelError when the file is missing, has a known official name but the wrong size
    or hash (damaged or different download), or matches no known checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelError("file not found", path=path)
    by_name = known_checkpoint_for_name(path.name)
    size = path.stat().st_size
    if by_name is not None and size != by_name.size_bytes:  # fail fast, before hashing GBs
        raise ModelError(f"size {size} bytes differs from the published {by_name.size_bytes} "
                         f"of {by_name.filename}: incomplete or different file, download it "
                         "again", path=path)
    digest = sha256_file(path)
    match = known_checkpoint_for_sha256(digest)
    if match is not None:
        return match
    if by_name is not None:
        raise ModelError(f"SHA-256 {digest} does not match the published {by_name.sha256} of "
                         f"{by_name.filename}: damaged or different file, download it again",
                         path=path)
    raise ModelError(f"SHA-256 {digest} matches no known official SAM checkpoint "
                     f"({', '.join(k.filename for k in KNOWN_CHECKPOINTS)})", path=path)


def export_state_dict(loaded: LoadedModel, out: Path) -> dict:
    """Write ``loaded``'s weights as a plain fp32 ``state_dict`` to ``out`` atomically.

    Official architectures load it with ``segment_anything.sam_model_registry[arch](
    checkpoint=out)``; small ones with ``planseg.models.registry.build_sam(arch)
    .load_state_dict(...)`` or ``load_model(out)``. LoRA checkpoints arrive merged.
    """
    state = float_state_dict(loaded.sam)
    check_state_dict(loaded.arch, state, path=out)  # what we write must load strictly
    with atomic_path(Path(out)) as tmp:
        torch.save(state, tmp)
    log.info("exported %s (%s) to %s", loaded.source, loaded.arch, out)
    return {"source": loaded.source, "arch": loaded.arch, "out": str(out),
            "tensors": len(state), "sha256": sha256_file(Path(out)),
            "official_arch": ARCHITECTURES[loaded.arch].official}
