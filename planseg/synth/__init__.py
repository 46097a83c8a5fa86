"""Synthetic zoning plans with exact COCO ground truth (no torch).

``generate(out_dir, docs=..., seed=...)`` writes vector (or scanned) PDFs, their pages
rendered at a dpi, and COCO annotations: one image per page, one annotation per zone.
"""

from __future__ import annotations

from planseg.synth.config import SynthConfig
from planseg.synth.dataset import SynthSummary, generate, run

__all__ = ["SynthConfig", "SynthSummary", "generate", "run"]
