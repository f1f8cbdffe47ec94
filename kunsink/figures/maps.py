"""Themed print maps (A4/A3, PNG/PDF) from in-memory layers: carbon stock and change, land cover,
green-space coverage, mine sites by status, monitoring plots.

Every builder takes data, not file paths — GeoDataFrames in a projected CRS (metres), rasters as
:class:`~kunsink.figures.rasters.Grid`, rioxarray DataArrays, or arrays with a transform — and
returns a :class:`matplotlib.figure.Figure` with the full furniture of
:mod:`kunsink.figures.furniture`. Layers in another CRS than the boundary's are reprojected
(vectors) or refused (rasters: warp them first). A map showing any synthetic layer carries the
synthetic banner. Write with :func:`save_figure`.

Example
-------
>>> from kunsink.figures import maps, PageOptions               # doctest: +SKIP
>>> fig = maps.landcover_map(grid, boundary, year=2020, page=PageOptions(size="A4", date="2026-11-30"))
>>> maps.save_figure(fig, "outputs/report/landcover_2020")        # .png and .pdf
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ..errors import CRSError, LayerError
from .fonts import CJKFont, check_text, font_context
from .furniture import (
    DEFAULT_ORGANISATION,
    LegendItem,
    MapInfo,
    add_footer,
    add_legend,
    add_north_arrow,
    add_scale_bar,
    add_synthetic_banner,
    add_title,
    check_metric_crs,
    is_synthetic,
    set_coordinate_axes,
)
from .page import PageLayout, new_page, page_layout
from .rasters import DEFAULT_MAX_PX, Grid, as_grid

__all__ = [
    "SYNTHETIC_SOURCE",
    "PageOptions",
    "carbon_change_map",
    "carbon_stock_map",
    "greenspace_map",
    "landcover_map",
    "mines_map",
    "plots_map",
    "save_figure",
]

#: What the sources line says for a synthetic layer.
SYNTHETIC_SOURCE = "kunsink 合成演示场景 synthetic demo scene"

_BOUNDARY = {"facecolor": "none", "edgecolor": "#111111", "linewidth": 1.4, "zorder": 6}
_ZONES = {"facecolor": "none", "edgecolor": "#4d4d4d", "linewidth": 0.7, "linestyle": (0, (5, 3)), "zorder": 5}


@dataclass
class PageOptions:
    """Paper, resolution and the footer's maker and date for one map.

    Attributes
    ----------
    size : {"A4", "A3"}
    orientation : {"auto", "portrait", "landscape"}
        ``auto`` picks the one that maps the area at the larger scale.
    dpi : float
        Resolution of the figure (PNG pixels = page inches × dpi; default 200).
    max_px : int
        Rasters are reduced to at most this many pixels on their long side before drawing.
    organisation : str
        制图单位 (default ``"kunsink"``).
    date : date or str, optional
        制图日期 (give it for reproducible output; default today).
    sources : list of str
        Data sources to list; layers flagged synthetic add :data:`SYNTHETIC_SOURCE` themselves.
    notes : list of str
        Extra footer lines.
    font : CJKFont, optional
        Font to use (default :func:`kunsink.figures.fonts.find_cjk_font`).
    """

    size: str = "A4"
    orientation: Literal["auto", "portrait", "landscape"] = "auto"
    dpi: float = 200.0
    max_px: int = DEFAULT_MAX_PX
    organisation: str = DEFAULT_ORGANISATION
    date: Any = None
    sources: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    font: CJKFont | None = None


# --------------------------------------------------------------------------- helpers

def _crs_of(boundary: Any) -> Any:
    crs = getattr(boundary, "crs", None)
    if crs is None:
        raise CRSError("the boundary layer has no CRS; print maps need a projected CRS in metres")
    return check_metric_crs(crs)


def _vector(gdf: Any, crs: Any, name: str) -> Any:
    """The layer in the map's CRS, without empty geometries; None stays None."""
    if gdf is None:
        return None
    if not hasattr(gdf, "geometry"):
        raise LayerError(f"{name}: expected a GeoDataFrame")
    if gdf.crs is None:
        raise CRSError(f"{name}: the layer has no CRS")
    out = gdf if gdf.crs == crs else gdf.to_crs(crs)
    return out[~(out.geometry.isna() | out.geometry.is_empty)]


