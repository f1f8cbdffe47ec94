"""The mine-rehabilitation map: sites by status, popups with dates, surveys and an NDVI chart.

Each site's popup holds its area, status dates, treatment and restored class, carbon gained,
recovery flag, a table of its surveys and an NDVI trend chart drawn as **inline SVG** (no
chart library, nothing fetched: the page works offline). The legend shows the status colours
and the progress against the district target. Every text from the registry is HTML-escaped
in Python before it enters the page, and the data reach the page through Jinja's ``tojson``,
so a site name cannot break out of a popup or the ``<script>`` holding it.
"""

from __future__ import annotations

import datetime as dt
import html
import math
from typing import Any

import numpy as np
import pandas as pd
import shapely
from branca.element import Element, MacroElement
from folium.template import Template

from .base import KunsinkMap, area_title, new_map
from .decor import add_legend, decor, mark_synthetic, note_layer
from .labels import MINE_STATUS, RECOVERY_FLAGS, code_label
from .layers import _TIP_CSS, add_vector_layer, clean_style, format_value

__all__ = ["STATUS_COLOURS", "mines_map", "ndvi_chart_svg", "site_popup_html"]

#: status → (fill colour, label)
STATUS_COLOURS: dict[str | None, tuple[str, str]] = {
    "planned": ("#9aa5b1", MINE_STATUS["planned"]),
    "in_treatment": ("#f0a020", MINE_STATUS["in_treatment"]),
    "completed": ("#7cc46b", MINE_STATUS["completed"]),
    "accepted": ("#1f7a34", MINE_STATUS["accepted"]),
    None: ("#ffffff", "无状态 no status recorded"),
}
_BEHIND = "#d7191c"
_NOT_RECOVERING = "#7b3294"
_CSS = """<style>
  .kz-mine { font-size: 12px; max-width: 360px; }
  .kz-mine h3 { margin: 0 0 4px; font-size: 13.5px; }
  .kz-mine .kz-flag { display: inline-block; margin: 2px 0 4px; padding: 1px 6px; border-radius: 3px;
                      font-weight: 600; color: #fff; }
  .kz-mine table.kz-sv { border-collapse: collapse; margin-top: 4px; font-size: 11px; }
  .kz-mine table.kz-sv th, .kz-mine table.kz-sv td { border-bottom: 1px solid #ddd; padding: 1px 4px;
                                                     text-align: left; vertical-align: top; }
  .kz-mine table.kz-sv td:first-child { white-space: nowrap; }
  .kz-mine .kz-note { color: #666; font-size: 10.5px; margin-top: 3px; }
  .kz-mine svg { display: block; margin-top: 4px; }
</style>"""


class _SiteLayer(MacroElement):
    """The sites as one ``L.geoJSON`` in the parent FeatureGroup: style index ``_s``, tooltip ``_t``
    and popup ``_h`` per feature (already-escaped HTML built in Python)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function() {
          var st = {{ this.styles|tojson }}, hl = {{ this.highlights|tojson }};
          L.geoJSON({{ this.data|tojson }}, {
            style: function(f) { return st[f.properties._s]; },
            onEachFeature: function(f, layer) {
              var p = f.properties;
              layer.bindTooltip(p._t, {sticky: true, className: 'kz-tooltip'});
              layer.bindPopup(p._h, {maxWidth: 380, minWidth: 300});
              layer.on('mouseover', function() { layer.setStyle(hl[p._s]); });
              layer.on('mouseout', function() { layer.setStyle(st[p._s]); });
            }
          }).addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
        """
    )

    def __init__(self, data: dict, styles: list[dict], highlights: list[dict]) -> None:
        super().__init__()
        self._name = "KunsinkMineSites"
        self.data, self.styles, self.highlights = data, styles, highlights

    def render(self, **kwargs: Any) -> None:
        root = self.get_root()
        root.header.add_child(Element(_TIP_CSS), name="kunsink_vector_css")
        root.header.add_child(Element(_CSS), name="kunsink_mines_css")
        super().render(**kwargs)


def _e(value: Any, field: str = "") -> str:
    return html.escape(format_value(value, field))


