"""Green-space reach: profiles, network graph, golden hand-computed cases, properties, indicators, siting."""

from __future__ import annotations

import math

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Point, box

from kunsink.errors import ConfigError, InputError
from kunsink.greenspace import network as nw
from kunsink.greenspace.coverage import compute_coverage, home_cells, prepare_residential, qualifying_mask
from kunsink.greenspace.indicators import compute_indicators, raster_shares
from kunsink.greenspace.profiles import list_profiles, load_profile, profile_from_dict
from kunsink.greenspace.siting import choose_sites, greedy_mclp, solve_mclp

CRS = "EPSG:4546"
X0, Y0 = 390_000.0, 4_500_000.0  # inside Kundulun, so layer checks pass


def _gdf(geoms, crs=CRS, **cols):
    return gpd.GeoDataFrame(cols, geometry=list(geoms), crs=crs)


def one_rule(radius: float, min_area: float = 0.0, mode: str = "line", parks_only: bool = False) -> dict:
    return {"id": "test", "version": "0", "source": "test", "verified": False,
            "rules": [{"id": "r", "radius_m": radius, "min_area_m2": min_area, "parks_only": parks_only,
                       "official_mode": mode}]}


# --- profiles ----------------------------------------------------------------------------------

def test_bundled_profiles_are_versioned_sourced_and_flagged():
    ids = list_profiles()
    assert ids[0] == "cn-300-500"
    assert set(ids) == {"cn-300-500", "cn-garden-city", "gb50180", "3-30-300", "who-europe", "sdg-11.7.1",
                        "parkserve-10min"}
    for pid in ids:
        p = load_profile(pid)
        assert p.id == pid and p.version and p.source and isinstance(p.verified, bool)
        assert all(r.source for r in p.rules)
    d = load_profile()
    assert [(r.id, r.tiers[0].radius_m, r.tiers[0].min_area_m2) for r in d.rules] == \
        [("green_300", 300, 400), ("park_500", 500, 10_000)]
    assert d.targets["park_area_per_person_m2"].target == 8.0 and d.targets["park_service_coverage_pct"].target == 80
    assert load_profile("cn-garden-city").rules[0].radius_text == "500/300 m"
    assert [r.max_radius_m for r in load_profile("gb50180").rules] == [300, 500, 1000]
    assert load_profile("parkserve-10min").rules[0].max_radius_m == 805
    assert load_profile("3-30-300").headline_share == "population"


def test_custom_yaml_profile(tmp_path):
    path = tmp_path / "mine.yaml"
    spec = one_rule(250, 300)
    spec["indicators"] = {"green_land_ratio_pct": {"target": 35, "op": ">="}}
    path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    p = load_profile(path)
    assert p.rules[0].tiers[0].radius_m == 250 and p.targets["green_land_ratio_pct"].passes(36.0) is True
    assert p.path == str(path)


@pytest.mark.parametrize("mutate,words", [
    (lambda d: d["rules"][0].update(radius_m=-5), "greater than 0"),
    (lambda d: d["rules"][0].update(radious_m=300), "unknown key(s) radious_m"),
    (lambda d: d.pop("source"), "missing key 'source'"),
    (lambda d: d.update(verified=True), "verified: true but rule(s) r"),
    (lambda d: d["rules"].append(dict(d["rules"][0])), "used twice"),
    (lambda d: d["rules"][0].update(min_area_m2=500, max_area_m2=100), "must be greater than min_area_m2"),
    (lambda d: d["rules"][0].update(official_mode="car"), "line or network"),
    (lambda d: d.update(indicators={"park_area_per_person_m2": {"target": "eight"}}), "must be a number"),
    (lambda d: d.update(rules=[]), "non-empty list"),
])
def test_invalid_profiles_say_what_is_wrong(mutate, words):
    d = one_rule(300)
    mutate(d)
    with pytest.raises(ConfigError, match=None) as e:
        profile_from_dict(d, "bad.yaml")
    assert words in str(e.value) and "\n" not in str(e.value)


