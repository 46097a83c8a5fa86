"""The output folder's state: lock records, ledger receipts, sharding, config, disk full."""

from __future__ import annotations

import errno
import json
import os
import socket
from pathlib import Path

import pytest
from segment_fixtures import write_fast_config, write_plan_pdf
from typer.testing import CliRunner

from planseg.cli import app
from planseg.config import load_config
from planseg.errors import ConfigError, ExitCode, LockedError
from planseg.infer.config import SegmentConfig
from planseg.infer.ledger import DocumentKey, Ledger, LedgerEntry
from planseg.infer.lock import OutputLock, read_lock
from planseg.infer.parallel import shard
from planseg.infer.pipeline import DocumentJob

KEY = DocumentKey("a" * 64, "model", "settings")


def test_lock_is_exclusive_and_names_its_holder(tmp_path: Path) -> None:
    with OutputLock(tmp_path) as first:
        record = read_lock(first.path)
        assert record["pid"] == os.getpid() and record["host"] == socket.gethostname()
        with pytest.raises(LockedError, match=f"PID {os.getpid()}") as caught:
            OutputLock(tmp_path).acquire()
        assert caught.value.exit_code == ExitCode.locked
    assert not first.path.exists()
    OutputLock(tmp_path).acquire()  # free again


def test_lock_of_another_host_is_respected_garbled_lock_is_taken(tmp_path: Path) -> None:
    path = tmp_path / "lock"
    path.write_text(json.dumps({"pid": 1, "host": "elsewhere.example", "started": "x"}))
    with pytest.raises(LockedError, match="elsewhere.example"):
        OutputLock(tmp_path).acquire()
    path.write_text("{not json")
    lock = OutputLock(tmp_path)
    lock.acquire()
    assert read_lock(path)["pid"] == os.getpid()
    lock.release()


def test_receipts_fold_into_ledger_and_coco_idempotently(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path)
    coco = {"images": [{"id": 1, "file_name": "a.pdf#page=1", "width": 4, "height": 4,
                        "pdf": "a.pdf", "page": 1, "dpi": 72.0}], "annotations": [],
            "categories": [{"id": 1, "name": "zone"}]}
    (tmp_path / "a.geojson").write_text("{}")
    ledger.write_receipt("a.pdf", LedgerEntry(KEY, outputs=["a.geojson"], pages=1), coco)
    receipt = next(ledger.receipts_dir.glob("*.json")).read_bytes()
    assert ledger.absorb(tmp_path / "coco.json") == 1
    assert not any(ledger.receipts_dir.glob("*.json"))
    # a crash after the fold but before the receipt was deleted: folding again changes nothing
    (ledger.receipts_dir / "again.json").write_bytes(receipt)
    assert Ledger(tmp_path).absorb(tmp_path / "coco.json") == 1
    merged = json.loads((tmp_path / "coco.json").read_text())
    assert [im["file_name"] for im in merged["images"]] == ["a.pdf#page=1"]
    reread = Ledger(tmp_path)
    assert reread.is_done("a.pdf", KEY)
    assert not reread.is_done("a.pdf", DocumentKey("b" * 64, "model", "settings"))
    (tmp_path / "a.geojson").unlink()
    assert not reread.is_done("a.pdf", KEY)  # an output deleted by hand is redone


def test_shard_gives_each_document_to_exactly_one_rank(tmp_path: Path) -> None:
    jobs = []
    for index in range(7):
        path = tmp_path / f"d{index}.pdf"
        path.write_bytes(b"x" * (100 * (index + 1)))
        jobs.append(DocumentJob(path.name, path, KEY))
    parts = [shard(jobs, rank, 3) for rank in range(3)]
    names = sorted(j.name for part in parts for j in part)
    assert names == sorted(j.name for j in jobs)
    sizes = [sum(j.path.stat().st_size for j in part) for part in parts]
    assert max(sizes) - min(sizes) <= 700  # balanced by bytes, not by count
    assert shard(jobs, 0, 1) == sorted(jobs, key=lambda j: j.name)


def test_settings_hash_ignores_how_and_where(tmp_path: Path) -> None:
    base = SegmentConfig(inputs=[tmp_path], out=tmp_path / "o")
    other = SegmentConfig(inputs=[tmp_path / "x"], out=tmp_path / "p", workers=3, devices=2,
                          force=True)
    assert base.settings_hash() == other.settings_hash()
    changed = load_config(SegmentConfig, None, {"inputs": [tmp_path], "out": tmp_path,
                                                "export.min_area_px": 3})
    assert changed.settings_hash() != base.settings_hash()


def test_config_problems_are_reported_together(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(SegmentConfig, None, {"inputs": [tmp_path], "dpi": -1, "devices": 0,
                                          "tiling.overlap_px": 5000})
    message = str(caught.value)
    for part in ("out:", "dpi:", "devices:", "tiling.overlap_px:"):
        assert part in message


def test_disk_full_exits_74_and_leaves_previous_outputs(tmp_path: Path, monkeypatch) -> None:
    write_plan_pdf(tmp_path / "in" / "a.pdf")
    config = write_fast_config(tmp_path)
    out = tmp_path / "out"
    args = ["segment", str(tmp_path / "in"), "--out", str(out), "--model", "tiny",
            "--config", str(config), "--workers", "0"]
    real_replace = os.replace

    def full_disk(src, dst):
        if str(dst).endswith(".geojson"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", full_disk)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == ExitCode.output_failed, result.output
    assert "disk full" in result.output
    leftovers = [p.name for p in out.rglob("*") if p.is_file()]
    assert not [n for n in leftovers if n.endswith((".tmp", ".geojson"))], leftovers
    assert not (out / ".planseg" / "lock").exists()
    monkeypatch.setattr(os, "replace", real_replace)
    assert CliRunner().invoke(app, args).exit_code == 0
    assert (out / "a.geojson").is_file()
