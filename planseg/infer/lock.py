"""The output folder's lock: one ``planseg segment`` run per ``DIR`` at a time.

``DIR/.planseg/lock`` holds ``{"pid", "host", "started"}``. It is created complete or not at
all: the record is written to a private temp file first, then hard-linked to the lock name,
which (like ``O_CREAT | O_EXCL``) fails if the name exists - so a reader never sees an empty
lock and two runs can never both succeed. A lock whose holder is a dead process on this host
(a crash or ``kill -9``) is stale and taken over; a lock held by another host is respected.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from pathlib import Path
from types import TracebackType

from planseg.errors import LockedError, OutputError

log = logging.getLogger(__name__)

LOCK_NAME = "lock"


def pid_alive(pid: int) -> bool:
    """True if a process with ``pid`` exists on this host (signal 0 probes without sending)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def read_lock(path: Path) -> dict | None:
    """The lock record at ``path``, ``{}`` if unreadable/garbled, ``None`` if absent."""
    try:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


class OutputLock:
    """Exclusive lock on an output folder; a context manager.

    ``acquire`` raises :class:`LockedError` (exit 75) naming the holder's PID and host when a
    live run holds it.
    """

    def __init__(self, state_dir: Path) -> None:
        self.path = Path(state_dir) / LOCK_NAME
        self.held = False

    def acquire(self) -> None:
        """Take the lock, taking over a stale one (dead holder on this host)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _attempt in range(5):
            if self._try_create():
                self.held = True
                return
            holder = read_lock(self.path)
            if holder is None:
                continue  # released between our attempt and the read: try again
            if not self._is_stale(holder):
                raise LockedError(
                    f"another planseg segment run (PID {holder.get('pid')} on "
                    f"{holder.get('host')}, since {holder.get('started')}) holds this output "
                    f"folder; wait for it or stop it", path=self.path)
            self._remove_stale(holder)
        raise LockedError("could not take the lock (it keeps changing hands)", path=self.path)

    def release(self) -> None:
        """Remove the lock if this process still holds it."""
        if not self.held:
            return
        holder = read_lock(self.path)
        if holder and holder.get("pid") == os.getpid() and holder.get("host") == _host():
            self.path.unlink(missing_ok=True)
        self.held = False

    def __enter__(self) -> OutputLock:
        self.acquire()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()

    def _try_create(self) -> bool:
        record = {"pid": os.getpid(), "host": _host(),
                  "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        tmp = self.path.with_name(f".{LOCK_NAME}.{os.getpid()}.tmp")
        try:
            tmp.write_text(json.dumps(record), encoding="utf-8")
            os.link(tmp, self.path)  # atomic and exclusive: fails with EEXIST if held
        except FileExistsError:
            return False
        except OSError as exc:
            raise OutputError(f"cannot create the lock file ({exc.strerror})",
                              path=self.path) from exc
        finally:
            tmp.unlink(missing_ok=True)
        return True

    def _is_stale(self, holder: dict) -> bool:
        if not holder:  # garbled: only possible from a foreign writer; treat as stale
            return True
        if holder.get("host") != _host():
            return False  # cannot probe another machine's processes
        return not pid_alive(int(holder.get("pid", -1)))

    def _remove_stale(self, holder: dict) -> None:
        # Rename first: of two runs taking over the same stale lock only one rename succeeds,
        # so the other cannot delete the lock the winner has just created.
        grave = self.path.with_name(f".{LOCK_NAME}.stale.{os.getpid()}")
        try:
            os.rename(self.path, grave)
        except FileNotFoundError:
            return
        if read_lock(grave) != holder:  # we moved a fresh lock: put it back
            try:
                os.link(grave, self.path)
            except FileExistsError:
                pass
        else:
            log.warning("taking over a stale lock left by PID %s on %s (no longer running)",
                        holder.get("pid"), holder.get("host"))
        grave.unlink(missing_ok=True)


def _host() -> str:
    return socket.gethostname()