def test_unknown_profile_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="unknown profile"):
        load_profile("cn-999")
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: [unclosed", encoding="utf-8")
    with pytest.raises(ConfigError, match="not readable YAML"):
        load_profile(bad)


# --- network: golden cases -------------------------------------------------------------------

def _t_network():
    """A street along y = 0 (x 0…1000), a side street x = 500 (y 0…400) sharing a vertex, and x = 800
    (y 300…0) ending on the first street's interior without a shared vertex."""
    lines = [LineString([(X0, Y0), (X0 + 500, Y0), (X0 + 1000, Y0)]),
             LineString([(X0 + 500, Y0), (X0 + 500, Y0 + 400)]),
             LineString([(X0 + 800, Y0 + 300), (X0 + 800, Y0)])]
    return _gdf(lines, highway=["primary", "residential", "footway"])


def test_golden_network_distances():
    net = nw.build_network(_t_network())
    assert any("junction" in n for n in net.notes)
    homes = np.array([[X0 + 800, Y0 + 200], [X0 + 500, Y0 + 100], [X0 + 300, Y0 + 30], [X0 + 1000, Y0 + 40]])
    ent = np.array([[X0 + 100, Y0 + 5]])
    hs, es = nw.snap_points(net, homes, 100.0), nw.snap_points(net, ent, 100.0)
    g = nw.attach_points(net, [hs], [es])
    d, nearest = nw.multi_source(g, g.sources[0], 5000.0)
    got = g.targets[0].dist(d)
    # by hand: 200 down + 700 along + 5 entrance; 100 + 400 + 5; 30 + 200 + 5; 40 + 900 + 5
    np.testing.assert_allclose(got, [905.0, 505.0, 235.0, 945.0], atol=1e-9)
    assert set(nearest[g.targets[0].via(d)]) == {g.sources[0][0]}
    # the limit cuts the search; without the T-junction join the x = 800 street is a separate component
    d2, _ = nw.multi_source(g, g.sources[0], 600.0)
    assert np.isinf(g.targets[0].dist(d2)[0]) and np.isfinite(g.targets[0].dist(d2)[1])
    loose = nw.build_network(_t_network(), snap_tolerance_m=0)
    g3 = nw.attach_points(loose, [nw.snap_points(loose, homes, 100.0)], [nw.snap_points(loose, ent, 100.0)])
    d3, _ = nw.multi_source(g3, g3.sources[0])
    assert np.isinf(g3.targets[0].dist(d3)[0])


def test_several_points_on_one_edge_are_chained():
    net = nw.build_network(_gdf([LineString([(X0, Y0), (X0 + 100, Y0)])]))
    pts = np.array([[X0 + 70, Y0 + 1], [X0 + 20, Y0 - 2], [X0 + 50, Y0]])
    g = nw.attach_points(net, [nw.snap_points(net, pts[1:], 10)], [nw.snap_points(net, pts[:1], 10)])
    d, _ = nw.multi_source(g, g.sources[0])
    np.testing.assert_allclose(g.targets[0].dist(d), [1 + 50 + 2, 1 + 20 + 0], atol=1e-9)


def test_barriers_cut_the_network_but_not_bridges():
    bottom = LineString([(X0 + x, Y0) for x in (0, 50, 80, 120, 150, 200)])  # only 80…120 touches the river
    lines = _gdf([bottom, LineString([(X0, Y0 + 50), (X0 + 200, Y0 + 50)]),
                  LineString([(X0, Y0), (X0, Y0 + 50)]), LineString([(X0 + 200, Y0), (X0 + 200, Y0 + 50)])],
                 is_bridge=[False, True, False, False])
    river = _gdf([box(X0 + 90, Y0 - 100, X0 + 110, Y0 + 200)])
    net = nw.build_network(lines, barriers=river)
    assert "removed" in net.notes[0]
    a, b = np.array([[X0 + 10, Y0]]), np.array([[X0 + 190, Y0]])
    g = nw.attach_points(net, [nw.snap_points(net, b, 5)], [nw.snap_points(net, a, 5)])
    d, _ = nw.multi_source(g, g.sources[0])
    assert g.targets[0].dist(d)[0] == pytest.approx(10 + 50 + 200 + 50 + 10)  # round by the bridge


def test_crossings_joined_except_bridges_and_when_told():
    lines = _gdf([LineString([(X0, Y0), (X0 + 100, Y0)]), LineString([(X0 + 50, Y0 - 50), (X0 + 50, Y0 + 50)])])
    crossed = nw.build_network(lines)
    assert crossed.components().max() == 0 and crossed.n_edges == 4 and "crossing" in crossed.notes[-1]
    assert nw.build_network(lines, node_crossings=False).components().max() == 1
    bridge = lines.assign(bridge=[None, "yes"])
    assert nw.build_network(bridge).components().max() == 1
    assert nw.build_network(lines.assign(layer=[0, 1])).components().max() == 1


def test_walkable_filter():
    lines = _gdf([LineString([(0, 0), (1, 0)])] * 5,
                 highway=["motorway", "footway", "residential", "快速路", "service"],
                 foot=[None, None, "no", None, None])
    assert nw.walkable_mask(lines).tolist() == [False, True, False, False, True]


def test_pseudo_entrances_sit_on_the_boundary_next_to_streets():
    net = nw.build_network(_gdf([LineString([(X0, Y0), (X0 + 300, Y0)])]))
    parks = np.array([box(X0 + 100, Y0 + 10, X0 + 200, Y0 + 110), box(X0 + 100, Y0 + 60, X0 + 200, Y0 + 160)])
    owner, xy = nw.pseudo_entrances(parks, net, max_dist_m=30.0)
    assert set(owner.tolist()) == {0}  # the second park is 60 m from the street
    assert np.allclose(shapely.distance(shapely.points(xy), parks[0].boundary), 0.0, atol=1e-6)


# --- coverage: golden line case ----------------------------------------------------------------

def _square_scene():
    res = _gdf([box(X0, Y0, X0 + 100, Y0 + 100)], res_id=["A"], population=[1000.0])
    green = _gdf([box(X0 + 200, Y0, X0 + 220, Y0 + 100)], gs_id=["G"], is_park=[True], public_access=[True])
    return res, green


def test_golden_line_coverage_half_covered():
    res, green = _square_scene()
    r = compute_coverage(res, green, one_rule(150.0), modes="line")
    row = r.neighbourhoods.iloc[0]
    assert row["r_line_share"] == pytest.approx(0.5, abs=1e-9)  # x ≥ 50 is within 150 m of x = 200
    assert row["r_line_pop"] == pytest.approx(500.0)
    assert row["r_line_m"] == pytest.approx(150.0, abs=1e-6)  # the point on surface is at x = 50
    s = r.summary["rules"]["r"]["line"]
    assert s["area_covered_pct"] == pytest.approx(50.0) and s["population_covered_pct"] == pytest.approx(50.0)
    assert r.gaps.iloc[0]["area_m2"] == pytest.approx(5000.0, rel=1e-9)
    assert "straight-line distances only" not in " ".join(r.summary["notes"])


def test_overlapping_neighbourhoods_counted_once():
    res = _gdf([box(X0, Y0, X0 + 100, Y0 + 100), box(X0 + 50, Y0, X0 + 150, Y0 + 100)], res_id=["A", "B"],
               population=[100.0, 100.0])
    green = _gdf([box(X0 + 300, Y0, X0 + 320, Y0 + 100)], gs_id=["G"])
    r = compute_coverage(res, green, one_rule(200.0), modes="line")
    assert r.summary["residential_area_m2"] == pytest.approx(15_000.0)
    # covered x ≥ 100: 5,000 m² of the 15,000 m² union
    assert r.summary["rules"]["r"]["line"]["area_covered_pct"] == pytest.approx(100 / 3)
    assert any("overlap" in n and "counted once" in n for n in r.summary["notes"])
    homes = home_cells(r.state["residential"], 10.0)
    assert homes.district_area_m2.sum() == pytest.approx(15_000.0)
    assert homes.area_m2.sum() == pytest.approx(20_000.0)


def test_population_spread_by_area_and_required():
    res = _gdf([box(X0, Y0, X0 + 100, Y0 + 100), box(X0 + 200, Y0, X0 + 400, Y0 + 100)], res_id=["A", "B"])
    out, notes, basis = prepare_residential(res, 30_000.0)
    assert out["population"].tolist() == pytest.approx([10_000.0, 20_000.0]) and basis == "spread by area"
    assert "spread" in notes[0]
    green = _gdf([box(X0 + 120, Y0, X0 + 180, Y0 + 100)], gs_id=["G"])
    with pytest.raises(InputError, match="population-total"):
        compute_coverage(res, green, "3-30-300", modes="line")
    r = compute_coverage(res, green, "cn-300-500", modes="line")
    assert r.summary["rules"]["green_300"]["line"]["population_covered_pct"] is None


def test_duplicate_and_zero_area_parks_refused():
    res, green = _square_scene()
    two = pd.concat([green, green], ignore_index=True)
    with pytest.raises(InputError, match="used more than once"):
        compute_coverage(res, two, modes="line")
    flat = _gdf([Point(X0 + 200, Y0).buffer(10), shapely.Polygon()], gs_id=["G1", "G2"])
    with pytest.raises(InputError, match="zero area"):
        compute_coverage(res, flat, modes="line")


def test_qualifying_mask_area_width_park_public():
    g = _gdf([box(0, 0, 100, 100), box(0, 0, 400, 5), box(0, 0, 10, 10), box(0, 0, 150, 100)],
             is_park=[True, True, True, False], public_access=[True, True, True, True])
    from kunsink.greenspace.coverage import prepare_greenspace

    gg, _ = prepare_greenspace(g)
    t = load_profile().rules[0].tiers[0]  # ≥ 400 m², ≥ 8 m wide
    assert qualifying_mask(gg, t).tolist() == [True, False, False, True]
    t2 = load_profile().rules[1].tiers[0]  # parks ≥ 1 ha
    assert qualifying_mask(gg, t2).tolist() == [True, False, False, False]


def test_network_coverage_small_grid():
    """A 3×3 grid of streets 200 m apart; a park in one corner block; homes in the opposite block."""
    lines = []
    for k in range(4):
        lines += [LineString([(X0, Y0 + 200 * k), (X0 + 600, Y0 + 200 * k)]),
                  LineString([(X0 + 200 * k, Y0), (X0 + 200 * k, Y0 + 600)])]
    net = _gdf(lines)
    res = _gdf([box(X0 + 410, Y0 + 410, X0 + 590, Y0 + 590)], res_id=["far"], population=[100.0])
    green = _gdf([box(X0 + 10, Y0 + 10, X0 + 190, Y0 + 190)], gs_id=["P"], is_park=[True])
    gate = _gdf([Point(X0 + 190, Y0 + 190)], gs_id=["P"])
    r = compute_coverage(res, green, one_rule(1000.0, mode="network"), network=net, entrances=gate, modes="both",
                         cell_m=20)
    row = r.neighbourhoods.iloc[0]
    # centre (500, 500) → 100 m to a street; gate (190, 190) → 10 m to a street at (200, 190) or (190, 200);
    # then 10 m to the crossing (200, 200) and 500 m along the grid to the home's street point
    assert row["r_net_m"] == pytest.approx(100 + 500 + 10 + 10, abs=1e-6)
    assert r.summary["network"]["entrances_given"] == 1 and r.summary["network"]["entrances_pseudo"] == 0
    # pseudo-entrances every 20 m along the boundary: the best one is 10 m from the corner, 10 m further
    pseudo = compute_coverage(res, green, one_rule(1000.0, mode="network"), network=net, modes="network", cell_m=20)
    assert pseudo.neighbourhoods.iloc[0]["r_net_m"] == pytest.approx(630.0, abs=1e-6)
    assert row["r_line_m"] == pytest.approx(math.hypot(310, 310), abs=1e-6)
    assert row["r_net_share"] == pytest.approx(1.0)
    short = compute_coverage(res, green, one_rule(200.0, mode="network"), network=net, modes="network", cell_m=20)
    assert short.neighbourhoods.iloc[0]["r_net_share"] == 0.0
    assert short.summary["network"]["entrances_pseudo"] >= 4


# --- properties ---------------------------------------------------------------------------------

@st.composite
def scenes(draw):
    n = draw(st.integers(3, 5))
    rng = np.random.default_rng(draw(st.integers(0, 10_000)))
    pts = np.stack(np.meshgrid(np.arange(n) * 150.0, np.arange(n) * 150.0), -1).reshape(-1, 2)
    pts += rng.uniform(-30, 30, pts.shape) + [X0, Y0]
    idx = np.arange(n * n).reshape(n, n)
    pairs = np.concatenate([np.stack([idx[:, :-1].ravel(), idx[:, 1:].ravel()], 1),
                            np.stack([idx[:-1, :].ravel(), idx[1:, :].ravel()], 1)])
    pairs = pairs[rng.random(len(pairs)) > 0.15]
    lines = [LineString([pts[a], pts[b]]) for a, b in pairs]
    span = 150.0 * (n - 1)
    parks = [box(X0 + x, Y0 + y, X0 + x + w, Y0 + y + h) for x, y, w, h in
             rng.uniform([0, 0, 20, 20], [span, span, 80, 80], (draw(st.integers(1, 3)), 4))]
    homes = rng.uniform([X0 - 20, Y0 - 20], [X0 + span + 20, Y0 + span + 20], (draw(st.integers(5, 30)), 2))
    return _gdf(lines), parks, homes


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenes())
def test_network_distance_is_never_shorter_than_straight_line(scene):
    lines, parks, homes = scene
    net = nw.build_network(lines)
    owner, exy = nw.pseudo_entrances(np.array(parks), net, max_dist_m=40.0)
    if len(owner) == 0:
        return
    g = nw.attach_points(net, [nw.snap_points(net, homes, 1e4)], [nw.snap_points(net, exy, 1e4)])
    d, _ = nw.multi_source(g, g.sources[0])
    dn = g.targets[0].dist(d)
    dl = shapely.distance(shapely.points(homes)[:, None], np.array(parks)[owner][None, :]).min(axis=1)
    fin = np.isfinite(dn)
    assert np.all(dn[fin] >= dl[fin] - 1e-6)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenes())
