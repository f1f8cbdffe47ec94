"""The walking network as a sparse graph: noding, snapping points to edges, multi-source distances.

Every edge of a :class:`WalkNetwork` is a **straight segment** between two nodes (a street
polyline becomes one edge per vertex pair), so a point can be placed on an edge exactly and a
part of an edge is again a straight segment: distances and service areas need no curve
arithmetic and everything is vectorised with NumPy and shapely 2.

* Nodes are vertex coordinates shared within ``node_tolerance_m`` (lines that share a vertex
  are joined there). A vertex lying on another segment's interior within ``snap_tolerance_m``
  (a T-junction drawn without a shared vertex) is joined to it by splitting that segment.
  Lines that cross without a shared vertex (common in CAD-drawn centre lines) are joined at the
  crossing, except bridge and tunnel lines (``bridge``/``tunnel``/``is_bridge`` tags, ``layer`` ≠ 0,
  ``highway=bridge``); ``node_crossings=False`` keeps every such crossing apart.
* Points (homes, park entrances, candidate sites) are snapped to the **nearest edge**, not the
  nearest node: the edge is split at the projected point (a virtual node) and the point's
  straight connector to it is added to its distance.
* Distances from many sources at once: one :func:`scipy.sparse.csgraph.dijkstra` call with all
  sources, ``min_only=True`` and a ``limit`` (no Python loop per park or per home).

All coordinates are in the (projected) working CRS; lengths and distances in metres.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely

from ..errors import InputError

__all__ = [
    "NON_WALKABLE",
    "WalkNetwork",
    "Snapped",
    "PointGraph",
    "Located",
    "walkable_mask",
    "exempt_mask",
    "build_network",
    "attach_points",
    "multi_source",
    "source_matrix",
    "reachable_pieces",
    "reachable_segments",
    "service_area_polygon",
    "pseudo_entrances",
]

#: ``highway`` values (OSM and common Chinese road classes) that pedestrians may not use.
NON_WALKABLE: frozenset[str] = frozenset({
    "motorway", "motorway_link", "raceway", "bus_guideway", "construction", "proposed", "abandoned", "razed",
    "escape", "busway", "高速公路", "高速", "快速路", "城市快速路", "高架", "高架路",
})
_YES = {"yes", "true", "1", "y", "t", "是"}


@dataclass
class WalkNetwork:
    """A walking network of straight edges (working CRS, metres).

    Attributes
    ----------
    node_xy : ndarray (n_nodes, 2)
        Node coordinates, m.
    edge_u, edge_v : ndarray of int64
        End nodes of each edge.
    edge_len_m : ndarray of float64
        Edge lengths, m (the straight distance between its nodes).
    edge_line : ndarray of int64
        Index of the input line feature each edge comes from (−1 for joins made while noding).
    crs : pyproj.CRS or None
    notes : list of str
        What building the graph did (dropped segments, joins), for the summary.
    """

    node_xy: np.ndarray
    edge_u: np.ndarray
    edge_v: np.ndarray
    edge_len_m: np.ndarray
    edge_line: np.ndarray
    crs: Any = None
    notes: list[str] = field(default_factory=list)
    _tree: Any = field(default=None, repr=False)
    _labels: Any = field(default=None, repr=False)

    @property
    def n_nodes(self) -> int:
        return len(self.node_xy)

    @property
    def n_edges(self) -> int:
        return len(self.edge_u)

    def segments(self) -> np.ndarray:
        """The edges as shapely LineStrings (working CRS)."""
        return shapely.linestrings(np.stack([self.node_xy[self.edge_u], self.node_xy[self.edge_v]], axis=1))

    def tree(self) -> shapely.STRtree:
        """An STRtree of the edges (built once)."""
        if self._tree is None:
            self._tree = shapely.STRtree(self.segments())
        return self._tree

    def components(self) -> np.ndarray:
        """Connected-component label of every node."""
        if self._labels is None:
            from scipy.sparse.csgraph import connected_components

            _, self._labels = connected_components(_csr(self.n_nodes, self.edge_u, self.edge_v, self.edge_len_m),
                                                   directed=False)
        return self._labels

    def to_gdf(self) -> Any:
        """The edges as a GeoDataFrame (``u``, ``v``, ``length_m``, ``component``)."""
        import geopandas as gpd

        comp = self.components()
        return gpd.GeoDataFrame({"u": self.edge_u, "v": self.edge_v, "length_m": self.edge_len_m,
                                 "component": comp[self.edge_u]}, geometry=self.segments(), crs=self.crs)


@dataclass
class Snapped:
    """Points snapped to the nearest edge of a network.

    Attributes
    ----------
    edge : ndarray of int64
        Edge index, −1 where no edge lies within the search distance.
    t : ndarray of float64
        Position along the edge, 0 at ``edge_u`` … 1 at ``edge_v``.
    offset_m : ndarray of float64
        Straight distance from the point to the edge, m (inf where not snapped).
    """

    edge: np.ndarray
    t: np.ndarray
    offset_m: np.ndarray

    @property
    def ok(self) -> np.ndarray:
        return self.edge >= 0

    def __len__(self) -> int:
        return len(self.edge)


@dataclass
class Located:
    """Target points (homes) located on the edges of a :class:`PointGraph`.

    A target is not a node: it lies on the edge ``a``–``b`` of the split graph, ``da_m`` from ``a`` and
    ``db_m`` from ``b``. No source lies strictly inside that edge (the graph was split at every
    source), so a shortest path to the target arrives through ``a`` or ``b``: its distance is
    ``min(dist[a] + da_m, dist[b] + db_m) + offset_m`` — exactly what a virtual node would give.

    Attributes
    ----------
    a, b : ndarray of int64
        End nodes of the edge (−1 where the point was not snapped).
    da_m, db_m, offset_m : ndarray of float64
        Metres; ``offset_m`` is the straight connector from the point to the edge (inf if not snapped).
    """

    a: np.ndarray
    b: np.ndarray
    da_m: np.ndarray
    db_m: np.ndarray
    offset_m: np.ndarray

    def __len__(self) -> int:
        return len(self.a)

    @property
    def ok(self) -> np.ndarray:
        return self.a >= 0

    def dist(self, node_dist_m: np.ndarray) -> np.ndarray:
        """Distance (m) of every target from the sources of a :func:`multi_source` result."""
        a, b = np.clip(self.a, 0, None), np.clip(self.b, 0, None)
        d = np.minimum(node_dist_m[a] + self.da_m, node_dist_m[b] + self.db_m) + self.offset_m
        return np.where(self.ok, d, np.inf)

    def via(self, node_dist_m: np.ndarray) -> np.ndarray:
        """The node (``a`` or ``b``) through which each target is reached (−1 if not snapped)."""
        a, b = np.clip(self.a, 0, None), np.clip(self.b, 0, None)
        use_a = node_dist_m[a] + self.da_m <= node_dist_m[b] + self.db_m
        return np.where(self.ok, np.where(use_a, self.a, self.b), -1)


@dataclass
class PointGraph:
    """A network split at source points: the sparse graph to run shortest paths on.

    Attributes
    ----------
    csr : scipy.sparse.csr_matrix
        Symmetric weighted adjacency (m) of the network nodes, the virtual nodes where source
        points were snapped, and one leaf per source point hanging off its virtual node by its
        straight connector (so a search from the leaf includes the connector).
    node_xy : ndarray (n, 2)
        Coordinates of every node (a leaf sits at its snapped point).
    edge_u, edge_v, edge_len_m : ndarray
        Edges of the split network (without the leaf connectors), for service areas.
    sources : list of ndarray of int64
        For each source set given to :func:`attach_points`: the leaf of each point (−1 if not snapped).
    targets : list of Located
        For each target set: where its points lie on the split graph.
    """

    csr: Any
    node_xy: np.ndarray
    edge_u: np.ndarray
    edge_v: np.ndarray
    edge_len_m: np.ndarray
    sources: list[np.ndarray]
    targets: list[Located]


def _text_in(values: Any, words: Any) -> np.ndarray:
    """Whether each value, as stripped lower-case text, is one of ``words``.

    Each distinct value is converted once (a street layer has a handful of ``highway`` classes
    over hundreds of thousands of features).
    """
    import pandas as pd

    codes, uniques = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=False)
    hit = pd.Series(np.asarray(uniques, dtype=object)).astype(str).str.strip().str.lower().isin(set(words))
    return hit.to_numpy(dtype=bool)[codes] if len(codes) else np.zeros(0, dtype=bool)


def _truthy(values: Any) -> np.ndarray:
    import pandas as pd

    if pd.api.types.is_bool_dtype(pd.Series(values).dtype):
        return pd.Series(values).to_numpy(dtype=bool)
    return _text_in(values, _YES)


def walkable_mask(lines: Any) -> np.ndarray:
    """Which features of a line layer pedestrians may use.

    Drops ``highway`` classes in :data:`NON_WALKABLE` (motorways, expressways …), ``foot=no``,
    and ``access`` private/no without ``foot`` yes/designated. A boolean ``walkable`` column,
    if present, decides on its own.

    Parameters
    ----------
    lines : GeoDataFrame

    Returns
    -------
    ndarray of bool
    """
    n = len(lines)
    if "walkable" in lines.columns:
        return np.asarray(_truthy(lines["walkable"]), dtype=bool)
    keep = np.ones(n, dtype=bool)
    if "highway" in lines.columns:
        keep &= ~_text_in(lines["highway"], NON_WALKABLE)
    if "foot" in lines.columns:
        keep &= ~_text_in(lines["foot"], {"no", "private"})
    if "access" in lines.columns:
        acc = _text_in(lines["access"], {"no", "private"})
        allowed = _text_in(lines["foot"], {"yes", "designated", "permissive"}) if "foot" in lines.columns else False
        keep &= ~(acc & ~allowed)
    return keep


def exempt_mask(lines: Any) -> np.ndarray:
    """Bridges and tunnels: never cut by barriers, never joined at crossings.

    Recognises ``is_bridge`` / ``bridge`` / ``tunnel`` (true, yes, viaduct …), an OSM ``layer``
    other than 0, and ``highway = bridge`` as in the demo scene.
    """
    import pandas as pd

    n = len(lines)
    out = np.zeros(n, dtype=bool)
    for col in ("is_bridge", "bridge", "tunnel", "is_tunnel"):
        if col in lines.columns and len(lines):
            v = lines[col]
            out |= _truthy(v) | _text_in(v, {"viaduct", "aqueduct", "boardwalk", "building_passage", "culvert",
                                             "covered", "movable", "cantilever"})
    if "highway" in lines.columns:
        out |= _text_in(lines["highway"], {"bridge", "桥", "桥梁"})
    if "layer" in lines.columns and len(lines):
        lay = pd.to_numeric(lines["layer"], errors="coerce").fillna(0).to_numpy()
        out |= lay != 0
    return out


def _csr(n: int, u: np.ndarray, v: np.ndarray, w: np.ndarray):
    """Symmetric CSR adjacency with the shortest of parallel edges; explicit zero weights are edges."""
    from scipy.sparse import csr_matrix

    a, b = np.minimum(u, v), np.maximum(u, v)
    keep = a != b
    key = a[keep].astype(np.int64) * n + b[keep]  # one integer per node pair (n < 3·10⁹)
    w = np.asarray(w, dtype=np.float64)[keep]
    order = np.argsort(key, kind="stable")
    key, w = key[order], w[order]
    starts = np.flatnonzero(np.diff(key, prepend=-1))
    if len(key):
        w = np.minimum.reduceat(w, starts)  # the shortest of parallel edges
    key = key[starts]
    a, b = key // n, key % n
    rows = np.concatenate([a, b])
    cols = np.concatenate([b, a])
    data = np.concatenate([w, w]).astype(np.float64)
    return csr_matrix((data, (rows, cols)), shape=(n, n))


def _project(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Parameter t in [0, 1] of the closest point on segment a–b to p, and the distance."""
    d = b - a
    dd = np.einsum("ij,ij->i", d, d)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(dd > 0, np.einsum("ij,ij->i", p - a, d) / dd, 0.0)
    t = np.clip(t, 0.0, 1.0)
    q = a + t[:, None] * d
    return t, np.hypot(*(p - q).T)


