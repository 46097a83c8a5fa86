"""``planseg legend``: tables for people, JSON for machines, one-line errors for bad files."""

from __future__ import annotations

import json
from pathlib import Path

import pymupdf
from typer.testing import CliRunner

from planseg.cli import app
from planseg.errors import ExitCode

runner = CliRunner()


def _legend_pdf(path: Path) -> None:
    pdf = pymupdf.open()
    page = pdf.new_page(width=400, height=300)
    page.insert_text((60, 70), "Zoning Districts", fontsize=11)
    for i, (rgb, label) in enumerate([((1, 0, 0), "RS-2 Residential Single"),
                                      ((0, 0, 1), "C-1 Limited Commercial")]):
        page.draw_rect(pymupdf.Rect(60, 80 + 18 * i, 84, 92 + 18 * i), fill=rgb)
        page.insert_text((90, 89 + 18 * i), label, fontsize=8)
    pdf.new_page().insert_text((72, 72), "Text only")
    pdf.save(path)


def test_table_shows_colour_code_and_name(tmp_path: Path) -> None:
    _legend_pdf(tmp_path / "plan.pdf")
    result = runner.invoke(app, ["legend", str(tmp_path / "plan.pdf")])
    assert result.exit_code == 0, result.output
    for text in ("plan.pdf page 1: vector", "#ff0000", "RS-2", "Residential Single", "#0000ff",
                 "C-1", "Limited Commercial", "plan.pdf page 2: no legend", "no legend found"):
        assert text in result.output


def test_json_for_machines(tmp_path: Path) -> None:
    _legend_pdf(tmp_path / "plan.pdf")
    result = runner.invoke(app, ["legend", str(tmp_path), "--json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    [document] = data["documents"]
    assert document["document"] == "plan.pdf" and len(document["pages"]) == 2
    first = document["pages"][0]
    assert first["source"] == "vector"
    assert [(e["rgb"], e["code"], e["label"]) for e in first["entries"]] == [
        ("#ff0000", "RS-2", "Residential Single"), ("#0000ff", "C-1", "Limited Commercial")]
    assert document["pages"][1]["entries"] == [] and document["pages"][1]["notes"]


def test_unreadable_files_give_one_line_errors_and_exit_1(tmp_path: Path) -> None:
    _legend_pdf(tmp_path / "plan.pdf")
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.7 not really")
    result = runner.invoke(app, ["legend", str(tmp_path / "plan.pdf"), str(tmp_path / "broken.pdf"),
                                 str(tmp_path / "missing.pdf"), "--json"])
    assert result.exit_code == ExitCode.input_failed
    assert [d["document"] for d in json.loads(result.stdout)["documents"]] == ["plan.pdf"]
    errors = [line for line in result.stderr.splitlines() if "pdf" in line]
    assert any("broken.pdf" in line for line in errors)
    assert any("missing.pdf" in line and "no such file" in line for line in errors)
