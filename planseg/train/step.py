"""One training forward pass: encode images, prompt, decode, correct, and compute the loss.

``Sam.forward`` is ``@torch.no_grad()``, so training calls the image encoder, prompt encoder
and mask decoder directly. All of it lives in :class:`PromptedSamLoss.forward` so that Fabric's
wrapper (DDP gradient sync, mixed-precision autocast) sees one forward per step even with
iterative correction rounds.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from segment_anything.modeling import Sam

from planseg.train.config import LossConfig, PromptConfig
from planseg.train.losses import LossParts, sam_loss
from planseg.train.prompts import MASK_PROMPT_LOGIT, correction_point
from planseg.train.transforms import preprocess_batch


def decode(sam: Sam, embedding: torch.Tensor, points: tuple | None, boxes: torch.Tensor | None,
           mask_input: torch.Tensor | None,
           multimask: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Decode prompts on one image embedding (1xCxhxw): (low-res logits NxMx(4h)x(4w) in the
    padded model-input frame at 1/4 scale, predicted IoU NxM); M is 3 with ``multimask``."""
    sparse, dense = sam.prompt_encoder(points=points, boxes=boxes, masks=mask_input)
    return sam.mask_decoder(
        image_embeddings=embedding, image_pe=sam.prompt_encoder.get_dense_pe(),
        sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense,
        multimask_output=multimask)


def upscale_logits(sam: Sam, low_res: torch.Tensor, input_hw: tuple[int, int]) -> torch.Tensor:
    """The first step of ``Sam.postprocess_masks``: bilinear to the padded input size, then
    drop the padding. NxMx(S/4)x(S/4) -> NxMxhxw (model-input frame)."""
    size = sam.image_encoder.img_size
    logits = F.interpolate(low_res, (size, size), mode="bilinear", align_corners=False)
    return logits[..., :input_hw[0], :input_hw[1]]


def low_res_target(masks: torch.Tensor, img_size: int, low_size: int) -> torch.Tensor:
    """Kxhxw bool masks (model-input frame) -> Kx1x(h')x(w') soft targets on the decoder's
    low-res grid: zero-pad like the image, then average each (img_size/low_size)^2 block, then
    drop the rows/columns that only cover padding."""
    scale = img_size // low_size
    h, w = masks.shape[-2:]
    padded = F.pad(masks[:, None].float(), (0, img_size - w, 0, img_size - h))
    pooled = F.avg_pool2d(padded, scale)
    return pooled[..., :-(-h // scale), :-(-w // scale)]


class PromptedSamLoss(torch.nn.Module):
    """Wraps a :class:`Sam`; ``forward(batch)`` returns the batch's losses (dict of scalars).

    The batch is a list of samples from :class:`planseg.train.samples.PageViews`. Padding
    samples (DDP shard filler) run but are weighted zero.
    """

    def __init__(self, sam: Sam, prompts: PromptConfig, loss: LossConfig) -> None:
        super().__init__()
        self.sam, self.prompts, self.loss_cfg = sam, prompts, loss

    def forward(self, batch: list[dict]) -> dict[str, torch.Tensor]:
        encoder_trains = any(p.requires_grad for p in self.sam.image_encoder.parameters())
        with torch.set_grad_enabled(encoder_trains and torch.is_grad_enabled()):
            embeddings = self.sam.image_encoder(
                preprocess_batch(self.sam, [s["image"] for s in batch]))
        parts: list[LossParts] = []
        weights: list[float] = []
        for sample, embedding in zip(batch, embeddings, strict=True):
            if len(sample["masks"]) == 0:
                continue
            parts += self._sample_losses(sample, embedding[None])
            weights += [0.0 if sample["padding"] else 1.0] * (1 + self.prompts.correction_rounds)
        zero = embeddings.sum() * 0.0  # keeps the graph connected when nothing is prompted
        if not parts:
            return {k: zero for k in ("loss", "focal", "dice", "iou")}
        w = torch.tensor(weights, device=zero.device)
        norm = w.sum().clamp(min=1.0)
        result = {}
        for name in ("total", "focal", "dice", "iou"):
            values = torch.stack([getattr(p, name) for p in parts])
            result["loss" if name == "total" else name] = (values * w).sum() / norm + zero
        return result

    def _sample_losses(self, sample: dict, embedding: torch.Tensor) -> list[LossParts]:
        """Losses of the first decode and of every correction round for one sample.

        ``loss.resolution`` "input": logits upscaled to the model input (as the AMG thresholds
        them); "low": the decoder's 1/4-scale logits against block-averaged targets (16x fewer
        pixels: much faster on CPU, boundaries a little softer).
        """
        input_hw = tuple(sample["image"].shape[-2:])
        low = self.loss_cfg.resolution == "low"
        img_size = self.sam.image_encoder.img_size
        low_size = self.sam.prompt_encoder.mask_input_size[0]
        target = low_res_target(sample["masks"], img_size, low_size) if low \
            else sample["masks"][:, None].float()

        def loss_logits(low_res: torch.Tensor) -> torch.Tensor:
            if low:
                return low_res[..., :target.shape[-2], :target.shape[-1]]
            return upscale_logits(self.sam, low_res, input_hw)

        points = None if sample["points"] is None else (sample["points"], sample["labels"])
        low_res, iou_pred = decode(self.sam, embedding, points, sample["boxes"], None,
                                   self.prompts.multimask_output)
        logits = loss_logits(low_res)
        parts = [sam_loss(logits, iou_pred, target, self.loss_cfg)]
        for _ in range(self.prompts.correction_rounds):
            rows = torch.arange(len(target), device=target.device)
            best = parts[-1].best_output
            chosen = logits[rows, best].detach()
            points = self._add_correction_points(points, chosen > 0, target[:, 0] > 0.5,
                                                 img_size // low_size if low else 1)
            mask_input = None
            if self.prompts.use_masks:
                previous = low_res[rows, best].detach()[:, None]
                mask_input = previous if self.prompts.use_logits else torch.where(
                    previous > 0, MASK_PROMPT_LOGIT, -MASK_PROMPT_LOGIT)
            low_res, iou_pred = decode(self.sam, embedding, points, None, mask_input, False)
            logits = loss_logits(low_res)
            parts.append(sam_loss(logits, iou_pred, target, self.loss_cfg))
        return parts

    @staticmethod
    def _add_correction_points(points: tuple | None, predicted: torch.Tensor,
                               target: torch.Tensor, scale: int) -> tuple:
        """Append one point per prompt at the most interior pixel of its largest error
        (``predicted``/``target`` on a grid ``scale`` times coarser than the model input)."""
        pred_np, target_np = predicted.cpu().numpy(), target.cpu().numpy()
        new = [correction_point(p, t) for p, t in zip(pred_np, target_np, strict=True)]
        device = predicted.device
        xy = np.array([n[0] for n in new]) * scale + (scale - 1) / 2  # block centre, input px
        xy = torch.tensor(xy, dtype=torch.float32, device=device)
        labels = torch.tensor([n[1] for n in new], dtype=torch.int64, device=device)
        if points is None:  # box-prompted first round: corrections are points only
            return xy[:, None], labels[:, None]
        return torch.cat([points[0], xy[:, None]], 1), torch.cat([points[1], labels[:, None]], 1)
