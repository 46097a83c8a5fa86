"""Named SAM architectures, all assembled from ``segment_anything.modeling`` classes.

The three official ViT sizes match ``segment_anything.sam_model_registry`` exactly, so their
state dicts load in stock segment-anything. The small planseg architectures keep SAM's design
(ViT encoder with windowed + global attention, prompt encoder, two-way transformer decoder with
three multimask outputs and an IoU head) at a size that trains on a CPU: ``tiny`` for tests,
``small`` for the embedded default model.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import torch
from segment_anything.modeling import (
    ImageEncoderViT,
    MaskDecoder,
    PromptEncoder,
    Sam,
    TwoWayTransformer,
)

# SAM's preprocessing constants (ImageNet statistics on 0..255 RGB); they travel with the weights.
PIXEL_MEAN = (123.675, 116.28, 103.53)
PIXEL_STD = (58.395, 57.12, 57.375)
PATCH_SIZE = 16


@dataclass(frozen=True)
class ArchSpec:
    """Hyper-parameters of one SAM architecture (names follow ``segment_anything.build_sam``)."""

    name: str
    description: str
    img_size: int
    encoder_embed_dim: int
    encoder_depth: int
    encoder_num_heads: int
    encoder_global_attn_indexes: tuple[int, ...]
    window_size: int = 14
    prompt_embed_dim: int = 256
    decoder_depth: int = 2
    decoder_mlp_dim: int = 2048
    decoder_num_heads: int = 8
    iou_head_hidden_dim: int = 256
    official: bool = False

    @property
    def image_embedding_size(self) -> int:
        """Side of the square image embedding grid (img_size / patch size)."""
        return self.img_size // PATCH_SIZE

    def build(self) -> Sam:
        """A randomly initialised :class:`Sam` of this architecture, in eval mode."""
        encoder = ImageEncoderViT(
            depth=self.encoder_depth, embed_dim=self.encoder_embed_dim, img_size=self.img_size,
            mlp_ratio=4, norm_layer=partial(torch.nn.LayerNorm, eps=1e-6),
            num_heads=self.encoder_num_heads, patch_size=PATCH_SIZE, qkv_bias=True,
            use_rel_pos=True, global_attn_indexes=self.encoder_global_attn_indexes,
            window_size=self.window_size, out_chans=self.prompt_embed_dim)
        prompt_encoder = PromptEncoder(
            embed_dim=self.prompt_embed_dim,
            image_embedding_size=(self.image_embedding_size, self.image_embedding_size),
            input_image_size=(self.img_size, self.img_size), mask_in_chans=16)
        decoder = MaskDecoder(
            num_multimask_outputs=3,
            transformer=TwoWayTransformer(depth=self.decoder_depth,
                                          embedding_dim=self.prompt_embed_dim,
                                          mlp_dim=self.decoder_mlp_dim,
                                          num_heads=self.decoder_num_heads),
            transformer_dim=self.prompt_embed_dim, iou_head_depth=3,
            iou_head_hidden_dim=self.iou_head_hidden_dim)
        sam = Sam(image_encoder=encoder, prompt_encoder=prompt_encoder, mask_decoder=decoder,
                  pixel_mean=list(PIXEL_MEAN), pixel_std=list(PIXEL_STD))
        return sam.eval()

    def parameter_count(self) -> int:
        """Number of parameters, counted on the meta device (no memory allocated)."""
        with torch.device("meta"):
            return sum(p.numel() for p in self.build().parameters())


ARCHITECTURES: dict[str, ArchSpec] = {
    spec.name: spec
    for spec in (
        ArchSpec("vit_h", "official SAM ViT-H (segment_anything.build_sam_vit_h)", 1024,
                 1280, 32, 16, (7, 15, 23, 31), official=True),
        ArchSpec("vit_l", "official SAM ViT-L (segment_anything.build_sam_vit_l)", 1024,
                 1024, 24, 16, (5, 11, 17, 23), official=True),
        ArchSpec("vit_b", "official SAM ViT-B (segment_anything.build_sam_vit_b)", 1024,
                 768, 12, 12, (2, 5, 8, 11), official=True),
        ArchSpec("small", "planseg small SAM (default model): 512 px input, 4-block ViT", 512,
                 128, 4, 4, (1, 3), window_size=8, prompt_embed_dim=128, decoder_mlp_dim=512,
                 decoder_num_heads=4, iou_head_hidden_dim=128),
        ArchSpec("tiny", "planseg tiny SAM for tests: 256 px input, 2-block ViT", 256,
                 64, 2, 2, (1,), window_size=8, prompt_embed_dim=64, decoder_mlp_dim=128,
                 decoder_num_heads=2, iou_head_hidden_dim=64),
    )
}


def get_arch(name: str) -> ArchSpec:
    """Look up an architecture by name; unknown names raise ``KeyError`` listing the known."""
    try:
        return ARCHITECTURES[name]
    except KeyError:
        raise KeyError(f"unknown architecture {name!r} (known: {', '.join(ARCHITECTURES)})") \
            from None


def build_sam(name: str, *, seed: int | None = None) -> Sam:
    """A randomly initialised SAM of architecture ``name`` (seeded when ``seed`` is given)."""
    spec = get_arch(name)
    if seed is None:
        return spec.build()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return spec.build()
