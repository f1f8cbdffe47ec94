"""Map furniture for print: title block, synthetic-data banner, north arrow, metric scale bar,
projected coordinates, legend panel and footer.

Conventions for internal Chinese planning maps (domain facts, ``deliverable.md``): title, legend,
north arrow, metric scale bar, the coordinate system ("2000国家大地坐标系 CGCS2000"), data sources,
制图单位 and 制图日期, and — without a map approval number (审图号) — the notice
:data:`PUBLICATION_NOTE`. Every function here draws on a matplotlib Figure/Axes and returns the
artist it made, so a report or a test can find it again (each carries a ``gid``).
"""

from __future__ import annotations

import datetime as dt
import math
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ..errors import CRSError
from .fonts import bold_weight, check_text

__all__ = [
    "DEFAULT_ORGANISATION",
    "PUBLICATION_NOTE",
    "SYNTHETIC_BANNER",
    "LegendItem",
    "MapInfo",
    "add_footer",
    "add_legend",
    "add_north_arrow",
    "add_scale_bar",
    "add_synthetic_banner",
    "add_title",
    "check_metric_crs",
    "crs_label",
    "is_synthetic",
    "set_coordinate_axes",
    "true_north_angle",
]

PUBLICATION_NOTE = "内部规划使用，不得公开发布（无审图号）"
SYNTHETIC_BANNER = "合成数据 SYNTHETIC — 仅供演示 demonstration only"
DEFAULT_ORGANISATION = "kunsink"
_RED = "#b71c1c"

LegendKind = Literal["fill", "line", "point"]


@dataclass(frozen=True)
class LegendItem:
    """One legend entry: label (Chinese first, English beside), colour and symbol kind.

    ``edge`` is the outline colour of a fill (default a darker grey), ``hatch`` a matplotlib
    hatch pattern, ``width`` a line width in points, ``marker`` a point marker.
    """

    label: str
    colour: str
    kind: LegendKind = "fill"
    edge: str | None = None
    hatch: str | None = None
    width: float = 1.0
    marker: str = "o"
    dashed: bool = False


@dataclass
class MapInfo:
    """The texts around a map.

    Attributes
    ----------
    title : str
        Main title (Chinese first, English beside, e.g. ``"昆都仑区碳储量密度 Carbon stock density"``).
    subtitle : str, optional
        Second line (year, method, units).
    sources : list of str
        Data sources, one per layer or product.
    organisation : str
        制图单位 (default ``"kunsink"``).
    date : date or str, optional
        制图日期; give it for reproducible output (default today).
    synthetic : bool
        Show :data:`SYNTHETIC_BANNER`; map builders set it when any layer drawn is synthetic.
    notes : list of str
        Extra footer lines (method notes, caveats).
    """

    title: str
    subtitle: str | None = None
    sources: list[str] = field(default_factory=list)
    organisation: str = DEFAULT_ORGANISATION
    date: dt.date | str | None = None
    synthetic: bool = False
    notes: list[str] = field(default_factory=list)

    def date_text(self) -> str:
        """制图日期 as ``YYYY-MM-DD``."""
        d = self.date or dt.date.today()
        return d.isoformat() if isinstance(d, dt.date) else str(d)


def is_synthetic(layer: Any) -> bool:
    """True if a layer (GeoDataFrame, Grid, DataArray, mapping) says it is generated (``source = "synthetic"``)."""
    if layer is None:
        return False
    if getattr(layer, "synthetic", None) is True:
        return True
    if isinstance(layer, dict):
        return str(layer.get("source", "")).strip().lower() == "synthetic"
    attrs = getattr(layer, "attrs", None) or {}
    if str(attrs.get("source", "")).strip().lower() == "synthetic":
        return True
    if "source" in getattr(layer, "columns", ()):
        from ..maps.layers import is_synthetic as layer_synthetic

        return bool(layer_synthetic(layer))
    return False


def _pyproj(crs: Any) -> Any:
    from pyproj import CRS

    if crs is None:
        raise CRSError("the map has no CRS; print maps need a projected CRS in metres (e.g. EPSG:4546)")
    try:
        return CRS.from_user_input(crs)
    except Exception as exc:  # noqa: BLE001  (pyproj raises several kinds for bad input)
        raise CRSError(f"not a CRS: {crs!r} ({exc})") from None


