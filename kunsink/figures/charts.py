"""Charts for the report (matplotlib): carbon stocks by class and year, change by zone, green-space
coverage by rule and measure, mine rehabilitation progress against the target.

Each chart takes the table kunsink already writes, as it is read back (``pandas.read_csv`` of the
CSV, ``json.load`` of the summary), and returns a :class:`matplotlib.figure.Figure` (default
160 × 95 mm, for a report page). Charts of synthetic data say so in red under the title. Write
with :func:`kunsink.figures.maps.save_figure`.

=====================  ==========================================================================
chart                  input
=====================  ==========================================================================
stocks_chart           carbon ``summary.csv``: ``scope, id, name, date, total_mgc, total_tco2e,
                       source`` (rows of one scope; ``date`` baseline/alternate or a year)
change_by_zone_chart   carbon ``summary.csv`` (zone rows, district ``change`` row with
                       ``ci95_low_mgc``/``ci95_high_mgc``) or ``zones.csv`` (``zone, change_mgc``,
                       optional ``ci95_low_mgc``, ``ci95_high_mgc``)
coverage_chart         green-space coverage ``summary.json`` (dict) or :func:`coverage_table`
mine_progress_chart    ``ProgressReport`` of :func:`kunsink.mines.progress.progress_report`, its
                       ``by_year`` table (``year, planned_km2, completed_km2, accepted_km2``) or
                       its ``to_dict()``
=====================  ==========================================================================
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..errors import InputError
from .fonts import CJKFont, bold_weight, check_text, font_context
from .furniture import SYNTHETIC_BANNER
from .page import MM_PER_INCH

__all__ = [
    "CHART_SIZE_MM",
    "change_by_zone_chart",
    "coverage_chart",
    "coverage_table",
    "mine_progress_chart",
    "stocks_chart",
]

#: Default chart size (width, height) in mm: the text width of an A4 report page.
CHART_SIZE_MM: tuple[float, float] = (160.0, 95.0)
#: t CO2e per Mg C (44/12).
_CO2_PER_C = 44.0 / 12.0
_LOSS, _GAIN = "#c0392b", "#2166ac"
_DATE_LABELS = {"baseline": "基准 baseline", "alternate": "对比 alternate"}


def _require(df: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InputError(f"{what}: missing column(s) {', '.join(missing)}; it has: {', '.join(map(str, df.columns))}")


def _synthetic(df: Any) -> bool:
    if isinstance(df, pd.DataFrame) and "source" in df.columns:
        return bool(df["source"].astype(str).str.strip().str.lower().eq("synthetic").any())
    return False


def _figure(size_mm: tuple[float, float], dpi: float) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(size_mm[0] / MM_PER_INCH, size_mm[1] / MM_PER_INCH), dpi=dpi, facecolor="white")


def _head(fig: Any, ax: Any, title: str | None, synthetic: bool) -> None:
    top = 0.97
    if title:
        fig.text(0.5, top, check_text(title), ha="center", va="top", fontsize=11, fontweight=bold_weight(),
                 gid="kunsink-title")
        top -= 0.075
    if synthetic:
        fig.text(0.5, top, check_text(SYNTHETIC_BANNER), ha="center", va="top", fontsize=8, color="#b71c1c",
                 fontweight=bold_weight(), gid="kunsink-synthetic")
        top -= 0.06
    ax.set_position((0.11, 0.2, 0.86, max(0.3, top - 0.25)))
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=7.5)


def _thousands(ax: Any, axis: str = "y") -> None:
    from matplotlib.ticker import FuncFormatter

    fmt = FuncFormatter(lambda v, _p: f"{v:,.0f}" if abs(v) >= 10 or v == 0 else f"{v:,.2g}")
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)


# --------------------------------------------------------------------------- carbon stocks

def _class_label(row: Any) -> str:
    from ..landcover import CLASS_NAMES_ZH

    try:
        zh = CLASS_NAMES_ZH.get(int(row["id"]), "")
    except (TypeError, ValueError):
        zh = ""
    name = str(row["name"])
    return f"{zh}\n{name}" if zh and zh not in name else name


def stocks_chart(summary: pd.DataFrame, *, scope: Literal["class", "zone"] = "class",
                 unit: Literal["mgc", "tco2e"] = "mgc", date_labels: Mapping[str, str] | None = None,
                 title: str | None = "碳储量（按地类、年份）Carbon stock by class and year",
                 size_mm: tuple[float, float] = CHART_SIZE_MM, dpi: float = 200.0,
                 font: CJKFont | None = None) -> Any:
    """Grouped bars: carbon stock per land-cover class (or zone), one bar per date.

    Parameters
    ----------
    summary : DataFrame
        The carbon run's ``summary.csv``: columns ``scope``, ``id``, ``name``, ``date`` (or ``year``),
        ``total_mgc`` (Mg C), optionally ``total_tco2e`` and ``source``. Rows of ``scope`` are drawn;
        a table without ``scope`` is used whole.
    scope : {"class", "zone"}
    unit : {"mgc", "tco2e"}
        Mg C, or t CO2e (× 44/12 when the table has no ``total_tco2e``).
    date_labels : mapping, optional
        Display names of the ``date`` values, e.g. ``{"baseline": "2020", "alternate": "2025"}``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    date_col = "date" if "date" in summary.columns else "year"
    _require(summary, ["name", date_col, "total_mgc"], "carbon summary")
    df = summary[summary["scope"] == scope] if "scope" in summary.columns else summary
    if df.empty:
        raise InputError(f"carbon summary: no rows of scope {scope!r}")
    df = df.copy()
    if unit == "tco2e":
        df["value"] = df["total_tco2e"] if "total_tco2e" in df.columns else df["total_mgc"] * _CO2_PER_C
        ylabel = "碳储量 Carbon stock (t CO₂e)"
    else:
        df["value"] = df["total_mgc"]
        ylabel = "碳储量 Carbon stock (Mg C)"
    if "id" not in df.columns:
        df["id"] = None
    df["label"] = [_class_label(r) if scope == "class" else str(r["name"]) for _, r in df.iterrows()]
    labels_map = {**_DATE_LABELS, **{str(k): str(v) for k, v in (date_labels or {}).items()}}
    dates = list(dict.fromkeys(df[date_col].astype(str)))
    groups = list(dict.fromkeys(df["label"]))
    table = df.assign(_d=df[date_col].astype(str)).pivot_table(index="label", columns="_d", values="value",
                                                                aggfunc="sum", sort=False)
    with font_context(font):
        fig = _figure(size_mm, dpi)
        ax = fig.add_subplot()
        x = np.arange(len(groups))
        width = 0.8 / max(len(dates), 1)
        colours = ["#7fb77e", "#2e7d32", "#1b5e20", "#a5d6a7", "#004d40"]
        for i, d in enumerate(dates):
            vals = table.reindex(groups)[d].to_numpy(dtype=float) if d in table.columns else np.zeros(len(groups))
            ax.bar(x - 0.4 + width * (i + 0.5), np.nan_to_num(vals), width, label=check_text(labels_map.get(d, d)),
                   color=colours[i % len(colours)], edgecolor="white", linewidth=0.5)
        ax.set_xticks(x, [check_text(g) for g in groups], fontsize=7)
        ax.set_ylabel(check_text(ylabel), fontsize=8)
        _thousands(ax)
        ax.legend(fontsize=7.5, frameon=False, ncol=len(dates))
        ax.grid(axis="y", color="#dddddd", linewidth=0.5)
        ax.set_axisbelow(True)
        _head(fig, ax, title, _synthetic(df))
        return fig


