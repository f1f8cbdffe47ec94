"""Biomass model: recovering a known relationship, spatial folds, optimism of random folds, chunked maps,
carbon pools handed to the carbon model, model files without pickle, extrapolation, bad inputs; and change
at remeasured plots with standard errors."""

from __future__ import annotations

import json
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from scipy.ndimage import gaussian_filter

from kunsink.carbon.run import run_carbon
from kunsink.cli import main
from kunsink.datasets import data_dir
from kunsink.errors import InputError
from kunsink.io import write_raster, write_vector
from kunsink.plots import (
    ExtrapolationWarning,
    block_ids,
    evaluate_models,
    fit_biomass_model,
    load_model,
    plot_change,
    spatial_folds,
    stratified_change,
    stratum_change,
)
from kunsink.plots.allometry import root_shoot_ratio, root_shoot_table
from kunsink.plots.run import run_model, run_predict

A, B = -2.02, 9.72  # the demo scene's AGB = exp(A + B·NDVI)
X0, Y0, PX = 386000.0, 4518000.0, 20.0  # a 12 × 12 km window of the district's northern hills, 20 m pixels
SHAPE = (600, 600)
CRS = "EPSG:4546"
TRANSFORM = rasterio.transform.from_origin(X0, Y0, PX, PX)


def _agb(ndvi):
    return np.exp(A + B * ndvi)


@pytest.fixture(scope="module", autouse=True)
def _no_study_area():
    """The scene straddles the district's edge and is about the model, not about clipping: no study area."""
    from kunsink.area import use_area

    with use_area("none"):
        yield


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    """A small synthetic scene: smooth NDVI, land cover from NDVI (grass/shrub/forest, an impervious patch,
    a nodata strip), and 90 plots with AGB = exp(A + B·NDVI)·LogNormal(0, 0.2)."""
    d = tmp_path_factory.mktemp("scene")
    rng = np.random.default_rng(42)
    field = gaussian_filter(rng.normal(size=SHAPE), 12)
    ndvi = (0.45 + 0.16 * field / field.std()).clip(0.12, 0.8).astype("float32")
    lc = np.where(ndvi < 0.36, 4, np.where(ndvi < 0.5, 3, 2)).astype("uint8")
    lc[40:90, 400:480] = 8  # an impervious patch: no plots there, so it is not mapped
    lc[:, :10] = 0  # nodata strip
    ndvi[:, :10] = -9999
    prof = {"crs": CRS, "transform": TRANSFORM}
    ndvi_path = write_raster(ndvi, d / "ndvi.tif", {**prof, "nodata": -9999.0}, source="synthetic", year="2020")
    lc_path = write_raster(lc, d / "lc.tif", {**prof, "nodata": 0}, source="synthetic")
    ok = np.argwhere((lc != 0) & (lc != 8))
    pick = ok[rng.choice(len(ok), 90, replace=False)]
    rows, cols = pick[:, 0], pick[:, 1]
    x, y = X0 + (cols + 0.5) * PX, Y0 - (rows + 0.5) * PX
    v = ndvi[rows, cols].astype("float64")
    agb = _agb(v) * np.exp(rng.normal(0, 0.2, len(v)))
    names = {2: "forest", 3: "shrub", 4: "grassland"}
    plots = gpd.GeoDataFrame({"plot_id": [f"T{i:03d}" for i in range(len(v))],
                              "stratum": [names[int(c)] for c in lc[rows, cols]],
                              "agb_t_ha": agb.round(3), "survey_year": 2020, "source": "synthetic"},
                             geometry=gpd.points_from_xy(x, y), crs=CRS)
    plots_path = write_vector(plots, d / "plots.gpkg", layer="plots")
    return {"dir": d, "ndvi": ndvi_path, "lc": lc_path, "plots": plots_path, "gdf": plots, "ndvi_arr": ndvi,
            "lc_arr": lc}


