"""The study area: which place an analysis covers, in which CRS it measures, how many people live there.

Every command works inside one study area (``--area``; default 昆都仑区):

- a shipped Baotou district by Chinese name, pinyin or adcode (东河区 150202 … 达尔罕茂明安联合旗 150223),
  several joined with commas (``昆都仑区,青山区``), or the whole city (``包头市`` / ``150200``);
- a boundary file of the user's (any format :mod:`kunsink.layers` reads, any CRS; its polygons are
  dissolved into one area);
- ``none``: no area — nothing is clipped and the working CRS is the configured one.

The **working CRS** (where areas are m² and distances m) follows the area unless set: inside China
the CGCS2000 3-degree Gauss-Krüger zone of the area's central meridian (EPSG:4534 for 75°E … 4554 for
135°E; Kundulun → EPSG:4546, CM 111°E), elsewhere the WGS84 UTM zone of its centre. The **population**
is the 2020 census figure where the area is a district, the city, or a sum of districts.

The area is a process-wide setting like the working CRS: :func:`use_area` sets it for a block (the CLI
does this for each command), :func:`get_area` reads it.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyproj import CRS

from .errors import CRSError, InputError

__all__ = [
    "StudyArea",
    "CITY_ADCODE",
    "resolve_area",
    "working_crs_for",
    "reproject",
    "get_area",
    "set_area",
    "use_area",
    "DEFAULT_AREA",
]

CITY_ADCODE = 150200
CITY_NAMES = ("包头市", "包头", "baotou")
DEFAULT_AREA = "昆都仑区"
#: The census lists 包头稀土高新区 (150271) apart from the districts whose land it lies on.
HIGH_TECH_ZONE = 150271
#: Districts on whose land the development zone lies (昆都仑区, 青山区, 九原区).
_HIGH_TECH_HOSTS = {150203, 150204, 150207}


@dataclass
class StudyArea:
    """Where an analysis runs.

    Attributes
    ----------
    name : str
        How the area is known: ``昆都仑区``, ``包头市``, ``my_area.geojson`` or ``none``.
    adcodes : tuple of int
        Administrative codes of the shipped districts that make it up (empty for a user file / none).
    outline : shapely.Polygon or shapely.MultiPolygon or None
        The dissolved area polygon, in ``crs`` (metres); None for ``none``.
    crs : pyproj.CRS
        The working CRS (projected, metres).
    population : float or None
        2020 census residents of the area (districts, the city or a sum of districts), else None.
    source : str
        Where the outline comes from.
    real : bool
        True for the shipped real boundaries; a user file is the user's.
    boundary : geopandas.GeoDataFrame or None
        (read-only) ``outline`` as a one-row frame (column ``name``) in ``crs``, built on first use;
        None for ``none``.
    """

    name: str
    adcodes: tuple[int, ...]
    outline: Any
    crs: CRS
    population: float | None
    source: str
    real: bool = True
    notes: list[str] = field(default_factory=list)
    #: False for the default area (no ``--area`` given): data lying wholly outside it is then analysed
    #: whole, with a note, rather than refused — as kunsink did before study areas existed.
    explicit: bool = True
    _boundary: Any = field(default=None, init=False, repr=False, compare=False)

    @property
    def boundary(self) -> Any:
        """The area as a one-row GeoDataFrame (column ``name``) in the working CRS; None for ``none``.

        Built on first use, so that commands which only need :meth:`polygon` do not load geopandas.
        """
        if self.outline is None:
            return None
        if self._boundary is None:
            import geopandas as gpd

            self._boundary = gpd.GeoDataFrame({"name": [self.name]}, geometry=[self.outline], crs=self.crs)
        return self._boundary

    @property
    def clips(self) -> bool:
        """True if layers are clipped to this area (every area but ``none``)."""
        return self.outline is not None

    @property
    def area_km2(self) -> float | None:
        """The area's size in km², measured in the working CRS; None for ``none``."""
        if self.outline is None:
            return None
        import shapely

        return float(shapely.area(self.outline)) / 1e6

    def polygon(self, crs: Any = None) -> Any:
        """The area as one shapely (multi)polygon, in ``crs`` (default the working CRS).

        Coordinates are transformed as :meth:`geopandas.GeoDataFrame.to_crs` transforms them (pyproj,
        ``always_xy``), so results equal those of ``boundary.to_crs(crs)``.
        """
        import shapely

        if self.outline is None:
            raise InputError("the study area is 'none': there is no area polygon")
        geom = self.outline if crs is None else reproject(self.outline, self.crs, crs)
        return shapely.union_all([geom])

    def label(self) -> str:
        """``昆都仑区 (150203), EPSG:4546`` — for notes and report headings."""
        codes = f" ({', '.join(str(a) for a in self.adcodes)})" if self.adcodes else ""
        return f"{self.name}{codes}, {_crs_label(self.crs)}"

    def to_dict(self) -> dict[str, Any]:
        """What every output's summary states about its area."""
        return {
            "name": self.name,
            "adcodes": list(self.adcodes),
            "area_km2": None if self.area_km2 is None else round(self.area_km2, 3),
            "crs": _crs_label(self.crs),
            "population_census_2020": self.population,
            "boundary_source": self.source,
            "clipped": self.clips,
        }