# --------------------------------------------------------------------------- change by zone

def _zone_changes(table: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series | None]:
    """(zones with ``zone, change_mgc[, ci95_low_mgc, ci95_high_mgc]``, district change row or None)."""
    if "scope" in table.columns:
        _require(table, ["scope", "name", "date", "total_mgc"], "carbon summary")
        z = table[table["scope"] == "zone"]
        base = z[z["date"] == "baseline"].set_index("name")["total_mgc"]
        alt = z[z["date"] == "alternate"].set_index("name")["total_mgc"]
        zones = pd.DataFrame({"zone": base.index, "change_mgc": (alt.reindex(base.index) - base).to_numpy()})
        if "source" in z.columns:
            zones["source"] = z.drop_duplicates("name").set_index("name")["source"].reindex(base.index).to_numpy()
        d = table[(table["scope"] == "district") & (table["date"] == "change")]
        district = d.iloc[0] if len(d) else None
        if district is not None:
            district = district.copy()
            district["change_mgc"] = district["total_mgc"]
        return zones, district
    _require(table, ["zone", "change_mgc"], "zone table")
    return table.copy(), None


def change_by_zone_chart(table: pd.DataFrame, *, unit: Literal["mgc", "tco2e"] = "mgc",
                         title: str | None = "碳储量变化（按分区）Change in carbon stock by zone",
                         size_mm: tuple[float, float] = CHART_SIZE_MM, dpi: float = 200.0,
                         font: CJKFont | None = None) -> Any:
    """Horizontal bars of the change per zone (losses red, gains blue) with 95 % ranges as error bars.

    Parameters
    ----------
    table : DataFrame
        The carbon run's ``summary.csv`` (zone changes from the zones' baseline and alternate
        totals; the district's change with its Monte Carlo 95 % range ``ci95_low_mgc`` …
        ``ci95_high_mgc`` is added as 全区 district) or its ``zones.csv`` (``zone``, ``change_mgc``;
        error bars where ``ci95_low_mgc``/``ci95_high_mgc`` are given).
    unit : {"mgc", "tco2e"}
        Mg C or t CO2e (× 44/12).

    Notes
    -----
    A run reports the 95 % range for the district only; bars without a range carry no error bar
    and the chart says so.
    """
    zones, district = _zone_changes(table)
    if zones.empty and district is None:
        raise InputError("no zone changes to chart (the carbon run had no zones or no alternate date)")
    rows = [(str(r["zone"]), float(r["change_mgc"]), r.get("ci95_low_mgc"), r.get("ci95_high_mgc"))
            for _, r in zones.iterrows()]
    if district is not None:
        rows.append(("全区 District", float(district["change_mgc"]), district.get("ci95_low_mgc"),
                     district.get("ci95_high_mgc")))
    k = _CO2_PER_C if unit == "tco2e" else 1.0
    names = [r[0] for r in rows]
    vals = np.array([r[1] for r in rows]) * k
    lo = np.array([np.nan if r[2] is None or pd.isna(r[2]) else float(r[2]) for r in rows]) * k
    hi = np.array([np.nan if r[3] is None or pd.isna(r[3]) else float(r[3]) for r in rows]) * k
    has = np.isfinite(lo) & np.isfinite(hi)
    with font_context(font):
        fig = _figure(size_mm, dpi)
        ax = fig.add_subplot()
        y = np.arange(len(rows))[::-1]
        bars = ax.barh(y, vals, color=[_LOSS if v < 0 else _GAIN for v in vals], height=0.6)
        ax.bar_label(bars, labels=[f"{v:+,.0f}" for v in vals], fontsize=6.5, padding=2)
        if has.any():
            err = np.vstack([np.clip(vals - lo, 0, None), np.clip(hi - vals, 0, None)])[:, has]
            ax.errorbar(vals[has], y[has], xerr=err, fmt="none", ecolor="#222222", elinewidth=0.9, capsize=3)
        ax.axvline(0, color="#444444", linewidth=0.7)
        ax.set_yticks(y, [check_text(n) for n in names], fontsize=7.5)
        ax.set_xlabel(check_text("碳储量变化 Change in carbon stock (t CO₂e)" if unit == "tco2e"
                                 else "碳储量变化 Change in carbon stock (Mg C)"), fontsize=8)
        _thousands(ax, "x")
        ax.grid(axis="x", color="#dddddd", linewidth=0.5)
        ax.set_axisbelow(True)
        note = ("误差线：蒙特卡洛 95 % 区间 error bars: Monte Carlo 95 % range"
                + ("" if has.all() else "；无误差线者无区间估计 bars without one have no range estimate"))
        if not has.any():
            note = "无区间估计 no 95 % range available for these values"
        fig.text(0.01, 0.015, check_text(note), fontsize=6.5, color="#555555", ha="left", va="bottom")
        synthetic = _synthetic(zones) or (district is not None and str(district.get("source", "")).lower() == "synthetic")
        _head(fig, ax, title, synthetic)
        ax.set_position((0.3, 0.2, 0.66, ax.get_position().height))
        return fig


