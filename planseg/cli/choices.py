"""Values of the options several commands share (typer shows them in ``--help``)."""

from __future__ import annotations

from enum import StrEnum


class AcceleratorChoice(StrEnum):
    """Values of ``--accelerator`` (segment takes auto, cpu and gpu)."""

    auto = "auto"
    cpu = "cpu"
    gpu = "gpu"
    cuda = "cuda"
    mps = "mps"


class CrsChoice(StrEnum):
    """Values of ``--crs``."""

    auto = "auto"
    page = "page"
    pixel = "pixel"


class EngineChoice(StrEnum):
    """Values of ``--engine``."""

    auto = "auto"
    vector = "vector"
    regions = "regions"
    sam = "sam"


class PagesChoice(StrEnum):
    """Values of ``--pages``."""

    maps = "maps"
    all = "all"
