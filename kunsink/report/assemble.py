"""From a project run in memory to the report's inputs and figures.

:func:`report_inputs` gathers what :func:`kunsink.report.build.build_report` shows from a
:class:`kunsink.project.runner.ProjectRun`: the results each stage returned, the years compared, the
study area and a data panel saying, for every layer, whether it is synthetic, real (kunsink's bundled
boundary and census) or the user's own. :func:`draw_figures` draws the print maps (A4, through
:mod:`kunsink.figures`) and charts from the same results. Rasters are read for display only, reduced
to at most ``max_px`` pixels across through their overviews.
"""

from __future__ import annotations

import datetime as dt
import io
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .build import ReportInputs
from .document import Text

__all__ = ["FIGURE_THEMES", "draw_figures", "layer_status", "monitoring_tables", "read_display_grid", "report_inputs"]

#: Figure themes in the order they are drawn; each becomes ``maps/<theme>.png`` (and ``.pdf`` for maps).
FIGURE_THEMES = ("landcover", "stock", "change", "stocks_chart", "zones_chart", "coverage", "coverage_chart",
                 "mines", "mines_chart", "plots")

_RASTER_SUFFIXES = {".tif", ".tiff", ".vrt", ".img", ".jp2"}
_ROLE_LABELS = {
    "landcover": "土地覆被 land cover", "ndvi": "NDVI", "zones": "规划分区 zones", "greenspace": "绿地 green space",
    "residential": "居住小区 neighbourhoods", "network": "道路网 street network", "osm": "OpenStreetMap",
    "entrances": "公园入口 park entrances", "barriers": "阻隔 barriers", "candidates": "候选地块 candidate sites",
    "built_up": "建成区 built-up area", "mine_registry": "矿山台账 mine registry",
    "mine_imports": "矿山导入文件 mine import files", "plots": "监测样地 monitoring plots",
    "densities": "碳密度表 carbon densities", "predictors": "遥感因子 predictors",
}


def layer_status(path: str | os.PathLike, layer: str | None = None) -> str:
    """``"synthetic"`` if the file says it is generated (raster tag or ``source`` column), else ``"user"``.

    Reads only tags or the ``source`` column of the first features, never the whole layer.
    """
    p = Path(path)
    try:
        if p.suffix.lower() in _RASTER_SUFFIXES:
            import rasterio

            with rasterio.open(p) as ds:
                return "synthetic" if ds.tags().get("source", "").lower() == "synthetic" else "user"
        if p.suffix.lower() == ".csv":
            head = pd.read_csv(p, nrows=200, encoding="utf-8-sig", dtype=str)
        else:
            import pyogrio

            info = pyogrio.read_info(p, layer=layer)
            if "source" not in list(info["fields"]):
                return "user"
            head = pyogrio.read_dataframe(p, layer=layer, columns=["source"], read_geometry=False, max_features=200)
        if "source" in head.columns and (head["source"].astype(str).str.lower() == "synthetic").any():
            return "synthetic"
    except Exception:  # noqa: BLE001 - a file the stage read already; its status is only unknown here
        return "user"
    return "user"


def _panel_rows(run: Any, area: Any) -> list[dict[str, str]]:
    rows = [{"layer": "行政区界 boundary", "file": f"kunsink 自带 bundled ({area.name})", "status": "real",
             "source": "民政部行政区划 / 国家基础地理信息（来源见 kunsink 数据说明 SOURCES.md）"}]
    if getattr(area, "population", None):
        rows.append({"layer": "常住人口 population (2020 census)", "file": "kunsink 自带 bundled", "status": "real",
                     "source": "第七次全国人口普查 Seventh national census 2020"})
    layers = (run.settings or {}).get("layers", {})
    for role, value in layers.items():
        items: list[tuple[str, dict[str, Any]]] = []
        if isinstance(value, dict) and "path" in value:
            items = [("", value)]
        elif isinstance(value, dict):  # by year (land cover, NDVI) or by name (predictors)
            items = [(str(k), v if isinstance(v, dict) else {"path": v}) for k, v in value.items() if v]
        elif isinstance(value, list):
            items = [("", v if isinstance(v, dict) else {"path": v}) for v in value if v]
        elif value:
            items = [("", {"path": value})]
        for key, item in items:
            path = item.get("path")
            if not path:
                continue
            label = _ROLE_LABELS.get(role, role) + (f" {key}" if key else "")
            name = Path(str(path)).name + (f" · {item['layer']}" if item.get("layer") else "")
            status = layer_status(path, item.get("layer"))  # opens the file: once
            rows.append({"layer": label, "file": name, "status": status,
                         "source": "kunsink 合成演示场景 synthetic demo scene"
                         if status == "synthetic" else "用户提供 supplied by the user"})
    return rows