# --------------------------------------------------------------------------- green-space coverage

def coverage_table(summary: Mapping[str, Any]) -> pd.DataFrame:
    """The coverage ``summary.json`` of a green-space run as a table.

    Returns
    -------
    DataFrame
        One row per rule and measure: ``rule``, ``label``, ``mode`` (``line`` straight line,
        ``network`` walking), ``area_covered_pct`` and ``population_covered_pct`` (% of residential
        land area and of residents), ``official`` (the rule's official measure), ``source``.
    """
    rules = summary.get("rules")
    if not isinstance(rules, Mapping) or not rules:
        raise InputError("coverage summary: no 'rules' (expected the summary.json of a green-space coverage run)")
    source = summary.get("data_source")
    rows = []
    for rid, rule in rules.items():
        for mode in ("line", "network"):
            m = rule.get(mode)
            if not isinstance(m, Mapping):
                continue
            rows.append({"rule": rid, "label": rule.get("label", rid), "mode": mode,
                         "area_covered_pct": m.get("area_covered_pct"),
                         "population_covered_pct": m.get("population_covered_pct"),
                         "official": rule.get("official_mode") == mode, "source": source})
    return pd.DataFrame(rows, columns=["rule", "label", "mode", "area_covered_pct", "population_covered_pct",
                                       "official", "source"])