def check_metric_crs(crs: Any) -> Any:
    """The CRS as :class:`pyproj.CRS` if it is projected with metre axes; else :class:`CRSError`."""
    c = _pyproj(crs)
    unit = (c.axis_info[0].unit_name if c.axis_info else "").lower()
    if not c.is_projected or unit not in ("metre", "meter", "m"):
        raise CRSError(f"{c.name}: print maps are drawn in a projected CRS in metres (scale bar, coordinates); "
                       "reproject the layers first, e.g. to EPSG:4546 (CGCS2000 3-degree Gauss-Kruger CM 111E)")
    return c


def crs_label(crs: Any) -> str:
    """The coordinate-system note, e.g. ``2000国家大地坐标系 CGCS2000 / 3-degree Gauss-Kruger CM 111E (EPSG:4546)``."""
    c = _pyproj(crs)
    datum = (c.datum.name if c.datum is not None else "") or ""
    geodetic = c.geodetic_crs.name if c.geodetic_crs is not None else ""
    prefix = ""
    if "China 2000" in datum or "China Geodetic Coordinate System 2000" in geodetic:
        prefix = "2000国家大地坐标系 "
    elif "Xian 1980" in datum:
        prefix = "1980西安坐标系 "
    elif "Beijing 1954" in datum:
        prefix = "1954北京坐标系 "
    epsg = c.to_epsg()
    code = f" (EPSG:{epsg})" if epsg else ""
    return f"{prefix}{c.name}{code}"


def add_title(fig: Any, rect: Sequence[float], title: str, subtitle: str | None = None) -> Any:
    """Title (16 pt, bold) and subtitle (10 pt) centred in ``rect`` (figure fractions); returns the title."""
    x = rect[0] + rect[2] / 2
    top = rect[1] + rect[3]
    t = fig.text(x, top - 0.25 * rect[3], check_text(title), ha="center", va="center", fontsize=16,
                 fontweight=bold_weight(), gid="kunsink-title")
    if subtitle:
        fig.text(x, rect[1] + 0.22 * rect[3], check_text(subtitle), ha="center", va="center", fontsize=10,
                 color="#333333", gid="kunsink-subtitle")
    return t


def add_synthetic_banner(fig: Any, rect: Sequence[float], text: str = SYNTHETIC_BANNER) -> Any:
    """A red band with :data:`SYNTHETIC_BANNER`: the page shows generated demonstration data."""
    from matplotlib.patches import Rectangle

    fig.add_artist(Rectangle((rect[0], rect[1]), rect[2], rect[3], transform=fig.transFigure, facecolor="#fde0dc",
                             edgecolor=_RED, linewidth=1.0, gid="kunsink-synthetic-band"))
    return fig.text(rect[0] + rect[2] / 2, rect[1] + rect[3] / 2, check_text(text), ha="center", va="center",
                    fontsize=11, fontweight=bold_weight(), color=_RED, gid="kunsink-synthetic")


def true_north_angle(crs: Any, x: float, y: float) -> float:
    """Angle (degrees, counter-clockwise from grid north) of true north at projected ``(x, y)``.

    Measured by projecting a point 0.01° further north; in a Gauss-Krüger zone east of the
    central meridian true north leans west (positive angle), by at most ~1.5° at Baotou.
    """
    from pyproj import Transformer

    c = _pyproj(crs)
    to_geo = Transformer.from_crs(c, c.geodetic_crs, always_xy=True)
    to_map = Transformer.from_crs(c.geodetic_crs, c, always_xy=True)
    lon, lat = to_geo.transform(x, y)
    x2, y2 = to_map.transform(lon, min(lat + 0.01, 89.99))
    return math.degrees(math.atan2(-(x2 - x), y2 - y))


