"""Fine-tuning SAM so its automatic mask generator segments planning maps (``planseg train``).

``run(config)`` is imported lazily so that ``planseg.train.config`` (used by the CLI) does not
pull in torch and Lightning.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from planseg.train.config import TrainConfig


def run(config: TrainConfig) -> dict:
    """Train with ``config``; returns the run summary (see :func:`planseg.train.loop.main`)."""
    from planseg.train.loop import run as _run

    return _run(config)
