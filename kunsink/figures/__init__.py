"""Static print figures: themed maps (A4/A3, PNG/PDF) and report charts, drawn with matplotlib.

Figures take results in memory — GeoDataFrames in a projected CRS, rasters as arrays with a
transform or rioxarray DataArrays, the tables kunsink writes — never file paths, and return a
:class:`matplotlib.figure.Figure`; :func:`save_figure` writes it atomically. Chinese text is
drawn with an installed CJK font or the subset shipped in ``kunsink/figures/fonts``
(:mod:`kunsink.figures.fonts`). Maps carry title, legend, north arrow, metric scale bar,
CGCS2000 coordinates, sources, 制图单位, 制图日期, the "内部规划使用，不得公开发布（无审图号）"
note, and the synthetic banner whenever a layer drawn is synthetic.

Modules: ``fonts`` (CJK font), ``page`` (A4/A3 layout), ``rasters`` (Grid, decimation),
``furniture`` (map furniture), ``maps`` (themes, saving), ``charts`` (report charts).
"""

from .charts import (
    change_by_zone_chart,
    coverage_chart,
    coverage_table,
    mine_progress_chart,
    stocks_chart,
)
from .fonts import CJKFont, MissingGlyphWarning, find_cjk_font
from .furniture import (
    PUBLICATION_NOTE,
    SYNTHETIC_BANNER,
    LegendItem,
    MapInfo,
    crs_label,
)
from .maps import (
    PageOptions,
    carbon_change_map,
    carbon_stock_map,
    greenspace_map,
    landcover_map,
    mines_map,
    plots_map,
    save_figure,
)
from .page import PAGE_SIZES_MM, PageLayout, page_layout
from .rasters import Grid, as_grid, decimate

__all__ = [
    "PAGE_SIZES_MM",
    "PUBLICATION_NOTE",
    "SYNTHETIC_BANNER",
    "CJKFont",
    "Grid",
    "LegendItem",
    "MapInfo",
    "MissingGlyphWarning",
    "PageLayout",
    "PageOptions",
    "as_grid",
    "carbon_change_map",
    "carbon_stock_map",
    "change_by_zone_chart",
    "coverage_chart",
    "coverage_table",
    "crs_label",
    "decimate",
    "find_cjk_font",
    "greenspace_map",
    "landcover_map",
    "mine_progress_chart",
    "mines_map",
    "page_layout",
    "plots_map",
    "save_figure",
    "stocks_chart",
]
