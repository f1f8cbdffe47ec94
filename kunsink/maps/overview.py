"""The district overview map: land cover under boundary, water, green space, housing, streets, mines."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import InputError, LayerError
from .base import KunsinkMap, area_title, new_map
from .decor import add_legend
from .layers import add_categorical_raster, add_vector_layer, geometry_kind

__all__ = ["CLCD_PALETTE", "OVERVIEW_ORDER", "as_raster", "overview_map"]

#: CLCD class code -> (colour, label). Code 6 (snow/ice) does not occur in Kundulun but is kept for completeness.
CLCD_PALETTE: dict[int, tuple[str, str]] = {
    1: ("#f0d86e", "耕地 Cropland"),
    2: ("#2e7d32", "林地 Forest"),
    3: ("#82b04c", "灌木 Shrubland"),
    4: ("#c5e08f", "草地 Grassland"),
    5: ("#3f8fd8", "水体 Water"),
    6: ("#eaf6fb", "冰雪 Snow/ice"),
    7: ("#d2bb92", "裸地 Barren"),
    8: ("#c9534f", "不透水面 Impervious"),
    9: ("#5cc3b5", "湿地 Wetland"),
}

#: Keys overview_map draws, bottom to top.
OVERVIEW_ORDER = ("landcover", "boundary", "river", "wetland", "greenspace", "residential", "network", "mine_sites")

_PARK, _OTHER_GREEN = "#1f8a3c", "#9ccc5a"
_STYLES = {
    "boundary": {"color": "#202020", "weight": 2.5, "opacity": 0.95, "fill": False, "dashArray": "8,4"},
    "river": {"color": "#1c6fd1", "weight": 3.0, "opacity": 0.9},
    "wetland": {"color": "#21867a", "weight": 1.0, "fillColor": "#63cfc0", "fillOpacity": 0.55},
    "residential": {"color": "#b3541e", "weight": 0.7, "fillColor": "#f2a65a", "fillOpacity": 0.4},
    "network": {"color": "#5a5a5a", "weight": 0.8, "opacity": 0.7},
    "mine_sites": {"color": "#5b2c83", "weight": 1.5, "fillColor": "#a77bd0", "fillOpacity": 0.5, "radius": 6},
}
_NAMES = {
    "landcover": "土地覆盖 Land cover (CLCD)",
    "boundary": "行政边界 District boundary",
    "river": "河流 Rivers",
    "wetland": "湿地 Wetlands",
    "greenspace": "绿地 Green space",
    "residential": "居住区 Residential areas",
    "network": "道路网络 Street network",
    "mine_sites": "矿山 Mine sites",
}
_LABELS = {
    "district_name": "区 district", "district_adcode": "区划代码 adcode", "adcode": "区划代码 adcode",
    "name": "名称 name", "gs_id": "编号 id", "gs_type": "类型 type",
    "is_park": "公园 park", "public_access": "开放 public", "area_ha": "面积 area (ha)", "res_id": "编号 id",
    "population": "人口 population", "households": "户数 households", "site_id": "编号 id",
    "treatment_year": "治理年份 treated", "status": "状态 status", "method": "方式 method",
    "edge_id": "编号 id", "highway": "道路等级 highway", "is_bridge": "桥梁 bridge", "length_m": "长度 length (m)",
    "source": "来源 source",
}
_TOOLTIPS = {
    "boundary": ("district_name", "name"),
    "river": ("name",),
    "wetland": ("name",),
    "greenspace": ("name", "gs_type", "area_ha"),
    "residential": ("name", "population"),
    "network": ("name", "highway"),
    "mine_sites": ("site_id", "name", "area_ha", "treatment_year", "status"),
}
_POPUPS = {
    "boundary": ("district_name", "district_adcode", "name", "adcode", "source"),
    "river": ("name", "source"),
    "wetland": ("name", "area_ha", "source"),
    "greenspace": ("gs_id", "name", "gs_type", "is_park", "public_access", "area_ha", "source"),
    "residential": ("res_id", "name", "population", "households", "area_ha", "source"),
    "network": ("edge_id", "highway", "name", "is_bridge", "length_m", "source"),
    "mine_sites": ("site_id", "name", "area_ha", "treatment_year", "status", "method", "source"),
}


def as_raster(obj: Any) -> dict[str, Any]:
    """Normalise a raster given as a tuple, mapping, object, DataArray or GeoTIFF path.

    Accepted: ``(array, transform, crs)``; a mapping or object with ``array``,
    ``transform``, ``crs`` and optionally ``nodata``, ``source`` (or ``tags["source"]``); an ``xarray.DataArray``
    with a ``rio`` accessor; a path to a single-band GeoTIFF (its ``source`` tag is read).

    Returns
    -------
    dict
        ``array``, ``transform``, ``crs``, ``nodata``, ``source``.
    """
    if isinstance(obj, (str, os.PathLike)):
        import rasterio

        path = Path(obj)
        if not path.exists():
            raise InputError(f"{path}: no such raster")
        with rasterio.open(path) as ds:
            return {"array": ds.read(1), "transform": ds.transform, "crs": ds.crs, "nodata": ds.nodata,
                    "source": ds.tags().get("source")}
    if isinstance(obj, tuple) and len(obj) == 3:
        array, transform, crs = obj
        return {"array": array, "transform": transform, "crs": crs, "nodata": None, "source": None}
    if hasattr(obj, "rio"):
        return {"array": obj.values.squeeze(), "transform": obj.rio.transform(), "crs": obj.rio.crs,
                "nodata": obj.rio.nodata, "source": obj.attrs.get("source")}
    get = obj.get if isinstance(obj, Mapping) else (lambda k, d=None: getattr(obj, k, d))
    if get("array") is None or get("transform") is None:
        raise LayerError("a raster needs array, transform and crs (a tuple, mapping, object, DataArray or path)")
    source = get("source") or dict(get("tags") or {}).get("source")
    return {"array": get("array"), "transform": get("transform"), "crs": get("crs"), "nodata": get("nodata"),
            "source": source}


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "y", "是", "t")
    try:
        return bool(value) and value == value  # NaN is not a park
    except (TypeError, ValueError):
        return False


def _prepare(key: str, gdf: Any) -> Any:
    out = gdf.copy()
    if "area_m2" in out.columns:
        out["area_ha"] = (out["area_m2"].astype("float64") / 1e4).round(2)
    elif key in ("greenspace", "mine_sites", "wetland", "residential") and len(out):
        from ..crs import area_m2

        out["area_ha"] = (area_m2(out) / 1e4).round(2)
    return out


def _fields(key: str, gdf: Any, table: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {f: _LABELS.get(f, f) for f in table.get(key, ()) if f in gdf.columns}


def overview_map(
    layers: Mapping[str, Any],
    title: str | None = None,
    **map_options: Any,
) -> KunsinkMap:
    """One map of the district's layers, each toggleable, with legends and notices.

    Parameters
    ----------
    layers : mapping
        Any of ``landcover`` (see :func:`as_raster`; CLCD codes, nodata 0), ``boundary``,
        ``river``, ``wetland``, ``greenspace`` (``is_park`` colours parks apart),
        ``residential``, ``network`` (off at start), ``mine_sites``: GeoDataFrames in any
        CRS, drawn in that order. Unknown keys raise LayerError.
    title : str
        Map title.
    **map_options
        Passed to :func:`kunsink.maps.new_map` (``basemap``, ``shift_to_gcj02``, ...).

    Returns
    -------
    KunsinkMap
        A ``folium.Map``; save it with :func:`kunsink.maps.save_map`.
    """
    title = title or area_title("绿地与碳汇概览", "green space & carbon overview")
    unknown = sorted(set(layers) - set(OVERVIEW_ORDER))
    if unknown:
        raise LayerError(f"unknown overview layer(s) {', '.join(unknown)}; use: {', '.join(OVERVIEW_ORDER)}")
    vectors = {k: v for k, v in layers.items() if k != "landcover" and v is not None}
    raster = as_raster(layers["landcover"]) if layers.get("landcover") is not None else None
    if "boundary" in vectors:
        extent: Any = vectors["boundary"]
    elif vectors:
        import pandas as pd

        extent = pd.concat([g[[g.geometry.name]].rename_geometry("geometry").to_crs("EPSG:4326")
                            for g in vectors.values()])
    elif raster is not None:
        from rasterio.transform import array_bounds

        h, w = raster["array"].shape[-2:]
        west, s, e, n = array_bounds(h, w, raster["transform"])
        extent, map_options["bounds_crs"] = (west, s, e, n), raster["crs"]
    else:
        raise LayerError("overview_map needs at least one layer")
    m = new_map(extent, title=title, **map_options)
    if raster is not None:
        add_categorical_raster(m, raster["array"], raster["transform"], raster["crs"], CLCD_PALETTE,
                               _NAMES["landcover"], nodata=0 if raster["nodata"] is None else raster["nodata"],
                               opacity=0.7, source=raster["source"])
    legend = []
    for key in OVERVIEW_ORDER[1:]:
        if key not in vectors:
            continue
        gdf = _prepare(key, vectors[key])
        style: Any = _STYLES.get(key)
        if key == "greenspace":
            def style(row: Any) -> dict[str, Any]:
                colour = _PARK if _truthy(row.get("is_park")) else _OTHER_GREEN
                return {"color": "#17612b", "weight": 1.0, "fillColor": colour, "fillOpacity": 0.65}

            legend += [(_PARK, "公园 Park"), (_OTHER_GREEN, "其他绿地 Other green space")]
        else:
            s = _STYLES[key]
            kind = {"polygon": "fill"}.get(geometry_kind(gdf), geometry_kind(gdf))
            if s.get("fill") is False:
                kind = "line"
            legend.append((s.get("fillColor", s["color"]), _NAMES[key], kind, s["color"]))
        add_vector_layer(m, gdf, _NAMES[key], style=style, tooltip_fields=_fields(key, gdf, _TOOLTIPS),
                         popup_fields=_fields(key, gdf, _POPUPS), show=(key != "network"))
    if legend:
        add_legend(m, "图层 Layers", legend)
    return m
