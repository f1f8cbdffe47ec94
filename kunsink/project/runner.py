"""``kunsink run``: every analysis a project file configures, into one output folder.

Stages run in order — carbon, greenspace (coverage, indicators, siting), mines, plots — each through
the same public functions the single commands call (:func:`kunsink.carbon.run.run_carbon`,
:func:`kunsink.greenspace.run.run_coverage` …). A stage is built in a private staging folder inside
the output folder and renamed to ``OUT/<stage>`` only when all its parts are complete, so a stage is
either whole or absent. A stage that fails stops the run (:class:`StageFailed`, one line); the
stages before it stay complete and ``run.json`` says what happened.

The output folder
-----------------
``kunsink.resolved.yaml``
    the settings as run (absolute paths, defaults filled, input checksums, versions): ``kunsink run``
    on it repeats the run into the same folder.
``run.json``
    the manifest: per stage its status (``ok``, ``failed``, ``skipped``, ``not run``), seconds,
    files and notes; inputs with checksums; versions; start and end.
``carbon/``, ``greenspace/{coverage,indicators,sites}/``, ``mines/``, ``plots/{model,change}/``
    each stage's outputs, as the single commands write them.

The folder is checked first (:func:`kunsink.guard.check_outputs`): it may not be or hold an input,
and an existing one is replaced only if it holds nothing but what kunsink wrote there. It always
holds one run: an earlier run's outputs (of every stage, also those not run now) are removed when a
new run starts, so ``run.json`` and the folder never disagree. The default folder of a project file
shipped inside kunsink (the demo's) is made in the current folder, never in the installation.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import os
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import ConfigError, Interrupted, KunsinkError, OutputError, translate_error
from .load import Project, ProjectFileError, load_project
from .resolve import (
    RESOLVED_FILE,
    input_checksums,
    input_paths,
    resolve_settings,
    resolved_text,
    versions,
)
from .schema import STAGES

__all__ = ["MANIFEST_FILE", "MinesRun", "ProjectRun", "StageFailed", "StageResult", "parse_only", "run_project"]

#: The manifest's name in the output folder.
MANIFEST_FILE = "run.json"

#: ``progress(stage, message)`` is called as a run goes; ``stage`` is one of :data:`STAGES`.
Progress = Callable[[str, str], None]


@dataclass
class StageResult:
    """One stage of a run.

    Attributes
    ----------
    name : str
        ``carbon``, ``greenspace``, ``mines`` or ``plots``.
    status : str
        ``ok``, ``failed``, ``skipped`` (not configured, or left out by ``only``) or ``not run``
        (an earlier stage failed).
    results : dict
        The objects the analyses returned, by part: ``{"carbon": CarbonResult}``;
        ``{"coverage": GreenspaceRun, "indicators": GreenspaceRun, "sites": GreenspaceRun}``;
        ``{"mines": MinesRun}``; ``{"model": ModelResult, "change": ChangeResult}``.
    files : list of Path
        Files written (in their final place under the output folder).
    seconds : float
        Wall time of the stage.
    notes : list of str
        What the stage decided or met (e.g. why it was skipped).
    error : str or None
        The one-line error of a failed stage.
    """

    name: str
    status: str
    results: dict[str, Any] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    error: str | None = None

    def to_dict(self, out_dir: Path) -> dict[str, Any]:
        def rel(p: Path) -> str:
            try:
                return Path(p).relative_to(out_dir).as_posix()
            except ValueError:
                return str(p)

        return {"status": self.status, "seconds": round(self.seconds, 3), "parts": sorted(self.results),
                "files": [rel(f) for f in self.files], "notes": list(self.notes), "error": self.error}


@dataclass
class MinesRun:
    """What the mines stage produced (there is no single ``run_*`` for mines).

    ``data`` is the registry read into memory (:class:`kunsink.mines.RegistryData`), ``report`` the
    progress against the target (:class:`kunsink.mines.ProgressReport`), ``ndvi`` / ``recovery`` the
    NDVI per site and the recovery table (None with fewer than two NDVI years), ``gain`` the carbon
    gained (:class:`kunsink.mines.carbon_gain.CarbonGain`, None without sites).
    """

    registry: Path
    data: Any
    report: Any
    ndvi: pd.DataFrame | None
    recovery: pd.DataFrame | None
    gain: Any
    summary: dict[str, Any]
    files: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class ProjectRun:
    """A project's run, in memory: what a report builder takes.

    Attributes
    ----------
    project : Project
        The validated project file.
    out_dir : Path
        The output folder.
    settings : dict
        The resolved settings (as in ``kunsink.resolved.yaml``, without the ``resolved`` record).
    stages : dict of str → StageResult
        Every stage, in order, with its result objects.
    manifest : dict
        The content of ``run.json``.
    """

    project: Project
    out_dir: Path
    settings: dict[str, Any]
    stages: dict[str, StageResult]
    manifest: dict[str, Any]

    @property
    def ok(self) -> bool:
        """True if no stage failed."""
        return all(s.status != "failed" for s in self.stages.values())

    def result(self, stage: str, part: str | None = None) -> Any:
        """The result object of ``stage`` (its only part, or ``part``); None if it did not run."""
        st = self.stages.get(stage)
        if st is None or not st.results:
            return None
        if part is None:
            return st.results.get(stage, next(iter(st.results.values())))
        return st.results.get(part)


class StageFailed(KunsinkError):
    """A stage failed; the earlier stages' outputs are complete. ``run`` is the :class:`ProjectRun` so far."""

    def __init__(self, message: str, run: ProjectRun, exit_code: int = 2) -> None:
        super().__init__(message)
        self.run = run
        self.exit_code = exit_code


