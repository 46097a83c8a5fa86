"""SAM state dicts: architecture detection from tensor shapes and strict, explained loading.

A SAM state dict's architecture is fixed by four shapes: the image encoder's embedding width
(``patch_embed.proj.weight``: ``[embed_dim, 3, 16, 16]``), its number of blocks, its input
size (``pos_embed``: ``[1, img_size/16, img_size/16, embed_dim]``) and the prompt embedding
width (``point_embeddings.0.weight``: ``[1, prompt_dim]``). Users need not name the
architecture of an official ``.pth``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import torch
from segment_anything.modeling import Sam

from planseg.errors import ModelError
from planseg.models.registry import ARCHITECTURES, PATCH_SIZE, PIXEL_MEAN, PIXEL_STD, ArchSpec

PATCH_KEY = "image_encoder.patch_embed.proj.weight"
POS_KEY = "image_encoder.pos_embed"
PROMPT_KEY = "prompt_encoder.point_embeddings.0.weight"
_BLOCK_RE = re.compile(r"^image_encoder\.blocks\.(\d+)\.")
_SHOWN = 3  # key names quoted in an error message


def looks_like_sam(state: Mapping) -> bool:
    """Whether ``state`` is a flat mapping of tensors with SAM's top-level module names."""
    tensors = [k for k, v in state.items() if isinstance(k, str) and torch.is_tensor(v)]
    return any(k.startswith(("image_encoder.", "mask_decoder.", "prompt_encoder."))
               for k in tensors)


def signature(state: Mapping, *, path: Path | str) -> tuple[int, int, int, int]:
    """(embed_dim, depth, img_size_px, prompt_dim) read from the shapes in ``state``."""
    absent = [k for k in (PATCH_KEY, POS_KEY, PROMPT_KEY) if k not in state]
    if absent:
        raise ModelError(f"missing keys: {', '.join(absent)}", path=path)
    patch, pos, prompt = state[PATCH_KEY], state[POS_KEY], state[PROMPT_KEY]
    if patch.ndim != 4 or pos.ndim != 4 or prompt.ndim != 2:
        raise ModelError("tensor shapes match no architecture (patch_embed "
                         f"{tuple(patch.shape)}, pos_embed {tuple(pos.shape)})", path=path)
    depth = len({int(m.group(1)) for k in state if (m := _BLOCK_RE.match(str(k)))})
    return int(patch.shape[0]), depth, int(pos.shape[1]) * PATCH_SIZE, int(prompt.shape[1])


def _spec_signature(spec: ArchSpec) -> tuple[int, int, int, int]:
    return (spec.encoder_embed_dim, spec.encoder_depth, spec.img_size, spec.prompt_embed_dim)


def detect_arch(state: Mapping, *, path: Path | str) -> str:
    """Name of the registry architecture whose shapes ``state`` has; ModelError if none."""
    found = signature(state, path=path)
    for name, spec in ARCHITECTURES.items():
        if _spec_signature(spec) == found:
            return name
    embed, depth, img, prompt = found
    known = "; ".join(f"{n} {_spec_signature(s)}" for n, s in ARCHITECTURES.items())
    raise ModelError(f"tensor shapes match no architecture: embed dim {embed}, {depth} blocks, "
                     f"{img} px input, prompt dim {prompt} (known (embed, blocks, px, prompt): "
                     f"{known})", path=path)


def expected_shapes(arch: str) -> dict[str, tuple[int, ...]]:
    """Key -> shape of the state dict of architecture ``arch`` (built on the meta device)."""
    with torch.device("meta"):
        sam = ARCHITECTURES[arch].build()
    return {k: tuple(v.shape) for k, v in sam.state_dict().items()}


def check_state_dict(arch: str, state: Mapping, *, path: Path | str) -> None:
    """Raise ModelError naming a few missing, unexpected or mis-shaped keys, if any."""
    expected = expected_shapes(arch)
    not_tensors = [str(k) for k, v in state.items() if not torch.is_tensor(v)]
    if not_tensors:
        raise ModelError(f"state dict values that are not tensors: {_few(not_tensors)}",
                         path=path)
    missing = [k for k in expected if k not in state]
    unexpected = [str(k) for k in state if k not in expected]
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing keys for {arch} ({_few(missing)})")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected keys ({_few(unexpected)})")
    if problems:
        raise ModelError("; ".join(problems), path=path)
    wrong = [f"{k} {tuple(state[k].shape)} != {shape}" for k, shape in expected.items()
             if tuple(state[k].shape) != shape]
    if wrong:
        raise ModelError(f"{len(wrong)} tensors have the wrong shape for {arch} "
                         f"({_few(wrong)})", path=path)


def build_with_state_dict(arch: str, state: Mapping, *, path: Path | str) -> Sam:
    """A :class:`Sam` of ``arch`` holding ``state`` (fp16 tensors are cast to fp32).

    The module is built on the meta device and materialised empty, so loading a ViT-H does
    not first spend seconds and gigabytes on a random initialisation that is overwritten.
    """
    check_state_dict(arch, state, path=path)
    with torch.device("meta"):
        sam = ARCHITECTURES[arch].build()
    sam = sam.to_empty(device="cpu")
    sam.load_state_dict(dict(state), strict=True)
    # The only non-persistent buffers in Sam: not in any state dict, so set them here.
    sam.pixel_mean.copy_(torch.tensor(PIXEL_MEAN).view(-1, 1, 1))
    sam.pixel_std.copy_(torch.tensor(PIXEL_STD).view(-1, 1, 1))
    return sam.eval()


def float_state_dict(sam: torch.nn.Module) -> dict[str, torch.Tensor]:
    """CPU copy of ``sam.state_dict()`` with floating-point tensors in fp32 (export format)."""
    return {k: (v.detach().cpu().float() if v.is_floating_point() else v.detach().cpu())
            .contiguous() for k, v in sam.state_dict().items()}


def _few(names: list[str]) -> str:
    shown = ", ".join(names[:_SHOWN])
    return shown + (f", ... {len(names) - _SHOWN} more" if len(names) > _SHOWN else "")
