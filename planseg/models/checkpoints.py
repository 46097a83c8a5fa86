"""Load any SAM planseg can use, safely; save planseg checkpoints.

``load_model`` resolves a registry architecture name (random init, seeded 0), the packaged
``planseg-default`` model, or a file: an official SAM ``.pth`` state dict (architecture detected
from tensor shapes), a planseg checkpoint, or a LoRA checkpoint merged onto its base.

Every file goes through ``torch.load(..., weights_only=True)``: a pickle that would need
arbitrary code is refused and its payload never runs. Every failure is a one-line
:class:`~planseg.errors.ModelError` naming the path; there is no fallback and no download.

Planseg checkpoint (``torch.save`` of a plain dict)::

    {"planseg_checkpoint": 1, "kind": "model", "arch": str, "state_dict": {...},
     "train_config": dict, "metrics": dict, "planseg_version": str, **extra}
    {"planseg_checkpoint": 1, "kind": "lora", "arch": str, "base": str, "lora_config": {...},
     "adapter_state_dict": {...}, "train_config": dict, "metrics": dict, "planseg_version": str}
"""

from __future__ import annotations

import logging
import pickle
import re
import warnings
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from segment_anything.modeling import Sam

from planseg import __version__
from planseg.errors import ModelError
from planseg.fsio import atomic_path, sha256_file, sha256_json
from planseg.models.known import known_checkpoint_for_sha256
from planseg.models.registry import ARCHITECTURES, build_sam
from planseg.models.state_dicts import build_with_state_dict, detect_arch, looks_like_sam

log = logging.getLogger(__name__)

DEFAULT_MODEL_NAME = "planseg-default"
DEFAULT_MODEL_PATH = Path(__file__).resolve().parent / "weights" / f"{DEFAULT_MODEL_NAME}.pt"
CHECKPOINT_FORMAT = 1
REGISTRY_SEED = 0  # registry names load a random init with this seed (the contract)
_UNSAFE_GLOBAL_RE = re.compile(r"GLOBAL ([\w.]+)")  # torch names the blocked callable
_PICKLE_PROTO = b"\x80"  # first byte of a protocol >= 2 pickle (torch's legacy format)
_MAX_LORA_DEPTH = 4  # a LoRA whose base is a LoRA ...: stop cycles


@dataclass
class LoadedModel:
    """A SAM ready for inference or training, with where it came from.

    ``sha256`` is the identity of the weights (file hash, or a hash of arch + seed for a
    registry random init); ``meta`` holds ``origin`` plus, for planseg checkpoints,
    ``train_config``, ``metrics``, ``recipe`` and any extra keys saved with the weights.
    """

    sam: Sam
    arch: str
    source: str
    sha256: str
    meta: dict = field(default_factory=dict)


def model_identity(loaded: LoadedModel) -> str:
    """Stable hex hash of the weights ``loaded`` carries, for ledgers and cache keys."""
    return loaded.sha256


def load_model(name_or_path: str | Path, *, device: str = "cpu") -> LoadedModel:
    """Resolve a registry name, ``planseg-default`` or a checkpoint path to a :class:`Sam`.

    The model is returned in eval mode on ``device`` with fp32 weights. Raises
    :class:`ModelError` (one line, path named) for anything that cannot be loaded or trusted.
    """
    loaded = _load(name_or_path, depth=0)
    loaded.sam = loaded.sam.float().to(device).eval()
    log.debug("loaded %s: %s, %s (sha256 %s)", loaded.source, loaded.arch,
              loaded.meta.get("origin", ""), loaded.sha256[:12])
    return loaded


def save_planseg_checkpoint(path: Path, sam: torch.nn.Module, arch: str, *, train_config: dict,
                            metrics: dict, extra: dict | None = None,
                            half: bool = False) -> None:
    """Write a ``kind: model`` planseg checkpoint atomically.

    ``half`` stores floating-point tensors as fp16 (about half the bytes, for the packaged
    default model); :func:`load_model` casts them back to fp32. ``train_config``, ``metrics``
    and ``extra`` must hold only plain Python values (they are re-read with ``weights_only``).
    """
    if arch not in ARCHITECTURES:
        raise ModelError(f"cannot save checkpoint: unknown architecture {arch!r}", path=path)
    state = {}
    for key, value in sam.state_dict().items():
        value = value.detach().cpu()
        state[key] = value.half() if half and value.is_floating_point() else value.clone()
    meta = _plain_meta({"train_config": train_config, "metrics": metrics, **(extra or {})},
                       "", path)
    payload = {"planseg_checkpoint": CHECKPOINT_FORMAT, "kind": "model", "arch": arch,
               "state_dict": state, "planseg_version": __version__, **meta}
    with atomic_path(Path(path)) as tmp:
        torch.save(payload, tmp)


