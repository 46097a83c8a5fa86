"""Settings of ``planseg label`` (plain dataclasses, cheap to import for the CLI)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from planseg.ingest.vector_config import VectorConfig

DEFAULT_LABEL_DPI = 100.0


@dataclass
class LabelConfig:
    """Which documents to label, where the COCO training set goes, and how it is made."""

    inputs: list[Path] = field(default_factory=list, metadata={
        "help": "PDF files or folders (searched recursively)."})
    out: Path | None = field(default=None, metadata={
        "help": "Dataset folder: OUT/data/{images/,annotations.json} (or OUT/train + OUT/val), "
                "OUT/label.json, OUT/label.yaml."})
    dpi: float | None = field(default=None, metadata={
        "help": "Resolution of the page images and masks; unset: 100, lowered to fit "
                "max_pixels on pages that would exceed it."})
    max_pixels: int | None = field(default=None, metadata={
        "help": "Pixel budget per page image; with dpi set, larger pages fail instead of "
                "shrinking."})
    val_fraction: float | None = field(default=None, metadata={
        "help": "Share of the labelled documents in OUT/val (split by document, seeded); "
                "unset: one pool OUT/data that planseg train splits itself."})
    scan_copies: int = field(default=0, metadata={
        "help": "Degraded raster copies per labelled page, like a cheap scan of the print "
                "(skew, blur, noise, paper tint, JPEG); the masks follow the skew."})
    seed: int = field(default=0, metadata={
        "help": "Random seed of the scan copies and the train/val split."})
    workers: int | None = field(default=None, metadata={
        "help": "Page worker processes; unset: the CPU count."})
    vector: VectorConfig = field(default_factory=VectorConfig)

    def problems(self) -> list[str]:
        """Every invalid setting, named by key."""
        found = []
        if not self.inputs:
            found.append("inputs: give at least one file or folder")
        if self.out is None:
            found.append("out: the output folder is required")
        if self.dpi is not None and not 10 <= self.dpi <= 600:
            found.append(f"dpi: must be between 10 and 600, got {self.dpi}")
        if self.max_pixels is not None and self.max_pixels < 1:
            found.append(f"max_pixels: must be at least 1, got {self.max_pixels}")
        if self.val_fraction is not None and not 0 < self.val_fraction < 1:
            found.append(f"val_fraction: must be between 0 and 1, got {self.val_fraction}")
        if self.scan_copies < 0:
            found.append(f"scan_copies: must be zero or more, got {self.scan_copies}")
        if self.workers is not None and self.workers < 1:
            found.append(f"workers: must be at least 1, got {self.workers}")
        return found