def _split(u, v, length, line, seg, t, node):
    """Split edges at points: edge ``seg[i]`` gets node ``node[i]`` at fraction ``t[i]``.

    Several points on one edge make a chain ordered by t; the original edges are replaced.
    Returns the new (u, v, length, line) arrays.
    """
    return _split_stops(u, v, length, line, seg, t, node)[:4]


def _split_stops(u, v, length, line, seg, t, node):
    """As :func:`_split`, also returning the stops (edge, t, node) sorted by edge then t."""
    if len(seg) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return u, v, length, line, empty, np.zeros(0), empty
    hit = np.unique(seg)
    s = np.concatenate([seg, hit, hit])
    tt = np.concatenate([t, np.zeros(len(hit)), np.ones(len(hit))])
    nn = np.concatenate([node, u[hit], v[hit]])
    order = np.lexsort((tt, s))
    s, tt, nn = s[order], tt[order], nn[order]
    same = s[1:] == s[:-1]
    nu, nv = nn[:-1][same], nn[1:][same]
    nl = (tt[1:] - tt[:-1])[same] * length[s[1:][same]]
    keep = np.ones(len(u), dtype=bool)
    keep[hit] = False
    return (np.concatenate([u[keep], nu]), np.concatenate([v[keep], nv]),
            np.concatenate([length[keep], nl]), np.concatenate([line[keep], line[s[1:][same]]]), s, tt, nn)


