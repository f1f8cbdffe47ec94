"""Offline Folium maps: Leaflet inlined, no tiles by default, escaped popups, legends and notices.

Every map here opens on a computer with no internet: Leaflet 1.9.3 is inlined from
``kunsink/data/leaflet`` and :func:`save_map` refuses a page that would fetch a script or
stylesheet. Layers may come in any CRS; they are drawn in EPSG:4326 (shifted to GCJ-02 only
on a map made with ``shift_to_gcj02=True`` for AMap tiles).
"""

from .base import BASEMAPS, KunsinkMap, add_basemap, new_map, save_map
from .decor import (
    SYNTHETIC_NOTICE,
    add_legend,
    add_ramp_legend,
    mark_synthetic,
    set_footnote,
    set_title,
)
from .layers import add_vector_layer, is_synthetic
from .offline import OfflineError, check_offline, make_offline, render_html
from .overview import CLCD_PALETTE, overview_map
from .rasters import RAMPS, add_categorical_raster, add_continuous_raster

__all__ = [
    "BASEMAPS",
    "CLCD_PALETTE",
    "RAMPS",
    "SYNTHETIC_NOTICE",
    "KunsinkMap",
    "OfflineError",
    "add_basemap",
    "add_categorical_raster",
    "add_continuous_raster",
    "add_legend",
    "add_ramp_legend",
    "add_vector_layer",
    "check_offline",
    "is_synthetic",
    "make_offline",
    "mark_synthetic",
    "new_map",
    "overview_map",
    "render_html",
    "save_map",
    "set_footnote",
    "set_title",
]

from .carbon import carbon_map, read_for_display

__all__ += ["carbon_map", "read_for_display"]