def parse_only(only: str | Iterable[str] | None) -> list[str] | None:
    """``"carbon,greenspace"`` → ``["carbon", "greenspace"]``; unknown names are refused."""
    if only is None:
        return None
    items = [x.strip().lower() for part in ([only] if isinstance(only, str) else only) for x in str(part).split(",")]
    items = [x for x in items if x]
    bad = [x for x in items if x not in STAGES]
    if bad:
        import difflib

        hints = [f"{b!r}" + (f" (did you mean {m[0]!r}?)" if (m := difflib.get_close_matches(b, STAGES, 1)) else "")
                 for b in bad]
        raise ConfigError(f"--only: unknown stage {', '.join(hints)}; stages are {', '.join(STAGES)}")
    if not items:
        raise ConfigError(f"--only is empty; give one or more of {', '.join(STAGES)}")
    return items


# --------------------------------------------------------------------------------------------
# the output folder
# --------------------------------------------------------------------------------------------

def _write_marker(out_dir: Path, names: Iterable[str]) -> None:
    from ..guard import OUTPUT_MARKER, written_list
    from ..io import atomic_path

    with atomic_path(out_dir / OUTPUT_MARKER) as tmp:
        tmp.write_text(written_list(names, out_dir), encoding="utf-8")


def _refuse_partial_over_fuller(out_dir: Path, wanted: Iterable[str]) -> None:
    """Refuse ``--only`` into a folder whose earlier run holds other stages: the folder is replaced as a whole,
    so their outputs would go."""
    import json

    try:
        earlier = json.loads((out_dir / MANIFEST_FILE).read_text(encoding="utf-8"))
        done = [k for k, v in (earlier.get("stages") or {}).items() if (v or {}).get("status") == "ok"]
    except (OSError, ValueError, AttributeError):
        return
    lost = [k for k in done if k not in set(wanted) and k != "report"]
    if lost:
        raise OutputError(f"output {out_dir} holds an earlier run with {', '.join(lost)}, which --only "
                          f"{','.join(wanted)} would drop (the folder is replaced as a whole); give a new --out, "
                          "or run every stage again")


def _prepare_out(out_dir: Path, inputs: list[Path]) -> Path | None:
    """Check the folder; move an earlier run's folder aside (only kunsink's entries are there: checked) and
    return where it went, for :func:`_replacing` to delete or bring back."""
    from ..guard import check_outputs
    from ..io import reclaim_stale, staging_name

    check_outputs(inputs=[str(p) for p in inputs], dirs={"output": out_dir})
    old = None
    if out_dir.parent.is_dir():
        reclaim_stale(out_dir.parent)  # an earlier run's leftovers whose owner is gone
    if out_dir.exists() and any(out_dir.iterdir()):
        old = out_dir.parent / staging_name(f"old-{out_dir.name}")
        os.replace(out_dir, old)
        try:
            out_dir.mkdir()
        except OSError:
            os.replace(old, out_dir)
            raise
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot make the output folder {out_dir}: {exc.strerror or exc}") from None
    return old


@contextlib.contextmanager
def _replacing(out_dir: Path, inputs: list[Path]):
    """The output folder for one run: the earlier run is deleted when this one ends complete, and put back if
    this one fails, is interrupted or crashes (a failing stage's earlier stages are kept only where there was
    no earlier run to put back)."""
    old = _prepare_out(out_dir, inputs)
    try:
        yield
    except StageFailed as exc:
        if old is not None:
            shutil.rmtree(out_dir, ignore_errors=True)
            if not out_dir.exists():
                os.replace(old, out_dir)
                old = None
                why = str(exc).split("; complete: ")[0].split("; nothing else was written")[0]
                raise StageFailed(f"{why}; the earlier run in {out_dir} is kept as it was", exc.run,
                                  exc.exit_code) from exc
        raise
    except BaseException as exc:
        if old is not None:
            shutil.rmtree(out_dir, ignore_errors=True)
            if not out_dir.exists():
                os.replace(old, out_dir)
                old = None
                if isinstance(exc, Interrupted):
                    exc.kept = f"the earlier run in {out_dir} is kept as it was"
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def _remap(obj: Any, old: Path, new: Path) -> None:
    """Point a result's ``files`` at the stage's final folder."""
    files = getattr(obj, "files", None)
    if isinstance(files, list):
        for i, f in enumerate(files):
            try:
                files[i] = new / Path(f).relative_to(old)
            except (TypeError, ValueError):
                pass