def coverage_chart(coverage: Mapping[str, Any] | pd.DataFrame, *, targets: Mapping[str, float] | None = None,
                   title: str | None = "公园绿地服务覆盖率 Green-space coverage by rule and measure",
                   size_mm: tuple[float, float] = CHART_SIZE_MM, dpi: float = 200.0,
                   font: CJKFont | None = None) -> Any:
    """Grouped bars per rule: straight line vs walking, as % of residential land area and % of residents.

    Parameters
    ----------
    coverage : dict or DataFrame
        A coverage ``summary.json`` (loaded) or :func:`coverage_table`'s frame.
    targets : mapping rule id → %, optional
        Drawn as a dashed line over the rule's bars (e.g. ``{"park_500": 80.0}``, GB 55014-2021).
    """
    df = coverage_table(coverage) if isinstance(coverage, Mapping) else coverage
    _require(df, ["rule", "label", "mode", "area_covered_pct", "population_covered_pct"], "coverage table")
    rules = list(dict.fromkeys(df["rule"]))
    series = [("line", "area_covered_pct", "直线 · 居住用地面积 straight line · % area", "#1f77b4", None),
              ("line", "population_covered_pct", "直线 · 人口 straight line · % population", "#9ecae1", None),
              ("network", "area_covered_pct", "步行 · 居住用地面积 walking · % area", "#e6550d", None),
              ("network", "population_covered_pct", "步行 · 人口 walking · % population", "#fdae6b", None)]
    series = [s for s in series if (df["mode"] == s[0]).any()]
    with font_context(font):
        fig = _figure(size_mm, dpi)
        ax = fig.add_subplot()
        x = np.arange(len(rules))
        width = 0.8 / max(len(series), 1)
        for i, (mode, col, label, colour, hatch) in enumerate(series):
            vals = [df[(df["rule"] == r) & (df["mode"] == mode)][col] for r in rules]
            v = np.array([float(s.iloc[0]) if len(s) and pd.notna(s.iloc[0]) else np.nan for s in vals])
            bars = ax.bar(x - 0.4 + width * (i + 0.5), np.nan_to_num(v), width, color=colour, hatch=hatch,
                          label=check_text(label), edgecolor="white", linewidth=0.5)
            ax.bar_label(bars, labels=[f"{a:.0f}" if np.isfinite(a) else "–" for a in v], fontsize=6, padding=1)
        for j, r in enumerate(rules):
            if targets and r in targets:
                ax.hlines(float(targets[r]), x[j] - 0.45, x[j] + 0.45, colors="#b71c1c", linestyles="--", linewidth=1)
                ax.text(x[j] - 0.45, float(targets[r]) + 1, check_text(f"目标 target {targets[r]:g} %"), fontsize=6.5,
                        color="#b71c1c", va="bottom", ha="left")
        labels = [str(df[df["rule"] == r]["label"].iloc[0]) for r in rules]
        ax.set_xticks(x, [check_text(lab.replace(" · ", "\n", 1)) for lab in labels], fontsize=7)
        ax.set_ylim(0, 130)
        ax.set_yticks([0, 20, 40, 60, 80, 100])
        ax.set_ylabel(check_text("覆盖率 Coverage (%)"), fontsize=8)
        ax.legend(fontsize=6.5, frameon=False, ncol=2, loc="upper center")
        ax.grid(axis="y", color="#dddddd", linewidth=0.5)
        ax.set_axisbelow(True)
        fig.text(0.01, 0.015, check_text("直线距离为官方口径，步行距离为诊断 straight line is the official figure; walking is a "
                                         "diagnostic"), fontsize=6.5, color="#555555", ha="left", va="bottom")
        synthetic = _synthetic(df) or (isinstance(coverage, Mapping) and coverage.get("data_source") == "synthetic")
        _head(fig, ax, title, bool(synthetic))
        return fig


