"""Where to add pocket parks: the maximal covering location problem (MCLP) on the coverage gaps.

From candidate sites — parcels the planner gives, or points generated on open land near the gaps
— choose ``k`` new parks that together bring the most residents (home points not yet covered)
within the rule's distance (Church & ReVelle 1974):

    maximise Σ_i w_i y_i   subject to   y_i ≤ Σ_{j covers i} x_j,   Σ_j x_j = k,   x_j ∈ {0, 1},  0 ≤ y_i ≤ 1

solved with PuLP's bundled CBC (home points with the same covering sites are merged first, which
keeps the model small), with a time limit; the greedy heuristic (add the site with the largest
marginal gain, k times) is the fallback when PuLP is missing or CBC fails, and the better of the
two is kept. spopt's ``MCLP.from_cost_matrix`` builds the same model; kunsink formulates it
directly on a sparse coverage matrix instead of spopt's dense cost matrix.

Pure analysis on the objects of :func:`kunsink.greenspace.coverage.compute_coverage`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely

from ..errors import ConfigError, InputError
from . import network as nw
from .coverage import CoverageResult, _line_nearest, _polys
from .profiles import Rule, Tier

__all__ = ["SitingResult", "generate_candidates", "coverage_pairs", "solve_mclp", "greedy_mclp", "choose_sites"]

#: CLCD land-cover codes counted as open land for generated candidates (cropland, forest, shrub, grassland, barren).
OPEN_LAND_CODES: tuple[int, ...] = (1, 2, 3, 4, 7)


@dataclass
class SitingResult:
    """Chosen sites and what they bring.

    Attributes
    ----------
    sites : GeoDataFrame
        The ``k`` chosen sites in order of marginal gain: ``site_id``, ``rank``, ``gain`` (newly covered
        residents, or m² of residential land without population, attributed in greedy order — the
        gains add up to the total), ``standalone_gain`` (if it were the only new site), ``area_m2``.
    candidates : GeoDataFrame
        Every candidate with its standalone gain and ``chosen``.
    summary : dict
    """

    sites: Any
    candidates: Any
    summary: dict[str, Any]
    notes: list[str] = field(default_factory=list)


def _tier_for(rule: Rule, area_m2: float) -> Tier | None:
    fits = [t for t in rule.tiers if area_m2 >= t.min_area_m2 and (t.max_area_m2 is None or area_m2 < t.max_area_m2)]
    return max(fits, key=lambda t: t.radius_m) if fits else None


def generate_candidates(coverage: CoverageResult, rule_id: str, mode: str = "line", *, spacing_m: float = 100.0,
                        landcover: Any = None, open_codes: tuple[int, ...] = OPEN_LAND_CODES,
                        within_m: float | None = None) -> tuple[Any, list[str]]:
    """Candidate points on open land near the coverage gaps of one rule.

    Points on a ``spacing_m`` grid within ``within_m`` (default the rule's largest radius) of the
    gap polygons, outside residential polygons and green spaces, and — when a land-cover raster
    is given — on open land (``open_codes``: not built, not water).

    Returns
    -------
    (GeoDataFrame of points, notes)
    """
    import geopandas as gpd

    notes: list[str] = []
    prof = coverage.state["profile"]
    rule = prof.rule(rule_id)
    gaps = coverage.gaps
    gaps = gaps[(gaps["rule"] == rule_id) & (gaps["mode"] == mode)]
    crs = coverage.neighbourhoods.crs
    if gaps.empty:
        return gpd.GeoDataFrame({"cand_id": []}, geometry=[], crs=crs), ["no gaps: every neighbourhood is covered"]
    reach = rule.max_radius_m if within_m is None else within_m
    region = shapely.buffer(shapely.union_all(np.asarray(gaps.geometry.values, dtype=object)), reach, quad_segs=4)
    x0, y0, x1, y1 = region.bounds
    xs = np.arange(math.floor(x0 / spacing_m), math.ceil(x1 / spacing_m) + 1) * spacing_m
    ys = np.arange(math.floor(y0 / spacing_m), math.ceil(y1 / spacing_m) + 1) * spacing_m
    gx, gy = np.meshgrid(xs, ys)
    pts = shapely.points(gx.ravel(), gy.ravel())
    shapely.prepare(region)
    pts = pts[shapely.contains(region, pts)]
    blocked = np.concatenate([_polys(coverage.state["residential"]), _polys(coverage.state["greens"])])
    hit, _ = shapely.STRtree(blocked).query(pts, predicate="intersects")
    keep = np.ones(len(pts), dtype=bool)
    keep[hit] = False
    pts = pts[keep]
    codes = None
    if landcover is not None and len(pts):
        import xarray as xr

        lc = landcover
        xy = shapely.get_coordinates(gpd.GeoSeries(pts, crs=crs).to_crs(lc.rio.crs).values)
        codes = np.asarray(lc.sel(x=xr.DataArray(xy[:, 0], dims="p"), y=xr.DataArray(xy[:, 1], dims="p"),
                                  method="nearest").values)
        ok = np.isin(codes, open_codes)
        notes.append(f"{int(ok.sum())} of {len(pts)} grid point(s) near the gaps are open land "
                     f"(land-cover codes {list(open_codes)})")
        pts, codes = pts[ok], codes[ok]
    elif len(pts):
        notes.append("no land-cover raster: candidate points are any land outside neighbourhoods and green spaces "
                     "(land use not checked — give --landcover or your own --candidates parcels)")
    out = gpd.GeoDataFrame({"cand_id": [f"C{i + 1:05d}" for i in range(len(pts))]}, geometry=pts, crs=crs)
    if codes is not None:
        out["landcover_code"] = codes.astype(int)
    out["origin"] = "generated"
    return out, notes


def coverage_pairs(coverage: CoverageResult, sites: np.ndarray, radius_m: float, mode: str, demand: np.ndarray,
                   entrance_max_m: float = 30.0) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(site, home) pairs where a new park on the site would bring the home within ``radius_m``.

    ``line``: distance from the home point to the site polygon; ``network``: walking distance from the
    site's pseudo-entrances, all sites searched in batched multi-source Dijkstra runs.

    Returns
    -------
    site_index, home_index : ndarray of int64
        Positions in ``sites`` and in the coverage's home points (only ``demand`` homes).
    notes : list of str
    """
    homes = coverage.homes
    notes: list[str] = []
    dem = np.flatnonzero(demand)
    if len(dem) == 0 or len(sites) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), notes
    if mode == "line":
        site_i, home_j = shapely.STRtree(shapely.points(homes.xy[dem])).query(sites, predicate="dwithin",
                                                                             distance=radius_m)
        return site_i.astype(np.int64), dem[home_j].astype(np.int64), notes
    net = coverage.state.get("net")
    if net is None:
        raise ConfigError("network siting needs a coverage run with a walking network")
    owner, exy = nw.pseudo_entrances(sites, net, max_dist_m=entrance_max_m)
    without = len(sites) - len(np.unique(owner))
    if without:
        notes.append(f"{without} candidate site(s) have no walkable street within {entrance_max_m:g} m: "
                     "they cannot serve anyone by the network")
    es = nw.snap_points(net, exy, entrance_max_m + 1.0)
    graph = nw.attach_points(net, [coverage.state["home_snap"]], [es])
    wanted = np.zeros(len(homes), dtype=bool)
    wanted[dem] = True
    src_i, tgt_i, _ = nw.source_matrix(graph, graph.sources[0], graph.targets[0], radius_m, wanted)
    site_i = owner[src_i]
    n = len(homes) + 1
    key = np.unique(site_i * n + tgt_i)
    return (key // n).astype(np.int64), (key % n).astype(np.int64), notes


def greedy_mclp(A: Any, w: np.ndarray, k: int) -> list[int]:
    """Greedy MCLP: k times, the site (column of A) adding the most uncovered weight."""
    chosen: list[int] = []
    left = w.astype(np.float64).copy()
    At = A.T.tocsr()
    for _ in range(min(k, A.shape[1])):
        gain = At @ left
        if chosen:
            gain[chosen] = -1.0
        j = int(np.argmax(gain))
        if gain[j] <= 0:
            break
        chosen.append(j)
        left[A[:, j].nonzero()[0]] = 0.0
    return chosen


def solve_mclp(A: Any, w: np.ndarray, k: int, time_limit_s: float = 60.0) -> tuple[list[int], str]:
    """Exact MCLP with PuLP/CBC on a sparse coverage matrix (demand rows × site columns).

    Rows with identical covering sets are merged (weights summed) before the model is built.

    Returns
    -------
    (chosen column indices, status text)
    """
    import pulp

    A = A.tocsr()
    n_d, n_s = A.shape
    # merge demand rows covered by the same set of sites (random 64-bit hashing of the column sets)
    rng = np.random.default_rng(12345)
    h1, h2 = rng.integers(1, 2**62, n_s, dtype=np.int64), rng.integers(1, 2**62, n_s, dtype=np.int64)
    rows = np.repeat(np.arange(n_d), np.diff(A.indptr))
    k1 = np.bincount(rows, weights=None, minlength=n_d)  # counts, part of the key
    s1 = np.zeros(n_d, dtype=np.int64)
    s2 = np.zeros(n_d, dtype=np.int64)
    with np.errstate(over="ignore"):
        np.add.at(s1, rows, h1[A.indices])
        np.add.at(s2, rows, h2[A.indices])
    keys = np.stack([k1.astype(np.int64), s1, s2], axis=1)
    _, first, inv = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    inv = inv.ravel()
    gw = np.bincount(inv, weights=w, minlength=len(first))
    G = A[first]
    prob = pulp.LpProblem("mclp", pulp.LpMaximize)
    x = [pulp.LpVariable(f"x{j}", cat="Binary") for j in range(n_s)]
    y = [pulp.LpVariable(f"y{g}", lowBound=0, upBound=1) for g in range(len(first))]
    prob += pulp.lpSum(float(gw[g]) * y[g] for g in range(len(first)))
    for g in range(len(first)):
        cols = G.indices[G.indptr[g]:G.indptr[g + 1]]
        prob += y[g] <= pulp.lpSum(x[int(j)] for j in cols)
    prob += pulp.lpSum(x) == min(k, n_s)
    status = prob.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit_s))
    chosen = [j for j in range(n_s) if (x[j].value() or 0) > 0.5]
    text = pulp.LpStatus.get(status, str(status))
    sol = pulp.LpSolution.get(prob.sol_status, "") if hasattr(prob, "sol_status") else ""
    return chosen, f"{text}{' (' + sol + ')' if sol and sol != text else ''}"