def _is_date(v: Any) -> bool:
    return v is not None and not (isinstance(v, float) and math.isnan(v)) and v is not pd.NaT and hasattr(v, "year")


def _frac_year(d: dt.date) -> float:
    start = dt.date(d.year, 1, 1)
    return d.year + (d - start).days / 365.25


def ndvi_chart_svg(survey_points: list[tuple[dt.date, float]], image_points: list[tuple[int, float]],
                   markers: dict[str, dt.date] | None = None, width: int = 300, height: int = 130) -> str:
    """An NDVI-over-time chart as inline SVG (no script, no external resource).

    Parameters
    ----------
    survey_points : list of (date, NDVI)
        Field-survey NDVI (solid green line with dots).
    image_points : list of (year, NDVI)
        Mean NDVI of the site on satellite images, drawn at mid-year (orange squares, dashed).
    markers : {label: date}, optional
        Vertical lines (e.g. treatment start, completion); labels are escaped.

    Returns
    -------
    str
        ``<svg …>…</svg>``, or a short note if there are fewer than two points.
    """
    pts = [(_frac_year(d), float(v)) for d, v in survey_points if v is not None and np.isfinite(v)]
    img = [(y + 0.5, float(v)) for y, v in image_points if v is not None and np.isfinite(v)]
    if len(pts) + len(img) < 2:
        return '<div class="kz-note">NDVI: fewer than two values, no trend chart</div>'
    xs = [x for x, _ in pts + img] + [_frac_year(d) for d in (markers or {}).values() if _is_date(d)]
    ys = [v for _, v in pts + img]
    x0, x1 = math.floor(min(xs)), math.ceil(max(xs) + 1e-9)
    if x1 <= x0:
        x1 = x0 + 1
    lo, hi = min(0.0, min(ys)), max(ys)
    step = 0.1 if hi - lo > 0.25 else 0.05
    y0 = math.floor(lo / step) * step
    y1 = math.ceil(hi / step + 1e-9) * step
    if y1 - y0 < step:
        y1 = y0 + step
    left, right, top, bottom = 34, 8, 16, 20
    pw, ph = width - left - right, height - top - bottom

    def sx(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * pw

    def sy(y: float) -> float:
        return top + (1 - (y - y0) / (y1 - y0)) * ph

    parts = [f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="NDVI trend" style="font:10px sans-serif">',
             f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="#fafafa" stroke="#bbb"/>']
    n_ticks = int(round((y1 - y0) / step))
    for k in range(n_ticks + 1):
        v = y0 + k * step
        parts.append(f'<line x1="{left}" x2="{left + pw}" y1="{sy(v):.1f}" y2="{sy(v):.1f}" stroke="#e4e4e4"/>')
        parts.append(f'<text x="{left - 3}" y="{sy(v) + 3:.1f}" text-anchor="end" fill="#555">{v:.2f}</text>')
    every = max(1, (x1 - x0) // 6)
    for year in range(x0, x1 + 1, every):
        parts.append(f'<line x1="{sx(year):.1f}" x2="{sx(year):.1f}" y1="{top}" y2="{top + ph}" stroke="#e4e4e4"/>')
        if year < x1:
            parts.append(f'<text x="{sx(year + 0.5):.1f}" y="{height - 6}" text-anchor="middle" fill="#555">'
                         f'{year}</text>')
    shown = [(label, d) for label, d in (markers or {}).items() if _is_date(d)]
    for k, (label, d) in enumerate(shown):
        x = sx(_frac_year(d))
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{top + ph}" stroke="#555" '
                     f'stroke-dasharray="3,2"><title>{html.escape(label)} {d.isoformat()}</title></line>')
        parts.append(f'<text x="{x + 2:.1f}" y="{top + 10 + 11 * k}" fill="#444">{html.escape(label)}</text>')
    if len(img) >= 2:
        path = " ".join(f"{sx(x):.1f},{sy(v):.1f}" for x, v in img)
        parts.append(f'<polyline points="{path}" fill="none" stroke="#e07b00" stroke-width="1.5" '
                     'stroke-dasharray="5,3"/>')
    for x, v in img:
        parts.append(f'<rect x="{sx(x) - 3:.1f}" y="{sy(v) - 3:.1f}" width="6" height="6" fill="#e07b00">'
                     f'<title>satellite NDVI {v:.3f}</title></rect>')
    if len(pts) >= 2:
        path = " ".join(f"{sx(x):.1f},{sy(v):.1f}" for x, v in pts)
        parts.append(f'<polyline points="{path}" fill="none" stroke="#2e7d32" stroke-width="2"/>')
    for x, v in pts:
        parts.append(f'<circle cx="{sx(x):.1f}" cy="{sy(v):.1f}" r="3" fill="#2e7d32">'
                     f'<title>survey NDVI {v:.3f}</title></circle>')
    legend = '<text x="{0}" y="{1}" fill="#2e7d32">● survey NDVI</text>'.format(left + 4, top - 4)
    if img:
        legend += f'<text x="{left + 100}" y="{top - 4}" fill="#e07b00">■ satellite NDVI</text>'
    parts.append(legend)
    parts.append("</svg>")
    return "".join(parts)


def site_popup_html(site: pd.Series, surveys: pd.DataFrame, *, gain: pd.Series | None = None,
                    recovery: pd.Series | None = None, ndvi: pd.DataFrame | None = None,
                    behind_reason: str | None = None) -> str:
    """The popup of one site: facts table, flags, NDVI chart and survey table (escaped HTML)."""
    status = site.get("status")
    status = None if status is None or (isinstance(status, float) and math.isnan(status)) else status
    colour, label = STATUS_COLOURS.get(status, STATUS_COLOURS[None])
    rows = [("状态 status", f"{label}" + (f" ({format_value(site.get('status_date'))})" if status else ""))]
    rows.append(("面积 area", f"{format_value(site['area_m2'])} m² ({site['area_m2'] / 1e4:.2f} ha)"))
    dates = [f"{lbl} {format_value(site.get(f'{k}_on'))}" for k, lbl in
             (("planned", "计划"), ("in_treatment", "开工"), ("completed", "完工"), ("accepted", "验收"))
             if _is_date(site.get(f"{k}_on"))]
    if dates:
        rows.append(("日期 dates", " · ".join(dates)))
    rows.append(("计划年份 planned year", format_value(site.get("planned_year"), "planned_year")))
    rows.append(("治理方式 treatment", format_value(site.get("treatment_type"))))
    if site.get("responsible_unit") is not None and not pd.isna(site.get("responsible_unit")):
        rows.append(("责任单位 unit", format_value(site.get("responsible_unit"))))
    if gain is not None and not pd.isna(gain.get("gain_mgc")):
        counted = "" if bool(gain.get("counted")) else " (潜力 potential: not completed yet)"
        rows.append(("碳增量 carbon gained",
                     f"{gain['gain_mgc']:.1f} Mg C ({gain['gain_low_mgc']:.1f}–{gain['gain_high_mgc']:.1f}, 95 %) "
                     f"→ {format_value(gain.get('class_name'))}{counted}"))
    if recovery is not None:
        rows.append(("恢复 recovery", f"{code_label(recovery['flag'], RECOVERY_FLAGS)}: {recovery['reason']}"))
    rows.append(("来源 source", format_value(code_label(site.get("source"), "source"))))
    title = f"{site['site_id']} {format_value(site.get('name'))}" if site.get("name") else str(site["site_id"])
    out = ['<div class="kz-mine">', f"<h3>{html.escape(title)}</h3>"]
    flags = []
    if behind_reason:
        flags.append((_BEHIND, "落后进度 behind schedule", behind_reason))
    if recovery is not None and recovery["flag"] in ("not recovering", "cover falling"):
        flags.append((_NOT_RECOVERING, code_label(recovery["flag"], RECOVERY_FLAGS), recovery["reason"]))
    for c, text, why in flags:
        out.append(f'<span class="kz-flag" style="background:{c}" title="{html.escape(why)}">{html.escape(text)}'
                   "</span> ")
    out.append('<table class="kz-tip">' + "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
                                                  for k, v in rows) + "</table>")
    sv = surveys.sort_values("survey_date") if len(surveys) else surveys
    survey_points = [(r.survey_date, r.ndvi_mean) for r in sv.itertuples() if not pd.isna(r.ndvi_mean)]
    image_points = []
    if ndvi is not None and len(ndvi):
        image_points = [(int(r.year), r.ndvi_mean) for r in ndvi.sort_values("year").itertuples()]
    markers = {}
    if _is_date(site.get("in_treatment_on")):
        markers["开工"] = site["in_treatment_on"]
    if _is_date(site.get("completed_on")):
        markers["完工"] = site["completed_on"]
    out.append(ndvi_chart_svg(survey_points, image_points, markers))
    if len(sv):
        head = "<tr><th>调查日期 date</th><th>覆盖度 cover %</th><th>NDVI</th><th>备注 note</th><th>照片 photo</th></tr>"
        body = "".join(
            f"<tr><td>{_e(r.survey_date)}</td><td>{_e(r.veg_cover_pct)}</td><td>"
            f"{'—' if pd.isna(r.ndvi_mean) else f'{r.ndvi_mean:.3f}'}</td><td>{_e(r.note)}</td>"
            f"<td>{_e(r.photo_ref)}</td></tr>" for r in sv.itertuples())
        out.append(f'<table class="kz-sv">{head}{body}</table>')
    else:
        out.append('<div class="kz-note">no surveys recorded</div>')
    if gain is not None:
        out.append('<div class="kz-note">碳增量为区级核算，非CCER减排量 · carbon: district accounting, not a CCER credit'
                   "</div>")
    out.append("</div>")
    return "".join(out)


def mines_map(data: Any, *, report: Any = None, gain: Any = None, recovery: pd.DataFrame | None = None,
              ndvi: pd.DataFrame | None = None, boundary: Any = None,
              title: str | None = None, **map_options: Any) -> KunsinkMap:
    """Map a mine registry: sites coloured by status, rich popups, target progress in the legend.

    Parameters
    ----------
    data : kunsink.mines.RegistryData
        From :func:`kunsink.mines.load_registry` (sites in the registry CRS).
    report : kunsink.mines.ProgressReport, optional
        Progress against the target (legend; behind-schedule outlines).
    gain : kunsink.mines.carbon_gain.CarbonGain, optional
        Carbon gained per site (popups).
    recovery : DataFrame, optional
        From :func:`kunsink.mines.recovery.recovery_table` (popups; outlines of sites not recovering).
    ndvi : DataFrame, optional
        From :func:`kunsink.mines.recovery.site_ndvi` (satellite points in the NDVI charts).
    boundary : GeoDataFrame, optional
        Area outline; default the study area's (:func:`kunsink.area.get_area`).

    Returns
    -------
    KunsinkMap
        Save it with :func:`kunsink.maps.save_map`.
    """
    title = title or area_title("矿山修复", "mine rehabilitation")
    from ..errors import InputError

    sites = data.sites
    if len(sites) == 0:
        raise InputError(f"{data.path.name} holds no sites yet; import some first (kunsink mines import)")
    if boundary is None:
        from ..area import get_area

        boundary = get_area().boundary
    as_of = getattr(report, "as_of", None)
    subtitle = f"截至 as of {as_of.isoformat()}" if as_of else None
    m = new_map(sites, title=title, subtitle=subtitle, **map_options)
    if boundary is not None:
        add_vector_layer(m, boundary, "行政边界 District boundary",
                         style={"color": "#222222", "weight": 2.0, "fill": False, "dashArray": "6,4"},
                         tooltip_fields=next(({c: "名称 name"} for c in ("district_name", "name")
                                              if c in boundary.columns), None))
    behind = {}
    if report is not None and len(report.behind):
        behind = dict(zip(report.behind["site_id"], report.behind["reason"]))
    gains = gain.sites.set_index("site_id") if gain is not None else None
    rec = recovery.set_index("site_id") if recovery is not None else None
    surveys = data.surveys[data.surveys["active"]] if len(data.surveys) else data.surveys
    ll = sites.to_crs("EPSG:4326")
    if decor(m).settings.shift_to_gcj02:
        from ..crs import convert_gdf

        ll = convert_gdf(ll, "wgs84", "gcj02")
    styles: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    features = []
    geoms = shapely.transform(np.asarray(ll.geometry.values, dtype=object), lambda xy: np.round(xy, 6))
    for i, (row, geom) in enumerate(zip(sites.itertuples(index=False), geoms)):
        s = pd.Series(row._asdict())
        status = s["status"] if isinstance(s["status"], str) else None
        fill = STATUS_COLOURS.get(status, STATUS_COLOURS[None])[0]
        r = rec.loc[s["site_id"]] if rec is not None and s["site_id"] in rec.index else None
        edge, dash, weight = "#333333", None, 1.2
        if r is not None and r["flag"] in ("not recovering", "cover falling"):
            edge, weight = _NOT_RECOVERING, 3.0
        if s["site_id"] in behind:
            edge, dash, weight = _BEHIND, "5,3", 3.0
        style = clean_style({"color": edge, "weight": weight, "opacity": 1.0, "fillColor": fill,
                             "fillOpacity": 0.75, **({"dashArray": dash} if dash else {})})
        key = repr(sorted(style.items()))
        if key not in index:
            index[key] = len(styles)
            styles.append(style)
        popup = site_popup_html(
            s, surveys[surveys["site_id"] == s["site_id"]] if len(surveys) else surveys,
            gain=gains.loc[s["site_id"]] if gains is not None and s["site_id"] in gains.index else None,
            recovery=r, ndvi=ndvi[ndvi["site_id"] == s["site_id"]] if ndvi is not None else None,
            behind_reason=behind.get(s["site_id"]))
        tip = (f"<b>{html.escape(str(s['site_id']))}</b> {_e(s.get('name'))}<br>"
               f"{html.escape(STATUS_COLOURS.get(status, STATUS_COLOURS[None])[1])} · {_e(s['area_m2'])} m²")
        features.append({"type": "Feature", "id": i, "properties": {"_s": index[key], "_t": tip, "_h": popup},
                         "geometry": shapely.geometry.mapping(geom)})
    highlights = [{**st, "weight": st.get("weight", 1.0) + 2.0, "fillOpacity": 0.9} for st in styles]
    import folium

    name = "矿山修复图斑 Mine sites"
    group = folium.FeatureGroup(name=html.escape(name), overlay=True, control=True, show=True)
    group.add_child(_SiteLayer({"type": "FeatureCollection", "features": features}, styles, highlights))
    group.add_to(m)
    note_layer(m, html.escape(name), True)
    if data.synthetic:
        mark_synthetic(m, html.escape(name))
    entries: list[tuple[Any, ...]] = [(STATUS_COLOURS[s][0], STATUS_COLOURS[s][1]) for s in
                                      ("planned", "in_treatment", "completed", "accepted")]
    if sites["status"].isna().any():
        entries.append((STATUS_COLOURS[None][0], STATUS_COLOURS[None][1]))
    entries.append((_BEHIND, "落后进度 behind schedule (outline)", "line"))
    if recovery is not None:
        entries.append((_NOT_RECOVERING, "植被未恢复 not recovering (outline)", "line"))
    add_legend(m, "状态 Status", entries, layer=html.escape(name))
    if report is not None:
        a, b = report.period
        prog = [
            (STATUS_COLOURS["completed"][0], f"完工 completed {report.completed_km2:.3f} km² · {report.progress_pct:.1f} %"),
            (STATUS_COLOURS["accepted"][0], f"验收 accepted {report.accepted_km2:.3f} km² · {report.accepted_pct:.1f} %"),
            (_BEHIND, f"落后进度 behind schedule: {len(report.behind)} site(s)", "line"),
        ]
        add_legend(m, f"目标进度 Target {report.target_km2:g} km² ({a}–{b}); completed includes accepted", prog)
    if gain is not None:
        add_legend(m, "碳增量 Carbon gained (district accounting, not CCER)", [
            (STATUS_COLOURS["accepted"][0], f"{gain.gained_mgc:,.0f} Mg C "
                                            f"({gain.gained_low_mgc:,.0f}–{gain.gained_high_mgc:,.0f}, 95 %)")])
    return m