def _years(run: Any) -> tuple[int, int] | None:
    c = (run.settings or {}).get("carbon", {})
    a, b = c.get("baseline_year"), c.get("alternate_year")
    if a is not None and b is not None:
        return int(a), int(b)
    years = sorted(int(y) for y in (run.settings or {}).get("layers", {}).get("landcover", {}) or {})
    return (years[0], years[-1]) if len(years) >= 2 else None


def _run_area(run: Any) -> Any:
    """The run's study area (the active one inside a run, else resolved from its settings)."""
    from ..area import get_area, resolve_area

    settings = run.settings or {}
    area = get_area()
    wanted = (run.manifest or {}).get("study_area", {}).get("name")
    if wanted is None or area.name == wanted:
        return area
    return resolve_area(settings.get("area"), crs=settings.get("crs"))


def report_inputs(run: Any, *, figures: dict[str, tuple[Text, bytes]] | None = None,
                  made_on: dt.date | None = None, made_by: str = "kunsink",
                  monitoring: tuple[pd.DataFrame | None, pd.DataFrame | None] | None = None) -> ReportInputs:
    """The report's inputs from a :class:`~kunsink.project.runner.ProjectRun` (results in memory)."""
    from ..area import use_area

    area = _run_area(run)
    with use_area(area):
        return _report_inputs(run, area, figures, made_on, made_by, monitoring)


def _report_inputs(run: Any, area: Any, figures: Any, made_on: Any, made_by: str, monitoring: Any) -> ReportInputs:
    mines = run.result("mines")
    gain = None
    if mines is not None and mines.gain is not None:
        g = mines.gain
        gain = {"gain_mgc": g.gained_mgc, "ci95_low_mgc": g.gained_low_mgc, "ci95_high_mgc": g.gained_high_mgc}
    plots = None
    model = run.result("plots", "model")
    if model is not None:
        sm = dict(model.summary)
        sm.setdefault("n_plots", sm.get("plots"))
        change = run.result("plots", "change")
        plots = {"summary": sm, "by_class": model.by_class, "cv": model.cv,
                 "change": None if change is None else change.per_stratum}
    from ..config import get_working_crs

    crs = (run.settings or {}).get("crs") or get_working_crs()
    series, evaluation = monitoring if monitoring is not None else monitoring_tables(run, made_on)
    notes = [n for st in run.stages.values() for n in st.notes if n.startswith("skipped")]
    return ReportInputs(
        area_name=area.name, area_km2=getattr(area, "area_km2", None), population=getattr(area, "population", None),
        layers=_panel_rows(run, area), years=_years(run), carbon=run.result("carbon"),
        carbon_series=run.result("carbon", "series"),
        coverage=run.result("greenspace", "coverage"), indicators=run.result("greenspace", "indicators"),
        siting=run.result("greenspace", "sites"), mines=None if mines is None else mines.report, mines_gain=gain,
        plots=plots, figures=figures or {}, made_by=made_by, made_on=made_on, notes=notes,
        crs_name=_crs_name(crs), series=series, evaluation=evaluation,
    )


