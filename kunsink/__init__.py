"""kunsink: geospatial planning and carbon-sink mapping for Kundulun District (昆都仑区), Baotou.

The public API re-exported here is what the CLI and the notebooks call. Names are loaded on first
use (PEP 562), so ``import kunsink`` and ``kunsink --help`` do not pay for NumPy, pyproj or GDAL.
"""

from __future__ import annotations

import importlib
from typing import Any

from ._version import __version__

_EXPORTS = {
    "get_working_crs": ".config",
    "set_working_crs": ".config",
    "convert_coords": ".crs",
    "convert_gdf": ".crs",
    "gcj02_to_wgs84": ".crs",
    "wgs84_to_gcj02": ".crs",
    "load_boundary": ".datasets",
    "load_districts": ".datasets",
    "load_census": ".datasets",
    "district_population": ".datasets",
    "resolve_area": ".area",
    "use_area": ".area",
    "get_area": ".area",
    "KunsinkError": ".errors",
    "InputError": ".errors",
    "CRSError": ".errors",
    "LayerError": ".errors",
    "RasterError": ".errors",
    "OutputError": ".errors",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'kunsink' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