def add_north_arrow(ax: Any, crs: Any = None, xy: tuple[float, float] = (0.93, 0.88), size: float = 0.08) -> Any:
    """A north arrow in the map's upper right (axes fractions), turned to true north when ``crs`` is given.

    Returns the arrow patch (gid ``kunsink-north-arrow``); the ``N 北`` label sits above it.
    """
    from matplotlib.patches import Polygon
    from matplotlib.transforms import Affine2D

    angle = 0.0
    if crs is not None:
        x0, x1 = ax.get_xlim()
        y0, y1 = ax.get_ylim()
        angle = true_north_angle(crs, (x0 + x1) / 2, (y0 + y1) / 2)
    # draw in a square box of axes-height units so the arrow is not stretched by the axes' aspect
    ax.apply_aspect()  # the box an equal-aspect map really gets, not the rectangle asked for
    bbox = ax.get_position(original=False)
    fw, fh = ax.figure.get_size_inches() if ax.figure is not None else (1.0, 1.0)
    bbox = type("_Box", (), {"width": bbox.width * fw, "height": bbox.height * fh})()
    aspect = (bbox.width / bbox.height) if bbox is not None and bbox.height else 1.0
    h = size
    w = h * 0.45 / aspect
    cx, cy = xy
    left = [(cx, cy + h / 2), (cx - w / 2, cy - h / 2), (cx, cy - h / 4)]
    right = [(cx, cy + h / 2), (cx + w / 2, cy - h / 2), (cx, cy - h / 4)]
    rot = (Affine2D().translate(-cx, -cy).scale(aspect, 1).rotate_deg(angle).scale(1 / aspect, 1)
           .translate(cx, cy) + ax.transAxes)
    ax.add_patch(Polygon(right, closed=True, facecolor="white", edgecolor="black", linewidth=0.8, transform=rot,
                         zorder=20))
    arrow = Polygon(left, closed=True, facecolor="black", edgecolor="black", linewidth=0.8, transform=rot, zorder=20,
                    gid="kunsink-north-arrow")
    ax.add_patch(arrow)
    ax.text(cx, cy + h / 2 + 0.012, "N 北", transform=ax.transAxes, ha="center", va="bottom", fontsize=9,
            fontweight=bold_weight(), zorder=20, gid="kunsink-north-label")
    return arrow


def add_scale_bar(ax: Any, crs: Any, location: str = "lower left") -> Any:
    """A metric scale bar (m or km, matplotlib-scalebar) for axes drawn in ``crs`` metres.

    Raises
    ------
    CRSError
        The CRS is geographic or not in metres.
    """
    from matplotlib_scalebar.scalebar import ScaleBar

    check_metric_crs(crs)
    bar = ScaleBar(1.0, units="m", dimension="si-length", location=location, length_fraction=0.25,
                   box_alpha=0.85, border_pad=0.6, font_properties={"size": 8}, scale_loc="top",
                   fixed_units=None)
    bar.set_gid("kunsink-scale-bar")
    ax.add_artist(bar)
    return bar


def set_coordinate_axes(ax: Any, crs: Any) -> None:
    """Ticks as projected coordinates (metres, thousands separated), light grid lines, axis names.

    The x axis is the easting (X 东坐标), the y axis the northing (Y 北坐标); y tick labels are
    written vertically as on Chinese topographic sheets.
    """
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    check_metric_crs(crs)
    fmt = FuncFormatter(lambda v, _pos: f"{v:,.0f}")
    ax.xaxis.set_major_formatter(fmt)
    ax.yaxis.set_major_formatter(fmt)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10]))
    ax.yaxis.set_major_locator(MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10]))
    ax.tick_params(labelsize=6.5, length=3, direction="in", top=True, right=True)
    for lab in ax.get_yticklabels():
        lab.set_rotation(90)
        lab.set_va("center")
    ax.tick_params(axis="y", labelrotation=90)
    ax.set_xlabel("X 东坐标 Easting (m)", fontsize=7, labelpad=2)
    ax.set_ylabel("Y 北坐标 Northing (m)", fontsize=7, labelpad=2)
    ax.grid(True, color="#888888", linewidth=0.3, linestyle=(0, (4, 4)), alpha=0.7)
    ax.set_axisbelow(False)


def _handle(item: LegendItem) -> Any:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    if item.kind == "line":
        return Line2D([], [], color=item.colour, linewidth=item.width, linestyle="--" if item.dashed else "-")
    if item.kind == "point":
        return Line2D([], [], color="none", marker=item.marker, markersize=6, markerfacecolor=item.colour,
                      markeredgecolor=item.edge or "#222222", markeredgewidth=0.6)
    return Patch(facecolor=item.colour, edgecolor=item.edge or "#555555", hatch=item.hatch,
                 linewidth=item.width * 0.6, linestyle="--" if item.dashed else "-")


