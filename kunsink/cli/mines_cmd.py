"""``kunsink mines``: the mine-rehabilitation registry (sites, status events, surveys) and its reports."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import List, Optional

import typer

from .options import with_area

from ..errors import ConfigError, InputError, OutputError

app = typer.Typer(
    help="Mine-rehabilitation registry: sites, status events and surveys in one GeoPackage; progress against "
         "the target, vegetation recovery, carbon gained, maps.",
    no_args_is_help=True,
)

_REG = typer.Argument(..., help="The registry GeoPackage (.gpkg).")
_WAIT = typer.Option(10.0, "--wait", help="Seconds to wait for another process writing the registry.")


def _say(msg: str) -> None:
    typer.echo(f"note: {msg}", err=True)


def _json(obj) -> None:
    """Print ``obj`` as strict JSON (NaN → null), the one JSON writer (:func:`kunsink.tables.dumps_json`)."""
    from ..tables import dumps_json

    typer.echo(dumps_json(obj))


def _text(value) -> str:
    """A value for a console line: blank for a missing one (None, NaN), never ``nan``."""
    import pandas as pd

    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return str(value)


def _period(text: Optional[str]):
    if text is None:
        return None
    from ..mines.progress import parse_period

    try:
        return parse_period(text)
    except ValueError as exc:
        raise ConfigError(f"--period: {exc}") from None


def _as_of(text: Optional[str]) -> Optional[dt.date]:
    if text is None:
        return None
    from ..mines.model import parse_date

    try:
        return parse_date(text)
    except ValueError as exc:
        raise ConfigError(f"--as-of: {exc}") from None


def _wait(wait: float) -> float:
    from ..checks import check_number

    return check_number(wait, "--wait", lo=0, hi=86400)


def _load(registry: Path, as_of: Optional[dt.date] = None, wait: float = 10.0):
    """Read the registry (migrating an older schema, with a note), then verify it: a failure is a warning."""
    from ..mines.registry import connect, load_registry

    wait = _wait(wait)
    connect(registry, wait_s=wait, on_migrate=_say).close()  # report a migration, if any, before reading
    data = load_registry(registry, as_of=as_of, wait_s=wait)
    _warn_unverified(registry, wait)
    from ..mines.registry import within_area

    data, note = within_area(data)  # a city registry reported for one district (--area)
    if note:
        _say(note)
    return data


def _warn_unverified(registry: Path, wait: float) -> None:
    """One warning line on stderr if the registry fails verification; the command still reports."""
    from ..mines.registry import verify_registry

    rep = verify_registry(registry, wait_s=wait)
    if rep.problems:
        more = f" (and {len(rep.problems) - 1} more)" if len(rep.problems) > 1 else ""
        typer.echo(f"warning: registry failed verification: {rep.problems[0]}{more} (run kunsink mines verify "
                   f"{registry})", err=True)


def _guard(registry: Path, out: Optional[Path], suffixes: tuple[str, ...], *others) -> None:
    """Refuse, before any work, an ``--out`` that is an input (the registry above all) or has the wrong suffix."""
    from ..guard import check_outputs

    check_outputs(inputs=[registry, *others], files={"--out": (out, suffixes)})


def _report(data, target_km2: Optional[float], period: Optional[str], as_of: Optional[dt.date]):
    from ..mines.progress import progress_report

    if target_km2 is not None:
        from ..checks import check_number

        target_km2 = check_number(target_km2, "--target-km2", lo=0, lo_open=True)
    return progress_report(data.sites, data.state.events, target_km2=target_km2 or data.info["target_km2"],
                           period=_period(period) or data.info["period"], as_of=as_of)


def _gain(data, densities: Optional[Path], class_map: Optional[List[str]], mc: int, seed: int):
    from ..carbon.densities import read_density_table
    from ..mines.carbon_gain import carbon_gain, parse_class_rules

    table = read_density_table(densities) if densities is not None else None
    return carbon_gain(data.sites, table=table, rules=parse_class_rules(class_map), iterations=mc, seed=seed)


@app.command("init")
def init(
    registry: Path = _REG,
    crs: Optional[str] = typer.Option(None, "--crs", help="Projected CRS for outlines and areas (default EPSG:4546)."),
    target_km2: float = typer.Option(0.2, "--target-km2", help="Area to treat and restore, km² (default 0.2)."),
    period: str = typer.Option("2023-2025", "--period", help="Years of the programme, e.g. 2023-2025."),
) -> None:
    """Create an empty registry; an existing file is never touched."""
    from ..checks import check_number
    from ..mines.registry import init_registry, registry_info

    target_km2 = check_number(target_km2, "--target-km2", lo=0, lo_open=True)
    path = init_registry(registry, crs=crs, target_km2=target_km2, period=_period(period))
    info = registry_info(path)
    typer.echo(f"created {path} (schema {info['schema_version']}, {info['crs']}, target {info['target_km2']:g} km² "
               f"in {info['period'][0]}–{info['period'][1]})")


@app.command("import")
@with_area
def import_(
    registry: Path = _REG,
    file: Path = typer.Argument(..., help="Sites (polygons), status updates or surveys: .gpkg, .shp, .zip, .geojson, "
                                          ".fgb or .csv."),
    kind: Optional[str] = typer.Option(None, "--kind", help="sites, status or surveys (default: from the columns)."),
    layer: Optional[str] = typer.Option(None, "--layer", help="Layer of a multi-layer GeoPackage."),
    encoding: Optional[str] = typer.Option(None, "--encoding", help="Attribute encoding of a Shapefile or CSV (e.g. gbk)."),
    assume_crs: Optional[str] = typer.Option(None, "--assume-crs", help="CRS for a file that has none, e.g. EPSG:4326."),
    by: Optional[str] = typer.Option(None, "--by", help="Who records this import (default: your user name)."),
    revise: bool = typer.Option(False, "--revise", help="Record differences from recorded rows as revisions "
                                                        "(default: refuse them)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Validate and report only; write nothing."),
    wait: float = _WAIT,
) -> None:
    """Import a file as a whole: every problem is listed and nothing is written, or every new row is appended."""
    from ..mines.errors import ImportRefused
    from ..mines.registry import import_file

    try:
        result = import_file(registry, file, kind=None if (kind or "auto") == "auto" else kind, layer=layer,
                             encoding=encoding, assume_crs=assume_crs, recorded_by=by, revise=revise,
                             dry_run=dry_run, wait_s=_wait(wait))
    except ImportRefused as exc:
        for problem in exc.problems:
            typer.echo(f"  problem: {problem}", err=True)
        raise
    for msg in result.messages:
        _say(msg)
    for w in result.plan.warnings:
        typer.echo(f"  warning: {w}")
    typer.echo(result.summary())


@app.command("status")
@with_area
def status(
    registry: Path = _REG,
    target_km2: Optional[float] = typer.Option(None, "--target-km2", help="Target area, km² (default: the registry's, 0.2)."),
    period: Optional[str] = typer.Option(None, "--period", help="Programme years, e.g. 2023-2025 (default: the registry's)."),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="State on this date, YYYY-MM-DD (default today)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (completed_km2, accepted_km2, target_km2, progress_pct …)."),
    wait: float = _WAIT,
) -> None:
    """Completed and accepted area against the target, by year and status; sites behind schedule."""
    when = _as_of(as_of)
    data = _load(registry, None, wait)
    rep = _report(data, target_km2, period, when)
    if as_json:
        _json(rep.to_dict())
    else:
        typer.echo(rep.to_text())


@app.command("recovery")
@with_area
def recovery(
    registry: Path = _REG,
    ndvi: List[str] = typer.Option(..., "--ndvi", help="NDVI raster of a year: YEAR=FILE.tif (repeat, ≥ 2 years for a trend)."),
    min_gain: float = typer.Option(0.03, "--min-gain", help="Smallest NDVI rise that counts as recovering."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write the table to this CSV."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    wait: float = _WAIT,
) -> None:
    """Mean NDVI per site per year, trend, and sites whose vegetation is not coming back."""
    import pandas as pd

    from ..checks import check_number
    from ..mines.model import clean_text
    from ..mines.recovery import parse_ndvi_specs, recovery_table, site_ndvi
    from ..tables import write_csv

    rasters = parse_ndvi_specs(ndvi)
    min_gain = check_number(min_gain, "--min-gain", lo=-2, hi=2)  # an NDVI change lies in −2…2
    _guard(registry, out, (".csv",), *rasters.values())
    data = _load(registry, None, wait)
    if len(data.sites) == 0:
        raise InputError(f"{registry.name} holds no sites yet; import some first (kunsink mines import)")
    table = recovery_table(data.sites, site_ndvi(data.sites, rasters), data.surveys, min_gain=min_gain)
    if out is not None:
        write_csv(table, out)
    if as_json:
        _json({"years": sorted(rasters), "min_gain": min_gain, "sites": table.to_dict(orient="records"),
               "data_source": "synthetic" if data.synthetic else None})
        return
    years = sorted(rasters)
    typer.echo(f"NDVI per site, {years[0]}–{years[-1]} ({len(table)} sites; flag 'not recovering' below "
               f"+{min_gain:g}):")
    cols = ["site_id", "status"] + [f"ndvi_{y}" for y in years] + ["ndvi_change", "trend_per_year", "flag"]
    with pd.option_context("display.max_rows", None, "display.width", 200, "display.float_format", "{:.3f}".format):
        typer.echo(table[cols].to_string(index=False))
    counts = table["flag"].value_counts()
    typer.echo("  " + ", ".join(f"{k}: {v}" for k, v in counts.items()))
    for r in table[table["flag"].isin(["not recovering", "cover falling"])].itertuples():
        typer.echo(f"  ⚠ {r.site_id} {clean_text(r.name) or ''}: {r.flag} — {r.reason}")
    if data.synthetic:
        typer.echo("note: the registry holds SYNTHETIC demo data, not real survey data")
    if out is not None:
        typer.echo(f"wrote {out}")


@app.command("carbon")
@with_area
def carbon(
    registry: Path = _REG,
    densities: Optional[Path] = typer.Option(None, "--densities", help="Density CSV (InVEST columns, Mg C/ha, with _low/_high)."),
    class_map: Optional[List[str]] = typer.Option(None, "--class-map", help="Treatment text → restored class, e.g. 植树=2 (repeatable)."),
    mc: int = typer.Option(1000, "--mc", help="Monte Carlo iterations (≥ 100)."),
    seed: int = typer.Option(0, "--seed", min=0, help="Random seed."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write the per-site table to this CSV."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    wait: float = _WAIT,
) -> None:
    """Carbon gained per site and in total (spoil → restored class), with its 95 % range; district accounting."""
    from ..tables import write_csv

    _guard(registry, out, (".csv",), densities)
    data = _load(registry, None, wait)
    gain = _gain(data, densities, class_map, mc, seed)
    if out is not None:
        write_csv(gain.sites, out)
    if as_json:
        _json(gain.to_dict())
        return
    typer.echo(gain.to_text())
    if out is not None:
        typer.echo(f"wrote {out}")


@app.command("map")
@with_area
def map_(
    registry: Path = _REG,
    out: Path = typer.Option(..., "--out", help="HTML file to write (opens offline)."),
    ndvi: Optional[List[str]] = typer.Option(None, "--ndvi", help="NDVI raster YEAR=FILE.tif for trends and flags (repeatable)."),
    target_km2: Optional[float] = typer.Option(None, "--target-km2", help="Target area, km² (default: the registry's)."),
    period: Optional[str] = typer.Option(None, "--period", help="Programme years (default: the registry's)."),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="State on this date (default today)."),
    densities: Optional[Path] = typer.Option(None, "--densities", help="Density CSV for the carbon gain."),
    class_map: Optional[List[str]] = typer.Option(None, "--class-map", help="Treatment text → restored class (repeatable)."),
    mc: int = typer.Option(1000, "--mc", help="Monte Carlo iterations for carbon ranges."),
    basemap: Optional[List[str]] = typer.Option(None, "--basemap", help="Optional online basemap: osm, esri-imagery, tianditu …"),
    wait: float = _WAIT,
) -> None:
    """Sites coloured by status; popups with area, dates, surveys and an NDVI chart; target progress in the legend."""
    from ..maps import save_map
    from ..maps.mines import mines_map
    from ..mines.recovery import parse_ndvi_specs, recovery_table, site_ndvi

    when = _as_of(as_of)
    rasters = parse_ndvi_specs(ndvi) if ndvi else None
    _guard(registry, out, (".html", ".htm"), densities, *(rasters or {}).values())
    data = _load(registry, when, wait)
    rep = _report(data, target_km2, period, when)
    gain = _gain(data, densities, class_map, mc, 0)
    nd = rec = None
    if rasters:
        nd = site_ndvi(data.sites, rasters)
        rec = recovery_table(data.sites, nd, data.surveys)
    m = mines_map(data, report=rep, gain=gain, recovery=rec, ndvi=nd, basemap=basemap or None)
    path = save_map(m, out)
    typer.echo(f"wrote {path}: {len(data.sites)} sites, {rep.completed_km2:.4f} of {rep.target_km2:g} km² completed "
               f"({rep.progress_pct:.1f} %)" + ("; SYNTHETIC demo data" if data.synthetic else ""))


@app.command("export")
@with_area
def export(
    registry: Path = _REG,
    out: Path = typer.Option(..., "--out", help="Output file: .gpkg (with history tables), .xlsx (sites and history "
                                                "sheets, for Excel/WPS), .shp, .geojson, .fgb or .csv."),
    encoding: Optional[str] = typer.Option(None, "--encoding", help="Attribute encoding of a Shapefile/CSV (e.g. gbk for old ArcGIS)."),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="State on this date (default: everything recorded)."),
    wait: float = _WAIT,
) -> None:
    """Export the current sites (status, dates, latest survey, carbon gained) for QGIS, ArcGIS or Excel."""
    from ..mines.export import EXPORT_SUFFIXES, check_encoding, export_registry

    if out.suffix.lower() in (".xls", ".xlsm", ".ods"):
        raise OutputError(f"--out {out}: {out.suffix} is not written here; give {out.with_suffix('.xlsx').name} "
                          "(opens in Excel, WPS and LibreOffice)")
    when = _as_of(as_of)
    check_encoding(encoding)
    _guard(registry, out, EXPORT_SUFFIXES)
    data = _load(registry, when, wait)
    rep = _report(data, None, None, when)
    gain = _gain(data, None, None, 1000, 0) if len(data.sites) else None
    path = export_registry(data, out, report=rep, gain=gain, encoding=encoding)
    typer.echo(f"wrote {path}: {len(data.sites)} site(s)" + ("; SYNTHETIC demo data" if data.synthetic else ""))


@app.command("verify")
def verify(
    registry: Path = _REG,
    wait: float = _WAIT,
) -> None:
    """Recompute the registry's hash chain: rows, settings or triggers changed outside kunsink are named."""
    from ..mines.errors import IntegrityError
    from ..mines.registry import verify_registry

    rep = verify_registry(registry, wait_s=_wait(wait))
    for note in rep.notes:
        _say(note)
    if rep.problems:
        for problem in rep.problems:
            typer.echo(f"  problem: {problem}", err=True)
        n = len(rep.problems)
        raise IntegrityError(f"{registry} failed verification: {n} problem{'s' if n != 1 else ''}, the first: "
                             f"{rep.problems[0]}", rep.problems)
    typer.echo(f"registry intact: {rep.rows} rows verified")
    typer.echo(f"  settings, append-only triggers and the mine_sites view as kunsink wrote them; chain head "
               f"{rep.head} (keep it: a rewritten history gives another)")


