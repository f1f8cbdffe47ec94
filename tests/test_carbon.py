"""Carbon stocks: InVEST parity, valuation, raster pools, uncertainty, zones, polygons, scale, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from affine import Affine
from hypothesis import given, settings
from hypothesis import strategies as st

from carbon_fixtures import write_pair, write_pools_csv
from kunsink.carbon import default_density_table, valuation_constant
from kunsink.carbon.run import run_carbon
from kunsink.carbon.uncertainty import PoolAreas, approach1, monte_carlo, triangular_ppf
from kunsink.carbon.vector import run_carbon_polygons
from kunsink.cli import main
from kunsink.errors import ConfigError, InputError

INVEST = json.loads((Path(__file__).parent / "data" / "invest_3_20_2_carbon.json").read_text())


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    d = tmp_path_factory.mktemp("lc")
    bas, alt = write_pair(d)
    return bas, alt, write_pools_csv(d / "pools.csv")


def _rel(a, b):
    return abs(a - b) / abs(b)


# --- InVEST contract --------------------------------------------------------------------------

def test_valuation_constants_match_invest_tests():
    assert valuation_constant(43, 2016, 2030, -7.1, 2.8) == pytest.approx(59.00136, abs=5e-6)
    assert valuation_constant(50, 2010, 2012, 5, 50) == pytest.approx(40.87302, abs=5e-6)
    with pytest.raises(ConfigError):
        valuation_constant(50, 2020, 2020, 5, 0)


def test_totals_match_invest_3_20(pair, tmp_path):
    bas, alt, pools = pair
    r = run_carbon(bas, tmp_path / "out", alt=alt, densities=pools, years=(2020, 2025), price=43,
                   discount_pct=-7.1, price_change_pct=2.8)
    s = r.summary
    assert _rel(s["total_mgc"], INVEST["baseline_mgc"]) < 1e-6
    assert _rel(s["total_alt_mgc"], INVEST["alternate_mgc"]) < 1e-6
    assert _rel(s["change_mgc"], INVEST["change_mgc"]) < 1e-6
    assert _rel(s["valuation"]["npv_total"], INVEST["npv"]) < 1e-6
    assert _rel(s["pools_mgc"]["c_soil"], INVEST["baseline_soil_mgc"]) < 1e-6
    # change is over pixels with data at both dates (nodata differs between the dates here)
    assert s["change_mgc"] != pytest.approx(s["total_alt_mgc"] - s["total_mgc"], rel=1e-3)


def test_output_rasters_follow_the_contract(pair, tmp_path):
    bas, alt, pools = pair
    out = tmp_path / "out"
    r = run_carbon(bas, out, alt=alt, densities=pools)
    names = {p.name for p in out.iterdir()}
    for n in ("c_storage_bas.tif", "c_storage_alt.tif", "c_change_bas_alt.tif",
              "summary.json", "summary.csv", "classes.csv", "transitions.csv"):
        assert n in names
    # the pools' maps (InVEST's intermediate outputs) only on request
    assert sorted(n for n in names if n.endswith(".tif")) == ["c_change_bas_alt.tif", "c_storage_alt.tif",
                                                               "c_storage_bas.tif"]
    assert not any(n.startswith(".") and n != ".kunsink-output" for n in names)  # no temporary files left
    with rasterio.open(out / "c_storage_bas.tif") as ds, rasterio.open(bas) as src:
        assert ds.dtypes[0] == "float32" and ds.nodata == -1
        assert ds.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        # DEFLATE (ArcMap reads it) without a predictor: the maps are constant within each class
        assert ds.compression.name == "deflate" and ds.tags(ns="IMAGE_STRUCTURE").get("PREDICTOR", "1") == "1"
        assert ds.overviews(1)  # made inside the intermediate, used by the COG copy
        assert ds.tags()["units"] == "Mg C/ha"
        v = ds.read(1)
        codes = src.read(1)
    assert np.all(v[codes == 255] == -1)
    table = default_density_table()
    forest_total = table.loc[2, ["c_above", "c_below", "c_soil", "c_dead"]].sum()
    assert np.allclose(v[codes == 2], forest_total)
    px_ha = 30 * 30 / 1e4
    assert _rel(float(v[v != -1].astype("float64").sum() * px_ha), r.summary["total_mgc"]) < 1e-7


def test_missing_codes_are_listed_and_nothing_written(pair, tmp_path, capsys):
    bas, alt, pools = pair
    short = tmp_path / "short.csv"
    pd.read_csv(pools).query("lucode not in (3, 7)").to_csv(short, index=False)
    out = tmp_path / "out"
    code = main(["carbon", "--landcover", str(bas), "--densities", str(short), "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0
    assert "[3, 7]" in err and "missing from the density table" in err
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


# --- bad input -------------------------------------------------------------------------------

@pytest.mark.parametrize("mutate,words", [
    (lambda t: t.assign(c_soil=t["c_soil"].where(t["lucode"] != 2, -5)), "negative"),
    (lambda t: t.assign(c_above=t["c_above"].where(t["lucode"] != 4, np.nan)), "not a number"),
    (lambda t: t.drop(columns=["c_dead"]), "missing column"),
])
def test_bad_density_tables(pair, tmp_path, capsys, mutate, words):
    bas, _, pools = pair
    bad = tmp_path / "bad.csv"
    mutate(pd.read_csv(pools)).to_csv(bad, index=False)
    assert main(["carbon", "--landcover", str(bas), "--densities", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert words in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_mismatched_grids_refused(pair, tmp_path, capsys):
    bas, _, pools = pair
    d = tmp_path / "other"
    d.mkdir()
    other, _ = write_pair(d, shape=(100, 120))
    assert main(["carbon", "--landcover", str(bas), "--alt", str(other), "--densities", str(pools),
                 "--out", str(tmp_path / "o")]) == 2
    assert "different grids" in capsys.readouterr().err


def test_geographic_raster_is_reprojected_not_measured_in_degrees(tmp_path, pair):
    bas, _, pools = pair
    geo = tmp_path / "geo.tif"
    from rasterio.warp import calculate_default_transform, reproject

    with rasterio.open(bas) as src:
        t, w, h = calculate_default_transform(src.crs, "EPSG:4326", src.width, src.height, *src.bounds)
        prof = src.profile | {"crs": "EPSG:4326", "transform": t, "width": w, "height": h}
        with rasterio.open(geo, "w", **prof) as dst:
            reproject(rasterio.band(src, 1), rasterio.band(dst, 1), resampling=rasterio.enums.Resampling.nearest)
    r = run_carbon(geo, tmp_path / "o", densities=pools, write_rasters=False)
    assert any("reprojected" in n for n in r.summary["notes"])
    assert _rel(r.summary["total_mgc"], INVEST["baseline_mgc"]) < 0.05  # same stock, resampled twice


def test_zones_missing_the_raster_refused(pair, tmp_path, capsys):
    bas, _, pools = pair
    z = tmp_path / "far.gpkg"
    gpd.GeoDataFrame({"name": ["far"]}, geometry=[shapely.box(0, 0, 10, 10)], crs="EPSG:32649").to_file(z)
    assert main(["carbon", "--landcover", str(bas), "--densities", str(pools), "--zones", str(z),
                 "--out", str(tmp_path / "o")]) == 2
    assert "overlaps" in capsys.readouterr().err


# --- zones, raster pools, chunks ---------------------------------------------------------------

def _zones(tmp_path, crs="EPSG:4326"):
    x0, y1 = 600000, 4510000
    polys = [shapely.box(x0, y1 - 257 * 30, x0 + 150 * 30, y1), shapely.box(x0 + 150 * 30, y1 - 257 * 30, x0 + 311 * 30, y1)]
    p = tmp_path / "zones.gpkg"
    gpd.GeoDataFrame({"名称": ["西区", "东区"]}, geometry=polys, crs="EPSG:32649").to_crs(crs).to_file(p)
    return p


def test_zone_totals_add_up_and_zones_are_reprojected(pair, tmp_path):
    bas, alt, pools = pair
    r = run_carbon(bas, tmp_path / "o", alt=alt, densities=pools, zones=_zones(tmp_path), zone_field="名称",
                   write_rasters=False)
    z = r.zones.set_index("zone")
    assert set(z.index) == {"西区", "东区"}
    assert any("reprojected" in n for n in r.summary["notes"])
    # the two zones cover the raster up to the reprojection sliver of their shared edge
    assert _rel(z["total_mgc"].sum(), r.summary["total_mgc"]) < 0.01
    assert _rel(z["change_mgc"].sum(), r.summary["change_mgc"]) < 0.02


def test_raster_pool_overrides_table_where_it_has_data(pair, tmp_path):
    bas, _, pools = pair
    with rasterio.open(bas) as src:
        prof = src.profile | {"dtype": "float32", "nodata": -9999.0}
        codes = src.read(1)
    agb = np.full(codes.shape, -9999.0, dtype="float32")
    agb[:, :100] = 50.0  # a biomass-model carbon layer covering the western third
    p = tmp_path / "above.tif"
    with rasterio.open(p, "w", **prof) as ds:
        ds.write(agb, 1)
    base = run_carbon(bas, tmp_path / "a", densities=pools, write_rasters=False).summary
    over = run_carbon(bas, tmp_path / "b", densities=pools, pool_rasters={"c_above": p}, pool_maps=True).summary
    table = pd.read_csv(pools).set_index("lucode")
    valid = codes != 255
    west = np.zeros(codes.shape, bool)
    west[:, :100] = True
    px_ha = 0.09
    expected = base["pools_mgc"]["c_above"] - float(table.loc[codes[valid & west], "c_above"].sum()) * px_ha \
        + 50.0 * int((valid & west).sum()) * px_ha
    assert over["pools_mgc"]["c_above"] == pytest.approx(expected, rel=1e-6)
    with rasterio.open(tmp_path / "b" / "c_above.tif") as ds:
        v = ds.read(1)
        assert ds.tags(ns="IMAGE_STRUCTURE").get("PREDICTOR") == "3"  # maps varying within a class
    assert np.all(v[valid & west] == 50.0)
    share = 100 * int((valid & west).sum()) / int(valid.sum())
    assert any(f"above.tif gives c_above over {share:.1f} % of the land-cover pixels" in n for n in over["notes"])
    # a pool raster with no data over the land cover (another place, a wrong file) is refused, not ignored
    elsewhere = tmp_path / "elsewhere.tif"
    with rasterio.open(elsewhere, "w", **(prof | {"transform": prof["transform"] * Affine.translation(5000, 0)})) as ds:
        ds.write(np.full(codes.shape, 50.0, dtype="float32"), 1)
    with pytest.raises(InputError, match="elsewhere.tif .* has no data over any land-cover pixel"):
        run_carbon(bas, tmp_path / "c", densities=pools, pool_rasters={"c_above": elsewhere}, write_rasters=False)


def test_chunk_size_does_not_change_results(pair, tmp_path):
    bas, alt, pools = pair
    a = run_carbon(bas, tmp_path / "a", alt=alt, densities=pools, chunks=512, write_rasters=False).summary
    b = run_carbon(bas, tmp_path / "b", alt=alt, densities=pools, chunks=1024, write_rasters=False).summary
    assert a["total_mgc"] == pytest.approx(b["total_mgc"], rel=1e-12)
    assert a["change_mgc"] == pytest.approx(b["change_mgc"], rel=1e-9)


def test_distributed_local_cluster_gives_the_same_outputs(pair, tmp_path):
    distributed = pytest.importorskip("distributed")
    bas, alt, pools = pair
    local = run_carbon(bas, tmp_path / "local", alt=alt, densities=pools)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cl:
        remote = run_carbon(bas, tmp_path / "remote", alt=alt, densities=pools, scheduler=cl.scheduler_address)
    assert remote.summary["total_mgc"] == pytest.approx(local.summary["total_mgc"], rel=1e-12)
    assert remote.summary["change_mgc"] == pytest.approx(local.summary["change_mgc"], rel=1e-9)
    for name in ("c_storage_bas.tif", "c_change_bas_alt.tif"):
        with rasterio.open(tmp_path / "local" / name) as a, rasterio.open(tmp_path / "remote" / name) as b:
            np.testing.assert_array_equal(a.read(1), b.read(1))


# --- uncertainty ---------------------------------------------------------------------------------

def test_monte_carlo_default_table_and_approach1(pair, tmp_path):
    bas, alt, _ = pair
    r = run_carbon(bas, tmp_path / "o", alt=alt, mc=1000, seed=7, write_rasters=False)
    s = r.summary
    assert s["ci95_low_mgc"] < s["total_mgc"] < s["ci95_high_mgc"]
    assert s["change_ci95_low_mgc"] < s["change_mgc"] < s["change_ci95_high_mgc"]
    mc_half = (s["ci95_high_mgc"] - s["ci95_low_mgc"]) / 2
    a1_half = s["ipcc_approach1"]["total_halfwidth_mgc"]
    # one draw per class: classes move together, so Monte Carlo is wider than independent propagation
    assert 0.5 * a1_half < mc_half < 6 * a1_half
    again = run_carbon(bas, tmp_path / "o2", alt=alt, mc=1000, seed=7, write_rasters=False).summary
    assert again["ci95_low_mgc"] == s["ci95_low_mgc"]  # deterministic with the seed


def test_one_draw_per_class_not_per_pixel():
    table = default_density_table().loc[[4]]
    areas = PoolAreas(pd.DataFrame({p: [1000.0] for p in ("c_above", "c_below", "c_soil", "c_dead")}, index=[4]),
                      {})
    out = monte_carlo(table, areas, iterations=20000, seed=1)["total_mgc"]
    lo = sum(triangular_ppf(0.025, table[f"{p}_low"], table[p], table[f"{p}_high"])[0] for p in ("c_soil",))
    # the soil pool dominates; its spread must survive at the class level (per-pixel draws would average it away)
    assert np.std(out) > 0.5 * 1000 * (table["c_soil_high"].iloc[0] - table["c_soil_low"].iloc[0]) / np.sqrt(24)
    assert lo > 0


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0, 5000), min_size=10, max_size=10), st.integers(0, 2**31 - 1))
def test_mc_totals_stay_within_the_table_ranges(areas, seed):
    table = default_density_table()
    a = pd.DataFrame({p: areas for p in ("c_above", "c_below", "c_soil", "c_dead")}, index=table.index)
    out = monte_carlo(table, PoolAreas(a, {}), iterations=200, seed=seed)["total_mgc"]
    lo = sum((a[p] * table[f"{p}_low"]).sum() for p in ("c_above", "c_below", "c_soil", "c_dead"))
    hi = sum((a[p] * table[f"{p}_high"]).sum() for p in ("c_above", "c_below", "c_soil", "c_dead"))
    assert np.all(out >= lo - 1e-6) and np.all(out <= hi + 1e-6)


def test_correlated_dates_give_zero_change_uncertainty_without_land_change():
    table = default_density_table()
    a = pd.DataFrame({p: [100.0] * len(table) for p in ("c_above", "c_below", "c_soil", "c_dead")}, index=table.index)
    same = PoolAreas(a, {})
    t = pd.Series([100.0] * len(table), index=pd.MultiIndex.from_arrays([table.index, table.index]))
    out = monte_carlo(table, same, same, iterations=100, seed=0, transitions=t, change_mgc=0.0)
    assert np.allclose(out["change_mgc"], 0.0)
    indep = monte_carlo(table, same, same, iterations=100, seed=0, correlate_dates=False, transitions=t, change_mgc=0.0)
    assert np.std(indep["change_mgc"]) > 0
    assert approach1(table, same, same, True, t)["change_halfwidth_mgc"] == 0.0


# --- 三调 polygons ----------------------------------------------------------------------------------

def test_sandiao_polygons_exact_area(tmp_path):
    from kunsink.datasets import load_boundary

    c = load_boundary().geometry.iloc[0].representative_point()
    polys = [shapely.box(c.x, c.y, c.x + 100, c.y + 100), shapely.box(c.x + 100, c.y, c.x + 300, c.y + 100),
             shapely.box(c.x, c.y + 100, c.x + 300, c.y + 150), shapely.box(c.x + 300, c.y, c.x + 350, c.y + 150)]
    gdf = gpd.GeoDataFrame({"DLBM": ["0301", "0404", "1108", "0602"], "DLMC": ["乔木林地", "其他草地", "沼泽地", "采矿用地"]},
                           geometry=polys, crs="EPSG:4546")
    p = tmp_path / "sandiao.shp"
    gdf.to_file(p, encoding="gbk")
    p.with_suffix(".cpg").unlink()  # as delivered: GBK with no .cpg
    r = run_carbon_polygons(p, tmp_path / "o", mc=200)
    t = default_density_table()
    tot = lambda k: t.loc[k, ["c_above", "c_below", "c_soil", "c_dead"]].sum()  # noqa: E731
    expected = 1.0 * tot(2) + 2.0 * tot(4) + 1.5 * tot(9) + 0.75 * tot(10)
    assert r.summary["total_mgc"] == pytest.approx(expected, rel=1e-9)
    out = gpd.read_file(tmp_path / "o" / "stocks.gpkg")
    assert list(out["lucode"]) == [2, 4, 9, 10]
    assert r.summary["ci95_low_mgc"] < r.summary["ci95_high_mgc"]


def test_cli_polygons_unknown_code(tmp_path, capsys):
    from kunsink.datasets import load_boundary

    c = load_boundary().geometry.iloc[0].representative_point()
    p = tmp_path / "x.gpkg"
    gpd.GeoDataFrame({"DLBM": ["9999"]}, geometry=[shapely.box(c.x, c.y, c.x + 10, c.y + 10)], crs="EPSG:4546").to_file(p)
    assert main(["carbon", "--landcover", str(p), "--out", str(tmp_path / "o")]) == 2
    assert "9999" in capsys.readouterr().err


# --- class schemes ---------------------------------------------------------------------------------

def _recode(src: Path, dst: Path, mapping: dict[int, int]) -> Path:
    with rasterio.open(src) as ds:
        prof, a = ds.profile, ds.read(1)
    out = a.copy()
    for k, v in mapping.items():
        out[a == k] = v
    with rasterio.open(dst, "w", **prof) as ds:
        ds.write(out, 1)
    return dst


def test_worldcover_and_custom_schemes_reproduce_the_clcd_result(pair, tmp_path):
    bas, _, _ = pair
    clcd = run_carbon(bas, tmp_path / "a", write_rasters=False).summary["total_mgc"]
    # the same land cover in ESA WorldCover codes (snow 6 → 70, barren 7 → 60 …)
    wc = _recode(bas, tmp_path / "wc.tif", {1: 40, 2: 10, 3: 20, 4: 30, 5: 80, 6: 70, 7: 60, 8: 50, 9: 90})
    got = run_carbon(wc, tmp_path / "b", scheme="worldcover", write_rasters=False).summary["total_mgc"]
    assert got == pytest.approx(clcd, rel=1e-12)
    custom = _recode(bas, tmp_path / "c.tif", {k: 100 + k for k in range(1, 10)})
    reclass = tmp_path / "reclass.csv"
    pd.DataFrame({"code": [100 + k for k in range(1, 10)], "lucode": list(range(1, 10))}).to_csv(reclass, index=False)
    got = run_carbon(custom, tmp_path / "d", scheme="custom", reclass=reclass, write_rasters=False).summary["total_mgc"]
    assert got == pytest.approx(clcd, rel=1e-12)


def test_code_outside_the_scheme_is_named(pair, tmp_path, capsys):
    bas, _, _ = pair
    odd = _recode(bas, tmp_path / "odd.tif", {3: 33})
    assert main(["carbon", "--landcover", str(odd), "--out", str(tmp_path / "o")]) == 2
    assert "[33]" in capsys.readouterr().err


def test_pool_maps_on_request_add_up_to_the_total_map(pair, tmp_path):
    bas, alt, pools = pair
    run_carbon(bas, tmp_path / "totals", alt=alt, densities=pools)
    assert main(["carbon", "--landcover", str(bas), "--alt", str(alt), "--densities", str(pools), "--pool-maps",
                 "--area", "none", "--out", str(tmp_path / "pools")]) == 0
    tifs = sorted(p.name for p in (tmp_path / "pools").glob("*.tif"))
    assert len(tifs) == 11 and "c_dead_alt.tif" in tifs
    for date in ("bas", "alt"):
        with rasterio.open(tmp_path / "pools" / f"c_storage_{date}.tif") as ds:
            total = ds.read(1)
        with rasterio.open(tmp_path / "totals" / f"c_storage_{date}.tif") as ds:
            np.testing.assert_array_equal(ds.read(1), total)  # the one-gather total is the pools' float32 sum
        parts = []
        for pool in ("c_above", "c_below", "c_soil", "c_dead"):
            with rasterio.open(tmp_path / "pools" / f"{pool}_{date}.tif") as ds:
                parts.append(ds.read(1))
        valid = total != -1
        assert valid.any() and np.all(parts[0][~valid] == -1)
        summed = parts[0] + parts[1]
        for p in parts[2:]:
            summed = summed + p
        np.testing.assert_array_equal(summed[valid], total[valid])


def test_pool_maps_are_refused_where_there_are_none(pair, tmp_path, capsys):
    bas, alt, _ = pair
    series = [f"2020={bas}", f"2021={alt}", f"2022={bas}"]
    args = ["carbon", "--pool-maps", "--out", str(tmp_path / "o")]
    assert main([*args, *(a for s in series for a in ("--landcover", s))]) == 2
    assert "--pool-maps" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_plain_tiff_option_writes_the_same_values(pair, tmp_path):
    bas, alt, pools = pair
    run_carbon(bas, tmp_path / "cog", alt=alt, densities=pools, pool_maps=True)
    run_carbon(bas, tmp_path / "plain", alt=alt, densities=pools, cog=False, pool_maps=True)
    for name in ("c_storage_bas.tif", "c_change_bas_alt.tif", "c_soil_alt.tif"):
        with rasterio.open(tmp_path / "cog" / name) as a, rasterio.open(tmp_path / "plain" / name) as b:
            assert b.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") != "COG" and b.profile["tiled"]
            np.testing.assert_array_equal(a.read(1), b.read(1))


# --- regressions found in review -----------------------------------------------------------------

def _geo_copy(src: Path, dst: Path) -> Path:
    from rasterio.warp import calculate_default_transform, reproject

    dst.parent.mkdir(parents=True, exist_ok=True)
    with rasterio.open(src) as s:
        t, w, h = calculate_default_transform(s.crs, "EPSG:4326", s.width, s.height, *s.bounds)
        with rasterio.open(dst, "w", **(s.profile | {"crs": "EPSG:4326", "transform": t, "width": w, "height": h})) as d:
            reproject(rasterio.band(s, 1), rasterio.band(d, 1), resampling=rasterio.enums.Resampling.nearest)
    return dst


def test_same_file_names_in_two_folders_are_not_confused(pair, tmp_path):
    bas, alt, pools = pair
    a = _geo_copy(bas, tmp_path / "y2020" / "lc.tif")
    b = _geo_copy(alt, tmp_path / "y2025" / "lc.tif")
    s = run_carbon(a, tmp_path / "o", alt=b, densities=pools, write_rasters=False).summary
    assert s["total_mgc"] != pytest.approx(s["total_alt_mgc"], rel=1e-6)
    assert all("matmul" not in n for n in s["notes"])


def test_existing_folder_with_other_files_is_refused_not_deleted(pair, tmp_path, capsys):
    bas, _, pools = pair
    keep = tmp_path / "keep"
    keep.mkdir()
    (keep / "notes.txt").write_text("mine")
    assert main(["carbon", "--landcover", str(bas), "--densities", str(pools), "--out", str(keep)]) == 2
    assert "did not write" in capsys.readouterr().err
    assert (keep / "notes.txt").read_text() == "mine"
    # a folder kunsink wrote is replaced on the next run
    out = tmp_path / "out"
    assert main(["carbon", "--landcover", str(bas), "--densities", str(pools), "--out", str(out)]) == 0
    assert main(["carbon", "--landcover", str(bas), "--densities", str(pools), "--out", str(out)]) == 0


def test_out_dot_and_bad_chunks(pair, tmp_path, monkeypatch, capsys):
    bas, _, pools = pair
    work = tmp_path / "w"
    work.mkdir()
    monkeypatch.chdir(work)
    assert main(["carbon", "--landcover", str(bas), "--densities", str(pools), "--out", "."]) == 0
    assert (work / "summary.json").exists()
    for bad in ("0", "-512", "700"):
        assert main(["carbon", "--landcover", str(bas), "--densities", str(pools), "--chunks", bad,
                     "--out", str(tmp_path / "c")]) == 2
        assert "multiple of 512" in capsys.readouterr().err


# --- compute and write apart ------------------------------------------------------------------

def _map_zone_sums(result, zones_fn=None):
    """The change map's own sums (Mg C): what the zone change equalled before it came from transitions."""
    from kunsink.carbon.stocks import reduce_zone_sums, zone_sum_tasks

    parts = zone_sum_tasks(result.rasters["c_change_bas_alt"], zones_fn)
    import dask

    return reduce_zone_sums(list(dask.compute(*parts))) * result.summary["pixel_area_m2"] / 1e4


