"""OpenStreetMap extracts far larger than the study area: only what lies within 3 km of the area is built.

A synthetic extract (tagged ``source=synthetic``) is written with pyosmium: a street grid (footways and
residential streets), square parks as closed ways, residential blocks, two park multipolygon relations
(one at the area, one far away) and a long street crossing the area with no node near it, over
40 km × 40 km around a study area of ≈ 2 km² in Germany (working CRS UTM 33N) — ≈ 800 times its size.
A pre-cut extract holds the ways meeting the area's box grown by 5 km, complete with their nodes.
"""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import shapely
from pyproj import Transformer

osmium = pytest.importorskip("osmium")

from kunsink.area import resolve_area, use_area  # noqa: E402
from kunsink.cli import main  # noqa: E402
from kunsink.errors import InputError  # noqa: E402
from kunsink.greenspace import osm as osm_mod  # noqa: E402
from kunsink.greenspace.osm import read_osm  # noqa: E402

UTM = "EPSG:32633"
CX, CY = 391_000.0, 5_820_000.0  # Berlin, UTM 33N
HALF = 20_000.0  # the extract: 40 km × 40 km
STEP = 250.0  # street spacing
AREA = shapely.Polygon([(CX - 900, CY - 700), (CX + 800, CY - 900), (CX + 1000, CY + 600),
                        (CX - 200, CY + 1000), (CX - 1000, CY + 300)])  # ≈ 2.9 km²
CUT = shapely.box(*AREA.buffer(5_000).bounds)
SYN = {"source": "synthetic"}


def _scene():
    """Nodes {id: (x, y)} in UTM, ways [(id, [node ids], tags)], relations [(id, [(way id, role)], tags)]."""
    nodes: dict[int, tuple[float, float]] = {}
    ids: dict[tuple[float, float], int] = {}

    def nid(x: float, y: float) -> int:
        key = (round(x, 3), round(y, 3))
        if key not in ids:
            ids[key] = len(ids) + 1
            nodes[ids[key]] = key
        return ids[key]

    ways: list[tuple[int, list[int], dict]] = []
    rels: list[tuple[int, list[tuple[int, str]], dict]] = []
    n = int(2 * HALF / STEP)
    xs = CX - HALF + np.arange(n + 1) * STEP
    ys = CY - HALF + np.arange(n + 1) * STEP
    wid = 1
    for k, y in enumerate(ys):  # east-west streets, in pieces of four blocks
        for j in range(0, n, 4):
            hw = "footway" if k % 3 == 0 else "residential"
            ways.append((wid, [nid(x, y) for x in xs[j:j + 5]], {"highway": hw, **SYN}))
            wid += 1
    for k, x in enumerate(xs):  # north-south streets
        for j in range(0, n, 4):
            hw = "footway" if k % 4 == 0 else "residential"
            ways.append((wid, [nid(x, y) for y in ys[j:j + 5]], {"highway": hw, **SYN}))
            wid += 1
    # a street crossing the area from far west to far east with no node within 15 km of it
    ways.append((wid, [nid(CX - 18_000, CY + 130), nid(CX + 18_000, CY + 130)],
                 {"highway": "residential", "name": "Lange Straße", **SYN}))
    wid += 1

    def ring(x0, y0, w, h):
        pts = [(x0, y0), (x0 + w, y0), (x0 + w, y0 + h), (x0, y0 + h)]
        r = [nid(x, y) for x, y in pts]
        return r + r[:1]

    for i, x in enumerate(xs[2:-2:8]):  # parks and housing in blocks, every 2 km
        for j, y in enumerate(ys[2:-2:8]):
            ways.append((wid, ring(x + 30, y + 30, 190, 190), {"leisure": "park", "name": f"Park {i}-{j}", **SYN}))
            wid += 1
            ways.append((wid, ring(x + STEP + 20, y + 20, 210, 210), {"landuse": "residential", **SYN}))
            wid += 1
    # multipolygon parks (untagged member ways): one in the area, one 15 km away
    for rid, (x0, y0) in ((1, (CX + 10, CY - 240)), (2, (CX + 15_010, CY + 15_010))):
        a = [nid(x0 + 20, y0 + 20), nid(x0 + 220, y0 + 20), nid(x0 + 220, y0 + 220)]
        b = [a[-1], nid(x0 + 20, y0 + 220), a[0]]
        ways.append((wid, a, {}))
        ways.append((wid + 1, b, {}))
        rels.append((rid, [(wid, "outer"), (wid + 1, "outer")],
                     {"type": "multipolygon", "leisure": "park", "name": f"Relation park {rid}", **SYN}))
        wid += 2
    return nodes, ways, rels


