"""The device side of segment: load the model once per process, pick the device, build the
mask generator the pipeline runs on tiles.

The generator contract (``generate(image HxWx3 uint8) -> list[record]`` with
``SamAutomaticMaskGenerator(output_mode="coco_rle")`` records: ``segmentation`` COCO RLE over
the given image, ``bbox`` xywh pixels, ``predicted_iou``, ``stability_score``) is what
:mod:`planseg.infer.tiles` consumes; :class:`planseg.infer.amg.FastMaskGenerator` is the one
built here, tests may pass any other.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from planseg.errors import ConfigError
from planseg.fsio import sha256_json
from planseg.infer.config import DEFAULT_MODEL, SAM_PARAMETERS, AmgConfig, SegmentConfig

if TYPE_CHECKING:
    from planseg.models.checkpoints import LoadedModel

log = logging.getLogger(__name__)


class MaskGenerator(Protocol):
    """Anything with SamAutomaticMaskGenerator's ``generate`` in ``coco_rle`` mode."""

    def generate(self, image: np.ndarray) -> list[dict[str, Any]]: ...


#: Engines whose plans never ask the device for masks.
MODEL_FREE_ENGINES = ("vector", "regions")


@dataclass(frozen=True)
class NoModel:
    """What a model-free engine loads: nothing (``sam`` None); ``sha256`` keys the ledger."""

    source: str
    sha256: str
    sam: None = None
    arch: str = "none"


def load_segment_model(config: SegmentConfig, *, announce: bool = True
                       ) -> tuple[LoadedModel | NoModel, SegmentConfig]:
    """Load ``config.model``; return it with the config whose unset AMG settings (None) are
    filled from the checkpoint's calibrated ``amg_defaults``, if it has them: SAM's default
    thresholds (0.88 / 0.95) suit SAM's own IoU head, not every fine-tuned model's. ``config``
    itself is not changed. ``announce``: log what was chosen (once per run). The engines
    that need no model load nothing (:class:`NoModel`: ``sam`` None, the identity names the
    engine)."""
    if config.engine in MODEL_FREE_ENGINES:  # no model read or checked, no torch imported
        return NoModel(source=f"engine {config.engine}",
                       sha256=sha256_json({"engine": config.engine})), config
    from planseg.models.checkpoints import load_model

    if announce and config.model == DEFAULT_MODEL:
        log.info("the default model suits clean planning-map styles; for real work use a SAM "
                 "checkpoint fine-tuned with `planseg train` (--model PATH)")
    loaded = load_model(config.model)
    applied = {key: value for key, value in loaded.meta.get("amg_defaults", {}).items()
               if key in SAM_PARAMETERS and getattr(config.amg, key) is None}
    if announce and applied:
        log.info("AMG settings calibrated for this model: %s (set amg.* to override)",
                 ", ".join(f"{k}={v}" for k, v in applied.items()))
    return loaded, replace(config, amg=replace(config.amg, **applied))


def torch_accelerator(accelerator: str) -> str:
    """``auto``, ``cpu`` or ``cuda`` for torch / Fabric; refuses ``gpu`` without CUDA."""
    import torch

    if accelerator == "gpu" and not torch.cuda.is_available():
        raise ConfigError("accelerator: gpu asked for but no CUDA device is available")
    return {"gpu": "cuda"}.get(accelerator, accelerator)


def single_device(accelerator: str) -> str:
    """The torch device of a one-process run: ``cuda`` when asked for or available, else
    ``cpu``."""
    import torch

    resolved = torch_accelerator(accelerator)
    return "cuda" if resolved != "cpu" and torch.cuda.is_available() else "cpu"


def power_of_two_threads(available: int) -> int:
    """The largest power of two <= ``available`` (at least 1): the CPU thread counts whose
    results agree with each other (see :func:`same_results_on_any_thread_count`)."""
    return 1 << (max(1, available).bit_length() - 1)


@contextmanager
def same_results_on_any_thread_count(device: str, threads: int | None) -> Iterator[None]:
    """Run the model on ``device`` so that its outputs do not depend on how many CPU threads
    it gets: a one-process run uses every core, each of N CPU ranks ``CPUs / N``, and
    ``--devices 2`` must write the bytes ``--devices 1`` writes. GPUs are left as they are.

    ``threads``: torch intra-op threads as the user set them (kept), or None: torch's default
    rounded down to a power of two. Both are restored on exit. Measured on the default model
    (benchmarks/bench_thread_invariance.py) and on vit_b/vit_h-sized layers (issue 20), two
    things move fp32 CPU results with the thread count, so both are avoided here:

    - oneDNN's 1x1 convolution (SAM's neck) splits its sums by thread count: 1 vs 2 threads
      gave embeddings 1e-6 apart and scores that differ in the 6th decimal. It is switched
      off; torch's own convolution and MKL's GEMM gave the same bits at 1-16 threads.
    - torch splits an element-wise op over ``ceil(n / threads)``-element chunks and computes
      each chunk's unaligned tail with the scalar function (GELU's erf differs from the
      vectorised one in the last bit): 3, 6 or 12 threads differ from 1, 2, 4, 8 and 16,
      which all agree on SAM's power-of-two shapes.
    """
    import torch

    if torch.device(device).type != "cpu":
        if threads:
            torch.set_num_threads(threads)
        yield
        return
    before = (torch.get_num_threads(), torch.backends.mkldnn.enabled)
    torch.set_num_threads(threads or power_of_two_threads(before[0]))
    torch.backends.mkldnn.enabled = False
    try:
        yield
    finally:
        torch.set_num_threads(before[0])
        torch.backends.mkldnn.enabled = before[1]


def build_mask_generator(sam: Any, amg: AmgConfig) -> MaskGenerator:
    """planseg's fast generator for ``sam`` with the run's AMG settings."""
    from planseg.infer.amg import FastMaskGenerator

    return FastMaskGenerator(sam, amg)