@app.command("history")
def history(
    registry: Path = _REG,
    site: str = typer.Argument(..., help="Site id, e.g. KM-01."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    wait: float = _WAIT,
) -> None:
    """Everything recorded about one site, oldest first, with who recorded it and when."""
    from ..mines.model import clean_text
    from ..mines.registry import site_history

    data = _load(registry, None, wait)
    table = site_history(data, site)
    if as_json:
        _json(table.to_dict(orient="records"))
        return
    s = data.sites.set_index("site_id").loc[site.strip()]
    area = f"{s['area_m2']:,.1f} m²" if _text(s["area_m2"]) else "area not recorded"
    typer.echo(f"{site.strip()} {clean_text(s['name']) or ''} — {area}, "
               f"status: {clean_text(s['status']) or 'none recorded'}")
    for r in table.itertuples():
        mark = "" if r.in_force else "  (superseded)"
        typer.echo(f"  {_text(r.date):10}  {_text(r.what):<15} {_text(r.detail)}{mark}".rstrip())
        source = f", {r.file_name}" if _text(r.file_name) else ""
        by = f" by {_text(r.recorded_by)}" if _text(r.recorded_by) else ""
        typer.echo(f"  {'':10}  {'':15} recorded {_text(r.recorded_at)}{by} (import {_text(r.import_id)}{source})")
