"""``planseg segment`` settings: one dataclass, sections ``amg.*`` and ``export.*``.

Only some settings change what is written; :meth:`SegmentConfig.settings_hash` covers exactly
those, so a cron re-run with more workers or devices still skips finished documents.
"""

from __future__ import annotations

import inspect
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from planseg.config import config_to_dict
from planseg.export.config import ExportConfig
from planseg.fsio import sha256_json
from planseg.ingest.regions_config import RegionsConfig
from planseg.ingest.vector_config import VectorConfig

DEFAULT_MODEL = "planseg-default"
#: Bump when the same inputs and settings would give different outputs (ledger key).
PIPELINE_VERSION = 4  # 2: engines (vector zones), source/page_kind/class fields; 3: regions;
# 4: SAM prompted at the colour regions, partition by default


def reference_defaults() -> dict[str, Any]:
    """SamAutomaticMaskGenerator's own defaults, read from its signature (never restated here).
    Imported when asked for: segment_anything loads torch, and parsing a config must not."""
    from segment_anything import SamAutomaticMaskGenerator

    return {name: p.default
            for name, p in inspect.signature(SamAutomaticMaskGenerator.__init__).parameters.items()
            if p.default is not inspect.Parameter.empty}


def _ref(help_text: str) -> Any:
    return field(default=None, metadata={"help": help_text + " (default: segment_anything's)"})


@dataclass
class AmgConfig:
    """Automatic mask generation settings. SAM's parameters: None = segment_anything's default."""

    points_per_side: int | None = _ref("grid points along each side of a crop")
    points_per_batch: int | None = _ref("points decoded per batch; larger is faster, uses memory")
    pred_iou_thresh: float | None = _ref("keep masks whose predicted IoU is above this")
    stability_score_thresh: float | None = _ref("keep masks whose stability score is >= this")
    stability_score_offset: float | None = _ref("logit offset of the stability score")
    box_nms_thresh: float | None = _ref("box IoU of duplicate masks within a crop")
    crop_n_layers: int | None = _ref("extra crop layers (layer i has 2**i x 2**i crops)")
    crop_nms_thresh: float | None = _ref("box IoU of duplicate masks across crops")
    crop_overlap_ratio: float | None = _ref("overlap of first-layer crops, fraction of the side")
    crop_n_points_downscale_factor: int | None = _ref("points per side divided by this per layer")
    min_mask_region_area: int | None = _ref("fill holes / drop islands smaller than this, px")
    skip_blank_points: bool = field(default=True, metadata={
        "help": "skip grid points whose neighbourhood (half the grid spacing) is blank paper; "
                "a white interior of an outline-only zone is blank too"})
    blank_white_level: int = field(default=230, metadata={
        "help": "a pixel is paper when its darkest RGB channel is >= this (0..255)"})
    blank_max_std: float = field(default=6.0, metadata={
        "help": "a neighbourhood is blank when its grey-level standard deviation is <= this"})
    stability_prefilter_margin: float = field(default=0.1, metadata={
        "help": "low-resolution stability prefilter keeps masks >= threshold minus this; the "
                "exact (full-resolution) score of the survivors decides"})
    upsample_batch: int = field(default=16, metadata={
        "help": "survivor masks upsampled to full resolution at once (bounds memory)"})
    bf16: bool = field(default=True, metadata={"help": "bfloat16 autocast on CUDA"})
    prompts: Literal["regions", "grid"] = field(default="regions", metadata={
        "help": "segment only: regions: SAM is prompted at a point inside each colour region "
                "of a raster map page (and each zone-sized area no colour covers) and the "
                "better of the region and SAM's mask is kept (see amg.keep); grid: "
                "segment_anything's automatic mask generator on a point grid, exactly"})
    keep: Literal["better", "sam", "regions"] = field(default="better", metadata={
        "help": "with prompts regions, which mask a zone keeps: better (SAM's where it is "
                "confident and agrees with the colours or joins regions the colours split, "
                "else the region's), sam (SAM's wherever it passes the AMG thresholds), "
                "regions (the colour region's)"})
    sam_min_iou: float = field(default=0.9, metadata={
        "help": "with keep better, SAM's mask replaces a colour region only when its "
                "predicted IoU is at least this"})
    windowed_upsample: bool | None = field(default=None, metadata={
        "help": "upsample each survivor only inside the window its logits can reach (exact "
                "up to float rounding; one small matmul per mask); None: on for CPU only"})

    def resolved(self) -> dict[str, Any]:
        """SAM's parameters with None replaced by segment_anything's defaults."""
        defaults = reference_defaults()
        return {name: defaults[name] if getattr(self, name) is None
                else getattr(self, name) for name in SAM_PARAMETERS}

    def problems(self) -> list[str]:
        """Values that cannot work, one line each (collected by planseg.config). Only the
        values set are checked: unset ones are segment_anything's defaults."""
        found = []
        for name in SAM_PARAMETERS:
            value = getattr(self, name)
            if isinstance(value, (int, float)) and value < 0:
                found.append(f"{name}: must be >= 0, got {value}")
        if self.points_per_side is not None and self.points_per_side < 1:
            found.append("points_per_side: must be >= 1")
        if self.points_per_batch is not None and self.points_per_batch < 1:
            found.append("points_per_batch: must be >= 1")
        if self.upsample_batch < 1:
            found.append(f"upsample_batch: must be >= 1, got {self.upsample_batch}")
        if not 0.0 <= self.sam_min_iou <= 1.0:
            found.append(f"sam_min_iou: must be within 0..1, got {self.sam_min_iou}")
        if not 0 <= self.blank_white_level <= 255:
            found.append(f"blank_white_level: must be in 0..255, got {self.blank_white_level}")
        return found


