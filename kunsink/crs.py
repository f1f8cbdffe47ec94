"""Coordinate systems: GCJ-02 and BD-09 repair, the working CRS, and areas.

Chinese consumer map data (AMap/高德, Tencent) is published in GCJ-02 and Baidu's in
BD-09. Both are deliberate, non-linear offsets of WGS84 (≈ 490 m east and 130 m north
at Kundulun) with no EPSG code, and files carrying them are routinely labelled WGS84.
The forward transforms follow the published formulas; the inverses have no closed
form and are found by fixed-point iteration to better than 1e-9° (≈ 0.1 mm).

All functions here work on longitude/latitude in degrees. CGCS2000 (EPSG:4490) is
treated as WGS84 (they differ by < 1 m).
"""

from __future__ import annotations

import os
from typing import Literal

import numpy as np
import shapely

from .errors import CRSError

__all__ = [
    "CoordSystem",
    "COORD_SYSTEMS",
    "wgs84_to_gcj02",
    "gcj02_to_wgs84",
    "gcj02_to_bd09",
    "bd09_to_gcj02",
    "wgs84_to_bd09",
    "bd09_to_wgs84",
    "convert_coords",
    "convert_geometry",
    "convert_gdf",
    "to_working_crs",
    "area_m2",
    "offset_m",
    "convert_file",
    "check_coordinates",
    "as_pyproj",
]

CoordSystem = Literal["wgs84", "gcj02", "bd09"]
COORD_SYSTEMS: tuple[str, ...] = ("wgs84", "gcj02", "bd09")
_ALIASES = {
    "wgs84": "wgs84", "wgs-84": "wgs84", "epsg:4326": "wgs84", "4326": "wgs84",
    "cgcs2000": "wgs84", "epsg:4490": "wgs84",
    "gcj02": "gcj02", "gcj-02": "gcj02", "gcj": "gcj02", "amap": "gcj02", "mars": "gcj02",
    "bd09": "bd09", "bd-09": "bd09", "baidu": "bd09",
}

# Krasovsky 1940 ellipsoid as used by the GCJ-02 formula.
_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = np.pi * 3000.0 / 180.0
_TOL_DEG = 1e-10
_MAX_ITER = 50


# How far (degrees) lon/lat may stray past ±180/±90 (rounding in a global grid's edges).
_GEO_TOL_DEG = 1e-6
# How far (degrees) a projected layer may lie outside its CRS's area of use before it is refused:
# generous, because areas of use are conservative (a UTM zone's neighbour strip still projects
# well) and a district-scale layer is never 10° off; a wrong label puts it hundreds of degrees off.
_AREA_MARGIN_DEG = 10.0


def as_pyproj(crs: object):
    """``crs`` as a :class:`pyproj.CRS`, keeping its EPSG identity and area of use.

    A rasterio CRS goes through WKT2, which carries its identifier (pyproj's own route asks rasterio for
    WKT1, which has none, and PROJ takes ≈ 20 ms to read its first WKT1); anything else through
    :meth:`pyproj.CRS.from_user_input`. A CRS read from a file has an identifier but no area of use in
    its WKT: the registry's definition is taken when it is the same CRS (≈ 1 ms).

    >>> import rasterio.crs
    >>> as_pyproj(rasterio.crs.CRS.from_epsg(4546)).area_of_use.west
    109.5
    """
    from pyproj import CRS

    c = None
    if not isinstance(crs, CRS) and hasattr(crs, "to_wkt"):
        try:
            c = CRS.from_wkt(crs.to_wkt(version="WKT2_2019"))
        except Exception:  # noqa: BLE001 - a CRS GDAL cannot write as WKT2: let pyproj read it its own way
            c = None
    c = c or CRS.from_user_input(crs)
    if c.area_of_use is None:
        ident = c.to_json_dict().get("id") or {}
        try:
            known = CRS.from_authority(ident["authority"], ident["code"])
        except Exception:  # noqa: BLE001 - no identifier, or one the registry does not know
            return c
        if known.equals(c, ignore_axis_order=True):
            return known
    return c


