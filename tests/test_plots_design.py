"""Plot design: allocation, stratified placement inside the district with a minimum spacing, near roads,
reproducibility, outputs (GeoPackage, bilingual field sheet, map), and impossible requests refused."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyogrio
import pytest
import rasterio
import shapely
from rasterio.enums import Resampling

from kunsink.cli import main
from kunsink.datasets import data_dir, load_boundary
from kunsink.errors import ConfigError
from kunsink.io import write_raster
from kunsink.plots.design import allocate, homogeneity_halo
from kunsink.plots.run import run_design

RASTERS = data_dir() / "rasters"
GPKG = data_dir() / "demo" / "kundulun_demo.gpkg"


@pytest.fixture(scope="module")
def lc30(tmp_path_factory):
    """The demo land cover decimated to 30 m (nearest), as a small CLCD raster (synthetic)."""
    d = tmp_path_factory.mktemp("lc30")
    with rasterio.open(RASTERS / "landcover_2020.tif") as ds:
        h, w = ds.height // 3, ds.width // 3
        arr = ds.read(1, out_shape=(h, w), resampling=Resampling.nearest)
        prof = {"crs": ds.crs, "transform": rasterio.transform.from_bounds(*ds.bounds, w, h), "nodata": ds.nodata}
    return write_raster(arr, d / "lc30.tif", prof, source="synthetic")


@pytest.fixture(scope="module")
def ndvi30(tmp_path_factory, lc30):
    d = tmp_path_factory.mktemp("ndvi30")
    with rasterio.open(RASTERS / "ndvi_2020.tif") as ds, rasterio.open(lc30) as ref:
        arr = ds.read(1, out_shape=(ref.height, ref.width), resampling=Resampling.nearest)
        prof = {"crs": ref.crs, "transform": ref.transform, "nodata": ds.nodata}
    return write_raster(arr, d / "ndvi30.tif", prof, source="synthetic")


def _lc_at(path, xs, ys):
    with rasterio.open(path) as ds:
        return np.array([v[0] for v in ds.sample(zip(xs, ys))])


# --- allocation ----------------------------------------------------------------------------------

def test_allocation_rules():
    areas = [1820.0, 2795.0, 8513.0, 245.0]
    prop = allocate(60, areas, "proportional")
    assert prop.sum() == 60 and prop.min() >= 2
    assert list(prop) == [8, 12, 38, 2]  # 60·A/ΣA = 8.2, 12.5, 38.2, 1.1 → wetland lifted to the minimum of 2
    assert list(allocate(10, [1, 2, 3, 4], "equal")) == [3, 3, 2, 2]
    sd = [25.0, 3.0, 0.7, 5.0]
    ney = allocate(100, areas, "neyman", sd)
    w = np.array(areas) * np.array(sd)
    free = ney > 2
    # strata above the minimum share what is left in proportion to A_h·S_h (largest remainder: within 1 plot)
    expected = (100 - 2 * (~free).sum()) * w[free] / w[free].sum()
    assert np.all(np.abs(ney[free] - expected) < 1)
    with pytest.raises(ConfigError, match="too few for 4 strata"):
        allocate(7, areas)
    with pytest.raises(ConfigError, match="standard deviation"):
        allocate(20, areas, "neyman")


def test_homogeneity_halo():
    assert homogeneity_halo(30, 10) == 1  # a 30 m plot on 10 m pixels covers 3 × 3 pixels
    assert homogeneity_halo(30, 30) == 0
    assert homogeneity_halo(0, 10) == 0
    assert homogeneity_halo(50, 10) == 2


# --- placement ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def design(lc30, tmp_path_factory):
    out = tmp_path_factory.mktemp("design") / "d"
    return run_design(lc30, out, n=40, allocation="proportional", min_spacing_m=600, seed=11,
                      strata=[2, 3, 4, 9], plot_size_m=0), out


def test_plots_inside_district_spaced_and_stratified(design, lc30):
    r, _ = design
    plots = r.plots
    assert len(plots) == 40
    district = shapely.union_all(load_boundary().to_crs(plots.crs).geometry.values)
    assert shapely.contains_xy(district, plots.geometry.x, plots.geometry.y).all()
    xy = np.column_stack([plots.geometry.x, plots.geometry.y])
    d = np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(-1))
    assert d[np.triu_indices(len(xy), 1)].min() >= 600
    # every plot sits on a pixel of its stratum; counts follow the allocation
    assert (_lc_at(lc30, xy[:, 0], xy[:, 1]) == plots["landcover_code"].to_numpy()).all()
    counts = plots["landcover_code"].value_counts().sort_index()
    alloc = r.allocation.set_index("lucode")
    assert (counts == alloc["n_planned"]).all() and (alloc["n_placed"] == alloc["n_planned"]).all()
    assert alloc["n_planned"].min() >= 2
    # coordinates: WGS84 and CGCS2000 (geographic, and EPSG:4546 metres)
    assert np.allclose(plots["x_cgcs2000_m"], xy[:, 0], atol=0.01)
    assert plots["lon_wgs84"].between(109.5, 110.2).all() and plots["lat_wgs84"].between(40.4, 41.0).all()
    assert np.allclose(plots["lon_wgs84"], plots["lon_cgcs2000"], atol=1e-5)
    assert plots["plot_id"].is_unique and plots["plot_id"].str.match(r"^(FO|SH|GR|WE)-\d{3}$").all()
    assert (plots["source"] == "synthetic").all()


def test_same_seed_same_plots_other_seed_other_plots(design, lc30, tmp_path):
    r, _ = design
    again = run_design(lc30, tmp_path / "a", n=40, allocation="proportional", min_spacing_m=600, seed=11,
                       strata=[2, 3, 4, 9], plot_size_m=0, write_map=False)
    other = run_design(lc30, tmp_path / "b", n=40, allocation="proportional", min_spacing_m=600, seed=12,
                       strata=[2, 3, 4, 9], plot_size_m=0, write_map=False)
    assert r.plots.geometry.equals(again.plots.geometry)
    assert not r.plots.geometry.equals(other.plots.geometry)


def test_plot_footprint_is_one_class(lc30, tmp_path):
    r = run_design(lc30, tmp_path / "h", n=20, min_spacing_m=300, seed=3, strata=[2, 4], plot_size_m=90,
                   write_map=False)
    with rasterio.open(lc30) as ds:
        arr = ds.read(1)
        rows, cols = rasterio.transform.rowcol(ds.transform, r.plots.geometry.x, r.plots.geometry.y)
    for rr, cc, code in zip(rows, cols, r.plots["landcover_code"]):
        assert (arr[rr - 1:rr + 2, cc - 1:cc + 2] == code).all()  # 90 m plot on 30 m pixels: 3 × 3


def test_near_roads(lc30, tmp_path):
    r = run_design(lc30, tmp_path / "r", n=24, min_spacing_m=400, seed=5, strata=[2, 3, 4],
                   near_roads=GPKG, max_road_m=250, plot_size_m=0, write_map=False)
    net = pyogrio.read_dataframe(GPKG, layer="network").to_crs(r.plots.crs)
    lines = shapely.union_all(net.geometry.values)
    dist = shapely.distance(r.plots.geometry.values, lines)
    assert dist.max() <= 250 + 1e-6
    assert np.allclose(dist, r.plots["road_dist_m"], atol=0.1)


def test_neyman_from_an_ndvi_raster(lc30, ndvi30, tmp_path):
    r = run_design(lc30, tmp_path / "n", n=30, allocation="neyman", sd=ndvi30, min_spacing_m=300, seed=1,
                   strata=[2, 3, 4], plot_size_m=0, write_map=False)
    t = r.allocation
    assert t["sd"].notna().all() and (t["sd"] > 0).all()
    assert "NDVI" in r.design.params["sd_source"] or "ndvi30" in r.design.params["sd_source"]
    assert t["n_planned"].sum() == 30


# --- outputs via the CLI ---------------------------------------------------------------------------

def test_cli_design_writes_plots_sheet_and_map(lc30, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["plots", "design", "--landcover", str(lc30), "--n", "30", "--allocation", "equal",
                 "--min-spacing", "500", "--strata", "forest,shrub,grassland", "--seed", "4", "--out", str(out)])
    text = capsys.readouterr().out
    assert code == 0, text
    assert "30 plots" in text and "SYNTHETIC" in text
    names = {p.name for p in out.iterdir()}
    assert {"plots.gpkg", "field_sheet.csv", "allocation.csv", "design.json", "plots_map.html"} <= names
    assert not any(n.startswith(".") and n != ".kunsink-output" for n in names)
    gdf = pyogrio.read_dataframe(out / "plots.gpkg", layer="plots")
    assert len(gdf) == 30 and gdf.crs.to_epsg() == 4546 and set(gdf["source"]) == {"synthetic"}
    assert set(pd.read_csv(out / "allocation.csv", encoding="utf-8-sig")["source"]) == {"synthetic"}
    raw = (out / "field_sheet.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel on Chinese Windows reads the headers
    sheet = pd.read_csv(out / "field_sheet.csv", encoding="utf-8-sig")
    assert "样地号 Plot ID" in sheet.columns and "地上生物量 Above-ground biomass (t/ha)" in sheet.columns
    assert any("WGS84" in c for c in sheet.columns) and any("CGCS2000" in c for c in sheet.columns)
    assert len(sheet) == 30
    html = (out / "plots_map.html").read_text(encoding="utf-8")
    assert "Synthetic demo data" in html and "FO-001" in html
    meta = json.loads((out / "design.json").read_text(encoding="utf-8"))
    assert meta["seed"] == 4 and meta["data_source"] == "synthetic"


@pytest.mark.parametrize("args,words", [
    (["--n", "400", "--min-spacing", "2000"], "impossible"),
    (["--n", "12", "--strata", "2,6"], "no area"),
    (["--n", "5", "--strata", "2,3,4"], "too few for 3 strata"),
    (["--n", "20", "--allocation", "neyman"], "standard deviation"),
    (["--n", "20", "--allocation", "cluster"], "unknown allocation"),
    (["--n", "20", "--near-roads", str(GPKG)], "--max-road-m"),
    (["--n", "30", "--strata", "9", "--min-spacing", "1500"], "wetland"),
])
def test_impossible_requests_refused(lc30, tmp_path, capsys, args, words):
    out = tmp_path / "o"
    code = main(["plots", "design", "--landcover", str(lc30), "--seed", "1", "--out", str(out), *args])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("kunsink: error:") and err.count("\n") == 0
    assert words in err
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