def build_network(
    lines: Any,
    *,
    node_tolerance_m: float = 0.01,
    snap_tolerance_m: float = 0.5,
    node_crossings: bool = True,
    barriers: Any = None,
    exempt: np.ndarray | None = None,
) -> WalkNetwork:
    """Build the walking graph from a line layer.

    Parameters
    ----------
    lines : GeoDataFrame or GeoSeries
        LineStrings / MultiLineStrings in a projected CRS (metres) — the working CRS.
        Filter non-walkable features first (:func:`walkable_mask`).
    node_tolerance_m : float
        Vertices closer than this (m, on a grid) become one node.
    snap_tolerance_m : float
        A vertex within this distance (m) of another segment's interior is joined to it.
    node_crossings : bool
        Join segments where they cross without a shared vertex (never bridges or tunnels).
    barriers : GeoDataFrame, GeoSeries or array of geometries, optional
        Rivers, railways, expressways: segments touching them are removed unless exempt.
    exempt : ndarray of bool, optional
        Per input feature: bridges and tunnels (default :func:`exempt_mask` of ``lines``).

    Returns
    -------
    WalkNetwork

    Raises
    ------
    InputError
        If no walkable segment is left.
    """
    geoms = np.asarray(lines.geometry.values if hasattr(lines, "geometry") else lines, dtype=object)
    crs = getattr(lines, "crs", None)
    notes: list[str] = []
    if exempt is None:
        exempt = exempt_mask(lines) if hasattr(lines, "columns") else np.zeros(len(geoms), dtype=bool)
    parts, part_of = shapely.get_parts(geoms, return_index=True)
    kinds = shapely.get_type_id(parts)
    parts, part_of = parts[kinds == 1], part_of[kinds == 1]  # LineStrings only
    xy, idx = shapely.get_coordinates(parts, return_index=True)
    same = idx[1:] == idx[:-1]
    a, b = xy[:-1][same], xy[1:][same]
    seg_line = part_of[idx[:-1][same]]
    length = np.hypot(*(b - a).T)
    ok = length > 0
    a, b, seg_line, length = a[ok], b[ok], seg_line[ok], length[ok]
    if barriers is not None:
        bgeoms = np.asarray(barriers.geometry.values if hasattr(barriers, "geometry") else barriers, dtype=object)
        bgeoms = bgeoms[~(shapely.is_missing(bgeoms) | shapely.is_empty(bgeoms))]
        if len(bgeoms):
            segs = shapely.linestrings(np.stack([a, b], axis=1))
            si, _ = shapely.STRtree(bgeoms).query(segs, predicate="intersects")
            cut = np.zeros(len(a), dtype=bool)
            cut[si] = True
            cut &= ~exempt[seg_line]
            if cut.any():
                notes.append(f"{int(cut.sum())} network segment(s) touching the barriers removed "
                             f"(bridges and tunnels kept)")
            a, b, seg_line, length = a[~cut], b[~cut], seg_line[~cut], length[~cut]
    if len(a) == 0:
        raise InputError("the walking network has no usable segments (all filtered out or zero length)")
    n = len(a)
    keys = np.round(np.concatenate([a, b]) / node_tolerance_m).astype(np.int64)
    first, inv = _unique_rows(keys)
    node_xy = np.concatenate([a, b])[first]
    u, v = inv[:n].astype(np.int64), inv[n:].astype(np.int64)
    loop = u == v
    u, v, length, seg_line = u[~loop], v[~loop], length[~loop], seg_line[~loop]
    net = WalkNetwork(node_xy, u, v, length, seg_line.astype(np.int64), crs, notes)

    # T-junctions: vertices on (or within tolerance of) another segment's interior
    if snap_tolerance_m > 0:
        net = _join_vertices(net, snap_tolerance_m, exempt)
    if node_crossings:
        net = _node_crossings(net, exempt)
    return net


