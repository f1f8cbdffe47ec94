"""Green-space reach at city scale: kunsink against networkx, an independent reference and the usual practice.

A generated city (jittered street grid, 206,237 street edges; 20,000 neighbourhood blocks; 2,000 parks:
pocket parks and 2×2-block parks; every layer ``source = synthetic``) is measured in one process:

1. **kunsink end to end** — ``compute_coverage`` with the profile cn-300-500 (2 rules), network mode: graph
   with noding, pseudo-entrances, home cells, homes snapped to edges, multi-source Dijkstra, shares, gaps and
   service areas (in memory); best of ``--repeat`` runs, wall and CPU, per step. Writing them to a
   GeoPackage is timed separately. The straight-line measure is timed once.
2. **Correctness** — against networkx ``multi_source_dijkstra_path_length`` on a graph built independently
   (plain Python: the input lines, each snapped point inserted into its edge by its own loop): the network
   distance from each neighbourhood's centre to the nearest 300 m-rule entrance (limit 3 km) must agree
   within 1e-6 m, with the same unreachable centres.
3. **Peers on the identical task** — the same street graph, the same park nodes (nearest node to each
   park's centroid), the same 300 m: the per-park ``nx.ego_graph(G, node, radius=300, distance="length")``
   loop (osmnx isochrone tutorials), networkx ``multi_source_dijkstra_path_length`` with ``cutoff=300`` on
   the same graph, and one scipy multi-source Dijkstra with ``limit=300`` (what kunsink runs). The three
   reached node sets must be equal.
4. **The usual practice end to end** — graph from the lines, the ego_graph loop per rule, homes to their
   nearest node; for one rule and for both rules, best of ``--repeat``.
5. **City scale** (full run and ``--city``) — a generated city the size of Baotou's built-up area
   (≥ 1,000,000 street edges, 100,000 neighbourhoods, 10,000 parks) through ``compute_coverage`` (both
   rules, gaps and service areas) in a child process; its wall and CPU time and its peak resident set
   (``os.wait4``) are measured.

Asserted (exit status 1 and ``FAIL`` lines otherwise): distances equal networkx within 1e-6 m and the same
unreachable centres; the three peers' reached sets equal. Full run only, the timing claims of
benchmarks/README.md: kunsink end to end (2 rules) ≤ 4 s and no slower than the practice (2 rules); city
scale ≤ 30 s and ≤ 4 GB. ``--quick`` (small city, one run each) prints the ratios but asserts no timing.
Every run appends one line to benchmarks/runs.log (``--no-log``: none); the last line printed starts
with ``SUMMARY:``.

    .venv/bin/python benchmarks/bench_greenspace.py            # full: benchmark city + city scale (≈ 2 min)
    .venv/bin/python benchmarks/bench_greenspace.py --quick    # < 20 s, correctness only
    .venv/bin/python benchmarks/bench_greenspace.py --city     # the city-scale run alone
"""

from __future__ import annotations

import argparse
import math
import platform
import time
from itertools import pairwise

import numpy as np


