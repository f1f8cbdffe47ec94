"""Page furniture drawn over a map: title, synthetic-data notice, footnote and legends.

All of it is plain HTML/CSS in fixed-position boxes (no branca colormaps, which load d3
from a CDN). Every text is HTML-escaped here; colours are checked against a strict pattern
so nothing from data or arguments can inject markup. The per-map settings kunsink needs
(the GCJ-02 shift, which layers are synthetic) live on the same element, so a plain
``folium.Map`` works too: the element is created the first time it is asked for.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from branca.element import MacroElement
from folium.template import Template

from ..errors import ConfigError

__all__ = [
    "DEFAULT_FOOTNOTE",
    "SYNTHETIC_NOTICE",
    "add_legend",
    "add_ramp_legend",
    "check_colour",
    "mark_synthetic",
    "note_layer",
    "set_footnote",
    "set_title",
]

SYNTHETIC_NOTICE = "合成演示数据 Synthetic demo data — not real survey data"
DEFAULT_FOOTNOTE = "内部规划使用，不得公开发布（无审图号） · Internal planning use, not for publication (no 审图号)"

_COLOUR = re.compile(r"^(#[0-9a-fA-F]{3,8}|[a-zA-Z]{3,20}|rgba?\(\s*[0-9.,\s%]+\))$")

SwatchKind = Literal["fill", "line", "point"]


def check_colour(colour: str) -> str:
    """Return ``colour`` if it is a safe CSS colour (``#rrggbb``, a name, ``rgb()``), else raise ConfigError."""
    text = str(colour).strip()
    if not _COLOUR.match(text):
        raise ConfigError(f"not a CSS colour: {colour!r} (use #rrggbb, a colour name or rgb(...))")
    return text


@dataclass
class _Section:
    title: str
    body: str
    layers: list[str] = field(default_factory=list)  # layer-control names (escaped once, as Leaflet shows them)
    show: bool = True

    @property
    def layer(self) -> str | None:
        return self.layers[0] if self.layers else None

    @property
    def layers_json(self) -> str:
        return json.dumps(self.layers, ensure_ascii=False)


@dataclass
class _Settings:
    shift_to_gcj02: bool = False
    synthetic_layers: list[str] = field(default_factory=list)
    title: str | None = None
    subtitle: str | None = None
    footnote: str | None = None
    legends: list[_Section] = field(default_factory=list)
    basemaps: list[str] = field(default_factory=list)
    #: layer-control name -> whether the layer starts switched on (for the legend sections)
    layer_shown: dict[str, bool] = field(default_factory=dict)


class Decor(MacroElement):
    """The furniture of one map; obtain it with :func:`decor`, never build it directly."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>
          .kz-box { position: fixed; z-index: 1000; background: rgba(255,255,255,0.93); color: #222;
                    font: 12px/1.35 "Microsoft YaHei","PingFang SC","Noto Sans CJK SC","WenQuanYi Micro Hei",sans-serif;
                    border-radius: 4px; box-shadow: 0 1px 4px rgba(0,0,0,0.35); }
          .kz-top { top: 10px; left: 50%; transform: translateX(-50%); max-width: 60vw; text-align: center;
                    background: none; box-shadow: none; pointer-events: none; }
          .kz-title { display: inline-block; padding: 5px 12px; font-size: 16px; font-weight: 600;
                      background: rgba(255,255,255,0.93); border-radius: 4px; box-shadow: 0 1px 4px rgba(0,0,0,0.35); }
          .kz-subtitle { font-size: 12px; font-weight: 400; color: #555; }
          .kz-notice { margin-top: 6px; padding: 4px 10px; font-size: 13px; font-weight: 600; color: #7a1e00;
                       background: #fff1c2; border: 2px solid #d9480f; border-radius: 4px; pointer-events: auto; }
          .kz-legend { bottom: 26px; right: 10px; max-height: 62vh; max-width: 300px; overflow-y: auto;
                       padding: 6px 10px; }
          .kz-legend h4 { margin: 6px 0 3px; font-size: 12.5px; font-weight: 600; }
          .kz-legend h4:first-child { margin-top: 0; }
          .kz-row { display: flex; align-items: center; margin: 2px 0; }
          .kz-sw { display: inline-block; flex: none; width: 18px; height: 12px; margin-right: 6px;
                   border: 1px solid #555; box-sizing: border-box; }
          .kz-sw.kz-line { height: 0; border-width: 0; border-top-width: 3px; border-top-style: solid; }
          .kz-sw.kz-point { width: 11px; height: 11px; margin: 0 9px 0 4px; border-radius: 50%; }
          .kz-ramp { width: 200px; height: 12px; border: 1px solid #777; }
          .kz-ticks { display: flex; justify-content: space-between; width: 202px; font-size: 11px; }
          .kz-foot { bottom: 4px; left: 50%; transform: translateX(-50%); padding: 2px 8px; font-size: 11px;
                     color: #444; white-space: nowrap; }
          .kz-popup-open .leaflet-tooltip-pane { visibility: hidden; }
          .leaflet-control-layers-toggle { width: auto !important; min-width: 36px; padding: 0 8px 0 40px;
                     background-position: 6px center; line-height: 36px; font-size: 13px; color: #222;
                     text-decoration: none; }
          .leaflet-control-layers-toggle::after { content: "图层 Layers"; }
          .leaflet-control-layers-expanded .leaflet-control-layers-toggle { display: none; }
          .leaflet-control-layers-list { max-height: 60vh; overflow-y: auto; }
        </style>
        {% endmacro %}

        {% macro html(this, kwargs) %}
        {%- if this.settings.title or this.settings.synthetic_layers %}
        <div class="kz-box kz-top" id="kunsink-title">
          {%- if this.settings.title %}
          <div class="kz-title">{{ this.settings.title|e }}
            {%- if this.settings.subtitle %}<div class="kz-subtitle">{{ this.settings.subtitle|e }}</div>{% endif -%}
          </div>
          {%- endif %}
          {%- if this.settings.synthetic_layers %}
          <div class="kz-notice" id="kunsink-synthetic-notice"
               title="{{ this.notice_detail|e }}">⚠ {{ this.notice|e }}</div>
          {%- endif %}
        </div>
        {%- endif %}
        {%- if this.settings.legends %}
        <div class="kz-box kz-legend" id="kunsink-legend">
          {%- for s in this.settings.legends %}
          <div class="kz-section"{% if s.layers %} data-layer="{{ s.layer|e }}" data-layers="{{ s.layers_json|e }}"{% endif %}
               {%- if not this.starts_shown(s) %} style="display:none"{% endif %}>
            <h4>{{ s.title|e }}</h4>{{ s.body }}
          </div>
          {%- endfor %}
        </div>
        {%- endif %}
        {%- if this.settings.footnote %}
        <div class="kz-box kz-foot" id="kunsink-footnote">{{ this.settings.footnote|e }}</div>
        {%- endif %}
        {% endmacro %}

        {% macro script(this, kwargs) %}
        (function(map) {
          // Popups open clear of the title and notice: pan so their top stays below that box.
          function padPopups() {
            var box = document.getElementById('kunsink-title'), top = 10;
            if (box) {
              var r = box.getBoundingClientRect(), c = map.getContainer().getBoundingClientRect();
              if (r.height > 0) { top = Math.max(top, Math.ceil(r.bottom - c.top) + 10); }
            }
            L.Popup.mergeOptions({autoPanPaddingTopLeft: L.point(10, top), autoPanPaddingBottomRight: L.point(10, 30)});
          }
          padPopups();
          map.on('resize', padPopups);
          // No hover tooltip over an open popup.
          map.on('popupopen', function(e) {
            L.DomUtil.addClass(map.getContainer(), 'kz-popup-open');
            var src = e.popup._source;
            if (src && src.closeTooltip) { src.closeTooltip(); }
          });
          map.on('popupclose', function() { L.DomUtil.removeClass(map.getContainer(), 'kz-popup-open'); });
          {%- if this.settings.legends %}
          // A legend section shows while any of its layers is switched on.
          var on = {{ this.shown_at_start|tojson }};
          function refresh() {
            document.querySelectorAll('#kunsink-legend .kz-section').forEach(function(el) {
              if (!el.dataset.layers) { return; }
              var names = JSON.parse(el.dataset.layers);
              el.style.display = names.some(function(n) { return on[n]; }) ? '' : 'none';
            });
          }
          map.on('overlayadd', function(e) { on[e.name] = true; refresh(); });
          map.on('overlayremove', function(e) { on[e.name] = false; refresh(); });
          {%- endif %}
        })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "KunsinkDecor"
        self.settings = _Settings()
        self.notice = SYNTHETIC_NOTICE

    def starts_shown(self, section: _Section) -> bool:
        """Whether a legend section is visible when the page opens."""
        if not section.layers:
            return section.show
        return any(self.settings.layer_shown.get(n, section.show) for n in section.layers)

    @property
    def shown_at_start(self) -> dict[str, bool]:
        """Layer-control name -> on at start, for every layer a legend section follows."""
        return {n: bool(self.settings.layer_shown.get(n, s.show)) for s in self.settings.legends for n in s.layers}

    @property
    def notice_detail(self) -> str:
        return "synthetic layers: " + ", ".join(html.unescape(n) for n in self.settings.synthetic_layers)


def decor(m: Any) -> Decor:
    """The :class:`Decor` of a map, created and attached on first use."""
    found = getattr(m, "_kunsink_decor", None)
    if found is None:
        found = Decor()
        m.add_child(found, name="kunsink_decor")
        m._kunsink_decor = found
    return found


def set_title(m: Any, title: str | None, subtitle: str | None = None) -> Any:
    """Show ``title`` (and an optional ``subtitle``) centred at the top of the map; also the page title."""
    d = decor(m)
    d.settings.title = None if title is None else str(title)
    d.settings.subtitle = None if subtitle is None else str(subtitle)
    if title:
        m.get_root().title = html.escape(str(title))
    return m


def set_footnote(m: Any, text: str | None = DEFAULT_FOOTNOTE) -> Any:
    """Show a small footnote at the bottom centre (default: internal use only, no 审图号); ``None`` removes it."""
    decor(m).settings.footnote = None if text is None else str(text)
    return m


def mark_synthetic(m: Any, layer_name: str) -> Any:
    """Record that ``layer_name`` shows synthetic data; the map then carries the synthetic-data notice."""
    layers = decor(m).settings.synthetic_layers
    if layer_name not in layers:
        layers.append(layer_name)
    return m


def _swatch(colour: str, kind: SwatchKind, edge: str | None) -> str:
    fill = check_colour(colour)
    border = check_colour(edge) if edge else "#555"
    if kind == "line":
        return f'<span class="kz-sw kz-line" style="border-top-color:{fill}"></span>'
    if kind == "point":
        return f'<span class="kz-sw kz-point" style="background:{fill};border-color:{border}"></span>'
    if kind != "fill":
        raise ConfigError(f"legend swatch kind must be fill, line or point, not {kind!r}")
    return f'<span class="kz-sw" style="background:{fill};border-color:{border}"></span>'


def add_legend(
    m: Any,
    title: str,
    entries: Mapping[str, str] | Sequence[tuple[Any, ...]],
    layer: str | Sequence[str] | None = None,
    show: bool = True,
) -> Any:
    """Add a categorical legend (colour swatches with labels) to the map's legend box.

    Parameters
    ----------
    m : folium.Map
    title : str
        Heading of this legend section (escaped).
    entries : mapping or sequence
        ``{label: colour}``, or tuples ``(colour, label)``, ``(colour, label, kind)`` or
        ``(colour, label, kind, edge_colour)`` with ``kind`` one of ``"fill"`` (default),
        ``"line"``, ``"point"``. Labels are escaped; colours must be CSS colours.
    layer : str or sequence of str, optional
        Layer-control name(s) of the layer(s) this legend belongs to: the section shows while
        any of them is switched on.
    show : bool
        Whether the section starts visible, for layers whose start state the map does not
        know (layers drawn by kunsink.maps record their own).
    """
    if isinstance(entries, Mapping):
        rows: list[tuple[Any, ...]] = [(colour, label) for label, colour in entries.items()]
    else:
        rows = [tuple(e) for e in entries]
    parts = []
    for row in rows:
        if len(row) < 2:
            raise ConfigError(f"legend entry {row!r} needs at least (colour, label)")
        colour, label = row[0], row[1]
        kind = row[2] if len(row) > 2 else "fill"
        edge = row[3] if len(row) > 3 else None
        parts.append(f'<div class="kz-row">{_swatch(colour, kind, edge)}<span>{html.escape(str(label))}</span></div>')
    decor(m).settings.legends.append(_Section(str(title), "".join(parts), _names(layer), show))
    return m


def _names(layer: str | Sequence[str] | None) -> list[str]:
    if layer is None:
        return []
    return [str(layer)] if isinstance(layer, str) else [str(n) for n in layer]


def note_layer(m: Any, name: str, show: bool) -> None:
    """Record that the layer-control entry ``name`` (escaped once) starts switched on or off."""
    decor(m).settings.layer_shown[str(name)] = bool(show)


def _tick(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def add_ramp_legend(
    m: Any,
    title: str,
    colours: Sequence[str],
    vmin: float,
    vmax: float,
    unit: str | None = None,
    layer: str | Sequence[str] | None = None,
    show: bool = True,
) -> Any:
    """Add a continuous colour-ramp legend (a CSS gradient with min, mid and max ticks).

    Parameters
    ----------
    m : folium.Map
    title : str
        Heading (escaped).
    colours : sequence of str
        Ramp stops from ``vmin`` to ``vmax``, evenly spaced.
    vmin, vmax : float
        Values at the ends of the ramp, in the data's units.
    unit : str, optional
        Shown after the heading, e.g. ``"Mg C/ha"``.
    layer, show
        As in :func:`add_legend`.
    """
    stops = ", ".join(check_colour(c) for c in colours)
    if len(colours) < 2:
        raise ConfigError("a colour ramp needs at least two colours")
    mid = (float(vmin) + float(vmax)) / 2
    body = (
        f'<div class="kz-ramp" style="background:linear-gradient(to right, {stops})"></div>'
        f'<div class="kz-ticks"><span>{_tick(float(vmin))}</span><span>{_tick(mid)}</span>'
        f"<span>{_tick(float(vmax))}</span></div>"
    )
    heading = f"{title} ({unit})" if unit else str(title)
    decor(m).settings.legends.append(_Section(heading, body, _names(layer), show))
    return m
