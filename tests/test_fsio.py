"""Atomic writes: readers never see partial files; failures keep the previous version."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from planseg.errors import ExitCode, OutputError
from planseg.fsio import atomic_path, atomic_write_json, atomic_write_text, sha256_file


def test_atomic_write_replaces_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "a.json"
    atomic_write_json(target, {"a": 1})
    atomic_write_json(target, {"a": 2})
    assert target.read_text() == '{"a": 2}\n'
    assert [p.name for p in target.parent.iterdir()] == ["a.json"]


def test_exception_inside_keeps_previous_version(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    atomic_write_text(target, "old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash mid-write")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_disk_full_becomes_output_error(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    atomic_write_text(target, "old")
    with pytest.raises(OutputError) as info, atomic_path(target):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    assert "disk full" in str(info.value) and str(target) in str(info.value)
    assert info.value.exit_code == ExitCode.output_failed
    assert target.read_text() == "old"


def test_sha256_file_matches_hashlib(tmp_path: Path) -> None:
    import hashlib

    data = os.urandom(3 << 20)
    (tmp_path / "b").write_bytes(data)
    assert sha256_file(tmp_path / "b") == hashlib.sha256(data).hexdigest()


def test_outputs_get_umask_permissions_not_mkstemps(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "a.txt", "x")
    finally:
        os.umask(old)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o644


def test_stale_temp_files_of_a_killed_writer_are_removed(tmp_path: Path) -> None:
    from planseg.fsio import remove_stale_temp_files

    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / ".doc.geojson.abc123.tmp").write_text("half")
    (tmp_path / ".run.json.x.tmp").write_text("half")
    atomic_write_text(tmp_path / "run.json", "whole")
    (tmp_path / "notes.tmp").write_text("not ours: no leading dot")
    assert remove_stale_temp_files(tmp_path) == 2
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["notes.tmp", "run.json"]
