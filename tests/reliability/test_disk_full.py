"""Disk full on a real, small tmpfs: a clear error (exit 74), no partial file, the previous
outputs intact, and the next run after space is freed finishes. (ENOSPC injected at the
rename is tests/test_segment_state.py::test_disk_full_exits_74_and_leaves_previous_outputs.)"""

from __future__ import annotations

import errno
import os
import subprocess
from pathlib import Path

import pytest
from segment_fixtures import output_files, read_json, write_plan_pdf

from planseg.errors import ExitCode
from reliability.corpus import segment

pytestmark = pytest.mark.reliability


@pytest.fixture
def small_tmpfs(tmp_path: Path):
    mount = tmp_path / "tmpfs"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()}); "
                    "the injected-ENOSPC test in test_segment_state.py covers disk full")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(folder: Path) -> Path:
    """Write zeros into ``folder`` until the file system says ENOSPC."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 65536)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)
    return filler


@pytest.mark.slow
def test_disk_full_on_a_real_tmpfs(small_tmpfs: Path, fast_config, tmp_path) -> None:
    inputs, out = tmp_path / "in", small_tmpfs / "out"
    write_plan_pdf(inputs / "a.pdf", seed=1)
    write_plan_pdf(inputs / "b.pdf", seed=2)
    assert segment(inputs, out, fast_config).exit_code == 0
    previous = output_files(out)
    write_plan_pdf(inputs / "b.pdf", seed=3)  # changed: the re-run must write again
    filler = _fill(small_tmpfs)
    result = segment(inputs, out, fast_config)
    assert result.exit_code == ExitCode.output_failed, result.output
    assert "disk full" in result.output or "No space left on device" in result.output
    assert "Traceback" not in result.output
    assert output_files(out) == previous  # nothing partial, nothing lost
    assert not [p for p in out.rglob("*.tmp")]
    assert not (out / ".planseg" / "lock").exists()
    filler.unlink()
    assert segment(inputs, out, fast_config).exit_code == 0
    assert read_json(out / "run.json")["documents"]["done"] == ["b.pdf"]  # redone, a skipped