def test_scipy_multi_source_equals_networkx(scene):
    """Distances to home points located on edges equal networkx on a graph with the homes as real nodes."""
    lines, parks, homes = scene
    net = nw.build_network(lines)
    src_pts = homes[:3] + 7.0
    hs, ss = nw.snap_points(net, homes, 1e4), nw.snap_points(net, src_pts, 1e4)
    g = nw.attach_points(net, [hs], [ss])
    d, _ = nw.multi_source(g, g.sources[0])
    got = g.targets[0].dist(d)
    # reference: homes and sources both inserted as nodes (the two as sources and targets of one split)
    both = nw.attach_points(net, [], [hs, ss])
    G = nx.from_scipy_sparse_array(both.csr, edge_attribute="length")
    ref = nx.multi_source_dijkstra_path_length(G, set(both.sources[1][both.sources[1] >= 0].tolist()), weight="length")
    ref_d = np.array([ref.get(int(leaf), np.inf) if leaf >= 0 else np.inf for leaf in both.sources[0]])
    np.testing.assert_allclose(got, ref_d, atol=1e-6)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenes(), st.floats(50, 250), st.floats(1, 300))
def test_coverage_is_monotone_in_radius(scene, r1, extra):
    lines, parks, homes = scene
    res = _gdf([Point(x, y).buffer(40, quad_segs=4) for x, y in homes[:6]], population=np.full(min(6, len(homes)), 10.0))
    green = _gdf(parks)
    shares = []
    for r in (r1, r1 + extra):
        cov = compute_coverage(res, green, one_rule(r), network=lines, modes="both", cell_m=20)
        shares.append((cov.summary["rules"]["r"]["line"]["area_covered_pct"],
                       cov.summary["rules"]["r"]["network"]["area_covered_pct"]))
    assert shares[1][0] >= shares[0][0] - 1e-9 and shares[1][1] >= shares[0][1] - 1e-9