def monitoring_tables(run: Any, made_on: dt.date | None = None) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """Indicator series per year from the run's results and their evaluation against the bundled targets.

    Land-cover indicators (wetland area, forest cover, impervious share) and the carbon stock for each
    land-cover year the carbon model read; the mine programme's cumulative treated area per year; and the
    green-space figures (coverage by the straight-line rules, park area per person) for the year of the
    green-space layers' land cover (``greenspace.landcover_year``), when set. ``None`` without any.
    """
    from ..monitoring import combine_series, evaluate, landcover_series, load_targets, mine_series

    parts = []
    carbon = run.result("carbon")
    table = getattr(carbon, "table", None)
    annual = run.result("carbon", "series")
    if annual is not None:  # every land-cover year, with Monte Carlo bands on the stock
        wide = annual.classes.pivot_table(index="year", columns="lucode", values="area_ha", aggfunc="sum")
        parts.append(landcover_series(wide))
        frame = pd.DataFrame({"carbon_stock_mgc": annual.stocks["total_mgc"]}, index=annual.stocks.index)
        if "ci95_low_mgc" in annual.stocks:
            frame["carbon_stock_mgc_low"] = annual.stocks["ci95_low_mgc"]
            frame["carbon_stock_mgc_high"] = annual.stocks["ci95_high_mgc"]
        parts.append(frame)
    elif table is not None and "year" in table.columns:
        rows = table[(table["scope"] == "class") & table["date"].isin(["baseline", "alternate"])].copy()
        rows = rows[pd.to_numeric(rows["year"], errors="coerce").notna()]
        if len(rows):
            wide = rows.assign(year=rows["year"].astype(int), id=rows["id"].astype(int)).pivot_table(
                index="year", columns="id", values="area_ha", aggfunc="sum")
            parts.append(landcover_series(wide))
            district = table[(table["scope"] == "district") & table["date"].isin(["baseline", "alternate"])]
            stock = district.dropna(subset=["year"])
            if len(stock):
                frame = pd.DataFrame({"carbon_stock_mgc": stock["total_mgc"].to_numpy(),
                                      "carbon_stock_mgc_low": stock["ci95_low_mgc"].to_numpy(),
                                      "carbon_stock_mgc_high": stock["ci95_high_mgc"].to_numpy()},
                                     index=pd.Index(stock["year"].astype(int).to_numpy(), name="year"))
                parts.append(frame)
    mines = run.result("mines")
    if mines is not None and len(mines.report.by_year):
        parts.append(mine_series(mines.report.by_year, tuple(mines.report.period)))
    by_year = run.result("greenspace", "by_year")
    if by_year:
        rows = {year: greenspace_figures(r.get("coverage"), r.get("indicators")) for year, r in by_year.items()}
        rows = {y: v for y, v in rows.items() if v}
        if rows:
            parts.append(pd.DataFrame.from_dict(rows, orient="index").rename_axis("year"))
    else:
        gs_year = ((run.settings or {}).get("greenspace") or {}).get("landcover_year")
        vals = greenspace_figures(run.result("greenspace", "coverage"), run.result("greenspace", "indicators"))
        if vals and gs_year:
            parts.append(pd.DataFrame(vals, index=pd.Index([int(gs_year)], name="year")))
    ndvi = _mine_ndvi_series(mines)
    if ndvi is not None:
        parts.append(ndvi)
    if not parts:
        return None, None
    series = combine_series(*parts)
    as_of = made_on.year if made_on is not None else None
    years = series.index.astype(int)
    evaluation = evaluate(series, load_targets(), as_of_year=min(as_of, int(years.max())) if as_of else None)
    return series, evaluation


def greenspace_figures(coverage: Any, indicators: Any) -> dict[str, float]:
    """The monitored green-space figures of one year's runs: straight-line 300/500 coverage (% of
    residential area) and park area per person (m²), green-land and green-cover ratios (%)."""
    vals: dict[str, float] = {}
    if coverage is not None:
        for rid, key in (("green_300", "green_300_coverage_pct"), ("park_500", "park_500_coverage_pct")):
            line = coverage.summary.get("rules", {}).get(rid, {}).get("line")
            if line:
                vals[key] = line["area_covered_pct"]
    if indicators is not None and getattr(indicators.result, "table", None) is not None:
        t = indicators.result.table.set_index("key")["value"]
        for key in ("park_area_per_person_m2", "green_land_ratio_pct", "green_coverage_ratio_pct"):
            if key in t.index and pd.notna(t[key]):
                vals[key] = float(t[key])
    return vals


def _mine_ndvi_series(mines: Any) -> pd.DataFrame | None:
    """Area-weighted mean NDVI over the registry's sites for each NDVI year (``mine_site_ndvi``)."""
    nd = getattr(mines, "ndvi", None) if mines is not None else None
    if nd is None or not len(nd):
        return None
    from ..monitoring import mine_ndvi_series

    return mine_ndvi_series(nd)


def _crs_name(crs: Any) -> str | None:
    if not crs:
        return None
    try:
        from ..figures import crs_label

        return crs_label(crs)
    except Exception:  # noqa: BLE001 - a label only
        return str(crs)


