"""Project-wide settings: the working CRS and the reference place.

The working CRS is where kunsink measures areas (m²) and distances (m). The default,
EPSG:4546 (CGCS2000 / 3-degree Gauss-Krüger CM 111E), is valid for 109.5–112.5 E and
so covers Kundulun District. Override it per call, with :func:`set_working_crs`, or
with the environment variable ``KUNSINK_WORKING_CRS``.
"""

from __future__ import annotations

import os

from pyproj import CRS

from .errors import CRSError

__all__ = [
    "DEFAULT_WORKING_CRS",
    "DISTRICT_ADCODE",
    "DISTRICT_NAME",
    "CENSUS_2020_POPULATION",
    "get_working_crs",
    "set_working_crs",
    "as_projected_crs",
]

DEFAULT_WORKING_CRS = "EPSG:4546"
DISTRICT_NAME = "昆都仑区"
DISTRICT_ADCODE = 150203
#: 2020 census population of Kundulun District (NBS, via data/stats).
CENSUS_2020_POPULATION = 787_681

_working_crs: CRS | None = None
_area_crs: CRS | None = None


def as_projected_crs(crs: object) -> CRS:
    """Return ``crs`` as a :class:`pyproj.CRS`, refusing geographic or unknown ones.

    Parameters
    ----------
    crs : str, int or pyproj.CRS
        Anything :meth:`pyproj.CRS.from_user_input` accepts.

    Raises
    ------
    CRSError
        If it cannot be parsed or its units are not metres.
    """
    try:
        out = CRS.from_user_input(crs)
    except Exception:  # pyproj raises CRSError of its own, in PROJ's words
        raise CRSError(f"unknown CRS {crs!r}; give an EPSG code such as EPSG:4546 (CGCS2000 / 3-degree "
                       "Gauss-Krüger CM 111E) or a WKT/PROJ definition") from None
    if not out.is_projected:
        raise CRSError(f"{out.to_string()} is geographic (degrees); a working CRS must be projected in metres")
    unit = out.axis_info[0].unit_name if out.axis_info else ""
    if unit not in ("metre", "meter"):
        raise CRSError(f"{out.to_string()} measures in {unit!r}; a working CRS must use metres")
    return out


def get_working_crs() -> CRS:
    """The working CRS: set explicitly, else ``$KUNSINK_WORKING_CRS``, else the study area's
    (:mod:`kunsink.area`: the Gauss-Krüger zone of its central meridian), else EPSG:4546."""
    if _working_crs is not None:
        return _working_crs
    env = os.environ.get("KUNSINK_WORKING_CRS")
    if env:
        return as_projected_crs(env)
    if _area_crs is not None:
        return _area_crs
    return as_projected_crs(DEFAULT_WORKING_CRS)


def _set_area_crs(crs: CRS | None) -> None:
    """Called by :func:`kunsink.area.set_area`: the working CRS that follows the study area."""
    global _area_crs
    _area_crs = crs


def set_working_crs(crs: object | None) -> CRS | None:
    """Set the working CRS for this process (``None`` restores the default); return the previous one."""
    global _working_crs
    previous = _working_crs
    _working_crs = None if crs is None else as_projected_crs(crs)
    return previous
