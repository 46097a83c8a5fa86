"""Session fixtures of the reliability suite: the fast config and one clean baseline run."""

from __future__ import annotations

from pathlib import Path

import pytest
from segment_fixtures import output_files, write_fast_config

from reliability.corpus import segment, write_good_docs


@pytest.fixture(scope="session")
def fast_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_fast_config(tmp_path_factory.mktemp("config"))


@pytest.fixture(scope="session")
def baseline(tmp_path_factory: pytest.TempPathFactory, fast_config: Path
             ) -> tuple[Path, dict[str, bytes]]:
    """(inputs, outputs) of one uninterrupted clean run over the good documents."""
    root = tmp_path_factory.mktemp("baseline")
    write_good_docs(root / "in")
    result = segment(root / "in", root / "out", fast_config)
    assert result.exit_code == 0, result.output
    return root / "in", output_files(root / "out")