def _plain_meta(value: object, key: str, path: Path) -> object:
    """``value`` as types ``weights_only`` reads back: numpy scalars become Python numbers and
    paths strings; anything else that is not plain (a module, an object) is refused."""
    if isinstance(value, dict):
        return {k: _plain_meta(v, f"{key}.{k}" if key else str(k), path)
                for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain_meta(v, f"{key}[{i}]", path) for i, v in enumerate(value)]
    if isinstance(value, Path):
        return str(value)
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        value = value.item()  # np.float64 is a float subclass, yet pickles as numpy
    if type(value) not in (str, int, float, bool, type(None)):
        raise ModelError(f"cannot save checkpoint: {key} is a {type(value).__name__}; "
                         "metadata must be plain str/int/float/bool/list/dict", path=path)
    return value


def read_checkpoint(path: Path) -> object:
    """``torch.load`` a file with ``weights_only=True`` onto the CPU, errors as ModelError.

    Distinguishes: missing file, empty file, unsafe pickle (refused, never executed),
    truncated file, and bytes that are not a PyTorch checkpoint at all.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelError("checkpoint file not found" if not path.exists()
                         else "checkpoint path is not a file", path=path)
    if path.stat().st_size == 0:
        raise ModelError("checkpoint file is empty", path=path)
    with open(path, "rb") as handle:
        head = handle.read(2)
    if not head.startswith(b"PK") and head[:1] != _PICKLE_PROTO:  # torch writes one of these
        raise _not_a_checkpoint(path)
    try:
        with warnings.catch_warnings():  # torch warns about foreign pickle protocols
            warnings.simplefilter("ignore", UserWarning)
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "weights only load failed" in str(exc).lower():
            found = _UNSAFE_GLOBAL_RE.search(str(exc))
            what = f" ({found.group(1)})" if found else ""
            raise ModelError(f"refused: unpickling needs arbitrary code{what}, which was not "
                             "run; only plain tensor files are loaded. Re-save it as a plain "
                             "state_dict from a trusted environment", path=path) from None
        raise _not_a_checkpoint(path) from None
    except Exception as exc:  # torch raises RuntimeError/EOFError/KeyError/... by format
        raise _classify_load_failure(path, exc) from None


def _classify_load_failure(path: Path, exc: Exception) -> ModelError:
    with open(path, "rb") as handle:
        head = handle.read(4)
    if head.startswith(b"PK"):
        if not zipfile.is_zipfile(path):
            return ModelError("checkpoint is truncated or damaged (zip central directory "
                              "missing); download or copy it again", path=path)
        with zipfile.ZipFile(path) as archive:
            if not any(n.endswith("/data.pkl") for n in archive.namelist()):
                return ModelError("a zip archive but not a PyTorch checkpoint", path=path)
        return ModelError(f"checkpoint is damaged ({type(exc).__name__}); copy it again",
                          path=path)
    if head[:1] == _PICKLE_PROTO and isinstance(exc, EOFError | RuntimeError):
        return ModelError("checkpoint is truncated (ran out of data); copy it again",
                          path=path)
    return _not_a_checkpoint(path)


def _not_a_checkpoint(path: Path) -> ModelError:
    return ModelError("not a PyTorch checkpoint (expected a SAM .pth state dict or a planseg "
                      "checkpoint)", path=path)


def _load(name_or_path: str | Path, *, depth: int) -> LoadedModel:
    name = str(name_or_path)
    if isinstance(name_or_path, str) and name in ARCHITECTURES:
        return _load_registry(name)
    if isinstance(name_or_path, str) and name == DEFAULT_MODEL_NAME:
        if not DEFAULT_MODEL_PATH.is_file():
            raise ModelError("the packaged default model is missing from this installation; "
                             "build it with `planseg train` or pass --model PATH",
                             path=DEFAULT_MODEL_PATH)
        loaded = _load_file(DEFAULT_MODEL_PATH, depth=depth)
        loaded.source = DEFAULT_MODEL_NAME
        return loaded
    path = Path(name_or_path)
    if not path.exists() and isinstance(name_or_path, str) and path.suffix == "":
        raise ModelError(f"unknown model {name!r}: not a file, not {DEFAULT_MODEL_NAME!r} and "
                         f"not an architecture ({', '.join(ARCHITECTURES)})")
    return _load_file(path, depth=depth)


def _load_registry(arch: str) -> LoadedModel:
    sam = build_sam(arch, seed=REGISTRY_SEED)
    # The hyper-parameters, not just the name: a changed registry entry is another model.
    identity = sha256_json({"registry_arch": arch, "spec": asdict(ARCHITECTURES[arch]),
                            "seed": REGISTRY_SEED})
    origin = f"random initialisation of architecture {arch} (seed {REGISTRY_SEED})"
    return LoadedModel(sam=sam, arch=arch, source=arch, sha256=identity,
                       meta={"origin": origin})


def _load_file(path: Path, *, depth: int) -> LoadedModel:
    obj = read_checkpoint(path)
    if not isinstance(obj, dict):
        raise ModelError(f"not a SAM checkpoint: holds a {type(obj).__name__}, not a dict",
                         path=path)
    digest = sha256_file(path)
    if "planseg_checkpoint" in obj:
        return _load_planseg(path, obj, digest, depth=depth)
    return _load_state_dict(path, obj, digest)


def _load_state_dict(path: Path, state: dict, digest: str) -> LoadedModel:
    if not looks_like_sam(state):
        hint = ""
        if isinstance(state.get("model"), dict) or isinstance(state.get("state_dict"), dict):
            hint = " (looks like a training-state file; pass RUN/best.pt or a plain state_dict)"
        raise ModelError(f"not a SAM state dict: no image_encoder/mask_decoder tensors{hint}",
                         path=path)
    arch = detect_arch(state, path=path)
    sam = build_with_state_dict(arch, state, path=path)
    known = known_checkpoint_for_sha256(digest)
    origin = (f"official SAM checkpoint {known.filename}" if known
              else f"SAM state dict, architecture {arch} detected from tensor shapes")
    return LoadedModel(sam=sam, arch=arch, source=str(path), sha256=digest,
                       meta={"origin": origin})


def _load_planseg(path: Path, ckpt: dict, digest: str, *, depth: int) -> LoadedModel:
    version, kind, arch = ckpt.get("planseg_checkpoint"), ckpt.get("kind"), ckpt.get("arch")
    if version != CHECKPOINT_FORMAT:
        raise ModelError(f"planseg checkpoint format {version!r} is not supported "
                         f"(this planseg reads format {CHECKPOINT_FORMAT})", path=path)
    if arch not in ARCHITECTURES:
        raise ModelError(f"checkpoint names unknown architecture {arch!r} "
                         f"(known: {', '.join(ARCHITECTURES)})", path=path)
    meta = {k: v for k, v in ckpt.items() if k not in ("state_dict", "adapter_state_dict")}
    if kind == "model":
        _require(ckpt, ("state_dict",), path)
        sam = build_with_state_dict(arch, ckpt["state_dict"], path=path)
        meta["origin"] = f"planseg checkpoint ({arch}, planseg {ckpt.get('planseg_version')})"
    elif kind == "lora":
        _require(ckpt, ("base", "lora_config", "adapter_state_dict"), path)
        sam = _merge_lora(path, ckpt, depth=depth)
        meta["origin"] = f"planseg LoRA checkpoint merged onto {ckpt['base']}"
    else:
        raise ModelError(f"planseg checkpoint of unknown kind {kind!r} (expected model or "
                         "lora)", path=path)
    return LoadedModel(sam=sam, arch=arch, source=str(path), sha256=digest, meta=meta)


def _require(ckpt: dict, keys: tuple[str, ...], path: Path) -> None:
    missing = [k for k in keys if not isinstance(ckpt.get(k), dict | str)]
    if missing:
        raise ModelError(f"planseg checkpoint lacks {', '.join(missing)}", path=path)


def _base_reference(path: Path, base_name: str) -> str | Path:
    """A relative base path is looked up beside the LoRA checkpoint first, then from the CWD."""
    if base_name in ARCHITECTURES or base_name == DEFAULT_MODEL_NAME or \
            Path(base_name).is_absolute():
        return base_name
    beside = path.parent / base_name
    return beside if beside.exists() else base_name


def _merge_lora(path: Path, ckpt: dict, *, depth: int) -> Sam:
    from planseg.models.lora import merge_lora_checkpoint  # peft is imported only for LoRA

    if depth >= _MAX_LORA_DEPTH:
        raise ModelError("LoRA base chain too deep (a cycle?)", path=path)
    base_name = ckpt["base"]
    base_ref = _base_reference(path, base_name)
    base = _load(base_ref, depth=depth + 1)
    if base.arch != ckpt["arch"]:
        raise ModelError(f"LoRA checkpoint is for {ckpt['arch']} but its base {base_name!r} is "
                         f"{base.arch}", path=path)
    try:
        return merge_lora_checkpoint(ckpt, base.sam.float())
    except (KeyError, RuntimeError, ValueError) as exc:
        raise ModelError(f"LoRA adapters do not fit base {base_name!r}: {exc}",
                         path=path) from None