def _raster(obj: Any, crs: Any, name: str, max_px: int, method: str) -> Grid:
    g = as_grid(obj, max_px=max_px, method=method)  # type: ignore[arg-type]
    if g.crs is not None and not g.crs.equals(crs):
        raise CRSError(f"{name}: the raster is in {g.crs.name}, the map in {crs.name}; warp it to the map's CRS first")
    return g


def _bounds(boundary: Any, pad: float = 0.03) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = (float(v) for v in boundary.total_bounds)
    d = pad * max(x1 - x0, y1 - y0, 1.0)
    return x0 - d, y0 - d, x1 + d, y1 + d


def _sources(layers: Iterable[Any], given: Sequence[str]) -> list[str]:
    out = list(given)
    if any(is_synthetic(layer) for layer in layers) and SYNTHETIC_SOURCE not in out:
        out.append(SYNTHETIC_SOURCE)
    for layer in layers:
        if layer is not None and "source" in getattr(layer, "columns", ()):
            for s in layer["source"].dropna().astype(str).unique()[:3]:
                if s.strip() and s.strip().lower() != "synthetic" and s not in out:
                    out.append(s)
    return out


@dataclass
class _Page:
    fig: Any
    ax: Any
    layout: PageLayout
    crs: Any
    info: MapInfo


def _start(title: str, subtitle: str | None, boundary: Any, layers: Sequence[Any], page: PageOptions | None) -> _Page:
    page = page or PageOptions()
    crs = _crs_of(boundary)
    synthetic = any(is_synthetic(layer) for layer in (boundary, *layers))
    bounds = _bounds(boundary)
    layout = page_layout(page.size, bounds, page.orientation, synthetic=synthetic)
    fig = new_page(layout, page.dpi)
    ax = fig.add_axes(layout.map, gid="kunsink-map")
    ax.set_xlim(bounds[0], bounds[2])
    ax.set_ylim(bounds[1], bounds[3])
    ax.set_aspect("equal", adjustable="box", anchor="C")
    info = MapInfo(title=title, subtitle=subtitle, sources=_sources((boundary, *layers), page.sources),
                   organisation=page.organisation, date=page.date, synthetic=synthetic, notes=list(page.notes))
    return _Page(fig, ax, layout, crs, info)


def _finish(p: _Page, items: Sequence[LegendItem], colorbar: dict[str, Any] | None = None) -> Any:
    add_title(p.fig, p.layout.title, p.info.title, p.info.subtitle)
    if p.info.synthetic and p.layout.banner is not None:
        add_synthetic_banner(p.fig, p.layout.banner)
    set_coordinate_axes(p.ax, p.crs)
    add_north_arrow(p.ax, p.crs)
    add_scale_bar(p.ax, p.crs)
    add_legend(p.fig, p.layout.panel, items, colorbar=colorbar)
    add_footer(p.fig, p.layout.footer, p.info, p.crs)
    return p.fig


def _draw_boundary(p: _Page, boundary: Any) -> LegendItem:
    _vector(boundary, p.crs, "boundary").plot(ax=p.ax, **_BOUNDARY)
    name = ""
    if "name" in getattr(boundary, "columns", ()) and len(boundary):
        name = str(boundary["name"].iloc[0])
    return LegendItem(f"{name} 边界 boundary".strip(), "#111111", "line", width=1.4)


def _draw_zones(p: _Page, zones: Any, label_field: str | None = "name") -> LegendItem | None:
    z = _vector(zones, p.crs, "zones")
    if z is None or not len(z):
        return None
    z.plot(ax=p.ax, **_ZONES)
    if label_field and label_field in z.columns:
        for geom, label in zip(z.geometry.representative_point(), z[label_field].astype(str)):
            p.ax.annotate(check_text(label), (geom.x, geom.y), ha="center", va="center", fontsize=6.5, zorder=7,
                          color="#222222", bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none",
                                                 "alpha": 0.7})
    return LegendItem("分区 zones", "#4d4d4d", "line", width=0.7, dashed=True)