#: Geodetic CRSs that PROJ links to WGS 84 lon/lat by a "ballpark" (null) offset: WGS 84 itself and CGCS2000.
_BALLPARK_EPSG = (4326, 4490)


@functools.lru_cache(maxsize=16)
def _transformer(src: CRS, dst: CRS) -> Any:
    """A pyproj transformer ``src`` → ``dst`` (``always_xy``), built as :meth:`pyproj.Transformer.from_crs` builds it.

    Between WGS 84 lon/lat (EPSG:4326) and a CRS on CGCS2000 or WGS 84, PROJ searches its datum operations
    (≈ 100 ms) and settles on a null "ballpark" offset: the transformation is the other CRS's projection
    alone. That projection is taken straight from the CRS's own lon/lat (≈ 1 ms) — the same pipeline, hence
    the same coordinates. Every other pair goes through :meth:`~pyproj.Transformer.from_crs`.
    """
    from pyproj import Transformer

    wgs84 = CRS.from_epsg(4326)
    if src.equals(wgs84) and dst.geodetic_crs is not None and dst.geodetic_crs.to_epsg() in _BALLPARK_EPSG:
        src = dst.geodetic_crs
    elif dst.equals(wgs84) and src.geodetic_crs is not None and src.geodetic_crs.to_epsg() in _BALLPARK_EPSG:
        dst = src.geodetic_crs
    return Transformer.from_crs(src, dst, always_xy=True)


def reproject(geom: Any, src: Any, dst: Any) -> Any:
    """A shapely geometry transformed from CRS ``src`` to ``dst`` (x = easting / longitude first).

    The same arithmetic as :meth:`geopandas.GeoSeries.to_crs`: unchanged when the CRSs are exactly the
    same, else every vertex through a pyproj ``Transformer`` with ``always_xy=True``.

    Parameters
    ----------
    geom : shapely geometry
        Coordinates in ``src`` (2-D).
    src, dst : anything :class:`pyproj.CRS` accepts
    """
    import shapely

    src, dst = CRS.from_user_input(src), CRS.from_user_input(dst)
    if src.is_exact_same(dst):
        return geom
    transform = _transformer(src, dst).transform
    return shapely.transform(geom, lambda x, y: transform(x, y), interleaved=False)


def _crs_label(crs: CRS) -> str:
    epsg = crs.to_epsg()
    return f"{crs.name} (EPSG:{epsg})" if epsg else crs.name


