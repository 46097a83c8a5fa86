"""Logging set-up: rich text for people, JSON lines on stderr for machines (cron jobs).

Library code only calls ``logging.getLogger(__name__)``; the CLI calls :func:`setup_logging`.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Literal

LogFormat = Literal["text", "json"]


class JsonLineFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, and any ``extra`` fields."""

    _RESERVED = set(vars(logging.makeLogRecord({})))

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update({k: v for k, v in vars(record).items() if k not in self._RESERVED})
        if record.exc_info:
            line["traceback"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


def setup_logging(*, verbose: bool = False, quiet: bool = False,
                  log_format: LogFormat = "text") -> None:
    """Route planseg's logs to stderr: INFO by default, DEBUG with -v, WARNING with --quiet."""
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    root = logging.getLogger("planseg")
    root.handlers.clear()
    root.setLevel(level)
    root.propagate = False
    if log_format == "json" or not sys.stderr.isatty():
        handler: logging.Handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonLineFormatter() if log_format == "json"
                             else logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    else:
        from rich.logging import RichHandler

        handler = RichHandler(show_path=verbose, rich_tracebacks=verbose, markup=False)
    root.addHandler(handler)


def log_options() -> dict | None:
    """This process's :func:`setup_logging` settings, for processes it starts (spawned
    ranks, pool workers); None where planseg's logging was never set up (library use)."""
    root = logging.getLogger("planseg")
    if not root.handlers:
        return None
    json_lines = any(isinstance(h.formatter, JsonLineFormatter) for h in root.handlers)
    return {"verbose": logging.NOTSET < root.level <= logging.DEBUG,
            "quiet": root.level >= logging.WARNING, "log_format": "json" if json_lines else "text"}


def progress_enabled(log_format: LogFormat) -> bool:
    """Rich progress bars only for a person at a terminal, never in JSON mode."""
    return log_format == "text" and sys.stderr.isatty()