# --------------------------------------------------------------------------- mine progress

def mine_progress_chart(progress: Any, *, target_km2: float | None = None, period: tuple[int, int] | None = None,
                        synthetic: bool | None = None,
                        title: str | None = "矿山生态修复进度 Mine rehabilitation progress",
                        size_mm: tuple[float, float] = CHART_SIZE_MM, dpi: float = 200.0,
                        font: CJKFont | None = None) -> Any:
    """Cumulative completed and accepted area by year against the target (km²).

    Parameters
    ----------
    progress : ProgressReport, dict or DataFrame
        A :class:`kunsink.mines.progress.ProgressReport`, its ``to_dict()``, or its ``by_year``
        table: ``year``, ``planned_km2``, ``completed_km2``, ``accepted_km2`` (km² per year).
    target_km2 : float, optional
        Area to complete in the period (default the report's, else 0.2 km²: the district plan).
    period : (int, int), optional
        Programme years (default the report's, else 2023–2025); shaded.
    synthetic : bool, optional
        Show the synthetic notice (default: the report's flag).
    """
    if isinstance(progress, pd.DataFrame):
        by_year = progress
    elif isinstance(progress, Mapping):
        by_year = pd.DataFrame(progress.get("by_year") or [])
        target_km2 = target_km2 if target_km2 is not None else progress.get("target_km2")
        period = period or (tuple(progress["period"]) if progress.get("period") else None)
        synthetic = synthetic if synthetic is not None else progress.get("data_source") == "synthetic"
    else:
        by_year = progress.by_year
        target_km2 = target_km2 if target_km2 is not None else progress.target_km2
        period = period or tuple(progress.period)
        synthetic = synthetic if synthetic is not None else bool(progress.synthetic)
    _require(by_year, ["year", "completed_km2", "accepted_km2"], "mine progress by year")
    if by_year.empty:
        raise InputError("mine progress: no years to chart")
    target = float(target_km2) if target_km2 is not None else 0.2
    a, b = period if period else (2023, 2025)
    t = by_year.sort_values("year")
    years = t["year"].astype(int).to_numpy()
    done = t["completed_km2"].astype(float).cumsum().to_numpy()
    acc = t["accepted_km2"].astype(float).cumsum().to_numpy()
    planned = t["planned_km2"].astype(float).cumsum().to_numpy() if "planned_km2" in t.columns else None
    with font_context(font):
        fig = _figure(size_mm, dpi)
        ax = fig.add_subplot()
        ax.axvspan(a - 0.5, b + 0.5, color="#f3f3f3", zorder=0)
        bars = ax.bar(years, done, 0.6, color="#7cc46b", label=check_text("累计完工 completed (cumulative)"), zorder=2)
        ax.bar(years, acc, 0.3, color="#1f7a34", label=check_text("累计验收 accepted (cumulative)"), zorder=3)
        ax.bar_label(bars, labels=[f"{v:.3f}" for v in done], fontsize=6.5, padding=1)
        if planned is not None:
            ax.plot(years, planned, color="#555555", marker="o", markersize=3, linewidth=1, linestyle=":",
                    label=check_text("累计计划 planned (cumulative)"), zorder=4)
        ax.axhline(target, color="#b71c1c", linestyle="--", linewidth=1.2, zorder=5,
                   label=check_text(f"目标 target {target:g} km² ({a}–{b})"))
        ax.set_xticks(years, [str(y) for y in years])
        ax.set_ylabel(check_text("面积 Area (km²)"), fontsize=8)
        top = max(target, float(done.max()), float(planned.max()) if planned is not None else 0.0)
        ax.set_ylim(0, top * 1.55)
        ax.legend(fontsize=6.5, frameon=False, loc="upper left", ncol=2)
        ax.grid(axis="y", color="#dddddd", linewidth=0.5)
        ax.set_axisbelow(True)
        pct = 100.0 * float(t.loc[t["year"].between(a, b), "completed_km2"].sum()) / target
        fig.text(0.01, 0.015, check_text(f"{a}–{b} 年完工 completed: {pct:.1f} % of target；"
                                         "灰色为计划期 shaded: programme period"), fontsize=6.5, color="#555555",
                 ha="left", va="bottom")
        _head(fig, ax, title, bool(synthetic))
        return fig
