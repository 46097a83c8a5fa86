"""Synthetic zoning plans with exact COCO ground truth (no torch).

``generate(out_dir, docs=..., seed=...)`` writes vector (or scanned) PDFs, their pages
rendered at a dpi, and COCO annotations: one image per page, one annotation per zone.
The heavy parts (PyMuPDF, OpenCV, shapely) load on first use, so ``planseg --help`` and the
CLI's import of :class:`SynthConfig` stay fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from planseg.synth.config import SynthConfig

if TYPE_CHECKING:
    from planseg.synth.dataset import SynthSummary, generate, run

__all__ = ["SynthConfig", "SynthSummary", "generate", "run"]


def __getattr__(name: str) -> Any:
    if name in ("SynthSummary", "generate", "run"):
        from planseg.synth import dataset

        return getattr(dataset, name)
    raise AttributeError(f"module 'planseg.synth' has no attribute {name!r}")
