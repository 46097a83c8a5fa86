"""``python -m planseg`` runs the command-line interface."""

from __future__ import annotations

from planseg.cli import main

main()
