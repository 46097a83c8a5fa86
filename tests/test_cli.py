"""The CLI skeleton: help, version, usage errors and the one error handler."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import typer
from typer.testing import CliRunner

from planseg import __version__
from planseg.cli import PlansegGroup, app
from planseg.errors import ExitCode, LockedError, NotAPdfError

runner = CliRunner()


def test_help_lists_the_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("synth", "rasterize", "train", "segment", "evaluate", "models"):
        assert command in result.output


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"planseg {__version__}"


def test_unknown_option_is_usage_error() -> None:
    result = runner.invoke(app, ["--no-such-option"])
    assert result.exit_code == ExitCode.usage


def test_bad_config_key_names_the_key(tmp_path: Path) -> None:
    config = tmp_path / "synth.yaml"
    config.write_text("docs: 1\nsede: 3\n")
    result = runner.invoke(app, ["synth", str(tmp_path / "out"), "--config", str(config)])
    assert result.exit_code == ExitCode.usage
    assert "sede: unknown key" in result.output
    assert not (tmp_path / "out").exists()


def _app_raising(error: Exception) -> typer.Typer:
    probe = typer.Typer(cls=PlansegGroup)

    @probe.callback()
    def _root() -> None:
        """Probe group."""

    @probe.command()
    def fail() -> None:
        """Raise the given error."""
        raise error

    return probe


def test_typed_errors_map_to_their_exit_codes() -> None:
    bad_pdf = _app_raising(NotAPdfError("not a PDF (starts with b'GIF8')", path="a.pdf"))
    result = runner.invoke(bad_pdf, ["fail"])
    assert result.exit_code == ExitCode.input_failed
    assert result.exception is None or isinstance(result.exception, SystemExit)
    locked = runner.invoke(_app_raising(LockedError("held by PID 42")), ["fail"])
    assert locked.exit_code == ExitCode.locked


def test_real_process_json_logs_and_exit_code(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("dpi: -5\n")
    proc = subprocess.run(
        [sys.executable, "-m", "planseg", "--log-format", "json", "synth", str(tmp_path / "o"),
         "--config", str(config)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == ExitCode.usage
    lines = [json.loads(line) for line in proc.stderr.splitlines() if line.startswith("{")]
    assert lines and lines[-1]["level"] == "error" and lines[-1]["exit_code"] == 2
    assert "dpi" in lines[-1]["message"]
    assert "Traceback" not in proc.stderr
