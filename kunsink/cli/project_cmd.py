"""``kunsink init`` and ``kunsink run``: a project file, and every analysis it configures in one run."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

_FOLDER = typer.Argument(..., help="Project folder (made if needed); kunsink.yaml is written there.")
_PROJECT = typer.Argument(..., help="The project file (kunsink.yaml, or a run's kunsink.resolved.yaml).")
_OUT = typer.Option(None, "--out", help="Output folder (default: the file's output).")


def _summary_lines(run) -> list[str]:
    """One line per stage: what it found, where it wrote."""
    lines = []
    for name, st in run.stages.items():
        if st.status != "ok":
            why = st.notes[0] if st.notes else st.status
            lines.append(f"{name}: {st.status}" + (f" ({why.removeprefix('skipped: ')})" if st.status == "skipped" else ""))
            continue
        where = run.out_dir if name == "report" else run.out_dir / name
        text = f"{len(st.files)} files"
        if name == "report":
            text = ", ".join(f.name for f in st.files)
        if name == "carbon":
            s = st.results["carbon"].summary
            text = f"{s['total_mgc']:,.0f} Mg C in {s['year_base']}"
            if s.get("total_alt_mgc") is not None:
                text += f", {s['total_alt_mgc']:,.0f} in {s['year_alt']} (change {s['change_mgc']:+,.0f})"
        elif name == "greenspace":
            rules = st.results["coverage"].summary.get("rules", {})
            text = "; ".join(f"{rid} {x['line']['area_covered_pct']:.1f} % of residential land"
                             for rid, x in rules.items() if "line" in x) or text
            if "sites" in st.results:
                text += f"; {len(st.results['sites'].summary['sites'])} proposed parks"
        elif name == "mines":
            r = st.results["mines"].report
            text = f"{r.completed_km2:.4f} of {r.target_km2:g} km² completed ({r.progress_pct:.1f} %) as of {r.as_of}"
        elif name == "plots":
            s = st.results["model"].summary
            text = f"{s['n_plots']} plots, model {s['model']}" + (", change" if "change" in st.results else "")
        lines.append(f"{name}: {text} ({st.seconds:.1f} s) → {where}")
        if name == "report":
            lines += [f"note: {n}" for n in st.notes]
    return lines


def register(app: typer.Typer) -> None:
    @app.command("init")
    def init(
        folder: Path = _FOLDER,
        area: str | None = typer.Option(None, "--area", help="Study area: 昆都仑区, 150204, 包头市, a boundary file … "
                                                                "(default 昆都仑区)."),
        name: str | None = typer.Option(None, "--name", help="Project name (default: the folder's name)."),
        force: bool = typer.Option(False, "--force", help="Replace an existing kunsink.yaml, keeping it as "
                                                          "kunsink.yaml.bak."),
    ) -> None:
        """Write a commented project file (kunsink.yaml, Chinese and English) to fill in."""
        from ..io import command_line_path
        from ..project import write_template

        path = write_template(folder, area=area, name=name, force=force)
        typer.echo(f"wrote {path}")
        typer.echo(f"next: put your layers' paths in it, then: kunsink run {command_line_path(path)}")

    @app.command("run")
    def run(
        project: Path = _PROJECT,
        only: str | None = typer.Option(None, "--only", help="Run only these stages, e.g. carbon,greenspace "
                                                                "(carbon, greenspace, mines, plots)."),
        out: Path | None = _OUT,
        revise: bool = typer.Option(False, "--revise", help="Re-running into a folder with an earlier annual "
                                    "series: replace (or drop) land-cover years recorded there from other data; "
                                    "the series' revisions.csv keeps the history."),
    ) -> None:
        """Run every analysis the project file configures into one output folder.

        Adding a year is one step: add it under layers.landcover and run again into the same folder."""
        from ..project.runner import parse_only, run_project

        parse_only(only)  # a bad --only is refused before the file is read
        if sys.stderr.isatty():
            result = _run_with_display(project, only, out, revise)
        else:
            result = run_project(project, out=out, only=only, revise=revise)
        for note in result.manifest.get("notes", []):
            typer.echo(f"note: {note}", err=True)
        for line in _summary_lines(result):
            typer.echo(line)
        import shlex

        typer.echo(f"wrote {result.out_dir} (run.json, kunsink.resolved.yaml); repeat with: kunsink run "
                   f"{shlex.quote(str(result.out_dir / 'kunsink.resolved.yaml'))}")
        if any(st.results and _synthetic(st) for st in result.stages.values()):
            typer.echo("note: some inputs are SYNTHETIC demo data; the results are for trying the tool")


def _synthetic(stage) -> bool:
    for r in stage.results.values():
        s = getattr(r, "summary", None)
        if isinstance(s, dict) and s.get("data_source") == "synthetic":
            return True
    return False


def _run_with_display(project: Path, only: str | None, out: Path | None, revise: bool = False):
    """The run with a live display on stderr: stage, what it does, elapsed time."""
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from ..project.runner import run_project
    from ..project.schema import STAGES

    console = Console(stderr=True)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console,
                  transient=False) as bar:
        tasks: dict[str, int] = {}

        def finish(tid: int) -> None:
            bar.update(tid, total=1, completed=1)  # a finished task's elapsed time stands still

        def show(stage: str, message: str) -> None:
            k = STAGES.index(stage) + 1
            if stage not in tasks:
                for tid in tasks.values():
                    finish(tid)
                tasks[stage] = bar.add_task(f"[{k}/{len(STAGES)}] {stage}", total=None)
            bar.update(tasks[stage], description=f"[{k}/{len(STAGES)}] {stage}: {message}")

        try:
            return run_project(project, out=out, only=only, progress=show, revise=revise)
        finally:
            for tid in tasks.values():
                finish(tid)