def _ramp(colours: Sequence[str], name: str) -> Any:
    from matplotlib.colors import LinearSegmentedColormap

    return LinearSegmentedColormap.from_list(name, list(colours))


def _imshow(p: _Page, grid: Grid, cmap: Any, norm: Any) -> Any:
    return p.ax.imshow(grid.masked(), extent=grid.extent, origin="upper", cmap=cmap, norm=norm,
                       interpolation="nearest", zorder=1, resample=False)


def _robust_max(values: np.ma.MaskedArray, q: float = 98.0) -> float:
    data = values.compressed()
    if data.size == 0:
        return 1.0
    v = float(np.percentile(data, q))
    return v if v > 0 else float(max(data.max(), 1e-6))


# --------------------------------------------------------------------------- carbon

def carbon_stock_map(stock: Any, boundary: Any, zones: Any = None, *, year: int | str | None = None,
                     title: str | None = None, subtitle: str | None = None, page: PageOptions | None = None) -> Any:
    """Carbon stock density (Mg C/ha) with the area boundary and zones.

    Parameters
    ----------
    stock : Grid, DataArray, ndarray-with-transform mapping
        Total carbon per hectare, Mg C/ha (``c_storage_*.tif`` of a carbon run), in the boundary's CRS.
    boundary : GeoDataFrame
        Study area, projected CRS in metres (sets the map's CRS and extent).
    zones : GeoDataFrame, optional
        Planning zones drawn as dashed outlines, labelled by their ``name``.
    year : int or str, optional
        Shown in the subtitle.

    Returns
    -------
    matplotlib.figure.Figure
    """
    page = page or PageOptions()
    with font_context(page.font):
        crs = _crs_of(boundary)
        g = _raster(stock, crs, "carbon stock", page.max_px, "mean")
        sub = subtitle or (f"{year} 年 · 单位 Mg C/ha（四库合计 all pools）" if year is not None
                           else "单位 Mg C/ha（四库合计 all pools）")
        p = _start(title or "碳储量密度 Carbon stock density", sub, boundary, [g, zones], page)
        vals = g.masked()
        vmax = _robust_max(vals)
        from matplotlib.colors import Normalize

        from ..maps.rasters import RAMPS

        im = _imshow(p, g, _ramp(RAMPS["carbon"], "kunsink-carbon"), Normalize(0.0, vmax))
        items = [_draw_boundary(p, boundary)]
        z = _draw_zones(p, zones)
        items += [z] if z else []
        extend = "max" if vals.count() and float(vals.max()) > vmax else "neither"
        return _finish(p, items, {"mappable": im, "label": "碳储量密度 Carbon stock (Mg C/ha)", "extend": extend})


def carbon_change_map(change: Any, boundary: Any, zones: Any = None, *, years: tuple[Any, Any] | None = None,
                      title: str | None = None, subtitle: str | None = None,
                      page: PageOptions | None = None) -> Any:
    """Change in carbon stock density (Mg C/ha) between two dates: losses red, gains blue, centred on zero.

    Parameters
    ----------
    change : Grid, DataArray or mapping
        Later minus earlier stock, Mg C/ha (``c_change_bas_alt.tif``), in the boundary's CRS.
    years : (earlier, later), optional
        Shown in the subtitle.

    Notes
    -----
    The colour range is symmetric, ± the 98th percentile of |change|, so a few extreme cells do
    not wash out the rest; the colour bar's ends are extended when values go beyond it.
    """
    page = page or PageOptions()
    with font_context(page.font):
        crs = _crs_of(boundary)
        g = _raster(change, crs, "carbon change", page.max_px, "mean")
        span = f"{years[0]}–{years[1]} 年 · " if years else ""
        p = _start(title or "碳储量变化 Change in carbon stock", subtitle or f"{span}单位 Mg C/ha；红 减少 loss，蓝 增加 gain",
                   boundary, [g, zones], page)
        vals = g.masked()
        lim = _robust_max(np.ma.abs(vals))
        from matplotlib.colors import Normalize

        from ..maps.rasters import RAMPS

        im = _imshow(p, g, _ramp(RAMPS["change"], "kunsink-change"), Normalize(-lim, lim))
        items = [_draw_boundary(p, boundary)]
        z = _draw_zones(p, zones)
        items += [z] if z else []
        beyond = vals.count() and float(np.ma.abs(vals).max()) > lim
        return _finish(p, items, {"mappable": im, "label": "变化 Change (Mg C/ha)", "extend": "both" if beyond else
                                  "neither"})


