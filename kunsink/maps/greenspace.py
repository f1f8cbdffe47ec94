"""The green-space reach map: neighbourhoods by status, service areas, gaps, proposed pocket parks.

Built from the objects of :mod:`kunsink.greenspace` (no files read): a
:class:`~kunsink.greenspace.coverage.CoverageResult` and optionally a
:class:`~kunsink.greenspace.siting.SitingResult`. Every layer is escaped and, when the inputs are
synthetic (``source`` = synthetic), flagged with the synthetic-data notice.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely

from .base import KunsinkMap, area_title, new_map
from .decor import add_legend
from .labels import COVERAGE_STATUS
from .layers import add_vector_layer

__all__ = ["STATUS_COLOURS", "greenspace_map"]

#: status → (fill colour, label)
STATUS_COLOURS: dict[str, tuple[str, str]] = {
    "all met": ("#2e9d4f", COVERAGE_STATUS["all met"]),
    "partly met": ("#f0b429", COVERAGE_STATUS["partly met"]),
    "none met": ("#d64545", COVERAGE_STATUS["none met"]),
}
_SA_COLOURS = ["#1f77b4", "#7b3fb0", "#0f8b8d", "#c2185b"]
_PARK, _GREEN, _GAP = "#1f8a3c", "#9ccc5a", "#8b0000"
#: Service areas and gaps are simplified by this tolerance (m) for drawing only.
_SIMPLIFY_M = 3.0


def _tint(colour: str, alpha: float) -> str:
    """``rgba()`` of a ``#rrggbb`` colour at ``alpha``: a legend swatch as light as the layer's fill."""
    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def _pct(v: Any) -> Any:
    return None if v is None or (isinstance(v, float) and not np.isfinite(v)) else round(100.0 * float(v), 1)


