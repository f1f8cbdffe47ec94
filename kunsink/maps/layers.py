"""Vector layers on an offline map: escaped tooltips and popups, circle markers, labels.

Every value from data is HTML-escaped in Python before it enters the page; the GeoJSON is
embedded with ``<``, ``>``, ``&`` and ``'`` written as ``\\u003c``… (Jinja's ``tojson``), so
neither a popup nor the ``<script>`` holding the data can be broken out of. Styles are
checked (colours against a strict pattern, numbers as numbers) for the same reason.
"""

from __future__ import annotations

import html
import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import folium
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, MacroElement
from folium.template import Template

from ..errors import CRSError, LayerError
from .decor import check_colour, decor, mark_synthetic, note_layer
from .labels import code_label
from .rasters import add_categorical_raster, add_continuous_raster

__all__ = ["add_categorical_raster", "add_continuous_raster", "add_vector_layer", "format_value", "is_synthetic"]

Style = Mapping[str, Any]
Fields = Sequence[str] | Mapping[str, str] | None

_COLOUR_KEYS = {"color", "fillColor"}
_NUMBER_KEYS = {"weight", "opacity", "fillOpacity", "radius"}
_BOOL_KEYS = {"stroke", "fill"}
_DEFAULTS = {
    "polygon": {"color": "#2b6cb0", "weight": 1.5, "opacity": 0.9, "fillColor": "#4c9be8", "fillOpacity": 0.35},
    "line": {"color": "#2b6cb0", "weight": 2.0, "opacity": 0.9},
    "point": {"color": "#1f3d7a", "weight": 1.0, "opacity": 1.0, "fillColor": "#4c9be8", "fillOpacity": 0.9,
              "radius": 5.0},
}
_TIP_CSS = """<style>
  .kz-tip { border-collapse: collapse; font-size: 12px; }
  .kz-tip th { text-align: left; padding: 1px 8px 1px 0; color: #555; font-weight: 600; }
  .kz-tip td { padding: 1px 0; }
  .leaflet-container path.leaflet-interactive:focus { outline: none; }
  .kz-label { background: none; border: none; width: 0; height: 0; }
  .kz-label span { display: inline-block; transform: translate(-50%, -50%); font: 600 11px sans-serif;
                   color: #1a1a1a; white-space: nowrap; text-shadow: 0 0 3px #fff, 0 0 3px #fff, 0 0 2px #fff; }
</style>"""


class _GeoJsonData(MacroElement):
    """An ``L.geoJSON`` added to its parent FeatureGroup; data and styles embedded with ``tojson``.

    Each feature carries its style index ``_s`` and its tooltip/popup values ``_t``/``_p``
    (lists of already-escaped strings); the tables are assembled in the browser from the
    escaped field labels, which keeps big layers small.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function() {
          var st = {{ this.styles|tojson }}, hl = {{ this.highlights|tojson }};
          var tl = {{ this.tip_labels|tojson }}, pl = {{ this.pop_labels|tojson }}, head = {{ this.heading|tojson }};
          function table(labels, values, title) {
            var rows = labels.map(function(l, i) { return '<tr><th>' + l + '</th><td>' + values[i] + '</td></tr>'; });
            return (title ? '<b>' + title + '</b>' : '') + '<table class="kz-tip">' + rows.join('') + '</table>';
          }
          L.geoJSON({{ this.data|tojson }}, {
            interactive: {{ this.interactive|tojson }},
            style: function(f) { return st[f.properties._s]; },
            pointToLayer: function(f, ll) {
              return L.circleMarker(ll, L.extend({interactive: {{ this.interactive|tojson }}}, st[f.properties._s]));
            },
            onEachFeature: function(f, layer) {
              var p = f.properties;
              if (!{{ this.interactive|tojson }}) { return; }
              if (p._t) {
                layer.bindTooltip(function() { return table(tl, p._t, null); },
                                  {sticky: {{ this.sticky|tojson }}, className: 'kz-tooltip'});
              }
              if (p._p) { layer.bindPopup(function() { return table(pl, p._p, head); }, {maxWidth: 360}); }
              if (layer.setStyle) {
                layer.on('mouseover', function() { layer.setStyle(hl[p._s]); });
                layer.on('mouseout', function() { layer.setStyle(st[p._s]); });
              }
            }
          }).addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
        """
    )

    def __init__(self, data: dict, styles: list[dict], highlights: list[dict], sticky: bool,
                 tip_labels: list[str], pop_labels: list[str], heading: str, interactive: bool = True) -> None:
        super().__init__()
        self._name = "KunsinkGeoJson"
        self.interactive = interactive
        self.data, self.styles, self.highlights, self.sticky = data, styles, highlights, sticky
        self.tip_labels, self.pop_labels, self.heading = tip_labels, pop_labels, heading

    def render(self, **kwargs: Any) -> None:
        self.get_root().header.add_child(Element(_TIP_CSS), name="kunsink_vector_css")
        super().render(**kwargs)