# --------------------------------------------------------------------------- land cover

def _landcover_palette() -> dict[int, tuple[str, str]]:
    from ..landcover import CLASS_NAMES_ZH, KUNSINK_CLASSES
    from ..maps.overview import CLCD_PALETTE

    pal = dict(CLCD_PALETTE)
    for code, en in KUNSINK_CLASSES.items():
        if code not in pal:
            pal[code] = ("#6d4c41" if code == 10 else "#9e9e9e", f"{CLASS_NAMES_ZH.get(code, '')} {en.capitalize()}")
    return pal


def landcover_map(landcover: Any, boundary: Any, *, year: int | str | None = None, title: str | None = None,
                  subtitle: str | None = None, page: PageOptions | None = None) -> Any:
    """Land cover in kunsink's classes (CLCD codes 1–9, 10 mine spoil) with bilingual class names.

    Parameters
    ----------
    landcover : Grid, DataArray or mapping
        Class codes (0 or the raster's nodata outside the area), in the boundary's CRS. Decimated by
        block mode, so small classes survive as well as they can at print resolution.
    """
    page = page or PageOptions()
    with font_context(page.font):
        crs = _crs_of(boundary)
        g = _raster(landcover, crs, "land cover", page.max_px, "mode")
        if g.nodata is None:
            g = Grid(g.array, g.transform, g.crs, 0, g.source, g.units)
        p = _start(title or "土地覆盖 Land cover", subtitle or (f"{year} 年 · CLCD 分类 classes" if year is not None
                                                         else "CLCD 分类 classes"), boundary, [g], page)
        pal = _landcover_palette()
        vals = g.masked()
        present = sorted(int(v) for v in np.unique(vals.compressed()))
        from matplotlib.colors import BoundaryNorm, ListedColormap

        codes = sorted(pal)
        cmap = ListedColormap([pal[c][0] for c in codes])
        norm = BoundaryNorm([c - 0.5 for c in codes] + [codes[-1] + 0.5], cmap.N)
        _imshow(p, g, cmap, norm)
        unknown = [c for c in present if c not in pal]
        items = [LegendItem(pal[c][1], pal[c][0], "fill", edge="#777777", width=0.5) for c in present if c in pal]
        if unknown:
            p.info.notes.append(f"未识别的类别代码 unrecognised class codes (not drawn): {unknown}")
        items.append(_draw_boundary(p, boundary))
        return _finish(p, items)


# --------------------------------------------------------------------------- green space

