"""Green-space reach: which residential land and how many residents are near enough to green space.

Pure analysis on GeoDataFrames in a projected CRS (the working CRS, metres): no file I/O, no
printing. :func:`compute_coverage` measures every rule of a profile in two ways:

``line`` — the official Chinese figure
    straight-line distance from the green-space **boundary**: the union of the qualifying
    polygons buffered by the radius, intersected exactly with the residential polygons.
``network`` — walking distance, a diagnostic
    along the walking network from park entrances (given points, or pseudo-entrances where a
    walkable edge passes the boundary within ``entrance_max_m``) to **home points**: the
    residential land is cut into ``cell_m`` cells, each cell piece is a home point snapped to its
    nearest edge (split there), and its connector is walked too. All qualifying parks are searched
    at once (multi-source Dijkstra with a limit).

Shares are reported both as a share of residential **land area** (the statutory 覆盖率; polygons
that overlap are counted once in district totals) and of **population** (residents spread
uniformly over their neighbourhood; without a population field a district total is spread by area).
"""

from __future__ import annotations

import math
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import shapely

from ..errors import ConfigError, CRSError, InputError
from . import network as nw
from .profiles import Profile, Rule, Tier, load_profile

__all__ = [
    "MODES",
    "Homes",
    "GreenSet",
    "CoverageResult",
    "prepare_residential",
    "prepare_greenspace",
    "qualifying_mask",
    "home_cells",
    "line_covered_area",
    "compute_coverage",
]

MODES = ("line", "network")
_RES_ID = ("res_id", "小区编号", "编号", "id", "ID", "fid_", "OBJECTID")
_GS_ID = ("gs_id", "绿地编号", "公园编号", "编号", "id", "ID", "OBJECTID")
_PARK_WORDS = re.compile(r"park|公园|游园|garden", re.IGNORECASE)


@dataclass
class Homes:
    """Home points: residential land cut into cells, one point per (cell, neighbourhood) piece.

    Attributes
    ----------
    xy : ndarray (n, 2)
        A point inside each piece (working CRS, m).
    res : ndarray of int64
        Position of the piece's neighbourhood in the residential layer.
    area_m2 : ndarray
        Area of the piece, m².
    district_area_m2 : ndarray
        Its share of the district's residential land, m²: equal to ``area_m2`` except where
        neighbourhoods overlap, which is counted once.
    population : ndarray
        Residents of the piece (neighbourhood population spread by area), persons.
    pieces : ndarray of shapely Polygon
        The pieces themselves (for gap polygons).
    cell_m : float
    """

    xy: np.ndarray
    res: np.ndarray
    area_m2: np.ndarray
    district_area_m2: np.ndarray
    population: np.ndarray
    pieces: np.ndarray
    cell_m: float

    def __len__(self) -> int:
        return len(self.xy)


@dataclass
class GreenSet:
    """The qualifying green spaces of one tier of a rule."""

    rule: Rule
    tier: Tier
    mask: np.ndarray  # over the green-space layer


@dataclass
class CoverageResult:
    """What :func:`compute_coverage` found.

    Attributes
    ----------
    neighbourhoods : GeoDataFrame
        One row per residential polygon with distances (m), covered shares (0–1) and residents covered.
    summary : dict
        District totals per rule and mode (``area_covered_pct``, ``population_covered_pct`` …), notes.
    service_areas : GeoDataFrame
        Per rule and mode: the area served (line: buffer of the qualifying polygons; network: the
        reachable streets buffered by ``service_area_buffer_m``).
    gaps : GeoDataFrame
        Residential land not covered, per rule, mode and neighbourhood.
    entrances : GeoDataFrame or None
        The entrances used by the network measure (``kind`` given / pseudo).
    unreachable : GeoDataFrame or None
        Home points that cannot reach any qualifying green space by the network (disconnected
        network parts or beyond ``home_max_snap_m`` from any street), per rule.
    homes : Homes
    state : dict
        Intermediate objects (graph, home nodes) that :mod:`.siting` reuses.
    """

    neighbourhoods: Any
    summary: dict[str, Any]
    service_areas: Any
    gaps: Any
    entrances: Any = None
    unreachable: Any = None
    homes: Homes | None = None
    state: dict[str, Any] = field(default_factory=dict)


# --- inputs -----------------------------------------------------------------------------------

def _ids(gdf: Any, candidates: tuple[str, ...], prefix: str, what: str) -> tuple[pd.Series, str]:
    col = next((c for c in candidates if c in gdf.columns), None)
    if col is None:
        return pd.Series([f"{prefix}{i + 1:05d}" for i in range(len(gdf))], index=gdf.index), ""
    ids = gdf[col].astype(str).str.strip()
    dup = ids[ids.duplicated(keep=False)]
    if len(dup):
        listed = ", ".join(sorted(set(dup))[:5])
        raise InputError(f"{what}: {dup.nunique()} id(s) in field {col!r} are used more than once ({listed}"
                         f"{' …' if dup.nunique() > 5 else ''}); ids must be unique")
    return ids, col


def _projected(gdf: Any, what: str) -> None:
    if gdf.crs is None:
        raise CRSError(f"{what} has no CRS")
    if not gdf.crs.is_projected:
        raise CRSError(f"{what} is in {gdf.crs.to_string()} (degrees); reproject it to the working CRS "
                       "(metres) first, e.g. with kunsink.layers.load_layer")


def _polys(gdf: Any) -> np.ndarray:
    return np.asarray(gdf.geometry.values, dtype=object)


