"""A new offline map, optional basemaps by name, and atomic saving.

The map has **no tile layer by default**: planners on an intranet have no tile server, and
the layers kunsink draws carry the map. Basemaps are opt-in by name:

``osm``, ``esri-imagery``
    Reachable only with internet; WGS84 data sits right on them.
``tianditu``, ``tianditu-imagery``
    天地图 (CGCS2000 ≈ WGS84, aligned); need a user key (argument or ``$TIANDITU_KEY``).
    The key ends up in the saved HTML.
``amap``
    高德 tiles are GCJ-02: WGS84 data would sit ≈ 500 m off, so they are only allowed on a
    map created with ``shift_to_gcj02=True``, which shifts every layer drawn on it.
"""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Any

import folium
from branca.element import MacroElement
from folium.template import Template

from ..errors import ConfigError, CRSError
from ..io import atomic_path
from .decor import DEFAULT_FOOTNOTE, decor, set_footnote, set_title
from .offline import check_offline, make_offline

__all__ = ["BASEMAPS", "KunsinkMap", "add_basemap", "new_map", "save_map", "to_lonlat_bounds"]

_TDT = ("https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER={layer}"
        "&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={{z}}&TILEROW={{y}}&TILECOL={{x}}&tk={key}")
_TDT_ATTR = '&copy; <a href="https://www.tianditu.gov.cn/">天地图</a> (国家地理信息公共服务平台)'

#: name -> (label, url template, attribution, coordinate system of the tiles)
BASEMAPS: dict[str, tuple[str, str, str, str]] = {
    "osm": ("OpenStreetMap", "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
            '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors', "wgs84"),
    "esri-imagery": ("Esri World Imagery 影像",
                     "https://server.arcgisonline.com/ArcGIS/rest/services/World_Imagery/MapServer/tile/{z}/{y}/{x}",
                     "Tiles &copy; Esri &mdash; Source: Esri, Maxar, Earthstar Geographics, and the GIS User Community",
                     "wgs84"),
    "tianditu": ("天地图 矢量 Tianditu vector", "vec", _TDT_ATTR, "wgs84"),
    "tianditu-imagery": ("天地图 影像 Tianditu imagery", "img", _TDT_ATTR, "wgs84"),
    "amap": ("高德地图 AMap (GCJ-02)",
             "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}",
             "&copy; 高德地图 AutoNavi", "gcj02"),
}


