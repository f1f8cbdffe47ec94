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

    from . import carbon_cmd, crs_cmd, demo_cmd, layers_cmd, project_cmd, scene_cmd

    app.add_typer(crs_cmd.app, name="crs")
    app.add_typer(layers_cmd.app, name="layers")
    app.add_typer(scene_cmd.app, name="scene")
    demo_cmd.register(app)
    carbon_cmd.register(app)
    project_cmd.register(app)
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


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _usage_classes() -> tuple[type, ...]:
    """The usage-error classes of whichever click typer uses (its own bundled copy from typer 0.29 on)."""
    classes: list[type] = [click.ClickException]
    try:
        from typer._click.exceptions import ClickException as TyperClickException  # typer ≥ 0.29

        classes.append(TyperClickException)
    except ImportError:  # pragma: no cover - older typer
        pass
    return tuple(classes)


def _both(click_cls: type, name: str) -> tuple[type, ...]:
    """``click_cls`` and typer's own class of that name (typer ≥ 0.29 raises its own Exit and Abort)."""
    own = getattr(typer, name, None)
    return (click_cls, own) if isinstance(own, type) and own is not click_cls else (click_cls,)


def _usage_message(exc: BaseException) -> str:
    """``<what is wrong> (usage: kunsink carbon [OPTIONS]; see kunsink carbon --help)``."""
    fmt = getattr(exc, "format_message", None)
    text = _one_line(fmt() if callable(fmt) else str(exc))
    ctx = getattr(exc, "ctx", None)
    hint = "kunsink --help"
    if ctx is not None:
        try:
            usage = _one_line(ctx.get_usage()).replace("Usage: ", "usage: ", 1)
            hint = f"{usage}; see {ctx.command_path} --help"
        except Exception:  # pragma: no cover - a context without a command
            hint = f"see {getattr(ctx, 'command_path', 'kunsink')} --help"
    return f"{text} ({hint})"


