"""The synthetic demo scene: determinism, the rules it promises, and the committed copy in data/.

Generated at 50 m pixels for speed (the vector layers do not depend on the pixel size).
Offline; the whole module runs in well under a minute.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
import shapely
from rasterio.features import rasterize

from kunsink.datasets import district_population
from kunsink.demo import build as B
from kunsink.demo import scene as S

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
RES = 50.0


@pytest.fixture(scope="module")
def scene() -> S.Scene:
    return S.generate_scene(seed=S.DEFAULT_SEED, resolution_m=RES, ndvi_resolution_m=RES)


@pytest.fixture(scope="module")
def written(scene, tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("scene_a")
    return out, B.write_scene(scene, out)


def _district(scene: S.Scene):
    return scene.vectors["boundary"].geometry.iloc[0]


# --- determinism ------------------------------------------------------------------------


def test_two_runs_give_identical_bytes(written, tmp_path):
    out_a, manifest_a = written
    again = S.generate_scene(seed=S.DEFAULT_SEED, resolution_m=RES, ndvi_resolution_m=RES)
    manifest_b = B.write_scene(again, tmp_path)
    for rel, entry in manifest_a["files"].items():
        assert manifest_b["files"][rel]["sha256"] == entry["sha256"], rel
        assert (out_a / rel).read_bytes() == (tmp_path / rel).read_bytes(), rel
    assert (out_a / B.MANIFEST_NAME).read_bytes() == (tmp_path / B.MANIFEST_NAME).read_bytes()


def test_other_seed_gives_other_scene(scene):
    other, _ = S.generate_vectors(seed=7)
    assert B.vector_layer_digest(other["mine_sites"]) != B.vector_layer_digest(scene.vectors["mine_sites"])
    assert int(other["residential"]["population"].sum()) == 787_681


def test_manifest_content_digests_match_written_files(written):
    out, manifest = written
    assert manifest["seed"] == S.DEFAULT_SEED
    for rel, entry in manifest["files"].items():
        assert B.content_digest(out / rel) == entry["content_sha256"], rel
    assert B.verify_manifest(out)  # no error


# --- layer rules ------------------------------------------------------------------------


def test_population_sums_to_census(scene):
    res = scene.vectors["residential"]
    assert district_population() == 787_681
    assert int(res["population"].sum()) == 787_681
    assert res["population"].dtype == np.int64
    assert (res["population"] > 0).all() and (res["households"] > 0).all()
    assert 300 <= len(res) <= 1500
    assert res["res_id"].is_unique
    assert res["name"].str.endswith(("小区", "街坊")).all()
    # allocation by area: density is (almost) constant
    dens = res["population"] / res["area_m2"]
    assert dens.max() / dens.min() < 1.2


def test_largest_remainder():
    out = S.allocate_largest_remainder(10, np.array([1.0, 1.0, 1.0]))
    assert out.tolist() == [4, 3, 3]
    assert S.allocate_largest_remainder(787_681, np.arange(1, 500, dtype=float)).sum() == 787_681


def test_every_layer_flagged(scene, written):
    for name, gdf in scene.vectors.items():
        assert "source" in gdf.columns, name
        if name == "boundary":
            assert gdf["source"].str.contains("real").all()
            assert not gdf["source"].str.contains("synthetic").any()
        else:
            assert (gdf["source"] == "synthetic").all(), name
        assert gdf.crs.to_epsg() == 4546, name
    assert (scene.tables["mine_surveys"]["source"] == "synthetic").all()
    import rasterio

    out, manifest = written
    for name in B.RASTER_NAMES:
        with rasterio.open(out / "rasters" / f"{name}.tif") as ds:
            tags = ds.tags()
            assert tags["source"] == "synthetic"
            assert tags["year"] in ("2020", "2025")
            assert {"scheme", "units"} <= set(tags)
            assert ds.crs.to_epsg() == 4546


def test_layer_schemas(scene):
    cols = {
        "river": ["name", "source"],
        "wetland": ["name", "source"],
        "greenspace": ["gs_id", "name", "gs_type", "is_park", "public_access", "area_m2", "source"],
        "park_entrances": ["gs_id", "entrance_id", "source"],
        "residential": ["res_id", "name", "population", "households", "area_m2", "source"],
        "network": ["edge_id", "highway", "name", "is_bridge", "length_m", "source"],
        "mine_sites": ["site_id", "name", "area_m2", "treatment_year", "status", "method", "source"],
        "plots": ["plot_id", "stratum", "landcover_code", "agb_t_ha", "survey_year", "source"],
    }
    types = {"river": "Polygon", "wetland": "Polygon", "greenspace": "Polygon", "park_entrances": "Point",
             "residential": "Polygon", "network": "LineString", "mine_sites": "Polygon", "plots": "Point",
             "boundary": "Polygon"}
    for name, want in cols.items():
        assert [c for c in scene.vectors[name].columns if c != "geometry"] == want, name
    for name, t in types.items():
        assert set(scene.vectors[name].geom_type) == {t}, name
    assert list(scene.tables["mine_surveys"].columns) == [
        "site_id", "survey_date", "treated_area_m2", "veg_cover_pct", "ndvi_mean", "note", "source"]
    assert scene.vectors["river"]["name"].tolist() == ["昆都仑河"]
    assert "昆都仑河湿地公园" in set(scene.vectors["wetland"]["name"])


def test_everything_inside_the_district(scene):
    district = _district(scene).buffer(0.01)
    for name, gdf in scene.vectors.items():
        assert gdf.geometry.within(district).all(), name
        assert gdf.geometry.is_valid.all(), name


def test_mine_parcels(scene):
    m = scene.vectors["mine_sites"]
    assert 24 <= len(m) <= 40
    total = float(m["area_m2"].sum())
    assert abs(total - 200_000.0) <= 0.03 * 200_000.0
    assert np.allclose(m["area_m2"], m.geometry.area)
    assert m["area_m2"].between(1_000.0, 20_000.0).all()
    assert all(re.fullmatch(r"KM-\d{2}", s) for s in m["site_id"])
    assert set(m["treatment_year"]) <= {2023, 2024, 2025}
    assert set(m["status"]) <= {"planned", "treating", "restored"}
    # northern hills: north of the built-up area's northern edge, and no overlaps
    assert (m.geometry.centroid.y > 4_508_000).all()
    assert not any(a.intersects(b) for i, a in enumerate(m.geometry) for b in list(m.geometry)[i + 1:])
    s = scene.tables["mine_surveys"]
    assert set(s["site_id"]) == set(m["site_id"])
    for sid, grp in s.groupby("site_id"):
        grp = grp.sort_values("survey_date")
        assert grp["treated_area_m2"].is_monotonic_increasing, sid
        assert grp["veg_cover_pct"].iloc[-1] >= grp["veg_cover_pct"].iloc[0], sid
        assert grp["survey_date"].str.match(r"^202[3-5]-\d{2}-\d{2}$").all()


def test_network_crosses_river_only_at_bridges(scene):
    net = scene.vectors["network"]
    river = scene.vectors["river"].geometry.iloc[0]
    bridges = net[net["is_bridge"]]
    assert 5 <= len(bridges) <= 8
    assert (net["is_bridge"] == (net["highway"] == "bridge")).all()
    assert bridges.geometry.intersects(river).all()
    assert not net[~net["is_bridge"]].geometry.intersects(river).any()
    assert set(net["highway"]) <= set(S.HIGHWAY_TYPES)
    assert np.allclose(net["length_m"], net.geometry.length)
    assert net["edge_id"].is_unique


def _graph(net, skip_bridges: bool = False) -> nx.Graph:
    g = nx.Graph()
    for geom, is_bridge in zip(net.geometry, net["is_bridge"]):
        if skip_bridges and is_bridge:
            continue
        cs = geom.coords
        g.add_edge(tuple(np.round(cs[0], 2)), tuple(np.round(cs[-1], 2)))
    return g


def test_network_is_connected_and_bridges_join_the_banks(scene):
    net = scene.vectors["network"]
    g = _graph(net)
    assert nx.is_connected(g)
    # noded: no two edges cross except at a shared end point (checked on a sample, cheaply)
    assert nx.number_connected_components(_graph(net, skip_bridges=True)) == 2
    # every bridge joins the two banks
    comps = list(nx.connected_components(_graph(net, skip_bridges=True)))
    for geom in net[net["is_bridge"]].geometry:
        a, b = tuple(np.round(geom.coords[0], 2)), tuple(np.round(geom.coords[-1], 2))
        assert [a in c for c in comps] != [b in c for c in comps]


def test_network_is_noded(scene):
    net = scene.vectors["network"]
    geoms = np.asarray(net.geometry.values)
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="crosses")
    assert len(left) == 0, "edges cross without a shared node"


def test_greenspace(scene):
    gs = scene.vectors["greenspace"]
    river = scene.vectors["river"].geometry.iloc[0]
    wet = shapely.union_all(scene.vectors["wetland"].geometry.values)
    assert set(gs["gs_type"]) == set(S.GS_TYPES)
    assert (gs["name"] == '<script>alert("x")</script>绿地').sum() == 1
    assert (gs["is_park"] == gs["gs_type"].isin(["community_park", "city_park"])).all()
    assert (gs.loc[gs["is_park"], "area_m2"] >= 10_000).all()
    pockets = gs[gs["gs_type"] == "pocket_park"]
    assert pockets["area_m2"].between(400, 10_000).all()
    assert (gs.loc[gs["gs_type"] == "city_park", "area_m2"] > 100_000).all()
    assert 2 <= (~gs["public_access"]).sum() <= 10
    assert not gs.geometry.intersects(river).any()
    assert not gs.geometry.intersects(wet).any()
    assert np.allclose(gs["area_m2"], gs.geometry.area)
    assert gs["gs_id"].is_unique
    # entrances: 1–6 per park, on the park boundary
    ent = scene.vectors["park_entrances"]
    per = ent.groupby("gs_id").size()
    assert set(per.index) == set(gs.loc[gs["is_park"], "gs_id"])
    assert per.between(1, 6).all()
    by_id = gs.set_index("gs_id").geometry
    assert all(by_id[g].exterior.distance(p) < 1e-6 for g, p in zip(ent["gs_id"], ent.geometry))


def test_deliberate_gaps_exist(scene):
    gs = scene.vectors["greenspace"]
    res = scene.vectors["residential"]
    green = shapely.union_all(gs.geometry.values)
    parks = shapely.union_all(gs[gs["is_park"]].geometry.values)
    no_green = res.geometry.distance(green) > 300
    no_park = res.geometry.distance(parks) > 500
    assert no_green.sum() >= 10 and no_park.sum() >= 10
    assert no_green.mean() < 0.25  # gaps are the exception


def test_plots(scene):
    p = scene.vectors["plots"]
    assert 100 <= p["plot_id"].nunique() <= 140
    assert set(p["stratum"]) == {"forest", "shrub", "grassland", "wetland"}
    assert set(p["survey_year"]) == {2020, 2025}
    assert p.groupby("plot_id")["survey_year"].apply(lambda s: s.is_unique).all()
    ranges = {"grassland": (0.5, 3.0), "shrub": (3.0, 15.0), "forest": (20.0, 120.0), "wetland": (2.0, 20.0)}
    first = p[p["survey_year"] == 2020]
    for stratum, (lo, hi) in ranges.items():
        vals = first.loc[first["stratum"] == stratum, "agb_t_ha"]
        assert vals.between(lo, hi).all(), stratum
    codes = {v: k for k, v in S.CLCD_CLASSES.items()}
    assert (first["landcover_code"] == first["stratum"].map(codes)).all()


def test_landcover_matches_vectors(scene):
    lc20 = scene.rasters["landcover_2020"]
    lc25 = scene.rasters["landcover_2025"]
    shape = lc20.array.shape
    for r in (lc20, lc25):
        assert r.array.dtype == np.uint8
        assert set(np.unique(r.array)) <= {0, 1, 2, 3, 4, 5, 7, 8, 9}

    def burn(geoms):
        return rasterize([(g, 1) for g in geoms], out_shape=shape, transform=lc20.transform) == 1

    inside = burn([_district(scene)])
    assert (lc20.array[~inside] == 0).all() and (lc20.array[inside] > 0).all()
    river = burn(scene.vectors["river"].geometry)
    assert (lc20.array[river] == 5).all()
    mines = burn(scene.vectors["mine_sites"].geometry)
    assert mines.any() and (lc20.array[mines] == 7).all()
    sites = scene.vectors["mine_sites"]
    restored = burn(sites[sites["status"] == "restored"].geometry)
    assert np.isin(lc25.array[restored], [3, 4]).mean() > 0.8  # natural recovery keeps some bare patches
    planted = burn(sites[(sites["status"] == "restored") & (sites["method"] != "自然恢复")].geometry)
    assert np.isin(lc25.array[planted], [3, 4]).all()
    planned = burn(sites[sites["status"] == "planned"].geometry)
    assert (lc25.array[planned] == 7).all()
    parks = burn(scene.vectors["greenspace"].query("is_park").geometry)
    assert np.isin(lc20.array[parks], [2, 4]).all()
    # some change between the years, mostly urban growth
    changed = lc20.array != lc25.array
    assert 0.002 < changed[inside].mean() < 0.1
    assert ((lc20.array != 8) & (lc25.array == 8)).sum() > 0


def test_ndvi(scene):
    for year in (2020, 2025):
        r = scene.rasters[f"ndvi_{year}"]
        a = r.array
        assert a.dtype == np.float32 and r.nodata == -9999.0
        valid = a != -9999.0
        assert -0.3 < a[valid].min() and a[valid].max() < 0.95
        assert np.allclose(a[valid], np.round(a[valid], 3), atol=1e-6)
    lc = scene.rasters["landcover_2020"].array
    nd = scene.rasters["ndvi_2020"].array
    assert nd[lc == 2].mean() > nd[lc == 4].mean() > nd[lc == 8].mean() > nd[lc == 5].mean()


# --- verification -----------------------------------------------------------------------


def test_check_accepts_a_fresh_build_and_rejects_tampering(written, tmp_path):
    import shutil

    out, _ = written
    copy = tmp_path / "data"
    shutil.copytree(out, copy)
    # same pixels, other encoding (as another GDAL/zlib would give): OK with a note
    import rasterio

    tif = copy / "rasters" / "landcover_2020.tif"
    with rasterio.open(tif) as src:
        arr, prof, tags = src.read(1), src.profile, src.tags()
    prof.update(compress="lzw", predictor=1)
    tif.unlink()
    with rasterio.open(tif, "w", **prof) as dst:
        dst.write(arr, 1)
        dst.update_tags(**tags)
    lines = B.check_scene(copy)
    assert lines[-1].startswith("scene OK") and "identical content" in lines[-1]
    assert all(line.startswith("OK") for line in lines[:-1])
    assert any("content is identical" in line for line in lines)
    csv_path = copy / B.SURVEYS_NAME
    text = csv_path.read_text(encoding="utf-8").replace("KM-01,", "KM-99,", 1)
    csv_path.write_text(text, encoding="utf-8")
    with pytest.raises(B.SceneCheckError, match="mine_surveys.csv"):
        B.check_scene(copy)


def test_cli_check(written):
    from typer.testing import CliRunner

    from kunsink.cli.scene_cmd import app

    out, _ = written
    result = CliRunner().invoke(app, ["check", "--data", str(out)])
    assert result.exit_code == 0, result.output
    assert "scene OK" in result.output


def test_committed_scene_matches_manifest():
    """The scene in data/ is what its manifest says (content digests recomputed from the files)."""
    manifest_path = DATA / B.MANIFEST_NAME
    assert manifest_path.exists(), "data/demo/manifest.json is missing: run `kunsink scene build`"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    assert manifest["seed"] == S.DEFAULT_SEED
    assert manifest["totals"]["population"] == 787_681
    assert abs(manifest["totals"]["mine_area_m2"] - 200_000) <= 6_000
    expected = {B.GPKG_NAME, B.SURVEYS_NAME} | {f"rasters/{n}.tif" for n in B.RASTER_NAMES}
    assert set(manifest["files"]) == expected
    for rel, entry in manifest["files"].items():
        assert B.content_digest(DATA / rel) == entry["content_sha256"], f"{rel} differs from the manifest"
    _, _, counts = B.gpkg_digest(DATA / B.GPKG_NAME)
    assert counts == {k: v["rows"] for k, v in manifest["files"][B.GPKG_NAME]["layers"].items()}
    total = sum(p.stat().st_size for p in DATA.rglob("*") if p.is_file())
    assert total < 20e6


def test_build_replaces_only_its_own_scene_and_all_at_once(scene, written, tmp_path, monkeypatch):
    """A data folder holding someone's file under a scene name, or the root, is refused; a failure while
    writing leaves the earlier scene byte for byte and no staging behind; the scene's own files are replaced."""
    from kunsink.errors import OutputError

    theirs = tmp_path / "theirs"
    (theirs / "rasters").mkdir(parents=True)
    (theirs / "rasters" / "ndvi_2020.tif").write_bytes(b"my own NDVI")
    (theirs / "demo").mkdir()
    (theirs / "demo" / "README.md").write_text("mine", encoding="utf-8")
    with pytest.raises(OutputError, match="rasters/ndvi_2020.tif exists and is not part of a kunsink scene"):
        B.write_scene(scene, theirs)
    assert (theirs / "rasters" / "ndvi_2020.tif").read_bytes() == b"my own NDVI"
    with pytest.raises(OutputError, match="root of the file system"):
        B.write_scene(scene, "/")
    with pytest.raises(OutputError, match="inside the kunsink package"):
        B.write_scene(scene, Path(B.__file__).parent.parent)
    out, _ = written
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    def fail(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(B, "write_raster", fail)  # the GeoPackage and CSV are written, then a raster fails
    with pytest.raises(RuntimeError):
        B.write_scene(scene, out)
    monkeypatch.undo()
    assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert not any(p.name.startswith(".kunsink-staging") for p in out.rglob("*"))
    (theirs / "rasters" / "ndvi_2020.tif").unlink()
    B.write_scene(scene, theirs)  # nothing in the way now; README.md, not a scene file, is left alone
    assert (theirs / "demo" / "README.md").read_text(encoding="utf-8") == "mine"
    assert (theirs / B.MANIFEST_NAME).exists()