def prepare_residential(residential: Any, population_total: float | None = None,
                        require_population: bool = False) -> tuple[Any, list[str], str]:
    """Check neighbourhoods and settle their population.

    Parameters
    ----------
    residential : GeoDataFrame
        Polygons in a projected CRS; optional ``population`` (persons) and ``res_id``.
    population_total : float, optional
        Residents to spread over the neighbourhoods by area when there is no population field
        (e.g. the 2020 census 787,681 for the whole district). Ignored when the field exists.
    require_population : bool
        Raise if there is neither a population field nor a total.

    Returns
    -------
    (GeoDataFrame, notes, population_basis)
        A copy with ``res_id``, ``area_m2`` (m², recomputed) and ``population`` (persons, NaN
        when unknown); notes; basis ``"given"``, ``"spread by area"`` or ``"none"``.
    """
    _projected(residential, "the residential layer")
    if len(residential) == 0:
        raise InputError("the residential layer has no features")
    out = residential.copy()
    notes: list[str] = []
    ids, _ = _ids(out, _RES_ID, "R", "residential layer")
    out["res_id"] = ids.to_numpy()
    out["area_m2"] = shapely.area(_polys(out))
    zero = out["area_m2"] <= 0
    if zero.any():
        raise InputError(f"residential layer: {int(zero.sum())} polygon(s) have zero area "
                         f"({', '.join(out.loc[zero, 'res_id'].astype(str).head(5))}); fix or remove them")
    basis = "none"
    if "population" in out.columns:
        pop = pd.to_numeric(out["population"], errors="coerce")
        if pop.isna().any():
            raise InputError(f"residential layer: population is empty or not a number for "
                             f"{int(pop.isna().sum())} neighbourhood(s) ({', '.join(out.loc[pop.isna(), 'res_id'].head(5))}); "
                             "fill it in, or drop the field and give a total to spread by area")
        if (pop < 0).any():
            raise InputError("residential layer: population must not be negative")
        out["population"] = pop.astype("float64")
        basis = "given"
        if population_total is not None:
            notes.append(f"population taken from the layer ({pop.sum():,.0f}); the total {population_total:,.0f} "
                         "given was not used")
    elif population_total is not None:
        if not (population_total > 0 and math.isfinite(population_total)):
            raise ConfigError(f"population total must be a positive number, not {population_total!r}")
        out["population"] = population_total * out["area_m2"] / out["area_m2"].sum()
        basis = "spread by area"
        notes.append(f"no population field: {population_total:,.0f} residents spread over the neighbourhoods "
                     "in proportion to their area")
    else:
        if require_population:
            raise InputError("population shares need residents: the residential layer has no population field "
                             "(population / 人口 / 常住人口) and no total was given — give a total to spread by "
                             "area (--population-total N, or --population-total census for 787,681)")
        out["population"] = np.nan
        notes.append("no population field and no total: population shares are not reported")
    out["population_basis"] = basis
    return out, notes, basis


def prepare_greenspace(greenspace: Any) -> tuple[Any, list[str]]:
    """Check green spaces: unique ids, positive areas, park and public-access flags.

    Missing ``is_park`` is taken from ``gs_type`` (park / 公园 / 游园 / garden) or else every
    feature counts as a park; missing ``public_access`` counts every feature as public. Each
    assumption is returned as a note.

    Returns
    -------
    (GeoDataFrame, notes)
        A copy with ``gs_id``, ``area_m2`` (m², recomputed from the geometry), ``is_park``,
        ``public_access`` (bool) and ``gs_type`` (str).
    """
    _projected(greenspace, "the green-space layer")
    if len(greenspace) == 0:
        raise InputError("the green-space layer has no features")
    out = greenspace.copy()
    notes: list[str] = []
    ids, _ = _ids(out, _GS_ID, "G", "green-space layer")
    out["gs_id"] = ids.to_numpy()
    out["area_m2"] = shapely.area(_polys(out))
    zero = ~(out["area_m2"] > 0)
    if zero.any():
        raise InputError(f"green-space layer: {int(zero.sum())} park(s) or green space(s) have zero area "
                         f"({', '.join(out.loc[zero, 'gs_id'].astype(str).head(5))}"
                         f"{' …' if zero.sum() > 5 else ''}); fix or remove them")
    if "gs_type" not in out.columns:
        out["gs_type"] = ""
    out["gs_type"] = out["gs_type"].fillna("").astype(str)
    if "is_park" in out.columns:
        out["is_park"] = nw._truthy(out["is_park"])
    elif out["gs_type"].str.len().gt(0).any():
        out["is_park"] = out["gs_type"].str.contains(_PARK_WORDS).to_numpy()
        notes.append("no is_park field: parks taken from gs_type (park / 公园 / 游园 / garden)")
    else:
        out["is_park"] = True
        notes.append("no is_park or gs_type field: every green space counted as a park")
    if "public_access" in out.columns:
        out["public_access"] = nw._truthy(out["public_access"])
    else:
        out["public_access"] = True
        notes.append("no public_access field: every green space counted as open to the public")
    return out, notes


def qualifying_mask(greens: Any, tier: Tier) -> np.ndarray:
    """Which green spaces count for a tier: area range, width, park and public flags, types.

    Parameters
    ----------
    greens : GeoDataFrame
        From :func:`prepare_greenspace` (``area_m2`` in m²).
    tier : Tier

    Returns
    -------
    ndarray of bool
    """
    area = greens["area_m2"].to_numpy()
    m = area >= tier.min_area_m2
    if tier.max_area_m2 is not None:
        m &= area < tier.max_area_m2
    if tier.parks_only:
        m &= greens["is_park"].to_numpy(dtype=bool)
    if tier.public_only:
        m &= greens["public_access"].to_numpy(dtype=bool)
    if tier.types:
        m &= greens["gs_type"].isin(tier.types).to_numpy()
    if tier.min_width_m > 0 and m.any():
        geoms = _polys(greens)[m]
        wide = ~shapely.is_empty(shapely.buffer(geoms, -tier.min_width_m / 2.0, quad_segs=4))
        m[np.flatnonzero(m)[~wide]] = False
    return m