class _Quiet:
    """While a command runs: Python warnings and library log records are held back, so that no
    library chatter prints before an error line. On success kunsink's own warnings are shown
    as ``warning: …`` lines (all of them with ``--debug``)."""

    def __init__(self, debug: bool) -> None:
        import logging
        import warnings

        self.debug = debug
        self._warnings = warnings.catch_warnings(record=True)
        self.records: list[logging.LogRecord] = []
        quiet = self

        class _Hold(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                quiet.records.append(record)

        self._handler = _Hold(level=logging.WARNING)

    def __enter__(self) -> "_Quiet":
        import logging
        import warnings

        self.caught = self._warnings.__enter__()
        warnings.simplefilter("always")
        root = logging.getLogger()
        root.addHandler(self._handler)
        return self

    def __exit__(self, *exc: object) -> None:
        import logging

        logging.getLogger().removeHandler(self._handler)
        self._warnings.__exit__(*exc)

    def show(self) -> None:
        import os

        here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        seen: set[str] = set()
        for w in self.caught:
            mine = os.path.abspath(str(w.filename)).startswith(here)
            if not (mine or self.debug) or issubclass(w.category, (DeprecationWarning, PendingDeprecationWarning)):
                continue
            text = _one_line(str(w.message))
            if text not in seen:
                seen.add(text)
                typer.echo(f"warning: {text}", err=True)
        if self.debug:
            for r in self.records:
                typer.echo(f"debug: {r.name}: {_one_line(r.getMessage())}", err=True)


def _install_signal_handlers() -> dict[int, object]:
    """SIGINT and SIGTERM raise :class:`~kunsink.errors.Interrupted` in the main thread."""
    import signal
    import threading

    from ..errors import Interrupted

    if threading.current_thread() is not threading.main_thread():
        return {}

    def _raise(signum: int, frame: object) -> None:
        raise Interrupted(signum)

    old: dict[int, object] = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            old[sig] = signal.signal(sig, _raise)
        except (ValueError, OSError):  # pragma: no cover - not the main interpreter
            pass
    return old


def _restore_signal_handlers(old: dict[int, object]) -> None:
    import signal

    for sig, handler in old.items():
        try:
            signal.signal(sig, handler)  # type: ignore[arg-type]
        except (ValueError, OSError, TypeError):  # pragma: no cover
            pass


def _ignore_signals() -> None:
    import signal

    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            signal.signal(sig, signal.SIG_IGN)
        except (ValueError, OSError):  # pragma: no cover
            pass


def _stop_workers() -> None:
    """After an interrupt or a failure: let running dask tasks finish their GDAL call, drop queued ones,
    then remove this process's staging, so that nothing writes into a folder being deleted."""
    from ..io import remove_live_staging
    from ..workers import drain_dask_threads

    drain_dask_threads()
    remove_live_staging()


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``kunsink`` script; returns the exit code.

    Exit codes: 0 success; 2 a usage error or a problem with the inputs or outputs (one line
    ``kunsink: error: …``); 130 / 143 interrupted by SIGINT / SIGTERM; 1 a bug (one line, the
    traceback with ``--debug``).
    """
    import os

    from ..errors import Interrupted, translate_error

    # GDAL's block cache defaults to 5 % of RAM; cap it so chunked work keeps a bounded footprint
    os.environ.setdefault("GDAL_CACHEMAX", "256")
    for stream in (sys.stdout, sys.stderr):  # a GBK console (Chinese Windows, PYTHONIOENCODING=gbk) cannot show
        try:                                  # every character (², ≥, ·): show "?" rather than fail
            stream.reconfigure(errors="replace")
        except (AttributeError, ValueError, OSError):
            pass
    args = list(sys.argv[1:] if argv is None else argv)
    first = next((i for i, a in enumerate(args) if not a.startswith("-")), len(args))
    debug = "--debug" in args[:first]  # a root option: only before the command
    old_handlers = _install_signal_handlers()
    quiet = _Quiet(debug)
    code = 0
    interrupted = False
    try:
        with quiet:
            try:
                rv = app(args=args, prog_name="kunsink", standalone_mode=False)
                code = rv if isinstance(rv, int) else 0
            except _both(click.exceptions.Exit, "Exit") as exc:
                code = int(getattr(exc, "exit_code", 0) or 0)
        if code == 0:
            quiet.show()
    except (Interrupted, KeyboardInterrupt) as exc:
        interrupted = True
        _ignore_signals()  # a second Ctrl-C must not break the cleanup
        _stop_workers()
        code = exc.exit_code if isinstance(exc, Interrupted) else 130
        kept = getattr(exc, "kept", None) or "nothing was written"  # a project run keeps its finished stages
        typer.echo(f"kunsink: error: interrupted ({'SIGTERM' if code == 143 else 'SIGINT'}); {kept}", err=True)
    except _both(click.exceptions.Abort, "Abort"):
        code = 130
        typer.echo("kunsink: error: aborted; nothing was written", err=True)
    except KunsinkError as exc:
        if debug:
            raise
        typer.echo(f"kunsink: error: {exc}", err=True)
        code = exc.exit_code
    except _usage_classes() as exc:  # bad option, missing argument, unknown command
        if debug:
            raise
        ctx = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError" and ctx is not None:
            typer.echo(ctx.get_help())  # `kunsink` or `kunsink mines` alone: the help, as asked
            code = 0
        else:
            typer.echo(f"kunsink: error: {_usage_message(exc)}", err=True)
            code = 2
    except Exception as exc:
        if debug:
            raise
        user = translate_error(exc)
        if user is not None:
            typer.echo(f"kunsink: error: {user}", err=True)
            code = user.exit_code
        else:  # a bug: still one line unless --debug
            text = str(exc).strip()
            line = _one_line(text.splitlines()[0]) if text else ""
            typer.echo(f"kunsink: internal error: {type(exc).__name__}: {line} "
                       "(rerun with --debug for the traceback)", err=True)
            code = 1
    finally:
        if code not in (0,) and not interrupted:
            _stop_workers()  # a failed run may leave dask tasks inside GDAL: let them finish before exit
        _restore_signal_handlers(old_handlers)
    if argv is None:
        if interrupted:
            # leave without the interpreter's teardown, which can crash while GDAL objects owned by
            # finished worker threads are released; every output is already complete or removed
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
        _ignore_signals()  # the work is done and said: a Ctrl-C now must not raise inside the interpreter's teardown
        sys.exit(code)
    return code
