"""The ``kunsink`` script's first step: Ctrl-C / SIGTERM handled before anything heavy is imported.

Until the command line is running (:func:`kunsink.cli.main` installs its own handlers), an
interrupt ends the process at once with one line and exit 130 / 143 — nothing has been written
yet, and no traceback from inside an import is shown.
"""

from __future__ import annotations

import os
import signal
import sys


def _early(signum: int, frame: object) -> None:
    name = "SIGTERM" if signum == signal.SIGTERM else "SIGINT"
    try:
        sys.stderr.write(f"kunsink: error: interrupted ({name}); nothing was written\n")
        sys.stderr.flush()
    finally:
        os._exit(128 + signum)


def main() -> None:
    """Entry point of the ``kunsink`` script."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _early)
    from .cli import main as cli_main

    try:
        cli_main()
    except BaseException as exc:  # noqa: BLE001 - an interrupt in the instants around the command's own handling
        from .errors import Interrupted

        if not isinstance(exc, (KeyboardInterrupt, Interrupted)):
            raise
        signum = getattr(exc, "signum", signal.SIGINT)
        try:
            sys.stderr.write(f"kunsink: error: interrupted ({'SIGTERM' if signum == signal.SIGTERM else 'SIGINT'})\n")
            sys.stderr.flush()
        finally:
            os._exit(128 + int(signum))


if __name__ == "__main__":  # pragma: no cover
    main()