@pytest.fixture(scope="module")
def modelled(scene, tmp_path_factory):
    out = tmp_path_factory.mktemp("model") / "m"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtrapolationWarning)
        r = run_model(scene["plots"], {"ndvi": scene["ndvi"]}, out, landcover=scene["lc"], n_trees=60, folds=5,
                      block_m=2000, seed=1, chunks=512, boundary=False)
    return r, out


# --- the model recovers a known relationship ------------------------------------------------------

def test_log_linear_recovers_the_coefficients(scene):
    g = scene["gdf"]
    with rasterio.open(scene["ndvi"]) as ds:
        v = np.array([s[0] for s in ds.sample(zip(g.geometry.x, g.geometry.y))])
    m = fit_biomass_model(pd.DataFrame({"ndvi": v}), g["agb_t_ha"].to_numpy(), "linear")
    assert m.params["intercept"] == pytest.approx(A, abs=0.2)
    assert m.params["coef"][0] == pytest.approx(B, abs=0.5)
    assert m.params["sigma2"] == pytest.approx(0.2 ** 2, rel=0.4)


def test_random_forest_recovers_the_relationship(scene):
    g = scene["gdf"]
    with rasterio.open(scene["ndvi"]) as ds:
        v = np.array([s[0] for s in ds.sample(zip(g.geometry.x, g.geometry.y))])
    m = fit_biomass_model(pd.DataFrame({"ndvi": v}), g["agb_t_ha"].to_numpy(), "rf", n_trees=100, seed=0)
    grid = np.linspace(np.quantile(v, 0.05), np.quantile(v, 0.95), 50)
    pred, spread = m.predict(pd.DataFrame({"ndvi": grid}))
    truth = _agb(grid) * np.exp(0.2 ** 2 / 2)  # the conditional mean of the log-normal noise
    assert 1 - np.sum((pred - truth) ** 2) / np.sum((truth - truth.mean()) ** 2) > 0.9
    assert np.median(np.abs(pred / truth - 1)) < 0.15
    assert (spread >= 0).all() and spread.mean() > 0


# --- spatial cross-validation -----------------------------------------------------------------------

def test_spatial_folds_are_disjoint_blocks():
    rng = np.random.default_rng(0)
    x, y = rng.uniform(0, 20_000, 300), rng.uniform(0, 20_000, 300)
    folds, blocks = spatial_folds(x, y, 2500, 5)
    assert set(folds) == set(range(5))
    for b in np.unique(blocks):
        assert len(set(folds[blocks == b])) == 1  # a block lies in exactly one fold
    for k in range(5):
        test, train = folds == k, folds != k
        assert not set(blocks[test]) & set(blocks[train])
        # the squares of the test blocks hold no training plot
        cells = {(int(np.floor((a - x.min()) / 2500)), int(np.floor((b - y.min()) / 2500)))
                 for a, b in zip(x[test], y[test])}
        train_cells = {(int(np.floor((a - x.min()) / 2500)), int(np.floor((b - y.min()) / 2500)))
                       for a, b in zip(x[train], y[train])}
        assert not cells & train_cells
    assert np.array_equal(block_ids([0, 2499, 2500], [0, 0, 0], 2500), [0, 0, 1])


def test_random_folds_overstate_skill_when_errors_are_spatial():
    """Plots in clusters sharing an unexplained effect: random folds put cluster mates on both sides."""
    rng = np.random.default_rng(3)
    nc, per = 16, 8
    cx, cy = rng.uniform(0, 20_000, nc), rng.uniform(0, 20_000, nc)
    x = (cx[:, None] + rng.normal(0, 100, (nc, per))).ravel()
    y = (cy[:, None] + rng.normal(0, 100, (nc, per))).ravel()
    X = pd.DataFrame({"ndvi": rng.uniform(0.2, 0.6, nc * per), "elev": 1000 + 0.02 * x + 0.015 * y})
    agb = np.clip(5 + 40 * X["ndvi"] + np.repeat(rng.normal(0, 12, nc), per) + rng.normal(0, 1, nc * per), 0.1, None)
    ev = evaluate_models(X, agb.to_numpy(), x, y, n_folds=5, block_m=2500, seed=0, kinds=["rf"], n_trees=60)
    r2 = ev.summary.set_index("cv")["r2"]
    assert r2["random"] > r2["spatial blocks"] + 0.2


