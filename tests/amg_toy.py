"""Zoning-like toy pages and a seconds-long SAM training loop (AMG tests and benchmark).

The mask generator tests need a model whose masks mean something (random weights give
near-zero predicted IoUs and stability scores, so the library's filters remove everything and
an equivalence test would compare empty lists). ``train_toy_sam`` fits the ``tiny``
architecture to point-prompted polygons drawn with OpenCV: single positive point, three
multimask outputs, the best output trained with BCE + dice, the IoU head with MSE against the
outputs' true IoUs (SAM's recipe, shrunk).
"""

from __future__ import annotations

import time

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from planseg.models.registry import build_sam

PALETTE = [(230, 80, 80), (80, 170, 90), (70, 110, 220), (240, 200, 60), (170, 90, 200),
           (250, 150, 40), (120, 200, 220), (200, 120, 150)]


def zoning_page(seed: int, width: int = 256, height: int = 256
                ) -> tuple[np.ndarray, list[np.ndarray]]:
    """HxWx3 uint8 RGB page (white paper, filled polygons with dark outlines) and HxW bool masks.

    Polygons are jittered cells of a coarse grid, so zones sit side by side as on a zoning map,
    with a white margin and some empty (paper-only) cells.
    """
    rng = np.random.default_rng(seed)
    image = np.full((height, width, 3), 255, dtype=np.uint8)
    masks = []
    cols, rows = int(rng.integers(2, 4)), int(rng.integers(2, 4))
    cw, ch = (width - 32) / cols, (height - 32) / rows
    for r in range(rows):
        for c in range(cols):
            if rng.random() < 0.2:
                continue
            x0, y0 = 16 + c * cw, 16 + r * ch
            corners = np.array([[x0, y0], [x0 + cw, y0], [x0 + cw, y0 + ch], [x0, y0 + ch]])
            corners += rng.uniform(-0.12, 0.12, size=(4, 2)) * [cw, ch]
            if rng.random() < 0.3:  # a triangle-ish zone
                corners = corners[[0, 1, 2]] if rng.random() < 0.5 else corners[[0, 2, 3]]
            pts = np.round(corners).astype(np.int32)
            color = PALETTE[int(rng.integers(len(PALETTE)))]
            cv2.fillPoly(image, [pts], color)
            cv2.polylines(image, [pts], True, (40, 40, 40), 1)
            mask = np.zeros((height, width), np.uint8)
            cv2.fillPoly(mask, [pts], 1)
            masks.append(mask.astype(bool))
    return image, masks


def _prompts(masks: list[np.ndarray], rng: np.random.Generator, k: int
             ) -> tuple[np.ndarray, np.ndarray]:
    """k (x, y) points inside random masks (k x 2 float) and those masks (k x H x W float32)."""
    points, targets = [], []
    for _ in range(k):
        mask = masks[int(rng.integers(len(masks)))]
        ys, xs = np.nonzero(mask)
        i = int(rng.integers(len(xs)))
        points.append((xs[i] + 0.5, ys[i] + 0.5))
        targets.append(mask.astype(np.float32))
    return np.array(points), np.stack(targets)


def train_toy_sam(arch: str = "tiny", *, steps: int = 400, seconds: float = 600.0,
                  pages: int = 24, prompts_per_page: int = 16, seed: int = 0,
                  lr: float = 2e-3) -> torch.nn.Module:
    """``build_sam(arch, seed)`` trained on toy pages for ``steps`` steps (at most ``seconds``)."""
    torch.manual_seed(seed)
    sam = build_sam(arch, seed=seed).train()
    size = sam.image_encoder.img_size
    data = [zoning_page(seed * 1000 + i, size, size) for i in range(pages)]
    data = [(img, m) for img, m in data if m]
    optimizer = torch.optim.AdamW(sam.parameters(), lr=lr, weight_decay=0.01)
    rng = np.random.default_rng(seed)
    start, step = time.perf_counter(), 0
    while step < steps and time.perf_counter() - start < seconds:
        image, masks = data[step % len(data)]
        loss = _step_loss(sam, image, masks, rng, prompts_per_page)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        step += 1
    return sam.eval()


def _step_loss(sam: torch.nn.Module, image: np.ndarray, masks: list[np.ndarray],
               rng: np.random.Generator, k: int) -> torch.Tensor:
    pixels = torch.as_tensor(image).permute(2, 0, 1)[None].float()
    features = sam.image_encoder(sam.preprocess(pixels))
    points, targets = _prompts(masks, rng, k)
    coords = torch.as_tensor(points, dtype=torch.float)[:, None, :]
    labels = torch.ones(k, 1, dtype=torch.int)
    sparse, dense = sam.prompt_encoder(points=(coords, labels), boxes=None, masks=None)
    low, iou_pred = sam.mask_decoder(image_embeddings=features,
                                     image_pe=sam.prompt_encoder.get_dense_pe(),
                                     sparse_prompt_embeddings=sparse,
                                     dense_prompt_embeddings=dense, multimask_output=True)
    # Loss at the decoder's low resolution (img_size/4): 16x cheaper than full size.
    logits = low
    target = F.adaptive_avg_pool2d(torch.as_tensor(targets)[:, None], low.shape[-2:])
    target = (target > 0.5).float().expand_as(logits)
    bce = F.binary_cross_entropy_with_logits(logits, target, reduction="none").mean((2, 3))
    prob = logits.sigmoid()
    inter = (prob * target).sum((2, 3))
    dice = 1 - (2 * inter + 1) / (prob.sum((2, 3)) + target.sum((2, 3)) + 1)
    per_output = bce + dice
    best = per_output.argmin(dim=1)
    with torch.no_grad():
        hard = (logits > 0).float()
        true_iou = (hard * target).sum((2, 3)) / ((hard + target).clamp(max=1).sum((2, 3)) + 1e-6)
    return (per_output.gather(1, best[:, None]).mean()
            + F.mse_loss(iou_pred, true_iou))