def _overlapping_pairs(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (i < j) of polygons whose interiors intersect (overlap or one inside the other)."""
    a, b = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    keep = a < b
    a, b = a[keep], b[keep]
    inner = shapely.relate_pattern(geoms[a], geoms[b], "T********")
    return a[inner], b[inner]


def home_cells(residential: Any, cell_m: float = 25.0) -> Homes:
    """Cut the residential land into ``cell_m`` squares: one home point per (cell, neighbourhood) piece.

    Parameters
    ----------
    residential : GeoDataFrame
        From :func:`prepare_residential` (``population`` may be NaN).
    cell_m : float
        Cell side, m.

    Returns
    -------
    Homes
    """
    if not cell_m > 0:
        raise ConfigError(f"cell size must be positive, not {cell_m!r}")
    geoms = _polys(residential)
    b = shapely.bounds(geoms)
    ix0 = np.floor(b[:, 0] / cell_m).astype(np.int64)
    iy0 = np.floor(b[:, 1] / cell_m).astype(np.int64)
    nx = np.ceil(b[:, 2] / cell_m).astype(np.int64) - ix0
    ny = np.ceil(b[:, 3] / cell_m).astype(np.int64) - iy0
    nx, ny = np.maximum(nx, 1), np.maximum(ny, 1)
    counts = nx * ny
    total = int(counts.sum())
    if total > 20_000_000:
        raise ConfigError(f"{total:,} cells of {cell_m:g} m: use a larger cell size")
    poly = np.repeat(np.arange(len(geoms)), counts)
    k = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    gx = ix0[poly] + k % nx[poly]
    gy = iy0[poly] + k // nx[poly]
    pieces = _clip_to_cells(geoms, poly, gx * cell_m, gy * cell_m, (gx + 1) * cell_m, (gy + 1) * cell_m)
    area = shapely.area(pieces)
    keep = area > 1e-6
    poly, gx, gy, pieces, area = poly[keep], gx[keep], gy[keep], pieces[keep], area[keep]
    b = shapely.bounds(pieces)
    xy = np.stack([(b[:, 0] + b[:, 2]) / 2.0, (b[:, 1] + b[:, 3]) / 2.0], axis=1)  # a rectangle's interior point
    other = ~_rectangles(pieces, area)
    xy[other] = shapely.get_coordinates(shapely.point_on_surface(pieces[other]))
    district = area.copy()
    # neighbourhoods overlapping one another: count the shared land once in district totals
    a, c = _overlapping_pairs(geoms)
    if len(a):
        cell_key = gx * 1_000_003 + gy
        involved = np.isin(poly, np.unique(np.concatenate([a, c])))
        keys = np.unique(cell_key[involved])
        sel = np.flatnonzero(np.isin(cell_key, keys))
        order = sel[np.argsort(cell_key[sel], kind="stable")]
        ck = cell_key[order]
        starts = np.flatnonzero(np.r_[True, ck[1:] != ck[:-1]])
        groups = np.split(order, starts[1:])
        multi = [g for g in groups if len(g) > 1]
        if multi:
            unions = np.array([shapely.union_all(pieces[g]).area for g in multi])
            sums = np.array([area[g].sum() for g in multi])
            factor = np.where(sums > 0, unions / sums, 1.0)
            for g, f in zip(multi, factor):
                district[g] = area[g] * f
    pop_res = residential["population"].to_numpy(dtype=np.float64)
    res_area = np.bincount(poly, weights=area, minlength=len(geoms))
    with np.errstate(invalid="ignore", divide="ignore"):
        pop = pop_res[poly] * area / res_area[poly]
    return Homes(xy, poly.astype(np.int64), area, district, pop, pieces, float(cell_m))


def _rectangles(geoms: np.ndarray, area: np.ndarray | None = None) -> np.ndarray:
    """Which polygons are axis-parallel rectangles: four corners, and the area of their bounding box.

    GEOS's interior point of such a rectangle is its centre (``point_on_surface`` gives the same numbers).
    """
    b = shapely.bounds(geoms)
    a = shapely.area(geoms) if area is None else area
    with np.errstate(invalid="ignore"):
        box_area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
        return (shapely.get_num_coordinates(geoms) == 5) & (shapely.get_type_id(geoms) == 3) & (a > 0) & \
            (a >= box_area * (1.0 - 1e-12))


def _clip_to_cells(geoms: np.ndarray, poly: np.ndarray, x0: np.ndarray, y0: np.ndarray, x1: np.ndarray,
                   y1: np.ndarray) -> np.ndarray:
    """The part of polygon ``geoms[poly[i]]`` inside the rectangle ``x0[i], y0[i], x1[i], y1[i]`` (m), for every i.

    GEOS rectangle clipping, vectorised over the cells in chunks (several times faster than a general
    intersection with box polygons). GEOS refuses a few shapes (spikes that collapse to a 3-point ring)
    and may return an invalid piece; those cells, and the cells of invalid polygons, are cut by the exact
    overlay (:func:`_overlay`) instead, so every piece is that of ``intersection(box, polygon)``.
    """
    clip = getattr(shapely.lib, "clip_by_rect", None)  # the ufunc behind shapely.clip_by_rect, arrays allowed
    exact = ~shapely.is_valid(geoms)[poly]
    pieces = np.empty(len(poly), dtype=object)
    if clip is None:
        exact[:] = True
    else:
        n, chunk = len(poly), 2048
        todo = [(lo, min(lo + chunk, n)) for lo in range(0, n, chunk)]
        while todo:  # a chunk GEOS refuses is halved until the refused cells are found (≤ 16 at a time)
            lo, hi = todo.pop()
            try:
                pieces[lo:hi] = clip(geoms[poly[lo:hi]], x0[lo:hi], y0[lo:hi], x1[lo:hi], y1[lo:hi])
            except shapely.errors.GEOSException:
                if hi - lo <= 16:
                    exact[lo:hi] = True
                else:
                    todo += [(lo, (lo + hi) // 2), ((lo + hi) // 2, hi)]
        done = np.flatnonzero(~exact)
        pieces[done] = _polygonal(pieces[done])
        check = done[~_rectangles(pieces[done])]  # a rectangle (the whole cell or a part of it) is valid
        exact[check[~shapely.is_valid(pieces[check])]] = True
    if exact.any():
        boxes = shapely.box(x0[exact], y0[exact], x1[exact], y1[exact])
        pieces[exact] = _polygonal(_overlay(shapely.intersection, boxes, geoms[poly[exact]]))
    return pieces


def _polygonal(geoms: np.ndarray) -> np.ndarray:
    """Keep the polygonal part of overlay results (clips may add stray lines or points)."""
    geoms = np.asarray(geoms, dtype=object)
    mixed = np.flatnonzero(shapely.get_type_id(geoms) == 7)
    if len(mixed):
        geoms = geoms.copy()
        for k in mixed:  # geometry collections are rare: one at a time
            parts = shapely.get_parts(shapely.get_parts(geoms[k]))  # multipolygons into polygons too
            polys = [g for g in parts if shapely.get_type_id(g) == 3]
            geoms[k] = shapely.MultiPolygon(polys) if polys else shapely.Polygon()
    return geoms


# --- straight-line measure ----------------------------------------------------------------------

def _tiles(bounds: np.ndarray, tile_m: float) -> np.ndarray:
    x0, y0, x1, y1 = bounds
    xs = np.arange(math.floor(x0 / tile_m), math.ceil(x1 / tile_m) + 1) * tile_m
    ys = np.arange(math.floor(y0 / tile_m), math.ceil(y1 / tile_m) + 1) * tile_m
    gx, gy = np.meshgrid(xs[:-1], ys[:-1])
    return shapely.box(gx.ravel(), gy.ravel(), gx.ravel() + tile_m, gy.ravel() + tile_m)


def _cover_pieces(buffers: np.ndarray, tile_m: float) -> np.ndarray:
    """The union of (overlapping) service buffers, cut into non-overlapping tile pieces.

    Each buffer is clipped to the tiles it touches and unioned tile by tile, so no overlay ever
    handles the whole city's service area at once.
    """
    buffers = buffers[~shapely.is_empty(buffers)]
    if len(buffers) == 0:
        return np.zeros(0, dtype=object)
    tiles = _tiles(shapely.total_bounds(buffers), tile_m)
    ti, bi = shapely.STRtree(buffers).query(tiles, predicate="intersects")
    clipped = _polygonal(_overlay(shapely.intersection, buffers[bi], tiles[ti]))
    order = np.argsort(ti, kind="stable")
    ti, clipped = ti[order], clipped[order]
    starts = np.flatnonzero(np.r_[True, ti[1:] != ti[:-1]])
    groups = np.split(clipped, starts[1:])
    pieces = np.array([g[0] if len(g) == 1 else shapely.union_all(g) for g in groups], dtype=object)
    pieces = _polygonal(pieces)
    return pieces[~shapely.is_empty(pieces) & (shapely.area(pieces) > 0)]


def _covered(geoms: np.ndarray, pieces: np.ndarray, with_parts: bool = False) -> tuple[np.ndarray, Any]:
    """Area (m²) of each polygon inside the (non-overlapping) cover pieces, and optionally the covered parts."""
    out = np.zeros(len(geoms))
    parts = np.full(len(geoms), None, dtype=object)
    if len(pieces) == 0 or len(geoms) == 0:
        return out, parts
    gi, pi = shapely.STRtree(pieces).query(geoms, predicate="intersects")
    if len(gi) == 0:
        return out, parts
    shapely.prepare(pieces)
    inside = shapely.contains_properly(pieces[pi], geoms[gi])
    inter = geoms[gi].copy()
    inter[~inside] = _polygonal(_overlay(shapely.intersection, geoms[gi][~inside], pieces[pi][~inside]))
    areas = shapely.area(inter)
    out = np.minimum(np.bincount(gi, weights=areas, minlength=len(geoms)), shapely.area(geoms))
    if with_parts:
        order = np.argsort(gi, kind="stable")
        g_sorted, inter_sorted = gi[order], inter[order]
        starts = np.flatnonzero(np.r_[True, g_sorted[1:] != g_sorted[:-1]])
        groups = np.split(inter_sorted, starts[1:])
        parts[g_sorted[starts]] = [g[0] if len(g) == 1 else shapely.union_all(g) for g in groups]
    return out, parts


def line_covered_area(geoms: np.ndarray, cover_pieces: np.ndarray) -> np.ndarray:
    """Area (m²) of each polygon inside the union of ``cover_pieces`` (pieces must not overlap)."""
    return _covered(np.asarray(geoms, dtype=object), np.asarray(cover_pieces, dtype=object))[0]


def _merge_pieces(pieces: np.ndarray) -> Any:
    """One (Multi)Polygon from tile pieces that touch only along tile edges."""
    if len(pieces) == 0:
        return shapely.Polygon()
    try:
        return shapely.coverage_union_all(pieces)
    except shapely.errors.GEOSException:
        return shapely.union_all(pieces)


def _district_geoms(geoms: np.ndarray, ov_a: np.ndarray, ov_b: np.ndarray) -> np.ndarray:
    """Residential land without double counting: overlapping neighbourhoods merged, the rest as they are."""
    if len(ov_a) == 0:
        return geoms
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(geoms)
    _, lab = connected_components(coo_matrix((np.ones(len(ov_a)), (ov_a, ov_b)), shape=(n, n)), directed=False)
    sizes = np.bincount(lab)
    single = sizes[lab] == 1
    merged = [shapely.union_all(geoms[lab == c]) for c in np.flatnonzero(sizes > 1)]
    return np.concatenate([geoms[single], np.array(merged, dtype=object)])


def _overlay(op: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``op(a, b)`` (shapely.intersection / difference), element-wise. Where GEOS meets a topology
    conflict (shapes reprojected into a CRS where edges nearly touch), the operation is repeated on
    valid shapes with a 1 mm snapping grid, which OverlayNG always resolves; areas move by < 1 mm²·m."""
    try:
        return op(a, b)
    except shapely.errors.GEOSException:
        a2 = _polygonal(shapely.make_valid(np.asarray(a, dtype=object)))
        b2 = _polygonal(shapely.make_valid(np.asarray(b, dtype=object)))
        return op(a2, b2, grid_size=0.001)


def _line_gaps(res: Any, parts: np.ndarray, share: np.ndarray, rule_id: str, pop: np.ndarray) -> Any:
    """Uncovered part of each neighbourhood (straight-line measure)."""
    import geopandas as gpd

    geoms = _polys(res)
    todo = np.flatnonzero(share < 0.999999)
    if len(todo) == 0:
        return None
    has = np.array([p is not None for p in parts[todo]], dtype=bool)
    gap = geoms[todo].copy()
    if has.any():
        gap[has] = _polygonal(_overlay(shapely.difference, geoms[todo][has],
                                             np.asarray(parts[todo][has], dtype=object)))
    area = shapely.area(gap)
    keep = area > 1.0
    todo, gap, area = todo[keep], gap[keep], area[keep]
    res_area = res["area_m2"].to_numpy()
    return gpd.GeoDataFrame({"rule": rule_id, "mode": "line", "res_id": res["res_id"].to_numpy()[todo],
                             "area_m2": area, "population": pop[todo] * area / res_area[todo]},
                            geometry=list(gap), crs=res.crs)


# --- the whole measure --------------------------------------------------------------------------

def _line_nearest(geoms: np.ndarray, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Straight-line distance (m) from points to the nearest polygon boundary (0 inside) and its index."""
    if len(geoms) == 0:
        return np.full(len(xy), np.inf), np.full(len(xy), -1)
    pts = shapely.points(xy)
    (pi, gi), d = shapely.STRtree(geoms).query_nearest(pts, return_distance=True, all_matches=False)
    dist = np.full(len(xy), np.inf)
    idx = np.full(len(xy), -1)
    dist[pi], idx[pi] = d, gi
    return dist, idx


class _Clock:
    """Seconds spent in each named step of a run: wall clock (``times``) and CPU of the process (``cpu``).

    Reported in ``state["timings_s"]`` and ``state["cpu_s"]`` of a :class:`CoverageResult`.
    """

    def __init__(self) -> None:
        self.times: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self._last = (time.perf_counter(), time.process_time())

    def lap(self, step: str) -> None:
        """Charge the time since the previous lap to ``step``, s."""
        now = (time.perf_counter(), time.process_time())
        self.times[step] = self.times.get(step, 0.0) + now[0] - self._last[0]
        self.cpu[step] = self.cpu.get(step, 0.0) + now[1] - self._last[1]
        self._last = now


def _pct(num: float, den: float) -> float | None:
    return None if not den > 0 or not math.isfinite(num) else float(100.0 * num / den)


def compute_coverage(
    residential: Any,
    greenspace: Any,
    profile: str | Profile | dict | None = None,
    *,
    network: Any = None,
    entrances: Any = None,
    barriers: Any = None,
    modes: tuple[str, ...] | str = ("line", "network"),
    population_total: float | None = None,
    require_population: bool | None = None,
    cell_m: float = 25.0,
    entrance_max_m: float = 30.0,
    home_max_snap_m: float = 500.0,
    report_limit_m: float = 3000.0,
    service_area_buffer_m: float = 50.0,
    tile_m: float = 1000.0,
    node_crossings: bool = True,
) -> CoverageResult:
    """Measure green-space reach of every neighbourhood under every rule of a profile.

    Parameters
    ----------
    residential : GeoDataFrame
        Neighbourhood polygons, projected CRS (metres); optional ``population`` (persons), ``res_id``, ``name``.
    greenspace : GeoDataFrame
        Green-space polygons, same CRS; ``gs_id``, ``gs_type``, ``is_park``, ``public_access`` (see
        :func:`prepare_greenspace`). Areas (m²) are computed from the geometry.
    profile : str, Profile or dict, optional
        Rule profile (default ``cn-300-500``), see :mod:`.profiles`.
    network : GeoDataFrame or WalkNetwork, optional
        Walking network lines (any CRS: reprojected, with a note) or a built :class:`~.network.WalkNetwork`.
        Without it only the straight-line measure is made, and the summary says so.
    entrances : GeoDataFrame, optional
        Park entrance points with ``gs_id``. Green spaces without one get pseudo-entrances.
    barriers : GeoDataFrame, optional
        Rivers, railways, expressways: network segments touching them are removed (bridges kept).
    modes : "line", "network", "both" or a tuple of them
    population_total : float, optional
        Residents to spread by area when the layer has no population field.
    require_population : bool, optional
        Raise when population is unknown; default: when the profile's headline share is population.
    cell_m : float
        Home-cell size for the network measure, m.
    entrance_max_m : float
        Pseudo-entrances where a walkable edge passes within this distance of a boundary, m.
    home_max_snap_m : float
        Home points farther than this from any walkable edge are off the network (unreachable), m.
    report_limit_m : float
        Network distances beyond this are not searched (reported as empty), m.
    service_area_buffer_m : float
        Half-width of the reachable streets drawn as network service areas, m (display only).
    tile_m : float
        Tile size for exact overlays, m (a performance setting; results do not depend on it).
    node_crossings : bool
        Join network lines where they cross without a shared vertex (never bridges or tunnels);
        False keeps all such crossings apart (grade-separated data without bridge tags).

    Returns
    -------
    CoverageResult

    Raises
    ------
    InputError, CRSError, ConfigError
        Duplicate ids, zero-area parks, missing population when population shares are asked,
        geographic CRS, a network that does not reach the neighbourhoods.
    """
    import geopandas as gpd

    clock = _Clock()
    prof = load_profile(profile)
    if isinstance(modes, str):
        modes = MODES if modes == "both" else (modes,)
    modes = tuple(modes)
    bad = [m for m in modes if m not in MODES]
    if bad or not modes:
        raise ConfigError(f"mode must be line, network or both, not {', '.join(bad) or 'nothing'}")
    notes: list[str] = []
    if require_population is None:
        require_population = prof.headline_share == "population"
    res, rnotes, pop_basis = prepare_residential(residential, population_total, require_population)
    greens, gnotes = prepare_greenspace(greenspace)
    notes += rnotes + gnotes
    crs = res.crs
    if greens.crs != crs:
        notes.append(f"green spaces reprojected from {greens.crs.to_string()} to {crs.to_string()}")
        greens = greens.to_crs(crs)
    if "network" in modes and network is None:
        modes = tuple(m for m in modes if m != "network")
        notes.append("no walking network given: straight-line distances only")
        if not modes:
            raise ConfigError("network mode needs a walking network (--network lines or an .osm file)")
    res_geoms, gs_geoms = _polys(res), _polys(greens)
    n_res = len(res)
    ov_a, ov_b = _overlapping_pairs(res_geoms)
    res_union_area = float(np.sum(shapely.area(_district_geoms(res_geoms, ov_a, ov_b))))
    if len(ov_a):
        overlap = float(res["area_m2"].sum()) - res_union_area
        notes.append(f"{len(ov_a)} pair(s) of residential polygons overlap ({overlap:,.0f} m²): "
                     "the shared land is counted once in district totals")
    pop = res["population"].to_numpy(dtype=np.float64)
    has_pop = bool(np.isfinite(pop).all())
    pop_total = float(pop.sum()) if has_pop else None
    centre = shapely.get_coordinates(shapely.point_on_surface(res_geoms))
    clock.lap("inputs")

    sets: dict[str, list[GreenSet]] = {r.id: [GreenSet(r, t, qualifying_mask(greens, t)) for t in r.tiers]
                                       for r in prof.rules}
    table = res.copy()
    summary_rules: dict[str, Any] = {}
    sa_rows: list[dict] = []
    gap_frames: list[Any] = []
    state: dict[str, Any] = {"greens": greens, "residential": res, "profile": prof, "sets": sets,
                             "timings_s": clock.times, "cpu_s": clock.cpu}
    clock.lap("qualifying green spaces")

    # line measure -------------------------------------------------------------------------
    if "line" in modes:
        district_geoms = _district_geoms(res_geoms, ov_a, ov_b)
        res_area = res["area_m2"].to_numpy()
        for rule in prof.rules:
            rsets = sets[rule.id]
            any_mask = np.logical_or.reduce([s.mask for s in rsets])
            d, idx = _line_nearest(gs_geoms[any_mask], centre)
            ids = greens["gs_id"].to_numpy()[any_mask]
            table[f"{rule.id}_line_m"] = np.where(np.isfinite(d), d, np.nan)
            table[f"{rule.id}_line_nearest"] = np.where(idx >= 0, ids[np.clip(idx, 0, None)] if len(ids) else "", "")
            buffers = np.concatenate([shapely.buffer(gs_geoms[s.mask], s.tier.radius_m, quad_segs=8) for s in rsets])
            pieces = _cover_pieces(buffers, tile_m)
            covered, parts = _covered(res_geoms, pieces, with_parts=True)
            share = np.clip(covered / res_area, 0.0, 1.0)
            table[f"{rule.id}_line_share"] = share
            table[f"{rule.id}_line_pop"] = share * pop
            district_cov = float(_covered(district_geoms, pieces)[0].sum())
            covered_pop = float(np.sum(share * pop)) if has_pop else None
            summary_rules.setdefault(rule.id, {"label": rule.label, "radius_m": [t.radius_m for t in rule.tiers],
                                               "official_mode": rule.official_mode, "verified": rule.verified,
                                               "qualifying_green_spaces": int(any_mask.sum())})
            summary_rules[rule.id]["line"] = {
                "area_covered_pct": _pct(district_cov, res_union_area),
                "population_covered_pct": _pct(covered_pop, pop_total) if has_pop else None,
                "covered_area_m2": district_cov, "residential_area_m2": res_union_area,
                "covered_population": covered_pop, "population": pop_total,
                "neighbourhoods_fully_covered": int((share >= 0.999).sum()),
                "neighbourhoods_not_covered": int((share <= 0.001).sum()),
                "measure": "straight line from the green-space boundary",
            }
            cover = _merge_pieces(pieces)
            sa_rows.append({"rule": rule.id, "mode": "line", "radius_m": rule.radius_text, "label": rule.label,
                            "area_m2": float(cover.area), "geometry": cover})
            gap_frames.append(_line_gaps(res, parts, share, rule.id, pop))

    # network measure ------------------------------------------------------------------------
    entr_gdf = None
    unreach_gdf = None
    clock.lap("line measure")
    homes = state["homes"] = None
    state["cell_m"] = float(cell_m)
    if "network" in modes:
        # a second thread runs independent steps beside the main one (GEOS and NumPy release the GIL)
        with ThreadPoolExecutor(max_workers=1) as pool:
            net_notes: list[str] = []
            net_job = pool.submit(_network, network, crs, barriers, node_crossings, net_notes)
            homes = state["homes"] = home_cells(res, cell_m)
            clock.lap("home cells (beside the network graph)")
            net = net_job.result()
            notes += net_notes
            state["net"] = net
            net.tree()  # built once, before two threads query it
            clock.lap("network graph")
            any_green = np.logical_or.reduce([s.mask for v in sets.values() for s in v])
            ent_notes: list[str] = []
            ent_job = pool.submit(_entrances_snapped, greens, any_green, entrances, net, entrance_max_m, crs, ent_notes)
            hs = nw.snap_points(net, homes.xy, home_max_snap_m)
            on_net_area = float(np.sum(homes.district_area_m2[hs.ok]))
            if not hs.ok.any() or on_net_area < 0.5 * float(np.sum(homes.district_area_m2)):
                xy_net = net.node_xy
                sample = shapely.points(xy_net[:: max(1, len(xy_net) // 50_000)])
                gap_m = float(np.min(shapely.STRtree(res_geoms).query_nearest(sample, return_distance=True)[1]))
                raise InputError(
                    f"the walking network does not reach the neighbourhoods: only "
                    f"{100 * on_net_area / max(np.sum(homes.district_area_m2), 1e-9):.0f} % of the residential land lies "
                    f"within {home_max_snap_m:g} m of a walkable street (nearest network vertex {gap_m:,.0f} m from "
                    "the residential land) — wrong file, wrong CRS, or a network of another area?")
            if (~hs.ok).any():
                notes.append(f"{int((~hs.ok).sum())} home point(s) ({np.sum(homes.population[~hs.ok]) if has_pop else 0:,.0f} "
                             f"residents) lie more than {home_max_snap_m:g} m from any walkable street: unreachable")
            cs = nw.snap_points(net, centre, home_max_snap_m)
            clock.lap("homes snapped (beside the entrances)")
            owner, exy, ekind, es = ent_job.result()
            notes += ent_notes
            clock.lap("entrances")
            graph = nw.attach_points(net, [hs, cs], [es])
            home_loc, centre_loc = graph.targets
            ent_leaves = graph.sources[0]
            state.update(graph=graph, home_snap=hs, home_loc=home_loc, entrance_owner=owner, entrance_leaves=ent_leaves)
            from scipy.sparse.csgraph import connected_components

            _, comp = connected_components(graph.csr, directed=False)
            ent_owner_gid = greens["gs_id"].to_numpy()[owner]
            entr_gdf = gpd.GeoDataFrame({"gs_id": ent_owner_gid, "kind": ekind, "snap_m": es.offset_m,
                                         "used": es.ok}, geometry=shapely.points(exy), crs=crs)
            leaf_owner = np.full(graph.csr.shape[0], -1, dtype=np.int64)
            leaf_owner[ent_leaves[ent_leaves >= 0]] = owner[ent_leaves >= 0]
            clock.lap("graph split at entrances")
            unreach_cols: dict[str, np.ndarray] = {}
            for rule in prof.rules:
                rsets = sets[rule.id]
                any_mask = np.logical_or.reduce([s.mask for s in rsets])
                src_all = ent_leaves[any_mask[owner] & (ent_leaves >= 0)]
                limit = max(report_limit_m, rule.max_radius_m)
                dist, nearest = nw.multi_source(graph, src_all, limit)
                covered_home = np.zeros(len(homes), dtype=bool)
                tier_dist = [dist if len(rsets) == 1 else
                             nw.multi_source(graph, ent_leaves[s.mask[owner] & (ent_leaves >= 0)], s.tier.radius_m)[0]
                             for s in rsets]
                for s, dt in zip(rsets, tier_dist):
                    covered_home |= home_loc.dist(dt) <= s.tier.radius_m
                dc = centre_loc.dist(dist)
                via = centre_loc.via(dist)
                near_park = np.where((via >= 0) & np.isfinite(dc),
                                     leaf_owner[np.clip(nearest[np.clip(via, 0, None)], 0, None)], -1)
                table[f"{rule.id}_net_m"] = np.where(np.isfinite(dc) & (dc <= limit), dc, np.nan)
                table[f"{rule.id}_net_nearest"] = np.where(near_park >= 0, greens["gs_id"].to_numpy()[np.clip(near_park, 0, None)], "")
                area_cov = np.bincount(homes.res, weights=homes.area_m2 * covered_home, minlength=n_res)
                area_all = np.bincount(homes.res, weights=homes.area_m2, minlength=n_res)
                share = np.clip(np.divide(area_cov, area_all, out=np.zeros(n_res), where=area_all > 0), 0, 1)
                table[f"{rule.id}_net_share"] = share
                table[f"{rule.id}_net_pop"] = share * pop
                src_comp = np.unique(comp[src_all]) if len(src_all) else np.zeros(0, dtype=np.int64)
                reach = home_loc.ok & np.isin(comp[np.clip(home_loc.a, 0, None)], src_comp)
                unreach_cols[rule.id] = ~reach
                d_cov = float(np.sum(homes.district_area_m2 * covered_home))
                d_all = float(np.sum(homes.district_area_m2))
                covered_pop = float(np.sum(share * pop)) if has_pop else None
                summary_rules.setdefault(rule.id, {"label": rule.label, "radius_m": [t.radius_m for t in rule.tiers],
                                                   "official_mode": rule.official_mode, "verified": rule.verified,
                                                   "qualifying_green_spaces": int(any_mask.sum())})
                summary_rules[rule.id]["network"] = {
                    "area_covered_pct": _pct(d_cov, d_all),
                    "population_covered_pct": _pct(covered_pop, pop_total) if has_pop else None,
                    "covered_area_m2": d_cov, "residential_area_m2": d_all,
                    "covered_population": covered_pop, "population": pop_total,
                    "neighbourhoods_fully_covered": int((share >= 0.999).sum()),
                    "neighbourhoods_not_covered": int((share <= 0.001).sum()),
                    "unreachable_home_points": int((~reach).sum()),
                    "unreachable_population": float(np.sum(homes.population[~reach])) if has_pop else None,
                    "unreachable_area_m2": float(np.sum(homes.district_area_m2[~reach])),
                    "entrances_used": int(len(np.unique(src_all))),
                    "measure": f"walking distance from park entrances to home points ({cell_m:g} m cells)",
                }
                sa_geoms = []
                for s, dt in zip(rsets, tier_dist):
                    pieces = nw.reachable_segments(graph, dt, s.tier.radius_m)
                    if len(pieces):
                        sa_geoms.append(pieces)
                clock.lap("distances and shares")
                sa_job = pool.submit(nw.service_area_polygon, np.concatenate(sa_geoms), service_area_buffer_m) \
                    if sa_geoms else None
                sa_rows.append({"rule": rule.id, "mode": "network", "radius_m": rule.radius_text, "label": rule.label,
                                "area_m2": None, "geometry": sa_job})
                gap_frames.append(_gap_from_homes(homes, ~covered_home, res, rule.id, "network", crs))
                clock.lap("gaps (beside the service areas)")
            for row in sa_rows:
                if row["mode"] == "network":
                    sa = row["geometry"].result() if row["geometry"] is not None else shapely.Polygon()
                    row.update(geometry=sa, area_m2=float(sa.area))
            clock.lap("service areas")
            net_comp = net.components()
            n_comp = int(len(np.unique(net_comp)))
            any_unreach = np.logical_or.reduce(list(unreach_cols.values()))
            if any_unreach.any():
                unreach_gdf = gpd.GeoDataFrame(
                    {"res_id": res["res_id"].to_numpy()[homes.res[any_unreach]],
                     "off_network": ~home_loc.ok[any_unreach],
                     "population": homes.population[any_unreach],
                     **{f"unreachable_{k}": v[any_unreach] for k, v in unreach_cols.items()}},
                    geometry=shapely.points(homes.xy[any_unreach]), crs=crs)
            state["network_summary"] = {
                "nodes": int(net.n_nodes), "edges": int(net.n_edges), "components": n_comp,
                "length_km": float(net.edge_len_m.sum() / 1000.0),
                "entrances_given": int(np.sum(ekind == "given")), "entrances_pseudo": int(np.sum(ekind == "pseudo")),
                "green_spaces_without_entrance": int(np.sum(any_green & ~np.isin(np.arange(len(greens)), owner[es.ok]))),
                "home_points": int(len(homes)), "home_points_off_network": int((~hs.ok).sum()),
                "cell_m": float(cell_m), "entrance_max_m": float(entrance_max_m),
                "notes": list(net.notes),
            }

    table = _status(table, prof, modes)
    summary = {
        "profile": prof.describe(),
        "modes": list(modes),
        "units": "distances m, areas m², shares %, population persons",
        "neighbourhoods": n_res,
        "residential_area_m2": res_union_area,
        "population": pop_total,
        "population_basis": pop_basis,
        "rules": summary_rules,
        "notes": notes,
    }
    if "network_summary" in state:
        summary["network"] = state["network_summary"]
    sa_gdf = gpd.GeoDataFrame(sa_rows, geometry="geometry", crs=crs) if sa_rows else \
        gpd.GeoDataFrame({"rule": [], "mode": []}, geometry=[], crs=crs)
    gap_frames = [g for g in gap_frames if g is not None and len(g)]
    gaps_gdf = pd.concat(gap_frames, ignore_index=True) if gap_frames else \
        gpd.GeoDataFrame({"rule": [], "mode": [], "res_id": [], "area_m2": [], "population": []}, geometry=[], crs=crs)
    gaps_gdf = gpd.GeoDataFrame(gaps_gdf, geometry="geometry", crs=crs)
    clock.lap("tables")
    return CoverageResult(table, summary, sa_gdf, gaps_gdf, entr_gdf, unreach_gdf, homes, state)


def _network(network: Any, crs: Any, barriers: Any, node_crossings: bool, notes: list[str]) -> nw.WalkNetwork:
    if isinstance(network, nw.WalkNetwork):
        return network
    if network.crs is None:
        raise CRSError("the walking network has no CRS")
    lines = network
    if lines.crs != crs:
        notes.append(f"network reprojected from {lines.crs.to_string()} to {crs.to_string()}")
        lines = lines.to_crs(crs)
    lines = lines[~(lines.geometry.isna() | lines.geometry.is_empty)]
    fam = set(lines.geom_type.unique())
    if not fam <= {"LineString", "MultiLineString", "LinearRing"}:
        raise InputError(f"the walking network must be lines; it has {', '.join(sorted(fam))}")
    walk = nw.walkable_mask(lines)
    if (~walk).any():
        notes.append(f"{int((~walk).sum())} network feature(s) not walkable (motorways, expressways, foot=no) left out")
    lines = lines[walk]
    if len(lines) == 0:
        raise InputError("the walking network has no walkable lines")
    bar = None
    if barriers is not None:
        if barriers.crs is None:
            raise CRSError("the barrier layer has no CRS")
        bar = barriers.to_crs(crs) if barriers.crs != crs else barriers
    return nw.build_network(lines, barriers=bar, node_crossings=node_crossings)


def _entrances(greens: Any, wanted: np.ndarray, entrances: Any, net: nw.WalkNetwork, max_m: float, crs: Any,
               notes: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Owner (green index), xy and kind of every entrance: given points, then pseudo-entrances."""
    ids = greens["gs_id"].to_numpy()
    owner_g = np.zeros(0, dtype=np.int64)
    xy_g = np.zeros((0, 2))
    if entrances is not None and len(entrances):
        ent = entrances.to_crs(crs) if entrances.crs is not None and entrances.crs != crs else entrances
        if "gs_id" not in ent.columns:
            raise InputError("the entrance layer needs a gs_id field naming the park of each entrance")
        ent = ent[~(ent.geometry.isna() | ent.geometry.is_empty)]
        pos = pd.Series(np.arange(len(ids)), index=ids)
        gid = ent["gs_id"].astype(str).str.strip()
        known = gid.isin(pos.index).to_numpy()
        if (~known).any():
            notes.append(f"{int((~known).sum())} entrance(s) name a gs_id not in the green-space layer and are ignored")
        owner_g = pos.reindex(gid[known]).to_numpy().astype(np.int64)
        xy_g = shapely.get_coordinates(shapely.point_on_surface(ent.geometry.values[known]))
    have = np.zeros(len(greens), dtype=bool)
    have[owner_g] = True
    need = np.flatnonzero(wanted & ~have)
    own_p, xy_p = nw.pseudo_entrances(_polys(greens)[need], net, max_dist_m=max_m)
    own_p = need[own_p]
    if len(need):
        missing = len(np.setdiff1d(need, own_p))
        msg = f"{len(np.unique(own_p))} green space(s) got pseudo-entrances where a walkable edge passes within {max_m:g} m"
        if missing:
            msg += f"; {missing} have no walkable edge that close and are unreachable by the network"
        notes.append(msg)
    owner = np.concatenate([owner_g, own_p])
    xy = np.concatenate([xy_g, xy_p])
    kind = np.array(["given"] * len(owner_g) + ["pseudo"] * len(own_p))
    return owner, xy, kind


def _union_groups(pieces: np.ndarray, group: np.ndarray) -> np.ndarray:
    """One polygon per group of pieces (``group`` numbers 0 … k−1), all groups in one vectorised call.

    The pieces of a group are home cells of one neighbourhood and do not overlap, so a coverage
    union suffices; where their edges do not meet exactly (cells clipped from curved or slanted
    outlines), a full union is made instead.
    """
    if len(pieces) == 0:
        return np.zeros(0, dtype=object)
    bags = shapely.geometrycollections(pieces, indices=group)
    try:
        return np.asarray(shapely.lib.coverage_union(bags), dtype=object)
    except shapely.errors.GEOSException:
        return np.asarray(shapely.lib.unary_union(bags), dtype=object)


def _entrances_snapped(greens: Any, wanted: np.ndarray, entrances: Any, net: nw.WalkNetwork, max_m: float, crs: Any,
                       notes: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, nw.Snapped]:
    """:func:`_entrances`, and the entrances snapped to the network (given ones up to 100 m away)."""
    owner, xy, kind = _entrances(greens, wanted, entrances, net, max_m, crs, notes)
    es = nw.snap_points(net, xy, max(max_m, 100.0))
    if (~es.ok).any():
        notes.append(f"{int((~es.ok).sum())} given entrance(s) lie more than 100 m from the network and are not used")
    return owner, xy, kind, es


def _gap_from_homes(homes: Homes, uncovered: np.ndarray, res: Any, rule_id: str, mode: str, crs: Any) -> Any:
    """Uncovered land per neighbourhood from home cells: whole neighbourhoods as they are, partial ones dissolved."""
    import geopandas as gpd

    if not uncovered.any():
        return None
    n = len(res)
    n_all = np.bincount(homes.res, minlength=n)
    n_unc = np.bincount(homes.res[uncovered], minlength=n)
    area = np.bincount(homes.res[uncovered], weights=homes.area_m2[uncovered], minlength=n)
    people = np.bincount(homes.res[uncovered], weights=np.nan_to_num(homes.population[uncovered]), minlength=n)
    full = (n_unc == n_all) & (n_all > 0)
    partial = (n_unc > 0) & ~full
    ids = res["res_id"].to_numpy()
    frames = []
    if full.any():
        frames.append(gpd.GeoDataFrame({"res_id": ids[full]}, geometry=list(_polys(res)[full]), crs=crs))
    if partial.any():
        sel = uncovered & partial[homes.res]
        which, group = np.unique(homes.res[sel], return_inverse=True)
        # (∪ cells) ∩ neighbourhood = ∪ (cell ∩ neighbourhood): whole cells merge exactly along the grid
        b = shapely.bounds(homes.pieces[sel])
        ix = np.floor((b[:, 0] + b[:, 2]) / (2 * homes.cell_m))
        iy = np.floor((b[:, 1] + b[:, 3]) / (2 * homes.cell_m))
        cells = shapely.box(ix * homes.cell_m, iy * homes.cell_m, (ix + 1) * homes.cell_m, (iy + 1) * homes.cell_m)
        merged = _polygonal(_overlay(shapely.intersection, _union_groups(cells, group.ravel()), _polys(res)[which]))
        order = np.argsort(ids[which], kind="stable")  # by res_id, as a dissolve would list them
        frames.append(gpd.GeoDataFrame({"res_id": ids[which][order]}, geometry=merged[order], crs=crs))
    out = pd.concat(frames, ignore_index=True)
    pos = pd.Series(np.arange(n), index=ids).reindex(out["res_id"]).to_numpy()
    has_pop = bool(np.isfinite(homes.population).all())
    out.insert(0, "rule", rule_id)
    out.insert(1, "mode", mode)
    out["area_m2"] = area[pos]
    out["population"] = people[pos] if has_pop else np.nan
    return gpd.GeoDataFrame(out, geometry="geometry", crs=crs)


def _status(table: Any, prof: Profile, modes: tuple[str, ...]) -> Any:
    """Per neighbourhood and mode: which rules its land mostly meets (covered share ≥ 50 %)."""
    short = {"line": "line", "network": "net"}
    for mode in modes:
        met = np.stack([table[f"{r.id}_{short[mode]}_share"].to_numpy() >= 0.5 for r in prof.rules], axis=1)
        n = met.sum(axis=1)
        table[f"status_{mode}"] = np.where(n == len(prof.rules), "all met", np.where(n == 0, "none met", "partly met"))
        listed = np.full(len(table), "", dtype=object)
        for k, r in enumerate(prof.rules):  # "rule_a, rule_b" of the rules met, in the profile's order
            listed = np.where(met[:, k], np.where(listed == "", r.id, listed + ", " + r.id), listed)
        table[f"rules_met_{mode}"] = listed
    return table