def _unique_rows(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(keys, axis=0, return_index=True, return_inverse=True)`` for integer (n, 2) keys, via one
    int64 per row where the extent allows (rows sort the same: by the first column, then the second)."""
    lo = keys.min(axis=0)
    span = keys.max(axis=0) - lo + 1
    if len(keys) == 0 or span[0] * span[1] >= 2**62:
        _, first, inv = np.unique(keys, axis=0, return_index=True, return_inverse=True)
        return first, inv.ravel()
    flat = (keys[:, 0] - lo[0]) * span[1] + (keys[:, 1] - lo[1])
    _, first, inv = np.unique(flat, return_index=True, return_inverse=True)
    return first, inv.ravel()


def _join_vertices(net: WalkNetwork, tol: float, exempt: np.ndarray) -> WalkNetwork:
    xy = net.node_xy
    pi, si = net.tree().query(shapely.box(*(xy - tol).T, *(xy + tol).T))  # candidates; distances below
    incident = (net.edge_u[si] == pi) | (net.edge_v[si] == pi)
    pi, si = pi[~incident], si[~incident]
    # nodes only on bridges/tunnels are not joined to what they pass over
    on_exempt = np.zeros(net.n_nodes, dtype=bool)
    if exempt.any():
        bridge_edges = exempt[np.clip(net.edge_line, 0, None)] & (net.edge_line >= 0)
        normal = np.zeros(net.n_nodes, dtype=bool)
        np.logical_or.at(normal, net.edge_u[~bridge_edges], True)
        np.logical_or.at(normal, net.edge_v[~bridge_edges], True)
        on_exempt = ~normal
        keep = ~on_exempt[pi] & ~bridge_edges[si]
        pi, si = pi[keep], si[keep]
    if len(pi) == 0:
        return net
    t, d = _project(net.node_xy[pi], net.node_xy[net.edge_u[si]], net.node_xy[net.edge_v[si]])
    L = net.edge_len_m[si]
    interior = (d <= tol) & (t * L > 1e-6) & ((1 - t) * L > 1e-6)
    pi, si, t, d = pi[interior], si[interior], t[interior], d[interior]
    if len(pi) == 0:
        return net
    # one join per (node, segment); a node close to several segments joins each
    exact = d <= 1e-9
    new_ids = np.where(exact, pi, net.n_nodes + np.cumsum(~exact) - 1)
    p = net.node_xy[net.edge_u[si]] + t[:, None] * (net.node_xy[net.edge_v[si]] - net.node_xy[net.edge_u[si]])
    node_xy = np.concatenate([net.node_xy, p[~exact]])
    u, v, length, line = _split(net.edge_u, net.edge_v, net.edge_len_m, net.edge_line, si, t, new_ids)
    # connectors from the vertex to its projection (zero-length joins need none)
    u = np.concatenate([u, pi[~exact]])
    v = np.concatenate([v, new_ids[~exact]])
    length = np.concatenate([length, d[~exact]])
    line = np.concatenate([line, np.full(int((~exact).sum()), -1)])
    notes = net.notes + [f"{len(pi)} vertex/segment junction(s) without a shared vertex joined "
                         f"(within {tol:g} m)"]
    return WalkNetwork(node_xy, u, v, length, line, net.crs, notes)


def _node_crossings(net: WalkNetwork, exempt: np.ndarray) -> WalkNetwork:
    tree = net.tree()
    i, j = tree.query(tree.geometries)  # bounding boxes only; the crossing test is done below in NumPy
    keep = i < j
    u, v = net.edge_u, net.edge_v
    keep &= (u[i] != u[j]) & (u[i] != v[j]) & (v[i] != u[j]) & (v[i] != v[j])
    if exempt.any():
        ex = exempt[np.clip(net.edge_line, 0, None)] & (net.edge_line >= 0)
        keep &= ~ex[i] & ~ex[j]
    i, j = i[keep], j[keep]
    if len(i) == 0:
        return net
    p0, p1 = net.node_xy[net.edge_u[i]], net.node_xy[net.edge_v[i]]
    q0, q1 = net.node_xy[net.edge_u[j]], net.node_xy[net.edge_v[j]]
    r, s = p1 - p0, q1 - q0
    den = r[:, 0] * s[:, 1] - r[:, 1] * s[:, 0]
    qp = q0 - p0
    ok = np.abs(den) > 1e-12
    with np.errstate(divide="ignore", invalid="ignore"):
        ti = (qp[:, 0] * s[:, 1] - qp[:, 1] * s[:, 0]) / den
        tj = (qp[:, 0] * r[:, 1] - qp[:, 1] * r[:, 0]) / den
    ok &= (ti > 0) & (ti < 1) & (tj > 0) & (tj < 1)
    i, j, ti, tj = i[ok], j[ok], ti[ok], tj[ok]
    k = len(i)
    if k == 0:
        return net
    ids = net.n_nodes + np.arange(k)
    node_xy = np.concatenate([net.node_xy, net.node_xy[net.edge_u[i]] + ti[:, None] * r[ok]])
    u, v, length, line = _split(net.edge_u, net.edge_v, net.edge_len_m, net.edge_line,
                                np.concatenate([i, j]), np.concatenate([ti, tj]), np.concatenate([ids, ids]))
    return WalkNetwork(node_xy, u, v, length, line, net.crs,
                       net.notes + [f"{k} crossing(s) without a shared vertex joined (bridges and tunnels kept apart)"])


def snap_points(net: WalkNetwork, xy: np.ndarray, max_dist_m: float) -> Snapped:
    """Snap points to their nearest edge within ``max_dist_m``.

    Parameters
    ----------
    net : WalkNetwork
    xy : ndarray (n, 2)
        Point coordinates in the network's CRS, m.
    max_dist_m : float
        Search distance, m; points farther from every edge are left unsnapped (edge −1).

    Returns
    -------
    Snapped
    """
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    n = len(xy)
    edge = np.full(n, -1, dtype=np.int64)
    t = np.zeros(n)
    off = np.full(n, np.inf)
    if n == 0:
        return Snapped(edge, t, off)
    left = np.ones(n, dtype=bool)  # not snapped yet
    tied = np.zeros(n, dtype=bool)  # equally near to several edges: left to GEOS's nearest-neighbour query
    # most points lie near a street: candidate edges from bounding boxes, exact distances in NumPy
    for r in _snap_radii(net, max_dist_m):
        todo = np.flatnonzero(left & ~tied)
        if len(todo) == 0:
            break
        pi, ei = net.tree().query(shapely.box(*(xy[todo] - r).T, *(xy[todo] + r).T))
        pi = todo[pi]
        tt, d = _project(xy[pi], net.node_xy[net.edge_u[ei]], net.node_xy[net.edge_v[ei]])
        near = d <= r  # every edge within r of the point is among the candidates: the nearest is exact
        best, tie = _nearest_per_group(pi[near], d[near])
        pi, ei, tt, d = pi[near][best], ei[near][best], tt[near][best], d[near][best]
        tied[pi[tie]] = True
        pi, ei, tt, d = pi[~tie], ei[~tie], tt[~tie], d[~tie]
        edge[pi], t[pi], off[pi] = ei, tt, d
        left[pi] = False
    todo = np.flatnonzero(left)
    if len(todo) == 0:
        return Snapped(edge, t, off)
    pi, ei = net.tree().query_nearest(shapely.points(xy[todo]), max_distance=max_dist_m, all_matches=False)
    pi = todo[pi]
    tt, d = _project(xy[pi], net.node_xy[net.edge_u[ei]], net.node_xy[net.edge_v[ei]])
    edge[pi], t[pi], off[pi] = ei, tt, d
    return Snapped(edge, t, off)


def _nearest_per_group(group: np.ndarray, dist: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Position of the smallest ``dist`` in each run of equal ``group`` values, and whether it is a tie.

    ``group`` must be sorted (as STRtree query results are, by input); it is sorted here if not. A
    group is a tie when another of its values lies within 1e-9 (relative) of the smallest.
    """
    if len(group) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool)
    order = np.arange(len(group)) if np.all(group[1:] >= group[:-1]) else np.argsort(group, kind="stable")
    g, d = group[order], dist[order]
    starts = np.flatnonzero(np.diff(g, prepend=g[0] - 1))
    run = np.repeat(np.arange(len(starts)), np.diff(np.append(starts, len(g))))
    dmin = np.minimum.reduceat(d, starts)
    close = d <= dmin[run] + 1e-9 * np.maximum(1.0, dmin[run])
    tie = np.add.reduceat(close.astype(np.int64), starts) > 1
    at_min = np.flatnonzero(d == dmin[run])
    first = at_min[np.diff(run[at_min], prepend=-1) > 0]  # one per group
    return order[first], tie