def make_city(n: int = 330, spacing: float = 80.0, n_res: int = 20000, n_parks: int = 2000, drop: float = 0.05,
              seed: int = 7):
    """Streets, neighbourhood blocks and parks of a generated city (EPSG:4546, metres, source synthetic)."""
    import geopandas as gpd
    import shapely

    rng = np.random.default_rng(seed)
    x0, y0 = 380_000.0, 4_490_000.0
    gx, gy = np.meshgrid(np.arange(n) * spacing, np.arange(n) * spacing)
    jx = gx + rng.uniform(-8, 8, gx.shape) + x0
    jy = gy + rng.uniform(-8, 8, gy.shape) + y0
    idx = np.arange(n * n).reshape(n, n)
    a = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    b = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    keep = rng.random(len(a)) >= drop
    a, b = a[keep], b[keep]
    xy = np.stack([jx.ravel(), jy.ravel()], axis=1)
    lines = shapely.linestrings(np.stack([xy[a], xy[b]], axis=1))
    crs = "EPSG:4546"
    network = gpd.GeoDataFrame({"edge_id": np.arange(len(lines)), "highway": "residential", "source": "synthetic"},
                               geometry=lines, crs=crs)
    # blocks (cells between streets), inset 8 m
    bi, bj = np.meshgrid(np.arange(n - 1), np.arange(n - 1))
    bi, bj = bi.ravel(), bj.ravel()
    order = rng.permutation(len(bi))
    n_big = n_parks // 5
    big_cells = []
    used = np.zeros((n - 1, n - 1), dtype=bool)
    k = 0
    while len(big_cells) < n_big:  # 2×2-block parks
        c = order[k]
        k += 1
        i, j = bi[c], bj[c]
        if i >= n - 2 or j >= n - 2 or used[j:j + 2, i:i + 2].any():
            continue
        used[j:j + 2, i:i + 2] = True
        big_cells.append((i, j))
    free = np.flatnonzero(~used[bj, bi])
    free = free[rng.permutation(len(free))]
    pocket = free[: n_parks - n_big]
    res = free[n_parks - n_big: n_parks - n_big + n_res]

    def block(i, j, w=1, inset=8.0):
        x_lo = x0 + i * spacing + inset
        y_lo = y0 + j * spacing + inset
        return shapely.box(x_lo, y_lo, x_lo + w * spacing - 2 * inset, y_lo + w * spacing - 2 * inset)

    parks = [block(i, j, 2) for i, j in big_cells] + [block(bi[c], bj[c], 1, 8.0 + rng.uniform(0, 18))
                                                     for c in pocket]
    greens = gpd.GeoDataFrame({"gs_id": [f"P{i:05d}" for i in range(len(parks))],
                               "gs_type": ["community_park"] * len(big_cells) + ["pocket_park"] * len(pocket),
                               "is_park": [True] * len(big_cells) + [False] * len(pocket),
                               "public_access": True, "source": "synthetic"}, geometry=parks, crs=crs)
    homes = [block(bi[c], bj[c]) for c in res]
    pop = rng.integers(200, 3000, len(homes)).astype(float)
    residential = gpd.GeoDataFrame({"res_id": [f"R{i:05d}" for i in range(len(homes))], "population": pop,
                                    "source": "synthetic"}, geometry=homes, crs=crs)
    return network, greens, residential


def reference_graph(network, centre_xy, entrance_xy, max_snap: float):
    """A networkx graph built independently (Python loops): lines, then points inserted into their edges."""
    import networkx as nx
    import shapely

    G = nx.Graph()
    def key(p):
        return round(p[0], 2), round(p[1], 2)

    segs = []
    for line in network.geometry.values:
        c = list(line.coords)
        for p, q in pairwise(c):
            segs.append((p, q))
    for p, q in segs:
        L = math.dist(p, q)
        u, v = key(p), key(q)
        if u != v and (not G.has_edge(u, v) or G[u][v]["length"] > L):
            G.add_edge(u, v, length=L)
    seg_geoms = shapely.linestrings(np.array([[p, q] for p, q in segs]))
    tree = shapely.STRtree(seg_geoms)
    points = list(map(tuple, centre_xy)) + list(map(tuple, entrance_xy))
    pi, si = tree.query_nearest(shapely.points(np.array(points)), max_distance=max_snap, all_matches=False)
    on_edge: dict[int, list[tuple[float, int]]] = {}
    snapped: dict[int, tuple[float, float, float]] = {}
    for i, s in zip(pi.tolist(), si.tolist()):
        (ax, ay), (bx, by) = segs[s]
        dx, dy = bx - ax, by - ay
        t = max(0.0, min(1.0, ((points[i][0] - ax) * dx + (points[i][1] - ay) * dy) / (dx * dx + dy * dy)))
        qx, qy = ax + t * dx, ay + t * dy
        snapped[i] = (qx, qy, math.hypot(points[i][0] - qx, points[i][1] - qy))
        on_edge.setdefault(s, []).append((t, i))
    for s, items in on_edge.items():
        p, q = segs[s]
        u, v = key(p), key(q)
        L = math.dist(p, q)
        if G.has_edge(u, v) and abs(G[u][v]["length"] - L) < 1e-9:
            G.remove_edge(u, v)
        chain = [(0.0, u)] + sorted((t, ("pt", i)) for t, i in items) + [(1.0, v)]
        for (t1, n1), (t2, n2) in pairwise(chain):
            w = (t2 - t1) * L
            if G.has_edge(n1, n2):
                w = min(w, G[n1][n2]["length"])
            G.add_edge(n1, n2, length=w)
    return G, snapped




