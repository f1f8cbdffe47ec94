"""The HTML report printed to PDF by a Chromium-family browser found on the machine.

Chromium (Linux), Google Chrome, or Microsoft Edge (present on every Windows 10/11) print the
self-contained page headless with its A4 print styles; no browser is ever downloaded. Without one,
:func:`find_browser` returns ``None`` and the report is written without a PDF (said in a note).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

__all__ = ["BROWSER_ENV", "find_browser", "print_pdf"]

#: Environment variable naming the browser executable to use (overrides the search).
BROWSER_ENV = "KUNSINK_BROWSER"

_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "microsoft-edge", "msedge")
_WINDOWS = (r"Microsoft\Edge\Application\msedge.exe", r"Google\Chrome\Application\chrome.exe")
_MAC = ("/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
        "/Applications/Microsoft Edge.app/Contents/MacOS/Microsoft Edge",
        "/Applications/Chromium.app/Contents/MacOS/Chromium")


def find_browser() -> Path | None:
    """A Chromium-family executable: ``$KUNSINK_BROWSER``, then the PATH, then the usual install places."""
    given = os.environ.get(BROWSER_ENV)
    if given:
        return Path(given) if Path(given).exists() else None
    for name in _NAMES:
        found = shutil.which(name)
        if found:
            return Path(found)
    if sys.platform == "win32":
        for root in (os.environ.get("PROGRAMFILES(X86)"), os.environ.get("PROGRAMFILES"),
                     os.environ.get("LOCALAPPDATA")):
            for rel in _WINDOWS:
                if root and (Path(root) / rel).exists():
                    return Path(root) / rel
    if sys.platform == "darwin":
        for p in _MAC:
            if Path(p).exists():
                return Path(p)
    return None


def _kill(proc: subprocess.Popen) -> None:
    """End the browser and every process of its group (POSIX); on Windows the process itself."""
    import signal

    try:
        if hasattr(os, "killpg"):
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except (OSError, ProcessLookupError):
        pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


def print_pdf(html_path: str | os.PathLike, pdf_path: str | os.PathLike, *, browser: Path | None = None,
              timeout_s: float = 120.0) -> bool:
    """Print ``html_path`` to ``pdf_path`` (A4, no browser header or footer); ``False`` if no browser.

    The browser runs with a throw-away profile and background networking off; the page itself makes no
    request. Raises :class:`kunsink.errors.OutputError` if the browser fails or produces no PDF.
    """
    from ..errors import OutputError

    exe = browser or find_browser()
    if exe is None:
        return False
    target = Path(pdf_path)
    with tempfile.TemporaryDirectory(prefix="kunsink-pdf-") as profile:
        tmp_pdf = Path(profile) / "report.pdf"
        args = [str(exe), "--headless", "--disable-gpu", "--no-first-run", "--disable-extensions",
                "--disable-background-networking", "--disable-sync", "--no-default-browser-check",
                f"--user-data-dir={profile}", "--no-pdf-header-footer", f"--print-to-pdf={tmp_pdf}",
                Path(html_path).resolve().as_uri()]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            args.insert(1, "--no-sandbox")  # Chromium refuses to run as root with its sandbox
        log = Path(profile) / "browser.log"
        try:
            with open(log, "wb") as err_file:  # a file, not a pipe: a lingering child cannot hold us up
                proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=err_file, stdin=subprocess.DEVNULL,
                                        start_new_session=hasattr(os, "setsid"))
                try:
                    code = proc.wait(timeout=timeout_s)
                except subprocess.TimeoutExpired:
                    _kill(proc)
                    raise OutputError(f"{exe.name} did not finish printing the report to PDF within "
                                      f"{timeout_s:.0f} s") from None
                except BaseException:
                    _kill(proc)
                    raise
                _kill(proc)  # and whatever it left behind in its group
        except OSError as exc:
            raise OutputError(f"{exe}: cannot start the browser to print the PDF ({exc.strerror or exc})") from None
        if not tmp_pdf.exists() or tmp_pdf.read_bytes()[:5] != b"%PDF-":
            err = log.read_text(encoding="utf-8", errors="replace").strip().splitlines() if log.exists() else []
            raise OutputError(f"{exe.name} printed no PDF (exit {code}{': ' + err[-1][:200] if err else ''})")
        shutil.copyfile(tmp_pdf, target)
    return True
