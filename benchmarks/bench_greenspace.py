"""Green-space reach at city scale: kunsink against networkx, the reference and the usual practice.

A generated city (jittered street grid, ≥ 200,000 street edges; ≥ 20,000 neighbourhood blocks;
≥ 2,000 parks: pocket parks and 2×2-block parks) is measured three ways in one process:

1. **kunsink** ``compute_coverage`` (profile cn-300-500, network and straight line), end to end:
   graph building, pseudo-entrances, home points snapped to edges, multi-source Dijkstra with a
   limit, shares, gaps and service areas.
2. **Correctness** against networkx ``multi_source_dijkstra_path_length`` on a graph built
   independently here (plain Python: the input lines, each snapped point inserted into its edge
   by its own loop): the network distance from each neighbourhood's centre point to the nearest
   300 m-rule entrance must agree within 1e-6 m.
3. **The common practice**: for each park, ``nx.ego_graph(G, nearest_node, radius=R,
   distance="length")`` (as in osmnx isochrone tutorials), union of the reached nodes. Timed for
   a sample of parks and scaled to all of them when ``--ego-sample`` is less than the park count.

    .venv/bin/python benchmarks/bench_greenspace.py [--n 330] [--neighbourhoods 20000] [--parks 2000]
"""

from __future__ import annotations

import argparse
import math
import platform
import time

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
    key = lambda p: (round(p[0], 2), round(p[1], 2))  # noqa: E731
    segs = []
    for line in network.geometry.values:
        c = list(line.coords)
        for p, q in zip(c[:-1], c[1:]):
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
        for (t1, n1), (t2, n2) in zip(chain[:-1], chain[1:]):
            w = (t2 - t1) * L
            if G.has_edge(n1, n2):
                w = min(w, G[n1][n2]["length"])
            G.add_edge(n1, n2, length=w)
    return G, snapped


