"""The ``kunsink`` command line: a thin face on the public API.

Each command parses its options, calls the API, and prints a short summary. Errors a
user can fix (:class:`~kunsink.errors.KunsinkError`) print one line
``kunsink: error: …`` and exit with code 2; ``--debug`` shows the traceback instead.
Sub-command groups live in their own modules and are registered here.
"""

from __future__ import annotations

import sys
from typing import Optional

import click
import typer

from .._version import __version__
from ..errors import KunsinkError

app = typer.Typer(
    name="kunsink",
    help="Carbon-sink mapping and green-space planning for Kundulun District (昆都仑区), Baotou.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"kunsink {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Optional[bool] = typer.Option(None, "--version", callback=_version, is_eager=True,
                                           help="Print the version and exit."),
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks for errors."),
) -> None:
    """Carbon-sink mapping and green-space planning for Kundulun District (昆都仑区), Baotou."""


def _register() -> None:
    from pathlib import Path
    import importlib

    from . import carbon_cmd, crs_cmd, demo_cmd, layers_cmd, scene_cmd

    app.add_typer(crs_cmd.app, name="crs")
    app.add_typer(layers_cmd.app, name="layers")
    app.add_typer(scene_cmd.app, name="scene")
    demo_cmd.register(app)
    carbon_cmd.register(app)
    # capability groups whose modules are present (each is a typer sub-app named ``app``)
    here = Path(__file__).parent
    for module, name in (("greenspace_cmd", "greenspace"), ("mines_cmd", "mines"), ("plots_cmd", "plots")):
        if (here / f"{module}.py").exists():
            app.add_typer(importlib.import_module(f".{module}", __package__).app, name=name)


_register()


def fail(message: str) -> "typer.Exit":
    """Print ``kunsink: error: message`` to stderr and return an Exit(2) to raise."""
    typer.echo(f"kunsink: error: {' '.join(str(message).split())}", err=True)
    return typer.Exit(2)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``kunsink`` script; returns the exit code."""
    import os

    # GDAL's block cache defaults to 5 % of RAM; cap it so chunked work keeps a bounded footprint
    os.environ.setdefault("GDAL_CACHEMAX", "256")
    args = list(sys.argv[1:] if argv is None else argv)
    first = next((i for i, a in enumerate(args) if not a.startswith("-")), len(args))
    debug = "--debug" in args[:first]  # a root option: only before the command
    try:
        rv = app(args=args, prog_name="kunsink", standalone_mode=False)
        code = rv if isinstance(rv, int) else 0
    except KunsinkError as exc:
        if debug:
            raise
        typer.echo(f"kunsink: error: {exc}", err=True)
        code = exc.exit_code
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.exceptions.Abort:
        typer.echo("kunsink: aborted", err=True)
        code = 130
    except click.ClickException as exc:  # usage errors: bad option, missing argument
        if debug:
            raise
        typer.echo(f"kunsink: error: {' '.join(exc.format_message().split())} (see --help)", err=True)
        code = 2
    except KeyboardInterrupt:
        typer.echo("kunsink: interrupted", err=True)
        code = 130
    except Exception as exc:  # a bug: still one line unless --debug
        if debug:
            raise
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        typer.echo(f"kunsink: internal error: {type(exc).__name__}: {first} (rerun with --debug for the traceback)",
                   err=True)
        code = 1
    if argv is None:
        sys.exit(code)
    return code
