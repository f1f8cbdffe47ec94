"""QGIS styles for kunsink's outputs: ``.qml`` documents, the GeoPackage ``layer_styles`` table, raster sidecars.

A planner opening a kunsink GeoPackage or GeoTIFF in QGIS sees it styled at once:

* each output GeoPackage carries a ``layer_styles`` table (the table QGIS itself creates when a style is
  saved "in the database"; registered in ``gpkg_contents`` as ``attributes``), one default style per layer;
* each raster has ``<name>.qml`` beside it, which QGIS loads with the raster.

The ``*_qml`` functions are pure: they return the text of a QML document (UTF-8 XML, parsable by
:mod:`xml.etree.ElementTree`), labels Chinese first with English beside. Symbol properties are written
both as ``<Option>`` maps (QGIS ≥ 3.26) and as ``<prop>`` pairs (older QGIS 3.x), so styles open in the
QGIS versions found on planning intranets. Only :func:`write_layer_styles` and :func:`write_raster_qml`
touch files.
"""

from __future__ import annotations

import itertools
import os
import sqlite3
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from pathlib import Path

from .errors import OutputError
from .landcover import CLASS_NAMES_ZH, KUNSINK_CLASSES

__all__ = [
    "LANDCOVER_COLOURS",
    "biomass_qml",
    "categorized_qml",
    "change_qml",
    "count_qml",
    "coverage_status_qml",
    "gaps_qml",
    "landcover_qml",
    "mine_status_qml",
    "ndvi_qml",
    "npv_qml",
    "paletted_qml",
    "plots_qml",
    "ramp_qml",
    "read_layer_styles",
    "service_areas_qml",
    "single_symbol_qml",
    "stock_qml",
    "write_layer_styles",
    "write_raster_qml",
]

#: Version stamped on the documents (the oldest QGIS whose QML layout these follow).
QGIS_VERSION = "3.16.0-Hannover"
#: Land-cover colours by kunsink class (CLCD codes + 10 mine spoil).
LANDCOVER_COLOURS: dict[int, str] = {
    1: "#f2d16b", 2: "#1f7a34", 3: "#7fb069", 4: "#b7d968", 5: "#3a7bd5", 6: "#e8f4fa", 7: "#cdb79e",
    8: "#d7301f", 9: "#5fb7a8", 10: "#6b4f3a",
}
_GREENS = ("#f7fcf5", "#c7e9c0", "#74c476", "#238b45", "#00441b")
_YLGN = ("#ffffe5", "#d9f0a3", "#78c679", "#238443", "#004529")
_RED_WHITE_GREEN = ("#b2182b", "#ef8a62", "#ffffff", "#7fbf7b", "#1b7837")
_NDVI = ((-0.2, "#8c510a"), (0.0, "#d8b365"), (0.2, "#f6e8c3"), (0.4, "#a6d96a"), (0.6, "#1a9641"), (0.9, "#00441b"))
MINE_STATUS: dict[str, tuple[str, str]] = {
    "planned": ("#9aa5b1", "计划 planned"),
    "in_treatment": ("#f0a020", "治理中 in treatment"),
    "completed": ("#7cc46b", "已完工 completed"),
    "accepted": ("#1f7a34", "已验收 accepted"),
}
COVERAGE_STATUS: dict[str, tuple[str, str]] = {
    "all met": ("#2e9d4f", "全部达标 all rules met"),
    "partly met": ("#f0b429", "部分达标 some rules met"),
    "none met": ("#d64545", "均未达标 no rule met"),
}


# --- document helpers ---------------------------------------------------------------------------------------

def _rgba(colour: str, alpha: int = 255) -> str:
    """``#rrggbb`` → ``r,g,b,a`` as QGIS writes colours in symbol properties."""
    c = colour.lstrip("#")
    if len(c) != 6:
        raise ValueError(f"expected a #rrggbb colour, got {colour!r}")
    return f"{int(c[0:2], 16)},{int(c[2:4], 16)},{int(c[4:6], 16)},{alpha}"


def _root(categories: str) -> ET.Element:
    return ET.Element("qgis", {"version": QGIS_VERSION, "styleCategories": categories,
                               "hasScaleBasedVisibilityFlag": "0", "minScale": "1e+08", "maxScale": "0"})