def add_legend(fig: Any, rect: Sequence[float], items: Iterable[LegendItem], title: str = "图例 Legend",
               colorbar: dict[str, Any] | None = None) -> Any:
    """The legend panel at ``rect`` (figure fractions): an optional colour bar on top, then the entries.

    Parameters
    ----------
    items : LegendItem
        Symbol entries, drawn in order.
    colorbar : dict, optional
        ``{"mappable": ScalarMappable, "label": str, "extend": "neither"|"both"|...}``: a vertical
        colour bar for a continuous raster (its label states the units).

    Returns
    -------
    matplotlib.axes.Axes
        The panel (gid ``kunsink-legend-panel``).
    """
    items = list(items)
    panel = fig.add_axes(rect, gid="kunsink-legend-panel")
    panel.set_axis_off()
    fw, fh = fig.get_size_inches()
    wide = rect[2] * fw > 1.5 * rect[3] * fh  # a band under the map (portrait page)
    panel.text(0.0, 1.0, check_text(title), transform=panel.transAxes, ha="left", va="top", fontsize=10,
               fontweight=bold_weight())
    top, left = 0.95, 0.0
    if colorbar is not None:
        if wide:
            box = (rect[0], rect[1] + rect[3] * 0.58, rect[2] * 0.38, rect[3] * 0.12)
        else:
            box = (rect[0] + 0.02 * rect[2], rect[1] + rect[3] * 0.55, rect[2] * 0.12, rect[3] * 0.38)
        cax = fig.add_axes(box, gid="kunsink-colorbar")
        cb = fig.colorbar(colorbar["mappable"], cax=cax, extend=colorbar.get("extend", "neither"),
                          orientation="horizontal" if wide else "vertical")
        cb.ax.tick_params(labelsize=7)
        cb.set_label(check_text(colorbar.get("label", "")), fontsize=8)
        if wide:
            left = 0.45
        else:
            top = 0.52
    if items:
        ncol = 1 if not wide else (1 if left else 2) if len(items) <= 4 else (2 if left else 3)
        leg = panel.legend([_handle(i) for i in items], [check_text(i.label) for i in items], loc="upper left",
                           bbox_to_anchor=(left, 0.86 if wide else top), frameon=False, fontsize=7.5,
                           handlelength=1.8, handleheight=1.1, borderaxespad=0.0, labelspacing=0.6, ncol=ncol,
                           columnspacing=1.5)
        leg.set_gid("kunsink-legend")
    return panel


def add_footer(fig: Any, rect: Sequence[float], info: MapInfo, crs: Any = None) -> list[Any]:
    """The footer: coordinate system, data sources, notes, 制图单位 and 制图日期, and :data:`PUBLICATION_NOTE`.

    Returns the text artists (gids ``kunsink-crs``, ``kunsink-sources``, ``kunsink-maker``, ``kunsink-note``).
    """
    from matplotlib.lines import Line2D

    x0, y0, w, h = rect
    fig.add_artist(Line2D([x0, x0 + w], [y0 + h, y0 + h], transform=fig.transFigure, color="#444444",
                          linewidth=0.6))
    out = []
    lines: list[tuple[str, str, dict[str, Any]]] = []
    if crs is not None:
        lines.append(("kunsink-crs", f"坐标系 Coordinate system: {crs_label(crs)}", {}))
    if info.sources:
        lines.append(("kunsink-sources", "数据来源 Data sources: " + "; ".join(info.sources), {}))
    for note in info.notes:
        lines.append(("kunsink-notes", note, {}))
    step = h / 6.0
    y = y0 + h - step * 0.8
    width_mm = w * fig.get_size_inches()[0] * 25.4
    for gid, text, kw in lines[:4]:
        out.append(fig.text(x0, y, check_text(_fit(text, width_mm, 7.0)), ha="left", va="center", fontsize=7,
                            gid=gid, **kw))
        y -= step
    maker = f"制图单位 Cartography: {info.organisation}    制图日期 Date: {info.date_text()}"
    out.append(fig.text(x0, y0 + step * 0.6, check_text(maker), ha="left", va="center", fontsize=7,
                        gid="kunsink-maker"))
    out.append(fig.text(x0 + w, y0 + step * 0.6, check_text(PUBLICATION_NOTE), ha="right", va="center", fontsize=8.5,
                        fontweight=bold_weight(), color=_RED, gid="kunsink-note"))
    return out


def _fit(text: str, width_mm: float, size_pt: float) -> str:
    """``text`` cut with an ellipsis to fit ``width_mm`` at ``size_pt`` (wide CJK characters count 1 em)."""
    em = size_pt * 25.4 / 72.0
    used = 0.0
    for i, ch in enumerate(text):
        used += em * (1.0 if unicodedata.east_asian_width(ch) in ("W", "F") else 0.56)
        if used > width_mm - em:
            return text[:i] + "…"
    return text