@pytest.mark.parametrize("zoned", [False, True])
def test_compute_then_write_equals_the_change_map(pair, tmp_path, zoned):
    from kunsink.carbon.run import _prepare_zones, compute_carbon, write_carbon

    bas, alt, pools = pair
    zones = _zones(tmp_path) if zoned else None
    work = tmp_path / "work"
    work.mkdir()
    r = compute_carbon(bas, alt=alt, densities=pools, zones=zones, zone_field="名称" if zoned else None, workdir=work)
    assert not (tmp_path / "o").exists() and r.files == []  # nothing written by compute
    assert set(r.rasters) >= {"c_storage_bas", "c_storage_alt", "c_change_bas_alt"}
    assert all(hasattr(a, "dask") for a in r.rasters.values())  # lazy
    zones_fn = _prepare_zones(zones, "名称", r.grid, [])[0] if zoned else None
    by_map = _map_zone_sums(r, zones_fn)
    assert _rel(r.summary["change_mgc"], float(by_map.sum())) < 1e-9
    if zoned:
        z = r.zones  # zone_id 1, 2 → the map's zone numbers
        for zid, change in z["change_mgc"].items():
            assert _rel(change, float(by_map.get(zid, 0.0))) < 1e-9
    files = write_carbon(r, tmp_path / "o")
    assert {f.name for f in files} >= {"c_change_bas_alt.tif", "summary.csv", "tables.xlsx"}
    assert all(f.exists() for f in files)
    assert json.loads((tmp_path / "o" / "summary.json").read_text(encoding="utf-8"))["change_mgc"] == \
        pytest.approx(r.summary["change_mgc"], rel=1e-12)


