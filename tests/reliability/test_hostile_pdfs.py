"""Hostile and broken documents mixed into a folder of good ones: the good ones come out
exactly as in a clean run, each bad one gets a one-line reason (run.json and stderr), exit 1,
no traceback without ``-v``. Also a document deleted or replaced while the run is going."""

from __future__ import annotations

import json
import shutil
import subprocess
import time

import pytest
from segment_fixtures import output_files, read_json, write_plan_pdf

from planseg.errors import ExitCode
from reliability.corpus import GOOD_NAMES, hostile_corpus, run_segment_process, segment_command

pytestmark = pytest.mark.reliability

#: hostile name -> words its reason must contain
EXPECTED_FAILURES = {
    "empty.pdf": "empty file",
    "encrypted.pdf": "password",
    "random bytes.pdf": "not a PDF",
    "truncated.pdf": "truncated",
    "zero-pages.pdf": "zero pages",
    "ünïcødé ✓ name.pdf": "truncated",
}


def _good_outputs(outputs: dict[str, bytes]) -> dict[str, bytes]:
    stems = {name.removesuffix(".pdf") + ".geojson" for name in GOOD_NAMES}
    return {name: data for name, data in outputs.items() if name in stems}


@pytest.mark.slow
def test_hostile_corpus_mixed_with_good_documents(baseline, fast_config, tmp_path) -> None:
    good_inputs, clean = baseline
    inputs, out = tmp_path / "in", tmp_path / "out"
    shutil.copytree(good_inputs, inputs)
    hostile_corpus(inputs)
    result = run_segment_process(inputs, out, fast_config)
    assert result.returncode == ExitCode.input_failed, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    # each good document's output is byte-identical to the clean run's
    assert _good_outputs(output_files(out)) == _good_outputs(clean)
    assert len(_good_outputs(clean)) == len(GOOD_NAMES)
    documents = read_json(out / "run.json")["documents"]
    failed = {f["document"]: f["error"] for f in documents["failed"]}
    for name, words in EXPECTED_FAILURES.items():
        assert words in failed[name], (name, failed[name])
    loop_entries = [name for name in failed if "/loop/" in name]
    assert loop_entries and all("symlink loop" in failed[n] for n in loop_entries)
    # garbled content streams and a PNG named .pdf are either segmented or refused, never lost
    for name in ("flipped-content.pdf", "image-named.pdf"):
        assert name in documents["done"] or name in failed
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("ERROR")]
    for name, reason in failed.items():
        assert "\n" not in reason and reason
        assert sum(name in line and reason in line for line in error_lines) == 1, name
    # every JSON output parses (the coco.json includes the good pages)
    coco = json.loads((out / "coco.json").read_text())
    assert {im["pdf"] for im in coco["images"]} >= set(GOOD_NAMES)


@pytest.mark.slow
def test_documents_deleted_or_replaced_mid_run(baseline, fast_config, tmp_path) -> None:
    """Deleted after discovery: a one-line reason, the rest goes on. (We run as root, so
    ``chmod 000`` would not stop reads: deletion and replacement are the faults here.)"""
    inputs, out = tmp_path / "in", tmp_path / "out"
    write_plan_pdf(inputs / "a-first.pdf", pages=6, seed=3)  # keeps the run busy
    write_plan_pdf(inputs / "m-vanishes.pdf", seed=4)
    write_plan_pdf(inputs / "n-replaced.pdf", seed=5)
    write_plan_pdf(inputs / "z-last.pdf", seed=6)
    process = subprocess.Popen(segment_command(inputs, out, fast_config),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    # config.yaml is written once discovery and hashing are done (the last step of planning a
    # run); the six pages of a-first.pdf keep the run busy after it
    while not (out / "config.yaml").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    (inputs / "m-vanishes.pdf").unlink()
    (inputs / "n-replaced.pdf").write_bytes(b"garbage that replaced a PDF")
    stdout, stderr = process.communicate(timeout=240)
    assert process.returncode == ExitCode.input_failed, stderr
    assert "Traceback" not in stderr + stdout
    documents = read_json(out / "run.json")["documents"]
    assert documents["done"] == ["a-first.pdf", "z-last.pdf"]
    failed = {f["document"]: f["error"] for f in documents["failed"]}
    assert sorted(failed) == ["m-vanishes.pdf", "n-replaced.pdf"], failed
    assert all(reason and "\n" not in reason for reason in failed.values())
    assert not (out / "m-vanishes.geojson").exists() and not (out / "n-replaced.geojson").exists()