# --- measuring ---------------------------------------------------------------------------------------------

HERE = __import__("pathlib").Path(__file__).resolve().parent
#: The claims of benchmarks/README.md ("Green-space reach at city scale"), asserted by a full run.
LIMIT_END_TO_END_S = 4.0  # kunsink network coverage, 2 rules, 206,237 edges
LIMIT_CITY_S = 30.0  # kunsink network coverage, 2 rules, ≥ 1,000,000 edges
LIMIT_CITY_RSS_MB = 4096.0
DIST_TOL_M = 1e-6
#: Sizes of the three modes: street-grid nodes per side, neighbourhoods, parks.
SIZES = {"full": (330, 20000, 2000), "quick": (80, 1500, 200), "city": (730, 100_000, 10_000)}


def timed(fn, repeat: int = 1):
    """Best of ``repeat`` calls: (result of the best call, wall s, CPU s of this process)."""
    best = None
    for _ in range(max(1, repeat)):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        w, cpu = time.perf_counter() - t, time.process_time() - c
        if best is None or w < best[1]:
            best = (out, w, cpu)
    return best


class Claims:
    """Asserted claims: each is printed PASS/FAIL as it is checked; ``ok`` when all held."""

    def __init__(self) -> None:
        self.failed: list[str] = []

    def check(self, ok: bool, text: str) -> bool:
        print(f"{'PASS' if ok else 'FAIL'}: {text}")
        if not ok:
            self.failed.append(text)
        return ok

    @property
    def ok(self) -> bool:
        return not self.failed


def practice_graph(network):
    """The usual practice's graph: networkx from the lines' end points (the generated streets are two-point lines)."""
    import networkx as nx
    import shapely

    coords = shapely.get_coordinates(network.geometry.values)
    _, inv = np.unique(np.round(coords, 2), axis=0, return_inverse=True)
    inv = inv.ravel()
    node_xy = np.zeros((inv.max() + 1, 2))
    node_xy[inv] = coords
    u, v = inv[0::2], inv[1::2]
    lengths = shapely.length(network.geometry.values)
    G = nx.Graph()
    G.add_weighted_edges_from(zip(u.tolist(), v.tolist(), lengths.tolist()), weight="length")
    return G, node_xy, u, v, lengths


def ego_union(G, nodes, radius: float) -> set:
    """Nodes within ``radius`` of any of ``nodes``: the per-park ``ego_graph`` loop."""
    import networkx as nx

    reached: set = set()
    for p in nodes:
        reached.update(nx.ego_graph(G, int(p), radius=radius, distance="length").nodes)
    return reached


def practice(network, greens, masks, radii, home_xy, home_area):
    """The usual practice end to end: graph, ego_graph loop per rule, homes to their nearest node.

    Returns the share (%) of residential land covered under each rule.
    """
    import shapely

    G, node_xy, *_ = practice_graph(network)
    tree = shapely.STRtree(shapely.points(node_xy))
    _, home_node = tree.query_nearest(shapely.points(home_xy), all_matches=False)
    shares = []
    for mask, radius in zip(masks, radii):
        _, near = tree.query_nearest(shapely.centroid(greens.geometry.values[mask]), all_matches=False)
        reached = ego_union(G, np.unique(near), radius)
        covered = np.isin(home_node, np.fromiter(reached, dtype=np.int64))
        shares.append(100.0 * float(np.sum(home_area[covered]) / np.sum(home_area)))
    return shares


