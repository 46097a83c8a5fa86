"""``planseg segment`` settings: one dataclass, sections ``amg.*`` and ``export.*``.

Only some settings change what is written; :meth:`SegmentConfig.settings_hash` covers exactly
those, so a cron re-run with more workers or devices still skips finished documents.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from planseg.config import config_to_dict
from planseg.export.config import ExportConfig
from planseg.fsio import sha256_json
from planseg.infer.amg import AmgConfig

DEFAULT_MODEL = "planseg-default"
#: Bump when the same inputs and settings would give different outputs (ledger key).
PIPELINE_VERSION = 1


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
        if self.max_pixels < self.tiling.tile_px ** 2:
            found.append(f"max_pixels: must hold one tile ({self.tiling.tile_px ** 2} px)")
        return found

    def resolved_workers(self) -> int:
        """Worker processes per device process."""
        return min(4, os.cpu_count() or 1) if self.workers is None else self.workers

    def settings(self) -> dict:
        """The settings outputs depend on (not where, how fast or on how many devices)."""
        return {"pipeline": PIPELINE_VERSION, "dpi": self.dpi, "max_pixels": self.max_pixels,
                "tiling": config_to_dict(self.tiling), "amg": config_to_dict(self.amg),
                "export": config_to_dict(self.export)}

    def settings_hash(self) -> str:
        """Hex SHA-256 of :meth:`settings` (part of every ledger key)."""
        return sha256_json(self.settings())