def greenspace_map(coverage: Any, siting: Any = None, *, boundary: Any = None, mode: str | None = None,
                   title: str | None = None, data_source: str | None = None,
                   **map_options: Any) -> KunsinkMap:
    """Map a coverage run (and proposed sites).

    Parameters
    ----------
    coverage : CoverageResult
        From :func:`kunsink.greenspace.coverage.compute_coverage`.
    siting : SitingResult, optional
        Proposed sites, drawn with their rank and gain.
    boundary : GeoDataFrame, optional
        District outline.
    mode : {"line", "network"}, optional
        Which measure colours the neighbourhoods (default: the first rule's official mode if measured).
    data_source : str, optional
        ``"synthetic"`` marks every layer as synthetic (default: from the layers' ``source`` columns).

    Returns
    -------
    KunsinkMap
    """
    title = title or area_title("绿地可达", "green space within reach")
    prof = coverage.state["profile"]
    modes = coverage.summary["modes"]
    if mode is None:
        mode = prof.rules[0].official_mode if prof.rules[0].official_mode in modes else modes[0]
    synthetic = None if data_source is None else data_source == "synthetic"
    res = coverage.neighbourhoods
    m = new_map(res, title=title,
                subtitle=f"{prof.name} · {prof.id} v{prof.version} · "
                         f"{'直线距离 straight line' if mode == 'line' else '步行网络 walking network'}",
                **map_options)
    if boundary is not None:
        add_vector_layer(m, boundary, "行政边界 District boundary",
                         style={"color": "#202020", "weight": 2.0, "fill": False, "dashArray": "8,4"})

    # service areas (under everything else), one layer per rule and mode
    sa = coverage.service_areas
    sa_names: list[str] = []
    sa_legend: dict[str, tuple[str, str]] = {}
    for i, row in enumerate(sa.itertuples(index=False)):
        colour = _SA_COLOURS[prof.rules.index(prof.rule(row.rule)) % len(_SA_COLOURS)]
        name = (f"服务范围 Service area {row.radius_m} · {row.rule} "
                f"({'直线 line' if row.mode == 'line' else '步行 walk'})")
        layer = sa.iloc[[i]].copy()
        layer["geometry"] = shapely.simplify(layer.geometry.values, _SIMPLIFY_M)
        layer["area_ha"] = layer["area_m2"] / 1e4
        show = row.mode == mode
        sa_names.append(name)
        sa_legend.setdefault(row.rule, (colour, f"{row.rule}: {row.label}"))
        add_vector_layer(m, layer, name, style={"color": colour, "weight": 1.0, "fillColor": colour,
                                                "fillOpacity": 0.10, "dashArray": "4,3" if row.mode != "line" else "1"},
                         tooltip_fields={"label": "规则 rule", "radius_m": "半径 radius", "area_ha": "面积 area (ha)"},
                         show=show, synthetic=synthetic)

    # neighbourhoods by status, popups with distances and shares
    t = res.copy()
    labels: dict[str, str] = {"name": "名称 name"} if "name" in t.columns else {}
    labels.update({"res_id": "编号 id", "population": "人口 population", "status": "状态 status"})
    t["status"] = t[f"status_{mode}"].map(lambda s: STATUS_COLOURS.get(s, ("", s))[1])
    for r in prof.rules:
        for md, sh, zh in (("line", "line", "直线"), ("network", "net", "步行")):
            if md not in modes:
                continue
            t[f"{r.id}_{sh}_m"] = t[f"{r.id}_{sh}_m"].round(0)
            t[f"{r.id}_{sh}_pct"] = t[f"{r.id}_{sh}_share"].map(_pct)
            labels[f"{r.id}_{sh}_m"] = f"{r.id} {zh}距离 {md} distance (m)"
            labels[f"{r.id}_{sh}_pct"] = f"{r.id} {zh}覆盖 {md} covered (%)"
    gaps = coverage.gaps
    for r in prof.rules:  # the gap figures live in the neighbourhood popup: the gap layers ignore the mouse
        g = gaps[(gaps["rule"] == r.id) & (gaps["mode"] == mode)]
        per = g.groupby("res_id")[["area_m2", "population"]].sum()
        t[f"{r.id}_gap_ha"] = (t["res_id"].map(per["area_m2"]).astype("float64").fillna(0.0) / 1e4).round(2)
        t[f"{r.id}_gap_pop"] = t["res_id"].map(per["population"]).astype("float64").fillna(0.0).round(0)
        labels[f"{r.id}_gap_ha"] = f"{r.id} 缺口面积 gap (ha)"
        labels[f"{r.id}_gap_pop"] = f"{r.id} 缺口人口 residents in gap"
    keep = [c for c in labels if c in t.columns]
    t = t[keep + ["geometry"] + (["source"] if "source" in t.columns else [])]

    def style(row: Any) -> dict[str, Any]:
        key = res_status.get(row["res_id"], "none met")
        return {"color": "#6b4f2a", "weight": 0.6, "fillColor": STATUS_COLOURS[key][0], "fillOpacity": 0.55}

    res_status = dict(zip(res["res_id"], res[f"status_{mode}"]))
    tips = {k: labels[k] for k in keep if k in ("name", "res_id", "status", "population")}
    name_res = "居住区达标情况 Neighbourhoods by status"
    add_vector_layer(m, t, name_res, style=style, tooltip_fields=tips, popup_fields={k: labels[k] for k in keep},
                     synthetic=synthetic)
    add_legend(m, name_res, [(c, lab) for c, lab in STATUS_COLOURS.values()], layer=name_res)
    if sa_names:
        add_legend(m, "服务范围 Service areas",
                   [(_tint(c, 0.25), lab, "fill", c) for c, lab in sa_legend.values()], layer=sa_names)

    # gaps of each rule in the chosen mode, drawn over the neighbourhoods but ignoring the mouse
    gap_names: list[str] = []
    for r in prof.rules:
        g = gaps[(gaps["rule"] == r.id) & (gaps["mode"] == mode)].copy()
        if g.empty:
            continue
        g["geometry"] = shapely.simplify(g.geometry.values, _SIMPLIFY_M)
        name_gap = f"缺口 Gaps · {r.id}"
        gap_names.append(name_gap)
        add_vector_layer(m, g[["geometry"] + (["source"] if "source" in g.columns else [])], name_gap,
                         style={"color": _GAP, "weight": 0.8, "fillColor": _GAP, "fillOpacity": 0.35},
                         show=r is prof.rules[0], synthetic=synthetic, interactive=False)
    if gap_names:
        add_legend(m, "缺口 Gaps", [(_GAP, "未覆盖的居住用地 uncovered residential land", "fill", _GAP)], layer=gap_names)

    # green spaces: parks and other green
    greens = coverage.state["greens"].copy()
    greens["area_ha"] = greens["area_m2"] / 1e4
    fields = {k: v for k, v in {"name": "名称 name", "gs_id": "编号 id", "gs_type": "类型 type", "is_park": "公园 park",
                                "public_access": "开放 public", "area_ha": "面积 area (ha)"}.items()
              if k in greens.columns}
    add_vector_layer(m, greens, "绿地与公园 Green spaces and parks",
                     style=lambda row: {"color": "#14532d", "weight": 0.8,
                                        "fillColor": _PARK if row["is_park"] else _GREEN, "fillOpacity": 0.85},
                     tooltip_fields=fields, popup_fields=fields, synthetic=synthetic)
    add_legend(m, "绿地 Green space", [(_PARK, "公园 park"), (_GREEN, "其他绿地 other green")],
               layer="绿地与公园 Green spaces and parks")

    if coverage.entrances is not None and len(coverage.entrances):
        add_vector_layer(m, coverage.entrances, "公园出入口 Park entrances",
                         style=lambda row: {"color": "#0b3d0b", "weight": 1.0, "radius": 3.0,
                                            "fillColor": "#ffffff" if row["kind"] == "pseudo" else "#0b3d0b",
                                            "fillOpacity": 1.0},
                         tooltip_fields={"gs_id": "公园 park", "kind": "类型 kind (given/pseudo)"}, show=False,
                         synthetic=synthetic)
    if coverage.unreachable is not None and len(coverage.unreachable):
        add_vector_layer(m, coverage.unreachable, "网络不可达 Unreachable homes",
                         style={"color": "#000000", "weight": 0.5, "radius": 2.0, "fillColor": "#000000",
                                "fillOpacity": 0.8}, show=False, synthetic=synthetic)

    if siting is not None and len(siting.sites):
        s = siting.sites.copy()
        s["gain"] = s["gain"].round(0)
        s["standalone_gain"] = s["standalone_gain"].round(0)
        s["area_ha"] = (s["area_m2"] / 1e4).round(2)
        s["label"] = s["rank"].astype(str)
        sf = {"rank": "序号 rank", "site_id": "编号 id", "gain": "新增覆盖人口 newly covered",
              "standalone_gain": "单独新增 alone", "area_ha": "面积 area (ha)", "radius_m": "服务半径 radius (m)"}
        name_sites = "建议口袋公园 Proposed pocket parks"
        add_vector_layer(m, s, name_sites, style={"color": "#4a148c", "weight": 2.5, "fillColor": "#ce93d8",
                                                  "fillOpacity": 0.9},
                         tooltip_fields=sf, popup_fields=sf, labels="label", synthetic=synthetic)
        add_legend(m, name_sites, [("#ce93d8", f"建议 proposed (k = {len(s)}, {siting.summary['rule']}, "
                                              f"{siting.summary['mode']})", "fill", "#4a148c")], layer=name_sites)
    return m