def _attribute(A: Any, w: np.ndarray, chosen: list[int]) -> tuple[list[int], list[float]]:
    """Order chosen sites by marginal gain (greedy within the set); return order and gains (sum = total)."""
    order, gains = [], []
    left = w.astype(np.float64).copy()
    rest = list(chosen)
    At = A.T.tocsr()
    while rest:
        g = np.array([At[j] @ left for j in rest]).ravel()
        i = int(np.argmax(g))
        j = rest.pop(i)
        order.append(j)
        gains.append(float(g[i]))
        left[A[:, j].nonzero()[0]] = 0.0
    return order, gains


def choose_sites(
    coverage: CoverageResult,
    k: int,
    *,
    rule: str | None = None,
    mode: str | None = None,
    candidates: Any = None,
    site_area_m2: float = 2000.0,
    landcover: Any = None,
    spacing_m: float = 100.0,
    method: str = "mclp",
    time_limit_s: float = 60.0,
    entrance_max_m: float = 30.0,
) -> SitingResult:
    """Choose ``k`` new parks that cover the most residents not yet covered.

    Parameters
    ----------
    coverage : CoverageResult
        From :func:`kunsink.greenspace.coverage.compute_coverage` (with the network for ``mode="network"``).
    k : int
        Number of new parks.
    rule : str, optional
        Rule id to close gaps of (default the profile's first rule, e.g. ``green_300``).
    mode : {"line", "network"}, optional
        Distance measure (default the rule's official mode, if it was measured).
    candidates : GeoDataFrame, optional
        Candidate parcels (polygons, their own area) or points (a disc of ``site_area_m2``); default
        generated by :func:`generate_candidates`.
    site_area_m2 : float
        Area of a new pocket park on a point candidate, m² (must qualify under the rule).
    landcover : xarray.DataArray, optional
        To keep generated candidates on open land.
    method : {"mclp", "greedy"}
    time_limit_s : float
        CBC time limit, s; the best solution found is used (and compared with greedy).

    Returns
    -------
    SitingResult
    """
    import geopandas as gpd

    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ConfigError(f"k must be a whole number ≥ 1, not {k!r}")
    if method not in ("mclp", "greedy"):
        raise ConfigError(f"method must be mclp or greedy, not {method!r}")
    prof = coverage.state["profile"]
    r = prof.rule(rule) if rule else prof.rules[0]
    measured = coverage.summary["modes"]
    if mode is None:
        mode = r.official_mode if r.official_mode in measured else measured[0]
    if mode not in measured:
        raise ConfigError(f"mode {mode!r} was not measured in this coverage run ({', '.join(measured)})")
    notes: list[str] = []
    crs = coverage.neighbourhoods.crs
    if coverage.homes is None:  # a straight-line run: cut the residential land into home points now
        from .coverage import home_cells

        coverage.homes = home_cells(coverage.state["residential"], coverage.state.get("cell_m", 25.0))
        coverage.state["homes"] = coverage.homes
    homes = coverage.homes
    greens = coverage.state["greens"]
    # homes not yet covered under the rule
    covered = np.zeros(len(homes), dtype=bool)
    for s in coverage.state["sets"][r.id]:
        if mode == "line":
            d, _ = _line_nearest(_polys(greens)[s.mask], homes.xy)
        else:
            d = _network_home_dist(coverage, s.mask, s.tier.radius_m)
        covered |= d <= s.tier.radius_m
    has_pop = bool(np.isfinite(homes.population).all())
    w = homes.population if has_pop else homes.district_area_m2
    unit = "residents" if has_pop else "m² of residential land"
    if not has_pop:
        notes.append("no population: sites chosen for the most residential land newly covered (m²)")
    demand = ~covered & (w > 0)
    # candidates
    if candidates is None:
        cand, cnotes = generate_candidates(coverage, r.id, mode, spacing_m=spacing_m, landcover=landcover)
        notes += cnotes
    else:
        cand = candidates.copy()
        if cand.crs is None:
            raise InputError("the candidate layer has no CRS")
        if cand.crs != crs:
            cand = cand.to_crs(crs)
        cand = cand[~(cand.geometry.isna() | cand.geometry.is_empty)].reset_index(drop=True)
        if "cand_id" not in cand.columns:
            idc = next((c for c in ("site_id", "id", "编号", "name") if c in cand.columns), None)
            cand["cand_id"] = cand[idc].astype(str) if idc else [f"C{i + 1:05d}" for i in range(len(cand))]
        # the parcels' own columns keep their values under another name where the result uses the name
        clash = {c: f"{c}_given" for c in cand.columns if c in _RESULT_COLUMNS and c != cand.geometry.name}
        cand = cand.rename(columns=clash)
        if cand["cand_id"].duplicated().any():
            raise InputError(f"candidate ids used more than once: {', '.join(cand.loc[cand['cand_id'].duplicated(), 'cand_id'].astype(str).head(5))}")
        cand["origin"] = "given"
    if len(cand) == 0:
        raise InputError("no candidate sites: give parcels with --candidates, or a land-cover raster with open land "
                         "near the gaps")
    geoms = np.asarray(cand.geometry.values, dtype=object)
    is_point = np.isin(shapely.get_type_id(geoms), (0, 4))
    n_sides = 32  # buffer(quad_segs=8): a 32-gon with exactly site_area_m2
    radius_disc = math.sqrt(2.0 * site_area_m2 / (n_sides * math.sin(2.0 * math.pi / n_sides)))
    sites = np.where(is_point, shapely.buffer(geoms, radius_disc, quad_segs=8), geoms)
    area = shapely.area(sites)
    tiers = [_tier_for(r, a) for a in area]
    ok = np.array([t is not None for t in tiers])
    if not ok.any():
        need = ", ".join(f"{t.min_area_m2:g}" + (f"–{t.max_area_m2:g}" if t.max_area_m2 else "+") for t in r.tiers)
        raise ConfigError(f"no candidate site qualifies under rule {r.id}: sites of {site_area_m2:g} m² (or the "
                          f"parcels given) are outside the rule's area range ({need} m²); change --site-area-m2")
    if (~ok).any():
        notes.append(f"{int((~ok).sum())} candidate parcel(s) too small or too large for rule {r.id} left out")
    pairs_s, pairs_h = [], []
    for t in {t for t in tiers if t is not None}:
        idx = np.flatnonzero([tt is t for tt in tiers])
        si, hi, pn = coverage_pairs(coverage, sites[idx], t.radius_m, mode, demand, entrance_max_m)
        notes += pn
        pairs_s.append(idx[si])
        pairs_h.append(hi)
    ps, ph = np.concatenate(pairs_s), np.concatenate(pairs_h)
    from scipy.sparse import csr_matrix

    dem_idx = np.flatnonzero(demand)
    pos = np.full(len(homes), -1, dtype=np.int64)
    pos[dem_idx] = np.arange(len(dem_idx))
    A = csr_matrix((np.ones(len(ps)), (pos[ph], ps)), shape=(len(dem_idx), len(sites)))
    A.data[:] = 1.0
    A.sum_duplicates()
    A.data[:] = 1.0
    wd = w[dem_idx]
    standalone = np.asarray(A.T @ wd).ravel()
    useful = np.flatnonzero(standalone > 0)
    solver = "greedy"
    status = ""
    greedy_cols = greedy_mclp(A[:, useful], wd, int(k))
    chosen = [int(useful[j]) for j in greedy_cols]
    if method == "mclp" and len(useful):
        try:
            cols, status = solve_mclp(A[:, useful], wd, int(k), time_limit_s)
            exact = [int(useful[j]) for j in cols]
            value = _value(A, wd, exact)
            if exact and value >= _value(A, wd, chosen) - 1e-9:
                chosen, solver = exact, "mclp (PuLP/CBC)"
            else:
                notes.append(f"CBC returned {status} with a worse solution than greedy; greedy kept")
        except ImportError:
            notes.append("PuLP is not installed: greedy heuristic used (pip install pulp for the exact MCLP)")
        except Exception as exc:  # solver failures: keep the greedy answer
            notes.append(f"CBC failed ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); "
                         "greedy heuristic used")
    if len(chosen) < k:
        notes.append(f"only {len(chosen)} site(s) add coverage; fewer than k = {k} chosen")
    order, gains = _attribute(A, wd, chosen)
    cand = cand.copy()
    cand["area_m2"] = area
    cand["radius_m"] = [t.radius_m if t is not None else np.nan for t in tiers]
    cand["standalone_gain"] = standalone
    cand["chosen"] = False
    cand.loc[order, "chosen"] = True
    site_rows = cand.iloc[order].copy()
    site_rows.insert(0, "rank", np.arange(1, len(order) + 1))
    site_rows["gain"] = gains
    site_rows["cumulative_gain"] = np.cumsum(gains)
    sites_gdf = gpd.GeoDataFrame(site_rows.drop(columns="geometry"), geometry=list(sites[order]), crs=crs)
    sites_gdf = sites_gdf.rename(columns={"cand_id": "site_id"})
    sites_gdf["rule"] = r.id
    sites_gdf["mode"] = mode
    total = float(np.sum(gains))
    base = coverage.summary["rules"][r.id][mode]
    pop_total = float(np.sum(w))
    before_cells = float(np.sum(w[covered]))
    summary = {
        "k": int(k), "rule": r.id, "rule_label": r.label, "mode": mode, "solver": solver, "cbc_status": status or None,
        "objective_unit": unit, "candidates": int(len(cand)), "candidates_with_gain": int(len(useful)),
        "site_area_m2": float(site_area_m2),
        "newly_covered": total,
        "greedy_newly_covered": _value(A, wd, [int(useful[j]) for j in greedy_cols]) if len(useful) else 0.0,
        "covered_pct_before": (base["population_covered_pct"] if has_pop else base["area_covered_pct"]),
        "covered_pct_after_estimate": 100.0 * (before_cells + total) / pop_total if pop_total > 0 else None,
        "covered_pct_before_home_points": 100.0 * before_cells / pop_total if pop_total > 0 else None,
        "sites": [{"site_id": str(s), "gain": float(g)} for s, g in zip(sites_gdf["site_id"], gains)],
        "notes": notes,
    }
    return SitingResult(sites_gdf, gpd.GeoDataFrame(cand, geometry="geometry", crs=crs), summary, notes)


#: Columns the siting result writes; candidate parcels' own columns of these names are renamed ``*_given``.
_RESULT_COLUMNS = frozenset({"site_id", "rank", "gain", "cumulative_gain", "rule", "mode", "area_m2", "radius_m",
                             "standalone_gain", "chosen", "origin"})


def _value(A: Any, w: np.ndarray, cols: list[int]) -> float:
    if not cols:
        return 0.0
    hit = np.asarray(A[:, cols].sum(axis=1)).ravel() > 0
    return float(np.sum(w[hit]))


def _network_home_dist(coverage: CoverageResult, mask: np.ndarray, radius_m: float) -> np.ndarray:
    """Network distance (m) from every home point to the nearest entrance of the masked green spaces."""
    st = coverage.state
    graph = st["graph"]
    owner, leaves = st["entrance_owner"], st["entrance_leaves"]
    src = leaves[mask[owner] & (leaves >= 0)]
    dist, _ = nw.multi_source(graph, src, radius_m)
    return st["home_loc"].dist(dist)
