"""Plot maps: a plot design over land cover, the biomass model's maps, and change at remeasured plots."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from .base import KunsinkMap, area_title, new_map
from .decor import add_legend
from .layers import add_vector_layer
from .overview import CLCD_PALETTE, as_raster
from .rasters import add_categorical_raster, add_continuous_raster

__all__ = ["biomass_map", "change_map", "design_map"]

_BOUNDARY_STYLE = {"color": "#222222", "weight": 2.0, "fillOpacity": 0.0, "dashArray": "6 4"}
_OTHER = "#7a7a7a"


def _class_colour(code: Any) -> str:
    try:
        return CLCD_PALETTE.get(int(code), (_OTHER, ""))[0]
    except (TypeError, ValueError):
        return _OTHER


def design_map(plots: Any, landcover: Any = None, boundary: Any = None, roads: Any = None,
               title: str | None = None,
               **map_options: Any) -> KunsinkMap:
    """Map a plot design: plots coloured by stratum over the land cover, with the district and roads.

    Parameters
    ----------
    plots : GeoDataFrame
        Output of :func:`kunsink.plots.design.design_plots` (``plot_id``, ``stratum``, ``landcover_code``,
        coordinates, ``source``); any CRS.
    landcover : raster, optional
        Anything :func:`kunsink.maps.overview.as_raster` accepts (CLCD codes, nodata 0).
    boundary, roads : GeoDataFrame, optional
        District outline; the road network used for access (switched off at start).
    """
    title = title or area_title("监测样地设计", "monitoring plot design")
    extent = boundary if boundary is not None else plots
    m = new_map(extent, title=title, **map_options)
    if landcover is not None:
        r = as_raster(landcover)
        add_categorical_raster(m, r["array"], r["transform"], r["crs"], CLCD_PALETTE, "土地覆盖 Land cover",
                               nodata=r["nodata"] if r["nodata"] is not None else 0, source=r["source"], opacity=0.6)
    if boundary is not None:
        add_vector_layer(m, boundary, "行政边界 District boundary", style=_BOUNDARY_STYLE)
    if roads is not None:
        add_vector_layer(m, roads, "道路 Roads used for access", style={"color": "#5a5a5a", "weight": 0.8},
                         show=False)
    # ``stratum`` (a land-cover class name) is shown as "草地 grassland", so ``stratum_zh`` is not repeated
    fields = {k: v for k, v in {"plot_id": "样地号 plot", "stratum": "层 stratum",
                                 "lon_wgs84": "经度 lon (WGS84)", "lat_wgs84": "纬度 lat (WGS84)",
                                 "x_cgcs2000_m": "X (CGCS2000, m)", "y_cgcs2000_m": "Y (CGCS2000, m)",
                                 "road_dist_m": "距道路 to road (m)", "source": "来源 source"}.items()
              if k in plots.columns}
    add_vector_layer(m, plots, "样地 Plots",
                     style=lambda row: {"color": "#111111", "weight": 1.0, "radius": 6, "fillOpacity": 0.95,
                                        "fillColor": _class_colour(row.get("landcover_code"))},
                     tooltip_fields={k: fields[k] for k in ("plot_id", "stratum") if k in fields},
                     popup_fields=fields, labels="plot_id" if len(plots) <= 150 else None)
    codes = sorted({int(c) for c in plots["landcover_code"]}) if "landcover_code" in plots.columns else []
    if codes:
        counts = plots["landcover_code"].value_counts()
        add_legend(m, "样地 Plots", [(_class_colour(c), f"{CLCD_PALETTE.get(c, ('', str(c)))[1]}: {int(counts[c])}",
                                      "point", "#111111") for c in codes], layer="样地 Plots")
    return m


def biomass_map(result_dir: str | os.PathLike, plots: Any = None, boundary: Any = None,
                title: str | None = None, **map_options: Any) -> KunsinkMap:
    """Map the outputs of :func:`kunsink.plots.run.run_model` / ``run_predict``.

    Layers: AGB (t/ha), its spread (t/ha), above- and below-ground carbon (Mg C/ha), pixels
    outside the training ranges, and the plots with their cross-validated residuals.

    Parameters
    ----------
    result_dir : path
        Folder holding ``agb_t_ha.tif`` (and ``agb_sd_t_ha.tif``, ``c_above.tif``, ``c_below.tif``,
        ``extrapolated.tif``).
    plots : GeoDataFrame, optional
        Training plots with ``plot_id``, ``observed`` and optionally ``residual_spatial``.
    boundary : GeoDataFrame, optional
    """
    title = title or area_title("地上生物量", "above-ground biomass")
    from rasterio.transform import array_bounds

    from .carbon import read_for_display

    d = Path(result_dir)
    arr, transform, crs, tags = read_for_display(d / "agb_t_ha.tif")
    extent = boundary if boundary is not None else array_bounds(arr.shape[0], arr.shape[1], transform)
    if boundary is None:
        map_options.setdefault("bounds_crs", crs)
    m = new_map(extent, title=title, **map_options)
    source = tags.get("source")
    finite = np.isfinite(arr)
    vmax = float(np.nanpercentile(arr, 98)) if finite.any() else 1.0
    add_continuous_raster(m, arr, transform, crs, "地上生物量 AGB", colours="viridis", vmin=0, vmax=vmax,
                          unit="t/ha", source=source)
    layers = [("agb_sd_t_ha.tif", "预测离散度 AGB spread (SD across trees)", "t/ha", "viridis"),
              ("c_above.tif", "地上碳密度 Above-ground carbon", "Mg C/ha", "carbon"),
              ("c_below.tif", "地下碳密度 Below-ground carbon", "Mg C/ha", "carbon")]
    for name, label, unit, ramp in layers:
        if (d / name).exists():
            a, t, c, tg = read_for_display(d / name)
            if np.isfinite(a).any():
                if name.startswith("agb_sd") and "tree" not in str(tg.get("spread", "tree")):
                    label = "预测离散度 AGB spread (predictive SD)"
                add_continuous_raster(m, a, t, c, label, colours=ramp, vmin=0,
                                      vmax=float(np.nanpercentile(a, 98)) or 1.0, unit=unit, show=False, source=source)
    if (d / "extrapolated.tif").exists():
        a, t, c, _ = read_for_display(d / "extrapolated.tif")
        flag = np.where(np.isfinite(a), (a > 0).astype("int16") + 1, 0)
        if (flag == 2).any():
            add_categorical_raster(m, flag, t, c, {1: ("#d9d9d9", "在训练范围内 inside training ranges"),
                                                   2: ("#d7301f", "外推 outside training ranges")},
                                   "外推区域 Extrapolation", nodata=0, show=False, source=source, opacity=0.6)
    if boundary is not None:
        add_vector_layer(m, boundary, "行政边界 District boundary", style=_BOUNDARY_STYLE)
    if plots is not None and len(plots):
        labels = {"plot_id": "样地号 plot", "stratum": "层 stratum", "observed": "实测 measured AGB (t/ha)",
                  "predicted_spatial": "空间交叉验证预测 spatial-CV prediction (t/ha)",
                  "residual_spatial": "残差 residual (t/ha)", "source": "来源 source"}
        fields = {k: v for k, v in labels.items() if k in plots.columns}
        if "residual_spatial" in plots.columns:
            lim = float(np.nanpercentile(np.abs(plots["residual_spatial"]), 95)) or 1.0

            def style(row):
                r = float(row.get("residual_spatial", 0.0))
                colour = "#b2182b" if r > lim / 3 else "#2166ac" if r < -lim / 3 else "#f7f7f7"
                return {"color": "#111111", "weight": 1.0, "radius": 5, "fillOpacity": 0.95, "fillColor": colour}

            add_vector_layer(m, plots, "样地与残差 Plots (spatial-CV residual)", style=style,
                             tooltip_fields={k: fields[k] for k in ("plot_id", "observed", "residual_spatial")},
                             popup_fields=fields)
            add_legend(m, "残差 Residual (predicted − measured)",
                       [("#b2182b", f"> +{lim / 3:.3g} t/ha over-predicted", "point", "#111111"),
                        ("#f7f7f7", "within ± that", "point", "#111111"),
                        ("#2166ac", f"< −{lim / 3:.3g} t/ha under-predicted", "point", "#111111")],
                       layer="样地与残差 Plots (spatial-CV residual)")
        else:
            add_vector_layer(m, plots, "样地 Plots", tooltip_fields=fields, popup_fields=fields,
                             style={"color": "#111111", "fillColor": "#ffffff", "radius": 5, "fillOpacity": 0.9})
    return m


def change_map(changes: Any, boundary: Any = None,
               title: str | None = None,
               **map_options: Any) -> KunsinkMap:
    """Remeasured plots coloured by their AGB change (t/ha), with the district outline.

    Parameters
    ----------
    changes : GeoDataFrame
        :func:`kunsink.plots.timeseries.plot_change` output with point geometry.
    boundary : GeoDataFrame, optional
    """
    title = title or area_title("样地生物量变化", "biomass change at remeasured plots")
    m = new_map(boundary if boundary is not None else changes, title=title, **map_options)
    if boundary is not None:
        add_vector_layer(m, boundary, "行政边界 District boundary", style=_BOUNDARY_STYLE)
    ramp = [("#2166ac", "loss > 10 %"), ("#f7f7f7", "within ±10 %"), ("#1b7837", "gain > 10 %")]

    def style(row):
        first = float(row.get("agb_first_t_ha") or 0.0)
        rel = float(row.get("change_t_ha", 0.0)) / first if first > 0 else 0.0
        colour = ramp[2][0] if rel > 0.1 else ramp[0][0] if rel < -0.1 else ramp[1][0]
        return {"color": "#111111", "weight": 1.0, "radius": 6, "fillOpacity": 0.95, "fillColor": colour}

    labels = {"plot_id": "样地号 plot", "stratum": "层 stratum", "year_first": "首次 first", "year_last": "末次 last",
              "agb_first_t_ha": "首次 AGB first (t/ha)", "agb_last_t_ha": "末次 AGB last (t/ha)",
              "change_t_ha": "变化 change (t/ha)", "rate_t_ha_yr": "年变化 rate (t/ha/yr)", "source": "来源 source"}
    fields = {k: v for k, v in labels.items() if k in changes.columns}
    from ..columns import round_frame

    shown = round_frame(changes)  # popups show what the tables show (a rate of −6e−17 t/ha/yr is 0)
    name = "复测样地 Remeasured plots"
    add_vector_layer(m, shown, name, style=style, popup_fields=fields,
                     tooltip_fields={k: fields[k] for k in ("plot_id", "change_t_ha") if k in fields})
    add_legend(m, "AGB 变化 change", [(c, t, "point", "#111111") for c, t in ramp], layer=name)
    return m
