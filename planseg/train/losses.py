"""SAM's training loss: focal + dice on masks, MSE on the IoU head, min over the 3 outputs.

With ``multimask_output`` the decoder proposes three masks per prompt (ambiguity: part,
object, whole). Only the output closest to the ground truth is trained on the mask loss (the
"min-loss assignment" of the SAM paper), but the IoU head is supervised on *every* output with
the true IoU of that output: the automatic mask generator keeps a mask only if its predicted
IoU is high, so all three predictions must be calibrated, not just the best one.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from planseg.train.config import LossConfig


def focal_loss(logits: torch.Tensor, target: torch.Tensor, alpha: float,
               gamma: float) -> torch.Tensor:
    """Sigmoid focal loss, mean over pixels. logits NxMxHxW, target Nx1xHxW float -> NxM."""
    target = target.expand_as(logits)
    prob = logits.sigmoid()
    ce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    p_t = prob * target + (1 - prob) * (1 - target)
    alpha_t = alpha * target + (1 - alpha) * (1 - target)
    return (alpha_t * (1 - p_t) ** gamma * ce).flatten(2).mean(-1)


def dice_loss(logits: torch.Tensor, target: torch.Tensor, smooth: float = 1.0) -> torch.Tensor:
    """1 - soft dice. logits NxMxHxW, target Nx1xHxW float -> NxM."""
    prob = logits.sigmoid().flatten(2)
    target = target.expand_as(logits).flatten(2)
    inter = (prob * target).sum(-1)
    return 1 - (2 * inter + smooth) / (prob.sum(-1) + target.sum(-1) + smooth)


def mask_iou(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """IoU of (logits > 0) with the target; an empty union scores 0. NxMxHxW -> NxM."""
    pred = (logits > 0).flatten(2)
    truth = target.expand_as(logits).flatten(2) > 0.5
    inter = (pred & truth).sum(-1).float()
    union = (pred | truth).sum(-1).float()
    return torch.where(union > 0, inter / union.clamp(min=1), torch.zeros_like(union))


@dataclass
class LossParts:
    """Scalar losses of one decode (means over prompts) and the assignment it made."""

    total: torch.Tensor
    focal: torch.Tensor
    dice: torch.Tensor
    iou: torch.Tensor
    best_output: torch.Tensor  # N int64: index of the assigned output per prompt
    true_iou: torch.Tensor  # NxM float: IoU of every output (detached)


def sam_loss(logits: torch.Tensor, iou_pred: torch.Tensor, target: torch.Tensor,
             config: LossConfig) -> LossParts:
    """Loss of M outputs per prompt. logits NxMxHxW (model-input frame, padding removed),
    iou_pred NxM, target Nx1xHxW float in {0, 1}."""
    logits = logits.float()  # losses in fp32 even under mixed precision
    focal = focal_loss(logits, target, config.focal_alpha, config.focal_gamma)
    dice = dice_loss(logits, target)
    per_output = config.focal_weight * focal + config.dice_weight * dice
    best = per_output.detach().argmin(dim=1)
    rows = torch.arange(len(best), device=best.device)
    with torch.no_grad():
        true_iou = mask_iou(logits, target)
    iou = F.mse_loss(iou_pred.float(), true_iou)
    total = per_output[rows, best].mean() + config.iou_weight * iou
    return LossParts(total, focal[rows, best].mean(), dice[rows, best].mean(), iou, best,
                     true_iou)
