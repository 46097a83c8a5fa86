"""Typed configuration of ``planseg synth`` (one dataclass, loaded by planseg.config)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Style = Literal["vector", "scan"]
Sheet = Literal["A4", "A3", "A2"]
Look = Literal["classic", "bplan", "lineplan", "handcolour", "ortho"]


@dataclass
class SynthConfig:
    """Settings of one synthetic dataset; written to ``OUT/synth.yaml``."""

    out_dir: Path = field(default=Path("synth"), metadata={"help": "Output folder."})
    docs: int = field(default=10, metadata={"help": "Number of PDF documents to generate."})
    seed: int = field(default=0, metadata={"help": "Random seed; same seed, same output."})
    dpi: float = field(default=100.0, metadata={
        "help": "Resolution of the rendered pages and of the ground truth (pixels per inch)."})
    style: Style = field(default="vector", metadata={
        "help": "vector: real vector PDFs; scan: each page a skewed, noisy JPEG (no text)."})
    val_fraction: float | None = field(default=None, metadata={
        "help": "Share of documents in OUT/val (split by document); unset: one pool OUT/data."})
    sheet: Sheet | None = field(default=None, metadata={
        "help": "Sheet size of map pages; unset: a seeded mix of A3 and A2."})
    look: Look = field(default="classic", metadata={
        "help": "classic: flat tints, a few hatches; bplan: a German Bebauungsplan (pastel "
                "tints under dense hatch/dot signatures, parcel grid, building envelopes, "
                "street casings); lineplan: its black-and-white print (white zones told apart "
                "by black signatures alone: no vector zones, no colours); handcolour: an old "
                "plan coloured by hand (uneven watercolour or crayon spilling past the black "
                "outlines, a raster under the line work: no vector zones); ortho: "
                "semi-transparent zone fills over an aerial photo."})

    def problems(self) -> list[str]:
        """Checks of values, all reported at once."""
        found = []
        if self.docs < 1:
            found.append(f"docs: must be at least 1, got {self.docs}")
        if not 10 <= self.dpi <= 600:
            found.append(f"dpi: must be between 10 and 600, got {self.dpi}")
        if self.val_fraction is not None:
            if not 0 < self.val_fraction < 1:
                found.append(f"val_fraction: must be between 0 and 1, got {self.val_fraction}")
            elif self.docs < 2:
                found.append("val_fraction: needs at least 2 docs (train and val each get one)")
        return found