def _text(root: ET.Element) -> str:
    ET.indent(root, "  ")
    return "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + ET.tostring(root, encoding="unicode") + "\n"


def _props(parent: ET.Element, props: Mapping[str, str]) -> None:
    """Symbol-layer properties in both the current (``<Option>``) and the older (``<prop>``) form."""
    opt = ET.SubElement(parent, "Option", {"type": "Map"})
    for k, v in props.items():
        ET.SubElement(opt, "Option", {"type": "QString", "name": k, "value": str(v)})
    for k, v in props.items():
        ET.SubElement(parent, "prop", {"k": k, "v": str(v)})


def _symbol(parent: ET.Element, name: str, geometry: str, fill: str, outline: str = "#323232", *,
            alpha: float = 1.0, width_mm: float = 0.26, size_mm: float = 2.4, brush: str = "solid",
            shape: str = "circle") -> ET.Element:
    """One symbol: ``geometry`` is ``polygon`` (SimpleFill), ``line`` (SimpleLine) or ``point`` (SimpleMarker)."""
    kind = {"polygon": "fill", "line": "line", "point": "marker"}[geometry]
    sym = ET.SubElement(parent, "symbol", {"type": kind, "name": name, "alpha": f"{alpha:g}", "clip_to_extent": "1",
                                           "force_rhr": "0"})
    if geometry == "polygon":
        layer = ET.SubElement(sym, "layer", {"class": "SimpleFill", "enabled": "1", "locked": "0", "pass": "0"})
        _props(layer, {"border_width_map_unit_scale": "3x:0,0,0,0,0,0", "color": _rgba(fill), "joinstyle": "bevel",
                       "offset": "0,0", "offset_unit": "MM", "outline_color": _rgba(outline), "outline_style": "solid",
                       "outline_width": f"{width_mm:g}", "outline_width_unit": "MM", "style": brush})
    elif geometry == "line":
        layer = ET.SubElement(sym, "layer", {"class": "SimpleLine", "enabled": "1", "locked": "0", "pass": "0"})
        _props(layer, {"capstyle": "square", "joinstyle": "bevel", "line_color": _rgba(fill), "line_style": "solid",
                       "line_width": f"{width_mm:g}", "line_width_unit": "MM", "offset": "0", "offset_unit": "MM"})
    else:
        layer = ET.SubElement(sym, "layer", {"class": "SimpleMarker", "enabled": "1", "locked": "0", "pass": "0"})
        _props(layer, {"angle": "0", "color": _rgba(fill), "joinstyle": "bevel", "name": shape, "offset": "0,0",
                       "offset_unit": "MM", "outline_color": _rgba(outline), "outline_style": "solid",
                       "outline_width": f"{width_mm:g}", "outline_width_unit": "MM", "scale_method": "diameter",
                       "size": f"{size_mm:g}", "size_unit": "MM", "vertical_anchor_point": "1"})
    return sym


_GEOM_TYPE = {"point": "0", "line": "1", "polygon": "2"}


def _check_geometry(geometry: str) -> str:
    g = geometry.lower()
    for key, names in (("point", ("point", "multipoint")), ("line", ("line", "linestring", "multilinestring")),
                       ("polygon", ("polygon", "multipolygon"))):
        if g in names:
            return key
    raise ValueError(f"geometry must be point, line or polygon; got {geometry!r}")


def _vector_doc(renderer: ET.Element, geometry: str) -> str:
    root = _root("Symbology")
    root.append(renderer)
    ET.SubElement(root, "blendMode").text = "0"
    ET.SubElement(root, "featureBlendMode").text = "0"
    ET.SubElement(root, "layerGeometryType").text = _GEOM_TYPE[geometry]
    return _text(root)


# --- vector styles ------------------------------------------------------------------------------------------