def _snap_radii(net: WalkNetwork, max_dist_m: float) -> list[float]:
    """Search distances (m) of the candidate rounds of :func:`snap_points`: a quarter and the whole of the
    median edge length, both below ``max_dist_m`` (the rest is left to a nearest-neighbour query)."""
    if net.n_edges == 0:
        return []
    med = float(np.median(net.edge_len_m))
    return [r for r in (0.25 * med, med) if 0 < r < max_dist_m]


def attach_points(net: WalkNetwork, targets: list[Snapped], sources: list[Snapped]) -> PointGraph:
    """Split the network at every source point and locate the target points on the split edges.

    Parameters
    ----------
    net : WalkNetwork
    targets : list of Snapped
        Point sets whose distance is read off (homes). They are not inserted as nodes: each is
        located on the split edge that holds it (see :class:`Located`), which gives the same
        distances as a virtual node with a far smaller graph.
    sources : list of Snapped
        Point sets searched from (entrances, candidate sites): each gets a virtual node on its edge
        and a leaf node joined to it by its connector.

    Returns
    -------
    PointGraph
    """
    edge = np.concatenate([s.edge for s in sources]) if sources else np.zeros(0, dtype=np.int64)
    t = np.concatenate([s.t for s in sources]) if sources else np.zeros(0)
    ok = edge >= 0
    e, tt = edge[ok], t[ok]
    L = net.edge_len_m[e]
    node = np.empty(len(e), dtype=np.int64)
    at_u = tt * L <= 1e-9
    at_v = ~at_u & ((1 - tt) * L <= 1e-9)
    mid = ~at_u & ~at_v
    node[at_u] = net.edge_u[e[at_u]]
    node[at_v] = net.edge_v[e[at_v]]
    node[mid] = net.n_nodes + np.arange(int(mid.sum()))
    eu, ev = net.node_xy[net.edge_u[e[mid]]], net.node_xy[net.edge_v[e[mid]]]
    node_xy = np.concatenate([net.node_xy, eu + tt[mid, None] * (ev - eu)])
    u, v, length, _, stop_e, stop_t, stop_n = _split_stops(net.edge_u, net.edge_v, net.edge_len_m, net.edge_line,
                                                           e[mid], tt[mid], node[mid])
    all_nodes = np.full(len(edge), -1, dtype=np.int64)
    all_nodes[ok] = node
    out_sources: list[np.ndarray] = []
    start = 0
    n_now = len(node_xy)
    leaf_u, leaf_v, leaf_w = [], [], []
    for s in sources:
        nodes = all_nodes[start:start + len(s)]
        start += len(s)
        good = nodes >= 0
        leaves = np.full(len(s), -1, dtype=np.int64)
        leaves[good] = n_now + np.arange(int(good.sum()))
        n_now += int(good.sum())
        leaf_u.append(leaves[good])
        leaf_v.append(nodes[good])
        leaf_w.append(s.offset_m[good])
        node_xy = np.concatenate([node_xy, node_xy[nodes[good]]])
        out_sources.append(leaves)
    gu = np.concatenate([u] + leaf_u)
    gv = np.concatenate([v] + leaf_v)
    gw = np.concatenate([length] + leaf_w)
    csr = _csr(len(node_xy), gu, gv, gw)
    located = [_locate(net, s, stop_e, stop_t, stop_n) for s in targets]
    return PointGraph(csr, node_xy, u, v, length, out_sources, located)