class _Labels(MacroElement):
    """Permanent text labels (``L.divIcon`` markers, not interactive) in the parent FeatureGroup."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {{ this.points|tojson }}.forEach(function(p) {
          L.marker([p[0], p[1]], {interactive: false, keyboard: false,
            icon: L.divIcon({className: 'kz-label', html: '<span>' + p[2] + '</span>', iconSize: null})
          }).addTo({{ this._parent.get_name() }});
        });
        {% endmacro %}
        """
    )

    def __init__(self, points: list[list[Any]]) -> None:
        super().__init__()
        self._name = "KunsinkLabels"
        self.points = points


def format_value(value: Any, field: str = "") -> str:
    """Text for one attribute value (not yet escaped): thousands separators, ``—`` for missing.

    Fields named like ``*_year``, ``*_id``, ``*_code`` are written without separators.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if value is pd.NA or value is pd.NaT:
        return "—"
    if isinstance(value, (bool, np.bool_)):
        return "是 yes" if value else "否 no"
    plain = bool({"year", "id", "code", "adcode"} & set(field.lower().split("_")))
    if isinstance(value, numbers.Integral):
        return str(int(value)) if plain else f"{int(value):,}"
    if isinstance(value, numbers.Real):
        v = float(value)
        if not math.isfinite(v):
            return "—"
        if v == int(v) and abs(v) < 1e15:
            return str(int(v)) if plain else f"{int(v):,}"
        return f"{v:,.1f}" if abs(v) >= 100 else f"{v:.3g}"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def is_synthetic(gdf: Any) -> bool:
    """True if a layer says it is generated: a ``source`` column holding ``"synthetic"`` or ``attrs['source']``."""
    if str(getattr(gdf, "attrs", {}).get("source", "")).strip().lower() == "synthetic":
        return True
    if "source" in getattr(gdf, "columns", ()):
        return bool(gdf["source"].astype(str).str.strip().str.lower().eq("synthetic").any())
    return False


def _fields(fields: Fields, columns: Sequence[str]) -> list[tuple[str, str]]:
    if not fields:
        return []
    pairs = list(fields.items()) if isinstance(fields, Mapping) else [(f, f) for f in fields]
    missing = [c for c, _ in pairs if c not in columns]
    if missing:
        raise LayerError(f"layer has no field(s) {', '.join(map(repr, missing))}; it has: {', '.join(columns)}")
    return pairs


def _values(row: Mapping[str, Any], pairs: list[tuple[str, str]]) -> list[str]:
    """The escaped display text of each field in ``pairs`` (coded values as their labels)."""
    return [html.escape(format_value(code_label(row[col], col), col)) for col, _ in pairs]


def clean_style(style: Mapping[str, Any]) -> dict[str, Any]:
    """A Leaflet path style with colours and numbers checked; unknown keys raise LayerError."""
    out: dict[str, Any] = {}
    for key, value in style.items():
        if key in _COLOUR_KEYS:
            out[key] = check_colour(value)
        elif key in _NUMBER_KEYS:
            out[key] = float(value)
        elif key in _BOOL_KEYS:
            out[key] = bool(value)
        elif key == "dashArray":
            text = str(value)
            if not all(ch.isdigit() or ch in ", ." for ch in text):
                raise LayerError(f"dashArray must be numbers, not {value!r}")
            out[key] = text
        else:
            raise LayerError(f"unknown style key {key!r}; use color, weight, opacity, fillColor, fillOpacity, "
                             "radius, dashArray, stroke, fill")
    return out


def geometry_kind(gdf: Any) -> str:
    """``"point"``, ``"line"`` or ``"polygon"`` (the last also for mixed layers)."""
    return _kind(set(gdf.geom_type.dropna().unique()))


def _kind(geom_types: set[str]) -> str:
    if geom_types <= {"Point", "MultiPoint"}:
        return "point"
    if geom_types <= {"LineString", "MultiLineString", "LinearRing"}:
        return "line"
    return "polygon"


def _round(xy: np.ndarray) -> np.ndarray:
    return np.round(xy, 6)  # 1e-6 degree ≈ 0.1 m: plenty for drawing, keeps pages small


def add_vector_layer(
    m: Any,
    gdf: Any,
    name: str,
    style: Style | Callable[[Any], Style] | None = None,
    tooltip_fields: Fields = None,
    popup_fields: Fields = None,
    labels: str | None = None,
    show: bool = True,
    synthetic: bool | None = None,
    interactive: bool = True,
) -> folium.FeatureGroup:
    """Draw a GeoDataFrame as one named, toggleable layer.

    Parameters
    ----------
    m : folium.Map
        Usually from :func:`kunsink.maps.new_map`; if it was created with
        ``shift_to_gcj02=True`` the geometries are shifted WGS84 → GCJ-02 for drawing.
    gdf : geopandas.GeoDataFrame
        Any CRS (it must have one); reprojected to EPSG:4326 for drawing. Empty and missing
        geometries are skipped. Points are drawn as circle markers.
    name : str
        Name in the layer control (escaped).
    style : dict or callable, optional
        Leaflet path options (``color``, ``weight``, ``opacity``, ``fillColor``,
        ``fillOpacity``, ``radius``, ``dashArray``), or a function of the row (a pandas
        Series, values unescaped) returning them. Merged over a default per geometry type.
    tooltip_fields, popup_fields : list of str or {field: label}, optional
        Fields shown on hover / click, as a two-column table; every value is escaped. Coded
        values of the fields in :data:`kunsink.maps.labels.FIELD_CODES` (``gs_type``,
        ``status``, ``highway`` …) are shown as their Chinese + English labels.
    labels : str, optional
        A field whose text is drawn permanently at each feature (escaped).
    show : bool
        Whether the layer starts switched on.
    synthetic : bool, optional
        Force or suppress the synthetic-data notice; default :func:`is_synthetic` (a
        ``source`` column holding ``"synthetic"``).
    interactive : bool
        ``False`` draws a layer that ignores the mouse: clicks and hovers reach the features
        under it (e.g. gaps drawn over the neighbourhoods whose popups hold their figures).
        Such a layer has no tooltip or popup.

    Returns
    -------
    folium.FeatureGroup
        The layer, already added to ``m``.

    Raises
    ------
    CRSError
        If ``gdf`` has no CRS.
    LayerError
        Unknown fields or style keys.
    """
    if gdf.crs is None:
        raise CRSError(f"layer {name!r} has no CRS; set one (e.g. gdf.set_crs('EPSG:4326'))")
    cols = [c for c in gdf.columns if c != gdf.geometry.name]
    tips, pops = _fields(tooltip_fields, cols), _fields(popup_fields, cols)
    if not interactive and (tips or pops):
        raise LayerError(f"layer {name!r} ignores the mouse (interactive=False): it can have no tooltip or popup")
    if labels is not None:
        _fields([labels], cols)
    keep = gdf[~(gdf.geometry.isna() | gdf.geometry.is_empty)]
    ll = keep.to_crs("EPSG:4326")
    if decor(m).settings.shift_to_gcj02:
        from ..crs import convert_gdf

        ll = convert_gdf(ll, "wgs84", "gcj02")
    geoms = ll.geometry.values
    kind = _kind(set(ll.geom_type.dropna().unique()))
    base = _DEFAULTS[kind]
    styles: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    features = []
    coords = shapely.transform(np.asarray(geoms, dtype=object), _round)
    records = keep.drop(columns=keep.geometry.name).to_dict("records")
    fixed = None if callable(style) else clean_style({**base, **(style or {})})
    for i, (record, geom) in enumerate(zip(records, coords)):
        full = fixed if fixed is not None else clean_style({**base, **style(pd.Series(record))})
        key = repr(sorted(full.items()))
        if key not in index:
            index[key] = len(styles)
            styles.append(full)
        props: dict[str, Any] = {"_s": index[key]}
        if tips:
            props["_t"] = _values(record, tips)
        if pops:
            props["_p"] = _values(record, pops)
        features.append({"type": "Feature", "id": i, "properties": props,
                         "geometry": shapely.geometry.mapping(geom)})
    highlights = [{**s, "weight": s.get("weight", 1.0) + 2.0,
                   "fillOpacity": min(1.0, s.get("fillOpacity", 0.3) + 0.2)} for s in styles]
    label = html.escape(str(name))
    group = folium.FeatureGroup(name=label, overlay=True, control=True, show=show)
    group.add_child(_GeoJsonData({"type": "FeatureCollection", "features": features}, styles, highlights,
                                 sticky=(kind != "point"), tip_labels=[html.escape(str(t)) for _, t in tips],
                                 pop_labels=[html.escape(str(t)) for _, t in pops], heading=label,
                                 interactive=bool(interactive)))
    if labels is not None:
        pts = ll.geometry.representative_point()
        texts = keep[labels]
        group.add_child(_Labels([[round(p.y, 6), round(p.x, 6),
                                  html.escape(format_value(code_label(t, labels), labels))]
                                 for p, t in zip(pts, texts) if format_value(t) != "—"]))
    group.add_to(m)
    note_layer(m, label, show)
    if synthetic if synthetic is not None else is_synthetic(gdf):
        mark_synthetic(m, label)
    return group
