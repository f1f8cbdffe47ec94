"""Exporting a registry's current state to GeoPackage, Shapefile, GeoJSON, FlatGeobuf, CSV or an Excel workbook.

Column names are at most 10 characters so a Shapefile keeps them whole; the same names are
used in every format. An export can be imported again (as a sites file with each site's
current status): nothing changes, since every row is already recorded.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import ConfigError, OutputError
from ..io import atomic_path, vector_driver

__all__ = ["EXPORT_COLUMNS", "EXPORT_SUFFIXES", "check_encoding", "export_frame", "export_registry"]

#: The suffixes :func:`export_registry` writes.
EXPORT_SUFFIXES = (".gpkg", ".shp", ".geojson", ".json", ".fgb", ".csv", ".xlsx")

#: export column → meaning (≤ 10 characters, Shapefile-safe).
EXPORT_COLUMNS: dict[str, str] = {
    "site_id": "site id 图斑编号",
    "name": "name 名称",
    "treat_type": "treatment type 治理方式",
    "plan_year": "planned year 计划年份",
    "resp_unit": "responsible unit 责任单位",
    "rest_class": "restored land-cover class (kunsink code) 恢复地类",
    "area_m2": "area, m², in the registry CRS 面积",
    "status": "current status 当前状态",
    "status_on": "date the current status was reached",
    "planned_on": "date planned 计划日期",
    "started_on": "date treatment began 开工日期",
    "done_on": "date completed 完工日期",
    "accept_on": "date accepted 验收日期",
    "behind": "behind schedule (yes/no) 落后进度",
    "last_cover": "vegetation cover of the latest survey, % 最近覆盖度",
    "last_surv": "date of the latest survey 最近调查日期",
    "gain_mgc": "carbon gained, Mg C (district accounting, not CCER)",
    "version": "site version (1 = as first registered)",
    "source": "data source (synthetic = demo data)",
}


def check_encoding(encoding: str | None) -> str | None:
    """``encoding`` if Python knows it (``gbk``, ``utf-8`` …), else a one-line error.

    Raises
    ------
    ConfigError
        An unknown encoding name.
    """
    import codecs

    if encoding is None:
        return None
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise ConfigError(f"--encoding {encoding!r} is not an encoding Python knows (e.g. utf-8, gbk)") from None
    return encoding


def _iso(v: Any) -> str | None:
    return None if v is None or (not isinstance(v, str) and pd.isna(v)) else v.isoformat()


def export_frame(data: Any, *, report: Any = None, gain: Any = None) -> Any:
    """The current sites as a GeoDataFrame with :data:`EXPORT_COLUMNS` (registry CRS; dates as ISO text)."""
    import geopandas as gpd

    s = data.sites
    surveys = data.surveys[data.surveys["active"]] if len(data.surveys) else data.surveys
    latest = (surveys.dropna(subset=["veg_cover_pct"]).sort_values("survey_date").groupby("site_id").last()
              if len(surveys) else pd.DataFrame(columns=["veg_cover_pct", "survey_date"]))
    behind = set(report.behind["site_id"]) if report is not None else set()
    gains = gain.sites.set_index("site_id")["gain_mgc"] if gain is not None else pd.Series(dtype=float)
    out = pd.DataFrame({
        "site_id": s["site_id"],
        "name": s["name"],
        "treat_type": s["treatment_type"],
        "plan_year": s["planned_year"].astype("Int64"),
        "resp_unit": s["responsible_unit"],
        "rest_class": s["restored_class"].astype("Int64"),
        "area_m2": s["area_m2"].round(2),
        "status": s["status"],
        "status_on": s["status_date"].map(_iso),
        "planned_on": s["planned_on"].map(_iso),
        "started_on": s["in_treatment_on"].map(_iso),
        "done_on": s["completed_on"].map(_iso),
        "accept_on": s["accepted_on"].map(_iso),
        "behind": s["site_id"].map(lambda i: "yes" if i in behind else ("no" if report is not None else None)),
        "last_cover": s["site_id"].map(latest["veg_cover_pct"]) if len(latest) else None,
        "last_surv": s["site_id"].map(latest["survey_date"]).map(_iso) if len(latest) else None,
        "gain_mgc": s["site_id"].map(gains).round(3) if gain is not None else None,
        "version": s["version"],
        "source": s["source"],
    })
    return gpd.GeoDataFrame(out, geometry=s.geometry.values, crs=s.crs)


def _history_frames(data: Any) -> dict[str, pd.DataFrame]:
    ev = data.events.copy()
    ev["event_date"] = ev["event_date"].map(_iso)
    sv = data.surveys.copy()
    sv["survey_date"] = sv["survey_date"].map(_iso)
    return {"mine_status_events": ev, "mine_surveys": sv}


def export_registry(data: Any, out: str | os.PathLike, *, report: Any = None, gain: Any = None,
                    encoding: str | None = None) -> Path:
    """Write the registry's current sites to ``out``; the format follows the suffix. Atomic.

    ``.gpkg`` also gets the status events and surveys as attribute tables; ``.geojson`` is
    written in EPSG:4326 (RFC 7946); ``.csv`` holds the attributes only (UTF-8 with BOM, for
    Excel; cells a spreadsheet would run as a formula get a leading ``'``,
    :func:`kunsink.tables.write_csv`); ``.xlsx`` is a workbook with the sites, the status
    events and the surveys as sheets, Chinese and English headers (:func:`kunsink.tables.write_xlsx`).
    ``encoding`` (e.g. ``gbk``) applies to Shapefile attributes and CSV.

    Raises
    ------
    OutputError
        ``out`` is the registry (or another input), a suffix not in :data:`EXPORT_SUFFIXES`, or
        a CSV text the ``encoding`` cannot hold.
    ConfigError
        An unknown ``encoding``.
    """
    import pyogrio

    from ..guard import check_output_file
    from ..tables import write_csv, write_xlsx

    target = Path(out)
    check_output_file(target, [data.path], suffixes=EXPORT_SUFFIXES, what="export file")
    check_encoding(encoding)
    frame = export_frame(data, report=report, gain=gain)
    suffix = target.suffix.lower()
    if suffix == ".csv":
        try:
            write_csv(pd.DataFrame(frame.drop(columns="geometry")), target, encoding=encoding)
        except UnicodeEncodeError as exc:
            bad = exc.object[exc.start:exc.end] if isinstance(exc.object, str) else "?"
            raise OutputError(f"{target.name}: the text {bad!r} cannot be written in {encoding}; use the default "
                              "UTF-8 (no --encoding)") from None
        return target
    if suffix == ".xlsx":
        sheets = {"mine_sites": pd.DataFrame(frame.drop(columns="geometry")), **_history_frames(data)}
        return write_xlsx(sheets, target, sources={k: data.path.name for k in sheets},
                          title=f"矿山治理登记册 mine registry {data.path.name}")
    driver = vector_driver(target)
    kwargs: dict[str, Any] = {}
    if driver == "ESRI Shapefile":
        kwargs["encoding"] = (encoding or "UTF-8").upper()
    if driver == "GeoJSON":
        frame = frame.to_crs("EPSG:4326")
    if driver == "GPKG":
        from ..guard import gpkg_mark

        kwargs["dataset_metadata"] = gpkg_mark(["mine_sites", *_history_frames(data)])
    with atomic_path(target) as tmp:
        pyogrio.write_dataframe(frame, tmp, layer="mine_sites" if driver != "ESRI Shapefile" else None,
                                driver=driver, **kwargs)
        if driver == "GPKG":
            for name, df in _history_frames(data).items():
                pyogrio.write_dataframe(df, tmp, layer=name, driver="GPKG")
            from ..styles import mine_status_qml, write_layer_styles

            write_layer_styles(tmp, {"mine_sites": (mine_status_qml("status"),
                                                    "矿山修复图斑（按状态） mine rehabilitation sites by status")})
    return target