# --- maps, carbon pools, model files -------------------------------------------------------------------

def test_model_outputs(modelled, scene):
    r, out = modelled
    names = {p.name for p in out.iterdir()}
    for n in ("agb_t_ha.tif", "agb_sd_t_ha.tif", "c_above.tif", "c_below.tif", "extrapolated.tif", "cv_summary.csv",
              "cv_by_stratum.csv", "cv_predictions.csv", "plots_cv.gpkg", "summary.json", "biomass_map.html", "model"):
        assert n in names
    assert not any(n.startswith(".") and n != ".kunsink-output" for n in names)
    assert set(r.cv["cv"]) == {"spatial blocks", "random"} and len(r.cv) == 4
    assert r.cv.loc[r.cv["model"] == "random forest", "r2"].min() > 0.5
    with rasterio.open(out / "agb_t_ha.tif") as ds:
        agb = ds.read(1)
        assert ds.nodata == -1 and ds.tags()["source"] == "synthetic" and ds.tags()["units"] == "t/ha"
    with rasterio.open(out / "c_above.tif") as ds:
        ca = ds.read(1)
        assert ds.tags()["units"] == "Mg C/ha"
    with rasterio.open(out / "c_below.tif") as ds:
        cb = ds.read(1)
    lc = scene["lc_arr"]
    valid = agb != -1
    assert np.array_equal(valid, np.isin(lc, [2, 3, 4]))  # impervious (no plots) and nodata are not mapped
    assert np.allclose(ca[valid], agb[valid] * 0.47, rtol=1e-5)
    ratio = root_shoot_ratio(lc[valid], agb[valid], root_shoot_table())
    assert np.allclose(cb[valid], agb[valid] * 0.47 * ratio, rtol=1e-5)
    assert set(np.unique(ratio[lc[valid] == 4])) == {2.8}
    assert set(np.unique(ratio[lc[valid] == 2])) <= {0.40, 0.29, 0.20}
    # the maps agree with the model applied to the whole array at once (chunking changes nothing)
    full, _ = r.model.predict(pd.DataFrame({"ndvi": scene["ndvi_arr"][valid]}))
    assert np.allclose(agb[valid], full, rtol=1e-5)
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert s["data_source"] == "synthetic" and s["mapped_classes"] == [2, 3, 4]


def test_carbon_takes_the_pools_where_the_map_has_data(modelled, scene, tmp_path):
    _, out = modelled
    base = run_carbon(scene["lc"], tmp_path / "table", write_rasters=False)
    pooled = run_carbon(scene["lc"], tmp_path / "pooled", write_rasters=False,
                        pool_rasters={"c_above": out / "c_above.tif", "c_below": out / "c_below.tif"})
    b, p = base.classes, pooled.classes
    with rasterio.open(out / "c_above.tif") as ds:
        ca = ds.read(1)
    lc = scene["lc_arr"]
    px_ha = PX * PX / 1e4
    for code in (2, 3, 4):
        assert p.loc[code, "c_above_mgc"] == pytest.approx(ca[lc == code].astype("float64").sum() * px_ha, rel=1e-5)
        assert p.loc[code, "c_above_mgc"] != pytest.approx(b.loc[code, "c_above_mgc"], rel=1e-3)
    assert p.loc[8, "total_mgc"] == pytest.approx(b.loc[8, "total_mgc"], rel=1e-9)  # no map there: table
    assert p.loc[2, "c_soil_mgc"] == pytest.approx(b.loc[2, "c_soil_mgc"], rel=1e-9)