def greenspace_map(neighbourhoods: Any, boundary: Any, greenspace: Any = None, *, gaps: Any = None,
                   sites: Any = None, roads: Any = None, status_field: str = "status_line",
                   gap_rule: str | None = None, gap_mode: str | None = None, title: str | None = None,
                   subtitle: str | None = None, page: PageOptions | None = None) -> Any:
    """Green-space coverage: neighbourhoods by status, green space (parks darker), gaps, proposed sites.

    Parameters
    ----------
    neighbourhoods : GeoDataFrame
        The ``neighbourhoods`` layer of a coverage run, with ``status_field`` holding
        ``"all met"``, ``"partly met"`` or ``"none met"`` (``status_line``: straight line, the
        official figure; ``status_network``: walking).
    greenspace : GeoDataFrame, optional
        Green spaces; ``is_park`` true draws them as parks.
    gaps : GeoDataFrame, optional
        The ``gaps`` layer (``rule``, ``mode``); filtered to ``gap_rule``/``gap_mode`` when given.
    sites : GeoDataFrame, optional
        Proposed pocket parks (``sites`` layer of a siting run).
    roads : GeoDataFrame, optional
        The street network, drawn thin grey underneath.
    """
    page = page or PageOptions()
    with font_context(page.font):
        from ..maps.greenspace import STATUS_COLOURS

        crs = _crs_of(boundary)
        nb = _vector(neighbourhoods, crs, "neighbourhoods")
        if status_field not in nb.columns:
            raise LayerError(f"neighbourhoods: no field {status_field!r}; it has: {', '.join(map(str, nb.columns))}")
        mode = "步行 walking" if "net" in status_field else "直线 straight line"
        p = _start(title or "公园绿地服务覆盖 Green-space coverage",
                   subtitle or f"居住用地达标情况 neighbourhoods by status（{mode}）", boundary,
                   [nb, greenspace, gaps, sites], page)
        items: list[LegendItem] = []
        r = _vector(roads, crs, "roads")
        if r is not None and len(r):
            r.plot(ax=p.ax, color="#9e9e9e", linewidth=0.25, zorder=2)
            items.append(LegendItem("道路 roads", "#9e9e9e", "line", width=0.6))
        status = nb[status_field].astype(str).str.strip()
        for key, (colour, label) in STATUS_COLOURS.items():
            part = nb[status == key]
            if len(part):
                part.plot(ax=p.ax, facecolor=colour, edgecolor="#6b4f2a", linewidth=0.15, alpha=0.85, zorder=3)
                items.append(LegendItem(label, colour, "fill", edge="#6b4f2a", width=0.5))
        other = nb[~status.isin(list(STATUS_COLOURS))]
        if len(other):
            other.plot(ax=p.ax, facecolor="#e0e0e0", edgecolor="#6b4f2a", linewidth=0.15, zorder=3)
            items.append(LegendItem("未评估 not assessed", "#e0e0e0", "fill", edge="#6b4f2a", width=0.5))
        gs = _vector(greenspace, crs, "green space")
        if gs is not None and len(gs):
            park = gs["is_park"].fillna(False).astype(bool) if "is_park" in gs.columns else np.zeros(len(gs), bool)
            if (~park).any():
                gs[~park].plot(ax=p.ax, facecolor="#9ccc5a", edgecolor="#33691e", linewidth=0.2, zorder=4)
                items.append(LegendItem("绿地 green space", "#9ccc5a", "fill", edge="#33691e", width=0.5))
            if park.any():
                gs[park].plot(ax=p.ax, facecolor="#1f8a3c", edgecolor="#0b3d0b", linewidth=0.2, zorder=4)
                items.append(LegendItem("公园 parks", "#1f8a3c", "fill", edge="#0b3d0b", width=0.5))
        gp = _vector(gaps, crs, "gaps")
        if gp is not None and len(gp):
            if gap_rule is not None and "rule" in gp.columns:
                gp = gp[gp["rule"] == gap_rule]
            if gap_mode is not None and "mode" in gp.columns:
                gp = gp[gp["mode"] == gap_mode]
            if len(gp):
                gp.plot(ax=p.ax, facecolor="none", edgecolor="#8b0000", hatch="////", linewidth=0.3, zorder=5)
                label = "服务缺口 gaps" + (f" · {gap_rule}" if gap_rule else "")
                items.append(LegendItem(label, "none", "fill", edge="#8b0000", hatch="////"))
        st = _vector(sites, crs, "sites")
        if st is not None and len(st):
            pts = st.geometry.representative_point()
            p.ax.scatter(pts.x, pts.y, s=28, marker="*", c="#ce93d8", edgecolors="#4a148c", linewidths=0.6, zorder=8)
            items.append(LegendItem(f"建议口袋公园 proposed pocket parks ({len(st)})", "#ce93d8", "point",
                                    edge="#4a148c", marker="*"))
        items.append(_draw_boundary(p, boundary))
        return _finish(p, items)


# --------------------------------------------------------------------------- mines