def working_crs_for(lon: float, lat: float) -> CRS:
    """The working CRS for a place: CGCS2000 3° Gauss-Krüger in China, WGS84 UTM elsewhere.

    Parameters
    ----------
    lon, lat : float
        Degrees (WGS84/CGCS2000), e.g. the area's centre.

    >>> working_crs_for(109.8, 40.6).to_epsg()   # Kundulun: zone CM 111°E covers 109.5–112.5°E
    4546
    >>> working_crs_for(108.2, 40.9).to_epsg()   # CM 108°E
    4545
    >>> working_crs_for(13.4, 52.5).to_epsg()    # Berlin: UTM 33N
    32633
    >>> working_crs_for(151.2, -33.9).to_epsg()  # Sydney: UTM 56S
    32756
    """
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise CRSError("the study area has no finite centre")
    if 73.0 <= lon <= 135.5 and 18.0 <= lat <= 54.0:  # China's extent (CGCS2000 GK zones 25–45)
        cm = int(round(lon / 3.0)) * 3
        cm = min(max(cm, 75), 135)
        return CRS.from_epsg(4534 + (cm - 75) // 3)
    zone = int((lon + 180.0) // 6.0) % 60 + 1
    return CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


#: A working CRS may distort areas at the area's centre by at most this share (Gauss-Krüger and UTM: < 0.1 %;
#: Web Mercator at Baotou: 74 %).
MAX_AREA_DISTORTION = 0.01


def check_distortion(crs: CRS, lon: float, lat: float, where: str) -> None:
    """Refuse a working CRS whose areas are off by more than :data:`MAX_AREA_DISTORTION` at (lon, lat)."""
    from pyproj import Proj

    try:
        factors = Proj(crs).get_factors(lon, lat)
        areal = float(factors.areal_scale)
    except Exception:  # a CRS pyproj cannot evaluate here: its area-of-use check reports it elsewhere
        return
    if not math.isfinite(areal) or abs(areal - 1) > MAX_AREA_DISTORTION:
        raise CRSError(f"working CRS {_crs_label(crs)} distorts areas by ×{areal:.2f} at {where}; it does not measure "
                       "areas and distances — use the area's Gauss-Krüger zone (the default) or its UTM zone")


def _centre_lonlat(gdf: Any) -> tuple[float, float]:
    import shapely

    geo = gdf.to_crs("EPSG:4326")
    c = shapely.union_all(geo.geometry.values).centroid
    return float(c.x), float(c.y)


def _district_codes(spec: str) -> list[int] | None:
    """Adcodes named by ``spec`` (names, pinyin, codes, comma-separated), or None if it names no district."""
    from .datasets import PINYIN_ADCODES, district_outlines

    names = {d.name: d.adcode for d in district_outlines("amap2025")}
    codes: list[int] = []
    for part in [p.strip() for p in spec.replace("，", ",").split(",") if p.strip()]:
        key = part.lower()
        if key in CITY_NAMES or part in CITY_NAMES or key == str(CITY_ADCODE):
            codes.extend(int(a) for a in names.values())
        elif key.isdigit() and int(key) in names.values():
            codes.append(int(key))
        elif part in names:
            codes.append(int(names[part]))
        elif key in PINYIN_ADCODES:
            codes.append(PINYIN_ADCODES[key])
        else:
            return None
    return sorted(set(codes))


def _census(codes: list[int]) -> tuple[float | None, list[str]]:
    from .datasets import census_populations

    census = census_populations()
    notes: list[str] = []
    if not all(c in census for c in codes):
        return None, notes
    total = float(sum(census[c] for c in codes))
    all9 = len(codes) == 9
    if all9 and HIGH_TECH_ZONE in census:
        total += float(census[HIGH_TECH_ZONE])
        notes.append("city population includes 稀土高新区 (150271), which the census counts apart from the districts")
    elif HIGH_TECH_ZONE in census and set(codes) & _HIGH_TECH_HOSTS:
        notes.append("census population of the district(s) only: residents counted under 稀土高新区 (150271), a "
                     "development zone on land of 昆都仑区, 青山区 and 九原区, are not included")
    return total, notes


def resolve_area(spec: Any = None, *, crs: Any = None, layer: str | None = None,
                 encoding: str | None = None) -> StudyArea:
    """Turn ``--area`` (or the project file's ``area``) into a :class:`StudyArea`.

    Parameters
    ----------
    spec : str, int, path, GeoDataFrame or None
        ``None`` → 昆都仑区; a district name / pinyin / adcode or several joined by commas; ``包头市`` /
        ``150200``; ``none``; a boundary file (any CRS); or polygons as a GeoDataFrame.
    crs : optional
        Working CRS to use instead of the one that follows the area.
    layer, encoding : str, optional
        For a multi-layer or GBK boundary file.

    Raises
    ------
    InputError
        An unknown name, a file that does not exist, holds no polygons, or an empty area.
    CRSError
        A boundary file with no CRS, or a ``crs`` that is not projected in metres.
    """
    from .config import as_projected_crs

    forced = as_projected_crs(crs) if crs is not None else None
    if isinstance(spec, str) and not spec.strip(" ,，"):
        raise InputError("--area is empty; give a district (e.g. 昆都仑区), 包头市, a boundary file, or none")
    if spec is None:
        area = resolve_area(DEFAULT_AREA, crs=crs)
        area.explicit = False
        return area
    if isinstance(spec, (int,)) and not isinstance(spec, bool):
        spec = str(spec)
    if isinstance(spec, str) and spec.strip().lower() in ("none", "all", "无"):
        from .config import DEFAULT_WORKING_CRS

        base = forced or as_projected_crs(os.environ.get("KUNSINK_WORKING_CRS", DEFAULT_WORKING_CRS))
        return StudyArea("none", (), None, base, None, "no study area: nothing clipped", real=False)
    if isinstance(spec, str) and not os.path.exists(spec):
        codes = _district_codes(spec.strip())
        if codes is None:
            from .datasets import district_outlines

            known = ", ".join(f"{d.name} ({d.adcode})" for d in district_outlines("amap2025"))
            looks_like_file = any(spec.lower().endswith(s) for s in
                                  (".gpkg", ".shp", ".geojson", ".json", ".fgb", ".zip", ".gdb"))
            if looks_like_file:
                raise InputError(f"--area {spec}: no such file")
            raise InputError(f"--area {spec!r}: not a known area; give a boundary file, 包头市 (150200), "
                             f"none, or one of {known}")
        return _from_districts(codes, forced)
    return _from_file(spec, forced, layer=layer, encoding=encoding)


def _from_districts(codes: list[int], forced: CRS | None) -> StudyArea:
    """The shipped districts ``codes`` dissolved into one area (shapely and pyproj only: no geopandas)."""
    import shapely

    from .datasets import BOUNDARY_FILES, district_outlines

    sel = [d for d in district_outlines("amap2025") if d.adcode in set(codes)]
    geom = shapely.union_all([d.geometry for d in sel])
    lon, lat = geom.centroid.x, geom.centroid.y
    work = forced or working_crs_for(lon, lat)
    if forced is not None:
        check_distortion(forced, lon, lat, "the study area")
    if len(codes) == 9:
        name, adcodes = "包头市", (CITY_ADCODE,)
    else:
        name = "、".join(d.name for d in sorted(sel, key=lambda d: d.adcode))
        adcodes = tuple(int(c) for c in codes)
    population, notes = _census(codes)
    return StudyArea(name, adcodes, reproject(geom, "EPSG:4326", work), work, population,
                     f"bundled boundary {BOUNDARY_FILES['amap2025']} (AMap 2025, real)", real=True, notes=notes)


def _from_file(spec: Any, forced: CRS | None, *, layer: str | None, encoding: str | None) -> StudyArea:
    import geopandas as gpd
    import shapely

    if isinstance(spec, gpd.GeoDataFrame):
        gdf, name, source = spec, str(spec.attrs.get("path", "given polygons")), "given polygons"
    else:
        from .io import pick_layer, read_vector

        p = Path(spec)
        if not p.exists():
            raise InputError(f"--area {spec}: no such file")
        gdf = read_vector(p, layer=pick_layer(p, "boundary", layer), encoding=encoding)
        name, source = p.name, str(p)
        if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry.isna().all():
            raise InputError(f"--area {name}: holds no geometry; an area needs a polygon outline "
                             "(.gpkg, .shp, .geojson …)")
    if gdf.crs is None:
        raise CRSError(f"--area {name}: the boundary has no CRS; add a .prj or convert it to a GeoPackage with one")
    polys = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty]
    polys = polys[polys.geom_type.isin(["Polygon", "MultiPolygon"])]
    if polys.empty:
        raise InputError(f"--area {name}: holds no polygons (an area needs a polygon outline)")
    from .crs import check_coordinates

    check_coordinates(tuple(polys.total_bounds), polys.crs, name)
    geom = shapely.make_valid(shapely.union_all(shapely.make_valid(polys.geometry.values)))
    if geom.is_empty:
        raise InputError(f"--area {name}: the polygons enclose no area")
    geo = gpd.GeoDataFrame({"name": [name]}, geometry=[geom], crs=polys.crs)
    lon, lat = _centre_lonlat(geo)
    work = forced or working_crs_for(lon, lat)
    if forced is not None:
        check_distortion(forced, lon, lat, "the study area")
    boundary = geo.to_crs(work)
    if float(boundary.geometry.area.sum()) <= 0:
        raise InputError(f"--area {name}: the polygons enclose no area")
    area = StudyArea(name, (), boundary.geometry.iloc[0], work, None, source, real=False)
    area._boundary = boundary
    return area


_current: StudyArea | None = None


def get_area() -> StudyArea:
    """The study area in force (default 昆都仑区, built on first use)."""
    global _current
    if _current is None:
        _current = resolve_area(None, crs=os.environ.get("KUNSINK_WORKING_CRS") or None)
    return _current


def set_area(area: StudyArea | None) -> StudyArea | None:
    """Set the study area (``None`` restores the default); also sets the working CRS. Returns the previous one."""
    from .config import _set_area_crs

    global _current
    previous = _current
    _current = area
    _set_area_crs(None if area is None else area.crs)
    return previous


@contextlib.contextmanager
def use_area(area: StudyArea | str | None) -> Iterator[StudyArea]:
    """Work inside ``area`` (a :class:`StudyArea` or an ``--area`` value) for the block."""
    a = area if isinstance(area, StudyArea) else resolve_area(area)
    previous = set_area(a)
    try:
        yield a
    finally:
        set_area(previous)
