"""Opening documents: every bad input raises its typed error with a one-line message naming the
file and the reason; discover() walks folders (symlink loops reported, not followed forever);
raster images open as 1-page documents."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pymupdf
import pytest
from test_ingest_fixtures import simple_pdf

from planseg.errors import (
    CorruptDocumentError,
    EmptyDocumentError,
    EncryptedDocumentError,
    InputError,
    NotAPdfError,
    UnreadableFileError,
)
from planseg.ingest import DocumentRef, discover, open_document, render_page


def zero_page_pdf() -> bytes:
    """A well-formed PDF whose page tree is empty (PyMuPDF refuses to save one)."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 3\n0000000000 65535 f \n" + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Root 1 0 R /Size 3 >>\nstartxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def make_bad_inputs(folder: Path) -> dict[str, tuple[type[InputError], str]]:
    """Write one file per failure mode; returns name -> (error class, words of the reason)."""
    folder.mkdir(parents=True, exist_ok=True)
    good = simple_pdf(folder / "good.pdf", pages=2).read_bytes()
    (folder / "text.pdf").write_text("just some notes, not a PDF\n")
    (folder / "fake.png").write_bytes(b"GIF89a" + bytes(100))
    (folder / "empty.pdf").write_bytes(b"")
    (folder / "truncated.pdf").write_bytes(good[: len(good) // 2])
    (folder / "corrupt.pdf").write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 8 + b"\n%%EOF\n")
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00garbage" * 20)
    with pymupdf.open(folder / "good.pdf") as doc:
        doc.save(folder / "locked.pdf", encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="secret",
                 owner_pw="owner")
    (folder / "zero.pdf").write_bytes(zero_page_pdf())
    os.symlink(folder / "nowhere.pdf", folder / "dangling.pdf")
    return {
        "text.pdf": (NotAPdfError, "not a PDF"),
        "fake.png": (NotAPdfError, "not a PDF"),
        "empty.pdf": (NotAPdfError, "empty file"),
        "truncated.pdf": (CorruptDocumentError, "truncated"),
        "corrupt.pdf": (CorruptDocumentError, "corrupt PDF"),
        "broken.png": (CorruptDocumentError, "corrupt PNG"),
        "locked.pdf": (EncryptedDocumentError, "qpdf --decrypt"),
        "zero.pdf": (EmptyDocumentError, "zero pages"),
        "dangling.pdf": (UnreadableFileError, "cannot read"),
    }


def test_each_bad_input_has_typed_one_line_error(tmp_path):
    expected = make_bad_inputs(tmp_path)
    for name, (error, reason) in expected.items():
        with pytest.raises(error) as caught:
            open_document(tmp_path / name)
        message = str(caught.value)
        assert "\n" not in message
        assert message.startswith(str(tmp_path / name) + ": "), message
        assert reason in message, message
        assert caught.value.exit_code == 1


def test_encrypted_message_says_how_to_fix(tmp_path):
    make_bad_inputs(tmp_path)
    with pytest.raises(EncryptedDocumentError, match="remove the password"):
        open_document(tmp_path / "locked.pdf")


def test_owner_password_only_pdf_opens(tmp_path):
    """Permissions-only encryption needs no password to read: not an error."""
    with pymupdf.open(simple_pdf(tmp_path / "a.pdf")) as doc:
        doc.save(tmp_path / "perm.pdf", encryption=pymupdf.PDF_ENCRYPT_AES_256, owner_pw="o")
    with open_document(tmp_path / "perm.pdf") as doc:
        assert doc.page_count == 1


def test_pdf_with_image_extension_is_sniffed(tmp_path):
    data = simple_pdf(tmp_path / "a.pdf").read_bytes()
    (tmp_path / "plan.png").write_bytes(data)
    with open_document(tmp_path / "plan.png") as doc:
        assert doc.kind == "pdf" and doc.page_count == 1


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their permissions")
def test_permission_denied(tmp_path):
    path = simple_pdf(tmp_path / "a.pdf")
    path.chmod(0)
    with pytest.raises(UnreadableFileError, match="Permission denied"):
        open_document(path)


@pytest.mark.parametrize(("suffix", "kind"), [(".png", "png"), (".jpg", "jpeg"),
                                              (".tif", "tiff")])
def test_raster_images_open_as_one_page(tmp_path, suffix, kind):
    image = np.full((60, 90, 3), 255, np.uint8)
    image[10:30, 20:50] = (0, 0, 255)  # BGR red block
    path = tmp_path / f"scan{suffix}"
    assert cv2.imwrite(str(path), image)
    with open_document(path) as doc:
        assert doc.kind == kind and doc.page_count == 1
        page = render_page(doc, 0, dpi=72)
    assert page.image.shape[2] == 3
    red = (page.image[..., 0] > 180) & (page.image[..., 1] < 90)
    ys, xs = np.nonzero(red)
    height, width = page.image.shape[:2]  # the block keeps its relative place on the page
    assert abs(xs.min() / width - 20 / 90) < 0.05 and abs(ys.max() / height - 30 / 60) < 0.05


def test_discover_walks_sorted_with_relative_names(tmp_path):
    simple_pdf(tmp_path / "b.pdf")
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    simple_pdf(tmp_path / "sub" / "deeper" / "a.pdf")
    cv2.imwrite(str(tmp_path / "sub" / "scan.PNG"), np.zeros((4, 4, 3), np.uint8))
    (tmp_path / "notes.txt").write_text("ignored in folders")
    single = simple_pdf(tmp_path.parent / f"{tmp_path.name}-single.pdf")
    found = discover([tmp_path, single])
    assert [f.name for f in found] == sorted(
        ["b.pdf", f"{tmp_path.name}-single.pdf", "sub/deeper/a.pdf", "sub/scan.PNG"])
    assert all(isinstance(f, DocumentRef) for f in found)
    by_name = {f.name: f.path for f in found}
    assert by_name["sub/deeper/a.pdf"] == tmp_path / "sub" / "deeper" / "a.pdf"


def test_discover_reports_symlink_loops_and_missing_inputs(tmp_path):
    (tmp_path / "plans").mkdir()
    simple_pdf(tmp_path / "plans" / "a.pdf")
    os.symlink(tmp_path / "plans", tmp_path / "plans" / "loop")  # folder -> its own parent
    os.symlink("self.pdf", tmp_path / "plans" / "self.pdf")  # link -> itself (ELOOP)
    found = discover([tmp_path / "plans", tmp_path / "missing"])
    refs = [f for f in found if isinstance(f, DocumentRef)]
    errors = {Path(e.path).name: e for e in found if isinstance(e, InputError)}
    assert [r.name for r in refs] == ["a.pdf"]
    assert isinstance(errors["loop"], UnreadableFileError) and "symlink loop" in str(
        errors["loop"])
    assert "symlink loop" in str(errors["self.pdf"])
    assert "no such file" in str(errors["missing"])
