"""Helpers for the reliability suite: a generated hostile corpus (no checked-in binaries) and
ways to run ``planseg segment`` in-process (CliRunner) or as a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pymupdf

TESTS = Path(__file__).resolve().parents[1]
if str(TESTS) not in sys.path:  # segment_fixtures / train_toy live in tests/
    sys.path.insert(0, str(TESTS))

from segment_fixtures import write_plan_pdf  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from planseg.cli import app  # noqa: E402

runner = CliRunner()
GOOD_NAMES = ("good-a.pdf", "sub/good b.pdf")


def segment(inputs: Path, out: Path, config: Path, *extra: str):
    """In-process ``planseg segment`` with the fast test settings, one process."""
    return runner.invoke(app, ["segment", str(inputs), "--out", str(out), "--model", "tiny",
                               "--config", str(config), "--workers", "0", *extra])


def segment_command(inputs: Path, out: Path, config: Path, *extra: str) -> list[str]:
    """Argument vector of a real ``planseg segment`` subprocess."""
    return [sys.executable, "-m", "planseg", "segment", str(inputs), "--out", str(out),
            "--model", "tiny", "--config", str(config), "--workers", "0", *extra]


def run_segment_process(inputs: Path, out: Path, config: Path, *extra: str,
                        env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(segment_command(inputs, out, config, *extra), capture_output=True,
                          text=True, timeout=240, env=env)


def write_good_docs(folder: Path) -> None:
    """Two good documents (one with a space in a subfolder name), 1 page each."""
    for seed, name in enumerate(GOOD_NAMES):
        write_plan_pdf(folder / name, seed=seed)


def pdf_bytes(pages: int = 1, size_pt: tuple[float, float] = (595.0, 842.0)) -> bytes:
    doc = pymupdf.open()
    for _ in range(pages):
        page = doc.new_page(width=size_pt[0], height=size_pt[1])
        page.draw_rect(pymupdf.Rect(20, 20, min(300, size_pt[0] - 5), min(300, size_pt[1] - 5)),
                       color=(0, 0, 0), fill=(0.9, 0.3, 0.3))
    data = doc.tobytes()
    doc.close()
    return data


def flipped_content_pdf() -> bytes:
    """A PDF whose page content stream has flipped bytes (uncompressed, so the operators are
    garbled but the file structure still parses)."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.draw_rect(pymupdf.Rect(40, 40, 300, 300), color=(0, 0, 0), fill=(0.2, 0.5, 0.8))
    page.insert_text((50, 400), "ZONE WA1", fontsize=14)
    xref = page.get_contents()[0]
    stream = bytearray(doc.xref_stream(xref))
    for index in range(0, len(stream), 3):
        stream[index] ^= 0xFF
    doc.update_stream(xref, bytes(stream), compress=False)
    data = doc.tobytes()
    doc.close()
    return data


def encrypted_pdf() -> bytes:
    doc = pymupdf.open()
    doc.new_page()
    data = doc.tobytes(encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="secret",
                       owner_pw="owner")
    doc.close()
    return data


def zero_page_pdf() -> bytes:
    """A syntactically valid PDF whose page tree is empty (PyMuPDF refuses to save one)."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"]
    body, offsets = b"%PDF-1.7\n", []
    for number, obj in enumerate(objects, 1):
        offsets.append(len(body))
        body += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    xref = len(body)
    body += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    body += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    body += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return body


def png_bytes() -> bytes:
    pix = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 32, 32), False)
    pix.clear_with(200)
    return pix.tobytes("png")


def hostile_corpus(folder: Path) -> dict[str, bytes | None]:
    """Write the hostile inputs into ``folder``; name -> bytes (None: not a regular file).

    Names are chosen so every one sorts among the good documents."""
    good = pdf_bytes()
    corpus: dict[str, bytes | None] = {
        "truncated.pdf": good[: len(good) // 2],
        "random bytes.pdf": os.urandom(4096),
        "flipped-content.pdf": flipped_content_pdf(),
        "encrypted.pdf": encrypted_pdf(),
        "zero-pages.pdf": zero_page_pdf(),
        "empty.pdf": b"",
        "image-named.pdf": None,  # a PNG: planseg sniffs bytes, so this one may be segmented
        "ünïcødé ✓ name.pdf": good[: len(good) - 40],
    }
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in corpus.items():
        (folder / name).write_bytes(png_bytes() if data is None else data)
    loop = folder / "loop"
    loop.mkdir()
    (loop / "a").symlink_to(loop / "b")
    (loop / "b").symlink_to(loop / "a")
    (loop / "self").symlink_to(loop)  # a directory loop
    return corpus
