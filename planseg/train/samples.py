"""Training samples: page views (whole page resized, random crops of large pages) with prompts.

A sample key is ``(epoch, view_index, is_padding)``: every random choice for a sample (crop
window, which masks, prompts) comes from a generator seeded with (seed, epoch, view_index),
so the same sample is identical whatever the number of processes or workers, and a resumed
run replays an epoch exactly. :class:`EpochSampler` shuffles with (dataloader_seed, epoch) and
shards across processes, padding the last shard with marked duplicates that count zero.
"""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from planseg.train.config import DatasetConfig, PromptConfig
from planseg.train.data import PageRecord
from planseg.train.prompts import sample_prompts
from planseg.train.transforms import image_to_tensor, resize_image, resize_masks

WHOLE_PAGE = -1
CROP_MIN_RATIO = 1.25  # pages at most this much larger than a crop are only seen whole


def read_image(path: str) -> np.ndarray:
    """The page image as HxWx3 uint8 RGB."""
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        raise OSError(f"cannot read image {path}")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


class PageViews(Dataset):
    """Views of pages as model inputs, with masks and prompts in the model-input frame.

    Each item is a dict: ``image`` 3xhxw uint8 tensor (longest side = img_size), ``masks``
    Kxhxw bool tensor, ``points`` KxPx2 float32 / ``labels`` KxP int64 (or None),
    ``boxes`` Kx4 float32 (or None), ``key`` (epoch, view index), ``padding`` bool.
    """

    def __init__(self, pages: list[PageRecord], *, img_size: int, dataset: DatasetConfig,
                 prompts: PromptConfig, seed: int, train: bool = True,
                 max_instances: int | None = None) -> None:
        self.pages, self.img_size, self.cfg, self.prompts = pages, img_size, dataset, prompts
        self.seed, self.train = seed, train
        self.max_instances = max_instances or dataset.max_instances
        self.crop_px = dataset.crop_px or img_size
        self.views: list[tuple[int, int]] = []
        for index, page in enumerate(pages):
            self.views.append((index, WHOLE_PAGE))
            large = max(page.width_px, page.height_px) > CROP_MIN_RATIO * self.crop_px
            if train and large and page.rles:
                self.views += [(index, k) for k in range(dataset.crops_per_page)]

    def __len__(self) -> int:
        return len(self.views)

    def __getitem__(self, key: tuple[int, int, bool]) -> dict:
        epoch, view_index, padding = key
        rng = np.random.default_rng((self.seed, epoch, view_index))
        page_index, crop = self.views[view_index]
        page = self.pages[page_index]
        window = (0, 0, page.width_px, page.height_px) if crop == WHOLE_PAGE \
            else self._crop_window(page, rng)
        chosen = self._choose_masks(page, window, rng)
        image = read_image(page.path)
        x0, y0, x1, y1 = window
        image = resize_image(image[y0:y1, x0:x1], self.img_size)
        h, w = image.shape[:2]
        masks = resize_masks(page.decode(chosen)[:, y0:y1, x0:x1], (h, w))
        masks = masks[masks.reshape(len(masks), -1).sum(1) >= self.cfg.min_mask_px]
        if not page.rles:  # a kept negative: a few points whose target is "no mask"
            masks = np.zeros((max(1, self.max_instances // 4), h, w), dtype=bool)
        prompts = sample_prompts(masks, rng, self.prompts, deterministic=not self.train)
        return {
            "image": image_to_tensor(image),
            "masks": torch.from_numpy(masks),
            "points": None if prompts.points_xy is None else torch.from_numpy(prompts.points_xy),
            "labels": None if prompts.labels is None else torch.from_numpy(prompts.labels),
            "boxes": None if prompts.boxes_xyxy is None else torch.from_numpy(
                prompts.boxes_xyxy),
            "key": (epoch, view_index),
            "padding": bool(padding),
        }

    def _crop_window(self, page: PageRecord, rng: np.random.Generator) -> tuple[int, ...]:
        """A crop_px square (clamped to the page) containing a random annotation's centre."""
        x, y, bw, bh = page.boxes_xywh[int(rng.integers(len(page.boxes_xywh)))]
        cx, cy = x + bw / 2, y + bh / 2
        cw, ch = min(self.crop_px, page.width_px), min(self.crop_px, page.height_px)
        x0 = int(np.clip(cx - rng.uniform(0.1, 0.9) * cw, 0, page.width_px - cw))
        y0 = int(np.clip(cy - rng.uniform(0.1, 0.9) * ch, 0, page.height_px - ch))
        return x0, y0, x0 + cw, y0 + ch

    def _choose_masks(self, page: PageRecord, window: tuple[int, ...],
                      rng: np.random.Generator) -> list[int]:
        """Up to max_instances masks whose box meets the window (random in training)."""
        x0, y0, x1, y1 = window
        hits = [i for i, (x, y, bw, bh) in enumerate(page.boxes_xywh)
                if x < x1 and y < y1 and x + bw > x0 and y + bh > y0]
        if self.train and len(hits) > self.max_instances:
            hits = sorted(rng.choice(hits, self.max_instances, replace=False).tolist())
        return hits[:self.max_instances]


class EpochSampler(Sampler):
    """Yields ``(epoch, view_index, is_padding)`` keys for this process's shard of an epoch.

    The order is a permutation seeded by (seed, epoch) when shuffling; shard ``rank`` takes
    every ``world_size``-th key; the last keys are repeated so all shards are equally long
    (DDP needs the same number of steps) and flagged so they add no loss and no count.
    """

    def __init__(self, length: int, *, seed: int, rank: int = 0, world_size: int = 1,
                 shuffle: bool = True) -> None:
        self.length, self.seed, self.rank, self.world = length, seed, rank, world_size
        self.shuffle, self.epoch = shuffle, 0

    def use_epoch(self, epoch: int) -> None:
        """Select the epoch whose keys the next iteration yields. (Deliberately not named
        ``set_epoch``: Fabric calls that with its own count of iterations, which is wrong after
        ``--resume``.)"""
        self.epoch = epoch

    def __len__(self) -> int:
        return -(-self.length // self.world)

    def __iter__(self) -> Iterator[tuple[int, int, bool]]:
        order = np.random.default_rng((self.seed, self.epoch)).permutation(self.length) \
            if self.shuffle else np.arange(self.length)
        total = len(self) * self.world
        padded = np.resize(order, total)  # repeats the order cyclically to fill the shards
        for position in range(self.rank, total, self.world):
            yield self.epoch, int(padded[position]), position >= self.length


def collate(samples: list[dict]) -> list[dict]:
    """Samples have different sizes and prompt counts: a batch is the list itself."""
    return samples
