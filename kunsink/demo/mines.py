"""The demo mine registry: the scene's synthetic mine parcels with a 2023–2025 history, and its map.

:func:`demo_history` (no I/O) turns the scene's ``mine_sites`` layer and ``mine_surveys.csv``
into the three files a planner would bring: sites, status updates and surveys. The status
dates are read off the synthetic surveys: every site is *planned* when the district plan is
adopted (1 March 2023), *in treatment* two weeks after its baseline survey, *completed* on the
survey that reports the works done, and *accepted* on the survey that says 已验收. Everything
carries ``source = "synthetic"``.

:func:`demo_mines` writes those files, imports them one by one through the same public API the
CLI uses into ``out_dir/mines/registry.gpkg`` (rebuilt from scratch, swapped in when complete),
writes the reports' tables beside it (``progress_by_year.csv``, ``recovery.csv``, ``carbon.csv``)
and ``maps_dir/mines.html``.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import InputError

__all__ = ["DEMO_PLAN_DATE", "DEMO_RECORDER", "demo_history", "demo_mines"]

#: Synthetic adoption date of the district's 2023–2025 plan (every site's "planned" date).
DEMO_PLAN_DATE = dt.date(2023, 3, 1)
DEMO_RECORDER = "演示数据 demo recorder (synthetic)"
SYNTHETIC = "synthetic"


def demo_history(sites: Any, surveys: pd.DataFrame) -> tuple[Any, pd.DataFrame, pd.DataFrame]:
    """Import tables for the demo registry from the scene's mine parcels and surveys.

    Parameters
    ----------
    sites : GeoDataFrame
        The scene's ``mine_sites`` (``site_id``, ``name``, ``treatment_year``, ``status``
        planned/treating/restored, ``method``), EPSG:4546.
    surveys : DataFrame
        ``mine_surveys.csv`` (``site_id``, ``survey_date``, ``treated_area_m2``,
        ``veg_cover_pct``, ``ndvi_mean``, ``note``).

    Returns
    -------
    (GeoDataFrame, DataFrame, DataFrame)
        Sites (``site_id``, ``name``, ``treatment_type``, ``planned_year``, ``responsible_unit``,
        ``source``), status updates (``site_id``, ``status``, ``status_date``, ``recorded_by``,
        ``note``, ``source``) and surveys, all ``source = "synthetic"``.
    """
    import geopandas as gpd

    clusters = sites["name"].str.replace(r"\d+号地块$", "", regex=True)
    site_rows = gpd.GeoDataFrame({
        "site_id": sites["site_id"].to_numpy(),
        "name": sites["name"].to_numpy(),
        "treatment_type": sites["method"].to_numpy(),
        "planned_year": sites["treatment_year"].astype(int).to_numpy(),
        "responsible_unit": (clusters + "治理项目部（合成）").to_numpy(),
        "source": SYNTHETIC,
    }, geometry=sites.geometry.values, crs=sites.crs)
    sv = surveys.copy()
    sv["survey_date"] = pd.to_datetime(sv["survey_date"]).dt.date
    events = []
    for s in sites.itertuples(index=False):
        mine = sv[sv["site_id"] == s.site_id].sort_values("survey_date")
        events.append((s.site_id, "planned", DEMO_PLAN_DATE, "列入2023–2025年矿山治理计划"))
        if s.status == "planned" or mine.empty:
            continue
        baseline = mine["survey_date"].iloc[0]
        events.append((s.site_id, "in_treatment", baseline + dt.timedelta(days=14), f"开工：{s.method}"))
        if s.status != "restored":
            continue
        done = mine[mine["note"].astype(str).str.startswith("完成")]
        accepted = mine[mine["note"].astype(str).str.contains("已验收")]
        if len(done):
            events.append((s.site_id, "completed", done["survey_date"].iloc[0], "完工"))
        if len(accepted):
            events.append((s.site_id, "accepted", accepted["survey_date"].iloc[-1], "验收通过"))
    status = pd.DataFrame(events, columns=["site_id", "status", "status_date", "note"])
    status["status_date"] = status["status_date"].map(lambda d: d.isoformat())
    status.insert(3, "recorded_by", DEMO_RECORDER)
    status["source"] = SYNTHETIC
    survey_rows = surveys[["site_id", "survey_date", "veg_cover_pct", "ndvi_mean", "treated_area_m2", "note"]].copy()
    survey_rows["recorded_by"] = DEMO_RECORDER
    survey_rows["source"] = SYNTHETIC
    return site_rows, status, survey_rows


def _find(data_dir: Path | None) -> tuple[Path, dict[int, Path]]:
    from ..datasets import demo_dir

    roots = [Path(data_dir)] if data_dir is not None else [demo_dir().parent]
    csv = next((p for r in roots for p in (r / "demo" / "mine_surveys.csv", r / "mine_surveys.csv") if p.exists()),
               None)
    if csv is None:
        raise InputError(f"mine_surveys.csv is missing under {roots[0]}; rebuild the scene with: kunsink scene build")
    rasters = {}
    for folder in (csv.parent.parent / "rasters", csv.parent / "rasters"):
        for year in (2020, 2025):
            if (folder / f"ndvi_{year}.tif").exists():
                rasters.setdefault(year, folder / f"ndvi_{year}.tif")
    return csv, rasters


def demo_mines(layers: dict[str, Any], data_dir: Path | None, maps_dir: Path, out_dir: Path,
               progress: Callable[[str], None] | None = None) -> Iterator[str]:
    """Build the demo registry from the synthetic mine parcels and write its map; yields report lines.

    Parameters
    ----------
    layers : dict of GeoDataFrame
        The scene's layers (needs ``mine_sites``; ``boundary`` is drawn if present).
    data_dir : path or None
        Scene folder holding ``demo/mine_surveys.csv`` and ``rasters/ndvi_*.tif`` (None: bundled).
    maps_dir : path
        ``mines.html`` is written here.
    out_dir : path
        ``mines/registry.gpkg`` and the import files (``mines/inputs/``) are written here.
    """
    from ..maps import save_map
    from ..maps.mines import mines_map
    from ..mines.carbon_gain import carbon_gain
    from ..mines.progress import progress_report
    from ..mines.recovery import recovery_table, site_ndvi
    from ..mines.registry import import_file, init_registry, load_registry
    from ..io import write_vector
    from ..tables import write_csv

    say = progress or (lambda _msg: None)
    if "mine_sites" not in layers:
        raise InputError("the demo layers have no mine_sites layer; rebuild the scene with: kunsink scene build")
    csv, rasters = _find(Path(data_dir) if data_dir is not None else None)
    maps_dir, out_dir = Path(maps_dir), Path(out_dir)
    folder = out_dir / "mines"
    inputs = folder / "inputs"
    inputs.mkdir(parents=True, exist_ok=True)
    say("mine registry: writing the import files")
    sites, status, surveys = demo_history(layers["mine_sites"], pd.read_csv(csv, encoding="utf-8"))
    files = [write_vector(sites, inputs / "sites.gpkg", layer="sites")]
    for name, df in (("status.csv", status), ("surveys.csv", surveys)):
        files.append(write_csv(df, inputs / name))
    target = folder / "registry.gpkg"
    tmpdir = Path(tempfile.mkdtemp(prefix=".registry.", dir=folder))
    try:
        reg = init_registry(tmpdir / "registry.gpkg", created_by=DEMO_RECORDER)
        for f in files:
            say(f"mine registry: importing {f.name}")
            result = import_file(reg, f, recorded_by=DEMO_RECORDER)
            yield f"mines: {result.summary()}"
        os.replace(reg, target)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    data = load_registry(target)
    report = progress_report(data.sites, data.state.events, target_km2=data.info["target_km2"],
                             period=data.info["period"])
    yield (f"mines: {report.completed_km2:.4f} of {report.target_km2:g} km² completed in "
           f"{report.period[0]}–{report.period[1]} ({report.progress_pct:.1f} %), {report.accepted_km2:.4f} km² "
           f"accepted; {len(report.behind)} site(s) behind schedule as of {report.as_of} → {target} (synthetic)")
    nd = rec = None
    if len(rasters) >= 2:
        say("mine registry: NDVI per site")
        nd = site_ndvi(data.sites, rasters)
        rec = recovery_table(data.sites, nd, data.surveys)
        flagged = rec["flag"].isin(["not recovering", "cover falling"]).sum()
        yield f"mines: NDVI {min(rasters)}→{max(rasters)} per site; {int(flagged)} site(s) flagged as not recovering"
    gain = carbon_gain(data.sites, iterations=1000, seed=2023)
    write_csv(report.by_year.assign(source="synthetic"), folder / "progress_by_year.csv")
    if rec is not None:
        write_csv(rec, folder / "recovery.csv")
    write_csv(gain.sites, folder / "carbon.csv")
    yield (f"mines: carbon gained {gain.gained_mgc:,.0f} Mg C (95 % {gain.gained_low_mgc:,.0f}–"
           f"{gain.gained_high_mgc:,.0f}); district accounting, not CCER (synthetic)")
    say("drawing maps/mines.html")
    m = mines_map(data, report=report, gain=gain, recovery=rec, ndvi=nd, boundary=layers.get("boundary"))
    yield f"wrote {save_map(m, maps_dir / 'mines.html')} (mine sites by status, surveys, NDVI trends; synthetic demo data)"