# --------------------------------------------------------------------------------------------
# stages
# --------------------------------------------------------------------------------------------

#: Files whose attribute text has an encoding of its own (a GeoPackage or GeoJSON is always UTF-8).
_ENCODED = (".shp", ".zip", ".dbf", ".csv", ".txt")


def _encoding_for(item: dict[str, Any], default: str | None) -> str | None:
    """The encoding to read one layer with: its own, else the project's; only for Shapefiles and CSVs."""
    enc = item.get("encoding") or default
    return enc if enc and Path(item["path"]).suffix.lower() in _ENCODED else None


def _layer_args(s: dict[str, Any], roles: Iterable[str]) -> tuple[dict[str, Any], dict[str, str]]:
    """Sources by role and layer names by role for a ``run_*`` call.

    A layer read with an encoding (a GBK Shapefile) is read here, so that each layer gets its own
    encoding (the ``run_*`` functions take one for all); the others are passed as paths.
    """
    from ..io import read_vector

    lay = s["layers"]
    paths: dict[str, Any] = {}
    names: dict[str, str] = {}
    for role in roles:
        v = lay.get(role)
        if v is None:
            paths[role] = None
            continue
        enc = _encoding_for(v, s["encoding"])
        if enc is not None:
            paths[role] = read_vector(v["path"], layer=v.get("layer"), encoding=enc)
            continue
        paths[role] = v["path"]
        if v.get("layer"):
            names[role] = v["layer"]
    return paths, names


def _zones_path(s: dict[str, Any], work: Path) -> str | None:
    z = s["layers"]["zones"]
    if z is None:
        return None
    enc = _encoding_for(z, s["encoding"])
    if z.get("layer") is None and enc is None:
        return z["path"]
    from ..io import read_vector, write_vector

    gdf = read_vector(z["path"], layer=z.get("layer"), encoding=enc)
    return str(write_vector(gdf, work / "zones.gpkg", layer="zones"))


def _check_grids(landcovers: dict[int, str]) -> None:
    """Refuse land covers of one project on different grids, from their headers, before anything is written."""
    import rasterio
    from rasterio.errors import RasterioIOError

    first = None
    for year, path in sorted(landcovers.items()):
        if Path(path).suffix.lower() not in (".tif", ".tiff", ".vrt"):
            continue  # polygons (三调) are rasterised by the stage
        try:
            with rasterio.open(path) as ds:
                grid = (ds.crs, ds.transform, ds.width, ds.height)
        except (RasterioIOError, OSError):
            continue  # unreadable: the stage says so with the file's name
        if first is None:
            first = (year, Path(path).name, grid)
        elif grid != first[2]:
            raise ConfigError(f"land cover {year} ({Path(path).name}) is on a different grid from {first[0]} "
                              f"({first[1]}): CRS, extent and pixel size must match; align them first")


def _series_history(s: dict[str, Any], out_dir: Path, revise: bool,
                    series_this_time: bool = True) -> list[dict[str, Any]] | None:
    """The revision history for this run's annual series, checked against an earlier run's in ``out_dir``.

    ``None`` where there is no series this time or no earlier one. A year recorded earlier from other
    data, changed since, or left out of the project is refused unless ``revise``; nothing is written.
    """
    import json

    from ..carbon.series import plan_append

    years = s["layers"]["landcover"]
    earlier = out_dir / "carbon" / "series"
    if not (earlier / "series.json").is_file():
        return None
    if not series_this_time:
        if revise:
            return None
        why = ("carbon is not run this time (--only, or carbon.run: false)" if len(years) >= 3
               else f"the project now gives {len(years)} land-cover year(s), too few for a series")
        raise ConfigError(f"{out_dir} holds an annual carbon series and its revision history; {why}, so this run "
                          "would replace it without one — give kunsink run --revise to replace it anyway, or "
                          "another --out")
    try:
        record = json.loads((earlier / "series.json").read_text(encoding="utf-8"))["summary"]
        readable = isinstance(record["landcover"], dict) and isinstance(record["inputs_sha256"], dict)
    except (OSError, ValueError, KeyError, TypeError):
        readable = False
    if not readable:
        if revise:
            return None  # a new history
        raise ConfigError(f"the earlier run's series record {earlier / 'series.json'} is unreadable; give "
                          "kunsink run --revise to start the series' history afresh (or another --out)")
    _, _, history, _ = plan_append(earlier, years, revise=revise, exact=True, hint="kunsink run --revise")
    return history


def _zones_record(s: dict[str, Any]) -> dict[str, Any]:
    """The zones as the project names them (a layer read with its encoding is passed on as a temporary copy)."""
    z = s["layers"]["zones"]
    if z is None:
        return {}
    return {"zones": z["path"], "zones_layer": z.get("layer"), "zones_encoding": _encoding_for(z, s["encoding"])}