#: The AmgConfig fields that are SamAutomaticMaskGenerator parameters.
SAM_PARAMETERS = ("points_per_side", "points_per_batch", "pred_iou_thresh",
                  "stability_score_thresh", "stability_score_offset", "box_nms_thresh",
                  "crop_n_layers", "crop_nms_thresh", "crop_overlap_ratio",
                  "crop_n_points_downscale_factor", "min_mask_region_area")


@dataclass
class TilingConfig:
    """How large pages are cut into tiles for the model (pixel frame of the page raster)."""

    tile_px: int = field(default=1024, metadata={
        "help": "pages larger than this on either side are segmented in tiles of this size"})
    overlap_px: int = field(default=256, metadata={
        "help": "overlap between neighbouring tiles; masks cut by an inner tile edge are "
                "taken from the neighbour that sees them whole"})
    duplicate_iou: float = field(default=0.5, metadata={
        "help": "masks from different tiles with this mask IoU (or containment) are one"})
    edge_margin_px: int = field(default=2, metadata={
        "help": "a mask within this distance of an inner tile edge counts as cut by it"})

    def problems(self) -> list[str]:
        found = []
        if self.tile_px < 64:
            found.append(f"tile_px: must be at least 64, got {self.tile_px}")
        if not 0 <= self.overlap_px < self.tile_px:
            found.append(f"overlap_px: must be within 0..tile_px-1, got {self.overlap_px}")
        if not 0.0 < self.duplicate_iou <= 1.0:
            found.append(f"duplicate_iou: must be within (0, 1], got {self.duplicate_iou}")
        return found


