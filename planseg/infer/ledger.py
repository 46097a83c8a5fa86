"""What is already done in an output folder, so cron re-runs only redo what changed.

``DIR/.planseg/ledger.json`` maps each document name to the key it was made with
(SHA-256 of the document's bytes, the model identity, the settings hash) and its outputs.
A document is up to date when its key matches and its outputs still exist.

Crash safety: a finished document first writes its outputs (atomic renames), then one
*receipt* ``DIR/.planseg/receipts/<hash>.json`` (its ledger entry and COCO part, atomic).
:meth:`Ledger.absorb` folds receipts into ``DIR/coco.json`` and the ledger (each rewritten
atomically) and only then deletes them, so a kill at any moment loses at most the documents
in flight and an absorb after a crash simply redoes the fold (merging is idempotent). Workers
on other ranks only ever write receipts; the single lock holder absorbs.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

from planseg.fsio import atomic_write_json

log = logging.getLogger(__name__)

STATE_DIR = ".planseg"
LEDGER_NAME = "ledger.json"
RECEIPTS_DIR = "receipts"
LEDGER_VERSION = 1


@dataclass(frozen=True)
class DocumentKey:
    """Everything a document's outputs depend on."""

    sha256: str  # the document's bytes
    model: str  # planseg.models.checkpoints.model_identity
    settings: str  # hash of the output-affecting settings


@dataclass
class LedgerEntry:
    """One finished document: its key, outputs (paths relative to DIR) and counts."""

    key: DocumentKey
    outputs: list[str] = field(default_factory=list)
    pages: int = 0
    polygons: int = 0
    seconds: float = 0.0

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> LedgerEntry:
        return cls(key=DocumentKey(**data["key"]), outputs=list(data.get("outputs", [])),
                   pages=int(data.get("pages", 0)), polygons=int(data.get("polygons", 0)),
                   seconds=float(data.get("seconds", 0.0)))


class Ledger:
    """The ledger of one output folder (``out_dir``)."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = Path(out_dir)
        self.state_dir = self.out_dir / STATE_DIR
        self.path = self.state_dir / LEDGER_NAME
        self.receipts_dir = self.state_dir / RECEIPTS_DIR
        self.entries: dict[str, LedgerEntry] = self._read()

    def is_done(self, name: str, key: DocumentKey) -> bool:
        """True if ``name`` was finished with ``key`` and all its outputs still exist."""
        entry = self.entries.get(name)
        return (entry is not None and entry.key == key
                and all((self.out_dir / rel).exists() for rel in entry.outputs))

    def forget(self, names: list[str]) -> None:
        """Drop entries (failed documents are retried next run); rewrites the ledger."""
        if any(self.entries.pop(name, None) is not None for name in list(names)):
            self._write()

    def write_receipt(self, name: str, entry: LedgerEntry, coco: dict | None) -> None:
        """Record a finished document (after its outputs are in place)."""
        atomic_write_json(self.receipts_dir / f"{_receipt_id(name)}.json",
                          {"name": name, "entry": entry.to_json(), "coco": coco})

    def absorb(self, coco_path: Path | None) -> int:
        """Fold pending receipts into ``coco_path`` (if given) and the ledger; returns how many.

        Single writer: the caller holds the output folder's lock.
        """
        receipts = sorted(self.receipts_dir.glob("*.json")) if self.receipts_dir.is_dir() else []
        records = [r for r in (_read_json(p) for p in receipts) if r is not None]
        if not receipts:
            return 0
        parts = [r["coco"] for r in records if r.get("coco") is not None]
        if coco_path is not None and parts:
            from planseg.export.coco import update_coco_file

            update_coco_file(coco_path, parts)
        for record in records:
            self.entries[record["name"]] = LedgerEntry.from_json(record["entry"])
        self._write()
        for path in receipts:  # only now: a crash above leaves them to be folded again
            path.unlink(missing_ok=True)
        return len(records)

    def _read(self) -> dict[str, LedgerEntry]:
        data = _read_json(self.path)
        if data is None or data.get("version") != LEDGER_VERSION:
            return {}
        try:
            return {name: LedgerEntry.from_json(entry)
                    for name, entry in data.get("documents", {}).items()}
        except (KeyError, TypeError, ValueError):
            log.warning("%s is damaged; every document will be redone", self.path)
            return {}

    def _write(self) -> None:
        documents = {name: self.entries[name].to_json() for name in sorted(self.entries)}
        atomic_write_json(self.path, {"version": LEDGER_VERSION, "documents": documents},
                          indent=1)


def _receipt_id(name: str) -> str:
    return hashlib.sha256(name.encode("utf-8")).hexdigest()[:32]


def _read_json(path: Path) -> dict | None:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        log.warning("ignoring unreadable state file %s", path)
        return None
    return data if isinstance(data, dict) else None
