"""Find input documents and open them, turning every way a file can be bad into a typed error.

A *document* is a PDF or a raster image (PNG, JPEG, TIFF). Raster images are converted in memory
into a PDF whose pages carry the image, so the rest of ingest sees one kind of document. The
kind is decided by the file's first bytes, never by its extension.
"""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pymupdf

from planseg.errors import (
    CorruptDocumentError,
    EmptyDocumentError,
    EncryptedDocumentError,
    InputError,
    NotAPdfError,
    UnreadableFileError,
)

log = logging.getLogger(__name__)
# MuPDF prints its warnings and errors (raw bytes from broken files included) on stdout,
# where they would corrupt --json output: route them to Python logging, shown with -v.
pymupdf.set_messages(pylogging=True, pylogging_name="pymupdf", pylogging_level=logging.DEBUG)

DocumentKind = Literal["pdf", "png", "jpeg", "tiff"]

#: Extensions ``discover`` picks up in folders (a file named explicitly is always tried).
DOCUMENT_SUFFIXES = frozenset({".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff"})

_MAGIC: tuple[tuple[bytes, DocumentKind], ...] = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
)
_SNIFF_BYTES = 1024  # the PDF header may follow some junk (ISO 32000: within the first 1024 bytes)
_TAIL_BYTES = 2048  # where %%EOF must appear; a file without it was cut short
DECRYPT_HINT = "remove the password first, e.g. `qpdf --decrypt --password=PASS in.pdf out.pdf`"


@dataclass(frozen=True)
class DocumentRef:
    """A document found by :func:`discover`.

    ``name`` is the posix path relative to the folder given (the file name for a file argument):
    the document's identity in every output.
    """

    path: Path
    name: str


class Document:
    """An open document; use as a context manager or call :meth:`close`.

    ``pdf`` is the underlying :class:`pymupdf.Document` (always a PDF: raster images are wrapped).
    """

    def __init__(self, path: Path, pdf: pymupdf.Document, kind: DocumentKind) -> None:
        self.path = Path(path)
        self.pdf = pdf
        self.kind = kind
        self._display: tuple[int, pymupdf.DisplayList] | None = None

    @property
    def page_count(self) -> int:
        """Number of pages (>= 1 for any document :func:`open_document` returned)."""
        return self.pdf.page_count

    def load_page(self, page_index: int) -> pymupdf.Page:
        """The 0-based page; a damaged page raises :class:`CorruptDocumentError` for that page."""
        if not 0 <= page_index < self.page_count:
            raise IndexError(f"page_index {page_index} out of range 0..{self.page_count - 1}")
        try:
            return self.pdf.load_page(page_index)
        except Exception as exc:  # MuPDF raises plain RuntimeError/FzErrorFormat for bad pages
            raise CorruptDocumentError(f"page {page_index + 1} cannot be read ({_short(exc)})",
                                       path=self.path) from exc

    def display_list(self, page_index: int) -> pymupdf.DisplayList:
        """The page's content interpreted once (MuPDF display list), kept for the last page
        asked: rendering many tiles of one page then skips re-reading its content stream."""
        if self._display is None or self._display[0] != page_index:
            page = self.load_page(page_index)
            self._display = None  # drop the previous page's list before building the next
            self._display = (page_index, page.get_displaylist())
        return self._display[1]

    def close(self) -> None:
        """Release MuPDF's resources."""
        self._display = None
        self.pdf.close()

    def __enter__(self) -> Document:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Document({str(self.path)!r}, kind={self.kind!r}, pages={self.page_count})"


def sniff_kind(head: bytes) -> DocumentKind | None:
    """The document kind from a file's first bytes, or None if it is none we read."""
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    return "pdf" if b"%PDF-" in head[:_SNIFF_BYTES] else None


def open_document(path: Path) -> Document:
    """Open a PDF or raster image, or raise the :class:`InputError` subclass saying why not.

    Raises: UnreadableFileError (missing, permissions, a folder, symlink loop), NotAPdfError,
    CorruptDocumentError (truncated or unparsable), EncryptedDocumentError, EmptyDocumentError.
    """
    path = Path(path)
    head, tail, size = _read_ends(path)
    kind = sniff_kind(head)
    if kind is None:
        raise NotAPdfError("not a PDF or a PNG/JPEG/TIFF image (unrecognised file content)",
                           path=path)
    if kind == "pdf":
        if b"%%EOF" not in tail:
            raise CorruptDocumentError(f"truncated or corrupt PDF (no %%EOF marker at the end "
                                       f"of its {size} bytes)", path=path)
        pdf = _open_pdf(path)
    else:
        pdf = _open_image(path, kind)
    if pdf.page_count == 0:
        pdf.close()
        raise EmptyDocumentError("document has zero pages", path=path)
    return Document(path, pdf, kind)


def _read_ends(path: Path) -> tuple[bytes, bytes, int]:
    try:
        with open(path, "rb") as handle:
            head = handle.read(_SNIFF_BYTES)
            size = os.fstat(handle.fileno()).st_size
            handle.seek(max(0, size - _TAIL_BYTES))
            tail = handle.read()
    except OSError as exc:
        raise UnreadableFileError(f"cannot read file ({_os_reason(exc)})", path=path) from exc
    if size == 0:
        raise NotAPdfError("empty file (0 bytes), not a PDF", path=path)
    return head, tail, size


