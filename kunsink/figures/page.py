"""Print pages: A4 and A3 sheets, portrait or landscape, cut into bands for the map and its furniture.

A map page, top to bottom: title band, synthetic-data banner (only when a layer is synthetic),
the map frame with a legend panel on its right (landscape) or under it (portrait), the footer (coordinate system, sources,
制图单位, 制图日期, publication note). Sizes are in millimetres on paper; text sizes are in
points, so an A3 sheet shows the same text on a larger map.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from ..errors import ConfigError

__all__ = ["MM_PER_INCH", "PAGE_SIZES_MM", "PageLayout", "Rect", "new_page", "page_layout"]

#: Paper sizes (ISO 216), portrait width × height in mm.
PAGE_SIZES_MM: dict[str, tuple[float, float]] = {"A4": (210.0, 297.0), "A3": (297.0, 420.0)}
MM_PER_INCH = 25.4

Orientation = Literal["portrait", "landscape", "auto"]
#: (left, bottom, width, height) as fractions of the figure.
Rect = tuple[float, float, float, float]

_MARGIN_MM = 10.0
_TITLE_MM = 20.0
_BANNER_MM = 8.0
_FOOTER_MM = 22.0
_PANEL_MM = 56.0
_PANEL_LOW_MM = 40.0
_GAP_MM = 4.0


@dataclass(frozen=True)
class PageLayout:
    """Where each part of a map page goes.

    Attributes
    ----------
    size : str
        ``"A4"`` or ``"A3"``.
    orientation : str
        ``"portrait"`` or ``"landscape"``.
    width_mm, height_mm : float
        The sheet, mm.
    title, banner, map, panel, footer : Rect
        Figure-fraction rectangles ``(left, bottom, width, height)``; ``banner`` is None on a page
        without synthetic layers.
    """

    size: str
    orientation: str
    width_mm: float
    height_mm: float
    title: Rect
    banner: Rect | None
    map: Rect
    panel: Rect
    footer: Rect

    @property
    def figsize(self) -> tuple[float, float]:
        """Figure size in inches (matplotlib's unit)."""
        return self.width_mm / MM_PER_INCH, self.height_mm / MM_PER_INCH

    def pixels(self, dpi: float) -> tuple[int, int]:
        """The PNG's size in pixels (width, height) at ``dpi`` (matplotlib truncates to whole pixels)."""
        w, h = self.figsize
        return int(w * dpi), int(h * dpi)


def _bands(width_mm: float, height_mm: float, synthetic: bool) -> dict[str, tuple[float, float, float, float]]:
    """The bands in mm: (left, bottom, width, height)."""
    m = _MARGIN_MM
    inner_w = width_mm - 2 * m
    top = height_mm - m
    title = (m, top - _TITLE_MM, inner_w, _TITLE_MM)
    top -= _TITLE_MM
    banner = None
    if synthetic:
        banner = (m, top - _BANNER_MM, inner_w, _BANNER_MM)
        top -= _BANNER_MM + 1.0
    footer = (m, m, inner_w, _FOOTER_MM)
    bottom = m + _FOOTER_MM + _GAP_MM
    if width_mm > height_mm:  # landscape: legend panel on the right of the map
        # the map leaves room on its left and below for coordinate tick labels
        map_w = inner_w - _PANEL_MM - _GAP_MM - 8.0
        mp = (m + 8.0, bottom + 6.0, map_w, top - bottom - 6.0 - _GAP_MM)
        panel = (m + 8.0 + map_w + _GAP_MM, bottom + 6.0, _PANEL_MM, mp[3])
    else:  # portrait: legend panel under the map, the map takes the full width
        panel = (m, bottom, inner_w, _PANEL_LOW_MM)
        low = bottom + _PANEL_LOW_MM + 8.0
        mp = (m + 8.0, low, inner_w - 8.0, top - low - _GAP_MM)
    out = {"title": title, "map": mp, "panel": panel, "footer": footer}
    if banner is not None:
        out["banner"] = banner
    return out


def _map_scale(width_mm: float, height_mm: float, extent_w: float, extent_h: float, synthetic: bool) -> float:
    """Paper mm per ground metre when the extent is fitted into the map band."""
    _, _, w, h = _bands(width_mm, height_mm, synthetic)["map"]
    return min(w / max(extent_w, 1e-9), h / max(extent_h, 1e-9))


def page_layout(size: str = "A4", bounds: Sequence[float] | None = None, orientation: Orientation = "auto",
                *, synthetic: bool = False) -> PageLayout:
    """Lay out a map page.

    Parameters
    ----------
    size : {"A4", "A3"}
        Paper size (A4 210 × 297 mm, A3 297 × 420 mm).
    bounds : (xmin, ymin, xmax, ymax), optional
        The area to map, in the map's projected CRS (metres). With ``orientation="auto"`` the
        orientation giving the larger map scale is chosen; without bounds, portrait.
    orientation : {"auto", "portrait", "landscape"}
    synthetic : bool
        Leave room for the synthetic-data banner.

    Returns
    -------
    PageLayout
    """
    key = str(size).strip().upper()
    if key not in PAGE_SIZES_MM:
        raise ConfigError(f"unknown page size {size!r}; use one of: {', '.join(PAGE_SIZES_MM)}")
    pw, ph = PAGE_SIZES_MM[key]
    if orientation not in ("auto", "portrait", "landscape"):
        raise ConfigError(f"orientation must be auto, portrait or landscape, not {orientation!r}")
    if orientation == "auto":
        orientation = "portrait"
        if bounds is not None:
            ew, eh = float(bounds[2]) - float(bounds[0]), float(bounds[3]) - float(bounds[1])
            if _map_scale(ph, pw, ew, eh, synthetic) > _map_scale(pw, ph, ew, eh, synthetic):
                orientation = "landscape"
    w, h = (ph, pw) if orientation == "landscape" else (pw, ph)
    bands = _bands(w, h, synthetic)

    def frac(r: tuple[float, float, float, float]) -> Rect:
        return (r[0] / w, r[1] / h, r[2] / w, r[3] / h)

    return PageLayout(size=key, orientation=orientation, width_mm=w, height_mm=h, title=frac(bands["title"]),
                      banner=frac(bands["banner"]) if "banner" in bands else None, map=frac(bands["map"]),
                      panel=frac(bands["panel"]), footer=frac(bands["footer"]))


def new_page(layout: PageLayout, dpi: float = 200.0) -> object:
    """A blank :class:`matplotlib.figure.Figure` of the page's size (no pyplot state involved)."""
    from matplotlib.figure import Figure

    return Figure(figsize=layout.figsize, dpi=dpi, facecolor="white")