# --- siting ----------------------------------------------------------------------------------------

def test_mclp_beats_greedy_where_greedy_is_myopic():
    pytest.importorskip("pulp")
    from scipy.sparse import csr_matrix

    # demand 0..5, weight 1 each; A covers 0-3, B covers 0,1,4, C covers 2,3,5
    cover = {0: [0, 1, 2, 3], 1: [0, 1, 4], 2: [2, 3, 5]}
    rows = [d for s in cover.values() for d in s]
    cols = [s for s, ds in cover.items() for _ in ds]
    A = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(6, 3))
    w = np.ones(6)
    assert sorted(greedy_mclp(A, w, 2)) in ([0, 1], [0, 2])  # 5 covered
    chosen, status = solve_mclp(A, w, 2)
    assert sorted(chosen) == [1, 2] and status.startswith("Optimal")  # 6 covered


def test_choose_sites_golden(tmp_path):
    # two uncovered neighbourhoods, one with more people; candidates next to each and one useless
    res = _gdf([box(X0, Y0, X0 + 100, Y0 + 100), box(X0 + 2000, Y0, X0 + 2100, Y0 + 100)], res_id=["A", "B"],
               population=[500.0, 2000.0])
    green = _gdf([box(X0 + 5000, Y0, X0 + 5100, Y0 + 100)], gs_id=["far"], is_park=[True])
    cov = compute_coverage(res, green, "cn-300-500", modes="line", cell_m=10)
    cands = _gdf([Point(X0 + 150, Y0 + 50), Point(X0 + 2150, Y0 + 50), Point(X0 + 9000, Y0)], cand_id=["a", "b", "z"])
    s = choose_sites(cov, 1, candidates=cands)
    assert s.sites["site_id"].tolist() == ["b"] and s.sites.iloc[0]["gain"] == pytest.approx(2000.0)
    s2 = choose_sites(cov, 3, candidates=cands)
    assert s2.sites["site_id"].tolist() == ["b", "a"] and s2.summary["newly_covered"] == pytest.approx(2500.0)
    assert "fewer than k" in " ".join(s2.notes)
    with pytest.raises(ConfigError, match="site-area-m2"):
        choose_sites(cov, 1, candidates=cands, site_area_m2=100.0)


