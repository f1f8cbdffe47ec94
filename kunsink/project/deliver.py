"""The last step of a project run: the deliverable from the stages' results in memory.

Into the run's output folder it puts ``report.html`` (self-contained, offline), ``report.docx``
(Word/WPS), ``report.pdf`` (when a Chromium-family browser is present), ``maps/`` (A4 theme maps as PNG
and PDF, and the report's charts) and ``tables.xlsx`` (every table of every stage, one sheet each). All
of it is made in a staging folder and moved into place only when complete.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path
from typing import Any, Callable

__all__ = ["DELIVERABLES", "write_deliverable", "parse_formats"]

#: What the deliverable adds to a run's output folder.
DELIVERABLES = ("report.html", "report.docx", "report.pdf", "maps", "monitoring", "tables.xlsx")


def parse_formats(text: str | None) -> tuple[str, ...]:
    """``"html,docx,pdf"`` → ``("html", "docx", "pdf")``; unknown formats refused (ConfigError)."""
    from ..errors import ConfigError
    from ..report import REPORT_FORMATS

    items = tuple(dict.fromkeys(x.strip().lower() for x in str(text or "").split(",") if x.strip()))
    bad = [x for x in items if x not in REPORT_FORMATS]
    if bad:
        raise ConfigError(f"report.formats: unknown format {', '.join(bad)}; use {', '.join(REPORT_FORMATS)}")
    return items


def _date(text: Any, today: dt.date | None) -> dt.date:
    from ..errors import ConfigError

    if not text:
        return today or dt.date.today()
    if isinstance(text, dt.date):
        return text
    try:
        return dt.date.fromisoformat(str(text))
    except ValueError:
        raise ConfigError(f"report.date: {text!r} is not a date (YYYY-MM-DD)") from None


def write_deliverable(run: Any, out_dir: Path, *, say: Callable[[str], None] | None = None,
                      today: dt.date | None = None) -> tuple[list[Path], list[str]]:
    """Write the report, maps and workbook of ``run`` into ``out_dir``; return the files and notes.

    Parameters
    ----------
    run : kunsink.project.runner.ProjectRun
        The run so far (its stages' results in memory).
    out_dir : Path
        The run's output folder (already checked by the output guard).
    """
    from ..io import drop_staging, new_staging
    from ..report import build_report, write_report
    from ..report.assemble import draw_figures, monitoring_tables, report_inputs
    from ..tables import write_workbook

    say = say or (lambda _m: None)
    opts = (run.settings or {}).get("report") or {}
    formats = parse_formats(opts.get("formats", "html,docx,pdf"))
    made_on = _date(opts.get("date"), today)
    organisation = str(opts.get("organisation") or "kunsink")
    notes: list[str] = []
    stage = new_staging(out_dir / "report", "stage-report")
    try:
        stage.mkdir(parents=True, exist_ok=True)
        say("monitoring indicators against the targets")
        series, evaluation = monitoring_tables(run, made_on)
        if series is not None:
            from ..tables import write_csv, write_json

            (stage / "monitoring").mkdir()
            source = "synthetic" if any(
                isinstance(getattr(r, "summary", None), dict) and r.summary.get("data_source") == "synthetic"
                for st in run.stages.values() for r in st.results.values()) else "user data"
            write_csv(series.reset_index().assign(source=source), stage / "monitoring" / "series.csv", atomic=False)
            write_csv(evaluation.assign(source_data=source), stage / "monitoring" / "targets.csv", atomic=False)
            write_json({"series": series.reset_index().to_dict("records"),
                        "targets": evaluation.to_dict("records"), "data_source": source},
                       stage / "monitoring" / "series.json", atomic=False)
        figures: dict[str, Any] = {}
        if opts.get("maps", True):
            say("drawing the maps and charts")
            figures, _files = draw_figures(run, stage / "maps", date=made_on, organisation=organisation,
                                           monitoring=(series, evaluation))
        say("writing the report")
        inputs = report_inputs(run, figures=figures, made_on=made_on, made_by=organisation,
                               monitoring=(series, evaluation))
        write_report(build_report(inputs), stage, formats=formats, notes=notes)
        from ..guard import OUTPUT_MARKER, written_list

        for sub in ("maps", "monitoring"):  # their own list, so a user's file put there later is noticed
            folder = stage / sub
            if folder.is_dir():
                names = [p.name for p in folder.iterdir()]
                (folder / OUTPUT_MARKER).write_text(written_list(names, folder), encoding="utf-8")
        moved: list[Path] = []
        for name in DELIVERABLES:
            src = stage / name
            if not src.exists():
                continue
            dst = out_dir / name
            if dst.is_dir():
                shutil.rmtree(dst)
            os.replace(src, dst)
            moved.append(dst)
        # every table of every stage and of the monitoring, one sheet each
        tables = [p for p in out_dir.rglob("*.csv")
                  if not any(part.startswith(".") for part in p.relative_to(out_dir).parts)]
        if tables:
            say("collecting the tables into tables.xlsx")
            title = f"kunsink 数据表 tables: {out_dir.name}"
            moved.append(write_workbook(out_dir, out_dir / "tables.xlsx", title=title))
        return moved, notes
    finally:
        drop_staging(stage)