def _locate(net: WalkNetwork, s: Snapped, stop_e: np.ndarray, stop_t: np.ndarray, stop_n: np.ndarray) -> Located:
    """Place snapped points on the split edges (stops: the split points of each edge, sorted, ends included)."""
    n = len(s)
    a = np.full(n, -1, dtype=np.int64)
    b = np.full(n, -1, dtype=np.int64)
    da = np.zeros(n)
    db = np.zeros(n)
    ok = s.edge >= 0
    e, t = s.edge[ok], s.t[ok]
    L = net.edge_len_m[e]
    aa, bb = net.edge_u[e].copy(), net.edge_v[e].copy()
    ta, tb = np.zeros(len(e)), np.ones(len(e))
    if len(stop_e):
        split = np.isin(e, stop_e)
        key = stop_e * 2.0 + stop_t  # t in [0, 1]: edges stay apart and sorted
        pos = np.searchsorted(key, e[split] * 2.0 + t[split], side="right") - 1
        last = stop_t[pos] >= 1.0  # a point at the very end: use the piece before it
        pos = np.where(last, pos - 1, pos)
        aa[split], bb[split] = stop_n[pos], stop_n[pos + 1]
        ta[split], tb[split] = stop_t[pos], stop_t[pos + 1]
    a[ok], b[ok] = aa, bb
    da[ok] = np.clip(t - ta, 0, None) * L
    db[ok] = np.clip(tb - t, 0, None) * L
    return Located(a, b, da, db, np.where(ok, s.offset_m, np.inf))


def multi_source(graph: PointGraph, sources: np.ndarray, limit_m: float = np.inf) -> tuple[np.ndarray, np.ndarray]:
    """Distance from every node to its nearest source, in one multi-source Dijkstra.

    Parameters
    ----------
    graph : PointGraph
    sources : ndarray of int
        Source nodes (leaves of a source point set); negative entries are ignored.
    limit_m : float
        Stop searching beyond this distance (m); farther nodes get inf.

    Returns
    -------
    dist_m : ndarray of float64
        Per node, m (inf: unreachable or beyond the limit).
    nearest : ndarray of int64
        Per node, the source node it is nearest to (−9999 where dist is inf).
    """
    from scipy.sparse.csgraph import dijkstra

    src = np.unique(sources[sources >= 0])
    n = graph.csr.shape[0]
    if len(src) == 0:
        return np.full(n, np.inf), np.full(n, -9999, dtype=np.int64)
    dist, _, nearest = dijkstra(graph.csr, directed=True, indices=src, min_only=True, limit=limit_m,
                                return_predecessors=True)
    return dist, nearest.astype(np.int64)