def test_cli_carbon_accepts_the_pools(modelled, scene, tmp_path, capsys):
    _, out = modelled
    code = main(["carbon", "--area", "none", "--landcover", str(scene["lc"]), "--pool", f"c_above={out / 'c_above.tif'}",
                 "--pool", f"c_below={out / 'c_below.tif'}", "--out", str(tmp_path / "c"), "--no-overviews"])
    assert code == 0, capsys.readouterr().err


def test_model_files_load_without_pickle(modelled, scene):
    r, out = modelled
    meta = json.loads((out / "model" / "model.json").read_text(encoding="utf-8"))
    assert meta["features"] == ["ndvi"] and meta["training"]["crs"] == "EPSG:4546"
    assert set(meta["training"]["ranges"]) == {"ndvi"} and len(meta["training"]["extent"]) == 4
    assert meta["trusted_types"] == ["sklearn.tree._tree.Tree"] and meta["source"] == "synthetic"
    X = pd.DataFrame({"ndvi": np.linspace(0.2, 0.7, 30)})
    loaded, _ = load_model(out)
    refit, _ = load_model(out, refit=True)  # parameters + training data give the same forest
    assert np.allclose(loaded.predict(X)[0], r.model.predict(X)[0])
    assert np.allclose(refit.predict(X)[0], r.model.predict(X)[0])