def single_symbol_qml(geometry: str, fill: str, outline: str = "#323232", *, alpha: float = 1.0,
                      width_mm: float = 0.26, size_mm: float = 2.4, brush: str = "solid") -> str:
    """One symbol for every feature (``singleSymbol`` renderer).

    ``geometry`` is ``point``, ``line`` or ``polygon`` (multi-types accepted); ``brush`` a Qt brush style
    for fills (``solid``, ``b_diagonal``, ``f_diagonal``, ``cross``, ``no``). Widths and sizes in mm.
    """
    g = _check_geometry(geometry)
    renderer = ET.Element("renderer-v2", {"type": "singleSymbol", "symbollevels": "0", "forceraster": "0",
                                          "enableorderby": "0"})
    symbols = ET.SubElement(renderer, "symbols")
    _symbol(symbols, "0", g, fill, outline, alpha=alpha, width_mm=width_mm, size_mm=size_mm, brush=brush)
    ET.SubElement(renderer, "rotation")
    ET.SubElement(renderer, "sizescale")
    return _vector_doc(renderer, g)


def categorized_qml(attr: str, categories: Sequence[tuple[object, str, str]], geometry: str, *,
                    outline: str = "#323232", alpha: float = 1.0, size_mm: float = 2.4, other: str | None = None) -> str:
    """A ``categorizedSymbol`` renderer on field ``attr``.

    ``categories`` are ``(value, colour, label)``; values are written as text (QGIS matches them against the
    field's values; numbers as their decimal text). ``other`` (a label) adds a grey catch-all category for
    values not listed (including NULL).
    """
    g = _check_geometry(geometry)
    renderer = ET.Element("renderer-v2", {"type": "categorizedSymbol", "attr": attr, "symbollevels": "0",
                                          "forceraster": "0", "enableorderby": "0"})
    cats = ET.SubElement(renderer, "categories")
    symbols = ET.SubElement(renderer, "symbols")
    rows = list(categories) + ([("", "#bdbdbd", other)] if other else [])
    for i, (value, colour, label) in enumerate(rows):
        ET.SubElement(cats, "category", {"value": str(value), "symbol": str(i), "label": label, "render": "true"})
        _symbol(symbols, str(i), g, colour, outline, alpha=alpha, size_mm=size_mm)
    source = ET.SubElement(renderer, "source-symbol")
    _symbol(source, "0", g, "#bdbdbd", outline, alpha=alpha, size_mm=size_mm)
    ET.SubElement(renderer, "rotation")
    ET.SubElement(renderer, "sizescale")
    return _vector_doc(renderer, g)


def coverage_status_qml(attr: str = "status_network") -> str:
    """Neighbourhood polygons by coverage status (``all met`` / ``partly met`` / ``none met``), semi-opaque."""
    return categorized_qml(attr, [(k, c, lab) for k, (c, lab) in COVERAGE_STATUS.items()], "polygon",
                           outline="#6b4f2a", alpha=0.75, other="无数据 no value")


def gaps_qml() -> str:
    """Coverage gaps: red diagonal hatching with a red outline (the land under them stays visible)."""
    return single_symbol_qml("polygon", "#c00000", "#8b0000", width_mm=0.4, brush="b_diagonal")


def service_areas_qml(rules: Sequence[str] | None = None) -> str:
    """Service areas: translucent fills, one colour per rule when ``rules`` are given (field ``rule``)."""
    colours = ("#1f77b4", "#7b3fb0", "#0f8b8d", "#c2185b")
    if not rules:
        return single_symbol_qml("polygon", "#1f77b4", "#1f77b4", alpha=0.35)
    cats = [(r, colours[i % len(colours)], f"服务范围 service area · {r}") for i, r in enumerate(rules)]
    return categorized_qml("rule", cats, "polygon", outline="#1f3d7a", alpha=0.35, other="其他 other")


def mine_status_qml(attr: str = "status") -> str:
    """Mine rehabilitation sites by status (``kunsink.mines.model.STATUSES``), Chinese and English labels."""
    return categorized_qml(attr, [(k, c, lab) for k, (c, lab) in MINE_STATUS.items()], "polygon",
                           outline="#3a3a3a", alpha=0.85, other="无状态 no status recorded")