def source_matrix(graph: PointGraph, sources: np.ndarray, targets: Located, limit_m: float,
                  wanted: np.ndarray | None = None, max_bytes: int = 200_000_000
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (source, target) within ``limit_m`` by the network, searching sources in batches.

    Each batch is one Dijkstra call with several sources (rows) and a ``limit``; only the columns of
    the targets' edge ends are read, so memory is bounded by ``max_bytes``.

    Parameters
    ----------
    sources : ndarray of int
        Source leaves (−1 ignored).
    targets : Located
    limit_m : float
    wanted : ndarray of bool, optional
        Only these targets.

    Returns
    -------
    source_index, target_index : ndarray of int64
        Positions in ``sources`` and ``targets``.
    dist_m : ndarray of float64
        Network distance including both connectors, m (≤ ``limit_m``).
    """
    from scipy.sparse.csgraph import dijkstra

    n = graph.csr.shape[0]
    sel = targets.ok if wanted is None else targets.ok & wanted
    ti = np.flatnonzero(sel)
    ta, tb = targets.a[ti], targets.b[ti]
    da, db, off = targets.da_m[ti], targets.db_m[ti], targets.offset_m[ti]
    ok_s = np.flatnonzero(sources >= 0)
    batch = max(1, int(max_bytes // (8 * n)))
    out_s, out_t, out_d = [], [], []
    for start in range(0, len(ok_s), batch):
        rows = ok_s[start:start + batch]
        d = dijkstra(graph.csr, directed=True, indices=sources[rows], limit=limit_m)
        dt = np.minimum(d[:, ta] + da[None, :], d[:, tb] + db[None, :]) + off[None, :]
        r, c = np.nonzero(dt <= limit_m)
        out_s.append(rows[r])
        out_t.append(ti[c])
        out_d.append(dt[r, c])
    if not out_s:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0)
    return np.concatenate(out_s), np.concatenate(out_t), np.concatenate(out_d)


def reachable_segments(graph: PointGraph, dist_m: np.ndarray, radius_m: float) -> np.ndarray:
    """The parts of the network's edges within ``radius_m`` of the sources, as segment end points.

    Each edge is straight, so the reachable part from each end is a straight piece; where the two
    pieces meet the whole edge is reachable.

    Parameters
    ----------
    graph : PointGraph
    dist_m : ndarray
        Node distances from :func:`multi_source`, m.
    radius_m : float
        Metres.

    Returns
    -------
    ndarray (n, 2, 2)
        Start and end point (x, y; working CRS, m) of each reachable piece.
    """
    u, v, L = graph.edge_u, graph.edge_v, graph.edge_len_m
    du, dv = dist_m[u], dist_m[v]
    ru = np.clip(radius_m - du, 0.0, None)
    rv = np.clip(radius_m - dv, 0.0, None)
    ru = np.where(np.isfinite(du) & (du <= radius_m), ru, -1.0)
    rv = np.where(np.isfinite(dv) & (dv <= radius_m), rv, -1.0)
    pu, pv = graph.node_xy[u], graph.node_xy[v]
    with np.errstate(invalid="ignore", divide="ignore"):
        fu = np.where(L > 0, np.clip(ru / L, 0, 1), 1.0)
        fv = np.where(L > 0, np.clip(rv / L, 0, 1), 1.0)
    whole = (ru >= 0) & (rv >= 0) & (np.maximum(ru, 0) + np.maximum(rv, 0) >= L)
    whole |= (ru >= L) | (rv >= L)
    part_u = (ru > 0) & ~whole
    part_v = (rv > 0) & ~whole
    segs = [np.stack([pu[whole], pv[whole]], axis=1),
            np.stack([pu[part_u], pu[part_u] + fu[part_u, None] * (pv[part_u] - pu[part_u])], axis=1),
            np.stack([pv[part_v], pv[part_v] + fv[part_v, None] * (pu[part_v] - pv[part_v])], axis=1)]
    return np.concatenate(segs)


def reachable_pieces(graph: PointGraph, dist_m: np.ndarray, radius_m: float) -> np.ndarray:
    """The parts of the network's edges within ``radius_m`` of the sources, as LineStrings.

    See :func:`reachable_segments` (the same pieces as coordinates).

    Returns
    -------
    ndarray of shapely LineString
    """
    coords = reachable_segments(graph, dist_m, radius_m)
    if len(coords) == 0:
        return np.zeros(0, dtype=object)
    return shapely.linestrings(coords)


def service_area_polygon(pieces: np.ndarray, buffer_m: float, max_cells: int = 4000) -> Any:
    """The area within ``buffer_m`` of reachable street pieces, as a (Multi)Polygon for display.

    The pieces are burnt into a grid of ``buffer_m / 2.5`` m cells (coarser if the extent would
    need more than ``max_cells`` per side), grown by ``buffer_m`` (every cell whose centre lies within
    ``buffer_m`` of a burnt cell's centre: a dilation by a disc) and turned back into polygons: the
    outline follows the cells (steps of a fifth of the buffer), which is ample for a map and far
    faster than unioning thousands of buffers. Statistics never use this polygon (they use home points).

    Parameters
    ----------
    pieces : ndarray of two-point shapely LineString, or ndarray (n, 2, 2) of their end points
        Working CRS, m (:func:`reachable_pieces` / :func:`reachable_segments`).
    buffer_m : float
        Metres.

    Returns
    -------
    shapely (Multi)Polygon in the pieces' CRS
    """
    from affine import Affine
    from rasterio.features import shapes
    from scipy import ndimage

    coords = np.asarray(pieces)
    if coords.dtype == object:
        coords = shapely.get_coordinates(coords).reshape(-1, 2, 2)  # pieces are two-point segments
    if len(coords) == 0:
        return shapely.Polygon()
    x0, y0 = coords.reshape(-1, 2).min(axis=0)
    x1, y1 = coords.reshape(-1, 2).max(axis=0)
    x0, y0, x1, y1 = x0 - 2 * buffer_m, y0 - 2 * buffer_m, x1 + 2 * buffer_m, y1 + 2 * buffer_m
    res = max(buffer_m / 2.5, (x1 - x0) / max_cells, (y1 - y0) / max_cells, 1e-3)
    w, h = int(np.ceil((x1 - x0) / res)), int(np.ceil((y1 - y0) / res))
    transform = Affine(res, 0, x0, 0, -res, y0 + h * res)
    # burn the pieces: points every half cell along each piece (vectorised, no per-geometry Python)
    p0, p1 = coords[:, 0], coords[:, 1]
    steps = np.maximum(1, np.ceil(np.hypot(*(p1 - p0).T) / (res / 2)).astype(np.int64)) + 1
    seg = np.repeat(np.arange(len(coords)), steps)
    k = np.arange(len(seg)) - np.repeat(np.cumsum(steps) - steps, steps)
    f = k / (steps[seg] - 1).clip(1)
    xy = p0[seg] + f[:, None] * (p1[seg] - p0[seg])
    cols = np.clip(((xy[:, 0] - x0) / res).astype(np.int64), 0, w - 1)
    rows = np.clip(((y0 + h * res - xy[:, 1]) / res).astype(np.int64), 0, h - 1)
    lines = np.zeros((h, w), dtype=bool)
    lines[rows, cols] = True
    r = int(np.floor(buffer_m / res))
    dy, dx = np.mgrid[-r:r + 1, -r:r + 1]
    disc = np.sqrt(dx * dx + dy * dy) * res <= buffer_m  # as a Euclidean distance transform would measure
    near = ndimage.binary_dilation(lines, structure=disc)
    polys = _polygons([g["coordinates"] for g, val in shapes(near.astype("uint8"), mask=near, transform=transform)
                       if val == 1])
    if not len(polys):
        return shapely.Polygon()
    return shapely.multipolygons(polys) if len(polys) > 1 else polys[0]


def _polygons(rings_of: list[list[Any]]) -> np.ndarray:
    """Polygons from GeoJSON-style ring lists (shell first, then holes), built in one vectorised call."""
    if not rings_of:
        return np.zeros(0, dtype=object)
    rings = [np.asarray(r, dtype=np.float64) for rr in rings_of for r in rr]
    ring_poly = np.repeat(np.arange(len(rings_of)), [len(rr) for rr in rings_of])
    ring_geoms = shapely.linearrings(np.concatenate(rings), indices=np.repeat(np.arange(len(rings)),
                                                                              [len(r) for r in rings]))
    return shapely.polygons(ring_geoms, indices=ring_poly)


def pseudo_entrances(polygons: np.ndarray, net: WalkNetwork, *, max_dist_m: float = 30.0,
                     spacing_m: float = 20.0) -> tuple[np.ndarray, np.ndarray]:
    """Entrances along park boundaries wherever a walkable edge passes within ``max_dist_m``.

    The boundary of each polygon is sampled every ``spacing_m`` (at the middle of each interval);
    every sample within ``max_dist_m`` of a walkable edge is an entrance. Distances measured from
    these entrances are therefore at most ``spacing_m / 2`` longer than from the best point of the
    boundary.

    Parameters
    ----------
    polygons : ndarray of shapely (Multi)Polygon
        Working CRS.
    net : WalkNetwork
    max_dist_m, spacing_m : float
        Metres.

    Returns
    -------
    owner : ndarray of int64
        Index into ``polygons`` of each entrance.
    xy : ndarray (n, 2)
        Entrance points on the polygon boundary, m.
    """
    polys = np.asarray(polygons, dtype=object)
    if len(polys) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 2))
    rings = shapely.boundary(polys)
    parts, owner = shapely.get_parts(rings, return_index=True)
    lengths = shapely.length(parts)
    counts = np.maximum(1, np.ceil(lengths / spacing_m).astype(np.int64))
    rep_part = np.repeat(np.arange(len(parts)), counts)
    k = np.arange(len(rep_part)) - np.repeat(np.cumsum(counts) - counts, counts)
    dist = (k + 0.5) * (lengths[rep_part] / counts[rep_part])
    pts = shapely.line_interpolate_point(parts[rep_part], dist)
    sample_owner = owner[rep_part]
    near = net.tree().query(pts, predicate="dwithin", distance=max_dist_m)[0]
    near = np.unique(near)
    return sample_owner[near].astype(np.int64), shapely.get_coordinates(pts[near])