def _open_pdf(path: Path) -> pymupdf.Document:
    try:
        pdf = pymupdf.open(path, filetype="pdf")
    except Exception as exc:  # FileDataError and MuPDF format errors
        raise CorruptDocumentError(f"corrupt PDF, cannot be parsed ({_short(exc)})",
                                   path=path) from exc
    if pdf.needs_pass:
        pdf.close()
        raise EncryptedDocumentError(f"encrypted PDF needs a password; {DECRYPT_HINT}", path=path)
    if pdf.is_repaired:
        log.warning("%s: damaged PDF repaired by MuPDF; check its pages", path)
    return pdf


def _open_image(path: Path, kind: DocumentKind) -> pymupdf.Document:
    try:
        with pymupdf.open(path) as image:
            pdf_bytes = image.convert_to_pdf()
        return pymupdf.open("pdf", pdf_bytes)
    except Exception as exc:
        raise CorruptDocumentError(f"corrupt {kind.upper()} image ({_short(exc)})",
                                   path=path) from exc


#: This process's most recently used document, reused while consecutive tasks of a worker
#: process read the same file (the tiles of a page, the pages of a document). Keyed by path and
#: a version string (the file's SHA-256 where the caller knows it), so a file replaced between
#: two tasks is opened again.
_CACHED: dict[tuple[str, str], Document] = {}


def cached_document(path: Path, version: str = "") -> Document:
    """``open_document(path)``, kept open for the next call with the same ``path`` and
    ``version``; opening another file closes the previous one (one open document per process)."""
    key = (str(path), version)
    if key not in _CACHED:
        close_cached_document()
        _CACHED[key] = open_document(Path(path))
    return _CACHED[key]


def close_cached_document() -> None:
    """Close this process's cached document, if any."""
    while _CACHED:
        _CACHED.popitem()[1].close()


def discover(inputs: Sequence[Path]) -> list[DocumentRef | InputError]:
    """Documents under ``inputs`` (files or folders, recursive), sorted by ``name``.

    Folders contribute files with a document extension; a file named explicitly is always
    included (its content decides later whether it is a document). Problems met while walking
    (missing input, unreadable folder, symlink loop) are returned in the list as
    :class:`UnreadableFileError`, not raised, so the rest of the batch goes on.
    """
    found: list[DocumentRef | InputError] = []
    for raw in inputs:
        root = Path(raw)
        try:
            is_dir = root.is_dir()
            exists = root.exists()
        except OSError as exc:  # ELOOP on a self-referencing symlink
            found.append(UnreadableFileError(f"cannot read input ({_os_reason(exc)})", path=root))
            continue
        if is_dir:
            found.extend(_walk(root, root, frozenset({_real(root)})))
        elif exists or root.is_symlink():
            found.append(DocumentRef(root, root.name))
        else:
            found.append(UnreadableFileError("no such file or folder", path=root))
    return sorted(found, key=_sort_key)


def discover_for_output(inputs: Sequence[Path], out: Path) -> Iterator[DocumentRef | str]:
    """:func:`discover` for a command that writes one output per document name into ``out``:
    documents inside ``out`` (its own outputs) are passed over, and a document whose name an
    earlier one already has comes back as a one-line failure (str), like a bad file's."""
    seen: dict[str, Path] = {}
    for item in discover(inputs):
        if isinstance(item, InputError):
            yield str(item)
        elif Path(out).resolve() in item.path.resolve().parents:
            continue  # our own output inside an input folder: never an input
        elif item.name in seen:
            yield (f"{item.path}: same document name {item.name!r} as {seen[item.name]}; "
                   "rename one or pass their folder")
        else:
            seen[item.name] = item.path
            yield item


def _walk(root: Path, folder: Path,
          ancestors: frozenset[str]) -> Iterator[DocumentRef | InputError]:
    """Depth-first walk following symlinks, reporting loops (a folder that is its own ancestor)."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        yield UnreadableFileError(f"cannot list folder ({_os_reason(exc)})", path=folder)
        return
    for entry in entries:
        path = Path(entry.path)
        try:
            is_dir = entry.is_dir()  # follows symlinks
            is_file = entry.is_file()
        except OSError as exc:
            yield UnreadableFileError(f"cannot read entry ({_os_reason(exc)})", path=path)
            continue
        if is_dir:
            real = _real(path)
            if real in ancestors:
                yield UnreadableFileError(f"symlink loop (points back to {real}); skipped",
                                          path=path)
                continue
            yield from _walk(root, path, ancestors | {real})
        elif is_file and path.suffix.lower() in DOCUMENT_SUFFIXES:
            yield DocumentRef(path, path.relative_to(root).as_posix())
        elif entry.is_symlink() and not is_file and not is_dir:
            yield UnreadableFileError(_broken_link_reason(path), path=path)


def _broken_link_reason(path: Path) -> str:
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symlink loop (the link resolves to itself)"
        return f"cannot read file (broken symlink: {_os_reason(exc)})"
    return "not a regular file"


def _real(path: Path) -> str:
    return os.path.realpath(path)


def _sort_key(item: DocumentRef | InputError) -> str:
    return item.name if isinstance(item, DocumentRef) else (item.path or "")


def _os_reason(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "symlink loop"
    return exc.strerror or type(exc).__name__


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."