def test_candidates_carrying_result_column_names(tmp_path):
    """Parcels with their own site_id / rank / gain columns: the ids are used, the values kept as *_given."""
    res = _gdf([box(X0, Y0, X0 + 100, Y0 + 100), box(X0 + 2000, Y0, X0 + 2100, Y0 + 100)], res_id=["A", "B"],
               population=[500.0, 2000.0])
    green = _gdf([box(X0 + 5000, Y0, X0 + 5100, Y0 + 100)], gs_id=["far"], is_park=[True])
    cov = compute_coverage(res, green, "cn-300-500", modes="line", cell_m=10)
    cands = _gdf([Point(X0 + 150, Y0 + 50), Point(X0 + 2150, Y0 + 50), Point(X0 + 9000, Y0)],
                 site_id=["a", "b", "z"], rank=[3, 2, 1], gain=["x", "y", "z"])
    s = choose_sites(cov, 2, candidates=cands)
    assert s.sites["site_id"].tolist() == ["b", "a"]
    assert s.sites["gain"].tolist() == pytest.approx([2000.0, 500.0])
    assert s.sites["rank_given"].tolist() == [2, 3] and s.sites["site_id_given"].tolist() == ["b", "a"]


# --- indicators ------------------------------------------------------------------------------------

def test_indicators_golden():
    import rioxarray  # noqa: F401
    import xarray as xr
    from affine import Affine

    greens = _gdf([box(X0, Y0, X0 + 100, Y0 + 100), box(X0 + 200, Y0, X0 + 300, Y0 + 100),
                   box(X0 + 400, Y0, X0 + 500, Y0 + 100)],
                  gs_id=["p1", "p2", "g3"], gs_type=["city_park", "community_park", "green_belt"],
                  is_park=[True, True, False], public_access=[True, False, True])
    built = _gdf([box(X0, Y0, X0 + 1000, Y0 + 1000)])
    # 10 m land cover: forest in the left 200 m columns, impervious elsewhere, one nodata row
    codes = np.full((100, 100), 8, dtype="uint8")
    codes[:, :20] = 2
    codes[0, :] = 0
    lc = xr.DataArray(codes, dims=("y", "x"),
                      coords={"y": Y0 + 1000 - 5 - 10 * np.arange(100), "x": X0 + 5 + 10 * np.arange(100)})
    lc = lc.rio.write_crs(CRS).rio.write_transform(Affine(10, 0, X0, 0, -10, Y0 + 1000)).rio.write_nodata(0)
    r = compute_indicators(greens, population_total=1000.0, built_up=built, landcover=lc)
    v = r.table.set_index("key")["value"]
    assert v["park_area_per_person_m2"] == pytest.approx(10.0)  # only p1 is a public park
    assert v["city_park_area_per_person_m2"] == pytest.approx(10.0)
    assert v["community_park_area_per_person_m2"] == pytest.approx(0.0)
    assert v["green_land_ratio_pct"] == pytest.approx(3.0)
    # vegetation: forest columns (20 × 99 valid pixels) ∪ green polygons outside them: p2 (x 200…300) and
    # g3 (x 400…500), 10 × 10 pixels each at the bottom (the nodata row is the top one); p1 lies in the forest
    forest_px = 20 * 99
    extra_px = 2 * 10 * 10
    assert v["green_coverage_ratio_pct"] == pytest.approx(100 * (forest_px + extra_px) / (100 * 99))
    assert v["forest_cover_pct"] == pytest.approx(100 * forest_px / (100 * 99))
    t = r.table.set_index("key")
    assert t.loc["park_area_per_person_m2", "meets_target"] is np.True_ or t.loc["park_area_per_person_m2", "meets_target"]
    shares = raster_shares(lc, None, None, None, (2,), (2,))
    assert shares["green_coverage_ratio_pct"] is None and shares["forest_cover_pct"] == pytest.approx(20.0)