def mines_map(sites: Any, boundary: Any, *, landcover: Any = None, status_field: str = "status",
              labels: bool | None = None, title: str | None = None, subtitle: str | None = None,
              page: PageOptions | None = None) -> Any:
    """Mine rehabilitation sites coloured by status (计划, 治理中, 已完工, 已验收).

    Sites are small against a district, so each is drawn as its polygon and as a marker sized
    by its area; ``labels`` writes the ``site_id`` beside each (default: when ≤ 15 sites).

    Parameters
    ----------
    sites : GeoDataFrame
        Sites with a status field (the registry's ``mine_sites`` layer or ``kunsink mines export``);
        values are read as :func:`kunsink.mines.model.normalise_status` does (``已验收`` → accepted).
        Unrecognised values are shown as "其他 other" with the value named.
    landcover : Grid, DataArray or mapping, optional
        Drawn faintly underneath.
    """
    page = page or PageOptions()
    with font_context(page.font):
        from ..maps.mines import STATUS_COLOURS
        from ..mines.model import STATUSES, normalise_status

        crs = _crs_of(boundary)
        s = _vector(sites, crs, "mine sites")
        if status_field not in s.columns:
            raise LayerError(f"mine sites: no field {status_field!r}; it has: {', '.join(map(str, s.columns))}")
        lc = _raster(landcover, crs, "land cover", page.max_px, "nearest") if landcover is not None else None
        p = _start(title or "矿山生态修复 Mine rehabilitation sites",
                   subtitle or "图斑按治理状态着色 sites by status", boundary, [s, lc], page)
        items: list[LegendItem] = []
        if lc is not None:
            pal = _landcover_palette()
            from matplotlib.colors import BoundaryNorm, ListedColormap

            codes = sorted(pal)
            lcg = lc if lc.nodata is not None else Grid(lc.array, lc.transform, lc.crs, 0, lc.source)
            p.ax.imshow(lcg.masked(), extent=lcg.extent, cmap=ListedColormap([pal[c][0] for c in codes]),
                        norm=BoundaryNorm([c - 0.5 for c in codes] + [codes[-1] + 0.5], len(codes)),
                        interpolation="nearest", alpha=0.35, zorder=1)
            items.append(LegendItem("土地覆盖（淡）land cover (faint)", "#c5e08f", "fill", edge="none"))
        raw = s[status_field]
        status = raw.map(normalise_status)
        areas = s.geometry.area.to_numpy()
        size = 12 + 60 * np.sqrt(areas / max(float(areas.max()) if len(areas) else 1.0, 1.0))
        pts = s.geometry.representative_point()
        groups: list[tuple[Any, str, str]] = [(st, *STATUS_COLOURS[st]) for st in STATUSES]
        for key, colour, label in groups:
            m = (status == key).to_numpy()
            if m.any():
                s[m].plot(ax=p.ax, facecolor=colour, edgecolor="#333333", linewidth=0.4, zorder=6)
                p.ax.scatter(pts.x[m], pts.y[m], s=size[m], c=colour, edgecolors="#222222", linewidths=0.6, zorder=7)
                items.append(LegendItem(f"{label} ({int(m.sum())})", colour, "point"))
        other = status.isna().to_numpy()
        if other.any():
            vals = sorted({str(v) for v in raw[other] if v is not None and str(v).strip() and str(v) != "nan"})
            colour = STATUS_COLOURS[None][0]
            s[other].plot(ax=p.ax, facecolor=colour, edgecolor="#333333", linewidth=0.4, zorder=6)
            p.ax.scatter(pts.x[other], pts.y[other], s=size[other], c=colour, edgecolors="#222222", linewidths=0.6,
                         zorder=7)
            named = f": {', '.join(vals[:3])}" if vals else ""
            items.append(LegendItem(check_text(f"其他/无状态 other{named} ({int(other.sum())})"), colour, "point"))
        if labels is None:
            labels = len(s) <= 15
        if labels and "site_id" in s.columns:
            for x, y, sid in zip(pts.x, pts.y, s["site_id"].astype(str)):
                p.ax.annotate(check_text(sid), (x, y), xytext=(3, 3), textcoords="offset points", fontsize=5.5,
                              zorder=9, color="#111111")
        items.append(LegendItem("符号大小 ∝ √面积 marker size ∝ √area", "none", "fill", edge="none"))
        items.append(_draw_boundary(p, boundary))
        return _finish(p, items)


# --------------------------------------------------------------------------- monitoring plots