def run_city_child(n: int, n_res: int, n_parks: int) -> None:
    """The city-scale run inside the child process: prints one ``RESULT {json}`` line."""
    import json

    from kunsink.greenspace.coverage import compute_coverage

    t = time.perf_counter()
    network, greens, residential = make_city(n, n_res=n_res, n_parks=n_parks)
    t_gen = time.perf_counter() - t
    cov, wall, cpu = timed(lambda: compute_coverage(residential, greens, "cn-300-500", network=network,
                                                    modes="network"))
    ns = cov.summary["network"]
    print("RESULT " + json.dumps({
        "edges_in": len(network), "neighbourhoods": len(residential), "parks": len(greens), "generate_s": t_gen,
        "wall_s": wall, "cpu_s": cpu, "nodes": ns["nodes"], "edges": ns["edges"], "home_points": ns["home_points"],
        "entrances": ns["entrances_pseudo"] + ns["entrances_given"],
        "shares": {r: v["network"]["area_covered_pct"] for r, v in cov.summary["rules"].items()},
        "gaps": len(cov.gaps), "steps_s": cov.state["timings_s"], "steps_cpu_s": cov.state["cpu_s"]}), flush=True)


def city_scale(n: int, n_res: int, n_parks: int, claims: Claims, assert_limits: bool) -> dict:
    """Run the city-scale measure in a child process; wall, CPU and peak RSS from ``os.wait4``."""
    import json
    import os
    import subprocess
    import sys

    cmd = [sys.executable, str(HERE / "bench_greenspace.py"), "--city-child", "--n", str(n),
           "--neighbourhoods", str(n_res), "--parks", str(n_parks)]
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    out = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    child_wall = time.perf_counter() - t
    rss_mb = usage.ru_maxrss / 1024.0
    lines = [ln for ln in out.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        claims.check(False, f"city-scale child process failed (exit {proc.returncode})")
        return {}
    r = json.loads(lines[-1][len("RESULT "):])
    r.update(child_wall_s=child_wall, child_cpu_s=usage.ru_utime + usage.ru_stime, rss_mb=rss_mb)
    print(f"city scale: {r['edges_in']:,} street edges ({r['edges']:,} after noding), {r['neighbourhoods']:,} "
          f"neighbourhoods, {r['parks']:,} parks, {r['home_points']:,} home points, {r['entrances']:,} entrances "
          f"(generated in {r['generate_s']:.1f} s)")
    print(f"  kunsink network coverage, 2 rules, end to end: wall {r['wall_s']:.1f} s, CPU {r['cpu_s']:.1f} s; "
          f"child process in all {child_wall:.1f} s (CPU {r['child_cpu_s']:.1f} s), peak RSS {rss_mb:,.0f} MB")
    print("  steps (wall / CPU s): " + ", ".join(f"{k} {v:.1f}/{r['steps_cpu_s'][k]:.1f}"
                                               for k, v in r["steps_s"].items() if v >= 0.05))
    print("  covered: " + ", ".join(f"{k} {v:.1f} %" for k, v in r["shares"].items()))
    claims.check(r["edges_in"] >= 1_000_000 or not assert_limits, f"city scale has ≥ 1,000,000 street edges "
                 f"({r['edges_in']:,})")
    if assert_limits:
        claims.check(r["wall_s"] <= LIMIT_CITY_S, f"city scale end to end {r['wall_s']:.1f} s ≤ {LIMIT_CITY_S:g} s")
        claims.check(rss_mb <= LIMIT_CITY_RSS_MB, f"city scale peak RSS {rss_mb:,.0f} MB ≤ {LIMIT_CITY_RSS_MB:,.0f} MB")
    return r


def benchmark_city(n: int, n_res: int, n_parks: int, repeat: int, ego_sample: int, claims: Claims,
                   assert_timings: bool) -> tuple[list[str], list[str]]:
    """Steps 1–4 of the module docstring; returns (figures for runs.log, summary parts)."""
    import tempfile

    import networkx as nx
    import shapely
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    from kunsink.greenspace import network as nw
    from kunsink.greenspace.coverage import (
        compute_coverage,
        prepare_greenspace,
        qualifying_mask,
    )
    from kunsink.greenspace.profiles import load_profile
    from kunsink.greenspace.run import _write_gpkg, write_coverage

    t = time.perf_counter()
    network, greens, residential = make_city(n, n_res=n_res, n_parks=n_parks)
    print(f"generated city: {len(network):,} street edges, {len(residential):,} neighbourhoods, {len(greens):,} "
          f"parks ({time.perf_counter() - t:.1f} s)")
    compute_coverage(residential.iloc[:20], greens.iloc[:20], "cn-300-500", modes="line")  # imports, once
    import rasterio.features  # noqa: F401  (imported by the service areas: loaded before timing)
    import scipy.sparse.csgraph  # noqa: F401

    # 1. kunsink ----------------------------------------------------------------------------------------
    line, t_line, c_line = timed(lambda: compute_coverage(residential, greens, "cn-300-500", modes="line"))
    cov, t_net, c_net = timed(lambda: compute_coverage(residential, greens, "cn-300-500", network=network,
                                                       modes="network"), repeat)
    ns = cov.summary["network"]
    print(f"kunsink straight-line coverage (2 rules, exact polygons): wall {t_line:.2f} s, CPU {c_line:.2f} s")
    print(f"kunsink network coverage end to end (2 rules, gaps and service areas; best of {repeat}): wall "
          f"{t_net:.2f} s, CPU {c_net:.2f} s — graph {ns['nodes']:,} nodes / {ns['edges']:,} edges, "
          f"{ns['home_points']:,} home points, {ns['entrances_pseudo']:,} pseudo-entrances")
    steps, steps_cpu = cov.state["timings_s"], cov.state["cpu_s"]
    for k, v in steps.items():
        if v >= 0.005:
            print(f"    {k:28s} wall {v:6.2f} s   CPU {steps_cpu[k]:6.2f} s")
    for rid, r in cov.summary["rules"].items():
        print(f"  {rid}: line {line.summary['rules'][rid]['line']['area_covered_pct']:.2f} % / "
              f"network {r['network']['area_covered_pct']:.2f} % of residential land")
    with tempfile.TemporaryDirectory() as tmp:
        out = __import__("pathlib").Path(tmp)
        _, t_write, c_write = timed(lambda: write_coverage(cov, out / "all", "synthetic"))
        frames = {"neighbourhoods": cov.neighbourhoods, "service_areas": cov.service_areas, "gaps": cov.gaps,
                  "entrances": cov.entrances}
        _, t_gpkg, c_gpkg = timed(lambda: _write_gpkg(out / "coverage.gpkg", frames))
    print(f"writing them: coverage.gpkg (neighbourhoods, gaps, service areas, entrances, QGIS styles) alone wall "
          f"{t_gpkg:.2f} s, CPU {c_gpkg:.2f} s; with coverage.csv, summary.json and tables.xlsx (write_coverage) "
          f"wall {t_write:.2f} s, CPU {c_write:.2f} s")
    graph = cov.state["graph"]
    owner, leaves = cov.state["entrance_owner"], cov.state["entrance_leaves"]
    prof = load_profile("cn-300-500")
    g2, _ = prepare_greenspace(greens)
    masks = [qualifying_mask(g2, r.tiers[0]) for r in prof.rules]
    radii = [r.tiers[0].radius_m for r in prof.rules]
    mask = masks[0]
    src = leaves[mask[owner] & (leaves >= 0)]
    _, t_dij, _ = timed(lambda: nw.multi_source(graph, src, 300.0), 5)
    print(f"kunsink multi-source Dijkstra alone (300 m rule, {len(np.unique(src)):,} entrances, limit 300 m): "
          f"{t_dij:.3f} s (best of 5)")

    # 2. correctness against networkx ------------------------------------------------------------------
    centre = shapely.get_coordinates(shapely.point_on_surface(residential.geometry.values))
    ent_xy = shapely.get_coordinates(cov.entrances.geometry.values)
    use = mask[owner] & (leaves >= 0)
    t = time.perf_counter()
    G, snapped = reference_graph(network, centre, ent_xy, 500.0)
    n_c = len(centre)
    sources = []
    for j in np.flatnonzero(use):
        i = n_c + j
        if i in snapped:
            G.add_edge(("ent", j), ("pt", i), length=snapped[i][2])
            sources.append(("ent", j))
    t_build = time.perf_counter() - t
    limit = 3000.0
    ref, t_ref, _ = timed(lambda: nx.multi_source_dijkstra_path_length(G, sources, cutoff=limit, weight="length"))
    _, t_k3, _ = timed(lambda: nw.multi_source(graph, src, limit), 5)
    ref_d = np.array([ref.get(("pt", i), np.inf) + snapped[i][2] if i in snapped else np.inf for i in range(n_c)])
    ref_d[ref_d > limit] = np.inf
    ks = cov.neighbourhoods["green_300_net_m"].to_numpy()
    ks = np.where(np.isnan(ks), np.inf, ks)
    both = np.isfinite(ref_d) & np.isfinite(ks)
    max_diff = float(np.abs(ref_d[both] - ks[both]).max()) if both.any() else 0.0
    same_inf = bool(np.array_equal(np.isfinite(ref_d), np.isfinite(ks)))
    print(f"networkx reference: graph built in {t_build:.1f} s (plain Python), multi_source_dijkstra_path_length "
          f"(cutoff {limit:g} m) {t_ref:.2f} s; kunsink's multi-source Dijkstra, same entrances, limit {limit:g} m, "
          f"on its own graph: {t_k3:.3f} s")
    claims.check(both.sum() > 0.5 * n_c and max_diff <= DIST_TOL_M,
                 f"distances from {int(both.sum()):,} neighbourhood centres equal networkx's: max |difference| "
                 f"{max_diff:.1e} m ≤ {DIST_TOL_M:g} m")
    claims.check(same_inf, "the same centres are unreachable within 3 km in both")

    # 3. the identical task: three peers on one graph ----------------------------------------------------
    Gp, node_xy, u, v, lengths = practice_graph(network)
    tree = shapely.STRtree(shapely.points(node_xy))
    _, near = tree.query_nearest(shapely.centroid(greens.geometry.values[mask]), all_matches=False)
    park_nodes = np.unique(near)
    sample = park_nodes[:ego_sample]
    ego, t_ego, _ = timed(lambda: ego_union(Gp, sample, 300.0), min(repeat, 2))
    t_ego *= len(park_nodes) / len(sample)
    nxm, t_nxm, _ = timed(lambda: nx.multi_source_dijkstra_path_length(Gp, [int(p) for p in park_nodes], cutoff=300.0,
                                                                       weight="length"), min(repeat, 2))
    n_nodes = len(node_xy)
    A = csr_matrix((np.r_[lengths, lengths], (np.r_[u, v], np.r_[v, u])), shape=(n_nodes, n_nodes))
    A.sum_duplicates()
    d_same, t_same, _ = timed(lambda: dijkstra(A, directed=True, indices=park_nodes, min_only=True, limit=300.0), 5)
    scipy_set = set(np.flatnonzero(np.isfinite(d_same)).tolist())
    print(f"identical task (the same street graph, the same {len(park_nodes):,} park nodes, 300 m):")
    scaled = f" (timed on {len(sample):,} parks, scaled)" if len(sample) < len(park_nodes) else ""
    print(f"  nx.ego_graph loop {t_ego:.2f} s{scaled}; nx.multi_source_dijkstra_path_length cutoff 300 m "
          f"{t_nxm:.3f} s; scipy multi-source Dijkstra limit 300 m {t_same:.4f} s")
    print(f"  → scipy vs ego_graph loop {t_ego / t_same:.0f}×, vs networkx multi-source {t_nxm / t_same:.0f}×; "
          f"networkx multi-source vs ego_graph loop {t_ego / t_nxm:.1f}×")
    if len(sample) == len(park_nodes):
        claims.check(scipy_set == ego, f"scipy and the ego_graph loop reach the same {len(ego):,} nodes")
    claims.check(scipy_set == set(nxm), f"scipy and networkx multi-source reach the same {len(nxm):,} nodes")

    # 4. the usual practice end to end, against kunsink ---------------------------------------------------
    homes = cov.homes
    shares1, t_p1, c_p1 = timed(lambda: practice(network, greens, masks[:1], radii[:1], homes.xy,
                                                 homes.district_area_m2), min(repeat, 2))
    shares2, t_p2, c_p2 = timed(lambda: practice(network, greens, masks, radii, homes.xy, homes.district_area_m2),
                                min(repeat, 2))
    one = {"id": "green-300-only", "version": "bench", "source": "cn-300-500 rule green_300", "verified": False,
           "rules": [{"id": "green_300", "radius_m": 300, "min_area_m2": 400, "min_width_m": 8,
                      "official_mode": "network"}]}
    _, t_k1, c_k1 = timed(lambda: compute_coverage(residential, greens, one, network=network, modes="network"),
                             repeat)
    k_shares = [r["network"]["area_covered_pct"] for r in cov.summary["rules"].values()]
    print(f"usual practice end to end (graph, ego_graph loop per rule, homes to the nearest node; park centroid "
          f"→ nearest node): 1 rule wall {t_p1:.2f} s (CPU {c_p1:.2f} s, covers {shares1[0]:.1f} %), 2 rules wall {t_p2:.2f} s "
          f"(CPU {c_p2:.2f} s); covers {', '.join(f'{s:.1f} %' for s in shares2)}")
    print(f"kunsink end to end: 1 rule wall {t_k1:.2f} s (CPU {c_k1:.2f} s), 2 rules wall {t_net:.2f} s "
          f"(CPU {c_net:.2f} s); covers {', '.join(f'{s:.1f} %' for s in k_shares)} (entrances along park "
          "boundaries, homes on edges, gaps and service areas drawn)")
    r1, r2 = t_p1 / t_k1, t_p2 / t_net
    print(f"RATIOS: end to end practice/kunsink 1 rule {r1:.2f}×, 2 rules {r2:.2f}×; identical task scipy vs "
          f"ego_graph {t_ego / t_same:.0f}×, vs networkx multi-source {t_nxm / t_same:.0f}×")
    if assert_timings:
        claims.check(t_net <= LIMIT_END_TO_END_S, f"kunsink end to end (2 rules) {t_net:.2f} s ≤ "
                     f"{LIMIT_END_TO_END_S:g} s")
        claims.check(t_net <= t_p2, f"kunsink end to end (2 rules) {t_net:.2f} s ≤ the practice's {t_p2:.2f} s")

    figures = [f"{len(network):,} edges/{len(residential):,} nbhd/{len(greens):,} parks",
               f"kunsink e2e 2 rules {t_net:.2f} s (cpu {c_net:.2f}), 1 rule {t_k1:.2f} s",
               f"practice 2 rules {t_p2:.2f} s, 1 rule {t_p1:.2f} s",
               f"write gpkg {t_gpkg:.2f} s, all files {t_write:.2f} s", f"line {t_line:.2f} s",
               f"identical task: scipy {t_same:.4f} s, nx multi-source {t_nxm:.3f} s, ego loop {t_ego:.2f} s",
               f"max diff vs networkx {max_diff:.1e} m",
               "steps " + " ".join(f"{k.replace(' ', '_')}={v:.2f}" for k, v in steps.items())]
    summary = [f"reach {len(network):,} edges e2e {t_net:.2f} s vs practice {t_p2:.2f} s ({r2:.2f}×)",
               f"identical task scipy {t_ego / t_same:.0f}× ego_graph, {t_nxm / t_same:.0f}× nx multi-source",
               f"max |Δ| vs networkx {max_diff:.0e} m"]
    return figures, summary


def main() -> int:
    import sys

    import networkx as nx
    import scipy
    import shapely

    ap = argparse.ArgumentParser(description="Green-space reach: kunsink against networkx and the usual practice.")
    ap.add_argument("--quick", action="store_true", help="small city, one run each: ratios printed, no timing asserted")
    ap.add_argument("--city", action="store_true", help="only the city-scale run (≥ 1M edges; ≤ 30 s, ≤ 4 GB asserted)")
    ap.add_argument("--no-city", action="store_true", help="full run without the city-scale run")
    ap.add_argument("--n", type=int, help="street-grid nodes per side (330: 206,237 edges; 730: 1,011,000)")
    ap.add_argument("--neighbourhoods", type=int)
    ap.add_argument("--parks", type=int)
    ap.add_argument("--repeat", type=int, help="runs per timing, the best counts (default 3; --quick 1)")
    ap.add_argument("--ego-sample", type=int, default=100_000, help="parks timed with ego_graph (scaled to all)")
    ap.add_argument("--no-log", action="store_true", help="append nothing to benchmarks/runs.log")
    ap.add_argument("--city-child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    mode = "city" if (args.city or args.city_child) else ("quick" if args.quick else "full")
    n, n_res, n_parks = (a if a is not None else d for a, d in zip((args.n, args.neighbourhoods, args.parks),
                                                                  SIZES[mode]))
    if args.city_child:
        run_city_child(n, n_res, n_parks)
        return 0
    sys.path.insert(0, str(HERE))
    from machine import load_average, machine, record_run

    repeat = args.repeat or (1 if args.quick else 3)
    versions = (f"python {platform.python_version()}, shapely {shapely.__version__} (GEOS "
                f"{'.'.join(map(str, shapely.geos_version))}), scipy {scipy.__version__}, networkx {nx.__version__}")
    print(f"machine: {machine()}; {load_average()} at start; {versions}; mode {mode}")
    claims = Claims()
    figures: list[str] = [f"mode {mode}", versions]
    summary: list[str] = []
    try:
        if mode != "city":
            f, s = benchmark_city(n, n_res, n_parks, repeat, args.ego_sample, claims, assert_timings=mode == "full")
            figures += f
            summary += s
        if mode == "city" or (mode == "full" and not args.no_city):
            cn, cr, cp = SIZES["city"] if mode == "full" else (n, n_res, n_parks)
            r = city_scale(cn, cr, cp, claims, assert_limits=True)
            if r:
                figures.append(f"city {r['edges_in']:,} edges/{r['neighbourhoods']:,} nbhd/{r['parks']:,} parks: "
                               f"e2e {r['wall_s']:.1f} s (cpu {r['cpu_s']:.1f}), peak RSS {r['rss_mb']:,.0f} MB")
                summary.append(f"city {r['edges_in'] / 1e6:.2f}M edges {r['wall_s']:.1f} s, {r['rss_mb'] / 1024:.2f} GB")
    except Exception as exc:  # a crash is a failed run too: logged, then shown
        claims.check(False, f"the benchmark stopped: {type(exc).__name__}: {exc}")
        if not args.no_log:
            record_run("bench_greenspace", "; ".join(figures), passed=False)
        print(f"SUMMARY: FAIL — {type(exc).__name__}: {exc}")
        raise
    print(f"load at the end: {load_average()}")
    if claims.failed:
        print("FAIL: " + " | ".join(claims.failed))
    if not args.no_log:
        print(f"appended to {record_run('bench_greenspace', '; '.join(figures), passed=claims.ok)}")
    label = "PASS" if claims.ok else "FAIL"
    note = "" if mode != "quick" else " (quick: correctness asserted, timings not)"
    print(f"SUMMARY: {label}{note} — " + "; ".join(summary) + f"; {load_average()}")
    return 0 if claims.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
