"""The ``planseg`` command line: global options, one module per subcommand, one error handler.

Commands are thin: flags -> config -> ``run(config)``. Library code raises
:class:`~planseg.errors.PlansegError`; :class:`PlansegGroup` is the single place that turns
it into a one-line message and the documented exit code (traceback only with ``-v``).
Heavy imports (torch) happen inside commands so ``planseg --help`` starts fast.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

import typer
from typer.core import TyperGroup

from planseg import __version__
from planseg.errors import PlansegError
from planseg.logs import LogFormat, setup_logging
from planseg.malloc import tune_malloc

log = logging.getLogger("planseg.cli")


@dataclass
class GlobalOptions:
    """Options given before the subcommand, shared by every command via ``ctx.obj``."""

    verbose: bool = False
    quiet: bool = False
    log_format: LogFormat = "text"


class PlansegGroup(TyperGroup):
    """Maps planseg's typed errors to their exit codes, for every (sub)command."""

    def invoke(self, ctx: typer.Context):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except PlansegError as exc:
            options = ctx.find_object(GlobalOptions) or GlobalOptions()
            log.error("%s", exc, exc_info=options.verbose,
                      extra={"exit_code": int(exc.exit_code), "error": type(exc).__name__})
            ctx.exit(int(exc.exit_code))


class LogFormatChoice(StrEnum):
    """Values of ``--log-format``."""

    text = "text"
    json = "json"


app = typer.Typer(cls=PlansegGroup, no_args_is_help=True, add_completion=False,
                  pretty_exceptions_enable=False,
                  help="Turn folders of urban-planning PDFs into clean vector polygons.")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"planseg {__version__}")
        raise typer.Exit()


@app.callback()
def _global_options(
    ctx: typer.Context,
    verbose: Annotated[bool, typer.Option("-v", "--verbose", help="Debug logs and tracebacks.")]
    = False,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="Only warnings and errors.")]
    = False,
    log_format: Annotated[LogFormatChoice, typer.Option(
        "--log-format",
        help="text for people; json: one JSON object per line on stderr, for cron jobs.")]
    = LogFormatChoice.text,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """Turn folders of urban-planning PDFs into clean vector polygons."""
    ctx.obj = GlobalOptions(verbose=verbose, quiet=quiet, log_format=log_format.value)
    setup_logging(verbose=verbose, quiet=quiet, log_format=ctx.obj.log_format)


_COMMANDS = ("synth", "rasterize", "label", "train", "segment", "evaluate", "models", "legend")


def _register() -> None:
    """Attach each subcommand module ``planseg.cli.<name>``; each exposes ``register(app)``."""
    import importlib

    for name in _COMMANDS:
        importlib.import_module(f"planseg.cli.{name}").register(app)


_register()


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point; exits with the documented exit code (usage errors: 2)."""
    tune_malloc()
    app(args=argv, prog_name="planseg")