def _crs_label(crs) -> str:
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else (crs.name or "its CRS")


def _reach(values) -> str:
    v = max(abs(float(x)) for x in values)
    return f"{v:,.0f}" if v >= 1000 else f"{v:g}"


def check_coordinates(bounds: tuple[float, float, float, float], crs: object, what: str, *,
                      assumed: bool = False) -> None:
    """Refuse bounds that cannot belong to ``crs``: a wrong CRS label, not a subtle shift.

    Parameters
    ----------
    bounds : (left, bottom, right, top)
        Extent in the units of ``crs`` (a raster's ``bounds``, a layer's ``total_bounds``).
    crs : anything :class:`pyproj.CRS` accepts (rasterio and pyproj CRS, ``"EPSG:4326"``) or None
        The declared CRS. With ``None`` only finiteness is checked.
    what : str
        How the user knows the data, e.g. the file name.
    assumed : bool
        ``crs`` came from ``--assume-crs`` (the file has none), not from the file's own label;
        the message then asks for another ``--assume-crs`` rather than a corrected label.

    Raises
    ------
    CRSError
        Non-finite bounds; a geographic CRS whose longitudes pass ±180 or latitudes ±90
        (beyond a 1e-6° tolerance); a projected CRS whose bounds do not transform to
        longitude/latitude or lie more than 10° outside the CRS's area of use — or, when
        the numbers look like degrees, outside it at all.

    >>> check_coordinates((109.6, 40.5, 110.1, 40.8), "EPSG:4326", "roads.gpkg")
    >>> check_coordinates((400000, 4480000, 450000, 4520000), "EPSG:4546", "dem.tif")
    >>> check_coordinates((400000, 4480000, 450000, 4520000), "EPSG:4326", "x.tif")
    Traceback (most recent call last):
    ...
    kunsink.errors.CRSError: x.tif is labelled EPSG:4326 (degrees) but its coordinates reach 4,520,000 — they look like metres; correct the CRS label in the file (gdal_edit.py -a_srs, ogr2ogr -a_srs) — --assume-crs only fills in a missing CRS
    >>> check_coordinates((109.6, 40.5, 110.1, 40.8), "EPSG:4546", "x.tif", assumed=True)
    Traceback (most recent call last):
    ...
    kunsink.errors.CRSError: x.tif is taken as EPSG:4546 (metres) but its coordinates are at most 110.1 — they look like longitude/latitude in degrees; give the right CRS with --assume-crs
    >>> check_coordinates((0, 0, float("nan"), 1), None, "x.tif")
    Traceback (most recent call last):
    ...
    kunsink.errors.CRSError: x.tif has non-finite coordinates in its extent (0, 0, nan, 1); the file is damaged or its georeferencing is missing
    """
    try:
        left, bottom, right, top = (float(b) for b in bounds)
    except (TypeError, ValueError):
        raise CRSError(f"{what} has no usable extent ({bounds!r})") from None
    if not all(np.isfinite([left, bottom, right, top])):
        shown = ", ".join(f"{b:g}" for b in (left, bottom, right, top))
        raise CRSError(
            f"{what} has non-finite coordinates in its extent ({shown}); "
            "the file is damaged or its georeferencing is missing"
        )
    if crs is None:
        return
    from pyproj import Transformer
    from pyproj.exceptions import CRSError as _ProjCRSError

    try:
        c = as_pyproj(crs)
    except (_ProjCRSError, TypeError, ValueError) as exc:
        raise CRSError(f"{what}: cannot understand its CRS ({str(exc).splitlines()[0]})") from None
    label = _crs_label(c)
    xmin, xmax = min(left, right), max(left, right)
    ymin, ymax = min(bottom, top), max(bottom, top)
    if assumed:
        fix, labelled = "give the right CRS with --assume-crs", "is taken as"
    else:
        fix = ("correct the CRS label in the file (gdal_edit.py -a_srs, ogr2ogr -a_srs) — "
               "--assume-crs only fills in a missing CRS")
        labelled = "is labelled"
    if c.is_geographic:
        if max(abs(xmin), abs(xmax)) <= 180 + _GEO_TOL_DEG and max(abs(ymin), abs(ymax)) <= 90 + _GEO_TOL_DEG:
            return
        reach = _reach((xmin, xmax, ymin, ymax))
        if max(abs(xmin), abs(xmax), abs(ymin), abs(ymax)) >= 1000:
            raise CRSError(
                f"{what} {labelled} {label} (degrees) but its coordinates reach {reach} — "
                f"they look like metres; {fix}"
            )
        if max(abs(xmin), abs(xmax)) > 180 + _GEO_TOL_DEG:
            raise CRSError(
                f"{what} {labelled} {label} (degrees) but its longitudes reach {_reach((xmin, xmax))}, "
                f"outside −180…180 (0…360 grids are not supported); {fix}"
            )
        raise CRSError(
            f"{what} {labelled} {label} (degrees) but its latitudes reach {_reach((ymin, ymax))}, "
            f"outside −90…90; {fix}"
        )
    looks_like_degrees = max(abs(xmin), abs(xmax)) <= 180 and max(abs(ymin), abs(ymax)) <= 90
    unit = (c.axis_info[0].unit_name if c.axis_info else "") or "metre"
    unit = "metres" if unit == "metre" else unit
    degrees_msg = (
        f"{what} {labelled} {label} ({unit}) but its coordinates are at most "
        f"{_reach((xmin, xmax, ymin, ymax))} — they look like longitude/latitude in degrees; {fix}"
    )
    try:
        # to the CRS's own longitude/latitude: the inverse projection alone (≈ 0.5 ms, where a transformer
        # to EPSG:4326 searches datum operations for ≈ 80 ms); a datum's metres do not matter to a 10° test
        to_ll = Transformer.from_crs(c, c.geodetic_crs or "EPSG:4326", always_xy=True)
        w, s, e, n = to_ll.transform_bounds(xmin, ymin, xmax, ymax, densify_pts=21)
    except Exception:  # noqa: BLE001 - PROJ refuses points outside the projection's domain
        w = s = e = n = float("nan")
    if not all(np.isfinite([w, s, e, n])) or abs(s) > 90 + _GEO_TOL_DEG or abs(n) > 90 + _GEO_TOL_DEG:
        if looks_like_degrees:
            raise CRSError(degrees_msg)
        raise CRSError(
            f"{what} {labelled} {label} but its coordinates ({_reach((xmin, xmax, ymin, ymax))} at most) "
            f"do not map to any place on Earth in that CRS; {fix}"
        )
    area = c.area_of_use
    if area is None:
        return
    aw, asouth, ae, anorth = area.west, area.south, area.east, area.north
    if ae < aw:  # the area crosses the antimeridian: measure in 0…360
        ae += 360.0
        w, e = (w + 360.0 if w < aw - 180 else w), (e + 360.0 if e < aw - 180 else e)
    off = max(aw - w, e - ae, asouth - s, n - anorth, 0.0)
    if off <= (0.0 if looks_like_degrees else _AREA_MARGIN_DEG):
        return
    if looks_like_degrees:
        raise CRSError(degrees_msg)
    raise CRSError(
        f"{what} {labelled} {label} but its extent lies at {w:.1f}…{e:.1f}°E, {s:.1f}…{n:.1f}°N, "
        f"{off:.0f}° outside where that CRS is used ({aw:g}…{area.east:g}°E, {asouth:g}…{anorth:g}°N); {fix}"
    )