class MetricScale(MacroElement):
    """A scale bar in metres and kilometres only (Leaflet's default adds feet and miles)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        L.control.scale({metric: true, imperial: false, maxWidth: 160, position: 'bottomleft'})
            .addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "KunsinkMetricScale"


class KunsinkMap(folium.Map):
    """A ``folium.Map`` that makes itself offline whenever it is rendered (``save``, notebooks)."""

    def render(self, **kwargs: Any) -> None:
        make_offline(self)
        super().render(**kwargs)


def area_title(zh: str, en: str) -> str:
    """A map title naming the study area, Chinese first: ``昆都仑区 碳储量 · Kundulun carbon stock``."""
    from ..area import get_area

    area = get_area()
    en_name = {"昆都仑区": "Kundulun", "包头市": "Baotou"}.get(area.name, "" if area.name == "none" else area.name)
    zh_name = "" if area.name == "none" else area.name
    return f"{zh_name} {zh} · {en_name} {en}".strip().replace("·  ", "· ")


def to_lonlat_bounds(bounds_or_gdf: Any, crs: Any = None) -> tuple[float, float, float, float]:
    """``(west, south, east, north)`` in EPSG:4326 degrees of a GeoDataFrame/GeoSeries or a bounds tuple.

    Parameters
    ----------
    bounds_or_gdf : GeoDataFrame, GeoSeries or (minx, miny, maxx, maxy)
        A layer in any CRS (it must have one), or bounds in ``crs``.
    crs : optional
        CRS of a bounds tuple; default EPSG:4326 (longitude/latitude).
    """
    if hasattr(bounds_or_gdf, "total_bounds"):
        if bounds_or_gdf.crs is None:
            raise CRSError("the layer given for the map extent has no CRS")
        if len(bounds_or_gdf) == 0:
            raise ConfigError("the layer given for the map extent is empty")
        w, s, e, n = (float(v) for v in bounds_or_gdf.to_crs("EPSG:4326").total_bounds)
    else:
        try:
            w, s, e, n = (float(v) for v in bounds_or_gdf)
        except (TypeError, ValueError):
            raise ConfigError("map extent must be a GeoDataFrame or (minx, miny, maxx, maxy)") from None
        if crs is not None:
            from pyproj import Transformer

            tr = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
            w, s, e, n = tr.transform_bounds(w, s, e, n)
    if not (-180 <= w <= e <= 180 and -90 <= s <= n <= 90):
        raise CRSError(f"extent {w:.4g}, {s:.4g}, {e:.4g}, {n:.4g} is not longitude/latitude; give its crs")
    return w, s, e, n


def new_map(
    bounds_or_gdf: Any,
    *,
    title: str | None = None,
    subtitle: str | None = None,
    basemap: str | list[str] | None = None,
    shift_to_gcj02: bool = False,
    tianditu_key: str | None = None,
    footnote: str | None = DEFAULT_FOOTNOTE,
    layer_control: bool = True,
    collapse_layers: bool = True,
    bounds_crs: Any = None,
    max_zoom: int = 18,
) -> KunsinkMap:
    """A new offline Folium map fitted to an extent, with no tile layer unless asked.

    Parameters
    ----------
    bounds_or_gdf : GeoDataFrame, GeoSeries or (minx, miny, maxx, maxy)
        Extent to fit: a layer in any CRS, or bounds in ``bounds_crs`` (default EPSG:4326).
    title, subtitle : str, optional
        Shown at the top centre (escaped).
    basemap : str or list of str, optional
        Names from :data:`BASEMAPS`; the first is shown, the others are choices in the
        layer control. Default none: a plain background.
    shift_to_gcj02 : bool
        Draw every layer shifted WGS84 → GCJ-02 so it sits on GCJ-02 tiles (AMap). Only for
        display on such tiles: coordinates in the page are then not WGS84.
    tianditu_key : str, optional
        天地图 key for the ``tianditu*`` basemaps; default ``$TIANDITU_KEY``.
    footnote : str or None
        Bottom footnote; default the internal-use / no 审图号 line. ``None`` for none.
    layer_control : bool
        Add a layer control listing basemaps and layers.
    collapse_layers : bool
        Show the layer control as a small "图层 Layers" button that opens on hover or tap
        (default), so it does not cover the map; ``False`` keeps the list open.
    bounds_crs : optional
        CRS of a bounds tuple.
    max_zoom : int
        Deepest zoom level.

    Returns
    -------
    KunsinkMap
        A ``folium.Map``; add layers with :func:`kunsink.maps.add_vector_layer` and friends.

    Raises
    ------
    ConfigError
        Unknown basemap, a 天地图 basemap without a key, or GCJ-02 tiles mixed with
        unshifted data (or WGS84 tiles with shifted data).
    """
    names = [basemap] if isinstance(basemap, str) else list(basemap or [])
    for name in names:  # refuse before building anything
        _check_basemap(name, shift_to_gcj02, tianditu_key)
    w, s, e, n = to_lonlat_bounds(bounds_or_gdf, bounds_crs)
    if shift_to_gcj02:
        from ..crs import wgs84_to_gcj02

        xs, ys = wgs84_to_gcj02([w, e], [s, n])
        w, e, s, n = float(xs[0]), float(xs[1]), float(ys[0]), float(ys[1])
    m = KunsinkMap(location=[(s + n) / 2, (w + e) / 2], zoom_start=11, tiles=None, control_scale=False,
                   max_zoom=max_zoom, prefer_canvas=False, zoom_snap=0.25, zoom_delta=0.5)
    top = 90 if title else 20  # keep the title and notice off the data
    m.fit_bounds([[s, w], [n, e]], padding_top_left=(20, top), padding_bottom_right=(20, 30))
    MetricScale().add_to(m)
    d = decor(m)
    d.settings.shift_to_gcj02 = bool(shift_to_gcj02)
    for i, name in enumerate(names):
        add_basemap(m, name, tianditu_key=tianditu_key, show=(i == 0))
    set_title(m, title, subtitle)
    set_footnote(m, footnote)
    if layer_control:
        folium.LayerControl(position="topright", collapsed=bool(collapse_layers)).add_to(m)
    return m


def _check_basemap(name: str, shift: bool, key: str | None) -> tuple[str, str, str, str]:
    if name not in BASEMAPS:
        raise ConfigError(f"unknown basemap {name!r}; use one of: {', '.join(BASEMAPS)}")
    spec = BASEMAPS[name]
    if spec[3] == "gcj02" and not shift:
        raise ConfigError(f"basemap {name!r} uses GCJ-02 tiles: WGS84 data would sit ~500 m off; "
                          "create the map with shift_to_gcj02=True")
    if spec[3] == "wgs84" and shift:
        raise ConfigError(f"basemap {name!r} is WGS84 but this map shifts its layers to GCJ-02 "
                          "(shift_to_gcj02=True): they would sit ~500 m off; use 'amap' or no shift")
    if name.startswith("tianditu") and not (key or os.environ.get("TIANDITU_KEY", "").strip()):
        raise ConfigError(f"basemap {name!r} needs a 天地图 key: pass tianditu_key=... or set TIANDITU_KEY")
    return spec


def add_basemap(m: Any, name: str, *, tianditu_key: str | None = None, show: bool = True) -> Any:
    """Add a named basemap (see :data:`BASEMAPS`) as a base layer of ``m``.

    Tiles load from their servers when the page has a network; offline they stay blank.

    Raises
    ------
    ConfigError
        As in :func:`new_map`.
    """
    shift = decor(m).settings.shift_to_gcj02
    label, url, attr, _ = _check_basemap(name, shift, tianditu_key)
    kwargs: dict[str, Any] = {}
    if name.startswith("tianditu"):
        key = (tianditu_key or os.environ.get("TIANDITU_KEY", "")).strip()
        if not key.replace("-", "").isalnum():
            raise ConfigError("the 天地图 key should be letters and digits only")
        labels = "cva" if url == "vec" else "cia"
        url, label_url = _TDT.format(layer=url, key=key), _TDT.format(layer=labels, key=key)
        kwargs["subdomains"] = "01234567"
    elif name == "amap":
        kwargs["subdomains"] = "1234"
    folium.TileLayer(url, attr=attr, name=html.escape(label), overlay=False, control=True, show=show,
                     max_zoom=18, **kwargs).add_to(m)
    if name.startswith("tianditu"):
        folium.TileLayer(label_url, attr=attr, name=html.escape(label + " 注记 labels"), overlay=True,
                         control=True, show=show, max_zoom=18, subdomains="01234567").add_to(m)
    decor(m).settings.basemaps.append(name)
    return m


def save_map(m: Any, path: str | os.PathLike) -> Path:
    """Write a map as one self-contained HTML file, atomically, after the offline check.

    Parameters
    ----------
    m : folium.Map
    path : str or path-like
        The ``.html`` file to write; its folder is created if needed.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    OfflineError
        If the page would load a script or stylesheet from a network; nothing is written.
    OutputError
        If ``path`` is not an ``.html`` name, is a folder, or is an existing file kunsink did not write.
    """
    from ..guard import KUNSINK_HTML_MARK, check_output_file

    target = Path(path)
    check_output_file(target, suffixes=(".html", ".htm"), what="map")
    make_offline(m)
    with atomic_path(target) as tmp:
        page = m.get_root().render()
        check_offline(page)
        page = page.replace("<head>", f"<head>\n    {KUNSINK_HTML_MARK}>", 1)
        tmp.write_text(page, encoding="utf-8")
    return target
