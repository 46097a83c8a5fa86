"""Settings of ``planseg rasterize`` (a plain dataclass, cheap to import for the CLI)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class RasterizeConfig:
    """Which documents to render, where, and how."""

    inputs: list[Path] = field(default_factory=list, metadata={
        "help": "PDF/PNG/JPEG/TIFF files or folders (searched recursively)."})
    out: Path | None = field(default=None, metadata={
        "help": "Output folder: OUT/<document>/page-0001.png and OUT/images.json."})
    dpi: float | None = field(default=None, metadata={
        "help": "Resolution; unset: 150, or the largest under max_pixels if that is set."})
    max_pixels: int | None = field(default=None, metadata={
        "help": "Pixel budget per page; with dpi set, larger pages fail instead of shrinking."})
    workers: int | None = field(default=None, metadata={
        "help": "Rendering processes; unset: the CPU count."})

    def problems(self) -> list[str]:
        """Every invalid setting, named by key."""
        found = []
        if not self.inputs:
            found.append("inputs: give at least one file or folder")
        if self.out is None:
            found.append("out: the output folder is required")
        if self.dpi is not None and not self.dpi > 0:
            found.append(f"dpi: must be positive, got {self.dpi}")
        if self.max_pixels is not None and self.max_pixels < 1:
            found.append(f"max_pixels: must be at least 1, got {self.max_pixels}")
        if self.workers is not None and self.workers < 1:
            found.append(f"workers: must be at least 1, got {self.workers}")
        return found