def test_unreachable_homes_on_a_disconnected_street_are_counted():
    lines = _gdf([LineString([(X0, Y0), (X0 + 400, Y0)]), LineString([(X0 + 1000, Y0), (X0 + 1400, Y0)])])
    res = _gdf([box(X0 + 100, Y0 + 10, X0 + 200, Y0 + 60), box(X0 + 1100, Y0 + 10, X0 + 1200, Y0 + 60)],
               res_id=["near", "cut_off"], population=[100.0, 300.0])
    green = _gdf([box(X0 + 250, Y0 + 10, X0 + 300, Y0 + 60)], gs_id=["G"])
    r = compute_coverage(res, green, one_rule(2000.0, mode="network"), network=lines, modes="network", cell_m=10)
    x = r.summary["rules"]["r"]["network"]
    assert x["population_covered_pct"] == pytest.approx(25.0)
    assert x["unreachable_population"] == pytest.approx(300.0) and x["unreachable_home_points"] == 50
    assert r.summary["network"]["components"] == 2
    assert set(r.unreachable["res_id"]) == {"cut_off"}
    assert np.isnan(r.neighbourhoods.set_index("res_id").loc["cut_off", "r_net_m"])


# --- fast paths agree with the plain GEOS operations they replace -----------------------------------

def test_snap_points_matches_geos_nearest_and_leaves_ties_to_it():
    rng = np.random.default_rng(3)
    a = rng.uniform(0, 1000, (400, 2)) + (X0, Y0)
    b = a + rng.uniform(-60, 60, (400, 2))
    net = nw.build_network(_gdf(shapely.linestrings(np.stack([a, b], axis=1))))
    xy = rng.uniform(-100, 1100, (3000, 2)) + (X0, Y0)
    xy[:4] = [(X0 + 2000, Y0), (X0 - 900, Y0 - 900), (X0 + 500, Y0 + 500), (X0 + 10, Y0 + 10)]  # far ones too
    got = nw.snap_points(net, xy, 300.0)
    pi, ei = net.tree().query_nearest(shapely.points(xy), max_distance=300.0, all_matches=False)
    want_d = np.full(len(xy), np.inf)
    want_d[pi] = shapely.distance(shapely.points(xy[pi]), net.segments()[ei])
    assert np.array_equal(got.ok, np.isfinite(want_d))
    assert np.allclose(got.offset_m[got.ok], want_d[got.ok], rtol=0, atol=1e-9)
    # a point equally near two parallel streets: the nearest-neighbour query decides, as it did before
    two = nw.build_network(_gdf([LineString([(X0, Y0), (X0 + 100, Y0)]), LineString([(X0, Y0 + 20), (X0 + 100, Y0 + 20)])]))
    mid = np.array([[X0 + 50, Y0 + 10]])
    _, e = two.tree().query_nearest(shapely.points(mid), all_matches=False)
    assert nw.snap_points(two, mid, 100.0).edge.tolist() == e.tolist()