def _stage_carbon(s: dict[str, Any], stage_dir: Path, work: Path, say: Callable[[str], None],
                  revisions: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    from ..carbon.run import run_carbon

    c = s["carbon"]
    lc = s["layers"]["landcover"]
    base, alt = c["baseline_year"], c["alternate_year"]
    years = (base, alt) if alt is not None and c["price_per_mgc"] is not None else None
    say(f"land cover {base}" + (f" → {alt}" if alt else ""))
    r = run_carbon(lc[base], stage_dir, alt=lc[alt] if alt else None, scheme=c["scheme"],
                   densities=s["layers"]["densities"], zones=_zones_path(s, work), zone_field=c["zone_field"],
                   years=years, dates=(base, alt), price=c["price_per_mgc"], discount_pct=c["discount_pct"],
                   price_change_pct=c["price_change_pct"], mc=c["mc"], seed=c["seed"], chunks=c["chunks"],
                   write_rasters=c["write_rasters"], cog=c["cog"])
    out: dict[str, Any] = {"carbon": r}
    if len(lc) >= 3:  # every year in one pass: the annual series, its changes and bands
        from ..carbon.series import run_carbon_series

        say(f"annual series {min(lc)}–{max(lc)} ({len(lc)} years)")
        out["series"] = run_carbon_series(lc, stage_dir / "series", scheme=c["scheme"],
                                          densities=s["layers"]["densities"], zones=_zones_path(s, work),
                                          zone_field=c["zone_field"], base_year=base, mc=c["mc"], seed=c["seed"],
                                          chunks=c["chunks"], revisions=revisions,
                                          recorded_settings=_zones_record(s))
    return out


def _stage_greenspace(s: dict[str, Any], stage_dir: Path, work: Path, say: Callable[[str], None]) -> dict[str, Any]:
    from ..greenspace.run import run_coverage, run_indicators, run_siting

    from .load import latest_layer, layers_by_year

    g = s["greenspace"]
    roles = ("residential", "greenspace", "network", "entrances", "barriers")
    dated = layers_by_year(s["layers"]["greenspace"])
    main_year = max(dated) if dated else None
    s_main = {**s, "layers": {**s["layers"], "greenspace": latest_layer(s["layers"]["greenspace"])}}
    paths, names = _layer_args(s_main, roles)
    osm = s["layers"]["osm"]
    lc = s["layers"]["landcover"].get(g["landcover_year"]) if g["landcover_year"] else None
    out: dict[str, Any] = {}
    n = 1 + bool(g["indicators"]) + bool(g["sites"]) + (len(dated) > 1)
    say(f"coverage (1/{n})")
    out["coverage"] = run_coverage(paths["residential"], paths["greenspace"], stage_dir / "coverage",
                                   network=paths["network"], osm=osm, entrances=paths["entrances"],
                                   barriers=paths["barriers"], profile=g["profile"], mode=g["mode"],
                                   population_total=g["population_total"], cell_m=g["cell_m"],
                                   entrance_max_m=g["entrance_max_m"], layers=names)
    if g["indicators"]:
        say(f"indicators (2/{n})")
        if paths["greenspace"] is None:
            out["coverage"].summary.setdefault("notes", []).append(
                "indicators need layers.greenspace (not taken from an OSM file); skipped")
        else:
            out["indicators"] = run_indicators(paths["greenspace"], stage_dir / "indicators",
                                               residential=paths["residential"], population_total=g["population_total"],
                                               landcover=lc, profile=g["profile"], layers=names)
    if g["sites"]:
        say(f"siting {g['sites']} parks ({n}/{n})")
        out["sites"] = run_siting(paths["residential"], paths["greenspace"], stage_dir / "sites", k=g["sites"],
                                  network=paths["network"], osm=osm, entrances=paths["entrances"],
                                  barriers=paths["barriers"], landcover=lc, profile=g["profile"], rule=g["site_rule"],
                                  mode=g["site_mode"], site_area_m2=g["site_area_m2"],
                                  population_total=g["population_total"], time_limit_s=g["time_limit_s"],
                                  cell_m=g["cell_m"], layers=names)
    if len(dated) > 1:
        say(f"coverage and indicators by year, {', '.join(map(str, dated))} ({n}/{n})")
        out["by_year"] = _greenspace_years(s, dated, main_year, out, paths, names, stage_dir / "years")
    return out


def _greenspace_years(s: dict[str, Any], dated: dict[int, dict[str, Any]], main_year: int, main: dict[str, Any],
                      paths: dict[str, Any], names: dict[str, str], folder: Path) -> dict[int, dict[str, Any]]:
    """Straight-line coverage and the indicators for each year's green-space layer (the latest year's from
    the main run), each year's indicators on that year's land cover where there is one."""
    from ..greenspace.run import run_coverage, run_indicators

    g = s["greenspace"]
    lcs = s["layers"]["landcover"]
    out: dict[int, dict[str, Any]] = {main_year: {"coverage": main.get("coverage"), "indicators": main.get("indicators"),
                                                  "landcover_year": g["landcover_year"]}}
    notes = main["coverage"].summary.setdefault("notes", [])
    notes.append(f"green space by year ({', '.join(map(str, dated))}): earlier years measured in straight lines "
                 "with this run's residential layer and population")
    for year, layer in dated.items():
        if year == main_year:
            continue
        s_year = {**s, "layers": {**s["layers"], "greenspace": layer}}
        gs_paths, gs_names = _layer_args(s_year, ("greenspace",))
        layer_names = {k: v for k, v in names.items() if k != "greenspace"} | gs_names
        lc_year = year if year in lcs else None  # another year's land cover would misdate the cover ratios
        if lc_year is None and g["indicators"]:
            notes.append(f"green space {year}: no land cover for {year}, so its land-cover indicators (green-cover "
                         "ratio) are not computed")
        cov = run_coverage(paths["residential"], gs_paths["greenspace"], folder / str(year) / "coverage",
                           profile=g["profile"], mode="line", population_total=g["population_total"],
                           cell_m=g["cell_m"], layers=layer_names)
        ind = None
        if g["indicators"]:
            ind = run_indicators(gs_paths["greenspace"], folder / str(year) / "indicators",
                                 residential=paths["residential"], population_total=g["population_total"],
                                 landcover=lcs.get(year), profile=g["profile"], layers=layer_names)
        for r in (cov, ind):
            notes += [f"green space {year}: {n}" for n in ((getattr(r, "summary", None) or {}).get("notes") or [])]
        out[year] = {"coverage": cov, "indicators": ind, "landcover_year": lc_year}
    return dict(sorted(out.items()))


def _stage_mines(s: dict[str, Any], stage_dir: Path, work: Path, say: Callable[[str], None]) -> dict[str, Any]:
    from ..carbon.densities import read_density_table
    from ..config import get_working_crs
    from ..mines.carbon_gain import carbon_gain, parse_class_rules
    from ..mines.export import export_registry
    from ..mines.model import parse_date
    from ..mines.progress import parse_period, progress_report
    from ..mines.recovery import recovery_table, site_ndvi
    from ..mines.registry import (
        import_file,
        init_registry,
        load_registry,
        verify_registry,
        within_area,
    )
    from ..tables import write_csv, write_json

    m = s["mines"]
    lay = s["layers"]
    notes: list[str] = []
    stage_dir.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    if lay["mine_registry"]:
        registry = Path(lay["mine_registry"])
        rep = verify_registry(registry)
        if rep.problems:
            notes.append(f"the registry failed verification: {rep.problems[0]}"
                         + (f" (and {len(rep.problems) - 1} more)" if len(rep.problems) > 1 else ""))
    else:
        say("building the registry from the import files")
        built = init_registry(work / "registry.gpkg", crs=get_working_crs(), created_by=m["recorded_by"],
                              **({"target_km2": m["target_km2"]} if m["target_km2"] else {}),
                              **({"period": parse_period(m["period"])} if m["period"] else {}))
        from ..mines.errors import ImportRefused

        for item in lay["mine_imports"]:
            try:
                res = import_file(built, item["path"], layer=item.get("layer"),
                                  encoding=_encoding_for(item, s["encoding"]), recorded_by=m["recorded_by"])
            except ImportRefused as exc:  # the problems themselves, not only their number
                shown = "; ".join(" ".join(str(p).split()) for p in exc.problems[:3])
                more = f" (and {len(exc.problems) - 3} more; kunsink mines import --dry-run lists them)" \
                    if len(exc.problems) > 3 else ""
                raise ConfigError(f"{exc}: {shown}{more}" if shown else str(exc)) from None
            notes.append(f"imported {Path(item['path']).name}: {res.summary()}")
        registry = stage_dir / "registry.gpkg"
        os.replace(built, registry)
        files.append(registry)
    say("progress, recovery, carbon gain")
    data = load_registry(registry)
    data, note = within_area(data)
    if note:
        notes.append(note)
    as_of = parse_date(m["as_of"]) if m["as_of"] else None
    report = progress_report(data.sites, data.state.events, target_km2=m["target_km2"] or data.info["target_km2"],
                             period=parse_period(m["period"]) if m["period"] else data.info["period"], as_of=as_of)
    nd = rec = None
    ndvi = lay["ndvi"]
    if len(ndvi) >= 2 and len(data.sites):
        nd = site_ndvi(data.sites, ndvi)
        rec = recovery_table(data.sites, nd, data.surveys, min_gain=m["min_gain"])
    elif len(ndvi) < 2:
        notes.append("recovery needs NDVI of two years or more (layers.ndvi); not computed")
    gain = None
    if len(data.sites):
        table = read_density_table(lay["densities"]) if lay["densities"] else None
        rules = parse_class_rules([f"{t}={c}" for t, c in (m["class_map"] or {}).items()] or None)
        gain = carbon_gain(data.sites, table=table, rules=rules, iterations=m["mc"], seed=m["seed"])
    summary = {"registry": str(registry), "as_of": report.as_of.isoformat(), "progress": report.to_dict(),
               "carbon_gain": None if gain is None else {k: v for k, v in gain.to_dict().items() if k != "sites"},
               "recovery_flags": None if rec is None else {str(k): int(v) for k, v in rec["flag"].value_counts().items()},
               "data_source": "synthetic" if data.synthetic else "user data", "notes": notes}
    write_json(summary, stage_dir / "summary.json", atomic=False)
    files.append(stage_dir / "summary.json")
    if rec is not None:
        write_csv(rec, stage_dir / "recovery.csv", atomic=False)
        files.append(stage_dir / "recovery.csv")
    if gain is not None:
        write_csv(gain.sites, stage_dir / "carbon_gain.csv", atomic=False)
        files.append(stage_dir / "carbon_gain.csv")
    if len(data.sites):
        files.append(export_registry(data, stage_dir / "sites.gpkg", report=report, gain=gain))
    result = MinesRun(registry, data, report, nd, rec, gain, summary, files, notes)
    return {"mines": result}


def _plot_years(item: dict[str, Any], encoding: str | None) -> list[int]:
    from ..io import read_vector

    gdf = read_vector(item["path"], layer=item.get("layer"), encoding=encoding)
    col = next((c for c in ("survey_year", "调查年份", "year") if c in gdf.columns), None)
    if col is None:
        return []
    return sorted({int(y) for y in pd.to_numeric(gdf[col], errors="coerce").dropna()})


def _stage_plots(s: dict[str, Any], stage_dir: Path, work: Path, say: Callable[[str], None]) -> dict[str, Any]:
    from ..plots.run import run_change, run_model

    p = s["plots"]
    item = s["layers"]["plots"]
    enc = _encoding_for(item, s["encoding"])
    ndvi = s["layers"]["ndvi"]
    lc = s["layers"]["landcover"]
    years = _plot_years(item, enc)
    year = p["year"]
    if year is None:
        shared = [y for y in years if y in ndvi]
        if not shared:
            raise ConfigError(f"plots: no survey year of the plots ({', '.join(map(str, years)) or 'none given'}) has "
                              f"an NDVI raster (layers.ndvi: {', '.join(map(str, sorted(ndvi)))}); set plots.year")
        year = p["year"] = shared[0]
    out: dict[str, Any] = {}
    say(f"biomass model {year}")
    out["model"] = run_model(item["path"], {"ndvi": ndvi[year]}, stage_dir / "model", landcover=lc.get(year),
                             year=year if years else None, model=p["model"], n_trees=p["trees"], folds=p["folds"],
                             seed=p["seed"], layer=item.get("layer"), encoding=enc, write_maps=p["maps"])
    change = p["change"]
    if change is True or (change == "auto" and len(years) >= 2):
        say("change at remeasured plots")
        out["change"] = run_change(item["path"], stage_dir / "change", landcover=lc.get(years[0]) if years else None,
                                   layer=item.get("layer"), encoding=enc)
    return out


_STAGE_FUNCS = {"carbon": _stage_carbon, "greenspace": _stage_greenspace, "mines": _stage_mines, "plots": _stage_plots}


# --------------------------------------------------------------------------------------------
# the run
# --------------------------------------------------------------------------------------------

def _checksum_notes(project: Project, sums: dict[str, str]) -> list[str]:
    """A resolved file records the checksums of its inputs: say which differ now."""
    record = project.settings.get("resolved") or {}
    old = record.get("checksums") if isinstance(record, dict) else None
    if not isinstance(old, dict):
        return []
    changed = sorted(k for k, v in old.items() if k in sums and sums[k] != v)
    gone = sorted(k for k in old if k not in sums)
    notes = []
    if changed:
        notes.append(f"{len(changed)} input file(s) changed since the recorded run, the numbers may differ: "
                     + ", ".join(Path(c).name for c in changed[:5]) + (" …" if len(changed) > 5 else ""))
    if gone:
        notes.append(f"{len(gone)} recorded input file(s) are no longer used: "
                     + ", ".join(Path(c).name for c in gone[:5]))
    return notes


def run_project(project: str | os.PathLike | Project, *, out: str | os.PathLike | None = None,
                only: str | Iterable[str] | None = None, progress: Progress | None = None,
                today: dt.date | None = None, revise: bool = False) -> ProjectRun:
    """Run every analysis a project file configures into one output folder.

    Parameters
    ----------
    project : path or Project
        A ``kunsink.yaml`` (or a run's ``kunsink.resolved.yaml``), or a loaded :class:`Project`.
    out : path, optional
        Output folder; default the file's ``output`` (relative to the file).
    only : str or list of str, optional
        Run only these stages (``"carbon,greenspace"``); the others are ``skipped``.
    progress : callable, optional
        ``progress(stage, message)``, called as the run goes.
    today : date, optional
        The date the mines' state is taken on when ``mines.as_of`` is not set (default today).
    revise : bool
        Re-running into a folder that holds an earlier annual series: a land-cover year recorded there
        from other data (or changed since, or left out now) is refused unless ``revise``; the series'
        ``revisions.csv`` keeps every addition, revision and removal.

    Returns
    -------
    ProjectRun
        Every stage's result objects, the resolved settings and the manifest (also in ``run.json``).

    Raises
    ------
    ProjectFileError
        The project file has problems (every one listed); nothing is written.
    OutputError
        The output folder is refused; nothing is written.
    StageFailed
        A stage failed: it left nothing, the stages before it are complete, ``run.json`` says so.
    """
    from ..area import resolve_area, use_area
    from ..io import drop_staging, new_staging, staging_dir
    from ..tables import write_json

    say = progress or (lambda _stage, _msg: None)
    if not isinstance(project, Project):
        project = load_project(project)
    stages_wanted = parse_only(only)
    settings, notes = resolve_settings(project, today=today)
    out_dir = Path(out).expanduser().resolve() if out is not None else Path(settings["output"])
    package = Path(__file__).resolve().parent.parent
    if out is None and out_dir.is_relative_to(package):
        # a project file shipped with kunsink (the demo): never write into the installation
        out_dir = Path.cwd().resolve() / out_dir.name
        notes.append(f"the project file is part of kunsink: output written to {out_dir} (give --out for another)")
    settings["output"] = str(out_dir)
    plan = project.planned_stages()
    if stages_wanted is not None:
        blocked = [st for st in stages_wanted if plan[st] is not None]
        if blocked:
            raise ProjectFileError(project.path, [_only_problem(st, plan[st]) for st in blocked])
    if stages_wanted is not None:
        _refuse_partial_over_fuller(out_dir, stages_wanted)
    inputs = input_paths(settings)
    if out_dir == project.path.parent and project.path.name == RESOLVED_FILE:
        pass  # a resolved copy re-run into its own folder: read whole already, replaced with the new run
    else:
        inputs.append(project.path)
    run_carbon_stage = plan["carbon"] is None and (stages_wanted is None or "carbon" in stages_wanted)
    if run_carbon_stage:
        _check_grids(settings["layers"]["landcover"])
    history = _series_history(settings, out_dir, revise,
                              series_this_time=run_carbon_stage and len(settings["layers"]["landcover"]) >= 3)
    started = dt.datetime.now().astimezone()
    # checks the folder against every input before anything is written; an earlier run is kept aside until
    # this one ends, and comes back if this one is interrupted or crashes
    with use_area(resolve_area(settings["area"], crs=settings["crs"])) as area, _replacing(out_dir, inputs):
        sums = input_checksums(settings)
        notes += _checksum_notes(project, sums)
        vers = versions()
        from ..io import atomic_path

        def record() -> dict[str, Any]:
            """The settings as run: the stages that do not run are written ``run: false``, the others
            ``run: true``, so that the resolved file repeats exactly this run."""
            rec = copy.deepcopy({k: v for k, v in settings.items() if k != "resolved"})
            for st in STAGES:
                rec[st]["run"] = plan[st] is None and (stages_wanted is None or st in stages_wanted)
            return rec

        earlier = project.settings.get("resolved") or {}
        source = Path(earlier["from"]) if isinstance(earlier, dict) and earlier.get("from") else project.path

        def write_resolved() -> None:
            with atomic_path(out_dir / RESOLVED_FILE) as tmp:
                tmp.write_text(resolved_text(record(), source=source, checksums=sums, versions_=vers,
                                             out_dir=out_dir, started=started.isoformat(timespec="seconds")),
                               encoding="utf-8")

        write_resolved()
        stages: dict[str, StageResult] = {}
        for st in STAGES:
            if plan[st] is not None:
                stages[st] = StageResult(st, "skipped", notes=[f"skipped: {plan[st]}"])
            elif stages_wanted is not None and st not in stages_wanted:
                stages[st] = StageResult(st, "skipped", notes=["skipped: not in --only"])
            else:
                stages[st] = StageResult(st, "pending")
        for note in list(notes):  # a note about one stage goes with that stage
            st = next((x for x in STAGES if note.startswith((f"{x}:", f"{x}."))), None)
            if st is not None:
                notes.remove(note)
                if stages[st].status == "pending":
                    stages[st].notes.append(note)
        written = [RESOLVED_FILE, MANIFEST_FILE]
        run = ProjectRun(project, out_dir, record(), stages, {})

        def manifest(finished: bool) -> None:
            run.manifest = {
                "kunsink_run": 1, "project": str(project.path), "output": str(out_dir),
                "started": started.isoformat(timespec="seconds"),
                "finished": dt.datetime.now().astimezone().isoformat(timespec="seconds") if finished else None,
                "seconds": round(time.perf_counter() - t0, 3),
                "study_area": area.to_dict(), "stages": {k: v.to_dict(out_dir) for k, v in stages.items()},
                "notes": notes, "inputs": sums, "versions": vers,
            }
            write_json(run.manifest, out_dir / MANIFEST_FILE)
            _write_marker(out_dir, written)

        try:
            t0 = time.perf_counter()
            manifest(False)
            failed: StageResult | None = None
            error: BaseException | None = None
            for st in STAGES:
                res = stages[st]
                if res.status != "pending":
                    continue
                if failed is not None:
                    res.status = "not run"
                    res.notes.append(f"not run: the {failed.name} stage failed")
                    continue
                final = out_dir / st
                stage_dir = new_staging(final, f"stage-{st}")
                t1 = time.perf_counter()
                try:
                    with staging_dir(final, f"work-{st}") as work:
                        extra = {"revisions": history} if st == "carbon" else {}
                        res.results = _STAGE_FUNCS[st](settings, stage_dir, work, lambda msg, st=st: say(st, msg), **extra)
                    files = sorted(p for p in stage_dir.rglob("*") if p.is_file() and not p.name.startswith("."))
                    _write_marker(stage_dir, [p.name for p in stage_dir.iterdir()])
                    os.replace(stage_dir, final)
                    for r in res.results.values():
                        _remap(r, stage_dir, final)
                    res.files = [final / p.relative_to(stage_dir) for p in files]
                    res.status = "ok"
                    written.append(st)
                except Exception as exc:  # noqa: BLE001 - recorded, then raised again below
                    user = translate_error(exc)
                    res.status = "failed"
                    res.error = str(user) if user is not None else f"internal error: {type(exc).__name__}: {exc}"
                    failed, error = res, (user if user is not None else exc)
                finally:
                    drop_staging(stage_dir)
                    res.seconds = time.perf_counter() - t1
                    if res.status == "ok":
                        say(st, f"done in {res.seconds:.1f} s")
                for r in res.results.values():
                    summary = getattr(r, "summary", None)
                    if isinstance(summary, dict):
                        res.notes += [str(n) for n in summary.get("notes", []) or []]
                    res.notes += [str(n) for n in getattr(r, "notes", []) or [] if str(n) not in res.notes]
                manifest(False)
            run.settings = record()
            if failed is None and (settings.get("report") or {}).get("run", True) \
                    and any(v.status == "ok" for v in stages.values()):
                failed, error = _deliver(run, out_dir, stages, written, say, today)
                manifest(False)
            write_resolved()  # with what the stages decided (e.g. the plots' survey year)
            manifest(True)
        except Interrupted as exc:  # say what is kept: the stages committed before the signal
            running = next((k for k, v in stages.items() if v.status == "pending"), None)
            if running is not None:
                stages[running].status = "interrupted"
            # what the run has written so far is the marker's (the report step writes straight into the folder,
            # each file complete or still staged): the next run may then replace the folder
            try:
                written[:] = sorted({*written, *(p.name for p in out_dir.iterdir() if not p.name.startswith("."))})
            except OSError:
                pass
            try:
                manifest(False)
            except Exception:  # noqa: BLE001 - the record is a courtesy; the interrupt goes on
                pass
            done = [k for k, v in stages.items() if v.status == "ok"]
            exc.kept = ((f"stages complete before it are kept in {out_dir}: {', '.join(done)}" if done else
                         f"no stage was complete; {out_dir} holds only the run's record")
                        + f" ({MANIFEST_FILE} marks the run unfinished)")
            raise
        if failed is not None:
            done = [k for k, v in stages.items() if v.status == "ok"]
            kept = f"; complete: {', '.join(done)} in {out_dir}" if done else "; nothing else was written"
            if isinstance(error, KunsinkError):
                raise StageFailed(f"{failed.name} stage failed: {failed.error}{kept}", run, error.exit_code) from error
            raise error  # a bug: the CLI's one line (and the traceback with --debug)
        return run


def _deliver(run: ProjectRun, out_dir: Path, stages: dict[str, StageResult], written: list[str],
             say: Progress, today: dt.date | None) -> tuple[StageResult | None, BaseException | None]:
    """The ``report`` step: report, maps and workbook (:mod:`.deliver`); recorded like a stage."""
    from .deliver import write_deliverable

    res = stages["report"] = StageResult("report", "pending")
    t1 = time.perf_counter()
    try:
        files, notes = write_deliverable(run, out_dir, say=lambda msg: say("report", msg), today=today)
        res.files, res.notes, res.status = files, notes, "ok"
        written.extend(f.name for f in files)
        say("report", f"done in {time.perf_counter() - t1:.1f} s")
        return None, None
    except Exception as exc:  # noqa: BLE001 - recorded, then raised by the caller
        user = translate_error(exc)
        res.status = "failed"
        res.error = str(user) if user is not None else f"internal error: {type(exc).__name__}: {exc}"
        return res, (user if user is not None else exc)
    finally:
        res.seconds = time.perf_counter() - t1


def _only_problem(stage: str, why: str | None):
    from .load import Problem

    return Problem(f"{stage}", f"asked for with --only but cannot run: {why}")