def plots_qml(attr: str = "stratum", classes: Sequence[int] | None = None) -> str:
    """Monitoring plots (points) by stratum: land-cover classes coloured as :func:`landcover_qml`."""
    codes = sorted(classes) if classes is not None else sorted(KUNSINK_CLASSES)
    cats = [(int(c), LANDCOVER_COLOURS.get(int(c), "#969696"),
             f"{CLASS_NAMES_ZH.get(int(c), str(c))} {KUNSINK_CLASSES.get(int(c), '')}".strip()) for c in codes]
    return categorized_qml(attr, cats, "point", outline="#000000", size_mm=2.6, other="其他 other")


# --- raster styles ------------------------------------------------------------------------------------------

def _raster_root(renderer_attrs: dict[str, str]) -> tuple[ET.Element, ET.Element]:
    root = _root("AllStyleCategories")
    pipe = ET.SubElement(root, "pipe")
    rr = ET.SubElement(pipe, "rasterrenderer", {"band": "1", "opacity": "1", "alphaBand": "-1", "nodataColor": "",
                                                **renderer_attrs})
    ET.SubElement(rr, "rasterTransparency")
    mmo = ET.SubElement(rr, "minMaxOrigin")
    for tag, text in (("limits", "None"), ("extent", "WholeRaster"), ("statAccuracy", "Estimated"),
                      ("cumulativeCutLower", "0.02"), ("cumulativeCutUpper", "0.98"), ("stdDevFactor", "2")):
        ET.SubElement(mmo, tag).text = text
    return root, rr


def _raster_tail(root: ET.Element) -> str:
    pipe = root.find("pipe")
    ET.SubElement(pipe, "brightnesscontrast", {"brightness": "0", "contrast": "0", "gamma": "1"})
    ET.SubElement(pipe, "huesaturation", {"saturation": "0", "grayscaleMode": "0", "colorizeOn": "0",
                                          "colorizeRed": "255", "colorizeGreen": "128", "colorizeBlue": "128",
                                          "colorizeStrength": "100"})
    ET.SubElement(pipe, "rasterresampler", {"maxOversampling": "2"})
    ET.SubElement(root, "blendMode").text = "0"
    return _text(root)


def ramp_qml(stops: Sequence[tuple[float, str, str]], *, discrete: bool = False, precision: int = 1) -> str:
    """A single-band pseudocolour raster style (``singlebandpseudocolor``) from ``(value, colour, label)`` stops.

    Values in the raster's own units, ascending; colours interpolate linearly between stops (or, with
    ``discrete``, each colour holds up to its value). Nodata stays transparent.
    """
    if len(stops) < 2:
        raise ValueError("a colour ramp needs at least two stops")
    vals = [float(v) for v, _, _ in stops]
    if any(b <= a for a, b in itertools.pairwise(vals)):
        raise ValueError(f"ramp stops must increase; got {vals}")
    lo, hi = vals[0], vals[-1]
    root, rr = _raster_root({"type": "singlebandpseudocolor", "classificationMin": f"{lo:g}",
                             "classificationMax": f"{hi:g}"})
    shader = ET.SubElement(ET.SubElement(rr, "rastershader"), "colorrampshader", {
        "colorRampType": "DISCRETE" if discrete else "INTERPOLATED", "classificationMode": "1", "clip": "0",
        "minimumValue": f"{lo:g}", "maximumValue": f"{hi:g}", "labelPrecision": str(precision)})
    inner = ":".join(f"{(v - lo) / (hi - lo):.6g};{_rgba(c)}" for v, c, _ in stops[1:-1])  # offset;r,g,b,a:…
    ramp = ET.SubElement(shader, "colorramp", {"type": "gradient", "name": "[source]"})
    _props(ramp, {"color1": _rgba(stops[0][1]), "color2": _rgba(stops[-1][1]), "discrete": "1" if discrete else "0",
                  "rampType": "gradient", **({"stops": inner} if inner else {})})
    for v, c, label in stops:
        ET.SubElement(shader, "item", {"alpha": "255", "value": f"{float(v):g}", "label": label, "color": c})
    return _raster_tail(root)


def paletted_qml(entries: Sequence[tuple[int, str, str]]) -> str:
    """A paletted raster style: one colour and label per integer value (``(value, colour, label)``)."""
    root, rr = _raster_root({"type": "paletted"})
    pal = ET.SubElement(rr, "colorPalette")
    for v, c, label in entries:
        ET.SubElement(pal, "paletteEntry", {"value": str(int(v)), "color": c, "alpha": "255", "label": label})
    return _raster_tail(root)