def test_a_change_of_exactly_minus_one_is_data(pair, tmp_path):
    """Change and value may be any number: their nodata is NaN, so a class change of −1 Mg C/ha stays in the
    map, the totals and the zone sums (the stocks' −1 nodata would have dropped those pixels)."""
    from kunsink.carbon.stocks import change_from_transitions

    table = pd.DataFrame({"c_above": [3.0, 2.0], "c_below": [0.0, 0.0], "c_soil": [0.0, 0.0], "c_dead": [0.0, 0.0]},
                         index=pd.Index([1, 2], name="lucode"))
    trans = pd.Series([10, 5], index=pd.MultiIndex.from_tuples([(1, 2), (2, 1)], names=["code", "code_alt"]))
    assert change_from_transitions(trans, table, None, 1e4).to_dict() == {0: -5.0}  # 10 × (−1) + 5 × (+1), 1 ha pixels
    bas, alt, pools = pair
    dens = pd.read_csv(pools)
    dens.loc[dens["lucode"] == 7, ["c_above", "c_below", "c_soil", "c_dead"]] = [0.0, 1.0, 42.0, 0.0]
    dens.loc[dens["lucode"] == 4, ["c_above", "c_below", "c_soil", "c_dead"]] = [1.0, 2.0, 39.0, 0.0]  # 43 → 42
    dens.to_csv(tmp_path / "d.csv", index=False)
    r = run_carbon(bas, tmp_path / "o", alt=alt, densities=tmp_path / "d.csv", years=(2020, 2025), price=10)
    with rasterio.open(tmp_path / "o" / "c_change_bas_alt.tif") as ds, rasterio.open(bas) as a, rasterio.open(alt) as b:
        assert np.isnan(ds.nodata)
        change, A, B = ds.read(1), a.read(1), b.read(1)
    moved = (A == 7) & (B == 4)  # barren restored to grassland: exactly −1 Mg C/ha
    assert moved.any() and np.all(change[moved] == -1.0)
    both = (A != 255) & (B != 255)
    assert np.isnan(change[~both]).all() and np.isfinite(change[both]).all()
    px_ha = 30 * 30 / 1e4
    assert _rel(float(change[both].astype("float64").sum() * px_ha), r.summary["change_mgc"]) < 1e-7
    with rasterio.open(tmp_path / "o" / "npv_bas_alt.tif") as ds:
        assert np.isnan(ds.nodata) and np.isfinite(ds.read(1)[moved]).all()


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**16), nodata=st.sampled_from([(0, 0), (None, None), (255.0, 255), (0, None),
                                                          (float("nan"), float("nan")), (-9999.0, 3)]))