def _median_time(fn, repeat: int = 5) -> float:
    """Median wall time of ``repeat`` calls, s."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def main() -> None:
    import networkx as nx
    import shapely

    from kunsink.greenspace import network as nw
    from kunsink.greenspace.coverage import compute_coverage, prepare_greenspace, qualifying_mask
    from kunsink.greenspace.profiles import load_profile

    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=330, help="street-grid nodes per side (330: ≈ 206,000 edges)")
    ap.add_argument("--neighbourhoods", type=int, default=20000)
    ap.add_argument("--parks", type=int, default=2000)
    ap.add_argument("--ego-sample", type=int, default=100_000, help="parks timed with ego_graph (scaled to all)")
    ap.add_argument("--cell-m", type=float, default=25.0)
    args = ap.parse_args()

    print(f"machine: {platform.processor() or platform.machine()}, {__import__('os').cpu_count()} cores; "
          f"python {platform.python_version()}, networkx {nx.__version__}")
    t = time.perf_counter()
    network, greens, residential = make_city(args.n, n_res=args.neighbourhoods, n_parks=args.parks)
    print(f"generated city: {len(network):,} street edges, {len(residential):,} neighbourhoods, {len(greens):,} parks "
          f"({time.perf_counter() - t:.1f} s)")

    # 1. kunsink end to end -------------------------------------------------------------------
    t = time.perf_counter()
    line = compute_coverage(residential, greens, "cn-300-500", modes="line")
    t_line = time.perf_counter() - t
    t = time.perf_counter()
    cov = compute_coverage(residential, greens, "cn-300-500", network=network, modes="network", cell_m=args.cell_m)
    t_net = time.perf_counter() - t
    ns = cov.summary["network"]
    print(f"kunsink straight-line coverage (2 rules, exact polygons): {t_line:.1f} s")
    print(f"kunsink network coverage end to end (2 rules): {t_net:.1f} s — graph {ns['nodes']:,} nodes / "
          f"{ns['edges']:,} edges, {ns['home_points']:,} home points, {ns['entrances_pseudo']:,} pseudo-entrances")
    for rid, r in cov.summary["rules"].items():
        print(f"  {rid}: line {line.summary['rules'][rid]['line']['area_covered_pct']:.2f} % / "
              f"network {r['network']['area_covered_pct']:.2f} % of residential land")
    # the distance step alone: one multi-source Dijkstra for the 300 m rule on the built graph
    graph = cov.state["graph"]
    owner, leaves = cov.state["entrance_owner"], cov.state["entrance_leaves"]
    prof = load_profile("cn-300-500")
    g2, _ = prepare_greenspace(greens)
    mask = qualifying_mask(g2, prof.rules[0].tiers[0])
    src = leaves[mask[owner] & (leaves >= 0)]
    t_dij = _median_time(lambda: nw.multi_source(graph, src, 300.0))
    print(f"kunsink multi-source Dijkstra alone (300 m, {len(src):,} entrances, limit 300 m): {t_dij:.3f} s "
          "(median of 5)")

    # 2. correctness against networkx ----------------------------------------------------------
    centre = shapely.get_coordinates(shapely.point_on_surface(residential.geometry.values))
    ent = cov.entrances
    ent_xy = shapely.get_coordinates(ent.geometry.values)
    use = mask[owner] & (leaves >= 0)
    t = time.perf_counter()
    G, snapped = reference_graph(network, centre, ent_xy, 500.0)
    n_c = len(centre)
    sources = {}
    for j in np.flatnonzero(use):
        i = n_c + j
        if i in snapped:
            G.add_edge(("ent", j), ("pt", i), length=snapped[i][2])
            sources[("ent", j)] = True
    t_build = time.perf_counter() - t
    t = time.perf_counter()
    limit = 3000.0
    ref = nx.multi_source_dijkstra_path_length(G, list(sources), cutoff=limit, weight="length")
    t_ref = time.perf_counter() - t
    ref_d = np.array([ref.get(("pt", i), np.inf) + snapped[i][2] if i in snapped else np.inf for i in range(n_c)])
    ref_d[ref_d > limit] = np.inf
    ks = cov.neighbourhoods["green_300_net_m"].to_numpy()
    ks = np.where(np.isnan(ks), np.inf, ks)
    both = np.isfinite(ref_d) & np.isfinite(ks)
    diff = np.abs(ref_d[both] - ks[both])
    same_inf = np.array_equal(np.isfinite(ref_d), np.isfinite(ks))
    print(f"networkx reference: graph built in {t_build:.1f} s (Python), multi_source_dijkstra_path_length "
          f"{t_ref:.1f} s; {int(both.sum()):,} centre points compared: max |difference| {diff.max():.2e} m, "
          f"same unreachable set: {same_inf}")
    assert diff.max() <= 1e-6 and same_inf, "network distances differ from networkx"
    # kunsink vs networkx on the distance step itself
    print(f"  distance step: kunsink {t_dij:.3f} s vs networkx {t_ref:.1f} s → {t_ref / t_dij:.0f}×")

    # 3. the per-park ego_graph practice, end to end, for the 300 m rule -----------------------------
    one = {"id": "green-300-only", "version": "bench", "source": "cn-300-500 rule green_300", "verified": False,
           "rules": [{"id": "green_300", "radius_m": 300, "min_area_m2": 400, "min_width_m": 8,
                      "official_mode": "network"}]}
    t = time.perf_counter()
    cov1 = compute_coverage(residential, greens, one, network=network, modes="network", cell_m=args.cell_m)
    t_k1 = time.perf_counter() - t
    k_share = cov1.summary["rules"]["green_300"]["network"]["area_covered_pct"]
    homes = cov1.homes
    t = time.perf_counter()
    coords = shapely.get_coordinates(network.geometry.values)
    keys = np.round(coords, 2)
    _, inv = np.unique(keys, axis=0, return_inverse=True)
    inv = inv.ravel()
    node_xy = np.zeros((inv.max() + 1, 2))
    node_xy[inv] = coords
    u, v = inv[0::2], inv[1::2]  # the generated streets are two-point lines
    lengths = shapely.length(network.geometry.values)
    Gp = nx.Graph()
    Gp.add_weighted_edges_from(zip(u.tolist(), v.tolist(), lengths.tolist()), weight="length")
    tree = shapely.STRtree(shapely.points(node_xy))
    park_geoms = greens.geometry.values[mask]
    _, near = tree.query_nearest(shapely.centroid(park_geoms), all_matches=False)
    t_build_p = time.perf_counter() - t
    sample = np.arange(len(park_geoms))[: args.ego_sample]
    t = time.perf_counter()
    reached: set = set()
    for p in sample:
        sub = nx.ego_graph(Gp, int(near[p]), radius=300.0, distance="length")
        reached.update(sub.nodes)
    t_ego = (time.perf_counter() - t) * len(park_geoms) / len(sample)
    # the identical task with kunsink's multi-source search: same graph, same 2,000 source nodes, same radius
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    n_nodes = len(node_xy)
    A = csr_matrix((np.r_[lengths, lengths], (np.r_[u, v], np.r_[v, u])), shape=(n_nodes, n_nodes))
    A.sum_duplicates()
    d_same = dijkstra(A, directed=True, indices=np.unique(near[sample]), min_only=True, limit=300.0)
    t_same = _median_time(lambda: dijkstra(A, directed=True, indices=np.unique(near[sample]), min_only=True,
                                           limit=300.0))
    same_set = set(np.flatnonzero(np.isfinite(d_same)).tolist()) == reached
    print(f"identical task (same graph, same {len(np.unique(near[sample])):,} park nodes, 300 m): ego_graph loop "
          f"{t_ego:.2f} s vs one multi-source Dijkstra {t_same:.3f} s → {t_ego / t_same:.0f}×; same nodes reached: "
          f"{same_set}")
    t = time.perf_counter()
    _, home_node = tree.query_nearest(shapely.points(homes.xy), all_matches=False)
    covered = np.isin(home_node, np.fromiter(reached, dtype=np.int64))
    p_share = 100.0 * float(np.sum(homes.district_area_m2[covered]) / np.sum(homes.district_area_m2))
    t_snap_p = time.perf_counter() - t
    t_practice = t_build_p + t_ego + t_snap_p
    scaled = f" (ego_graph timed on {len(sample)} parks, scaled)" if len(sample) < len(park_geoms) else ""
    print(f"per-park ego_graph practice, 300 m rule, {len(park_geoms):,} parks: graph {t_build_p:.1f} s + "
          f"ego_graph loop {t_ego:.1f} s + homes to nearest node {t_snap_p:.1f} s = {t_practice:.1f} s{scaled}; "
          f"covers {p_share:.2f} % (park centroid → nearest node; homes → nearest node)")
    print(f"kunsink, same rule end to end: {t_k1:.1f} s; covers {k_share:.2f} % (entrances on park boundaries; "
          f"homes on edges)")
    print(f"SPEED-UP: identical task {t_ego / t_same:.0f}×; kunsink's distance step (boundary entrances, "
          f"{t_dij:.3f} s) vs the ego_graph loop: {t_ego / t_dij:.0f}×; end to end (one rule): "
          f"{t_practice / t_k1:.1f}× (kunsink also snaps homes to edges, cuts cells, draws gaps and service areas)")


if __name__ == "__main__":
    main()