@dataclass
class SegmentConfig:
    """Settings of ``planseg segment`` (flags override a ``--config`` file)."""

    inputs: list[Path] = field(default_factory=list, metadata={
        "help": "PDF/PNG/JPEG/TIFF files or folders (searched recursively)"})
    out: Path | None = field(default=None, metadata={"help": "output folder"})
    model: str = field(default=DEFAULT_MODEL, metadata={
        "help": "planseg-default, a registry architecture or a checkpoint path"})
    dpi: float = field(default=150.0, metadata={"help": "page raster resolution"})
    max_pixels: int = field(default=200_000_000, metadata={
        "help": "pixel budget of one page at --dpi: larger pages are refused before any "
                "rendering (they would be segmented tile by tile, but merging and exporting "
                "their masks grows with the page); A0 at 300 DPI is 139 Mpx"})
    workers: int | None = field(default=None, metadata={
        "help": "render/export worker processes per device process; 0: all in-process; "
                "unset: min(4, CPUs)"})
    devices: int = field(default=1, metadata={"help": "device processes per node"})
    accelerator: Literal["auto", "cpu", "gpu"] = field(default="auto", metadata={
        "help": "auto: GPUs when present, else CPU"})
    num_nodes: int = field(default=1, metadata={
        "help": "nodes (launched by torchrun or SLURM, one process per device)"})
    threads: int | None = field(default=None, metadata={
        "help": "torch threads per device process; unset: torch's default"})
    force: bool = field(default=False, metadata={
        "help": "redo every document, even those up to date"})
    engine: Literal["auto", "vector", "regions", "sam"] = field(default="auto", metadata={
        "help": "auto: a page's own vector zones where they cover its map frame well "
                "(vector_min_coverage), no zones on text and blank pages, colour regions on "
                "other map pages, SAM where they find none; vector: the drawing only; "
                "regions: colour regions of the pixels only; sam: SAM's automatic masks on "
                "every page"})
    vector_min_coverage: float = field(default=0.2, metadata={
        "help": "auto: a page's vector zones are taken when they cover at least this share "
                "of its map frame"})
    pages: Literal["maps", "all"] = field(default="maps", metadata={
        "help": "auto: maps: text, table and blank pages get no zones; all: SAM segments "
                "them too"})
    vector: VectorConfig = field(default_factory=VectorConfig)
    regions: RegionsConfig = field(default_factory=RegionsConfig)
    tiling: TilingConfig = field(default_factory=TilingConfig)
    amg: AmgConfig = field(default_factory=AmgConfig)
    export: ExportConfig = field(default_factory=ExportConfig)

    def problems(self) -> list[str]:
        found = []
        if not self.inputs:
            found.append("inputs: give at least one file or folder")
        if self.out is None:
            found.append("out: give the output folder (--out DIR)")
        if not self.dpi > 0:
            found.append(f"dpi: must be positive, got {self.dpi}")
        for name in ("devices", "num_nodes"):
            if getattr(self, name) < 1:
                found.append(f"{name}: must be at least 1, got {getattr(self, name)}")
        if self.workers is not None and self.workers < 0:
            found.append(f"workers: must be 0 or more, got {self.workers}")
        if not 0.0 <= self.vector_min_coverage <= 1.0:
            found.append(f"vector_min_coverage: must be within 0..1, got "
                         f"{self.vector_min_coverage}")
        if self.max_pixels < self.tiling.tile_px ** 2:
            found.append(f"max_pixels: must hold one tile ({self.tiling.tile_px ** 2} px)")
        return found

    def resolved_workers(self) -> int:
        """Worker processes per device process."""
        return min(4, os.cpu_count() or 1) if self.workers is None else self.workers

    def settings(self) -> dict:
        """The settings outputs depend on (not where, how fast or on how many devices)."""
        return {"pipeline": PIPELINE_VERSION, "dpi": self.dpi, "max_pixels": self.max_pixels,
                "engine": self.engine, "vector_min_coverage": self.vector_min_coverage,
                "pages": self.pages,
                "vector": config_to_dict(self.vector), "regions": config_to_dict(self.regions),
                "tiling": config_to_dict(self.tiling), "amg": config_to_dict(self.amg),
                "export": config_to_dict(self.export)}

    def settings_hash(self) -> str:
        """Hex SHA-256 of :meth:`settings` (part of every ledger key)."""
        return sha256_json(self.settings())
