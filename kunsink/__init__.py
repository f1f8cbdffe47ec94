"""kunsink: geospatial planning and carbon-sink mapping for Kundulun District (昆都仑区), Baotou.

The public API re-exported here is what the CLI and the notebooks call.
"""

from ._version import __version__
from .config import get_working_crs, set_working_crs
from .crs import convert_coords, convert_gdf, gcj02_to_wgs84, wgs84_to_gcj02
from .datasets import district_population, load_boundary, load_census, load_districts
from .errors import CRSError, InputError, KunsinkError, LayerError, RasterError

__all__ = [
    "__version__",
    "get_working_crs",
    "set_working_crs",
    "convert_coords",
    "convert_gdf",
    "gcj02_to_wgs84",
    "wgs84_to_gcj02",
    "load_boundary",
    "load_districts",
    "load_census",
    "district_population",
    "KunsinkError",
    "InputError",
    "CRSError",
    "LayerError",
    "RasterError",
]