def test_uint8_pair_counts_equal_the_general_path(seed, nodata):
    from kunsink.carbon.stocks import _pair_block, _stats_block, _transition_block

    rng = np.random.default_rng(seed)
    bas = rng.integers(0, int(rng.integers(2, 257)), (40, 37)).astype(np.uint8)
    alt = rng.integers(0, 12, (40, 37)).astype(np.uint8)
    fast = _pair_block(bas, alt, (0, 0), None, nodata, {}, {}, ({}, {}))
    assert fast["bas"]["count"].equals(_stats_block(bas, nodata[0], None, {}, {})["count"])
    assert fast["alt"]["count"].equals(_stats_block(alt, nodata[1], None, {}, {})["count"])
    assert fast["trans"].equals(_transition_block(bas, alt, nodata[0], nodata[1]))


def test_land_cover_outside_the_default_area_is_reported_without_an_area(pair, tmp_path, capsys):
    """No --area and a land cover wholly outside the default district: analysed whole, and neither the summary
    nor the command's lines call it the district or a share of it."""
    bas, _, pools = pair
    r = run_carbon(bas, tmp_path / "o", densities=pools, write_rasters=False)
    assert r.summary["study_area"]["name"] == "none" and r.summary["study_area"]["clipped"] is False
    assert any("wholly outside the default study area" in n for n in r.summary["notes"])
    assert not any("of the study area" in n for n in r.summary["notes"])
    assert main(["carbon", "--landcover", str(bas), "--densities", str(pools), "--out", str(tmp_path / "c")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("study area: none") and "of the study area" not in out