def test_changed_or_untrusted_model_files_are_refused(modelled, tmp_path):
    import shutil

    import skops.io as sio
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    _, out = modelled
    d = tmp_path / "model"
    shutil.copytree(out / "model", d)
    with open(d / "model.skops", "ab") as f:
        f.write(b"x")
    with pytest.raises(InputError, match="checksum"):
        load_model(d)
    # a file holding a type kunsink does not trust (a function that runs a shell command)
    import hashlib
    import os

    sio.dump(make_pipeline(FunctionTransformer(os.system)), d / "model.skops")
    meta = json.loads((d / "model.json").read_text(encoding="utf-8"))
    meta["skops_sha256"] = hashlib.sha256((d / "model.skops").read_bytes()).hexdigest()
    (d / "model.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(InputError, match="does not trust"):
        load_model(d)


def test_predicting_outside_the_training_ranges_is_warned(modelled, scene, tmp_path, capsys):
    _, out = modelled
    hot = scene["ndvi_arr"].copy()
    hot[hot != -9999] += 0.25
    path = write_raster(hot, tmp_path / "ndvi_hot.tif", {"crs": CRS, "transform": TRANSFORM, "nodata": -9999.0},
                        source="synthetic")
    with pytest.warns(ExtrapolationWarning, match="outside the training range"):
        r = run_predict(out, {"ndvi": path}, tmp_path / "p", landcover=scene["lc"], boundary=False)
    assert r.summary["outside_pixels"]["ndvi"] > 0
    with rasterio.open(tmp_path / "p" / "extrapolated.tif") as ds:
        flag = ds.read(1)
    assert (flag == 1).any() and (flag == -1).any()
    code = main(["plots", "predict", "--area", "none", "--model", str(out), "--predictors", f"ndvi={path}", "--landcover",
                 str(scene["lc"]), "--out", str(tmp_path / "p2")])
    text = capsys.readouterr().out
    assert code == 0 and "warning: ndvi:" in text


# --- bad inputs through the CLI ------------------------------------------------------------------------

def _variant(scene, tmp_path, mutate):
    g = mutate(scene["gdf"].copy())
    return write_vector(g, tmp_path / "variant.gpkg", layer="plots")


def _shift_west(g):
    g.loc[:4, "geometry"] = gpd.points_from_xy(g.geometry.x[:5] - 14_000, g.geometry.y[:5])  # beyond the raster
    return g


@pytest.mark.parametrize("mutate,extra,words", [
    (_shift_west, [], "lie outside the predictor raster ndvi: T000, T001"),
    (lambda g: g.iloc[:3], [], "only 3 usable plot(s) for 5-fold"),
    (lambda g: g.assign(stratum=["wetland"] + list(g["stratum"][1:])), [], "too few plots in stratum wetland (1)"),
    (lambda g: g.drop(columns=["agb_t_ha"]), [], "no above-ground biomass column"),
    (lambda g: g.assign(agb_t_ha=[-1.0] + list(g["agb_t_ha"][1:])), [], "no valid above-ground biomass"),
    (lambda g: pd.concat([g, g.assign(survey_year=2025)]), ["--year", "2019"], "no plots were surveyed in 2019"),
    (lambda g: g, ["--folds", "1"], "--folds must be ≥ 2"),
    (lambda g: g, ["--block-m", "50000"], "only 1 block(s)"),
])
def test_bad_inputs_are_refused(scene, tmp_path, capsys, mutate, extra, words):
    plots = _variant(scene, tmp_path, mutate)
    out = tmp_path / "out"
    code = main(["plots", "model", "--area", "none", "--plots", str(plots), "--predictors", f"ndvi={scene['ndvi']}",
                 "--landcover", str(scene["lc"]), "--trees", "20", "--out", str(out), *extra])
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert err.startswith("kunsink: error:") and err.count("\n") == 0
    assert words in err
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_nan_predictors_are_refused(scene, tmp_path, capsys):
    nd = scene["ndvi_arr"].copy()
    g = scene["gdf"]
    rows = ((Y0 - g.geometry.y[:3]) / PX).astype(int)
    cols = ((g.geometry.x[:3] - X0) / PX).astype(int)
    nd[rows, cols] = np.nan
    path = write_raster(nd, tmp_path / "ndvi_nan.tif", {"crs": CRS, "transform": TRANSFORM, "nodata": -9999.0})
    out = tmp_path / "out"
    code = main(["plots", "model", "--area", "none", "--plots", str(scene["plots"]), "--predictors", f"ndvi={path}",
                 "--out", str(out), "--trees", "20"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0
    assert "3 plot(s) have no value (nodata/NaN) in predictor ndvi: T000, T001, T002" in err
    assert not out.exists()
    # with --skip-bad-plots they are dropped and named in a note
    code = main(["plots", "model", "--area", "none", "--plots", str(scene["plots"]), "--predictors", f"ndvi={path}",
                 "--out", str(out), "--trees", "20", "--skip-bad-plots", "--no-map", "--block-m", "2000"])
    text = capsys.readouterr().out
    assert code == 0 and "note: dropped: 3 plot(s)" in text


# --- change at remeasured plots -----------------------------------------------------------------------

def _panel():
    rows = []
    changes = {"forest": [4.0, 6.0, 5.0, 9.0], "grassland": [0.2, -0.1, 0.3]}
    for s, dl in changes.items():
        for i, d in enumerate(dl):
            pid = f"{s[:2]}{i}"
            rows += [(pid, s, 2020, 10.0), (pid, s, 2025, 10.0 + d)]
    rows.append(("single", "forest", 2020, 50.0))
    return pd.DataFrame(rows, columns=["plot_id", "stratum", "survey_year", "agb_t_ha"]), changes


def test_change_per_plot_and_stratum_with_standard_errors():
    from scipy import stats

    df, changes = _panel()
    per_plot = plot_change(df)
    assert len(per_plot) == 7 and per_plot.attrs["single"] == 1
    assert np.allclose(per_plot.set_index("plot_id").loc["fo3", ["change_t_ha", "rate_t_ha_yr"]], [9.0, 1.8])
    per = stratum_change(per_plot).set_index("stratum")
    for s, d in changes.items():
        d = np.array(d)
        se = d.std(ddof=1) / np.sqrt(len(d))
        assert per.loc[s, "mean_change_t_ha"] == pytest.approx(d.mean())
        assert per.loc[s, "se_change_t_ha"] == pytest.approx(se)
        t = stats.t.ppf(0.975, len(d) - 1)
        assert per.loc[s, "ci95_high_t_ha"] == pytest.approx(d.mean() + t * se)
        assert per.loc[s, "mean_c_rate_mgc_ha_yr"] == pytest.approx(d.mean() / 5 * 0.47)
    o = stratified_change(per.reset_index(), {"forest": 300.0, "grassland": 700.0})
    f, g = np.array(changes["forest"]), np.array(changes["grassland"])
    assert o["mean_change_t_ha"] == pytest.approx(0.3 * f.mean() + 0.7 * g.mean())
    assert o["se_change_t_ha"] == pytest.approx(np.sqrt(0.09 * f.var(ddof=1) / 4 + 0.49 * g.var(ddof=1) / 3))
    assert o["total_change_t"] == pytest.approx(1000 * o["mean_change_t_ha"])


def test_change_refuses_thin_strata_and_duplicates():
    df, _ = _panel()
    thin = pd.concat([df, pd.DataFrame([("we0", "wetland", 2020, 5.0), ("we0", "wetland", 2025, 6.0)],
                                       columns=df.columns)])
    with pytest.raises(InputError, match=r"too few remeasured plots in stratum wetland \(1\)"):
        stratum_change(plot_change(thin))
    dup = pd.concat([df, df.iloc[[0]]])
    with pytest.raises(InputError, match="measured twice in the same year"):
        plot_change(dup)


def test_cli_change_on_the_demo_plots(tmp_path, capsys):
    gpkg = data_dir() / "demo" / "kundulun_demo.gpkg"
    out = tmp_path / "ch"
    code = main(["plots", "change", "--area", "none", "--plots", str(gpkg), "--landcover",
                 str(data_dir() / "rasters" / "landcover_2020.tif"), "--out", str(out)])
    text = capsys.readouterr().out
    assert code == 0, text
    assert "remeasured plots" in text and "area-weighted" in text and "SYNTHETIC" in text
    per = pd.read_csv(out / "stratum_change.csv")
    assert set(per["stratum"]) == {"forest", "shrub", "grassland", "wetland"}
    assert (per["se_change_t_ha"] > 0).all() and (per["source"] == "synthetic").all()
    assert {"plot_change.csv", "plot_change.gpkg", "summary.json", "change_map.html"} <= {p.name for p in out.iterdir()}
    # a stratum with too few remeasured plots: refused, nothing written
    code = main(["plots", "change", "--area", "none", "--plots", str(gpkg), "--min-plots", "10", "--out", str(tmp_path / "no")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0 and "too few remeasured plots in stratum" in err
    assert not (tmp_path / "no").exists()


def test_gbk_shapefile_and_geojson_plots(scene, tmp_path):
    """Plots as a GBK Shapefile with Chinese field names, and as GeoJSON in WGS84, give the same model."""
    g = scene["gdf"].drop(columns=["stratum", "survey_year"])
    g = g.rename(columns={"plot_id": "样地号", "agb_t_ha": "地上生物量"})
    g["备注"] = "昆都仑区样地"
    shp = tmp_path / "样地.shp"
    g.to_file(shp, encoding="gbk")
    (tmp_path / "样地.cpg").unlink(missing_ok=True)  # as from older tools: no .cpg, kunsink detects GBK
    geojson = write_vector(scene["gdf"].to_crs("EPSG:4326"), tmp_path / "plots.geojson")
    a = run_model(shp, {"ndvi": scene["ndvi"]}, tmp_path / "a", landcover=scene["lc"], n_trees=20, block_m=2000,
                  write_maps=False)
    b = run_model(geojson, {"ndvi": scene["ndvi"]}, tmp_path / "b", landcover=scene["lc"], n_trees=20, block_m=2000,
                  write_maps=False)
    assert a.summary["n_plots"] == b.summary["n_plots"] == 90
    assert a.predictions["plot_id"].tolist() == scene["gdf"]["plot_id"].tolist()
    assert np.allclose(a.predictions["observed"], b.predictions["observed"])
    # without a stratum column the strata are the land-cover classes under the plots
    assert set(a.predictions["stratum"]) == {"forest", "shrub", "grassland"}


def test_multiband_and_other_grid_predictors(scene, tmp_path):
    """A two-band file gives NAME_b1, NAME_b2; a 30 m DEM is resampled onto the 20 m land-cover grid."""
    rng = np.random.default_rng(0)
    nd = scene["ndvi_arr"]
    bands = np.stack([nd, np.where(nd == -9999, -9999, rng.normal(0.1, 0.01, nd.shape))]).astype("float32")
    s2 = write_raster(bands, tmp_path / "s2.tif", {"crs": CRS, "transform": TRANSFORM, "nodata": -9999.0})
    dem = (1000 + np.add.outer(np.arange(410), np.arange(410)) * 0.5).astype("float32")
    dem_path = write_raster(dem, tmp_path / "dem.tif", {"crs": CRS, "transform": rasterio.transform.from_origin(
        X0 - 30, Y0 + 30, 30.0, 30.0), "nodata": -9999.0})
    r = run_model(scene["plots"], [f"s2={s2}", f"dem={dem_path}"], tmp_path / "o", landcover=scene["lc"],
                  n_trees=20, block_m=2000, write_maps=False)
    assert r.model.features == ["s2_b1", "s2_b2", "dem"]
    assert any("dem" in n and "resampled" in n for n in r.summary["notes"])
    assert r.summary["n_plots"] == 90


def test_root_shoot_ratios_are_configurable(tmp_path):
    from kunsink.plots.allometry import carbon_pools
    from kunsink.plots.run import _root_shoot

    t = _root_shoot(["4=4.0", "wetland=1.2"])  # steppe grassland; a local wetland value
    codes = np.array([2, 2, 2, 4, 9, 1])
    agb = np.array([40.0, 50.0, 160.0, 2.0, 10.0, 3.0])
    ca, cb = carbon_pools(agb, codes, t)
    assert np.allclose(ca, agb * 0.47)
    assert np.allclose(cb[:5], agb[:5] * 0.47 * np.array([0.40, 0.40, 0.20, 4.0, 1.2]))  # 50 t/ha: lower tier
    assert np.isnan(cb[5])  # cropland: no ratio unless given
    csv = tmp_path / "rs.csv"
    pd.DataFrame({"lucode": [2, 2], "agb_max_t_ha": [75, None], "root_shoot": [0.46, 0.23]}).to_csv(csv, index=False)
    t2 = _root_shoot([str(csv)])
    assert np.allclose(root_shoot_ratio(np.array([2, 2]), np.array([70.0, 80.0]), t2), [0.46, 0.23])


def test_compute_writes_nothing_and_write_makes_the_maps(tmp_path):
    """The model is fitted and cross-validated in memory; the maps and their statistics come with writing."""
    import pyogrio

    from kunsink.datasets import data_dir
    from kunsink.plots.run import compute_model, write_model

    gpkg = data_dir() / "demo" / "kundulun_demo.gpkg"
    plots = pyogrio.read_dataframe(gpkg, layer="plots")
    plots = plots[plots["survey_year"] == 2020] if "survey_year" in plots.columns else plots
    work = tmp_path / "work"
    work.mkdir()
    r = compute_model(plots, {"ndvi": data_dir() / "rasters" / "ndvi_2020.tif"}, workdir=work,
                      landcover=data_dir() / "rasters" / "landcover_2020.tif", n_trees=20, seed=1)
    assert r.files == [] and r.by_class is None and not (tmp_path / "out").exists()
    assert len(r.plots_cv) == r.summary["n_plots"] and "predicted_spatial" in r.plots_cv
    files = write_model(r, tmp_path / "out", maps=True)
    names = {f.name for f in files}
    assert {"agb_t_ha.tif", "c_above.tif", "biomass_by_class.csv", "summary.json", "model"} <= names
    assert r.by_class is not None and len(r.by_class)