def plots_map(plots: Any, boundary: Any, *, landcover: Any = None, stratum_field: str = "stratum",
              title: str | None = None, subtitle: str | None = None, page: PageOptions | None = None) -> Any:
    """Field monitoring plots coloured by stratum, over the land cover (faint) when given.

    Parameters
    ----------
    plots : GeoDataFrame
        Plot points (or polygons, drawn at a representative point) with ``stratum_field``.
    """
    page = page or PageOptions()
    with font_context(page.font):
        crs = _crs_of(boundary)
        pl = _vector(plots, crs, "plots")
        lc = _raster(landcover, crs, "land cover", page.max_px, "nearest") if landcover is not None else None
        p = _start(title or "监测样地 Monitoring plots", subtitle or f"按分层着色 by stratum（{len(pl)} 个 plots）",
                   boundary, [pl, lc], page)
        items: list[LegendItem] = []
        if lc is not None:
            pal = _landcover_palette()
            from matplotlib.colors import BoundaryNorm, ListedColormap

            codes = sorted(pal)
            lcg = lc if lc.nodata is not None else Grid(lc.array, lc.transform, lc.crs, 0, lc.source)
            p.ax.imshow(lcg.masked(), extent=lcg.extent, cmap=ListedColormap([pal[c][0] for c in codes]),
                        norm=BoundaryNorm([c - 0.5 for c in codes] + [codes[-1] + 0.5], len(codes)),
                        interpolation="nearest", alpha=0.35, zorder=1)
            items.append(LegendItem("土地覆盖（淡）land cover (faint)", "#c5e08f", "fill", edge="none"))
        strata = pl[stratum_field].astype(str) if stratum_field in pl.columns else None
        if strata is None:
            raise LayerError(f"plots: no field {stratum_field!r}; it has: {', '.join(map(str, pl.columns))}")
        from matplotlib import colormaps

        tab = colormaps["tab10"]
        zh = _stratum_names()
        pts = pl.geometry.representative_point()
        for i, name in enumerate(sorted(strata.unique())):
            m = (strata == name).to_numpy()
            colour = tab(i % 10)
            from matplotlib.colors import to_hex

            p.ax.scatter(pts.x[m], pts.y[m], s=14, c=[colour], edgecolors="#111111", linewidths=0.4, zorder=7)
            items.append(LegendItem(f"{zh.get(name, '')} {name} ({int(m.sum())})".strip(), to_hex(colour), "point"))
        items.append(_draw_boundary(p, boundary))
        return _finish(p, items)


def _stratum_names() -> dict[str, str]:
    from ..landcover import CLASS_NAMES_ZH, KUNSINK_CLASSES

    return {en: CLASS_NAMES_ZH[code] for code, en in KUNSINK_CLASSES.items() if code in CLASS_NAMES_ZH}


# --------------------------------------------------------------------------- writing

def save_figure(fig: Any, path: str | os.PathLike, formats: Sequence[str] = ("png", "pdf"),
                dpi: float | None = None) -> list[Path]:
    """Write a figure as ``path.png``, ``path.pdf`` (…), each atomically (temporary name, then rename).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path : path
        Output path without suffix (a suffix given is replaced by each format's).
    formats : sequence of {"png", "pdf", "svg"}
    dpi : float, optional
        PNG resolution (default the figure's own, 200 for maps).

    Returns
    -------
    list of Path
        The files written. PDF metadata carry no creation date, so equal input gives equal files.
    """
    from ..io import atomic_path

    base = Path(path)
    if base.suffix.lower() in (".png", ".pdf", ".svg"):
        base = base.with_suffix("")
    out = []
    for fmt in formats:
        fmt = fmt.lower().lstrip(".")
        if fmt not in ("png", "pdf", "svg"):
            raise ValueError(f"unknown figure format {fmt!r}; use png, pdf or svg")
        target = base.with_name(base.name + "." + fmt)
        meta: Mapping[str, Any] = {"Software": None} if fmt == "png" else (
            {"Creator": "kunsink", "Producer": None, "CreationDate": None} if fmt == "pdf" else {"Date": None})
        with atomic_path(target) as tmp:
            fig.savefig(tmp, format=fmt, dpi=dpi or fig.dpi, metadata=dict(meta), facecolor="white")
        out.append(target)
    return out
