"""Fuzzing (hypothesis, bounded): mutated PDFs into ingest (open_document, render_page,
read_georef, page_words) and mutated COCO files into the training loader (load_splits).
Only planseg's typed errors (PlansegError subclasses) may escape."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pymupdf
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from train_toy import make_dataset

from planseg.errors import PlansegError
from planseg.ingest import open_document, page_words, read_georef, render_page
from planseg.train.config import DatasetConfig
from planseg.train.data import load_splits

pytestmark = pytest.mark.reliability
FUZZ_PDF = settings(max_examples=300, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
FUZZ_COCO = settings(FUZZ_PDF, max_examples=150,
                     suppress_health_check=[*FUZZ_PDF.suppress_health_check,
                                            HealthCheck.function_scoped_fixture])


def _seed_pdf() -> bytes:
    """A small uncompressed PDF with text, vector fills and an image, so mutations hit
    content operators, fonts and the xref alike."""
    doc = pymupdf.open()
    page = doc.new_page(width=200, height=150)
    page.draw_rect(pymupdf.Rect(10, 10, 120, 90), color=(0, 0, 0), fill=(0.8, 0.2, 0.2))
    page.insert_text((20, 120), "WA 1 Zone", fontsize=12)
    pix = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 8, 8), False)
    pix.clear_with(90)
    page.insert_image(pymupdf.Rect(130, 20, 180, 70), pixmap=pix)
    data = doc.tobytes(expand=255)  # uncompressed streams
    doc.close()
    return data


SEED_PDF = _seed_pdf()

mutations = st.lists(st.tuples(st.sampled_from(["flip", "cut", "insert", "delete"]),
                               st.floats(0, 1), st.binary(min_size=1, max_size=8)),
                     min_size=1, max_size=6)


def _mutate(data: bytes, edits) -> bytes:
    buffer = bytearray(data)
    for kind, where, payload in edits:
        at = int(where * max(len(buffer) - 1, 0))
        if kind == "flip" and buffer:
            buffer[at] ^= payload[0] or 0xFF
        elif kind == "cut":
            del buffer[at:]
        elif kind == "insert":
            buffer[at:at] = payload
        else:
            del buffer[at:at + len(payload) * 16]
    return bytes(buffer)


@FUZZ_PDF
@given(edits=mutations)
# found by this test: MuPDF's repair rebuilds the page object outside the xref table
@example(edits=[("insert", 0.0, b"\x00\x00"), ("flip", 0.06, b"\x00"),
                ("delete", 0.08203125, b"\x00")])
def test_mutated_pdfs_raise_only_typed_errors(edits) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzzed.pdf"
        path.write_bytes(_mutate(SEED_PDF, edits))
        try:
            with open_document(path) as doc:
                for page_index in range(min(doc.page_count, 2)):
                    page = render_page(doc, page_index, dpi=20, max_pixels=4_000_000)
                    assert page.image.ndim == 3 and page.image.dtype.name == "uint8"
                    read_georef(doc, page_index)
                    for word in page_words(doc, page_index):
                        assert isinstance(word.text, str)
        except PlansegError:
            pass


@pytest.fixture(scope="module")
def seed_dataset(tmp_path_factory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("fuzz-data") / "d", train_pages=2,
                        val_pages=2, size=(64, 48))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=True)
    | st.text(max_size=12) | st.sampled_from(["../../etc/passwd", "/etc/passwd", "a/../b.png"]),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=6), children, max_size=3), max_leaves=8)


def _replace_somewhere(tree, path_choices: list[float], value):
    """Replace the value reached by following ``path_choices`` down the JSON tree."""
    node = tree
    for choice in path_choices:
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        if not keys:
            break
        key = keys[int(choice * (len(keys) - 1))]
        if not isinstance(node[key], (dict, list)) or choice > 0.9:
            node[key] = value
            return tree
        node = node[key]
    return tree


@FUZZ_COCO
@given(choices=st.lists(st.floats(0, 1), min_size=1, max_size=5), value=json_values,
       text_cut=st.none() | st.floats(0, 1))
def test_mutated_coco_files_raise_only_typed_errors(seed_dataset: Path, choices, value,
                                                    text_cut) -> None:
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "d"
        shutil.copytree(seed_dataset, data)
        ann = data / "train" / "annotations.json"
        coco = json.loads(ann.read_text())
        text = json.dumps(_replace_somewhere(coco, choices, value))
        if text_cut is not None:
            text = text[: int(text_cut * len(text))]
        ann.write_text(text)
        try:
            load_splits(data, DatasetConfig(cache=False), None)
        except PlansegError:
            pass