def _normalise_system(name: str) -> str:
    key = str(name).strip().lower()
    if key not in _ALIASES:
        raise CRSError(f"unknown coordinate system {name!r}; use one of: wgs84, gcj02, bd09")
    return _ALIASES[key]


def _in_china(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """The rough box inside which the GCJ-02 offset is applied (outside it GCJ-02 = WGS84)."""
    return (lon > 72.004) & (lon < 137.8347) & (lat > 0.8293) & (lat < 55.8271)


def _gcj_delta(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = lon - 105.0
    y = lat - 35.0
    pi = np.pi
    common = (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
    sq = np.sqrt(np.abs(x))
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sq + common
    dlat += (20.0 * np.sin(y * pi) + 40.0 * np.sin(y / 3.0 * pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * pi) + 320.0 * np.sin(y * pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sq + common
    dlon += (20.0 * np.sin(x * pi) + 40.0 * np.sin(x / 3.0 * pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * pi) + 300.0 * np.sin(x / 30.0 * pi)) * 2.0 / 3.0
    radlat = lat / 180.0 * pi
    magic = 1.0 - _EE * np.sin(radlat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * pi)
    dlon = (dlon * 180.0) / (_A / sqrt_magic * np.cos(radlat) * pi)
    inside = _in_china(lon, lat)
    return np.where(inside, dlon, 0.0), np.where(inside, dlat, 0.0)


def _as_arrays(lon: object, lat: object) -> tuple[np.ndarray, np.ndarray]:
    lon_a = np.asarray(lon, dtype="float64")
    lat_a = np.asarray(lat, dtype="float64")
    if lon_a.shape != lat_a.shape:
        raise CRSError(f"lon and lat differ in shape: {lon_a.shape} vs {lat_a.shape}")
    return lon_a, lat_a


def _invert(forward, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Solve forward(x) = target by fixed-point iteration (the Jacobian is ≈ identity).

    Each pass recomputes only the points not yet within tolerance.
    """
    x, y = lon.astype("float64", copy=True).ravel(), lat.astype("float64", copy=True).ravel()
    tx, ty = lon.ravel(), lat.ravel()
    active = np.arange(x.size)
    for _ in range(_MAX_ITER):
        fx, fy = forward(x[active], y[active])
        ex, ey = fx - tx[active], fy - ty[active]
        x[active] -= ex
        y[active] -= ey
        keep = (np.abs(ex) >= _TOL_DEG) | (np.abs(ey) >= _TOL_DEG)
        active = active[keep]
        if active.size == 0:
            break
    return x.reshape(lon.shape), y.reshape(lat.shape)


def wgs84_to_gcj02(lon: object, lat: object) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 longitude/latitude (degrees) to GCJ-02. Points outside China are returned unchanged."""
    lon_a, lat_a = _as_arrays(lon, lat)
    dlon, dlat = _gcj_delta(lon_a, lat_a)
    return lon_a + dlon, lat_a + dlat


def gcj02_to_wgs84(lon: object, lat: object) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 longitude/latitude (degrees) to WGS84, iterated to < 1e-9° (round trip < 0.01 m)."""
    lon_a, lat_a = _as_arrays(lon, lat)
    return _invert(wgs84_to_gcj02, lon_a, lat_a)


def gcj02_to_bd09(lon: object, lat: object) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 longitude/latitude (degrees) to Baidu BD-09."""
    x, y = _as_arrays(lon, lat)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(lon: object, lat: object) -> tuple[np.ndarray, np.ndarray]:
    """Baidu BD-09 longitude/latitude (degrees) to GCJ-02, by iteration (not the usual approximation)."""
    lon_a, lat_a = _as_arrays(lon, lat)
    return _invert(gcj02_to_bd09, lon_a, lat_a)


def wgs84_to_bd09(lon: object, lat: object) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 longitude/latitude (degrees) to BD-09 (through GCJ-02)."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: object, lat: object) -> tuple[np.ndarray, np.ndarray]:
    """BD-09 longitude/latitude (degrees) to WGS84 (through GCJ-02)."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


_STEPS = {
    ("wgs84", "gcj02"): (wgs84_to_gcj02,),
    ("gcj02", "wgs84"): (gcj02_to_wgs84,),
    ("gcj02", "bd09"): (gcj02_to_bd09,),
    ("bd09", "gcj02"): (bd09_to_gcj02,),
    ("wgs84", "bd09"): (wgs84_to_gcj02, gcj02_to_bd09),
    ("bd09", "wgs84"): (bd09_to_gcj02, gcj02_to_wgs84),
}


def convert_coords(lon: object, lat: object, src: str, dst: str) -> tuple[np.ndarray, np.ndarray]:
    """Convert longitude/latitude arrays (degrees) between ``wgs84``, ``gcj02`` and ``bd09``."""
    s, d = _normalise_system(src), _normalise_system(dst)
    x, y = _as_arrays(lon, lat)
    if s == d:
        return x.copy(), y.copy()
    for step in _STEPS[(s, d)]:
        x, y = step(x, y)
    return x, y


def convert_geometry(geoms: object, src: str, dst: str) -> np.ndarray:
    """Convert shapely geometries (lon/lat degrees) between coordinate systems, vertex by vertex."""
    s, d = _normalise_system(src), _normalise_system(dst)

    def _fn(xy: np.ndarray) -> np.ndarray:
        x, y = convert_coords(xy[:, 0], xy[:, 1], s, d)
        return np.column_stack([x, y])

    return shapely.transform(np.asarray(geoms, dtype=object), _fn)


def convert_gdf(gdf, src: str, dst: str):
    """Convert a GeoDataFrame between WGS84, GCJ-02 and BD-09.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Layer whose coordinates are longitude/latitude in ``src``. Its CRS label must be
        geographic (GCJ-02 and BD-09 files are usually labelled EPSG:4326) or missing.
    src, dst : {"wgs84", "gcj02", "bd09"}

    Returns
    -------
    geopandas.GeoDataFrame
        A new frame labelled EPSG:4326; the input is not modified.
    """
    from pyproj import CRS

    if gdf.crs is not None and not CRS.from_user_input(gdf.crs).is_geographic:
        raise CRSError(
            f"layer is in projected {gdf.crs.to_string()}; GCJ-02/BD-09 data is longitude/latitude — "
            "reproject it to EPSG:4326 first or check the source"
        )
    out = gdf.copy()
    out[out.geometry.name] = convert_geometry(gdf.geometry.values, src, dst)
    return out.set_crs("EPSG:4326", allow_override=True)


def to_working_crs(gdf, crs: object | None = None):
    """Reproject a GeoDataFrame to the working CRS (metres); refuse one with no CRS."""
    from .config import as_projected_crs, get_working_crs

    target = get_working_crs() if crs is None else as_projected_crs(crs)
    if gdf.crs is None:
        raise CRSError("layer has no CRS; give one (e.g. --assume-crs EPSG:4326)")
    return gdf.to_crs(target)


def area_m2(gdf, crs: object | None = None) -> np.ndarray:
    """Areas in m² of each geometry, measured in the working CRS (or ``crs``)."""
    return to_working_crs(gdf, crs).geometry.area.to_numpy()


def offset_m(lon: float, lat: float, src: str = "wgs84", dst: str = "gcj02") -> tuple[float, float]:
    """East and north offset in metres that converting one point from ``src`` to ``dst`` applies."""
    from pyproj import Geod

    x, y = convert_coords([lon], [lat], src, dst)
    geod = Geod(ellps="WGS84")
    _, _, east = geod.inv(lon, lat, float(x[0]), lat)
    _, _, north = geod.inv(lon, lat, lon, float(y[0]))
    return float(np.sign(x[0] - lon) * east), float(np.sign(y[0] - lat) * north)


def _mean_shift_m(before, after) -> float:
    """Mean distance in metres between matching lon/lat vertices of two geometry arrays."""
    from pyproj import Geod

    a = shapely.get_coordinates(np.asarray(before, dtype=object))
    b = shapely.get_coordinates(np.asarray(after, dtype=object))
    if len(a) == 0:
        return 0.0
    step = max(1, len(a) // 5000)
    _, _, dist = Geod(ellps="WGS84").inv(a[::step, 0], a[::step, 1], b[::step, 0], b[::step, 1])
    return float(np.mean(dist))


_VECTOR_OUT = (".gpkg", ".geojson", ".json", ".shp", ".fgb")
_RASTER_OUT = (".tif", ".tiff")


def _nonfinite_features(geoms) -> list[int]:
    """1-based numbers of the features that have a non-finite (inf or NaN) vertex."""
    coords, owner = shapely.get_coordinates(np.asarray(geoms, dtype=object), return_index=True)
    bad = ~np.isfinite(coords).all(axis=1)
    return sorted({int(i) + 1 for i in owner[bad]})


def _outside_china_note(lon: np.ndarray, lat: np.ndarray, s: str, d: str, what: str) -> str | None:
    """A note when a WGS84 ↔ GCJ-02 conversion leaves points outside China unchanged (GCJ-02 = WGS84 there)."""
    if {s, d} != {"wgs84", "gcj02"} or lon.size == 0:
        return None
    inside = _in_china(lon, lat)
    if inside.all():
        return None
    if not inside.any():
        return (f"{what} lies outside China, where GCJ-02 equals WGS84: the conversion changed nothing "
                "(the output is a copy); check that --from and the data are right")
    return (f"{int((~inside).sum()):,} of {lon.size:,} vertices of {what} lie outside China, where GCJ-02 equals "
            "WGS84; they were left unchanged")


def convert_file(
    src: str | "os.PathLike[str]",
    dst: str | "os.PathLike[str]",
    from_system: str,
    to_system: str,
    encoding: str | None = None,
    layer: str | None = None,
) -> str:
    """Convert a vector file or a lon/lat GeoTIFF between WGS84, GCJ-02 and BD-09.

    Vector layers are converted vertex by vertex and written labelled EPSG:4326. A GeoTIFF
    in lon/lat is shifted by the mean offset over its extent (the offset varies by
    centimetres to metres across a district; the largest residual is reported). The input
    is never modified, the output is written atomically, and nothing is written when the
    input's coordinates cannot belong to its CRS (:func:`check_coordinates`) or the output
    path is an input (:func:`kunsink.guard.check_outputs`).

    Returns
    -------
    str
        A one-line report (features, mean shift in metres, output path), followed by
        ``note: …`` lines, e.g. when a WGS84 ↔ GCJ-02 conversion of data outside China
        changes nothing.
    """
    from pathlib import Path

    from .errors import InputError
    from .guard import check_outputs
    from .io import is_raster_path, read_vector, write_vector

    s, d = _normalise_system(from_system), _normalise_system(to_system)
    src_p, dst_p = Path(src), Path(dst)
    if not src_p.exists():
        raise InputError(f"{src_p}: no such file")
    if s == d:
        raise CRSError(f"--from and --to are both {s}; nothing to convert")
    raster = is_raster_path(src_p)
    check_outputs(inputs=[src_p], files={"OUT": (dst_p, _RASTER_OUT if raster else _VECTOR_OUT)})
    if raster:
        return _convert_raster(src_p, dst_p, s, d)
    gdf = read_vector(src_p, layer=layer, encoding=encoding)
    if gdf.empty:
        raise InputError(f"{src_p.name} has no features")
    geoms = gdf.geometry.values
    keep = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    bad = _nonfinite_features(geoms)
    if bad:
        raise CRSError(f"{src_p.name}: feature(s) {', '.join(map(str, bad[:8]))}{' …' if len(bad) > 8 else ''} "
                       "have non-finite (inf or NaN) coordinates; fix or remove them")
    if keep.any():
        bounds = tuple(gdf[keep].total_bounds)
        if gdf.crs is None:
            try:
                check_coordinates(bounds, "EPSG:4326", src_p.name)
            except CRSError:
                raise CRSError(
                    f"{src_p.name} has no CRS and its coordinates (reaching {_reach(bounds)}) are not longitude/"
                    "latitude degrees; GCJ-02/BD-09 conversion works on lon/lat — give the file its real CRS "
                    "(ogr2ogr -a_srs) and convert again") from None
        else:
            check_coordinates(bounds, gdf.crs, src_p.name)
    if gdf.crs is None:
        gdf = gdf.set_crs("EPSG:4326")
    elif s == "wgs84" and not gdf.crs.is_geographic:
        gdf = gdf.to_crs("EPSG:4326")
    out = convert_gdf(gdf, s, d)
    shift = _mean_shift_m(gdf.geometry.values, out.geometry.values)
    xy = shapely.get_coordinates(gdf.geometry.values)
    note = _outside_china_note(xy[:, 0], xy[:, 1], s, d, src_p.name)
    if dst_p.suffix.lower() == ".gpkg":  # kunsink's mark: converting again to the same name may replace it
        from .guard import gpkg_mark
        from .io import default_layer_name

        name = layer or default_layer_name(dst_p)
        write_vector(out, dst_p, layer=name, dataset_metadata=gpkg_mark([name]))
    else:
        write_vector(out, dst_p)
    report = f"converted {len(out)} feature(s) from {s} to {d}: mean shift {shift:.0f} m → {dst_p}"
    return report + (f"\nnote: {note}" if note else "")


def _convert_raster(src, dst, s: str, d: str) -> str:
    import rasterio
    from affine import Affine
    from pyproj import Geod

    from .errors import RasterError
    from .io import atomic_path

    try:
        ds = rasterio.open(src)
    except Exception as exc:
        raise RasterError(f"cannot read {src.name} as a raster: {str(exc).splitlines()[0]}") from None
    with ds:
        if ds.crs is None or not ds.crs.is_geographic:
            raise CRSError(
                f"{src.name} is not in longitude/latitude ({ds.crs}); GCJ-02/BD-09 rasters are lon/lat grids"
            )
        check_coordinates(tuple(ds.bounds), ds.crs, src.name)
        left, bottom, right, top = ds.bounds
        gx, gy = np.meshgrid(np.linspace(left, right, 9), np.linspace(bottom, top, 9))
        cx, cy = convert_coords(gx.ravel(), gy.ravel(), s, d)
        dx, dy = cx - gx.ravel(), cy - gy.ravel()
        mx, my = float(np.mean(dx)), float(np.mean(dy))
        geod = Geod(ellps="WGS84")
        _, _, resid = geod.inv(gx.ravel() + mx, gy.ravel() + my, cx, cy)
        _, _, shift = geod.inv(np.array([(left + right) / 2]), np.array([(bottom + top) / 2]),
                               np.array([(left + right) / 2 + mx]), np.array([(bottom + top) / 2 + my]))
        if not (np.isfinite([mx, my]).all() and np.isfinite(resid).all() and np.isfinite(shift).all()):
            raise CRSError(f"{src.name}: the {s} → {d} offset cannot be computed over its extent "
                           f"({left:g}, {bottom:g}, {right:g}, {top:g}); check the file's georeferencing")
        note = _outside_china_note(gx.ravel(), gy.ravel(), s, d, src.name)
        from .guard import GENERATOR
        from .rasterout import build_overviews, creation_options

        profile = ds.profile.copy()
        for key in ("compress", "predictor", "zstd_level", "zlevel", "jpeg_quality"):
            profile.pop(key, None)
        profile.update(creation_options("deflate", profile["dtype"]))  # read by ArcMap and old GDAL alike
        profile["driver"] = "GTiff"
        profile["transform"] = Affine.translation(mx, my) @ ds.transform
        with atomic_path(dst) as tmp:
            with rasterio.open(tmp, "w", **profile) as out:
                for _, window in ds.block_windows(1):
                    out.write(ds.read(window=window), window=window)
                out.update_tags(**(ds.tags() | {"coordinate_system": d, "converted_from": s, "generator": GENERATOR}))
            build_overviews(tmp, "deflate")
    report = (f"shifted raster {src.name} from {s} to {d} by {shift[0]:.0f} m "
              f"(largest residual {float(np.max(resid)):.2f} m over its extent) → {dst}")
    return report + (f"\nnote: {note}" if note else "")
