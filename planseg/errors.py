"""Typed errors and the exit codes the CLI maps them to.

The library raises; only ``planseg.cli`` turns an error into a message and an exit code
(the OCRmyPDF model). Every message is one line naming the file or key and the fix.
"""

from __future__ import annotations

from enum import IntEnum
from pathlib import Path


class ExitCode(IntEnum):
    """Process exit codes, documented in the README."""

    ok = 0
    input_failed = 1  # some inputs failed, the rest were processed
    usage = 2  # usage, configuration or model error: nothing processed
    output_failed = 74  # an output could not be written (disk full, permissions)
    locked = 75  # another run holds the output folder's lock


class PlansegError(Exception):
    """Base class: a one-line, user-facing message and the exit code it maps to."""

    exit_code: ExitCode = ExitCode.usage

    def __init__(self, message: str, *, path: Path | str | None = None) -> None:
        self.path = None if path is None else str(path)
        self.reason = " ".join(str(message).split())  # always one line
        super().__init__(f"{self.path}: {self.reason}" if self.path else self.reason)


class ConfigError(PlansegError):
    """Bad flags, config file or config values (every problem listed at once)."""


class InputError(PlansegError):
    """A document (or one of its pages) cannot be read; the batch goes on without it."""

    exit_code = ExitCode.input_failed


class NotAPdfError(InputError):
    """The bytes are neither a PDF nor a supported raster image."""


class CorruptDocumentError(InputError):
    """Truncated, damaged or otherwise unparsable document."""


class EncryptedDocumentError(InputError):
    """Password-protected document."""


class EmptyDocumentError(InputError):
    """A document with zero pages."""


class PageTooLargeError(InputError):
    """Rendering the page would exceed the pixel budget."""


class UnreadableFileError(InputError):
    """The file cannot be opened or read (permissions, vanished, symlink loop)."""


class DatasetError(PlansegError):
    """A training/evaluation dataset is invalid; the message lists every problem."""


class ModelError(PlansegError):
    """A model name or checkpoint cannot be resolved, loaded or trusted."""


class OutputError(PlansegError):
    """An output could not be written; previous outputs are left intact."""

    exit_code = ExitCode.output_failed


class LockedError(PlansegError):
    """Another live run holds the output folder's lock."""

    exit_code = ExitCode.locked