def _write(path: Path, nodes, ways, rels) -> None:
    to_ll = Transformer.from_crs(UTM, "EPSG:4326", always_xy=True)
    order = sorted(nodes)
    xy = np.array([nodes[i] for i in order])
    lon, lat = to_ll.transform(xy[:, 0], xy[:, 1])
    M = osmium.osm.mutable
    with osmium.SimpleWriter(str(path), overwrite=True) as w:
        for i, x, y in zip(order, lon, lat):
            w.add_node(M.Node(id=i, location=(float(x), float(y)), version=1))
        for i, refs, tags in sorted(ways, key=lambda t: t[0]):
            w.add_way(M.Way(id=i, nodes=refs, tags=tags, version=1))
        for i, mem, tags in rels:
            w.add_relation(M.Relation(id=i, members=[("w", ref, role) for ref, role in mem], tags=tags, version=1))


@pytest.fixture(scope="module")
def extracts(tmp_path_factory):
    d = tmp_path_factory.mktemp("osm_area")
    nodes, ways, rels = _scene()
    big = d / "province.osm.pbf"
    _write(big, nodes, ways, rels)
    # the pre-cut extract: ways meeting CUT, complete with their nodes; relations with all their members
    geom = {i: shapely.LineString([nodes[r] for r in refs]) for i, refs, _ in ways}
    keep_w = {i for i, g in geom.items() if g.intersects(CUT)}
    keep_r = [r for r in rels if any(m in keep_w for m, _ in r[1])]
    keep_w |= {m for r in keep_r for m, _ in r[1]}
    cut_ways = [w for w in ways if w[0] in keep_w]
    cut_nodes = {r: nodes[r] for _, refs, _ in cut_ways for r in refs}
    cut = d / "cut.osm.pbf"
    _write(cut, cut_nodes, cut_ways, keep_r)
    xml = d / "province.osm"
    _write(xml, nodes, ways, rels)
    boundary = d / "area.geojson"
    import geopandas as gpd

    gpd.GeoDataFrame({"name": ["Testgebiet"]}, geometry=[AREA], crs=UTM).to_crs("EPSG:4326").to_file(
        boundary, driver="GeoJSON")
    return {"big": big, "cut": cut, "xml": xml, "boundary": boundary, "n_ways": len(ways),
            "n_cut_ways": len(cut_ways), "n_nodes": len(nodes), "n_cut_nodes": len(cut_nodes)}


@pytest.fixture(scope="module")
def area(extracts):
    a = resolve_area(str(extracts["boundary"]))
    assert a.crs.to_epsg() == 32633  # a place far from China: UTM
    return a


def _length(gdf) -> float:
    return float(gdf.to_crs(UTM).length.sum())


def test_extract_is_much_larger_than_the_area(extracts, area):
    assert (2 * HALF) ** 2 / AREA.area >= 20
    assert extracts["n_ways"] > 10 * extracts["n_cut_ways"]


def test_big_extract_builds_what_the_cut_one_builds(extracts, area):
    big = read_osm(extracts["big"], area=area)
    cut = read_osm(extracts["cut"], area=area)
    for key, col in (("network", "osm_id"), ("greenspace", "gs_id"), ("residential", "res_id")):
        assert sorted(big[key][col]) == sorted(cut[key][col]), key
        assert len(big[key]) > 0
    assert _length(big["network"]) == pytest.approx(_length(cut["network"]), rel=1e-9)
    for key in ("greenspace", "residential"):
        assert big[key].to_crs(UTM).area.sum() == pytest.approx(cut[key].to_crs(UTM).area.sum(), rel=1e-9)
    # the same objects built, whatever the extra extent
    sb, sc = big["stats"], cut["stats"]
    for k in ("ways_built", "ways_kept", "areas_kept", "relations_kept"):
        assert sb[k] == sc[k], k
    assert sb["ways_read"] == extracts["n_ways"] and sc["ways_read"] == extracts["n_cut_ways"]
    assert sb["ways_built"] < extracts["n_ways"] / 10
    kept = f"kept {len(big['network']):,} walkable ways"
    assert any(f"read {extracts['n_ways']:,} ways" in n and kept in n and "area.geojson" in n for n in big["notes"])


