"""A small reader for PDF object syntax, enough to walk geospatial dictionaries.

PyMuPDF hands out objects as PDF source text (``Document.xref_object``); geospatial data sits in
arrays of inline dictionaries that its key-path API cannot index, so we parse the text into
Python values: dict (keys without the slash), list, int/float, :class:`Name`, ``str`` for
strings, :class:`Ref` for indirect references, None for null.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

import pymupdf

log = logging.getLogger(__name__)
_mupdf = pymupdf.mupdf
_RAW_CHUNK = 1 << 20  # geospatial dictionaries are small; a WKT string is a few KiB
_OBJ_HEADER = re.compile(rb"\s*(\d+)\s+\d+\s+obj")

_TOKEN = re.compile(rb"""
    (?P<ws>[\s\x00]+|%[^\r\n]*)
  | (?P<dict_open><<) | (?P<dict_close>>>)
  | (?P<arr_open>\[) | (?P<arr_close>\])
  | (?P<ref>\d+\s+\d+\s+R(?![A-Za-z]))
  | (?P<num>[+-]?(?:\d+\.?\d*|\.\d+))
  | (?P<name>/[^\s/\[\]()<>{}%]*)
  | (?P<hex><[0-9A-Fa-f\s]*>)
  | (?P<str>\()
  | (?P<kw>true|false|null)
""", re.VERBOSE)
_ESCAPES = {ord("n"): b"\n", ord("r"): b"\r", ord("t"): b"\t", ord("b"): b"\b",
            ord("f"): b"\f", ord("("): b"(", ord(")"): b")", ord("\\"): b"\\"}


class Name(str):
    """A PDF name, without its slash."""


@dataclass(frozen=True)
class Ref:
    """An indirect reference ``xref 0 R``."""

    xref: int


def parse(text: str | bytes) -> Any:
    """Parse one PDF object from its source text."""
    data = text.encode("latin-1", "replace") if isinstance(text, str) else text
    value, _ = _parse_at(data, 0)
    return value


def read_object(doc: pymupdf.Document, xref: int) -> Any:
    """Object ``xref`` parsed from the file's own bytes, keeping every digit of its numbers.

    MuPDF stores PDF reals as 32-bit floats (7 significant digits: about a metre in a
    longitude), so geospatial numbers are read from the file (or its object stream) instead.
    Falls back to MuPDF's printed form when that is impossible (in-memory or encrypted
    documents, unusual layouts).
    """
    try:
        return _read_raw(doc, xref)
    except (OSError, ValueError, KeyError, IndexError):
        log.debug("xref %d: reading MuPDF's (float32) form of the object", xref)
        return parse(doc.xref_object(xref, compressed=True))


def resolve(doc: pymupdf.Document, value: Any) -> Any:
    """Follow an indirect reference (once, shallowly); other values pass through."""
    if isinstance(value, Ref):
        return read_object(doc, value.xref)
    return value


def numbers(doc: pymupdf.Document, value: Any) -> list[float]:
    """A resolved array of numbers (numbers written as strings, as TerraGo does, too)."""
    return [float(resolve(doc, v)) for v in resolve(doc, value) or []]


def _read_raw(doc: pymupdf.Document, xref: int) -> Any:
    if not doc.name or doc.metadata.get("encryption") or doc.is_repaired:
        raise ValueError("no trustworthy file offsets")
    pdf = _mupdf.pdf_document_from_fz_document(doc.this)
    entry = _mupdf.ll_pdf_get_xref_entry_no_null(pdf.m_internal, xref)
    if entry.type == "n":
        with open(doc.name, "rb") as handle:
            handle.seek(entry.ofs)
            data = handle.read(_RAW_CHUNK)
        header = _OBJ_HEADER.match(data)
        if header is None or int(header.group(1)) != xref:
            raise ValueError(f"no 'obj {xref}' at offset {entry.ofs}")
        return _parse_at(data, header.end())[0]
    if entry.type == "o":  # inside a compressed object stream: header pairs "num offset"
        stream = doc.xref_stream(entry.ofs)
        first = int(doc.xref_get_key(entry.ofs, "First")[1])
        pairs = [int(v) for v in stream[:first].split()]
        offsets = dict(zip(pairs[0::2], pairs[1::2], strict=True))
        return _parse_at(stream, first + offsets[xref])[0]
    raise ValueError(f"xref entry type {entry.type!r}")


def _parse_at(data: bytes, pos: int) -> tuple[Any, int]:
    while True:
        match = _TOKEN.match(data, pos)
        if match is None:
            raise ValueError(f"unparsable PDF object near byte {pos}: {data[pos:pos + 20]!r}")
        pos = match.end()
        kind = match.lastgroup
        if kind != "ws":
            break
    token = match.group()
    if kind == "dict_open":
        items: list[Any] = []
        pos = _parse_items(data, pos, b">>", items)
        return {str(items[i]): items[i + 1] for i in range(0, len(items) - 1, 2)}, pos
    if kind == "arr_open":
        items = []
        return items, _parse_items(data, pos, b"]", items)
    if kind == "ref":
        return Ref(int(token.split()[0])), pos
    if kind == "num":
        return (float(token) if b"." in token else int(token)), pos
    if kind == "name":
        return Name(_unhash(token[1:]).decode("latin-1")), pos
    if kind == "hex":
        return _decode_text(bytes.fromhex(re.sub(rb"\s", b"", token[1:-1]).decode())), pos
    if kind == "str":
        raw, pos = _literal(data, pos)
        return _decode_text(raw), pos
    return {b"true": True, b"false": False, b"null": None}[token], pos


def _parse_items(data: bytes, pos: int, close: bytes, items: list[Any]) -> int:
    while True:
        while pos < len(data) and (data[pos:pos + 1].isspace() or data[pos] == 0):
            pos += 1
        if data.startswith(close, pos):
            return pos + len(close)
        if pos >= len(data):
            raise ValueError("unterminated PDF array or dictionary")
        value, pos = _parse_at(data, pos)
        items.append(value)


def _literal(data: bytes, pos: int) -> tuple[bytes, int]:
    out, depth = bytearray(), 1
    while pos < len(data):
        char = data[pos]
        pos += 1
        if char == ord("\\"):
            octal = re.match(rb"[0-7]{1,3}", data[pos:pos + 3])
            if octal:
                out.append(int(octal.group(), 8) & 0xFF)
                pos += len(octal.group())
            elif pos < len(data):
                out += _ESCAPES.get(data[pos], b"" if data[pos] in b"\r\n" else bytes([data[pos]]))
                pos += 1
            continue
        depth += (char == ord("(")) - (char == ord(")"))
        if depth == 0:
            return bytes(out), pos
        out.append(char)
    raise ValueError("unterminated PDF string")


def _unhash(name: bytes) -> bytes:
    return re.sub(rb"#([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), name)


def _decode_text(raw: bytes) -> str:
    if raw.startswith(b"\xfe\xff"):
        return raw[2:].decode("utf-16-be", "replace")
    return raw.decode("latin-1")