def test_home_cells_pieces_equal_exact_overlay_even_where_rectangle_clipping_fails():
    from pathlib import Path

    import pyogrio

    demo = Path(__file__).resolve().parents[1] / "data" / "demo" / "kundulun_demo.gpkg"
    real = pyogrio.read_dataframe(demo, layer="residential", where="res_id IN ('R0008', 'R0019')")
    with pytest.raises(shapely.errors.GEOSException):  # GEOS's rectangle clipping refuses a cell of R0008
        shapely.clip_by_rect(real.geometry.values[0], 392300.0, 4506700.0, 392325.0, 4506725.0)
    ring = box(X0 + 200, Y0, X0 + 330, Y0 + 130).difference(box(X0 + 240, Y0 + 40, X0 + 290, Y0 + 90))
    slanted = shapely.affinity.rotate(box(X0 + 400, Y0, X0 + 520, Y0 + 80), 23)
    geoms = list(real.geometry.values) + [ring, slanted]
    res, _, _ = prepare_residential(_gdf(geoms, population=[10.0, 20.0, 30.0, 40.0]))
    homes = home_cells(res, 25.0)
    b = shapely.bounds(homes.pieces)
    ix, iy = np.floor((b[:, 0] + b[:, 2]) / 50.0), np.floor((b[:, 1] + b[:, 3]) / 50.0)
    cells = shapely.box(ix * 25, iy * 25, ix * 25 + 25, iy * 25 + 25)
    exact = shapely.intersection(cells, np.asarray(geoms, dtype=object)[homes.res])
    assert np.allclose(homes.area_m2, shapely.area(exact), rtol=0, atol=1e-6)
    assert np.allclose(np.bincount(homes.res, weights=homes.area_m2), shapely.area(geoms), rtol=1e-9)
    assert shapely.dwithin(homes.pieces, shapely.points(homes.xy), 1e-6).all()  # every home on its piece


def test_tag_tests_per_distinct_value_match_the_per_row_reading():
    lines = _gdf([LineString([(X0, Y0), (X0 + 10, Y0)])] * 6,
                 highway=[" Motorway", "residential", None, "footway", "桥", "service"],
                 foot=["yes", "no", None, "designated", None, "YES"], access=["no", None, "private", "no", "no", "private"],
                 bridge=[None, "viaduct", "no", True, None, "1"], layer=[0, None, "-1", "x", 0, 0])
    assert nw.walkable_mask(lines).tolist() == [False, False, False, True, False, True]
    assert nw.exempt_mask(lines).tolist() == [False, True, True, True, True, True]
