"""Shared fixtures: paths to the real documents in ../shared (skipped when absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
REALDATA = REPO_ROOT.parent / "shared" / "realdata"


@pytest.fixture(scope="session")
def realdata_geopdf() -> Path:
    """Folder of real public GeoPDFs with GDAL reference values; skips when not present."""
    folder = REALDATA / "geopdf"
    if not folder.is_dir():
        pytest.skip(f"real documents not available ({folder} is absent)")
    return folder
