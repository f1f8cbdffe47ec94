"""Writing one report as HTML, Word and (when a browser is present) PDF beside each other."""

from __future__ import annotations

import os
from pathlib import Path

from .document import Document

__all__ = ["REPORT_FORMATS", "write_report"]

#: Formats :func:`write_report` knows; PDF needs a Chromium-family browser (:func:`kunsink.report.pdf.find_browser`).
REPORT_FORMATS = ("html", "docx", "pdf")


def write_report(doc: Document, out_dir: str | os.PathLike, *, formats: tuple[str, ...] = REPORT_FORMATS,
                 stem: str = "report", notes: list[str] | None = None) -> list[Path]:
    """Write ``doc`` as ``out_dir/report.html``, ``report.docx`` and ``report.pdf``.

    Each file is written under a temporary name and renamed when complete. PDF is skipped (with a
    line in ``notes``) when no browser is found. ``out_dir`` must exist (the caller's output folder).

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    from ..errors import ConfigError
    from ..io import atomic_path
    from .docx import render_docx
    from .html import render_html

    unknown = sorted(set(formats) - set(REPORT_FORMATS))
    if unknown:
        raise ConfigError(f"unknown report format(s) {', '.join(unknown)}; use {', '.join(REPORT_FORMATS)}")
    out = Path(out_dir)
    written: list[Path] = []
    html_path = out / f"{stem}.html"
    if "html" in formats or "pdf" in formats:
        with atomic_path(html_path) as tmp:
            tmp.write_text(render_html(doc), encoding="utf-8")
        if "html" in formats:
            written.append(html_path)
    if "docx" in formats:
        path = out / f"{stem}.docx"
        with atomic_path(path) as tmp:
            tmp.write_bytes(render_docx(doc))
        written.append(path)
    if "pdf" in formats:
        from .pdf import find_browser, print_pdf

        import os

        from ..errors import OutputError
        from .pdf import BROWSER_ENV

        browser = find_browser()
        if browser is not None:
            path = out / f"{stem}.pdf"
            try:
                with atomic_path(path) as tmp:
                    print_pdf(html_path, tmp, browser=browser)
                written.append(path)
            except OutputError as exc:  # the HTML and Word reports stand without it
                if notes is not None:
                    notes.append(f"report.pdf not written: {exc} (open report.html and print it)")
        elif notes is not None:
            given = os.environ.get(BROWSER_ENV)
            notes.append((f"{BROWSER_ENV}={given} does not exist" if given else "no Chromium, Chrome or Edge found")
                         + ": report.pdf not written (open report.html and print it, or set KUNSINK_BROWSER)")
    if "html" not in formats and html_path.exists():
        html_path.unlink()
    return written