def _nice(x: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10ⁿ that is ≥ ``x`` (> 0)."""
    import math

    x = max(float(x), 1e-9)
    e = 10 ** math.floor(math.log10(x))
    return next(m * e for m in (1, 2, 2.5, 5, 10) if m * e >= x * (1 - 1e-9))


def _even_stops(lo: float, hi: float, colours: Sequence[str], unit: str, label0: str | None = None
                ) -> list[tuple[float, str, str]]:
    n = len(colours) - 1
    out = []
    for i, c in enumerate(colours):
        v = lo + (hi - lo) * i / n
        out.append((v, c, f"{v:g} {unit}"))
    if label0 is not None:
        out = [(v, c, label0 if v == 0 else lab) for v, c, lab in out]
    return out


def stock_qml(vmax: float, unit: str = "Mg C/ha") -> str:
    """Carbon stock (density) raster: sequential greens from 0 to ``vmax`` (rounded up to a nice number)."""
    return ramp_qml(_even_stops(0.0, _nice(vmax), _GREENS, unit))


def change_qml(limit: float, unit: str = "Mg C/ha") -> str:
    """Carbon change raster: diverging red (loss) – white (0) – green (gain), symmetric about 0 to ±``limit``."""
    lim = _nice(abs(limit) if limit else 1.0)
    stops = _even_stops(-lim, lim, _RED_WHITE_GREEN, unit, label0=f"0 {unit} 无变化 no change")
    stops[0] = (stops[0][0], stops[0][1], f"{stops[0][2]} 减少 loss")
    stops[-1] = (stops[-1][0], stops[-1][1], f"+{stops[-1][2]} 增加 gain")
    return ramp_qml(stops)


def npv_qml(limit: float, unit: str = "currency/ha") -> str:
    """Net present value of carbon change: diverging red – white (0) – green, symmetric to ±``limit``."""
    return change_qml(limit, unit)


def landcover_qml(classes: Mapping[int, str] | None = None) -> str:
    """Land-cover raster (kunsink classes) as a palette with Chinese and English class names."""
    classes = dict(KUNSINK_CLASSES if classes is None else classes)
    return paletted_qml([(k, LANDCOVER_COLOURS.get(k, "#969696"), f"{k} {CLASS_NAMES_ZH.get(k, '')} {v}".replace("  ", " "))
                         for k, v in sorted(classes.items())])


def ndvi_qml() -> str:
    """NDVI raster (−0.2 … 0.9, unitless): brown (bare) to dark green (dense vegetation)."""
    return ramp_qml([(v, c, f"{v:g}" + (" 裸地 bare" if v == 0.0 else " 茂密植被 dense" if v == 0.9 else ""))
                     for v, c in _NDVI], precision=2)


def biomass_qml(vmax: float, unit: str = "t/ha") -> str:
    """Above-ground biomass (or its spread) raster: sequential yellow–green from 0 to ``vmax``."""
    return ramp_qml(_even_stops(0.0, _nice(vmax), _YLGN, unit))


def count_qml(n: int, what: str = "predictors outside their training range", what_zh: str = "超出训练范围的预测变量") -> str:
    """A small count raster (0…``n``) as a palette: 0 green, then yellow to red."""
    ramp = ("#1a9641", "#fdae61", "#f46d43", "#d73027", "#a50026")
    entries = [(0, ramp[0], "0 无 none")]
    entries += [(i, ramp[min(i, len(ramp) - 1)], f"{i} {what_zh} {what}") for i in range(1, max(int(n), 1) + 1)]
    return paletted_qml(entries)


# --- writing ------------------------------------------------------------------------------------------------

_LAYER_STYLES_DDL = """
CREATE TABLE layer_styles (
  id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
  f_table_catalog TEXT(256),
  f_table_schema TEXT(256),
  f_table_name TEXT(256),
  f_geometry_column TEXT(256),
  styleName TEXT(30),
  styleQML TEXT,
  styleSLD TEXT,
  useAsDefault BOOLEAN,
  description TEXT,
  owner TEXT(30),
  ui TEXT(30),
  update_time DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
)"""


def write_layer_styles(gpkg_path: str | os.PathLike, styles: Mapping[str, tuple[str, str]]) -> Path:
    """Store a default QGIS style for layers of a GeoPackage, in its ``layer_styles`` table.

    The table is the one QGIS creates when a style is saved in the database (``f_table_catalog`` and
    ``f_table_schema`` empty, ``f_geometry_column`` from ``gpkg_geometry_columns``, ``styleName`` the layer
    name, ``useAsDefault`` 1), registered in ``gpkg_contents`` as ``attributes``. A style already stored for
    a layer under the same name is replaced; other styles of that layer stop being the default.

    Parameters
    ----------
    gpkg_path : path
        A GeoPackage kunsink is writing (editing it in place; call on a staging copy).
    styles : mapping layer name -> (QML text, description)
        Layers absent from the file are skipped (e.g. an empty layer that was not written).
    """
    path = Path(gpkg_path)
    if not path.exists():
        raise OutputError(f"{path.name}: no such GeoPackage to style")
    conn = sqlite3.connect(path)
    try:
        with conn:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
            if "gpkg_contents" not in tables:
                raise OutputError(f"{path.name} is not a GeoPackage (no gpkg_contents table)")
            if "layer_styles" not in tables:
                conn.execute(_LAYER_STYLES_DDL)
                conn.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, description, last_change) "
                             "VALUES ('layer_styles', 'attributes', 'layer_styles', 'QGIS 图层样式 layer styles', "
                             "strftime('%Y-%m-%dT%H:%M:%fZ','now'))")
                if "gpkg_ogr_contents" in tables:
                    conn.execute("INSERT OR REPLACE INTO gpkg_ogr_contents (table_name, feature_count) "
                                 "VALUES ('layer_styles', NULL)")
            geom_cols = dict(conn.execute("SELECT table_name, column_name FROM gpkg_geometry_columns"))
            layers = {r[0] for r in conn.execute("SELECT table_name FROM gpkg_contents")}
            for layer, (qml, description) in styles.items():
                if layer not in layers:
                    continue
                ET.fromstring(qml)  # refuse a broken document before storing it
                geom = geom_cols.get(layer, "")
                conn.execute("UPDATE layer_styles SET useAsDefault = 0 WHERE f_table_schema = '' AND f_table_name = ? "
                             "AND f_geometry_column = ?", (layer, geom))
                conn.execute("DELETE FROM layer_styles WHERE f_table_schema = '' AND f_table_name = ? "
                             "AND f_geometry_column = ? AND styleName = ?", (layer, geom, layer))
                conn.execute("INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, "
                             "f_geometry_column, styleName, styleQML, styleSLD, useAsDefault, description, owner) "
                             "VALUES ('', '', ?, ?, ?, ?, '', 1, ?, '')", (layer, geom, layer, qml, description))
            if "gpkg_ogr_contents" in tables:
                conn.execute("UPDATE gpkg_ogr_contents SET feature_count = (SELECT COUNT(*) FROM layer_styles) "
                             "WHERE table_name = 'layer_styles'")
    except sqlite3.Error as exc:
        raise OutputError(f"cannot store the QGIS styles in {path.name}: {exc}") from None
    finally:
        conn.close()
    return path


def read_layer_styles(gpkg_path: str | os.PathLike) -> dict[str, str]:
    """The default style (QML text) of each layer of a GeoPackage's ``layer_styles`` table (empty without one)."""
    conn = sqlite3.connect(f"file:{Path(gpkg_path)}?mode=ro", uri=True)
    try:
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'layer_styles'").fetchone():
            return {}
        return dict(conn.execute("SELECT f_table_name, styleQML FROM layer_styles WHERE useAsDefault = 1 "
                                 "ORDER BY id"))
    finally:
        conn.close()


def write_raster_qml(tif_path: str | os.PathLike, qml: str) -> Path:
    """Write ``qml`` as ``<name>.qml`` beside the raster ``tif_path`` (QGIS loads it with the raster)."""
    target = Path(tif_path).with_suffix(".qml")
    target.write_text(qml, encoding="utf-8")
    return target