def read_display_grid(path: str | os.PathLike, max_px: int = 2000) -> Any:
    """A raster reduced to at most ``max_px`` pixels on its long side (nearest, from overviews if any)."""
    import rasterio
    from rasterio.enums import Resampling

    from ..figures import Grid

    with rasterio.open(path) as ds:
        f = max(1, int(np.ceil(max(ds.width, ds.height) / max_px)))
        shape = (max(1, ds.height // f), max(1, ds.width // f))
        arr = ds.read(1, out_shape=shape, resampling=Resampling.nearest)
        transform = ds.transform * ds.transform.scale(ds.width / shape[1], ds.height / shape[0])
        tags = ds.tags()
        return Grid(arr, transform, ds.crs, ds.nodata, tags.get("source"), tags.get("units"))


def _png(fig: Any, dpi: float) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def _find(files: list[Path], *prefixes: str) -> Path | None:
    for pre in prefixes:
        for f in files:
            if f.name.startswith(pre) and f.suffix == ".tif":
                return f
    return None


def draw_figures(run: Any, maps_dir: str | os.PathLike, *, date: dt.date | None = None, organisation: str = "kunsink",
                 embed_dpi: float = 110.0, monitoring: tuple[Any, Any] | None = None
                 ) -> tuple[dict[str, tuple[Text, bytes]], list[Path]]:
    """Draw every figure the run's results allow; save maps as A4 PNG and PDF and charts as PNG in ``maps_dir``.

    Returns the figures for the report (PNG bytes at ``embed_dpi``) and the files written. The study area
    is the run's.
    """
    from ..area import use_area

    with use_area(_run_area(run)):
        return _draw_figures(run, maps_dir, date=date, organisation=organisation, embed_dpi=embed_dpi,
                             monitoring=monitoring)


def _draw_figures(run: Any, maps_dir: str | os.PathLike, *, date: dt.date | None = None, organisation: str = "kunsink",
                 embed_dpi: float = 110.0, monitoring: tuple[Any, Any] | None = None
                 ) -> tuple[dict[str, tuple[Text, bytes]], list[Path]]:
    """Draw every figure the run's results allow; save maps as A4 PNG and PDF and charts as PNG in ``maps_dir``.

    Returns the figures for the report (PNG bytes at ``embed_dpi``) and the files written.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from .. import figures as F

    maps_dir = Path(maps_dir)
    maps_dir.mkdir(parents=True, exist_ok=True)
    page = F.PageOptions(date=date or dt.date.today(), organisation=organisation)
    out: dict[str, tuple[Text, bytes]] = {}
    files: list[Path] = []
    years = _years(run)
    y0, y1 = (years if years else (None, None))
    boundary = _boundary_frame()

    def keep(theme: str, title: Text, fig: Any, map_: bool = True) -> None:
        files.extend(F.save_figure(fig, maps_dir / theme, formats=("png", "pdf") if map_ else ("png",)))
        out[theme] = (title, _png(fig, embed_dpi))
        plt.close(fig)

    lc_paths = (run.settings or {}).get("layers", {}).get("landcover", {}) or {}
    if lc_paths and boundary is not None:
        year = y0 if y0 is not None else sorted(lc_paths)[0]
        path = lc_paths.get(year, lc_paths.get(str(year)))
        if path:
            grid = read_display_grid(path, page.max_px)
            if str(grid.crs) == str(boundary.crs) or grid.crs == boundary.crs:
                keep("landcover", Text(f"{year} 年土地覆被", f"Land cover {year}"),
                     F.landcover_map(grid, boundary, year=year, page=page))
    carbon = run.result("carbon")
    zones = _zones(run)
    if carbon is not None and boundary is not None:
        stock = _find(carbon.files, "c_storage_bas", "c_storage")
        if stock is not None:
            keep("stock", Text(f"{y0 or ''} 年碳储量密度", f"Carbon stock {y0 or ''}"),
                 F.carbon_stock_map(read_display_grid(stock, page.max_px), boundary, zones, year=y0, page=page))
        change = _find(carbon.files, "c_change")
        if change is not None:
            keep("change", Text(f"{y0}–{y1} 碳储量变化", f"Change in carbon stock {y0}–{y1}"),
                 F.carbon_change_map(read_display_grid(change, page.max_px), boundary, zones, years=years, page=page))
        table = getattr(carbon, "table", None)
        if table is not None:
            labels = {"baseline": str(y0), "alternate": str(y1)} if years else None
            keep("stocks_chart", Text("分地类、年份碳储量", "Carbon stock by class and year"),
                 F.stocks_chart(table, date_labels=labels), map_=False)
            if zones is not None and carbon.zones is not None:
                keep("zones_chart", Text("分区碳储量变化", "Change in carbon stock by zone"),
                     F.change_by_zone_chart(table), map_=False)
    cov = run.result("greenspace", "coverage")
    if cov is not None and boundary is not None:
        res = cov.result
        sites = run.result("greenspace", "sites")
        green = _layer(run, "greenspace")
        # gaps of one rule (the one sites were chosen for, else the first), straight line: the official measure
        rule = sites.summary.get("rule") if sites is not None else next(iter(cov.summary.get("rules", {})), None)
        keep("coverage", Text("绿地服务半径覆盖", "Green-space reach"),
             F.greenspace_map(res.neighbourhoods, boundary, green, gaps=res.gaps, gap_rule=rule, gap_mode="line",
                              sites=None if sites is None else sites.result.sites, page=page))
        keep("coverage_chart", Text("按规则与口径的覆盖率", "Coverage by rule and measure"),
             F.coverage_chart(cov.summary), map_=False)
    mines = run.result("mines")
    if mines is not None and boundary is not None and len(mines.data.sites):
        keep("mines", Text("历史遗留矿山图斑与治理状态", "Mine sites by status"),
             F.mines_map(_mine_sites(mines), boundary, page=page))
        keep("mines_chart", Text("矿山治理进度", "Mine rehabilitation progress"),
             F.mine_progress_chart(mines.report), map_=False)
    series, evaluation = monitoring if monitoring is not None else (None, None)
    if series is not None and evaluation is not None:
        from ..monitoring import indicator_charts

        wanted = evaluation[evaluation["indicator"].isin(
            ["wetland_area_ha", "forest_cover_pct", "carbon_stock_mgc", "green_300_coverage_pct",
             "park_500_coverage_pct", "park_area_per_person_m2", "mine_treated_km2", "mine_site_ndvi"])]
        wanted = wanted[[series.get(k, pd.Series(dtype=float)).notna().sum() >= 2 for k in wanted["indicator"]]]
        # the monitoring series has no source column of its own: synthetic if any of the run's layers is
        synthetic = any(r["status"] == "synthetic" for r in _panel_rows(run, _run_area(run)))
        for key, fig in indicator_charts(series, wanted, synthetic=synthetic).items():
            row = wanted[wanted["indicator"] == key].iloc[0]
            keep(f"target_{key}", Text(str(row.get("name_zh", key)), str(row.get("name_en", ""))), fig, map_=False)
    plots = _layer(run, "plots")
    if plots is not None and boundary is not None and run.stages.get("plots") and run.stages["plots"].status == "ok":
        keep("plots", Text("监测样地", "Monitoring plots"), F.plots_map(plots, boundary, page=page))
    return out, files


def _boundary_frame() -> Any:
    import geopandas as gpd

    from ..area import get_area

    area = get_area()
    if area.boundary is None:
        return None
    b = area.boundary
    frame = b if isinstance(b, gpd.GeoDataFrame) else gpd.GeoDataFrame(geometry=[b], crs=area.crs)
    return frame.to_crs(area.crs) if frame.crs is not None and area.crs is not None else frame


def _layer(run: Any, role: str) -> Any:
    from ..config import get_working_crs
    from ..io import read_vector

    from ..project.load import latest_layer

    item = latest_layer((run.settings or {}).get("layers", {}).get(role))  # by year: the latest year's
    if not item or not isinstance(item, dict) or not item.get("path"):
        return None
    gdf = read_vector(item["path"], layer=item.get("layer"), encoding=item.get("encoding"))
    return gdf.to_crs(get_working_crs()) if gdf.crs is not None else gdf


def _zones(run: Any) -> Any:
    try:
        return _layer(run, "zones")
    except Exception:  # noqa: BLE001 - zones only decorate the maps
        return None


def _mine_sites(mines: Any) -> Any:
    from ..mines.progress import sites_with_status

    return sites_with_status(mines.data.sites, mines.data.state.events, mines.report.as_of)