def test_far_features_are_not_built(extracts, area):
    got = read_osm(extracts["big"], area=area)
    reach = AREA.buffer(3_000 + 1)
    for key in ("network", "greenspace", "residential"):
        g = got[key].to_crs(UTM)
        assert shapely.dwithin(g.geometry.values, AREA, 3_000 + 1).all(), key
        assert not g.geometry.within(reach).all() or key != "network"  # streets run on beyond the margin
    # the relation park in the area is assembled, the one 15 km away is not
    assert "osm-r1" in set(got["greenspace"]["gs_id"]) and "osm-r2" not in set(got["greenspace"]["gs_id"])
    # the long street with no node near the area is kept (its box meets the area)
    assert "Lange Straße" in set(got["network"]["name"].dropna())
    assert got["stats"]["relations_read"] == 2 and got["stats"]["relations_kept"] == 1


def test_python_memory_does_not_grow_with_the_extent(extracts, area, monkeypatch):
    monkeypatch.setattr(osm_mod, "_BATCH", 256)

    def peak(path) -> int:
        tracemalloc.start()
        try:
            read_osm(path, area=area)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    p_cut = peak(extracts["cut"])
    p_big = peak(extracts["big"])
    # 11× the ways and nodes read; the peak of Python allocations stays that of the cut extract
    assert p_big <= 1.25 * p_cut + 512 * 1024, (p_big, p_cut)


def test_xml_reader_clips_alike(extracts, area):
    a = read_osm(extracts["xml"], area=area, engine="xml")
    b = read_osm(extracts["big"], area=area)
    c = read_osm(extracts["xml"], area=area, engine="pyosmium")
    for d in (a, c):
        for key, col in (("network", "osm_id"), ("greenspace", "gs_id"), ("residential", "res_id")):
            assert sorted(d[key][col]) == sorted(b[key][col]), key
        assert _length(d["network"]) == pytest.approx(_length(b["network"]), rel=1e-9)
        assert d["greenspace"].to_crs(UTM).area.sum() == pytest.approx(b["greenspace"].to_crs(UTM).area.sum(),
                                                                      rel=1e-9)
    assert a["stats"]["ways_read"] == extracts["n_ways"]


def test_synthetic_tag_and_no_area(extracts):
    got = read_osm(extracts["cut"], area=resolve_area("none"))
    assert got["stats"]["clipped"] is False
    assert len(got["network"]) + len(got["greenspace"]) + len(got["residential"]) >= extracts["n_cut_ways"] - 4
    for key in ("network", "greenspace", "residential"):
        assert set(got[key]["source"]) == {"synthetic"}


def test_file_away_from_the_area_is_refused(extracts):
    with use_area("昆都仑区"):
        with pytest.raises(InputError, match=r"none of its .* ways lies within 3 km of the study area 昆都仑区"):
            read_osm(extracts["cut"])


def test_cli_coverage_big_equals_cut(extracts, tmp_path, capsys):
    outs = {}
    for key in ("big", "cut"):
        out = tmp_path / key
        code = main(["greenspace", "coverage", "--osm", str(extracts[key]), "--area", str(extracts["boundary"]),
                     "--population-total", "10000", "--mode", "both", "--out", str(out)])
        _, err = capsys.readouterr()
        assert code == 0, err
        outs[key] = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    a, b = outs["big"], outs["cut"]
    assert a["data_source"] == b["data_source"] == "synthetic"
    for rule in ("green_300", "park_500"):
        for mode in ("line", "network"):
            for k in ("area_covered_pct", "population_covered_pct"):
                assert a["rules"][rule][mode][k] == pytest.approx(b["rules"][rule][mode][k], abs=1e-9), (rule, mode, k)
    assert a["rules"]["green_300"]["network"]["area_covered_pct"] > 0
