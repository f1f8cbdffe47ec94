"""The baseline report's content, assembled from analysis results held in memory.

:func:`build_report` takes the results of one project run (:class:`ReportInputs`: carbon, green-space
reach, mine rehabilitation, monitoring plots, the layers used and the figures drawn) and returns a
:class:`~kunsink.report.document.Document` in the deliverable's order (碳汇本底调查与碳储量评估,
绿地服务半径覆盖情况, 历史遗留矿山治理进展): study area and data, land cover by class and year, carbon
stocks, green-space reach, mine rehabilitation, monitoring plots and biomass, methods and limitations.
Dates are years (2020, 2025), never "baseline/alternate". No file is read or written here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .document import DataPanel, Document, Figure, Notice, Paragraph, Section, Table, Text

__all__ = ["INTERNAL_USE_NOTE", "REPORT_SECTIONS", "ReportInputs", "build_report"]

#: The notice every internal planning map and report carries (no map approval number).
INTERNAL_USE_NOTE = Text("内部规划使用，不得公开发布（无审图号）",
                         "For internal planning use only; not for publication (no map approval number)")

#: Section anchors, in order; the HTML page has one ``<section id=…>`` per key.
REPORT_SECTIONS = ("area-data", "landcover", "carbon", "greenspace", "mines", "targets", "plots", "methods")

_POOL_LABELS = {"c_above": Text("地上生物量", "above-ground"), "c_below": Text("地下生物量", "below-ground"),
                "c_soil": Text("土壤有机碳", "soil organic"), "c_dead": Text("枯落物与死木", "dead matter")}

_CLASS_ZH = {"cropland": "耕地", "forest": "林地", "shrub": "灌木林", "grassland": "草地", "water": "水体",
             "snow": "冰雪", "barren": "裸地", "impervious": "不透水面", "wetland": "湿地"}


@dataclass
class ReportInputs:
    """Everything the report shows, as results in memory.

    Attributes
    ----------
    area_name : str
        The study area's name (e.g. ``昆都仑区``); ``area_km2`` its area in km².
    layers : list of dict
        The data panel: per layer ``layer`` (role), ``file``, ``status`` (``synthetic`` or ``real``), ``source``.
    years : tuple of int, optional
        The two land-cover years compared by the carbon model (e.g. ``(2020, 2025)``).
    carbon : kunsink.carbon.run.CarbonResult, optional
    coverage, indicators, siting : kunsink.greenspace.run.GreenspaceRun, optional
    mines : kunsink.mines.progress.ProgressReport, optional
    mines_gain : dict, optional
        Carbon gained on treated sites (``gain_mgc``, ``ci95_low_mgc``, ``ci95_high_mgc``).
    plots : dict, optional
        Monitoring plots: ``summary`` (dict of the biomass model) and ``by_class`` (DataFrame).
    figures : dict
        Theme → (:class:`Text` title, PNG bytes); themes used: ``landcover``, ``stock``, ``change``,
        ``stocks_chart``, ``zones_chart``, ``coverage``, ``coverage_chart``, ``mines``, ``mines_chart``, ``plots``.
    made_by, made_on : str, date
        制图单位 / 制图日期 (the report's author organisation and date).
    notes : list of str
        Notes of the run shown under limitations.
    """

    area_name: str
    area_km2: float | None = None
    population: float | None = None
    layers: list[dict[str, str]] = field(default_factory=list)
    years: tuple[int, int] | None = None
    carbon: Any = None
    #: The annual series (:class:`kunsink.carbon.series.CarbonSeries`) when three or more years were given.
    carbon_series: Any = None
    coverage: Any = None
    indicators: Any = None
    siting: Any = None
    mines: Any = None
    mines_gain: dict[str, Any] | None = None
    plots: dict[str, Any] | None = None
    figures: dict[str, tuple[Text, bytes]] = field(default_factory=dict)
    made_by: str = "kunsink"
    made_on: dt.date | None = None
    notes: list[str] = field(default_factory=list)
    crs_name: str | None = None
    #: Indicator series per year (index ``year``) and their evaluation (:func:`kunsink.monitoring.evaluate`).
    series: pd.DataFrame | None = None
    evaluation: pd.DataFrame | None = None

    @property
    def synthetic(self) -> bool:
        return any(r.get("status") == "synthetic" for r in self.layers)


def _fig(inp: ReportInputs, theme: str, width_mm: float = 160.0) -> list[Figure]:
    if theme not in inp.figures:
        return []
    title, png = inp.figures[theme]
    return [Figure(title, png, width_mm=width_mm)]


def _absent(what: Text) -> Notice:
    return Notice(Text(f"本次运行未配置{what.zh}。", f"{what.en} was not configured in this run."), "info")


def _year_labels(inp: ReportInputs) -> tuple[str, str]:
    if inp.years:
        return str(inp.years[0]), str(inp.years[1])
    return "基期", "末期"


def _class_label(name: Any) -> str:
    n = str(name)
    zh = _CLASS_ZH.get(n.lower())
    return f"{zh} {n}" if zh else n


# ---------------------------------------------------------------------------------------------- sections
def _area_section(inp: ReportInputs) -> Section:
    s = Section("area-data", Text("研究区与数据", "Study area and data"))
    facts = [f"{inp.area_name}"]
    if inp.area_km2:
        facts.append(f"{inp.area_km2:,.1f} km²")
    if inp.population:
        facts.append(f"常住人口 {inp.population:,.0f} 人 (2020 census)")
    s.add(Paragraph(Text("研究区：" + "，".join(facts) + "。",
                         f"Study area: {inp.area_name}" + (f", {inp.area_km2:,.1f} km²" if inp.area_km2 else "")
                         + (f", {inp.population:,.0f} residents (2020 census)" if inp.population else "") + ".")))
    if inp.crs_name:
        s.add(Paragraph(Text(f"坐标系：{inp.crs_name}", f"Coordinate reference system: {inp.crs_name}")))
    if inp.synthetic:
        s.add(Notice(Text("下表中标为“合成数据”的图层是为演示生成的虚构数据，不是调查成果。",
                          "Layers marked SYNTHETIC below were generated for demonstration; they are not survey "
                          "data."), "warning"))
    s.add(DataPanel(Text("数据清单", "Data used"), list(inp.layers)))
    return s


def _landcover_section(inp: ReportInputs) -> Section:
    s = Section("landcover", Text("土地覆被", "Land cover by class and year"))
    s.add(*_fig(inp, "landcover"))
    c = inp.carbon
    if c is None or c.classes is None:
        return s.add(_absent(Text("土地覆被（碳储量评估）", "Land cover (carbon assessment)")))
    y0, y1 = _year_labels(inp)
    cl = c.classes.reset_index()
    frame = pd.DataFrame({"class": [_class_label(n) for n in cl.get("name", cl.get("lucode"))],
                          "area0": cl.get("area_ha")})
    cols = {"class": Text("地类", "Class"), "area0": Text(f"{y0} 面积 (公顷)", f"{y0} area (ha)")}
    if "area_alt_ha" in cl:
        frame["area1"] = cl["area_alt_ha"]
        frame["diff"] = cl["area_alt_ha"].fillna(0) - cl["area_ha"].fillna(0)
        cols.update(area1=Text(f"{y1} 面积 (公顷)", f"{y1} area (ha)"),
                    diff=Text("变化 (公顷)", f"change {y0}–{y1} (ha)"))
    s.add(Table(Text("各地类面积", "Area by land-cover class"), frame, cols,
                {"area0": 1, "area1": 1, "diff": 1}))
    return s


def _carbon_section(inp: ReportInputs) -> Section:
    s = Section("carbon", Text("碳储量评估", "Carbon stocks"))
    c = inp.carbon
    if c is None:
        return s.add(_absent(Text("碳储量评估", "The carbon assessment")))
    sm, (y0, y1) = c.summary, _year_labels(inp)
    two = sm.get("total_alt_mgc") is not None
    low, high = sm.get("total_ci95_low_mgc", sm.get("ci95_low_mgc")), sm.get("total_ci95_high_mgc", sm.get("ci95_high_mgc"))
    rng = f"（95 % 区间 {low:,.0f}–{high:,.0f}）" if low is not None and high is not None else ""
    rng_en = f" (95 % range {low:,.0f}–{high:,.0f})" if low is not None and high is not None else ""
    zh = f"{y0} 年碳储量 {sm['total_mgc']:,.0f} Mg C{rng}，合 {sm['total_tco2e']:,.0f} t CO₂e"
    en = f"Carbon stock {y0}: {sm['total_mgc']:,.0f} Mg C{rng_en}, i.e. {sm['total_tco2e']:,.0f} t CO2e"
    if two:
        cl, ch = sm.get("change_ci95_low_mgc"), sm.get("change_ci95_high_mgc")
        crng = f"（95 % 区间 {cl:+,.0f}–{ch:+,.0f}）" if cl is not None else ""
        zh += f"；{y1} 年 {sm['total_alt_mgc']:,.0f} Mg C；{y0}–{y1} 变化 {sm['change_mgc']:+,.0f} Mg C{crng}"
        en += (f"; {y1}: {sm['total_alt_mgc']:,.0f} Mg C; change {y0}–{y1} {sm['change_mgc']:+,.0f} Mg C"
               + (f" (95 % range {cl:+,.0f} to {ch:+,.0f})" if cl is not None else ""))
    s.add(Paragraph(Text(zh + "。", en + ".")))

    pools = pd.DataFrame({"pool": [_POOL_LABELS.get(p, Text(p)).joined() for p in sm.get("pools_mgc", {})],
                          "y0": list(sm.get("pools_mgc", {}).values())})
    cols = {"pool": Text("碳库", "Pool"), "y0": Text(f"{y0} (Mg C)", f"{y0} (Mg C)")}
    if two:
        pools["y1"] = list(sm.get("pools_alt_mgc", {}).values())
        pools["d"] = pools["y1"] - pools["y0"]
        cols.update(y1=Text(f"{y1} (Mg C)", f"{y1} (Mg C)"), d=Text("变化 (Mg C)", "change (Mg C)"))
    s.add(Table(Text("分碳库碳储量", "Stocks by pool"), pools, cols, {"y0": 0, "y1": 0, "d": 0}))

    cl = c.classes.reset_index()
    frame = pd.DataFrame({"class": [_class_label(n) for n in cl.get("name", cl.get("lucode"))],
                          "y0": cl["total_mgc"]})
    cols = {"class": Text("地类", "Class"), "y0": Text(f"{y0} 碳储量 (Mg C)", f"{y0} stock (Mg C)")}
    if "total_alt_mgc" in cl:
        frame["y1"] = cl["total_alt_mgc"]
        frame["d"] = cl.get("stock_difference_mgc", cl["total_alt_mgc"] - cl["total_mgc"])
        cols.update(y1=Text(f"{y1} 碳储量 (Mg C)", f"{y1} stock (Mg C)"), d=Text("变化 (Mg C)", "change (Mg C)"))
    s.add(Table(Text("分地类碳储量", "Stocks by land-cover class"), frame, cols, {"y0": 0, "y1": 0, "d": 0}))
    s.add(*_fig(inp, "stocks_chart"))
    s.add(*_fig(inp, "stock"))
    if c.zones is not None and len(c.zones):
        z = c.zones.reset_index()
        frame = pd.DataFrame({"zone": z["zone"], "y0": z["total_mgc"]})
        cols = {"zone": Text("分区", "Zone"), "y0": Text(f"{y0} 碳储量 (Mg C)", f"{y0} stock (Mg C)")}
        if "total_alt_mgc" in z:
            frame["y1"] = z["total_alt_mgc"]
            frame["d"] = z.get("change_mgc", z["total_alt_mgc"] - z["total_mgc"])
            cols.update(y1=Text(f"{y1} 碳储量 (Mg C)", f"{y1} stock (Mg C)"), d=Text("变化 (Mg C)", "change (Mg C)"))
        s.add(Table(Text("分区碳储量", "Stocks by zone"), frame, cols, {"y0": 0, "y1": 0, "d": 0}))
        s.add(*_fig(inp, "zones_chart"))
    s.add(*_fig(inp, "change"))
    cs = inp.carbon_series
    if cs is not None:
        st = cs.stocks.reset_index()
        frame = pd.DataFrame({"year": st["year"].astype(int).astype(str), "area": st["area_ha"], "total": st["total_mgc"]})
        cols = {"year": Text("年份", "Year"), "area": Text("面积 (公顷)", "area (ha)"),
                "total": Text("碳储量 (Mg C)", "stock (Mg C)")}
        if "ci95_low_mgc" in st:
            frame["low"], frame["high"] = st["ci95_low_mgc"], st["ci95_high_mgc"]
            cols.update(low=Text("95 % 下限", "95 % low"), high=Text("95 % 上限", "95 % high"))
        s.add(Table(Text("逐年碳储量（一次读取全部年份）", "Stock by year (all years in one pass)"), frame, cols,
                    {"area": 1, "total": 0, "low": 0, "high": 0}))
        ch = cs.changes[(cs.changes["scope"] == "district") & cs.changes["kind"].str.startswith("consecutive")]
        frame = pd.DataFrame({"period": [f"{a}–{b}" for a, b in zip(ch["from_year"], ch["to_year"])],
                              "change": ch["change_mgc"]})
        cols = {"period": Text("时段", "Period"), "change": Text("变化 (Mg C)", "change (Mg C)")}
        if "ci95_low_mgc" in ch:
            frame["low"], frame["high"] = ch["ci95_low_mgc"].to_numpy(), ch["ci95_high_mgc"].to_numpy()
            cols.update(low=Text("95 % 下限", "95 % low"), high=Text("95 % 上限", "95 % high"))
        s.add(Table(Text("相邻年份间的碳储量变化", "Change between consecutive years"), frame, cols,
                    {"change": 0, "low": 0, "high": 0}))
    val = sm.get("valuation")
    if val:
        s.add(Paragraph(Text(
            f"按 {val['price_per_mgc']:,.0f} 元/Mg C、折现率 {val['discount_rate_pct']:g} % 计，{y0}–{y1} 碳储量变化的"
            f"净现值为 {val['npv_total']:,.0f} 元（示意）。",
            f"At CNY {val['price_per_mgc']:,.0f} per Mg C and a {val['discount_rate_pct']:g} % discount rate, the net "
            f"present value of the change {y0}–{y1} is CNY {val['npv_total']:,.0f} (illustrative).")))
    unv = sm.get("unverified_densities") or {}
    if unv:
        zh = "；".join(f"{_CLASS_ZH.get(str(k).lower(), k)}（{'、'.join(_POOL_LABELS.get(p, Text(p)).zh for p in v)}）"
                      for k, v in unv.items())
        en = "; ".join(f"{k} ({', '.join(_POOL_LABELS.get(p, Text(p, p)).en for p in v)})" for k, v in unv.items())
        s.add(Paragraph(Text(f"以下碳密度尚未经本地实测核实：{zh}。",
                             f"Densities not yet verified by local measurement: {en}."), "note"))
    return s


def _greenspace_section(inp: ReportInputs) -> Section:
    s = Section("greenspace", Text("绿地服务半径覆盖", "Green-space reach"))
    cov = inp.coverage
    if cov is None:
        return s.add(_absent(Text("绿地服务半径分析", "Green-space reach")))
    sm = cov.summary
    rows = []
    for rid, rule in sm.get("rules", {}).items():
        for mode in ("line", "network"):
            if mode in rule:
                m = rule[mode]
                rows.append({"rule": rule.get("label", rid),
                             "mode": "直线距离 straight line" if mode == "line" else "步行距离 walking",
                             "area": m.get("area_covered_pct"), "pop": m.get("population_covered_pct"),
                             "full": m.get("neighbourhoods_fully_covered"), "none": m.get("neighbourhoods_not_covered")})
    s.add(Paragraph(Text(
        f"共 {sm.get('neighbourhoods', 0):,} 个居住小区，居民 {sm.get('population') or 0:,.0f} 人。直线距离为官方口径，"
        "步行距离（沿道路网从公园入口出发）为诊断口径，两者并列。",
        f"{sm.get('neighbourhoods', 0):,} neighbourhoods, {sm.get('population') or 0:,.0f} residents. Straight-line "
        "distance is the official measure; walking distance along the street network from park entrances is shown "
        "beside it as a diagnostic.")))
    s.add(Table(Text("按规则与距离口径的覆盖率", "Coverage by rule and measure"), pd.DataFrame(rows),
                {"rule": Text("规则", "Rule"), "mode": Text("口径", "Measure"),
                 "area": Text("覆盖居住用地 (%)", "residential land covered (%)"),
                 "pop": Text("覆盖人口 (%)", "residents covered (%)"),
                 "full": Text("完全覆盖小区数", "neighbourhoods fully covered"),
                 "none": Text("未覆盖小区数", "neighbourhoods not covered")},
                {"area": 1, "pop": 1, "full": 0, "none": 0}))
    s.add(*_fig(inp, "coverage_chart"))
    s.add(*_fig(inp, "coverage"))
    nb = getattr(cov.result, "neighbourhoods", None)
    if nb is not None and len(nb) and "status_line" in nb.columns:
        worst = nb.sort_values("population", ascending=False) if "population" in nb.columns else nb
        worst = worst[worst["status_line"].astype(str) != "all met"].head(15)
        if len(worst):
            frame = pd.DataFrame({"name": worst.get("name", worst.get("res_id")),
                                  "population": worst.get("population"),
                                  "status": worst["status_line"].map(_status_label)})
            s.add(Table(Text("未完全达标的主要小区（按人口）", "Largest neighbourhoods not fully served (by residents)"),
                        frame, {"name": Text("小区", "Neighbourhood"), "population": Text("人口", "residents"),
                                "status": Text("直线口径状态", "status (straight line)")}, {"population": 0}))
    ind = inp.indicators
    if ind is not None and getattr(ind.result, "table", None) is not None:
        t = ind.result.table
        frame = pd.DataFrame({"indicator": t["indicator"], "value": t["value"], "unit": t["unit"],
                              "target": [f"{o} {v:g}" if pd.notna(v) else "" for o, v in zip(t["op"], t["target"])],
                              "meets": t["meets_target"].map(lambda v: "达标 met" if v is True else
                                                              ("未达标 not met" if v is False else "—")),
                              "standard": t["standard"]})
        s.add(Table(Text("绿地指标与目标", "Green-space indicators beside their targets"), frame,
                    {"indicator": Text("指标", "Indicator"), "value": Text("数值", "Value"), "unit": Text("单位", "Unit"),
                     "target": Text("目标", "Target"), "meets": Text("是否达标", "Met?"),
                     "standard": Text("依据", "Standard")}, {"value": 2}))
    site = inp.siting
    if site is not None and getattr(site.result, "sites", None) is not None:
        st = site.result.sites
        ss = site.summary
        frame = pd.DataFrame({"rank": st["rank"], "site": st["site_id"], "area": st["area_m2"], "gain": st["gain"]})
        s.add(Table(Text("建议新增绿地选址", "Proposed sites"), frame,
                    {"rank": Text("序号", "Rank"), "site": Text("候选地块", "Candidate"),
                     "area": Text("面积 (m²)", "area (m²)"), "gain": Text("新增覆盖", f"newly covered ({ss.get('objective_unit', '')})")},
                    {"area": 0, "gain": 0},
                    Text(f"规则 {ss.get('rule_label', '')}；覆盖率由 {ss.get('covered_pct_before', 0):.1f} % 提高到约 "
                         f"{ss.get('covered_pct_after_estimate', 0):.1f} %。",
                         f"Rule {ss.get('rule_label', '')}; coverage from {ss.get('covered_pct_before', 0):.1f} % to "
                         f"about {ss.get('covered_pct_after_estimate', 0):.1f} %.")))
    return s


def _status_label(v: Any) -> str:
    return {"all met": "全部达标 all met", "partly met": "部分达标 partly met",
            "none met": "均未达标 none met"}.get(str(v), str(v))


def _mines_section(inp: ReportInputs) -> Section:
    s = Section("mines", Text("历史遗留矿山治理进展", "Mine rehabilitation"))
    m = inp.mines
    if m is None:
        return s.add(_absent(Text("矿山治理台账", "The mine registry")))
    a, b = m.period
    s.add(Paragraph(Text(
        f"截至 {m.as_of.isoformat()}，{a}–{b} 年已完成治理 {m.completed_km2:.4f} km²，为 {m.target_km2:g} km² 目标的 "
        f"{m.progress_pct:.1f} %；其中已验收 {m.accepted_km2:.4f} km²（{m.accepted_pct:.1f} %）。",
        f"As of {m.as_of.isoformat()}, {m.completed_km2:.4f} km² were treated in {a}–{b}, {m.progress_pct:.1f} % of "
        f"the {m.target_km2:g} km² target; {m.accepted_km2:.4f} km² accepted ({m.accepted_pct:.1f} %).")))
    by = m.by_year.copy()
    s.add(Table(Text("分年度治理面积", "Treated area by year"), by[["year", "planned_km2", "completed_km2", "accepted_km2"]],
                {"year": Text("年份", "Year"), "planned_km2": Text("计划 (km²)", "planned (km²)"),
                 "completed_km2": Text("完成 (km²)", "completed (km²)"),
                 "accepted_km2": Text("验收 (km²)", "accepted (km²)")},
                {"planned_km2": 4, "completed_km2": 4, "accepted_km2": 4}))
    s.add(*_fig(inp, "mines_chart"))
    s.add(*_fig(inp, "mines"))
    if len(m.behind):
        bh = m.behind
        frame = pd.DataFrame({"site": bh["site_id"], "name": bh.get("name"), "planned": bh["planned_year"],
                              "area": bh["area_m2"], "reason": bh["reason"]})
        s.add(Table(Text("进度滞后的图斑", "Sites behind schedule"), frame,
                    {"site": Text("编号", "Site"), "name": Text("名称", "Name"), "planned": Text("计划年份", "Planned"),
                     "area": Text("面积 (m²)", "area (m²)"), "reason": Text("原因", "Reason")}, {"area": 0}))
    g = inp.mines_gain
    if g:
        s.add(Paragraph(Text(
            f"已治理图斑的碳增量约 {g['gain_mgc']:,.0f} Mg C（95 % 区间 {g['ci95_low_mgc']:,.0f}–{g['ci95_high_mgc']:,.0f}），"
            "为区级核算口径，非 CCER。",
            f"Carbon gained on treated sites about {g['gain_mgc']:,.0f} Mg C (95 % range {g['ci95_low_mgc']:,.0f}–"
            f"{g['ci95_high_mgc']:,.0f}); district accounting, not CCER.")))
    return s


_STATUS_LABEL = {"met": "已达标 met", "on track": "按趋势可达标 on track", "behind": "落后 behind",
                 "no target": "无目标 no target", "insufficient data": "数据不足 insufficient data"}


def _targets_section(inp: ReportInputs) -> Section:
    s = Section("targets", Text("监测指标与目标评估", "Monitoring against the plan's targets"))
    ev = inp.evaluation
    if ev is not None and "name_zh" in ev.columns:  # the target file's indicators; class areas are in section 2
        ev = ev[ev["name_zh"].astype(str) != ev["indicator"].astype(str)]
    if ev is None or not len(ev):
        return s.add(_absent(Text("监测指标", "Monitoring")))
    s.add(Paragraph(Text(
        "各指标按年份序列评价：最新值、Theil–Sen 趋势（90 % 区间）、目标年的预测值与状态。目标值取自 "
        "kunsink/data/targets/kundulun-2025.yaml（标明来源与是否已核实；“市级要求”待区里填写）。只有两期数据时趋势仅供参考。",
        "Each indicator's series is evaluated: latest value, Theil–Sen trend (90 % interval), projection to the "
        "target year and a status. Targets come from kunsink/data/targets/kundulun-2025.yaml (source and verified "
        "flag given; blanks marked 市级要求 are for the district to fill in). With two dates the trend is indicative.")))
    frame = pd.DataFrame({
        "indicator": [f"{a} {b}" for a, b in zip(ev.get("name_zh", ev["indicator"]), ev.get("name_en", ""))]
        if "name_zh" in ev.columns else ev["indicator"],
        "unit": ev["unit"],
        "latest_year": [str(int(y)) if pd.notna(y) else "" for y in ev["latest_year"]], "latest": ev["latest"],
        "target": [_target_cell(r) for r in ev.to_dict("records")],
        "projected": ev["projected"], "status": ev["status"].map(lambda v: _STATUS_LABEL.get(v, v)),
        "verified": ev["verified"].map(lambda v: "是 yes" if v is True else ("否 no" if v is False else "")),
    })
    s.add(Table(Text("指标与目标", "Indicators and targets"), frame,
                {"indicator": Text("指标", "Indicator"), "unit": Text("单位", "Unit"),
                 "latest_year": Text("最新年份", "Latest year"), "latest": Text("最新值", "Latest"),
                 "target": Text("目标", "Target"), "projected": Text("目标年预测", "Projected at target year"),
                 "status": Text("状态", "Status"), "verified": Text("目标已核实", "Target verified")},
                {"latest": 2, "projected": 2}))
    for r in ev.to_dict("records"):
        if r.get("status") in ("met", "on track", "behind") and r.get("reason_zh"):
            s.add(Paragraph(Text(str(r["reason_zh"]), str(r.get("reason_en") or "")), "bullet"))
    for key in ("wetland_area_ha", "forest_cover_pct", "carbon_stock_mgc", "green_300_coverage_pct",
                "park_500_coverage_pct", "park_area_per_person_m2", "mine_treated_km2", "mine_site_ndvi"):
        s.add(*_fig(inp, f"target_{key}", width_mm=130.0))
    return s


def _target_cell(r: dict[str, Any]) -> str:
    value, year = r.get("target"), r.get("target_year")
    base = r.get("baseline_year")
    if (value is None or (isinstance(value, float) and value != value)) and r.get("direction") in ("increase", "decrease") \
            and base is not None and base == base:
        sign = ">" if r["direction"] == "increase" else "<"
        return f"{sign} {int(base)} 水平 level" + (f" ({int(year)})" if year is not None and year == year else "")
    if value is None or (isinstance(value, float) and value != value):
        return "—"
    text = value if isinstance(value, str) else f"{value:g}"
    return f"{text} ({int(year)})" if year is not None and year == year else str(text)


def _plots_section(inp: ReportInputs) -> Section:
    s = Section("plots", Text("监测样地与生物量", "Monitoring plots and biomass"))
    p = inp.plots
    if not p:
        return s.add(_absent(Text("监测样地", "Monitoring plots")))
    sm = p.get("summary") or {}
    if sm.get("n_plots") is not None:
        s.add(Paragraph(Text(
            f"{sm.get('survey_year', '')} 年调查样地 {sm['n_plots']} 个，以 {sm.get('model', '')} 模型由遥感因子估算地上生物量"
            "（t/ha）；精度按空间分块交叉验证评价（随机交叉验证与对数线性基准模型并列）。",
            f"{sm['n_plots']} plots surveyed in {sm.get('survey_year', '')}; above-ground biomass (t/ha) modelled "
            f"from remote-sensing predictors with a {sm.get('model', '')} model; accuracy by spatial-block "
            "cross-validation (random CV and a log-linear baseline beside it).")))
    cv = p.get("cv")
    if cv is not None and len(cv):
        cols = [c for c in ("model", "cv", "n", "r2", "rmse", "rmse_pct", "bias") if c in cv.columns]
        s.add(Table(Text("模型精度（交叉验证）", "Model accuracy (cross-validation)"), cv[cols].reset_index(drop=True),
                    {"model": Text("模型", "Model"), "cv": Text("验证方式", "Validation"), "n": Text("样地数", "plots"),
                     "r2": Text("R²", "R²"), "rmse": Text("RMSE (t/ha)", "RMSE (t/ha)"),
                     "rmse_pct": Text("相对 RMSE (%)", "relative RMSE (%)"), "bias": Text("偏差 (t/ha)", "bias (t/ha)")},
                    {"n": 0, "r2": 3, "rmse": 2, "rmse_pct": 1, "bias": 2}))
    by = p.get("by_class")
    if by is not None and len(by):
        frame = by.reset_index() if not isinstance(by.index, pd.RangeIndex) else by
        s.add(Table(Text("分地类生物量", "Biomass by class"), frame))
    ch = p.get("change")
    if ch is not None and len(ch):
        cols = [c for c in ("stratum", "n_plots", "years", "mean_change_t_ha", "ci95_low_t_ha", "ci95_high_t_ha",
                            "mean_c_rate_mgc_ha_yr") if c in ch.columns]
        s.add(Table(Text("复测样地生物量变化", "Biomass change at remeasured plots"), ch[cols].reset_index(drop=True),
                    {"stratum": Text("层", "Stratum"), "n_plots": Text("样地数", "plots"), "years": Text("年份", "Years"),
                     "mean_change_t_ha": Text("平均变化 (t/ha)", "mean change (t/ha)"),
                     "ci95_low_t_ha": Text("95 % 下限 (t/ha)", "95 % low (t/ha)"),
                     "ci95_high_t_ha": Text("95 % 上限 (t/ha)", "95 % high (t/ha)"),
                     "mean_c_rate_mgc_ha_yr": Text("碳变化速率 (Mg C/ha/年)", "carbon rate (Mg C/ha/yr)")},
                    {"n_plots": 0, "mean_change_t_ha": 2, "ci95_low_t_ha": 2, "ci95_high_t_ha": 2,
                     "mean_c_rate_mgc_ha_yr": 3}))
    s.add(*_fig(inp, "plots"))
    return s


def _methods_section(inp: ReportInputs) -> Section:
    s = Section("methods", Text("方法、来源与局限", "Methods, sources and limitations"))
    s.add(Paragraph(Text(
        "碳储量采用与 InVEST 碳模型相同的四碳库（地上、地下、土壤、枯落物）密度法：各像元碳储量 = 地类碳密度 × 像元面积；"
        "95 % 区间由碳密度的取值范围经蒙特卡罗模拟（两期相关抽样）得到。",
        "Carbon stocks follow the InVEST carbon model's four-pool density method (above-ground, below-ground, soil, "
        "dead matter): stock per pixel = class density × pixel area; 95 % ranges come from Monte Carlo sampling of "
        "the density ranges, with both years drawn together.")))
    s.add(Paragraph(Text(
        "绿地服务半径按“300米见绿、500米见园”：直线距离自绿地边界量算（官方口径），步行距离沿道路网自公园入口量算；"
        "覆盖率以居住用地面积计（GB 55014-2021、CJJ/T 85-2017）。",
        "Green-space reach follows \"green within 300 m, a park within 500 m\": straight-line distance from the "
        "green-space boundary (official), walking distance along streets from park entrances; coverage as a share "
        "of residential land (GB 55014-2021, CJJ/T 85-2017).")))
    s.add(Paragraph(Text(
        "矿山治理进度取自治理台账（每次状态变更留有哈希链记录，可用 kunsink mines verify 校验）。",
        "Mine rehabilitation progress comes from the registry, whose every status change is kept in a hash chain "
        "(checked with kunsink mines verify).")))
    if inp.synthetic:
        s.add(Notice(Text("本报告中的合成数据仅用于演示方法与成果格式，不能用于决策。",
                          "The synthetic data in this report only demonstrate the method and the deliverable; do "
                          "not use them for decisions."), "warning"))
    for n in inp.notes:
        s.add(Paragraph(Text(n, ""), "note"))
    s.add(Paragraph(INTERNAL_USE_NOTE, "note"))
    return s


def build_report(inp: ReportInputs) -> Document:
    """The baseline report of one run as a :class:`Document` (seven sections, :data:`REPORT_SECTIONS`).

    Sections whose analysis was not run say so; every layer's synthetic or real status is in the data
    panel, and a synthetic layer anywhere puts the synthetic banner at the top.
    """
    y0, y1 = _year_labels(inp)
    when = (inp.made_on or dt.date.today()).isoformat()
    doc = Document(
        title=Text(f"{inp.area_name}碳汇本底调查与生态空间评估报告",
                   f"Carbon-sink survey, carbon stocks and green-space assessment of {inp.area_name}"),
        subtitle=Text("碳汇本底调查与碳储量评估 · 绿地服务半径覆盖情况 · 历史遗留矿山治理进展",
                      "Carbon stocks · green-space reach · mine rehabilitation"),
        meta=[(Text("研究区", "Study area"), inp.area_name),
              (Text("年份", "Years"), f"{y0}, {y1}" if inp.years else "—"),
              (Text("制图单位", "Prepared by"), inp.made_by),
              (Text("制图日期", "Date"), when),
              (Text("说明", "Note"), INTERNAL_USE_NOTE.joined(" / "))],
        synthetic=inp.synthetic,
        footer=Text(f"由 kunsink 生成 · {when} · {INTERNAL_USE_NOTE.zh}", f"Made with kunsink · {INTERNAL_USE_NOTE.en}"),
    )
    doc.sections = [_area_section(inp), _landcover_section(inp), _carbon_section(inp), _greenspace_section(inp),
                    _mines_section(inp), _targets_section(inp), _plots_section(inp), _methods_section(inp)]
    return doc
