"""Green-space indicators of Chinese practice, each beside its target.

=====================================  ====================================================  ==============
indicator                              formula                                               standard
=====================================  ====================================================  ==============
人均公园绿地面积 park area per person     public park area (overlaps once) / residents, m²       GB 55014-2021,
                                                                                             CJJ/T 85-2017
人均综合/社区公园面积                      the same for one park type (``types`` of the target)   GB 55014-2021
公园绿地服务半径覆盖率                      residential land within the service radius / all       GB 55014-2021
                                       residential land, % (straight line, see coverage)
绿地率 green-land ratio                  green-space polygons within the built-up area /        CJJ/T 85-2017
                                       built-up area, %
绿化覆盖率 green-cover ratio             vertical projection of all vegetation (land-cover       CJJ/T 85-2017
                                       vegetation pixels ∪ green-space polygons, overlaps
                                       once) within the built-up area / built-up area, %
森林覆盖率 forest cover                  forest (and, if the profile says, shrub) land cover     —
                                       / district land area, %
=====================================  ====================================================  ==============

Pure analysis: GeoDataFrames in a projected CRS (metres) and a land-cover DataArray (rioxarray,
dask chunks: the raster is reduced chunk by chunk, memory does not grow with it). Targets come
from the rule profile (:mod:`.profiles`); the 2025 plan sets 绿地率 and 绿化覆盖率 "at the city's
requirement", so the default profile leaves them empty for the user to fill in.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import shapely

from ..errors import ConfigError, CRSError, InputError
from .profiles import INDICATOR_KEYS, Profile, Target, load_profile

__all__ = [
    "IndicatorResult",
    "park_area_per_person",
    "green_land_ratio",
    "raster_shares",
    "built_up_from_landcover",
    "compute_indicators",
]

# rasterio warns spuriously ("no geotransform") when rasterising in several threads at once; the transform
# is always given (as kunsink.carbon.run does).
warnings.filterwarnings("ignore", message="Dataset has no geotransform", module="rasterio.features")

#: CLCD impervious class (built land).
IMPERVIOUS = 8


@dataclass
class IndicatorResult:
    """Indicators with their targets.

    Attributes
    ----------
    table : DataFrame
        One row per indicator: ``key``, ``indicator``, ``value``, ``unit``, ``target``, ``op``,
        ``meets_target`` (True / False / None), ``standard`` (source), ``verified``, ``basis``.
    summary : dict
        The same as a JSON-ready dict, with the built-up area used and notes.
    built_up : GeoDataFrame or None
        The built-up area the ratios refer to.
    """

    table: pd.DataFrame
    summary: dict[str, Any]
    built_up: Any = None
    notes: list[str] = field(default_factory=list)


def _union_area(geoms: np.ndarray) -> float:
    if len(geoms) == 0:
        return 0.0
    return float(shapely.union_all(geoms).area)


def park_area_per_person(greens: Any, population: float, types: tuple[str, ...] = ()) -> tuple[float, float]:
    """人均公园绿地面积: public park area (m², overlaps counted once) per resident.

    Parameters
    ----------
    greens : GeoDataFrame
        From :func:`kunsink.greenspace.coverage.prepare_greenspace` (``is_park``, ``public_access``, ``gs_type``).
    population : float
        Residents (persons).
    types : tuple of str
        Only these ``gs_type`` values (e.g. ``("city_park", "综合公园")``); empty for all parks.

    Returns
    -------
    (m² per person, park area m²)
    """
    if not population > 0:
        raise InputError("park area per person needs a positive population")
    m = greens["is_park"].to_numpy(dtype=bool) & greens["public_access"].to_numpy(dtype=bool)
    if types:
        m &= greens["gs_type"].isin(types).to_numpy()
    area = _union_area(np.asarray(greens.geometry.values, dtype=object)[m])
    return area / population, area


def green_land_ratio(greens: Any, built_up: Any) -> tuple[float, float, float]:
    """绿地率: green-space polygon area inside the built-up area / built-up area.

    Returns
    -------
    (percent, green area m², built-up area m²)
    """
    bu = shapely.union_all(np.asarray(built_up, dtype=object))
    g = shapely.union_all(np.asarray(greens.geometry.values, dtype=object))
    bu_area = float(bu.area)
    if not bu_area > 0:
        raise InputError("the built-up area is empty")
    inside = float(shapely.intersection(g, bu).area)
    return 100.0 * inside / bu_area, inside, bu_area


def _block_counts(block: np.ndarray, row0: int, col0: int, transform: Any, nodata: Any, veg: np.ndarray,
                  forest: np.ndarray, green_wkb: list[bytes], built_wkb: list[bytes], district_wkb: list[bytes]
                  ) -> np.ndarray:
    """Pixel counts in one block: [built, built ∧ (vegetation ∨ green polygon), district valid, district forest]."""
    from rasterio.features import geometry_mask
    from rasterio.windows import Window
    from rasterio.windows import transform as win_transform

    block = np.asarray(block)
    if block.ndim == 3:
        block = block[0]
    h, w = block.shape
    t = win_transform(Window(col0, row0, w, h), transform)

    def burn(wkbs: list[bytes]) -> np.ndarray:
        if not wkbs:
            return np.zeros((h, w), dtype=bool)
        return ~geometry_mask(shapely.from_wkb(wkbs), out_shape=(h, w), transform=t, all_touched=False)

    valid = np.ones((h, w), dtype=bool) if nodata is None else block != nodata
    built = burn(built_wkb) & valid if built_wkb else np.zeros((h, w), dtype=bool)
    vegm = np.isin(block, veg)
    covered = built & (vegm | burn(green_wkb)) if built_wkb else np.zeros((h, w), dtype=bool)
    dist = burn(district_wkb) & valid if district_wkb else valid
    fmask = dist & np.isin(block, forest)
    return np.array([built.sum(), covered.sum(), dist.sum(), fmask.sum()], dtype=np.float64)


def raster_shares(landcover: Any, greens: Any, built_up: Any, district: Any, vegetation_codes: tuple[int, ...],
                  forest_codes: tuple[int, ...]) -> dict[str, float]:
    """绿化覆盖率 and 森林覆盖率 from a land-cover raster, block by block.

    Parameters
    ----------
    landcover : xarray.DataArray
        2-D land-cover codes (CLCD scheme) with a projected CRS (``rio`` accessor); dask-backed
        arrays are reduced chunk by chunk.
    greens : GeoDataFrame or None
        Green-space polygons, counted as vegetated (the vertical projection, overlaps once).
    built_up, district : array of polygons or None
        In the raster's CRS.
    vegetation_codes, forest_codes : tuple of int

    Returns
    -------
    dict
        ``green_coverage_ratio_pct`` (None without a built-up area), ``forest_cover_pct``,
        pixel areas in m² (``built_up_m2``, ``vegetated_m2``, ``district_m2``, ``forest_m2``).
    """
    import dask

    crs = landcover.rio.crs
    if crs is None or not crs.is_projected:
        raise CRSError("the land-cover raster must be in a projected CRS (metres) for areas")
    transform = landcover.rio.transform()
    nodata = landcover.rio.nodata
    px = abs(transform.a * transform.e - transform.b * transform.d)
    gw = [shapely.to_wkb(g) for g in np.asarray(greens.geometry.values, dtype=object)] if greens is not None else []
    bw = [shapely.to_wkb(g) for g in np.asarray(built_up, dtype=object)] if built_up is not None else []
    dw = [shapely.to_wkb(g) for g in np.asarray(district, dtype=object)] if district is not None else []
    veg, forest = np.asarray(vegetation_codes), np.asarray(forest_codes)
    data = landcover.data
    if hasattr(data, "to_delayed"):
        rows = np.cumsum((0,) + data.chunks[0])[:-1]
        cols = np.cumsum((0,) + data.chunks[1])[:-1]
        blocks = data.to_delayed()
        tasks = [dask.delayed(_block_counts)(blocks[i, j], int(rows[i]), int(cols[j]), transform, nodata, veg,
                                             forest, gw, bw, dw)
                 for i in range(blocks.shape[0]) for j in range(blocks.shape[1])]
        counts = np.sum(dask.compute(*tasks), axis=0)
    else:
        counts = _block_counts(np.asarray(data), 0, 0, transform, nodata, veg, forest, gw, bw, dw)
    built, covered, dist, fcount = (float(c) * px for c in counts)
    return {
        "green_coverage_ratio_pct": 100.0 * covered / built if bw and built > 0 else None,
        "forest_cover_pct": 100.0 * fcount / dist if dist > 0 else None,
        "built_up_m2": built, "vegetated_m2": covered, "district_m2": dist, "forest_m2": fcount,
        "pixel_area_m2": px,
    }


def built_up_from_landcover(landcover: Any, district: Any = None, *, cell_m: float = 50.0, min_share: float = 0.3,
                            close_m: float = 200.0, min_area_m2: float = 1e6) -> Any:
    """An approximate built-up area (建成区) from impervious land cover, when no official boundary is given.

    Impervious (CLCD 8) share per ``cell_m`` cell (block means, chunked) ≥ ``min_share``; a
    morphological closing by ``close_m`` joins blocks across streets and parks; holes are filled
    (parks inside the city belong to it); patches under ``min_area_m2`` are dropped.

    Returns
    -------
    GeoDataFrame
        Polygons in the raster's CRS with ``source`` = ``derived from land cover``.
    """
    import geopandas as gpd
    from rasterio.features import shapes
    from scipy import ndimage

    transform = landcover.rio.transform()
    res = abs(transform.a)
    f = max(1, int(round(cell_m / res)))
    imp = (landcover == IMPERVIOUS).astype("float32")
    share = imp.coarsen(x=f, y=f, boundary="pad").mean()
    grid = np.asarray(share.values) >= min_share
    r = max(1, int(round(close_m / (f * res))))
    yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
    disk = xx ** 2 + yy ** 2 <= r * r
    padded = np.pad(grid, r)
    closed = ndimage.binary_closing(padded, structure=disk)[r:-r, r:-r]
    filled = ndimage.binary_fill_holes(closed)
    coarse = transform * transform.scale(f, f)
    polys = [shapely.geometry.shape(g) for g, v in shapes(filled.astype("uint8"), mask=filled, transform=coarse)
             if v == 1]
    geoms = np.array(polys, dtype=object)
    if len(geoms):
        geoms = geoms[shapely.area(geoms) >= min_area_m2]
    if district is not None and len(geoms):
        geoms = shapely.intersection(geoms, shapely.union_all(np.asarray(district, dtype=object)))
        geoms = geoms[shapely.area(geoms) > 0]
    return gpd.GeoDataFrame({"source": ["derived from land cover"] * len(geoms)}, geometry=list(geoms),
                            crs=landcover.rio.crs)


def _row(target: Target | None, key: str, value: float | None, unit: str, basis: str) -> dict[str, Any]:
    t = target or Target(key=key, target=None)
    return {"key": key, "indicator": INDICATOR_KEYS[key], "value": value, "unit": unit, "target": t.target,
            "op": t.op if t.target is not None else None, "meets_target": t.passes(value), "standard": t.source,
            "verified": t.verified, "basis": basis}


def compute_indicators(
    greenspace: Any,
    *,
    profile: str | Profile | dict | None = None,
    residential: Any = None,
    population_total: float | None = None,
    landcover: Any = None,
    built_up: Any = None,
    district: Any = None,
) -> IndicatorResult:
    """All green-space indicators of a profile with their targets.

    Parameters
    ----------
    greenspace : GeoDataFrame
        Green spaces, projected CRS (metres).
    profile : optional
        Rule profile holding the targets (default ``cn-300-500``).
    residential : GeoDataFrame, optional
        Neighbourhoods: their ``population`` gives the residents (else ``population_total``)
        and they give the park service-radius coverage.
    population_total : float, optional
        Residents (persons), e.g. the census, when the neighbourhoods carry none.
    landcover : xarray.DataArray, optional
        Land-cover codes (CLCD) in a projected CRS, for 绿化覆盖率, 森林覆盖率 and (if no
        ``built_up``) the derived built-up area.
    built_up : GeoDataFrame, optional
        The built-up area (建成区) the ratios refer to.
    district : GeoDataFrame, optional
        The district boundary for 森林覆盖率 (default: the whole raster's valid pixels).

    Returns
    -------
    IndicatorResult
    """
    from .coverage import compute_coverage, prepare_greenspace, prepare_residential

    prof = load_profile(profile)
    greens, notes = prepare_greenspace(greenspace)
    crs = greens.crs
    basis_pop = "none"
    population = None
    res = None
    if residential is not None:
        if residential.crs != crs:
            residential = residential.to_crs(crs)
        res, rnotes, basis_pop = prepare_residential(residential, population_total)
        notes += rnotes
        if basis_pop != "none":
            population = float(res["population"].sum())
    elif population_total is not None:
        if not population_total > 0:
            raise ConfigError("population total must be positive")
        population = float(population_total)
        basis_pop = "total given"
    rows: list[dict[str, Any]] = []
    T = prof.targets
    for key in ("park_area_per_person_m2", "city_park_area_per_person_m2", "community_park_area_per_person_m2"):
        if key != "park_area_per_person_m2" and key not in T:
            continue
        types = T[key].types if key in T else ()
        value = None
        if population is not None:
            value, area = park_area_per_person(greens, population, types)
            basis = f"public park area {area:,.0f} m² / {population:,.0f} residents ({basis_pop})"
            if types and not greens["gs_type"].isin(types).any():
                value = None
                basis = f"no green space of type {', '.join(types)} in the layer"
        else:
            basis = "no population: give neighbourhoods with a population field or a total"
        rows.append(_row(T.get(key), key, value, "m²/person", basis))

    if "park_service_coverage_pct" in T or res is not None:
        t = T.get("park_service_coverage_pct")
        rule = prof.rule(t.rule) if t is not None and t.rule else next(
            (r for r in prof.rules if all(x.parks_only for x in r.tiers)), prof.rules[-1])
        value = None
        basis = "needs the residential layer"
        if res is not None:
            cov = compute_coverage(res, greens, prof, modes="line")
            value = cov.summary["rules"][rule.id]["line"]["area_covered_pct"]
            basis = f"rule {rule.id} ({rule.radius_text}, straight line), share of residential land area"
        rows.append(_row(t, "park_service_coverage_pct", value, "%", basis))

    built_geoms = None
    built_gdf = None
    bu_basis = ""
    if built_up is not None:
        if built_up.crs is None:
            raise CRSError("the built-up layer has no CRS")
        built_gdf = built_up.to_crs(crs) if built_up.crs != crs else built_up
        built_geoms = np.asarray(built_gdf.geometry.values, dtype=object)
        bu_basis = "built-up area as given"
    elif landcover is not None:
        lc_crs = landcover.rio.crs
        dist_geoms = None if district is None else np.asarray(district.to_crs(lc_crs).geometry.values, dtype=object)
        built_gdf = built_up_from_landcover(landcover, dist_geoms).to_crs(crs)
        built_geoms = np.asarray(built_gdf.geometry.values, dtype=object)
        bu_basis = ("built-up area derived from impervious land cover (≥ 30 % in 50 m cells, closed by 200 m, holes "
                    "filled) — give the official 建成区 boundary with --built-up")
        notes.append(bu_basis)
    if built_geoms is not None and len(built_geoms) == 0:
        raise InputError("the built-up area is empty (no impervious land cover found?)")
    gl = None
    if built_geoms is not None:
        gl, g_in, bu_area = green_land_ratio(greens, built_geoms)
        bu_basis_full = f"{g_in:,.0f} m² of green space in {bu_area:,.0f} m² built-up area; {bu_basis}"
    else:
        bu_basis_full = "needs a built-up area (--built-up) or a land-cover raster to derive one"
    rows.append(_row(T.get("green_land_ratio_pct"), "green_land_ratio_pct", gl, "%", bu_basis_full))
    shares: dict[str, Any] = {}
    if landcover is not None:
        lc_crs = landcover.rio.crs
        g_lc = greens.to_crs(lc_crs)
        b_lc = None if built_gdf is None else np.asarray(built_gdf.to_crs(lc_crs).geometry.values, dtype=object)
        d_lc = None if district is None else np.asarray(district.to_crs(lc_crs).geometry.values, dtype=object)
        shares = raster_shares(landcover, g_lc, b_lc, d_lc, prof.vegetation_codes, prof.forest_codes)
        gc_basis = (f"land-cover codes {list(prof.vegetation_codes)} ∪ green-space polygons within the built-up area "
                    f"({shares['pixel_area_m2']:g} m² pixels)")
        fc_basis = (f"land-cover codes {list(prof.forest_codes)} / {'district' if district is not None else 'raster'} "
                    f"land area" + (f"; {prof.forest_codes_note}" if prof.forest_codes_note else ""))
    else:
        gc_basis = fc_basis = "needs a land-cover raster (--landcover)"
    rows.append(_row(T.get("green_coverage_ratio_pct"), "green_coverage_ratio_pct",
                     shares.get("green_coverage_ratio_pct"), "%", gc_basis))
    rows.append(_row(T.get("forest_cover_pct"), "forest_cover_pct", shares.get("forest_cover_pct"), "%", fc_basis))
    table = pd.DataFrame(rows)
    summary = {
        "profile": prof.describe(),
        "population": population,
        "population_basis": basis_pop,
        "built_up_area_m2": float(shapely.union_all(built_geoms).area) if built_geoms is not None else None,
        "built_up_basis": bu_basis or None,
        "raster_areas_m2": {k: v for k, v in shares.items() if k.endswith("_m2")},
        "indicators": {r["key"]: {k: v for k, v in r.items() if k != "key"} for r in rows},
        "notes": notes,
    }
    return IndicatorResult(table, summary, built_gdf, notes)


def _finite(v: float | None) -> bool:
    return v is not None and math.isfinite(v)
